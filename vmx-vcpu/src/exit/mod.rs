//! Typed VM exits (SDM Vol. 3C ch. 28 "VM Exits": §28.2 "Recording VM-Exit Information";
//! Vol. 3D Appendix C "VMX Basic Exit Reasons").
//!
//! [`decode_exit`] is a pure function from the VM-exit information fields and the saved
//! guest registers to a [`VmExit`]. The VMCS reads go through [`ExitInfoSource`], so tests
//! feed it values and the vCPU feeds it VMREAD; only the fields the exit reason needs are
//! read. Every input decodes without panicking: unknown reasons and reserved encodings give
//! [`VmExit::Other`] with the raw values.
//!
//! Every exit whose information the SDM defines has its own variant, carrying what a
//! hypervisor needs to emulate the instruction or handle the event, and prints as one
//! human-readable line (`Display`).
//!
//! Files: `kinds` (the payloads of the larger exits), `instruction` (the exits described
//! by the instruction-information field), `string_io` (INS/OUTS and their arithmetic),
//! `decode` and `decode_insn` (the decoder), `display` (`Display`), `completion` (the
//! arithmetic of the completion helpers).

mod completion;
mod decode;
mod decode_insn;
mod display;
mod instruction;
mod kinds;
mod string_io;

use vmx_defs::exception::ExceptionVector;
use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::qualification::{
    ExitQualification, MovDrQualification, SipiQualification, TaskSwitchQualification,
};

pub use completion::{
    CS_ACCESS_RIGHTS_L, crosses_4g, merge_in_value, next_rip, records_instruction_length,
};
pub(crate) use decode::decode_entered;
pub use decode::{ExitInfoSource, decode_exit, decode_exit_with_reason};
pub use instruction::{
    DescriptorTableExit, ExitOperand, InvalidationExit, LdtrTrExit, MemoryAddress, RandomExit,
    VmreadVmwriteExit, VmxInstructionExit,
};
pub use kinds::{
    ApicAccessExit, CrAccess, EntryFailure, EptViolation, ExceptionExit, IoExit, VmcallArgs,
};
pub use string_io::{
    STRING_IO_PAGE, StringIo, StringIoStep, address_mask, advance_index, count_after,
    iterations_in_page, string_io_step,
};

/// Why a guest stopped running, decoded from the exit reason (SDM Vol. 3D Appendix C).
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
        /// The vector, if acknowledged on exit (VM-exit interruption information valid).
        vector: Option<ExceptionVector>,
    },
    /// Reason 2: triple fault; the guest cannot continue as it is.
    TripleFault,
    /// Reason 3: INIT signal.
    Init,
    /// Reason 4: start-up IPI; the qualification holds the SIPI vector, and the start
    /// address is vector << 12 (SDM §28.2.1, Vol. 3A §11.6.1).
    Sipi(SipiQualification),
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
    /// Reasons 19-27, 50, 53: a VMX instruction executed by the guest, with its decoded
    /// operands (SDM §28.2.1, §28.2.5). Without nested virtualization the usual answer is
    /// to inject #UD.
    VmxInstruction(VmxInstructionExit),
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
    /// Reason 43: TPR below threshold (SDM Vol. 3C §30.1.2, §27.7.7): with a TPR shadow
    /// and without virtual-interrupt delivery, VTPR\[7:4\] fell below the TPR threshold
    /// (by a guest write, trap-like: RIP is past it, or right after VM entry).
    TprBelowThreshold,
    /// Reason 44: an access to the APIC-access page that is not virtualized (SDM Vol. 3C
    /// §30.4), fault-like, with its decoded qualification.
    ApicAccess(ApicAccessExit),
    /// Reason 45: EOI virtualization of a vector whose EOI-exit bitmap bit is set (SDM Vol.
    /// 3C §30.1.4), trap-like: VISR, SVI and VPPR are already updated.
    VirtualizedEoi {
        /// The vector whose EOI was virtualized (qualification bits 7:0).
        vector: u8,
    },
    /// Reason 46: LGDT, LIDT, SGDT or SIDT with "descriptor-table exiting" (SDM §28.2.5).
    DescriptorTable(DescriptorTableExit),
    /// Reason 47: LLDT, LTR, SLDT or STR with "descriptor-table exiting" (SDM §28.2.5).
    LdtrTr(LdtrTrExit),
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
    /// Reason 56: APIC write (SDM Vol. 3C §30.4.3.3, §30.5), trap-like: the guest wrote a
    /// register of the virtual-APIC page that the processor leaves to the hypervisor (the
    /// value is in the page).
    ApicWrite {
        /// The register's offset in the virtual-APIC page (qualification bits 11:0).
        offset: u16,
    },
    /// Reason 57: RDRAND with "RDRAND exiting" (SDM §28.2.5).
    Rdrand(RandomExit),
    /// Reason 58: INVPCID with "enable INVPCID" and "INVLPG exiting" (SDM §28.2.5).
    Invpcid(InvalidationExit),
    /// Reason 59: VMFUNC of a function that is not enabled or that failed (SDM §26.5.6).
    Vmfunc {
        /// EAX: the VM function number.
        function: u32,
        /// ECX: the function's argument (the EPTP index for function 0, EPTP switching).
        argument: u32,
    },
    /// Reason 61: RDSEED with "RDSEED exiting" (SDM §28.2.5).
    Rdseed(RandomExit),
    /// Any other reason (or a malformed one), with the qualification decoded as far as
    /// vmx-defs knows its format.
    Other {
        /// The full exit-reason field.
        reason: ExitReason,
        /// The exit qualification.
        qualification: ExitQualification,
    },
}

