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
    /// Run the software VM-entry checker (`Vcpu::diagnose_entry`, SDM Vol. 3C §27.2-§27.4)
    /// before each VMLAUNCH and refuse to enter with [`VmxError::PreflightFailed`] naming
    /// the first failing check. Off by default (it costs a VMREAD of every field).
    pub preflight_check: bool,
    /// APIC virtualization (SDM Vol. 3C ch. 30): TPR shadow and the features built on it,
    /// with the pages they need owned by the vCPU; `None` (the default) keeps CR8 accesses
    /// exiting.
    pub apic: Option<crate::apic::ApicVirtualization>,
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
            preflight_check: false,
            apic: None,
        }
    }
}

/// The controls that keep the guest's state apart from the host's, required on every vCPU
/// whatever the capability MSRs allow (a processor whose TRUE MSRs allow clearing a
/// default-1 control does not make clearing it safe):
/// - external-interrupt and NMI exiting: the host's interrupts and NMIs reach the host (SDM
///   Vol. 3C §25.6.1, §26.2);
/// - CR8-load and CR8-store exiting: without them and without a TPR shadow a guest MOV to
///   CR8 writes the host's task priority (§25.6.2, §26.1.3). With "use TPR shadow"
///   ([`VcpuConfig::apic`]) MOV to/from CR8 use the VTPR of the vCPU's virtual-APIC page
///   instead (§30.3), so they are not required there
///   ([`ISOLATION_WITH_TPR_SHADOW`], [`isolation`]);
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

/// [`ISOLATION`] for a vCPU with "use TPR shadow": CR8 accesses use the virtual-APIC page
/// (SDM Vol. 3C §30.3) and need not exit.
pub const ISOLATION_WITH_TPR_SHADOW: Controls = Controls {
    primary: PrimaryProcBasedControls::MOV_DR_EXITING,
    ..ISOLATION
};

/// The isolation controls of a vCPU with or without "use TPR shadow" ([`ISOLATION`],
/// [`ISOLATION_WITH_TPR_SHADOW`]; SDM Vol. 3C §26.1.3, §30.3).
pub const fn isolation(tpr_shadow: bool) -> Controls {
    if tpr_shadow {
        ISOLATION_WITH_TPR_SHADOW
    } else {
        ISOLATION
    }
}

/// Refuses controls whose VMCS fields hold the physical address of a page this crate does
/// not own when they are asked for as raw controls (SDM Vol. 3C §25.6): entering with such
/// a field left 0 would make the processor use host page 0. The APIC-virtualization
/// controls (TPR shadow, virtualize APIC accesses, virtualize x2APIC mode, APIC-register
/// virtualization, virtual-interrupt delivery) are set through [`VcpuConfig::apic`], which
/// allocates their pages, and "process posted interrupts" through
/// [`Vcpu::attach_posted_interrupts`](crate::Vcpu::attach_posted_interrupts); in
/// `required`/`optional` they are refused like the rest.
pub fn refuse_page_controls(c: &Controls) -> Result<(), VmxError> {
    match PAGE_CONTROLS.iter().find(|(bit, _)| bit.is_set(c)) {
        Some((_, control)) => Err(VmxError::ControlNeedsPage(*control)),
        None => Ok(()),
    }
}

/// One control bit, in the control word that holds it (SDM Vol. 3C §25.6.1, §25.6.2).
#[derive(Clone, Copy)]
enum ControlBit {
    Pin(PinBasedControls),
    Primary(PrimaryProcBasedControls),
    Secondary(SecondaryProcBasedControls),
}

impl ControlBit {
    fn is_set(self, c: &Controls) -> bool {
        match self {
            Self::Pin(bit) => c.pin.contains(bit),
            Self::Primary(bit) => c.primary.contains(bit),
            Self::Secondary(bit) => c.secondary.contains(bit),
        }
    }
}

