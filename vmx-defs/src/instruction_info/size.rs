//! Address-size and operand-size fields of the VM-exit instruction-information formats
//! (SDM Vol. 3C §28.2.5).

/// Address size of a memory operand (bits 9:7 of the VM-exit instruction-information field,
/// SDM Vol. 3C §28.2.5): 0 = 16-bit, 1 = 32-bit, 2 = 64-bit; other values are not used and
/// decode to [`Reserved`](AddressSize::Reserved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressSize {
    /// 16-bit addressing (0).
    Bits16,
    /// 32-bit addressing (1).
    Bits32,
    /// 64-bit addressing (2).
    Bits64,
    /// A 3-bit value the SDM does not use (3-7).
    Reserved(u8),
}

impl AddressSize {
    /// Decodes the 3-bit field; only the low 3 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_bits(value: u8) -> AddressSize {
        match value & 0x7 {
            0 => AddressSize::Bits16,
            1 => AddressSize::Bits32,
            2 => AddressSize::Bits64,
            other => AddressSize::Reserved(other),
        }
    }

    /// The 3-bit encoding.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn bits(self) -> u8 {
        match self {
            AddressSize::Bits16 => 0,
            AddressSize::Bits32 => 1,
            AddressSize::Bits64 => 2,
            AddressSize::Reserved(v) => v,
        }
    }

    /// The address width in bits (16, 32, 64), or `None` for a reserved value.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn width(self) -> Option<u8> {
        match self {
            AddressSize::Bits16 => Some(16),
            AddressSize::Bits32 => Some(32),
            AddressSize::Bits64 => Some(64),
            AddressSize::Reserved(_) => None,
        }
    }
}

/// Operand size reported by the VM-exit instruction-information field (SDM Vol. 3C §28.2.5):
/// bits 12:11 for RDRAND/RDSEED (0 = 16-bit, 1 = 32-bit, 2 = 64-bit, 3 not used) and bit 11
/// for LGDT/LIDT/SGDT/SIDT (0 = 16-bit, 1 = 32-bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperandSize {
    /// 16-bit operand (0).
    Bits16,
    /// 32-bit operand (1).
    Bits32,
    /// 64-bit operand (2).
    Bits64,
    /// A value the SDM does not use (3).
    Reserved(u8),
}

impl OperandSize {
    /// Decodes the 2-bit field; only the low 2 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_bits(value: u8) -> OperandSize {
        match value & 0x3 {
            0 => OperandSize::Bits16,
            1 => OperandSize::Bits32,
            2 => OperandSize::Bits64,
            other => OperandSize::Reserved(other),
        }
    }

    /// The 2-bit encoding.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn bits(self) -> u8 {
        match self {
            OperandSize::Bits16 => 0,
            OperandSize::Bits32 => 1,
            OperandSize::Bits64 => 2,
            OperandSize::Reserved(v) => v,
        }
    }

    /// The operand width in bits (16, 32, 64), or `None` for a reserved value.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn width(self) -> Option<u8> {
        match self {
            OperandSize::Bits16 => Some(16),
            OperandSize::Bits32 => Some(32),
            OperandSize::Bits64 => Some(64),
            OperandSize::Reserved(_) => None,
        }
    }
}
