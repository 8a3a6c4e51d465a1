//! The kernel heap: a first-fit free list, address ordered, with coalescing.
//!
//! [`FreeListHeap`] manages one contiguous region; every block is a multiple of 16 bytes
//! and 16-byte aligned, so splitting never leaves an unusable fragment. On the bare-metal
//! target it backs the `#[global_allocator]` over [`HEAP_SIZE`] bytes of contiguous frames
//! taken at boot, so `alloc` (`Vec`, `String`, `Box`, `format!`) works.

use core::alloc::Layout;
use core::ptr::NonNull;

/// Size of the kernel heap taken from the frame allocator at boot.
pub const HEAP_SIZE: usize = 16 << 20;

const UNIT: usize = 16;

#[repr(C)]
struct FreeBlock {
    size: usize,
    next: Option<NonNull<FreeBlock>>,
}

/// A first-fit free-list allocator over one region.
///
/// List invariant: every node reachable from `head` is a 16-byte-aligned `FreeBlock`
/// header written by `insert` at the start of a free block of memory handed to this heap
/// (by [`add_region`](Self::add_region) or [`dealloc`](Self::dealloc)) that nothing else
/// uses; the blocks are in address order and do not overlap each other or any allocated
/// block.
pub struct FreeListHeap {
    head: Option<NonNull<FreeBlock>>,
    free_bytes: usize,
}

// SAFETY: the heap only holds pointers into the region it owns; moving it to another
// thread moves that ownership.
unsafe impl Send for FreeListHeap {}

impl FreeListHeap {
    /// A heap with no memory.
    pub const fn empty() -> Self {
        Self {
            head: None,
            free_bytes: 0,
        }
    }

    /// Bytes currently free.
    pub fn free_bytes(&self) -> usize {
        self.free_bytes
    }

    /// Adds the region `[start, start + size)` (trimmed to 16-byte units).
    ///
    /// # Safety
    /// The region must be valid, writable, unused memory that outlives the heap and is
    /// not already part of it.
    pub unsafe fn add_region(&mut self, start: usize, size: usize) {
        let begin = start.next_multiple_of(UNIT);
        let end = (start + size) & !(UNIT - 1);
        if end > begin {
            // SAFETY: the caller hands us `[start, start + size)`, unused and valid for the
            // heap's life; `[begin, end)` lies inside it, 16-byte aligned, non-empty.
            unsafe { self.insert(begin, end - begin) };
        }
    }

    fn normalize(layout: Layout) -> (usize, usize) {
        let size = layout.size().max(UNIT).next_multiple_of(UNIT);
        (size, layout.align().max(UNIT))
    }

