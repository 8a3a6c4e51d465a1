//! Typed VM exits (SDM Vol. 3C ch. 28 "VM Exits": §28.2 "Recording VM-Exit Information";
//! Appendix C "VMX Basic Exit Reasons").
//!
//! [`decode_exit`] is a pure function from the VM-exit information fields and the saved
//! guest registers to a [`VmExit`]. The VMCS reads go through [`ExitInfoSource`], so tests
//! feed it values and the vCPU feeds it VMREAD; only the fields the exit reason needs are
//! read. Every input decodes without panicking: unknown reasons and reserved encodings give
//! [`VmExit::Other`] with the raw values.

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::instruction_info::Gpr;
use vmx_defs::qualification::{
    CrAccessQualification, CrAccessType, EptViolationQualification, ExitQualification, IoDirection,
    IoQualification, MovDrQualification, TaskSwitchQualification,
};
use vmx_defs::vmcs::fields;

use crate::event::{
    INTERRUPTION_INFO_ERROR_CODE, INTERRUPTION_INFO_NMI_UNBLOCKING, INTERRUPTION_INFO_VALID,
};
use crate::regs::GuestRegisters;

/// Read access to the VMCS fields a VM exit is decoded from.
///
/// Implemented by the vCPU with VMREAD on the current VMCS, and by tests with a table.
pub trait ExitInfoSource {
    /// The value of the field with raw encoding `encoding`, zero-extended; 0 if the field
    /// cannot be read.
    fn read_field(&mut self, encoding: u32) -> u64;
}

/// A VM exit caused by an exception (basic reason 0 with an exception type; SDM §28.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionExit {
    /// The exception vector.
    pub vector: u8,
    /// Interruption type from the exit interruption information: 3 hardware exception,
    /// 5 privileged software exception (INT1), 6 software exception (INT3, INTO).
    pub interruption_type: u8,
    /// The error code, when the exception delivered one (bit 11).
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

/// An I/O instruction exit (basic reason 30; SDM §28.2.1 Table 28-5).
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
}

/// Why a guest stopped running, decoded from the exit reason (SDM Appendix C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VmExit {
    /// Reason 0: an exception whose exception-bitmap bit is set.
    Exception(ExceptionExit),
    /// Reason 0 with interruption type NMI: an NMI arrived and "NMI exiting" is 1.
    Nmi {
        /// "NMI unblocking due to IRET".
        nmi_unblocking_iret: bool,
    },
    /// Reason 1: an external interrupt; the vector is known when "acknowledge interrupt on
    /// exit" is 1 (SDM §28.2.2).
    ExternalInterrupt {
        /// The vector, if acknowledged on exit.
        vector: Option<u8>,
    },
    /// Reason 2: triple fault; the guest cannot continue as it is.
    TripleFault,
    /// Reason 3: INIT signal.
    Init,
    /// Reason 4: start-up IPI with this vector (start address vector << 12).
    Sipi {
        /// The SIPI vector.
        vector: u8,
    },
    /// Reason 7: the guest can take an external interrupt.
    InterruptWindow,
    /// Reason 8: the guest can take an NMI.
    NmiWindow,
    /// Reason 9: task switch.
    TaskSwitch(TaskSwitchQualification),
    /// Reason 10: CPUID with EAX = `leaf`, ECX = `subleaf`.
    Cpuid {
        /// EAX.
        leaf: u32,
        /// ECX.
        subleaf: u32,
    },
    /// Reason 11: GETSEC.
    Getsec,
    /// Reason 12: HLT.
    Hlt,
    /// Reason 13: INVD.
    Invd,
    /// Reason 14: INVLPG of `address`.
    Invlpg {
        /// The linear-address operand.
        address: u64,
    },
    /// Reason 15: RDPMC of counter ECX.
    Rdpmc {
        /// ECX.
        counter: u32,
    },
    /// Reason 16: RDTSC.
    Rdtsc,
    /// Reason 18: VMCALL.
    Vmcall(VmcallArgs),
    /// Reasons 19-27, 50, 53: a VMX instruction executed by the guest (the usual answer is
    /// to inject #UD).
    VmxInstruction {
        /// Which instruction.
        reason: BasicExitReason,
    },
    /// Reason 28: control-register access.
    CrAccess(CrAccess),
    /// Reason 29: MOV DR.
    MovDr(MovDrQualification),
    /// Reason 30: I/O instruction.
    Io(IoExit),
    /// Reason 31: RDMSR of `msr` (ECX).
    Rdmsr {
        /// ECX.
        msr: u32,
    },
    /// Reason 32: WRMSR of `value` (EDX:EAX) to `msr` (ECX).
    Wrmsr {
        /// ECX.
        msr: u32,
        /// EDX:EAX.
        value: u64,
    },
    /// Reasons 33, 34, 41 with bit 31: the VM entry failed (guest state not loaded or
    /// partly loaded; SDM §27.8).
    EntryFailure(EntryFailure),
    /// Reason 36: MWAIT.
    Mwait,
    /// Reason 37: monitor trap flag.
    MonitorTrapFlag,
    /// Reason 39: MONITOR.
    Monitor,
    /// Reason 40: PAUSE.
    Pause,
    /// Reason 48: EPT violation.
    EptViolation(EptViolation),
    /// Reason 49: EPT misconfiguration at this guest-physical address.
    EptMisconfiguration {
        /// The guest-physical address.
        gpa: u64,
    },
    /// Reason 51: RDTSCP.
    Rdtscp,
    /// Reason 52: the VMX-preemption timer counted down to zero.
    PreemptionTimer,
    /// Reason 54: WBINVD / WBNOINVD.
    Wbinvd,
    /// Reason 55: XSETBV of `value` (EDX:EAX) to XCR `index` (ECX).
    Xsetbv {
        /// ECX.
        index: u32,
        /// EDX:EAX.
        value: u64,
    },
    /// Any other reason (or a malformed one), with the qualification decoded as far as
    /// vmx-defs knows its format.
    Other {
        /// The full exit-reason field.
        reason: ExitReason,
        /// The exit qualification.
        qualification: ExitQualification,
    },
}

