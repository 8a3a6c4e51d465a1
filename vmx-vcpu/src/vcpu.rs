//! [`VmxVcpu`]: one virtual CPU on one VMCS (SDM Vol. 3C ch. 25 "Virtual Machine Control
//! Structures", ch. 26 "VMX Non-Root Operation", ch. 27 "VM Entries", ch. 28 "VM Exits").

use core::ptr::NonNull;

use memory_addr::PhysAddr;
use vmx_defs::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryProcBasedControls,
};
use vmx_defs::exit_reason::ExitReason;
use vmx_defs::invalidation::{InvvpidDescriptor, InvvpidType};
use vmx_defs::msr_entry::MsrEntry;
use vmx_defs::vmcs::{Access, Field, ReadWrite, Width, fields};
use vmx_insn::{FieldValue, VmFail};

use crate::arch;
use crate::bitmap::{IoBitmaps, MsrBitmap};
use crate::config::{Controls, VcpuConfig, compute_controls};
use crate::cpu::VmxCpu;
use crate::entry::{RunBlock, vmread_fast, vmwrite_fast, vmx_vcpu_enter, vmx_vcpu_exit};
use crate::error::{EntryInstruction, VmxError, insn};
use crate::event::Event;
use crate::exit::{ExitInfoSource, IoExit, VmExit, decode_exit_with_reason};
use crate::guest::{GuestState, Segment};
use crate::host::{FRAME_SIZE, Frames, VmxHost};
use crate::host_state::HostState;
use crate::injection::{GuestEventState, PendingEvents};
use crate::regs::GuestRegisters;
use crate::vmcs::Vmcs;
use crate::vpid::{Vpid, allocate_vpid, free_vpid};
use crate::xstate::{XStateInfo, XStateMode, check_xcr0, init_legacy_area};

/// IA32_STAR.
pub const IA32_STAR: u32 = 0xC000_0081;
/// IA32_LSTAR.
pub const IA32_LSTAR: u32 = 0xC000_0082;
/// IA32_CSTAR.
pub const IA32_CSTAR: u32 = 0xC000_0083;
/// IA32_FMASK (SFMASK).
pub const IA32_FMASK: u32 = 0xC000_0084;
/// IA32_KERNEL_GS_BASE.
pub const IA32_KERNEL_GS_BASE: u32 = 0xC000_0102;
/// IA32_TSC_AUX.
pub const IA32_TSC_AUX: u32 = 0xC000_0103;

/// Frame indices inside the vCPU's allocation.
const F_BLOCK: usize = 0;
const F_MSR_BITMAP: usize = 1;
const F_IO_A: usize = 2;
const F_MSR_GUEST: usize = 4;
const F_MSR_HOST: usize = 5;
const F_XSAVE: usize = 6;
/// Entries per MSR-list page.
const MSR_LIST_CAPACITY: usize = FRAME_SIZE / 16;

/// Reads VMCS fields with VMREAD for [`decode_exit_with_reason`].
struct Vmread;

impl ExitInfoSource for Vmread {
    #[inline]
    fn read_field(&mut self, encoding: u32) -> u64 {
        // Exit-information and guest-state fields the decoder reads exist whenever the
        // exit reason that makes it read them can occur.
        vmread_fast(encoding)
    }
}

fn vmwrite<W: Width>(field: Field<W, ReadWrite>, value: W::Value) -> Result<(), VmxError>
where
    W::Value: FieldValue,
{
    // SAFETY: only called by this module for guest-state and control fields whose values it
    // derived itself (physical addresses of frames it owns for as long as the VMCS exists,
    // host state captured from the running CPU, HOST_RIP = the exit trampoline).
    unsafe { vmx_insn::vmwrite(field, value) }.map_err(insn("VMWRITE"))
}

fn vmread<W: Width, A: Access>(field: Field<W, A>) -> Result<W::Value, VmxError>
where
    W::Value: FieldValue,
{
    vmx_insn::vmread(field).map_err(insn("VMREAD"))
}

