//! The payload appended to the boot disk after the runtime image: named blobs (`kernel`,
//! `initrd`, `cmdline`, `config`) behind a one-sector directory that the bare-metal
//! runtime reads with ATA PIO (`baremetal::payload`; layout in ci/baremetal/README.md).
//!
//! Directory sector (at LBA K+1, K = the runtime image's sectors): bytes 0..8 `VMXRSPL1`,
//! 8..12 the entry count (`u32` LE, at most [`MAX_ENTRIES`]), 12..16 zero, then 32-byte
//! entries at 16 + 32 i: name (16 bytes, NUL-padded printable ASCII), start LBA (`u64`
//! LE), byte length (`u64` LE); unused slots zero. The blobs follow the directory in
//! order, each starting on a sector boundary, zero-padded to whole sectors.

use std::fmt;

/// The directory sector's signature.
pub const SIGNATURE: [u8; 8] = *b"VMXRSPL1";
/// Most entries a directory holds.
pub const MAX_ENTRIES: usize = 15;
/// Bytes of an entry's name field.
pub const NAME_LEN: usize = 16;
/// Offset of entry 0 in the directory sector.
pub const ENTRIES_OFFSET: usize = 16;
/// Bytes per entry.
pub const ENTRY_SIZE: usize = 32;
/// Bytes per sector.
pub const SECTOR: usize = 512;

/// Ordered named blobs to append to a disk image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    /// (name, bytes), in disk order. Names: 1-16 bytes of printable ASCII, unique.
    pub entries: Vec<(String, Vec<u8>)>,
}

/// Why a payload cannot be laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// More than [`MAX_ENTRIES`] blobs.
    TooManyEntries(usize),
    /// A name is empty, longer than 16 bytes or not printable ASCII.
    BadName(String),
    /// Two blobs have the same name.
    DuplicateName(String),
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::TooManyEntries(n) => {
                write!(f, "payload has {n} blobs, at most {MAX_ENTRIES} fit")
            }
            PayloadError::BadName(n) => write!(
                f,
                "payload name {n:?} is not 1-{NAME_LEN} bytes of printable ASCII"
            ),
            PayloadError::DuplicateName(n) => write!(f, "payload name {n:?} appears twice"),
        }
    }
}

impl std::error::Error for PayloadError {}

/// Where one blob lies on the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// First sector.
    pub lba: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Payload {
    /// An empty payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends blob `name` (checked when the payload is laid out).
    pub fn add(&mut self, name: impl Into<String>, bytes: Vec<u8>) -> &mut Self {
        self.entries.push((name.into(), bytes));
        self
    }

    /// Checks the names and the count.
    pub fn validate(&self) -> Result<(), PayloadError> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(PayloadError::TooManyEntries(self.entries.len()));
        }
        for (i, (name, _)) in self.entries.iter().enumerate() {
            let ok = !name.is_empty()
                && name.len() <= NAME_LEN
                && name.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return Err(PayloadError::BadName(name.clone()));
            }
            if self.entries[..i].iter().any(|(n, _)| n == name) {
                return Err(PayloadError::DuplicateName(name.clone()));
            }
        }
        Ok(())
    }

    /// Where each blob goes when the directory is at `dir_lba`: the first right after it,
    /// each next one after the previous one's last (padded) sector.
    pub fn placements(&self, dir_lba: u64) -> Vec<Placement> {
        let mut lba = dir_lba + 1;
        self.entries
            .iter()
            .map(|(_, bytes)| {
                let p = Placement {
                    lba,
                    len: bytes.len() as u64,
                };
                lba += bytes.len().div_ceil(SECTOR) as u64;
                p
            })
            .collect()
    }

    /// Sectors the directory and the blobs take together.
    pub fn sectors(&self) -> u64 {
        1 + self
            .entries
            .iter()
            .map(|(_, b)| b.len().div_ceil(SECTOR) as u64)
            .sum::<u64>()
    }

    /// The directory sector followed by the padded blobs, to be written at `dir_lba`.
    pub fn encode(&self, dir_lba: u64) -> Result<Vec<u8>, PayloadError> {
        let mut out = directory_sector(dir_lba, self)?.to_vec();
        for (_, bytes) in &self.entries {
            out.extend_from_slice(bytes);
            out.resize(out.len().div_ceil(SECTOR) * SECTOR, 0);
        }
        Ok(out)
    }
}

