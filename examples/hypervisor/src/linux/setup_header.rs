//! The x86 Linux boot protocol's setup header, found at offset 0x1F1 of a bzImage
//! (Linux `Documentation/x86/boot.rst`, "THE REAL-MODE KERNEL HEADER"; the same offsets are
//! used once it is copied into `boot_params`).

use core::fmt;

use super::bytes::{u8_at, u16_at, u32_at, u64_at};

/// Offset of the setup header in the image and in `boot_params`.
pub const SETUP_HEADER_OFFSET: usize = 0x1F1;
/// End (exclusive) of the room `boot_params` has for the setup header (the next field,
/// `edd_mbr_sig_buffer`, is at 0x290).
pub const SETUP_HEADER_MAX_END: usize = 0x290;
/// `header`: the magic "HdrS" at 0x202.
pub const HDRS_MAGIC: u32 = u32::from_le_bytes(*b"HdrS");
/// `boot_flag` at 0x1FE.
pub const BOOT_FLAG: u16 = 0xAA55;
/// The oldest protocol version with `xloadflags` (the 64-bit entry point is announced
/// there): 2.12.
pub const MIN_VERSION: u16 = 0x020C;
/// `xloadflags` bit: the kernel has the 64-bit entry point at load address + 0x200.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// `xloadflags` bit: the kernel and the boot structures may live above 4 GiB.
pub const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
/// `loadflags` bit: the protected-mode code is loaded at 0x100000 (bzImage).
pub const LOADED_HIGH: u8 = 1 << 0;
/// `loadflags` bit: `heap_end_ptr` is valid.
pub const CAN_USE_HEAP: u8 = 1 << 7;
/// Bytes the image must have: the header up to and including `init_size` (0x260..0x264).
pub const MIN_IMAGE_LEN: usize = 0x264;

/// Field offsets (in the image and in `boot_params`).
pub mod offset {
    /// `setup_sects` (u8): size of the real-mode setup in 512-byte sectors, 0 meaning 4.
    pub const SETUP_SECTS: usize = 0x1F1;
    /// `syssize` (u32): size of the protected-mode code in 16-byte units.
    pub const SYSSIZE: usize = 0x1F4;
    /// `vid_mode` (u16).
    pub const VID_MODE: usize = 0x1FA;
    /// `boot_flag` (u16): 0xAA55.
    pub const BOOT_FLAG: usize = 0x1FE;
    /// `jump` (u16): its second byte + 0x202 is the end of the header.
    pub const JUMP: usize = 0x200;
    /// `header` (u32): "HdrS".
    pub const HEADER: usize = 0x202;
    /// `version` (u16).
    pub const VERSION: usize = 0x206;
    /// `type_of_loader` (u8).
    pub const TYPE_OF_LOADER: usize = 0x210;
    /// `loadflags` (u8).
    pub const LOADFLAGS: usize = 0x211;
    /// `ramdisk_image` (u32).
    pub const RAMDISK_IMAGE: usize = 0x218;
    /// `ramdisk_size` (u32).
    pub const RAMDISK_SIZE: usize = 0x21C;
    /// `heap_end_ptr` (u16).
    pub const HEAP_END_PTR: usize = 0x224;
    /// `cmd_line_ptr` (u32).
    pub const CMD_LINE_PTR: usize = 0x228;
    /// `initrd_addr_max` (u32).
    pub const INITRD_ADDR_MAX: usize = 0x22C;
    /// `kernel_alignment` (u32).
    pub const KERNEL_ALIGNMENT: usize = 0x230;
    /// `relocatable_kernel` (u8).
    pub const RELOCATABLE_KERNEL: usize = 0x234;
    /// `xloadflags` (u16).
    pub const XLOADFLAGS: usize = 0x236;
    /// `cmdline_size` (u32).
    pub const CMDLINE_SIZE: usize = 0x238;
    /// `pref_address` (u64).
    pub const PREF_ADDRESS: usize = 0x258;
    /// `init_size` (u32).
    pub const INIT_SIZE: usize = 0x260;
}

