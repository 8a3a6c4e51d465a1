//! Exit qualification for control-register accesses (SDM Vol. 3C §28.2.1, Table 28-3).

use super::{bit, bits};
use crate::instruction_info::Gpr;

/// Access type of a control-register access (bits 5:4, SDM Vol. 3C Table 28-3). Every
/// 2-bit value is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrAccessType {
    /// MOV to CR (0).
    MovToCr,
    /// MOV from CR (1).
    MovFromCr,
    /// CLTS (2).
    Clts,
    /// LMSW (3).
    Lmsw,
}

impl CrAccessType {
    /// Decodes the 2-bit field; only the low 2 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn from_bits(value: u8) -> Self {
        match value & 0x3 {
            0 => Self::MovToCr,
            1 => Self::MovFromCr,
            2 => Self::Clts,
            _ => Self::Lmsw,
        }
    }
}

/// LMSW operand type (bit 6, SDM Vol. 3C Table 28-3): 0 for CLTS and MOV CR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LmswOperandType {
    /// Register operand (0).
    Register,
    /// Memory operand (1).
    Memory,
}

/// Exit qualification of a control-register-access VM exit (basic exit reason 28), SDM Vol.
/// 3C §28.2.1 Table 28-3 "Exit Qualification for Control-Register Accesses". Bits 7, 15:12
/// and 63:32 are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CrAccessQualification(u64);

super::impl_raw!(CrAccessQualification);

impl CrAccessQualification {
    /// Number of the control register (bits 3:0): 0 for CLTS and LMSW; 0, 3, 4 or 8 for MOV
    /// CR (Table 28-3).
    pub const fn cr_number(self) -> u8 {
        bits(self.0, 0, 3) as u8
    }

    /// Access type (bits 5:4, Table 28-3).
    pub const fn access_type(self) -> CrAccessType {
        CrAccessType::from_bits(bits(self.0, 4, 5) as u8)
    }

    /// LMSW operand type (bit 6, Table 28-3); reported as register for CLTS and MOV CR.
    pub const fn lmsw_operand_type(self) -> LmswOperandType {
        if bit(self.0, 6) {
            LmswOperandType::Memory
        } else {
            LmswOperandType::Register
        }
    }

    /// For MOV CR, the general-purpose register (bits 11:8, Table 28-3); 0 (RAX) for CLTS
    /// and LMSW.
    pub const fn gpr(self) -> Gpr {
        Gpr::from_bits(bits(self.0, 8, 11) as u8)
    }

    /// For LMSW, the LMSW source data (bits 31:16, Table 28-3); 0 for CLTS and MOV CR.
    pub const fn lmsw_source_data(self) -> u16 {
        bits(self.0, 16, 31) as u16
    }
}