/// A virtual CPU: its VMCS, register block, bitmaps, MSR lists, extended-state areas,
/// VPID and pending events.
///
/// Create it with [`VmxVcpu::new`], then call [`VmxVcpu::run`] in a loop, handling each
/// [`VmExit`]. The first run executes VMLAUNCH, later ones VMRESUME.
pub struct VmxVcpu<'c, H: VmxHost> {
    cpu: &'c VmxCpu<H>,
    vmcs: Vmcs<'c, H>,
    frames: Frames<'c, H>,
    block: NonNull<RunBlock>,
    controls: Controls,
    vpid: Option<Vpid>,
    pending: PendingEvents,
    in_flight: Option<Event>,
    windows_on: bool,
    msr_count: usize,
    xstate: XStateInfo,
    zero_length_injection: bool,
    cr0_fixed_mask: u64,
    cr4_fixed_mask: u64,
    cr0_owned: u64,
    cr4_owned: u64,
    exception_bitmap: u32,
}

impl<'c, H: VmxHost> VmxVcpu<'c, H> {
    /// Creates a vCPU: computes the controls from the capabilities (an error names what the
    /// processor lacks), allocates and fills the VMCS, bitmaps (intercept everything), MSR
    /// lists and extended-state areas, allocates a VPID if asked, captures the host state
    /// and writes the guest start state.
    ///
    /// # Safety
    /// The guest runs on the memory `config.ept` maps; without EPT its page tables
    /// (`config.guest.cr3` and whatever it loads later) map host-physical memory directly.
    /// The caller guarantees that nothing the guest can reach this way is memory the host
    /// relies on (or accepts that a guest it trusts shares it). The host must meet the
    /// requirements listed in [`HostState`] (checked: a typed error otherwise).
    pub unsafe fn new(cpu: &'c VmxCpu<H>, config: &VcpuConfig) -> Result<Self, VmxError> {
        let caps = cpu.capabilities();
        let controls = compute_controls(caps, config)?;
        // SAFETY: CPL 0 in 64-bit mode (the caller is in VMX root operation: `cpu`).
        let host = unsafe { HostState::capture() }?;
        let xstate = XStateInfo::detect();
        let area_pages = xstate.area_size.div_ceil(FRAME_SIZE);
        let frames =
            Frames::alloc(cpu.host(), F_XSAVE + 2 * area_pages).ok_or(VmxError::OutOfMemory {
                what: "vCPU structures",
            })?;
        if caps.basic().addresses_limited_to_32_bits()
            && (frames.paddr().as_usize() as u64) >> 32 != 0
        {
            return Err(VmxError::AddressAbove4G {
                paddr: frames.paddr().as_usize() as u64,
            });
        }
        let block = frames.ptr_of(F_BLOCK).cast::<RunBlock>();
        let host_area = frames.ptr_of(F_XSAVE);
        let guest_area = frames.ptr_of(F_XSAVE + area_pages);
        // SAFETY: the frames are ours, zeroed and mapped; the block fits in one frame and
        // the areas are page aligned (≥ 64 bytes) and `area_pages` frames long each.
        unsafe {
            block.write(RunBlock {
                xmode: xstate.mode.code(),
                host_xcr0: xstate.host_xcr0,
                guest_xcr0: if xstate.mode == XStateMode::Xsave {
                    1
                } else {
                    0
                },
                union_xcr0: xstate.host_xcr0 | 1 | (xstate.supported_xcr0 & 3),
                host_area: host_area.as_ptr() as u64,
                guest_area: guest_area.as_ptr() as u64,
                ..RunBlock::default()
            });
            if xstate.mode != XStateMode::None {
                init_legacy_area(guest_area.as_ptr());
            }
            frames
                .ptr_of(F_MSR_BITMAP)
                .cast::<MsrBitmap>()
                .write(MsrBitmap::new_intercept_all());
            frames
                .ptr_of(F_IO_A)
                .cast::<IoBitmaps>()
                .write(IoBitmaps::new_intercept_all());
        }
        let vpid = if config.vpid {
            Some(allocate_vpid().ok_or(VmxError::NoVpid)?)
        } else {
            None
        };
        let mut vmcs = match Vmcs::new(cpu) {
            Ok(v) => v,
            Err(e) => {
                if let Some(v) = vpid {
                    free_vpid(v);
                }
                return Err(e);
            }
        };
        let misc = caps.misc();
        let mut vcpu = Self {
            cpu,
            vmcs: {
                vmcs.load()?;
                vmcs
            },
            frames,
            block,
            controls,
            vpid,
            pending: PendingEvents::new(),
            in_flight: None,
            windows_on: false,
            msr_count: 0,
            xstate,
            zero_length_injection: misc.zero_length_injection(),
            cr0_fixed_mask: 0,
            cr4_fixed_mask: 0,
            cr0_owned: 0,
            cr4_owned: 0,
            exception_bitmap: 0,
        };
        vcpu.write_controls(config)?;
        vcpu.write_host_state(&host)?;
        vcpu.setup_msr_lists(config)?;
        vcpu.write_guest_state(&config.guest)?;
        if let Some(v) = vpid {
            vmwrite(fields::CTRL_VPID, v.get())?;
            if let Ok(desc) = InvvpidDescriptor::single_context(v.get()) {
                // A VPID can be reused: drop whatever its previous owner left cached.
                if vmx_insn::invvpid(InvvpidType::SingleContext, &desc).is_err() {
                    vmx_insn::invvpid(InvvpidType::AllContext, &InvvpidDescriptor::all_context())
                        .map_err(insn("INVVPID"))?;
                }
            }
        }
        Ok(vcpu)
    }

