//! Whether a program the compile ran could be observed at all.
//!
//! The observer is a preloaded library: statically linked programs (no
//! `PT_INTERP` program header) and setuid/setgid programs (the loader drops
//! `LD_PRELOAD`) run unobserved, so their reads are invisible.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const PT_INTERP: u32 = 3;

/// Whether `program` runs with the observer loaded. Non-ELF files (scripts)
/// count as observable: the kernel starts their interpreter, which is.
pub fn observable(program: &Path) -> bool {
    let Ok(md) = std::fs::metadata(program) else {
        return true;
    };
    if md.permissions().mode() & 0o6000 != 0 {
        return false;
    }
    let Ok(mut f) = std::fs::File::open(program) else {
        return true;
    };
    let mut head = Vec::with_capacity(64 * 1024);
    if f.by_ref().take(64 * 1024).read_to_end(&mut head).is_err() {
        return true;
    }
    !matches!(elf_has_interp(&head), Some(false))
}

/// `Some(has PT_INTERP)` for an ELF file, `None` for anything else.
fn elf_has_interp(b: &[u8]) -> Option<bool> {
    if b.len() < 64 || &b[..4] != b"\x7fELF" {
        return None;
    }
    let wide = b[4] == 2;
    let le = b[5] == 1;
    let u16_at = |o: usize| -> Option<usize> {
        let x: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
        Some(usize::from(if le {
            u16::from_le_bytes(x)
        } else {
            u16::from_be_bytes(x)
        }))
    };
    let u32_at = |o: usize| -> Option<u32> {
        let x: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(x)
        } else {
            u32::from_be_bytes(x)
        })
    };
    let u64_at = |o: usize| -> Option<u64> {
        let x: [u8; 8] = b.get(o..o + 8)?.try_into().ok()?;
        Some(if le {
            u64::from_le_bytes(x)
        } else {
            u64::from_be_bytes(x)
        })
    };
    let (phoff, phentsize, phnum) = if wide {
        (
            usize::try_from(u64_at(0x20)?).ok()?,
            u16_at(0x36)?,
            u16_at(0x38)?,
        )
    } else {
        (
            usize::try_from(u32_at(0x1c)?).ok()?,
            u16_at(0x2a)?,
            u16_at(0x2c)?,
        )
    };
    for i in 0..phnum {
        let ty = u32_at(phoff + i * phentsize)?;
        if ty == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_programs_are_observable_and_static_ones_are_not() {
        assert!(observable(Path::new("/bin/sh")));
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("s.c");
        std::fs::write(&src, "int main(void){return 0;}").unwrap();
        let out = d.path().join("s");
        let built = std::process::Command::new("cc")
            .arg("-static")
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .status();
        if built.is_ok_and(|s| s.success()) {
            assert!(!observable(&out), "a static program runs unobserved");
        }
        let script = d.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert!(observable(&script));
    }
}
