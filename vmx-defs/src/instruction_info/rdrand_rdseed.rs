//! Instruction information for RDRAND, RDSEED, TPAUSE and UMWAIT (SDM Vol. 3C §28.2.5,
//! table "Format of the VM-Exit Instruction-Information Field as Used for RDRAND, RDSEED,
//! TPAUSE, and UMWAIT").

use super::{Gpr, OperandSize, bits32};

/// VM-exit instruction information for RDRAND (exit reason 57), RDSEED (61), UMWAIT (67)
/// and TPAUSE (68).
///
/// Bits 2:0, 10:7 and 31:13 are undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct RdrandRdseedInfo(u32);

/// The same format, named for the UMWAIT/TPAUSE exits (reasons 67 and 68), where the
/// register is the source operand.
///
/// SDM Vol. 3C §28.2.5.
pub type TpauseUmwaitInfo = RdrandRdseedInfo;

impl RdrandRdseedInfo {
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

    /// Operand register (bits 6:3): the destination of RDRAND/RDSEED, the source of
    /// UMWAIT/TPAUSE (SDM Vol. 3C §28.2.5, RDRAND/RDSEED/TPAUSE/UMWAIT format).
    pub const fn operand_register(self) -> Gpr {
        Gpr::from_bits(bits32(self.0, 3, 6) as u8)
    }

    /// Operand size (bits 12:11): 0 = 16-bit, 1 = 32-bit, 2 = 64-bit, 3 not used (SDM Vol.
    /// 3C §28.2.5, RDRAND/RDSEED/TPAUSE/UMWAIT format).
    pub const fn operand_size(self) -> OperandSize {
        OperandSize::from_bits(bits32(self.0, 11, 12) as u8)
    }
}

impl From<u32> for RdrandRdseedInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
