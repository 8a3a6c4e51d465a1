//! Creating mappings: `map` and `map_region`.

use super::raw::{index, is_leaf};
use super::{EptPageTable, non_leaf, ps_bit};
use crate::addr::{GuestPhysAddr, HostPhysAddr, PageSize};
use crate::entry::MEMORY_TYPE_SHIFT;
use crate::entry::{EptAttributes, EptFlags};
use crate::error::EptError;

/// Flag bits whose value the fast path of `map` needs to be exactly `READ`: read set, page
/// size clear, no undefined bits.
const FAST_REJECT: u64 =
    EptFlags::READ.bits() | EptFlags::PAGE_SIZE.bits() | !EptFlags::all().bits();
/// Bit n set for each defined memory type n (0, 1, 4, 5, 6).
const DEFINED_MEMORY_TYPES: u64 = 0b111_0011;
use crate::memory::HostMemory;

impl<H: HostMemory> EptPageTable<H> {
    /// Maps the page of `size` at `gpa` to the page at `hpa` (SDM Vol. 3C §29.3.2).
    ///
    /// Both addresses must be aligned to `size`; `size` must be allowed by the
    /// configuration; the attributes must not form an EPT misconfiguration
    /// (SDM Vol. 3C §29.3.3.1). Fails with [`EptError::AlreadyMapped`] if any part of the
    /// page is mapped. Creating a mapping where none was needs no invalidation: processors
    /// do not cache not-present EPT entries (SDM Vol. 3C §29.4.3.1).
    ///
    /// # Safety
    ///
    /// This hands host-physical memory to the guest, which may then read, write or execute
    /// it as the attributes allow, also through the processor's cached translations
    /// (SDM Vol. 3C §29.4). For every byte of the page at `hpa` (of `size`), the caller guarantees that:
    /// - it is allocated to this guest: memory the host set aside for it (or MMIO of a
    ///   device assigned to it), not memory the host or anything else relies on (no Rust
    ///   object, no paging structure, no VMCS, VMXON region or bitmap, no memory of
    ///   another guest), whatever the guest writes to it;
    /// - it stays so until the guest can no longer reach it: after an unmap of it (or the
    ///   drop of the table) *and* the invalidation that follows it has completed on every
    ///   logical processor that may have cached the translation
    ///   ([`EptPageTable::flush`] with an executor keeping the
    ///   [`InveptExecutor`](crate::InveptExecutor) contract, or, under
    ///   [`Ept`](crate::Ept), [`Ept::synced`](crate::Ept::synced) of the generation after
    ///   the edit).
    ///
    /// Calling it without `unsafe` does not compile:
    ///
    /// ```compile_fail,E0133
    /// use ept::{EptAttributes, EptFlags, EptPageTable, GuestPhysAddr, HostPhysAddr, PageSize};
    /// fn give_away<H: ept::HostMemory>(t: &mut EptPageTable<H>, hpa: HostPhysAddr) {
    ///     let rw = EptAttributes::write_back(EptFlags::RW);
    ///     let _ = t.map(GuestPhysAddr::new(0), hpa, PageSize::Size4K, rw);
    /// }
    /// ```
    #[inline]
    pub unsafe fn map(
        &mut self,
        gpa: GuestPhysAddr,
        hpa: HostPhysAddr,
        size: PageSize,
        attributes: EptAttributes,
    ) -> Result<(), EptError> {
        if size == PageSize::Size4K {
            // Fast path: a 4-KiB page in the cached page table, with attributes that pass
            // every check trivially (readable, defined bits only, defined memory type).
            let (g, h) = (gpa.as_u64(), hpa.as_u64());
            let f = attributes.flags.bits();
            let mt = attributes.memory_type.raw();
            let c = self.cache.get();
            if g >> 21 == c.tag
                && (g | h) & 0xfff == 0
                && h < self.hpa_limit
                && f & FAST_REJECT == EptFlags::READ.bits()
                && mt < 8
                && (DEFINED_MEMORY_TYPES >> mt) & 1 != 0
            {
                let idx = index(g, 1);
                if c.pt.load(idx) == 0 {
                    c.pt.store(idx, h | f | (u64::from(mt) << MEMORY_TYPE_SHIFT));
                    return Ok(());
                }
            }
        }
        self.map_general(gpa, hpa, size, attributes)
    }

    /// `map` with every check, for everything the fast path does not take.
    #[inline(never)]
    fn map_general(
        &mut self,
        gpa: GuestPhysAddr,
        hpa: HostPhysAddr,
        size: PageSize,
        attributes: EptAttributes,
    ) -> Result<(), EptError> {
        let bits = self.leaf_bits(attributes)?;
        self.check_size(size, bits)?;
        let g = self.check_gpa(gpa, size)?;
        let h = self.check_hpa(hpa, size)?;
        self.map_checked(g, h | bits | ps_bit(size), size)
    }

