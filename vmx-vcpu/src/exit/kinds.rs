//! The payloads of the VM exits that carry more than a value or two (SDM Vol. 3C §28.2.1
//! "Basic VM-Exit Information", §28.2.2 "Information for VM Exits Due to Vectored Events").

use vmx_defs::exception::ExceptionVector;
use vmx_defs::exit_reason::ExitReason;
use vmx_defs::interruption::InterruptionType;
use vmx_defs::qualification::{
    ApicAccessQualification, ApicAccessType, EptViolationQualification, IoQualification,
};

use super::StringIo;
use crate::regs::Gpr;

/// A VM exit caused by an exception (basic reason 0 with an exception type; SDM §28.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionExit {
    /// The exception vector (bits 7:0 of the VM-exit interruption information, SDM
    /// §28.2.2; format in §25.9.2 Table 25-19).
    pub vector: ExceptionVector,
    /// Interruption type (bits 10:8): hardware exception, privileged software exception
    /// (INT1) or software exception (INT3, INTO); never NMI ([`VmExit::Nmi`](super::VmExit::Nmi)).
    pub interruption_type: InterruptionType,
    /// The error code, when the exception delivered one (bit 11 valid; the VM-exit
    /// interruption error code, SDM §28.2.2).
    pub error_code: Option<u32>,
    /// Exit qualification: the faulting linear address for #PF, DR6-like bits for #DB,
    /// 0 otherwise (SDM §28.2.1).
    pub qualification: u64,
    /// "NMI unblocking due to IRET" (bit 12): the exception happened in an IRET that
    /// unblocked NMIs (SDM §28.2.2).
    pub nmi_unblocking_iret: bool,
    /// Length of the instruction for software exceptions (types 5 and 6); 0 otherwise.
    pub instruction_len: u32,
}

/// An I/O instruction exit (basic reason 30; SDM §28.2.1 Table 28-5; for INS/OUTS also
/// §28.2.1 "guest-linear address" and §28.2.5 Table 28-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoExit {
    /// The port.
    pub port: u16,
    /// Bytes accessed: 1, 2 or 4.
    pub size: u8,
    /// IN/INS (true) or OUT/OUTS (false).
    pub is_in: bool,
    /// INS/OUTS.
    pub string: bool,
    /// REP prefix.
    pub rep: bool,
    /// For a non-string OUT: the value written (RAX masked to `size`).
    pub value: Option<u32>,
    /// For INS/OUTS (`string`): the memory operand, address size, direction and index
    /// register ([`StringIo`]); `None` for IN and OUT.
    pub string_io: Option<StringIo>,
    /// The decoded qualification.
    pub qualification: IoQualification,
}

/// A control-register access exit (basic reason 28; SDM §28.2.1 Table 28-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrAccess {
    /// MOV to CR`cr` from `gpr`; `value` is what the guest tried to write.
    MovTo {
        /// Control register number (0, 3, 4 or 8).
        cr: u8,
        /// Source register.
        gpr: Gpr,
        /// The value written.
        value: u64,
    },
    /// MOV from CR`cr` into `gpr` (CR3 or CR8 store exiting).
    MovFrom {
        /// Control register number (3 or 8).
        cr: u8,
        /// Destination register.
        gpr: Gpr,
    },
    /// CLTS.
    Clts,
    /// LMSW with this 16-bit source operand.
    Lmsw {
        /// Source data (bits 15:0; LMSW uses bits 3:0).
        source: u16,
        /// The operand was in memory (the guest linear address is in the VMCS).
        memory_operand: bool,
    },
}

/// An EPT-violation exit (basic reason 48; SDM §28.2.1 Table 28-7, §29.3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EptViolation {
    /// The guest-physical address accessed.
    pub gpa: u64,
    /// The guest-linear address, when the qualification says it is valid (bit 7).
    pub gla: Option<u64>,
    /// The decoded qualification (access type, permissions...).
    pub qualification: EptViolationQualification,
}

/// An APIC-access exit (basic reason 44; SDM Vol. 3C §30.4 "Virtualizing Memory-Mapped
/// APIC Accesses", the qualification in §28.2.1 Table 28-6). Fault-like: the access did not
/// happen; [`Vcpu::complete_apic_access`](crate::Vcpu::complete_apic_access) moves RIP
/// past an instruction whose data access the caller emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApicAccessExit {
    /// The access type (bits 15:12): a linear read, write or fetch during instruction
    /// execution, a linear access during event delivery, or a guest-physical access during
    /// event delivery or instruction execution.
    pub access: ApicAccessType,
    /// The offset in the APIC-access page (bits 11:0), for linear accesses only (undefined
    /// for guest-physical ones).
    pub offset: Option<u16>,
    /// Whether an instruction's data access caused the exit (access types 0 and 1): the
    /// instruction can be emulated and then skipped.
    pub by_instruction: bool,
    /// The whole qualification.
    pub qualification: ApicAccessQualification,
}

impl ApicAccessExit {
    /// Decodes the exit qualification (total).
    pub const fn from_qualification(raw: u64) -> Self {
        let q = ApicAccessQualification::from_raw(raw);
        let access = q.access_type();
        Self {
            access,
            offset: q.linear_offset(),
            by_instruction: matches!(
                access,
                ApicAccessType::LinearRead | ApicAccessType::LinearWrite
            ),
            qualification: q,
        }
    }
}

/// Register arguments of a VMCALL (the hypercall ABI is the caller's; these are the usual
/// argument registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VmcallArgs {
    /// RAX.
    pub rax: u64,
    /// RBX.
    pub rbx: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// RSI.
    pub rsi: u64,
    /// RDI.
    pub rdi: u64,
}

/// A VM entry that failed after loading guest state began (exit-reason bit 31; SDM §27.8):
/// reason 33 (invalid guest state), 34 (MSR loading) or 41 (machine check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFailure {
    /// The full exit-reason field (bit 31 set).
    pub reason: ExitReason,
    /// Exit qualification: for 33 a code (SDM §27.8: 2 PDPTE load, 3 NMI injection
    /// blocked by STI, 4 invalid VMCS link pointer); for 34 the 1-based index of the MSR
    /// load entry that failed.
    pub qualification: u64,
    /// The software VM-entry checker's summary of what failed (`vmx-entry-check`), filled by
    /// the vCPU when it reports the exit; `None` from the pure decoder, or when the checker
    /// finds nothing (a check it does not model, or an emulator departing from the SDM).
    pub check: Option<crate::error::EntryCheck>,
}
