//! Exit qualification for APIC-write VM exits (basic exit reason 56; SDM Vol. 3C §28.2.1,
//! §30.4.3.3).

use super::bits;

/// Exit qualification of an APIC-write VM exit (basic exit reason 56), SDM Vol. 3C §28.2.1:
/// the page offset of the write access to the virtual-APIC page that must be virtualized by
/// software. Bits 63:12 are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApicWriteQualification(u64);

super::impl_raw!(ApicWriteQualification);

impl ApicWriteQualification {
    /// Offset within the virtual-APIC page (bits 11:0) (SDM Vol. 3C §28.2.1).
    pub const fn offset(self) -> u16 {
        bits(self.0, 0, 11) as u16
    }
}
