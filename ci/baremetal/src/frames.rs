//! Physical frame allocator: a bitmap over the RAM above the kernel.
//!
//! Memory is identity mapped (physical == virtual) for the first 4 GiB, so a frame's
//! physical address is also a usable pointer. Frames are 4 KiB; every allocation is
//! zeroed. [`FrameBitmap`] is the pure bookkeeping (host-tested); the functions of this
//! module use the kernel's single global instance, set up at boot over
//! `__kernel_end .. top of RAM - 1 MiB` (the top MiB holds the BIOS's ACPI tables).

use core::fmt;

/// Size of a frame.
pub const FRAME_SIZE: u64 = 4096;

/// Why a frame operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The address is not 4 KiB aligned.
    Unaligned(u64),
    /// The range is not inside the managed memory.
    OutOfRange(u64),
    /// A frame in the range is not allocated (double free).
    NotAllocated(u64),
    /// The alignment is not a power of two multiple of 4 KiB.
    BadAlignment(u64),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Unaligned(a) => write!(f, "frame address {a:#x} is not 4 KiB aligned"),
            FrameError::OutOfRange(a) => {
                write!(f, "frame address {a:#x} is outside managed memory")
            }
            FrameError::NotAllocated(a) => write!(f, "frame {a:#x} is not allocated"),
            FrameError::BadAlignment(a) => {
                write!(f, "alignment {a:#x} is not a power of two >= 4 KiB")
            }
        }
    }
}

/// Bitmap bookkeeping for up to `WORDS * 64` frames starting at `base` (bit set = used).
#[derive(Clone)]
pub struct FrameBitmap<const WORDS: usize> {
    bits: [u64; WORDS],
    base: u64,
    frames: usize,
    hint: usize,
    used: usize,
}

impl<const WORDS: usize> FrameBitmap<WORDS> {
    /// An allocator managing nothing.
    pub const fn empty() -> Self {
        Self {
            bits: [0; WORDS],
            base: 0,
            frames: 0,
            hint: 0,
            used: 0,
        }
    }

    /// Manages `frames` frames from `base` (4 KiB aligned; capped at `WORDS * 64`), all free.
    pub fn reset(&mut self, base: u64, frames: usize) {
        self.bits = [0; WORDS];
        self.base = base & !(FRAME_SIZE - 1);
        self.frames = frames.min(WORDS * 64);
        self.hint = 0;
        self.used = 0;
    }

    /// First managed address.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Number of managed frames.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Number of allocated frames.
    pub fn used(&self) -> usize {
        self.used
    }

    fn is_used(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn set(&mut self, i: usize, used: bool) {
        if let Some(w) = self.bits.get_mut(i / 64) {
            if used {
                *w |= 1 << (i % 64);
            } else {
                *w &= !(1 << (i % 64));
            }
        }
    }

    /// Allocates `count` contiguous frames whose first address is a multiple of `align`
    /// bytes (a power of two, at least 4 KiB); returns the first address.
    pub fn alloc(&mut self, count: usize, align: u64) -> Result<Option<u64>, FrameError> {
        if !align.is_power_of_two() || align < FRAME_SIZE {
            return Err(FrameError::BadAlignment(align));
        }
        if count == 0 || count > self.frames {
            return Ok(None);
        }
        let align_frames = (align / FRAME_SIZE) as usize;
        let single = count == 1 && align_frames == 1;
        let hint = if single {
            self.hint.min(self.frames)
        } else {
            0
        };
        let found = self.find_run(hint, count, align_frames).or_else(|| {
            if hint > 0 {
                self.find_run(0, count, align_frames)
            } else {
                None
            }
        });
        let Some(i) = found else { return Ok(None) };
        for j in i..i + count {
            self.set(j, true);
        }
        self.used += count;
        if single {
            self.hint = i + 1;
        }
        Ok(Some(self.base + i as u64 * FRAME_SIZE))
    }

    /// First index >= `from` of `count` free frames whose address is a multiple of
    /// `align_frames` frames.
    fn find_run(&self, from: usize, count: usize, align_frames: usize) -> Option<usize> {
        let base_frame = (self.base / FRAME_SIZE) as usize;
        let aligned_from =
            |i: usize| (base_frame + i).div_ceil(align_frames) * align_frames - base_frame;
        let mut i = aligned_from(from);
        while i.checked_add(count).is_some_and(|end| end <= self.frames) {
            if i % 64 == 0 && self.bits.get(i / 64) == Some(&u64::MAX) {
                i = aligned_from(i + 64);
                continue;
            }
            match (i..i + count).rev().find(|&j| self.is_used(j)) {
                None => return Some(i),
                Some(j) => i = aligned_from(j + 1),
            }
        }
        None
    }

    /// Frees `count` frames from `addr`; all must be allocated (nothing changes otherwise).
    pub fn free(&mut self, addr: u64, count: usize) -> Result<(), FrameError> {
        if !addr.is_multiple_of(FRAME_SIZE) {
            return Err(FrameError::Unaligned(addr));
        }
        if addr < self.base {
            return Err(FrameError::OutOfRange(addr));
        }
        let first = ((addr - self.base) / FRAME_SIZE) as usize;
        if first.checked_add(count).is_none_or(|end| end > self.frames) {
            return Err(FrameError::OutOfRange(addr));
        }
        if let Some(j) = (first..first + count).find(|&j| !self.is_used(j)) {
            return Err(FrameError::NotAllocated(self.base + j as u64 * FRAME_SIZE));
        }
        for j in first..first + count {
            self.set(j, false);
        }
        self.used -= count;
        self.hint = self.hint.min(first);
        Ok(())
    }

    /// Copies the allocation state into `out` (which must hold at least the managed words).
    pub fn save(&self, out: &mut [u64]) {
        let n = self.frames.div_ceil(64);
        for (o, w) in out.iter_mut().zip(self.bits.iter().take(n)) {
            *o = *w;
        }
    }

    /// Restores a state saved by [`FrameBitmap::save`]: frames allocated since are free
    /// again, frames freed since are allocated again.
    pub fn restore(&mut self, saved: &[u64]) {
        let n = self.frames.div_ceil(64);
        for (w, s) in self.bits.iter_mut().take(n).zip(saved.iter()) {
            *w = *s;
        }
        self.used = self
            .bits
            .iter()
            .take(n)
            .map(|w| w.count_ones() as usize)
            .sum();
        self.hint = 0;
    }
}

#[cfg(target_os = "none")]
pub use imp::*;

#[cfg(target_os = "none")]
mod imp {
    use super::*;
    use crate::sync::SpinLock;
    use alloc::vec::Vec;

