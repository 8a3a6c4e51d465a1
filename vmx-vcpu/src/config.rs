//! vCPU configuration and the choice of VM-execution, VM-exit and VM-entry controls
//! (SDM Vol. 3C §25.6 "VM-Execution Control Fields", §25.7 "VM-Exit Control Fields", §25.8
//! "VM-Entry Control Fields"; the adjustment algorithm of §27.5.1 / Vol. 3D §A.2).

use vmx_defs::capabilities::VmxCapabilities;
use vmx_defs::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryProcBasedControls,
};

use crate::error::{PageControl, VmxError};
use crate::guest::GuestState;

/// One value per control field this crate programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Controls {
    /// Pin-based VM-execution controls (SDM §25.6.1).
    pub pin: PinBasedControls,
    /// Primary processor-based VM-execution controls (SDM §25.6.2).
    pub primary: PrimaryProcBasedControls,
    /// Secondary processor-based VM-execution controls (SDM §25.6.2).
    pub secondary: SecondaryProcBasedControls,
    /// Primary VM-exit controls (SDM §25.7.1).
    pub exit: PrimaryExitControls,
    /// VM-entry controls (SDM §25.8.1).
    pub entry: EntryControls,
}

impl Controls {
    /// No control set.
    pub const fn empty() -> Self {
        Self {
            pin: PinBasedControls::empty(),
            primary: PrimaryProcBasedControls::empty(),
            secondary: SecondaryProcBasedControls::empty(),
            exit: PrimaryExitControls::empty(),
            entry: EntryControls::empty(),
        }
    }
}

impl Default for Controls {
    fn default() -> Self {
        Self::empty()
    }
}

/// How a vCPU is set up.
#[derive(Debug, Clone, Copy)]
pub struct VcpuConfig {
    /// Start state.
    pub guest: GuestState,
    /// Tag the guest's TLB entries with a VPID of their own (SDM §29.1).
    pub vpid: bool,
    /// HLT exits (SDM §25.6.2); otherwise the guest halts for real until an event.
    pub hlt_exiting: bool,
    /// RDTSC/RDTSCP exit.
    pub rdtsc_exiting: bool,
    /// Use virtual NMIs (and NMI-window exiting) when the processor has them.
    pub virtual_nmis: bool,
    /// Activate the VMX-preemption timer (SDM §26.5.1); set its value with
    /// `Vcpu::set_preemption_timer`.
    pub preemption_timer: bool,
    /// Use I/O bitmaps (deny-by-default with pass-through); `false` makes every I/O
    /// instruction exit ("unconditional I/O exiting").
    pub io_bitmaps: bool,
    /// Use the MSR bitmap (deny-by-default with pass-through); `false` makes every RDMSR
    /// and WRMSR exit.
    pub msr_bitmap: bool,
    /// Acknowledge external interrupts on exit (their vector is then in the exit).
    pub acknowledge_interrupt_on_exit: bool,
    /// Controls the caller also requires (an error names any the processor lacks).
    pub required: Controls,
    /// Controls the caller wants when the processor has them.
    pub optional: Controls,
}

impl VcpuConfig {
    /// A configuration with the defaults: HLT exiting, I/O and MSR bitmaps (everything
    /// intercepted), virtual NMIs where available, no preemption timer, no RDTSC exiting,
    /// no VPID. Whether the guest runs on an EPT is chosen by the constructor
    /// ([`VmxVcpu::new`](crate::VmxVcpu::new) or
    /// [`VmxVcpu::new_on_host_memory`](crate::VmxVcpu::new_on_host_memory)).
    pub const fn new(guest: GuestState) -> Self {
        Self {
            guest,
            vpid: false,
            hlt_exiting: true,
            rdtsc_exiting: false,
            virtual_nmis: true,
            preemption_timer: false,
            io_bitmaps: true,
            msr_bitmap: true,
            acknowledge_interrupt_on_exit: false,
            required: Controls::empty(),
            optional: Controls::empty(),
        }
    }
}

