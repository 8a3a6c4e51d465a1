//! Decoding the status a VMX instruction leaves in RFLAGS (SDM Vol. 3C §31.2,
//! "Conventions").
//!
//! Every VMX instruction that can fail reports its outcome in RFLAGS:
//!
//! | outcome        | CF | ZF | PF, AF, SF, OF |
//! |----------------|----|----|----------------|
//! | VMsucceed      | 0  | 0  | 0              |
//! | VMfailInvalid  | 1  | 0  | 0              |
//! | VMfailValid    | 0  | 1  | 0              |
//!
//! VMfailInvalid means there is no current VMCS to hold an error number; VMfailValid
//! means the processor stored one in the VM-instruction error field (encoding 0x4400,
//! SDM Vol. 3C §25.9.5). [`decode_rflags`] is the pure half of that decoding: it looks at
//! the flags only and never touches the processor.

use core::fmt;

/// RFLAGS.CF, the carry flag (bit 0): set by VMfailInvalid (SDM Vol. 3C §31.2).
pub const RFLAGS_CF: u64 = 1 << 0;
/// RFLAGS.ZF, the zero flag (bit 6): set by VMfailValid (SDM Vol. 3C §31.2).
pub const RFLAGS_ZF: u64 = 1 << 6;

/// Which of the two failure conventions of SDM Vol. 3C §31.2 a VMX instruction used.
///
/// This is the flag-level view: it says whether an error number is available, not
/// which one. [`crate::VmFail`] carries the number as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmFailKind {
    /// VMfailInvalid: RFLAGS.CF = 1. There was no current VMCS (or the VMCS pointer was
    /// invalid), so no error number was stored.
    Invalid,
    /// VMfailValid: RFLAGS.ZF = 1. The error number is in the VM-instruction error field
    /// of the current VMCS.
    Valid,
}

impl fmt::Display for VmFailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "VMfailInvalid",
            Self::Valid => "VMfailValid",
        })
    }
}

/// Decodes the RFLAGS value a VMX instruction left (SDM Vol. 3C §31.2).
///
/// Only CF (bit 0) and ZF (bit 6) are examined; every other bit is ignored, so any
/// `u64` decodes. `Ok(())` is VMsucceed (CF = ZF = 0). CF = 1 is
/// [`VmFailKind::Invalid`]; ZF = 1 alone is [`VmFailKind::Valid`].
///
/// CF and ZF both set is not a combination the SDM defines. It decodes as
/// [`VmFailKind::Invalid`]: that claim assumes less (no error number to read, hence no
/// VMREAD of a VMCS that may not exist), which is the safe reading of a contradictory
/// status.
///
/// ```
/// use vmx_insn::{decode_rflags, VmFailKind, RFLAGS_CF, RFLAGS_ZF};
/// assert_eq!(decode_rflags(0x2), Ok(()));
/// assert_eq!(decode_rflags(0x2 | RFLAGS_CF), Err(VmFailKind::Invalid));
/// assert_eq!(decode_rflags(0x2 | RFLAGS_ZF), Err(VmFailKind::Valid));
/// ```
pub const fn decode_rflags(rflags: u64) -> Result<(), VmFailKind> {
    if rflags & RFLAGS_CF != 0 {
        Err(VmFailKind::Invalid)
    } else if rflags & RFLAGS_ZF != 0 {
        Err(VmFailKind::Valid)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn all_four_flag_combinations() {
        // Bit 1 of RFLAGS always reads as 1; the other status flags are cleared by every
        // outcome (SDM §31.2), but the decoding must not depend on them.
        for base in [
            0x2u64,
            0x2 | 0x4 | 0x10 | 0x80 | 0x800,
            !(RFLAGS_CF | RFLAGS_ZF),
        ] {
            assert_eq!(decode_rflags(base), Ok(()));
            assert_eq!(decode_rflags(base | RFLAGS_CF), Err(VmFailKind::Invalid));
            assert_eq!(decode_rflags(base | RFLAGS_ZF), Err(VmFailKind::Valid));
            assert_eq!(
                decode_rflags(base | RFLAGS_CF | RFLAGS_ZF),
                Err(VmFailKind::Invalid)
            );
        }
    }

    #[test]
    fn flag_bit_positions() {
        assert_eq!(RFLAGS_CF, 0x1);
        assert_eq!(RFLAGS_ZF, 0x40);
    }

    #[test]
    fn display() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(VmFailKind::Invalid.to_string(), "VMfailInvalid");
        assert_eq!(VmFailKind::Valid.to_string(), "VMfailValid");
    }

    proptest! {
        #[test]
        fn total_and_depends_only_on_cf_zf(rflags: u64) {
            let got = decode_rflags(rflags);
            let expected = match (rflags & 1 != 0, rflags & 0x40 != 0) {
                (true, _) => Err(VmFailKind::Invalid),
                (false, true) => Err(VmFailKind::Valid),
                (false, false) => Ok(()),
            };
            prop_assert_eq!(got, expected);
            prop_assert_eq!(got, decode_rflags(rflags & (RFLAGS_CF | RFLAGS_ZF)));
        }
    }
}
