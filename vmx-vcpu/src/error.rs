//! The crate's error type.

use core::fmt;

use axerrno::AxErrorKind;
use ept::FlushError;
use vmx_defs::capabilities::{ControlAdjustError, VmxBasicError};
use vmx_defs::ept::EptpError;
use vmx_defs::exit_reason::BasicExitReason;
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

/// The summary of a failed VM-entry check that errors carry (SDM Vol. 3C §27.2-§27.4): the
/// check the processor reports (the first in the SDM's order, `vmx_entry_check::Diagnosis::first`)
/// and how many checks fail in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryCheck {
    /// The first failing check.
    pub first: vmx_entry_check::CheckId,
    /// How many checks fail (including those a full diagnosis could not keep).
    pub failures: u16,
}

impl EntryCheck {
    /// The summary of `d`, `None` if every check passed (SDM Vol. 3C §27.2-§27.4).
    pub fn of(d: &vmx_entry_check::Diagnosis) -> Option<Self> {
        let first = d.first()?.id;
        let n = d.len().saturating_add(d.overflow());
        Some(Self {
            first,
            failures: u16::try_from(n).unwrap_or(u16::MAX),
        })
    }
}

impl fmt::Display for EntryCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "check {} (SDM Vol. 3C §{}: {}) fails",
            self.first.name(),
            self.first.section(),
            self.first.rule()
        )?;
        if self.failures > 1 {
            write!(f, ", {} checks fail in all", self.failures)?;
        }
        Ok(())
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
        what: AllocWhat,
    },
    /// IA32_VMX_BASIC\[48\] limits VMX structures to 32-bit physical addresses and the host
    /// gave a frame above 4 GiB.
    AddressAbove4G {
        /// The physical address.
        paddr: u64,
    },
    /// A VMX instruction failed.
    Instruction {
        /// Which one.
        instruction: VmxInstruction,
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
        /// For VM-instruction errors 7 and 8: the first check the software VM-entry
        /// checker finds failing, and how many fail (`vmx-entry-check`, SDM Vol. 3C
        /// §27.2); the full list comes from `Vcpu::diagnose_entry`.
        check: Option<EntryCheck>,
    },
    /// The pre-flight check before VMLAUNCH (`VcpuConfig::preflight_check`) found a
    /// VM-entry check of SDM Vol. 3C §27.2-§27.4 failing: the entry was not tried.
    PreflightFailed(EntryCheck),
    /// More VMCSs are active on this CPU than `VmxCpu` can track.
    TooManyActiveVmcs,
    /// The processor does not allow a control this configuration needs (SDM §27.5.1);
    /// the error names each missing control.
    Control(ControlAdjustError),
    /// A real-mode or unpaged protected-mode guest needs "unrestricted guest", which needs
    /// EPT (SDM Vol. 3C §27.2.1.1): configure the vCPU with an EPT.
    UnrestrictedGuestNeedsEpt,
    /// The configuration needs secondary processor-based controls (EPT, VPID, unrestricted
    /// guest...) and the processor has none (IA32_VMX_PROCBASED_CTLS\[63\] = 0, SDM Vol. 3D
    /// §A.3.2).
    NoSecondaryControls,
    /// The operation needs a feature this vCPU was not configured with.
    NotConfigured(VcpuFeature),
    /// The processor reports no INVVPID type usable for the invalidation a MOV to CR3 implies
    /// (IA32_VMX_EPT_VPID_CAP bits 40-43, SDM Vol. 3D §A.10).
    NoInvvpidType,
    /// A control whose VMCS field holds the physical address of a page (virtual-APIC page,
    /// APIC-access page, posted-interrupt descriptor, PML log, #VE information, VMREAD/VMWRITE
    /// bitmaps, EPTP list, ENCLS/ENCLV bitmaps, SPP table, HLAT, PASID tables, PID-pointer
    /// table) was requested, but this crate does not own such a page yet: entering with the
    /// address 0 would make the processor use host page 0 (SDM Vol. 3C §25.6).
    ControlNeedsPage(PageControl),
    /// The INVEPT that makes this vCPU's processor forget translations of an edited EPT
    /// failed before the entry (SDM Vol. 3C §29.4.3.1, §31.3 INVEPT); the guest did not run.
    EptSync(FlushError<InsnError>),
    /// The processor does not enumerate this speculative-execution barrier (CPUID leaf 7).
    MitigationUnsupported(crate::mitigations::Mitigation),
    /// Vectors 0-31 are exceptions, never external interrupts (SDM Vol. 3A §6.2): see
    /// [`deliver_host_interrupt`](crate::host_events::deliver_host_interrupt).
    NotAnInterruptVector(u8),
    /// The caller runs on another logical processor than the one VMX was enabled on (SDM
    /// Vol. 3C §24.7, §25.11.1: VMX operation and active VMCSs are per processor).
    WrongCpu {
        /// The processor `VmxCpu::enable` ran on.
        enabled_on: u32,
        /// The processor running the caller.
        running_on: u32,
    },
    /// This completion does not apply to the last exit (another reason, no exit yet, or the
    /// exit was already completed): completing it would change the guest as an instruction
    /// it did not execute would.
    NotCompletable {
        /// The completion attempted.
        completion: Completion,
        /// The last exit's basic reason, if there is an exit not yet completed.
        last_exit: Option<BasicExitReason>,
    },
    /// The MSR cannot be switched through the VM-entry/VM-exit MSR lists (SDM Vol. 3C §27.4:
    /// IA32_FS_BASE, IA32_GS_BASE, IA32_SMM_MONITOR_CTL, x2APIC MSRs 800H-8FFH and
    /// microcode MSRs fail the entry).
    MsrNotListable(u32),
    /// A MOV to CR3 under PAE paging also loads the four PDPTEs, which this helper does not
    /// read from guest memory (SDM Vol. 3C §27.3.1.6, Vol. 3A §4.4.1).
    PaePdptesNotEmulated,
    /// The running CPU's state cannot be the VMCS host state (SDM §27.2.3).
    HostState(HostStateError),
    /// An event cannot be injected or queued.
    InvalidEvent(InvalidEvent),
    /// No VPID is left.
    NoVpid,
    /// The operation needs a current VMCS on this CPU and this one is not.
    NotCurrent,
    /// The MSR switch list is full.
    MsrListFull,
    /// The EPT pointer does not fit this processor (SDM §25.6.11, IA32_VMX_EPT_VPID_CAP).
    InvalidEptp(EptpError),
    /// `run` was called on a vCPU from inside its own `run_loop` handler.
    Reentrant,
    /// The MSR is not in the MSR switch lists.
    MsrNotSwitched(u32),
    /// A value for XCR0 XSETBV refuses with #GP(0) (SDM Vol. 2D XSETBV, Vol. 1 §13.3), with
    /// the rule it breaks; the caller injects #GP(0). A vCPU that does not switch XCR0
    /// (extended-state mode other than XSAVE) supports no bit beyond what it has.
    InvalidXcr0 {
        /// The refused value.
        value: u64,
        /// The rule it breaks.
        rule: vmx_defs::registers::Xcr0Error,
    },
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
    /// A control of [`ISOLATION`](crate::ISOLATION) cannot be turned off (see
    /// [`Vcpu::set_exec_control`](crate::Vcpu::set_exec_control)).
    IsolationControl(crate::config::ExecControl),
    /// The processor does not allow this setting of the control (its allowed-1 bit is 0 for
    /// `on`, its allowed-0 bit is 1 for off; SDM Vol. 3D §A.3).
    ControlNotAllowed {
        /// The control.
        control: crate::config::ExecControl,
        /// The setting asked for.
        on: bool,
    },
    /// A guest's write of CR0, CR4 or CR8 (MOV CR, CLTS, LMSW) is refused: the #GP(0) the
    /// instruction raises, or a change this crate does not emulate
    /// ([`CrError::is_guest_fault`](crate::cr_rules::CrError::is_guest_fault)). Nothing
    /// changed and RIP stays.
    CrAccess(crate::cr_rules::CrError),
    /// A guest's MOV DR raises an exception
    /// ([`DrError::vector`](crate::dr_rules::DrError::vector)); RIP stays.
    DrAccess(crate::dr_rules::DrError),
    /// An APIC-virtualization request was refused (SDM Vol. 3C ch. 30; see
    /// [`ApicError`](crate::apic::ApicError)).
    Apic(crate::apic::ApicError),
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
            Self::UnrestrictedGuestNeedsEpt => f.write_str(
                "a real-mode or unpaged guest needs unrestricted guest, which needs EPT",
            ),
            Self::NoSecondaryControls => f.write_str(
                "the configuration needs secondary processor-based controls (EPT, VPID, unrestricted guest...) and the processor has none",
            ),
            Self::NotConfigured(w) => write!(f, "this vCPU was not configured with {w}"),
            Self::NoInvvpidType => {
                f.write_str("no INVVPID type for the invalidation a MOV to CR3 implies")
            }
            Self::ControlNeedsPage(c) => write!(
                f,
                "the control {c} needs a page this crate does not manage yet (its address would be 0)"
            ),
            Self::EptSync(e) => write!(f, "flushing the EPT before entry: {e}"),
            Self::MitigationUnsupported(m) => write!(f, "the processor has no {m}"),
            Self::NotAnInterruptVector(v) => {
                write!(f, "vector {v} is an exception vector, not an external interrupt")
            }
            Self::WrongCpu {
                enabled_on,
                running_on,
            } => write!(
                f,
                "running on CPU {running_on}, but VMX was enabled on CPU {enabled_on}"
            ),
            Self::NotCompletable {
                completion,
                last_exit: Some(r),
            } => write!(f, "{completion} does not complete the last exit ({r})"),
            Self::NotCompletable {
                completion,
                last_exit: None,
            } => write!(f, "{completion}: no exit is waiting to be completed"),
            Self::MsrNotListable(m) => {
                write!(f, "MSR {m:#x} cannot be switched through the MSR lists")
            }
            Self::PaePdptesNotEmulated => f.write_str(
                "MOV to CR3 under PAE paging also loads the PDPTEs, which load_guest_cr3 does not emulate",
            ),
            Self::AddressAbove4G { paddr } => write!(
                f,
                "frame {paddr:#x} is above 4 GiB but IA32_VMX_BASIC[48] limits VMX structures to 32-bit addresses"
            ),
            Self::Instruction { instruction, error } => {
                write!(f, "{instruction} failed: {error}")
            }
            Self::EntryFailed {
                instruction,
                fail,
                check: None,
            } => write!(f, "{instruction} failed: {fail}"),
            Self::EntryFailed {
                instruction,
                fail,
                check: Some(c),
            } => write!(f, "{instruction} failed: {fail}; {c}"),
            Self::PreflightFailed(c) => write!(f, "pre-flight VM-entry check: {c}"),
            Self::TooManyActiveVmcs => f.write_str("too many active VMCSs on this CPU"),
            Self::Control(e) => write!(f, "{e}"),
            Self::HostState(e) => write!(f, "{e}"),
            Self::InvalidEvent(e) => write!(f, "{e}"),
            Self::NoVpid => f.write_str("no VPID left"),
            Self::NotCurrent => f.write_str("the VMCS is not current on this CPU"),
            Self::MsrListFull => f.write_str("the MSR switch list is full"),
            Self::InvalidXcr0 { value, rule } => {
                write!(f, "XCR0 value {value:#x} refused: {rule}")
            }
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
            Self::IsolationControl(c) => {
                write!(f, "{c} keeps the guest apart from the host and cannot be turned off")
            }
            Self::ControlNotAllowed { control, on } => write!(
                f,
                "the processor does not allow {control} to be {}",
                if *on { "on" } else { "off" }
            ),
            Self::CrAccess(e) => write!(f, "control-register write refused: {e}"),
            Self::DrAccess(e) => write!(f, "MOV DR faults: {e}"),
            Self::Apic(e) => write!(f, "APIC virtualization: {e}"),
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
pub(crate) fn insn(instruction: VmxInstruction) -> impl Fn(InsnError) -> VmxError {
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
            | VmxError::UnrestrictedGuestNeedsEpt
            | VmxError::NoSecondaryControls
            | VmxError::NoInvvpidType
            | VmxError::MitigationUnsupported(_)
            | VmxError::ControlNeedsPage(_)
            | VmxError::PaePdptesNotEmulated => AxErrorKind::Unsupported,
            VmxError::OutOfMemory { .. } | VmxError::MsrListFull => AxErrorKind::NoMemory,
            VmxError::NoVpid | VmxError::TooManyActiveVmcs => AxErrorKind::ResourceBusy,
            VmxError::AlreadyEnabled
            | VmxError::FixedBit(_)
            | VmxError::HostState(_)
            | VmxError::NotCurrent
            | VmxError::Reentrant
            | VmxError::WrongCpu { .. }
            | VmxError::NotConfigured(_)
            | VmxError::NotCompletable { .. } => AxErrorKind::BadState,
            VmxError::AddressAbove4G { .. } => AxErrorKind::BadAddress,
            VmxError::Instruction { error, .. } => AxErrorKind::from(error),
            VmxError::EptSync(FlushError::Invept(error)) => AxErrorKind::from(error),
            VmxError::EptSync(_) => AxErrorKind::Unsupported,
            VmxError::EntryFailed { fail, .. } => AxErrorKind::from(fail),
            VmxError::PreflightFailed(_) => AxErrorKind::InvalidInput,
            VmxError::InvalidEvent(_)
            | VmxError::MsrNotListable(_)
            | VmxError::NotAnInterruptVector(_)
            | VmxError::InvalidEptp(_)
            | VmxError::MsrNotSwitched(_)
            | VmxError::InvalidMsrValue { .. }
            | VmxError::InvalidXcrIndex(_)
            | VmxError::InvalidCr3(_)
            | VmxError::InvalidXcr0 { .. } => AxErrorKind::InvalidInput,
            VmxError::UnsupportedActivityState(_) => AxErrorKind::Unsupported,
            VmxError::IsolationControl(_) => AxErrorKind::PermissionDenied,
            VmxError::ControlNotAllowed { .. } => AxErrorKind::Unsupported,
            VmxError::CrAccess(e) if !e.is_guest_fault() => AxErrorKind::Unsupported,
            VmxError::CrAccess(_) | VmxError::DrAccess(_) => AxErrorKind::InvalidInput,
            VmxError::Apic(crate::apic::ApicError::Unsupported(_)) => AxErrorKind::Unsupported,
            VmxError::Apic(_) => AxErrorKind::InvalidInput,
        }
    }
}

