//! Decoding a VM exit from the exit-information fields and the saved guest registers (SDM
//! Vol. 3C §28.2 "Recording VM-Exit Information and Updating VM-Entry Control Fields").

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::instruction_info::{InsOutsInfo, SegmentRegister};
use vmx_defs::interruption::{ExitInterruptionInfo, InterruptionType};
use vmx_defs::qualification::{
    CrAccessQualification, CrAccessType, EptViolationQualification, ExitQualification, IoDirection,
    IoQualification, LmswOperandType, MovDrQualification, SipiQualification,
    TaskSwitchQualification,
};
use vmx_defs::vmcs::fields;

use super::decode_insn::decode_instruction_info_exit;
use super::{
    ApicAccessExit, CrAccess, EntryFailure, EptViolation, ExceptionExit, IoExit, StringIo, VmExit,
    VmcallArgs,
};
use crate::regs::{Gpr, GuestRegisters};

/// Read access to the VMCS fields a VM exit is decoded from.
///
/// Implemented by the vCPU with VMREAD on the current VMCS, and by tests with a table.
pub trait ExitInfoSource {
    /// The value of the field with raw encoding `encoding`, zero-extended; 0 if the field
    /// cannot be read.
    fn read_field(&mut self, encoding: u32) -> u64;

    /// Whether the processor writes the VM-exit instruction-information field for INS and
    /// OUTS exits: IA32_VMX_BASIC bit 54 (SDM Vol. 3D §A.1, Vol. 3C §28.2.5). When false,
    /// [`StringIo::address_size`] and the OUTS [`StringIo::segment`] are `None`.
    ///
    /// The default is `true`: bit 54 is 1 on the processors this crate targets.
    /// `Vcpu::complete_string_io` checks the bit itself and refuses to complete without
    /// it.
    fn ins_outs_info_reported(&self) -> bool {
        true
    }
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
///
/// Always inlined: the exits decoded from the saved registers alone cost a compare each,
/// and a caller's `match` on the result folds into this one. Reasons that read VMCS fields
/// and build larger values are decoded out of line.
#[inline(always)]
pub fn decode_exit_with_reason(
    reason: ExitReason,
    src: &mut impl ExitInfoSource,
    regs: &GuestRegisters,
) -> VmExit {
    if reason.is_entry_failure() {
        return decode_entry_failure(reason, src);
    }
    decode_entered(reason, src, regs)
}

/// [`decode_exit_with_reason`] with the VM-entry-failure test (bit 31) moved out of line:
/// the inline match keeps bit 31, so no failed entry matches the five reasons decoded
/// inline, [`decode_other_reason`] tests it, and the common exits pay nothing for it.
#[inline(always)]
pub(crate) fn decode_entered(
    reason: ExitReason,
    src: &mut impl ExitInfoSource,
    regs: &GuestRegisters,
) -> VmExit {
    // CPUID first, compared as the whole 32-bit field (no flag bits set, the usual case):
    // the most frequent exit of common guests costs one compare, which the compiler
    // cannot merge into the multi-way branch below (that one tests the 16-bit basic
    // reason and still decodes CPUID with flag bits set). Every other reason pays this
    // one compare.
    if reason.0 == u32::from(BasicExitReason::CPUID.0) {
        return VmExit::Cpuid {
            leaf: regs.rax as u32,
            subleaf: regs.rcx as u32,
        };
    }
    // The basic reason with bit 31 kept: a failed entry never matches one of the five
    // reasons decoded inline, whatever basic reason it carries (the SDM lists 33, 34 and
    // 41, but a processor or emulator reporting another must not be mistaken for a true
    // exit of that reason), and reaches `decode_other_reason`, which decodes it as
    // `EntryFailure`. Same cost as masking to the 16-bit basic reason.
    match reason.0 & (ExitReason::VM_ENTRY_FAILURE | 0xFFFF) {
        INLINE_CPUID => VmExit::Cpuid {
            leaf: regs.rax as u32,
            subleaf: regs.rcx as u32,
        },
        INLINE_RDMSR => VmExit::Rdmsr {
            msr: regs.rcx as u32,
        },
        INLINE_WRMSR => VmExit::Wrmsr {
            msr: regs.rcx as u32,
            value: edx_eax(regs),
        },
        INLINE_HLT => VmExit::Hlt,
        INLINE_VMCALL => VmExit::Vmcall(VmcallArgs {
            rax: regs.rax,
            rbx: regs.rbx,
            rcx: regs.rcx,
            rdx: regs.rdx,
            rsi: regs.rsi,
            rdi: regs.rdi,
        }),
        _ => decode_other_reason(reason, src, regs),
    }
}

/// The five basic reasons `decode_entered` decodes inline, as 32-bit exit-reason values.
const INLINE_CPUID: u32 = BasicExitReason::CPUID.0 as u32;
const INLINE_RDMSR: u32 = BasicExitReason::RDMSR.0 as u32;
const INLINE_WRMSR: u32 = BasicExitReason::WRMSR.0 as u32;
const INLINE_HLT: u32 = BasicExitReason::HLT.0 as u32;
const INLINE_VMCALL: u32 = BasicExitReason::VMCALL.0 as u32;

#[cold]
#[inline(never)]
fn decode_entry_failure(reason: ExitReason, src: &mut impl ExitInfoSource) -> VmExit {
    VmExit::EntryFailure(EntryFailure {
        reason,
        qualification: src.read_field(fields::EXIT_QUALIFICATION.raw()),
        check: None,
    })
}

/// Every reason but the five decoded inline (CPUID, RDMSR, WRMSR, HLT, VMCALL).
#[cold]
#[inline(never)]
fn decode_other_reason(
    reason: ExitReason,
    src: &mut impl ExitInfoSource,
    regs: &GuestRegisters,
) -> VmExit {
    if reason.is_entry_failure() {
        return decode_entry_failure(reason, src);
    }
    let basic = reason.basic();
    let mut qualification = || src.read_field(fields::EXIT_QUALIFICATION.raw());
    match basic {
        BasicExitReason::EXCEPTION_OR_NMI => decode_exception(reason, src),
        BasicExitReason::EXTERNAL_INTERRUPT => {
            let info = ExitInterruptionInfo::from_raw(
                src.read_field(fields::EXIT_INTERRUPTION_INFO.raw()) as u32,
            );
            VmExit::ExternalInterrupt {
                vector: info.is_valid().then_some(info.vector()),
            }
        }
        BasicExitReason::TRIPLE_FAULT => VmExit::TripleFault,
        BasicExitReason::INIT_SIGNAL => VmExit::Init,
        BasicExitReason::STARTUP_IPI => VmExit::Sipi(SipiQualification::from_raw(qualification())),
        BasicExitReason::INTERRUPT_WINDOW => VmExit::InterruptWindow,
        BasicExitReason::NMI_WINDOW => VmExit::NmiWindow,
        BasicExitReason::TASK_SWITCH => {
            VmExit::TaskSwitch(TaskSwitchQualification::from_raw(qualification()))
        }
        BasicExitReason::GETSEC => VmExit::Getsec,
        BasicExitReason::INVD => VmExit::Invd,
        BasicExitReason::INVLPG => VmExit::Invlpg {
            address: qualification(),
        },
        BasicExitReason::RDPMC => VmExit::Rdpmc {
            counter: regs.rcx as u32,
        },
        BasicExitReason::RDTSC => VmExit::Rdtsc,
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
        | BasicExitReason::INVVPID
        | BasicExitReason::GDTR_IDTR_ACCESS
        | BasicExitReason::LDTR_TR_ACCESS
        | BasicExitReason::RDRAND
        | BasicExitReason::INVPCID
        | BasicExitReason::RDSEED => decode_instruction_info_exit(reason, src),
        BasicExitReason::VMFUNC => VmExit::Vmfunc {
            function: regs.rax as u32,
            argument: regs.rcx as u32,
        },
        BasicExitReason::CONTROL_REGISTER_ACCESS => {
            decode_cr_access(CrAccessQualification::from_raw(qualification()), src, regs)
        }
        BasicExitReason::MOV_DR => VmExit::MovDr(MovDrQualification::from_raw(qualification())),
        BasicExitReason::IO_INSTRUCTION => decode_io(
            reason,
            IoQualification::from_raw(qualification()),
            src,
            regs,
        ),
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
        BasicExitReason::TPR_BELOW_THRESHOLD => VmExit::TprBelowThreshold,
        BasicExitReason::APIC_ACCESS => {
            VmExit::ApicAccess(ApicAccessExit::from_qualification(qualification()))
        }
        BasicExitReason::VIRTUALIZED_EOI => VmExit::VirtualizedEoi {
            vector: qualification() as u8,
        },
        BasicExitReason::APIC_WRITE => VmExit::ApicWrite {
            offset: (qualification() & 0xFFF) as u16,
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

/// Reason 28 (SDM §28.2.1 Table 28-3); a MOV to CR from RSP reads guest RSP from the VMCS.
fn decode_cr_access(
    q: CrAccessQualification,
    src: &mut impl ExitInfoSource,
    regs: &GuestRegisters,
) -> VmExit {
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
            memory_operand: matches!(q.lmsw_operand_type(), LmswOperandType::Memory),
        },
    })
}

/// Reason 30 (SDM §28.2.1 Table 28-5); a reserved size encoding gives [`VmExit::Other`].
/// INS/OUTS also read the guest-linear address, guest RFLAGS (DF) and, when the processor
/// reports it, the instruction information (§28.2.5 Table 28-8).
fn decode_io(
    reason: ExitReason,
    q: IoQualification,
    src: &mut impl ExitInfoSource,
    regs: &GuestRegisters,
) -> VmExit {
    let Some(size) = q.size().bytes() else {
        return VmExit::Other {
            reason,
            qualification: ExitQualification::Io(q),
        };
    };
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
        string_io: string.then(|| decode_string_io(is_in, src)),
        qualification: q,
    })
}

