//! The crate's error type: VMfail outcomes (SDM Vol. 3C §31.2, §31.4) and the checks this
//! crate makes in software before executing an instruction.

use core::fmt;

use axerrno::AxErrorKind;
use vmx_defs::addr::HostPhysAddr;
use vmx_defs::ept::EptpError;
use vmx_defs::instruction_error::VmInstructionError;

use crate::status::VmFailKind;

/// A VMX instruction failed as described in SDM Vol. 3C §31.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmFail {
    /// VMfailInvalid (RFLAGS.CF = 1): no current VMCS, so no error number exists.
    Invalid,
    /// VMfailValid (RFLAGS.ZF = 1) with the number the processor stored in the
    /// VM-instruction error field (SDM Vol. 3C §31.4).
    ///
    /// If that field itself could not be read the number is 0, which the SDM never
    /// assigns (Table 31-1 starts at 1).
    Valid(VmInstructionError),
}

impl VmFail {
    /// The flag-level kind of this failure.
    pub const fn kind(self) -> VmFailKind {
        match self {
            Self::Invalid => VmFailKind::Invalid,
            Self::Valid(_) => VmFailKind::Valid,
        }
    }

    /// The VM-instruction error number, for VMfailValid.
    pub const fn instruction_error(self) -> Option<VmInstructionError> {
        match self {
            Self::Invalid => None,
            Self::Valid(err) => Some(err),
        }
    }
}

impl fmt::Display for VmFail {
    /// `"VMfailInvalid"` or `"VMfailValid (VM-instruction error 12: ...)"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("VMfailInvalid"),
            Self::Valid(err) => write!(f, "VMfailValid ({err})"),
        }
    }
}

/// Everything a wrapper in this crate can report.
///
/// [`InsnError::VmFail`] is the processor's answer; every other variant is a check this
/// crate made in software *before* executing the instruction, so the processor state is
/// unchanged when one of them is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsnError {
    /// The instruction executed and failed (SDM Vol. 3C §31.2).
    VmFail(VmFail),
    /// A VMXON region or VMCS address is not 4-KByte aligned (SDM Vol. 3C §31.3,
    /// VMXON/VMCLEAR/VMPTRLD operation).
    Misaligned {
        /// The rejected host-physical address.
        addr: HostPhysAddr,
    },
    /// A physical address sets bits at or beyond the processor's physical-address width
    /// (SDM Vol. 3C §31.3; the width is CPUID.80000008H:EAX\[7:0\], SDM Vol. 3A §4.1.4).
    AddressTooWide {
        /// The rejected host-physical address.
        addr: HostPhysAddr,
        /// The physical-address width, in bits, that the address exceeds.
        width: u8,
    },
    /// A physical-address width outside 1..=52 bits was given (SDM Vol. 3A §4.1.4: 52 is
    /// the architectural maximum MAXPHYADDR).
    InvalidAddressWidth {
        /// The rejected width in bits.
        width: u8,
    },
    /// An INVEPT type this processor does not report in IA32_VMX_EPT_VPID_CAP (bit 20
    /// INVEPT, bits 25/26 the types; SDM Vol. 3D §A.10). The processor would answer
    /// VMfailValid 28 (SDM Vol. 3C §31.3 "INVEPT").
    UnsupportedInveptType {
        /// The rejected type value (1 single-context, 2 all-context).
        ty: u64,
    },
    /// An INVVPID type this processor does not report in IA32_VMX_EPT_VPID_CAP (bit 32
    /// INVVPID, bits 40-43 the types; SDM Vol. 3D §A.10). The processor would answer
    /// VMfailValid 28 (SDM Vol. 3C §31.3 "INVVPID").
    UnsupportedInvvpidType {
        /// The rejected type value (0 to 3).
        ty: u64,
    },
    /// A single-context INVEPT whose EPTP fails the EPTP checks (SDM Vol. 3C §27.2.1.1;
    /// the processor would answer VMfailValid 28, §31.3 "INVEPT").
    InvalidEptp {
        /// The rejected EPTP.
        eptp: u64,
        /// What is wrong with it.
        reason: EptpError,
    },
    /// An INVVPID descriptor with VPID 0 for a type other than all-context (SDM Vol. 3C
    /// §31.3 "INVVPID": VMfailValid 28 on the processor).
    ZeroVpid {
        /// The INVVPID type that was requested.
        ty: u64,
    },
    /// An individual-address INVVPID with a non-canonical linear address (SDM Vol. 3C
    /// §31.3 "INVVPID").
    NonCanonicalAddress {
        /// The rejected linear address.
        addr: u64,
    },
}

impl From<VmFail> for InsnError {
    fn from(fail: VmFail) -> Self {
        Self::VmFail(fail)
    }
}