/// The directory sector for `payload` placed at `dir_lba` (see the module docs).
pub fn directory_sector(dir_lba: u64, payload: &Payload) -> Result<[u8; SECTOR], PayloadError> {
    payload.validate()?;
    let mut s = [0u8; SECTOR];
    s[..8].copy_from_slice(&SIGNATURE);
    s[8..12].copy_from_slice(&(payload.entries.len() as u32).to_le_bytes());
    for (i, ((name, _), p)) in payload
        .entries
        .iter()
        .zip(payload.placements(dir_lba))
        .enumerate()
    {
        let o = ENTRIES_OFFSET + ENTRY_SIZE * i;
        s[o..o + name.len()].copy_from_slice(name.as_bytes());
        s[o + 16..o + 24].copy_from_slice(&p.lba.to_le_bytes());
        s[o + 24..o + 32].copy_from_slice(&p.len.to_le_bytes());
    }
    Ok(s)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reader of the layout written independently of [`directory_sector`] (the ci crate
    /// cannot use `baremetal`'s parser: it is not a dependency): the entries as
    /// (name, lba, len), or `None` without the signature. Panics on a malformed sector.
    pub fn parse_directory(s: &[u8]) -> Option<Vec<(String, u64, u64)>> {
        if s[..8] != *b"VMXRSPL1" {
            return None;
        }
        let count = u32::from_le_bytes(s[8..12].try_into().unwrap()) as usize;
        assert!(count <= 15);
        assert_eq!(&s[12..16], &[0; 4]);
        assert!(s[16 + 32 * count..512].iter().all(|&b| b == 0));
        Some(
            (0..count)
                .map(|i| {
                    let e = &s[16 + 32 * i..48 + 32 * i];
                    let end = e[..16].iter().position(|&b| b == 0).unwrap_or(16);
                    assert!(e[end..16].iter().all(|&b| b == 0));
                    (
                        String::from_utf8(e[..end].to_vec()).unwrap(),
                        u64::from_le_bytes(e[16..24].try_into().unwrap()),
                        u64::from_le_bytes(e[24..32].try_into().unwrap()),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn lays_out_blobs_after_the_directory() {
        let mut p = Payload::new();
        p.add("kernel", vec![1; 1000])
            .add("initrd", vec![2; 512])
            .add("cmdline", b"console=ttyS0".to_vec())
            .add("config", Vec::new());
        let bytes = p.encode(40).unwrap();
        assert_eq!(p.sectors(), 1 + 2 + 1 + 1);
        assert_eq!(bytes.len(), 5 * 512);
        let dir = parse_directory(&bytes[..512]).unwrap();
        assert_eq!(
            dir,
            [
                ("kernel".to_string(), 41, 1000),
                ("initrd".to_string(), 43, 512),
                ("cmdline".to_string(), 44, 13),
                ("config".to_string(), 45, 0),
            ]
        );
        assert!(bytes[512..1512].iter().all(|&b| b == 1));
        assert!(bytes[1512..1536].iter().all(|&b| b == 0));
        assert!(bytes[1536..2048].iter().all(|&b| b == 2));
        assert_eq!(&bytes[2048..2061], b"console=ttyS0");
        assert!(bytes[2061..].iter().all(|&b| b == 0));
    }

    #[test]
    fn refuses_bad_payloads() {
        let mut p = Payload::new();
        p.add("", vec![]);
        assert_eq!(p.encode(1), Err(PayloadError::BadName(String::new())));
        let mut p = Payload::new();
        p.add("a b", vec![]);
        assert_eq!(p.validate(), Err(PayloadError::BadName("a b".into())));
        let mut p = Payload::new();
        p.add("x".repeat(17), vec![]);
        assert!(matches!(p.validate(), Err(PayloadError::BadName(_))));
        let mut p = Payload::new();
        p.add("x".repeat(16), vec![]);
        assert_eq!(p.validate(), Ok(()));
        p.add("x".repeat(16), vec![]);
        assert_eq!(
            p.validate(),
            Err(PayloadError::DuplicateName("x".repeat(16)))
        );
        let mut p = Payload::new();
        for i in 0..16 {
            p.add(format!("b{i}"), vec![]);
        }
        assert_eq!(p.validate(), Err(PayloadError::TooManyEntries(16)));
        assert_eq!(
            PayloadError::TooManyEntries(16).to_string(),
            "payload has 16 blobs, at most 15 fit"
        );
    }

    proptest! {
        #[test]
        fn encode_round_trips(lens in proptest::collection::vec(0usize..2000, 0..15), dir in 1u64..1000) {
            let mut p = Payload::new();
            for (i, l) in lens.iter().enumerate() {
                p.add(format!("blob{i}"), (0..*l).map(|j| (j + i) as u8).collect());
            }
            let bytes = p.encode(dir).unwrap();
            prop_assert_eq!(bytes.len() as u64, p.sectors() * 512);
            let parsed = parse_directory(&bytes[..512]).unwrap();
            prop_assert_eq!(parsed.len(), p.entries.len());
            for ((name, lba, len), (n, data)) in parsed.iter().zip(&p.entries) {
                prop_assert_eq!(name, n);
                prop_assert_eq!(*len as usize, data.len());
                let off = ((lba - dir) * 512) as usize;
                prop_assert_eq!(&bytes[off..off + data.len()], &data[..]);
            }
        }
    }
}
