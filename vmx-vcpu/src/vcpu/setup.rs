//! Writing the VMCS control, host-state and guest-state areas (SDM Vol. 3C §25.4-25.8).

use vmx_defs::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryProcBasedControls,
};
use vmx_defs::vmcs::{Field, ReadWrite, fields};

use crate::arch;
use crate::entry::entry_routine;
use crate::error::VmxError;
use crate::guest::{GuestState, Segment};
use crate::host::VmxHost;
use crate::host_state::HostState;
use crate::msr_values::{IA32_PAT, MsrValueLimits, check_msr_value};
use vmx_defs::registers::Efer;

use super::{F_IO_A, F_MSR_BITMAP, Vcpu, vmwrite};

impl<'c, H: VmxHost> Vcpu<'c, H> {
    pub(super) fn write_controls(&mut self) -> Result<(), VmxError> {
        let c = self.controls;
        vmwrite(fields::CTRL_PIN_BASED_EXEC_CONTROLS, c.pin.bits())?;
        vmwrite(
            fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS,
            c.primary.bits(),
        )?;
        if c.primary
            .contains(PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS)
        {
            vmwrite(
                fields::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS,
                c.secondary.bits(),
            )?;
        }
        vmwrite(fields::CTRL_PRIMARY_VMEXIT_CONTROLS, c.exit.bits())?;
        vmwrite(fields::CTRL_VMENTRY_CONTROLS, c.entry.bits())?;
        vmwrite(fields::CTRL_EXCEPTION_BITMAP, 0)?;
        vmwrite(fields::CTRL_PAGE_FAULT_ERROR_CODE_MASK, 0)?;
        vmwrite(fields::CTRL_PAGE_FAULT_ERROR_CODE_MATCH, 0)?;
        vmwrite(fields::CTRL_CR3_TARGET_COUNT, 0)?;
        vmwrite(fields::CTRL_VMENTRY_INTERRUPTION_INFO, 0)?;
        let addr = |i: usize| self.frames.paddr_of(i).as_u64();
        if c.primary
            .contains(PrimaryProcBasedControls::USE_MSR_BITMAPS)
        {
            vmwrite(fields::CTRL_MSR_BITMAP_ADDRESS, addr(F_MSR_BITMAP))?;
        }
        if c.primary.contains(PrimaryProcBasedControls::USE_IO_BITMAPS) {
            vmwrite(fields::CTRL_IO_BITMAP_A_ADDRESS, addr(F_IO_A))?;
            vmwrite(fields::CTRL_IO_BITMAP_B_ADDRESS, addr(F_IO_A + 1))?;
        }
        if c.secondary
            .contains(SecondaryProcBasedControls::ENABLE_XSAVES_XRSTORS)
        {
            // No XSAVES/XRSTORS exits unless the caller asks (SDM §25.6.20).
            vmwrite(fields::CTRL_XSS_EXITING_BITMAP, 0)?;
        }
        if c.primary
            .contains(PrimaryProcBasedControls::USE_TSC_OFFSETTING)
        {
            vmwrite(fields::CTRL_TSC_OFFSET, 0)?;
        }
        if let Some(eptp) = self.eptp() {
            vmwrite(fields::CTRL_EPT_POINTER, eptp.raw())?;
        }
        if c.pin
            .contains(PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER)
        {
            vmwrite(fields::GUEST_VMX_PREEMPTION_TIMER_VALUE, u32::MAX)?;
        }
        Ok(())
    }