    fn write_controls(&mut self, config: &VcpuConfig) -> Result<(), VmxError> {
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
        let addr = |i: usize| self.frames.paddr_of(i).as_usize() as u64;
        if c.primary
            .contains(PrimaryProcBasedControls::USE_MSR_BITMAPS)
        {
            vmwrite(fields::CTRL_MSR_BITMAP_ADDRESS, addr(F_MSR_BITMAP))?;
        }
        if c.primary.contains(PrimaryProcBasedControls::USE_IO_BITMAPS) {
            vmwrite(fields::CTRL_IO_BITMAP_A_ADDRESS, addr(F_IO_A))?;
            vmwrite(fields::CTRL_IO_BITMAP_B_ADDRESS, addr(F_IO_A + 1))?;
        }
        if c.primary
            .contains(PrimaryProcBasedControls::USE_TSC_OFFSETTING)
        {
            vmwrite(fields::CTRL_TSC_OFFSET, 0)?;
        }
        if let Some(eptp) = config.ept {
            vmwrite(fields::CTRL_EPT_POINTER, eptp.raw())?;
        }
        if c.pin
            .contains(PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER)
        {
            vmwrite(fields::GUEST_VMX_PREEMPTION_TIMER_VALUE, u32::MAX)?;
        }
        Ok(())
    }

    fn write_host_state(&mut self, h: &HostState) -> Result<(), VmxError> {
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
        vmwrite(fields::HOST_RIP, vmx_vcpu_exit as *const () as u64)?;
        // HOST_RSP is written by the entry code (see `entry.rs`); force a write.
        self.block_mut().host_rsp = 0;
        Ok(())
    }

    /// Captures the host state again (after the host changed its FS/GS base, GDT, IDT, TSS,
    /// CR3, SYSENTER or syscall MSRs) and writes it to the VMCS.
    ///
    /// # Safety
    /// As for [`VmxVcpu::new`] (CPL 0, GDT mapped).
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

    fn guest_list(&self) -> *mut MsrEntry {
        self.frames.ptr_of(F_MSR_GUEST).cast::<MsrEntry>().as_ptr()
    }

    fn host_list(&self) -> *mut MsrEntry {
        self.frames.ptr_of(F_MSR_HOST).cast::<MsrEntry>().as_ptr()
    }

