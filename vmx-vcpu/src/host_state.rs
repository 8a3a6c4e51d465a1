//! Capturing the running CPU's state for the VMCS host-state area (SDM Vol. 3C §25.5
//! "Host-State Area", checked at VM entry by §27.2.2-27.2.3, loaded at VM exit by §28.5).
//!
//! What the host must provide (checked, with a [`HostStateError`] when wrong):
//! - its own GDT with a 64-bit code segment in CS and a TSS loaded in TR (TR ≠ 0);
//! - CS, SS, DS, ES, FS, GS and TR selectors with RPL = 0 and TI = 0 (VM exits cannot
//!   load others);
//! - canonical FS, GS, TR, GDTR and IDTR bases.
//!
//! VM exits load GDTR and IDTR limits as 0xFFFF, the TR limit as 0x67 and leave LDTR
//! unusable (SDM §28.5.2); the base addresses and selectors come from what is captured
//! here. A host that relies on the real limits (an IDT shorter than 256 entries, an I/O
//! permission bitmap in its TSS beyond offset 0x67) or on an LDT restores them with
//! [`HostState::restore_after_exit`] after the exit, before it relies on them.

use crate::arch;
use crate::host_checks::{
    HostBase, HostSelectors, HostStateError, check_host_selectors, is_canonical,
    tss_descriptor_base,
};

pub(crate) use x86::msr::{
    IA32_EFER, IA32_FS_BASE, IA32_GS_BASE, IA32_PAT, IA32_SYSENTER_CS, IA32_SYSENTER_EIP,
    IA32_SYSENTER_ESP,
};

/// The host state a VM exit loads (SDM §25.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostState {
    /// CR0.
    pub cr0: u64,
    /// CR3.
    pub cr3: u64,
    /// CR4.
    pub cr4: u64,
    /// Segment selectors.
    pub selectors: HostSelectors,
    /// FS base (IA32_FS_BASE).
    pub fs_base: u64,
    /// GS base (IA32_GS_BASE).
    pub gs_base: u64,
    /// TR base (from the TSS descriptor in the GDT).
    pub tr_base: u64,
    /// GDTR base.
    pub gdtr_base: u64,
    /// IDTR base.
    pub idtr_base: u64,
    /// GDTR limit (a VM exit leaves 0xFFFF).
    pub gdtr_limit: u16,
    /// IDTR limit (a VM exit leaves 0xFFFF).
    pub idtr_limit: u16,
    /// TR limit from the TSS descriptor (a VM exit leaves 0x67).
    pub tr_limit: u32,
    /// LDTR selector (a VM exit leaves LDTR unusable; 0 when the host has no LDT).
    pub ldtr: u16,
    /// IA32_SYSENTER_CS.
    pub sysenter_cs: u32,
    /// IA32_SYSENTER_ESP.
    pub sysenter_esp: u64,
    /// IA32_SYSENTER_EIP.
    pub sysenter_eip: u64,
    /// IA32_EFER.
    pub efer: u64,
    /// IA32_PAT.
    pub pat: u64,
    /// DR7 (a VM exit leaves 400H, SDM §28.3.1 with "save debug controls", §28.5.1).
    pub dr7: u64,
    /// IA32_DEBUGCTL as the host uses it (a VM exit leaves 0, SDM §28.5.1): from
    /// [`VmxHost::host_debugctl`](crate::VmxHost::host_debugctl), 0 when the host does not use
    /// it. [`HostState::capture`] does not read the MSR.
    pub debugctl: u64,
}

/// IA32_DEBUGCTL (SDM Vol. 4 Table 2-2).
pub(crate) const IA32_DEBUGCTL: u32 = 0x1D9;
/// DR7 after a VM exit (SDM §28.5.1).
pub(crate) const DR7_AFTER_EXIT: u64 = 0x400;

