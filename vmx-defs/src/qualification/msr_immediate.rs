//! Exit qualification for RDMSR and WRMSRNS with an immediate MSR index (basic exit reasons
//! 84 and 85; SDM Vol. 3C §28.2.1).

/// Exit qualification of an RDMSR-with-immediate (84) or WRMSRNS-with-immediate (85) VM
/// exit, SDM Vol. 3C §28.2.1: the MSR index taken from the immediate operand. The register
/// operand is in the instruction-information field
/// ([`MsrImmediateInfo`](crate::instruction_info::MsrImmediateInfo)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsrImmediateQualification(u64);

super::impl_raw!(MsrImmediateQualification);

impl MsrImmediateQualification {
    /// The MSR index (bits 63:0) (SDM Vol. 3C §28.2.1). MSR indices are 32-bit; a value
    /// above `u32::MAX` is returned unchanged so that it can be reported, see
    /// [`msr_index_u32`](Self::msr_index_u32).
    pub const fn msr_index(self) -> u64 {
        self.0
    }

    /// The MSR index as a 32-bit MSR number, or `None` if bits 63:32 are not zero.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn msr_index_u32(self) -> Option<u32> {
        if self.0 >> 32 == 0 {
            Some(self.0 as u32)
        } else {
            None
        }
    }
}
