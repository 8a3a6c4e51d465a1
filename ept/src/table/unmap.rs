//! Removing and changing mappings: `unmap`, `protect`, and splitting large pages.

use super::raw::{ENTRIES, PS, TablePtr, index, is_leaf, level_shift, slots};
use super::{EptPageTable, non_leaf};
use crate::addr::GuestPhysAddr;
use crate::entry::{ADDRESS_MASK, EptAttributes, EptFlags};
use crate::error::{EptError, FlagsError};
use crate::invalidation::FlushToken;
use crate::memory::HostMemory;

impl<H: HostMemory> EptPageTable<H> {
    /// Unmaps `len` bytes at `gpa` (both 4-KiB aligned).
    ///
    /// Every 4-KiB page in the range must be mapped, else [`EptError::NotMapped`] names the
    /// first hole and nothing changes. A large page partly inside the range is split first
    /// (SDM Vol. 3C §29.3.2), keeping the translation and attributes of its other parts;
    /// paging structures left empty are freed. The returned token stands for the
    /// INVEPT that must follow before the guest runs again (SDM Vol. 3C §29.4.3.1).
    #[inline]
    pub fn unmap(&mut self, gpa: GuestPhysAddr, len: u64) -> Result<FlushToken, EptError> {
        let g = gpa.as_u64();
        if len == 0x1000 {
            // Fast path: one 4-KiB page in the cached page table (a cached tag comes from
            // an address within the walk's reach).
            let c = self.cache.get();
            if g >> 21 == c.tag && g & 0xfff == 0 {
                let idx = index(g, 1);
                if c.pt.load(idx) != 0 {
                    c.pt.store(idx, 0);
                    self.pending_flush = true;
                    if c.pt.is_empty_after_clearing(idx) {
                        self.release_path(g);
                    }
                    return Ok(FlushToken::new());
                }
            }
        }
        self.unmap_general(gpa, len)
    }

    /// Frees the page table of `g` (just emptied) and any structure above it left empty.
    #[cold]
    #[inline(never)]
    fn release_path(&mut self, g: u64) {
        let walk = self.walk(g);
        self.release_empty(&walk, g, 1);
    }

    /// `unmap` for everything the fast path does not take.
    #[inline(never)]
    fn unmap_general(&mut self, gpa: GuestPhysAddr, len: u64) -> Result<FlushToken, EptError> {
        let (start, end) = self.check_range(gpa, len)?;
        if len == 0x1000 {
            let walk = self.walk(start);
            if walk.entry == 0 {
                return Err(EptError::NotMapped { gpa });
            }
            if walk.level == 1 {
                let pt = walk.table(1);
                let idx = index(start, 1);
                pt.store(idx, 0);
                self.pending_flush = true;
                if pt.is_empty_after_clearing(idx) {
                    self.release_empty(&walk, start, 1);
                } else {
                    self.set_cache(start, pt);
                }
                return Ok(FlushToken::new());
            }
        }
        self.check_mapped(start, end, false)?;
        self.split_at(start)?;
        self.split_at(end)?;
        self.unmap_in(self.root_ptr, self.levels, 0, start, end);
        self.pending_flush = true;
        Ok(FlushToken::new())
    }

    /// Changes the attributes of `len` bytes at `gpa` (both 4-KiB aligned), keeping the
    /// translation and the accessed and dirty flags.
    ///
    /// Every 4-KiB page in the range must be mapped, else [`EptError::NotMapped`] names the
    /// first hole and nothing changes. A large page partly inside the range is split first.
    /// Sub-page write permissions are rejected on pages larger than 4 KiB.
    pub fn protect(
        &mut self,
        gpa: GuestPhysAddr,
        len: u64,
        attributes: EptAttributes,
    ) -> Result<FlushToken, EptError> {
        let bits = self.leaf_bits(attributes)?;
        let (start, end) = self.check_range(gpa, len)?;
        let spp = bits & EptFlags::SUB_PAGE_WRITE_PERMISSIONS.bits() != 0;
        if len == 0x1000 {
            let c = self.cache.get();
            if c.tag == start >> 21 {
                let idx = index(start, 1);
                if c.pt.load(idx) == 0 {
                    return Err(EptError::NotMapped { gpa });
                }
                self.rewrite_leaf(c.pt, idx, bits);
                self.pending_flush = true;
                return Ok(FlushToken::new());
            }
        }
        self.check_mapped(start, end, spp)?;
        self.split_at(start)?;
        self.split_at(end)?;
        self.protect_in(self.root_ptr, self.levels, 0, start, end, bits);
        self.pending_flush = true;
        Ok(FlushToken::new())
    }

