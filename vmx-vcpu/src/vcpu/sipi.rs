//! Application processors: INIT, the wait-for-SIPI activity state and the start at a SIPI
//! vector (SDM Vol. 3A §10.1 Table 10-1 "Processor States Following Power-up, Reset, or
//! INIT", §10.4 "Multiple-Processor (MP) Initialization"; Vol. 3C §25.4.2 activity states,
//! §26.2 INIT and SIPI exits, §28.2.1 SIPI exit qualification; IA32_VMX_MISC\[8\], Vol. 3D
//! §A.6).
//!
//! # Two ways to wait for a SIPI
//!
//! A vCPU that received an INIT waits for a startup IPI. [`Vcpu::receive_init`] puts it
//! there in one of two ways, chosen by [`ApWait`] and reported by [`Vcpu::ap_state`]:
//!
//! - [`ApWait::Hardware`]: the vCPU is entered in the wait-for-SIPI activity state (where
//!   IA32_VMX_MISC bit 8 reports it). The processor sits inactive in VMX non-root operation
//!   until a *physical* SIPI reaches it, which causes a SIPI exit
//!   ([`VmExit::Sipi`](crate::VmExit::Sipi), reason 4, SDM Vol. 3C §26.2) carrying the
//!   vector; a physical INIT causes an INIT exit (reason 3). External interrupts and NMIs
//!   do not wake it and the VMX-preemption timer does not exit in that state (§26.5.1), so
//!   only INIT or SIPI brings the processor back to the hypervisor.
//! - [`ApWait::Host`]: the fallback where the processor lacks the state, or where a
//!   hypervisor below refuses it (KVM's nested VMX does not emulate wait-for-SIPI for its
//!   guests' guests): the state is kept by the host ([`ApState::WaitingForSipi`]) and the
//!   vCPU must not be entered ([`ApState::may_enter`] is false) until the hypervisor's
//!   emulated APIC sees a SIPI for it.
//!
//! In both cases the hypervisor calls [`Vcpu::start_at_sipi`] with the vector (from the
//! SIPI exit, or from its APIC emulation), so the same code serves both: on an INIT for a
//! vCPU call `receive_init`, on a SIPI call `start_at_sipi` when [`ApState::on_sipi`]
//! says to start, and enter the vCPU only while `may_enter` holds.

use vmx_defs::controls::{EntryControls, SecondaryProcBasedControls};
use vmx_defs::guest_state::{ActivityState, SegmentAccessRights};
use vmx_defs::vmcs::fields;

use crate::error::VmxError;
use crate::guest::{DescriptorTableRegister, GuestState, PAT_DEFAULT, Segment};
use crate::host::VmxHost;
use crate::regs::GuestRegisters;

use super::Vcpu;

/// IA32_PAT's MSR index.
const IA32_PAT: u32 = 0x277;

/// CR0.NW (bit 29) and CR0.CD (bit 30): kept by INIT (SDM Vol. 3A §10.1 Table 10-1).
pub const CR0_CD_NW: u64 = (1 << 29) | (1 << 30);

/// CR0 after power-up or reset: CD, NW and ET set (SDM Vol. 3A §10.1 Table 10-1).
pub const CR0_RESET: u64 = 0x6000_0010;

/// How a vCPU that received an INIT waits for its SIPI (see the [module
/// documentation](self); SDM Vol. 3C §25.4.2, Vol. 3D §A.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApWait {
    /// Entered in the wait-for-SIPI activity state: a physical SIPI causes a SIPI exit
    /// (SDM Vol. 3C §26.2).
    Hardware,
    /// Not entered: the host keeps the state until its emulated APIC sees a SIPI.
    Host,
}

/// Where an application processor's vCPU stands in the MP start-up protocol (SDM Vol. 3A
/// §10.4): the host-side state machine of [`Vcpu::receive_init`] and
/// [`Vcpu::start_at_sipi`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ApState {
    /// Running (or runnable) guest code: the state of a vCPU created with a start state,
    /// and after a SIPI.
    #[default]
    Running,
    /// Received an INIT and waits for a SIPI (SDM Vol. 3A §10.4.2), in the given way.
    WaitingForSipi(ApWait),
}

