//! Exit qualification for virtualized-EOI VM exits (basic exit reason 45; SDM Vol. 3C
//! §28.2.1, §30.1.4).

use super::bits;

/// Exit qualification of a virtualized-EOI VM exit (basic exit reason 45), SDM Vol. 3C
/// §28.2.1: the vector of the virtual interrupt whose EOI was virtualized. Bits 63:8 are
/// not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VirtualizedEoiQualification(u64);

super::impl_raw!(VirtualizedEoiQualification);

impl VirtualizedEoiQualification {
    /// The vector (bits 7:0) (SDM Vol. 3C §28.2.1).
    pub const fn vector(self) -> u8 {
        bits(self.0, 0, 7) as u8
    }
}
