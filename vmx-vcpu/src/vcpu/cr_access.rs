//! Completing the guest's control- and debug-register instructions after their exits (SDM
//! Vol. 3C §26.1.3 for when they exit; Vol. 2B MOV CR, MOV DR, Vol. 2A CLTS, LMSW for what
//! they do; the rules are the pure functions of [`cr_rules`](super::cr_rules) and
//! [`dr_rules`](super::dr_rules)).
//!
//! Registers the VMCS does not hold live in the vCPU: the virtual TPR (CR8: "CR8-load/store
//! exiting" is always on and there is no TPR shadow, so the guest never reaches the host's
//! TPR) and DR0-DR3 and DR6 ("MOV-DR exiting" is always on). DR7 is GUEST_DR7, switched by
//! the debug controls (SDM Vol. 3C §27.3.2.1, §28.3.1).

use vmx_defs::controls::{EntryControls, SecondaryProcBasedControls};
use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::qualification::{
    CrAccessQualification, CrAccessType, LmswOperandType, MovDrDirection, MovDrQualification,
};
use vmx_defs::registers::{Cr4, Efer};
use vmx_defs::vmcs::fields;

use crate::error::{Completion, VcpuFeature, VmxError};
use crate::exit::{CS_ACCESS_RIGHTS_L, CrAccess};
use crate::host::VmxHost;
use crate::xstate::XStateMode;

use super::cr_rules::{self, Cr4Limits, CrState, CrUpdate};
use super::dr_rules::{self, DebugRegister, DrError, GuestDebugRegisters};
use super::{NO_EXIT, Vcpu, vmread, vmwrite};

/// The registers this vCPU emulates (MOV DR and MOV CR8 always exit, see
/// [`ISOLATION`](crate::ISOLATION)): held in the vCPU, never loaded into the processor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct EmulatedRegs {
    /// DR0-DR3.
    dr: [u64; 4],
    /// DR6.
    dr6: u64,
    /// The virtual TPR (CR8, bits 3:0).
    tpr: u64,
    /// DR7 as the guest wrote it; GUEST_DR7 holds `armed_dr7` of it.
    dr7: u64,
}

/// DR7 bits that must never reach the processor while DR0-DR3 hold the host's values: the
/// breakpoint enables L0-L3/G0-G3 (bits 7:0), which would arm the host's breakpoint
/// addresses inside the guest (a guest could probe them), and GD (bit 13), whose
/// general-detect #DB the vCPU emulates (SDM Vol. 3A §17.2.4).
const DR7_NOT_LOADED: u64 = 0xFF | 1 << 13;

/// The value loaded into GUEST_DR7 for the guest's DR7 `dr7`: without the bits of
/// [`DR7_NOT_LOADED`]. Pure.
pub(super) const fn armed_dr7(dr7: u64) -> u64 {
    dr7 & !DR7_NOT_LOADED
}

/// CR4 bits owned because the guest's extended state is not switched in `mode`.
pub(super) const fn xstate_cr4_owned(mode: XStateMode) -> Cr4 {
    match mode {
        XStateMode::None => Cr4::OSFXSR.union(Cr4::OSXSAVE),
        XStateMode::Fxsave => Cr4::OSXSAVE,
        XStateMode::Xsave => Cr4::empty(),
    }
}

