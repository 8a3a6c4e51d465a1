//! Describing what went wrong, decoded, for the person reading the output.

use alloc::format;
use alloc::string::String;

use vmx_defs::exit_reason::BasicExitReason;
use vmx_defs::qualification::{
    EntryFailureCode, EntryFailureQualification, EptViolationQualification,
};
use vmx_insn::VmFail;
use vmx_vcpu::exit::{EntryFailure, VmExit};
use vmx_vcpu::{EntryInstruction, VmxError};

/// `NAME (number)` for a basic exit reason.
pub fn reason_name(reason: BasicExitReason) -> String {
    format!(
        "{} ({})",
        reason.name().unwrap_or("unknown exit reason"),
        reason.number()
    )
}

/// A VM entry that failed with VMfail (SDM Vol. 3C §27.1-27.2, §31.4): the VM-instruction
/// error names the class of check (7: control fields, 8: host-state fields...).
pub fn describe_vmfail(instruction: EntryInstruction, fail: &VmFail) -> String {
    format!(
        "{} failed: {fail} (the Bochs log names the exact check that failed)",
        match instruction {
            EntryInstruction::Launch => "VMLAUNCH",
            EntryInstruction::Resume => "VMRESUME",
        }
    )
}

/// A VM entry that failed while loading guest state (exit-reason bit 31; SDM Vol. 3C §27.8).
pub fn describe_entry_failure(failure: &EntryFailure) -> String {
    let basic = failure.reason.basic();
    let detail = if basic == BasicExitReason::VM_ENTRY_FAILURE_INVALID_GUEST_STATE {
        match EntryFailureQualification::from_raw(failure.qualification).code() {
            EntryFailureCode::NoSpecifiedReason => String::from(
                "a guest-state check failed (qualification 0: no specified reason; the Bochs log names the check)",
            ),
            EntryFailureCode::PdpteLoad => String::from("loading the PDPTEs failed"),
            EntryFailureCode::NmiInjectionBlockedBySti => {
                String::from("NMI injection while blocked by STI")
            }
            EntryFailureCode::InvalidVmcsLinkPointer => String::from("invalid VMCS link pointer"),
            EntryFailureCode::Unknown(code) => format!("qualification code {code}"),
            // A code a later SDM adds: vmx-defs' own wording of it.
            _ => format!(
                "{} (qualification {:#x})",
                EntryFailureQualification::from_raw(failure.qualification),
                failure.qualification
            ),
        }
    } else if basic == BasicExitReason::VM_ENTRY_FAILURE_MSR_LOADING {
        format!(
            "loading entry {} of the VM-entry MSR-load list failed",
            failure.qualification
        )
    } else {
        format!("qualification {:#x}", failure.qualification)
    };
    format!("VM entry failed: {}: {detail}", reason_name(basic))
}

/// An exit the example does not expect, with its decoded details.
pub fn describe_unexpected_exit(exit: &VmExit, rip: u64) -> String {
    match exit {
        VmExit::Exception(e) => {
            let vector = e.vector;
            let code = e
                .error_code
                .map(|c| format!(", error code {c:#x}"))
                .unwrap_or_default();
            format!(
                "guest exception {} (vector {}){code} at RIP {rip:#x}, qualification {:#x}",
                vector.name().unwrap_or("unknown"),
                vector.number(),
                e.qualification
            )
        }
        VmExit::TripleFault => format!("guest triple fault (last RIP {rip:#x})"),
        VmExit::EntryFailure(f) => describe_entry_failure(f),
        VmExit::EptViolation(v) => format!(
            "EPT violation at guest-physical {:#x}{} at RIP {rip:#x}, outside guest RAM and the emulated device: {}",
            v.gpa,
            v.gla
                .map(|a| format!(" (linear {a:#x})"))
                .unwrap_or_default(),
            describe_ept_violation(v.qualification)
        ),
        VmExit::EptMisconfiguration { gpa } => {
            format!("EPT misconfiguration at guest-physical {gpa:#x} (RIP {rip:#x})")
        }
        VmExit::Io(io) => format!(
            "I/O {} of {} bytes at port {:#x} (string {}, rep {}) at RIP {rip:#x}: no device there",
            if io.is_in { "read" } else { "write" },
            io.size,
            io.port,
            io.string,
            io.rep
        ),
        VmExit::Other {
            reason,
            qualification,
        } => format!(
            "unhandled exit {} at RIP {rip:#x}, qualification {qualification:?}",
            reason_name(reason.basic()),
        ),
        other => format!("unhandled exit {other:?} at RIP {rip:#x}"),
    }
}

/// The access and the permissions an EPT-violation qualification reports (SDM Vol. 3C
/// §28.2.1, Table 28-7).
pub fn describe_ept_violation(q: EptViolationQualification) -> String {
    let access = if q.instruction_fetch() {
        "instruction fetch"
    } else if q.data_write() {
        "data write"
    } else if q.data_read() {
        "data read"
    } else {
        "access of unknown kind"
    };
    let allowed = [
        (q.readable(), "r"),
        (q.writable(), "w"),
        (q.executable(), "x"),
    ]
    .iter()
    .map(|&(ok, c)| if ok { c } else { "-" })
    .collect::<String>();
    format!(
        "{access}, the EPT entry allows {allowed} (qualification {:#x})",
        q.raw()
    )
}

/// A `VmxError` from running the guest, with VMfail decoded.
pub fn describe_vmx_error(error: &VmxError) -> String {
    match error {
        VmxError::EntryFailed {
            instruction,
            fail,
            check: None,
        } => describe_vmfail(*instruction, fail),
        VmxError::EntryFailed {
            instruction,
            fail,
            check: Some(c),
        } => format!("{}; {c}", describe_vmfail(*instruction, fail)),
        other => format!("{other}"),
    }
}

/// [`describe_vmx_error`], followed for a failed VM entry (VMfail 7/8, or an entry
/// refused by the pre-flight check) by every failing check the software VM-entry checker
/// finds in the VMCS (`Vcpu::diagnose_entry`, SDM Vol. 3C §27.2-§27.4).
pub fn describe_run_error<H: vmx_vcpu::VmxHost>(
    vcpu: &mut vmx_vcpu::Vcpu<'_, H>,
    error: &VmxError,
) -> String {
    let text = describe_vmx_error(error);
    match error {
        VmxError::EntryFailed { check: Some(_), .. } | VmxError::PreflightFailed(_) => {
            match vcpu.diagnose_entry() {
                Ok(d) => format!("{text}\n{d}"),
                Err(e) => format!("{text} (no diagnosis: {e})"),
            }
        }
        _ => text,
    }
}