/// What a SIPI does to a vCPU in a given [`ApState`] (SDM Vol. 3A §10.4.2: a SIPI starts a
/// processor that waits for one and is ignored by any other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SipiAction {
    /// Start the vCPU at the vector ([`Vcpu::start_at_sipi`]).
    Start,
    /// Ignore the SIPI: the vCPU is not waiting for one.
    Ignore,
}

impl ApState {
    /// The state after an INIT: waiting for a SIPI in the way `wait` says, whatever the
    /// state before (an INIT resets a running processor, and restarts the wait of a
    /// waiting one; SDM Vol. 3A §10.4.2).
    pub const fn on_init(self, wait: ApWait) -> Self {
        Self::WaitingForSipi(wait)
    }

    /// What a SIPI does in this state (SDM Vol. 3A §10.4.2).
    pub const fn on_sipi(self) -> SipiAction {
        match self {
            Self::WaitingForSipi(_) => SipiAction::Start,
            Self::Running => SipiAction::Ignore,
        }
    }

    /// Whether the hypervisor may enter the vCPU: not while the host keeps it waiting for
    /// a SIPI ([`ApWait::Host`]); a vCPU waiting in hardware is entered (it waits in VMX
    /// non-root operation, SDM Vol. 3C §25.4.2).
    pub const fn may_enter(self) -> bool {
        !matches!(self, Self::WaitingForSipi(ApWait::Host))
    }

    /// Whether the vCPU waits for a SIPI (either way).
    ///
    /// SDM Vol. 3A §10.4.2.
    pub const fn waits_for_sipi(self) -> bool {
        matches!(self, Self::WaitingForSipi(_))
    }
}

/// The way to wait for a SIPI: `preferred`, unless it is [`ApWait::Hardware`] and the
/// processor's IA32_VMX_MISC (`vmx_misc`) lacks the wait-for-SIPI activity state (bit 8,
/// SDM Vol. 3D §A.6) or `unrestricted_guest` is false (the INIT state is real mode, which VM
/// entry accepts only for an unrestricted guest, Vol. 3C §27.3.1.1): then
/// [`ApWait::Host`].
pub const fn choose_ap_wait(preferred: ApWait, vmx_misc: u64, unrestricted_guest: bool) -> ApWait {
    match preferred {
        ApWait::Hardware
            if ActivityState::WAIT_FOR_SIPI.is_supported(vmx_misc) && unrestricted_guest =>
        {
            ApWait::Hardware
        }
        _ => ApWait::Host,
    }
}

/// The register state after INIT (SDM Vol. 3A §10.1 Table 10-1, INIT column): real mode at
/// F000:FFF0 with CS.base = FFFF0000H, data segments selector 0 / base 0 / limit FFFFH,
/// GDTR and IDTR base 0 limit FFFFH, CR0 = ET with CD and NW as `cr0_before` had them,
/// CR3 = CR4 = 0, IA32_EFER = 0, DR7 = 400H, RFLAGS = 2, IA32_PAT unchanged (`pat`).
///
/// LDTR and TR (Table 10-1: selector 0, base 0, limit FFFFH, present) carry the types VM
/// entry requires of them (an LDT, a busy 16-bit TSS; Vol. 3C §27.3.1.2).
pub const fn init_state(cr0_before: u64, pat: u64) -> GuestState {
    let data = Segment {
        selector: 0,
        base: 0,
        limit: 0xFFFF,
        access_rights: SegmentAccessRights::real_mode_data(),
    };
    GuestState {
        cr0: (cr0_before & CR0_CD_NW) | (1 << 4),
        cr3: 0,
        cr4: 0,
        efer: 0,
        pat,
        cs: Segment {
            selector: 0xF000,
            base: 0xFFFF_0000,
            limit: 0xFFFF,
            access_rights: SegmentAccessRights::real_mode_code(),
        },
        ss: data,
        ds: data,
        es: data,
        fs: data,
        gs: data,
        tr: Segment::reset_tr(),
        ldtr: Segment::reset_ldtr(),
        gdtr: DescriptorTableRegister {
            base: 0,
            limit: 0xFFFF,
        },
        idtr: DescriptorTableRegister {
            base: 0,
            limit: 0xFFFF,
        },
        rip: 0xFFF0,
        rsp: 0,
        rflags: 0x2,
        dr7: 0x400,
    }
}