/// Whether the qualification describes the access the caller passed.
fn same_cr_access(q: CrAccessQualification, a: &CrAccess) -> bool {
    match (q.access_type(), a) {
        (CrAccessType::MovToCr, CrAccess::MovTo { cr, gpr, .. })
        | (CrAccessType::MovFromCr, CrAccess::MovFrom { cr, gpr }) => {
            q.cr_number() == *cr && q.gpr() == *gpr
        }
        (CrAccessType::Clts, CrAccess::Clts) => true,
        (
            CrAccessType::Lmsw,
            CrAccess::Lmsw {
                source,
                memory_operand,
            },
        ) => {
            q.lmsw_source_data() == *source
                && matches!(q.lmsw_operand_type(), LmswOperandType::Memory) == *memory_operand
        }
        _ => false,
    }
}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    fn emulated(&self) -> &EmulatedRegs {
        &self.emulated
    }

    fn emulated_mut(&mut self) -> &mut EmulatedRegs {
        &mut self.emulated
    }

    /// Resets the emulated registers to their power-up values (DR0-DR3 0, DR6
    /// FFFF0FF0H, TPR 0; SDM Vol. 3A §10.1.1 Table 10-1).
    pub(super) fn reset_emulated_regs(&mut self) {
        let dr7 = self.emulated().dr7;
        *self.emulated_mut() = EmulatedRegs {
            dr: [0; 4],
            dr6: dr_rules::DR6_FIXED_1,
            tpr: 0,
            dr7,
        };
    }

    /// Records the guest's DR7 and loads GUEST_DR7 with it, less the breakpoint enables and
    /// GD (`armed_dr7`): the guest reads back what it wrote, and no breakpoint is armed on
    /// the host's DR0-DR3 while it runs. The VMCS is current.
    pub(super) fn set_guest_dr7(&mut self, dr7: u64) -> Result<(), VmxError> {
        self.emulated_mut().dr7 = dr7;
        vmwrite(fields::GUEST_DR7, armed_dr7(dr7))
    }

    /// The guest's virtual TPR (CR8 bits 3:0, the task-priority class; SDM Vol. 3A
    /// §11.8.6.1). With a TPR shadow ([`VcpuConfig::apic`](crate::VcpuConfig::apic)) it is
    /// VTPR\[7:4\] of the virtual-APIC page, which guest CR8 accesses use (SDM Vol. 3C
    /// §30.3); otherwise it has no effect on the processor: the caller's
    /// interrupt-controller model reads it to decide which interrupts to inject.
    pub fn virtual_tpr(&self) -> u8 {
        self.shadow_tpr().unwrap_or(self.emulated().tpr as u8)
    }

    /// Sets the virtual TPR (bits 3:0 of `tpr`; e.g. from an emulated local-APIC TPR write,
    /// SDM Vol. 3A §11.8.6.1: CR8\[3:0\] = TPR\[7:4\]); with a TPR shadow, VTPR ← `tpr` << 4.
    pub fn set_virtual_tpr(&mut self, tpr: u8) {
        if !self.set_shadow_tpr(tpr) {
            self.emulated_mut().tpr = u64::from(tpr & 0xF);
        }
    }

    /// The guest's debug registers. DR0-DR3 and DR6 are kept by the vCPU and never loaded
    /// into the processor's debug registers: the guest's hardware breakpoints are therefore
    /// not armed (a guest debugger sees its values, but no #DB fires for them). DR7 is the
    /// value the guest wrote; GUEST_DR7 (SDM Vol. 3C §25.4.1) holds it without the
    /// breakpoint enables and GD (`armed_dr7`), so that the host's DR0-DR3 are never armed
    /// inside the guest.
    pub fn guest_debug_registers(&mut self) -> Result<GuestDebugRegisters, VmxError> {
        let e = self.emulated();
        Ok(GuestDebugRegisters {
            dr: e.dr,
            dr6: e.dr6,
            dr7: e.dr7,
        })
    }

    /// Fails unless the last exit, not yet completed, has basic reason `reason`.
    fn peek_exit(&self, completion: Completion, reason: BasicExitReason) -> Result<(), VmxError> {
        let r = self.exit_to_complete;
        if r & NO_EXIT != 0 || ExitReason(r).is_entry_failure() || ExitReason(r).basic() != reason {
            return Err(VmxError::NotCompletable {
                completion,
                last_exit: (r & NO_EXIT == 0).then(|| ExitReason(r).basic()),
            });
        }
        Ok(())
    }

    /// Marks the exit completed and moves RIP past the instruction.
    fn finish(&mut self, completion: Completion, reason: BasicExitReason) -> Result<(), VmxError> {
        let ok: fn(u32) -> bool = match reason {
            BasicExitReason::MOV_DR => |r| ExitReason(r).basic() == BasicExitReason::MOV_DR,
            _ => |r| ExitReason(r).basic() == BasicExitReason::CONTROL_REGISTER_ACCESS,
        };
        self.take_exit(completion, ok)?;
        self.skip_instruction()
    }

    /// The guest state a control-register write depends on.
    fn cr_state(&mut self) -> Result<CrState, VmxError> {
        let cr0 = self.guest_cr0()?;
        let cr4 = self.guest_cr4()?;
        let efer = self.guest_efer()?;
        self.vmcs.load()?;
        Ok(CrState {
            cr0,
            cr4,
            efer,
            cr3: vmread(fields::GUEST_CR3)?,
            cs_l: vmread(fields::GUEST_CS_ACCESS_RIGHTS)? & CS_ACCESS_RIGHTS_L as u32 != 0,
        })
    }

    fn cr0_fixed(&self) -> vmx_defs::capabilities::FixedBits {
        let caps = self.cpu.capabilities();
        if self.has_secondary(SecondaryProcBasedControls::UNRESTRICTED_GUEST) {
            caps.cr0_fixed_unrestricted_guest()
        } else {
            caps.cr0_fixed()
        }
    }

    /// Applies a checked CR0 write: shadow, field, EFER.LMA with the "IA-32e mode guest"
    /// entry control, TLB invalidation.
    fn apply_cr0(&mut self, u: CrUpdate, old_efer: Efer) -> Result<(), VmxError> {
        let fixed = self.cr0_fixed();
        self.vmcs.load()?;
        let field = vmread(fields::GUEST_CR0)?;
        let new_field = cr_rules::guest_field(u.visible, field, self.cr0_owned, fixed);
        if u.efer != old_efer {
            self.set_guest_efer(u.efer)?;
        }
        vmwrite(fields::CTRL_CR0_READ_SHADOW, u.visible)?;
        vmwrite(fields::GUEST_CR0, new_field)?;
        if u.flush_tlb {
            self.invalidate_vpid()?;
        }
        Ok(())
    }

    /// Makes `efer` the guest's IA32_EFER and the "IA-32e mode guest" entry control equal
    /// to its LMA (SDM Vol. 3C §27.3.1.1); through GUEST_IA32_EFER or the MSR lists. On
    /// IA-32e activation a busy 16-bit TSS in TR becomes a busy 64-bit one
    /// ([`cr_rules::tr_access_rights_for_ia32e`], §27.3.1.2).
    pub(super) fn set_guest_efer(&mut self, efer: Efer) -> Result<(), VmxError> {
        self.vmcs.load()?;
        let mut entry = self.controls.entry;
        entry.set(EntryControls::IA32E_MODE_GUEST, efer.contains(Efer::LMA));
        if efer.contains(Efer::LMA)
            && !self
                .controls
                .entry
                .contains(EntryControls::IA32E_MODE_GUEST)
        {
            let ar = vmread(fields::GUEST_TR_ACCESS_RIGHTS)?;
            let fixed = cr_rules::tr_access_rights_for_ia32e(ar);
            if fixed != ar {
                vmwrite(fields::GUEST_TR_ACCESS_RIGHTS, fixed)?;
            }
        }
        if self.controls.entry.contains(EntryControls::LOAD_IA32_EFER) {
            vmwrite(fields::GUEST_IA32_EFER, efer.bits())?;
        } else {
            self.set_listed_msr(Efer::MSR, efer.bits())?;
        }
        if entry != self.controls.entry {
            vmwrite(fields::CTRL_VMENTRY_CONTROLS, entry.bits())?;
            self.controls.entry = entry;
        }
        Ok(())
    }

    /// Completes the guest's control-register access `access` (the payload of the last
    /// exit, [`VmExit::CrAccess`](crate::VmExit::CrAccess); checked against the exit
    /// qualification) as the instruction does, then advances RIP:
    ///
    /// - MOV to CR0, CLTS, LMSW: [`cr_rules::mov_to_cr0`], [`cr_rules::clts`],
    ///   [`cr_rules::lmsw`]. The new value goes to the CR0 read shadow; the guest-state
    ///   field takes it with the bits the caller owns ([`Vcpu::set_cr0_shadow`]) kept and
    ///   the VMX fixed bits applied. Entering or leaving IA-32e mode updates IA32_EFER.LMA
    ///   and the "IA-32e mode guest" entry control. With a VPID, a change that invalidates
    ///   TLBs invalidates the VPID.
    /// - MOV to CR4: [`cr_rules::mov_to_cr4`], with the bits this processor allows in CR4
    ///   (IA32_VMX_CR4_FIXED1); CR4.OSFXSR/OSXSAVE are refused when this vCPU does not switch
    ///   the state they enable ([`Vcpu::xstate_mode`]).
    /// - MOV to CR3: [`Vcpu::load_guest_cr3`]; MOV from CR3: GUEST_CR3 (needs EPT, else
    ///   [`VmxError::NotConfigured`]).
    /// - MOV to/from CR8: the virtual TPR ([`Vcpu::virtual_tpr`]); bits 63:4 set is refused.
    ///
    /// A value the instruction refuses is [`VmxError::CrAccess`] with the #GP(0) cause
    /// ([`VmxError::InvalidCr3`] for CR3): the exit counts as completed, nothing changed,
    /// RIP stays: inject #GP(0). A legal change this crate does not emulate (PDPTE loading
    /// under PAE paging, a PE/PG change without unrestricted guest) is
    /// [`VmxError::CrAccess`] with [`CrError::NotEmulated`](cr_rules::CrError::NotEmulated)
    /// and leaves the exit to the caller (which may emulate it and call
    /// [`Vcpu::advance_rip`]). Another exit, or one already completed, is
    /// [`VmxError::NotCompletable`].
    pub fn complete_cr_access(&mut self, access: &CrAccess) -> Result<(), VmxError> {
        const C: Completion = Completion::CrAccess;
        const R: BasicExitReason = BasicExitReason::CONTROL_REGISTER_ACCESS;
        self.peek_exit(C, R)?;
        self.vmcs.load()?;
        let q = CrAccessQualification::from_raw(vmread(fields::EXIT_QUALIFICATION)?);
        if !same_cr_access(q, access) {
            return Err(VmxError::NotCompletable {
                completion: C,
                last_exit: Some(R),
            });
        }
        let state = self.cr_state()?;
        let result = match *access {
            CrAccess::MovTo { cr: 0, value, .. } => {
                cr_rules::mov_to_cr0(value, state, self.cr0_fixed()).map(Some)
            }
            CrAccess::Clts => cr_rules::clts(state, self.cr0_fixed()).map(Some),
            CrAccess::Lmsw { source, .. } => {
                cr_rules::lmsw(source, state, self.cr0_fixed()).map(Some)
            }
            CrAccess::MovTo { cr: 4, value, .. } => {
                let limits = Cr4Limits {
                    supported: Cr4::from_bits_retain(self.cpu.capabilities().cr4_fixed().fixed1()),
                    not_switched: xstate_cr4_owned(self.xstate.mode),
                };
                match cr_rules::mov_to_cr4(value, state, limits) {
                    Ok(u) => {
                        self.apply_cr4(u)?;
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            }
            CrAccess::MovTo { cr: 8, value, .. } => match cr_rules::mov_to_cr8(value) {
                Ok(tpr) => {
                    self.set_virtual_tpr(tpr);
                    Ok(None)
                }
                Err(e) => Err(e),
            },
            CrAccess::MovTo { cr: 3, value, .. } => {
                if let Err(e) = self.load_guest_cr3(state.operand(value)) {
                    if matches!(e, VmxError::InvalidCr3(_)) {
                        self.take_exit(C, |_| true)?;
                    }
                    return Err(e);
                }
                Ok(None)
            }
            CrAccess::MovFrom { cr: 3, gpr } => {
                if !self.has_secondary(SecondaryProcBasedControls::ENABLE_EPT) {
                    return Err(VmxError::NotConfigured(VcpuFeature::Ept));
                }
                self.set_gpr(gpr, state.operand(state.cr3))?;
                Ok(None)
            }
            CrAccess::MovFrom { cr: 8, gpr } => {
                self.set_gpr(gpr, u64::from(self.virtual_tpr()))?;
                Ok(None)
            }
            CrAccess::MovTo { .. } | CrAccess::MovFrom { .. } => {
                return Err(VmxError::NotCompletable {
                    completion: C,
                    last_exit: Some(R),
                });
            }
        };
        match result {
            Ok(Some(u)) => self.apply_cr0(u, state.efer)?,
            Ok(None) => {}
            Err(e) => {
                if e.is_guest_fault() {
                    self.take_exit(C, |_| true)?;
                }
                return Err(VmxError::CrAccess(e));
            }
        }
        self.finish(C, R)
    }

    /// Applies a checked CR4 write: shadow, field (caller-owned bits kept, fixed bits
    /// applied), TLB invalidation.
    fn apply_cr4(&mut self, u: CrUpdate) -> Result<(), VmxError> {
        let fixed = self.cpu.capabilities().cr4_fixed();
        self.vmcs.load()?;
        let field = vmread(fields::GUEST_CR4)?;
        let new_field = cr_rules::guest_field(u.visible, field, self.cr4_owned, fixed);
        vmwrite(fields::CTRL_CR4_READ_SHADOW, u.visible)?;
        vmwrite(fields::GUEST_CR4, new_field)?;
        if u.flush_tlb {
            self.invalidate_vpid()?;
        }
        Ok(())
    }

    /// Completes the guest's MOV DR described by `access` (the last exit's
    /// [`VmExit::MovDr`](crate::VmExit::MovDr); checked against the exit qualification)
    /// with [`dr_rules::mov_to_dr`] / [`dr_rules::resolve`], then advances RIP. DR4/DR5
    /// alias DR6/DR7 when CR4.DE = 0. DR0-DR3 and DR6 are the vCPU's copies
    /// ([`Vcpu::guest_debug_registers`]: never loaded into the processor, so the guest's
    /// breakpoints are not armed); DR7 is GUEST_DR7. Outside 64-bit mode the operand is 32
    /// bits.
    ///
    /// [`VmxError::DrAccess`] when the instruction raises an exception instead (the exit
    /// counts as completed, RIP stays; inject [`DrError::vector`]): #UD for DR4/DR5 with
    /// CR4.DE = 1, #GP(0) for DR6/DR7 bits 63:32, #DB with DR7.GD = 1 (DR6.BD is then set
    /// and DR7.GD cleared, as the processor does before delivering it; SDM Vol. 3A
    /// §17.2.4).
    pub fn complete_mov_dr(&mut self, access: &MovDrQualification) -> Result<(), VmxError> {
        const C: Completion = Completion::MovDr;
        const R: BasicExitReason = BasicExitReason::MOV_DR;
        self.peek_exit(C, R)?;
        self.vmcs.load()?;
        let q = MovDrQualification::from_raw(vmread(fields::EXIT_QUALIFICATION)?);
        if q.dr_number() != access.dr_number()
            || q.direction() != access.direction()
            || q.gpr() != access.gpr()
        {
            return Err(VmxError::NotCompletable {
                completion: C,
                last_exit: Some(R),
            });
        }
        let state = self.cr_state()?;
        let de = state.cr4.contains(Cr4::DE);
        self.vmcs.load()?;
        let dr7 = self.emulated().dr7;
        let long = state.in_64bit_mode();
        let result = match q.direction() {
            MovDrDirection::ToDr => {
                let value = self.gpr(q.gpr())?;
                dr_rules::mov_to_dr(q.dr_number(), value, de, dr7, long).map(Some)
            }
            MovDrDirection::FromDr => dr_rules::resolve(q.dr_number(), de, dr7).map(|_| None),
        };
        match result {
            Err(e) => {
                self.take_exit(C, |_| true)?;
                if e == DrError::GeneralDetect {
                    let (dr6, dr7) = dr_rules::general_detect(self.emulated().dr6, dr7);
                    self.emulated_mut().dr6 = dr6;
                    self.set_guest_dr7(dr7)?;
                }
                return Err(VmxError::DrAccess(e));
            }
            Ok(Some((reg, value))) => match reg {
                DebugRegister::Address(n) => self.emulated_mut().dr[usize::from(n & 3)] = value,
                DebugRegister::Status => self.emulated_mut().dr6 = value,
                DebugRegister::Control => self.set_guest_dr7(value)?,
            },
            Ok(None) => {
                let value = match dr_rules::resolve(q.dr_number(), de, 0) {
                    Ok(DebugRegister::Address(n)) => self.emulated().dr[usize::from(n & 3)],
                    Ok(DebugRegister::Status) => self.emulated().dr6,
                    Ok(DebugRegister::Control) | Err(_) => dr7,
                };
                self.set_gpr(q.gpr(), state.operand(value))?;
            }
        }
        self.finish(C, R)
    }
}
