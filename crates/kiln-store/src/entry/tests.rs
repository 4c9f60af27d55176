use std::fs::File;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kiln_key::Digest;

use super::*;
use crate::StoreError;

fn sample(dir: &Path) -> (PathBuf, u64) {
    let w = sample_written(dir);
    (w.path, w.size)
}

fn sample_written(dir: &Path) -> Written {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("libfoo.rlib"), vec![3u8; 300_000]).unwrap();
    std::fs::write(src.join("prog"), b"\x7fELF...").unwrap();
    std::fs::set_permissions(src.join("prog"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let files = [
        SourceFile {
            name: "libfoo.rlib".into(),
            path: &src.join("libfoo.rlib"),
            content: None,
        },
        SourceFile {
            name: "prog".into(),
            path: &src.join("prog"),
            content: None,
        },
        SourceFile {
            name: "foo.d".into(),
            path: &src.join("prog"),
            content: Some(b"\0kiln:cwd\0/src/lib.rs".to_vec()),
        },
    ];
    EntryWriter::write(
        &dir.join("staging"),
        &Digest([0; 32]),
        &files,
        b"out",
        b"err",
        1234,
        "foo",
    )
    .unwrap()
}

#[test]
fn round_trip_restores_files_modes_and_streams() {
    let d = tempfile::tempdir().unwrap();
    let (entry, size) = sample(d.path());
    assert_eq!(std::fs::metadata(&entry).unwrap().len(), size);
    let dest = d.path().join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    let key = Digest([0; 32]);
    let fix = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace("\0kiln:cwd\0", "/here")
            .into_bytes()
    };
    let r = restore(&key, File::open(&entry).unwrap(), &dest, &fix).unwrap();
    assert_eq!(r.stdout, b"out");
    assert_eq!(r.stderr, b"err");
    assert_eq!(r.compile_ms, 1234);
    assert_eq!(
        std::fs::read(dest.join("libfoo.rlib")).unwrap(),
        vec![3u8; 300_000]
    );
    assert_eq!(
        std::fs::metadata(dest.join("prog"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("foo.d")).unwrap(),
        "/here/src/lib.rs"
    );
}

#[test]
fn any_flipped_or_missing_byte_is_caught_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (entry, _) = sample(d.path());
    let good = std::fs::read(&entry).unwrap();
    let key = Digest([0; 32]);
    for (i, mutate) in [
        Box::new(|v: &mut Vec<u8>| v.truncate(v.len() - 100)) as Box<dyn Fn(&mut Vec<u8>)>,
        Box::new(|v: &mut Vec<u8>| {
            let n = v.len();
            v[n / 2] ^= 1;
        }),
        Box::new(|v: &mut Vec<u8>| {
            let n = v.len();
            v[n - 1] ^= 1;
        }),
        Box::new(|v: &mut Vec<u8>| v.truncate(10)),
        Box::new(|v: &mut Vec<u8>| v.push(0)),
    ]
    .iter()
    .enumerate()
    {
        let mut bad = good.clone();
        mutate(&mut bad);
        let dest = d.path().join(format!("dest{i}"));
        std::fs::create_dir_all(&dest).unwrap();
        let err = restore(&key, &bad[..], &dest, &|b| b.to_vec()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "case {i}: {err}");
        assert_eq!(
            std::fs::read_dir(&dest).unwrap().count(),
            0,
            "case {i} left files behind"
        );
    }
}