    fn setup_msr_lists(&mut self, config: &VcpuConfig) -> Result<(), VmxError> {
        vmwrite(
            fields::CTRL_VMENTRY_MSR_LOAD_ADDRESS,
            self.frames.paddr_of(F_MSR_GUEST).as_usize() as u64,
        )?;
        vmwrite(
            fields::CTRL_VMEXIT_MSR_STORE_ADDRESS,
            self.frames.paddr_of(F_MSR_GUEST).as_usize() as u64,
        )?;
        vmwrite(
            fields::CTRL_VMEXIT_MSR_LOAD_ADDRESS,
            self.frames.paddr_of(F_MSR_HOST).as_usize() as u64,
        )?;
        let _ = config;
        for msr in [
            IA32_STAR,
            IA32_LSTAR,
            IA32_CSTAR,
            IA32_FMASK,
            IA32_KERNEL_GS_BASE,
        ] {
            self.add_switched_msr(msr, 0)?;
        }
        if self
            .controls
            .secondary
            .contains(SecondaryProcBasedControls::ENABLE_RDTSCP)
            && arch::cpuid(0x8000_0001, 0).edx & (1 << 27) != 0
        {
            self.add_switched_msr(IA32_TSC_AUX, 0)?;
        }
        Ok(())
    }

    /// Adds `msr` to the MSR switch lists (SDM §25.7.2, §25.8.2, §27.4, §28.6): the guest
    /// value `guest_value` is loaded at every VM entry and stored back at every VM exit;
    /// the host's current value is loaded at every VM exit. The MSR stays intercepted in
    /// the bitmap until passed through.
    ///
    /// Refuses MSRs the lists may not hold: IA32_FS_BASE/GS_BASE (in the VMCS), x2APIC MSRs
    /// 800H-8FFH, IA32_SMM_MONITOR_CTL, IA32_SMBASE (SDM §27.4).
    pub fn add_switched_msr(&mut self, msr: u32, guest_value: u64) -> Result<(), VmxError> {
        if matches!(msr, 0xC000_0100 | 0xC000_0101 | 0x9B | 0x9E | 0x800..=0x8FF) {
            return Err(VmxError::InvalidGuestState(
                "this MSR cannot be in an MSR list",
            ));
        }
        if let Some(i) = self.msr_slot(msr) {
            // SAFETY: `i` < msr_count; the page is ours.
            unsafe { (*self.guest_list().add(i)).value = guest_value };
            return Ok(());
        }
        let max =
            (self.cpu.capabilities().misc().max_msr_list_entries() as usize).min(MSR_LIST_CAPACITY);
        if self.msr_count >= max {
            return Err(VmxError::MsrListFull);
        }
        // Reading the host value first makes sure the MSR exists (else #GP here, at a
        // defined place, instead of a VM-entry failure).
        // SAFETY: CPL 0; the MSRs this crate adds exist on every 64-bit processor, and
        // callers adding others take the #GP risk documented above.
        let host_value = unsafe { arch::rdmsr(msr) };
        let i = self.msr_count;
        // SAFETY: `i` < capacity; both pages are ours.
        unsafe {
            self.guest_list()
                .add(i)
                .write(MsrEntry::new(msr, guest_value));
            self.host_list()
                .add(i)
                .write(MsrEntry::new(msr, host_value));
        }
        self.msr_count += 1;
        let n = self.msr_count as u32;
        self.vmcs.load()?;
        vmwrite(fields::CTRL_VMENTRY_MSR_LOAD_COUNT, n)?;
        vmwrite(fields::CTRL_VMEXIT_MSR_STORE_COUNT, n)?;
        vmwrite(fields::CTRL_VMEXIT_MSR_LOAD_COUNT, n)?;
        Ok(())
    }

    fn msr_slot(&self, msr: u32) -> Option<usize> {
        // SAFETY: indices below msr_count are initialized entries of our page.
        (0..self.msr_count).find(|&i| unsafe { (*self.guest_list().add(i)).index } == msr)
    }

