//! Which functions of an x86-64 ELF program refer to given functions or
//! data: the static analysis behind [`crate::rust_walks_environ`].
//!
//! A reference is a RIP-relative displacement (the last four bytes of a
//! `call`, `jmp`, `lea` or `mov`) that lands on a wanted address, or on a
//! global-offset-table slot that the program's relocations fill with one.
//! A wanted address stored anywhere else (a table of function pointers) has
//! no function to blame: [`Refs::escapes`] is then set, and callers treat the
//! program as doing anything.

/// A function of the program's symbol table.
#[derive(Debug, Clone)]
pub struct Func {
    /// Start address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Mangled name.
    pub name: String,
}

/// Section header fields used here.
struct Section {
    kind: u32,
    flags: u64,
    addr: u64,
    offset: usize,
    size: usize,
    link: u32,
    entsize: usize,
    name: u32,
}

const SHT_SYMTAB: u32 = 2;
const SHT_RELA: u32 = 4;
const SHF_EXECINSTR: u64 = 4;
const R_X86_64_64: u32 = 1;
const R_X86_64_GLOB_DAT: u32 = 6;
const R_X86_64_RELATIVE: u32 = 8;

/// A parsed x86-64 ELF program: its sections and functions.
pub struct Program<'a> {
    bytes: &'a [u8],
    sections: Vec<Section>,
    /// Functions, sorted by address.
    pub funcs: Vec<Func>,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}
fn at(b: &[u8], o: u64) -> Option<usize> {
    let o = usize::try_from(o).ok()?;
    (o <= b.len()).then_some(o)
}

