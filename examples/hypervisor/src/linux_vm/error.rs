//! Why a Linux run stopped before the guest finished.

use alloc::string::String;
use core::fmt;

use ept::{AttachError, EptError};
use vmx_vcpu::VmxError;

use example_hypervisor::linux::vm_config::ConfigError;

/// Everything that ends a Linux run with FAILED.
#[derive(Debug)]
pub enum LinuxVmError {
    /// Reading the payload failed.
    Payload(String),
    /// A blob the run needs is absent.
    MissingBlob(&'static str),
    /// A blob does not fit in memory.
    BlobTooLarge(&'static str),
    /// The config blob is bad.
    Config(ConfigError),
    /// The frame allocator could not provide memory.
    OutOfMemory {
        /// What for.
        what: &'static str,
        /// How many bytes.
        bytes: u64,
    },
    /// The boot plan was refused.
    Plan(String),
    /// The processor lacks something.
    MissingFeature(&'static str),
    /// The EPT could not be built.
    Ept(EptError),
    /// A vCPU could not attach to the EPT.
    EptAttach(AttachError),
    /// VMX failed.
    Vmx(VmxError),
    /// Bare mode: the plan overlaps the running hypervisor.
    BareOverlap {
        /// The chunk's guest-physical start.
        gpa: u64,
        /// Its end.
        end: u64,
        /// What it overlaps.
        what: &'static str,
    },
    /// The guest did something the run loop cannot emulate.
    Guest(String),
}

impl fmt::Display for LinuxVmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Payload(e) => write!(f, "payload: {e}"),
            Self::MissingBlob(n) => write!(f, "the payload has no '{n}' blob"),
            Self::BlobTooLarge(n) => write!(f, "the '{n}' blob is too large"),
            Self::Config(e) => write!(f, "{e}"),
            Self::OutOfMemory { what, bytes } => {
                write!(f, "out of memory for {what} ({bytes} bytes)")
            }
            Self::Plan(e) => write!(f, "Linux boot plan: {e}"),
            Self::MissingFeature(w) => write!(f, "the processor lacks {w}"),
            Self::Ept(e) => write!(f, "EPT: {e}"),
            Self::EptAttach(e) => write!(f, "EPT attach: {e}"),
            Self::Vmx(e) => write!(f, "VMX: {e}"),
            Self::BareOverlap { gpa, end, what } => write!(
                f,
                "bare mode: the plan's chunk [{gpa:#x}, {end:#x}) overlaps {what}"
            ),
            Self::Guest(e) => write!(f, "{e}"),
        }
    }
}

impl From<VmxError> for LinuxVmError {
    fn from(e: VmxError) -> Self {
        Self::Vmx(e)
    }
}

impl From<EptError> for LinuxVmError {
    fn from(e: EptError) -> Self {
        Self::Ept(e)
    }
}

impl From<AttachError> for LinuxVmError {
    fn from(e: AttachError) -> Self {
        Self::EptAttach(e)
    }
}

impl From<ConfigError> for LinuxVmError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
