//! 256-bit vector sets: the local APIC's IRR, ISR and TMR (Intel SDM Vol. 3A §12.8.4,
//! "Interrupt Acceptance for Fixed Interrupts", Figure 12-20).

/// A set of interrupt vectors 0-255, one bit per vector, as the local APIC's IRR, ISR and
/// TMR hold them (Intel SDM Vol. 3A §12.8.4). Register `i` (offset `base + 0x10 * i`) holds
/// vectors `32 * i ..= 32 * i + 31`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VectorSet {
    words: [u64; 4],
}

impl VectorSet {
    /// The empty set.
    pub const EMPTY: VectorSet = VectorSet { words: [0; 4] };

    /// Whether `vector` is in the set.
    pub fn contains(&self, vector: u8) -> bool {
        self.words[usize::from(vector >> 6)] & (1 << (vector & 63)) != 0
    }

    /// Adds `vector`.
    pub fn insert(&mut self, vector: u8) {
        self.words[usize::from(vector >> 6)] |= 1 << (vector & 63);
    }

    /// Removes `vector`.
    pub fn remove(&mut self, vector: u8) {
        self.words[usize::from(vector >> 6)] &= !(1 << (vector & 63));
    }

    /// Sets `vector` to `present`.
    pub fn set(&mut self, vector: u8, present: bool) {
        if present {
            self.insert(vector)
        } else {
            self.remove(vector)
        }
    }

    /// The highest vector in the set (the one the APIC services first), if any.
    pub fn highest(&self) -> Option<u8> {
        (0..4usize).rev().find_map(|i| {
            let w = self.words[i];
            // `i < 4` and `leading_zeros < 64` on a non-zero word: the result fits in a u8.
            (w != 0).then(|| (i as u8) * 64 + (63 - w.leading_zeros() as u8))
        })
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words == [0; 4]
    }

    /// The 32-bit APIC register `index` (0..8) of the set: vectors `32 * index ..`; 0 for an
    /// index out of range.
    pub fn register(&self, index: usize) -> u32 {
        match self.words.get(index / 2) {
            Some(w) => (w >> (32 * (index % 2))) as u32,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn highest_and_registers() {
        let mut s = VectorSet::EMPTY;
        assert_eq!(s.highest(), None);
        s.insert(0x31);
        s.insert(0xEC);
        assert_eq!(s.highest(), Some(0xEC));
        assert_eq!(s.register(1), 1 << 0x11);
        assert_eq!(s.register(7), 1 << 0x0C);
        assert_eq!(s.register(8), 0);
        s.remove(0xEC);
        assert_eq!(s.highest(), Some(0x31));
    }

    proptest! {
        #[test]
        fn matches_btreeset(ops in proptest::collection::vec((any::<u8>(), any::<bool>()), 0..64)) {
            let mut s = VectorSet::EMPTY;
            let mut m = std::collections::BTreeSet::new();
            for (v, add) in ops {
                s.set(v, add);
                if add { m.insert(v); } else { m.remove(&v); }
                prop_assert_eq!(s.highest(), m.iter().next_back().copied());
                prop_assert_eq!(s.is_empty(), m.is_empty());
                for v in 0..=255u8 { prop_assert_eq!(s.contains(v), m.contains(&v)); }
            }
        }
    }
}
