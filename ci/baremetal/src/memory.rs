//! Installed RAM, from the CMOS (the Bochs BIOS and PC-compatible firmware fill it).
//!
//! CMOS 0x30/0x31: KiB of extended memory between 1 MiB and 16 MiB (at most 15 MiB);
//! CMOS 0x34/0x35: 64 KiB units above 16 MiB (up to 4 GiB).

use crate::cpu::{inb, outb};

fn cmos(reg: u8) -> u8 {
    // SAFETY: selecting a CMOS register (NMI-disable bit set) and reading it back.
    unsafe {
        outb(0x70, 0x80 | reg);
        inb(0x71)
    }
}

/// The first address past the RAM that starts at 1 MiB.
pub fn ram_top() -> u64 {
    let above_16m = u64::from(cmos(0x34)) | (u64::from(cmos(0x35)) << 8);
    if above_16m != 0 {
        return (16 << 20) + above_16m * (64 << 10);
    }
    let ext_kib = u64::from(cmos(0x30)) | (u64::from(cmos(0x31)) << 8);
    (1 << 20) + ext_kib * 1024
}
