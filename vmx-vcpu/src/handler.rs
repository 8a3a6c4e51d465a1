//! Exit handlers that host tests can drive: [`ExitOps`], the operations a VM-exit handler
//! performs on its vCPU, implemented by [`Vcpu`] (the real one) and by
//! [`RecordedVcpu`] (a host-side stand-in fed with a recorded exit).
//!
//! Write the handler against the trait:
//!
//! ```
//! use vmx_vcpu::handler::{ExitOps, RecordedExit, RecordedVcpu};
//! use vmx_vcpu::{VmExit, VmxError};
//!
//! /// CPUID leaf 0x4000_0000 answers the hypervisor signature; RDMSR of anything reads 0.
//! fn handle(vcpu: &mut impl ExitOps, exit: &VmExit) -> Result<(), VmxError> {
//!     match *exit {
//!         VmExit::Cpuid { leaf: 0x4000_0000, .. } => {
//!             vcpu.complete_cpuid(0x4000_0001, 0x7263_6f4d, 0x6568_7453, 0x6572_7563)
//!         }
//!         VmExit::Rdmsr { .. } => vcpu.complete_rdmsr(0),
//!         _ => vcpu.advance_rip(),
//!     }
//! }
//!
//! // A host test: CPUID at RIP 0x1000, 2 bytes long, as a recorded exit.
//! let mut v = RecordedVcpu::new(RecordedExit::instruction(10, 2), 0x1000);
//! handle(&mut v, &VmExit::Cpuid { leaf: 0x4000_0000, subleaf: 0 }).unwrap();
//! assert_eq!(v.rip_value(), 0x1002);
//! assert_eq!(v.regs().rax, 0x4000_0001);
//! // Completing twice is refused, as on the real vCPU.
//! assert!(v.advance_rip().is_err());
//! ```
//!
//! The stand-in applies the same rules as the vCPU, through the same pure functions
//! ([`records_instruction_length`], [`next_rip`], [`merge_in_value`], [`reflect`]): a
//! completion must match the last exit and happens once; RIP wraps at 4 GiB outside 64-bit
//! mode; with RFLAGS.TF = 1 a completed instruction makes a single-step #DB pending.

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};

use crate::error::{Completion, VmxError};
use crate::event::Event;
use crate::exit::{IoExit, merge_in_value, next_rip, records_instruction_length};
use crate::host::VmxHost;
use crate::injection::{PendingEvents, Reflection, reflect};
use crate::regs::GuestRegisters;
use crate::vcpu::Vcpu;

/// The operations an exit handler performs on the vCPU whose exit it handles.
pub trait ExitOps {
    /// The guest's general-purpose registers (RSP excluded: a VMCS field) and CR2.
    fn regs(&self) -> &GuestRegisters;
    /// Mutable access to them.
    fn regs_mut(&mut self) -> &mut GuestRegisters;
    /// Guest RIP.
    fn rip(&mut self) -> Result<u64, VmxError>;
    /// Sets guest RIP.
    fn set_rip(&mut self, rip: u64) -> Result<(), VmxError>;
    /// Guest RFLAGS.
    fn rflags(&mut self) -> Result<u64, VmxError>;
    /// Moves RIP past the instruction that caused the last exit (see
    /// [`Vcpu::advance_rip`]).
    fn advance_rip(&mut self) -> Result<(), VmxError>;
    /// Completes a CPUID exit (see [`Vcpu::complete_cpuid`]).
    fn complete_cpuid(&mut self, eax: u32, ebx: u32, ecx: u32, edx: u32) -> Result<(), VmxError>;
    /// Completes a RDMSR exit (see [`Vcpu::complete_rdmsr`]).
    fn complete_rdmsr(&mut self, value: u64) -> Result<(), VmxError>;
    /// Completes a non-string IN exit (see [`Vcpu::complete_io_in`]).
    fn complete_io_in(&mut self, io: &IoExit, value: u32) -> Result<(), VmxError>;
    /// Queues an event (see [`Vcpu::inject`]).
    fn inject(&mut self, event: Event) -> Result<(), VmxError>;
    /// Reflects an exception raised during event delivery (see
    /// [`Vcpu::reflect_exception`]).
    fn reflect_exception(&mut self, exception: Event) -> Result<Reflection, VmxError>;
}

impl<H: VmxHost> ExitOps for Vcpu<'_, H> {
    fn regs(&self) -> &GuestRegisters {
        Vcpu::regs(self)
    }
    fn regs_mut(&mut self) -> &mut GuestRegisters {
        Vcpu::regs_mut(self)
    }
    fn rip(&mut self) -> Result<u64, VmxError> {
        Vcpu::rip(self)
    }
    fn set_rip(&mut self, rip: u64) -> Result<(), VmxError> {
        Vcpu::set_rip(self, rip)
    }
    fn rflags(&mut self) -> Result<u64, VmxError> {
        Vcpu::rflags(self)
    }
    fn advance_rip(&mut self) -> Result<(), VmxError> {
        Vcpu::advance_rip(self)
    }
    fn complete_cpuid(&mut self, eax: u32, ebx: u32, ecx: u32, edx: u32) -> Result<(), VmxError> {
        Vcpu::complete_cpuid(self, eax, ebx, ecx, edx)
    }
    fn complete_rdmsr(&mut self, value: u64) -> Result<(), VmxError> {
        Vcpu::complete_rdmsr(self, value)
    }
    fn complete_io_in(&mut self, io: &IoExit, value: u32) -> Result<(), VmxError> {
        Vcpu::complete_io_in(self, io, value)
    }
    fn inject(&mut self, event: Event) -> Result<(), VmxError> {
        Vcpu::inject(self, event)
    }
    fn reflect_exception(&mut self, exception: Event) -> Result<Reflection, VmxError> {
        Vcpu::reflect_exception(self, exception)
    }
}

