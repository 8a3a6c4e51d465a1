//! Per-CPU VMX enabling and disabling (SDM Vol. 3C §24.6 "Discovering Support for VMX",
//! §24.7 "Enabling and Entering VMX Operation", §24.8 "Restrictions on VMX Operation",
//! §25.11.5 "VMXON Region"; VMXOFF §31.3).

use core::cell::Cell;
use core::marker::PhantomData;

use vmx_defs::addr::HostPhysAddr;
use vmx_defs::capabilities::{VmxCapabilities, msr};

use crate::arch;
use crate::enable_checks::{
    CR0_NE, CR4_VMXE, FeatureControlAction, adjust_to_fixed, plan_feature_control,
};
use crate::error::AllocWhat;
use crate::error::{VmxError, VmxInstruction, insn};
use crate::host::{Frames, VmxHost};

/// Bit of a vCPU's `entry_flags` word: its VMCS is not the current VMCS of its CPU.
pub(crate) const VMCS_OFF: u64 = 1;
/// Bit of a vCPU's `entry_flags` word: the next entry must run the injection decision.
pub(crate) const ENTRY_WORK: u64 = 2;

/// How many VMCSs one CPU tracks as active (made current by VMPTRLD and not yet cleared).
pub const MAX_ACTIVE_VMCS: usize = 64;

/// VMX operation on the current CPU.
///
/// [`VmxCpu::enable`] checks support, makes IA32_FEATURE_CONTROL allow VMXON, adjusts CR0
/// and CR4 to the fixed bits, and executes VMXON with a VMXON region sized and tagged from
/// IA32_VMX_BASIC. [`VmxCpu::disable`] (or dropping it) VMCLEARs every VMCS still active on
/// the CPU, executes VMXOFF and restores CR0 and CR4.
///
/// Per-CPU: the type is neither `Send` nor `Sync`; create one on each CPU that runs guests.
/// VMX operation, the VMXON region and the set of active VMCSs belong to one logical
/// processor (SDM §24.7, §25.11.1), so the `VmxCpu` and everything that borrows it (every
/// [`Vmcs`](crate::Vmcs) and [`VmxVcpu`](crate::VmxVcpu)) must stay on the processor that
/// enabled it for their whole life, not only during `enable`: the caller keeps the thread
/// pinned (or interrupts that could migrate it off) until the `VmxCpu` is dropped. Where the
/// host can tell ([`VmxHost::current_cpu`]), the crate checks it when a vCPU is created,
/// before it runs and when a VMCS is made current, and answers [`VmxError::WrongCpu`].
/// Enabling a CPU where CR4.VMXE is already 1 fails with [`VmxError::AlreadyEnabled`].
/// Every [`Vmcs`](crate::Vmcs) and [`VmxVcpu`](crate::VmxVcpu) borrows the `VmxCpu`, so
/// VMX cannot be turned off under them.
pub struct VmxCpu<H: VmxHost> {
    host: H,
    caps: VmxCapabilities,
    vmxon_region: HostPhysAddr,
    /// The logical processor VMX was enabled on, as the host identifies it.
    cpu_id: Option<u32>,
    saved_cr0: u64,
    active: [Cell<u64>; MAX_ACTIVE_VMCS],
    current: Cell<u64>,
    /// Address of the `entry_flags` word of the vCPU whose VMCS is current (0: none, or a
    /// VMCS without a vCPU): its [`VMCS_OFF`] bit is set when that VMCS stops being
    /// current, so the vCPU tests one word of its own instead of this CPU's state.
    current_flag: Cell<usize>,
    enabled: Cell<bool>,
    /// Address of the run block of the vCPU whose `run_loop` may keep its guest's extended
    /// state loaded on this CPU (lazy mode), 0 for none.
    xstate_owner: Cell<u64>,
    _not_send: PhantomData<*const ()>,
}