/// The controls [`refuse_page_controls`] refuses, each with the [`PageControl`] it reports,
/// in the order they are tested (the first one set is reported). One row a line.
#[rustfmt::skip]
const PAGE_CONTROLS: [(ControlBit, PageControl); 14] = {
    use ControlBit::{Pin, Primary as Pri, Secondary as Sec};
    use PinBasedControls as P;
    use PrimaryProcBasedControls as R;
    use SecondaryProcBasedControls as S;
    [
        (Pri(R::USE_TPR_SHADOW), PageControl::TprShadow),
        (Pri(R::ACTIVATE_TERTIARY_CONTROLS), PageControl::TertiaryControls),
        (Sec(S::VIRTUALIZE_APIC_ACCESSES), PageControl::VirtualizeApicAccesses),
        (Sec(S::VIRTUALIZE_X2APIC_MODE), PageControl::VirtualizeX2apicMode),
        (Sec(S::APIC_REGISTER_VIRTUALIZATION), PageControl::ApicRegisterVirtualization),
        (Sec(S::VIRTUAL_INTERRUPT_DELIVERY), PageControl::VirtualInterruptDelivery),
        (Pin(P::PROCESS_POSTED_INTERRUPTS), PageControl::PostedInterrupts),
        (Sec(S::ENABLE_PML), PageControl::Pml),
        (Sec(S::EPT_VIOLATION_VE), PageControl::EptViolationVe),
        (Sec(S::VMCS_SHADOWING), PageControl::VmcsShadowing),
        (Sec(S::ENABLE_VM_FUNCTIONS), PageControl::VmFunctions),
        (Sec(S::ENABLE_ENCLS_EXITING), PageControl::EnclsExiting),
        (Sec(S::ENABLE_ENCLV_EXITING), PageControl::EnclvExiting),
        (Sec(S::SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT), PageControl::SubPageWritePermissions),
    ]
};

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
    let iso = isolation(config.apic.is_some());
    req.pin |= iso.pin;
    req.primary |= iso.primary;
    req.exit |= iso.exit;
    req.entry |= iso.entry;

    // APIC virtualization: every feature required, checked first for a typed error naming
    // the missing one (the pages are allocated by the vCPU).
    if let Some(apic) = &config.apic {
        apic.check(caps).map_err(VmxError::Apic)?;
        let (p, s) = apic.controls();
        req.primary |= p;
        req.secondary |= s;
    }

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
    // otherwise neither direction is used and `Vcpu::write_guest_state` puts them in the
    // VM-entry MSR-load / VM-exit MSR-store and MSR-load lists (SDM Vol. 3C §27.4, §28.4,
    // §28.6).
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

/// A VM-execution control a hypervisor turns on or off while the vCPU lives
/// ([`Vcpu::set_exec_control`](crate::Vcpu::set_exec_control); SDM Vol. 3C §25.6.2 Tables
/// 25-6 and 25-7, §26.1 for what each makes exit).
///
/// The interrupt-window and NMI-window controls are not here: the vCPU's injection logic
/// owns them (§26.7.5-26.7.6). The controls of [`ISOLATION`] are listed so that asking to
/// turn one off gets [`VmxError::IsolationControl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExecControl {
    /// "HLT exiting" (primary bit 7).
    HltExiting,
    /// "INVLPG exiting" (primary bit 9).
    InvlpgExiting,
    /// "MWAIT exiting" (primary bit 10).
    MwaitExiting,
    /// "RDPMC exiting" (primary bit 11).
    RdpmcExiting,
    /// "RDTSC exiting" (primary bit 12; RDTSCP too when enabled).
    RdtscExiting,
    /// "CR3-load exiting" (primary bit 15; forced to 1 without the TRUE capability MSRs).
    Cr3LoadExiting,
    /// "CR3-store exiting" (primary bit 16; forced to 1 without the TRUE capability MSRs).
    Cr3StoreExiting,
    /// "CR8-load exiting" (primary bit 19): in [`ISOLATION`], cannot be turned off without
    /// a TPR shadow.
    Cr8LoadExiting,
    /// "CR8-store exiting" (primary bit 20): in [`ISOLATION`], cannot be turned off without
    /// a TPR shadow.
    Cr8StoreExiting,
    /// "MOV-DR exiting" (primary bit 23): in [`ISOLATION`], cannot be turned off.
    MovDrExiting,
    /// "Monitor trap flag" (primary bit 27): an MTF exit after each guest instruction
    /// (§26.5.2).
    MonitorTrapFlag,
    /// "MONITOR exiting" (primary bit 29).
    MonitorExiting,
    /// "PAUSE exiting" (primary bit 30).
    PauseExiting,
    /// "Use TSC offsetting" (primary bit 3; the offset is 0 when it is turned on, set it
    /// with [`Vcpu::set_tsc_offset`](crate::Vcpu::set_tsc_offset)).
    TscOffsetting,
    /// "Use I/O bitmaps" (primary bit 25) on: I/O exits as the bitmaps say; off: every I/O
    /// instruction exits ("unconditional I/O exiting", bit 24, is set instead, so that the
    /// guest never reaches a port without the bitmaps saying so, §26.1.3).
    UseIoBitmaps,
    /// "Use MSR bitmaps" (primary bit 28) on: RDMSR/WRMSR exit as the bitmap says; off:
    /// every RDMSR and WRMSR exits.
    UseMsrBitmaps,
    /// "Descriptor-table exiting" (secondary bit 2): LGDT, LIDT, LLDT, LTR, SGDT, SIDT,
    /// SLDT, STR exit.
    DescriptorTableExiting,
    /// "WBINVD exiting" (secondary bit 6).
    WbinvdExiting,
    /// "RDRAND exiting" (secondary bit 11).
    RdrandExiting,
    /// "RDSEED exiting" (secondary bit 16).
    RdseedExiting,
}