/// RFLAGS.DF (SDM Vol. 1 §3.4.3.2).
const RFLAGS_DF: u64 = 1 << 10;

/// The INS/OUTS part of an I/O exit (SDM §28.2.1 guest-linear address, §28.2.5 Table 28-8).
fn decode_string_io(is_in: bool, src: &mut impl ExitInfoSource) -> StringIo {
    let linear_address = src.read_field(fields::EXIT_GUEST_LINEAR_ADDRESS.raw());
    let decrement = src.read_field(fields::GUEST_RFLAGS.raw()) & RFLAGS_DF != 0;
    let info = src
        .ins_outs_info_reported()
        .then(|| InsOutsInfo::from_raw(src.read_field(fields::EXIT_INSTRUCTION_INFO.raw()) as u32));
    let address_size = info
        .map(InsOutsInfo::address_size)
        .filter(|a| a.width().is_some());
    let segment = if is_in {
        // INS always writes ES:rDI; bits 17:15 are undefined for it.
        Some(SegmentRegister::Es)
    } else {
        info.map(InsOutsInfo::segment)
    };
    StringIo {
        linear_address,
        address_size,
        segment,
        decrement,
        index_register: if is_in { Gpr::Rdi } else { Gpr::Rsi },
    }
}

/// Reason 0 (SDM §28.2.2, Table 25-19 for the interruption information).
fn decode_exception(reason: ExitReason, src: &mut impl ExitInfoSource) -> VmExit {
    let info =
        ExitInterruptionInfo::from_raw(src.read_field(fields::EXIT_INTERRUPTION_INFO.raw()) as u32);
    if !info.is_valid() {
        return VmExit::Other {
            reason,
            qualification: ExitQualification::Raw(src.read_field(fields::EXIT_QUALIFICATION.raw())),
        };
    }
    let nmi_unblocking_iret = info.nmi_unblocking_due_to_iret();
    let ty = info.interruption_type();
    if ty == InterruptionType::Nmi {
        return VmExit::Nmi {
            nmi_unblocking_iret,
        };
    }
    let error_code = info
        .error_code_valid()
        .then(|| src.read_field(fields::EXIT_INTERRUPTION_ERROR_CODE.raw()) as u32);
    let instruction_len = if ty.is_soft() {
        src.read_field(fields::EXIT_INSTRUCTION_LENGTH.raw()) as u32
    } else {
        0
    };
    VmExit::Exception(ExceptionExit {
        vector: info.vector(),
        interruption_type: ty,
        error_code,
        qualification: src.read_field(fields::EXIT_QUALIFICATION.raw()),
        nmi_unblocking_iret,
        instruction_len,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A field source that answers `value` for every field.
    struct Constant(u64);

    impl ExitInfoSource for Constant {
        fn read_field(&mut self, _encoding: u32) -> u64 {
            self.0
        }
    }

    proptest! {
        /// The run loop decodes through `decode_entered`, which tests bit 31 out of line:
        /// an entry failure with any basic reason (the five inline ones included) and any
        /// other flag bits still decodes as `EntryFailure` carrying the raw reason.
        #[test]
        fn decode_entered_never_mistakes_an_entry_failure(
            basic in prop_oneof![
                Just(10u32), Just(12), Just(18), Just(31), Just(32), Just(33), Just(34),
                Just(41), any::<u16>().prop_map(u32::from)
            ],
            flags in 0u32..0x8000,
            qualification in any::<u64>(),
            rax in any::<u64>(),
            rcx in any::<u64>(),
        ) {
            let raw = ExitReason::VM_ENTRY_FAILURE | (flags << 16) | basic;
            let regs = GuestRegisters { rax, rcx, ..Default::default() };
            let exit = decode_entered(ExitReason(raw), &mut Constant(qualification), &regs);
            prop_assert_eq!(
                exit,
                VmExit::EntryFailure(EntryFailure { reason: ExitReason(raw), qualification, check: None })
            );
        }

        /// Without bit 31, flag bits 30:16 do not change which inline exit is decoded.
        #[test]
        fn decode_entered_inline_reasons_ignore_flag_bits(
            basic in prop_oneof![Just(10u32), Just(12), Just(18), Just(31), Just(32)],
            flags in 0u32..0x8000,
            rax in any::<u64>(),
        ) {
            let regs = GuestRegisters { rax, ..Default::default() };
            let with = decode_entered(ExitReason((flags << 16) | basic), &mut Constant(0), &regs);
            let without = decode_entered(ExitReason(basic), &mut Constant(0), &regs);
            prop_assert_eq!(with, without);
        }
    }
}