    /// Frames managed at most: 4 GiB, the identity-mapped range.
    const MAX_WORDS: usize = (4 << 30) / 4096 / 64;

    static FRAMES: SpinLock<FrameBitmap<MAX_WORDS>> = SpinLock::new(FrameBitmap::empty());

    /// Sets up the global allocator over `[start, end)`.
    pub(crate) fn init(start: u64, end: u64) {
        let start = start.next_multiple_of(FRAME_SIZE);
        let frames = (end.saturating_sub(start) / FRAME_SIZE) as usize;
        FRAMES.lock().reset(start, frames);
    }

    fn zero(addr: u64, count: usize) {
        // SAFETY: the frames were just allocated (exclusively ours) and are identity
        // mapped RAM.
        unsafe { core::ptr::write_bytes(addr as *mut u8, 0, count * FRAME_SIZE as usize) };
    }

    /// Allocates one zeroed 4 KiB frame; returns its physical (= virtual) address.
    pub fn alloc_frame() -> Option<u64> {
        alloc_frames(1, FRAME_SIZE).ok().flatten()
    }

    /// Allocates `count` zeroed, physically contiguous frames aligned to `align` bytes
    /// (a power of two >= 4 KiB). `Ok(None)` when no such run is free.
    pub fn alloc_frames(count: usize, align: u64) -> Result<Option<u64>, FrameError> {
        let r = FRAMES.lock().alloc(count, align)?;
        if let Some(a) = r {
            zero(a, count);
        }
        Ok(r)
    }

    /// Frees one frame.
    pub fn free_frame(addr: u64) -> Result<(), FrameError> {
        FRAMES.lock().free(addr, 1)
    }

    /// Frees `count` frames from `addr`.
    pub fn free_frames(addr: u64, count: usize) -> Result<(), FrameError> {
        FRAMES.lock().free(addr, count)
    }

    /// `(free frames, managed frames)`.
    pub fn frame_stats() -> (usize, usize) {
        let f = FRAMES.lock();
        (f.frames() - f.used(), f.frames())
    }

    /// The managed physical range `[start, end)`.
    pub fn managed_range() -> (u64, u64) {
        let f = FRAMES.lock();
        (f.base(), f.base() + f.frames() as u64 * FRAME_SIZE)
    }

    /// A saved allocation state (see [`snapshot`], [`restore`]).
    #[derive(Debug)]
    pub struct FrameSnapshot(Vec<u64>);

    /// Saves the allocation state (the test runner does this before each scenario).
    pub fn snapshot() -> FrameSnapshot {
        let f = FRAMES.lock();
        let mut v = alloc::vec![0u64; f.frames().div_ceil(64)];
        f.save(&mut v);
        FrameSnapshot(v)
    }

