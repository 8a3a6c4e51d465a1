//! Identity page tables for the bzImage 64-bit entry: 4-level paging (SDM Vol. 3A §5.5)
//! mapping guest-virtual = guest-physical for the first 4 GiB with 2-MiB pages (PDEs with
//! PS = 1, SDM Vol. 3A §5.5.4, Table 5-18). Linux's 64-bit boot protocol needs the kernel,
//! its `init_size`, the zero page and the command line identity-mapped.

use alloc::vec;
use alloc::vec::Vec;

use super::bytes::put_u64;
use super::layout::{PAGE_SIZE, PAGE_TABLE_PAGES};

/// Present.
const PTE_P: u64 = 1 << 0;
/// Writable.
const PTE_RW: u64 = 1 << 1;
/// Page-level write-through.
const PTE_PWT: u64 = 1 << 3;
/// Page-level cache disable.
const PTE_PCD: u64 = 1 << 4;
/// Page size (a 2-MiB page in a PDE).
const PTE_PS: u64 = 1 << 7;

/// The six pages of tables placed at `base` (4-KiB aligned): PML4 at `base`, PDPT at
/// `base + 0x1000`, page directories for GiB 0..3 after it. The fourth GiB (the device
/// hole: I/O APIC, local APIC) is mapped uncached.
pub fn identity_4gib(base: u64) -> Vec<u8> {
    let mut tables = vec![0u8; (PAGE_TABLE_PAGES * PAGE_SIZE) as usize];
    let pdpt = base + PAGE_SIZE;
    put_u64(&mut tables, 0, pdpt | PTE_P | PTE_RW);
    for gib in 0..4u64 {
        let pd_offset = (2 + gib) * PAGE_SIZE;
        put_u64(
            &mut tables,
            (PAGE_SIZE + gib * 8) as usize,
            (base + pd_offset) | PTE_P | PTE_RW,
        );
        let caching = if gib == 3 { PTE_PCD | PTE_PWT } else { 0 };
        for i in 0..512u64 {
            let page = (gib << 30) | (i << 21);
            put_u64(
                &mut tables,
                (pd_offset + i * 8) as usize,
                page | PTE_P | PTE_RW | PTE_PS | caching,
            );
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::u64_at;

    /// Walks the tables like the processor (SDM Vol. 3A §5.5.4) for a 2-MiB mapping.
    fn translate(tables: &[u8], base: u64, va: u64) -> Option<u64> {
        let entry = |table: u64, index: u64| {
            let off = usize::try_from(table.checked_sub(base)? + index * 8).ok()?;
            let e = u64_at(tables, off)?;
            (e & PTE_P != 0).then_some(e)
        };
        let pml4e = entry(base, (va >> 39) & 0x1FF)?;
        let pdpte = entry(pml4e & 0x000F_FFFF_FFFF_F000, (va >> 30) & 0x1FF)?;
        let pde = entry(pdpte & 0x000F_FFFF_FFFF_F000, (va >> 21) & 0x1FF)?;
        (pde & PTE_PS != 0).then_some((pde & 0x000F_FFFF_FFE0_0000) | (va & 0x1F_FFFF))
    }

    #[test]
    fn maps_the_first_four_gib_one_to_one() {
        let base = 0x9000;
        let t = identity_4gib(base);
        for va in [0, 0x7000, 0x100_0000, 0x3FFF_FFFF, 0xFEC0_0010, 0xFFFF_FFFF] {
            assert_eq!(translate(&t, base, va), Some(va));
        }
        assert_eq!(translate(&t, base, 1 << 32), None);
        let pde_mmio = u64_at(&t, (5 * PAGE_SIZE + 0x1F6 * 8) as usize).unwrap();
        assert_ne!(pde_mmio & PTE_PCD, 0);
        let pde_ram = u64_at(&t, (2 * PAGE_SIZE) as usize).unwrap();
        assert_eq!(pde_ram & PTE_PCD, 0);
    }
}
