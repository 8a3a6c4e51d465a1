//! Completing an instruction emulated after an EPT violation on MMIO (basic exit reason 48,
//! SDM Vol. 3C §29.3.3.2): the register effects of [`crate::mmio::complete`] and RIP moved
//! by the decoded length, since an EPT violation records no instruction length (§28.2.4).

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::vmcs::fields;

use crate::error::{Completion, VmxError};
use crate::exit::{CS_ACCESS_RIGHTS_L, next_rip};
use crate::host::VmxHost;
use crate::mmio::MmioAccess;
use crate::mmio::complete::{self, Completed, MmioRegisters};
use crate::regs::Gpr;

use super::{Vcpu, vmread, vmwrite};

/// RFLAGS.TF (SDM Vol. 1 §3.4.3.3).
const RFLAGS_TF: u64 = 1 << 8;
/// Pending debug exceptions: BS, a single-step trap (SDM Vol. 3C §25.4.2 Table 25-4).
const PENDING_BS: u64 = 1 << 14;

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// The value the emulated write-only instruction (MOV store, STOS) writes to the MMIO
    /// location, `access.width` bytes, read from its source register or immediate. The last
    /// exit must be an EPT violation (reason 48) not yet completed, and `access` a MOV store
    /// or STOS; otherwise [`VmxError::NotCompletable`] with [`Completion::Mmio`]. Changes
    /// nothing.
    pub fn mmio_write_value(&mut self, access: &MmioAccess) -> Result<u64, VmxError> {
        self.expect_exit(Completion::Mmio, BasicExitReason::EPT_VIOLATION)?;
        let regs = self.mmio_registers()?;
        complete::write_value(access, &regs).ok_or(WRONG_DIRECTION)
    }

    /// Completes an instruction that read `value` from MMIO (`access.reads()`, decoded by
    /// [`fn@crate::mmio::decode`]): writes the destination register with the instruction's
    /// width and extension (32-bit writes zero-extend into bits 63:32, 8- and 16-bit
    /// writes, AH-BH included, merge; SDM Vol. 1 §3.4.1.1), the ALU status flags, the
    /// string registers, and moves RIP by `access.length` (wrapping at 4 GiB outside 64-bit
    /// mode, [`next_rip`]); with RFLAGS.TF = 1 a single-step trap becomes pending (BS, SDM
    /// §25.4.2). A REP MOVS with a count left keeps RIP (SDM Vol. 2B REP).
    ///
    /// Returns the value the instruction then writes: to the MMIO location for ALU
    /// read-modify-write instructions and XCHG, to ES:\[DI\] in guest memory for a MOVS
    /// (both before the registers moved); the caller performs that write.
    ///
    /// The last exit must be an EPT violation (reason 48) not yet completed and `access`
    /// an instruction that reads memory; otherwise [`VmxError::NotCompletable`] with
    /// [`Completion::Mmio`] and nothing changes.
    pub fn complete_mmio_read(
        &mut self,
        access: &MmioAccess,
        value: u64,
    ) -> Result<Option<u64>, VmxError> {
        self.expect_exit(Completion::Mmio, BasicExitReason::EPT_VIOLATION)?;
        let mut regs = self.mmio_registers()?;
        let before = regs;
        let done = complete::complete_read(access, &mut regs, value).ok_or(WRONG_DIRECTION)?;
        self.finish_mmio(access, &before, &regs, done)?;
        Ok(done.write_back)
    }

    /// Completes an instruction that only wrote MMIO (MOV store, STOS, a MOVS whose
    /// destination was MMIO) after the caller performed the write: moves the string
    /// registers and RIP by `access.length`, as [`complete_mmio_read`](Self::complete_mmio_read)
    /// does (same checks, same single-step rule; a REP with a count left keeps RIP).
    pub fn complete_mmio_write(&mut self, access: &MmioAccess) -> Result<(), VmxError> {
        self.expect_exit(Completion::Mmio, BasicExitReason::EPT_VIOLATION)?;
        let mut regs = self.mmio_registers()?;
        let before = regs;
        let done = complete::complete_write(access, &mut regs).ok_or(WRONG_DIRECTION)?;
        self.finish_mmio(access, &before, &regs, done)
    }

    /// The 16 GPRs and RFLAGS (the VMCS made current).
    fn mmio_registers(&mut self) -> Result<MmioRegisters, VmxError> {
        let mut regs = MmioRegisters::default();
        for (n, slot) in regs.gprs.iter_mut().enumerate() {
            *slot = self.gpr(Gpr::from_bits(n as u8))?;
        }
        self.load_vmcs()?;
        regs.rflags = vmread(fields::GUEST_RFLAGS)?;
        Ok(regs)
    }

    /// Consumes the exit, writes the registers that changed and RFLAGS, moves RIP.
    fn finish_mmio(
        &mut self,
        access: &MmioAccess,
        before: &MmioRegisters,
        after: &MmioRegisters,
        done: Completed,
    ) -> Result<(), VmxError> {
        self.take_exit(Completion::Mmio, |r| {
            ExitReason(r).basic() == BasicExitReason::EPT_VIOLATION
        })?;
        for (n, (&old, &new)) in before.gprs.iter().zip(after.gprs.iter()).enumerate() {
            if old != new {
                self.set_gpr(Gpr::from_bits(n as u8), new)?;
            }
        }
        self.load_vmcs()?;
        if after.rflags != before.rflags {
            vmwrite(fields::GUEST_RFLAGS, after.rflags)?;
        }
        if done.advance_rip {
            let rip = vmread(fields::GUEST_RIP)?;
            let cs = u64::from(vmread(fields::GUEST_CS_ACCESS_RIGHTS)?);
            let next = next_rip(rip, u64::from(access.length), cs & CS_ACCESS_RIGHTS_L != 0);
            vmwrite(fields::GUEST_RIP, next)?;
            // The instruction completed: blocking by STI and by MOV SS ends (SDM §26.7).
            let intr = vmread(fields::GUEST_INTERRUPTIBILITY_STATE)?;
            if intr & 3 != 0 {
                vmwrite(fields::GUEST_INTERRUPTIBILITY_STATE, intr & !3)?;
            }
        }
        // A single-step trap follows the instruction, and each iteration of a repeated
        // string instruction (SDM Vol. 3B §18.3.1.4).
        if before.rflags & RFLAGS_TF != 0 {
            let pending = vmread(fields::GUEST_PENDING_DEBUG_EXCEPTIONS)?;
            vmwrite(fields::GUEST_PENDING_DEBUG_EXCEPTIONS, pending | PENDING_BS)?;
        }
        Ok(())
    }
}

/// The refusal for an access of the other direction (e.g. `complete_mmio_read` for a MOV
/// store): the last exit is the EPT violation, the completion does not fit it.
const WRONG_DIRECTION: VmxError = VmxError::NotCompletable {
    completion: Completion::Mmio,
    last_exit: Some(BasicExitReason::EPT_VIOLATION),
};