    /// The guest's value of a switched MSR (as stored at the last VM exit).
    pub fn guest_msr(&self, msr: u32) -> Option<u64> {
        // SAFETY: slot index < msr_count.
        self.msr_slot(msr)
            .map(|i| unsafe { (*self.guest_list().add(i)).value })
    }

    /// Sets the guest's value of a switched MSR (e.g. when emulating its WRMSR).
    pub fn set_guest_msr(&mut self, msr: u32, value: u64) -> Result<(), VmxError> {
        match self.msr_slot(msr) {
            // SAFETY: slot index < msr_count.
            Some(i) => unsafe {
                (*self.guest_list().add(i)).value = value;
                Ok(())
            },
            None => self.add_switched_msr(msr, value),
        }
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
    /// fixed bits with read shadows (see [`GuestState`]).
    pub fn write_guest_state(&mut self, g: &GuestState) -> Result<(), VmxError> {
        self.vmcs.load()?;
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
        self.cr0_fixed_mask = (cr0f.fixed0() | !cr0f.fixed1()) & 0xFFFF_FFFF;
        self.cr4_fixed_mask = cr4f.fixed0() | !cr4f.fixed1();
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
        vmwrite(fields::GUEST_DR7, g.dr7)?;
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
        if self.controls.entry.contains(EntryControls::LOAD_IA32_EFER) {
            vmwrite(fields::GUEST_IA32_EFER, g.efer)?;
        }
        if self.controls.entry.contains(EntryControls::LOAD_IA32_PAT) {
            vmwrite(fields::GUEST_IA32_PAT, g.pat)?;
        }
        let mut entry = self.controls.entry;
        entry.set(EntryControls::IA32E_MODE_GUEST, g.is_long_mode());
        if entry != self.controls.entry {
            self.controls.entry = entry;
            vmwrite(fields::CTRL_VMENTRY_CONTROLS, entry.bits())?;
        }
        Ok(())
    }

    fn block_mut(&mut self) -> &mut RunBlock {
        // SAFETY: the block lives in our frames for as long as `self`, and only the entry
        // code (called with `&mut self`) touches it otherwise.
        unsafe { self.block.as_mut() }
    }

    fn block(&self) -> &RunBlock {
        // SAFETY: as for `block_mut`.
        unsafe { self.block.as_ref() }
    }

    /// The guest's general-purpose registers and CR2 (RSP, RIP and RFLAGS are VMCS fields:
    /// [`VmxVcpu::rsp`], [`VmxVcpu::rip`], [`VmxVcpu::rflags`]).
    pub fn regs(&self) -> &GuestRegisters {
        &self.block().regs
    }

    /// Mutable access to the guest's general-purpose registers and CR2.
    pub fn regs_mut(&mut self) -> &mut GuestRegisters {
        &mut self.block_mut().regs
    }

    /// The CPU this vCPU runs on.
    pub fn cpu(&self) -> &'c VmxCpu<H> {
        self.cpu
    }

