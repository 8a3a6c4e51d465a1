//! Everything that can stop the example hypervisor, each with what was wrong.

use core::fmt;

use example_hypervisor::guest_loader::{ElfError, LoadError};
use example_hypervisor::guest_setup::RamTooSmall;

/// Why the hypervisor stopped before the guest finished.
#[derive(Debug)]
pub enum HypervisorError {
    /// CPUID.1:ECX.VMX is clear: the processor has no VMX.
    NoVmx,
    /// The processor lacks a VMX feature the example needs.
    MissingFeature(&'static str),
    /// The frame allocator could not provide guest RAM.
    OutOfMemory {
        /// What the memory was for.
        purpose: &'static str,
    },
    /// The embedded guest is not a usable ELF executable.
    GuestElf(ElfError),
    /// The guest does not fit in its RAM.
    GuestLoad(LoadError),
    /// Guest RAM cannot hold the GDT and page tables.
    GuestSetup(RamTooSmall),
}

impl fmt::Display for HypervisorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoVmx => write!(f, "the processor has no VMX (CPUID.1:ECX[5] is 0)"),
            Self::MissingFeature(what) => write!(
                f,
                "this example needs {what}, which this processor's VMX does not have"
            ),
            Self::OutOfMemory { purpose } => write!(f, "out of memory for {purpose}"),
            Self::GuestElf(e) => write!(f, "guest ELF: {e}"),
            Self::GuestLoad(e) => write!(f, "loading the guest: {e}"),
            Self::GuestSetup(e) => write!(f, "setting up the guest: {e}"),
        }
    }
}

impl From<ElfError> for HypervisorError {
    fn from(e: ElfError) -> Self {
        Self::GuestElf(e)
    }
}

impl From<LoadError> for HypervisorError {
    fn from(e: LoadError) -> Self {
        Self::GuestLoad(e)
    }
}

impl From<RamTooSmall> for HypervisorError {
    fn from(e: RamTooSmall) -> Self {
        Self::GuestSetup(e)
    }
}
