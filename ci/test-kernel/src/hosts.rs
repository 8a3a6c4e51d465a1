//! The kernel's frame allocator as the host interface of the crates under test: memory is
//! identity mapped, so a frame's physical address is also its pointer.

use core::ptr::NonNull;

use baremetal::frames;
use ept::{HostMemory, HostPhysAddr};
use vmx_vcpu::VmxHost;

/// [`frames`] as the host memory of the [`EptPageTable`](ept::EptPageTable),
/// [`VmxCpu`](vmx_vcpu::VmxCpu) and [`VmxVcpu`](vmx_vcpu::VmxVcpu).
pub struct KernelHost;

// SAFETY: `frames::alloc_frames` returns zeroed, exclusively owned, 4-KiB-aligned,
// contiguous, identity-mapped RAM, so a frame's physical address is a pointer valid for
// the frames allocated there until they are freed, and no Rust reference covers them.
unsafe impl HostMemory for KernelHost {
    fn alloc_frames(&self, count: usize) -> Option<HostPhysAddr> {
        frames::alloc_frames(count, 4096)
            .ok()
            .flatten()
            .map(HostPhysAddr::new)
    }

    unsafe fn free_frames(&self, frame: HostPhysAddr, count: usize) {
        let _ = frames::free_frames(frame.as_u64(), count);
    }

    fn phys_to_virt(&self, paddr: HostPhysAddr) -> NonNull<u8> {
        NonNull::new(paddr.as_u64() as *mut u8).unwrap_or(NonNull::dangling())
    }
}

// SAFETY: the kernel runs on one logical processor, so the default `current_cpu` (the APIC
// ID) identifies it and never changes.
unsafe impl VmxHost for KernelHost {}
