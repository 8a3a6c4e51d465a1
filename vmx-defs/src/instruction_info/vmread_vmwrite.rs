//! Instruction information for VMREAD and VMWRITE (SDM Vol. 3C §28.2.5, table "Format of
//! the VM-Exit Instruction-Information Field as Used for VMREAD and VMWRITE").

use super::{Gpr, bits32, memory_operand_accessors, register_or_memory_accessors};

/// VM-exit instruction information for VMREAD (exit reason 23) and VMWRITE (25).
///
/// Reg2 holds the VMCS-field encoding; the other operand (VMREAD destination, VMWRITE
/// source) is a register (Reg1, bit 10 = 1) or memory (bit 10 = 0). Bits 2 and 14:11 are
/// undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct VmreadVmwriteInfo(u32);

impl VmreadVmwriteInfo {
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

    memory_operand_accessors!("§28.2.5, VMREAD/VMWRITE format");

    register_or_memory_accessors!(
        "§28.2.5, VMREAD/VMWRITE format",
        "the VMREAD destination / VMWRITE source"
    );

    /// Reg2 (bits 31:28): the register holding the VMCS-field encoding (SDM Vol. 3C §28.2.5,
    /// VMREAD/VMWRITE format).
    pub const fn reg2(self) -> Gpr {
        Gpr::from_bits(bits32(self.0, 28, 31) as u8)
    }
}

impl From<u32> for VmreadVmwriteInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
