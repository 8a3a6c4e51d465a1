//! Exit qualification for MOV DR (SDM Vol. 3C §28.2.1, Table 28-4).

use super::{bit, bits};
use crate::instruction_info::Gpr;

/// Direction of a MOV DR access (bit 4, SDM Vol. 3C Table 28-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MovDrDirection {
    /// MOV to DR (0).
    ToDr,
    /// MOV from DR (1).
    FromDr,
}

/// Exit qualification of a MOV-DR VM exit (basic exit reason 29), SDM Vol. 3C §28.2.1
/// Table 28-4 "Exit Qualification for MOV DR". Bits 3, 7:5 and 63:12 are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MovDrQualification(u64);

super::impl_raw!(MovDrQualification);

impl MovDrQualification {
    /// Number of the debug register (bits 2:0, Table 28-4).
    pub const fn dr_number(self) -> u8 {
        bits(self.0, 0, 2) as u8
    }

    /// Direction of access (bit 4, Table 28-4).
    pub const fn direction(self) -> MovDrDirection {
        if bit(self.0, 4) {
            MovDrDirection::FromDr
        } else {
            MovDrDirection::ToDr
        }
    }

    /// The general-purpose register (bits 11:8, Table 28-4).
    pub const fn gpr(self) -> Gpr {
        Gpr::from_bits(bits(self.0, 8, 11) as u8)
    }
}