impl<H: VmxHost> VmxCpu<H> {
    /// Enters VMX root operation on this CPU (SDM §24.7).
    ///
    /// Steps: CPUID.1:ECX.VMX; CR4.VMXE must be 0; read the capability MSRs; check
    /// IA32_VMX_BASIC; IA32_FEATURE_CONTROL: lock it with "VMXON outside SMX" when unlocked
    /// (OVMF, no firmware), accept it when locked with that bit (Bochs BIOS: 0x5), fail when
    /// locked without it; set CR0.NE and CR4.VMXE and check every other fixed bit (an error
    /// names the bit); allocate and tag the VMXON region; VMXON.
    ///
    /// # Safety
    /// CPL 0, 64-bit mode, and no other code on this CPU using VMX (VMXON, VMCS instructions)
    /// for as long as the returned value lives. The caller stays on this logical processor
    /// (pinned, or with interrupts that could migrate it off disabled) from this call until
    /// the `VmxCpu` and everything borrowing it are dropped.
    pub unsafe fn enable(host: H) -> Result<Self, VmxError> {
        if arch::cpuid(1, 0).ecx & (1 << 5) == 0 {
            return Err(VmxError::NoVmxSupport);
        }
        let cr4 = arch::read_cr4();
        if cr4 & CR4_VMXE != 0 {
            return Err(VmxError::AlreadyEnabled);
        }
        // SAFETY: CPUID reports VMX, so IA32_FEATURE_CONTROL and the basic capability MSRs
        // exist; `from_msrs` reads optional MSRs only where they exist.
        let caps = VmxCapabilities::from_msrs(|index| unsafe { arch::rdmsr(index) });
        let basic = caps.basic();
        basic.check().map_err(VmxError::InvalidBasic)?;

        // SAFETY: the MSR exists (VMX is supported).
        let fc = unsafe { arch::rdmsr(msr::IA32_FEATURE_CONTROL) };
        let action = plan_feature_control(fc).map_err(VmxError::FeatureControlLocked)?;

        let cr0 = arch::read_cr0();
        let new_cr0 = adjust_to_fixed(caps.cr0_fixed(), cr0, CR0_NE).map_err(VmxError::FixedBit)?;
        let new_cr4 = adjust_to_fixed(caps.cr4_fixed(), cr4 | CR4_VMXE, CR4_VMXE)
            .map_err(VmxError::FixedBit)?;

        let cpu_id = host.current_cpu();
        let frames = Frames::alloc_vmx_region(&host, basic, AllocWhat::VmxonRegion)?;
        let paddr = frames.paddr();

        if let FeatureControlAction::Write(v) = action {
            // SAFETY: the MSR exists and is unlocked; setting the lock and VMXON-outside-SMX
            // bits is what SDM §24.7 prescribes.
            unsafe { arch::wrmsr(msr::IA32_FEATURE_CONTROL, v) };
        }
        // SAFETY: NE and VMXE are the only bits set, as the fixed-bit MSRs require; neither
        // changes the memory model.
        unsafe {
            arch::write_cr0(new_cr0);
            arch::write_cr4(new_cr4);
        }
        // SAFETY: CR0/CR4 meet the fixed bits, IA32_FEATURE_CONTROL allows VMXON, and the
        // region is tagged and stays allocated until VMXOFF (it is freed in `disable`).
        if let Err(e) = unsafe { vmx_insn::vmxon(paddr) } {
            // SAFETY: restoring the values the CPU had on entry.
            unsafe {
                arch::write_cr4(cr4);
                arch::write_cr0(cr0);
            }
            return Err(insn(VmxInstruction::Vmxon)(e));
        }
        core::mem::forget(frames);
        Ok(Self {
            host,
            caps,
            vmxon_region: paddr,
            cpu_id,
            saved_cr0: cr0,
            active: [const { Cell::new(0) }; MAX_ACTIVE_VMCS],
            current: Cell::new(0),
            current_flag: Cell::new(0),
            enabled: Cell::new(true),
            xstate_owner: Cell::new(0),
            _not_send: PhantomData,
        })
    }

    /// The capabilities read when VMX was enabled.
    pub fn capabilities(&self) -> &VmxCapabilities {
        &self.caps
    }

    /// The host memory interface.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// Physical address of the VMXON region.
    pub fn vmxon_region(&self) -> HostPhysAddr {
        self.vmxon_region
    }

    /// The logical processor VMX was enabled on, as [`VmxHost::current_cpu`] identified it.
    pub fn cpu_id(&self) -> Option<u32> {
        self.cpu_id
    }

    /// Checks that the caller still runs on the logical processor VMX was enabled on
    /// (where the host can tell): [`VmxError::WrongCpu`] otherwise.
    pub fn check_current_cpu(&self) -> Result<(), VmxError> {
        match (self.cpu_id, self.host.current_cpu()) {
            (Some(enabled_on), Some(running_on)) if enabled_on != running_on => {
                Err(VmxError::WrongCpu {
                    enabled_on,
                    running_on,
                })
            }
            _ => Ok(()),
        }
    }

    /// Physical address of the current VMCS as this CPU tracks it (0 if none).
    #[inline]
    pub(crate) fn current_vmcs(&self) -> u64 {
        self.current.get()
    }

