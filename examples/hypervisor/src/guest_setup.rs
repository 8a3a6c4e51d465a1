//! The guest's 64-bit environment, built by the hypervisor in guest RAM before the first
//! VM entry: a GDT with a TSS, 4-level page tables, and the register state to start with.
//!
//! The guest starts directly in IA-32e mode (64-bit), as if a boot loader had run: CR0.PE and
//! CR0.PG set, CR4.PAE set, IA32_EFER.LME and LMA set, CS a 64-bit code segment (SDM Vol. 3A
//! §10.8.5 "Initializing IA-32e Mode"). VM entry loads this state directly from the VMCS
//! guest-state area (SDM Vol. 3C §28.3.2), so the descriptors written here are what the guest
//! would find if it reloaded a segment register or read its GDT; the [`GuestState`] returned
//! by [`build`] agrees with them.
//!
//! Layout (guest-physical, see [`example_guest::abi`]): the GDT at
//! [`GUEST_GDT_GPA`] with the 104-byte TSS 0x80 bytes after
//! it; the PML4 at [`GUEST_PAGE_TABLES_GPA`], then
//! the PDPT, then four page directories of 2-MiB pages mapping the first 4 GiB 1:1.

use core::fmt;

use example_guest::abi::{GUEST_CS, GUEST_DS, GUEST_GDT_GPA, GUEST_PAGE_TABLES_GPA, GUEST_TR};
use vmx_vcpu::guest::{DescriptorTableRegister, GuestState, Segment};

/// Offset of the TSS from the GDT's start.
const TSS_OFFSET: u64 = 0x80;
/// Size of a 64-bit TSS minus one: its limit (SDM Vol. 3A §9.7, Figure 9-11).
const TSS_LIMIT: u32 = 0x67;
/// Number of GDT bytes used: null, code, data, 16-byte TSS descriptor.
const GDT_SIZE: u64 = 0x28;

/// Page-table entry bits (SDM Vol. 3A §5.5.5, Tables 5-15 to 5-20).
const PTE_PRESENT: u64 = 1 << 0;
const PTE_WRITABLE: u64 = 1 << 1;
const PTE_WRITE_THROUGH: u64 = 1 << 3;
const PTE_CACHE_DISABLE: u64 = 1 << 4;
const PTE_PAGE_SIZE: u64 = 1 << 7;

/// CR0 bits (SDM Vol. 3A §2.5).
const CR0_PE: u64 = 1 << 0;
const CR0_MP: u64 = 1 << 1;
const CR0_ET: u64 = 1 << 4;
const CR0_NE: u64 = 1 << 5;
const CR0_WP: u64 = 1 << 16;
const CR0_PG: u64 = 1 << 31;
/// CR4.PAE (SDM Vol. 3A §2.5).
const CR4_PAE: u64 = 1 << 5;
/// IA32_EFER.LME and LMA (SDM Vol. 3A §2.2.1).
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

/// Guest RAM is too small for the structures written here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamTooSmall {
    /// Bytes needed.
    pub needed: u64,
    /// Bytes available.
    pub available: u64,
}

impl fmt::Display for RamTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "guest RAM of {:#x} bytes is too small (the GDT and page tables need {:#x})",
            self.available, self.needed
        )
    }
}

