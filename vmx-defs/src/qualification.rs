//! Decoded exit qualifications (VMCS field 0x6400, `EXIT_QUALIFICATION`).
//!
//! For many VM exits the processor stores additional information about the cause in the
//! exit-qualification field (SDM Vol. 3C §28.2.1, "Basic VM-Exit Information", Tables
//! 28-1 to 28-7). Its format depends on the exit reason; there is one type per format, and
//! [`ExitQualification::decode`] picks it from the basic exit reason.
//!
//! Every decoder is total: any `u64` decodes, and `raw()` gives it back unchanged. Bits the
//! SDM does not define are kept in the raw value and ignored by the accessors.

/// Generates the raw-value plumbing of a qualification newtype over `u64`.
macro_rules! impl_raw {
    ($t:ident) => {
        impl $t {
            /// Wraps a raw exit-qualification value. Total: every value is accepted.
            ///
            /// SDM Vol. 3C §28.2.1.
            pub const fn from_raw(raw: u64) -> Self {
                Self(raw)
            }

            /// The raw exit-qualification value, unchanged.
            ///
            /// SDM Vol. 3C §28.2.1.
            pub const fn raw(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $t {
            fn from(raw: u64) -> Self {
                Self::from_raw(raw)
            }
        }

        impl From<$t> for u64 {
            fn from(value: $t) -> u64 {
                value.raw()
            }
        }
    };
}
use impl_raw;

mod apic_access;
mod apic_write;
mod cr_access;
mod debug_exception;
mod displacement;
mod display;
mod entry_failure;
mod ept_violation;
mod instruction_timeout;
mod io;
mod linear_address;
mod mov_dr;
mod msr_immediate;
mod msr_load_failure;
mod mwait;
mod pml_full;
mod sipi;
mod spp;
mod task_switch;
mod virtualized_eoi;
mod wrmsr;

pub use apic_access::{ApicAccessQualification, ApicAccessType};
pub use apic_write::ApicWriteQualification;
pub use cr_access::{CrAccessQualification, CrAccessType, LmswOperandType};
pub use debug_exception::DebugExceptionQualification;
pub use displacement::DisplacementQualification;
pub use entry_failure::{EntryFailureCode, EntryFailureQualification};
pub use ept_violation::{EptAdvancedInfo, EptLinearAccess, EptViolationQualification};
pub use instruction_timeout::InstructionTimeoutQualification;
pub use io::{IoDirection, IoOperandEncoding, IoQualification, IoSize};
pub use linear_address::LinearAddressQualification;
pub use mov_dr::{MovDrDirection, MovDrQualification};
pub use msr_immediate::MsrImmediateQualification;
pub use msr_load_failure::MsrLoadFailureQualification;
pub use mwait::MwaitQualification;
pub use pml_full::PmlFullQualification;
pub use sipi::SipiQualification;
pub use spp::{SppEvent, SppQualification};
pub use task_switch::{TaskSwitchQualification, TaskSwitchSource};
pub use virtualized_eoi::VirtualizedEoiQualification;
pub use wrmsr::{WrmsrInstruction, WrmsrQualification};

use crate::exit_reason::BasicExitReason;

/// Bits `high:low` (inclusive, `low <= high <= 63`) of `raw`, shifted down.
pub(crate) const fn bits(raw: u64, low: u32, high: u32) -> u64 {
    (raw >> low) & (u64::MAX >> (63 - (high - low)))
}

/// Bit `n` (`n <= 63`) of `raw`.
pub(crate) const fn bit(raw: u64, n: u32) -> bool {
    (raw >> n) & 1 != 0
}

/// Exception vector of a debug exception (#DB).
const VECTOR_DB: u8 = 1;
/// Exception vector of a page fault (#PF).
const VECTOR_PF: u8 = 14;

/// An exit qualification decoded according to the cause of the VM exit
/// (SDM Vol. 3C §28.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitQualification {
    /// Debug exception (reason 0 with vector 1), Table 28-1.
    DebugException(DebugExceptionQualification),
    /// Page fault (reason 0 with vector 14): the faulting linear address.
    PageFault(LinearAddressQualification),
    /// Start-up IPI (reason 4): the SIPI vector.
    Sipi(SipiQualification),
    /// I/O SMI (reason 5): the I/O instruction retired just before the SMI, Table 28-5.
    IoSmi(IoQualification),
    /// Task switch (reason 9), Table 28-2.
    TaskSwitch(TaskSwitchQualification),
    /// INVLPG (reason 14): the linear-address operand.
    Invlpg(LinearAddressQualification),
    /// Instructions with a memory operand described by the instruction-information field
    /// (reasons 19, 21, 22, 23, 25, 27, 46, 47, 50, 53, 58, 63, 64): the displacement.
    Displacement(DisplacementQualification),
    /// Control-register access (reason 28), Table 28-3.
    CrAccess(CrAccessQualification),
    /// MOV DR (reason 29), Table 28-4.
    MovDr(MovDrQualification),
    /// I/O instruction (reason 30), Table 28-5.
    Io(IoQualification),
    /// WRMSR / WRMSRNS (reason 32).
    Wrmsr(WrmsrQualification),
    /// VM-entry failure due to invalid guest state (reason 33).
    EntryFailure(EntryFailureQualification),
    /// VM-entry failure due to MSR loading (reason 34).
    MsrLoadFailure(MsrLoadFailureQualification),
    /// MWAIT (reason 36).
    Mwait(MwaitQualification),
    /// APIC access (reason 44), Table 28-6.
    ApicAccess(ApicAccessQualification),
    /// Virtualized EOI (reason 45).
    VirtualizedEoi(VirtualizedEoiQualification),
    /// EPT violation (reason 48), Table 28-7.
    EptViolation(EptViolationQualification),
    /// APIC write (reason 56).
    ApicWrite(ApicWriteQualification),
    /// Page-modification log full (reason 62).
    PmlFull(PmlFullQualification),
    /// SPP-related event (reason 66).
    Spp(SppQualification),
    /// Instruction timeout (reason 75).
    InstructionTimeout(InstructionTimeoutQualification),
    /// RDMSR / WRMSRNS with immediate (reasons 84, 85).
    MsrImmediate(MsrImmediateQualification),
    /// A reason whose exit qualification is not defined (or not known to this crate),
    /// including exceptions other than #DB and #PF and EPT misconfigurations.
    Raw(u64),
}

impl ExitQualification {
    /// Decodes `raw` in the format used for `basic_exit_reason` (bits 15:0 of the exit-reason
    /// field). For reason 0 (exception or NMI) the format depends on the vector, which this
    /// function does not know: it gives [`Raw`](Self::Raw); use
    /// [`decode_exception`](Self::decode_exception) instead. Total.
    ///
    /// ```
    /// use vmx_defs::qualification::{ExitQualification, IoDirection};
    ///
    /// // Reason 30 (I/O instruction): `in al, 0x60`: 1 byte, IN, immediate port 0x60.
    /// let ExitQualification::Io(io) = ExitQualification::decode(30, 0x0060_0048) else {
    ///     panic!("reason 30 decodes as an I/O qualification");
    /// };
    /// assert_eq!((io.port(), io.direction(), io.size().bytes()), (0x60, IoDirection::In, Some(1)));
    /// // An exit reason this crate does not know keeps the raw value.
    /// assert_eq!(ExitQualification::decode(0xffff, 7).raw(), 7);
    /// ```
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn decode(basic_exit_reason: u16, raw: u64) -> ExitQualification {
        Self::decode_reason(BasicExitReason(basic_exit_reason), raw)
    }

    /// [`decode`](Self::decode) for a typed [`BasicExitReason`]. Total.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn decode_reason(reason: BasicExitReason, raw: u64) -> ExitQualification {
        type R = BasicExitReason;
        match reason {
            R::STARTUP_IPI => Self::Sipi(SipiQualification::from_raw(raw)),
            R::IO_SMI => Self::IoSmi(IoQualification::from_raw(raw)),
            R::TASK_SWITCH => Self::TaskSwitch(TaskSwitchQualification::from_raw(raw)),
            R::INVLPG => Self::Invlpg(LinearAddressQualification::from_raw(raw)),
            R::VMCLEAR
            | R::VMPTRLD
            | R::VMPTRST
            | R::VMREAD
            | R::VMWRITE
            | R::VMXON
            | R::GDTR_IDTR_ACCESS
            | R::LDTR_TR_ACCESS
            | R::INVEPT
            | R::INVVPID
            | R::INVPCID
            | R::XSAVES
            | R::XRSTORS => Self::Displacement(DisplacementQualification::from_raw(raw)),
            R::CONTROL_REGISTER_ACCESS => Self::CrAccess(CrAccessQualification::from_raw(raw)),
            R::MOV_DR => Self::MovDr(MovDrQualification::from_raw(raw)),
            R::IO_INSTRUCTION => Self::Io(IoQualification::from_raw(raw)),
            R::WRMSR => Self::Wrmsr(WrmsrQualification::from_raw(raw)),
            R::VM_ENTRY_FAILURE_INVALID_GUEST_STATE => {
                Self::EntryFailure(EntryFailureQualification::from_raw(raw))
            }
            R::VM_ENTRY_FAILURE_MSR_LOADING => {
                Self::MsrLoadFailure(MsrLoadFailureQualification::from_raw(raw))
            }
            R::MWAIT => Self::Mwait(MwaitQualification::from_raw(raw)),
            R::APIC_ACCESS => Self::ApicAccess(ApicAccessQualification::from_raw(raw)),
            R::VIRTUALIZED_EOI => Self::VirtualizedEoi(VirtualizedEoiQualification::from_raw(raw)),
            R::EPT_VIOLATION => Self::EptViolation(EptViolationQualification::from_raw(raw)),
            R::APIC_WRITE => Self::ApicWrite(ApicWriteQualification::from_raw(raw)),
            R::PAGE_MODIFICATION_LOG_FULL => Self::PmlFull(PmlFullQualification::from_raw(raw)),
            R::SPP_RELATED_EVENT => Self::Spp(SppQualification::from_raw(raw)),
            R::INSTRUCTION_TIMEOUT => {
                Self::InstructionTimeout(InstructionTimeoutQualification::from_raw(raw))
            }
            R::RDMSR_IMMEDIATE | R::WRMSRNS_IMMEDIATE => {
                Self::MsrImmediate(MsrImmediateQualification::from_raw(raw))
            }
            _ => Self::Raw(raw),
        }
    }

    /// Decodes the exit qualification of an exception VM exit (basic exit reason 0) given
    /// the vector from the VM-exit interruption-information field: #DB (1) and #PF (14)
    /// have a defined qualification (SDM Vol. 3C §28.2.1), every other vector and NMI give
    /// [`Raw`](Self::Raw). Total.
    pub const fn decode_exception(vector: u8, raw: u64) -> ExitQualification {
        match vector {
            VECTOR_DB => Self::DebugException(DebugExceptionQualification::from_raw(raw)),
            VECTOR_PF => Self::PageFault(LinearAddressQualification::from_raw(raw)),
            _ => Self::Raw(raw),
        }
    }

    /// The raw exit-qualification value, whatever the variant.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn raw(self) -> u64 {
        match self {
            Self::DebugException(q) => q.raw(),
            Self::PageFault(q) | Self::Invlpg(q) => q.raw(),
            Self::Sipi(q) => q.raw(),
            Self::IoSmi(q) | Self::Io(q) => q.raw(),
            Self::TaskSwitch(q) => q.raw(),
            Self::Displacement(q) => q.raw(),
            Self::CrAccess(q) => q.raw(),
            Self::MovDr(q) => q.raw(),
            Self::Wrmsr(q) => q.raw(),
            Self::EntryFailure(q) => q.raw(),
            Self::MsrLoadFailure(q) => q.raw(),
            Self::Mwait(q) => q.raw(),
            Self::ApicAccess(q) => q.raw(),
            Self::VirtualizedEoi(q) => q.raw(),
            Self::EptViolation(q) => q.raw(),
            Self::ApicWrite(q) => q.raw(),
            Self::PmlFull(q) => q.raw(),
            Self::Spp(q) => q.raw(),
            Self::InstructionTimeout(q) => q.raw(),
            Self::MsrImmediate(q) => q.raw(),
            Self::Raw(raw) => raw,
        }
    }
}