    /// Records `paddr` as the current VMCS (after VMPTRLD); `flag` is the `entry_flags`
    /// word of the vCPU that owns it (0 for none): its [`VMCS_OFF`] bit is cleared now and
    /// set again when another VMCS becomes current or this one is cleared.
    ///
    /// The word must stay valid until [`Self::forget_flag`] is called with it.
    pub(crate) fn set_current(&self, paddr: u64, flag: usize) {
        self.mark_displaced();
        self.current.set(paddr);
        if flag != 0 {
            // SAFETY: the owning vCPU registered a word in its pinned run block, valid
            // until its drop calls `forget_flag`; nothing holds a reference to it now
            // (the vCPU reads it only through its raw block pointer).
            unsafe { *(flag as *mut u64) &= !VMCS_OFF };
        }
        self.current_flag.set(flag);
    }

    /// The current VMCS stops being current: tells its vCPU.
    fn mark_displaced(&self) {
        let old = self.current_flag.replace(0);
        if old != 0 {
            // SAFETY: as in `set_current`.
            unsafe { *(old as *mut u64) |= VMCS_OFF };
        }
    }

    /// Unregisters `flag` (its vCPU is going away).
    pub(crate) fn forget_flag(&self, flag: usize) {
        if self.current_flag.get() == flag {
            self.current_flag.set(0);
        }
    }

    /// Records `paddr` as active (VMPTRLD made it current at least once since its last
    /// VMCLEAR).
    pub(crate) fn track_active(&self, paddr: u64) -> Result<(), VmxError> {
        if self.active.iter().any(|c| c.get() == paddr) {
            return Ok(());
        }
        let slot = self
            .active
            .iter()
            .find(|c| c.get() == 0)
            .ok_or(VmxError::TooManyActiveVmcs)?;
        slot.set(paddr);
        Ok(())
    }

    /// The run block of the vCPU in a lazy-mode `run_loop` on this CPU (0: none).
    #[inline]
    pub(crate) fn xstate_owner(&self) -> u64 {
        self.xstate_owner.get()
    }

    /// Records the vCPU in a lazy-mode `run_loop` on this CPU (0: none).
    pub(crate) fn set_xstate_owner(&self, block: u64) {
        self.xstate_owner.set(block);
    }

    /// Forgets `paddr` (after VMCLEAR).
    pub(crate) fn untrack_active(&self, paddr: u64) {
        for c in &self.active {
            if c.get() == paddr {
                c.set(0);
            }
        }
        if self.current.get() == paddr {
            self.mark_displaced();
            self.current.set(0);
        }
    }

    /// Number of VMCSs active on this CPU.
    pub fn active_vmcs_count(&self) -> usize {
        self.active.iter().filter(|c| c.get() != 0).count()
    }

    /// Leaves VMX operation: VMCLEARs every VMCS still active on this CPU (so their data
    /// reaches memory, SDM §25.11.3), VMXOFF, restores CR4 (VMXE) and CR0, frees the VMXON
    /// region.
    pub fn disable(self) -> Result<(), VmxError> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<(), VmxError> {
        if !self.enabled.replace(false) {
            return Ok(());
        }
        let mut first_error = None;
        for c in &self.active {
            let p = c.replace(0);
            if p != 0 {
                // SAFETY: `p` is a VMCS this CPU made active; VMCLEAR writes its data back
                // to the region, which its owner keeps allocated while it is tracked.
                if let Err(e) = unsafe { vmx_insn::vmclear(HostPhysAddr::new(p)) } {
                    first_error.get_or_insert(insn(VmxInstruction::Vmclear)(e));
                }
            }
        }
        self.mark_displaced();
        self.current.set(0);
        // SAFETY: no VMCS is active any more and every user of VMX on this CPU borrows
        // `self`, which is being dropped or consumed.
        if let Err(e) = unsafe { vmx_insn::vmxoff() } {
            first_error.get_or_insert(insn(VmxInstruction::Vmxoff)(e));
        } else {
            // SAFETY: VMX operation is over. Only the bits `enable` set are put back (CR4.VMXE,
            // which was 0 before, and CR0.NE if it was 0): bits the host changed while VMX was
            // on (CR4.OSXSAVE, say) stay as the host left them.
            unsafe {
                arch::write_cr4(arch::read_cr4() & !CR4_VMXE);
                let cr0 = arch::read_cr0();
                arch::write_cr0((cr0 & !CR0_NE) | (self.saved_cr0 & CR0_NE));
            }
            // SAFETY: allocated by `enable` (one frame); after VMXOFF the processor no longer
            // uses the VMXON region.
            unsafe { self.host.free_frames(self.vmxon_region, 1) };
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<H: VmxHost> Drop for VmxCpu<H> {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            log::error!("leaving VMX operation: {e}");
        }
    }
}

impl<H: VmxHost> core::fmt::Debug for VmxCpu<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VmxCpu")
            .field("vmxon_region", &self.vmxon_region)
            .field("active_vmcs", &self.active_vmcs_count())
            .field("enabled", &self.enabled.get())
            .finish_non_exhaustive()
    }
}