    /// Allocates a block for `layout`, or `None` if no free block fits.
    pub fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let (size, align) = Self::normalize(layout);
        let mut prev: Option<NonNull<FreeBlock>> = None;
        let mut cur = self.head;
        while let Some(block) = cur {
            let start = block.as_ptr() as usize;
            // SAFETY: `block` is a node of the list: by the list invariant, a live, aligned
            // header only this heap touches.
            let (bsize, next) = unsafe { ((*block.as_ptr()).size, (*block.as_ptr()).next) };
            let end = start + bsize;
            let aligned = start.next_multiple_of(align);
            if aligned.checked_add(size).is_some_and(|e| e <= end) {
                // Unlink the block, then give back the front and back remainders.
                self.set_next(prev, next);
                self.free_bytes -= bsize;
                // SAFETY: both remainders are parts of the block we just unlinked.
                unsafe {
                    if aligned > start {
                        self.insert(start, aligned - start);
                    }
                    if end > aligned + size {
                        self.insert(aligned + size, end - aligned - size);
                    }
                }
                return NonNull::new(aligned as *mut u8);
            }
            prev = cur;
            cur = next;
        }
        None
    }

    /// Returns a block to the heap.
    ///
    /// # Safety
    /// `ptr` must come from [`FreeListHeap::alloc`] on this heap with the same `layout`,
    /// and not be freed twice.
    pub unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let (size, _) = Self::normalize(layout);
        // SAFETY: the caller guarantees `ptr` came from `alloc` with `layout`, so
        // `[ptr, ptr + size)` is a 16-byte-aligned block of this heap that nothing uses now.
        unsafe { self.insert(ptr.as_ptr() as usize, size) };
    }

    fn set_next(&mut self, prev: Option<NonNull<FreeBlock>>, next: Option<NonNull<FreeBlock>>) {
        match prev {
            // SAFETY: `p` is a node of the list (list invariant: a live header only this heap
            // touches).
            Some(p) => unsafe { (*p.as_ptr()).next = next },
            None => self.head = next,
        }
    }

    /// Inserts a free block at its address-ordered place, merging with its neighbours.
    ///
    /// # Safety
    /// `[addr, addr + size)` is unused memory of this heap, 16-byte aligned, size > 0.
    unsafe fn insert(&mut self, addr: usize, size: usize) {
        self.free_bytes += size;
        let mut prev: Option<NonNull<FreeBlock>> = None;
        let mut cur = self.head;
        while let Some(c) = cur {
            if c.as_ptr() as usize > addr {
                break;
            }
            prev = cur;
            // SAFETY: `c` is a node of the list (list invariant: a live header only this heap
            // touches).
            cur = unsafe { (*c.as_ptr()).next };
        }
        // Merge with the following block?
        let mut new_size = size;
        let mut next = cur;
        if let Some(c) = cur
            && addr + size == c.as_ptr() as usize
        {
            // SAFETY: as above, `c` is a node of the list; the block it heads is absorbed into
            // the new one, whose header replaces it below.
            unsafe {
                new_size += (*c.as_ptr()).size;
                next = (*c.as_ptr()).next;
            }
        }
        // Merge into the preceding block?
        if let Some(p) = prev {
            // SAFETY: `p` is a node of the list (list invariant); growing it by the adjacent
            // free block keeps the blocks disjoint and in order.
            unsafe {
                if p.as_ptr() as usize + (*p.as_ptr()).size == addr {
                    (*p.as_ptr()).size += new_size;
                    (*p.as_ptr()).next = next;
                    return;
                }
            }
        }
        let node = addr as *mut FreeBlock;
        // SAFETY: the memory is ours, 16-byte aligned and at least 16 bytes long.
        unsafe {
            node.write(FreeBlock {
                size: new_size,
                next,
            })
        };
        self.set_next(prev, NonNull::new(node));
    }
}

#[cfg(target_os = "none")]
mod global {
    use super::*;
    use crate::sync::SpinLock;
    use core::alloc::GlobalAlloc;

    struct KernelHeap(SpinLock<FreeListHeap>);

    // SAFETY: the free list hands out disjoint, correctly aligned blocks of at least the
    // requested size and takes them back only through `dealloc`.
    unsafe impl GlobalAlloc for KernelHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.0
                .lock()
                .alloc(layout)
                .map_or(core::ptr::null_mut(), NonNull::as_ptr)
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if let Some(p) = NonNull::new(ptr) {
                // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with `layout`.
                unsafe { self.0.lock().dealloc(p, layout) };
            }
        }
    }

    #[global_allocator]
    static HEAP: KernelHeap = KernelHeap(SpinLock::new(FreeListHeap::empty()));

    /// Gives the heap its memory.
    ///
    /// # Safety
    /// Once, at boot, with memory nobody else uses.
    pub(crate) unsafe fn init(start: u64, size: usize) {
        // SAFETY: the caller gives `[start, start + size)` once, at boot, unused by anything
        // else: exactly `add_region`'s contract.
        unsafe { HEAP.0.lock().add_region(start as usize, size) };
    }

    /// Bytes currently free in the kernel heap.
    pub fn heap_free_bytes() -> usize {
        HEAP.0.lock().free_bytes()
    }
}

