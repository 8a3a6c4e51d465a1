//! Checks on the guest RIP and RFLAGS (SDM Vol. 3C §27.3.1.4). A failure: VM-entry
//! failure, exit reason 33, qualification 0.

use vmx_defs::interruption::InterruptionType;
use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// Whether the guest will run 64-bit code: "IA-32e mode guest" 1 and CS.L 1.
fn long_mode_code(c: &mut Checker<'_, '_>) -> bool {
    c.ia32e_guest() && c.get(f::GUEST_CS_ACCESS_RIGHTS) & 1 << 13 != 0
}

/// SDM Vol. 3C §27.3.1.4: with "IA-32e mode guest" 0 or CS.L 0, bits 63:32 of RIP are 0.
pub fn guest_rip_high(c: &mut Checker<'_, '_>) {
    if !long_mode_code(c) {
        let fv = c.fv(f::GUEST_RIP);
        if fv.value >> 32 != 0 {
            c.fail(C::GuestRipHigh, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.4: with "IA-32e mode guest" 1 and CS.L 1, RIP is canonical (57-bit
/// with guest CR4.LA57 1).
pub fn guest_rip_canonical(c: &mut Checker<'_, '_>) {
    if long_mode_code(c) {
        let width = if c.get(f::GUEST_CR4) & bits::CR4_LA57 != 0 {
            57
        } else {
            48
        };
        let fv = c.fv(f::GUEST_RIP);
        if !bits::is_canonical(fv.value, width) {
            c.fail(C::GuestRipCanonical, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.4: RFLAGS bits 63:22, 15, 5, 3 are 0 and bit 1 is 1.
pub fn guest_rflags_reserved(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_RFLAGS);
    if fv.value & bits::RFLAGS_RESERVED != 0 || fv.value & bits::RFLAGS_FIXED1 == 0 {
        c.fail(C::GuestRflagsReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.4: with "IA-32e mode guest" 1 or CR0.PE 0, RFLAGS.VM is 0.
pub fn guest_rflags_vm(c: &mut Checker<'_, '_>) {
    let rflags = c.fv(f::GUEST_RFLAGS);
    let cr0 = c.fv(f::GUEST_CR0);
    if rflags.value & bits::RFLAGS_VM != 0 && (c.ia32e_guest() || cr0.value & bits::CR0_PE == 0) {
        c.fail(C::GuestRflagsVm, &[rflags, cr0]);
    }
}

/// SDM Vol. 3C §27.3.1.4: when an external interrupt is injected, RFLAGS.IF is 1.
pub fn guest_rflags_if_for_external_interrupt(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    if info.interruption_type() == InterruptionType::ExternalInterrupt {
        let fv = c.fv(f::GUEST_RFLAGS);
        if fv.value & bits::RFLAGS_IF == 0 {
            c.fail(C::GuestRflagsIfForExternalInterrupt, &[fv]);
        }
    }
}

/// Every §27.3.1.4 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    guest_rip_high(c);
    guest_rip_canonical(c);
    guest_rflags_reserved(c);
    guest_rflags_vm(c);
    guest_rflags_if_for_external_interrupt(c);
}
