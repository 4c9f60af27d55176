//! Build-script runs and the programs they find on `PATH`: another
//! compiler first on `PATH`, a directory put in front (absolute or
//! relative), and a compile answered from the cache on a `PATH` the script
//! set for it.

use super::*;

#[test]
fn another_compiler_first_on_path_is_seen() {
    let mut f = Fixture::new();
    let bin = f.sb.root.path().join("shadow");
    std::fs::create_dir_all(&bin).unwrap();
    let cc = bin.join("cc");
    std::fs::write(&cc, "#!/bin/sh\nexec /usr/bin/cc -DCSYS_ADD=9 \"$@\"\n").unwrap();
    make_executable(&cc);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    f.sb.set("PATH", &path);
    std::fs::rename(&cc, bin.join("cc.off")).unwrap();
    let changed = f.differential(
        |f| {
            std::fs::rename(
                f.sb.root.path().join("shadow/cc.off"),
                f.sb.root.path().join("shadow/cc"),
            )
            .unwrap();
        },
        |f| {
            std::fs::rename(
                f.sb.root.path().join("shadow/cc"),
                f.sb.root.path().join("shadow/cc.off"),
            )
            .unwrap();
        },
    );
    assert!(changed.starts_with("value=49"), "{changed}");
}

#[test]
fn a_directory_put_in_front_of_path_is_seen() {
    let mut f = Fixture::new();
    let bin = f.sb.root.path().join("new-tools");
    std::fs::create_dir_all(&bin).unwrap();
    let cc = bin.join("cc");
    std::fs::write(&cc, "#!/bin/sh\nexec /usr/bin/cc -DCSYS_ADD=8 \"$@\"\n").unwrap();
    make_executable(&cc);
    let old = std::env::var("PATH").unwrap();
    let new = format!("{}:{old}", bin.display());
    let changed = f.differential(
        move |f| f.sb.set("PATH", &new),
        move |f| f.sb.set("PATH", &old),
    );
    assert!(changed.starts_with("value=48"), "{changed}");
}

/// A directory put in front of `PATH` by a relative name (found below the
/// build script's working directory, its package) holding a compiled `cc`
/// that adds a definition: the build behaves as plain cargo's, and no run
/// that searched such a `PATH` is stored.

#[test]
fn a_relative_directory_put_in_front_of_path_is_seen() {
    let mut f = Fixture::new();
    let tools = f.ws.join("csys/tools");
    compiled_cc(&tools, 8, &[]);
    let old = std::env::var("PATH").unwrap();
    let first = format!(":{old}");
    let new = format!("tools::{old}");
    // A search on such a `PATH` names directories below the working
    // directory of whichever process searched: the run is not stored.
    let not_stored = |recs: &[Value]| {
        let csys = run_of(recs, "csys");
        assert_eq!(csys["outcome"], "not_cacheable", "{csys:#}");
        assert_eq!(csys["reason"], "unobserved", "{csys:#}");
    };
    f.sb.set("PATH", &first);
    let (before, recs) = f.kiln_build();
    assert_eq!(before, f.plain_build(), "kiln and plain cargo differ");
    not_stored(&recs);
    f.sb.set("PATH", &new);
    let (changed, recs) = f.kiln_build();
    assert_eq!(changed, f.plain_build(), "kiln and plain cargo differ");
    assert!(changed.starts_with("value=48"), "{changed}");
    not_stored(&recs);
}

/// A compile the script runs on a `PATH` of its own and that is answered
/// from the cache hands on the searches its key stands for, on that `PATH`:
/// an assembler put there later is another input of the run.

#[test]
fn a_compile_hit_hands_on_its_searches_on_its_own_path() {
    let mut f = Fixture::new();
    let tools = f.sb.root.path().join("cc-tools");
    std::fs::create_dir_all(&tools).unwrap();
    let old = std::env::var("PATH").unwrap();
    f.sb.set("CSYS_CC_PATH", &format!("{}:{old}", tools.display()));
    let (first, _) = f.kiln_build();
    f.sb.set("CSYS_MODE", "other");
    let (_, recs) = f.kiln_build();
    assert_eq!(run_of(&recs, "csys")["outcome"], "miss");
    assert!(
        c_compiles(&recs).iter().any(|r| r["outcome"] == "hit"),
        "{recs:#?}"
    );
    let fake_as = tools.join("as");
    std::fs::write(
        &fake_as,
        "#!/bin/sh\nfor a; do case $a in *.s) sed -i 's/\\$42,/$50,/' \"$a\";; esac; done\n\
         exec /usr/bin/as \"$@\"\n",
    )
    .unwrap();
    make_executable(&fake_as);
    let (changed, _) = f.kiln_build();
    assert_eq!(changed, f.plain_build(), "kiln and plain cargo differ");
    assert!(changed.starts_with("value=50"), "{changed}");
    std::fs::remove_file(&fake_as).unwrap();
    f.sb.unset("CSYS_MODE");
    let (back, recs) = f.kiln_build();
    assert_eq!(back, first);
    assert_all_hit(&recs);
}

/// A statically linked `cc` put in front of `PATH`: what it does is past
/// the observer, so the build behaves as plain cargo's and the run that ran
/// it is not stored.

#[test]
fn a_static_compiler_first_on_path_is_never_stored() {
    let mut f = Fixture::new();
    let tools = f.sb.root.path().join("static-tools");
    compiled_cc(&tools, 7, &["-static", "-O1"]);
    let old = std::env::var("PATH").unwrap();
    f.sb.set("PATH", &format!("{}:{old}", tools.display()));
    let (changed, recs) = f.kiln_build();
    assert_eq!(changed, f.plain_build(), "kiln and plain cargo differ");
    assert!(changed.starts_with("value=47"), "{changed}");
    let csys = run_of(&recs, "csys");
    assert_eq!(csys["outcome"], "not_cacheable", "{csys:#}");
    assert_eq!(csys["reason"], "unobserved", "{csys:#}");
    f.sb.set("PATH", &old);
    let (back, _) = f.kiln_build();
    assert_eq!(back, f.plain_build(), "kiln and plain cargo differ");
}

/// A compiled `cc` in `dir` that runs `/usr/bin/cc` with `-DCSYS_ADD=<add>`
/// in front of its arguments, linked with `flags`.
fn compiled_cc(dir: &std::path::Path, add: u32, flags: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let src = dir.join("cc.c");
    std::fs::write(
        &src,
        format!(
            "#include <stdlib.h>\n#include <unistd.h>\n\
             int main(int n, char **v) {{ char **a = calloc(n + 2, sizeof *a); a[0] = \"/usr/bin/cc\";\n\
             a[1] = \"-DCSYS_ADD={add}\"; for (int i = 1; i < n; i++) a[i + 1] = v[i];\n\
             execv(\"/usr/bin/cc\", a); return 127; }}\n"
        ),
    )
    .unwrap();
    let built = std::process::Command::new("cc")
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(dir.join("cc"))
        .status()
        .unwrap();
    assert!(
        built.success(),
        "cc {flags:?} (static linking needs libc.a, Debian's libc6-dev)"
    );
}
