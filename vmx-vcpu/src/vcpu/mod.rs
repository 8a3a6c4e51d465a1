//! [`VmxVcpu`]: one virtual CPU on one VMCS (SDM Vol. 3C ch. 25 "Virtual Machine Control
//! Structures", ch. 26 "VMX Non-Root Operation", ch. 27 "VM Entries", ch. 28 "VM Exits").
//!
//! The methods are split by topic: `setup` (VMCS initialization, §25.4-25.8), `registers`
//! (RIP, RSP, RFLAGS, activity state; §25.4.1-25.4.2), `ext_state` (x87/SSE/AVX state and
//! XCR0 around entries and exits), `msr_list`
//! (MSR switching, §25.7.2, §25.8.2), `intercept` (bitmaps, masks, timers, §25.6), `events`
//! (injection, §27.6), `run` (VM entry/exit and completion helpers, §27-28).

mod apic;
mod control_regs;
mod cr_access;
pub mod cr_rules;
mod diagnose;
pub mod dr_rules;
mod events;
mod exec_controls;
mod ext_state;
mod gpr;
mod intercept;
mod io;
mod migrate;
mod mmio;
mod msr_list;
mod registers;
mod run;
mod setup;
pub mod sipi;

use core::ptr::NonNull;

use ept::EptUser;
use vmx_defs::ept::Eptp;
use vmx_defs::invalidation::{InvvpidDescriptor, InvvpidType};
use vmx_defs::vmcs::{Access, Field, ReadWrite, Width, fields};
use vmx_insn::FieldValue;

use crate::bitmap::{IoBitmaps, MsrBitmap};
use crate::config::{Controls, VcpuConfig, compute_controls};
use crate::cpu::{ENTRY_WORK, VMCS_OFF, VmxCpu};
use crate::entry::{RunBlock, entry_routine, vmread_checked};
use crate::error::{AllocWhat, VmxError, VmxInstruction, insn};
use crate::event::{Event, InjectionReport};
use crate::exit::ExitInfoSource;
use crate::host::{FRAME_SIZE, Frames, VmxHost};
use crate::host_state::HostState;
use crate::injection::PendingEvents;
use crate::regs::GuestRegisters;
use crate::vmcs::Vmcs;
use crate::vpid::{Vpid, allocate_vpid};
use crate::xstate::{XStateInfo, XStateMode, init_legacy_area};

pub use migrate::{MigrateError, MigrateFailure, ParkedVcpu, SharedHost};
pub use msr_list::{
    IA32_CSTAR, IA32_FMASK, IA32_KERNEL_GS_BASE, IA32_LSTAR, IA32_STAR, IA32_TSC_AUX, IA32_XSS,
};
pub use run::Flow;

/// The value of `Vcpu::exit_work` when the next exit must take the slow path.
pub(super) const EXIT_WORK: u32 = 1 << 31;

/// Frame indices inside the vCPU's allocation.
pub(super) const F_BLOCK: usize = 0;
pub(super) const F_MSR_BITMAP: usize = 1;
pub(super) const F_IO_A: usize = 2;
pub(super) const F_MSR_GUEST: usize = 4;
pub(super) const F_MSR_HOST: usize = 5;
pub(super) const F_XSAVE: usize = 6;
/// Entries per MSR-list page.
pub(super) const MSR_LIST_CAPACITY: usize = FRAME_SIZE / 16;

/// Reads VMCS fields with VMREAD for the exit decoder, keeping the first failure (a
/// failed VMREAD is reported by the caller, never decoded as a value).
pub(super) struct Vmread {
    /// The encoding of the first field whose VMREAD failed.
    pub(super) failed: Option<u32>,
    /// IA32_VMX_BASIC\[54\]: INS/OUTS exits report instruction information (SDM Vol. 3D
    /// §A.1).
    pub(super) ins_outs_info: bool,
}

impl ExitInfoSource for Vmread {
    #[inline]
    fn read_field(&mut self, encoding: u32) -> u64 {
        match vmread_checked(encoding) {
            Some(v) => v,
            None => {
                self.failed.get_or_insert(encoding);
                0
            }
        }
    }

