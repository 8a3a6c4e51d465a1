//! Exit qualification for WRMSR / WRMSRNS (basic exit reason 32; SDM Vol. 3C §28.2.1).

/// Which instruction caused a WRMSR VM exit (bits 63:0 of the exit qualification): 0 for
/// WRMSR, 1 for the non-immediate form of WRMSRNS; other values are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
///
/// SDM Vol. 3C §28.2.1.
pub enum WrmsrInstruction {
    /// WRMSR (0).
    Wrmsr,
    /// WRMSRNS, register form (1).
    Wrmsrns,
    /// A value not defined by the SDM.
    Unknown(u64),
}

/// Exit qualification of a WRMSR VM exit (basic exit reason 32), SDM Vol. 3C §28.2.1:
/// distinguishes WRMSR from WRMSRNS. (Older processors report 0.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WrmsrQualification(u64);

super::impl_raw!(WrmsrQualification);

impl WrmsrQualification {
    /// The instruction (bits 63:0): 0 = WRMSR, 1 = WRMSRNS (SDM Vol. 3C §28.2.1).
    pub const fn instruction(self) -> WrmsrInstruction {
        match self.0 {
            0 => WrmsrInstruction::Wrmsr,
            1 => WrmsrInstruction::Wrmsrns,
            other => WrmsrInstruction::Unknown(other),
        }
    }
}
