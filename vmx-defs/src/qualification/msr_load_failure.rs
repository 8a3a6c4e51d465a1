//! Exit qualification for VM-entry failures due to MSR loading (basic exit reason 34;
//! SDM Vol. 3C §27.4, §28.2.1).

/// Exit qualification of a VM-entry failure due to MSR loading (basic exit reason 34,
/// exit-reason bit 31 set), SDM Vol. 3C §27.4: the 1-based index of the entry of the
/// VM-entry MSR-load area that could not be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsrLoadFailureQualification(u64);

super::impl_raw!(MsrLoadFailureQualification);

impl MsrLoadFailureQualification {
    /// The 1-based index of the failing MSR-load entry (bits 63:0) (SDM Vol. 3C §27.4).
    pub const fn entry_number(self) -> u64 {
        self.0
    }

    /// The 0-based position of the failing entry in the MSR-load area, or `None` for the
    /// (architecturally impossible) value 0.
    ///
    /// SDM Vol. 3C §27.4.
    pub const fn entry_index(self) -> Option<u64> {
        self.0.checked_sub(1)
    }
}
