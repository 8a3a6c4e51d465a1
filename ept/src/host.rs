//! The interface an [`EptPageTable`](crate::EptPageTable) needs from its environment.

use crate::addr::HostPhysAddr;

/// Frame allocation and host-physical-to-virtual translation for EPT paging structures.
///
/// EPT paging structures are 4-KiB frames of host-physical memory that the processor walks
/// (SDM Vol. 3C §29.3.2); software writes them through a host-virtual mapping.
///
/// # Safety
///
/// An implementation promises that:
/// - [`alloc_zeroed_frame`](EptHost::alloc_zeroed_frame) returns a 4-KiB-aligned frame of
///   4096 zero bytes that nothing else uses until it is given back with
///   [`free_frame`](EptHost::free_frame) (the page table checks alignment and MAXPHYADDR
///   and gives back frames it rejects);
/// - [`phys_to_virt`](EptHost::phys_to_virt) returns, for every frame allocated and not yet
///   freed, the same 4096-byte-aligned pointer, valid for reads and writes of 4096 bytes,
///   for as long as the frame stays allocated, and accessing memory through it does not
///   alias any Rust reference.
pub unsafe trait EptHost {
    /// Allocates one zero-filled 4-KiB frame, or `None` when memory is exhausted.
    fn alloc_zeroed_frame(&mut self) -> Option<HostPhysAddr>;

    /// Gives back a frame obtained from [`alloc_zeroed_frame`](EptHost::alloc_zeroed_frame).
    fn free_frame(&mut self, frame: HostPhysAddr);

    /// The host-virtual address through which the frame at `frame` is written.
    fn phys_to_virt(&self, frame: HostPhysAddr) -> *mut u8;
}