const fn edx_eax(regs: &GuestRegisters) -> u64 {
    ((regs.rdx & 0xFFFF_FFFF) << 32) | (regs.rax & 0xFFFF_FFFF)
}

fn gpr_value(src: &mut impl ExitInfoSource, regs: &GuestRegisters, gpr: Gpr) -> u64 {
    match regs.get(gpr) {
        Some(v) => v,
        None => src.read_field(fields::GUEST_RSP.raw()),
    }
}

/// Decodes the current VM exit (SDM §28.2). Reads the exit-reason field, then only the
/// fields that reason uses. Total: never panics.
pub fn decode_exit(src: &mut impl ExitInfoSource, regs: &GuestRegisters) -> VmExit {
    let reason = ExitReason(src.read_field(fields::EXIT_REASON.raw()) as u32);
    decode_exit_with_reason(reason, src, regs)
}

/// [`decode_exit`] with the exit-reason field already read.
#[inline]
pub fn decode_exit_with_reason(
    reason: ExitReason,
    src: &mut impl ExitInfoSource,
    regs: &GuestRegisters,
) -> VmExit {
    let basic = reason.basic();
    if reason.is_entry_failure() {
        return VmExit::EntryFailure(EntryFailure {
            reason,
            qualification: src.read_field(fields::EXIT_QUALIFICATION.raw()),
        });
    }
    let mut qualification = || src.read_field(fields::EXIT_QUALIFICATION.raw());
    match basic {
        BasicExitReason::EXCEPTION_OR_NMI => decode_exception(reason, src),
        BasicExitReason::EXTERNAL_INTERRUPT => {
            let info = src.read_field(fields::EXIT_INTERRUPTION_INFO.raw()) as u32;
            VmExit::ExternalInterrupt {
                vector: (info & INTERRUPTION_INFO_VALID != 0).then_some((info & 0xFF) as u8),
            }
        }
        BasicExitReason::TRIPLE_FAULT => VmExit::TripleFault,
        BasicExitReason::INIT_SIGNAL => VmExit::Init,
        BasicExitReason::STARTUP_IPI => VmExit::Sipi {
            vector: (qualification() & 0xFF) as u8,
        },
        BasicExitReason::INTERRUPT_WINDOW => VmExit::InterruptWindow,
        BasicExitReason::NMI_WINDOW => VmExit::NmiWindow,
        BasicExitReason::TASK_SWITCH => {
            VmExit::TaskSwitch(TaskSwitchQualification::from_raw(qualification()))
        }
        BasicExitReason::CPUID => VmExit::Cpuid {
            leaf: regs.rax as u32,
            subleaf: regs.rcx as u32,
        },
        BasicExitReason::GETSEC => VmExit::Getsec,
        BasicExitReason::HLT => VmExit::Hlt,
        BasicExitReason::INVD => VmExit::Invd,
        BasicExitReason::INVLPG => VmExit::Invlpg {
            address: qualification(),
        },
        BasicExitReason::RDPMC => VmExit::Rdpmc {
            counter: regs.rcx as u32,
        },
        BasicExitReason::RDTSC => VmExit::Rdtsc,
        BasicExitReason::VMCALL => VmExit::Vmcall(VmcallArgs {
            rax: regs.rax,
            rbx: regs.rbx,
            rcx: regs.rcx,
            rdx: regs.rdx,
            rsi: regs.rsi,
            rdi: regs.rdi,
        }),
        BasicExitReason::VMCLEAR
        | BasicExitReason::VMLAUNCH
        | BasicExitReason::VMPTRLD
        | BasicExitReason::VMPTRST
        | BasicExitReason::VMREAD
        | BasicExitReason::VMRESUME
        | BasicExitReason::VMWRITE
        | BasicExitReason::VMXOFF
        | BasicExitReason::VMXON
        | BasicExitReason::INVEPT
        | BasicExitReason::INVVPID => VmExit::VmxInstruction { reason: basic },
        BasicExitReason::CONTROL_REGISTER_ACCESS => {
            let q = CrAccessQualification::from_raw(qualification());
            let cr = q.cr_number();
            VmExit::CrAccess(match q.access_type() {
                CrAccessType::MovToCr => CrAccess::MovTo {
                    cr,
                    gpr: q.gpr(),
                    value: gpr_value(src, regs, q.gpr()),
                },
                CrAccessType::MovFromCr => CrAccess::MovFrom { cr, gpr: q.gpr() },
                CrAccessType::Clts => CrAccess::Clts,
                CrAccessType::Lmsw => CrAccess::Lmsw {
                    source: q.lmsw_source_data(),
                    memory_operand: matches!(
                        q.lmsw_operand_type(),
                        vmx_defs::qualification::LmswOperandType::Memory
                    ),
                },
            })
        }
        BasicExitReason::MOV_DR => VmExit::MovDr(MovDrQualification::from_raw(qualification())),
        BasicExitReason::IO_INSTRUCTION => {
            let raw = qualification();
            let q = IoQualification::from_raw(raw);
            match q.size().bytes() {
                Some(size) => {
                    let is_in = q.direction() == IoDirection::In;
                    let string = q.is_string();
                    let mask = match size {
                        1 => 0xFF,
                        2 => 0xFFFF,
                        _ => 0xFFFF_FFFF,
                    };
                    VmExit::Io(IoExit {
                        port: q.port(),
                        size,
                        is_in,
                        string,
                        rep: q.is_rep(),
                        value: (!is_in && !string).then_some(regs.rax as u32 & mask),
                        qualification: q,
                    })
                }
                None => VmExit::Other {
                    reason,
                    qualification: ExitQualification::Io(q),
                },
            }
        }
        BasicExitReason::RDMSR => VmExit::Rdmsr {
            msr: regs.rcx as u32,
        },
        BasicExitReason::WRMSR => VmExit::Wrmsr {
            msr: regs.rcx as u32,
            value: edx_eax(regs),
        },
        BasicExitReason::MWAIT => VmExit::Mwait,
        BasicExitReason::MONITOR_TRAP_FLAG => VmExit::MonitorTrapFlag,
        BasicExitReason::MONITOR => VmExit::Monitor,
        BasicExitReason::PAUSE => VmExit::Pause,
        BasicExitReason::EPT_VIOLATION => {
            let q = EptViolationQualification::from_raw(qualification());
            let gpa = src.read_field(fields::EXIT_GUEST_PHYSICAL_ADDRESS.raw());
            let gla = q
                .guest_linear_address_valid()
                .then(|| src.read_field(fields::EXIT_GUEST_LINEAR_ADDRESS.raw()));
            VmExit::EptViolation(EptViolation {
                gpa,
                gla,
                qualification: q,
            })
        }
        BasicExitReason::EPT_MISCONFIGURATION => VmExit::EptMisconfiguration {
            gpa: src.read_field(fields::EXIT_GUEST_PHYSICAL_ADDRESS.raw()),
        },
        BasicExitReason::RDTSCP => VmExit::Rdtscp,
        BasicExitReason::VMX_PREEMPTION_TIMER_EXPIRED => VmExit::PreemptionTimer,
        BasicExitReason::WBINVD => VmExit::Wbinvd,
        BasicExitReason::XSETBV => VmExit::Xsetbv {
            index: regs.rcx as u32,
            value: edx_eax(regs),
        },
        other => VmExit::Other {
            reason,
            qualification: ExitQualification::decode(other.number(), qualification()),
        },
    }
}

