//! Iterating over mappings in guest-physical address order.

use core::iter::FusedIterator;

use super::raw::{ENTRIES, TablePtr, index, is_leaf, level_shift};
use super::{EptPageTable, Mapping, mapping_of};
use crate::memory::HostMemory;

impl<H: HostMemory> EptPageTable<H> {
    /// Every mapping, in increasing guest-physical order.
    pub fn mappings(&self) -> Mappings<'_, H> {
        Mappings {
            table: self,
            next: Some(0),
        }
    }

    /// The first mapping that contains or follows `gpa`.
    pub(super) fn next_mapping(&self, gpa: u64) -> Option<Mapping> {
        if gpa >> self.gpa_width != 0 {
            return None;
        }
        self.find_in(self.root_ptr, self.levels, 0, gpa)
    }

    fn find_in(&self, table: TablePtr, level: u32, base: u64, from: u64) -> Option<Mapping> {
        let shift = level_shift(level);
        let first = if from > base { index(from, level) } else { 0 };
        for i in first..ENTRIES {
            let e = table.load(i);
            if e == 0 {
                continue;
            }
            let span = base + ((i as u64) << shift);
            if is_leaf(e, level) {
                return Some(mapping_of(span, e, level));
            }
            if let Some(m) = self.find_in(self.table_ptr(e), level - 1, span, from.max(span)) {
                return Some(m);
            }
        }
        None
    }
}

/// Iterator over the mappings of an [`EptPageTable`], from [`EptPageTable::mappings`].
pub struct Mappings<'a, H: HostMemory> {
    table: &'a EptPageTable<H>,
    next: Option<u64>,
}

impl<H: HostMemory> Iterator for Mappings<'_, H> {
    type Item = Mapping;

    fn next(&mut self) -> Option<Mapping> {
        let from = self.next?;
        let m = self.table.next_mapping(from);
        self.next = m.and_then(|m| m.gpa().as_u64().checked_add(m.size().bytes()));
        m
    }
}

impl<H: HostMemory> FusedIterator for Mappings<'_, H> {}