/// The controls that keep the guest's state apart from the host's, required on every vCPU
/// whatever the capability MSRs allow (a processor whose TRUE MSRs allow clearing a
/// default-1 control does not make clearing it safe):
/// - external-interrupt and NMI exiting: the host's interrupts and NMIs reach the host (SDM
///   Vol. 3C §25.6.1, §26.2);
/// - CR8-load and CR8-store exiting: without them (and without a TPR shadow, which this crate
///   does not manage yet) a guest MOV to CR8 writes the host's task priority (§25.6.2,
///   §26.1.3);
/// - MOV-DR exiting: DR0-DR3 and DR6 are not switched by VM entry or exit, so a guest MOV
///   to a debug register would reach the host's (§25.6.2, §28.3.1); the vCPU emulates them
///   (`Vcpu::complete_mov_dr`);
/// - "save debug controls" and "load debug controls": DR7 and IA32_DEBUGCTL are switched
///   (saved on exit, loaded from the guest-state area on entry; on exit DR7 becomes 400H and
///   IA32_DEBUGCTL 0 for the host, §28.3.1, §28.5.1, §27.3.2.1);
/// - "host address-space size": the host is a 64-bit kernel (§25.7.1).
pub const ISOLATION: Controls = Controls {
    pin: PinBasedControls::EXTERNAL_INTERRUPT_EXITING.union(PinBasedControls::NMI_EXITING),
    primary: PrimaryProcBasedControls::CR8_LOAD_EXITING
        .union(PrimaryProcBasedControls::CR8_STORE_EXITING)
        .union(PrimaryProcBasedControls::MOV_DR_EXITING),
    secondary: SecondaryProcBasedControls::empty(),
    exit: PrimaryExitControls::SAVE_DEBUG_CONTROLS
        .union(PrimaryExitControls::HOST_ADDRESS_SPACE_SIZE),
    entry: EntryControls::LOAD_DEBUG_CONTROLS,
};

/// Refuses controls whose VMCS fields hold the physical address of a page this crate does
/// not own yet (SDM Vol. 3C §25.6): entering with such a field left 0 would make the
/// processor use host page 0.
pub fn refuse_page_controls(c: &Controls) -> Result<(), VmxError> {
    use PinBasedControls as Pin;
    use PrimaryProcBasedControls as Pri;
    use SecondaryProcBasedControls as Sec;
    let checks: [(bool, PageControl); 14] = [
        (
            c.primary.contains(Pri::USE_TPR_SHADOW),
            PageControl::TprShadow,
        ),
        (
            c.primary.contains(Pri::ACTIVATE_TERTIARY_CONTROLS),
            PageControl::TertiaryControls,
        ),
        (
            c.secondary.contains(Sec::VIRTUALIZE_APIC_ACCESSES),
            PageControl::VirtualizeApicAccesses,
        ),
        (
            c.secondary.contains(Sec::VIRTUALIZE_X2APIC_MODE),
            PageControl::VirtualizeX2apicMode,
        ),
        (
            c.secondary.contains(Sec::APIC_REGISTER_VIRTUALIZATION),
            PageControl::ApicRegisterVirtualization,
        ),
        (
            c.secondary.contains(Sec::VIRTUAL_INTERRUPT_DELIVERY),
            PageControl::VirtualInterruptDelivery,
        ),
        (
            c.pin.contains(Pin::PROCESS_POSTED_INTERRUPTS),
            PageControl::PostedInterrupts,
        ),
        (c.secondary.contains(Sec::ENABLE_PML), PageControl::Pml),
        (
            c.secondary.contains(Sec::EPT_VIOLATION_VE),
            PageControl::EptViolationVe,
        ),
        (
            c.secondary.contains(Sec::VMCS_SHADOWING),
            PageControl::VmcsShadowing,
        ),
        (
            c.secondary.contains(Sec::ENABLE_VM_FUNCTIONS),
            PageControl::VmFunctions,
        ),
        (
            c.secondary.contains(Sec::ENABLE_ENCLS_EXITING),
            PageControl::EnclsExiting,
        ),
        (
            c.secondary.contains(Sec::ENABLE_ENCLV_EXITING),
            PageControl::EnclvExiting,
        ),
        (
            c.secondary
                .contains(Sec::SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT),
            PageControl::SubPageWritePermissions,
        ),
    ];
    match checks.iter().find(|(set, _)| *set) {
        Some((_, control)) => Err(VmxError::ControlNeedsPage(*control)),
        None => Ok(()),
    }
}

