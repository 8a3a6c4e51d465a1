//! The in-memory layout of one EPT paging structure and the bit layout the table uses for
//! its own bookkeeping.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::entry::{ADDRESS_MASK, EptFlags};

/// Entries per paging structure (SDM Vol. 3C §29.3.2: 4 KiB / 8 bytes).
pub(crate) const ENTRIES: usize = 512;

/// Access bits of every non-leaf entry the table writes: read, write, execute and
/// user-execute, so that the leaf alone decides the access rights (SDM Vol. 3C §29.3.3.2:
/// the rights of a translation are the intersection over the walk).
pub(crate) const NON_LEAF_RIGHTS: u64 = EptFlags::ACCESS_RIGHTS.bits();

/// Bit 7: page size.
pub(crate) const PS: u64 = EptFlags::PAGE_SIZE.bits();

/// Whether the present entry `e` at `level` maps a page.
#[inline]
pub(crate) const fn is_leaf(e: u64, level: u32) -> bool {
    level == 1 || (level <= 3 && e & PS != 0)
}

/// The host-physical address field of a non-leaf entry.
#[inline]
pub(crate) const fn table_addr(e: u64) -> u64 {
    e & ADDRESS_MASK
}

/// Bit position of the lowest guest-physical address bit translated at `level`.
#[inline]
pub(crate) const fn level_shift(level: u32) -> u32 {
    12 + 9 * (level - 1)
}

/// The index of `gpa` in a structure at `level`.
#[inline]
pub(crate) const fn index(gpa: u64, level: u32) -> usize {
    ((gpa >> level_shift(level)) as usize) & (ENTRIES - 1)
}

/// One entry of a paging structure that a guest-physical range touches (see [`slots`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    /// The entry's index.
    pub(crate) idx: usize,
    /// The first guest-physical address the entry translates.
    pub(crate) span: u64,
    /// The part of the range under the entry: `[start, end)`.
    pub(crate) start: u64,
    /// See `start`.
    pub(crate) end: u64,
}

/// The entries of the structure at `level` (translating from `base`) that the non-empty
/// range `[start, end)` within it touches, in order, each with the part of the range under
/// it: the iteration every range walk (unmap, protect, A/D clearing, checks) shares.
#[inline]
pub(crate) fn slots(level: u32, base: u64, start: u64, end: u64) -> impl Iterator<Item = Slot> {
    let shift = level_shift(level);
    (index(start, level)..=index(end - 1, level)).map(move |idx| {
        let span = base + ((idx as u64) << shift);
        Slot {
            idx,
            span,
            start: start.max(span),
            end: end.min(span + (1 << shift)),
        }
    })
}

/// One EPT paging structure: 512 entries, 4 KiB, 4-KiB aligned.
///
/// Entries are atomics because the processor reads them concurrently and, with A/D flags
/// enabled, sets bits 8 and 9 with locked operations (SDM Vol. 3C §29.3.5).
#[repr(C, align(4096))]
pub(crate) struct Table(pub(crate) [AtomicU64; ENTRIES]);

/// A pointer to a paging structure the page table owns.
///
/// Every `TablePtr` is made from the root or from a non-leaf entry of an owned structure
/// through [`HostMemory::phys_to_virt`](crate::HostMemory::phys_to_virt), and is not used after
/// that structure is given back to the host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TablePtr(pub(crate) *const Table);

impl TablePtr {
    #[inline]
    fn slot(&self, idx: usize) -> &AtomicU64 {
        // SAFETY: `self.0` points to a live, 4-KiB-aligned structure owned by this page
        // table (HostMemory contract, see the type's invariant); the index is masked to 0..512.
        unsafe { &(*self.0).0[idx & (ENTRIES - 1)] }
    }

    /// Reads entry `idx`.
    #[inline]
    pub(crate) fn load(self, idx: usize) -> u64 {
        self.slot(idx).load(Ordering::Acquire)
    }

    /// Writes entry `idx`. Release ordering publishes a structure filled before it.
    #[inline]
    pub(crate) fn store(self, idx: usize, value: u64) {
        self.slot(idx).store(value, Ordering::Release)
    }

    /// Replaces entry `idx` with `new` if it still holds `old`.
    #[inline]
    pub(crate) fn compare_exchange(self, idx: usize, old: u64, new: u64) -> Result<u64, u64> {
        self.slot(idx)
            .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
    }

    /// Clears `bits` in entry `idx` atomically, returning the previous value.
    #[inline]
    pub(crate) fn fetch_and(self, idx: usize, mask: u64) -> u64 {
        self.slot(idx).fetch_and(mask, Ordering::AcqRel)
    }
}

impl TablePtr {
    /// Whether every entry is 0.
    pub(crate) fn is_empty(self) -> bool {
        (0..ENTRIES).all(|i| self.load(i) == 0)
    }

    /// Whether the structure is empty, right after entry `idx` was cleared: looks at the
    /// neighbours first (in runs of unmaps one of them is usually still present), then at
    /// everything. At most 512 loads; no bookkeeping on the map path.
    #[inline]
    pub(crate) fn is_empty_after_clearing(self, idx: usize) -> bool {
        self.load(idx.wrapping_add(1)) == 0
            && self.load(idx.wrapping_sub(1)) == 0
            && self.is_empty()
    }
}
