//! Instruction information for LLDT, LTR, SLDT and STR (SDM Vol. 3C §28.2.5, table
//! "Format of the VM-Exit Instruction-Information Field as Used for LLDT, LTR, SLDT, and
//! STR").

use super::{bits32, memory_operand_accessors, register_or_memory_accessors};

/// Which LDTR/TR instruction caused the exit (bits 29:28): 0 = SLDT, 1 = STR, 2 = LLDT,
/// 3 = LTR (SDM Vol. 3C §28.2.5). Every 2-bit value is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LdtrTrInstruction {
    /// SLDT (0).
    Sldt,
    /// STR (1).
    Str,
    /// LLDT (2).
    Lldt,
    /// LTR (3).
    Ltr,
}

impl LdtrTrInstruction {
    /// Decodes the 2-bit field; only the low 2 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_bits(value: u8) -> Self {
        match value & 0x3 {
            0 => Self::Sldt,
            1 => Self::Str,
            2 => Self::Lldt,
            _ => Self::Ltr,
        }
    }

    /// `true` for LLDT and LTR (the loading forms).
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn is_load(self) -> bool {
        matches!(self, Self::Lldt | Self::Ltr)
    }
}

/// VM-exit instruction information for an LDTR/TR access (basic exit reason 47).
///
/// Bit 10 selects between a register operand (Reg1, bits 6:3) and a memory operand (the
/// other fields, undefined for a register operand). Bits 2, 14:11 and 31:30 are undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct LdtrTrInfo(u32);

impl LdtrTrInfo {
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

    memory_operand_accessors!("§28.2.5, LLDT/LTR/SLDT/STR format");

    register_or_memory_accessors!("§28.2.5, LLDT/LTR/SLDT/STR format", "the operand");

    /// The instruction (bits 29:28) (SDM Vol. 3C §28.2.5, LLDT/LTR/SLDT/STR format).
    pub const fn instruction(self) -> LdtrTrInstruction {
        LdtrTrInstruction::from_bits(bits32(self.0, 28, 29) as u8)
    }
}

impl From<u32> for LdtrTrInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
