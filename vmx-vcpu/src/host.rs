//! What the vCPU needs from the host kernel: physically contiguous zeroed frames and the
//! host-virtual address of a frame (for the VMXON region and VMCS, SDM Vol. 3C §25.2, and
//! for the bitmaps, MSR lists and register blocks the VMCS points to, §25.6).

use core::ptr::NonNull;

use memory_addr::PhysAddr;
use vmx_defs::capabilities::VmxBasic;

use crate::error::VmxError;

/// Size of a frame (4 KiB).
pub const FRAME_SIZE: usize = 4096;

/// The host kernel's memory services.
///
/// # Safety
/// Implementations must return frames that are 4 KiB aligned, physically contiguous,
/// zero-filled, owned exclusively by the caller until freed, and mapped writable at
/// `phys_to_virt` for that whole time (in write-back memory, SDM Vol. 3C §25.11.4).
pub unsafe trait VmxHost {
    /// Allocates `count` physically contiguous zeroed frames; `None` when out of memory.
    fn alloc_frames(&self, count: usize) -> Option<PhysAddr>;

    /// Frees frames obtained from [`VmxHost::alloc_frames`] with the same `count`.
    fn free_frames(&self, paddr: PhysAddr, count: usize);

    /// The host-virtual address at which the frame at `paddr` is mapped.
    fn phys_to_virt(&self, paddr: PhysAddr) -> NonNull<u8>;
}

/// Frames owned by this crate, freed on drop.
pub(crate) struct Frames<'h, H: VmxHost> {
    host: &'h H,
    paddr: PhysAddr,
    count: usize,
}

impl<'h, H: VmxHost> Frames<'h, H> {
    /// Allocates `count` frames; `None` when the host has no memory.
    pub(crate) fn alloc(host: &'h H, count: usize) -> Option<Self> {
        let paddr = host.alloc_frames(count)?;
        if paddr.as_usize() % FRAME_SIZE != 0 {
            // A host that breaks its contract: give the memory back, refuse it.
            host.free_frames(paddr, count);
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
        what: &'static str,
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
        let start = self.paddr.as_usize() as u64;
        let last = start.saturating_add(((self.count * FRAME_SIZE) as u64).saturating_sub(1));
        if last > basic.max_structure_address() {
            return Err(VmxError::AddressAbove4G { paddr: start });
        }
        Ok(())
    }

    /// Physical address of the first frame.
    pub(crate) fn paddr(&self) -> PhysAddr {
        self.paddr
    }

    /// Physical address of frame `i` (must be `< count`).
    pub(crate) fn paddr_of(&self, i: usize) -> PhysAddr {
        PhysAddr::from(self.paddr.as_usize() + i.min(self.count.saturating_sub(1)) * FRAME_SIZE)
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

impl<H: VmxHost> Drop for Frames<'_, H> {
    fn drop(&mut self) {
        self.host.free_frames(self.paddr, self.count);
    }
}