    /// Fails unless every page in `[start, end)` is mapped (and, with `small_only`, mapped
    /// by 4-KiB pages only).
    fn check_mapped(&self, start: u64, end: u64, small_only: bool) -> Result<(), EptError> {
        let mut large = false;
        self.check_mapped_in(self.root_ptr, self.levels, 0, start, end, &mut large)?;
        if small_only && large {
            return Err(EptError::InvalidFlags(FlagsError::SubPageWriteOnLargePage));
        }
        Ok(())
    }

    fn check_mapped_in(
        &self,
        table: TablePtr,
        level: u32,
        base: u64,
        start: u64,
        end: u64,
        large: &mut bool,
    ) -> Result<(), EptError> {
        for slot in slots(level, base, start, end) {
            let entry = table.load(slot.idx);
            if entry == 0 {
                return Err(EptError::NotMapped {
                    gpa: GuestPhysAddr::new(slot.start),
                });
            }
            if is_leaf(entry, level) {
                *large |= level > 1;
                continue;
            }
            let child = self.table_ptr(entry);
            self.check_mapped_in(child, level - 1, slot.span, slot.start, slot.end, large)?;
        }
        Ok(())
    }

    /// Makes `x` a page boundary: splits the large page containing `x` (if it starts before
    /// `x`) until the page containing `x` starts at `x`. Mappings are unchanged.
    fn split_at(&mut self, x: u64) -> Result<(), EptError> {
        if x >> self.gpa_width != 0 {
            return Ok(());
        }
        loop {
            let walk = self.walk(x);
            if walk.entry == 0 || walk.level == 1 || x & ((1 << level_shift(walk.level)) - 1) == 0 {
                return Ok(());
            }
            self.split_leaf(walk.table(walk.level), index(x, walk.level), walk.level)?;
        }
    }

    /// Replaces the large leaf in entry `idx` of `table` (at `level` 2 or 3) by a structure
    /// of 512 leaves one level down with the same translations and attributes.
    pub(super) fn split_leaf(
        &mut self,
        table: TablePtr,
        idx: usize,
        level: u32,
    ) -> Result<(), EptError> {
        let (frame, child) = self.alloc_table()?;
        let child_size = 1u64 << level_shift(level - 1);
        let mut old = table.load(idx);
        loop {
            let addr = old & ADDRESS_MASK & !((1u64 << level_shift(level)) - 1);
            let mut attrs = old & !ADDRESS_MASK;
            if level == 2 {
                // Bit 7 is ignored in a PTE; do not carry it down.
                attrs &= !PS;
            }
            for i in 0..ENTRIES {
                child.store(i, (addr + (i as u64) * child_size) | attrs);
            }
            let new = non_leaf(frame);
            if !self.config.accessed_dirty() {
                table.store(idx, new);
                break;
            }
            // The processor may set A/D in the old leaf meanwhile: copy what it set.
            match table.compare_exchange(idx, old, new) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        // A page-size change: cached translations of the large page must be invalidated
        // (SDM Vol. 3C §29.4.3.1).
        self.pending_flush = true;
        Ok(())
    }

    /// Unmaps every page in `[start, end)` below `table` (at `level`, translating from
    /// `base`), freeing structures that become empty. Every leaf met lies wholly inside the
    /// range.
    pub(super) fn unmap_in(
        &mut self,
        table: TablePtr,
        level: u32,
        base: u64,
        start: u64,
        end: u64,
    ) {
        for slot in slots(level, base, start, end) {
            let entry = table.load(slot.idx);
            if entry == 0 {
                continue;
            }
            if is_leaf(entry, level) {
                table.store(slot.idx, 0);
                continue;
            }
            let child = self.table_ptr(entry);
            self.unmap_in(child, level - 1, slot.span, slot.start, slot.end);
            if child.is_empty() {
                table.store(slot.idx, 0);
                self.retire_table(entry);
            }
        }
    }

    fn protect_in(
        &mut self,
        table: TablePtr,
        level: u32,
        base: u64,
        start: u64,
        end: u64,
        bits: u64,
    ) {
        for slot in slots(level, base, start, end) {
            let entry = table.load(slot.idx);
            if entry == 0 {
                continue;
            }
            if is_leaf(entry, level) {
                self.rewrite_leaf(table, slot.idx, bits);
                continue;
            }
            let child = self.table_ptr(entry);
            self.protect_in(child, level - 1, slot.span, slot.start, slot.end, bits);
        }
    }

    /// Replaces the attributes of the leaf in entry `idx` of `table` with `bits`, keeping
    /// its address, page-size bit and the A/D flags the processor set.
    #[inline]
    fn rewrite_leaf(&self, table: TablePtr, idx: usize, bits: u64) {
        let keep = ADDRESS_MASK | PS | EptFlags::ACCESSED_DIRTY.bits();
        let mut old = table.load(idx);
        loop {
            let new = (old & keep) | bits;
            if !self.config.accessed_dirty() {
                table.store(idx, new);
                return;
            }
            match table.compare_exchange(idx, old, new) {
                Ok(_) => return,
                Err(now) => old = now,
            }
        }
    }
}
