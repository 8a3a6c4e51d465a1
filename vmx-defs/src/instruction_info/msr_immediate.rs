//! Instruction information for RDMSR and WRMSRNS with an immediate MSR index (exit reasons
//! 84 and 85; SDM Vol. 3C §28.2.5).

use super::{Gpr, bits32};

/// VM-exit instruction information for RDMSR with immediate (exit reason 84) and WRMSRNS
/// with immediate (85): bits 6:3 name the register operand (RDMSR destination, WRMSRNS
/// source). The MSR index itself is in the exit qualification
/// ([`MsrImmediateQualification`](crate::qualification::MsrImmediateQualification)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct MsrImmediateInfo(u32);

impl MsrImmediateInfo {
    /// Wraps a raw instruction-information value. Total: every value is accepted.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw value, unchanged.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The register operand (bits 6:3): destination of RDMSR, source of WRMSRNS
    /// (SDM Vol. 3C §28.2.5, RDMSR/WRMSRNS immediate format).
    pub const fn register(self) -> Gpr {
        Gpr::from_bits(bits32(self.0, 3, 6) as u8)
    }
}

impl From<u32> for MsrImmediateInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
