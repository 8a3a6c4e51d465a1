//! The guest's memory map, in the BIOS "e820" form Linux reads from `boot_params` (and, with
//! the same type values, from PVH's `hvm_memmap_table_entry`).
//!
//! Types are those of the ACPI specification's address range types ("System Address Map
//! Interfaces"); Linux's `arch/x86/include/uapi/asm/setup_data.h` uses the same numbers.

use alloc::vec;
use alloc::vec::Vec;

use super::layout::{BIOS_END, BIOS_START, EBDA_END, EBDA_START, HIGH_RAM_START, LOW_RAM_END};

/// Size of one e820 entry in `boot_params.e820_table`: `addr` u64, `size` u64, `type` u32.
pub const E820_ENTRY_SIZE: usize = 20;
/// Capacity of `boot_params.e820_table`.
pub const E820_MAX_ENTRIES_ZEROPAGE: usize = 128;

/// The type of an address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum E820Type {
    /// Usable RAM (1).
    Ram,
    /// Reserved (2).
    Reserved,
    /// ACPI reclaimable (3).
    Acpi,
    /// ACPI non-volatile storage (4).
    Nvs,
    /// Unusable (5).
    Unusable,
}

impl E820Type {
    /// The number Linux and the firmware use for the type.
    pub const fn raw(self) -> u32 {
        match self {
            Self::Ram => 1,
            Self::Reserved => 2,
            Self::Acpi => 3,
            Self::Nvs => 4,
            Self::Unusable => 5,
        }
    }
}

/// One address range of the memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E820Entry {
    /// First guest-physical address of the range.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// What the range is.
    pub kind: E820Type,
}

impl E820Entry {
    /// The end of the range (exclusive), saturating.
    pub const fn end(&self) -> u64 {
        self.addr.saturating_add(self.size)
    }

    /// The 20-byte `boot_params.e820_table` form (`struct boot_e820_entry`, packed).
    pub fn to_bytes(&self) -> [u8; E820_ENTRY_SIZE] {
        let mut out = [0u8; E820_ENTRY_SIZE];
        out[..8].copy_from_slice(&self.addr.to_le_bytes());
        out[8..16].copy_from_slice(&self.size.to_le_bytes());
        out[16..].copy_from_slice(&self.kind.raw().to_le_bytes());
        out
    }
}

/// The memory map of a guest with `ram_size` bytes of RAM (at most
/// [`MAX_RAM_SIZE`](super::layout::MAX_RAM_SIZE), at least
/// [`MIN_RAM_SIZE`](super::layout::MIN_RAM_SIZE); the caller checks): RAM
/// [0, [`LOW_RAM_END`]), the reserved EBDA KiB, the reserved BIOS area, RAM
/// [[`HIGH_RAM_START`], `ram_size`). Sorted, non-overlapping.
pub fn memory_map(ram_size: u64) -> Vec<E820Entry> {
    vec![
        E820Entry {
            addr: 0,
            size: LOW_RAM_END,
            kind: E820Type::Ram,
        },
        E820Entry {
            addr: EBDA_START,
            size: EBDA_END - EBDA_START,
            kind: E820Type::Reserved,
        },
        E820Entry {
            addr: BIOS_START,
            size: BIOS_END - BIOS_START,
            kind: E820Type::Reserved,
        },
        E820Entry {
            addr: HIGH_RAM_START,
            size: ram_size.saturating_sub(HIGH_RAM_START),
            kind: E820Type::Ram,
        },
    ]
}

/// Whether `[start, end)` lies inside one RAM range of `map`.
pub fn is_ram(map: &[E820Entry], start: u64, end: u64) -> bool {
    map.iter()
        .any(|e| e.kind == E820Type::Ram && e.addr <= start && end <= e.end() && start <= end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::layout::{MAX_RAM_SIZE, MIN_RAM_SIZE};
    use proptest::prelude::*;

    #[test]
    fn entry_bytes_are_packed_little_endian() {
        let e = E820Entry {
            addr: 0x1122_3344_5566_7788,
            size: 0x10,
            kind: E820Type::Reserved,
        };
        let b = e.to_bytes();
        assert_eq!(&b[..8], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&b[8..16], &0x10u64.to_le_bytes());
        assert_eq!(&b[16..], &[2, 0, 0, 0]);
    }

    #[test]
    fn ram_checks() {
        let map = memory_map(128 << 20);
        assert!(is_ram(&map, 0x1000, 0x2000));
        assert!(is_ram(&map, 0x100_0000, 128 << 20));
        assert!(!is_ram(&map, 0x9_F000, 0xA_0000));
        assert!(!is_ram(&map, 0xF_0000, 0x10_1000));
        assert!(!is_ram(&map, 0x100_0000, (128 << 20) + 1));
    }

    proptest! {
        #[test]
        fn map_is_sorted_non_overlapping_and_covers_ram(
            ram in MIN_RAM_SIZE..=MAX_RAM_SIZE,
        ) {
            let map = memory_map(ram);
            for pair in map.windows(2) {
                prop_assert!(pair[0].end() <= pair[1].addr);
            }
            prop_assert!(map.iter().all(|e| e.size > 0));
            let ram_bytes: u64 = map.iter().filter(|e| e.kind == E820Type::Ram).map(|e| e.size).sum();
            prop_assert_eq!(ram_bytes, LOW_RAM_END + (ram - HIGH_RAM_START));
            prop_assert_eq!(map.last().map(|e| e.end()), Some(ram));
        }
    }
}
