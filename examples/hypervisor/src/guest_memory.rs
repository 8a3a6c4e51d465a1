//! The guest's RAM: host frames that back guest-physical addresses 0..[`GUEST_RAM_SIZE`].
//!
//! One contiguous, 2-MiB-aligned run of host frames from the `baremetal` frame allocator,
//! so that the EPT can map it with large pages and the hypervisor can reach any guest-physical
//! address in RAM as `host_base + gpa` (the host's first 4 GiB are identity mapped). These
//! frames are not the host's own memory: the guest sees only them, at the addresses the EPT
//! gives them.

use example_guest::abi::GUEST_RAM_SIZE;

use crate::error::HypervisorError;

/// Alignment of the backing frames: a 2-MiB EPT page can map them.
const ALIGN: u64 = 2 << 20;

/// The guest's RAM.
pub struct GuestMemory {
    host_base: u64,
    size: u64,
}

impl GuestMemory {
    /// Allocates zeroed frames for [`GUEST_RAM_SIZE`] bytes of guest RAM.
    pub fn new() -> Result<Self, HypervisorError> {
        let frames = (GUEST_RAM_SIZE / 4096) as usize;
        match baremetal::frames::alloc_frames(frames, ALIGN) {
            Ok(Some(host_base)) => Ok(Self {
                host_base,
                size: GUEST_RAM_SIZE,
            }),
            _ => Err(HypervisorError::OutOfMemory {
                purpose: "guest RAM",
            }),
        }
    }

    /// Host-physical address of guest-physical 0.
    pub const fn host_base(&self) -> u64 {
        self.host_base
    }

    /// Size in bytes.
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The whole RAM as bytes (index = guest-physical address).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the frames were allocated for this object alone, are identity mapped (the
        // host's first 4 GiB are) and stay allocated as long as it lives; `&mut self` makes
        // this the only reference from the hypervisor's side. The guest may write them
        // concurrently only while it runs, which it does not while the hypervisor holds this.
        unsafe { core::slice::from_raw_parts_mut(self.host_base as *mut u8, self.size as usize) }
    }

    /// The whole RAM as bytes (index = guest-physical address).
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: as in `as_mut_slice`, shared.
        unsafe { core::slice::from_raw_parts(self.host_base as *const u8, self.size as usize) }
    }
}
