//! An owned VMCS region and its launch state (SDM Vol. 3C §25.1 "Overview", §25.2 "Format of
//! the VMCS Region", §25.11.3 "Initializing a VMCS"; Figure 25-1 state transitions).

use core::fmt;
use core::mem::ManuallyDrop;

use vmx_defs::addr::HostPhysAddr;
use vmx_defs::vmcs::{ALL_FIELDS, Access, Field, FieldWidth, ReadWrite, Width};
use vmx_insn::FieldValue;

use crate::cpu::VmxCpu;
use crate::error::{AllocWhat, VmxError, VmxInstruction, insn};
use crate::host::{Frames, VmxHost};

/// Where a VMCS is in the SDM's life cycle (SDM §25.1, Figure 25-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmcsState {
    /// Launch state clear and not current (after VMCLEAR).
    Clear,
    /// Current on this CPU (VMPTRLD), launch state clear: the next entry is VMLAUNCH.
    Current,
    /// Launch state launched (a VMLAUNCH succeeded): the next entry is VMRESUME. It may or
    /// may not be current; see [`Vmcs::is_current`].
    Launched,
}

/// A VMCS region owned by this value: revision identifier and size from IA32_VMX_BASIC,
/// launch state tracked across VMCLEAR, VMPTRLD and VM entries.
///
/// Dropping it VMCLEARs it (when active) and frees the frame.
pub struct Vmcs<'c, H: VmxHost> {
    cpu: &'c VmxCpu<H>,
    frame: ManuallyDrop<Frames<'c, H>>,
    paddr: HostPhysAddr,
    launched: bool,
    active: bool,
    /// The owning vCPU's `entry_flags` word address (0: none), handed to the CPU when
    /// this VMCS becomes current.
    current_flag: usize,
}

impl<'c, H: VmxHost> Vmcs<'c, H> {
    /// Allocates a VMCS region (size from IA32_VMX_BASIC\[44:32\], at most 4 KiB), writes the
    /// revision identifier (bits 30:0, shadow-VMCS indicator clear) and VMCLEARs it so its
    /// launch state is clear (SDM §25.11.3).
    pub fn new(cpu: &'c VmxCpu<H>) -> Result<Self, VmxError> {
        let basic = cpu.capabilities().basic();
        let frame = Frames::alloc_vmx_region(cpu.host(), basic, AllocWhat::Vmcs)?;
        let paddr = frame.paddr();
        let mut vmcs = Self {
            cpu,
            frame: ManuallyDrop::new(frame),
            paddr,
            launched: false,
            active: false,
            current_flag: 0,
        };
        vmcs.clear()?;
        Ok(vmcs)
    }

    /// Physical address of the region.
    pub fn paddr(&self) -> HostPhysAddr {
        self.paddr
    }

