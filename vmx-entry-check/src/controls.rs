//! Checks on the VMX control fields (SDM Vol. 3C §27.2.1): [`execution`] (§27.2.1.1),
//! [`exit`] (§27.2.1.2), [`entry`] (§27.2.1.3). Any failure: VMfailValid, error 7.

pub mod entry;
pub mod execution;
pub mod exit;

use crate::checker::Checker;

/// Every §27.2.1 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    execution::check_all(c);
    exit::check_all(c);
    entry::check_all(c);
}
