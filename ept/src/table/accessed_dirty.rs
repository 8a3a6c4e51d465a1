//! Accessed and dirty flags for EPT (SDM Vol. 3C §29.3.5).
//!
//! With EPTP bit 6 set, the processor sets bit 8 (accessed) of every EPT entry a walk uses
//! and bit 9 (dirty) of the leaf on a write. Clearing a flag in software is only noticed
//! by the processor after an invalidation: it may keep using a cached translation that
//! already has the flag set (SDM Vol. 3C §29.4.3.1).

use super::raw::{TablePtr, is_leaf, slots};
use super::{EptPageTable, Mapping, mapping_of};
use crate::addr::GuestPhysAddr;
use crate::entry::EptFlags;
use crate::error::{Capability, EptError};
use crate::invalidation::FlushToken;
use crate::memory::HostMemory;

/// The accessed and dirty flags of a leaf entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AccessedDirty {
    /// Bit 8: the page was accessed.
    pub accessed: bool,
    /// Bit 9: the page was written.
    pub dirty: bool,
}

impl<H: HostMemory> EptPageTable<H> {
    /// The accessed and dirty flags of the page containing `gpa`. Needs A/D flags enabled
    /// in the configuration.
    pub fn accessed_dirty(&self, gpa: GuestPhysAddr) -> Result<AccessedDirty, EptError> {
        if !self.config.accessed_dirty() {
            return Err(EptError::CapabilityMissing(Capability::AccessedDirty));
        }
        let m = self.query(gpa)?;
        Ok(AccessedDirty {
            accessed: m.entry().accessed(),
            dirty: m.entry().dirty(),
        })
    }

    /// Clears the flags in `which` (a subset of [`EptFlags::ACCESSED_DIRTY`]) in every
    /// leaf overlapping `[gpa, gpa + len)` (`len` 4-KiB aligned), calling `visit` with the
    /// mapping as it was for each leaf that had one of them set. Large pages overlapping
    /// the range are handled whole. Holes are skipped. Each leaf is updated with one atomic
    /// AND, so a flag the processor sets concurrently is either reported or kept.
    ///
    /// Needs A/D flags enabled. The token stands for the INVEPT after which the processor
    /// sets the flags again on the next access.
    pub fn clear_accessed_dirty(
        &mut self,
        gpa: GuestPhysAddr,
        len: u64,
        which: EptFlags,
        mut visit: impl FnMut(Mapping),
    ) -> Result<FlushToken, EptError> {
        if !self.config.accessed_dirty() {
            return Err(EptError::CapabilityMissing(Capability::AccessedDirty));
        }
        let (start, end) = self.check_range(gpa, len)?;
        let mask = (which & EptFlags::ACCESSED_DIRTY).bits();
        if mask != 0 {
            let cleared =
                self.clear_in(self.root_ptr, self.levels, 0, start, end, mask, &mut visit);
            if cleared {
                self.pending_flush = true;
            }
        }
        Ok(FlushToken::new())
    }

    #[allow(clippy::too_many_arguments)]
    fn clear_in(
        &self,
        table: TablePtr,
        level: u32,
        base: u64,
        start: u64,
        end: u64,
        mask: u64,
        visit: &mut impl FnMut(Mapping),
    ) -> bool {
        let mut cleared = false;
        for slot in slots(level, base, start, end) {
            let e = table.load(slot.idx);
            if e == 0 {
                continue;
            }
            if is_leaf(e, level) {
                if e & mask != 0 {
                    let old = table.fetch_and(slot.idx, !mask);
                    if old & mask != 0 {
                        cleared = true;
                        visit(mapping_of(slot.span, old, level));
                    }
                }
                continue;
            }
            let child = self.table_ptr(e);
            let (span, s, t) = (slot.span, slot.start, slot.end);
            cleared |= self.clear_in(child, level - 1, span, s, t, mask, visit);
        }
        cleared
    }
}