impl ExecControl {
    /// Every control, for iteration.
    pub const ALL: [ExecControl; 20] = [
        Self::HltExiting,
        Self::InvlpgExiting,
        Self::MwaitExiting,
        Self::RdpmcExiting,
        Self::RdtscExiting,
        Self::Cr3LoadExiting,
        Self::Cr3StoreExiting,
        Self::Cr8LoadExiting,
        Self::Cr8StoreExiting,
        Self::MovDrExiting,
        Self::MonitorTrapFlag,
        Self::MonitorExiting,
        Self::PauseExiting,
        Self::TscOffsetting,
        Self::UseIoBitmaps,
        Self::UseMsrBitmaps,
        Self::DescriptorTableExiting,
        Self::WbinvdExiting,
        Self::RdrandExiting,
        Self::RdseedExiting,
    ];

    /// The control's bit: in the primary processor-based controls, or in the secondary ones
    /// (SDM Vol. 3C Tables 25-6, 25-7).
    pub const fn bits(self) -> (PrimaryProcBasedControls, SecondaryProcBasedControls) {
        use PrimaryProcBasedControls as P;
        use SecondaryProcBasedControls as S;
        let p = match self {
            Self::HltExiting => P::HLT_EXITING,
            Self::InvlpgExiting => P::INVLPG_EXITING,
            Self::MwaitExiting => P::MWAIT_EXITING,
            Self::RdpmcExiting => P::RDPMC_EXITING,
            Self::RdtscExiting => P::RDTSC_EXITING,
            Self::Cr3LoadExiting => P::CR3_LOAD_EXITING,
            Self::Cr3StoreExiting => P::CR3_STORE_EXITING,
            Self::Cr8LoadExiting => P::CR8_LOAD_EXITING,
            Self::Cr8StoreExiting => P::CR8_STORE_EXITING,
            Self::MovDrExiting => P::MOV_DR_EXITING,
            Self::MonitorTrapFlag => P::MONITOR_TRAP_FLAG,
            Self::MonitorExiting => P::MONITOR_EXITING,
            Self::PauseExiting => P::PAUSE_EXITING,
            Self::TscOffsetting => P::USE_TSC_OFFSETTING,
            Self::UseIoBitmaps => P::USE_IO_BITMAPS,
            Self::UseMsrBitmaps => P::USE_MSR_BITMAPS,
            _ => P::empty(),
        };
        let s = match self {
            Self::DescriptorTableExiting => S::DESCRIPTOR_TABLE_EXITING,
            Self::WbinvdExiting => S::WBINVD_EXITING,
            Self::RdrandExiting => S::RDRAND_EXITING,
            Self::RdseedExiting => S::RDSEED_EXITING,
            _ => S::empty(),
        };
        (p, s)
    }

    /// Whether the control is in [`ISOLATION`] (never turned off).
    pub const fn is_isolation(self) -> bool {
        let (p, s) = self.bits();
        ISOLATION.primary.intersects(p) || ISOLATION.secondary.intersects(s)
    }

