//! Completing an instruction emulated after an EPT violation on MMIO (basic exit reason 48,
//! SDM Vol. 3C §29.3.3.2) or after an APIC-access exit by an instruction's linear data read
//! or write (basic exit reason 44, §30.4.1): the register effects of
//! [`crate::mmio::complete`] and RIP moved by the decoded length (an EPT violation records no
//! instruction length, §28.2.4). Which exits qualify: [`MmioExit::from_exit`].

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::vmcs::fields;

use crate::apic::ApicError;
use crate::error::{Completion, VmxError};
use crate::exit::{CS_ACCESS_RIGHTS_L, next_rip};
use crate::host::VmxHost;
use crate::mmio::complete::{self, Completed, MmioRegisters};
use crate::mmio::exit::{MmioExit, MmioExitRefusal};
use crate::mmio::{FetchState, MmioAccess, PagingMode, PagingState};
use crate::regs::Gpr;

use super::{NO_EXIT, Vcpu, vmread, vmwrite};

/// RFLAGS.TF (SDM Vol. 1 §3.4.3.3).
const RFLAGS_TF: u64 = 1 << 8;
/// Pending debug exceptions: BS, a single-step trap (SDM Vol. 3C §25.4.2 Table 25-4).
const PENDING_BS: u64 = 1 << 14;

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// The value the emulated write-only instruction (MOV store, STOS) writes to the MMIO
    /// location, `access.width` bytes, read from its source register or immediate. The last
    /// exit must be an EPT violation (reason 48) not yet completed, and `access` a MOV store
    /// or STOS; otherwise [`VmxError::NotCompletable`] with [`Completion::Mmio`]. An
    /// APIC-access exit (reason 44) by an instruction's linear data read or write
    /// ([`MmioExit::ApicAccess`]) is accepted too. Changes nothing.
    pub fn mmio_write_value(&mut self, access: &MmioAccess) -> Result<u64, VmxError> {
        let exit = self.expect_mmio_exit()?;
        let regs = self.mmio_registers()?;
        complete::write_value(access, &regs).ok_or(wrong_direction(exit))
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
    /// The last exit must be an EPT violation (reason 48) or an APIC-access exit (reason
    /// 44, SDM Vol. 3C §30.4.1) by an instruction's linear data read or write, not yet
    /// completed, and `access` an instruction that reads memory; otherwise
    /// [`VmxError::NotCompletable`] with [`Completion::Mmio`] (an APIC-access exit of
    /// another access type: [`ApicError::NotAnInstructionAccess`]) and nothing changes.
    pub fn complete_mmio_read(
        &mut self,
        access: &MmioAccess,
        value: u64,
    ) -> Result<Option<u64>, VmxError> {
        let exit = self.expect_mmio_exit()?;
        let mut regs = self.mmio_registers()?;
        let before = regs;
        let done =
            complete::complete_read(access, &mut regs, value).ok_or(wrong_direction(exit))?;
        self.finish_mmio(access, &before, &regs, done)?;
        Ok(done.write_back)
    }

    /// Completes an instruction that only wrote MMIO (MOV store, STOS, a MOVS whose
    /// destination was MMIO) after the caller performed the write: moves the string
    /// registers and RIP by `access.length`, as [`complete_mmio_read`](Self::complete_mmio_read)
    /// does (same checks, EPT violation or APIC-access exit, same single-step rule; a REP
    /// with a count left keeps RIP).
    pub fn complete_mmio_write(&mut self, access: &MmioAccess) -> Result<(), VmxError> {
        let exit = self.expect_mmio_exit()?;
        let mut regs = self.mmio_registers()?;
        let before = regs;
        let done = complete::complete_write(access, &mut regs).ok_or(wrong_direction(exit))?;
        self.finish_mmio(access, &before, &regs, done)
    }

    /// The guest state [`crate::mmio::fetch_and_decode`] needs to read the instruction at
    /// RIP, from the VMCS guest-state area (SDM Vol. 3C §25.4.1): CR0, CR3 and CR4 as the
    /// processor uses them (the guest-state fields, not the read shadows), IA32_EFER
    /// ([`Vcpu::guest_efer`]), RIP, CS base and access rights, the CPL (SS.DPL) and this
    /// processor's MAXPHYADDR. With EPT and PAE paging the four PDPTEs are the VMCS
    /// guest-PDPTE fields, which hold what the processor loaded (§27.3.2.4, §28.3.4);
    /// otherwise they are read from the table CR3 points to.
    pub fn mmio_fetch_state(&mut self) -> Result<FetchState, VmxError> {
        let efer = self.guest_efer()?.bits();
        let ept = self.ept.is_some();
        self.load_vmcs()?;
        let mut paging = PagingState {
            cr0: vmread(fields::GUEST_CR0)?,
            cr3: vmread(fields::GUEST_CR3)?,
            cr4: vmread(fields::GUEST_CR4)?,
            efer,
            pdptes: None,
            maxphyaddr: vmx_insn::physical_address_width().bits(),
        };
        if ept && paging.mode() == PagingMode::Pae {
            paging.pdptes = Some([
                vmread(fields::GUEST_PDPTE0)?,
                vmread(fields::GUEST_PDPTE1)?,
                vmread(fields::GUEST_PDPTE2)?,
                vmread(fields::GUEST_PDPTE3)?,
            ]);
        }
        let ss_access_rights: u32 = vmread(fields::GUEST_SS_ACCESS_RIGHTS)?;
        Ok(FetchState {
            paging,
            rip: vmread(fields::GUEST_RIP)?,
            cs_base: vmread(fields::GUEST_CS_BASE)?,
            cs_access_rights: vmread(fields::GUEST_CS_ACCESS_RIGHTS)?,
            cpl: ((ss_access_rights >> 5) & 3) as u8,
        })
    }

    /// Checks, without completing it, that the last exit is one an MMIO completion may
    /// follow ([`MmioExit::from_exit`]), reading the exit qualification of an APIC-access
    /// exit (the VMCS made current).
    fn expect_mmio_exit(&mut self) -> Result<MmioExit, VmxError> {
        let r = self.exit_to_complete;
        if r & NO_EXIT != 0 || !MmioExit::reason_may_complete(ExitReason(r)) {
            return Err(VmxError::NotCompletable {
                completion: Completion::Mmio,
                last_exit: (r & NO_EXIT == 0).then(|| ExitReason(r).basic()),
            });
        }
        let qualification = if ExitReason(r).basic() == BasicExitReason::APIC_ACCESS {
            self.load_vmcs()?;
            vmread(fields::EXIT_QUALIFICATION)?
        } else {
            0
        };
        MmioExit::from_exit(ExitReason(r), qualification).map_err(|refusal| match refusal {
            MmioExitRefusal::NotAnInstructionAccess(_) | MmioExitRefusal::Asynchronous => {
                VmxError::Apic(ApicError::NotAnInstructionAccess)
            }
            MmioExitRefusal::OtherExit => VmxError::NotCompletable {
                completion: Completion::Mmio,
                last_exit: Some(ExitReason(r).basic()),
            },
        })
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
            MmioExit::reason_may_complete(ExitReason(r))
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
/// store): the last exit is `exit`, the completion does not fit it.
const fn wrong_direction(exit: MmioExit) -> VmxError {
    VmxError::NotCompletable {
        completion: Completion::Mmio,
        last_exit: Some(match exit {
            MmioExit::EptViolation => BasicExitReason::EPT_VIOLATION,
            MmioExit::ApicAccess { .. } => BasicExitReason::APIC_ACCESS,
        }),
    }
}
