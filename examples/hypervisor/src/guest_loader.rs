//! Loading the guest's ELF64 executable into guest RAM.
//!
//! Only what a static executable needs: the ELF header (`e_ident`, `e_type`, `e_machine`,
//! `e_entry`, the program-header table) and the `PT_LOAD` program headers, following the
//! System V ABI ("ELF-64 Object File Format" and the x86-64 psABI). Each `PT_LOAD` segment's
//! `p_filesz` bytes from `p_offset` in the file go to guest-physical address `p_paddr`, and
//! the rest up to `p_memsz` is zero-filled (`.bss`). Every field is checked: a malformed
//! image gives an [`ElfError`] or a [`LoadError`], never a panic.

use alloc::vec::Vec;
use core::fmt;

/// `e_ident[EI_CLASS]` for 64-bit objects.
const ELFCLASS64: u8 = 2;
/// `e_ident[EI_DATA]` for little-endian objects.
const ELFDATA2LSB: u8 = 1;
/// `e_ident[EI_VERSION]` and `e_version`: the current version.
const EV_CURRENT: u8 = 1;
/// `e_type` of an executable file.
const ET_EXEC: u16 = 2;
/// `e_machine` of x86-64.
const EM_X86_64: u16 = 62;
/// `p_type` of a loadable segment.
const PT_LOAD: u32 = 1;
/// Size of the ELF64 header.
const EHDR_SIZE: usize = 64;
/// Size of one ELF64 program header.
const PHDR_SIZE: usize = 56;

/// What is wrong with an ELF image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than the 64-byte ELF64 header.
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// `e_ident` does not start with `\x7fELF`.
    BadMagic,
    /// Not a 64-bit (`ELFCLASS64`) file; the class found.
    NotElf64(u8),
    /// Not little endian (`ELFDATA2LSB`); the data encoding found.
    NotLittleEndian(u8),
    /// `e_ident[EI_VERSION]` or `e_version` is not `EV_CURRENT`; the value found.
    BadVersion(u32),
    /// Not an executable (`ET_EXEC`, a static non-PIE executable); the type found.
    NotExecutable(u16),
    /// Not for x86-64 (`EM_X86_64`); the machine found.
    WrongMachine(u16),
    /// `e_phentsize` is not 56; the size found.
    ProgramHeaderSize(u16),
    /// The program-header table does not fit in the file.
    ProgramHeadersOutsideFile {
        /// `e_phoff`.
        offset: u64,
        /// `e_phnum`.
        count: u16,
    },
    /// A `PT_LOAD` segment's file bytes are not inside the file.
    SegmentOutsideFile {
        /// Index of the program header.
        index: usize,
    },
    /// A `PT_LOAD` segment has `p_filesz > p_memsz`.
    FileSizeAboveMemorySize {
        /// Index of the program header.
        index: usize,
    },
    /// A `PT_LOAD` segment's `p_paddr + p_memsz` overflows.
    AddressOverflow {
        /// Index of the program header.
        index: usize,
    },
    /// There is no `PT_LOAD` segment.
    NoLoadSegment,
    /// The entry point is not inside an executable `PT_LOAD` segment.
    EntryOutsideCode(u64),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => write!(f, "{len} bytes is too short for an ELF64 header"),
            Self::BadMagic => write!(f, "not an ELF file (bad magic)"),
            Self::NotElf64(class) => write!(f, "not a 64-bit ELF file (class {class})"),
            Self::NotLittleEndian(data) => write!(f, "not little endian (data encoding {data})"),
            Self::BadVersion(v) => write!(f, "unknown ELF version {v}"),
            Self::NotExecutable(t) => write!(f, "not a static executable (e_type {t})"),
            Self::WrongMachine(m) => write!(f, "not an x86-64 file (e_machine {m})"),
            Self::ProgramHeaderSize(s) => write!(f, "program headers of {s} bytes (expected 56)"),
            Self::ProgramHeadersOutsideFile { offset, count } => {
                write!(
                    f,
                    "{count} program headers at offset {offset:#x} are outside the file"
                )
            }
            Self::SegmentOutsideFile { index } => {
                write!(f, "segment {index}: its file bytes are outside the file")
            }
            Self::FileSizeAboveMemorySize { index } => {
                write!(f, "segment {index}: file size above memory size")
            }
            Self::AddressOverflow { index } => write!(f, "segment {index}: address overflows"),
            Self::NoLoadSegment => write!(f, "no PT_LOAD segment"),
            Self::EntryOutsideCode(entry) => {
                write!(f, "entry point {entry:#x} is not in an executable segment")
            }
        }
    }
}

/// Why an image could not be loaded into guest RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// A segment does not fit in guest RAM.
    SegmentOutsideRam {
        /// Guest-physical start of the segment.
        start: u64,
        /// Its size in memory.
        size: u64,
        /// Size of guest RAM.
        ram_size: u64,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SegmentOutsideRam {
                start,
                size,
                ram_size,
            } => write!(
                f,
                "segment at {start:#x} ({size:#x} bytes) does not fit in {ram_size:#x} bytes of guest RAM"
            ),
        }
    }
}

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment<'a> {
    /// Guest-physical address to load at (`p_paddr`).
    pub guest_phys: u64,
    /// The bytes from the file (`p_filesz` of them).
    pub file_bytes: &'a [u8],
    /// Size in memory (`p_memsz`); bytes past the file bytes are zero.
    pub mem_size: u64,
    /// `p_flags`: bit 0 execute, bit 1 write, bit 2 read.
    pub flags: u32,
}

