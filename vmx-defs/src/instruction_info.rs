//! Decoded VM-exit instruction-information field (VMCS field 0x440E, `VMX_INSTRUCTION_INFO`).
//!
//! For VM exits caused by certain instructions the processor describes the instruction's
//! operands in this 32-bit field (SDM Vol. 3C §28.2.5, "Information for VM Exits Due to
//! Instruction Execution"). Its format depends on the instruction; there is one type per
//! format, and [`ExitInstructionInfo::decode`] picks it from the basic exit reason.
//! The displacement of a memory operand is not here but in the exit qualification
//! ([`DisplacementQualification`](crate::qualification::DisplacementQualification)).
//!
//! Every decoder is total: any `u32` decodes, and `raw()` gives it back unchanged.

mod descriptor_table;
mod display;
mod ins_outs;
mod invalidation;
mod ldtr_tr;
mod loadiwkey;
mod memory_operand;
mod msr_immediate;
mod rdrand_rdseed;
mod register;
mod segment;
mod size;
mod vmread_vmwrite;
mod vmx_memory;

pub use descriptor_table::{DescriptorTableInfo, DescriptorTableInstruction};
pub use ins_outs::InsOutsInfo;
pub use invalidation::InvalidationInfo;
pub use ldtr_tr::{LdtrTrInfo, LdtrTrInstruction};
pub use loadiwkey::LoadiwkeyInfo;
pub use memory_operand::{MemoryOperand, Operand, Scaling};
pub(crate) use memory_operand::{memory_operand_accessors, register_or_memory_accessors};
pub use msr_immediate::MsrImmediateInfo;
pub use rdrand_rdseed::{RdrandRdseedInfo, TpauseUmwaitInfo};
pub use register::Gpr;
pub use segment::SegmentRegister;
pub use size::{AddressSize, OperandSize};
pub use vmread_vmwrite::VmreadVmwriteInfo;
pub use vmx_memory::VmxMemoryInfo;

use crate::exit_reason::BasicExitReason;

/// Bits `high:low` (inclusive, `low <= high <= 31`) of `raw`, shifted down.
pub(crate) const fn bits32(raw: u32, low: u32, high: u32) -> u32 {
    (raw >> low) & (u32::MAX >> (31 - (high - low)))
}

/// The instruction-information field decoded according to the basic exit reason
/// (SDM Vol. 3C §28.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitInstructionInfo {
    /// I/O instruction (reason 30): meaningful only for INS/OUTS and only if
    /// IA32_VMX_BASIC bit 54 is 1.
    InsOuts(InsOutsInfo),
    /// INVEPT (50), INVVPID (53), INVPCID (58).
    Invalidation(InvalidationInfo),
    /// LGDT, LIDT, SGDT, SIDT (46).
    DescriptorTable(DescriptorTableInfo),
    /// LLDT, LTR, SLDT, STR (47).
    LdtrTr(LdtrTrInfo),
    /// RDRAND (57), RDSEED (61), UMWAIT (67), TPAUSE (68).
    RdrandRdseed(RdrandRdseedInfo),
    /// VMCLEAR (19), VMPTRLD (21), VMPTRST (22), VMXON (27), XSAVES (63), XRSTORS (64).
    VmxMemory(VmxMemoryInfo),
    /// VMREAD (23), VMWRITE (25).
    VmreadVmwrite(VmreadVmwriteInfo),
    /// RDMSR with immediate (84), WRMSRNS with immediate (85).
    MsrImmediate(MsrImmediateInfo),
    /// LOADIWKEY (69).
    Loadiwkey(LoadiwkeyInfo),
    /// A reason for which the field is undefined (or not known to this crate).
    Raw(u32),
}

impl ExitInstructionInfo {
    /// Decodes `raw` in the format used for `basic_exit_reason` (bits 15:0 of the exit-reason
    /// field). Reasons without a defined format give [`ExitInstructionInfo::Raw`]. Total.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn decode(basic_exit_reason: u16, raw: u32) -> ExitInstructionInfo {
        Self::decode_reason(BasicExitReason(basic_exit_reason), raw)
    }

    /// [`decode`](Self::decode) for a typed [`BasicExitReason`]. Total.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn decode_reason(reason: BasicExitReason, raw: u32) -> ExitInstructionInfo {
        type R = BasicExitReason;
        match reason {
            R::IO_INSTRUCTION => Self::InsOuts(InsOutsInfo::from_raw(raw)),
            R::INVEPT | R::INVVPID | R::INVPCID => {
                Self::Invalidation(InvalidationInfo::from_raw(raw))
            }
            R::GDTR_IDTR_ACCESS => Self::DescriptorTable(DescriptorTableInfo::from_raw(raw)),
            R::LDTR_TR_ACCESS => Self::LdtrTr(LdtrTrInfo::from_raw(raw)),
            R::RDRAND | R::RDSEED | R::UMWAIT | R::TPAUSE => {
                Self::RdrandRdseed(RdrandRdseedInfo::from_raw(raw))
            }
            R::VMCLEAR | R::VMPTRLD | R::VMPTRST | R::VMXON | R::XSAVES | R::XRSTORS => {
                Self::VmxMemory(VmxMemoryInfo::from_raw(raw))
            }
            R::VMREAD | R::VMWRITE => Self::VmreadVmwrite(VmreadVmwriteInfo::from_raw(raw)),
            R::RDMSR_IMMEDIATE | R::WRMSRNS_IMMEDIATE => {
                Self::MsrImmediate(MsrImmediateInfo::from_raw(raw))
            }
            R::LOADIWKEY => Self::Loadiwkey(LoadiwkeyInfo::from_raw(raw)),
            _ => Self::Raw(raw),
        }
    }

    /// The raw field value, whatever the variant.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn raw(self) -> u32 {
        match self {
            Self::InsOuts(v) => v.raw(),
            Self::Invalidation(v) => v.raw(),
            Self::DescriptorTable(v) => v.raw(),
            Self::LdtrTr(v) => v.raw(),
            Self::RdrandRdseed(v) => v.raw(),
            Self::VmxMemory(v) => v.raw(),
            Self::VmreadVmwrite(v) => v.raw(),
            Self::MsrImmediate(v) => v.raw(),
            Self::Loadiwkey(v) => v.raw(),
            Self::Raw(v) => v,
        }
    }
}