fn decode_exception(reason: ExitReason, src: &mut impl ExitInfoSource) -> VmExit {
    let info = src.read_field(fields::EXIT_INTERRUPTION_INFO.raw()) as u32;
    let vector = (info & 0xFF) as u8;
    let ty = ((info >> 8) & 7) as u8;
    let nmi_unblocking_iret = info & INTERRUPTION_INFO_NMI_UNBLOCKING != 0;
    if info & INTERRUPTION_INFO_VALID == 0 {
        return VmExit::Other {
            reason,
            qualification: ExitQualification::Raw(src.read_field(fields::EXIT_QUALIFICATION.raw())),
        };
    }
    if ty == 2 {
        return VmExit::Nmi {
            nmi_unblocking_iret,
        };
    }
    let error_code = (info & INTERRUPTION_INFO_ERROR_CODE != 0)
        .then(|| src.read_field(fields::EXIT_INTERRUPTION_ERROR_CODE.raw()) as u32);
    let instruction_len = if matches!(ty, 5 | 6) {
        src.read_field(fields::EXIT_INSTRUCTION_LENGTH.raw()) as u32
    } else {
        0
    };
    VmExit::Exception(ExceptionExit {
        vector,
        interruption_type: ty,
        error_code,
        qualification: src.read_field(fields::EXIT_QUALIFICATION.raw()),
        nmi_unblocking_iret,
        instruction_len,
    })
}