    /// Maps `len` bytes at `gpa` to `len` bytes at `hpa`, using the largest pages that the
    /// alignment of both addresses, the remaining length and the configuration allow.
    ///
    /// `gpa`, `hpa` and `len` must be 4-KiB aligned. All or nothing: on error every page
    /// this call mapped is unmapped again and the error is returned (an invalidation is
    /// then owed, as after an unmap).
    ///
    /// # Safety
    ///
    /// This hands host-physical memory to the guest, which may then read, write or execute
    /// it as the attributes allow, also through the processor's cached translations
    /// (SDM Vol. 3C §29.4). For every byte of the `len` bytes at `hpa`, the caller guarantees that:
    /// - it is allocated to this guest: memory the host set aside for it (or MMIO of a
    ///   device assigned to it), not memory the host or anything else relies on (no Rust
    ///   object, no paging structure, no VMCS, VMXON region or bitmap, no memory of
    ///   another guest), whatever the guest writes to it;
    /// - it stays so until the guest can no longer reach it: after an unmap of it (or the
    ///   drop of the table) *and* the invalidation that follows it has completed on every
    ///   logical processor that may have cached the translation
    ///   ([`EptPageTable::flush`] with an executor keeping the
    ///   [`InveptExecutor`](crate::InveptExecutor) contract, or, under
    ///   [`Ept`](crate::Ept), [`Ept::synced`](crate::Ept::synced) of the generation after
    ///   the edit).
    pub unsafe fn map_region(
        &mut self,
        gpa: GuestPhysAddr,
        hpa: HostPhysAddr,
        len: u64,
        attributes: EptAttributes,
    ) -> Result<(), EptError> {
        let bits = self.leaf_bits(attributes)?;
        let (start, end) = self.check_range(gpa, len)?;
        let h0 = self.check_hpa(hpa, PageSize::Size4K)?;
        match h0.checked_add(len) {
            Some(h_end) if h_end <= self.hpa_limit => {}
            _ => {
                return Err(EptError::BeyondPhysAddrWidth {
                    hpa: HostPhysAddr::new(self.hpa_limit),
                    width: u32::from(self.config.phys_addr_width()),
                });
            }
        }
        let small_only = bits & EptFlags::SUB_PAGE_WRITE_PERMISSIONS.bits() != 0;
        let allow_2m = !small_only && self.config.supports_page_size(PageSize::Size2M);
        let allow_1g = !small_only && self.config.supports_page_size(PageSize::Size1G);
        let mut g = start;
        let mut h = h0;
        while g < end {
            let both = g | h;
            let rem = end - g;
            let size = if allow_1g && both & ((1 << 30) - 1) == 0 && rem >= 1 << 30 {
                PageSize::Size1G
            } else if allow_2m && both & ((1 << 21) - 1) == 0 && rem >= 1 << 21 {
                PageSize::Size2M
            } else {
                PageSize::Size4K
            };
            if let Err(e) = self.map_checked(g, h | bits | ps_bit(size), size) {
                if g > start {
                    // Every page in [start, g) was mapped by this call, so none straddles
                    // the bounds and none needs splitting.
                    self.unmap_in(self.root_ptr, self.levels, 0, start, g);
                    self.pending_flush = true;
                }
                return Err(e);
            }
            g += size.bytes();
            h += size.bytes();
        }
        Ok(())
    }

    /// Maps one page; `leaf` is the complete leaf entry, addresses already checked.
    #[inline]
    pub(super) fn map_checked(
        &mut self,
        gpa: u64,
        leaf: u64,
        size: PageSize,
    ) -> Result<(), EptError> {
        if size == PageSize::Size4K {
            let c = self.cache.get();
            if c.tag == gpa >> 21 {
                let idx = index(gpa, 1);
                if c.pt.load(idx) != 0 {
                    return Err(EptError::AlreadyMapped {
                        gpa: GuestPhysAddr::new(gpa),
                    });
                }
                c.pt.store(idx, leaf);
                return Ok(());
            }
        }
        self.map_slow(gpa, leaf, size.level())
    }

    /// Walks from the root, creating structures as needed, and writes `leaf` at
    /// `target_level`.
    fn map_slow(&mut self, gpa: u64, leaf: u64, target_level: u32) -> Result<(), EptError> {
        let mut level = self.levels;
        let mut table = self.root_ptr;
        loop {
            let idx = index(gpa, level);
            let e = table.load(idx);
            if level == target_level {
                if e != 0 {
                    return Err(EptError::AlreadyMapped {
                        gpa: GuestPhysAddr::new(gpa),
                    });
                }
                table.store(idx, leaf);
                if level == 1 {
                    self.set_cache(gpa, table);
                }
                return Ok(());
            }
            let next = if e == 0 {
                match self.alloc_table() {
                    Ok((frame, ptr)) => {
                        table.store(idx, non_leaf(frame));
                        ptr
                    }
                    Err(err) => {
                        // Structures created above on this path are empty now.
                        let walk = self.walk(gpa);
                        if walk.table(walk.level).is_empty() {
                            self.release_empty(&walk, gpa, walk.level);
                        }
                        return Err(err);
                    }
                }
            } else if is_leaf(e, level) {
                return Err(EptError::AlreadyMapped {
                    gpa: GuestPhysAddr::new(gpa),
                });
            } else {
                self.table_ptr(e)
            };
            table = next;
            level -= 1;
        }
    }
}
