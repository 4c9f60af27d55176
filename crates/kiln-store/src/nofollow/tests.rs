use std::os::unix::fs::symlink;

use super::*;

fn store() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    std::fs::create_dir_all(root.join("entries/ab")).unwrap();
    (d, root)
}

#[test]
fn reads_and_writes_regular_files() {
    let (_d, root) = store();
    let rel = Path::new("entries/cd/x.kiln");
    assert!(read(&root, rel, 100).unwrap().is_none());
    write(&root, rel, b"one").unwrap();
    write(&root, rel, b"two").unwrap();
    assert_eq!(read(&root, rel, 100).unwrap().unwrap(), b"two");
    let listed = list(&root, Path::new("entries")).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].path, "entries/cd/x.kiln");
    assert_eq!(listed[0].size, 3);
    remove(&root, rel).unwrap();
    remove(&root, rel).unwrap();
    assert!(read(&root, rel, 100).unwrap().is_none());
}

#[test]
fn a_planted_link_is_neither_read_nor_written_through() {
    let (d, root) = store();
    let victim = d.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    symlink(&victim, root.join("entries/ab/x.kiln")).unwrap();
    let rel = Path::new("entries/ab/x.kiln");
    assert!(read(&root, rel, 100).is_err());
    assert!(write(&root, rel, b"overwritten").is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // Removing the name removes the link, not its target.
    remove(&root, rel).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(list(&root, Path::new("entries")).unwrap().is_empty());
}

#[test]
fn a_linked_directory_is_not_entered() {
    let (d, root) = store();
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("y.kiln"), b"secret").unwrap();
    symlink(&outside, root.join("entries/ef")).unwrap();
    let rel = Path::new("entries/ef/y.kiln");
    assert!(read(&root, rel, 100).is_err());
    assert!(write(&root, Path::new("entries/ef/z.kiln"), b"x").is_err());
    assert!(!outside.join("z.kiln").exists());
    assert!(list(&root, Path::new("entries")).unwrap().is_empty());
    let staged = d.path().join("staged");
    std::fs::write(&staged, b"entry").unwrap();
    assert!(rename_into(&staged, &root, Path::new("entries/ef/w.kiln")).is_err());
    assert!(!outside.join("w.kiln").exists());
}

#[test]
fn a_fifo_or_a_device_is_refused_at_once() {
    let (_d, root) = store();
    let fifo = root.join("entries/ab/f.kiln");
    rustix::fs::mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
    let err = read(&root, Path::new("entries/ab/f.kiln"), 100).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(write(&root, Path::new("entries/ab/f.kiln"), b"x").is_err());
    assert!(list(&root, Path::new("entries")).unwrap().is_empty());
}

#[test]
fn an_object_over_its_bound_is_refused_before_reading() {
    let (_d, root) = store();
    let rel = Path::new("entries/ab/big.kiln");
    write(&root, rel, &[0u8; 1000]).unwrap();
    let err = read(&root, rel, 999).unwrap_err();
    assert!(err.to_string().contains("more than the 999"), "{err}");
    assert_eq!(read(&root, rel, 1000).unwrap().unwrap().len(), 1000);
}

#[test]
fn names_that_leave_the_root_are_refused() {
    let (_d, root) = store();
    for bad in ["../x", "/etc/passwd", "entries/../../x", ""] {
        assert!(read(&root, Path::new(bad), 100).is_err(), "{bad}");
        assert!(write(&root, Path::new(bad), b"x").is_err(), "{bad}");
    }
}

#[test]
fn touching_marks_use_without_following() {
    let (d, root) = store();
    let victim = d.path().join("victim");
    std::fs::write(&victim, b"v").unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    File::options()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_modified(old)
        .unwrap();
    symlink(&victim, root.join("entries/ab/l.kiln")).unwrap();
    let _ = touch(&root, Path::new("entries/ab/l.kiln"));
    let after = std::fs::metadata(&victim).unwrap().modified().unwrap();
    assert!(after <= old + Duration::from_secs(1));
}
