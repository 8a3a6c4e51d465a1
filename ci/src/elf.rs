//! What `cargo ci` needs from a statically linked bare-metal kernel ELF: the entry point
//! and the `PT_LOAD` segments with their file bytes, read with the `object` crate (ELF64,
//! little endian, `EM_X86_64`; System V ABI and its AMD64 supplement).

use std::fmt;

use object::Endianness;
use object::elf::{EM_X86_64, FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader as _, ProgramHeader as _};

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfError {
    /// The `object` crate could not read the header or the program-header table (not an
    /// ELF file, not ELFCLASS64, truncated, a bad entry size...).
    Malformed(object::read::Error),
    /// The file is big endian.
    BigEndian,
    /// `e_machine` is not x86-64.
    WrongMachine(u16),
    /// A segment's file range lies outside the file.
    SegmentOutOfFile {
        /// Index of the program header.
        index: usize,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::Malformed(e) => write!(f, "not a readable ELF64 file: {e}"),
            ElfError::BigEndian => write!(f, "big-endian ELF, x86-64 is little endian"),
            ElfError::WrongMachine(m) => write!(f, "ELF machine {m} is not x86-64 ({EM_X86_64})"),
            ElfError::SegmentOutOfFile { index } => {
                write!(f, "program header {index}: file range outside the file")
            }
        }
    }
}

impl std::error::Error for ElfError {}

impl From<object::read::Error> for ElfError {
    fn from(e: object::read::Error) -> Self {
        ElfError::Malformed(e)
    }
}

/// One `PT_LOAD` segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// The segment's file bytes (`filesz` of them).
    pub data: &'a [u8],
}

/// A parsed kernel ELF (borrowing its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf<'a> {
    /// `e_entry`.
    pub entry: u64,
    /// The `PT_LOAD` segments, in file order.
    pub segments: Vec<Segment<'a>>,
}

impl<'a> Elf<'a> {
    /// Reads the header and the `PT_LOAD` program headers; checks that every such
    /// segment's file bytes exist.
    pub fn parse(data: &'a [u8]) -> Result<Self, ElfError> {
        let header = FileHeader64::<Endianness>::parse(data)?;
        if header.endian()? != Endianness::Little {
            return Err(ElfError::BigEndian);
        }
        let e = Endianness::Little;
        let machine = header.e_machine(e);
        if machine != EM_X86_64 {
            return Err(ElfError::WrongMachine(machine));
        }
        let mut segments = Vec::new();
        for (index, ph) in header.program_headers(e, data)?.iter().enumerate() {
            if ph.p_type(e) != PT_LOAD {
                continue;
            }
            let bytes = ph
                .data(e, data)
                .map_err(|()| ElfError::SegmentOutOfFile { index })?;
            segments.push(Segment {
                vaddr: ph.p_vaddr(e),
                filesz: ph.p_filesz(e),
                memsz: ph.p_memsz(e),
                data: bytes,
            });
        }
        Ok(Self {
            entry: header.e_entry(e),
            segments,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use object::elf::{ELFCLASS64, ELFDATA2LSB, ELFMAG, ET_EXEC, EV_CURRENT, Ident};
    use object::elf::{PF_R, PF_X, ProgramHeader64};
    use object::pod::bytes_of;
    use object::{LittleEndian, U16, U32, U64};

    use super::*;

    /// The byte order the fixtures are written in.
    const LE: LittleEndian = LittleEndian;

    fn header(entry: u64, phnum: u16) -> FileHeader64<LittleEndian> {
        let hsize = size_of::<FileHeader64<LittleEndian>>();
        let phsize = size_of::<ProgramHeader64<LittleEndian>>();
        FileHeader64 {
            e_ident: Ident {
                magic: ELFMAG,
                class: ELFCLASS64,
                data: ELFDATA2LSB,
                version: EV_CURRENT,
                os_abi: 0,
                abi_version: 0,
                padding: [0; 7],
            },
            e_type: U16::new(LE, ET_EXEC),
            e_machine: U16::new(LE, EM_X86_64),
            e_version: U32::new(LE, u32::from(EV_CURRENT)),
            e_entry: U64::new(LE, entry),
            e_phoff: U64::new(LE, hsize as u64),
            e_shoff: U64::new(LE, 0),
            e_flags: U32::new(LE, 0),
            e_ehsize: U16::new(LE, hsize as u16),
            e_phentsize: U16::new(LE, phsize as u16),
            e_phnum: U16::new(LE, phnum),
            e_shentsize: U16::new(LE, 0),
            e_shnum: U16::new(LE, 0),
            e_shstrndx: U16::new(LE, 0),
        }
    }

    /// Writes a minimal ELF64 executable with the given (vaddr, bytes, memsz) PT_LOAD
    /// segments, using the `object` crate's ELF structures.
    pub(crate) fn build(entry: u64, segs: &[(u64, &[u8], u64)]) -> Vec<u8> {
        let phsize = size_of::<ProgramHeader64<LittleEndian>>();
        let mut out = bytes_of(&header(entry, segs.len() as u16)).to_vec();
        let mut data_off = (out.len() + phsize * segs.len()) as u64;
        for (vaddr, bytes, memsz) in segs {
            let ph = ProgramHeader64 {
                p_type: U32::new(LE, PT_LOAD),
                p_flags: U32::new(LE, PF_R | PF_X),
                p_offset: U64::new(LE, data_off),
                p_vaddr: U64::new(LE, *vaddr),
                p_paddr: U64::new(LE, *vaddr),
                p_filesz: U64::new(LE, bytes.len() as u64),
                p_memsz: U64::new(LE, *memsz),
                p_align: U64::new(LE, 1),
            };
            out.extend_from_slice(bytes_of(&ph));
            data_off += bytes.len() as u64;
        }
        for (_, bytes, _) in segs {
            out.extend_from_slice(bytes);
        }
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
        assert_eq!(elf.segments.len(), 2);
        assert_eq!(elf.segments[0].vaddr, 0x7C00);
        assert_eq!(elf.segments[0].data, &[1, 2, 3]);
        assert_eq!(elf.segments[1].memsz, 20);
        assert_eq!(elf.segments[1].filesz, 10);
        assert_eq!(elf.segments[1].data, &[9; 10]);
    }

    #[test]
    fn skips_other_segment_types() {
        let mut f = build(0x10_0000, &[(0x7C00, &[1], 1), (0x10_0000, &[2], 1)]);
        // p_type of the first program header (right after the 64-byte file header).
        f[64..68].copy_from_slice(&object::elf::PT_NOTE.to_le_bytes());
        let elf = Elf::parse(&f).unwrap();
        assert_eq!(elf.segments.len(), 1);
        assert_eq!(elf.segments[0].vaddr, 0x10_0000);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(Elf::parse(b"\x7fEL"), Err(ElfError::Malformed(_))));
        assert!(matches!(
            Elf::parse(&[0u8; 64]),
            Err(ElfError::Malformed(_))
        ));
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
        f[4] = 1; // ELFCLASS32
        assert!(matches!(Elf::parse(&f), Err(ElfError::Malformed(_))));
        let mut f = build(0, &[]);
        f[5] = 2; // ELFDATA2MSB
        assert_eq!(Elf::parse(&f).unwrap_err(), ElfError::BigEndian);
    }

    #[test]
    fn never_panics_on_prefixes_or_flips() {
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
