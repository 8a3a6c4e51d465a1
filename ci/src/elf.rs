//! A minimal ELF64 little-endian reader: the header and the program headers, enough to
//! turn a statically linked bare-metal kernel into a disk image (ELF specification,
//! "System V ABI, AMD64 supplement" for EM_X86_64).

use std::fmt;

/// `PT_LOAD` segment type.
pub const PT_LOAD: u32 = 1;
/// `EM_X86_64` machine.
pub const EM_X86_64: u16 = 62;

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than the structure being read.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Offset it starts at.
        offset: u64,
    },
    /// Not `\x7fELF`.
    BadMagic,
    /// Not ELFCLASS64 / little endian / version 1.
    Unsupported(&'static str),
    /// `e_machine` is not x86-64.
    WrongMachine(u16),
    /// A program header entry is smaller than 56 bytes.
    BadPhentsize(u16),
    /// A segment's file range lies outside the file.
    SegmentOutOfFile {
        /// Index of the program header.
        index: usize,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::Truncated { what, offset } => {
                write!(f, "file too short for {what} at offset {offset:#x}")
            }
            ElfError::BadMagic => write!(f, "not an ELF file (bad magic)"),
            ElfError::Unsupported(what) => write!(f, "unsupported ELF: {what}"),
            ElfError::WrongMachine(m) => write!(f, "ELF machine {m} is not x86-64 ({EM_X86_64})"),
            ElfError::BadPhentsize(s) => write!(f, "program header entry size {s} < 56"),
            ElfError::SegmentOutOfFile { index } => {
                write!(f, "program header {index}: file range outside the file")
            }
        }
    }
}

