//! Planning a bzImage boot through the 64-bit boot protocol (Linux
//! `Documentation/x86/boot.rst`, "LOADING THE REST OF THE KERNEL" and "64-bit BOOT
//! PROTOCOL"): the protected-mode kernel (the bytes after the `(setup_sects + 1) * 512`
//! setup bytes) at its load address, the zero page, identity page tables for the first
//! 4 GiB, and a GDT with `__BOOT_CS` = 0x10 and `__BOOT_DS` = 0x18. The entry is at the
//! load address + 0x200 in 64-bit mode with RSI = the zero page (SDM Vol. 3A §10.8.5 for the
//! IA-32e mode state this requires).

use alloc::vec;
use alloc::vec::Vec;

use super::boot_params::{self, Ramdisk};
use super::e820::E820Entry;
use super::error::LinuxBootError;
use super::gdt::{self, CodeSize, GDT_LIMIT};
use super::layout::{
    BOOT_PARAMS_GPA, CMDLINE_GPA, CMDLINE_MAX, GDT_GPA, INITRD_MAX_END, NON_RELOCATABLE_LOAD,
    PAGE_TABLES_GPA,
};
use super::page_tables;
use super::setup_header::SetupHeader;
use super::{Chunk, ChunkSource, EntryState, KernelPlacement};

/// Offset of the 64-bit entry point from the protected-mode kernel's load address.
pub const ENTRY_64_OFFSET: u64 = 0x200;

/// Where the protected-mode kernel is loaded: `pref_address` rounded up to
/// `kernel_alignment` for a relocatable kernel, 0x100000 otherwise.
pub fn load_address(header: &SetupHeader) -> Option<u64> {
    if header.relocatable_kernel {
        let align = u64::from(header.kernel_alignment);
        header.pref_address.checked_next_multiple_of(align.max(1))
    } else {
        Some(NON_RELOCATABLE_LOAD)
    }
}

/// Parses the header and places the protected-mode kernel. The kernel's range covers the
/// loaded bytes and `init_size` bytes from its runtime start (the load address, or
/// `pref_address` for a non-relocatable kernel, which moves itself there).
pub(crate) fn place(kernel: &[u8]) -> Result<(SetupHeader, KernelPlacement), LinuxBootError> {
    let header = SetupHeader::parse(kernel)?;
    let load = load_address(&header).ok_or(LinuxBootError::KernelAddressOverflow)?;
    let offset = header.setup_len();
    let len = kernel.len() - offset;
    let runtime_start = if header.relocatable_kernel {
        load
    } else {
        header.pref_address
    };
    let loaded_end = load
        .checked_add(len as u64)
        .ok_or(LinuxBootError::KernelAddressOverflow)?;
    let init_end = runtime_start
        .checked_add(u64::from(header.init_size))
        .ok_or(LinuxBootError::KernelAddressOverflow)?;
    let placement = KernelPlacement {
        chunks: vec![Chunk {
            gpa: load,
            source: ChunkSource::Kernel { offset, len },
        }],
        range: (load.min(runtime_start), loaded_end.max(init_end)),
        initrd_limit: (u64::from(header.initrd_addr_max) + 1).min(INITRD_MAX_END),
        cmdline_max: u64::from(header.cmdline_size).min(CMDLINE_MAX - 1),
        entry: load + ENTRY_64_OFFSET,
    };
    Ok((header, placement))
}

/// The boot structures (GDT page, page tables, zero page) and the 64-bit entry state.
pub(crate) fn boot_structures(
    kernel: &[u8],
    header: &SetupHeader,
    entry: u64,
    ramdisk: Option<Ramdisk>,
    e820: &[E820Entry],
) -> (Vec<Chunk>, EntryState) {
    let chunks = vec![
        Chunk {
            gpa: GDT_GPA,
            source: ChunkSource::Bytes(gdt::page(CodeSize::Long64)),
        },
        Chunk {
            gpa: BOOT_PARAMS_GPA,
            source: ChunkSource::Bytes(boot_params::build(
                kernel,
                header,
                CMDLINE_GPA,
                ramdisk,
                e820,
            )),
        },
        Chunk {
            gpa: PAGE_TABLES_GPA,
            source: ChunkSource::Bytes(page_tables::identity_4gib(PAGE_TABLES_GPA)),
        },
    ];
    let state = EntryState::Long64 {
        rip: entry,
        rsi: BOOT_PARAMS_GPA,
        cr3: PAGE_TABLES_GPA,
        gdt_base: GDT_GPA,
        gdt_limit: GDT_LIMIT,
    };
    (chunks, state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::{put_u64, u64_at};
    use crate::linux::setup_header::{offset, test_image};

    #[test]
    fn relocatable_kernel_goes_to_its_aligned_preferred_address() {
        let mut image = test_image(0x1000);
        put_u64(&mut image, offset::PREF_ADDRESS, 0x100_1000);
        let (header, p) = place(&image).unwrap();
        assert_eq!(load_address(&header), Some(0x120_0000));
        assert_eq!(p.entry, 0x120_0200);
        assert_eq!(p.range, (0x120_0000, 0x160_0000));
        assert_eq!(
            p.chunks[0].source,
            ChunkSource::Kernel {
                offset: 1024,
                len: 0x1000
            }
        );
    }

    #[test]
    fn non_relocatable_kernel_goes_to_one_mib() {
        let mut image = test_image(0x1000);
        image[offset::RELOCATABLE_KERNEL] = 0;
        let (header, p) = place(&image).unwrap();
        assert_eq!(load_address(&header), Some(0x10_0000));
        assert_eq!(p.chunks[0].gpa, 0x10_0000);
        // It decompresses at pref_address and needs init_size bytes there.
        assert_eq!(p.range, (0x10_0000, 0x140_0000));
    }

    #[test]
    fn limits_come_from_the_header() {
        let image = test_image(0x100);
        let (_, p) = place(&image).unwrap();
        assert_eq!(p.cmdline_max, 2047);
        assert_eq!(p.initrd_limit, 0x3800_0000);
        let mut image = test_image(0x100);
        crate::linux::bytes::put_u32(&mut image, offset::INITRD_ADDR_MAX, 0x0FFF_FFFF);
        assert_eq!(place(&image).unwrap().1.initrd_limit, 0x1000_0000);
    }

    #[test]
    fn overflowing_addresses_are_errors() {
        let mut image = test_image(0x100);
        put_u64(&mut image, offset::PREF_ADDRESS, u64::MAX - 0x10);
        assert_eq!(
            place(&image).map(|_| ()),
            Err(LinuxBootError::KernelAddressOverflow)
        );
    }

    #[test]
    fn structures_point_at_each_other() {
        let image = test_image(0x100);
        let (header, p) = place(&image).unwrap();
        let (chunks, entry) = boot_structures(&image, &header, p.entry, None, &[]);
        assert_eq!(chunks.len(), 3);
        let EntryState::Long64 { rip, rsi, cr3, .. } = entry else {
            panic!("bzImage entry is 64-bit");
        };
        assert_eq!(rip, 0x100_0200);
        assert_eq!(rsi, BOOT_PARAMS_GPA);
        let ChunkSource::Bytes(tables) = &chunks[2].source else {
            panic!("page tables are bytes");
        };
        assert_eq!(chunks[2].gpa, cr3);
        assert_eq!(u64_at(tables, 0).map(|e| e & !0xFFF), Some(cr3 + 0x1000));
    }
}