/// What the host was allocating when it ran out of frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllocWhat {
    /// The VMXON region (SDM Vol. 3C §25.11.5).
    VmxonRegion,
    /// A VMCS region (SDM Vol. 3C §25.2).
    Vmcs,
    /// A vCPU's run block, bitmaps, MSR lists and extended-state areas (SDM Vol. 3C §25.6.4,
    /// §25.6.9, §25.7.2, §25.8.2).
    VcpuStructures,
}

impl fmt::Display for AllocWhat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::VmxonRegion => "VMXON region",
            Self::Vmcs => "VMCS",
            Self::VcpuStructures => "vCPU structures",
        })
    }
}

/// A VMX instruction this crate executes (SDM Vol. 3C ch. 31 "VMX Instruction Reference").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VmxInstruction {
    /// VMXON.
    Vmxon,
    /// VMXOFF.
    Vmxoff,
    /// VMCLEAR.
    Vmclear,
    /// VMPTRLD.
    Vmptrld,
    /// VMREAD.
    Vmread,
    /// VMWRITE.
    Vmwrite,
    /// INVEPT.
    Invept,
    /// INVVPID.
    Invvpid,
}

impl fmt::Display for VmxInstruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vmxon => "VMXON",
            Self::Vmxoff => "VMXOFF",
            Self::Vmclear => "VMCLEAR",
            Self::Vmptrld => "VMPTRLD",
            Self::Vmread => "VMREAD",
            Self::Vmwrite => "VMWRITE",
            Self::Invept => "INVEPT",
            Self::Invvpid => "INVVPID",
        })
    }
}

