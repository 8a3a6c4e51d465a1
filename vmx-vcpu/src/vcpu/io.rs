//! Completing an emulated string I/O instruction, INS or OUTS (SDM Vol. 2 INS/OUTS, REP;
//! Vol. 3C §28.2.1, §28.2.5 Table 28-8 for what the exit reports). The arithmetic is the
//! pure [`string_io_step`](crate::exit::string_io_step).

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::vmcs::fields;

use crate::error::{Completion, VmxError};
use crate::exit::{IoExit, StringIoStep, string_io_step};
use crate::host::VmxHost;

use super::{NO_EXIT, Vcpu, vmread, vmwrite};

/// RFLAGS.TF (SDM Vol. 1 §3.4.3.3).
const RFLAGS_TF: u64 = 1 << 8;
/// Pending debug exceptions: BS, a single-step trap (SDM Vol. 3C §25.4.2 Table 25-4).
const PENDING_BS: u64 = 1 << 14;

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// Completes `done` iterations of the INS or OUTS of the last exit, `io`, after the
    /// caller moved the data (for the linear addresses [`StringIo::element_address`]
    /// gives, in runs [`StringIo::iterations_in_page`] bounds): advances the index register
    /// (RDI for INS, RSI for OUTS) by `done` elements, down with DF = 1, modulo the
    /// address size; with REP decrements the count register (CX, ECX or RCX per the
    /// address size); and moves RIP past the instruction only when it is complete (REP
    /// count 0, or one iteration without REP), as a processor does between iterations
    /// (SDM Vol. 2 INS/OUTS, REP). Otherwise the guest resumes on the same instruction and
    /// runs the iterations left, exiting again.
    ///
    /// `done` is capped at the iterations left, and at 1 when the guest's RFLAGS.TF is 1:
    /// the processor raises a single-step trap after each iteration of a REP string
    /// instruction, made pending here (pending debug exceptions BS) whether or not the
    /// instruction is complete. Returns what was applied.
    ///
    /// The last exit must be that I/O exit, not yet completed, and `io` a string one whose
    /// address size the processor reported (IA32_VMX_BASIC\[54\] = 1, SDM Vol. 3D §A.1):
    /// otherwise [`VmxError::NotCompletable`] (completion `IoIn` for INS, `IoOut` for OUTS)
    /// and nothing changes.
    ///
    /// [`StringIo::element_address`]: crate::exit::StringIo::element_address
    /// [`StringIo::iterations_in_page`]: crate::exit::StringIo::iterations_in_page
    pub fn complete_string_io(&mut self, io: &IoExit, done: u64) -> Result<StringIoStep, VmxError> {
        let completion = Completion::StringIo;
        let reported = self.cpu.capabilities().basic().ins_outs_info();
        let (Some(string), true, true) = (io.string_io, io.string, reported) else {
            return Err(self.string_io_refused(completion));
        };
        if self.exit_to_complete & NO_EXIT != 0 {
            return Err(self.string_io_refused(completion));
        }
        self.load_vmcs()?;
        let rflags = vmread(fields::GUEST_RFLAGS)?;
        let done = if rflags & RFLAGS_TF != 0 {
            done.min(1)
        } else {
            done
        };
        let regs = &self.block().regs;
        // RSI and RDI are in the block: `get` gives `Some`.
        let index = regs.get(string.index_register).unwrap_or(0);
        let Some(step) = string_io_step(&string, io.size, io.rep, index, regs.rcx, done) else {
            return Err(self.string_io_refused(completion));
        };
        self.take_exit(completion, |r| {
            ExitReason(r).basic() == BasicExitReason::IO_INSTRUCTION
        })?;
        let regs = &mut self.block_mut().regs;
        regs.set(string.index_register, step.index);
        if let Some(rcx) = step.rcx {
            regs.rcx = rcx;
        }
        if step.finished {
            // Also makes the single-step trap pending when TF is 1.
            self.skip_instruction()?;
        } else if rflags & RFLAGS_TF != 0 {
            let pending = vmread(fields::GUEST_PENDING_DEBUG_EXCEPTIONS)?;
            vmwrite(fields::GUEST_PENDING_DEBUG_EXCEPTIONS, pending | PENDING_BS)?;
        }
        Ok(step)
    }

    /// [`VmxError::NotCompletable`] naming the exit waiting for completion, if any.
    #[cold]
    fn string_io_refused(&self, completion: Completion) -> VmxError {
        let reason = self.exit_to_complete;
        VmxError::NotCompletable {
            completion,
            last_exit: (reason & NO_EXIT == 0).then(|| ExitReason(reason).basic()),
        }
    }
}
