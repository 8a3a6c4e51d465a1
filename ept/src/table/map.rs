//! Creating mappings: `map` and `map_region`.

use super::raw::{COUNT_ONE, index, is_leaf};
use super::{EptPageTable, NO_TAG, non_leaf, ps_bit};
use crate::addr::{GuestPhysAddr, HostPhysAddr, PageSize};
use crate::entry::{EptAttributes, EptFlags};
use crate::error::EptError;
use crate::host::EptHost;

impl<H: EptHost> EptPageTable<H> {
    /// Maps the page of `size` at `gpa` to the page at `hpa` (SDM Vol. 3C §29.3.2).
    ///
    /// Both addresses must be aligned to `size`; `size` must be allowed by the
    /// configuration; the attributes must not form an EPT misconfiguration
    /// (SDM Vol. 3C §29.3.3.1). Fails with [`EptError::AlreadyMapped`] if any part of the
    /// page is mapped. Creating a mapping where none was needs no invalidation: processors
    /// do not cache not-present EPT entries (SDM Vol. 3C §29.4.3.1).
    #[inline]
    pub fn map(
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
    /// this call mapped is unmapped again and the error is returned.
    pub fn map_region(
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
            if c.tag == gpa >> 21 && c.tag != NO_TAG {
                let idx = index(gpa, 1);
                if c.pt.load(idx) != 0 {
                    return Err(EptError::AlreadyMapped {
                        gpa: GuestPhysAddr::new(gpa),
                    });
                }
                c.pt.store(idx, leaf);
                c.pd.store(c.pd_idx, c.pd.load(c.pd_idx) + COUNT_ONE);
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
        // The entry referencing `table` (none for the root): its count field.
        let mut parent = None;
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
                if let Some((p, pidx)) = parent {
                    bump(p, pidx);
                    if level == 1 {
                        self.cache.set(super::LeafCache {
                            tag: gpa >> 21,
                            pt: table,
                            pd: p,
                            pd_idx: pidx,
                        });
                    }
                }
                return Ok(());
            }
            let next = if e == 0 {
                match self.alloc_table() {
                    Ok((frame, ptr)) => {
                        table.store(idx, non_leaf(frame, 0));
                        if let Some((p, pidx)) = parent {
                            bump(p, pidx);
                        }
                        ptr
                    }
                    Err(err) => {
                        // Structures created above on this path are empty now.
                        let walk = self.walk(gpa);
                        self.release_empty(&walk, gpa, walk.level);
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
            parent = Some((table, idx));
            table = next;
            level -= 1;
        }
    }
}

/// Adds one to the count in entry `idx` of `table`.
#[inline]
fn bump(table: super::TablePtr, idx: usize) {
    table.store(idx, table.load(idx) + COUNT_ONE);
}
