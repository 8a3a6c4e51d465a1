//! The GDT and TSS page of the entry state (SDM Vol. 3A §3.4.5 "Segment Descriptors",
//! §3.5.1 "Segment Descriptor Tables", §9.2.2 and §9.2.3 for TSS descriptors).
//!
//! Selector [`BOOT_CS`] is a flat code segment (64-bit for the bzImage 64-bit entry, 32-bit
//! for the PVH entry), [`BOOT_DS`] a flat read/write data segment, [`BOOT_TR`] a busy TSS at
//! [`TSS_GPA`]: the selectors Linux's 64-bit boot protocol names (`__BOOT_CS` 0x10,
//! `__BOOT_DS` 0x18). VM entry takes the segment registers from the VMCS (SDM Vol. 3C
//! §28.3.2.2), so these descriptors are what the guest finds if it reloads a selector.

use alloc::vec;
use alloc::vec::Vec;

use super::bytes::{put_u16, put_u64};
use super::layout::{BOOT_CS, BOOT_DS, BOOT_TR, GDT_GPA, TSS_GPA, TSS_LIMIT};

/// Flat 64-bit ring-0 code: P, S, type 0xB (execute/read, accessed), L, G.
pub const CODE64_DESCRIPTOR: u64 = 0x00AF_9B00_0000_FFFF;
/// Flat 32-bit ring-0 code: P, S, type 0xB, D/B, G, limit 0xFFFFF pages.
pub const CODE32_DESCRIPTOR: u64 = 0x00CF_9B00_0000_FFFF;
/// Flat ring-0 read/write data: P, S, type 0x3 (read/write, accessed), D/B, G.
pub const DATA_DESCRIPTOR: u64 = 0x00CF_9300_0000_FFFF;
/// Bytes of the GDT in use: null, unused, code, data, a 16-byte TSS descriptor.
pub const GDT_SIZE: u16 = 0x30;
/// The GDT limit loaded into GDTR.
pub const GDT_LIMIT: u16 = GDT_SIZE - 1;
/// Offset of the I/O map base field in a 32-bit or 64-bit TSS (SDM Vol. 3A Figures 9-2 and
/// 9-11).
const TSS_IO_MAP_BASE: usize = 0x66;

/// The code segment's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeSize {
    /// 64-bit code (L = 1), for the bzImage 64-bit entry.
    Long64,
    /// 32-bit code (D = 1), for the PVH entry.
    Protected32,
}

/// A busy TSS descriptor (type 0xB, present, byte granular) for `base` and `limit`: the
/// low eight bytes, then the high eight (bits 63:32 of the base; used in IA-32e mode only).
pub fn tss_descriptor(base: u64, limit: u32) -> [u64; 2] {
    let low = u64::from(limit & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x8B << 40)
        | (u64::from((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    [low, base >> 32]
}

/// The GDT page at [`GDT_GPA`]: the GDT, and the TSS at [`TSS_GPA`] (zero, its I/O map base
/// past its limit, so it has no I/O permission bitmap).
pub fn page(code: CodeSize) -> Vec<u8> {
    let mut page = vec![0u8; 0x1000];
    let code_descriptor = match code {
        CodeSize::Long64 => CODE64_DESCRIPTOR,
        CodeSize::Protected32 => CODE32_DESCRIPTOR,
    };
    put_u64(&mut page, usize::from(BOOT_CS), code_descriptor);
    put_u64(&mut page, usize::from(BOOT_DS), DATA_DESCRIPTOR);
    let [low, high] = tss_descriptor(TSS_GPA, TSS_LIMIT);
    put_u64(&mut page, usize::from(BOOT_TR), low);
    put_u64(&mut page, usize::from(BOOT_TR) + 8, high);
    let tss = (TSS_GPA - GDT_GPA) as usize;
    put_u16(&mut page, tss + TSS_IO_MAP_BASE, (TSS_LIMIT + 1) as u16);
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::{u16_at, u64_at};

    #[test]
    fn descriptors_are_where_the_selectors_point() {
        let p = page(CodeSize::Long64);
        assert_eq!(u64_at(&p, 0), Some(0));
        assert_eq!(u64_at(&p, 0x10), Some(CODE64_DESCRIPTOR));
        assert_eq!(u64_at(&p, 0x18), Some(DATA_DESCRIPTOR));
        let tss = u64_at(&p, 0x20).unwrap();
        assert_eq!(tss & 0xFFFF, 0x67);
        assert_eq!((tss >> 16) & 0xFF_FFFF, TSS_GPA);
        assert_eq!((tss >> 40) & 0xFF, 0x8B);
        assert_eq!(u64_at(&p, 0x28), Some(0));
        assert_eq!(u16_at(&p, 0x80 + 0x66), Some(0x68));
        let p = page(CodeSize::Protected32);
        assert_eq!(u64_at(&p, 0x10), Some(CODE32_DESCRIPTOR));
        assert!(usize::from(GDT_LIMIT) < 0x80);
    }

    #[test]
    fn tss_descriptor_splits_base_and_limit() {
        let [low, high] = tss_descriptor(0x1234_5678_9ABC_DEF0, 0xA_BCDE);
        assert_eq!(low & 0xFFFF, 0xBCDE);
        assert_eq!((low >> 48) & 0xF, 0xA);
        assert_eq!((low >> 16) & 0xFF_FFFF, 0xBC_DEF0);
        assert_eq!(low >> 56, 0x9A);
        assert_eq!(high, 0x1234_5678);
    }
}
