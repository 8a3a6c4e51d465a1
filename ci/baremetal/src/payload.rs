//! The payload the `ci` tool appends to the boot disk (kernel, initrd, command line,
//! configuration), found through a one-sector directory and read with [`crate::disk`].
//!
//! Disk layout (see `ci/baremetal/README.md`): LBA 0 is the boot sector, LBA 1..=K the
//! runtime image (K = the `u32` at [`crate::boot::BOOT_PARAM_SECTORS`] of the boot sector
//! *on disk*: the copy in memory at 0x7C00 is counted down to 0 while the boot sector
//! loads, so `Directory::read` reads LBA 0 again), LBA K+1 the directory:
//!
//! | bytes | content |
//! |-------|---------|
//! | 0..8 | ASCII `VMXRSPL1` ([`SIGNATURE`]) |
//! | 8..12 | entry count, `u32` LE, at most [`MAX_ENTRIES`] |
//! | 12..16 | zero |
//! | 16 + 32 i .. | entry i: name `[u8; 16]` (NUL-padded ASCII), start LBA `u64` LE, byte length `u64` LE |
//!
//! Unused entry slots are zero. Blobs start on sector boundaries after the directory and
//! are zero-padded to whole sectors. No signature means no payload (`Ok(None)`).
//!
//! The parser ([`Directory::parse`]) and the reading logic ([`Directory::read_with`],
//! [`read_entry_with`]) are pure and host-tested against an in-memory disk; the bare-metal
//! target adds `Directory::read` and `read_entry` on the ATA PIO driver. (The SDM does
//! not define this format; the only processor facts used are those of the driver, SDM
//! Vol. 2A "INS".)

use core::fmt;

use crate::disk::{DiskError, SECTOR_SIZE};

/// The directory sector's first 8 bytes.
pub const SIGNATURE: [u8; 8] = *b"VMXRSPL1";
/// Most entries one directory holds ((512 - 16) / 32).
pub const MAX_ENTRIES: usize = 15;
/// Bytes of an entry's name field.
pub const NAME_LEN: usize = 16;
/// Offset of entry 0 in the directory sector.
pub const ENTRIES_OFFSET: usize = 16;
/// Bytes per entry.
pub const ENTRY_SIZE: usize = 32;
/// Offset in the boot sector of the runtime image's sector count K.
pub const SECTORS_PARAM: usize = crate::boot::BOOT_PARAM_SECTORS;

/// One named blob of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The name, NUL-padded printable ASCII (at least one byte).
    pub name: [u8; NAME_LEN],
    /// The blob's first sector.
    pub lba: u64,
    /// Its length in bytes (the last sector is zero-padded on disk).
    pub len: u64,
}

impl Entry {
    /// The name without its padding.
    pub fn name_str(&self) -> &str {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        // Checked printable ASCII by the parser; "" only for an Entry built by hand
        // with a non-UTF-8 name.
        core::str::from_utf8(self.name.get(..end).unwrap_or(&[])).unwrap_or("")
    }

    /// Sectors the blob occupies on disk (its length rounded up to whole sectors).
    pub fn sectors(&self) -> u64 {
        self.len.div_ceil(SECTOR_SIZE as u64)
    }
}

/// A parsed payload directory.
///
/// Only the parser makes one, so its entries always passed the checks of
/// [`Directory::parse_at`] (names, ranges, no overlaps); building one by hand does not
/// compile:
///
/// ```compile_fail,E0451
/// use baremetal::payload::{Directory, Entry};
/// let e = Entry { name: [0; 16], lba: 0, len: 0 };
/// let d = Directory { entries: [e; 15], count: 15, lba: 0 };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directory {
    entries: [Entry; MAX_ENTRIES],
    count: usize,
    lba: u64,
}

/// Why the payload directory or a blob could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// The disk read failed.
    Disk(DiskError),
    /// The entry count is above [`MAX_ENTRIES`].
    TooManyEntries {
        /// The count in the sector.
        count: u32,
    },
    /// Bytes 12..16, or an unused entry slot, are not zero.
    ReservedNotZero {
        /// Offset of the first non-zero byte.
        offset: usize,
    },
    /// An entry's name is empty, not printable ASCII, or has bytes after its padding.
    BadName {
        /// The entry's index.
        index: usize,
    },
    /// Two entries have the same name.
    DuplicateName {
        /// The index of the second one.
        index: usize,
    },
    /// An entry starts at or before the directory, or its sectors reach past LBA48.
    EntryOutOfRange {
        /// The entry's index.
        index: usize,
    },
    /// Two entries' sectors overlap.
    Overlap {
        /// One entry's index.
        first: usize,
        /// The other's.
        second: usize,
    },
    /// The boot sector's image sector count K is so large that K + 1 is no LBA48 sector.
    BadImageSectors {
        /// K.
        sectors: u32,
    },
    /// The destination is shorter than the blob.
    DestinationTooSmall {
        /// The blob's length.
        needed: u64,
        /// The destination's length.
        got: usize,
    },
}

