//! Everything that can stop the example hypervisor, each with what was wrong.

use alloc::string::String;
use core::fmt;

use ept::{AttachError, EptError};
use example_hypervisor::guest_loader::{ElfError, LoadError};
use example_hypervisor::guest_setup::RamTooSmall;
use example_hypervisor::mmio::{MmioError, WalkError};
use vmx_vcpu::VmxError;

/// Why the hypervisor stopped before the guest finished.
#[derive(Debug)]
pub enum HypervisorError {
    /// CPUID.1:ECX.VMX is clear: the processor has no VMX.
    NoVmx,
    /// The processor lacks a VMX feature the example needs.
    MissingFeature(&'static str),
    /// The hypervisor was built without a guest (`EXAMPLE_GUEST_ELF` unset).
    NoGuest,
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
    /// Building the guest's EPT failed.
    Ept(EptError),
    /// The vCPU could not attach to the guest's EPT.
    EptAttach(AttachError),
    /// Enabling VMX, configuring the vCPU or a VMCS access failed.
    Vmx(VmxError),
    /// The guest stopped in a way the example does not handle (already decoded).
    Run(String),
    /// An MMIO access could not be emulated.
    Mmio {
        /// The guest's RIP.
        rip: u64,
        /// What was wrong.
        error: MmioError,
    },
    /// The instruction at RIP could not be read through the guest's page tables.
    InstructionFetch {
        /// The guest's RIP.
        rip: u64,
        /// What was wrong.
        error: WalkError,
    },
}

impl fmt::Display for HypervisorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoVmx => write!(f, "the processor has no VMX (CPUID.1:ECX[5] is 0)"),
            Self::MissingFeature(what) => write!(
                f,
                "this example needs {what}, which this processor's VMX does not have"
            ),
            Self::NoGuest => write!(
                f,
                "built without a guest (EXAMPLE_GUEST_ELF was not set): build and run with `cargo ci run`"
            ),
            Self::OutOfMemory { purpose } => write!(f, "out of memory for {purpose}"),
            Self::GuestElf(e) => write!(f, "guest ELF: {e}"),
            Self::GuestLoad(e) => write!(f, "loading the guest: {e}"),
            Self::GuestSetup(e) => write!(f, "setting up the guest: {e}"),
            Self::Ept(e) => write!(f, "building the EPT: {e}"),
            Self::EptAttach(e) => write!(f, "attaching the vCPU to the EPT: {e}"),
            Self::Vmx(e) => write!(f, "VMX: {e}"),
            Self::Run(what) => write!(f, "{what}"),
            Self::Mmio { rip, error } => write!(f, "MMIO at RIP {rip:#x}: {error}"),
            Self::InstructionFetch { rip, error } => {
                write!(f, "reading the instruction at RIP {rip:#x}: {error}")
            }
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

impl From<EptError> for HypervisorError {
    fn from(e: EptError) -> Self {
        Self::Ept(e)
    }
}

impl From<AttachError> for HypervisorError {
    fn from(e: AttachError) -> Self {
        Self::EptAttach(e)
    }
}

impl From<VmxError> for HypervisorError {
    fn from(e: VmxError) -> Self {
        Self::Vmx(e)
    }
}
