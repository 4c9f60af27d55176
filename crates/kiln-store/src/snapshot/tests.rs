use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::*;

fn hex(n: u8) -> String {
    blake3::hash(&[n]).to_hex().to_string()
}

fn put(root: &Path, rel: &str, bytes: &[u8], age_secs: u64) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let t = SystemTime::now() - Duration::from_secs(age_secs);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// A store with three entries, their keys, a manifest naming the first two
/// and one naming none, two records, a history and machine-local caches.
fn store(root: &Path) {
    for n in 0..3u8 {
        let h = hex(n);
        put(
            root,
            &format!("entries/{}/{h}.kiln", &h[..2]),
            &[n; 100],
            3600,
        );
        put(root, &format!("keys/{}/{h}.json", &h[..2]), b"{}", 3600);
    }
    let manifest = |keys: &[String]| {
        let candidates: Vec<_> = keys
            .iter()
            .map(|k| serde_json::json!({"inputs": {"files": [], "env": []}, "key": k}))
            .collect();
        serde_json::to_vec(&serde_json::json!({"version": 2, "candidates": candidates})).unwrap()
    };
    let m1 = hex(10);
    put(
        root,
        &format!("manifests/{}/{m1}.json", &m1[..2]),
        &manifest(&[hex(0), hex(1)]),
        3600,
    );
    let m2 = hex(11);
    put(
        root,
        &format!("manifests/{}/{m2}.json", &m2[..2]),
        &manifest(&[hex(9)]),
        3600,
    );
    put(root, "records/20261201-1.jsonl", b"{}\n", 3600);
    put(root, "records/adhoc-20261201.jsonl", b"{}\n", 3600);
    put(root, "history.sqlite", b"db", 3600);
    put(root, "hashes/ab/cd.json", b"local", 3600);
    put(root, "compilers/x.json", b"local", 3600);
}

fn files(root: &Path) -> Vec<String> {
    let mut out: Vec<_> = nofollow::list(root, Path::new(""))
        .unwrap()
        .into_iter()
        .map(|l| l.path)
        .filter(|p| !p.starts_with("staging/") && p != SINCE_FILE && p != "usage")
        .collect();
    out.sort();
    out
}

/// A saved snapshot, as a file.
fn archive(root: &Path, keep: Keep) -> (File, Report) {
    archive_signed(root, keep, None)
}

fn archive_signed(root: &Path, keep: Keep, secret: Option<&[u8]>) -> (File, Report) {
    let file = tempfile::tempfile().unwrap();
    let report = save(root, keep, &file, secret).unwrap();
    (file, report)
}

fn restore_all(root: &Path, file: &mut File) -> Report {
    restore(root, file, u64::MAX, None).unwrap()
}

#[test]
fn a_whole_store_round_trips_without_machine_local_caches() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    store(a.path());
    let (mut file, saved) = archive(a.path(), Keep::All);
    assert_eq!((saved.entries, saved.entry_bytes), (3, 300));
    let restored = restore_all(b.path(), &mut file);
    assert_eq!(restored.entries, 3);
    assert_eq!(restored.skipped, 0);
    let mut expected = files(a.path());
    expected.retain(|p| !p.starts_with("hashes/") && !p.starts_with("compilers/"));
    expected.retain(|p| !p.contains(&hex(11)));
    assert_eq!(files(b.path()), expected);
    let h = hex(1);
    let rel = format!("entries/{}/{h}.kiln", &h[..2]);
    assert_eq!(std::fs::read(b.path().join(&rel)).unwrap(), [1u8; 100]);
    let old = std::fs::metadata(b.path().join(&rel))
        .unwrap()
        .modified()
        .unwrap();
    assert!(
        old < marker(b.path()).unwrap(),
        "restored entries keep their age"
    );
}

#[test]
fn after_a_restore_only_what_was_used_or_written_is_saved() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    store(a.path());
    let (mut file, _) = archive(a.path(), Keep::All);
    restore_all(b.path(), &mut file);
    // This job hits entry 1 and writes entry 5.
    let h1 = hex(1);
    nofollow::touch(
        b.path(),
        Path::new(&format!("entries/{}/{h1}.kiln", &h1[..2])),
    )
    .unwrap();
    let h5 = hex(5);
    put(
        b.path(),
        &format!("entries/{}/{h5}.kiln", &h5[..2]),
        b"new",
        0,
    );
    let (mut file, saved) = archive(b.path(), Keep::from_marker(b.path()));
    assert_eq!((saved.entries, saved.skipped), (2, 2));
    let c = tempfile::tempdir().unwrap();
    restore_all(c.path(), &mut file);
    let got = files(c.path());
    assert!(got.iter().any(|p| p.contains(&h1)) && got.iter().any(|p| p.contains(&h5)));
    assert!(
        !got.iter()
            .any(|p| p.contains(&hex(0)) && p.starts_with("entries/"))
    );
    assert!(
        got.iter().any(|p| p.contains(&hex(10))),
        "the manifest naming entry 1"
    );
    assert!(got.contains(&"history.sqlite".to_owned()));
}

#[test]
fn entries_stop_at_the_size_bound_and_the_store_keeps_its_own() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    store(a.path());
    put(b.path(), "history.sqlite", b"mine", 0);
    let (mut file, _) = archive(a.path(), Keep::All);
    let restored = restore(b.path(), &mut file, 250, None).unwrap();
    assert_eq!(restored.entries, 2);
    assert_eq!(
        std::fs::read(b.path().join("history.sqlite")).unwrap(),
        b"mine"
    );
}