#[test]
fn a_compressed_entry_restores_the_same_and_damage_is_caught() {
    let d = tempfile::tempdir().unwrap();
    let (entry, size) = sample(d.path());
    let packed = zstd::bulk::compress(&std::fs::read(&entry).unwrap(), 3).unwrap();
    assert!(crate::packed::is_zstd(&packed));
    let key = Digest([0; 32]);
    let dest = d.path().join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    let source =
        crate::packed::reader(std::io::Cursor::new(packed.clone()), packed.len() as u64).unwrap();
    let r = restore(&key, source, &dest, &|b| b.to_vec()).unwrap();
    assert_eq!(r.bytes, size);
    assert_eq!(
        std::fs::read(dest.join("libfoo.rlib")).unwrap(),
        vec![3u8; 300_000]
    );
    for (i, cut) in [packed.len() / 2, packed.len() - 1, 5]
        .into_iter()
        .enumerate()
    {
        let mut bad = packed.clone();
        bad.truncate(cut);
        let dest = d.path().join(format!("cut{i}"));
        std::fs::create_dir_all(&dest).unwrap();
        let source =
            crate::packed::reader(std::io::Cursor::new(bad.clone()), bad.len() as u64).unwrap();
        let err = restore(&key, source, &dest, &|b| b.to_vec()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "cut {i}: {err}");
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0, "cut {i}");
    }
    for at in [packed.len() / 3, packed.len() / 2, packed.len() - 8] {
        let mut bad = packed.clone();
        bad[at] ^= 0x55;
        let dest = d.path().join(format!("flip{at}"));
        std::fs::create_dir_all(&dest).unwrap();
        let Ok(source) = crate::packed::reader(std::io::Cursor::new(bad.clone()), bad.len() as u64)
        else {
            continue;
        };
        let err = restore(&key, source, &dest, &|b| b.to_vec()).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "flip {at}: {err}"
        );
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0, "flip {at}");
    }
}

#[test]
fn a_device_or_fifo_at_a_destination_is_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let (entry, _) = sample(d.path());
    let dest = d.path().join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    let fifo = std::ffi::CString::new(dest.join("prog").to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc_mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let key = Digest([0; 32]);
    let err = restore(&key, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let kinds: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(kinds, vec!["prog".to_owned()], "nothing else left behind");
    assert!(
        !std::fs::symlink_metadata(dest.join("prog"))
            .unwrap()
            .is_file()
    );
}

unsafe extern "C" {
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}

#[test]
fn an_entry_under_another_key_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (entry, _) = sample(d.path());
    let dest = d.path().join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    let other = Digest([7; 32]);
    let err = restore(&other, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap_err();
    assert!(err.to_string().contains("another key"), "{err}");
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
}

#[test]
fn a_text_file_too_large_to_hold_is_refused_before_it_is_read() {
    let header = EntryHeader {
        version: ENTRY_VERSION,
        files: vec![EntryFile {
            name: "huge.d".into(),
            mode: 0o644,
            len: 1 << 40,
            digest: "00".repeat(32),
            text: true,
        }],
        stdout_len: 0,
        stderr_len: 0,
        compile_ms: 0,
        crate_name: "bomb".into(),
        writer: "test".into(),
        key: Digest([0; 32]).to_hex(),
    };
    let json = serde_json::to_vec(&header).unwrap();
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&(json.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&json);
    // What follows would expand to a terabyte of zeros.
    let source = std::io::Read::chain(&bytes[..], std::io::repeat(0));
    let d = tempfile::tempdir().unwrap();
    let err = restore(&Digest([0; 32]), source, d.path(), &|b| b.to_vec()).unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn a_killed_restore_s_leftover_is_reclaimed_by_the_next() {
    let d = tempfile::tempdir().unwrap();
    let (entry, _) = sample(d.path());
    let dest = d.path().join("out");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join(".libfoo.rlib.kiln-part"), b"half").unwrap();
    let key = Digest([0; 32]);
    restore(&key, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["foo.d", "libfoo.rlib", "prog"]);
}

#[test]
fn restoring_never_writes_through_a_planted_link() {
    let d = tempfile::tempdir().unwrap();
    let (entry, _) = sample(d.path());
    let dest = d.path().join("out");
    std::fs::create_dir_all(&dest).unwrap();
    let outside = d.path().join("outside");
    std::fs::write(&outside, b"untouched").unwrap();
    for name in ["libfoo.rlib", "prog", "foo.d"] {
        std::os::unix::fs::symlink(&outside, dest.join(name)).unwrap();
        let tmp = format!(".{name}.kiln-part");
        std::os::unix::fs::symlink(&outside, dest.join(tmp)).unwrap();
    }
    let key = Digest([0; 32]);
    restore(&key, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap();
    assert_eq!(std::fs::read(&outside).unwrap(), b"untouched");
    assert!(!dest.join("prog").is_symlink());
}

#[test]
fn names_cannot_escape() {
    for bad in ["../x", "/etc/passwd", "a/b", ".hidden", "", ".."] {
        assert!(!valid_name(bad), "{bad}");
    }
    assert!(valid_name("libfoo-123.rlib"));
}