    pub(super) fn write_host_state(&mut self, h: &HostState) -> Result<(), VmxError> {
        // DR7 and IA32_DEBUGCTL have no host-state field: the exit path puts them back when
        // the host uses them (SDM §28.5.1).
        let mut with_debugctl = *h;
        with_debugctl.debugctl = self.cpu.host().host_debugctl().unwrap_or(0);
        self.host_debug = with_debugctl
            .debug_state_lost_on_exit()
            .then_some(with_debugctl);
        vmwrite(fields::HOST_CR0, h.cr0)?;
        vmwrite(fields::HOST_CR3, h.cr3)?;
        vmwrite(fields::HOST_CR4, h.cr4)?;
        let s = h.selectors;
        vmwrite(fields::HOST_ES_SELECTOR, s.es)?;
        vmwrite(fields::HOST_CS_SELECTOR, s.cs)?;
        vmwrite(fields::HOST_SS_SELECTOR, s.ss)?;
        vmwrite(fields::HOST_DS_SELECTOR, s.ds)?;
        vmwrite(fields::HOST_FS_SELECTOR, s.fs)?;
        vmwrite(fields::HOST_GS_SELECTOR, s.gs)?;
        vmwrite(fields::HOST_TR_SELECTOR, s.tr)?;
        vmwrite(fields::HOST_FS_BASE, h.fs_base)?;
        vmwrite(fields::HOST_GS_BASE, h.gs_base)?;
        vmwrite(fields::HOST_TR_BASE, h.tr_base)?;
        vmwrite(fields::HOST_GDTR_BASE, h.gdtr_base)?;
        vmwrite(fields::HOST_IDTR_BASE, h.idtr_base)?;
        vmwrite(fields::HOST_IA32_SYSENTER_CS, h.sysenter_cs)?;
        vmwrite(fields::HOST_IA32_SYSENTER_ESP, h.sysenter_esp)?;
        vmwrite(fields::HOST_IA32_SYSENTER_EIP, h.sysenter_eip)?;
        if self
            .controls
            .exit
            .contains(PrimaryExitControls::LOAD_IA32_EFER)
        {
            vmwrite(fields::HOST_IA32_EFER, h.efer)?;
        }
        if self
            .controls
            .exit
            .contains(PrimaryExitControls::LOAD_IA32_PAT)
        {
            vmwrite(fields::HOST_IA32_PAT, h.pat)?;
        }
        vmwrite(fields::HOST_RIP, entry_routine(self.block().xmode).1)?;
        // HOST_RSP is written by the entry code (see `entry.rs`); force a write.
        self.block_mut().host_rsp = 0;
        Ok(())
    }

    /// Captures the host state again (after the host changed its FS/GS base, GDT, IDT, TSS,
    /// CR3, SYSENTER or syscall MSRs) and writes it to the VMCS.
    ///
    /// # Safety
    /// As for [`VmxVcpu::new`](crate::VmxVcpu::new) (CPL 0, GDT mapped).
    pub unsafe fn refresh_host_state(&mut self) -> Result<(), VmxError> {
        self.vmcs.load()?;
        // SAFETY: forwarded contract.
        let h = unsafe { HostState::capture() }?;
        self.write_host_state(&h)?;
        for i in 0..self.msr_count {
            let host = self.host_list();
            // SAFETY: `i` < msr_count ≤ capacity; the list page is ours.
            let index = unsafe { (*host.add(i)).index };
            // SAFETY: the index was accepted into the list, so the MSR exists (it was read
            // when the entry was added).
            let value = unsafe { arch::rdmsr(index) };
            // SAFETY: as above.
            unsafe { (*host.add(i)).value = value };
        }
        Ok(())
    }

    fn write_segment(
        sel: Field<vmx_defs::vmcs::W16, ReadWrite>,
        base: Field<vmx_defs::vmcs::WNat, ReadWrite>,
        limit: Field<vmx_defs::vmcs::W32, ReadWrite>,
        ar: Field<vmx_defs::vmcs::W32, ReadWrite>,
        s: &Segment,
    ) -> Result<(), VmxError> {
        vmwrite(sel, s.selector)?;
        vmwrite(base, s.base)?;
        vmwrite(limit, s.limit)?;
        vmwrite(ar, s.access_rights.raw())
    }