    /// The VMCS (for [`Vmcs::dump`] and typed reads).
    pub fn vmcs(&mut self) -> &mut Vmcs<'c, H> {
        &mut self.vmcs
    }

    /// The controls in effect.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// The VPID, if VPIDs are enabled.
    pub fn vpid(&self) -> Option<Vpid> {
        self.vpid
    }

    /// How extended state is switched.
    pub fn xstate_mode(&self) -> XStateMode {
        self.xstate.mode
    }

    /// Reads a VMCS field (makes the VMCS current first).
    pub fn read_field<W: Width, A: Access>(
        &mut self,
        field: Field<W, A>,
    ) -> Result<W::Value, VmxError>
    where
        W::Value: FieldValue,
    {
        self.vmcs.load()?;
        vmread(field)
    }

    /// Writes any read-write VMCS field (makes the VMCS current first).
    ///
    /// # Safety
    /// As for [`Vmcs::write`]: host-state fields, pointers and controls must keep VM entries
    /// and exits memory-safe, and the value must not contradict what this vCPU manages
    /// (bitmap and list addresses, HOST_RIP/RSP).
    pub unsafe fn write_field<W: Width>(
        &mut self,
        field: Field<W, ReadWrite>,
        value: W::Value,
    ) -> Result<(), VmxError>
    where
        W::Value: FieldValue,
    {
        self.vmcs.load()?;
        // SAFETY: forwarded contract.
        unsafe { self.vmcs.write(field, value) }
    }

    /// Guest RIP.
    pub fn rip(&mut self) -> Result<u64, VmxError> {
        self.read_field(fields::GUEST_RIP)
    }

    /// Sets guest RIP.
    pub fn set_rip(&mut self, rip: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        vmwrite(fields::GUEST_RIP, rip)
    }

    /// Guest RSP.
    pub fn rsp(&mut self) -> Result<u64, VmxError> {
        self.read_field(fields::GUEST_RSP)
    }

    /// Sets guest RSP.
    pub fn set_rsp(&mut self, rsp: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        vmwrite(fields::GUEST_RSP, rsp)
    }

    /// Guest RFLAGS.
    pub fn rflags(&mut self) -> Result<u64, VmxError> {
        self.read_field(fields::GUEST_RFLAGS)
    }

    /// Sets guest RFLAGS (bit 1 forced to 1).
    pub fn set_rflags(&mut self, rflags: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        vmwrite(fields::GUEST_RFLAGS, rflags | 2)
    }

    // ---- Interception ----

    /// The MSR bitmap, when "use MSR bitmaps" is on (SDM §25.6.9).
    pub fn msr_bitmap_mut(&mut self) -> Option<&mut MsrBitmap> {
        if !self
            .controls
            .primary
            .contains(PrimaryProcBasedControls::USE_MSR_BITMAPS)
        {
            return None;
        }
        // SAFETY: frame F_MSR_BITMAP is ours and was initialized as an MsrBitmap; the
        // processor only reads it.
        Some(unsafe {
            self.frames
                .ptr_of(F_MSR_BITMAP)
                .cast::<MsrBitmap>()
                .as_mut()
        })
    }

    /// The I/O bitmaps A and B, when "use I/O bitmaps" is on (SDM §25.6.4).
    pub fn io_bitmaps_mut(&mut self) -> Option<&mut IoBitmaps> {
        if !self
            .controls
            .primary
            .contains(PrimaryProcBasedControls::USE_IO_BITMAPS)
        {
            return None;
        }
        // SAFETY: frames F_IO_A and F_IO_A+1 are ours, contiguous and initialized as
        // IoBitmaps; the processor only reads them.
        Some(unsafe { self.frames.ptr_of(F_IO_A).cast::<IoBitmaps>().as_mut() })
    }

    /// Sets the exception bitmap: bit n set makes exception vector n exit (SDM §25.6.3).
    pub fn set_exception_bitmap(&mut self, bitmap: u32) -> Result<(), VmxError> {
        self.vmcs.load()?;
        self.exception_bitmap = bitmap;
        vmwrite(fields::CTRL_EXCEPTION_BITMAP, bitmap)
    }

    /// The exception bitmap.
    pub fn exception_bitmap(&self) -> u32 {
        self.exception_bitmap
    }

    /// Makes the CR0 bits in `owned` host-owned: the guest reads them from the shadow
    /// (`shadow`), and a MOV to CR0 / LMSW / CLTS that would give them a value different
    /// from the shadow exits (SDM §25.6.6, §26.1.3). Bits VMX fixes are always owned.
    pub fn set_cr0_shadow(&mut self, owned: u64, shadow: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        self.cr0_owned = owned;
        vmwrite(
            fields::CTRL_CR0_GUEST_HOST_MASK,
            self.cr0_fixed_mask | owned,
        )?;
        vmwrite(fields::CTRL_CR0_READ_SHADOW, shadow)
    }

    /// As [`VmxVcpu::set_cr0_shadow`] for CR4 (CR4.VMXE is always owned).
    pub fn set_cr4_shadow(&mut self, owned: u64, shadow: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        self.cr4_owned = owned;
        vmwrite(
            fields::CTRL_CR4_GUEST_HOST_MASK,
            self.cr4_fixed_mask | owned,
        )?;
        vmwrite(fields::CTRL_CR4_READ_SHADOW, shadow)
    }

    /// Sets the TSC offset added to the guest's RDTSC (SDM §25.6.5, §26.6.5).
    pub fn set_tsc_offset(&mut self, offset: i64) -> Result<(), VmxError> {
        if !self
            .controls
            .primary
            .contains(PrimaryProcBasedControls::USE_TSC_OFFSETTING)
        {
            return Err(VmxError::MissingFeature("TSC offsetting"));
        }
        self.vmcs.load()?;
        vmwrite(fields::CTRL_TSC_OFFSET, offset as u64)
    }

    /// Arms the VMX-preemption timer to expire after about `tsc_ticks` TSC ticks: the
    /// field counts down once every 2^X ticks, X = IA32_VMX_MISC\[4:0\] (SDM §26.5.1).
    /// Returns the value written.
    pub fn set_preemption_timer(&mut self, tsc_ticks: u64) -> Result<u32, VmxError> {
        if !self
            .controls
            .pin
            .contains(PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER)
        {
            return Err(VmxError::MissingFeature(
                "VMX-preemption timer (not configured)",
            ));
        }
        let rate = self.cpu.capabilities().misc().preemption_timer_rate();
        let value = u32::try_from(tsc_ticks >> rate).unwrap_or(u32::MAX);
        self.vmcs.load()?;
        vmwrite(fields::GUEST_VMX_PREEMPTION_TIMER_VALUE, value)?;
        Ok(value)
    }

    /// Lets the guest load an XCR0 value with XSETBV (call from the [`VmExit::Xsetbv`]
    /// handler, then advance RIP; inject #GP on error). Checked against SDM Vol. 1 §13.3
    /// and the components the processor supports.
    pub fn set_guest_xcr0(&mut self, value: u64) -> Result<(), VmxError> {
        if self.xstate.mode != XStateMode::Xsave {
            return Err(VmxError::InvalidXcr0(value));
        }
        check_xcr0(value, self.xstate.supported_xcr0 & !((1 << 9) | (1 << 19)))?;
        let union = self.xstate.host_xcr0 | value | (self.xstate.supported_xcr0 & 3);
        let b = self.block_mut();
        b.guest_xcr0 = value;
        b.union_xcr0 = union;
        Ok(())
    }

    /// The guest's XCR0 (1 until it runs XSETBV; 0 when XSAVE is not switched).
    pub fn guest_xcr0(&self) -> u64 {
        self.block().guest_xcr0
    }

    // ---- Events ----

    /// Queues an event for injection at the next VM entry where the guest can take it
    /// (SDM §27.6); checked first (vector, error code, instruction length).
    pub fn inject(&mut self, event: Event) -> Result<(), VmxError> {
        event.validate(self.zero_length_injection)?;
        self.pending.push(event)?;
        Ok(())
    }

    /// The pending events.
    pub fn pending_events(&self) -> &PendingEvents {
        &self.pending
    }

    fn virtual_nmis(&self) -> bool {
        self.controls.pin.contains(PinBasedControls::VIRTUAL_NMIS)
            && self.cpu.capabilities().has_nmi_window_exiting()
    }

    fn apply_injection(&mut self) -> Result<(), VmxError> {
        let state = GuestEventState::from_raw(
            vmread(fields::GUEST_RFLAGS)?,
            vmread(fields::GUEST_INTERRUPTIBILITY_STATE)?,
            vmread(fields::GUEST_ACTIVITY_STATE)?,
            vmread(fields::GUEST_CR0)?,
            self.virtual_nmis(),
        );
        let d = self.pending.decide(&state);
        if let Some(e) = d.inject {
            let enc = e.encode();
            if let Some(code) = enc.error_code {
                vmwrite(fields::CTRL_VMENTRY_EXCEPTION_ERROR_CODE, code)?;
            }
            if let Some(len) = enc.instruction_len {
                vmwrite(fields::CTRL_VMENTRY_INSTRUCTION_LENGTH, len)?;
            }
            vmwrite(fields::CTRL_VMENTRY_INTERRUPTION_INFO, enc.info)?;
            self.in_flight = Some(e);
        }
        if d.wake {
            vmwrite(fields::GUEST_ACTIVITY_STATE, 0)?;
        }
        let mut primary = self.controls.primary;
        primary.set(
            PrimaryProcBasedControls::INTERRUPT_WINDOW_EXITING,
            d.interrupt_window,
        );
        primary.set(
            PrimaryProcBasedControls::NMI_WINDOW_EXITING,
            d.nmi_window && self.virtual_nmis(),
        );
        if primary != self.controls.primary {
            self.controls.primary = primary;
            vmwrite(
                fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS,
                primary.bits(),
            )?;
        }
        self.windows_on = d.interrupt_window || d.nmi_window;
        Ok(())
    }

    // ---- Running ----

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

    fn enter(&mut self, instruction: EntryInstruction) -> Result<VmExit, VmxError> {
        self.vmcs.load()?;
        if self.windows_on || !self.pending.is_empty() {
            self.apply_injection()?;
        }
        let resume = u64::from(instruction == EntryInstruction::Resume);
        // SAFETY: the VMCS is current and fully set up: host state captured from this CPU,
        // HOST_RIP = `vmx_vcpu_exit`, HOST_RSP maintained by the entry code, every pointer
        // names frames this vCPU owns; the block is ours and pinned.
        let rc = unsafe { vmx_vcpu_enter(self.block.as_ptr(), resume) };
        if rc != 0 {
            if let Some(e) = self.in_flight.take() {
                // The event was not delivered: put it back first in line.
                self.pending.set_reinjection(Some(e));
                vmwrite(fields::CTRL_VMENTRY_INTERRUPTION_INFO, 0)?;
            }
            let fail = match vmx_insn::vmfail_from_rflags(rc) {
                Err(f) => f,
                Ok(()) => VmFail::Invalid,
            };
            return Err(VmxError::EntryFailed { instruction, fail });
        }
        self.in_flight = None;
        let block = self.block();
        let reason = ExitReason(block.exit_reason as u32);
        if !reason.is_entry_failure() {
            let idt = block.idt_vectoring_info as u32;
            if idt & crate::event::INTERRUPTION_INFO_VALID != 0 {
                let code = vmread_fast(fields::EXIT_IDT_VECTORING_ERROR_CODE.raw()) as u32;
                let len = block.exit_instruction_len as u32;
                self.pending
                    .set_reinjection(Event::from_interruption_info(idt, code, len));
            }
            if instruction == EntryInstruction::Launch {
                self.vmcs.mark_launched();
            }
        }
        Ok(decode_exit_with_reason(
            reason,
            &mut Vmread,
            &self.block().regs,
        ))
    }

    /// Moves RIP past the instruction that caused the exit (VM-exit instruction length,
    /// SDM §28.2.4) and clears blocking by STI / MOV SS, as completing the instruction
    /// would (SDM §26.7).
    #[inline]
    pub fn advance_rip(&mut self) -> Result<(), VmxError> {
        self.vmcs.load()?;
        let len = self.block().exit_instruction_len;
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

impl<H: VmxHost> Drop for VmxVcpu<'_, H> {
    fn drop(&mut self) {
        if let Some(v) = self.vpid.take() {
            if let Ok(desc) = InvvpidDescriptor::single_context(v.get()) {
                let _ = vmx_insn::invvpid(InvvpidType::SingleContext, &desc);
            }
            free_vpid(v);
        }
        // The VMCS is cleared (and its frame freed) by its own drop, before `frames`
        // (declared after it) releases the bitmaps and lists the VMCS points to.
    }
}
