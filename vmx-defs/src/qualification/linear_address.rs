//! Exit qualifications that hold a linear address: page faults and INVLPG
//! (SDM Vol. 3C §28.2.1).

/// Exit qualification holding a guest linear address (SDM Vol. 3C §28.2.1):
///
/// * for a page fault (#PF, vector 14; basic exit reason 0): the linear address that caused
///   the fault — CR2 is *not* loaded by the VM exit;
/// * for INVLPG (basic exit reason 14): the linear-address operand; bits 63:32 are cleared
///   if the processor was not in 64-bit mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinearAddressQualification(u64);

super::impl_raw!(LinearAddressQualification);

impl LinearAddressQualification {
    /// The linear address (bits 63:0) (SDM Vol. 3C §28.2.1, page faults and INVLPG).
    pub const fn linear_address(self) -> u64 {
        self.0
    }
}
