//! Checks on the host-state area (SDM Vol. 3C §27.2.2-§27.2.4): [`control_registers`]
//! (§27.2.2 control registers and MSRs), [`segments`] (§27.2.3 segment and
//! descriptor-table registers), [`address_space`] (§27.2.4 address-space size). Any
//! failure: VMfailValid, error 8.

pub mod address_space;
pub mod control_registers;
pub mod segments;

use crate::checker::Checker;

/// Every §27.2.2-§27.2.4 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    control_registers::check_all(c);
    segments::check_all(c);
    address_space::check_all(c);
}
