//! VM entry, exit decoding and the helpers that complete an emulated instruction (SDM
//! Vol. 3C ch. 27-28).

use core::ptr::NonNull;

use vmx_defs::addr::HostPhysAddr;
use vmx_defs::exit_reason::BasicExitReason;
use vmx_defs::exit_reason::ExitReason;
use vmx_defs::interruption::IdtVectoringInfo;
use vmx_defs::vmcs::fields;
use vmx_insn::VmFail;

use crate::cpu::{ENTRY_WORK, VmxCpu};
use crate::entry::{
    RawExit, RunBlock, restore_flags, run_guest, save_flags_cli, vmread_failure, vmread_fast,
    vmwrite_fast,
};
use crate::error::{Completion, EntryInstruction, VmxError};
use crate::event::{Event, InjectionOutcome, InjectionReport};
use crate::exit::{
    CS_ACCESS_RIGHTS_L, EntryFailure, IoExit, VmExit, crosses_4g, decode_entered, merge_in_value,
    next_rip, records_instruction_length,
};
use crate::host::VmxHost;
use crate::xstate::{XStateMode, put_guest_xstate};

use super::{EXIT_WORK, NO_EXIT, Vcpu, Vmread, vmwrite};

/// RFLAGS.TF (SDM Vol. 1 §3.4.3.3).
const RFLAGS_TF: u64 = 1 << 8;
/// Pending debug exceptions: BS, a single-step trap (SDM Vol. 3C §25.4.2 Table 25-4).
const PENDING_BS: u64 = 1 << 14;

