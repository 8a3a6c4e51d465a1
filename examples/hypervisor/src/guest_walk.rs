//! Translating a guest-virtual address through the guest's own 4-level page tables
//! (SDM Vol. 3A §5.5 "4-Level Paging and 5-Level Paging").
//!
//! The hypervisor needs this to read the instruction at the guest's RIP (RIP is a virtual
//! address; guest RAM is addressed physically). Only what the walk needs is checked: present
//! bits and page-size bits, 4-KiB, 2-MiB and 1-GiB pages; access rights are not (the guest
//! already executed the instruction).

use core::fmt;

/// Bits 51:12 of a paging-structure entry: the next table's or the page's address.
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
const PRESENT: u64 = 1 << 0;
const PAGE_SIZE: u64 = 1 << 7;

/// Why a translation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// The entry at `level` (4 = PML4 ... 1 = PT) is not present.
    NotPresent {
        /// The paging level.
        level: u8,
        /// The address being translated.
        gva: u64,
    },
    /// The entry at `level` lies outside guest RAM (the read callback returned `None`).
    TableOutsideRam {
        /// The paging level.
        level: u8,
        /// Guest-physical address of the entry.
        entry_gpa: u64,
    },
    /// The address is not canonical (bits 63:47 not all equal; SDM Vol. 3A §3.3.7.1).
    NonCanonical(u64),
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotPresent { level, gva } => {
                write!(f, "{gva:#x}: level-{level} paging entry not present")
            }
            Self::TableOutsideRam { level, entry_gpa } => {
                write!(
                    f,
                    "level-{level} paging entry at {entry_gpa:#x} is outside guest RAM"
                )
            }
            Self::NonCanonical(gva) => write!(f, "{gva:#x} is not canonical"),
        }
    }
}

/// Translates `gva` with the paging structures at `cr3`; `read_u64` reads 8 bytes of guest
/// RAM at a guest-physical address (`None` outside RAM).
pub fn translate(
    cr3: u64,
    gva: u64,
    read_u64: impl Fn(u64) -> Option<u64>,
) -> Result<u64, WalkError> {
    let sign_extended = (((gva << 16) as i64) >> 16) as u64;
    if sign_extended != gva {
        return Err(WalkError::NonCanonical(gva));
    }
    let mut table = cr3 & ADDRESS_MASK;
    for level in (1..=4u8).rev() {
        let shift = 12 + 9 * u32::from(level - 1);
        let index = (gva >> shift) & 0x1FF;
        let entry_gpa = table + index * 8;
        let entry = read_u64(entry_gpa).ok_or(WalkError::TableOutsideRam { level, entry_gpa })?;
        if entry & PRESENT == 0 {
            return Err(WalkError::NotPresent { level, gva });
        }
        // PS in a PDPTE (level 3) maps 1 GiB, in a PDE (level 2) 2 MiB.
        if level == 1 || ((level == 2 || level == 3) && entry & PAGE_SIZE != 0) {
            let offset_mask = (1u64 << shift) - 1;
            return Ok((entry & ADDRESS_MASK & !offset_mask) | (gva & offset_mask));
        }
        table = entry & ADDRESS_MASK;
    }
    // Level 1 always returns above.
    Err(WalkError::NotPresent { level: 1, gva })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// PML4 at 0x1000 -> PDPT 0x2000: [0] -> PD 0x3000, [1] 1-GiB page at 3 GiB;
    /// PD[0] -> PT 0x4000, PD[1] 2-MiB page at 0x80_0000; PT[5] -> 0x9000.
    fn tables(gpa: u64) -> Option<u64> {
        match gpa {
            0x1000 => Some(0x2000 | 1),
            0x2000 => Some(0x3000 | 1),
            0x2008 => Some(0xC000_0000 | 0x81),
            0x3000 => Some(0x4000 | 1),
            0x3008 => Some(0x80_0000 | 0x81),
            0x4028 => Some(0x9000 | 1),
            g if g < 0x10_0000 => Some(0),
            _ => None,
        }
    }

    #[test]
    fn walks_4k_2m_and_1g_pages() {
        assert_eq!(translate(0x1000, 0x5123, tables), Ok(0x9123));
        assert_eq!(translate(0x1000, 0x20_0000 + 0x1234, tables), Ok(0x80_1234));
        assert_eq!(
            translate(0x1000, 0x4000_0000 + 0x12_3456, tables),
            Ok(0xC012_3456)
        );
        assert_eq!(
            translate(0x1000, 0x6000, tables),
            Err(WalkError::NotPresent {
                level: 1,
                gva: 0x6000
            })
        );
        assert_eq!(
            translate(0x1000, 1 << 47, tables),
            Err(WalkError::NonCanonical(1 << 47))
        );
        assert_eq!(
            translate(0x20_0000, 0, tables),
            Err(WalkError::TableOutsideRam {
                level: 4,
                entry_gpa: 0x20_0000
            })
        );
    }

    proptest! {
        #[test]
        fn never_panics(cr3 in any::<u64>(), gva in any::<u64>(), fill in any::<u64>()) {
            let _ = translate(cr3, gva, |gpa| (gpa < 1 << 40).then_some(fill ^ gpa));
        }
    }
}
