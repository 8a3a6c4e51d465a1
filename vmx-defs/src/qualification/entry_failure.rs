//! Exit qualification for VM-entry failures due to invalid guest state (basic exit reason
//! 33; SDM Vol. 3C §27.8, §28.2.1).

/// Which guest-state check failed, as reported in the exit qualification of a VM-entry
/// failure with basic exit reason 33 (SDM Vol. 3C §27.8). Values the SDM does not use
/// (including 1) decode to [`Unknown`](EntryFailureCode::Unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryFailureCode {
    /// No specified reason (0, the default).
    NoSpecifiedReason,
    /// Failure loading the PDPTEs (2).
    PdpteLoad,
    /// Attempt to inject an NMI into a guest that is blocking events through STI blocking (3).
    NmiInjectionBlockedBySti,
    /// Invalid VMCS link pointer (4).
    InvalidVmcsLinkPointer,
    /// A value the SDM does not use.
    Unknown(u64),
}

/// Exit qualification of a VM-entry failure due to invalid guest state (basic exit reason 33,
/// exit-reason bit 31 set), SDM Vol. 3C §27.8 and §28.2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntryFailureQualification(u64);

super::impl_raw!(EntryFailureQualification);

impl EntryFailureQualification {
    /// The failure code (bits 63:0) (SDM Vol. 3C §27.8).
    pub const fn code(self) -> EntryFailureCode {
        match self.0 {
            0 => EntryFailureCode::NoSpecifiedReason,
            2 => EntryFailureCode::PdpteLoad,
            3 => EntryFailureCode::NmiInjectionBlockedBySti,
            4 => EntryFailureCode::InvalidVmcsLinkPointer,
            other => EntryFailureCode::Unknown(other),
        }
    }
}
