//! Checks on the guest-state area (SDM Vol. 3C §27.3.1): [`control_registers`]
//! (§27.3.1.1), [`segments`] (§27.3.1.2), [`descriptor_tables`] (§27.3.1.3),
//! [`rip_rflags`] (§27.3.1.4), [`non_register`] (§27.3.1.5), [`pdptes`] (§27.3.1.6). Any
//! failure: VM-entry failure, basic exit reason 33.

pub mod control_registers;
pub mod descriptor_tables;
pub mod non_register;
pub mod pdptes;
pub mod rip_rflags;
pub mod segments;

use crate::checker::Checker;

/// Every §27.3.1 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    control_registers::check_all(c);
    segments::check_all(c);
    descriptor_tables::check_all(c);
    rip_rflags::check_all(c);
    non_register::check_all(c);
    pdptes::check_all(c);
}
