//! [`VmcsSnapshot`]: the VMCS field values the checks read, from any source
//! ([`VmcsSource`]): VMREAD on hardware, a nested hypervisor's in-memory VMCS, a dump.

use vmx_defs::vmcs::{ALL_FIELDS, Access, Field, VmcsEncoding, Width};

/// How many fields a snapshot can hold: every field of
/// [`ALL_FIELDS`](vmx_defs::vmcs::ALL_FIELDS) (SDM Vol. 3D Appendix B).
pub const SNAPSHOT_CAPACITY: usize = 256;

/// A source of VMCS field values (SDM Vol. 3C §25.11.2): `None` for a field the source does
/// not have (a VMREAD failing with VM-instruction error 12, a field the VMCS layout lacks).
pub trait VmcsSource {
    /// The value of `field` (full-width for 64-bit fields), or `None` if absent.
    fn read(&mut self, field: VmcsEncoding) -> Option<u64>;
}

impl<F: FnMut(VmcsEncoding) -> Option<u64>> VmcsSource for F {
    fn read(&mut self, field: VmcsEncoding) -> Option<u64> {
        self(field)
    }
}

/// The values of the VMCS fields of SDM Vol. 3D Appendix B, each present or absent.
///
/// Checks that read an absent field see 0 and note the field in
/// [`Diagnosis::absent_fields`](crate::Diagnosis::absent_fields).
#[derive(Clone, PartialEq, Eq)]
pub struct VmcsSnapshot {
    values: [u64; SNAPSHOT_CAPACITY],
    present: [bool; SNAPSHOT_CAPACITY],
}

impl Default for VmcsSnapshot {
    fn default() -> Self {
        Self::new()
    }
}

fn slot(field: VmcsEncoding) -> Option<usize> {
    ALL_FIELDS
        .binary_search_by_key(&field.0, |info| info.encoding.0)
        .ok()
        .filter(|&i| i < SNAPSHOT_CAPACITY)
}

/// Keeps only the bits a field of `field`'s width holds (SDM Vol. 3C §25.11.2: natural-width
/// fields are 64 bits on processors that support Intel 64).
fn truncate(field: VmcsEncoding, value: u64) -> u64 {
    match field.width().bits() {
        0 => value & 0xffff,
        2 => value & 0xffff_ffff,
        _ => value,
    }
}

impl VmcsSnapshot {
    /// A snapshot with every field absent.
    pub const fn new() -> Self {
        Self {
            values: [0; SNAPSHOT_CAPACITY],
            present: [false; SNAPSHOT_CAPACITY],
        }
    }

    /// Reads every field of [`ALL_FIELDS`](vmx_defs::vmcs::ALL_FIELDS) from `source`.
    pub fn read_from(source: &mut impl VmcsSource) -> Self {
        let mut snapshot = Self::new();
        for info in ALL_FIELDS {
            if let Some(value) = source.read(info.encoding) {
                snapshot.set_raw(info.encoding, value);
            }
        }
        snapshot
    }

    /// Sets a field by encoding (value truncated to the field's width). Returns `false`
    /// (and keeps nothing) for an encoding that is not a known full-access field.
    pub fn set_raw(&mut self, field: VmcsEncoding, value: u64) -> bool {
        match slot(field) {
            Some(i) => {
                if let (Some(v), Some(p)) = (self.values.get_mut(i), self.present.get_mut(i)) {
                    *v = truncate(field, value);
                    *p = true;
                }
                true
            }
            None => false,
        }
    }

    /// Sets a typed field (value truncated to its width).
    pub fn set<W: Width, A: Access>(&mut self, field: Field<W, A>, value: u64) {
        self.set_raw(field.encoding(), value);
    }

    /// Makes a field absent.
    pub fn remove_raw(&mut self, field: VmcsEncoding) {
        if let Some(p) = slot(field).and_then(|i| self.present.get_mut(i)) {
            *p = false;
        }
    }

    /// The value of a field by encoding, `None` if absent or unknown.
    pub fn get_raw(&self, field: VmcsEncoding) -> Option<u64> {
        let i = slot(field)?;
        match self.present.get(i) {
            Some(true) => self.values.get(i).copied(),
            _ => None,
        }
    }

    /// The value of a typed field, `None` if absent.
    pub fn get<W: Width, A: Access>(&self, field: Field<W, A>) -> Option<u64> {
        self.get_raw(field.encoding())
    }

    /// Every present field and its value, in encoding order.
    pub fn iter(&self) -> impl Iterator<Item = (VmcsEncoding, u64)> + '_ {
        ALL_FIELDS
            .iter()
            .zip(self.values.iter().zip(self.present.iter()))
            .filter(|(_, (_, p))| **p)
            .map(|(info, (v, _))| (info.encoding, *v))
    }
}

impl VmcsSource for VmcsSnapshot {
    fn read(&mut self, field: VmcsEncoding) -> Option<u64> {
        self.get_raw(field)
    }
}

impl core::fmt::Debug for VmcsSnapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut map = f.debug_map();
        for (field, value) in self.iter() {
            map.entry(&format_args!("{field}"), &format_args!("{value:#x}"));
        }
        map.finish()
    }
}
