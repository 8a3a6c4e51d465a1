//! Turns a `baremetal` kernel ELF into a bootable raw disk image (see ci/baremetal/README.md).
//!
//! Sector 0 is the boot sector (the 512-byte `PT_LOAD` segment at 0x7C00, ending in
//! 0x55AA); the `ci` tool writes into it the kernel's sector count (`u32` at 0x1F8), the
//! CPU model name (32 bytes at 0x1D8) and the scenario filter (96 bytes at 0x178), both
//! NUL padded. From sector 1 on come the kernel's bytes, from its
//! lowest load address (1 MiB) to the end of the last segment's file bytes, with gaps
//! zero-filled. With a [`Payload`] ([`DiskImage::from_elf_with_payload`]) the payload
//! directory follows at LBA K+1 (K = the kernel's sectors) and the blobs after it, each
//! sector-aligned (format in [`crate::payload`]). The image is padded to whole cylinders
//! of 16 heads x 63 sectors, the geometry the bochsrc declares; at most [`MAX_CYLINDERS`]
//! (Bochs stores the cylinder count in 16 bits: 65,535 x 1008 sectors is about 33 GB, far
//! more than the 8-70 MB payloads here, which take 20-140 cylinders).

use std::fmt;

use crate::elf::Elf;
use crate::payload::{Payload, PayloadError};

/// Where the BIOS loads the boot sector.
pub const BOOT_SECTOR_ADDR: u64 = 0x7C00;
/// Where the boot sector loads the kernel.
pub const KERNEL_LOAD_ADDR: u64 = 0x10_0000;
/// Offset of the scenario-filter parameter in the boot sector.
pub const PARAM_FILTER: usize = 0x178;
/// Length of the scenario-filter parameter.
pub const PARAM_FILTER_LEN: usize = 96;
/// Offset of the model-name parameter in the boot sector.
pub const PARAM_MODEL: usize = 0x1D8;
/// Length of the model-name parameter.
pub const PARAM_MODEL_LEN: usize = 32;
/// Offset of the sector-count parameter in the boot sector.
pub const PARAM_SECTORS: usize = 0x1F8;
/// Sector size.
pub const SECTOR: usize = 512;
/// Heads in the declared disk geometry.
pub const HEADS: u64 = 16;
/// Sectors per track in the declared disk geometry.
pub const SPT: u64 = 63;
/// The kernel must end below this address (the boot sector copies with 32-bit addresses
/// and the frame allocator starts after it; 64 MiB is far more than any kernel here).
pub const KERNEL_MAX_END: u64 = 64 << 20;
/// Most cylinders the image may have (the 16-bit cylinder count of the geometry).
pub const MAX_CYLINDERS: u64 = 65_535;

/// Why an image could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// No 512-byte `PT_LOAD` segment at 0x7C00.
    NoBootSector,
    /// The boot sector does not end in 0x55AA.
    NoBootSignature,
    /// No kernel segment at or above 1 MiB.
    NoKernel,
    /// A `PT_LOAD` segment outside both the boot sector and the kernel range.
    StraySegment {
        /// Its address.
        vaddr: u64,
    },
    /// The kernel ends above [`KERNEL_MAX_END`].
    TooLarge {
        /// Its end address.
        end: u64,
    },
    /// The entry point is not inside the kernel's loaded bytes.
    BadEntry {
        /// `e_entry`.
        entry: u64,
    },
    /// The model name does not fit (31 bytes + NUL) or contains a NUL.
    BadModelName(String),
    /// The filter does not fit (95 bytes + NUL) or contains a NUL.
    BadFilter(String),
    /// The payload cannot be laid out.
    Payload(PayloadError),
    /// The image would need more than [`MAX_CYLINDERS`] cylinders.
    DiskTooLarge {
        /// The cylinders it would need.
        cylinders: u64,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NoBootSector => {
                write!(f, "no 512-byte PT_LOAD segment at 0x7c00 (boot sector)")
            }
            ImageError::NoBootSignature => write!(f, "the boot sector does not end in 0x55aa"),
            ImageError::NoKernel => write!(f, "no PT_LOAD segment at or above 1 MiB"),
            ImageError::StraySegment { vaddr } => write!(
                f,
                "PT_LOAD segment at {vaddr:#x} is neither boot sector nor kernel"
            ),
            ImageError::TooLarge { end } => {
                write!(f, "kernel ends at {end:#x}, above {KERNEL_MAX_END:#x}")
            }
            ImageError::BadEntry { entry } => write!(
                f,
                "entry point {entry:#x} is outside the kernel's loaded bytes"
            ),
            ImageError::BadModelName(m) => {
                let max = PARAM_MODEL_LEN - 1;
                write!(
                    f,
                    "model name {m:?} longer than {max} bytes or contains NUL"
                )
            }
            ImageError::BadFilter(m) => {
                let max = PARAM_FILTER_LEN - 1;
                write!(f, "filter {m:?} longer than {max} bytes or contains NUL")
            }
            ImageError::Payload(e) => write!(f, "{e}"),
            ImageError::DiskTooLarge { cylinders } => write!(
                f,
                "disk image needs {cylinders} cylinders, more than {MAX_CYLINDERS}"
            ),
        }
    }
}