/// Computes the control values for `config` on a processor with `caps`, following the
/// SDM algorithm ([`AllowedSettings::adjust`](vmx_defs::capabilities::AllowedSettings::adjust)):
/// required controls must be allowed (else [`VmxError::Control`] naming them), optional ones
/// are taken where allowed, default1 controls the caller does not name stay at 1 only where
/// they cannot be 0. Pure.
pub fn compute_controls(
    caps: &VmxCapabilities,
    config: &VcpuConfig,
    ept: bool,
) -> Result<Controls, VmxError> {
    use EntryControls as En;
    use PinBasedControls as Pin;
    use PrimaryExitControls as Ex;
    use PrimaryProcBasedControls as Pri;
    use SecondaryProcBasedControls as Sec;

    let mut req = config.required;
    let mut opt = config.optional;
    refuse_page_controls(&req)?;
    refuse_page_controls(&opt)?;

    // Isolation: every control that keeps guest state apart from the host's is required,
    // whatever the capability MSRs would let us clear (see `ISOLATION`).
    req.pin |= ISOLATION.pin;
    req.primary |= ISOLATION.primary;
    req.exit |= ISOLATION.exit;
    req.entry |= ISOLATION.entry;

    if config.virtual_nmis {
        opt.pin |= Pin::VIRTUAL_NMIS;
    }
    if config.preemption_timer {
        req.pin |= Pin::ACTIVATE_VMX_PREEMPTION_TIMER;
        opt.exit |= Ex::SAVE_VMX_PREEMPTION_TIMER_VALUE;
    }

    if config.io_bitmaps {
        req.primary |= Pri::USE_IO_BITMAPS;
    } else {
        req.primary |= Pri::UNCONDITIONAL_IO_EXITING;
    }
    if config.msr_bitmap {
        req.primary |= Pri::USE_MSR_BITMAPS;
    }
    if config.hlt_exiting {
        req.primary |= Pri::HLT_EXITING;
    }
    if config.rdtsc_exiting {
        req.primary |= Pri::RDTSC_EXITING;
    }
    opt.primary |= Pri::USE_TSC_OFFSETTING;

    if ept {
        req.secondary |= Sec::ENABLE_EPT;
    }
    if config.guest.needs_unrestricted_guest() {
        if !ept {
            return Err(VmxError::UnrestrictedGuestNeedsEpt);
        }
        req.secondary |= Sec::UNRESTRICTED_GUEST;
    }
    if config.vpid {
        req.secondary |= Sec::ENABLE_VPID;
    }
    // Without these the guest gets #UD for RDTSCP / INVPCID even where CPUID shows them.
    opt.secondary |= Sec::ENABLE_RDTSCP | Sec::ENABLE_INVPCID;

    opt.exit |= Ex::SAVE_IA32_EFER | Ex::LOAD_IA32_EFER | Ex::SAVE_IA32_PAT | Ex::LOAD_IA32_PAT;
    if config.acknowledge_interrupt_on_exit {
        req.exit |= Ex::ACKNOWLEDGE_INTERRUPT_ON_EXIT;
    }

    if config.guest.is_long_mode() {
        req.entry |= En::IA32E_MODE_GUEST;
    }
    opt.entry |= En::LOAD_IA32_EFER | En::LOAD_IA32_PAT;

    let secondary_needed = !(req.secondary.is_empty() && opt.secondary.is_empty());
    let has_secondary = caps.has_secondary_controls();
    if !req.secondary.is_empty() && !has_secondary {
        return Err(VmxError::NoSecondaryControls);
    }
    if secondary_needed && has_secondary {
        req.primary |= Pri::ACTIVATE_SECONDARY_CONTROLS;
    }

    let pin = caps.adjust_pin_based(req.pin, opt.pin)?;
    let primary = caps.adjust_primary_proc(req.primary, opt.primary)?;
    let secondary = if primary.contains(Pri::ACTIVATE_SECONDARY_CONTROLS) {
        caps.adjust_secondary_proc(req.secondary, opt.secondary)?
    } else {
        SecondaryProcBasedControls::empty()
    };
    let mut exit = caps.adjust_exit(req.exit, opt.exit)?;
    let mut entry = caps.adjust_entry(req.entry, opt.entry)?;
    // EFER and PAT are switched by the controls only when both directions are available;
    // otherwise the vCPU switches them through the MSR lists.
    for (save, load_exit, load_entry) in [
        (Ex::SAVE_IA32_EFER, Ex::LOAD_IA32_EFER, En::LOAD_IA32_EFER),
        (Ex::SAVE_IA32_PAT, Ex::LOAD_IA32_PAT, En::LOAD_IA32_PAT),
    ] {
        let complete = exit.contains(save | load_exit) && entry.contains(load_entry);
        if !complete {
            let must_exit = caps.exit().must_be_one();
            let must_entry = caps.entry().must_be_one();
            exit &= !((save | load_exit) & !must_exit);
            entry &= !(load_entry & !must_entry);
        }
    }
    Ok(Controls {
        pin,
        primary,
        secondary,
        exit,
        entry,
    })
}