fn c_str(b: &[u8], o: usize) -> Option<&str> {
    let rest = b.get(o..)?;
    let end = rest.iter().position(|c| *c == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

impl<'a> Program<'a> {
    /// Parses a little-endian ELF64 x86-64 file with a symbol table; `None`
    /// for anything else.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let b = bytes;
        if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
            return None;
        }
        if u16_at(b, 0x12)? != 62 {
            return None;
        }
        let shoff = at(b, u64_at(b, 0x28)?)?;
        let shentsize = usize::from(u16_at(b, 0x3a)?);
        let shnum = usize::from(u16_at(b, 0x3c)?);
        let mut sections = Vec::with_capacity(shnum);
        for i in 0..shnum {
            let o = shoff.checked_add(i.checked_mul(shentsize)?)?;
            let s = Section {
                name: u32_at(b, o)?,
                kind: u32_at(b, o + 4)?,
                flags: u64_at(b, o + 8)?,
                addr: u64_at(b, o + 16)?,
                offset: at(b, u64_at(b, o + 24)?)?,
                size: usize::try_from(u64_at(b, o + 32)?).ok()?,
                link: u32_at(b, o + 40)?,
                entsize: usize::try_from(u64_at(b, o + 56)?).ok()?,
            };
            if s.kind != 8 && s.offset.checked_add(s.size)? > b.len() {
                return None;
            }
            sections.push(s);
        }
        let symtab = sections.iter().find(|s| s.kind == SHT_SYMTAB)?;
        let funcs = read_funcs(b, symtab, sections.get(symtab.link as usize)?)?;
        Some(Self {
            bytes,
            sections,
            funcs,
        })
    }

    fn section_named(&self, wanted: &str, shstrndx: usize) -> Option<&Section> {
        let names = self.sections.get(shstrndx)?;
        self.sections
            .iter()
            .find(|s| c_str(self.bytes, names.offset + s.name as usize) == Some(wanted))
    }

    /// The function holding `addr`.
    pub fn func_at(&self, addr: u64) -> Option<&Func> {
        let i = self.funcs.partition_point(|f| f.addr <= addr);
        let f = self.funcs.get(i.checked_sub(1)?)?;
        (addr < f.addr + f.size.max(1)).then_some(f)
    }

    /// Slots filled by relocations: `(slot address, target address or
    /// dynamic symbol name)`.
    fn relocations(&self) -> Vec<(u64, Target)> {
        let mut out = Vec::new();
        for rela in self.sections.iter().filter(|s| s.kind == SHT_RELA) {
            let dynsym = self.sections.get(rela.link as usize);
            let dynstr = dynsym.and_then(|d| self.sections.get(d.link as usize));
            let n = rela.size / rela.entsize.max(24);
            for i in 0..n {
                let o = rela.offset + i * 24;
                let (Some(slot), Some(info), Some(addend)) = (
                    u64_at(self.bytes, o),
                    u64_at(self.bytes, o + 8),
                    u64_at(self.bytes, o + 16),
                ) else {
                    break;
                };
                let (sym, kind) = (info >> 32, (info & 0xffff_ffff) as u32);
                match kind {
                    R_X86_64_RELATIVE => out.push((slot, Target::Addr(addend))),
                    R_X86_64_GLOB_DAT | R_X86_64_64 => {
                        let name = dynsym.zip(dynstr).and_then(|(ds, dst)| {
                            let so = ds.offset + usize::try_from(sym).ok()? * 24;
                            c_str(self.bytes, dst.offset + u32_at(self.bytes, so)? as usize)
                        });
                        if let Some(name) = name {
                            out.push((slot, Target::Name(name.to_owned())));
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

fn read_funcs(b: &[u8], symtab: &Section, strtab: &Section) -> Option<Vec<Func>> {
    let mut funcs = Vec::new();
    let n = symtab.size / symtab.entsize.max(24);
    for i in 0..n {
        let o = symtab.offset + i * 24;
        let name = u32_at(b, o)? as usize;
        let info = *b.get(o + 4)?;
        let value = u64_at(b, o + 8)?;
        let size = u64_at(b, o + 16)?;
        if info & 0xf == 2 && value != 0 {
            let name = c_str(b, strtab.offset + name).unwrap_or("").to_owned();
            funcs.push(Func {
                addr: value,
                size,
                name,
            });
        }
    }
    funcs.sort_by_key(|f| f.addr);
    Some(funcs)
}

/// What a relocation puts into a slot.
enum Target {
    Addr(u64),
    Name(String),
}

/// The references found.
#[derive(Debug, Default)]
pub struct Refs {
    /// Functions that refer to a wanted address, by name (`?` when the
    /// referring code is in no known function).
    pub from: Vec<String>,
    /// A wanted address is stored where no function can be blamed.
    pub escapes: bool,
}

/// Whether a 32-bit displacement relative to the next instruction may start
/// at `code[i]`: after `call`/`jmp rel32` (`E8`, `E9`), a conditional jump
/// (`0F 8x`), or a ModRM byte addressing `[rip + disp32]` (mod 00, r/m 101:
/// `lea`, `mov`, `call [rip+…]`). Any other window of four bytes that lands
/// on a wanted address is an accident of the bytes, not a reference.
fn displacement_follows(code: &[u8], i: usize) -> bool {
    let Some(&before) = i.checked_sub(1).and_then(|j| code.get(j)) else {
        return false;
    };
    matches!(before, 0xE8 | 0xE9)
        || before & 0xC7 == 0x05
        || (before & 0xF0 == 0x80 && i >= 2 && code[i - 2] == 0x0F)
}

/// Finds what refers to the functions at `addrs` or to the dynamic symbols
/// named in `names`.
pub fn find_refs(p: &Program<'_>, addrs: &[u64], names: &[&str]) -> Refs {
    let mut refs = Refs::default();
    let mut wanted: Vec<u64> = addrs.to_vec();
    let shstrndx = u16_at(p.bytes, 0x3e).map_or(usize::MAX, usize::from);
    let got = [".got", ".got.plt"]
        .iter()
        .filter_map(|n| p.section_named(n, shstrndx))
        .map(|s| (s.addr, s.addr + s.size as u64))
        .collect::<Vec<_>>();
    for (slot, target) in p.relocations() {
        let hit = match &target {
            Target::Addr(a) => addrs.contains(a),
            Target::Name(n) => names.contains(&n.as_str()),
        };
        if !hit {
            continue;
        }
        if got.iter().any(|(lo, hi)| (*lo..*hi).contains(&slot)) {
            wanted.push(slot);
        } else {
            refs.escapes = true;
        }
    }
    for s in p.sections.iter().filter(|s| s.flags & SHF_EXECINSTR != 0) {
        let code = &p.bytes[s.offset..s.offset + s.size];
        for i in 0..code.len().saturating_sub(3) {
            if !displacement_follows(code, i) {
                continue;
            }
            let disp = i64::from(i32::from_le_bytes([
                code[i],
                code[i + 1],
                code[i + 2],
                code[i + 3],
            ]));
            let end = s.addr + i as u64 + 4;
            let target = end.wrapping_add_signed(disp);
            if !wanted.contains(&target) {
                continue;
            }
            let here = s.addr + i as u64;
            let name = p.func_at(here).map_or("?", |f| f.name.as_str());
            if !refs.from.iter().any(|n| n == name) {
                refs.from.push(name.to_owned());
            }
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displacements_follow_only_instructions_that_hold_them() {
        let call = [0xE8, 1, 2, 3, 4];
        assert!(displacement_follows(&call, 1));
        // lea rax, [rip + disp32]: REX.W 8D, ModRM 05.
        let lea = [0x48, 0x8D, 0x05, 1, 2, 3, 4];
        assert!(displacement_follows(&lea, 3));
        // jne rel32: 0F 85.
        let jne = [0x0F, 0x85, 1, 2, 3, 4];
        assert!(displacement_follows(&jne, 2));
        // The same bytes one off, and data.
        assert!(!displacement_follows(&lea, 2));
        assert!(!displacement_follows(&[0x90, 1, 2, 3, 4], 1));
        assert!(!displacement_follows(&call, 0));
    }
}