impl std::error::Error for ImageError {}

/// A bootable raw disk image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskImage {
    /// The bytes, a whole number of cylinders long.
    pub bytes: Vec<u8>,
    /// Cylinders (for the bochsrc geometry).
    pub cylinders: u64,
    /// Sectors of kernel payload after the boot sector.
    pub kernel_sectors: u32,
    /// The payload directory's LBA (`kernel_sectors + 1`), if the image has a payload.
    pub payload_lba: Option<u64>,
}

impl DiskImage {
    /// Builds the image for `elf`, with `model` and `filter` written into the boot sector.
    pub fn from_elf(elf: &Elf<'_>, model: &str, filter: &str) -> Result<Self, ImageError> {
        Self::build(elf, model, filter, None)
    }

    /// As [`DiskImage::from_elf`], then the payload directory at LBA K+1 and the blobs
    /// after it (see [`crate::payload`]).
    pub fn from_elf_with_payload(
        elf: &Elf<'_>,
        model: &str,
        filter: &str,
        payload: &Payload,
    ) -> Result<Self, ImageError> {
        Self::build(elf, model, filter, Some(payload))
    }

    fn build(
        elf: &Elf<'_>,
        model: &str,
        filter: &str,
        extra: Option<&Payload>,
    ) -> Result<Self, ImageError> {
        if model.len() >= PARAM_MODEL_LEN || model.contains('\0') {
            return Err(ImageError::BadModelName(model.to_string()));
        }
        if filter.len() >= PARAM_FILTER_LEN || filter.contains('\0') {
            return Err(ImageError::BadFilter(filter.to_string()));
        }
        let mut boot: Option<Vec<u8>> = None;
        let mut kernel = Vec::new();
        for seg in &elf.segments {
            if seg.vaddr == BOOT_SECTOR_ADDR && seg.filesz == SECTOR as u64 {
                boot = Some(seg.data.to_vec());
            } else if seg.vaddr >= KERNEL_LOAD_ADDR {
                kernel.push(seg);
            } else if seg.memsz != 0 {
                return Err(ImageError::StraySegment { vaddr: seg.vaddr });
            }
        }
        let mut boot = boot.ok_or(ImageError::NoBootSector)?;
        if boot.get(510..512) != Some(&[0x55, 0xAA][..]) {
            return Err(ImageError::NoBootSignature);
        }
        let base = kernel
            .iter()
            .map(|s| s.vaddr)
            .min()
            .ok_or(ImageError::NoKernel)?;
        let end = kernel
            .iter()
            .map(|s| s.vaddr.saturating_add(s.filesz))
            .max()
            .unwrap_or(base);
        let mem_end = kernel
            .iter()
            .map(|s| s.vaddr.saturating_add(s.memsz))
            .max()
            .unwrap_or(base);
        if mem_end > KERNEL_MAX_END {
            return Err(ImageError::TooLarge { end: mem_end });
        }
        if elf.entry < base || elf.entry >= end {
            return Err(ImageError::BadEntry { entry: elf.entry });
        }
        let payload_len = (end - base) as usize;
        let sectors = payload_len.div_ceil(SECTOR);
        let mut payload = vec![0u8; sectors * SECTOR];
        for seg in &kernel {
            let off = (seg.vaddr - base) as usize;
            payload[off..off + seg.data.len()].copy_from_slice(seg.data);
        }
        let kernel_sectors = sectors as u32;
        boot[PARAM_SECTORS..PARAM_SECTORS + 4].copy_from_slice(&kernel_sectors.to_le_bytes());
        boot[PARAM_MODEL..PARAM_MODEL + PARAM_MODEL_LEN].fill(0);
        boot[PARAM_MODEL..PARAM_MODEL + model.len()].copy_from_slice(model.as_bytes());
        boot[PARAM_FILTER..PARAM_FILTER + PARAM_FILTER_LEN].fill(0);
        boot[PARAM_FILTER..PARAM_FILTER + filter.len()].copy_from_slice(filter.as_bytes());

        let payload_lba = extra.map(|_| u64::from(kernel_sectors) + 1);
        let appended = match (extra, payload_lba) {
            (Some(p), Some(lba)) => p.encode(lba).map_err(ImageError::Payload)?,
            _ => Vec::new(),
        };
        // Without a payload the image still has sector K+1 (zero: "no payload"), so that a
        // runtime looking for the directory reads zeros instead of past the disk's end.
        let total_sectors = 1 + sectors as u64 + extra.map_or(0, Payload::sectors).max(1);
        let per_cylinder = HEADS * SPT;
        let cylinders = total_sectors.div_ceil(per_cylinder).max(1);
        if cylinders > MAX_CYLINDERS {
            return Err(ImageError::DiskTooLarge { cylinders });
        }
        let mut bytes = boot;
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&appended);
        bytes.resize((cylinders * per_cylinder) as usize * SECTOR, 0);
        Ok(Self {
            bytes,
            cylinders,
            kernel_sectors,
            payload_lba,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::build;

    fn boot_sector() -> Vec<u8> {
        let mut b = vec![0x90u8; 512];
        b[510] = 0x55;
        b[511] = 0xAA;
        b
    }

    #[test]
    fn lays_out_boot_and_kernel() {
        let boot = boot_sector();
        let text = vec![0xAB; 1000];
        let data = vec![0xCD; 10];
        let f = build(
            0x10_0000,
            &[
                (0x7C00, &boot, 512),
                (0x10_0000, &text, 1000),
                (0x10_2000, &data, 0x5000),
            ],
        );
        let elf = Elf::parse(&f).unwrap();
        let img = DiskImage::from_elf(&elf, "corei7_icelake_u", "smoke,insn_").unwrap();
        // payload: 0x2000 + 10 bytes -> 17 sectors
        assert_eq!(img.kernel_sectors, 17);
        assert_eq!(
            &img.bytes[PARAM_SECTORS..PARAM_SECTORS + 4],
            &17u32.to_le_bytes()
        );
        assert_eq!(
            &img.bytes[PARAM_MODEL..PARAM_MODEL + 16],
            b"corei7_icelake_u"
        );
        assert_eq!(img.bytes[PARAM_MODEL + 16], 0);
        assert_eq!(
            &img.bytes[PARAM_FILTER..PARAM_FILTER + 12],
            b"smoke,insn_\0"
        );
        assert_eq!(&img.bytes[510..512], &[0x55, 0xAA]);
        assert_eq!(img.bytes[512], 0xAB);
        assert_eq!(img.bytes[512 + 999], 0xAB);
        assert_eq!(img.bytes[512 + 1000], 0);
        assert_eq!(img.bytes[512 + 0x2000], 0xCD);
        assert_eq!(img.cylinders, 1);
        assert_eq!(img.bytes.len(), 16 * 63 * 512);
    }

    #[test]
    fn large_kernel_spans_cylinders() {
        let boot = boot_sector();
        let text = vec![1u8; 2 << 20];
        let f = build(
            0x10_0000,
            &[(0x7C00, &boot, 512), (0x10_0000, &text, 2 << 20)],
        );
        let img = DiskImage::from_elf(&Elf::parse(&f).unwrap(), "x", "").unwrap();
        assert_eq!(img.kernel_sectors, 4096);
        assert_eq!(img.cylinders, 5);
        assert_eq!(img.bytes.len() as u64, 5 * 16 * 63 * 512);
    }

    #[test]
    fn refuses_bad_kernels() {
        let boot = boot_sector();
        let f = build(0x10_0000, &[(0x10_0000, &[1; 4], 4)]);
        assert_eq!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", ""),
            Err(ImageError::NoBootSector)
        );
        let mut nosig = boot.clone();
        nosig[511] = 0;
        let f = build(0x10_0000, &[(0x7C00, &nosig, 512), (0x10_0000, &[1; 4], 4)]);
        assert_eq!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", ""),
            Err(ImageError::NoBootSignature)
        );
        let f = build(0x10_0000, &[(0x7C00, &boot, 512)]);
        assert_eq!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", ""),
            Err(ImageError::NoKernel)
        );
        let f = build(
            0x10_0000,
            &[
                (0x7C00, &boot, 512),
                (0x9000, &[1; 4], 4),
                (0x10_0000, &[1; 4], 4),
            ],
        );
        assert_eq!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", ""),
            Err(ImageError::StraySegment { vaddr: 0x9000 })
        );
        let f = build(0x20_0000, &[(0x7C00, &boot, 512), (0x10_0000, &[1; 4], 4)]);
        assert_eq!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", ""),
            Err(ImageError::BadEntry { entry: 0x20_0000 })
        );
        let f = build(
            0x10_0000,
            &[(0x7C00, &boot, 512), (0x10_0000, &[1; 4], 65 << 20)],
        );
        assert!(matches!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", ""),
            Err(ImageError::TooLarge { .. })
        ));
        let f = build(0x10_0000, &[(0x7C00, &boot, 512), (0x10_0000, &[1; 4], 4)]);
        let long = "m".repeat(32);
        assert_eq!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), &long, ""),
            Err(ImageError::BadModelName(long.clone()))
        );
        let long = "f".repeat(96);
        assert_eq!(
            DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", &long),
            Err(ImageError::BadFilter(long.clone()))
        );
        assert!(DiskImage::from_elf(&Elf::parse(&f).unwrap(), "m", &long[..95]).is_ok());
    }

    #[test]
    fn appends_payload_after_the_kernel() {
        let boot = boot_sector();
        let text = vec![0xAB; 1000];
        let f = build(0x10_0000, &[(0x7C00, &boot, 512), (0x10_0000, &text, 1000)]);
        let elf = Elf::parse(&f).unwrap();
        let kernel: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut p = Payload::new();
        p.add("kernel", kernel.clone())
            .add("cmdline", b"console=ttyS0".to_vec());
        let img = DiskImage::from_elf_with_payload(&elf, "m", "", &p).unwrap();
        assert_eq!(img.kernel_sectors, 2);
        assert_eq!(img.payload_lba, Some(3));
        // The runtime's view: K from the boot sector, the directory at K+1.
        let k = u32::from_le_bytes(
            img.bytes[PARAM_SECTORS..PARAM_SECTORS + 4]
                .try_into()
                .unwrap(),
        );
        let dir_lba = k as usize + 1;
        let dir = crate::payload::tests::parse_directory(
            &img.bytes[dir_lba * SECTOR..(dir_lba + 1) * SECTOR],
        )
        .unwrap();
        assert_eq!(dir.len(), 2);
        for ((name, lba, len), (n, data)) in dir.iter().zip(&p.entries) {
            assert_eq!(name, n);
            assert_eq!(*len as usize, data.len());
            let off = *lba as usize * SECTOR;
            assert_eq!(&img.bytes[off..off + data.len()], &data[..]);
        }
        // 1 + 2 + 1 + 6144 + 1 sectors -> 7 cylinders of 1008.
        assert_eq!(img.cylinders, 7);
        assert_eq!(img.bytes.len() as u64, img.cylinders * HEADS * SPT * 512);
        // Without a payload the directory sector is zero: no signature, no payload.
        let plain = DiskImage::from_elf(&elf, "m", "").unwrap();
        assert_eq!(plain.payload_lba, None);
        assert!(
            crate::payload::tests::parse_directory(&plain.bytes[3 * SECTOR..4 * SECTOR]).is_none()
        );
        // A bad payload is reported.
        let mut bad = Payload::new();
        bad.add("two words", vec![]);
        assert_eq!(
            DiskImage::from_elf_with_payload(&elf, "m", "", &bad),
            Err(ImageError::Payload(PayloadError::BadName(
                "two words".into()
            )))
        );
    }

    #[test]
    fn eighty_megabytes_fit_the_geometry() {
        let boot = boot_sector();
        let f = build(0x10_0000, &[(0x7C00, &boot, 512), (0x10_0000, &[1; 4], 4)]);
        let elf = Elf::parse(&f).unwrap();
        let mut p = Payload::new();
        p.add("kernel", vec![7; 66 << 20])
            .add("initrd", vec![9; 14 << 20]);
        let img = DiskImage::from_elf_with_payload(&elf, "m", "", &p).unwrap();
        // 1 + 1 + 1 + 163,840 sectors.
        assert_eq!(img.cylinders, 163);
        assert!(img.cylinders <= MAX_CYLINDERS);
        assert_eq!(img.bytes.len() as u64, 163 * 16 * 63 * 512);
    }
}
