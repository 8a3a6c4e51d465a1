//! VM entry, exit decoding and the helpers that complete an emulated instruction (SDM
//! Vol. 3C ch. 27-28).

use memory_addr::PhysAddr;
use vmx_defs::exit_reason::ExitReason;
use vmx_defs::interruption::IdtVectoringInfo;
use vmx_defs::vmcs::fields;
use vmx_insn::VmFail;

use crate::entry::{vmread_fast, vmwrite_fast, vmx_vcpu_enter};
use crate::error::{EntryInstruction, VmxError};
use crate::event::{Event, InjectionOutcome, InjectionReport};
use crate::exit::{IoExit, VmExit, decode_entered, decode_entry_failure};
use crate::host::VmxHost;
use crate::xstate::XStateMode;

use super::{Vmread, VmxVcpu, vmwrite};

impl<'c, H: VmxHost> VmxVcpu<'c, H> {
    /// Enters the guest (VMLAUNCH the first time, VMRESUME after) and returns the decoded
    /// VM exit.
    ///
    /// Before entry: makes the VMCS current, injects the next deliverable pending event
    /// and requests interrupt-/NMI-window exits for the rest. After the exit: records an
    /// event whose delivery the exit interrupted (IDT-vectoring information) for
    /// re-injection, and decodes the exit.
    ///
    /// A VMfail returns [`VmxError::EntryFailed`] with the VM-instruction error; a failed
    /// entry with exit-reason bit 31 returns `Ok(VmExit::EntryFailure(..))`.
    #[inline]
    pub fn run(&mut self) -> Result<VmExit, VmxError> {
        let instruction = if self.vmcs.is_launched() {
            EntryInstruction::Resume
        } else {
            EntryInstruction::Launch
        };
        self.enter(instruction)
    }

    /// Enters with the given instruction regardless of the tracked launch state: for tests
    /// of the processor's checks (VMLAUNCH of a launched VMCS gives VM-instruction error 4,
    /// VMRESUME of a clear one error 5; SDM §31.3).
    pub fn force_entry(&mut self, instruction: EntryInstruction) -> Result<VmExit, VmxError> {
        self.enter(instruction)
    }

    #[inline]
    fn enter(&mut self, instruction: EntryInstruction) -> Result<VmExit, VmxError> {
        if self.block().loop_callback != 0 {
            return Err(VmxError::Reentrant);
        }
        self.take_xstate();
        self.prepare_entry()?;
        let resume = u64::from(instruction == EntryInstruction::Resume);
        // SAFETY: the VMCS is current and fully set up: host state captured from this CPU,
        // HOST_RIP = `vmx_vcpu_exit`, HOST_RSP maintained by the entry code, every pointer
        // names frames this vCPU owns; the block is ours and pinned; no loop callback is
        // set, so the call returns after one exit.
        let rc = unsafe { vmx_vcpu_enter(self.block.as_ptr(), resume) };
        if rc != 0 {
            return Err(self.entry_failed(instruction, rc));
        }
        Ok(self.finish_exit())
    }

    /// What must happen before every VM entry: the VMCS current, pending events injected
    /// or their windows requested.
    #[inline(always)]
    fn prepare_entry(&mut self) -> Result<(), VmxError> {
        self.vmcs.load()?;
        if self.entry_work {
            self.apply_injection()?;
        }
        Ok(())
    }

    /// The error for a VMfail with RFLAGS `rflags`; an event written for injection goes
    /// back first in line (it was not delivered).
    #[cold]
    fn entry_failed(&mut self, instruction: EntryInstruction, rflags: u64) -> VmxError {
        self.last_injection = None;
        if let Some(e) = self.in_flight.take() {
            self.pending.set_reinjection(Some(e));
            self.entry_work = true;
            self.last_injection = Some(InjectionReport {
                event: e,
                outcome: InjectionOutcome::EntryFailed,
            });
            if let Err(err) = vmwrite(fields::CTRL_VMENTRY_INTERRUPTION_INFO, 0) {
                return err;
            }
        }
        let fail = match vmx_insn::vmfail_from_rflags(rflags) {
            Err(f) => f,
            Ok(()) => VmFail::Invalid,
        };
        VmxError::EntryFailed { instruction, fail }
    }

    /// What happens after every VM exit: launch state, IDT-vectoring re-injection, the
    /// injection report, decoding.
    ///
    /// The common case (no event was injected or reported, no event delivery interrupted,
    /// entry succeeded) costs two loads, one test and one store before decoding.
    #[inline(always)]
    fn finish_exit(&mut self) -> VmExit {
        let block = self.block();
        let reason = block.exit_reason as u32;
        let idt = block.idt_vectoring_info as u32;
        // Bit 31 is "VM-entry failure" in the exit reason and "valid" in IDT-vectoring
        // information (SDM §25.9.1, §25.9.3).
        let reason = ExitReason(reason);
        if self.exit_work || (reason.0 | idt) & (1 << 31) != 0 {
            self.finish_exit_slow(reason, idt);
            if reason.is_entry_failure() {
                return decode_entry_failure(reason, &mut Vmread);
            }
        } else {
            self.vmcs.mark_launched();
        }
        decode_entered(reason, &mut Vmread, &self.block().regs)
    }