/// A vCPU feature an operation needs and the configuration did not ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VcpuFeature {
    /// "Use TSC offsetting" (SDM Vol. 3C §25.6.5).
    TscOffsetting,
    /// "Activate VMX-preemption timer" (SDM Vol. 3C §26.5.1).
    PreemptionTimer,
    /// "Enable EPT" (SDM Vol. 3C §29.3).
    Ept,
}

impl fmt::Display for VcpuFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TscOffsetting => "TSC offsetting",
            Self::PreemptionTimer => "the VMX-preemption timer",
            Self::Ept => "EPT",
        })
    }
}

/// A VM-execution control whose VMCS field names a page (SDM Vol. 3C §25.6): refused until
/// the crate owns that page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PageControl {
    /// "Use TPR shadow": the virtual-APIC page (§25.6.8).
    TprShadow,
    /// "Virtualize APIC accesses": the APIC-access page (§25.6.8).
    VirtualizeApicAccesses,
    /// "Virtual-interrupt delivery" (needs the virtual-APIC page, §25.6.8).
    VirtualInterruptDelivery,
    /// "APIC-register virtualization" (needs the virtual-APIC page, §25.6.8).
    ApicRegisterVirtualization,
    /// "Virtualize x2APIC mode" (needs the virtual-APIC page, §25.6.8).
    VirtualizeX2apicMode,
    /// "Process posted interrupts": the posted-interrupt descriptor (§25.6.8).
    PostedInterrupts,
    /// "Enable PML": the PML address (§25.6.18).
    Pml,
    /// "EPT-violation #VE": the virtualization-exception information address (§25.6.19).
    EptViolationVe,
    /// "VMCS shadowing": the VMREAD and VMWRITE bitmaps (§25.6.15).
    VmcsShadowing,
    /// "Enable VM functions": the EPTP-list address (§25.6.14).
    VmFunctions,
    /// "Enable ENCLS exiting": the ENCLS-exiting bitmap (§25.6.16).
    EnclsExiting,
    /// "Enable ENCLV exiting": the ENCLV-exiting bitmap (§25.6.17).
    EnclvExiting,
    /// "Sub-page write permissions for EPT": the SPP-table pointer (§25.6.21).
    SubPageWritePermissions,
    /// "Use tertiary controls" (HLAT, PASID translation, IPI virtualization name tables
    /// and pointers, §25.6.2).
    TertiaryControls,
}

