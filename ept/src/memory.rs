//! [`HostMemory`]: the one host-memory interface of the workspace. `ept` allocates its
//! paging structures through it, and `vmx-vcpu` its VMXON region, VMCSs, bitmaps, MSR lists
//! and extended-state areas (SDM Vol. 3C §25.2, §25.6, §25.11.4, §29.3.2).

use core::ptr::NonNull;

use vmx_defs::addr::HostPhysAddr;

/// Size of a frame: 4 KiB, the granule of every VMX structure and EPT paging structure.
pub const FRAME_SIZE: usize = 4096;

/// Physically contiguous, zeroed 4-KiB frames and the host-virtual mapping of each.
///
/// # Safety
///
/// An implementation promises, for every value [`alloc_frames`](HostMemory::alloc_frames)
/// returns and until that memory is given back with [`free_frames`](HostMemory::free_frames):
/// - the `count` frames starting there are 4-KiB aligned, physically contiguous,
///   zero-filled, below 2^MAXPHYADDR, in write-back memory (SDM Vol. 3C §25.11.4), and used
///   by nothing else (no other allocation, no Rust reference, no device);
/// - [`phys_to_virt`](HostMemory::phys_to_virt) of any address inside them returns a
///   pointer through which those bytes are readable and writable, the same pointer every
///   time, and accesses through it alias no Rust reference.
///
/// A host that runs vCPUs on several logical processors shares one implementation between
/// them: it must then also be [`Sync`].
pub unsafe trait HostMemory {
    /// Allocates `count` (at least 1) physically contiguous zeroed frames; `None` when memory
    /// is exhausted.
    fn alloc_frames(&self, count: usize) -> Option<HostPhysAddr>;

    /// Gives back frames obtained from [`alloc_frames`](HostMemory::alloc_frames).
    ///
    /// # Safety
    /// `frame` and `count` are exactly those of one earlier allocation not yet given back,
    /// and neither software (no pointer derived from
    /// [`phys_to_virt`](HostMemory::phys_to_virt) is used again) nor any processor
    /// (no VMCS, VMXON region, bitmap or paging structure still names the memory, and no
    /// cached translation can reach it) uses the memory any more.
    unsafe fn free_frames(&self, frame: HostPhysAddr, count: usize);

    /// The host-virtual address at which the byte at `paddr` (inside a live allocation) is
    /// mapped.
    fn phys_to_virt(&self, paddr: HostPhysAddr) -> NonNull<u8>;
}

// SAFETY: forwards to `T`, which keeps the promises.
unsafe impl<T: HostMemory + ?Sized> HostMemory for &T {
    fn alloc_frames(&self, count: usize) -> Option<HostPhysAddr> {
        (**self).alloc_frames(count)
    }

    unsafe fn free_frames(&self, frame: HostPhysAddr, count: usize) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { (**self).free_frames(frame, count) }
    }

    fn phys_to_virt(&self, paddr: HostPhysAddr) -> NonNull<u8> {
        (**self).phys_to_virt(paddr)
    }
}