/// Why an image is not a bzImage this loader can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupHeaderError {
    /// The image ends before the end of the setup header fields read here.
    TooShort {
        /// The image's length.
        len: usize,
    },
    /// `boot_flag` is not 0xAA55; the value found.
    BadBootFlag(u16),
    /// `header` is not "HdrS"; the value found.
    NoHdrS(u32),
    /// The protocol version is older than 2.12; the version found.
    VersionTooOld(u16),
    /// `xloadflags` lacks `XLF_KERNEL_64`: there is no 64-bit entry point; the flags found.
    No64BitEntry(u16),
    /// The setup sectors and `syssize` promise more bytes than the image has.
    Truncated {
        /// Bytes of real-mode setup, `(setup_sects + 1) * 512`.
        setup_len: usize,
        /// Bytes of protected-mode code, `syssize * 16`.
        protected_len: u64,
        /// The image's length.
        image_len: usize,
    },
    /// A relocatable kernel's `kernel_alignment` is not a power of two; the value found.
    BadKernelAlignment(u32),
}

impl fmt::Display for SetupHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(
                f,
                "bzImage of {len} bytes ends before its setup header does ({MIN_IMAGE_LEN:#x} bytes)"
            ),
            Self::BadBootFlag(v) => write!(f, "bzImage boot_flag is {v:#06x}, not 0xaa55"),
            Self::NoHdrS(v) => write!(f, "bzImage header magic is {v:#010x}, not \"HdrS\""),
            Self::VersionTooOld(v) => write!(
                f,
                "boot protocol {}.{} is older than 2.12 (no 64-bit entry flag)",
                v >> 8,
                v & 0xFF
            ),
            Self::No64BitEntry(x) => write!(
                f,
                "xloadflags {x:#x} lack XLF_KERNEL_64: the kernel has no 64-bit entry point"
            ),
            Self::Truncated {
                setup_len,
                protected_len,
                image_len,
            } => write!(
                f,
                "bzImage of {image_len} bytes is shorter than its {setup_len} setup bytes plus {protected_len} protected-mode bytes"
            ),
            Self::BadKernelAlignment(a) => {
                write!(f, "kernel_alignment {a:#x} is not a power of two")
            }
        }
    }
}

/// The setup header fields the loader uses (protocol 2.12 or newer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetupHeader {
    /// Real-mode setup sectors (`setup_sects`, with 0 read as 4).
    pub setup_sects: u8,
    /// Protected-mode code size in 16-byte units.
    pub syssize: u32,
    /// Boot protocol version (major << 8 | minor).
    pub version: u16,
    /// `loadflags` as the kernel ships them.
    pub loadflags: u8,
    /// Highest address the initrd may end at (inclusive).
    pub initrd_addr_max: u32,
    /// Alignment a relocatable kernel needs.
    pub kernel_alignment: u32,
    /// Whether the kernel may be loaded at another (aligned) address.
    pub relocatable_kernel: bool,
    /// `xloadflags`.
    pub xloadflags: u16,
    /// Longest command line, without its NUL.
    pub cmdline_size: u32,
    /// Preferred load address.
    pub pref_address: u64,
    /// Bytes of memory the kernel needs from its runtime start during initialization.
    pub init_size: u32,
    /// End (exclusive, in the image and in `boot_params`) of the header: 0x202 + the byte at
    /// 0x201, capped at [`SETUP_HEADER_MAX_END`].
    pub header_end: usize,
}