impl std::error::Error for ElfError {}

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags` (1 = X, 2 = W, 4 = R).
    pub flags: u32,
    /// `p_offset`: where the bytes are in the file.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
}

/// A parsed ELF64 file (borrowing its bytes).
#[derive(Debug, Clone)]
pub struct Elf<'a> {
    data: &'a [u8],
    /// `e_entry`.
    pub entry: u64,
    /// Every program header, in file order.
    pub segments: Vec<Segment>,
}

fn read<const N: usize>(data: &[u8], offset: u64, what: &'static str) -> Result<[u8; N], ElfError> {
    let start = usize::try_from(offset).map_err(|_| ElfError::Truncated { what, offset })?;
    data.get(start..start.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or(ElfError::Truncated { what, offset })
}

fn u16_at(d: &[u8], o: u64, w: &'static str) -> Result<u16, ElfError> {
    read::<2>(d, o, w).map(u16::from_le_bytes)
}
fn u32_at(d: &[u8], o: u64, w: &'static str) -> Result<u32, ElfError> {
    read::<4>(d, o, w).map(u32::from_le_bytes)
}
fn u64_at(d: &[u8], o: u64, w: &'static str) -> Result<u64, ElfError> {
    read::<8>(d, o, w).map(u64::from_le_bytes)
}

impl<'a> Elf<'a> {
    /// Parses the header and program headers; checks that every segment's file bytes exist.
    pub fn parse(data: &'a [u8]) -> Result<Self, ElfError> {
        let ident = read::<16>(data, 0, "ELF identification")?;
        if ident[..4] != *b"\x7fELF" {
            return Err(ElfError::BadMagic);
        }
        if ident[4] != 2 {
            return Err(ElfError::Unsupported("not ELFCLASS64"));
        }
        if ident[5] != 1 {
            return Err(ElfError::Unsupported("not little endian"));
        }
        if ident[6] != 1 {
            return Err(ElfError::Unsupported("EI_VERSION is not 1"));
        }
        let machine = u16_at(data, 18, "e_machine")?;
        if machine != EM_X86_64 {
            return Err(ElfError::WrongMachine(machine));
        }
        let entry = u64_at(data, 24, "e_entry")?;
        let phoff = u64_at(data, 32, "e_phoff")?;
        let phentsize = u16_at(data, 54, "e_phentsize")?;
        let phnum = u16_at(data, 56, "e_phnum")?;
        if phnum > 0 && phentsize < 56 {
            return Err(ElfError::BadPhentsize(phentsize));
        }
        let mut segments = Vec::with_capacity(usize::from(phnum));
        for i in 0..u64::from(phnum) {
            let base = phoff
                .checked_add(i * u64::from(phentsize))
                .ok_or(ElfError::Truncated {
                    what: "program header",
                    offset: phoff,
                })?;
            let w = "program header";
            let seg = Segment {
                kind: u32_at(data, base, w)?,
                flags: u32_at(data, base + 4, w)?,
                offset: u64_at(data, base + 8, w)?,
                vaddr: u64_at(data, base + 16, w)?,
                paddr: u64_at(data, base + 24, w)?,
                filesz: u64_at(data, base + 32, w)?,
                memsz: u64_at(data, base + 40, w)?,
            };
            let end = seg.offset.checked_add(seg.filesz);
            if end.is_none_or(|e| e > data.len() as u64) {
                return Err(ElfError::SegmentOutOfFile { index: i as usize });
            }
            segments.push(seg);
        }
        Ok(Self {
            data,
            entry,
            segments,
        })
    }

    /// The `PT_LOAD` segments.
    pub fn load_segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().filter(|s| s.kind == PT_LOAD)
    }

    /// The file bytes of a segment (checked in [`Elf::parse`]).
    pub fn segment_data(&self, seg: &Segment) -> &'a [u8] {
        let start = seg.offset as usize;
        self.data
            .get(start..start + seg.filesz as usize)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a minimal ELF64 with the given (vaddr, bytes, memsz) PT_LOAD segments.
    pub(crate) fn build(entry: u64, segs: &[(u64, &[u8], u64)]) -> Vec<u8> {
        let phoff = 64u64;
        let mut data_off = phoff + 56 * segs.len() as u64;
        let mut out = vec![0u8; data_off as usize];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2;
        out[5] = 1;
        out[6] = 1;
        out[16..18].copy_from_slice(&2u16.to_le_bytes());
        out[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        out[24..32].copy_from_slice(&entry.to_le_bytes());
        out[32..40].copy_from_slice(&phoff.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        let mut payload = Vec::new();
        for (i, (vaddr, bytes, memsz)) in segs.iter().enumerate() {
            let b = (phoff + 56 * i as u64) as usize;
            out[b..b + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
            out[b + 4..b + 8].copy_from_slice(&5u32.to_le_bytes());
            out[b + 8..b + 16].copy_from_slice(&data_off.to_le_bytes());
            out[b + 16..b + 24].copy_from_slice(&vaddr.to_le_bytes());
            out[b + 24..b + 32].copy_from_slice(&vaddr.to_le_bytes());
            out[b + 32..b + 40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
            out[b + 40..b + 48].copy_from_slice(&memsz.to_le_bytes());
            payload.extend_from_slice(bytes);
            data_off += bytes.len() as u64;
        }
        out.extend_from_slice(&payload);
        out
    }

    #[test]
    fn parses_segments() {
        let f = build(
            0x10_0000,
            &[(0x7C00, &[1, 2, 3], 3), (0x10_0000, &[9; 10], 20)],
        );
        let elf = Elf::parse(&f).unwrap();
        assert_eq!(elf.entry, 0x10_0000);
        let segs: Vec<_> = elf.load_segments().collect();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].vaddr, 0x7C00);
        assert_eq!(elf.segment_data(segs[0]), &[1, 2, 3]);
        assert_eq!(segs[1].memsz, 20);
        assert_eq!(elf.segment_data(segs[1]), &[9; 10]);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            Elf::parse(b"\x7fEL").unwrap_err(),
            ElfError::Truncated {
                what: "ELF identification",
                offset: 0
            }
        );
        assert_eq!(Elf::parse(&[0u8; 64]).unwrap_err(), ElfError::BadMagic);
        let mut f = build(0, &[(0, &[1; 4], 4)]);
        f[18] = 3;
        assert_eq!(Elf::parse(&f).unwrap_err(), ElfError::WrongMachine(3));
        let mut f = build(0, &[(0, &[1; 4], 4)]);
        let len = f.len();
        f.truncate(len - 1);
        assert_eq!(
            Elf::parse(&f).unwrap_err(),
            ElfError::SegmentOutOfFile { index: 0 }
        );
        let mut f = build(0, &[]);
        f[4] = 1;
        assert_eq!(
            Elf::parse(&f).unwrap_err(),
            ElfError::Unsupported("not ELFCLASS64")
        );
    }

    #[test]
    fn never_panics_on_prefixes() {
        let f = build(
            0x10_0000,
            &[(0x7C00, &[1; 512], 512), (0x10_0000, &[9; 100], 200)],
        );
        for n in 0..f.len() {
            let _ = Elf::parse(&f[..n]);
        }
        let mut g = f.clone();
        for i in 0..g.len() {
            g[i] ^= 0xFF;
            let _ = Elf::parse(&g);
            g[i] ^= 0xFF;
        }
    }
}