    #[inline]
    fn ins_outs_info_reported(&self) -> bool {
        self.ins_outs_info
    }
}

pub(super) fn vmwrite<W: Width>(field: Field<W, ReadWrite>, value: W::Value) -> Result<(), VmxError>
where
    W::Value: FieldValue,
{
    // SAFETY: only called by this module for guest-state and control fields whose values it
    // derived itself (physical addresses of frames it owns for as long as the VMCS exists,
    // host state captured from the running CPU, HOST_RIP = the exit trampoline).
    unsafe { vmx_insn::vmwrite(field, value) }.map_err(insn(VmxInstruction::Vmwrite))
}

pub(super) fn vmread<W: Width, A: Access>(field: Field<W, A>) -> Result<W::Value, VmxError>
where
    W::Value: FieldValue,
{
    vmx_insn::vmread(field).map_err(insn(VmxInstruction::Vmread))
}

mod sealed {
    /// The two tails a [`Vcpu`](super::Vcpu) can have: `[(); 1]` inside the owner, `[()]` in
    /// the unsized view handed out.
    pub trait Tail {}
    impl Tail for [()] {}
    impl Tail for [(); 1] {}
}

/// A virtual CPU: its VMCS, register block, bitmaps, MSR lists, extended-state areas,
/// VPID, EPT and pending events, owned by a [`VmxVcpu`].
///
/// Every operation on a vCPU is a method of this type, reached from a [`VmxVcpu`] through
/// `Deref`/`DerefMut` and, inside [`Vcpu::run_loop`], through the `&mut Vcpu` the handler
/// receives. `Vcpu` is unsized (the `T` parameter is an implementation detail: always write
/// `Vcpu<'c, H>`), so safe code can neither move it, nor swap two of them, nor replace one in
/// place: the run loop, the processor and the [`VmxCpu`] hold addresses of its run block and
/// VMCS that must stay paired with it. There is no `&mut` access to its [`Vmcs`] either.
///
/// ```compile_fail
/// # use vmx_vcpu::{Vcpu, VmxHost};
/// fn swap_inside_loop<H: VmxHost>(a: &mut Vcpu<'_, H>, b: &mut Vcpu<'_, H>) {
///     core::mem::swap(a, b); // `Vcpu` is unsized: it cannot be swapped
/// }
/// ```
///
/// ```compile_fail
/// # use vmx_vcpu::{Vcpu, VmxHost};
/// fn replace_inside_loop<'c, H: VmxHost>(running: &mut Vcpu<'c, H>, other: &Vcpu<'c, H>) {
///     *running = *other; // nor assigned: the running vCPU cannot be dropped under its loop
/// }
/// ```
///
/// ```compile_fail
/// # use vmx_vcpu::{Flow, VmxHost, VmxVcpu};
/// fn drop_inside_loop<H: VmxHost>(vcpu: &mut VmxVcpu<'_, H>, spare: VmxVcpu<'_, H>) {
///     let mut spare = Some(spare);
///     let _ = vcpu.run_loop(|_, _| {
///         // The owner is borrowed by its own loop: it cannot be replaced (and dropped).
///         let _old = core::mem::replace(vcpu, spare.take().unwrap());
///         Ok(Flow::Stop)
///     });
/// }
/// ```
///
/// ```compile_fail
/// # use vmx_vcpu::{VmxHost, VmxVcpu};
/// fn swap_vmcs<H: VmxHost>(a: &mut VmxVcpu<'_, H>, b: &mut VmxVcpu<'_, H>) {
///     core::mem::swap(a.vmcs_mut(), b.vmcs_mut()); // no `&mut Vmcs` is handed out
/// }
/// ```
pub struct Vcpu<'c, H: VmxHost, T: ?Sized + sealed::Tail = [()]> {
    cpu: &'c VmxCpu<H>,
    vmcs: Vmcs<'c, H>,
    frames: Frames<'c, H>,
    /// The APIC-virtualization pages and state (`VcpuConfig::apic`); after `vmcs`, so the
    /// VMCS naming them is cleared before they are freed.
    apic: Option<apic::ApicPages<'c, H>>,
    block: NonNull<RunBlock>,
    controls: Controls,
    vpid: Option<Vpid<'static>>,
    /// The EPT this vCPU runs on (its pending invalidations are flushed on this CPU before
    /// every entry), `None` for a vCPU on host-physical memory.
    ept: Option<EptUser<'c>>,
    pending: PendingEvents,
    in_flight: Option<Event>,
    /// What the last entry's injection came to (reported until the next exit).
    last_injection: Option<InjectionReport>,
    /// [`EXIT_WORK`] when the next exit must take the slow path (an event was written for
    /// injection, a report is to be cleared, or the launch state is clear so the exit must
    /// record the launch), 0 otherwise: bit 31, so that one OR with the exit's reason and
    /// IDT-vectoring words tests every uncommon case at once. Every entry with a clear
    /// launch state is preceded by `prepare_entry_slow` (a VMCLEAR leaves the VMCS not
    /// current) or follows `new` (which starts with it set), both of which set it.
    exit_work: u32,
    msr_count: usize,
    xstate: XStateInfo,
    zero_length_injection: bool,
    cr0_fixed_mask: u64,
    cr4_fixed_mask: u64,
    cr0_owned: u64,
    cr4_owned: u64,
    exception_bitmap: u32,
    lazy_xstate: bool,
    /// The exit waiting for completion: its full exit-reason word, or [`NO_EXIT`] once
    /// completed (or before the first exit). Completion helpers check it, so that a result
    /// cannot be applied to another exit, nor twice.
    exit_to_complete: u32,
    /// IA32_VMX_BASIC\[54\]: INS/OUTS exits report instruction information.
    ins_outs_info: bool,
    /// The host state, when its DR7 or IA32_DEBUGCTL must be put back after every exit.
    host_debug: Option<HostState>,
    /// DR0-DR3, DR6 and the virtual TPR, emulated (never loaded into the processor).
    emulated: cr_access::EmulatedRegs,
    /// Run the VM-entry checker before VMLAUNCH (`VcpuConfig::preflight_check`).
    preflight: bool,
    /// Where the vCPU stands in the MP start-up protocol (`sipi`).
    ap: sipi::ApState,
    /// Makes the type unsized in the view; `[(); 1]` in the owner. Zero bytes.
    _tail: T,
}

