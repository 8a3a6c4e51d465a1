//! Retired paging-structure frames: unlinked from the hierarchy but possibly still named
//! by upper-level EPT entries that a processor cached (SDM Vol. 3C §29.4.2, §29.4.3.1), so
//! kept until an invalidation that covers every processor that may cache them completes.
//!
//! The list is intrusive and needs no allocation: entry 0 of each retired frame holds the
//! host-physical address of the next one and entry 1 the generation the frame waits for,
//! shifted left by 12. Both values have bits 2:0 (read, write, execute) and bit 10 (user
//! execute) clear, so a stale walk that still reaches the frame reads not-present entries
//! and ends in an EPT violation instead of translating through whatever the frame held
//! (SDM Vol. 3C §29.3.2: an entry with bits 2:0 clear, and bit 10 clear under mode-based
//! execute control, is not present). The other 510 entries are zero already: a frame is
//! retired only once it is empty.

use crate::addr::HostPhysAddr;
use crate::memory::HostMemory;

use super::raw::TablePtr;

/// Entry that links a retired frame to the next.
const NEXT: usize = 0;
/// Entry that holds the generation tag (`generation << TAG_SHIFT`).
const TAG: usize = 1;
const TAG_SHIFT: u32 = 12;

/// A first-in first-out list of retired frames, each tagged with a generation.
///
/// Invariant: the list owns `len` frames, allocated with `alloc_frames(1)` from the host
/// the list's methods are passed, unlinked from every paging structure, and not yet given
/// back; `head` and `tail` are the first and last of them when `len > 0`.
#[derive(Debug, Default)]
pub(crate) struct RetiredList {
    head: Option<HostPhysAddr>,
    tail: Option<HostPhysAddr>,
    len: usize,
}

impl RetiredList {
    pub(crate) const fn new() -> Self {
        Self {
            head: None,
            tail: None,
            len: 0,
        }
    }

    /// Number of frames in the list.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    fn table<H: HostMemory>(host: &H, frame: HostPhysAddr) -> TablePtr {
        TablePtr(host.phys_to_virt(frame).as_ptr().cast_const().cast())
    }

    /// Appends `frame` (an empty paging structure just unlinked) with tag `generation`.
    pub(crate) fn push<H: HostMemory>(&mut self, host: &H, frame: HostPhysAddr, generation: u64) {
        let t = Self::table(host, frame);
        t.store(NEXT, 0);
        t.store(TAG, generation << TAG_SHIFT);
        match self.tail {
            Some(tail) => Self::table(host, tail).store(NEXT, frame.as_u64()),
            None => self.head = Some(frame),
        }
        self.tail = Some(frame);
        self.len += 1;
    }

    /// Moves every frame of `other` to the end of `self`, retagging them with `generation`.
    pub(crate) fn append<H: HostMemory>(&mut self, host: &H, other: &mut Self, generation: u64) {
        while let Some(frame) = other.pop_front(host) {
            self.push(host, frame, generation);
        }
    }

    /// Removes and returns the first frame.
    pub(crate) fn pop_front<H: HostMemory>(&mut self, host: &H) -> Option<HostPhysAddr> {
        let head = self.head?;
        self.len -= 1;
        if self.len == 0 {
            self.head = None;
            self.tail = None;
        } else {
            let next = Self::table(host, head).load(NEXT);
            self.head = Some(HostPhysAddr::new(next));
        }
        Some(head)
    }

    /// The generation tag of the first frame.
    pub(crate) fn front_generation<H: HostMemory>(&self, host: &H) -> Option<u64> {
        let head = self.head?;
        Some(Self::table(host, head).load(TAG) >> TAG_SHIFT)
    }

    /// Gives back to `host` every frame whose tag is at most `up_to`, from the front (tags
    /// never decrease along the list). Returns how many were given back.
    ///
    /// # Safety
    /// No logical processor may still use a translation cached from the frames given back
    /// (the caller has established that an invalidation covering every processor that may
    /// have cached them has completed), and `host` is the host the frames came from.
    pub(crate) unsafe fn release<H: HostMemory>(&mut self, host: &H, up_to: u64) -> usize {
        let mut n = 0;
        while self.front_generation(host).is_some_and(|g| g <= up_to) {
            let Some(frame) = self.pop_front(host) else {
                break;
            };
            // Give the frame back all-zero, as it was handed out.
            let t = Self::table(host, frame);
            t.store(NEXT, 0);
            t.store(TAG, 0);
            // SAFETY: the frame came from `alloc_frames(1)` of this host (list invariant),
            // is unlinked from every structure and no longer in the list, no pointer to it
            // is used again, and no processor uses a cached translation through it (the
            // caller's contract).
            unsafe { host.free_frames(frame, 1) };
            n += 1;
        }
        n
    }
}