    /// The uncommon part of [`Self::finish_exit`]: an entry that failed with exit-reason
    /// bit 31, an interrupted event delivery, an event injected at this entry.
    #[cold]
    #[inline(never)]
    fn finish_exit_slow(&mut self, reason: ExitReason, idt: u32) {
        let injected = self.in_flight.take();
        if reason.is_entry_failure() {
            // A failed entry does not clear the VM-entry interruption information (SDM
            // §27.8): take the event back so that the next entry decides again. The launch
            // state is unchanged.
            self.last_injection = injected.map(|event| {
                self.pending.set_reinjection(Some(event));
                self.entry_work = true;
                // SAFETY: the VMCS is current; clearing the field only cancels injection.
                unsafe { vmwrite_fast(fields::CTRL_VMENTRY_INTERRUPTION_INFO.raw(), 0) };
                InjectionReport {
                    event,
                    outcome: InjectionOutcome::EntryFailed,
                }
            });
        } else {
            let interrupted = if IdtVectoringInfo::from_raw(idt).is_valid() {
                let code = vmread_fast(fields::EXIT_IDT_VECTORING_ERROR_CODE.raw()) as u32;
                let len = vmread_fast(fields::EXIT_INSTRUCTION_LENGTH.raw()) as u32;
                let event = Event::from_interruption_info(idt, code, len);
                self.pending.set_reinjection(event);
                self.entry_work |= event.is_some();
                event
            } else {
                None
            };
            self.last_injection = injected.map(|event| InjectionReport {
                event,
                outcome: if interrupted.is_some_and(|i| i.same_delivery(&event)) {
                    InjectionOutcome::Interrupted
                } else {
                    InjectionOutcome::Delivered
                },
            });
            self.vmcs.mark_launched();
        }
        self.exit_work = self.last_injection.is_some();
    }

    /// Runs the guest until `handler` returns [`Flow::Stop`] or an error, calling it with
    /// each decoded exit (SDM ch. 27-28).
    ///
    /// Equivalent to calling [`VmxVcpu::run`] in a loop, but the guest is re-entered from
    /// the exit code without returning through it (see `entry.rs`, run-loop mode), which
    /// saves the host callee-saved registers and the RFLAGS restore per exit. The host runs
    /// the handler with interrupts disabled (RFLAGS is restored when the loop ends): return
    /// [`Flow::Stop`] on an external-interrupt exit to let the host take it.
    ///
    /// Inside the handler, [`VmxVcpu::run`] on this vCPU fails with
    /// [`VmxError::Reentrant`]; everything else (registers, fields, injection, completion
    /// helpers, other vCPUs) is available. A VMfail ends the loop with
    /// [`VmxError::EntryFailed`]; an error from the handler ends it with that error.
    pub fn run_loop<F>(&mut self, handler: F) -> Result<(), VmxError>
    where
        F: FnMut(&mut Self, VmExit) -> Result<Flow, VmxError>,
    {
        if self.block().loop_callback != 0 {
            return Err(VmxError::Reentrant);
        }
        self.prepare_entry()?;
        let first = self.vmcs.is_launched();
        let mut ctx = LoopContext {
            vcpu: self as *mut Self,
            handler,
            result: Ok(()),
        };
        let callback: extern "C" fn(u64) -> u64 = loop_callback::<H, F>;
        let ctx_addr = &raw mut ctx as u64;
        self.take_xstate();
        let lazy = self.lazy_xstate && self.xstate.mode != XStateMode::None;
        let outer_owner = self.cpu.xstate_owner();
        if lazy {
            self.cpu.set_xstate_owner(self.block.as_ptr() as u64);
        }
        {
            let block = self.block_mut();
            block.loop_callback = callback as *const () as u64;
            block.loop_ctx = ctx_addr;
            block.lazy = u64::from(lazy);
        }
        // SAFETY: as in `enter`; in addition the callback and its context stay valid for
        // the whole call (`ctx` lives on this frame) and are cleared right after it.
        let rc = unsafe { vmx_vcpu_enter(self.block.as_ptr(), u64::from(first)) };
        {
            // The exit code saved a kept guest state before returning (guest_loaded = 0).
            let block = self.block_mut();
            block.loop_callback = 0;
            block.loop_ctx = 0;
            block.lazy = 0;
        }
        if lazy {
            self.cpu.set_xstate_owner(outer_owner);
        }
        if rc != 0 {
            // A VMfail leaves the launch state as it was: it names the instruction used.
            let instruction = if self.vmcs.is_launched() {
                EntryInstruction::Resume
            } else {
                EntryInstruction::Launch
            };
            return Err(self.entry_failed(instruction, rc));
        }
        ctx.result
    }

