//! Checks on the guest non-register state (SDM Vol. 3C §27.3.1.5): activity state,
//! interruptibility state, pending debug exceptions, VMCS link pointer. A failure: VM-entry
//! failure, exit reason 33 (qualification 3 for an NMI injected under STI blocking, 4 for
//! the VMCS link pointer, else 0).

use vmx_defs::controls::{
    EntryControls as Entry, PinBasedControls as Pin, SecondaryProcBasedControls as Sec,
};
use vmx_defs::guest_state::ActivityState;
use vmx_defs::interruption::InterruptionType as T;
use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;

const STI: u64 = 1 << 0;
const MOV_SS: u64 = 1 << 1;
const SMI: u64 = 1 << 2;
const NMI: u64 = 1 << 3;
const ENCLAVE: u64 = 1 << 4;

/// SDM Vol. 3C §27.3.1.5: the activity state is 0-3 and supported (IA32_VMX_MISC bits
/// 8:6; active always is).
pub fn guest_activity_state(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_ACTIVITY_STATE);
    let misc = c.ctx().caps.misc().raw();
    if fv.value > 3 || !ActivityState::from_raw(fv.value as u32).is_supported(misc) {
        c.fail(C::GuestActivityState, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.5: the HLT activity state needs SS DPL 0.
pub fn guest_hlt_needs_ss_dpl0(c: &mut Checker<'_, '_>) {
    let state = c.fv(f::GUEST_ACTIVITY_STATE);
    let ss = c.fv(f::GUEST_SS_ACCESS_RIGHTS);
    if state.value == 1 && (ss.value >> 5) & 3 != 0 {
        c.fail(C::GuestHltWithSsDpl, &[state, ss]);
    }
}

/// SDM Vol. 3C §27.3.1.5: with blocking by STI or MOV SS, the activity state is active.
pub fn guest_activity_with_blocking(c: &mut Checker<'_, '_>) {
    let state = c.fv(f::GUEST_ACTIVITY_STATE);
    let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    if state.value != 0 && intr.value & (STI | MOV_SS) != 0 {
        c.fail(C::GuestActivityWithStiOrMovSsBlocking, &[state, intr]);
    }
}

/// SDM Vol. 3C §27.3.1.5: an injected event suits the activity state: in HLT, external
/// interrupts, NMIs, #DB, #MC and the pending MTF exit (other event, vector 0); in
/// shutdown, NMIs and #MC; in wait-for-SIPI, none.
pub fn guest_activity_event_injection(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    let state = c.fv(f::GUEST_ACTIVITY_STATE);
    let ty = info.interruption_type();
    let vector = info.vector().0;
    let ok = match state.value {
        1 => {
            matches!(ty, T::ExternalInterrupt | T::Nmi)
                || (ty == T::HardwareException && matches!(vector, 1 | 18))
                || (ty == T::OtherEvent && vector == 0)
        }
        2 => ty == T::Nmi || (ty == T::HardwareException && vector == 18),
        3 => false,
        _ => true,
    };
    if !ok {
        let i = c.fv(f::CTRL_VMENTRY_INTERRUPTION_INFO);
        c.fail(C::GuestActivityEventInjection, &[state, i]);
    }
}

/// SDM Vol. 3C §27.3.1.5: with "entry to SMM" 1, the activity state is not wait-for-SIPI.
pub fn guest_activity_entry_to_smm(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::ENTRY_TO_SMM) {
        let state = c.fv(f::GUEST_ACTIVITY_STATE);
        if state.value == 3 {
            c.fail(C::GuestActivityWaitForSipiWithEntryToSmm, &[state]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.5: interruptibility bits 31:5 are 0 (and bit 4 without SGX).
pub fn guest_interruptibility_reserved(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    let valid = if c.ctx().cpu.sgx { 0x1f } else { 0xf };
    if fv.value & !valid != 0 {
        c.fail(C::GuestInterruptibilityReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.5: blocking by STI and by MOV SS are not both 1.
pub fn guest_interruptibility_sti_and_mov_ss(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    if fv.value & (STI | MOV_SS) == STI | MOV_SS {
        c.fail(C::GuestInterruptibilityStiAndMovSs, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.5: blocking by STI is 0 when RFLAGS.IF is 0.
pub fn guest_interruptibility_sti_needs_if(c: &mut Checker<'_, '_>) {
    let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    let rflags = c.fv(f::GUEST_RFLAGS);
    if intr.value & STI != 0 && rflags.value & bits::RFLAGS_IF == 0 {
        c.fail(C::GuestInterruptibilityStiWithoutIf, &[intr, rflags]);
    }
}

/// SDM Vol. 3C §27.3.1.5: injecting an external interrupt needs no STI and no MOV-SS
/// blocking; injecting an NMI needs no MOV-SS blocking.
pub fn guest_interruptibility_event_blocked(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    let blocked = match info.interruption_type() {
        T::ExternalInterrupt => intr.value & (STI | MOV_SS) != 0,
        T::Nmi => intr.value & MOV_SS != 0,
        _ => false,
    };
    if blocked {
        let i = c.fv(f::CTRL_VMENTRY_INTERRUPTION_INFO);
        c.fail(C::GuestInterruptibilityEventBlocked, &[intr, i]);
    }
}

/// SDM Vol. 3C §27.3.1.5, §27.8: injecting an NMI needs no STI blocking (exit qualification
/// 3).
pub fn guest_nmi_injection_sti_blocking(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    if info.interruption_type() == T::Nmi && intr.value & STI != 0 {
        let i = c.fv(f::CTRL_VMENTRY_INTERRUPTION_INFO);
        c.fail(C::GuestNmiInjectionWithStiBlocking, &[intr, i]);
    }
}

/// SDM Vol. 3C §27.3.1.5: blocking by SMI is 0 outside SMM, and 1 with "entry to SMM" 1.
pub fn guest_interruptibility_smi(c: &mut Checker<'_, '_>) {
    let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    let smi = intr.value & SMI != 0;
    let entry_to_smm = c.entry().contains(Entry::ENTRY_TO_SMM);
    if (!c.ctx().in_smm && smi) || (entry_to_smm && !smi) {
        c.fail(C::GuestInterruptibilitySmi, &[intr]);
    }
}

/// SDM Vol. 3C §27.3.1.5: with "virtual NMIs" 1, injecting an NMI needs blocking by NMI 0.
pub fn guest_nmi_injection_virtual_nmi_blocking(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    if info.interruption_type() == T::Nmi && c.pin().contains(Pin::VIRTUAL_NMIS) {
        let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
        if intr.value & NMI != 0 {
            c.fail(C::GuestNmiInjectionWithVirtualNmiBlocking, &[intr]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.5: with enclave interruption (bit 4) 1, blocking by MOV SS is 0.
pub fn guest_enclave_interruption(c: &mut Checker<'_, '_>) {
    let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    if intr.value & ENCLAVE != 0 && intr.value & MOV_SS != 0 {
        c.fail(C::GuestEnclaveInterruptionWithMovSs, &[intr]);
    }
}

/// SDM Vol. 3C §27.3.1.5: pending debug exceptions bits 11:4, 13, 15, 63:17 are 0 (and 16
/// without RTM).
pub fn guest_pending_debug_reserved(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_PENDING_DEBUG_EXCEPTIONS);
    let mut valid = 0xf | 1 << 12 | 1 << 14;
    if c.ctx().cpu.rtm {
        valid |= 1 << 16;
    }
    if fv.value & !valid != 0 {
        c.fail(C::GuestPendingDebugReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.5: with STI or MOV-SS blocking or the HLT state, pending BS (bit 14)
/// is 1 if RFLAGS.TF is 1 and IA32_DEBUGCTL.BTF 0, and 0 if TF is 0 or BTF is 1.
pub fn guest_pending_debug_bs(c: &mut Checker<'_, '_>) {
    let intr = c.get(f::GUEST_INTERRUPTIBILITY_STATE);
    let state = c.get(f::GUEST_ACTIVITY_STATE);
    if intr & (STI | MOV_SS) == 0 && state != 1 {
        return;
    }
    let pending = c.fv(f::GUEST_PENDING_DEBUG_EXCEPTIONS);
    let rflags = c.fv(f::GUEST_RFLAGS);
    let debugctl = c.fv(f::GUEST_IA32_DEBUGCTL);
    let bs = pending.value & 1 << 14 != 0;
    let want = rflags.value & bits::RFLAGS_TF != 0 && debugctl.value & bits::DEBUGCTL_BTF == 0;
    if bs != want {
        c.fail(C::GuestPendingDebugBs, &[pending, rflags, debugctl]);
    }
}

/// SDM Vol. 3C §27.3.1.5: with pending RTM (bit 16) 1, bits 11:0 and 14 are 0, bit 12 is 1,
/// and blocking by MOV SS is 0.
pub fn guest_pending_debug_rtm(c: &mut Checker<'_, '_>) {
    let pending = c.fv(f::GUEST_PENDING_DEBUG_EXCEPTIONS);
    if pending.value & 1 << 16 == 0 {
        return;
    }
    let intr = c.fv(f::GUEST_INTERRUPTIBILITY_STATE);
    if pending.value & (0xfff | 1 << 14) != 0
        || pending.value & 1 << 12 == 0
        || intr.value & MOV_SS != 0
    {
        c.fail(C::GuestPendingDebugRtm, &[pending, intr]);
    }
}

/// SDM Vol. 3C §27.3.1.5: a VMCS link pointer other than all ones is 4-KByte aligned,
/// within the physical-address width, not the current VMCS, and (when the context carries
/// it) references a VMCS with this processor's revision whose shadow bit equals "VMCS
/// shadowing" (exit qualification 4).
pub fn guest_vmcs_link_pointer(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_VMCS_LINK_POINTER);
    if fv.value == u64::MAX {
        return;
    }
    let width = c.ctx().structure_width();
    let mut bad = fv.value & 0xfff != 0 || !bits::within(fv.value, width);
    let entry_to_smm = c.entry().contains(Entry::ENTRY_TO_SMM);
    if (!c.ctx().in_smm || entry_to_smm) && c.ctx().current_vmcs == Some(fv.value) {
        bad = true;
    }
    if let Some(header) = c.ctx().link_vmcs_header {
        let shadowing = c.secondary().contains(Sec::VMCS_SHADOWING);
        let revision = c.ctx().caps.basic().revision_id();
        if header & 0x7fff_ffff != revision || (header >> 31 != 0) != shadowing {
            bad = true;
        }
    }
    if bad {
        c.fail(C::GuestVmcsLinkPointer, &[fv]);
    }
}

/// Every §27.3.1.5 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    guest_activity_state(c);
    guest_hlt_needs_ss_dpl0(c);
    guest_activity_with_blocking(c);
    guest_activity_event_injection(c);
    guest_activity_entry_to_smm(c);
    guest_interruptibility_reserved(c);
    guest_interruptibility_sti_and_mov_ss(c);
    guest_interruptibility_sti_needs_if(c);
    guest_interruptibility_event_blocked(c);
    guest_nmi_injection_sti_blocking(c);
    guest_interruptibility_smi(c);
    guest_nmi_injection_virtual_nmi_blocking(c);
    guest_enclave_interruption(c);
    guest_pending_debug_reserved(c);
    guest_pending_debug_bs(c);
    guest_pending_debug_rtm(c);
    guest_vmcs_link_pointer(c);
}
