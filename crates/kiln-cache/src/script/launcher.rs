//! Putting kiln in the way of a build-script run.
//!
//! Cargo compiles a build script through `RUSTC_WRAPPER` but runs the
//! program itself. After kiln compiled (or restored) one, the program is
//! moved aside to `<name>-kiln-real` and a small shell launcher takes its
//! place; cargo links that to `build-script-build` and runs it, and the
//! launcher hands the real program to `kiln __build-script`. When the kiln
//! binary it names is gone (a target dir restored onto another machine), the
//! launcher runs the real program directly: a build never depends on kiln
//! being where it was.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What the real program's file name gets appended.
pub const REAL_SUFFIX: &str = "-kiln-real";

/// The first line of every launcher.
const SHEBANG: &str = "#!/bin/sh\n";

/// Quotes `s` for `sh` in single quotes.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Where the real program of `program` is kept.
pub fn real_path(program: &Path) -> Option<PathBuf> {
    let name = program.file_name()?.to_str()?;
    Some(program.with_file_name(format!("{name}{REAL_SUFFIX}")))
}

/// The launcher's text for the real program named `real_name`.
fn launcher_text(kiln: &Path, real_name: &str) -> String {
    format!(
        "{SHEBANG}# Written by kiln: runs this build script through the build cache.\n\
         # The build script itself is `{real_name}` next to this file.\n\
         k={kiln}\n\
         case \"$0\" in */*) d=\"${{0%/*}}\" ;; *) d=. ;; esac\n\
         r=\"$d\"/{real}\n\
         if [ -x \"$k\" ]; then exec \"$k\" {cmd} \"$r\" \"$@\"; fi\n\
         exec \"$r\" \"$@\"\n",
        kiln = sh_quote(&kiln.to_string_lossy()),
        real = sh_quote(real_name),
        cmd = super::COMMAND,
    )
}

/// Replaces the compiled build script at `program` with a launcher that
/// runs it through `kiln` (this executable). On failure the program is left
/// (or put back) in place.
pub fn install(program: &Path, kiln: &Path) -> std::io::Result<()> {
    let real = real_path(program).ok_or_else(|| std::io::Error::other("odd file name"))?;
    let real_name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = program.with_file_name(format!(".kiln-launcher-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(launcher_text(kiln, &real_name).as_bytes())?;
        f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(program, &real)?;
    if let Err(e) = std::fs::rename(&tmp, program) {
        let _ = std::fs::rename(&real, program);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::process::Command;

    use super::*;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn the_launcher_hands_the_real_program_to_kiln() {
        let d = tempfile::tempdir().unwrap();
        let fake_kiln = script(d.path(), "it's kiln", r#"echo "kiln $1 $2 $3""#);
        let dir = d.path().join("build dir");
        std::fs::create_dir(&dir).unwrap();
        let program = script(&dir, "build_script_build-1", "echo real");
        install(&program, &fake_kiln).unwrap();
        let out = Command::new(&program).arg("x").output().unwrap();
        let real = dir.join("build_script_build-1-kiln-real");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("kiln {} {} x\n", super::super::COMMAND, real.display())
        );
        std::fs::remove_file(&fake_kiln).unwrap();
        let out = Command::new(&program).output().unwrap();
        assert_eq!(
            out.stdout, b"real\n",
            "without kiln, the script itself runs"
        );
    }

    #[test]
    fn the_program_stays_when_the_launcher_cannot_be_written() {
        let d = tempfile::tempdir().unwrap();
        let program = d.path().join("missing-dir").join("build_script_build-1");
        assert!(install(&program, Path::new("/bin/true")).is_err());
        let present = script(d.path(), "build_script_build-2", "echo real");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
        let result = install(&present, Path::new("/bin/true"));
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if result.is_err() {
            assert_eq!(
                std::fs::read_to_string(&present).unwrap(),
                "#!/bin/sh\necho real\n"
            );
        }
    }
}
