//! Inputs that leave no trace in dep-info and are not file reads: a file
//! merely existing, a directory listing, a file below a directory that did
//! not exist, and `env!` of a variable the compiler itself ignores.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Sandbox, counts};

fn rebuild(sb: &Sandbox, ws: &Path) -> (u64, String) {
    sb.cargo(ws, &["clean"]);
    sb.cargo(ws, &["build", "--release"]);
    let (_, misses, _) = counts(&sb.take_stats());
    (misses, sb.run_program(&ws.join("target/release/app")))
}

#[test]
fn probes_listings_and_missing_directories_change_the_key() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("probes", "ws");
    let (_, first) = rebuild(&sb, &ws);
    assert!(
        first.contains("flag=false")
            && first.contains("data=a.txt\n")
            && first.contains("conf=none"),
        "{first}"
    );
    let (misses, again) = rebuild(&sb, &ws);
    assert_eq!(
        (misses, again.as_str()),
        (0, first.as_str()),
        "nothing changed: all hits"
    );

    std::fs::write(ws.join("app/flag"), "").unwrap();
    let (misses, out) = rebuild(&sb, &ws);
    assert_eq!(misses, 1, "a file appearing that was only probed");
    assert!(out.contains("flag=true"), "{out}");

    std::fs::write(ws.join("app/data/b.txt"), "b").unwrap();
    let (misses, out) = rebuild(&sb, &ws);
    assert_eq!(misses, 1, "a listed directory gained an entry");
    assert!(out.contains("data=a.txt,b.txt"), "{out}");

    std::fs::create_dir_all(ws.join("app/conf")).unwrap();
    std::fs::write(ws.join("app/conf/app.toml"), "x=1").unwrap();
    let (misses, out) = rebuild(&sb, &ws);
    assert_eq!(misses, 1, "a file below a directory that did not exist");
    assert!(out.contains("conf=x=1"), "{out}");

    sb.set("TZ", "Europe/Paris");
    let (misses, out) = rebuild(&sb, &ws);
    assert_eq!(
        misses, 1,
        "`option_env!(\"TZ\")` is keyed although rustc ignores TZ"
    );
    assert!(out.contains("tz=Europe/Paris"), "{out}");
}
