//! Exit qualification for instruction-timeout (formerly "notify window") VM exits (basic
//! exit reason 75; SDM Vol. 3C §28.2.1).

use super::bit;

/// Exit qualification of an instruction-timeout VM exit (basic exit reason 75), SDM Vol. 3C
/// §28.2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InstructionTimeoutQualification(u64);

super::impl_raw!(InstructionTimeoutQualification);

impl InstructionTimeoutQualification {
    /// VM context invalid (bit 0): guest state may be corrupted and the VM must not be
    /// resumed (SDM Vol. 3C §28.2.1).
    pub const fn vm_context_invalid(self) -> bool {
        bit(self.0, 0)
    }

    /// NMI unblocking due to IRET (bit 12) (SDM Vol. 3C §28.2.1, §28.2.3).
    pub const fn nmi_unblocking(self) -> bool {
        bit(self.0, 12)
    }
}
