//! Exit qualification for SPP-related events (basic exit reason 66; SDM Vol. 3C §28.2.1).

use super::bit;

/// Type of an SPP-related event (bit 11, SDM Vol. 3C §28.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SppEvent {
    /// SPP misconfiguration (0).
    Misconfiguration,
    /// SPP miss (1).
    Miss,
}

/// Exit qualification of a VM exit due to an SPP-related event (basic exit reason 66,
/// sub-page write permissions), SDM Vol. 3C §28.2.1. Bits other than 11 and 12 are not
/// defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SppQualification(u64);

super::impl_raw!(SppQualification);

impl SppQualification {
    /// The event type (bit 11): SPP misconfiguration or SPP miss (SDM Vol. 3C §28.2.1).
    pub const fn event(self) -> SppEvent {
        if bit(self.0, 11) {
            SppEvent::Miss
        } else {
            SppEvent::Misconfiguration
        }
    }

    /// NMI unblocking due to IRET (bit 12) (SDM Vol. 3C §28.2.1, §28.2.3).
    pub const fn nmi_unblocking(self) -> bool {
        bit(self.0, 12)
    }
}
