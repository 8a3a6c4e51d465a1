//! Instruction information for INVEPT, INVPCID and INVVPID (SDM Vol. 3C §28.2.5, table
//! "Format of the VM-Exit Instruction-Information Field as Used for INVEPT, INVPCID, and
//! INVVPID").

use super::{Gpr, bits32, memory_operand_accessors};

/// VM-exit instruction information for INVEPT (exit reason 50), INVVPID (53) and INVPCID (58).
///
/// The memory operand is the descriptor; `reg2` names the register holding the
/// invalidation type. Bit 10 is 0 (memory operand); bits 6:2 and 14:11 are undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct InvalidationInfo(u32);

impl InvalidationInfo {
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

    memory_operand_accessors!("§28.2.5, INVEPT/INVPCID/INVVPID format");

    /// Reg2 (bits 31:28): the register operand holding the INVEPT/INVPCID/INVVPID type
    /// (SDM Vol. 3C §28.2.5, INVEPT/INVPCID/INVVPID format).
    pub const fn reg2(self) -> Gpr {
        Gpr::from_bits(bits32(self.0, 28, 31) as u8)
    }
}

impl From<u32> for InvalidationInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
