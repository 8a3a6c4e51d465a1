//! The crate's error type.

use core::fmt;

use axerrno::AxErrorKind;
use vmx_defs::capabilities::{ControlAdjustError, VmxBasicError};
use vmx_defs::ept::EptpError;
use vmx_defs::guest_state::ActivityState;
use vmx_insn::{InsnError, VmFail};

use crate::enable_checks::{FeatureControlLocked, FixedBitConflict};
use crate::event::InvalidEvent;
use crate::host_checks::HostStateError;

/// Which VM-entry instruction was executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryInstruction {
    /// VMLAUNCH (the VMCS launch state must be clear).
    Launch,
    /// VMRESUME (the VMCS launch state must be launched).
    Resume,
}

impl fmt::Display for EntryInstruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Launch => "VMLAUNCH",
            Self::Resume => "VMRESUME",
        })
    }
}

/// Everything that can go wrong while enabling VMX, configuring or running a vCPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VmxError {
    /// CPUID.1:ECX.VMX\[bit 5\] is 0: the processor (or emulator model) has no VMX
    /// (SDM Vol. 3C §24.6).
    NoVmxSupport,
    /// CR4.VMXE is already 1 on this CPU: VMX was enabled by someone else (or twice).
    AlreadyEnabled,
    /// IA32_FEATURE_CONTROL is locked with VMXON outside SMX disabled (SDM §24.7).
    FeatureControlLocked(FeatureControlLocked),
    /// A CR0/CR4 bit cannot take the value VMX operation needs (SDM §24.8).
    FixedBit(FixedBitConflict),
    /// IA32_VMX_BASIC is malformed (e.g. region size above 4096; SDM Vol. 3D §A.1).
    InvalidBasic(VmxBasicError),
    /// The host had no frames for this structure.
    OutOfMemory {
        /// What was being allocated.
        what: &'static str,
    },
    /// IA32_VMX_BASIC\[48\] limits VMX structures to 32-bit physical addresses and the host
    /// gave a frame above 4 GiB.
    AddressAbove4G {
        /// The physical address.
        paddr: u64,
    },
    /// A VMX instruction failed.
    Instruction {
        /// Which one ("VMXON", "VMCLEAR", "VMPTRLD", "VMREAD", "VMWRITE", "INVVPID"...).
        instruction: &'static str,
        /// The failure.
        error: InsnError,
    },
    /// VMLAUNCH or VMRESUME failed with VMfail (SDM §27.1-27.2: e.g. error 4 "VMLAUNCH
    /// with non-clear VMCS", 5 "VMRESUME with non-launched VMCS", 7 invalid control
    /// fields, 8 invalid host-state fields).
    EntryFailed {
        /// The instruction executed.
        instruction: EntryInstruction,
        /// VMfailInvalid or VMfailValid with its VM-instruction error.
        fail: VmFail,
    },
    /// More VMCSs are active on this CPU than `VmxCpu` can track.
    TooManyActiveVmcs,
    /// The processor does not allow a control this configuration needs (SDM §27.5.1);
    /// the error names each missing control.
    Control(ControlAdjustError),
    /// A feature the configuration asks for is missing (e.g. "unrestricted guest needs EPT").
    MissingFeature(&'static str),
    /// The running CPU's state cannot be the VMCS host state (SDM §27.2.3).
    HostState(HostStateError),
    /// An event cannot be injected or queued.
    InvalidEvent(InvalidEvent),
    /// No VPID is left.
    NoVpid,
    /// The operation needs a current VMCS on this CPU and this one is not.
    NotCurrent,
    /// A value given for guest state is invalid (the text says which).
    InvalidGuestState(&'static str),
    /// The MSR switch list is full.
    MsrListFull,
    /// The EPT pointer does not fit this processor (SDM §25.6.11, IA32_VMX_EPT_VPID_CAP).
    InvalidEptp(EptpError),
    /// `run` was called on a vCPU from inside its own `run_loop` handler.
    Reentrant,
    /// The MSR is not in the MSR switch lists.
    MsrNotSwitched(u32),
    /// A value for XCR0 the host cannot load (unsupported component, or x87 clear, or AVX
    /// without SSE; SDM Vol. 1 §13.3).
    InvalidXcr0(u64),
    /// A value WRMSR refuses for this MSR (non-canonical address, reserved bits set; see
    /// [`check_msr_value`](crate::msr_values::check_msr_value)). Loading it from the
    /// MSR-load list would fail VM entry with reason 34 (SDM Vol. 3C §27.4); inject #GP(0)
    /// into the guest instead, as WRMSR does.
    InvalidMsrValue {
        /// The MSR index.
        msr: u32,
        /// The refused value.
        value: u64,
    },
    /// XSETBV named an extended control register other than XCR0 (ECX != 0; SDM Vol. 2B
    /// XSETBV: #GP(0)). The caller injects #GP(0).
    InvalidXcrIndex(u32),
    /// A MOV-to-CR3 source with a reserved bit set (bits 63:MAXPHYADDR, bit 63 counting
    /// only when CR4.PCIDE = 0; see [`check_mov_to_cr3`](crate::cr3::check_mov_to_cr3)).
    /// The instruction raises #GP(0) (SDM Vol. 2B MOV CR); the caller injects it.
    InvalidCr3(u64),
    /// The processor does not support this guest activity state (IA32_VMX_MISC bits 8:6,
    /// SDM Vol. 3D §A.6; VM entry would fail, Vol. 3C §27.3.1.5).
    UnsupportedActivityState(ActivityState),
}

impl fmt::Display for VmxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoVmxSupport => f.write_str("CPUID.1:ECX.VMX is 0: no VMX on this processor"),
            Self::AlreadyEnabled => f.write_str("VMX is already enabled on this CPU (CR4.VMXE=1)"),
            Self::FeatureControlLocked(l) => write!(
                f,
                "IA32_FEATURE_CONTROL {:#x} is locked with VMXON outside SMX disabled",
                l.value
            ),
            Self::FixedBit(c) => write!(f, "{c}"),
            Self::InvalidBasic(e) => write!(f, "IA32_VMX_BASIC: {e}"),
            Self::OutOfMemory { what } => write!(f, "out of frames for the {what}"),
            Self::AddressAbove4G { paddr } => write!(
                f,
                "frame {paddr:#x} is above 4 GiB but IA32_VMX_BASIC[48] limits VMX structures to 32-bit addresses"
            ),
            Self::Instruction { instruction, error } => {
                write!(f, "{instruction} failed: {error}")
            }
            Self::EntryFailed { instruction, fail } => write!(f, "{instruction} failed: {fail}"),
            Self::TooManyActiveVmcs => f.write_str("too many active VMCSs on this CPU"),
            Self::Control(e) => write!(f, "{e}"),
            Self::MissingFeature(w) => write!(f, "missing feature: {w}"),
            Self::HostState(e) => write!(f, "{e}"),
            Self::InvalidEvent(e) => write!(f, "{e}"),
            Self::NoVpid => f.write_str("no VPID left"),
            Self::NotCurrent => f.write_str("the VMCS is not current on this CPU"),
            Self::InvalidGuestState(w) => write!(f, "invalid guest state: {w}"),
            Self::MsrListFull => f.write_str("the MSR switch list is full"),
            Self::InvalidXcr0(v) => write!(f, "XCR0 value {v:#x} cannot be loaded"),
            Self::InvalidEptp(e) => write!(f, "EPT pointer: {e}"),
            Self::Reentrant => f.write_str("run called inside this vCPU's own run_loop"),
            Self::InvalidXcrIndex(i) => write!(f, "XCR{i} is not a writable XCR (only XCR0 is)"),
            Self::InvalidCr3(v) => write!(f, "MOV to CR3 of {v:#x} sets a reserved bit"),
            Self::MsrNotSwitched(m) => write!(f, "MSR {m:#x} is not in the MSR switch lists"),
            Self::InvalidMsrValue { msr, value } => {
                write!(f, "WRMSR would refuse {value:#x} for MSR {msr:#x}")
            }
            Self::UnsupportedActivityState(s) => write!(
                f,
                "the processor does not support the guest activity state {s:?} (IA32_VMX_MISC)"
            ),
        }
    }
}