/// No exit is waiting for completion (bit 30 is reserved in the exit-reason field and
/// never set by the processor, SDM Vol. 3C §25.9.1).
pub(super) const NO_EXIT: u32 = 1 << 30;

/// The owner of a [`Vcpu`]: creating it allocates and sets up the VMCS and every structure
/// the VMCS points to; dropping it clears the VMCS and gives everything back.
///
/// Every operation is a method of [`Vcpu`], reached through `Deref`/`DerefMut`. Create it
/// with [`VmxVcpu::new`] (EPT) or [`VmxVcpu::new_on_host_memory`], then call
/// [`Vcpu::run`] in a loop or [`Vcpu::run_loop`], handling each
/// [`VmExit`](crate::VmExit). The first run executes VMLAUNCH, later ones VMRESUME.
pub struct VmxVcpu<'c, H: VmxHost> {
    inner: Vcpu<'c, H, [(); 1]>,
}

impl<'c, H: VmxHost> core::ops::Deref for VmxVcpu<'c, H> {
    type Target = Vcpu<'c, H>;

    #[inline(always)]
    fn deref(&self) -> &Vcpu<'c, H> {
        &self.inner
    }
}

impl<'c, H: VmxHost> core::ops::DerefMut for VmxVcpu<'c, H> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Vcpu<'c, H> {
        &mut self.inner
    }
}

impl<'c, H: VmxHost> VmxVcpu<'c, H> {
    /// Creates a vCPU that runs on the guest-physical memory `ept` maps: computes the
    /// controls from the capabilities (an error names what the processor lacks), allocates
    /// and fills the VMCS, bitmaps (intercept everything), MSR lists and extended-state
    /// areas, allocates a VPID if asked, captures the host state and writes the guest start
    /// state.
    ///
    /// Safe: the guest reaches only memory the EPT maps, and handing memory to a guest is
    /// the `unsafe` part of editing the EPT. The vCPU holds the [`EptUser`], so the table
    /// outlives it, and it performs the EPT's pending invalidations on its processor before
    /// every entry (SDM Vol. 3C §29.4.3.1). The host must meet the requirements listed in
    /// [`HostState`] (checked: a typed error otherwise).
    pub fn new(
        cpu: &'c VmxCpu<H>,
        ept: EptUser<'c>,
        config: &VcpuConfig,
    ) -> Result<Self, VmxError> {
        let eptp = ept.eptp();
        eptp.check(
            cpu.capabilities().ept_vpid(),
            vmx_insn::physical_address_width().bits(),
        )
        .map_err(VmxError::InvalidEptp)?;
        Self::create(cpu, Some(ept), config)
    }