impl InsnError {
    /// The processor's VM-instruction error number, if this is a VMfailValid.
    pub const fn instruction_error(self) -> Option<VmInstructionError> {
        match self {
            Self::VmFail(fail) => fail.instruction_error(),
            _ => None,
        }
    }

    /// Whether this error was found in software, without executing any instruction.
    pub const fn is_software_check(self) -> bool {
        !matches!(self, Self::VmFail(_))
    }
}

impl fmt::Display for InsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::VmFail(fail) => fmt::Display::fmt(&fail, f),
            Self::Misaligned { addr } => {
                write!(f, "physical address {addr:#x} is not 4-KByte aligned")
            }
            Self::AddressTooWide { addr, width } => write!(
                f,
                "physical address {addr:#x} exceeds the {width}-bit physical-address width"
            ),
            Self::InvalidAddressWidth { width } => write!(
                f,
                "physical-address width of {width} bits is outside 1..=52"
            ),
            Self::UnsupportedInveptType { ty } => {
                write!(f, "INVEPT type {ty} is not supported by this processor")
            }
            Self::UnsupportedInvvpidType { ty } => {
                write!(f, "INVVPID type {ty} is not supported by this processor")
            }
            Self::InvalidEptp { eptp, reason } => {
                write!(f, "EPTP {eptp:#x} is invalid: {reason}")
            }
            Self::ZeroVpid { ty } => write!(f, "INVVPID type {ty} needs a VPID other than 0"),
            Self::NonCanonicalAddress { addr } => {
                write!(f, "linear address {addr:#x} is not canonical")
            }
        }
    }
}

impl core::error::Error for InsnError {}
impl core::error::Error for VmFail {}

/// Maps a VM-instruction error number to an [`AxErrorKind`].
///
/// | numbers (SDM Vol. 3C §31.4) | kind |
/// |---|---|
/// | 2, 3, 7, 8, 9, 10, 28 (bad address, VMXON pointer, invalid fields, invalid operand) | `InvalidInput` |
/// | 11 (incorrect VMCS revision identifier) | `InvalidData` |
/// | 12 (unsupported VMCS component) | `Unsupported` |
/// | 13 (VMWRITE to a read-only component) | `PermissionDenied` |
/// | 15 (VMXON in VMX root operation) | `AlreadyExists` |
/// | 1, 4, 5, 6, 16-26 and any other number (wrong mode or launch state, SMM monitor) | `BadState` |
pub const fn instruction_error_kind(err: VmInstructionError) -> AxErrorKind {
    match err.number() {
        2 | 3 | 7 | 8 | 9 | 10 | 28 => AxErrorKind::InvalidInput,
        11 => AxErrorKind::InvalidData,
        12 => AxErrorKind::Unsupported,
        13 => AxErrorKind::PermissionDenied,
        15 => AxErrorKind::AlreadyExists,
        _ => AxErrorKind::BadState,
    }
}

impl From<VmFail> for AxErrorKind {
    /// VMfailInvalid is `BadState` (no valid current VMCS); VMfailValid follows
    /// [`instruction_error_kind`].
    fn from(fail: VmFail) -> Self {
        match fail {
            VmFail::Invalid => AxErrorKind::BadState,
            VmFail::Valid(err) => instruction_error_kind(err),
        }
    }
}