impl core::error::Error for VmxError {}

impl From<ControlAdjustError> for VmxError {
    fn from(e: ControlAdjustError) -> Self {
        Self::Control(e)
    }
}

impl From<HostStateError> for VmxError {
    fn from(e: HostStateError) -> Self {
        Self::HostState(e)
    }
}

impl From<InvalidEvent> for VmxError {
    fn from(e: InvalidEvent) -> Self {
        Self::InvalidEvent(e)
    }
}

/// Wraps a vmx-insn error with the instruction's name.
pub(crate) fn insn(instruction: &'static str) -> impl Fn(InsnError) -> VmxError {
    move |error| VmxError::Instruction { instruction, error }
}

impl From<VmxError> for AxErrorKind {
    /// Missing processor features map to `Unsupported`, exhausted resources to `NoMemory`
    /// or `ResourceBusy`, wrong caller input to `InvalidInput`, states that forbid the
    /// operation to `BadState`, and failed VMX instructions through vmx-insn's mapping.
    fn from(e: VmxError) -> Self {
        match e {
            VmxError::NoVmxSupport
            | VmxError::FeatureControlLocked(_)
            | VmxError::InvalidBasic(_)
            | VmxError::Control(_)
            | VmxError::MissingFeature(_) => AxErrorKind::Unsupported,
            VmxError::OutOfMemory { .. } | VmxError::MsrListFull => AxErrorKind::NoMemory,
            VmxError::NoVpid | VmxError::TooManyActiveVmcs => AxErrorKind::ResourceBusy,
            VmxError::AlreadyEnabled
            | VmxError::FixedBit(_)
            | VmxError::HostState(_)
            | VmxError::NotCurrent
            | VmxError::Reentrant => AxErrorKind::BadState,
            VmxError::AddressAbove4G { .. } => AxErrorKind::BadAddress,
            VmxError::Instruction { error, .. } => AxErrorKind::from(error),
            VmxError::EntryFailed { fail, .. } => AxErrorKind::from(fail),
            VmxError::InvalidEvent(_)
            | VmxError::InvalidGuestState(_)
            | VmxError::InvalidEptp(_)
            | VmxError::MsrNotSwitched(_)
            | VmxError::InvalidMsrValue { .. }
            | VmxError::InvalidXcrIndex(_)
            | VmxError::InvalidCr3(_)
            | VmxError::InvalidXcr0(_) => AxErrorKind::InvalidInput,
            VmxError::UnsupportedActivityState(_) => AxErrorKind::Unsupported,
        }
    }
}