    /// The CPU this VMCS belongs to.
    pub fn cpu(&self) -> &'c VmxCpu<H> {
        self.cpu
    }

    /// Whether this VMCS is the current VMCS of its CPU.
    #[inline]
    pub fn is_current(&self) -> bool {
        self.cpu.current_vmcs() == self.paddr.as_u64()
    }

    /// The life-cycle state.
    pub fn state(&self) -> VmcsState {
        if self.launched {
            VmcsState::Launched
        } else if self.is_current() {
            VmcsState::Current
        } else {
            VmcsState::Clear
        }
    }

    /// Whether the launch state is "launched" (the next entry must be VMRESUME).
    pub fn is_launched(&self) -> bool {
        self.launched
    }

    /// VMCLEAR: writes the VMCS data back to the region, sets the launch state to clear and
    /// makes it not current (SDM §31.3 VMCLEAR).
    pub fn clear(&mut self) -> Result<(), VmxError> {
        // SAFETY: the region is ours, tagged with the revision identifier, and stays
        // allocated while the processor may use it (until drop).
        unsafe { vmx_insn::vmclear(self.paddr) }.map_err(insn(VmxInstruction::Vmclear))?;
        self.cpu.untrack_active(self.paddr.as_u64());
        self.launched = false;
        self.active = false;
        Ok(())
    }

    /// VMPTRLD: makes this the current VMCS of the CPU (SDM §31.3 VMPTRLD). The launch state
    /// is unchanged.
    #[inline]
    pub fn load(&mut self) -> Result<(), VmxError> {
        if self.is_current() {
            return Ok(());
        }
        self.load_slow()
    }

    fn load_slow(&mut self) -> Result<(), VmxError> {
        let p = self.paddr.as_u64();
        self.cpu.track_active(p)?;
        // SAFETY: as for `clear`; the region becomes active and is VMCLEARed before it is
        // freed (drop) or VMX is left (`VmxCpu` clears every tracked region).
        if let Err(e) = unsafe { vmx_insn::vmptrld(self.paddr) } {
            if !self.active {
                self.cpu.untrack_active(p);
            }
            return Err(insn(VmxInstruction::Vmptrld)(e));
        }
        self.active = true;
        self.cpu.set_current(p, self.current_flag);
        Ok(())
    }

    /// Registers the owning vCPU's `entry_flags` word (see `VmxCpu::set_current`). Only
    /// while this VMCS is not current; the word must stay valid until the vCPU calls
    /// `VmxCpu::forget_flag`.
    pub(crate) fn set_current_flag(&mut self, flag: usize) {
        self.current_flag = flag;
    }

    /// Records a successful VMLAUNCH (launch state becomes launched).
    pub(crate) fn mark_launched(&mut self) {
        self.launched = true;
    }

    fn ensure_current(&self) -> Result<(), VmxError> {
        if self.is_current() {
            Ok(())
        } else {
            Err(VmxError::NotCurrent)
        }
    }

    /// VMREAD of a typed field (SDM §31.3). The VMCS must be current.
    pub fn read<W: Width, A: Access>(&self, field: Field<W, A>) -> Result<W::Value, VmxError>
    where
        W::Value: FieldValue,
    {
        self.ensure_current()?;
        vmx_insn::vmread(field).map_err(insn(VmxInstruction::Vmread))
    }

    /// VMWRITE of a typed read-write field (SDM §31.3). The VMCS must be current.
    ///
    /// # Safety
    /// As for [`vmx_insn::vmwrite`]: host-state fields and every physical address written
    /// must keep later VM exits and entries memory-safe.
    pub unsafe fn write<W: Width>(
        &mut self,
        field: Field<W, ReadWrite>,
        value: W::Value,
    ) -> Result<(), VmxError>
    where
        W::Value: FieldValue,
    {
        self.ensure_current()?;
        // SAFETY: the caller upholds the contract.
        unsafe { vmx_insn::vmwrite(field, value) }.map_err(insn(VmxInstruction::Vmwrite))
    }

    /// Writes every field this CPU has ([`FieldInfo::exists_on`]) with its name and value,
    /// one per line, for debugging (makes the VMCS current first).
    ///
    /// [`FieldInfo::exists_on`]: vmx_defs::vmcs::FieldInfo::exists_on
    pub fn dump(&mut self, out: &mut dyn fmt::Write) -> Result<(), VmxError> {
        self.load()?;
        let caps = self.cpu.capabilities();
        for info in ALL_FIELDS.iter().filter(|i| i.exists_on(caps)) {
            let r = match vmx_insn::vmread_raw(info.encoding.raw()) {
                Ok(v) => match info.width() {
                    FieldWidth::Bits16 => writeln!(out, "{:<45} {:#06x}", info.name, v),
                    FieldWidth::Bits32 => writeln!(out, "{:<45} {:#010x}", info.name, v),
                    _ => writeln!(out, "{:<45} {:#018x}", info.name, v),
                },
                Err(e) => writeln!(out, "{:<45} <unreadable: {:?}>", info.name, e),
            };
            if r.is_err() {
                break;
            }
        }
        Ok(())
    }
}

impl<'c, H: VmxHost> Vmcs<'c, H> {
    /// Gives up the VMCS without freeing it: the region's frame, for
    /// [`Vmcs::from_inactive_raw`].
    ///
    /// # Safety
    /// The region is active on no processor ([`Vmcs::clear`] succeeded since it was last
    /// made current, or it never was).
    pub(crate) unsafe fn into_inactive_raw(self) -> HostPhysAddr {
        debug_assert!(!self.active);
        let mut me = ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again; the frame is taken out once.
        let frame = unsafe { ManuallyDrop::take(&mut me.frame) };
        frame.into_raw().0
    }

    /// Takes back a region given up by [`Vmcs::into_inactive_raw`], on `cpu`, in the clear
    /// launch state and not active (SDM Vol. 3C §25.11.1: after VMCLEAR on the old
    /// processor the region may be made current on another).
    ///
    /// # Safety
    /// `paddr` came from `into_inactive_raw` of a VMCS whose frame was allocated through a
    /// host value sharing `cpu`'s host memory ([`SharedHost`](crate::SharedHost)), and
    /// nothing else owns it.
    pub(crate) unsafe fn from_inactive_raw(cpu: &'c VmxCpu<H>, paddr: HostPhysAddr) -> Self {
        // SAFETY: forwarded contract: one frame from `into_raw`.
        let frame = unsafe { Frames::from_raw(cpu.host(), paddr, 1) };
        Self {
            cpu,
            frame: ManuallyDrop::new(frame),
            paddr,
            launched: false,
            active: false,
            current_flag: 0,
        }
    }
}

impl<H: VmxHost> Drop for Vmcs<'_, H> {
    fn drop(&mut self) {
        if self.active
            && let Err(e) = self.clear()
        {
            // The processor may still use the region: leak it rather than free it.
            log::error!("VMCLEAR of {:#x} on drop: {e}", self.paddr.as_u64());
            return;
        }
        // SAFETY: the region is no longer active on any CPU; `frame` is not used again.
        unsafe { ManuallyDrop::drop(&mut self.frame) };
    }
}

impl<H: VmxHost> fmt::Debug for Vmcs<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vmcs")
            .field("paddr", &self.paddr)
            .field("state", &self.state())
            .finish()
    }
}