    /// Whether `controls` has this control on.
    pub const fn is_set(self, controls: &Controls) -> bool {
        let (p, s) = self.bits();
        if !s.is_empty() {
            controls
                .primary
                .contains(PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS)
                && controls.secondary.contains(s)
        } else {
            controls.primary.contains(p)
        }
    }
}

impl core::fmt::Display for ExecControl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::HltExiting => "HLT exiting",
            Self::InvlpgExiting => "INVLPG exiting",
            Self::MwaitExiting => "MWAIT exiting",
            Self::RdpmcExiting => "RDPMC exiting",
            Self::RdtscExiting => "RDTSC exiting",
            Self::Cr3LoadExiting => "CR3-load exiting",
            Self::Cr3StoreExiting => "CR3-store exiting",
            Self::Cr8LoadExiting => "CR8-load exiting",
            Self::Cr8StoreExiting => "CR8-store exiting",
            Self::MovDrExiting => "MOV-DR exiting",
            Self::MonitorTrapFlag => "monitor trap flag",
            Self::MonitorExiting => "MONITOR exiting",
            Self::PauseExiting => "PAUSE exiting",
            Self::TscOffsetting => "use TSC offsetting",
            Self::UseIoBitmaps => "use I/O bitmaps",
            Self::UseMsrBitmaps => "use MSR bitmaps",
            Self::DescriptorTableExiting => "descriptor-table exiting",
            Self::WbinvdExiting => "WBINVD exiting",
            Self::RdrandExiting => "RDRAND exiting",
            Self::RdseedExiting => "RDSEED exiting",
        })
    }
}

/// `current` with `control` turned on or off, checked against `caps` (SDM Vol. 3D §A.3):
///
/// - turning off a control of [`ISOLATION`] is [`VmxError::IsolationControl`] (with "use
///   TPR shadow" on, of [`ISOLATION_WITH_TPR_SHADOW`]: CR8 exiting may then be turned off);
/// - a setting the capability MSRs do not allow (allowed-1 clear when turning on, allowed-0
///   set when turning off) is [`VmxError::ControlNotAllowed`];
/// - a secondary control turned on activates the secondary controls
///   ([`VmxError::NoSecondaryControls`] when the processor has none); the secondary
///   controls stay active once activated;
/// - turning [`ExecControl::UseIoBitmaps`] off sets "unconditional I/O exiting", turning it
///   on clears it, so that I/O never bypasses both.
///
/// Never sets a control that needs a page ([`refuse_page_controls`] holds for the result
/// when it holds for `current`). Pure.
pub fn with_exec_control(
    caps: &VmxCapabilities,
    current: Controls,
    control: ExecControl,
    on: bool,
) -> Result<Controls, VmxError> {
    use PrimaryProcBasedControls as P;
    let tpr_shadow = current.primary.contains(P::USE_TPR_SHADOW);
    let (p_bits, _) = control.bits();
    // With a TPR shadow, CR8 exiting is not isolation (SDM Vol. 3C §30.3).
    let still_isolation = !tpr_shadow || ISOLATION_WITH_TPR_SHADOW.primary.intersects(p_bits);
    if !on && control.is_isolation() && still_isolation {
        return Err(VmxError::IsolationControl(control));
    }
    let not_allowed = VmxError::ControlNotAllowed { control, on };
    let (p, s) = control.bits();
    let mut new = current;
    if !s.is_empty() {
        let active = current.primary.contains(P::ACTIVATE_SECONDARY_CONTROLS);
        if !active && !on {
            return Ok(current);
        }
        if !active {
            if !caps.has_secondary_controls() {
                return Err(VmxError::NoSecondaryControls);
            }
            new.primary |= P::ACTIVATE_SECONDARY_CONTROLS;
            if !caps.primary_proc().permits(new.primary) {
                return Err(not_allowed);
            }
        }
        new.secondary.set(s, on);
        if !caps.secondary_proc().permits(new.secondary) {
            return Err(not_allowed);
        }
        return Ok(new);
    }
    new.primary.set(p, on);
    if control == ExecControl::UseIoBitmaps {
        new.primary.set(P::UNCONDITIONAL_IO_EXITING, !on);
    }
    if !caps.primary_proc().permits(new.primary) {
        return Err(not_allowed);
    }
    Ok(new)
}
