//! Checks on the guest descriptor-table registers (SDM Vol. 3C §27.3.1.3). A failure:
//! VM-entry failure, exit reason 33, qualification 0.

use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// SDM Vol. 3C §27.3.1.3: the guest GDTR and IDTR bases are canonical.
pub fn guest_descriptor_table_bases_canonical(c: &mut Checker<'_, '_>) {
    let width = c.ctx().linear_width();
    for field in [f::GUEST_GDTR_BASE, f::GUEST_IDTR_BASE] {
        let fv = c.fv(field);
        if !bits::is_canonical(fv.value, width) {
            c.fail(C::GuestDescriptorTableBaseCanonical, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.3: bits 31:16 of the guest GDTR and IDTR limits are 0.
pub fn guest_descriptor_table_limits(c: &mut Checker<'_, '_>) {
    for field in [f::GUEST_GDTR_LIMIT, f::GUEST_IDTR_LIMIT] {
        let fv = c.fv(field);
        if fv.value >> 16 != 0 {
            c.fail(C::GuestDescriptorTableLimit, &[fv]);
        }
    }
}

/// Every §27.3.1.3 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    guest_descriptor_table_bases_canonical(c);
    guest_descriptor_table_limits(c);
}