    /// Creates a vCPU without EPT: the guest's page tables (`config.guest.cr3` and whatever
    /// it loads later) translate to host-physical memory directly.
    ///
    /// # Safety
    /// For as long as the vCPU lives, nothing the guest can reach through its page tables
    /// (which it can change at will) is memory the host relies on, or the caller accepts
    /// that the guest, which it then trusts like host code, shares that memory. The host
    /// must meet the requirements listed in [`HostState`] (checked: a typed error
    /// otherwise).
    pub unsafe fn new_on_host_memory(
        cpu: &'c VmxCpu<H>,
        config: &VcpuConfig,
    ) -> Result<Self, VmxError> {
        Self::create(cpu, None, config)
    }

    fn create(
        cpu: &'c VmxCpu<H>,
        ept: Option<EptUser<'c>>,
        config: &VcpuConfig,
    ) -> Result<Self, VmxError> {
        cpu.check_current_cpu()?;
        let caps = cpu.capabilities();
        let controls = compute_controls(caps, config, ept.is_some())?;
        // SAFETY: CPL 0 in 64-bit mode (the caller is in VMX root operation: `cpu`).
        let host = unsafe { HostState::capture() }?;
        let xstate = XStateInfo::detect();
        let area_pages = xstate.area_size.div_ceil(FRAME_SIZE);
        let frames =
            Frames::alloc(cpu.host(), F_XSAVE + 2 * area_pages).ok_or(VmxError::OutOfMemory {
                what: AllocWhat::VcpuStructures,
            })?;
        frames.check_address_limit(caps.basic())?;
        let block = frames.ptr_of(F_BLOCK).cast::<RunBlock>();
        let host_area = frames.ptr_of(F_XSAVE);
        let guest_area = frames.ptr_of(F_XSAVE + area_pages);
        // SAFETY: the frames are ours, zeroed and mapped; the block fits in one frame and
        // the areas are page aligned (≥ 64 bytes) and `area_pages` frames long each.
        unsafe {
            block.write(RunBlock {
                xmode: xstate.mode.code(),
                entry_fn: entry_routine(xstate.mode.code()).0,
                host_xcr0: xstate.host_xcr0,
                guest_xcr0: if xstate.mode == XStateMode::Xsave {
                    1
                } else {
                    0
                },
                union_xcr0: xstate.host_xcr0 | 1 | (xstate.supported_xcr0 & 3),
                host_area: host_area.as_ptr() as u64,
                guest_area: guest_area.as_ptr() as u64,
                entry_flags: VMCS_OFF,
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
        // An error below drops what was allocated so far: the VPID goes back to the pool,
        // the VMCS is cleared and freed before the frames it may name.
        let vpid = if config.vpid {
            Some(allocate_vpid().ok_or(VmxError::NoVpid)?)
        } else {
            None
        };
        let mut vmcs = Vmcs::new(cpu)?;
        vmcs.set_current_flag(Self::flag_addr(block));
        vmcs.load()?;
        let misc = caps.misc();
        let mut vcpu = Self {
            inner: Vcpu {
                cpu,
                vmcs,
                frames,
                apic: None,
                block,
                controls,
                vpid,
                ept,
                pending: PendingEvents::new(),
                in_flight: None,
                last_injection: None,
                // The launch state is clear: the first exit records the launch.
                exit_work: EXIT_WORK,
                msr_count: 0,
                xstate,
                zero_length_injection: misc.zero_length_injection(),
                cr0_fixed_mask: 0,
                cr4_fixed_mask: 0,
                cr0_owned: 0,
                cr4_owned: 0,
                exception_bitmap: 0,
                lazy_xstate: false,
                exit_to_complete: NO_EXIT,
                host_debug: None,
                ins_outs_info: caps.basic().ins_outs_info(),
                emulated: cr_access::EmulatedRegs::default(),
                preflight: config.preflight_check,
                ap: sipi::ApState::Running,
                _tail: [()],
            },
        };
        if config.preflight_check {
            // The first entry takes the slow path, which runs the pre-flight check.
            vcpu.set_entry_work(true);
        }
        vcpu.write_controls()?;
        if let Some(apic) = &config.apic {
            vcpu.setup_apic(apic)?;
        }
        vcpu.write_host_state(&host)?;
        vcpu.setup_msr_lists()?;
        vcpu.write_guest_state(&config.guest)?;
        if let Some(v) = &vcpu.vpid {
            vmwrite(fields::CTRL_VPID, v.get())?;
            // A VPID can be reused: drop whatever its previous owner left cached.
            vcpu.invalidate_vpid()?;
        }
        Ok(vcpu)
    }

    /// Address of the block's `entry_flags` word, as registered with the CPU.
    fn flag_addr(block: NonNull<RunBlock>) -> usize {
        block.as_ptr() as usize + core::mem::offset_of!(RunBlock, entry_flags)
    }
}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// INVVPID of this vCPU's VPID: single-context where the processor has it, else
    /// all-context (SDM Vol. 3C §29.4.3.3, §31.3 INVVPID).
    pub(super) fn invalidate_vpid(&self) -> Result<(), VmxError> {
        let Some(v) = &self.vpid else {
            return Ok(());
        };
        if let Ok(desc) = InvvpidDescriptor::single_context(v.get())
            && vmx_insn::invvpid(InvvpidType::SingleContext, &desc).is_ok()
        {
            return Ok(());
        }
        vmx_insn::invvpid(InvvpidType::AllContext, &InvvpidDescriptor::all_context())
            .map_err(insn(VmxInstruction::Invvpid))
    }

    /// Sets or clears [`ENTRY_WORK`]: the next entry must run the injection decision
    /// (events are pending, or window exits are requested and may have to be turned off;
    /// kept equal to `windows requested || !pending.is_empty()`).
    #[inline]
    pub(super) fn set_entry_work(&mut self, on: bool) {
        let b = self.block_mut();
        b.entry_flags = (b.entry_flags & !ENTRY_WORK) | if on { ENTRY_WORK } else { 0 };
    }

    /// Makes the VMCS current: one test of the block's `entry_flags` when it already is.
    #[inline(always)]
    pub(super) fn load_vmcs(&mut self) -> Result<(), VmxError> {
        if self.block().entry_flags & VMCS_OFF == 0 {
            return Ok(());
        }
        self.vmcs.load()
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
    /// [`Vcpu::rsp`], [`Vcpu::rip`], [`Vcpu::rflags`]).
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

    /// The VMCS, read-only: its address, state and typed reads ([`Vmcs::read`]); write
    /// through the vCPU's typed setters (or, `unsafe`, [`Vcpu::write_field`]).
    pub fn vmcs(&self) -> &Vmcs<'c, H> {
        &self.vmcs
    }

    /// VMCLEAR of this vCPU's VMCS (SDM §31.3 VMCLEAR): its data goes to memory, it stops
    /// being current and its launch state becomes clear, so the next entry is a VMLAUNCH
    /// (the vCPU makes it current again first). For tests of the launch-state rules and for
    /// a host that wants the VMCS out of the processor (it stays on this processor's
    /// bookkeeping; moving a vCPU to another processor has its own API).
    pub fn clear_vmcs(&mut self) -> Result<(), VmxError> {
        self.vmcs.clear()
    }

    /// Writes every field this processor has, with its name and value, one per line
    /// ([`Vmcs::dump`]), making the VMCS current first.
    pub fn dump_vmcs(&mut self, out: &mut dyn core::fmt::Write) -> Result<(), VmxError> {
        self.vmcs.dump(out)
    }

    /// The controls in effect.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// The VPID number, if VPIDs are enabled (the VPID itself is owned by the vCPU and goes
    /// back to the allocator when the vCPU is dropped).
    pub fn vpid(&self) -> Option<u16> {
        self.vpid.as_ref().map(Vpid::get)
    }

    /// The EPT pointer this vCPU runs on, `None` on host-physical memory.
    pub fn eptp(&self) -> Option<Eptp> {
        self.ept.as_ref().map(EptUser::eptp)
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

    /// Writes any read-write VMCS field (makes the VMCS current first): the escape hatch
    /// for what the typed methods do not cover. Change execution controls with
    /// [`Vcpu::set_exec_control`] (checked against the capabilities and
    /// [`ISOLATION`](crate::ISOLATION)) rather than here.
    ///
    /// A write to one of the five control fields the vCPU caches (pin-based, primary and
    /// secondary processor-based, primary VM-exit, VM-entry) also updates the cache, so that
    /// the vCPU's own changes (window exiting, the typed setters) start from the value
    /// written instead of undoing it: the VMCS stays the one source of truth.
    ///
    /// # Safety
    /// As for [`Vmcs::write`]: host-state fields, pointers and controls must keep VM entries
    /// and exits memory-safe (clearing a control of [`ISOLATION`](crate::ISOLATION) lets the
    /// guest reach host state), and the value must not contradict what this vCPU manages
    /// (bitmap and list addresses, HOST_RIP/RSP, the EPT pointer, the VPID) for as long as
    /// it stays in the VMCS.
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
        unsafe { self.vmcs.write(field, value) }?;
        self.sync_cached_controls(field.raw())
    }

    /// Re-reads a cached control field after a raw write of `encoding` (see
    /// [`Vcpu::write_field`]).
    fn sync_cached_controls(&mut self, encoding: u32) -> Result<(), VmxError> {
        use vmx_defs::controls::{
            EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
            SecondaryProcBasedControls,
        };
        let c = &mut self.controls;
        if encoding == fields::CTRL_PIN_BASED_EXEC_CONTROLS.raw() {
            c.pin =
                PinBasedControls::from_bits_retain(vmread(fields::CTRL_PIN_BASED_EXEC_CONTROLS)?);
        } else if encoding == fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS.raw() {
            c.primary = PrimaryProcBasedControls::from_bits_retain(vmread(
                fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS,
            )?);
        } else if encoding == fields::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS.raw() {
            c.secondary = SecondaryProcBasedControls::from_bits_retain(vmread(
                fields::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS,
            )?);
        } else if encoding == fields::CTRL_PRIMARY_VMEXIT_CONTROLS.raw() {
            c.exit = PrimaryExitControls::from_bits_retain(vmread(
                fields::CTRL_PRIMARY_VMEXIT_CONTROLS,
            )?);
        } else if encoding == fields::CTRL_VMENTRY_CONTROLS.raw() {
            c.entry = EntryControls::from_bits_retain(vmread(fields::CTRL_VMENTRY_CONTROLS)?);
        }
        Ok(())
    }
}

impl<H: VmxHost> Drop for VmxVcpu<'_, H> {
    fn drop(&mut self) {
        let v: &mut Vcpu<'_, H> = self;
        // The block (and its `entry_flags` word) goes away with `frames`.
        v.cpu.forget_flag(Self::flag_addr(v.block));
        // Translations tagged with the VPID must not survive its reuse (§29.4.3.3); a
        // failure leaves them to the next owner's INVVPID at creation.
        let _ = v.invalidate_vpid();
        // Then the fields drop in order: the VMCS is cleared (and its frame freed) before
        // `frames` releases the bitmaps and lists it names, the VPID goes back to the pool,
        // and the EPT user releases its hold on the table.
    }
}

impl<H: VmxHost> core::fmt::Debug for Vcpu<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VmxVcpu")
            .field("vmcs", &self.vmcs)
            .field("vpid", &self.vpid)
            .field("eptp", &self.eptp())
            .field("controls", &self.controls)
            .field("xstate", &self.xstate.mode)
            .field("pending", &self.pending)
            .field("regs", &self.block().regs)
            .finish_non_exhaustive()
    }
}

impl<H: VmxHost> core::fmt::Debug for VmxVcpu<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}