/// The state a SIPI with `vector` gives a processor waiting for it (SDM Vol. 3A §10.4.4
/// and §10.4.2; Vol. 3C §28.2.1): the INIT state ([`init_state`]) with CS.selector =
/// `vector << 8`, CS.base = `vector << 12` and RIP = 0, so that execution starts in real
/// mode at physical address `vector << 12`.
pub const fn sipi_state(vector: u8, cr0_before: u64, pat: u64) -> GuestState {
    let mut s = init_state(cr0_before, pat);
    s.cs.selector = (vector as u16) << 8;
    s.cs.base = (vector as u64) << 12;
    s.rip = 0;
    s
}

/// The general-purpose registers after INIT (SDM Vol. 3A §10.1 Table 10-1): all zero but
/// EDX, which holds the processor signature (`signature`, the value of CPUID.01H:EAX:
/// type, family, model, stepping); CR2 = 0.
pub fn init_registers(signature: u32) -> GuestRegisters {
    GuestRegisters {
        rdx: u64::from(signature),
        ..GuestRegisters::default()
    }
}

/// Why [`Vcpu::start_at_sipi`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SipiError {
    /// The vCPU runs without "unrestricted guest", so it cannot be entered in the real-mode
    /// state a SIPI gives (SDM Vol. 3C §27.3.1.1; Vol. 3A §10.4.4).
    NeedsUnrestrictedGuest,
    /// A VMCS access or a guest-state write failed.
    Vmx(VmxError),
}

impl From<VmxError> for SipiError {
    fn from(e: VmxError) -> Self {
        Self::Vmx(e)
    }
}

impl core::fmt::Display for SipiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NeedsUnrestrictedGuest => f.write_str(
                "a SIPI starts the vCPU in real mode, which needs \"unrestricted guest\"",
            ),
            Self::Vmx(e) => write!(f, "starting the vCPU at the SIPI vector: {e}"),
        }
    }
}

