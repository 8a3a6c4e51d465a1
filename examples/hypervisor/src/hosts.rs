//! The memory services the VMX crates need, backed by the `baremetal` frame allocator.
//!
//! `vmx-vcpu` ([`VmxHost`]) and `ept` share one host interface, [`HostMemory`]: contiguous
//! zeroed frames (the VMXON region, the VMCS, bitmaps and MSR lists; the EPT's paging
//! structures) and the pointer to a frame. The runtime identity-maps the first 4 GiB and
//! allocates below that, so a frame's physical address is also its virtual address.

use core::ptr::NonNull;

use ept::{FRAME_SIZE, HostMemory, HostPhysAddr};
use vmx_vcpu::VmxHost;

/// The frame allocator of `ci/baremetal`, seen through the VMX crates' host interface.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameHost;

/// The identity mapping: physical address -> pointer. Never null for the addresses the
/// allocator hands out (it manages memory above the kernel image, far above 0).
fn identity(paddr: u64) -> NonNull<u8> {
    NonNull::new(paddr as *mut u8).unwrap_or(NonNull::dangling())
}

// SAFETY: `alloc_frames` returns zeroed frames (the allocator zeroes them), 4-KiB aligned
// (alignment argument), contiguous, owned by the caller until freed, identity mapped
// write-back in the runtime's page tables, so `phys_to_virt` gives a pointer valid for them
// for as long as they are allocated, and no Rust reference covers them.
unsafe impl HostMemory for FrameHost {
    fn alloc_frames(&self, count: usize) -> Option<HostPhysAddr> {
        match baremetal::frames::alloc_frames(count, FRAME_SIZE as u64) {
            Ok(Some(paddr)) => Some(HostPhysAddr::new(paddr)),
            _ => None,
        }
    }

    unsafe fn free_frames(&self, frame: HostPhysAddr, count: usize) {
        // A double free is reported by the allocator; nothing else to do with it here.
        let _ = baremetal::frames::free_frames(frame.as_u64(), count);
    }

    fn phys_to_virt(&self, paddr: HostPhysAddr) -> NonNull<u8> {
        identity(paddr.as_u64())
    }
}

// SAFETY: the hypervisor runs on one logical processor, so the default `current_cpu` (its
// APIC ID) identifies it and never changes.
unsafe impl VmxHost for FrameHost {}
