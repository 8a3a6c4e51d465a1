//! The bzImage "zero page", `struct boot_params` (Linux `Documentation/x86/zero-page.rst`
//! for the offsets, `Documentation/x86/boot.rst` for what a boot loader fills in).

use alloc::vec;
use alloc::vec::Vec;

use super::bytes::{put, put_u16, put_u32};
use super::e820::{E820_ENTRY_SIZE, E820_MAX_ENTRIES_ZEROPAGE, E820Entry};
use super::setup_header::{CAN_USE_HEAP, LOADED_HIGH, SETUP_HEADER_OFFSET, SetupHeader, offset};

/// Size of `boot_params`: one page.
pub const BOOT_PARAMS_SIZE: usize = 0x1000;
/// `screen_info.orig_video_isVGA` (u8): 0 = no video console set up by the loader.
pub const ORIG_VIDEO_IS_VGA: usize = 0x0F;
/// `ext_ramdisk_image` (u32): bits 63:32 of the initrd address.
pub const EXT_RAMDISK_IMAGE: usize = 0x0C0;
/// `ext_ramdisk_size` (u32): bits 63:32 of the initrd size.
pub const EXT_RAMDISK_SIZE: usize = 0x0C4;
/// `ext_cmd_line_ptr` (u32): bits 63:32 of the command line address.
pub const EXT_CMD_LINE_PTR: usize = 0x0C8;
/// `e820_entries` (u8).
pub const E820_ENTRIES: usize = 0x1E8;
/// `e820_table` (128 entries of 20 bytes).
pub const E820_TABLE: usize = 0x2D0;
/// `type_of_loader` value of a loader without an assigned ID.
pub const LOADER_UNDEFINED: u8 = 0xFF;
/// `heap_end_ptr`: the end of the setup heap (0xE000) minus 0x200, as boot.rst's sample
/// loader sets it (only the real-mode setup code, which this loader skips, uses it).
pub const HEAP_END_PTR: u16 = 0xE000 - 0x200;

/// Where the initrd is and how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ramdisk {
    /// Guest-physical address.
    pub gpa: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Builds the zero page of `image` (whose header is `header`): the setup header copied to
/// 0x1F1, `type_of_loader` 0xFF, `loadflags` with LOADED_HIGH and CAN_USE_HEAP,
/// `heap_end_ptr`, the command line pointer, the initrd (if any), the e820 map (at most 128
/// entries are written) and a `screen_info` that says there is no VGA console.
pub fn build(
    image: &[u8],
    header: &SetupHeader,
    cmdline_gpa: u64,
    ramdisk: Option<Ramdisk>,
    e820: &[E820Entry],
) -> Vec<u8> {
    let mut page = vec![0u8; BOOT_PARAMS_SIZE];
    if let Some(hdr) = image.get(SETUP_HEADER_OFFSET..header.header_end) {
        put(&mut page, SETUP_HEADER_OFFSET, hdr);
    }
    page[ORIG_VIDEO_IS_VGA] = 0;
    page[offset::TYPE_OF_LOADER] = LOADER_UNDEFINED;
    page[offset::LOADFLAGS] = header.loadflags | LOADED_HIGH | CAN_USE_HEAP;
    put_u16(&mut page, offset::HEAP_END_PTR, HEAP_END_PTR);
    put_u32(&mut page, offset::CMD_LINE_PTR, cmdline_gpa as u32);
    put_u32(&mut page, EXT_CMD_LINE_PTR, (cmdline_gpa >> 32) as u32);
    let ramdisk = ramdisk.unwrap_or(Ramdisk { gpa: 0, len: 0 });
    put_u32(&mut page, offset::RAMDISK_IMAGE, ramdisk.gpa as u32);
    put_u32(&mut page, EXT_RAMDISK_IMAGE, (ramdisk.gpa >> 32) as u32);
    put_u32(&mut page, offset::RAMDISK_SIZE, ramdisk.len as u32);
    put_u32(&mut page, EXT_RAMDISK_SIZE, (ramdisk.len >> 32) as u32);
    let entries = &e820[..e820.len().min(E820_MAX_ENTRIES_ZEROPAGE)];
    page[E820_ENTRIES] = entries.len() as u8;
    for (i, entry) in entries.iter().enumerate() {
        put(
            &mut page,
            E820_TABLE + i * E820_ENTRY_SIZE,
            &entry.to_bytes(),
        );
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::{u8_at, u16_at, u32_at, u64_at};
    use crate::linux::e820::memory_map;
    use crate::linux::setup_header::test_image;

    #[test]
    fn fields_land_at_their_offsets() {
        let image = test_image(0x100);
        let header = SetupHeader::parse(&image).unwrap();
        let map = memory_map(256 << 20);
        let page = build(
            &image,
            &header,
            0x1_2002_0000,
            Some(Ramdisk {
                gpa: 0x3_0000_1000,
                len: 0x2_0000_0123,
            }),
            &map,
        );
        assert_eq!(page.len(), 4096);
        assert_eq!(
            u32_at(&page, offset::HEADER),
            Some(u32::from_le_bytes(*b"HdrS"))
        );
        assert_eq!(u16_at(&page, offset::VERSION), Some(0x020F));
        assert_eq!(u64_at(&page, offset::PREF_ADDRESS), Some(0x100_0000));
        assert_eq!(u8_at(&page, offset::TYPE_OF_LOADER), Some(0xFF));
        assert_eq!(
            u8_at(&page, offset::LOADFLAGS),
            Some(LOADED_HIGH | CAN_USE_HEAP)
        );
        assert_eq!(u16_at(&page, offset::HEAP_END_PTR), Some(0xDE00));
        assert_eq!(u32_at(&page, offset::CMD_LINE_PTR), Some(0x2002_0000));
        assert_eq!(u32_at(&page, EXT_CMD_LINE_PTR), Some(1));
        assert_eq!(u32_at(&page, offset::RAMDISK_IMAGE), Some(0x1000));
        assert_eq!(u32_at(&page, EXT_RAMDISK_IMAGE), Some(3));
        assert_eq!(u32_at(&page, offset::RAMDISK_SIZE), Some(0x123));
        assert_eq!(u32_at(&page, EXT_RAMDISK_SIZE), Some(2));
        assert_eq!(u8_at(&page, ORIG_VIDEO_IS_VGA), Some(0));
        assert_eq!(u8_at(&page, E820_ENTRIES), Some(map.len() as u8));
        for (i, e) in map.iter().enumerate() {
            let at = E820_TABLE + i * 20;
            assert_eq!(u64_at(&page, at), Some(e.addr));
            assert_eq!(u64_at(&page, at + 8), Some(e.size));
            assert_eq!(u32_at(&page, at + 16), Some(e.kind.raw()));
        }
        // The sentinel byte before the header stays zero.
        assert_eq!(u8_at(&page, 0x1EF), Some(0));
        // Nothing past the header's end is copied from the image.
        assert!(page[header.header_end..E820_TABLE].iter().all(|b| *b == 0));
    }

    #[test]
    fn no_ramdisk_gives_zero_fields() {
        let image = test_image(0x100);
        let header = SetupHeader::parse(&image).unwrap();
        let page = build(&image, &header, 0x2_0000, None, &[]);
        assert_eq!(u32_at(&page, offset::RAMDISK_IMAGE), Some(0));
        assert_eq!(u32_at(&page, offset::RAMDISK_SIZE), Some(0));
        assert_eq!(u8_at(&page, E820_ENTRIES), Some(0));
    }
}