fn write_u64(ram: &mut [u8], gpa: u64, value: u64) {
    let Ok(at) = usize::try_from(gpa) else { return };
    if let Some(slot) = at.checked_add(8).and_then(|end| ram.get_mut(at..end)) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// A 16-byte 64-bit TSS descriptor (SDM Vol. 3A §9.2.3, Figure 9-4) for a busy TSS.
fn tss_descriptor(base: u64, limit: u32) -> [u64; 2] {
    let low = u64::from(limit & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x8B << 40) // present, DPL 0, type 11 (busy 64-bit TSS)
        | (u64::from((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    [low, base >> 32]
}

/// Writes the GDT, the TSS and the page tables into `ram` (guest RAM from guest-physical 0)
/// and returns the state to enter the guest with at `entry`: 64-bit mode, ring 0, CS =
/// [`GUEST_CS`], the data segments = [`GUEST_DS`], TR = [`GUEST_TR`] (the descriptors written
/// here), RSP at the top of RAM, interrupts disabled. CR0 and CR4 are the values the guest
/// sees; the vCPU adds the bits VMX operation fixes (SDM Vol. 3C §24.8).
pub fn build(ram: &mut [u8], entry: u64) -> Result<GuestState, RamTooSmall> {
    let tables_end = GUEST_PAGE_TABLES_GPA + 6 * 4096;
    let available = ram.len() as u64;
    if available < tables_end {
        return Err(RamTooSmall {
            needed: tables_end,
            available,
        });
    }

    // GDT: null, 64-bit code (0x08), data (0x10), TSS (0x18, 16 bytes) (SDM Vol. 3A §3.4.5).
    let tss_base = GUEST_GDT_GPA + TSS_OFFSET;
    write_u64(ram, GUEST_GDT_GPA, 0);
    write_u64(
        ram,
        GUEST_GDT_GPA + u64::from(GUEST_CS),
        0x00AF_9B00_0000_FFFF,
    );
    write_u64(
        ram,
        GUEST_GDT_GPA + u64::from(GUEST_DS),
        0x00CF_9300_0000_FFFF,
    );
    let [tss_low, tss_high] = tss_descriptor(tss_base, TSS_LIMIT);
    write_u64(ram, GUEST_GDT_GPA + u64::from(GUEST_TR), tss_low);
    write_u64(ram, GUEST_GDT_GPA + u64::from(GUEST_TR) + 8, tss_high);
    // The TSS itself: all zero (no stack switches, no I/O permission bitmap: the I/O map
    // base is set past the limit).
    for offset in (0..=u64::from(TSS_LIMIT)).step_by(8) {
        write_u64(ram, tss_base + offset, 0);
    }
    write_u64(ram, tss_base + 0x60, 0x68 << 48);

    // Page tables: PML4[0] -> PDPT; PDPT[0..4] -> PD0..PD3; PDn[i] -> 2-MiB page
    // n GiB + i * 2 MiB. The fourth GiB (MMIO, as on a PC) is uncached.
    let pml4 = GUEST_PAGE_TABLES_GPA;
    let pdpt = pml4 + 0x1000;
    write_u64(ram, pml4, pdpt | PTE_PRESENT | PTE_WRITABLE);
    for gib in 0..4u64 {
        let pd = pdpt + 0x1000 * (gib + 1);
        write_u64(ram, pdpt + gib * 8, pd | PTE_PRESENT | PTE_WRITABLE);
        let caching = if gib == 3 {
            PTE_CACHE_DISABLE | PTE_WRITE_THROUGH
        } else {
            0
        };
        for i in 0..512u64 {
            let page = (gib << 30) | (i << 21);
            write_u64(
                ram,
                pd + i * 8,
                page | PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE | caching,
            );
        }
    }

    let tr = Segment::tss(GUEST_TR, tss_base, TSS_LIMIT);
    let gdtr = DescriptorTableRegister {
        base: GUEST_GDT_GPA,
        limit: (GDT_SIZE - 1) as u16,
    };
    // No IDT yet: the guest loads its own before enabling interrupts.
    let idtr = DescriptorTableRegister { base: 0, limit: 0 };
    let mut state = GuestState::long_mode(pml4, entry, available, tr, gdtr, idtr);
    state.cs = Segment::code64(GUEST_CS);
    for segment in [
        &mut state.ss,
        &mut state.ds,
        &mut state.es,
        &mut state.fs,
        &mut state.gs,
    ] {
        *segment = Segment::data(GUEST_DS);
    }
    state.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    state.cr4 = CR4_PAE;
    state.efer = EFER_LME | EFER_LMA;
    state.rflags = 1 << 1;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::{RamSlice, WalkError};
    use alloc::vec;
    use example_guest::abi::GUEST_RAM_SIZE;
    use vmx_vcpu::GuestPhysAddr;
    use vmx_vcpu::mmio::{Access, AccessKind, PageFault, PagingState, translate};

    fn read_u64(ram: &[u8], gpa: u64) -> Option<u64> {
        let at = usize::try_from(gpa).ok()?;
        let bytes = ram.get(at..at + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    #[test]
    fn page_tables_identity_map_ram_and_the_device_page() {
        let mut ram = vec![0u8; GUEST_RAM_SIZE as usize];
        let state = build(&mut ram, 0x10_0000).unwrap();
        let paging = PagingState {
            cr0: state.cr0,
            cr3: state.cr3,
            cr4: state.cr4,
            efer: state.efer,
            pdptes: None,
            maxphyaddr: 39,
        };
        let walk = |gva| {
            translate(
                &RamSlice(&ram),
                &paging,
                gva,
                Access::new(AccessKind::Read, 0),
            )
            .map(|t| t.gpa)
        };
        for gva in [
            0x10_0000u64,
            0x1F_FFFF,
            0x3F_F000,
            example_guest::abi::DEVICE_BASE + 8,
        ] {
            assert_eq!(walk(gva), Ok(GuestPhysAddr::new(gva)));
        }
        // Not present at the PDPT level: a #PF with P = 0.
        assert_eq!(
            walk(1 << 32),
            Err(WalkError::PageFault(PageFault {
                address: 1 << 32,
                error_code: 0
            }))
        );
    }

    #[test]
    fn gdt_descriptors_match_the_vmcs_state() {
        let mut ram = vec![0u8; GUEST_RAM_SIZE as usize];
        let state = build(&mut ram, 0x10_0000).unwrap();
        let code = read_u64(&ram, GUEST_GDT_GPA + 8).unwrap();
        // Access byte (bits 47:40) and flags (55:52) are the VMCS access rights' bits.
        let ar = |d: u64| (((d >> 40) & 0xFF) | (((d >> 52) & 0xF) << 12)) as u32;
        assert_eq!(ar(code), state.cs.access_rights.raw());
        let data = read_u64(&ram, GUEST_GDT_GPA + 16).unwrap();
        assert_eq!(ar(data), state.ds.access_rights.raw());
        let tss = read_u64(&ram, GUEST_GDT_GPA + 24).unwrap();
        assert_eq!(ar(tss), state.tr.access_rights.raw());
        assert_eq!(tss & 0xFFFF, u64::from(state.tr.limit));
        assert_eq!((tss >> 16) & 0xFF_FFFF, state.tr.base & 0xFF_FFFF);
    }

    #[test]
    fn too_small_ram_is_an_error() {
        let mut ram = vec![0u8; 0x4000];
        assert!(build(&mut ram, 0).is_err());
    }
}
