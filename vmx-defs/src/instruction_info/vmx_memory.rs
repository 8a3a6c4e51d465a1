//! Instruction information for VMCLEAR, VMPTRLD, VMPTRST, VMXON, XRSTORS and XSAVES (SDM
//! Vol. 3C §28.2.5, table "Format of the VM-Exit Instruction-Information Field as Used for
//! VMCLEAR, VMPTRLD, VMPTRST, VMXON, XRSTORS, and XSAVES").

use super::memory_operand_accessors;

/// VM-exit instruction information for VMCLEAR (exit reason 19), VMPTRLD (21), VMPTRST (22),
/// VMXON (27), XSAVES (63) and XRSTORS (64): a single memory operand.
///
/// Bit 10 is 0 (memory operand); bits 6:2, 14:11 and 31:28 are undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct VmxMemoryInfo(u32);

impl VmxMemoryInfo {
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

    memory_operand_accessors!("§28.2.5, VMCLEAR/VMPTRLD/VMPTRST/VMXON/XRSTORS/XSAVES format");
}

impl From<u32> for VmxMemoryInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