impl From<InsnError> for AxErrorKind {
    /// [`InsnError::VmFail`] follows `From<VmFail>`; an address beyond the
    /// physical-address width is `BadAddress`; every other software check (alignment,
    /// width, unsupported type, invalid EPTP, VPID 0, non-canonical address) is
    /// `InvalidInput`.
    ///
    /// `axerrno::AxError` gets `From<InsnError>` and `From<VmFail>` through this impl.
    fn from(err: InsnError) -> Self {
        match err {
            InsnError::VmFail(fail) => fail.into(),
            InsnError::AddressTooWide { .. } => AxErrorKind::BadAddress,
            InsnError::Misaligned { .. }
            | InsnError::InvalidAddressWidth { .. }
            | InsnError::UnsupportedInveptType { .. }
            | InsnError::UnsupportedInvvpidType { .. }
            | InsnError::ZeroVpid { .. }
            | InsnError::InvalidEptp { .. }
            | InsnError::NonCanonicalAddress { .. } => AxErrorKind::InvalidInput,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use axerrno::AxError;

    use super::*;

    #[test]
    fn vmfail_display() {
        assert_eq!(VmFail::Invalid.to_string(), "VMfailInvalid");
        assert_eq!(
            VmFail::Valid(VmInstructionError::VMXON_IN_VMX_ROOT).to_string(),
            "VMfailValid (VM-instruction error 15: VMXON executed in VMX root operation)"
        );
        assert_eq!(
            VmFail::Valid(VmInstructionError(14)).to_string(),
            "VMfailValid (reserved VM-instruction error 14)"
        );
    }

    #[test]
    fn insn_error_display() {
        let cases: [(InsnError, &str); 10] = [
            (InsnError::VmFail(VmFail::Invalid), "VMfailInvalid"),
            (
                InsnError::VmFail(VmFail::Valid(VmInstructionError(28))),
                "VMfailValid (VM-instruction error 28: Invalid operand to INVEPT/INVVPID)",
            ),
            (
                InsnError::Misaligned {
                    addr: HostPhysAddr::new(0x1234),
                },
                "physical address 0x1234 is not 4-KByte aligned",
            ),
            (
                InsnError::AddressTooWide {
                    addr: HostPhysAddr::new(1 << 40),
                    width: 39,
                },
                "physical address 0x10000000000 exceeds the 39-bit physical-address width",
            ),
            (
                InsnError::InvalidAddressWidth { width: 60 },
                "physical-address width of 60 bits is outside 1..=52",
            ),
            (
                InsnError::UnsupportedInveptType { ty: 3 },
                "INVEPT type 3 is not supported by this processor",
            ),
            (
                InsnError::UnsupportedInvvpidType { ty: 4 },
                "INVVPID type 4 is not supported by this processor",
            ),
            (
                InsnError::ZeroVpid { ty: 1 },
                "INVVPID type 1 needs a VPID other than 0",
            ),
            (
                InsnError::InvalidEptp {
                    eptp: 0x1e,
                    reason: EptpError::AccessedDirtyUnsupported,
                },
                "EPTP 0x1e is invalid: EPT accessed/dirty flags are not supported",
            ),
            (
                InsnError::NonCanonicalAddress {
                    addr: 0x8000_0000_0000,
                },
                "linear address 0x800000000000 is not canonical",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
    }

    #[test]
    fn accessors() {
        let valid = InsnError::from(VmFail::Valid(VmInstructionError(12)));
        assert_eq!(valid.instruction_error(), Some(VmInstructionError(12)));
        assert!(!valid.is_software_check());
        assert_eq!(InsnError::from(VmFail::Invalid).instruction_error(), None);
        assert!(
            InsnError::Misaligned {
                addr: HostPhysAddr::new(1),
            }
            .is_software_check()
        );
        assert_eq!(
            InsnError::Misaligned {
                addr: HostPhysAddr::new(1),
            }
            .instruction_error(),
            None
        );
        assert_eq!(VmFail::Invalid.kind(), VmFailKind::Invalid);
        assert_eq!(
            VmFail::Valid(VmInstructionError(1)).kind(),
            VmFailKind::Valid
        );
    }

    #[test]
    fn every_instruction_error_maps() {
        use AxErrorKind::*;
        let expected = |n: u32| match n {
            2 | 3 | 7 | 8 | 9 | 10 | 28 => InvalidInput,
            11 => InvalidData,
            12 => Unsupported,
            13 => PermissionDenied,
            15 => AlreadyExists,
            _ => BadState,
        };
        for n in 0..=64u32 {
            let err = VmInstructionError(n);
            assert_eq!(instruction_error_kind(err), expected(n), "error {n}");
            assert_eq!(AxErrorKind::from(VmFail::Valid(err)), expected(n));
        }
        assert_eq!(
            instruction_error_kind(VmInstructionError(u32::MAX)),
            BadState
        );
        assert_eq!(AxErrorKind::from(VmFail::Invalid), BadState);
    }

    #[test]
    fn software_checks_map() {
        use AxErrorKind::*;
        let cases = [
            (
                InsnError::Misaligned {
                    addr: HostPhysAddr::new(1),
                },
                InvalidInput,
            ),
            (
                InsnError::AddressTooWide {
                    addr: HostPhysAddr::new(1 << 52),
                    width: 52,
                },
                BadAddress,
            ),
            (InsnError::InvalidAddressWidth { width: 0 }, InvalidInput),
            (InsnError::UnsupportedInveptType { ty: 0 }, InvalidInput),
            (InsnError::UnsupportedInvvpidType { ty: 4 }, InvalidInput),
            (InsnError::ZeroVpid { ty: 0 }, InvalidInput),
            (
                InsnError::InvalidEptp {
                    eptp: 0,
                    reason: EptpError::AccessedDirtyUnsupported,
                },
                InvalidInput,
            ),
            (
                InsnError::NonCanonicalAddress { addr: 1 << 47 },
                InvalidInput,
            ),
            (InsnError::VmFail(VmFail::Invalid), BadState),
            (
                InsnError::VmFail(VmFail::Valid(VmInstructionError(13))),
                PermissionDenied,
            ),
        ];
        for (err, kind) in cases {
            assert_eq!(AxErrorKind::from(err), kind, "{err}");
            assert_eq!(AxError::from(err), AxError::from(kind));
        }
    }
}
