//! Guest-state area encodings (SDM Vol. 3C §25.4 "Guest-State Area").
//!
//! - [`SegmentAccessRights`]: the access-rights fields of the guest segment registers
//!   (§25.4.1, Table 25-2).
//! - [`ActivityState`], [`Interruptibility`], [`PendingDebugExceptions`]: the
//!   non-register state (§25.4.2, Table 25-3).

mod activity;
mod interruptibility;
mod pending_debug;
mod segment;

pub use activity::ActivityState;
pub use interruptibility::Interruptibility;
pub use pending_debug::PendingDebugExceptions;
pub use segment::{PrivilegeLevel, SegmentAccessRights};
