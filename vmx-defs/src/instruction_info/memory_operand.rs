//! The memory-operand description shared by most VM-exit instruction-information formats
//! (SDM Vol. 3C §28.2.5): scaling (bits 1:0), address size (9:7), memory/register (10),
//! segment (17:15), index register (21:18) and its invalid bit (22), base register (26:23)
//! and its invalid bit (27).

use super::{AddressSize, Gpr, SegmentRegister};

/// Scaling of the index register of a memory operand (bits 1:0, SDM Vol. 3C §28.2.5):
/// 0 = no scaling, 1 = ×2, 2 = ×4, 3 = ×8. Every 2-bit value is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scaling {
    /// No scaling (index × 1), encoding 0.
    None,
    /// Index × 2, encoding 1.
    By2,
    /// Index × 4, encoding 2.
    By4,
    /// Index × 8, encoding 3.
    By8,
}

impl Scaling {
    /// Decodes the 2-bit field; only the low 2 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_bits(value: u8) -> Scaling {
        match value & 0x3 {
            0 => Scaling::None,
            1 => Scaling::By2,
            2 => Scaling::By4,
            _ => Scaling::By8,
        }
    }

    /// The 2-bit encoding.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn bits(self) -> u8 {
        match self {
            Scaling::None => 0,
            Scaling::By2 => 1,
            Scaling::By4 => 2,
            Scaling::By8 => 3,
        }
    }

    /// The multiplier applied to the index register (1, 2, 4 or 8).
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn factor(self) -> u8 {
        1 << self.bits()
    }
}

/// A decoded memory operand: everything the instruction-information field says about the
/// effective address except the displacement, which is in the exit qualification
/// (SDM Vol. 3C §28.2.1, "displacement field"; see
/// [`DisplacementQualification`](crate::qualification::DisplacementQualification)).
///
/// `index` and `base` are `None` when the corresponding "invalid" bit (22 or 27) is set.
/// The scaling is undefined by the SDM when there is no index register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryOperand {
    /// Segment register used for the access (bits 17:15).
    pub segment: SegmentRegister,
    /// Address size of the instruction (bits 9:7).
    pub address_size: AddressSize,
    /// Base register (bits 26:23), `None` if bit 27 (base register invalid) is set.
    pub base: Option<Gpr>,
    /// Index register (bits 21:18), `None` if bit 22 (index register invalid) is set.
    pub index: Option<Gpr>,
    /// Scaling of the index register (bits 1:0).
    pub scaling: Scaling,
}

impl MemoryOperand {
    /// Decodes the memory-operand bits of an instruction-information value. Total.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_info(raw: u32) -> MemoryOperand {
        MemoryOperand {
            segment: SegmentRegister::from_bits(super::bits32(raw, 15, 17) as u8),
            address_size: AddressSize::from_bits(super::bits32(raw, 7, 9) as u8),
            base: if raw & (1 << 27) != 0 {
                None
            } else {
                Some(Gpr::from_bits(super::bits32(raw, 23, 26) as u8))
            },
            index: if raw & (1 << 22) != 0 {
                None
            } else {
                Some(Gpr::from_bits(super::bits32(raw, 18, 21) as u8))
            },
            scaling: Scaling::from_bits(super::bits32(raw, 0, 1) as u8),
        }
    }
}

/// An operand that is either a register or a memory location, for the formats whose bit 10
/// (memory/register) distinguishes the two (LLDT/LTR/SLDT/STR and VMREAD/VMWRITE,
/// SDM Vol. 3C §28.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// Register operand (bit 10 = 1): the register is reported in bits 6:3 ("Reg1").
    Register(Gpr),
    /// Memory operand (bit 10 = 0).
    Memory(MemoryOperand),
}

