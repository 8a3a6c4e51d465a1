//! VM-exit interruption information (VMCS encoding 0x4404; SDM Vol. 3C §25.9.2,
//! Table 25-19, §28.2.2) and IDT-vectoring information (0x4408; SDM Vol. 3C §25.9.3,
//! Table 25-20, §28.2.4).

use super::{
    ERROR_CODE_BIT, EntryInterruptionInfo, InterruptionType, NESTED_EXCEPTION_BIT,
    NMI_UNBLOCKING_BIT, TYPE_SHIFT, VALID_BIT, VECTOR_MASK,
};
use crate::exception::ExceptionVector;
use core::fmt;

/// The VM-exit interruption-information field (VMCS encoding 0x4404; SDM Vol. 3C §25.9.2,
/// Table 25-19): the exception, NMI or acknowledged external interrupt that caused the
/// VM exit.
///
/// Bits: 7:0 vector; 10:8 [`InterruptionType`] (0, 2, 3, 5, 6 are used); 11 error code
/// valid (the code is in encoding 0x4406); 12 NMI unblocking due to IRET; 13 nested
/// exception (FRED); 30:14 not defined (0); 31 valid. Every `u32` decodes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExitInterruptionInfo(u32);

shared_event_info!(
    ExitInterruptionInfo,
    "the VM-exit interruption error code (0x4406)",
    "the field is valid (the other bits are undefined otherwise)"
);

impl ExitInterruptionInfo {
    /// Bit 12: NMI unblocking due to IRET: the VM exit came from a fault in an IRET that
    /// had unblocked NMIs (virtual NMIs), so the VMM must re-establish NMI blocking before
    /// re-entering (SDM Vol. 3C §28.2.2). Undefined when the IDT-vectoring information is
    /// valid or the exit is a double fault.
    pub const fn nmi_unblocking_due_to_iret(self) -> bool {
        self.0 & NMI_UNBLOCKING_BIT != 0
    }
}

impl fmt::Debug for ExitInterruptionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitInterruptionInfo")
            .field("valid", &self.is_valid())
            .field("vector", &self.vector())
            .field("type", &self.interruption_type())
            .field("error_code_valid", &self.error_code_valid())
            .field(
                "nmi_unblocking_due_to_iret",
                &self.nmi_unblocking_due_to_iret(),
            )
            .field("nested_exception", &self.nested_exception())
            .finish()
    }
}

/// The IDT-vectoring information field (VMCS encoding 0x4408; SDM Vol. 3C §25.9.3,
/// Table 25-20): the event whose delivery the VM exit interrupted.
///
/// Bits: 7:0 vector; 10:8 [`InterruptionType`] (0, 2-7 are used); 11 error code valid
/// (the code is in encoding 0x440A); 12 undefined; 13 nested exception (FRED); 30:14 not
/// defined (0); 31 valid. Every `u32` decodes.
///
/// Type 7 (other event) is recorded only with FRED: the VM exit occurred during FRED event
/// delivery of SYSCALL (vector 1) or SYSENTER (vector 2), and the VM-exit instruction
/// length (0x440C) holds the length of that instruction (SDM Vol. 3C §28.2.4, §28.2.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IdtVectoringInfo(u32);

shared_event_info!(
    IdtVectoringInfo,
    "the IDT-vectoring error code (0x440A)",
    "the VM exit occurred during delivery of this event"
);

impl IdtVectoringInfo {
    /// The VM-entry interruption information that re-injects this event on the next VM
    /// entry (SDM Vol. 3C §28.2.4), or `None` if the field is not valid or
    /// reports a combination the processor does not record: type 1, or type 7 with a
    /// vector other than 1 (FRED SYSCALL) and 2 (FRED SYSENTER).
    ///
    /// Vector, type, error-code bit and nested-exception bit carry over; the undefined bit
    /// 12 and bits 30:14 are dropped. The caller also copies the IDT-vectoring error code
    /// (0x440A) into the VM-entry exception error code (0x4018) when
    /// [`IdtVectoringInfo::error_code_valid`], and, when the result
    /// [`uses_instruction_length`](EntryInterruptionInfo::uses_instruction_length) (a soft
    /// type or a FRED SYSCALL/SYSENTER event), the VM-exit instruction length (0x440C) into
    /// the VM-entry instruction length (0x401A).
    pub const fn to_reinjection(self) -> Option<EntryInterruptionInfo> {
        if !self.is_valid() {
            return None;
        }
        match self.interruption_type() {
            InterruptionType::Reserved => None,
            InterruptionType::OtherEvent if !matches!(self.0 & VECTOR_MASK, 1 | 2) => None,
            _ => Some(EntryInterruptionInfo::from_raw(
                self.0
                    & (VALID_BIT
                        | NESTED_EXCEPTION_BIT
                        | ERROR_CODE_BIT
                        | (7 << TYPE_SHIFT)
                        | VECTOR_MASK),
            )),
        }
    }
}

impl fmt::Debug for IdtVectoringInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdtVectoringInfo")
            .field("valid", &self.is_valid())
            .field("vector", &self.vector())
            .field("type", &self.interruption_type())
            .field("error_code_valid", &self.error_code_valid())
            .field("nested_exception", &self.nested_exception())
            .finish()
    }
}