    /// Writes the whole guest-state area from `g` (SDM §25.4); CR0/CR4 go through the
    /// fixed bits with read shadows (see [`GuestState`]). A new context: every pending and
    /// re-injected event of the old one is dropped ([`Vcpu::clear_pending_events`]).
    pub fn write_guest_state(&mut self, g: &GuestState) -> Result<(), VmxError> {
        self.vmcs.load()?;
        // A new guest context (a reset): no event queued for the old one may reach it.
        self.clear_pending_events()?;
        let caps = self.cpu.capabilities();
        let ug = self
            .controls
            .secondary
            .contains(SecondaryProcBasedControls::UNRESTRICTED_GUEST);
        let cr0f = if ug {
            caps.cr0_fixed_unrestricted_guest()
        } else {
            caps.cr0_fixed()
        };
        let cr4f = caps.cr4_fixed();
        // CR4 bits enabling extended state this vCPU does not switch stay 0 in the guest
        // field and owned (read shadow 0), so that a guest MOV to CR4 setting them exits and
        // is refused (`complete_cr_access`): otherwise the guest would share x87/SSE state
        // with the host and other vCPUs.
        let xs = super::cr_access::xstate_cr4_owned(self.xstate.mode).bits();
        if g.cr4 & xs != 0 {
            return Err(VmxError::CrAccess(
                crate::cr_rules::CrError::ExtendedStateNotSwitched { bits: g.cr4 & xs },
            ));
        }
        self.cr0_fixed_mask = (cr0f.fixed0() | !cr0f.fixed1()) & 0xFFFF_FFFF;
        self.cr4_fixed_mask = cr4f.fixed0() | !cr4f.fixed1() | xs;
        vmwrite(fields::GUEST_CR0, cr0f.adjust(g.cr0))?;
        vmwrite(fields::GUEST_CR4, cr4f.adjust(g.cr4))?;
        vmwrite(fields::CTRL_CR0_READ_SHADOW, g.cr0)?;
        vmwrite(fields::CTRL_CR4_READ_SHADOW, g.cr4)?;
        vmwrite(
            fields::CTRL_CR0_GUEST_HOST_MASK,
            self.cr0_fixed_mask | self.cr0_owned,
        )?;
        vmwrite(
            fields::CTRL_CR4_GUEST_HOST_MASK,
            self.cr4_fixed_mask | self.cr4_owned,
        )?;
        vmwrite(fields::GUEST_CR3, g.cr3)?;
        self.set_guest_dr7(g.dr7)?;
        vmwrite(fields::GUEST_RSP, g.rsp)?;
        vmwrite(fields::GUEST_RIP, g.rip)?;
        vmwrite(fields::GUEST_RFLAGS, g.rflags | 2)?;
        Self::write_segment(
            fields::GUEST_ES_SELECTOR,
            fields::GUEST_ES_BASE,
            fields::GUEST_ES_LIMIT,
            fields::GUEST_ES_ACCESS_RIGHTS,
            &g.es,
        )?;
        Self::write_segment(
            fields::GUEST_CS_SELECTOR,
            fields::GUEST_CS_BASE,
            fields::GUEST_CS_LIMIT,
            fields::GUEST_CS_ACCESS_RIGHTS,
            &g.cs,
        )?;
        Self::write_segment(
            fields::GUEST_SS_SELECTOR,
            fields::GUEST_SS_BASE,
            fields::GUEST_SS_LIMIT,
            fields::GUEST_SS_ACCESS_RIGHTS,
            &g.ss,
        )?;
        Self::write_segment(
            fields::GUEST_DS_SELECTOR,
            fields::GUEST_DS_BASE,
            fields::GUEST_DS_LIMIT,
            fields::GUEST_DS_ACCESS_RIGHTS,
            &g.ds,
        )?;
        Self::write_segment(
            fields::GUEST_FS_SELECTOR,
            fields::GUEST_FS_BASE,
            fields::GUEST_FS_LIMIT,
            fields::GUEST_FS_ACCESS_RIGHTS,
            &g.fs,
        )?;
        Self::write_segment(
            fields::GUEST_GS_SELECTOR,
            fields::GUEST_GS_BASE,
            fields::GUEST_GS_LIMIT,
            fields::GUEST_GS_ACCESS_RIGHTS,
            &g.gs,
        )?;
        Self::write_segment(
            fields::GUEST_LDTR_SELECTOR,
            fields::GUEST_LDTR_BASE,
            fields::GUEST_LDTR_LIMIT,
            fields::GUEST_LDTR_ACCESS_RIGHTS,
            &g.ldtr,
        )?;
        Self::write_segment(
            fields::GUEST_TR_SELECTOR,
            fields::GUEST_TR_BASE,
            fields::GUEST_TR_LIMIT,
            fields::GUEST_TR_ACCESS_RIGHTS,
            &g.tr,
        )?;
        vmwrite(fields::GUEST_GDTR_BASE, g.gdtr.base)?;
        vmwrite(fields::GUEST_GDTR_LIMIT, u32::from(g.gdtr.limit))?;
        vmwrite(fields::GUEST_IDTR_BASE, g.idtr.base)?;
        vmwrite(fields::GUEST_IDTR_LIMIT, u32::from(g.idtr.limit))?;
        vmwrite(fields::GUEST_IA32_SYSENTER_CS, 0)?;
        vmwrite(fields::GUEST_IA32_SYSENTER_ESP, 0)?;
        vmwrite(fields::GUEST_IA32_SYSENTER_EIP, 0)?;
        vmwrite(fields::GUEST_IA32_DEBUGCTL, 0)?;
        vmwrite(fields::GUEST_VMCS_LINK_POINTER, u64::MAX)?;
        vmwrite(fields::GUEST_INTERRUPTIBILITY_STATE, 0)?;
        vmwrite(fields::GUEST_ACTIVITY_STATE, 0)?;
        vmwrite(fields::GUEST_PENDING_DEBUG_EXCEPTIONS, 0)?;
        // IA32_EFER and IA32_PAT: through the guest-state fields where the "load/save"
        // controls exist (SDM Vol. 3C §27.3.2.1, §28.3.1), else through the VM-entry
        // MSR-load and VM-exit MSR-store/MSR-load lists (§27.4, §28.4, §28.6), so that the
        // guest's values never reach the host and are never silently dropped.
        let limits = MsrValueLimits::current();
        check_msr_value(Efer::MSR, g.efer, limits)?;
        check_msr_value(IA32_PAT, g.pat, limits)?;
        if self.controls.entry.contains(EntryControls::LOAD_IA32_EFER) {
            vmwrite(fields::GUEST_IA32_EFER, g.efer)?;
        } else {
            // SAFETY: IA32_EFER exists on every 64-bit processor; the value passed the
            // WRMSR checks, and VM entry (without "load IA32_EFER") sets LMA (and LME when
            // CR0.PG = 1) from the "IA-32e mode guest" control derived from the same LMA
            // below, so the list's WRMSR does not change LME under paging.
            unsafe { self.add_switched_msr(Efer::MSR, g.efer) }?;
        }
        if self.controls.entry.contains(EntryControls::LOAD_IA32_PAT) {
            vmwrite(fields::GUEST_IA32_PAT, g.pat)?;
        } else {
            // SAFETY: IA32_PAT exists on every processor with VMX (CPUID.1:EDX.PAT is
            // architectural since the P6 family); the value passed the WRMSR checks.
            unsafe { self.add_switched_msr(IA32_PAT, g.pat) }?;
        }
        self.reset_emulated_regs();
        let mut entry = self.controls.entry;
        entry.set(EntryControls::IA32E_MODE_GUEST, g.is_long_mode());
        if entry != self.controls.entry {
            self.controls.entry = entry;
            vmwrite(fields::CTRL_VMENTRY_CONTROLS, entry.bits())?;
        }
        Ok(())
    }
}
