//! The PVH boot structures: `hvm_start_info` (version 1), `hvm_modlist_entry` and
//! `hvm_memmap_table_entry` (Xen's `public/arch-x86/hvm/start_info.h`; the ABI is in Xen's
//! `docs/misc/pvh.pandoc`). All fields little endian; addresses are guest-physical.

use alloc::vec;
use alloc::vec::Vec;

use super::boot_params::Ramdisk;
use super::bytes::{put_u32, put_u64};
use super::e820::E820Entry;
use super::layout::PAGE_SIZE;

/// `hvm_start_info.magic`.
pub const HVM_START_MAGIC: u32 = 0x336E_C578;
/// The structure version written (1: with the memory map fields).
pub const HVM_START_VERSION: u32 = 1;
/// Size of `hvm_start_info` version 1.
pub const START_INFO_SIZE: usize = 56;
/// Size of `hvm_modlist_entry`.
pub const MODLIST_ENTRY_SIZE: usize = 32;
/// Size of `hvm_memmap_table_entry`.
pub const MEMMAP_ENTRY_SIZE: usize = 24;
/// Offset of the module list from the start info.
pub const MODLIST_OFFSET: usize = 0x40;
/// Offset of the memory map from the start info.
pub const MEMMAP_OFFSET: usize = 0x80;
/// Most memory map entries written (what fits in the page).
pub const MAX_MEMMAP_ENTRIES: usize = (PAGE_SIZE as usize - MEMMAP_OFFSET) / MEMMAP_ENTRY_SIZE;

// The three structures do not overlap in the page.
const _: () = assert!(START_INFO_SIZE <= MODLIST_OFFSET);
const _: () = assert!(MODLIST_OFFSET + MODLIST_ENTRY_SIZE <= MEMMAP_OFFSET);

/// Field offsets of `hvm_start_info`.
pub mod field {
    /// `magic` (u32).
    pub const MAGIC: usize = 0;
    /// `version` (u32).
    pub const VERSION: usize = 4;
    /// `flags` (u32).
    pub const FLAGS: usize = 8;
    /// `nr_modules` (u32).
    pub const NR_MODULES: usize = 12;
    /// `modlist_paddr` (u64).
    pub const MODLIST_PADDR: usize = 16;
    /// `cmdline_paddr` (u64).
    pub const CMDLINE_PADDR: usize = 24;
    /// `rsdp_paddr` (u64).
    pub const RSDP_PADDR: usize = 32;
    /// `memmap_paddr` (u64).
    pub const MEMMAP_PADDR: usize = 40;
    /// `memmap_entries` (u32).
    pub const MEMMAP_ENTRIES: usize = 48;
    /// `reserved` (u32).
    pub const RESERVED: usize = 52;
}

/// The page at `gpa` holding the start info, one module (the initrd, if any; no module
/// command line) at `gpa + 0x40` and the memory map at `gpa + 0x80`; no RSDP (the machine
/// is described by the MP table).
pub fn build(gpa: u64, cmdline_gpa: u64, ramdisk: Option<Ramdisk>, e820: &[E820Entry]) -> Vec<u8> {
    let mut page = vec![0u8; PAGE_SIZE as usize];
    let map = &e820[..e820.len().min(MAX_MEMMAP_ENTRIES)];
    put_u32(&mut page, field::MAGIC, HVM_START_MAGIC);
    put_u32(&mut page, field::VERSION, HVM_START_VERSION);
    put_u64(&mut page, field::CMDLINE_PADDR, cmdline_gpa);
    if let Some(ramdisk) = ramdisk {
        put_u32(&mut page, field::NR_MODULES, 1);
        put_u64(&mut page, field::MODLIST_PADDR, gpa + MODLIST_OFFSET as u64);
        put_u64(&mut page, MODLIST_OFFSET, ramdisk.gpa);
        put_u64(&mut page, MODLIST_OFFSET + 8, ramdisk.len);
    }
    put_u64(&mut page, field::MEMMAP_PADDR, gpa + MEMMAP_OFFSET as u64);
    put_u32(&mut page, field::MEMMAP_ENTRIES, map.len() as u32);
    for (i, entry) in map.iter().enumerate() {
        let at = MEMMAP_OFFSET + i * MEMMAP_ENTRY_SIZE;
        put_u64(&mut page, at, entry.addr);
        put_u64(&mut page, at + 8, entry.size);
        put_u32(&mut page, at + 16, entry.kind.raw());
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::{u32_at, u64_at};
    use crate::linux::e820::memory_map;

    #[test]
    fn layout_matches_the_abi() {
        // Sizes of the version-1 structures, and the offsets of the last fields.
        assert_eq!(field::RESERVED + 4, START_INFO_SIZE);
        assert_eq!(field::MEMMAP_ENTRIES, 48);
        assert_eq!(field::MEMMAP_PADDR, 40);
        assert_eq!(MEMMAP_OFFSET % 8, 0);
    }

    #[test]
    fn fields_read_back() {
        let map = memory_map(128 << 20);
        let page = build(
            0x7000,
            0x2_0000,
            Some(Ramdisk {
                gpa: 0x700_0000,
                len: 0x12_3456,
            }),
            &map,
        );
        assert_eq!(u32_at(&page, field::MAGIC), Some(0x336E_C578));
        assert_eq!(u32_at(&page, field::VERSION), Some(1));
        assert_eq!(u32_at(&page, field::FLAGS), Some(0));
        assert_eq!(u32_at(&page, field::NR_MODULES), Some(1));
        assert_eq!(u64_at(&page, field::MODLIST_PADDR), Some(0x7040));
        assert_eq!(u64_at(&page, field::CMDLINE_PADDR), Some(0x2_0000));
        assert_eq!(u64_at(&page, field::RSDP_PADDR), Some(0));
        assert_eq!(u64_at(&page, field::MEMMAP_PADDR), Some(0x7080));
        assert_eq!(u32_at(&page, field::MEMMAP_ENTRIES), Some(map.len() as u32));
        // hvm_modlist_entry: paddr, size, cmdline_paddr, reserved.
        assert_eq!(u64_at(&page, 0x40), Some(0x700_0000));
        assert_eq!(u64_at(&page, 0x48), Some(0x12_3456));
        assert_eq!(u64_at(&page, 0x50), Some(0));
        assert_eq!(u64_at(&page, 0x58), Some(0));
        // hvm_memmap_table_entry: addr, size, type, reserved.
        for (i, e) in map.iter().enumerate() {
            let at = 0x80 + i * 24;
            assert_eq!(u64_at(&page, at), Some(e.addr));
            assert_eq!(u64_at(&page, at + 8), Some(e.size));
            assert_eq!(u32_at(&page, at + 16), Some(e.kind.raw()));
            assert_eq!(u32_at(&page, at + 20), Some(0));
        }
    }

    #[test]
    fn no_initrd_no_module() {
        let page = build(0x7000, 0x2_0000, None, &[]);
        assert_eq!(u32_at(&page, field::NR_MODULES), Some(0));
        assert_eq!(u64_at(&page, field::MODLIST_PADDR), Some(0));
    }
}