impl SetupHeader {
    /// Parses and checks the header of `image` (a whole bzImage): the boot flag, "HdrS",
    /// version 2.12 or newer with `XLF_KERNEL_64`, enough bytes for the setup sectors and
    /// `syssize`, and a power-of-two `kernel_alignment` for relocatable kernels.
    pub fn parse(image: &[u8]) -> Result<Self, SetupHeaderError> {
        let short = SetupHeaderError::TooShort { len: image.len() };
        if image.len() < MIN_IMAGE_LEN {
            return Err(short);
        }
        let u8f = |at| u8_at(image, at).ok_or(short);
        let u16f = |at| u16_at(image, at).ok_or(short);
        let u32f = |at| u32_at(image, at).ok_or(short);
        let boot_flag = u16f(offset::BOOT_FLAG)?;
        if boot_flag != BOOT_FLAG {
            return Err(SetupHeaderError::BadBootFlag(boot_flag));
        }
        let magic = u32f(offset::HEADER)?;
        if magic != HDRS_MAGIC {
            return Err(SetupHeaderError::NoHdrS(magic));
        }
        let version = u16f(offset::VERSION)?;
        if version < MIN_VERSION {
            return Err(SetupHeaderError::VersionTooOld(version));
        }
        let xloadflags = u16f(offset::XLOADFLAGS)?;
        if xloadflags & XLF_KERNEL_64 == 0 {
            return Err(SetupHeaderError::No64BitEntry(xloadflags));
        }
        let setup_sects = match u8f(offset::SETUP_SECTS)? {
            0 => 4,
            n => n,
        };
        let syssize = u32f(offset::SYSSIZE)?;
        let setup_len = (usize::from(setup_sects) + 1) * 512;
        let protected_len = u64::from(syssize) * 16;
        let fits = image
            .len()
            .checked_sub(setup_len)
            .is_some_and(|rest| protected_len <= rest as u64);
        if !fits {
            return Err(SetupHeaderError::Truncated {
                setup_len,
                protected_len,
                image_len: image.len(),
            });
        }
        let relocatable_kernel = u8f(offset::RELOCATABLE_KERNEL)? != 0;
        let kernel_alignment = u32f(offset::KERNEL_ALIGNMENT)?;
        if relocatable_kernel && !kernel_alignment.is_power_of_two() {
            return Err(SetupHeaderError::BadKernelAlignment(kernel_alignment));
        }
        let header_end = (0x202 + usize::from(u8f(offset::JUMP + 1)?))
            .clamp(MIN_IMAGE_LEN, SETUP_HEADER_MAX_END);
        Ok(Self {
            setup_sects,
            syssize,
            version,
            loadflags: u8f(offset::LOADFLAGS)?,
            initrd_addr_max: u32f(offset::INITRD_ADDR_MAX)?,
            kernel_alignment,
            relocatable_kernel,
            xloadflags,
            cmdline_size: u32f(offset::CMDLINE_SIZE)?,
            pref_address: u64_at(image, offset::PREF_ADDRESS).ok_or(short)?,
            init_size: u32f(offset::INIT_SIZE)?,
            header_end,
        })
    }

    /// Bytes of real-mode setup before the protected-mode kernel: `(setup_sects + 1) * 512`.
    pub fn setup_len(&self) -> usize {
        (usize::from(self.setup_sects) + 1) * 512
    }
}

