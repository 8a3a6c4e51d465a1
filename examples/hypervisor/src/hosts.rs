//! The memory services the VMX crates need, backed by the `baremetal` frame allocator.
//!
//! `vmx-vcpu` ([`VmxHost`]) wants contiguous zeroed frames for the VMXON region, the VMCS,
//! bitmaps and MSR lists; `ept` ([`EptHost`]) wants single zeroed frames for its paging
//! structures. The runtime identity-maps the first 4 GiB and allocates below that, so a
//! frame's physical address is also its virtual address.

use core::ptr::NonNull;

use ept::{EptHost, HostPhysAddr};
use memory_addr::PhysAddr;
use vmx_vcpu::{FRAME_SIZE, VmxHost};

/// The frame allocator of `ci/baremetal`, seen through the VMX crates' host interfaces.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameHost;

/// The identity mapping: physical address -> pointer. Never null for the addresses the
/// allocator hands out (it manages memory above the kernel image, far above 0).
fn identity(paddr: u64) -> NonNull<u8> {
    NonNull::new(paddr as *mut u8).unwrap_or(NonNull::dangling())
}

// SAFETY: `alloc_frames` returns zeroed frames (the allocator zeroes them), 4-KiB aligned
// (alignment argument), contiguous, owned by the caller until freed, identity mapped
// write-back in the runtime's page tables.
unsafe impl VmxHost for FrameHost {
    fn alloc_frames(&self, count: usize) -> Option<PhysAddr> {
        match baremetal::frames::alloc_frames(count, FRAME_SIZE as u64) {
            Ok(Some(paddr)) => Some(PhysAddr::from(paddr as usize)),
            _ => None,
        }
    }

    fn free_frames(&self, paddr: PhysAddr, count: usize) {
        // A double free is reported by the allocator; nothing else to do with it here.
        let _ = baremetal::frames::free_frames(paddr.as_usize() as u64, count);
    }

    fn phys_to_virt(&self, paddr: PhysAddr) -> NonNull<u8> {
        identity(paddr.as_usize() as u64)
    }
}

// SAFETY: as for `VmxHost` above, one frame at a time; the identity mapping gives the same
// pointer for a frame for as long as it is allocated.
unsafe impl EptHost for FrameHost {
    fn alloc_zeroed_frame(&mut self) -> Option<HostPhysAddr> {
        baremetal::frames::alloc_frame().map(HostPhysAddr::new)
    }

    fn free_frame(&mut self, frame: HostPhysAddr) {
        let _ = baremetal::frames::free_frame(frame.as_u64());
    }

    fn phys_to_virt(&self, frame: HostPhysAddr) -> *mut u8 {
        identity(frame.as_u64()).as_ptr()
    }
}
