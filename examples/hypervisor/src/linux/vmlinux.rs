//! Reading an uncompressed ELF64 `vmlinux` for the PVH entry: its `PT_LOAD` segments, placed
//! at their physical addresses, and the `XEN_ELFNOTE_PHYS32_ENTRY` note in a `PT_NOTE`
//! segment (System V ABI "ELF-64 Object File Format" for the headers and note layout; Xen's
//! `public/elfnote.h` and `docs/misc/pvh.pandoc` for the note).

use alloc::vec::Vec;
use core::fmt;

use super::bytes::{u8_at, u16_at, u32_at, u64_at};

/// `e_machine` of x86-64.
const EM_X86_64: u16 = 62;
/// `p_type` of a loadable segment.
const PT_LOAD: u32 = 1;
/// `p_type` of a note segment.
const PT_NOTE: u32 = 4;
/// Size of the ELF64 header.
const EHDR_SIZE: usize = 64;
/// Size of one ELF64 program header.
const PHDR_SIZE: usize = 56;
/// The note type giving the 32-bit physical entry point of the PVH ABI.
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// The note's owner name, NUL-terminated.
pub const XEN_NOTE_NAME: &[u8] = b"Xen\0";

/// Why a kernel is not an ELF64 `vmlinux` that can be started at its PVH entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VmlinuxError {
    /// The file is shorter than the ELF64 header; its length.
    TooShort(usize),
    /// The file does not start with `\x7fELF`.
    NotElf,
    /// Not ELFCLASS64; the class found.
    Not64Bit(u8),
    /// Not little endian; the data encoding found.
    NotLittleEndian(u8),
    /// Not an x86-64 object; the machine found.
    WrongMachine(u16),
    /// `e_phentsize` is not 56; the size found.
    ProgramHeaderSize(u16),
    /// The program headers are not inside the file.
    ProgramHeadersOutsideFile,
    /// A segment's file bytes are not inside the file; the program header index.
    SegmentOutsideFile(usize),
    /// A `PT_LOAD` segment has more file bytes than memory bytes; the index.
    FileSizeAboveMemorySize(usize),
    /// A `PT_LOAD` segment's `p_paddr + p_memsz` overflows; the index.
    AddressOverflow(usize),
    /// There is no `PT_LOAD` segment.
    NoLoadSegment,
    /// A note in a `PT_NOTE` segment runs past the segment's end; the program header index.
    MalformedNote(usize),
    /// No `XEN_ELFNOTE_PHYS32_ENTRY` note: the kernel has no PVH entry point.
    NoPvhEntry,
    /// The PVH note's descriptor is shorter than 4 bytes; its size.
    ShortPvhNote(u32),
    /// The PVH entry point is not a 32-bit address; the value found.
    PvhEntryAbove4G(u64),
}

impl fmt::Display for VmlinuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort(len) => {
                write!(f, "vmlinux of {len} bytes is shorter than an ELF64 header")
            }
            Self::NotElf => write!(f, "kernel is not an ELF file (and PVH needs a vmlinux)"),
            Self::Not64Bit(c) => write!(f, "vmlinux ELF class is {c}, not 64-bit"),
            Self::NotLittleEndian(d) => {
                write!(f, "vmlinux ELF data encoding is {d}, not little endian")
            }
            Self::WrongMachine(m) => write!(f, "vmlinux is for ELF machine {m}, not x86-64"),
            Self::ProgramHeaderSize(s) => {
                write!(f, "vmlinux program headers are {s} bytes, not 56")
            }
            Self::ProgramHeadersOutsideFile => {
                write!(f, "vmlinux program headers lie outside the file")
            }
            Self::SegmentOutsideFile(i) => write!(f, "vmlinux segment {i} lies outside the file"),
            Self::FileSizeAboveMemorySize(i) => {
                write!(
                    f,
                    "vmlinux segment {i} has more file bytes than memory bytes"
                )
            }
            Self::AddressOverflow(i) => write!(f, "vmlinux segment {i} ends past 2^64"),
            Self::NoLoadSegment => write!(f, "vmlinux has no PT_LOAD segment"),
            Self::MalformedNote(i) => write!(f, "a note in vmlinux segment {i} runs past its end"),
            Self::NoPvhEntry => write!(
                f,
                "vmlinux has no XEN_ELFNOTE_PHYS32_ENTRY note (no PVH entry)"
            ),
            Self::ShortPvhNote(n) => write!(
                f,
                "vmlinux PVH entry note has {n} descriptor bytes, fewer than 4"
            ),
            Self::PvhEntryAbove4G(e) => write!(f, "vmlinux PVH entry {e:#x} is above 4 GiB"),
        }
    }
}

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    /// Offset of its bytes in the file.
    pub offset: usize,
    /// Bytes taken from the file.
    pub file_size: usize,
    /// Guest-physical address (`p_paddr`).
    pub paddr: u64,
    /// Bytes in memory; those past `file_size` are zero.
    pub mem_size: u64,
}