/// The VMCS exit information a [`RecordedVcpu`] replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedExit {
    /// The exit-reason field (SDM Vol. 3C §25.9.1).
    pub reason: ExitReason,
    /// The VM-exit instruction length (§28.2.4).
    pub instruction_len: u32,
    /// Guest CS.L: 64-bit mode (RIP does not wrap at 4 GiB).
    pub long_mode: bool,
    /// Guest RFLAGS.
    pub rflags: u64,
}

impl RecordedExit {
    /// An exit caused by an instruction of `len` bytes with basic reason `reason`, in
    /// 64-bit mode, RFLAGS = 2.
    pub const fn instruction(reason: u16, len: u32) -> Self {
        Self {
            reason: ExitReason(reason as u32),
            instruction_len: len,
            long_mode: true,
            rflags: 2,
        }
    }
}

/// A host-side stand-in for a vCPU that has just taken one recorded exit: registers, RIP,
/// RFLAGS and pending events in memory, the completion rules of [`Vcpu`].
#[derive(Debug, Clone)]
pub struct RecordedVcpu {
    regs: GuestRegisters,
    rip: u64,
    exit: RecordedExit,
    completed: bool,
    single_step_pending: bool,
    pending: PendingEvents,
}

impl RecordedVcpu {
    /// A vCPU that took `exit` with guest RIP `rip`.
    pub fn new(exit: RecordedExit, rip: u64) -> Self {
        Self {
            regs: GuestRegisters::default(),
            rip,
            exit,
            completed: false,
            single_step_pending: false,
            pending: PendingEvents::new(),
        }
    }

    /// Guest RIP now.
    pub fn rip_value(&self) -> u64 {
        self.rip
    }

    /// Whether a completion left a single-step #DB pending (RFLAGS.TF was 1).
    pub fn single_step_pending(&self) -> bool {
        self.single_step_pending
    }

    /// Whether the exit was completed.
    pub fn completed(&self) -> bool {
        self.completed
    }

    /// The events the handler queued.
    pub fn pending_events(&self) -> &PendingEvents {
        &self.pending
    }

    fn take_exit(&mut self, completion: Completion, ok: bool) -> Result<(), VmxError> {
        if self.completed || !ok {
            return Err(VmxError::NotCompletable {
                completion,
                last_exit: (!self.completed).then(|| self.exit.reason.basic()),
            });
        }
        self.completed = true;
        Ok(())
    }

    fn is(&self, reason: BasicExitReason) -> bool {
        !self.exit.reason.is_entry_failure() && self.exit.reason.basic() == reason
    }

    fn skip(&mut self) {
        self.rip = next_rip(
            self.rip,
            u64::from(self.exit.instruction_len),
            self.exit.long_mode,
        );
        if self.exit.rflags & (1 << 8) != 0 {
            self.single_step_pending = true;
        }
    }
}

impl ExitOps for RecordedVcpu {
    fn regs(&self) -> &GuestRegisters {
        &self.regs
    }
    fn regs_mut(&mut self) -> &mut GuestRegisters {
        &mut self.regs
    }
    fn rip(&mut self) -> Result<u64, VmxError> {
        Ok(self.rip)
    }
    fn set_rip(&mut self, rip: u64) -> Result<(), VmxError> {
        self.rip = rip;
        Ok(())
    }
    fn rflags(&mut self) -> Result<u64, VmxError> {
        Ok(self.exit.rflags)
    }
    fn advance_rip(&mut self) -> Result<(), VmxError> {
        let ok = records_instruction_length(self.exit.reason);
        self.take_exit(Completion::AdvanceRip, ok)?;
        self.skip();
        Ok(())
    }
    fn complete_cpuid(&mut self, eax: u32, ebx: u32, ecx: u32, edx: u32) -> Result<(), VmxError> {
        let ok = self.is(BasicExitReason::CPUID);
        self.take_exit(Completion::Cpuid, ok)?;
        self.regs.rax = u64::from(eax);
        self.regs.rbx = u64::from(ebx);
        self.regs.rcx = u64::from(ecx);
        self.regs.rdx = u64::from(edx);
        self.skip();
        Ok(())
    }
    fn complete_rdmsr(&mut self, value: u64) -> Result<(), VmxError> {
        let ok = self.is(BasicExitReason::RDMSR);
        self.take_exit(Completion::Rdmsr, ok)?;
        self.regs.rax = value & 0xFFFF_FFFF;
        self.regs.rdx = value >> 32;
        self.skip();
        Ok(())
    }
    fn complete_io_in(&mut self, io: &IoExit, value: u32) -> Result<(), VmxError> {
        let ok = self.is(BasicExitReason::IO_INSTRUCTION) && io.is_in && !io.string;
        self.take_exit(Completion::IoIn, ok)?;
        self.regs.rax = merge_in_value(self.regs.rax, io.size, value);
        self.skip();
        Ok(())
    }
    fn inject(&mut self, event: Event) -> Result<(), VmxError> {
        self.pending.push(event)?;
        Ok(())
    }
    fn reflect_exception(&mut self, exception: Event) -> Result<Reflection, VmxError> {
        let r = reflect(self.pending.reinjection(), exception);
        self.pending.apply_reflection(r);
        Ok(r)
    }
}