impl core::error::Error for SipiError {}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// Where this vCPU stands in the MP start-up protocol (see the [module
    /// documentation](self)).
    pub fn ap_state(&self) -> ApState {
        self.ap
    }

    /// The vCPU's INIT: its registers reset to the INIT state ([`init_state`],
    /// [`init_registers`] with this processor's signature; pending events cleared, as a
    /// processor drops them at INIT), then waiting for a SIPI, in hardware where `preferred`
    /// is [`ApWait::Hardware`] and the processor supports it ([`choose_ap_wait`]), else on
    /// the host. Returns the way chosen. Call it on an INIT exit
    /// ([`VmExit::Init`](crate::VmExit::Init), SDM Vol. 3C §26.2) and when the hypervisor's
    /// APIC emulation delivers an INIT to this vCPU. The x87, SSE and AVX registers and the
    /// MSRs other than IA32_EFER are left as they are (Table 10-1 keeps most across INIT).
    ///
    /// Without "unrestricted guest" the real-mode INIT state cannot be entered: the vCPU
    /// then only drops its pending events and waits on the host ([`ApWait::Host`]), and
    /// [`Vcpu::start_at_sipi`] refuses to start it.
    pub fn receive_init(&mut self, preferred: ApWait) -> Result<ApWait, VmxError> {
        let ug = self
            .controls
            .secondary
            .contains(SecondaryProcBasedControls::UNRESTRICTED_GUEST);
        let misc = self.cpu.capabilities().misc().0;
        let wait = choose_ap_wait(preferred, misc, ug);
        if ug {
            let state = init_state(self.guest_cr0()?.bits(), self.current_pat()?);
            self.write_guest_state(&state)?;
            *self.regs_mut() = init_registers(crate::arch::cpuid(1, 0).eax);
        } else {
            self.clear_pending_events()?;
        }
        if wait == ApWait::Hardware {
            self.set_activity_state(ActivityState::WAIT_FOR_SIPI)?;
        }
        self.ap = self.ap.on_init(wait);
        Ok(wait)
    }

    /// Starts the vCPU at a SIPI's `vector` (SDM Vol. 3A §10.4.4; Vol. 3C §28.2.1): the
    /// state [`sipi_state`] gives (real mode at `vector << 8`:0, the rest as after INIT,
    /// pending events cleared), registers as [`init_registers`], activity state active,
    /// [`ApState::Running`]. The one call a hypervisor makes on a SIPI exit
    /// ([`VmExit::Sipi`](crate::VmExit::Sipi)) or when its APIC emulation delivers a SIPI
    /// to a vCPU waiting on the host.
    ///
    /// Needs "unrestricted guest" (real mode, Vol. 3C §27.3.1.1):
    /// [`SipiError::NeedsUnrestrictedGuest`] otherwise. Starting a vCPU that does not wait for a SIPI is allowed (the hypervisor
    /// decides; [`ApState::on_sipi`] tells what a processor would do).
    pub fn start_at_sipi(&mut self, vector: u8) -> Result<(), SipiError> {
        if !self
            .controls
            .secondary
            .contains(SecondaryProcBasedControls::UNRESTRICTED_GUEST)
        {
            return Err(SipiError::NeedsUnrestrictedGuest);
        }
        let cr0 = self.guest_cr0()?.bits();
        let pat = self.current_pat()?;
        self.write_guest_state(&sipi_state(vector, cr0, pat))?;
        *self.regs_mut() = init_registers(crate::arch::cpuid(1, 0).eax);
        self.ap = ApState::Running;
        Ok(())
    }

    /// The guest's IA32_PAT: the guest-state field where "load IA32_PAT" switches it, else
    /// its MSR-list entry (SDM Vol. 3C §25.4.1), else the power-up value.
    fn current_pat(&mut self) -> Result<u64, VmxError> {
        if self.controls.entry.contains(EntryControls::LOAD_IA32_PAT) {
            return self.read_field(fields::GUEST_IA32_PAT);
        }
        Ok(self.guest_msr(IA32_PAT).unwrap_or(PAT_DEFAULT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MISC_WFS: u64 = 1 << 8;

    #[test]
    fn init_state_follows_table_10_1() {
        let s = init_state(CR0_RESET | 1 | (1 << 31), PAT_DEFAULT);
        assert_eq!(s.cr0, CR0_RESET);
        assert_eq!(s.cs.selector, 0xF000);
        assert_eq!(s.cs.base, 0xFFFF_0000);
        assert_eq!(s.cs.limit, 0xFFFF);
        assert_eq!(s.rip, 0xFFF0);
        assert_eq!(s.rflags, 2);
        assert_eq!(s.dr7, 0x400);
        assert_eq!((s.cr3, s.cr4, s.efer), (0, 0, 0));
        for seg in [s.ss, s.ds, s.es, s.fs, s.gs] {
            assert_eq!((seg.selector, seg.base, seg.limit), (0, 0, 0xFFFF));
        }
        assert_eq!(s.idtr.limit, 0xFFFF);
        assert_eq!(s.gdtr.limit, 0xFFFF);
        assert!(s.needs_unrestricted_guest());
        assert!(!s.is_long_mode());
        // INIT keeps CD/NW: cleared ones stay cleared.
        assert_eq!(init_state(0x8000_0011, PAT_DEFAULT).cr0, 0x10);
    }

    #[test]
    fn sipi_vector_0x9a() {
        let s = sipi_state(0x9A, CR0_RESET, 0x1234);
        assert_eq!(s.cs.selector, 0x9A00);
        assert_eq!(s.cs.base, 0x9_A000);
        assert_eq!(s.rip, 0);
        assert_eq!(s.pat, 0x1234);
    }

    #[test]
    fn init_registers_hold_the_signature() {
        let r = init_registers(0x000A_0655);
        assert_eq!(r.rdx, 0x000A_0655);
        assert_eq!(
            (r.rax, r.rbx, r.rcx, r.rsi, r.rdi, r.rbp),
            (0, 0, 0, 0, 0, 0)
        );
        assert_eq!((r.r8, r.r15, r.cr2), (0, 0, 0));
    }

    #[test]
    fn state_machine() {
        let s = ApState::default();
        assert_eq!(s, ApState::Running);
        assert!(s.may_enter());
        assert_eq!(s.on_sipi(), SipiAction::Ignore);
        let h = s.on_init(ApWait::Host);
        assert!(!h.may_enter());
        assert!(h.waits_for_sipi());
        assert_eq!(h.on_sipi(), SipiAction::Start);
        let w = s.on_init(ApWait::Hardware);
        assert!(w.may_enter());
        assert_eq!(w.on_sipi(), SipiAction::Start);
        // A second INIT restarts the wait, in the way it says.
        assert_eq!(
            w.on_init(ApWait::Host),
            ApState::WaitingForSipi(ApWait::Host)
        );
    }

    #[test]
    fn choose_falls_back() {
        assert_eq!(
            choose_ap_wait(ApWait::Hardware, MISC_WFS, true),
            ApWait::Hardware
        );
        assert_eq!(choose_ap_wait(ApWait::Hardware, 0, true), ApWait::Host);
        assert_eq!(
            choose_ap_wait(ApWait::Hardware, MISC_WFS, false),
            ApWait::Host
        );
        assert_eq!(choose_ap_wait(ApWait::Host, MISC_WFS, true), ApWait::Host);
    }

    proptest! {
        #[test]
        fn sipi_state_is_init_state_but_cs_rip(v: u8, cr0: u64, pat: u64) {
            let i = init_state(cr0, pat);
            let s = sipi_state(v, cr0, pat);
            prop_assert_eq!(s.cs.selector, u16::from(v) << 8);
            prop_assert_eq!(s.cs.base, u64::from(v) << 12);
            prop_assert_eq!(s.cs.base, u64::from(s.cs.selector) << 4);
            prop_assert_eq!(s.rip, 0);
            prop_assert_eq!(s.cs.access_rights, i.cs.access_rights);
            prop_assert_eq!(s.cs.limit, i.cs.limit);
            let mut back = s;
            back.cs = i.cs;
            back.rip = i.rip;
            prop_assert_eq!(back, i);
            prop_assert_eq!(s.cr0 & !CR0_CD_NW, 0x10);
            prop_assert_eq!(s.cr0 & CR0_CD_NW, cr0 & CR0_CD_NW);
        }

        #[test]
        fn machine_total(hw: bool, steps in proptest::collection::vec(0u8..3, 0..20)) {
            // Model: a SIPI starts only a waiting vCPU; INIT always makes it wait; entering
            // is refused exactly while the host keeps it waiting.
            let wait = if hw { ApWait::Hardware } else { ApWait::Host };
            let mut s = ApState::default();
            let mut waiting = false;
            for step in steps {
                match step {
                    0 => { s = s.on_init(wait); waiting = true; }
                    1 => {
                        let a = s.on_sipi();
                        prop_assert_eq!(a == SipiAction::Start, waiting);
                        if a == SipiAction::Start { s = ApState::Running; waiting = false; }
                    }
                    _ => {}
                }
                prop_assert_eq!(s.waits_for_sipi(), waiting);
                prop_assert_eq!(s.may_enter(), !waiting || hw);
            }
        }
    }
}