/// What the PVH loader needs from a `vmlinux`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vmlinux {
    /// The loadable segments, in program-header order.
    pub segments: Vec<LoadSegment>,
    /// The 32-bit physical entry point from `XEN_ELFNOTE_PHYS32_ENTRY`.
    pub pvh_entry: u32,
}

fn bounded(file: &[u8], offset: u64, size: u64) -> Option<(usize, usize)> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    (start.checked_add(len)? <= file.len()).then_some((start, len))
}

/// Looks for the PVH entry note in `notes` (the bytes of one `PT_NOTE` segment). Each note:
/// `namesz`, `descsz`, `type` (u32 each), the name and the descriptor, each padded to 4.
fn find_pvh_entry(notes: &[u8], index: usize) -> Result<Option<u64>, VmlinuxError> {
    let bad = VmlinuxError::MalformedNote(index);
    let pad = |n: u32| (n as usize).checked_add(3).map(|n| n & !3).ok_or(bad);
    let mut at = 0;
    while at < notes.len() {
        let namesz = u32_at(notes, at).ok_or(bad)?;
        let descsz = u32_at(notes, at + 4).ok_or(bad)?;
        let kind = u32_at(notes, at + 8).ok_or(bad)?;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(pad(namesz)?).ok_or(bad)?;
        let next = desc_at.checked_add(pad(descsz)?).ok_or(bad)?;
        let name = notes.get(name_at..name_at + namesz as usize).ok_or(bad)?;
        let desc = notes.get(desc_at..desc_at + descsz as usize).ok_or(bad)?;
        if kind == XEN_ELFNOTE_PHYS32_ENTRY && name == XEN_NOTE_NAME {
            let entry = if descsz < 4 {
                return Err(VmlinuxError::ShortPvhNote(descsz));
            } else if descsz < 8 {
                u64::from(u32_at(desc, 0).ok_or(bad)?)
            } else {
                u64_at(desc, 0).ok_or(bad)?
            };
            return Ok(Some(entry));
        }
        if next > notes.len() {
            return Err(bad);
        }
        at = next;
    }
    Ok(None)
}

impl Vmlinux {
    /// Parses `file`: the ELF64 header (little endian, x86-64), every `PT_LOAD` segment
    /// (inside the file, `p_filesz <= p_memsz`, no address overflow) and the PVH entry note.
    pub fn parse(file: &[u8]) -> Result<Self, VmlinuxError> {
        if file.len() < EHDR_SIZE {
            return Err(VmlinuxError::TooShort(file.len()));
        }
        if file.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err(VmlinuxError::NotElf);
        }
        let short = VmlinuxError::TooShort(file.len());
        let class = u8_at(file, 4).ok_or(short)?;
        if class != 2 {
            return Err(VmlinuxError::Not64Bit(class));
        }
        let data = u8_at(file, 5).ok_or(short)?;
        if data != 1 {
            return Err(VmlinuxError::NotLittleEndian(data));
        }
        let machine = u16_at(file, 18).ok_or(short)?;
        if machine != EM_X86_64 {
            return Err(VmlinuxError::WrongMachine(machine));
        }
        let phoff = u64_at(file, 32).ok_or(short)?;
        let phentsize = u16_at(file, 54).ok_or(short)?;
        let phnum = u16_at(file, 56).ok_or(short)?;
        if phentsize as usize != PHDR_SIZE && phnum != 0 {
            return Err(VmlinuxError::ProgramHeaderSize(phentsize));
        }
        let (table, _) = bounded(file, phoff, u64::from(phnum) * PHDR_SIZE as u64)
            .ok_or(VmlinuxError::ProgramHeadersOutsideFile)?;
        let mut segments = Vec::new();
        let mut pvh_entry = None;
        for index in 0..usize::from(phnum) {
            let ph = table + index * PHDR_SIZE;
            let field = |off| u64_at(file, ph + off).ok_or(VmlinuxError::ProgramHeadersOutsideFile);
            let p_type = u32_at(file, ph).ok_or(VmlinuxError::ProgramHeadersOutsideFile)?;
            let (offset, filesz, paddr, memsz) = (field(8)?, field(32)?, field(24)?, field(40)?);
            match p_type {
                PT_LOAD => {
                    let (offset, file_size) = bounded(file, offset, filesz)
                        .ok_or(VmlinuxError::SegmentOutsideFile(index))?;
                    if filesz > memsz {
                        return Err(VmlinuxError::FileSizeAboveMemorySize(index));
                    }
                    if paddr.checked_add(memsz).is_none() {
                        return Err(VmlinuxError::AddressOverflow(index));
                    }
                    segments.push(LoadSegment {
                        offset,
                        file_size,
                        paddr,
                        mem_size: memsz,
                    });
                }
                PT_NOTE if pvh_entry.is_none() => {
                    let (start, len) = bounded(file, offset, filesz)
                        .ok_or(VmlinuxError::SegmentOutsideFile(index))?;
                    pvh_entry = find_pvh_entry(&file[start..start + len], index)?;
                }
                _ => {}
            }
        }
        if segments.is_empty() {
            return Err(VmlinuxError::NoLoadSegment);
        }
        let entry = pvh_entry.ok_or(VmlinuxError::NoPvhEntry)?;
        let pvh_entry = u32::try_from(entry).map_err(|_| VmlinuxError::PvhEntryAbove4G(entry))?;
        Ok(Self {
            segments,
            pvh_entry,
        })
    }

    /// The lowest and highest (exclusive) guest-physical address the segments occupy.
    pub fn range(&self) -> (u64, u64) {
        let start = self.segments.iter().map(|s| s.paddr).min().unwrap_or(0);
        let end = self
            .segments
            .iter()
            .map(|s| s.paddr.saturating_add(s.mem_size))
            .max()
            .unwrap_or(0);
        (start, end)
    }
}

