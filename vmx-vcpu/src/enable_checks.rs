//! Pure decisions behind enabling VMX on a CPU (SDM Vol. 3C §24.7, "Enabling and Entering VMX
//! Operation"; §24.8, "Restrictions on VMX Operation"; Vol. 4 IA32_FEATURE_CONTROL).
//!
//! Kept free of hardware access so that they can be tested on the host; [`crate::VmxCpu`]
//! applies them.

use core::fmt;

/// IA32_FEATURE_CONTROL (MSR 3AH) bit 0: lock.
pub const FEATURE_CONTROL_LOCK: u64 = 1 << 0;
/// IA32_FEATURE_CONTROL bit 1: enable VMXON inside SMX operation.
pub const FEATURE_CONTROL_VMX_INSIDE_SMX: u64 = 1 << 1;
/// IA32_FEATURE_CONTROL bit 2: enable VMXON outside SMX operation.
pub const FEATURE_CONTROL_VMX_OUTSIDE_SMX: u64 = 1 << 2;

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

/// Decides how to make VMXON legal from the current IA32_FEATURE_CONTROL value.
pub const fn plan_feature_control(
    value: u64,
) -> Result<FeatureControlAction, FeatureControlLocked> {
    if value & FEATURE_CONTROL_LOCK != 0 {
        if value & FEATURE_CONTROL_VMX_OUTSIDE_SMX != 0 {
            Ok(FeatureControlAction::AlreadyEnabled)
        } else {
            Err(FeatureControlLocked { value })
        }
    } else {
        Ok(FeatureControlAction::Write(
            value | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX,
        ))
    }
}

/// A control register named in an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRegister {
    /// CR0.
    Cr0,
    /// CR4.
    Cr4,
}

impl fmt::Display for ControlRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cr0 => "CR0",
            Self::Cr4 => "CR4",
        })
    }
}

/// A CR0/CR4 bit that VMX operation fixes to a value the current setting cannot be
/// adjusted to (SDM §24.8, IA32_VMX_CR0_FIXED0/1, IA32_VMX_CR4_FIXED0/1; Vol. 3D §A.7-A.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedBitConflict {
    /// The register.
    pub register: ControlRegister,
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
            self.register,
            self.bit,
            u8::from(self.required)
        )
    }
}

/// Adjusts `value` to the fixed bits: sets the must-be-1 bits that appear in `settable`,
/// and fails on the first must-be-1 bit that is clear and not settable, or must-be-0 bit
/// that is set (bits set in FIXED0 must be 1; bits clear in FIXED1 must be 0).
pub fn adjust_to_fixed(
    register: ControlRegister,
    value: u64,
    fixed0: u64,
    fixed1: u64,
    settable: u64,
) -> Result<u64, FixedBitConflict> {
    let adjusted = value | (fixed0 & settable);
    let missing = fixed0 & !adjusted;
    if missing != 0 {
        return Err(FixedBitConflict {
            register,
            bit: missing.trailing_zeros() as u8,
            required: true,
        });
    }
    let forbidden = adjusted & !fixed1;
    if forbidden != 0 {
        return Err(FixedBitConflict {
            register,
            bit: forbidden.trailing_zeros() as u8,
            required: false,
        });
    }
    Ok(adjusted)
}

/// CR0.NE (bit 5): the only CR0 bit enabling code sets by itself.
pub const CR0_NE: u64 = 1 << 5;
/// CR4.VMXE (bit 13): set by enabling code, cleared again on disable.
pub const CR4_VMXE: u64 = 1 << 13;
