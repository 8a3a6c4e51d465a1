//! VM-instruction error numbers (SDM Vol. 3C §31.4, "VM Instruction Error Numbers").
//!
//! When a VMX instruction fails with VMfailValid (RFLAGS.ZF = 1), the processor stores an
//! error number in the read-only VMCS field "VM-instruction error" (encoding 0x4400,
//! SDM Vol. 3C §25.9.5). [`VmInstructionError`] names those numbers.

use core::fmt;

/// A VM-instruction error number (SDM Vol. 3C §31.4, Table 31-1).
///
/// Open: every `u32` is representable, so a number a newer processor reports decodes
/// without loss; [`VmInstructionError::description`] returns `None` for numbers the SDM
/// reserves (14, 21, 27) or does not define.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmInstructionError(pub u32);

macro_rules! instruction_errors {
    ($($name:ident = $num:literal, $desc:literal;)*) => {
        impl VmInstructionError {
            $(
                #[doc = concat!("Error ", stringify!($num), ": ", $desc, " (SDM Vol. 3C §31.4).")]
                pub const $name: Self = Self($num);
            )*

            /// Every error number the SDM defines, in ascending order (reserved numbers
            /// excluded).
            pub const ALL: &'static [Self] = &[$(Self::$name),*];

            /// The SDM's description of this error (SDM Vol. 3C §31.4, Table 31-1), or
            /// `None` for a reserved or unknown number.
            pub const fn description(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some($desc),)*
                    _ => None,
                }
            }

            /// The name of the associated constant (e.g. `"VMCALL_IN_VMX_ROOT"`), or `None`
            /// for a reserved or unknown number.
            ///
            /// SDM Vol. 3C §31.4.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

instruction_errors! {
    VMCALL_IN_VMX_ROOT = 1, "VMCALL executed in VMX root operation";
    VMCLEAR_INVALID_ADDRESS = 2, "VMCLEAR with invalid physical address";
    VMCLEAR_VMXON_POINTER = 3, "VMCLEAR with VMXON pointer";
    VMLAUNCH_NONCLEAR_VMCS = 4, "VMLAUNCH with non-clear VMCS";
    VMRESUME_NONLAUNCHED_VMCS = 5, "VMRESUME with non-launched VMCS";
    VMRESUME_AFTER_VMXOFF = 6, "VMRESUME after VMXOFF (VMXOFF and VMXON between VMLAUNCH and VMRESUME)";
    ENTRY_INVALID_CONTROL_FIELDS = 7, "VM entry with invalid control field(s)";
    ENTRY_INVALID_HOST_STATE = 8, "VM entry with invalid host-state field(s)";
    VMPTRLD_INVALID_ADDRESS = 9, "VMPTRLD with invalid physical address";
    VMPTRLD_VMXON_POINTER = 10, "VMPTRLD with VMXON pointer";
    VMPTRLD_INCORRECT_REVISION = 11, "VMPTRLD with incorrect VMCS revision identifier";
    UNSUPPORTED_VMCS_COMPONENT = 12, "VMREAD/VMWRITE from/to unsupported VMCS component";
    VMWRITE_READ_ONLY_COMPONENT = 13, "VMWRITE to read-only VMCS component";
    VMXON_IN_VMX_ROOT = 15, "VMXON executed in VMX root operation";
    ENTRY_INVALID_EXECUTIVE_VMCS_POINTER = 16, "VM entry with invalid executive-VMCS pointer";
    ENTRY_NONLAUNCHED_EXECUTIVE_VMCS = 17, "VM entry with non-launched executive VMCS";
    ENTRY_EXECUTIVE_VMCS_NOT_VMXON_POINTER = 18, "VM entry with executive-VMCS pointer not VMXON pointer (when attempting to deactivate the dual-monitor treatment of SMIs and SMM)";
    VMCALL_NONCLEAR_VMCS = 19, "VMCALL with non-clear VMCS (when attempting to activate the dual-monitor treatment of SMIs and SMM)";
    VMCALL_INVALID_EXIT_CONTROL_FIELDS = 20, "VMCALL with invalid VM-exit control fields";
    VMCALL_INCORRECT_MSEG_REVISION = 22, "VMCALL with incorrect MSEG revision identifier (when attempting to activate the dual-monitor treatment of SMIs and SMM)";
    VMXOFF_UNDER_DUAL_MONITOR = 23, "VMXOFF under dual-monitor treatment of SMIs and SMM";
    VMCALL_INVALID_SMM_MONITOR_FEATURES = 24, "VMCALL with invalid SMM-monitor features (when attempting to activate the dual-monitor treatment of SMIs and SMM)";
    ENTRY_INVALID_EXECUTIVE_VMCS_CONTROLS = 25, "VM entry with invalid VM-execution control fields in executive VMCS (when attempting to return from SMM)";
    ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26, "VM entry with events blocked by MOV SS";
    INVALID_INVEPT_INVVPID_OPERAND = 28, "Invalid operand to INVEPT/INVVPID";
}

impl VmInstructionError {
    /// Wraps the error number, reserved ones included (total: every value is kept exactly; the same as `From<u32>`).
    ///
    /// SDM Vol. 3C §31.4.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw value (the error number, reserved ones included).
    ///
    /// SDM Vol. 3C §31.4.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The raw error number as read from the VM-instruction error field.
    ///
    /// SDM Vol. 3C §31.4.
    pub const fn number(self) -> u32 {
        self.0
    }

    /// Whether the SDM defines this number (reserved and unknown numbers are not defined).
    pub const fn is_defined(self) -> bool {
        self.description().is_some()
    }
}

impl From<u32> for VmInstructionError {
    fn from(raw: u32) -> Self {
        Self(raw)
    }
}

impl From<VmInstructionError> for u32 {
    fn from(err: VmInstructionError) -> Self {
        err.0
    }
}

impl fmt::Debug for VmInstructionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "VmInstructionError::{name}({})", self.0),
            None => write!(f, "VmInstructionError({})", self.0),
        }
    }
}

impl fmt::Display for VmInstructionError {
    /// `"VM-instruction error 12: VMREAD/VMWRITE from/to unsupported VMCS component"`, or
    /// `"reserved VM-instruction error 14"` for a number the SDM does not define.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Some(desc) => write!(f, "VM-instruction error {}: {desc}", self.0),
            None => write!(f, "reserved VM-instruction error {}", self.0),
        }
    }
}

impl core::error::Error for VmInstructionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_sorted_and_defined() {
        let mut prev = 0;
        for e in VmInstructionError::ALL {
            assert!(e.number() > prev);
            assert!(e.is_defined());
            prev = e.number();
        }
        assert_eq!(VmInstructionError::ALL.len(), 25);
    }

    #[test]
    fn reserved_numbers_have_no_text() {
        for n in [0, 14, 21, 27, 29, u32::MAX] {
            assert_eq!(VmInstructionError(n).description(), None);
            assert_eq!(VmInstructionError(n).name(), None);
        }
    }
}
