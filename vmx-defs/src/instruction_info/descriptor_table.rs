//! Instruction information for LGDT, LIDT, SGDT and SIDT (SDM Vol. 3C §28.2.5, table
//! "Format of the VM-Exit Instruction-Information Field as Used for LIDT, LGDT, SIDT, or
//! SGDT").

use super::{OperandSize, bits32, memory_operand_accessors};

/// Which descriptor-table instruction caused the exit (bits 29:28): 0 = SGDT, 1 = SIDT,
/// 2 = LGDT, 3 = LIDT (SDM Vol. 3C §28.2.5). Every 2-bit value is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DescriptorTableInstruction {
    /// SGDT (0).
    Sgdt,
    /// SIDT (1).
    Sidt,
    /// LGDT (2).
    Lgdt,
    /// LIDT (3).
    Lidt,
}

impl DescriptorTableInstruction {
    /// Decodes the 2-bit field; only the low 2 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_bits(value: u8) -> Self {
        match value & 0x3 {
            0 => Self::Sgdt,
            1 => Self::Sidt,
            2 => Self::Lgdt,
            _ => Self::Lidt,
        }
    }

    /// `true` for LGDT and LIDT (the loading forms).
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn is_load(self) -> bool {
        matches!(self, Self::Lgdt | Self::Lidt)
    }
}

/// VM-exit instruction information for a GDTR/IDTR access (basic exit reason 46).
///
/// Bit 10 is 0 (memory operand); bits 6:2, 14:12 and 31:30 are undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct DescriptorTableInfo(u32);

impl DescriptorTableInfo {
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

    memory_operand_accessors!("§28.2.5, LIDT/LGDT/SIDT/SGDT format");

    /// Operand size (bit 11): 0 = 16-bit, 1 = 32-bit; undefined for VM exits from 64-bit
    /// mode (SDM Vol. 3C §28.2.5, LIDT/LGDT/SIDT/SGDT format).
    pub const fn operand_size(self) -> OperandSize {
        OperandSize::from_bits(bits32(self.0, 11, 11) as u8)
    }

    /// The instruction (bits 29:28) (SDM Vol. 3C §28.2.5, LIDT/LGDT/SIDT/SGDT format).
    pub const fn instruction(self) -> DescriptorTableInstruction {
        DescriptorTableInstruction::from_bits(bits32(self.0, 28, 29) as u8)
    }
}

impl From<u32> for DescriptorTableInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