impl LoadSegment<'_> {
    /// Whether the segment is executable (`PF_X`).
    pub const fn is_executable(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// A parsed executable: its entry point and its loadable segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestImage<'a> {
    /// The entry point (`e_entry`), a guest-virtual address (identity mapped).
    pub entry: u64,
    /// The `PT_LOAD` segments, in file order.
    pub segments: Vec<LoadSegment<'a>>,
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    let mut b = [0; 2];
    if let Some(s) = bytes.get(offset..offset + 2) {
        b.copy_from_slice(s);
    }
    u16::from_le_bytes(b)
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut b = [0; 4];
    if let Some(s) = bytes.get(offset..offset + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut b = [0; 8];
    if let Some(s) = bytes.get(offset..offset + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// `bytes[offset..offset + len]` with both numbers as found in the file.
fn slice_at(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(len).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

impl<'a> GuestImage<'a> {
    /// Parses an ELF64 x86-64 static executable.
    pub fn parse(elf: &'a [u8]) -> Result<Self, ElfError> {
        let header = elf
            .get(..EHDR_SIZE)
            .ok_or(ElfError::TooShort { len: elf.len() })?;
        if header.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err(ElfError::BadMagic);
        }
        let ident = |i: usize| header.get(i).copied().unwrap_or(0);
        if ident(4) != ELFCLASS64 {
            return Err(ElfError::NotElf64(ident(4)));
        }
        if ident(5) != ELFDATA2LSB {
            return Err(ElfError::NotLittleEndian(ident(5)));
        }
        if ident(6) != EV_CURRENT {
            return Err(ElfError::BadVersion(u32::from(ident(6))));
        }
        let e_type = u16_at(header, 16);
        if e_type != ET_EXEC {
            return Err(ElfError::NotExecutable(e_type));
        }
        let machine = u16_at(header, 18);
        if machine != EM_X86_64 {
            return Err(ElfError::WrongMachine(machine));
        }
        let version = u32_at(header, 20);
        if version != u32::from(EV_CURRENT) {
            return Err(ElfError::BadVersion(version));
        }
        let entry = u64_at(header, 24);
        let phoff = u64_at(header, 32);
        let phentsize = u16_at(header, 54);
        let phnum = u16_at(header, 56);
        if usize::from(phentsize) != PHDR_SIZE {
            return Err(ElfError::ProgramHeaderSize(phentsize));
        }
        let table = slice_at(elf, phoff, u64::from(phnum) * PHDR_SIZE as u64).ok_or(
            ElfError::ProgramHeadersOutsideFile {
                offset: phoff,
                count: phnum,
            },
        )?;

        let mut segments = Vec::new();
        for (index, ph) in table.chunks_exact(PHDR_SIZE).enumerate() {
            if u32_at(ph, 0) != PT_LOAD {
                continue;
            }
            let flags = u32_at(ph, 4);
            let offset = u64_at(ph, 8);
            let paddr = u64_at(ph, 24);
            let file_size = u64_at(ph, 32);
            let mem_size = u64_at(ph, 40);
            if file_size > mem_size {
                return Err(ElfError::FileSizeAboveMemorySize { index });
            }
            if paddr.checked_add(mem_size).is_none() {
                return Err(ElfError::AddressOverflow { index });
            }
            let file_bytes =
                slice_at(elf, offset, file_size).ok_or(ElfError::SegmentOutsideFile { index })?;
            segments.push(LoadSegment {
                guest_phys: paddr,
                file_bytes,
                mem_size,
                flags,
            });
        }
        if segments.is_empty() {
            return Err(ElfError::NoLoadSegment);
        }
        let entry_in_code = segments.iter().any(|s| {
            s.is_executable() && entry >= s.guest_phys && entry - s.guest_phys < s.mem_size
        });
        if !entry_in_code {
            return Err(ElfError::EntryOutsideCode(entry));
        }
        Ok(Self { entry, segments })
    }

    /// Copies every segment into `ram` (guest RAM, guest-physical address 0 at index 0) and
    /// zero-fills each segment's memory beyond its file bytes. Checks every segment first:
    /// on error nothing was written.
    pub fn load_into(&self, ram: &mut [u8]) -> Result<(), LoadError> {
        let ram_size = ram.len() as u64;
        let ram_len = ram.len();
        let range_of = |s: &LoadSegment<'_>| {
            let start = usize::try_from(s.guest_phys).ok()?;
            let end = start.checked_add(usize::try_from(s.mem_size).ok()?)?;
            (end <= ram_len).then_some(start..end)
        };
        for s in &self.segments {
            if range_of(s).is_none() {
                return Err(LoadError::SegmentOutsideRam {
                    start: s.guest_phys,
                    size: s.mem_size,
                    ram_size,
                });
            }
        }
        for s in &self.segments {
            if let Some(range) = range_of(s)
                && let Some(target) = ram.get_mut(range)
            {
                let (file_part, zero_part) = target.split_at_mut(s.file_bytes.len());
                file_part.copy_from_slice(s.file_bytes);
                zero_part.fill(0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    /// A minimal valid image: one RX segment of 16 bytes at 0x1000 (8 from the file) whose
    /// file bytes are at offset 0x78, entry 0x1004.
    fn sample() -> Vec<u8> {
        let mut elf = vec![0u8; 0x78 + 8];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = ELFCLASS64;
        elf[5] = ELFDATA2LSB;
        elf[6] = EV_CURRENT;
        elf[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        elf[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        elf[20..24].copy_from_slice(&1u32.to_le_bytes());
        elf[24..32].copy_from_slice(&0x1004u64.to_le_bytes());
        elf[32..40].copy_from_slice(&64u64.to_le_bytes());
        elf[54..56].copy_from_slice(&56u16.to_le_bytes());
        elf[56..58].copy_from_slice(&1u16.to_le_bytes());
        let ph = 64;
        elf[ph..ph + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
        elf[ph + 4..ph + 8].copy_from_slice(&5u32.to_le_bytes());
        elf[ph + 8..ph + 16].copy_from_slice(&0x78u64.to_le_bytes());
        elf[ph + 24..ph + 32].copy_from_slice(&0x1000u64.to_le_bytes());
        elf[ph + 32..ph + 40].copy_from_slice(&8u64.to_le_bytes());
        elf[ph + 40..ph + 48].copy_from_slice(&16u64.to_le_bytes());
        elf[0x78..].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        elf
    }

    #[test]
    fn parses_and_loads_with_zero_fill() {
        let elf = sample();
        let image = GuestImage::parse(&elf).unwrap();
        assert_eq!(image.entry, 0x1004);
        assert_eq!(image.segments.len(), 1);
        let mut ram = vec![0xAAu8; 0x2000];
        image.load_into(&mut ram).unwrap();
        assert_eq!(&ram[0x1000..0x1008], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&ram[0x1008..0x1010], &[0; 8]);
        assert_eq!(ram[0x1010], 0xAA);
        assert_eq!(ram[0xFFF], 0xAA);
    }

    #[test]
    fn rejects_what_it_must() {
        let mut e = sample();
        e[0] = 0;
        assert_eq!(GuestImage::parse(&e), Err(ElfError::BadMagic));
        let mut e = sample();
        e[4] = 1;
        assert_eq!(GuestImage::parse(&e), Err(ElfError::NotElf64(1)));
        let mut e = sample();
        e[16] = 3;
        assert_eq!(GuestImage::parse(&e), Err(ElfError::NotExecutable(3)));
        let mut e = sample();
        e[18] = 3;
        assert_eq!(GuestImage::parse(&e), Err(ElfError::WrongMachine(3)));
        let mut e = sample();
        e[24] = 0x40; // entry 0x1040: past the segment
        assert_eq!(
            GuestImage::parse(&e),
            Err(ElfError::EntryOutsideCode(0x1040))
        );
        let mut e = sample();
        e[64 + 32] = 17; // filesz 17 > memsz 16
        assert_eq!(
            GuestImage::parse(&e),
            Err(ElfError::FileSizeAboveMemorySize { index: 0 })
        );
        let mut e = sample();
        e[64 + 40] = 0x20;
        e[64 + 32] = 0x20; // filesz 32 reaches past the end of the file
        assert_eq!(
            GuestImage::parse(&e),
            Err(ElfError::SegmentOutsideFile { index: 0 })
        );
        let e = sample();
        assert_eq!(
            GuestImage::parse(&e[..40]),
            Err(ElfError::TooShort { len: 40 })
        );
        let mut e = sample();
        e[64] = 0; // PT_NULL
        assert_eq!(GuestImage::parse(&e), Err(ElfError::NoLoadSegment));
    }

    #[test]
    fn refuses_segments_outside_ram_without_writing() {
        let elf = sample();
        let image = GuestImage::parse(&elf).unwrap();
        let mut ram = vec![0xAAu8; 0x1008];
        assert_eq!(
            image.load_into(&mut ram),
            Err(LoadError::SegmentOutsideRam {
                start: 0x1000,
                size: 16,
                ram_size: 0x1008
            })
        );
        assert!(ram.iter().all(|&b| b == 0xAA));
    }

    proptest! {
        #[test]
        fn parse_and_load_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(image) = GuestImage::parse(&bytes) {
                let mut ram = vec![0u8; 0x2000];
                let _ = image.load_into(&mut ram);
            }
        }

        #[test]
        fn mutated_sample_never_panics(index in 0usize..0x80, value in any::<u8>()) {
            let mut elf = sample();
            if let Some(b) = elf.get_mut(index) {
                *b = value;
            }
            if let Ok(image) = GuestImage::parse(&elf) {
                let mut ram = vec![0u8; 0x2000];
                let _ = image.load_into(&mut ram);
            }
        }
    }
}
