//! Instruction information for INS and OUTS (SDM Vol. 3C §28.2.5, table "Format of the
//! VM-Exit Instruction-Information Field as Used for INS and OUTS").

use super::{AddressSize, SegmentRegister, bits32};

/// VM-exit instruction information for an I/O-instruction VM exit (basic exit reason 30)
/// caused by INS or OUTS.
///
/// The field is written for these exits only if IA32_VMX_BASIC bit 54 is 1 (SDM Vol. 3D
/// Appendix A.1); for other I/O instructions it is undefined. Bits 6:0, 14:10 and 31:18
/// are undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InsOutsInfo(u32);

impl InsOutsInfo {
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

    /// Address size (bits 9:7): 0 = 16-bit, 1 = 32-bit, 2 = 64-bit (SDM Vol. 3C §28.2.5,
    /// INS/OUTS format).
    pub const fn address_size(self) -> AddressSize {
        AddressSize::from_bits(bits32(self.0, 7, 9) as u8)
    }

    /// Segment register (bits 17:15) of the OUTS source operand; undefined for INS, which
    /// always uses ES (SDM Vol. 3C §28.2.5, INS/OUTS format).
    pub const fn segment(self) -> SegmentRegister {
        SegmentRegister::from_bits(bits32(self.0, 15, 17) as u8)
    }
}

impl From<u32> for InsOutsInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