/// An archive whose members are written by hand, names unchecked.
fn hostile(members: &[(&str, tar::EntryType, &[u8])]) -> File {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, kind, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            h.set_link_name("/etc/passwd").unwrap();
            h.set_size(0);
        }
        // Write the name bytes directly so `..` and absolute names survive.
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        let data: &[u8] = if *kind == tar::EntryType::Symlink {
            &[]
        } else {
            data
        };
        tar.append(&h, data).unwrap();
    }
    sealed(&tar.into_inner().unwrap())
}

/// Raw tar bytes as an unsigned snapshot file.
fn sealed(tar: &[u8]) -> File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(b"KILNSNP1\0").unwrap();
    file.write_all(&[0; 32]).unwrap();
    file.write_all(&zstd::encode_all(tar, 1).unwrap()).unwrap();
    file
}

#[test]
fn a_hostile_archive_writes_nothing_outside_the_layout() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("store");
    std::fs::create_dir_all(root.join("records")).unwrap();
    let h = hex(1);
    let good = format!("entries/{}/{h}.kiln", &h[..2]);
    let wrong_shard = format!("entries/zz/{h}.kiln");
    // A link planted where a record would go.
    std::os::unix::fs::symlink(outer.path().join("victim"), root.join("records/x.jsonl")).unwrap();
    let mut file = hostile(&[
        ("../escaped", tar::EntryType::Regular, b"x"),
        ("/tmp/kiln-absolute", tar::EntryType::Regular, b"x"),
        ("entries/../../escaped2", tar::EntryType::Regular, b"x"),
        (&wrong_shard, tar::EntryType::Regular, b"x"),
        ("hashes/ab/cd.json", tar::EntryType::Regular, b"x"),
        (
            &format!("keys/{}/{h}.json", &h[..2]),
            tar::EntryType::Symlink,
            b"",
        ),
        (
            "records/x.jsonl",
            tar::EntryType::Regular,
            b"through the link",
        ),
        (&good, tar::EntryType::Regular, b"fine"),
    ]);
    let report = restore_all(&root, &mut file);
    assert_eq!((report.entries, report.skipped), (1, 7));
    assert!(!outer.path().join("escaped").exists() && !outer.path().join("escaped2").exists());
    assert!(!outer.path().join("victim").exists());
    assert!(!Path::new("/tmp/kiln-absolute").exists());
    assert_eq!(std::fs::read(root.join(&good)).unwrap(), b"fine");
}

#[test]
fn something_that_is_not_a_snapshot_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut junk = tempfile::tempfile().unwrap();
    junk.write_all(b"not an archive at all").unwrap();
    assert!(matches!(
        restore(dir.path(), &mut junk, u64::MAX, None),
        Err(StoreError::Refused(_))
    ));
    assert!(
        marker(dir.path()).is_none(),
        "no marker after a refused restore"
    );
}

#[test]
fn with_a_signing_key_only_a_snapshot_signed_with_it_restores() {
    let a = tempfile::tempdir().unwrap();
    store(a.path());
    let key = b"0123456789abcdef-key".as_slice();
    let refused = |file: &mut File, secret: &[u8]| {
        let b = tempfile::tempdir().unwrap();
        let out = restore(b.path(), file, u64::MAX, Some(secret));
        assert_eq!(files(b.path()), Vec::<String>::new(), "nothing restored");
        out
    };
    let (mut unsigned, _) = archive(a.path(), Keep::All);
    assert!(
        matches!(refused(&mut unsigned, key), Err(StoreError::Refused(m)) if m.contains("not signed"))
    );
    let (mut other, _) = archive_signed(a.path(), Keep::All, Some(b"another-key-0123456"));
    assert!(
        matches!(refused(&mut other, key), Err(StoreError::Refused(m)) if m.contains("signature"))
    );
    // One flipped byte of the body, with the right key's tag.
    let (mut signed, _) = archive_signed(a.path(), Keep::All, Some(key));
    let mut bytes = Vec::new();
    signed.seek(std::io::SeekFrom::Start(0)).unwrap();
    signed.read_to_end(&mut bytes).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 1;
    let mut tampered = tempfile::tempfile().unwrap();
    tampered.write_all(&bytes).unwrap();
    assert!(matches!(
        refused(&mut tampered, key),
        Err(StoreError::Refused(_))
    ));
    let b = tempfile::tempdir().unwrap();
    let ok = restore(b.path(), &mut signed, u64::MAX, Some(key)).unwrap();
    assert_eq!(ok.entries, 3);
}

#[test]
fn long_names_future_dates_and_look_alike_names_are_harmless() {
    // A GNU long-name header declaring a long name: skipped, never held.
    let mut raw = Vec::new();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(1 << 20);
    h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    h.set_cksum();
    raw.extend_from_slice(h.as_bytes());
    raw.extend(std::iter::repeat_n(b'a', 1 << 20));
    let hx = hex(1);
    let upper = format!("entries/{}/{}.kiln", &hx[..2], hx.to_uppercase());
    let good = format!("entries/{}/{hx}.kiln", &hx[..2]);
    let mut b = tar::Builder::new(raw);
    for (name, mtime) in [(upper.as_str(), 0u64), (good.as_str(), 4_102_444_800)] {
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_mode(0o644);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &b"data"[..]).unwrap();
    }
    let mut file = sealed(&b.into_inner().unwrap());
    let root = tempfile::tempdir().unwrap();
    let report = restore_all(root.path(), &mut file);
    assert_eq!(
        (report.entries, report.skipped),
        (1, 2),
        "upper-case hex is not kiln's name"
    );
    // Dated 2100 in the archive, dated before the restore in the store: a
    // job that does not use it does not save it.
    let (_, saved) = archive(root.path(), Keep::from_marker(root.path()));
    assert_eq!(saved.entries, 0);
}
