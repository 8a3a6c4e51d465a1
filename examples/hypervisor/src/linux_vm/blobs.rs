//! The payload's blobs read from the disk into host frames (the kernel and initrd are far
//! larger than the runtime's heap).

use baremetal::payload::{Directory, Entry};

use super::error::LinuxVmError;

/// Physically contiguous, identity-mapped frames holding one blob.
pub struct FrameBuf {
    addr: u64,
    frames: usize,
    len: usize,
}

impl FrameBuf {
    /// `len` bytes (rounded up to frames) aligned to `align`.
    pub fn alloc(len: usize, align: u64, what: &'static str) -> Result<Self, LinuxVmError> {
        let frames = len.div_ceil(4096).max(1);
        match baremetal::frames::alloc_frames(frames, align) {
            Ok(Some(addr)) => Ok(Self { addr, frames, len }),
            _ => Err(LinuxVmError::OutOfMemory {
                what,
                bytes: len as u64,
            }),
        }
    }

    /// Physical (= virtual) address of the first byte.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the frames are ours (allocated above, freed only by Drop), identity
        // mapped RAM, at least `len` bytes.
        unsafe { core::slice::from_raw_parts(self.addr as *const u8, self.len) }
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes this the only reference.
        unsafe { core::slice::from_raw_parts_mut(self.addr as *mut u8, self.len) }
    }
}

impl Drop for FrameBuf {
    fn drop(&mut self) {
        let _ = baremetal::frames::free_frames(self.addr, self.frames);
    }
}

/// Reads the entry `name` (whole sectors, so the buffer is rounded up to 512 bytes and the
/// slice trimmed to the blob's length). `None` when the payload has no such entry.
pub fn read_blob(
    dir: &Directory,
    name: &'static str,
    align: u64,
) -> Result<Option<FrameBuf>, LinuxVmError> {
    let Some(entry): Option<Entry> = dir.find(name) else {
        return Ok(None);
    };
    let len = usize::try_from(entry.len).map_err(|_| LinuxVmError::BlobTooLarge(name))?;
    let mut buf = FrameBuf::alloc(len.next_multiple_of(512).max(512), align, name)?;
    baremetal::payload::read_entry(&entry, buf.as_mut_slice())
        .map_err(|e| LinuxVmError::Payload(alloc::format!("reading {name}: {e}")))?;
    buf.len = len;
    Ok(Some(buf))
}
