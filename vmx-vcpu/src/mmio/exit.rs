//! Which VM exits an emulated MMIO access completes (SDM Vol. 3C §29.3.3.2 EPT violations,
//! §30.4 APIC-access VM exits), decided from the exit reason and qualification alone so that
//! the rule is tested on the host; [`Vcpu::complete_mmio_read`](crate::Vcpu::complete_mmio_read),
//! [`Vcpu::complete_mmio_write`](crate::Vcpu::complete_mmio_write) and
//! [`Vcpu::mmio_write_value`](crate::Vcpu::mmio_write_value) apply it to the last exit.

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::qualification::{ApicAccessQualification, ApicAccessType};

/// An exit whose faulting instruction the MMIO emulation decodes and completes. Both are
/// fault-like: the guest's RIP still points at the instruction (SDM Vol. 3C §28.2.4,
/// §30.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MmioExit {
    /// An EPT violation (basic exit reason 48) on a page the hypervisor left unmapped (SDM
    /// Vol. 3C §29.3.3.2); the guest-physical address is in the exit information.
    EptViolation,
    /// An APIC-access VM exit (basic exit reason 44) caused by an instruction's linear data
    /// read or write of the APIC-access page (access type 0 or 1, SDM Vol. 3C §28.2.1
    /// Table 28-6, §30.4.1).
    ApicAccess {
        /// The access's offset in the APIC-access page (qualification bits 11:0).
        offset: u16,
        /// Whether the access was a write (access type 1) rather than a read (type 0).
        write: bool,
    },
}

/// Why an exit is not one [`MmioExit::from_exit`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MmioExitRefusal {
    /// The exit is neither an EPT violation nor an APIC-access exit, or it is a VM-entry
    /// failure (SDM Vol. 3C §28.2.1 Table 28-1 bit 31).
    OtherExit,
    /// An APIC-access exit, but not by an instruction's linear data read or write (an
    /// instruction fetch, an access during event delivery or a guest-physical access,
    /// Table 28-6): no instruction at RIP made it.
    NotAnInstructionAccess(ApicAccessType),
    /// An APIC-access exit whose qualification bit 16 says the access was asynchronous to
    /// instruction execution (Table 28-6).
    Asynchronous,
}

impl MmioExit {
    /// Classifies the exit with full exit reason `reason` (VMCS exit-reason field) and
    /// exit qualification `qualification` (read only for an APIC-access exit; pass 0
    /// otherwise). Total: any pair gives an answer.
    pub fn from_exit(reason: ExitReason, qualification: u64) -> Result<Self, MmioExitRefusal> {
        if reason.is_entry_failure() {
            return Err(MmioExitRefusal::OtherExit);
        }
        let basic = reason.basic();
        if basic == BasicExitReason::EPT_VIOLATION {
            return Ok(Self::EptViolation);
        }
        if basic != BasicExitReason::APIC_ACCESS {
            return Err(MmioExitRefusal::OtherExit);
        }
        let q = ApicAccessQualification::from_raw(qualification);
        if q.asynchronous_to_instruction() {
            return Err(MmioExitRefusal::Asynchronous);
        }
        match q.access_type() {
            ApicAccessType::LinearRead => Ok(Self::ApicAccess {
                offset: q.offset(),
                write: false,
            }),
            ApicAccessType::LinearWrite => Ok(Self::ApicAccess {
                offset: q.offset(),
                write: true,
            }),
            other => Err(MmioExitRefusal::NotAnInstructionAccess(other)),
        }
    }

    /// Whether the basic exit reason is one an MMIO completion may follow (48 or 44),
    /// before the qualification is looked at.
    pub fn reason_may_complete(reason: ExitReason) -> bool {
        !reason.is_entry_failure()
            && (reason.basic() == BasicExitReason::EPT_VIOLATION
                || reason.basic() == BasicExitReason::APIC_ACCESS)
    }
}
