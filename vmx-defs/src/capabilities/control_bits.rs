//! The link between the control bit sets of [`crate::controls`] and their capability MSRs
//! (SDM Vol. 3D §A.3-§A.5).

use core::fmt;

use bitflags::Flags;

use super::control_kind::ControlKind;
use crate::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryExitControls, SecondaryProcBasedControls, TertiaryProcBasedControls,
};

/// A bitflags type for one VMX control field that has a capability MSR.
///
/// Implemented for the seven types of [`crate::controls`]; [`ControlBits::KIND`] tells which
/// field, and so how the capability MSR is laid out.
///
/// SDM Vol. 3D §A.3-§A.5.
pub trait ControlBits: Flags + Copy + Eq + fmt::Debug {
    /// The control field this type describes.
    const KIND: ControlKind;

    /// The value as a 64-bit integer (zero-extended for the 32-bit fields).
    fn to_raw(self) -> u64;

    /// The value from a 64-bit integer, keeping unknown bits; for the 32-bit fields bits
    /// 63:32 are dropped.
    fn from_raw(raw: u64) -> Self;
}

macro_rules! control_bits {
    ($t:ty, $kind:expr, $bits:ty) => {
        impl ControlBits for $t {
            const KIND: ControlKind = $kind;

            fn to_raw(self) -> u64 {
                u64::from(self.bits())
            }

            fn from_raw(raw: u64) -> Self {
                // Truncation to the field's width is the documented behaviour.
                Self::from_bits_retain(raw as $bits)
            }
        }
    };
}

control_bits!(PinBasedControls, ControlKind::PinBased, u32);
control_bits!(PrimaryProcBasedControls, ControlKind::PrimaryProcBased, u32);
control_bits!(
    SecondaryProcBasedControls,
    ControlKind::SecondaryProcBased,
    u32
);
control_bits!(
    TertiaryProcBasedControls,
    ControlKind::TertiaryProcBased,
    u64
);
control_bits!(PrimaryExitControls, ControlKind::PrimaryExit, u32);
control_bits!(SecondaryExitControls, ControlKind::SecondaryExit, u64);
control_bits!(EntryControls, ControlKind::Entry, u32);
