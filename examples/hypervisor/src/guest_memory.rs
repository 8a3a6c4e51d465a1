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

    /// Reads 8 bytes at guest-physical `gpa`; `None` outside RAM.
    pub fn read_u64(&self, gpa: u64) -> Option<u64> {
        let at = usize::try_from(gpa).ok()?;
        let bytes = self.as_slice().get(at..at.checked_add(8)?)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        Some(u64::from_le_bytes(b))
    }

    /// Copies up to `out.len()` bytes from guest-physical `gpa`, stopping at the end of RAM;
    /// returns how many were copied.
    pub fn read_bytes(&self, gpa: u64, out: &mut [u8]) -> usize {
        let Ok(at) = usize::try_from(gpa) else {
            return 0;
        };
        let ram = self.as_slice();
        let available = ram.get(at..).unwrap_or(&[]);
        let n = available.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        n
    }
}
