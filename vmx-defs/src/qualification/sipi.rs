//! Exit qualification for start-up IPIs (basic exit reason 4; SDM Vol. 3C §28.2.1).

use super::bits;

/// Exit qualification of a SIPI VM exit (basic exit reason 4, a SIPI arriving in the
/// wait-for-SIPI activity state), SDM Vol. 3C §28.2.1: bits 7:0 hold the SIPI vector;
/// bits 63:8 are cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SipiQualification(u64);

super::impl_raw!(SipiQualification);

impl SipiQualification {
    /// The SIPI vector (bits 7:0) (SDM Vol. 3C §28.2.1).
    pub const fn vector(self) -> u8 {
        bits(self.0, 0, 7) as u8
    }

    /// The physical start address the vector designates, `vector << 12` (a SIPI starts
    /// execution at CS.selector = vector << 8, CS.base = vector << 12; SDM Vol. 3A §9.4.4).
    pub const fn start_address(self) -> u64 {
        (self.vector() as u64) << 12
    }
}
