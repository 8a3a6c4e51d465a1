//! The kernel's frame allocator as the host interfaces of the crates under test: memory is
//! identity mapped, so a frame's physical address is also its pointer.

use core::ptr::NonNull;

use baremetal::frames;
use ept::{EptHost, HostPhysAddr};
use memory_addr::PhysAddr;
use vmx_vcpu::VmxHost;

/// [`frames`] as the [`EptPageTable`](ept::EptPageTable)'s host.
pub struct KernelEptHost;

// SAFETY: `frames::alloc_frame` returns a zeroed, exclusively owned, 4-KiB-aligned,
// identity-mapped frame, so the frame's physical address is a pointer valid for 4096 bytes
// until it is freed, and no Rust reference covers it.
unsafe impl EptHost for KernelEptHost {
    fn alloc_zeroed_frame(&mut self) -> Option<HostPhysAddr> {
        frames::alloc_frame().map(HostPhysAddr::new)
    }

    fn free_frame(&mut self, frame: HostPhysAddr) {
        let _ = frames::free_frame(frame.as_u64());
    }

    fn phys_to_virt(&self, frame: HostPhysAddr) -> *mut u8 {
        frame.as_u64() as *mut u8
    }
}

/// [`frames`] as the vCPU's host ([`VmxCpu`](vmx_vcpu::VmxCpu), [`VmxVcpu`](vmx_vcpu::VmxVcpu)).
pub struct KernelHost;

// SAFETY: `frames::alloc_frames` returns zeroed, exclusively owned, 4 KiB-aligned,
// contiguous, identity-mapped RAM.
unsafe impl VmxHost for KernelHost {
    fn alloc_frames(&self, count: usize) -> Option<PhysAddr> {
        frames::alloc_frames(count, 4096)
            .ok()
            .flatten()
            .map(|a| PhysAddr::from_usize(a as usize))
    }

    fn free_frames(&self, paddr: PhysAddr, count: usize) {
        let _ = frames::free_frames(paddr.as_usize() as u64, count);
    }

    fn phys_to_virt(&self, paddr: PhysAddr) -> NonNull<u8> {
        NonNull::new(paddr.as_usize() as *mut u8).unwrap_or(NonNull::dangling())
    }
}