/// Builds a minimal bzImage header for tests: protocol 2.15, relocatable, 64-bit entry,
/// `setup_sects` 1, `pm_len` bytes of protected-mode code (filled with 0xCC).
#[cfg(test)]
pub(crate) fn test_image(pm_len: usize) -> alloc::vec::Vec<u8> {
    use super::bytes::{put, put_u16, put_u32, put_u64};
    let mut image = alloc::vec![0u8; 1024 + pm_len];
    image[offset::SETUP_SECTS] = 1;
    put_u32(&mut image, offset::SYSSIZE, (pm_len / 16) as u32);
    put_u16(&mut image, offset::BOOT_FLAG, BOOT_FLAG);
    image[offset::JUMP] = 0xEB;
    image[offset::JUMP + 1] = 0x6A; // header ends at 0x26C
    put(&mut image, offset::HEADER, b"HdrS");
    put_u16(&mut image, offset::VERSION, 0x020F);
    image[offset::LOADFLAGS] = LOADED_HIGH;
    put_u32(&mut image, offset::INITRD_ADDR_MAX, 0x7FFF_FFFF);
    put_u32(&mut image, offset::KERNEL_ALIGNMENT, 0x20_0000);
    image[offset::RELOCATABLE_KERNEL] = 1;
    put_u16(
        &mut image,
        offset::XLOADFLAGS,
        XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
    );
    put_u32(&mut image, offset::CMDLINE_SIZE, 2047);
    put_u64(&mut image, offset::PREF_ADDRESS, 0x100_0000);
    put_u32(&mut image, offset::INIT_SIZE, 0x40_0000);
    for b in &mut image[1024..] {
        *b = 0xCC;
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::{put, put_u16, put_u32};
    use proptest::prelude::*;

    #[test]
    fn parses_a_good_header() {
        let h = SetupHeader::parse(&test_image(0x100)).unwrap();
        assert_eq!(h.setup_sects, 1);
        assert_eq!(h.setup_len(), 1024);
        assert_eq!(h.syssize, 0x10);
        assert_eq!(h.version, 0x020F);
        assert_eq!(h.pref_address, 0x100_0000);
        assert_eq!(h.init_size, 0x40_0000);
        assert_eq!(h.kernel_alignment, 0x20_0000);
        assert!(h.relocatable_kernel);
        assert_eq!(h.initrd_addr_max, 0x7FFF_FFFF);
        assert_eq!(h.cmdline_size, 2047);
        assert_eq!(h.header_end, 0x26C);
        assert_eq!(h.loadflags, LOADED_HIGH);
    }

    #[test]
    fn zero_setup_sects_means_four() {
        let mut image = test_image(0x1000);
        image[offset::SETUP_SECTS] = 0;
        put_u32(&mut image, offset::SYSSIZE, 0x10);
        assert_eq!(SetupHeader::parse(&image).unwrap().setup_len(), 5 * 512);
    }

    #[test]
    fn each_defect_has_its_error() {
        let good = test_image(0x100);
        assert_eq!(
            SetupHeader::parse(&good[..0x200]),
            Err(SetupHeaderError::TooShort { len: 0x200 })
        );
        let mut bad = good.clone();
        put_u16(&mut bad, offset::BOOT_FLAG, 0x1234);
        assert_eq!(
            SetupHeader::parse(&bad),
            Err(SetupHeaderError::BadBootFlag(0x1234))
        );
        let mut bad = good.clone();
        put(&mut bad, offset::HEADER, b"HdrX");
        assert_eq!(
            SetupHeader::parse(&bad),
            Err(SetupHeaderError::NoHdrS(u32::from_le_bytes(*b"HdrX")))
        );
        let mut bad = good.clone();
        put_u16(&mut bad, offset::VERSION, 0x020B);
        assert_eq!(
            SetupHeader::parse(&bad),
            Err(SetupHeaderError::VersionTooOld(0x020B))
        );
        let mut bad = good.clone();
        put_u16(&mut bad, offset::XLOADFLAGS, XLF_CAN_BE_LOADED_ABOVE_4G);
        assert_eq!(
            SetupHeader::parse(&bad),
            Err(SetupHeaderError::No64BitEntry(XLF_CAN_BE_LOADED_ABOVE_4G))
        );
        let mut bad = good.clone();
        put_u32(&mut bad, offset::SYSSIZE, 0x11);
        assert_eq!(
            SetupHeader::parse(&bad),
            Err(SetupHeaderError::Truncated {
                setup_len: 1024,
                protected_len: 0x110,
                image_len: 1024 + 0x100
            })
        );
        let mut bad = good.clone();
        bad[offset::SETUP_SECTS] = 0xFF;
        assert!(matches!(
            SetupHeader::parse(&bad),
            Err(SetupHeaderError::Truncated {
                setup_len: 0x20000,
                ..
            })
        ));
        let mut bad = good.clone();
        put_u32(&mut bad, offset::KERNEL_ALIGNMENT, 0x30_0000);
        assert_eq!(
            SetupHeader::parse(&bad),
            Err(SetupHeaderError::BadKernelAlignment(0x30_0000))
        );
        // A non-relocatable kernel's alignment is not used.
        bad[offset::RELOCATABLE_KERNEL] = 0;
        assert!(SetupHeader::parse(&bad).is_ok());
    }

    #[test]
    fn errors_display() {
        let e = SetupHeaderError::VersionTooOld(0x020B);
        assert_eq!(
            alloc::format!("{e}"),
            "boot protocol 2.11 is older than 2.12 (no 64-bit entry flag)"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..0x600)) {
            let _ = SetupHeader::parse(&bytes);
        }

        #[test]
        fn mutated_header_never_panics(index in 0x1F1usize..0x26C, value in any::<u8>()) {
            let mut image = test_image(0x100);
            image[index] = value;
            if let Ok(h) = SetupHeader::parse(&image) {
                prop_assert!(h.setup_len() <= image.len());
            }
        }
    }
}
