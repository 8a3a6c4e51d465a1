//! Exit qualification for page-modification-log-full VM exits (basic exit reason 62;
//! SDM Vol. 3C §28.2.1).

use super::bit;

/// Exit qualification of a PML-full VM exit (basic exit reason 62), SDM Vol. 3C §28.2.1:
/// only bit 12 is defined; all other bits are undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PmlFullQualification(u64);

super::impl_raw!(PmlFullQualification);

impl PmlFullQualification {
    /// NMI unblocking due to IRET (bit 12): the exit happened while IRET was unblocking NMIs
    /// and virtual-NMI blocking must be restored (SDM Vol. 3C §28.2.1, §28.2.3).
    pub const fn nmi_unblocking(self) -> bool {
        bit(self.0, 12)
    }
}