impl<'c, H: VmxHost> Vcpu<'c, H> {
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
        let instruction = self.next_instruction();
        self.enter(instruction)
    }

    /// VMRESUME when the launch state is launched, VMLAUNCH otherwise.
    #[inline(always)]
    fn next_instruction(&self) -> EntryInstruction {
        if self.vmcs.is_launched() {
            EntryInstruction::Resume
        } else {
            EntryInstruction::Launch
        }
    }

    /// Enters with the given instruction regardless of the tracked launch state: for tests
    /// of the processor's checks (VMLAUNCH of a launched VMCS gives VM-instruction error 4,
    /// VMRESUME of a clear one error 5; SDM §31.3). Not part of the supported API.
    #[doc(hidden)]
    pub fn force_entry(&mut self, instruction: EntryInstruction) -> Result<VmExit, VmxError> {
        self.enter(instruction)
    }

    #[inline]
    fn enter(&mut self, instruction: EntryInstruction) -> Result<VmExit, VmxError> {
        if self.block().in_loop != 0 {
            return Err(VmxError::Reentrant);
        }
        self.cpu.check_current_cpu()?;
        self.take_xstate();
        self.prepare_entry()?;
        let flags = save_flags_cli();
        // SAFETY: the VMCS is current (`prepare_entry`) and fully set up: host state
        // captured from this CPU, HOST_RIP = the exit code of the block's entry routine,
        // HOST_RSP maintained by the entry code, every pointer names frames this vCPU
        // owns; the block is ours and pinned; interrupts are disabled.
        let raw =
            unsafe { run_guest(self.block.as_ptr(), instruction == EntryInstruction::Resume) };
        if raw.is_vmfail() {
            restore_flags(flags);
            return Err(self.entry_failed(instruction, raw.rax));
        }
        // The exit information is read before interrupts are enabled again: a host interrupt
        // handler may run another vCPU on this CPU (SDM §28.2).
        let exit = self.finish_exit(raw);
        restore_flags(flags);
        exit
    }

    /// What must happen before every VM entry: the VMCS current, pending events injected
    /// or their windows requested.
    ///
    /// The common case (VMCS current, nothing to inject, no window to change) costs one
    /// test of the block's `entry_flags` word.
    #[inline(always)]
    fn prepare_entry(&mut self) -> Result<(), VmxError> {
        if self.block().entry_flags != 0 {
            self.prepare_entry_slow()?;
        }
        if let Some(ept) = &self.ept
            && ept.needs_sync()
        {
            self.sync_ept()?;
        }
        Ok(())
    }

    /// The EPT changed since this vCPU last flushed it on this CPU: INVEPT here before the
    /// entry, so that no stale translation (or paging-structure entry naming a frame the
    /// table retired) survives into the guest (SDM Vol. 3C §29.4.3.1).
    #[cold]
    #[inline(never)]
    fn sync_ept(&mut self) -> Result<(), VmxError> {
        if let Some(ept) = &self.ept {
            // SAFETY: this vCPU is the user, about to enter on the CPU executing this call,
            // in VMX root operation (`self.cpu`).
            unsafe { ept.sync_this_cpu() }.map_err(VmxError::EptSync)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn prepare_entry_slow(&mut self) -> Result<(), VmxError> {
        self.vmcs.load()?;
        // Every VMLAUNCH comes through here (a clear launch state means the VMCS was just
        // created, with ENTRY_WORK set for the pre-flight, or VMCLEARed, which sets
        // VMCS_OFF), so the common entry pays nothing for the pre-flight check.
        if self.preflight && !self.vmcs.is_launched() {
            self.preflight()?;
        }
        // A VMCLEAR since the last entry (which also set VMCS_OFF, so we are here): the
        // next exit records the launch.
        self.update_exit_work();
        if self.block().entry_flags & ENTRY_WORK != 0 {
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
            self.set_entry_work(true);
            self.last_injection = Some(InjectionReport {
                event: e,
                outcome: InjectionOutcome::EntryFailed,
            });
            if let Err(err) = vmwrite(fields::CTRL_VMENTRY_INTERRUPTION_INFO, 0) {
                return err;
            }
        }
        self.update_exit_work();
        let fail = match vmx_insn::vmfail_from_rflags(rflags) {
            Err(f) => f,
            Ok(()) => VmFail::Invalid,
        };
        let check = match fail {
            VmFail::Valid(e) if e.0 == 7 || e.0 == 8 => self.entry_check_summary(),
            _ => None,
        };
        VmxError::EntryFailed {
            instruction,
            fail,
            check,
        }
    }

    /// [`EXIT_WORK`] while an event written for injection or an injection report is
    /// pending, or the launch state is clear: the next exit takes the slow path, which
    /// also records the launch (the common path then needs no store for it).
    fn update_exit_work(&mut self) {
        self.exit_work = if self.last_injection.is_some()
            || self.in_flight.is_some()
            || !self.vmcs.is_launched()
        {
            EXIT_WORK
        } else {
            0
        };
    }

    /// What happens after every VM exit (not a VMfail): launch state, IDT-vectoring
    /// re-injection, the injection report, decoding.
    #[inline(always)]
    fn finish_exit(&mut self, raw: RawExit) -> Result<VmExit, VmxError> {
        self.restore_host_debug();
        if raw.is_uncommon(self.exit_work) {
            self.finish_exit_slow(ExitReason(raw.rax as u32), raw.rdx as u32)?;
        }
        self.exit_to_complete = raw.rax as u32;
        self.decode(raw)
    }

    /// [`Self::finish_exit`] for a return that may be a VMfail (its error), without the
    /// decoding. The common case (no event was injected or reported, no event delivery
    /// interrupted, entry succeeded, VMCS launched) costs two ORs and one test.
    #[inline(always)]
    fn finish_exit_state(&mut self, raw: RawExit) -> Result<(), VmxError> {
        self.restore_host_debug();
        // Bit 31 is "VM-entry failure" in the exit reason and "valid" in IDT-vectoring
        // information (SDM §25.9.1, §25.9.3); a VMfail sets it in `rdx` too.
        if raw.is_uncommon(self.exit_work) {
            if raw.is_vmfail() {
                // A VMfail leaves the launch state as it was: it names the instruction.
                let instruction = self.next_instruction();
                return Err(self.entry_failed(instruction, raw.rax));
            }
            self.finish_exit_slow(ExitReason(raw.rax as u32), raw.rdx as u32)?;
        }
        self.exit_to_complete = raw.rax as u32;
        Ok(())
    }

    /// The decoding part of [`Self::finish_exit`] (a failed entry, exit-reason bit 31,
    /// decodes as [`VmExit::EntryFailure`] out of line).
    #[inline(always)]
    fn decode(&mut self, raw: RawExit) -> Result<VmExit, VmxError> {
        let mut failed = None;
        let exit = self.decode_with(raw, &mut failed);
        match failed {
            None => Ok(exit),
            Some(encoding) => Err(vmread_failure(encoding)),
        }
    }

    /// Decodes the exit in place (no copy of the `VmExit` on the common path); the encoding
    /// of a field whose VMREAD failed goes to `failed`, and the exit is then not to be used.
    #[inline(always)]
    fn decode_with(&mut self, raw: RawExit, failed: &mut Option<u32>) -> VmExit {
        let mut source = Vmread {
            failed: None,
            ins_outs_info: self.ins_outs_info,
        };
        let mut exit = decode_entered(ExitReason(raw.rax as u32), &mut source, &self.block().regs);
        *failed = source.failed;
        if let VmExit::EntryFailure(f) = &mut exit {
            self.attach_entry_check(f);
        }
        exit
    }

    /// A failed entry (exit reason 33 or 34 with bit 31) gets the checker's summary: which
    /// check the processor refused, by the SDM's order (SDM Vol. 3C §27.8).
    #[cold]
    #[inline(never)]
    fn attach_entry_check(&mut self, f: &mut EntryFailure) {
        f.check = self.entry_check_summary();
    }

    /// Puts back the host's DR7 and IA32_DEBUGCTL, which every exit resets (SDM §28.5.1),
    /// when the host uses them: one test of an `Option` otherwise.
    #[inline(always)]
    fn restore_host_debug(&self) {
        if let Some(h) = &self.host_debug {
            // SAFETY: captured on this processor (the vCPU stays on it), CPL 0.
            unsafe { h.restore_debug_state() };
        }
    }

    /// The uncommon part of [`Self::finish_exit`]: an entry that failed with exit-reason
    /// bit 31, an interrupted event delivery, an event injected at this entry.
    #[cold]
    #[inline(never)]
    fn finish_exit_slow(&mut self, reason: ExitReason, idt: u32) -> Result<(), VmxError> {
        let injected = self.in_flight.take();
        if reason.is_entry_failure() {
            // A failed entry does not clear the VM-entry interruption information (SDM
            // §27.8): take the event back so that the next entry decides again. The launch
            // state is unchanged.
            self.last_injection = injected.map(|event| {
                self.pending.set_reinjection(Some(event));
                self.set_entry_work(true);
                // SAFETY: the VMCS is current; clearing the field only cancels injection.
                unsafe { vmwrite_fast(fields::CTRL_VMENTRY_INTERRUPTION_INFO.raw(), 0) };
                InjectionReport {
                    event,
                    outcome: InjectionOutcome::EntryFailed,
                }
            });
        } else {
            let interrupted = if IdtVectoringInfo::from_raw(idt).is_valid() {
                let code = vmread_fast(fields::EXIT_IDT_VECTORING_ERROR_CODE.raw())? as u32;
                let len = vmread_fast(fields::EXIT_INSTRUCTION_LENGTH.raw())? as u32;
                let event = Event::from_interruption_info(idt, code, len);
                self.pending.set_reinjection(event);
                if event.is_some() {
                    self.set_entry_work(true);
                }
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
        self.update_exit_work();
        Ok(())
    }

    /// Runs the guest until `handler` returns [`Flow::Stop`] or an error, calling it with
    /// each decoded exit (SDM ch. 27-28).
    ///
    /// Equivalent to calling [`Vcpu::run`] in a loop, but cheaper per exit: the entry
    /// routine returns into this function's frame, so the host's callee-saved registers
    /// are saved once per call rather than per exit, RFLAGS is saved and interrupts
    /// disabled once, and `handler` is inlined into the loop (see `entry.rs`). The host
    /// runs the handler with interrupts disabled (RFLAGS is restored when the loop ends):
    /// return [`Flow::Stop`] on an external-interrupt exit to let the host take it.
    ///
    /// Inside the handler, [`Vcpu::run`] and `run_loop` on this vCPU fail with
    /// [`VmxError::Reentrant`]; everything else (registers, fields, injection, completion
    /// helpers, other vCPUs) is available. A VMfail ends the loop with
    /// [`VmxError::EntryFailed`]; an error from the handler ends it with that error. If
    /// the handler panics and the panic unwinds, the loop's state (lazy extended state,
    /// RFLAGS, the reentrancy mark) is restored on the way out.
    ///
    /// The handler returns [`VmxError`]; [`Vcpu::run_loop_with`] lets it return the
    /// caller's own error type.
    #[inline(always)]
    pub fn run_loop<F>(&mut self, handler: F) -> Result<(), VmxError>
    where
        F: FnMut(&mut Self, VmExit) -> Result<Flow, VmxError>,
    {
        self.run_loop_with(handler)
    }

    /// [`Vcpu::run_loop`] with a handler returning the caller's error type `E` (a
    /// hypervisor's own error enum, say); the loop's own failures reach it through
    /// `From<VmxError>`.
    pub fn run_loop_with<F, E>(&mut self, mut handler: F) -> Result<(), E>
    where
        F: FnMut(&mut Self, VmExit) -> Result<Flow, E>,
        E: From<VmxError>,
    {
        if self.block().in_loop != 0 {
            return Err(VmxError::Reentrant.into());
        }
        self.cpu.check_current_cpu()?;
        self.take_xstate();
        self.prepare_entry()?;
        let lazy = self.lazy_xstate && self.xstate.mode != XStateMode::None;
        let guard = LoopGuard {
            block: self.block,
            cpu: self.cpu,
            outer_owner: self.cpu.xstate_owner(),
            lazy,
            flags: save_flags_cli(),
        };
        if lazy {
            self.cpu.set_xstate_owner(self.block.as_ptr() as u64);
        }
        {
            let block = self.block_mut();
            block.in_loop = 1;
            block.lazy = u64::from(lazy);
        }
        let block = self.block.as_ptr();
        let error = loop {
            let resume = self.vmcs.is_launched();
            // SAFETY: as in `enter`: the VMCS is current (`prepare_entry` just ran, before
            // the loop or at the end of the previous iteration), interrupts are disabled
            // (`guard.flags`).
            let raw = unsafe { run_guest(block, resume) };
            if let Err(e) = self.finish_exit_state(raw) {
                break Some(e.into());
            }
            let mut failed = None;
            let exit = self.decode_with(raw, &mut failed);
            if let Some(encoding) = failed {
                break Some(vmread_failure(encoding).into());
            }
            match handler(self, exit) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => break None,
                Err(e) => break Some(e),
            }
            if let Err(e) = self.prepare_entry() {
                break Some(e.into());
            }
        };
        drop(guard);
        match error {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Checks that the last exit is one `completion` may complete, and marks it completed.
    #[inline(always)]
    pub(super) fn take_exit(
        &mut self,
        completion: Completion,
        ok: fn(u32) -> bool,
    ) -> Result<(), VmxError> {
        let reason = self.exit_to_complete;
        if reason & NO_EXIT != 0 || !ok(reason) {
            return Err(self.not_completable(completion));
        }
        self.exit_to_complete = NO_EXIT;
        Ok(())
    }

    /// Checks, without completing it, that the last exit is a not-yet-completed exit with
    /// basic reason `reason`: for completions that change guest state before they advance
    /// RIP, so that nothing is changed for the wrong exit.
    pub(super) fn expect_exit(
        &self,
        completion: Completion,
        reason: BasicExitReason,
    ) -> Result<(), VmxError> {
        let r = self.exit_to_complete;
        if r & NO_EXIT != 0 || ExitReason(r).is_entry_failure() || ExitReason(r).basic() != reason {
            return Err(self.not_completable(completion));
        }
        Ok(())
    }

    #[cold]
    fn not_completable(&self, completion: Completion) -> VmxError {
        let reason = self.exit_to_complete;
        VmxError::NotCompletable {
            completion,
            last_exit: (reason & NO_EXIT == 0).then(|| ExitReason(reason).basic()),
        }
    }

    /// Moves RIP past the instruction that caused the last exit (VM-exit instruction length,
    /// SDM §28.2.4) and completes it as the processor would (SDM §26.7): blocking by STI and
    /// MOV SS ends, and when the guest's RFLAGS.TF is 1 a single-step debug exception is
    /// made pending (pending debug exceptions BS, §25.4.2), delivered right after the next
    /// entry as it would have been after the instruction. Outside 64-bit mode the new RIP
    /// wraps at 4 GiB as EIP does ([`next_rip`](crate::exit::next_rip)), so that a guest
    /// cannot make its own next entry fail by executing an exiting instruction that ends at
    /// 4 GiB.
    ///
    /// Only for an exit caused by an instruction that records its length
    /// ([`records_instruction_length`]), once: otherwise
    /// [`VmxError::NotCompletable`] (an interrupt, EPT violation or entry failure has no
    /// instruction to skip, and the instruction-length field then holds stale data).
    #[inline]
    pub fn advance_rip(&mut self) -> Result<(), VmxError> {
        self.take_exit(Completion::AdvanceRip, |r| {
            records_instruction_length(ExitReason(r))
        })?;
        self.skip_instruction()
    }

    /// The common part of every completion: RIP, interruptibility, single-step. Inlined:
    /// it is on the exit path of every completed instruction.
    #[inline(always)]
    pub(super) fn skip_instruction(&mut self) -> Result<(), VmxError> {
        self.load_vmcs()?;
        let len = vmread_fast(fields::EXIT_INSTRUCTION_LENGTH.raw())?;
        let rip = vmread_fast(fields::GUEST_RIP.raw())?;
        let intr = vmread_fast(fields::GUEST_INTERRUPTIBILITY_STATE.raw())?;
        let rflags = vmread_fast(fields::GUEST_RFLAGS.raw())?;
        // The instruction length is a 32-bit field.
        let next = if crosses_4g(rip, len as u32) {
            next_rip_at_4g(rip, len)?
        } else {
            rip.wrapping_add(len)
        };
        // SAFETY: guest RIP and interruptibility exist on every processor, the VMCS is
        // current, and neither field can affect the host.
        unsafe {
            vmwrite_fast(fields::GUEST_RIP.raw(), next);
            if intr & 3 != 0 {
                vmwrite_fast(fields::GUEST_INTERRUPTIBILITY_STATE.raw(), intr & !3);
            }
        }
        if rflags & RFLAGS_TF != 0 {
            self.single_step_trap()?;
        }
        Ok(())
    }

    /// The emulated instruction ran with RFLAGS.TF = 1: the single-step trap it would have
    /// raised becomes a pending debug exception (BS, bit 14; SDM §25.4.2 Table 25-4), which
    /// the processor delivers after the next VM entry (§27.7.3).
    #[cold]
    #[inline(never)]
    fn single_step_trap(&mut self) -> Result<(), VmxError> {
        let pending = vmread_fast(fields::GUEST_PENDING_DEBUG_EXCEPTIONS.raw())?;
        // SAFETY: a guest-state field that cannot affect the host; the VMCS is current.
        unsafe {
            vmwrite_fast(
                fields::GUEST_PENDING_DEBUG_EXCEPTIONS.raw(),
                pending | PENDING_BS,
            )
        };
        Ok(())
    }

    /// Completes an emulated IN (non-string): puts `value` into AL/AX/EAX (a 4-byte IN
    /// zero-extends into RAX) and advances RIP. The last exit must be that IN.
    pub fn complete_io_in(&mut self, io: &IoExit, value: u32) -> Result<(), VmxError> {
        if !io.is_in || io.string {
            return Err(self.not_completable(Completion::IoIn));
        }
        self.take_exit(Completion::IoIn, |r| {
            ExitReason(r).basic() == BasicExitReason::IO_INSTRUCTION
        })?;
        let rax = &mut self.block_mut().regs.rax;
        *rax = merge_in_value(*rax, io.size, value);
        self.skip_instruction()
    }

    /// Completes an emulated RDMSR: EDX:EAX = `value` (upper halves of RAX/RDX cleared) and
    /// advances RIP. The last exit must be a RDMSR.
    #[inline]
    pub fn complete_rdmsr(&mut self, value: u64) -> Result<(), VmxError> {
        self.take_exit(Completion::Rdmsr, |r| {
            ExitReason(r).basic() == BasicExitReason::RDMSR
        })?;
        let r = &mut self.block_mut().regs;
        r.rax = value & 0xFFFF_FFFF;
        r.rdx = value >> 32;
        self.skip_instruction()
    }

    /// Completes an emulated CPUID with the four result registers and advances RIP. The last
    /// exit must be a CPUID.
    #[inline]
    pub fn complete_cpuid(
        &mut self,
        eax: u32,
        ebx: u32,
        ecx: u32,
        edx: u32,
    ) -> Result<(), VmxError> {
        self.take_exit(Completion::Cpuid, |r| {
            ExitReason(r).basic() == BasicExitReason::CPUID
        })?;
        let r = &mut self.block_mut().regs;
        r.rax = u64::from(eax);
        r.rbx = u64::from(ebx);
        r.rcx = u64::from(ecx);
        r.rdx = u64::from(edx);
        self.skip_instruction()
    }

    /// Physical address of the VMCS.
    pub fn vmcs_paddr(&self) -> HostPhysAddr {
        self.vmcs.paddr()
    }
}

/// [`next_rip`] for an instruction whose end crosses a 4-GiB boundary, with the mode read
/// from guest CS.L (out of line: the common exit does not pay for it). The VMCS is current.
#[cold]
#[inline(never)]
fn next_rip_at_4g(rip: u64, len: u64) -> Result<u64, VmxError> {
    let cs_long = vmread_fast(fields::GUEST_CS_ACCESS_RIGHTS.raw())? & CS_ACCESS_RIGHTS_L != 0;
    Ok(next_rip(rip, len, cs_long))
}

/// What a [`Vcpu::run_loop`] handler asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Enter the guest again.
    Continue,
    /// Leave the loop; `run_loop` returns `Ok(())`.
    Stop,
}

/// Restores what `run_loop` changed for its duration when it ends (or unwinds): a guest
/// extended state kept in the registers goes out, the reentrancy mark and lazy flag are
/// cleared, the outer extended-state owner and RFLAGS come back.
struct LoopGuard<'c, H: VmxHost> {
    block: NonNull<RunBlock>,
    cpu: &'c VmxCpu<H>,
    outer_owner: u64,
    lazy: bool,
    flags: u64,
}

impl<H: VmxHost> Drop for LoopGuard<'_, H> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the block belongs to the vCPU whose `run_loop` created this guard and
        // outlives it; the loop touches it only through this same raw pointer and not
        // while the guard runs.
        let block = unsafe { self.block.as_mut() };
        if block.guest_loaded != 0 {
            // SAFETY: lazy mode kept this vCPU's guest state in the registers of this CPU
            // (`guest_loaded`), and the block's areas and XCR0 values are its own.
            unsafe { put_guest_xstate(block) };
        }
        block.in_loop = 0;
        block.lazy = 0;
        if self.lazy {
            self.cpu.set_xstate_owner(self.outer_owner);
        }
        restore_flags(self.flags);
    }
}