impl From<DiskError> for PayloadError {
    fn from(e: DiskError) -> Self {
        PayloadError::Disk(e)
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::Disk(e) => write!(f, "payload: {e}"),
            PayloadError::TooManyEntries { count } => write!(
                f,
                "payload: directory has {count} entries, at most {MAX_ENTRIES} fit"
            ),
            PayloadError::ReservedNotZero { offset } => {
                write!(f, "payload: directory byte {offset} must be zero")
            }
            PayloadError::BadName { index } => write!(
                f,
                "payload: entry {index} has no NUL-padded printable ASCII name"
            ),
            PayloadError::DuplicateName { index } => {
                write!(f, "payload: entry {index} repeats an earlier name")
            }
            PayloadError::EntryOutOfRange { index } => write!(
                f,
                "payload: entry {index} does not lie after the directory within LBA48"
            ),
            PayloadError::Overlap { first, second } => {
                write!(f, "payload: entries {first} and {second} overlap")
            }
            PayloadError::BadImageSectors { sectors } => write!(
                f,
                "payload: boot sector names {sectors} image sectors, past the disk"
            ),
            PayloadError::DestinationTooSmall { needed, got } => write!(
                f,
                "payload: blob of {needed} bytes does not fit {got} bytes"
            ),
        }
    }
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        v.copy_from_slice(s);
    }
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(s) = b.get(off..off + 8) {
        v.copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

fn name_ok(name: &[u8; NAME_LEN]) -> bool {
    let end = name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
    end > 0
        && name[..end].iter().all(|b| b.is_ascii_graphic())
        && name[end..].iter().all(|&b| b == 0)
}

impl Directory {
    /// Parses a directory sector found at LBA `lba` (blobs must start after it). `Ok(None)`
    /// when the sector does not start with [`SIGNATURE`] (no payload). Total: any 512
    /// bytes give a value or a typed error.
    pub fn parse_at(sector: &[u8; SECTOR_SIZE], lba: u64) -> Result<Option<Self>, PayloadError> {
        if sector[..8] != SIGNATURE {
            return Ok(None);
        }
        let count = u32_at(sector, 8);
        if count as usize > MAX_ENTRIES {
            return Err(PayloadError::TooManyEntries { count });
        }
        let count = count as usize;
        if let Some(i) = sector[12..16].iter().position(|&b| b != 0) {
            return Err(PayloadError::ReservedNotZero { offset: 12 + i });
        }
        let unused = ENTRIES_OFFSET + count * ENTRY_SIZE;
        if let Some(i) = sector[unused..].iter().position(|&b| b != 0) {
            return Err(PayloadError::ReservedNotZero { offset: unused + i });
        }
        let empty = Entry {
            name: [0; NAME_LEN],
            lba: 0,
            len: 0,
        };
        let mut entries = [empty; MAX_ENTRIES];
        for (index, slot) in entries.iter_mut().enumerate().take(count) {
            let off = ENTRIES_OFFSET + index * ENTRY_SIZE;
            let mut name = [0u8; NAME_LEN];
            name.copy_from_slice(&sector[off..off + NAME_LEN]);
            if !name_ok(&name) {
                return Err(PayloadError::BadName { index });
            }
            let e = Entry {
                name,
                lba: u64_at(sector, off + 16),
                len: u64_at(sector, off + 24),
            };
            let in_range = e.lba > lba
                && e.lba
                    .checked_add(e.sectors())
                    .is_some_and(|end| end <= crate::disk::LBA48_LIMIT);
            if !in_range {
                return Err(PayloadError::EntryOutOfRange { index });
            }
            *slot = e;
        }
        let dir = Directory {
            entries,
            count,
            lba,
        };
        let list = dir.entries();
        for (second, b) in list.iter().enumerate() {
            for (first, a) in list.iter().enumerate().take(second) {
                if a.name == b.name {
                    return Err(PayloadError::DuplicateName { index: second });
                }
                let overlap = a.sectors() > 0
                    && b.sectors() > 0
                    && a.lba < b.lba + b.sectors()
                    && b.lba < a.lba + a.sectors();
                if overlap {
                    return Err(PayloadError::Overlap { first, second });
                }
            }
        }
        Ok(Some(dir))
    }

    /// [`Directory::parse_at`] for a directory at LBA 0 (only the layout is checked, not
    /// where the blobs lie relative to the runtime image).
    pub fn parse(sector: &[u8; SECTOR_SIZE]) -> Result<Option<Self>, PayloadError> {
        Self::parse_at(sector, 0)
    }

    /// Finds the directory through `read(lba, buf)` (a sector reader such as
    /// `crate::disk::read_sectors`): reads the boot sector (LBA 0) for K, then parses
    /// LBA K+1.
    pub fn read_with(
        mut read: impl FnMut(u64, &mut [u8]) -> Result<(), DiskError>,
    ) -> Result<Option<Self>, PayloadError> {
        let mut sector = [0u8; SECTOR_SIZE];
        read(0, &mut sector)?;
        let k = u32_at(&sector, SECTORS_PARAM);
        let lba = u64::from(k) + 1;
        read(lba, &mut sector)?;
        Self::parse_at(&sector, lba)
    }

    /// Reads the payload directory from the boot disk (ATA PIO, primary master; see
    /// [`Directory::read_with`]). `Ok(None)`: the disk carries no payload.
    #[cfg(target_os = "none")]
    pub fn read() -> Result<Option<Self>, PayloadError> {
        Self::read_with(crate::disk::read_sectors)
    }

    /// The entries, in disk order.
    pub fn entries(&self) -> &[Entry] {
        self.entries.get(..self.count).unwrap_or(&[])
    }

    /// The entry named `name`.
    pub fn find(&self, name: &str) -> Option<Entry> {
        self.entries()
            .iter()
            .find(|e| e.name_str() == name)
            .copied()
    }

    /// The directory's own LBA (K + 1 for `Directory::read`).
    pub fn lba(&self) -> u64 {
        self.lba
    }
}

/// Reads blob `entry` into `dest[..entry.len]` through the sector reader `read` (whole
/// sectors straight into `dest`, the last partial sector through a 512-byte buffer);
/// `dest` beyond the blob's length is left untouched.
pub fn read_entry_with(
    entry: &Entry,
    dest: &mut [u8],
    mut read: impl FnMut(u64, &mut [u8]) -> Result<(), DiskError>,
) -> Result<(), PayloadError> {
    let too_small = PayloadError::DestinationTooSmall {
        needed: entry.len,
        got: dest.len(),
    };
    let len = usize::try_from(entry.len).map_err(|_| too_small)?;
    let dest = dest.get_mut(..len).ok_or(too_small)?;
    let whole = len - len % SECTOR_SIZE;
    let (head, tail) = dest.split_at_mut(whole);
    // Bounded reads so that a caller's progress output (or a slow device) is not one huge
    // request; 16 MiB each.
    const STEP: usize = 16 << 20;
    let mut lba = entry.lba;
    for chunk in head.chunks_mut(STEP) {
        read(lba, chunk)?;
        lba += (chunk.len() / SECTOR_SIZE) as u64;
    }
    if !tail.is_empty() {
        let mut last = [0u8; SECTOR_SIZE];
        read(lba, &mut last)?;
        tail.copy_from_slice(&last[..tail.len()]);
    }
    Ok(())
}

/// Reads blob `entry` from the boot disk into `dest[..entry.len]` (see
/// [`read_entry_with`]; `dest` must be at least `entry.len` bytes).
#[cfg(target_os = "none")]
pub fn read_entry(entry: &Entry, dest: &mut [u8]) -> Result<(), PayloadError> {
    read_entry_with(entry, dest, crate::disk::read_sectors)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    fn sector(entries: &[(&str, u64, u64)]) -> [u8; 512] {
        let mut s = [0u8; 512];
        s[..8].copy_from_slice(b"VMXRSPL1");
        s[8..12].copy_from_slice(&(entries.len() as u32).to_le_bytes());
        for (i, (name, lba, len)) in entries.iter().enumerate() {
            let o = 16 + 32 * i;
            s[o..o + name.len()].copy_from_slice(name.as_bytes());
            s[o + 16..o + 24].copy_from_slice(&lba.to_le_bytes());
            s[o + 24..o + 32].copy_from_slice(&len.to_le_bytes());
        }
        s
    }

    #[test]
    fn parses_entries() {
        let s = sector(&[
            ("kernel", 20, 1000),
            ("initrd", 22, 512),
            ("cmdline", 23, 0),
        ]);
        let d = Directory::parse_at(&s, 19).unwrap().unwrap();
        assert_eq!(d.entries().len(), 3);
        assert_eq!(d.lba(), 19);
        let k = d.find("kernel").unwrap();
        assert_eq!((k.lba, k.len, k.sectors()), (20, 1000, 2));
        assert_eq!(k.name_str(), "kernel");
        assert_eq!(d.find("initrd").unwrap().sectors(), 1);
        assert_eq!(d.find("cmdline").unwrap().len, 0);
        assert_eq!(d.find("kern"), None);
        assert_eq!(d.entries()[2].name_str(), "cmdline");
        // 16-byte name without NUL.
        let s = sector(&[("abcdefghijklmnop", 2, 1)]);
        let d = Directory::parse(&s).unwrap().unwrap();
        assert!(d.find("abcdefghijklmnop").is_some());
        // Empty directory.
        assert_eq!(
            Directory::parse(&sector(&[])).unwrap().unwrap().entries(),
            &[]
        );
    }

    #[test]
    fn no_signature_is_no_payload() {
        assert_eq!(Directory::parse(&[0; 512]), Ok(None));
        let mut s = sector(&[("kernel", 2, 1)]);
        s[7] = b'2';
        assert_eq!(Directory::parse(&s), Ok(None));
    }

    #[test]
    fn rejects_malformed() {
        let mut s = sector(&[]);
        s[8] = 16;
        assert_eq!(
            Directory::parse(&s),
            Err(PayloadError::TooManyEntries { count: 16 })
        );
        let mut s = sector(&[("a", 2, 1)]);
        s[13] = 1;
        assert_eq!(
            Directory::parse(&s),
            Err(PayloadError::ReservedNotZero { offset: 13 })
        );
        let mut s = sector(&[("a", 2, 1)]);
        s[100] = 1;
        assert_eq!(
            Directory::parse(&s),
            Err(PayloadError::ReservedNotZero { offset: 100 })
        );
        assert_eq!(
            Directory::parse(&sector(&[("", 2, 1)])),
            Err(PayloadError::BadName { index: 0 })
        );
        assert_eq!(
            Directory::parse(&sector(&[("a", 2, 1), ("b c", 3, 1)])),
            Err(PayloadError::BadName { index: 1 })
        );
        let mut s = sector(&[("ab", 2, 1)]);
        s[16 + 3] = b'x'; // byte after the padding
        assert_eq!(
            Directory::parse(&s),
            Err(PayloadError::BadName { index: 0 })
        );
        assert_eq!(
            Directory::parse(&sector(&[("a", 2, 1), ("a", 3, 1)])),
            Err(PayloadError::DuplicateName { index: 1 })
        );
        assert_eq!(
            Directory::parse_at(&sector(&[("a", 5, 1)]), 5),
            Err(PayloadError::EntryOutOfRange { index: 0 })
        );
        assert_eq!(
            Directory::parse(&sector(&[("a", crate::disk::LBA48_LIMIT, 1)])),
            Err(PayloadError::EntryOutOfRange { index: 0 })
        );
        assert_eq!(
            Directory::parse(&sector(&[("a", 2, u64::MAX)])),
            Err(PayloadError::EntryOutOfRange { index: 0 })
        );
        assert_eq!(
            Directory::parse(&sector(&[("a", 2, 1025), ("b", 4, 1)])),
            Err(PayloadError::Overlap {
                first: 0,
                second: 1
            })
        );
        // Empty blobs overlap nothing.
        assert!(Directory::parse(&sector(&[("a", 2, 1024), ("b", 3, 0)])).is_ok());
    }

    /// An in-memory disk: LBA 0 has K at 0x1F8, the directory at K+1, then the blobs.
    fn disk(k: u32, blobs: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut img = vec![0u8; 512 * (k as usize + 2)];
        img[SECTORS_PARAM..SECTORS_PARAM + 4].copy_from_slice(&k.to_le_bytes());
        let mut entries = Vec::new();
        for (name, data) in blobs {
            let lba = (img.len() / 512) as u64;
            entries.push((*name, lba, data.len() as u64));
            img.extend_from_slice(data);
            img.resize(img.len().div_ceil(512) * 512, 0);
        }
        let dir = 512 * (k as usize + 1);
        img[dir..dir + 512].copy_from_slice(&sector(&entries));
        img
    }

    fn reader(img: &[u8]) -> impl FnMut(u64, &mut [u8]) -> Result<(), DiskError> + '_ {
        |lba, buf| {
            if buf.len() % 512 != 0 {
                return Err(DiskError::BufferNotSectorMultiple { len: buf.len() });
            }
            let start = lba as usize * 512;
            let src = img
                .get(start..start + buf.len())
                .ok_or(DiskError::OutOfRange {
                    lba,
                    sectors: (buf.len() / 512) as u64,
                })?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    #[test]
    fn reads_directory_and_blobs() {
        let kernel: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let initrd: Vec<u8> = (0..1024u32).map(|i| (i ^ 0x5A) as u8).collect();
        let img = disk(
            9,
            &[
                ("kernel", kernel.clone()),
                ("initrd", initrd.clone()),
                ("cmdline", b"console=ttyS0".to_vec()),
            ],
        );
        let d = Directory::read_with(reader(&img)).unwrap().unwrap();
        assert_eq!(d.lba(), 10);
        let k = d.find("kernel").unwrap();
        assert_eq!(k.lba, 11);
        let mut buf = vec![0xEE; 6000];
        read_entry_with(&k, &mut buf, reader(&img)).unwrap();
        assert_eq!(&buf[..5000], &kernel[..]);
        assert!(buf[5000..].iter().all(|&b| b == 0xEE));
        let mut buf = vec![0; 1024];
        read_entry_with(&d.find("initrd").unwrap(), &mut buf, reader(&img)).unwrap();
        assert_eq!(buf, initrd);
        let c = d.find("cmdline").unwrap();
        let mut buf = vec![0; c.len as usize];
        read_entry_with(&c, &mut buf, reader(&img)).unwrap();
        assert_eq!(buf, b"console=ttyS0");
        assert_eq!(
            read_entry_with(&k, &mut [0; 4999], reader(&img)),
            Err(PayloadError::DestinationTooSmall {
                needed: 5000,
                got: 4999
            })
        );
        // Without a directory: no payload.
        let mut bare = disk(3, &[]);
        bare[4 * 512..5 * 512].fill(0);
        assert_eq!(Directory::read_with(reader(&bare)), Ok(None));
        // A disk error comes through typed.
        assert_eq!(
            Directory::read_with(|_, _| Err(DiskError::NoDevice)),
            Err(PayloadError::Disk(DiskError::NoDevice))
        );
        // A directory whose blob starts inside the runtime image is refused.
        let mut bad = disk(9, &[("kernel", vec![1; 10])]);
        bad[10 * 512 + 32..10 * 512 + 40].copy_from_slice(&5u64.to_le_bytes());
        assert_eq!(
            Directory::read_with(reader(&bad)),
            Err(PayloadError::EntryOutOfRange { index: 0 })
        );
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            PayloadError::Overlap {
                first: 1,
                second: 2
            }
            .to_string(),
            "payload: entries 1 and 2 overlap"
        );
        assert!(
            PayloadError::Disk(DiskError::NoDevice)
                .to_string()
                .contains("no device")
        );
    }

    proptest! {
        #[test]
        fn parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 512), sig in any::<bool>(), count in 0u32..20, lba in any::<u64>()) {
            let mut s = [0u8; 512];
            s.copy_from_slice(&bytes);
            if sig {
                s[..8].copy_from_slice(&SIGNATURE);
                s[8..12].copy_from_slice(&count.to_le_bytes());
            }
            if let Ok(Some(d)) = Directory::parse_at(&s, lba) {
                prop_assert!(d.entries().len() <= MAX_ENTRIES);
                for e in d.entries() {
                    prop_assert!(e.lba > lba);
                    prop_assert!(!e.name_str().is_empty());
                    prop_assert_eq!(d.find(e.name_str()), Some(*e));
                }
            }
        }

        #[test]
        fn round_trip(lens in proptest::collection::vec(0usize..3000, 0..6), k in 1u32..50) {
            let names = ["kernel", "initrd", "cmdline", "config", "a", "b"];
            let blobs: Vec<(&str, Vec<u8>)> = lens.iter().enumerate()
                .map(|(i, &l)| (names[i], (0..l).map(|j| (j * 31 + i) as u8).collect()))
                .collect();
            let img = disk(k, &blobs);
            let d = Directory::read_with(reader(&img)).unwrap().unwrap();
            prop_assert_eq!(d.entries().len(), blobs.len());
            for (name, data) in &blobs {
                let e = d.find(name).unwrap();
                let mut buf = vec![0u8; data.len()];
                read_entry_with(&e, &mut buf, reader(&img)).unwrap();
                prop_assert_eq!(&buf, data);
            }
        }
    }
}
