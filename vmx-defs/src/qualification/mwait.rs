//! Exit qualification for MWAIT (basic exit reason 36; SDM Vol. 3C §28.2.1).

/// Exit qualification of an MWAIT VM exit (basic exit reason 36), SDM Vol. 3C §28.2.1:
/// 1 if address-range monitoring hardware was armed, 0 if not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MwaitQualification(u64);

super::impl_raw!(MwaitQualification);

impl MwaitQualification {
    /// Whether address-range monitoring hardware was armed (bit 0) (SDM Vol. 3C §28.2.1).
    pub const fn monitor_armed(self) -> bool {
        self.0 & 1 != 0
    }
}