/// Generates the accessors of the memory-operand bits for an instruction-information newtype
/// over `u32`. `$table` names the SDM table the type follows.
macro_rules! memory_operand_accessors {
    ($table:literal) => {
        #[doc = concat!("Scaling of the index register (bits 1:0, SDM Vol. 3C ", $table, "); undefined if there is no index register.")]
        pub const fn scaling(self) -> $crate::instruction_info::Scaling {
            $crate::instruction_info::Scaling::from_bits($crate::instruction_info::bits32(self.0, 0, 1) as u8)
        }

        #[doc = concat!("Address size (bits 9:7, SDM Vol. 3C ", $table, ").")]
        pub const fn address_size(self) -> $crate::instruction_info::AddressSize {
            $crate::instruction_info::AddressSize::from_bits($crate::instruction_info::bits32(self.0, 7, 9) as u8)
        }

        #[doc = concat!("Segment register of the memory operand (bits 17:15, SDM Vol. 3C ", $table, ").")]
        pub const fn segment(self) -> $crate::instruction_info::SegmentRegister {
            $crate::instruction_info::SegmentRegister::from_bits($crate::instruction_info::bits32(self.0, 15, 17) as u8)
        }

        #[doc = concat!("Index register number as reported (bits 21:18, SDM Vol. 3C ", $table, "); undefined if [`index_register_invalid`](Self::index_register_invalid) is set — prefer [`index`](Self::index).")]
        pub const fn index_register(self) -> $crate::instruction_info::Gpr {
            $crate::instruction_info::Gpr::from_bits($crate::instruction_info::bits32(self.0, 18, 21) as u8)
        }

        #[doc = concat!("Bit 22 (SDM Vol. 3C ", $table, "): set if the operand has no index register.")]
        pub const fn index_register_invalid(self) -> bool {
            self.0 & (1 << 22) != 0
        }

        #[doc = concat!("The index register, or `None` if bit 22 says there is none (SDM Vol. 3C ", $table, ").")]
        pub const fn index(self) -> Option<$crate::instruction_info::Gpr> {
            if self.index_register_invalid() { None } else { Some(self.index_register()) }
        }

        #[doc = concat!("Base register number as reported (bits 26:23, SDM Vol. 3C ", $table, "); undefined if [`base_register_invalid`](Self::base_register_invalid) is set — prefer [`base`](Self::base).")]
        pub const fn base_register(self) -> $crate::instruction_info::Gpr {
            $crate::instruction_info::Gpr::from_bits($crate::instruction_info::bits32(self.0, 23, 26) as u8)
        }

        #[doc = concat!("Bit 27 (SDM Vol. 3C ", $table, "): set if the operand has no base register.")]
        pub const fn base_register_invalid(self) -> bool {
            self.0 & (1 << 27) != 0
        }

        #[doc = concat!("The base register, or `None` if bit 27 says there is none (SDM Vol. 3C ", $table, ").")]
        pub const fn base(self) -> Option<$crate::instruction_info::Gpr> {
            if self.base_register_invalid() { None } else { Some(self.base_register()) }
        }

        #[doc = concat!("Bit 10, memory/register (SDM Vol. 3C ", $table, "): `true` for a register operand.")]
        pub const fn is_register_operand(self) -> bool {
            self.0 & (1 << 10) != 0
        }

        #[doc = concat!("The memory-operand bits decoded together (SDM Vol. 3C ", $table, ").")]
        pub const fn memory_operand(self) -> $crate::instruction_info::MemoryOperand {
            $crate::instruction_info::MemoryOperand::from_info(self.0)
        }
    };
}

pub(crate) use memory_operand_accessors;

/// Generates `reg1` (bits 6:3) and `operand` (register or memory by bit 10) for the formats
/// whose one operand is either a register or memory. `$table` names the SDM format,
/// `$what` says which operand it is.
macro_rules! register_or_memory_accessors {
    ($table:literal, $what:literal) => {
        #[doc = concat!("Reg1 (bits 6:3): ", $what, " when it is a register; undefined for a memory operand (SDM Vol. 3C ", $table, ").")]
        pub const fn reg1(self) -> $crate::instruction_info::Gpr {
            $crate::instruction_info::Gpr::from_bits($crate::instruction_info::bits32(self.0, 3, 6) as u8)
        }

        #[doc = concat!("Decodes ", $what, ": a register or a memory operand according to bit 10 (SDM Vol. 3C ", $table, ").")]
        pub const fn operand(self) -> $crate::instruction_info::Operand {
            if self.is_register_operand() {
                $crate::instruction_info::Operand::Register(self.reg1())
            } else {
                $crate::instruction_info::Operand::Memory(self.memory_operand())
            }
        }
    };
}

pub(crate) use register_or_memory_accessors;