impl VmExit {
    /// The basic exit reason this exit was decoded from (SDM Vol. 3D Appendix C): the
    /// number a caller counts exits by. [`VmExit::Nmi`] and [`VmExit::Exception`] share
    /// reason 0; [`VmExit::EntryFailure`] and [`VmExit::Other`] give the reason they carry.
    pub const fn reason(&self) -> BasicExitReason {
        match self {
            Self::Exception(_) | Self::Nmi { .. } => BasicExitReason::EXCEPTION_OR_NMI,
            Self::ExternalInterrupt { .. } => BasicExitReason::EXTERNAL_INTERRUPT,
            Self::TripleFault => BasicExitReason::TRIPLE_FAULT,
            Self::Init => BasicExitReason::INIT_SIGNAL,
            Self::Sipi(_) => BasicExitReason::STARTUP_IPI,
            Self::InterruptWindow => BasicExitReason::INTERRUPT_WINDOW,
            Self::NmiWindow => BasicExitReason::NMI_WINDOW,
            Self::TaskSwitch(_) => BasicExitReason::TASK_SWITCH,
            Self::Cpuid { .. } => BasicExitReason::CPUID,
            Self::Getsec => BasicExitReason::GETSEC,
            Self::Hlt => BasicExitReason::HLT,
            Self::Invd => BasicExitReason::INVD,
            Self::Invlpg { .. } => BasicExitReason::INVLPG,
            Self::Rdpmc { .. } => BasicExitReason::RDPMC,
            Self::Rdtsc => BasicExitReason::RDTSC,
            Self::Vmcall(_) => BasicExitReason::VMCALL,
            Self::VmxInstruction(i) => i.reason(),
            Self::CrAccess(_) => BasicExitReason::CONTROL_REGISTER_ACCESS,
            Self::MovDr(_) => BasicExitReason::MOV_DR,
            Self::Io(_) => BasicExitReason::IO_INSTRUCTION,
            Self::Rdmsr { .. } => BasicExitReason::RDMSR,
            Self::Wrmsr { .. } => BasicExitReason::WRMSR,
            Self::EntryFailure(f) => f.reason.basic(),
            Self::Mwait => BasicExitReason::MWAIT,
            Self::MonitorTrapFlag => BasicExitReason::MONITOR_TRAP_FLAG,
            Self::Monitor => BasicExitReason::MONITOR,
            Self::Pause => BasicExitReason::PAUSE,
            Self::TprBelowThreshold => BasicExitReason::TPR_BELOW_THRESHOLD,
            Self::ApicAccess(_) => BasicExitReason::APIC_ACCESS,
            Self::VirtualizedEoi { .. } => BasicExitReason::VIRTUALIZED_EOI,
            Self::ApicWrite { .. } => BasicExitReason::APIC_WRITE,
            Self::DescriptorTable(_) => BasicExitReason::GDTR_IDTR_ACCESS,
            Self::LdtrTr(_) => BasicExitReason::LDTR_TR_ACCESS,
            Self::EptViolation(_) => BasicExitReason::EPT_VIOLATION,
            Self::EptMisconfiguration { .. } => BasicExitReason::EPT_MISCONFIGURATION,
            Self::Rdtscp => BasicExitReason::RDTSCP,
            Self::PreemptionTimer => BasicExitReason::VMX_PREEMPTION_TIMER_EXPIRED,
            Self::Wbinvd => BasicExitReason::WBINVD,
            Self::Xsetbv { .. } => BasicExitReason::XSETBV,
            Self::Rdrand(_) => BasicExitReason::RDRAND,
            Self::Invpcid(_) => BasicExitReason::INVPCID,
            Self::Vmfunc { .. } => BasicExitReason::VMFUNC,
            Self::Rdseed(_) => BasicExitReason::RDSEED,
            Self::Other { reason, .. } => reason.basic(),
        }
    }
}
