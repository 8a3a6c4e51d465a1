//! Exit qualification for WBINVD and WBNOINVD (basic exit reason 54; SDM Vol. 3C §28.2.1).

/// Which instruction caused a WBINVD VM exit: 0 for WBINVD, 1 for WBNOINVD (SDM Vol. 3C
/// §28.2.1); other values are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WbinvdInstruction {
    /// WBINVD (0).
    Wbinvd,
    /// WBNOINVD (1).
    Wbnoinvd,
    /// A value not defined by the SDM.
    Unknown(u64),
}

/// Exit qualification of a WBINVD VM exit (basic exit reason 54), SDM Vol. 3C §28.2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WbinvdQualification(u64);

super::impl_raw!(WbinvdQualification);

impl WbinvdQualification {
    /// The instruction (bits 63:0): 0 = WBINVD, 1 = WBNOINVD (SDM Vol. 3C §28.2.1).
    pub const fn instruction(self) -> WbinvdInstruction {
        match self.0 {
            0 => WbinvdInstruction::Wbinvd,
            1 => WbinvdInstruction::Wbnoinvd,
            other => WbinvdInstruction::Unknown(other),
        }
    }
}
