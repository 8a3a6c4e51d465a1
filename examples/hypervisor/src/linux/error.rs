//! Why a Linux boot cannot be planned or written.

use core::fmt;

use super::setup_header::SetupHeaderError;
use super::vmlinux::VmlinuxError;

/// What is wrong with a [`BootConfig`](super::BootConfig) or with the images given to
/// [`BootPlan::write_into`](super::BootPlan::write_into).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinuxBootError {
    /// The kernel is not a usable bzImage.
    SetupHeader(SetupHeaderError),
    /// The kernel is not a usable PVH `vmlinux`.
    Vmlinux(VmlinuxError),
    /// Less RAM than the layout needs.
    RamTooSmall {
        /// The RAM size asked for.
        ram_size: u64,
        /// The smallest size planned.
        minimum: u64,
    },
    /// More RAM than fits below the 32-bit device hole.
    RamTooLarge {
        /// The RAM size asked for.
        ram_size: u64,
        /// The largest size planned.
        maximum: u64,
    },
    /// Zero vCPUs.
    NoVcpus,
    /// More vCPUs than the MP table describes.
    TooManyVcpus {
        /// The count asked for.
        vcpus: u32,
        /// The largest count.
        maximum: u32,
    },
    /// The command line contains a NUL byte (the kernel would stop reading there).
    CmdlineHasNul {
        /// Byte offset of the NUL.
        at: usize,
    },
    /// The command line is longer than the kernel (or the layout) accepts.
    CmdlineTooLong {
        /// Its length in bytes.
        len: usize,
        /// The longest accepted, without the terminating NUL.
        maximum: u64,
    },
    /// The kernel's address arithmetic overflows (a load address plus a size past 2^64).
    KernelAddressOverflow,
    /// The kernel (with the memory it needs during initialization) is not inside the RAM of
    /// the e820 map.
    KernelOutsideRam {
        /// First byte.
        start: u64,
        /// End (exclusive).
        end: u64,
    },
    /// No page-aligned place for the initrd above the kernel and below its limit.
    InitrdDoesNotFit {
        /// The initrd's length.
        len: u64,
        /// The lowest address it could start at (the kernel's end).
        lowest: u64,
        /// The end (exclusive) it must stay below.
        limit: u64,
    },
    /// Two chunks of the plan overlap (for example a kernel segment placed over the boot
    /// structures in the low megabyte).
    ChunksOverlap {
        /// The lower chunk's start and end.
        first: (u64, u64),
        /// The other chunk's start and end.
        second: (u64, u64),
    },
    /// A chunk does not fit in the RAM (the planned size or the slice given to
    /// `write_into`).
    ChunkOutsideRam {
        /// The chunk's address.
        gpa: u64,
        /// The chunk's length.
        len: u64,
        /// The RAM's size.
        ram_len: u64,
    },
    /// The kernel given to `write_into` is shorter than the plan's kernel chunks need.
    KernelTooShort {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        len: usize,
    },
    /// The initrd given to `write_into` is not as long as planned.
    InitrdLengthMismatch {
        /// The planned length.
        planned: u64,
        /// The given length.
        given: u64,
    },
}

impl From<SetupHeaderError> for LinuxBootError {
    fn from(e: SetupHeaderError) -> Self {
        Self::SetupHeader(e)
    }
}

impl From<VmlinuxError> for LinuxBootError {
    fn from(e: VmlinuxError) -> Self {
        Self::Vmlinux(e)
    }
}

impl fmt::Display for LinuxBootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SetupHeader(e) => write!(f, "bzImage: {e}"),
            Self::Vmlinux(e) => write!(f, "PVH: {e}"),
            Self::RamTooSmall { ram_size, minimum } => {
                write!(
                    f,
                    "guest RAM {ram_size:#x} is below the minimum {minimum:#x}"
                )
            }
            Self::RamTooLarge { ram_size, maximum } => {
                write!(
                    f,
                    "guest RAM {ram_size:#x} is above the maximum {maximum:#x}"
                )
            }
            Self::NoVcpus => write!(f, "a guest needs at least one vCPU"),
            Self::TooManyVcpus { vcpus, maximum } => {
                write!(f, "{vcpus} vCPUs asked for, at most {maximum} supported")
            }
            Self::CmdlineHasNul { at } => write!(f, "the command line has a NUL at byte {at}"),
            Self::CmdlineTooLong { len, maximum } => write!(
                f,
                "the command line has {len} bytes, the kernel takes at most {maximum}"
            ),
            Self::KernelAddressOverflow => write!(f, "the kernel's addresses overflow"),
            Self::KernelOutsideRam { start, end } => {
                write!(
                    f,
                    "the kernel needs [{start:#x}, {end:#x}), which is not guest RAM"
                )
            }
            Self::InitrdDoesNotFit { len, lowest, limit } => write!(
                f,
                "an initrd of {len:#x} bytes does not fit between the kernel's end {lowest:#x} and {limit:#x}"
            ),
            Self::ChunksOverlap { first, second } => write!(
                f,
                "boot chunks [{:#x}, {:#x}) and [{:#x}, {:#x}) overlap",
                first.0, first.1, second.0, second.1
            ),
            Self::ChunkOutsideRam { gpa, len, ram_len } => write!(
                f,
                "boot chunk of {len:#x} bytes at {gpa:#x} does not fit in {ram_len:#x} bytes of RAM"
            ),
            Self::KernelTooShort { needed, len } => {
                write!(f, "the kernel has {len} bytes, the plan needs {needed}")
            }
            Self::InitrdLengthMismatch { planned, given } => write!(
                f,
                "the initrd has {given} bytes, the plan was made for {planned}"
            ),
        }
    }
}