    /// Returns to a saved state: every frame allocated since is free again.
    pub fn restore(s: &FrameSnapshot) {
        FRAMES.lock().restore(&s.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_roundtrip() {
        let mut b = FrameBitmap::<4>::empty();
        b.reset(0x20_0000, 200);
        let a = b.alloc(1, FRAME_SIZE).unwrap().unwrap();
        assert_eq!(a, 0x20_0000);
        let c = b.alloc(1, FRAME_SIZE).unwrap().unwrap();
        assert_eq!(c, 0x20_1000);
        assert_eq!(b.used(), 2);
        b.free(a, 1).unwrap();
        assert_eq!(b.free(a, 1), Err(FrameError::NotAllocated(a)));
        assert_eq!(b.alloc(1, FRAME_SIZE).unwrap(), Some(a));
    }

    #[test]
    fn aligned_contiguous() {
        let mut b = FrameBitmap::<4>::empty();
        b.reset(0x10_1000, 256);
        b.alloc(1, FRAME_SIZE).unwrap().unwrap();
        let a = b.alloc(4, 0x8000).unwrap().unwrap();
        assert_eq!(a % 0x8000, 0);
        assert_eq!(a, 0x10_8000);
        assert_eq!(b.used(), 5);
        assert_eq!(
            b.alloc(1, 3 * FRAME_SIZE),
            Err(FrameError::BadAlignment(3 * FRAME_SIZE))
        );
    }

    #[test]
    fn exhaustion_and_errors() {
        let mut b = FrameBitmap::<1>::empty();
        b.reset(0x1000, 1000);
        assert_eq!(b.frames(), 64);
        for _ in 0..64 {
            assert!(b.alloc(1, FRAME_SIZE).unwrap().is_some());
        }
        assert_eq!(b.alloc(1, FRAME_SIZE).unwrap(), None);
        assert_eq!(b.free(0x1001, 1), Err(FrameError::Unaligned(0x1001)));
        assert_eq!(b.free(0, 1), Err(FrameError::OutOfRange(0)));
        assert_eq!(b.free(0x1000, 65), Err(FrameError::OutOfRange(0x1000)));
        assert_eq!(b.alloc(0, FRAME_SIZE).unwrap(), None);
    }

    #[test]
    fn snapshot_restore() {
        let mut b = FrameBitmap::<2>::empty();
        b.reset(0, 128);
        b.alloc(3, FRAME_SIZE).unwrap().unwrap();
        let mut saved = [0u64; 2];
        b.save(&mut saved);
        let x = b.alloc(10, FRAME_SIZE).unwrap().unwrap();
        b.free(0, 1).unwrap();
        b.restore(&saved);
        assert_eq!(b.used(), 3);
        assert_eq!(b.free(x, 1), Err(FrameError::NotAllocated(x)));
        b.free(0, 3).unwrap();
    }

    #[test]
    fn hint_wraps_around() {
        let mut b = FrameBitmap::<1>::empty();
        b.reset(0, 64);
        let first = b.alloc(1, FRAME_SIZE).unwrap().unwrap();
        for _ in 0..63 {
            b.alloc(1, FRAME_SIZE).unwrap().unwrap();
        }
        b.free(first, 1).unwrap();
        assert_eq!(b.alloc(1, FRAME_SIZE).unwrap(), Some(first));
    }

    extern crate std;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::vec::Vec;

    proptest! {
        /// Random allocations and frees agree with a set-based model: runs are free,
        /// aligned and inside the managed range; frees of unallocated frames are refused.
        #[test]
        fn matches_model(ops in proptest::collection::vec((0u8..3, 1usize..6, 0u32..4, any::<u16>()), 1..200)) {
            let mut b = FrameBitmap::<3>::empty();
            let base = 0x40_3000;
            b.reset(base, 150);
            let mut used: BTreeSet<u64> = BTreeSet::new();
            let mut runs: Vec<(u64, usize)> = Vec::new();
            for (op, count, align_log, pick) in ops {
                if op < 2 {
                    let align = FRAME_SIZE << align_log;
                    match b.alloc(count, align).unwrap() {
                        Some(a) => {
                            prop_assert_eq!(a % align, 0);
                            prop_assert!(a >= base && a + count as u64 * FRAME_SIZE <= base + 150 * FRAME_SIZE);
                            for i in 0..count as u64 {
                                prop_assert!(used.insert(a + i * FRAME_SIZE), "frame handed out twice");
                            }
                            runs.push((a, count));
                        }
                        None => {
                            // No aligned free run of `count` frames may exist.
                            let exists = (0..150usize).any(|i| {
                                let a = base + i as u64 * FRAME_SIZE;
                                a.is_multiple_of(align) && i + count <= 150
                                    && (0..count as u64).all(|j| !used.contains(&(a + j * FRAME_SIZE)))
                            });
                            prop_assert!(!exists, "allocator missed a free run");
                        }
                    }
                } else if !runs.is_empty() {
                    let (a, n) = runs.swap_remove(usize::from(pick) % runs.len());
                    b.free(a, n).unwrap();
                    for i in 0..n as u64 {
                        used.remove(&(a + i * FRAME_SIZE));
                    }
                    prop_assert_eq!(b.free(a, n), Err(FrameError::NotAllocated(a)));
                }
                prop_assert_eq!(b.used(), used.len());
            }
        }
    }
}