#[cfg(target_os = "none")]
pub use global::heap_free_bytes;
#[cfg(target_os = "none")]
pub(crate) use global::init;

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C, align(4096))]
    struct Arena([u8; 8192]);

    fn heap(arena: &mut Arena) -> FreeListHeap {
        let mut h = FreeListHeap::empty();
        // SAFETY: the arena outlives the heap in each test and is used only through it.
        unsafe { h.add_region(arena.0.as_mut_ptr() as usize, arena.0.len()) };
        h
    }

    #[test]
    fn alloc_dealloc_coalesces() {
        let mut arena = Arena([0; 8192]);
        let mut h = heap(&mut arena);
        assert_eq!(h.free_bytes(), 8192);
        let l = Layout::from_size_align(100, 8).unwrap();
        let a = h.alloc(l).unwrap();
        let b = h.alloc(l).unwrap();
        let c = h.alloc(l).unwrap();
        assert_eq!(h.free_bytes(), 8192 - 3 * 112);
        // SAFETY: blocks from this heap with their layouts.
        unsafe {
            h.dealloc(b, l);
            h.dealloc(a, l);
            h.dealloc(c, l);
        }
        assert_eq!(h.free_bytes(), 8192);
        // Fully merged: the whole arena is one block again.
        let big = Layout::from_size_align(8192, 16).unwrap();
        assert!(h.alloc(big).is_some());
    }

    #[test]
    fn alignment_is_honoured() {
        let mut arena = Arena([0; 8192]);
        let mut h = heap(&mut arena);
        let _small = h.alloc(Layout::from_size_align(16, 16).unwrap()).unwrap();
        let l = Layout::from_size_align(64, 1024).unwrap();
        let p = h.alloc(l).unwrap();
        assert_eq!(p.as_ptr() as usize % 1024, 0);
        // SAFETY: from this heap with this layout.
        unsafe { h.dealloc(p, l) };
        assert_eq!(h.free_bytes(), 8192 - 16);
    }

    #[test]
    fn exhaustion_returns_none() {
        let mut arena = Arena([0; 8192]);
        let mut h = heap(&mut arena);
        let l = Layout::from_size_align(4096, 16).unwrap();
        assert!(h.alloc(l).is_some());
        assert!(h.alloc(l).is_some());
        assert!(h.alloc(Layout::from_size_align(16, 16).unwrap()).is_none());
    }

    extern crate std;
    use proptest::prelude::*;
    use std::vec::Vec;

    proptest! {
        /// Random allocations never overlap, honour alignment, stay inside the arena, and
        /// freeing everything gives back one block of the whole arena.
        #[test]
        fn no_overlap_and_full_coalescing(ops in proptest::collection::vec((any::<bool>(), 1usize..600, 0u32..8, any::<u16>()), 1..150)) {
            let mut arena = std::boxed::Box::new(Arena([0; 8192]));
            let lo = arena.0.as_ptr() as usize;
            let mut h = heap(&mut arena);
            let mut live: Vec<(usize, Layout)> = Vec::new();
            for (alloc, size, align_log, pick) in ops {
                if alloc || live.is_empty() {
                    let layout = Layout::from_size_align(size, 1 << align_log).unwrap();
                    if let Some(p) = h.alloc(layout) {
                        let a = p.as_ptr() as usize;
                        prop_assert_eq!(a % layout.align(), 0);
                        prop_assert!(a >= lo && a + size <= lo + 8192);
                        for (b, l) in &live {
                            prop_assert!(a + size <= *b || b + l.size() <= a, "overlap");
                        }
                        live.push((a, layout));
                    }
                } else {
                    let (a, l) = live.swap_remove(usize::from(pick) % live.len());
                    // SAFETY: allocated above from this heap with layout `l`.
                    unsafe { h.dealloc(NonNull::new(a as *mut u8).unwrap(), l) };
                }
            }
            for (a, l) in live.drain(..) {
                // SAFETY: as above.
                unsafe { h.dealloc(NonNull::new(a as *mut u8).unwrap(), l) };
            }
            prop_assert_eq!(h.free_bytes(), 8192);
            prop_assert!(h.alloc(Layout::from_size_align(8192, 16).unwrap()).is_some());
        }
    }
}