impl fmt::Display for PageControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TprShadow => "use TPR shadow",
            Self::VirtualizeApicAccesses => "virtualize APIC accesses",
            Self::VirtualInterruptDelivery => "virtual-interrupt delivery",
            Self::ApicRegisterVirtualization => "APIC-register virtualization",
            Self::VirtualizeX2apicMode => "virtualize x2APIC mode",
            Self::PostedInterrupts => "process posted interrupts",
            Self::Pml => "enable PML",
            Self::EptViolationVe => "EPT-violation #VE",
            Self::VmcsShadowing => "VMCS shadowing",
            Self::VmFunctions => "enable VM functions",
            Self::EnclsExiting => "enable ENCLS exiting",
            Self::EnclvExiting => "enable ENCLV exiting",
            Self::SubPageWritePermissions => "sub-page write permissions for EPT",
            Self::TertiaryControls => "activate tertiary controls",
        })
    }
}

/// A helper that completes an emulated instruction or event (see
/// [`VmxError::NotCompletable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Completion {
    /// Moving RIP past the exiting instruction (needs an instruction-caused exit, SDM
    /// Vol. 3C §28.2.4).
    AdvanceRip,
    /// CPUID (reason 10).
    Cpuid,
    /// RDMSR (reason 31).
    Rdmsr,
    /// WRMSR (reason 32).
    Wrmsr,
    /// IN (reason 30, non-string IN).
    IoIn,
    /// OUT (reason 30, non-string OUT).
    IoOut,
    /// INS or OUTS (reason 30, string I/O).
    StringIo,
    /// XSETBV (reason 55).
    Xsetbv,
    /// MOV to CR3 (reason 28).
    MovToCr3,
    /// A control-register access (reason 28).
    CrAccess,
    /// MOV DR (reason 29).
    MovDr,
    /// [`Vcpu::complete_apic_access`](crate::Vcpu::complete_apic_access) (APIC-access exit
    /// by an instruction's data access, SDM Vol. 3C §30.4).
    ApicAccess,
    /// [`Vcpu::complete_mmio_read`](crate::Vcpu::complete_mmio_read),
    /// [`Vcpu::complete_mmio_write`](crate::Vcpu::complete_mmio_write) or
    /// [`Vcpu::mmio_write_value`](crate::Vcpu::mmio_write_value) (EPT violation, reason 48,
    /// SDM Vol. 3C §29.3.3.2), also refused for an access of the other direction.
    Mmio,
}

impl fmt::Display for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AdvanceRip => "advancing RIP",
            Self::Cpuid => "completing CPUID",
            Self::Rdmsr => "completing RDMSR",
            Self::Wrmsr => "completing WRMSR",
            Self::IoIn => "completing IN",
            Self::IoOut => "completing OUT",
            Self::StringIo => "completing INS/OUTS",
            Self::Xsetbv => "completing XSETBV",
            Self::MovToCr3 => "completing MOV to CR3",
            Self::CrAccess => "completing a control-register access",
            Self::MovDr => "completing MOV DR",
            Self::ApicAccess => "completing an APIC access",
            Self::Mmio => "completing an MMIO access",
        })
    }
}