    /// Moves RIP past the instruction that caused the exit (VM-exit instruction length,
    /// SDM §28.2.4) and clears blocking by STI / MOV SS, as completing the instruction
    /// would (SDM §26.7).
    #[inline]
    pub fn advance_rip(&mut self) -> Result<(), VmxError> {
        self.vmcs.load()?;
        let len = vmread_fast(fields::EXIT_INSTRUCTION_LENGTH.raw());
        let rip = vmread_fast(fields::GUEST_RIP.raw());
        let intr = vmread_fast(fields::GUEST_INTERRUPTIBILITY_STATE.raw());
        // SAFETY: guest RIP and interruptibility exist on every processor, the VMCS is
        // current, and neither field can affect the host.
        unsafe {
            vmwrite_fast(fields::GUEST_RIP.raw(), rip.wrapping_add(len));
            if intr & 3 != 0 {
                vmwrite_fast(fields::GUEST_INTERRUPTIBILITY_STATE.raw(), intr & !3);
            }
        }
        Ok(())
    }

    /// Completes an emulated IN (non-string): puts `value` into AL/AX/EAX (a 4-byte IN
    /// zero-extends into RAX) and advances RIP.
    pub fn complete_io_in(&mut self, io: &IoExit, value: u32) -> Result<(), VmxError> {
        if !io.is_in || io.string {
            return Err(VmxError::InvalidGuestState(
                "complete_io_in needs a non-string IN exit",
            ));
        }
        let rax = &mut self.block_mut().regs.rax;
        *rax = match io.size {
            1 => (*rax & !0xFF) | u64::from(value & 0xFF),
            2 => (*rax & !0xFFFF) | u64::from(value & 0xFFFF),
            _ => u64::from(value),
        };
        self.advance_rip()
    }

    /// Completes an emulated RDMSR: EDX:EAX = `value` (upper halves of RAX/RDX cleared) and
    /// advances RIP.
    #[inline]
    pub fn complete_rdmsr(&mut self, value: u64) -> Result<(), VmxError> {
        let r = &mut self.block_mut().regs;
        r.rax = value & 0xFFFF_FFFF;
        r.rdx = value >> 32;
        self.advance_rip()
    }

    /// Completes an emulated CPUID with the four result registers and advances RIP.
    #[inline]
    pub fn complete_cpuid(
        &mut self,
        eax: u32,
        ebx: u32,
        ecx: u32,
        edx: u32,
    ) -> Result<(), VmxError> {
        let r = &mut self.block_mut().regs;
        r.rax = u64::from(eax);
        r.rbx = u64::from(ebx);
        r.rcx = u64::from(ecx);
        r.rdx = u64::from(edx);
        self.advance_rip()
    }

    /// Physical address of the VMCS.
    pub fn vmcs_paddr(&self) -> PhysAddr {
        self.vmcs.paddr()
    }
}

/// What a [`VmxVcpu::run_loop`] handler asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Enter the guest again.
    Continue,
    /// Leave the loop; `run_loop` returns `Ok(())`.
    Stop,
}

/// The state `loop_callback` works on.
struct LoopContext<'c, H: VmxHost, F> {
    vcpu: *mut VmxVcpu<'c, H>,
    handler: F,
    result: Result<(), VmxError>,
}

/// Called by the exit code in run-loop mode with the address of a `LoopContext`. Returns
/// 0 (VMLAUNCH) or 1 (VMRESUME) to re-enter, 2 to stop. A panic in the handler cannot
/// unwind through the assembly: panicking out of an `extern "C"` function aborts.
extern "C" fn loop_callback<'c, H, F>(ctx: u64) -> u64
where
    H: VmxHost + 'c,
    F: FnMut(&mut VmxVcpu<'c, H>, VmExit) -> Result<Flow, VmxError>,
{
    // SAFETY: `run_loop` passed the address of its `LoopContext<'c, H, F>`, which outlives
    // the assembly call that calls us, and touches it only after that call returns.
    let ctx = unsafe { &mut *(ctx as *mut LoopContext<'c, H, F>) };
    // SAFETY: `vcpu` comes from the `&mut self` of `run_loop`, which does not use it while
    // the assembly (and so this callback) runs.
    let vcpu = unsafe { &mut *ctx.vcpu };
    let exit = vcpu.finish_exit();
    let err = match (ctx.handler)(vcpu, exit) {
        Ok(Flow::Continue) => match vcpu.prepare_entry() {
            Ok(()) => return u64::from(vcpu.vmcs.is_launched()),
            Err(e) => e,
        },
        Ok(Flow::Stop) => return 2,
        Err(e) => e,
    };
    ctx.result = Err(err);
    2
}
