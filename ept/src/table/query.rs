//! Looking up mappings: `query` and `translate`.

use super::raw::index;
use super::{EptPageTable, Mapping, mapping_of, mapping_of_4k};
use crate::addr::{GuestPhysAddr, HostPhysAddr, PageSize};
use crate::error::EptError;
use crate::memory::HostMemory;

impl<H: HostMemory> EptPageTable<H> {
    /// The mapping containing `gpa` (any alignment), as the processor's walk would find it
    /// (SDM Vol. 3C §29.3.2).
    #[inline]
    pub fn query(&self, gpa: GuestPhysAddr) -> Result<Mapping, EptError> {
        let g = gpa.as_u64();
        let c = self.cache.get();
        // A cached tag comes from an address within the walk's reach, so a match implies
        // that `gpa` is within it too.
        if g >> 21 == c.tag {
            let e = c.pt.load(index(g, 1));
            if e != 0 {
                return Ok(mapping_of_4k(g, e));
            }
        }
        self.query_slow(g)
    }

    #[inline(never)]
    fn query_slow(&self, g: u64) -> Result<Mapping, EptError> {
        let gpa = GuestPhysAddr::new(g);
        if g >> self.gpa_width != 0 {
            return Err(EptError::BeyondWalkLength {
                gpa,
                width: self.gpa_width,
            });
        }
        let walk = self.walk(g);
        if walk.entry == 0 {
            return Err(EptError::NotMapped { gpa });
        }
        if walk.level == 1 {
            self.set_cache(g, walk.table(1));
        }
        Ok(mapping_of(g, walk.entry, walk.level))
    }

    /// The host-physical address `gpa` translates to.
    #[inline]
    pub fn translate(&self, gpa: GuestPhysAddr) -> Result<HostPhysAddr, EptError> {
        let m = self.query(gpa)?;
        Ok(HostPhysAddr::new(
            m.hpa().as_u64() | gpa.page_offset(m.size()),
        ))
    }

    /// Whether any page in `[gpa, gpa + len)` is mapped (`len` 4-KiB aligned, non-zero).
    pub fn is_any_mapped(&self, gpa: GuestPhysAddr, len: u64) -> Result<bool, EptError> {
        let (start, end) = self.check_range(gpa, len)?;
        Ok(self
            .next_mapping(start)
            .is_some_and(|m| m.gpa().as_u64() < end))
    }

    /// The size of the page mapping `gpa`, if mapped.
    pub fn page_size_at(&self, gpa: GuestPhysAddr) -> Option<PageSize> {
        self.query(gpa).ok().map(|m| m.size())
    }
}