/// A synthetic `vmlinux` for tests: segments `(paddr, file bytes, mem size)` and a PVH note
/// with `entry` (an 8-byte descriptor, as Linux writes it), after a leading unrelated note.
#[cfg(test)]
pub(crate) fn test_vmlinux(segments: &[(u64, &[u8], u64)], entry: Option<u64>) -> Vec<u8> {
    use super::bytes::{put, put_u16, put_u32, put_u64};
    let phnum = segments.len() + 1;
    let mut notes = Vec::new();
    for (name, kind, desc) in [
        (b"GNU\0".as_slice(), 3u32, [0xAAu8; 8].to_vec()),
        (
            XEN_NOTE_NAME,
            XEN_ELFNOTE_PHYS32_ENTRY,
            entry.unwrap_or(0).to_le_bytes().to_vec(),
        ),
    ] {
        if kind == XEN_ELFNOTE_PHYS32_ENTRY && entry.is_none() {
            continue;
        }
        notes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        notes.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        notes.extend_from_slice(&kind.to_le_bytes());
        notes.extend_from_slice(name);
        notes.extend_from_slice(&desc);
    }
    let mut file = alloc::vec![0u8; EHDR_SIZE + phnum * PHDR_SIZE];
    put(&mut file, 0, b"\x7fELF");
    file[4] = 2;
    file[5] = 1;
    file[6] = 1;
    put_u16(&mut file, 16, 2);
    put_u16(&mut file, 18, EM_X86_64);
    put_u32(&mut file, 20, 1);
    put_u64(&mut file, 32, EHDR_SIZE as u64);
    put_u16(&mut file, 52, EHDR_SIZE as u16);
    put_u16(&mut file, 54, PHDR_SIZE as u16);
    put_u16(&mut file, 56, phnum as u16);
    let note_off = file.len();
    file.extend_from_slice(&notes);
    let ph = EHDR_SIZE;
    put_u32(&mut file, ph, PT_NOTE);
    put_u64(&mut file, ph + 8, note_off as u64);
    put_u64(&mut file, ph + 32, notes.len() as u64);
    put_u64(&mut file, ph + 40, notes.len() as u64);
    for (i, (paddr, bytes, memsz)) in segments.iter().enumerate() {
        let off = file.len();
        file.extend_from_slice(bytes);
        let ph = EHDR_SIZE + (i + 1) * PHDR_SIZE;
        put_u32(&mut file, ph, PT_LOAD);
        put_u32(&mut file, ph + 4, 7);
        put_u64(&mut file, ph + 8, off as u64);
        put_u64(&mut file, ph + 16, 0xFFFF_FFFF_8000_0000 + paddr);
        put_u64(&mut file, ph + 24, *paddr);
        put_u64(&mut file, ph + 32, bytes.len() as u64);
        put_u64(&mut file, ph + 40, *memsz);
        put_u64(&mut file, ph + 48, 0x20_0000);
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::{put_u32, put_u64};
    use proptest::prelude::*;

    #[test]
    fn reads_segments_and_the_pvh_note() {
        let file = test_vmlinux(
            &[
                (0x100_0000, &[1, 2, 3, 4], 0x1000),
                (0x120_0000, &[5; 16], 0x10),
            ],
            Some(0x100_0040),
        );
        let v = Vmlinux::parse(&file).unwrap();
        assert_eq!(v.pvh_entry, 0x100_0040);
        assert_eq!(v.segments.len(), 2);
        assert_eq!(v.segments[0].paddr, 0x100_0000);
        assert_eq!(v.segments[0].file_size, 4);
        assert_eq!(v.segments[0].mem_size, 0x1000);
        assert_eq!(&file[v.segments[1].offset..][..16], &[5; 16]);
        assert_eq!(v.range(), (0x100_0000, 0x120_0010));
    }

    #[test]
    fn each_defect_has_its_error() {
        let good = test_vmlinux(&[(0x100_0000, &[1; 8], 8)], Some(0x100_0000));
        assert_eq!(Vmlinux::parse(&good[..10]), Err(VmlinuxError::TooShort(10)));
        let mut bad = good.clone();
        bad[0] = b'M';
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::NotElf));
        let mut bad = good.clone();
        bad[4] = 1;
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::Not64Bit(1)));
        let mut bad = good.clone();
        bad[5] = 2;
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::NotLittleEndian(2)));
        let mut bad = good.clone();
        bad[18] = 3;
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::WrongMachine(3)));
        let mut bad = good.clone();
        bad[54] = 32;
        assert_eq!(
            Vmlinux::parse(&bad),
            Err(VmlinuxError::ProgramHeaderSize(32))
        );
        let mut bad = good.clone();
        put_u64(&mut bad, 32, 0xFFFF);
        assert_eq!(
            Vmlinux::parse(&bad),
            Err(VmlinuxError::ProgramHeadersOutsideFile)
        );
        let seg = EHDR_SIZE + PHDR_SIZE;
        let mut bad = good.clone();
        put_u64(&mut bad, seg + 32, 0x1_0000);
        assert_eq!(
            Vmlinux::parse(&bad),
            Err(VmlinuxError::SegmentOutsideFile(1))
        );
        let mut bad = good.clone();
        put_u64(&mut bad, seg + 40, 4);
        assert_eq!(
            Vmlinux::parse(&bad),
            Err(VmlinuxError::FileSizeAboveMemorySize(1))
        );
        let mut bad = good.clone();
        put_u64(&mut bad, seg + 24, u64::MAX - 2);
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::AddressOverflow(1)));
        let mut bad = good.clone();
        put_u32(&mut bad, seg, 6);
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::NoLoadSegment));
        let no_note = test_vmlinux(&[(0x100_0000, &[1; 8], 8)], None);
        assert_eq!(Vmlinux::parse(&no_note), Err(VmlinuxError::NoPvhEntry));
        let high = test_vmlinux(&[(0x100_0000, &[1; 8], 8)], Some(1 << 32));
        assert_eq!(
            Vmlinux::parse(&high),
            Err(VmlinuxError::PvhEntryAbove4G(1 << 32))
        );
        // The first note's descsz made to run past the segment.
        let mut bad = good.clone();
        let notes = EHDR_SIZE + 2 * PHDR_SIZE;
        put_u32(&mut bad, notes + 4, 0x1000);
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::MalformedNote(0)));
        // The Xen note's descriptor cut to 2 bytes.
        let mut bad = good.clone();
        put_u32(&mut bad, notes + 24 + 4, 2);
        assert_eq!(Vmlinux::parse(&bad), Err(VmlinuxError::ShortPvhNote(2)));
    }

    #[test]
    fn a_four_byte_descriptor_is_read_too() {
        let mut file = test_vmlinux(&[(0x100_0000, &[1; 8], 8)], Some(0x100_0123));
        let notes = EHDR_SIZE + 2 * PHDR_SIZE;
        put_u32(&mut file, notes + 24 + 4, 4);
        assert_eq!(Vmlinux::parse(&file).map(|v| v.pvh_entry), Ok(0x100_0123));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Vmlinux::parse(&bytes);
        }

        #[test]
        fn mutations_never_panic(index in 0usize..260, value in any::<u8>()) {
            let mut file = test_vmlinux(&[(0x100_0000, &[1; 8], 8)], Some(0x100_0000));
            if let Some(b) = file.get_mut(index) {
                *b = value;
            }
            if let Ok(v) = Vmlinux::parse(&file) {
                for s in &v.segments {
                    prop_assert!(s.offset + s.file_size <= file.len());
                }
            }
        }
    }
}
