//! vCPU configuration and the choice of VM-execution, VM-exit and VM-entry controls
//! (SDM Vol. 3C §25.6 "VM-Execution Control Fields", §25.7 "VM-Exit Control Fields", §25.8
//! "VM-Entry Control Fields"; the adjustment algorithm of §27.5.1 / Vol. 3D §A.2).

use vmx_defs::capabilities::VmxCapabilities;
use vmx_defs::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryProcBasedControls,
};
use vmx_defs::ept::Eptp;

use crate::error::VmxError;
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
    /// EPT pointer from the `ept` crate (`EptPageTable::eptp()`), or `None` to run the
    /// guest on host-physical addresses (then the guest's page tables map host memory).
    pub ept: Option<Eptp>,
    /// Tag the guest's TLB entries with a VPID of their own (SDM §29.1).
    pub vpid: bool,
    /// HLT exits (SDM §25.6.2); otherwise the guest halts for real until an event.
    pub hlt_exiting: bool,
    /// RDTSC/RDTSCP exit.
    pub rdtsc_exiting: bool,
    /// Use virtual NMIs (and NMI-window exiting) when the processor has them.
    pub virtual_nmis: bool,
    /// Activate the VMX-preemption timer (SDM §26.5.1); set its value with
    /// `VmxVcpu::set_preemption_timer`.
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
    /// no VPID, no EPT.
    pub const fn new(guest: GuestState) -> Self {
        Self {
            guest,
            ept: None,
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

/// Computes the control values for `config` on a processor with `caps`, following the
/// SDM algorithm ([`AllowedSettings::adjust`](vmx_defs::capabilities::AllowedSettings::adjust)):
/// required controls must be allowed (else [`VmxError::Control`] naming them), optional ones
/// are taken where allowed, default1 controls the caller does not name stay at 1 only where
/// they cannot be 0. Pure.
pub fn compute_controls(caps: &VmxCapabilities, config: &VcpuConfig) -> Result<Controls, VmxError> {
    use EntryControls as En;
    use PinBasedControls as Pin;
    use PrimaryExitControls as Ex;
    use PrimaryProcBasedControls as Pri;
    use SecondaryProcBasedControls as Sec;

    let mut req = config.required;
    let mut opt = config.optional;

    req.pin |= Pin::EXTERNAL_INTERRUPT_EXITING | Pin::NMI_EXITING;
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

    if config.ept.is_some() {
        req.secondary |= Sec::ENABLE_EPT;
    }
    if config.guest.needs_unrestricted_guest() {
        if config.ept.is_none() {
            return Err(VmxError::MissingFeature(
                "a real-mode or unpaged guest needs unrestricted guest, which needs EPT",
            ));
        }
        req.secondary |= Sec::UNRESTRICTED_GUEST;
    }
    if config.vpid {
        req.secondary |= Sec::ENABLE_VPID;
    }
    // Without these the guest gets #UD for RDTSCP / INVPCID even where CPUID shows them.
    opt.secondary |= Sec::ENABLE_RDTSCP | Sec::ENABLE_INVPCID;

    req.exit |= Ex::HOST_ADDRESS_SPACE_SIZE;
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
        return Err(VmxError::MissingFeature(
            "secondary processor-based controls (EPT, VPID, unrestricted guest...)",
        ));
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