impl HostState {
    /// Reads the current CPU's state and checks it (SDM §27.2.3).
    ///
    /// # Safety
    /// CPL 0 in 64-bit mode (MSR reads), with the GDT mapped at the GDTR base.
    pub unsafe fn capture() -> Result<Self, HostStateError> {
        let [cs, ss, ds, es, fs, gs, tr] = arch::selectors();
        let selectors = HostSelectors {
            cs,
            ss,
            ds,
            es,
            fs,
            gs,
            tr,
        };
        check_host_selectors(&selectors)?;
        let gdtr = arch::sgdt();
        let idtr = arch::sidt();
        let gdt_base = gdtr.base;
        let gdt_limit = gdtr.limit;
        let index = usize::from(tr & !7);
        if index + 15 > usize::from(gdt_limit) {
            return Err(HostStateError::TrOutsideGdt {
                selector: tr,
                gdt_limit,
            });
        }
        let desc = (gdt_base as usize + index) as *const u64;
        // SAFETY: the caller guarantees the GDT is mapped; the TSS descriptor's 16 bytes lie
        // within the limit (checked above). Unaligned reads: a GDT need not be aligned.
        let (low, high) = unsafe { (desc.read_unaligned(), desc.add(1).read_unaligned()) };
        let cr4 = arch::read_cr4();
        let la57 = cr4 & (1 << 12) != 0;
        // SAFETY: these MSRs exist on every 64-bit processor; CPL 0 per the contract.
        let (fs_base, gs_base, sysenter_cs, sysenter_esp, sysenter_eip, efer, pat) = unsafe {
            (
                arch::rdmsr(IA32_FS_BASE),
                arch::rdmsr(IA32_GS_BASE),
                arch::rdmsr(IA32_SYSENTER_CS) as u32,
                arch::rdmsr(IA32_SYSENTER_ESP),
                arch::rdmsr(IA32_SYSENTER_EIP),
                arch::rdmsr(IA32_EFER),
                arch::rdmsr(IA32_PAT),
            )
        };
        let s = Self {
            cr0: arch::read_cr0(),
            cr3: arch::read_cr3(),
            cr4,
            selectors,
            fs_base,
            gs_base,
            tr_base: tss_descriptor_base(low, high),
            gdtr_base: gdt_base,
            idtr_base: idtr.base,
            gdtr_limit: gdt_limit,
            idtr_limit: idtr.limit,
            tr_limit: arch::lsl(tr).unwrap_or(0x67),
            ldtr: arch::sldt(),
            sysenter_cs,
            sysenter_esp,
            sysenter_eip,
            efer,
            pat,
            dr7: arch::read_dr7(),
            // Not read here: the host says whether it uses IA32_DEBUGCTL
            // (`VmxHost::host_debugctl`), and the vCPU fills it in.
            debugctl: 0,
        };
        for (what, value) in [
            (HostBase::Fs, s.fs_base),
            (HostBase::Gs, s.gs_base),
            (HostBase::Tr, s.tr_base),
            (HostBase::Gdtr, s.gdtr_base),
            (HostBase::Idtr, s.idtr_base),
            (HostBase::SysenterEsp, s.sysenter_esp),
            (HostBase::SysenterEip, s.sysenter_eip),
        ] {
            if !is_canonical(value, la57) {
                return Err(HostStateError::NonCanonicalBase { what, value });
            }
        }
        Ok(s)
    }

    /// Whether a VM exit changes this host's DR7 or IA32_DEBUGCTL (they are not in the
    /// host-state area: every exit loads DR7 = 400H and IA32_DEBUGCTL = 0, SDM §28.5.1),
    /// so that the vCPU must put them back after each exit.
    pub const fn debug_state_lost_on_exit(&self) -> bool {
        self.dr7 != DR7_AFTER_EXIT || self.debugctl != 0
    }

    /// Puts back the host's DR7 and IA32_DEBUGCTL after a VM exit (see
    /// [`HostState::debug_state_lost_on_exit`]).
    ///
    /// # Safety
    /// CPL 0 on the processor this state was captured on, whose DR0-DR3 still hold the
    /// host's breakpoints.
    pub(crate) unsafe fn restore_debug_state(&self) {
        // SAFETY: the host's own values, captured on this processor; IA32_DEBUGCTL exists.
        unsafe {
            arch::wrmsr(IA32_DEBUGCTL, self.debugctl);
            arch::write_dr7(self.dr7);
        }
    }

    /// Restores what a VM exit changed in the host's descriptor-table state and did not
    /// take from the host-state area (SDM Vol. 3C §28.5.2): the GDTR and IDTR limits
    /// (0xFFFF after every exit), the TR limit (0x67 after every exit; reloaded only when the
    /// host's TSS is longer, e.g. with an I/O permission bitmap) and LDTR (unusable after
    /// every exit; reloaded only when the host had one). Call it after an exit (or once after
    /// a series of exits), with interrupts disabled, before relying on those limits.
    ///
    /// # Safety
    /// CPL 0 on the processor this state was captured on, with the same GDT, IDT, TSS and
    /// LDT still in place and mapped; when the TR limit is reloaded, the GDT is writable
    /// (the TSS descriptor's busy bit is cleared so that LTR accepts it, SDM Vol. 3A §8.2.2,
    /// and LTR sets it again).
    pub unsafe fn restore_after_exit(&self) {
        // SAFETY: the caller guarantees the captured tables are the live, mapped ones.
        unsafe {
            arch::lgdt(&arch::DescriptorTable {
                limit: self.gdtr_limit,
                base: self.gdtr_base,
            });
            arch::lidt(&arch::DescriptorTable {
                limit: self.idtr_limit,
                base: self.idtr_base,
            });
        }
        if self.ldtr != 0 {
            // SAFETY: the host's LDT selector, captured from LDTR on this processor.
            unsafe { arch::lldt(self.ldtr) };
        }
        if self.tr_limit != 0x67 && self.selectors.tr != 0 {
            let desc = (self.gdtr_base as usize + usize::from(self.selectors.tr & !7)) as *mut u64;
            // SAFETY: capture checked that the TSS descriptor lies inside the GDT; the caller
            // guarantees the GDT is writable. Bit 41 is the busy bit of type 1011B (SDM
            // Vol. 3A §3.5 Table 3-2); clearing it makes the descriptor "available" for LTR.
            unsafe {
                desc.write_volatile(desc.read_volatile() & !(1 << 41));
                arch::ltr(self.selectors.tr);
            }
        }
    }
}
