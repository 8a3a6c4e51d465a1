//! What the vCPU needs from the host kernel: physically contiguous zeroed frames and the
//! host-virtual address of a frame (for the VMXON region and VMCS, SDM Vol. 3C §25.2, and
//! for the bitmaps, MSR lists and register blocks the VMCS points to, §25.6).

use core::ptr::NonNull;

use vmx_defs::addr::HostPhysAddr;
use vmx_defs::capabilities::VmxBasic;

use crate::error::{AllocWhat, VmxError};

pub use ept::{FRAME_SIZE, HostMemory};

/// What a [`VmxCpu`](crate::VmxCpu) needs from the host kernel: its memory
/// ([`HostMemory`], the interface `ept` uses too) and the identity of the logical processor
/// running the caller, so that the crate can check that everything tied to one processor
/// (VMX operation, active VMCSs, the vCPUs that borrow the `VmxCpu`) stays on it.
///
/// # Safety
/// The [`HostMemory`] contract, plus: [`current_cpu`](VmxHost::current_cpu) returns, when
/// it returns `Some`, an identifier that differs between logical processors and does not
/// change for the processor executing the call.
pub unsafe trait VmxHost: HostMemory {
    /// The identifier of the logical processor executing this call, or `None` when the host
    /// cannot tell. The default reads the x2APIC ID (CPUID leaf 0BH, EDX) where the processor
    /// reports that leaf, else the initial APIC ID (CPUID.1:EBX\[31:24\]) (SDM Vol. 3A
    /// §11.4.6 "Local APIC ID", §11.12.8 "Initial APIC ID").
    fn current_cpu(&self) -> Option<u32> {
        Some(crate::arch::apic_id())
    }

    /// The value of IA32_DEBUGCTL the host runs with, if it uses the MSR (LBR, BTF, BTS...):
    /// every VM exit clears it (SDM Vol. 3C §28.5.1), and the vCPU then writes this value back
    /// after each exit. The default `None` says the host keeps it 0, so nothing is restored
    /// (and the MSR is never read: some emulators do not implement it).
    fn host_debugctl(&self) -> Option<u64> {
        None
    }
}

/// Frames owned by this crate, freed on drop.
pub(crate) struct Frames<'h, H: VmxHost> {
    host: &'h H,
    paddr: HostPhysAddr,
    count: usize,
}

impl<'h, H: VmxHost> Frames<'h, H> {
    /// Allocates `count` frames; `None` when the host has no memory.
    pub(crate) fn alloc(host: &'h H, count: usize) -> Option<Self> {
        let paddr = host.alloc_frames(count)?;
        if paddr.as_u64() % FRAME_SIZE as u64 != 0 {
            // A host that breaks its contract: give the memory back, refuse it.
            // SAFETY: just allocated with this count, never used.
            unsafe { host.free_frames(paddr, count) };
            return None;
        }
        Some(Self { host, paddr, count })
    }

    /// Allocates the frame of a VMXON region or a VMCS (SDM Vol. 3C §25.11.5, §25.2): below
    /// 4 GiB when IA32_VMX_BASIC\[48\] asks for it, its first dword the revision identifier
    /// (bits 30:0) with bit 31 (shadow-VMCS indicator) clear. `basic` has passed
    /// [`VmxBasic::check`] (at [`VmxCpu::enable`](crate::VmxCpu::enable)), so the region
    /// (at most 4096 bytes, Vol. 3D §A.1) fits in the frame.
    pub(crate) fn alloc_vmx_region(
        host: &'h H,
        basic: VmxBasic,
        what: AllocWhat,
    ) -> Result<Self, VmxError> {
        let frame = Self::alloc(host, 1).ok_or(VmxError::OutOfMemory { what })?;
        frame.check_address_limit(basic)?;
        // SAFETY: the frame is ours, zeroed and mapped, at least 4 bytes long.
        unsafe {
            frame
                .ptr()
                .cast::<u32>()
                .write_volatile(basic.revision_id() & 0x7FFF_FFFF)
        };
        Ok(frame)
    }

    /// Checks that every byte of these frames lies below 4 GiB when IA32_VMX_BASIC\[48\]
    /// limits VMX structures to 32-bit physical addresses (SDM Vol. 3D §A.1).
    pub(crate) fn check_address_limit(&self, basic: VmxBasic) -> Result<(), VmxError> {
        let start = self.paddr.as_u64();
        let last = start.saturating_add(((self.count * FRAME_SIZE) as u64).saturating_sub(1));
        if last > basic.max_structure_address() {
            return Err(VmxError::AddressAbove4G { paddr: start });
        }
        Ok(())
    }

    /// Physical address of the first frame.
    pub(crate) fn paddr(&self) -> HostPhysAddr {
        self.paddr
    }

    /// Physical address of frame `i` (must be `< count`).
    pub(crate) fn paddr_of(&self, i: usize) -> HostPhysAddr {
        HostPhysAddr::new(
            self.paddr.as_u64() + (i.min(self.count.saturating_sub(1)) * FRAME_SIZE) as u64,
        )
    }

    /// Host-virtual pointer to the first frame.
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.host.phys_to_virt(self.paddr)
    }

    /// Host-virtual pointer to frame `i` (clamped to the last frame).
    pub(crate) fn ptr_of(&self, i: usize) -> NonNull<u8> {
        self.host.phys_to_virt(self.paddr_of(i))
    }
}

impl<'h, H: VmxHost> Frames<'h, H> {
    /// Gives up ownership without freeing: the first frame and the count, for
    /// [`Frames::from_raw`] (a vCPU parked between processors, `vcpu::migrate`).
    pub(crate) fn into_raw(self) -> (HostPhysAddr, usize) {
        let me = core::mem::ManuallyDrop::new(self);
        (me.paddr, me.count)
    }

    /// Takes ownership back of frames given up by [`Frames::into_raw`].
    ///
    /// # Safety
    /// `(paddr, count)` came from `into_raw` of frames allocated through a host value
    /// whose memory `host` shares (it maps and frees the same frames,
    /// [`SharedHost`](crate::SharedHost)), and nothing else owns them.
    pub(crate) unsafe fn from_raw(host: &'h H, paddr: HostPhysAddr, count: usize) -> Self {
        Self { host, paddr, count }
    }
}

impl<H: VmxHost> Drop for Frames<'_, H> {
    fn drop(&mut self) {
        // SAFETY: allocated by `alloc` with this count; every user (VMCS, VMXON region, the
        // structures a VMCS names) is gone before its `Frames` drops: the owners keep that
        // order (a VMCS is cleared first, a vCPU's VMCS drops before its frames).
        unsafe { self.host.free_frames(self.paddr, self.count) };
    }
}
