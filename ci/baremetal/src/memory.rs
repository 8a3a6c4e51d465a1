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

/// Puts a not-present guard page below the boot stack: the 2 MiB page holding it is split
/// into 4 KiB pages (one new page table from the frame allocator) and the guard's entry is
/// cleared (SDM Vol. 3A §5.5.4). A stack overflow then faults (#PF, then #DF on its IST
/// stack because the #PF frame cannot be pushed) instead of overwriting the page tables
/// below the stack; under a catch it is reported like any exception.
#[cfg(target_os = "none")]
pub(crate) fn install_stack_guard() -> Result<(), &'static str> {
    unsafe extern "C" {
        static boot_stack_guard: u8;
        static boot_pd: u8;
    }
    let guard = &raw const boot_stack_guard as u64;
    let pd = &raw const boot_pd as u64;
    let big_page = guard & !0x1F_FFFF;
    let index = (guard >> 21) as usize;
    if index >= 4 * 512 {
        return Err("stack guard above 4 GiB");
    }
    let pde_ptr = (pd + 8 * index as u64) as *mut u64;
    // SAFETY: `boot_pd` holds 2048 PDEs (4 page directories) and `index` < 2048.
    let pde = unsafe { pde_ptr.read_volatile() };
    if pde & 0x81 != 0x81 {
        return Err("stack guard is not in a present 2 MiB page");
    }
    let pt = crate::frames::alloc_frame().ok_or("no frame for the stack guard's page table")?;
    let flags = pde & 0x1F & !0x80 | 0x3; // keep PWT/PCD, present + writable, no PS
    for i in 0..512u64 {
        let addr = big_page + i * 4096;
        let entry = if addr == guard { 0 } else { addr | flags };
        // SAFETY: `pt` is a fresh, identity-mapped 4 KiB frame: 512 entries.
        unsafe { ((pt + i * 8) as *mut u64).write_volatile(entry) };
    }
    // SAFETY: the new table maps the same 2 MiB identically except the unused guard page;
    // reloading CR3 flushes the old 2 MiB translation.
    unsafe {
        pde_ptr.write_volatile(pt | 0x3 | (pde & 0x18));
        crate::cpu::write_cr3(crate::cpu::read_cr3());
    }
    Ok(())
}
