//! Pure decisions behind enabling VMX on a CPU (SDM Vol. 3C §24.7, "Enabling and Entering VMX
//! Operation"; §24.8, "Restrictions on VMX Operation"; Vol. 4 IA32_FEATURE_CONTROL).
//!
//! Kept free of hardware access so that they can be tested on the host; [`crate::VmxCpu`]
//! applies them.

use core::fmt;

pub use vmx_defs::capabilities::{CR0_NE, CR4_VMXE, FixedRegister};
use vmx_defs::capabilities::{FeatureControl, FixedBits};

/// What to do with IA32_FEATURE_CONTROL before VMXON (SDM §24.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureControlAction {
    /// Locked with VMXON outside SMX allowed (the Bochs BIOS leaves 0x5): nothing to write.
    AlreadyEnabled,
    /// Unlocked (e.g. OVMF or no firmware leaves 0): write this value, which sets the lock
    /// bit and "VMXON outside SMX" and keeps the other bits.
    Write(u64),
}

/// IA32_FEATURE_CONTROL is locked with "VMXON outside SMX" clear: firmware disabled VMX
/// and only a reset can change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureControlLocked {
    /// The MSR value read.
    pub value: u64,
}

/// Decides how to make VMXON legal from the current IA32_FEATURE_CONTROL value (outside
/// SMX operation, through vmx-defs' [`FeatureControl`]).
pub const fn plan_feature_control(
    value: u64,
) -> Result<FeatureControlAction, FeatureControlLocked> {
    let fc = FeatureControl::from_bits_retain(value);
    if fc.vmx_allowed(false) {
        Ok(FeatureControlAction::AlreadyEnabled)
    } else if fc.is_locked() {
        Err(FeatureControlLocked { value })
    } else {
        Ok(FeatureControlAction::Write(
            fc.with_vmx_enabled(false).bits(),
        ))
    }
}

/// A CR0/CR4 bit that VMX operation fixes to a value the current setting cannot be
/// adjusted to (SDM §24.8, IA32_VMX_CR0_FIXED0/1, IA32_VMX_CR4_FIXED0/1; Vol. 3D §A.7-A.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedBitConflict {
    /// The register.
    pub register: FixedRegister,
    /// The bit number.
    pub bit: u8,
    /// The value VMX operation requires for the bit.
    pub required: bool,
}

impl fmt::Display for FixedBitConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bit {} must be {} in VMX operation and cannot be changed here",
            self.register.name(),
            self.bit,
            u8::from(self.required)
        )
    }
}

/// Adjusts `value` to the fixed bits: sets the must-be-1 bits that appear in `settable`,
/// and fails on the first must-be-1 bit that is still clear, or must-be-0 bit that is set
/// (bits set in FIXED0 must be 1; bits clear in FIXED1 must be 0), checked by vmx-defs'
/// [`FixedBits::check`].
pub fn adjust_to_fixed(
    fixed: FixedBits,
    value: u64,
    settable: u64,
) -> Result<u64, FixedBitConflict> {
    let adjusted = value | (fixed.must_be_one() & settable);
    match fixed.check(adjusted) {
        Ok(()) => Ok(adjusted),
        Err(e) => {
            let (bits, required) = if e.missing_ones != 0 {
                (e.missing_ones, true)
            } else {
                (e.forbidden_ones, false)
            };
            Err(FixedBitConflict {
                register: fixed.register(),
                bit: bits.trailing_zeros() as u8,
                required,
            })
        }
    }
}
