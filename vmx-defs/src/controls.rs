//! VMX control fields as bit sets: the VM-execution, VM-exit and VM-entry controls
//! (SDM Vol. 3C §25.6 "VM-Execution Control Fields", §25.7 "VM-Exit Control Fields",
//! §25.8 "VM-Entry Control Fields").
//!
//! One type per control register, each named flag as in the SDM tables (Tables 25-5 to
//! 25-8, 25-13, 25-14 and 25-16). The types keep every bit they are given, named or not,
//! because the capability MSRs (SDM Vol. 3D Appendix A) of a newer processor may report
//! controls this crate does not know. Each type has two constants:
//! `DEFAULT1` (the reserved bits that are one in the default setting, SDM Vol. 3D §A.2)
//! and `DEFINED` (the bits named here).

mod entry;
mod pin_based;
mod primary_exit;
mod primary_proc;
mod secondary_exit;
mod secondary_proc;
mod tertiary_proc;

pub use entry::EntryControls;
pub use pin_based::PinBasedControls;
pub use primary_exit::PrimaryExitControls;
pub use primary_proc::PrimaryProcBasedControls;
pub use secondary_exit::SecondaryExitControls;
pub use secondary_proc::SecondaryProcBasedControls;
pub use tertiary_proc::TertiaryProcBasedControls;
