//! Instruction information for LOADIWKEY (exit reason 69; SDM Vol. 3C §28.2.5).

use super::bits32;

/// VM-exit instruction information for LOADIWKEY (exit reason 69): the two XMM register
/// operands (Reg1 in bits 6:3, Reg2 in bits 31:28).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §28.2.5.
pub struct LoadiwkeyInfo(u32);

impl LoadiwkeyInfo {
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

    /// Index of the first XMM operand, XMM1 of `LOADIWKEY xmm1, xmm2` (bits 6:3; SDM Vol. 3C
    /// §28.2.5, LOADIWKEY format).
    pub const fn xmm1(self) -> u8 {
        bits32(self.0, 3, 6) as u8
    }

    /// Index of the second XMM operand, XMM2 (bits 31:28; SDM Vol. 3C §28.2.5, LOADIWKEY
    /// format).
    pub const fn xmm2(self) -> u8 {
        bits32(self.0, 28, 31) as u8
    }
}

impl From<u32> for LoadiwkeyInfo {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}
