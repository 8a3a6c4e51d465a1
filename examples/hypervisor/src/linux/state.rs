//! The vCPU state at the kernel's entry point, as a [`GuestState`] for the VMCS guest-state
//! area (SDM Vol. 3C §25.4; VM entry checks it per §27.3.1) and the general-purpose
//! registers that carry the boot structure's address.
//!
//! * [`EntryState::Long64`] (bzImage): IA-32e mode (SDM Vol. 3A §10.8.5): CR0.PE|PG (plus
//!   ET, NE, WP), CR4.PAE, IA32_EFER.LME|LMA (the vCPU derives the "IA-32e mode guest"
//!   VM-entry control from EFER.LMA, SDM Vol. 3C §25.8.1), CS a 64-bit code segment, RSI the
//!   zero page.
//! * [`EntryState::Protected32`] (PVH): protected mode with paging off (CR0 = PE|ET|NE),
//!   EFER 0, CS a flat 32-bit code segment, EBX the start info. A guest without paging needs
//!   the "unrestricted guest" VM-execution control (SDM Vol. 3C §25.6.2, §27.3.1.1), which
//!   needs EPT; `vmx_vcpu` turns it on by itself for such a state
//!   ([`GuestState::needs_unrestricted_guest`]), so the vCPU must be created with an EPT.
//!
//! CR0 and CR4 are the guest-visible values; the vCPU adds the bits VMX operation fixes
//! (CR0.NE, CR4.VMXE; SDM Vol. 3C §24.8 and Appendix A.7/A.8) and keeps these in the read
//! shadows. Both states: ring 0, RFLAGS = 2 (interrupts off), no IDT, TR the busy TSS at
//! [`TSS_GPA`], GDTR the GDT the plan writes.

use vmx_vcpu::guest::{DescriptorTableRegister, GuestState, Segment};
use vmx_vcpu::regs::GuestRegisters;

use super::EntryState;
use super::layout::{BOOT_CS, BOOT_DS, BOOT_TR, STACK_TOP, TSS_GPA, TSS_LIMIT};

fn flat_segments(state: &mut GuestState) {
    for segment in [
        &mut state.ss,
        &mut state.ds,
        &mut state.es,
        &mut state.fs,
        &mut state.gs,
    ] {
        *segment = Segment::data(BOOT_DS);
    }
}

/// The VMCS guest state of the boot vCPU at the kernel's entry.
pub fn guest_state(entry: &EntryState) -> GuestState {
    let tr = Segment::tss(BOOT_TR, TSS_GPA, TSS_LIMIT);
    let idtr = DescriptorTableRegister { base: 0, limit: 0 };
    let mut state = match *entry {
        EntryState::Long64 {
            rip,
            cr3,
            gdt_base,
            gdt_limit,
            ..
        } => {
            let gdtr = DescriptorTableRegister {
                base: gdt_base,
                limit: gdt_limit,
            };
            let mut state = GuestState::long_mode(cr3, rip, STACK_TOP, tr, gdtr, idtr);
            state.cs = Segment::code64(BOOT_CS);
            state
        }
        EntryState::Protected32 {
            eip,
            gdt_base,
            gdt_limit,
            ..
        } => {
            let mut state = GuestState::protected_mode(eip, STACK_TOP as u32);
            state.cs = Segment::code32(BOOT_CS);
            state.tr = tr;
            state.gdtr = DescriptorTableRegister {
                base: gdt_base,
                limit: gdt_limit,
            };
            state.idtr = idtr;
            state
        }
    };
    flat_segments(&mut state);
    state.rflags = 1 << 1;
    state
}

/// The general-purpose registers at the kernel's entry: RSI = the zero page (bzImage) or
/// EBX = the start info (PVH), every other register zero.
pub fn entry_registers(entry: &EntryState) -> GuestRegisters {
    let mut regs = GuestRegisters::default();
    match *entry {
        EntryState::Long64 { rsi, .. } => regs.rsi = rsi,
        EntryState::Protected32 { ebx, .. } => regs.rbx = u64::from(ebx),
    }
    regs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::gdt::{CODE32_DESCRIPTOR, CODE64_DESCRIPTOR, DATA_DESCRIPTOR, GDT_LIMIT};
    use crate::linux::layout::{BOOT_PARAMS_GPA, GDT_GPA, PAGE_TABLES_GPA, START_INFO_GPA};
    use vmx_vcpu::guest::{CR0_PE, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME};

    /// The VMCS access rights of a GDT descriptor (bits 47:40 and 55:52, SDM Vol. 3C
    /// §25.4.1 Table 25-2).
    fn access_rights(descriptor: u64) -> u32 {
        (((descriptor >> 40) & 0xFF) | (((descriptor >> 52) & 0xF) << 12)) as u32
    }

    #[test]
    fn long64_state() {
        let entry = EntryState::Long64 {
            rip: 0x100_0200,
            rsi: BOOT_PARAMS_GPA,
            cr3: PAGE_TABLES_GPA,
            gdt_base: GDT_GPA,
            gdt_limit: GDT_LIMIT,
        };
        let s = guest_state(&entry);
        assert_eq!(s.rip, 0x100_0200);
        assert_eq!(s.cr3, PAGE_TABLES_GPA);
        assert_eq!(s.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
        assert_eq!(s.cr4 & CR4_PAE, CR4_PAE);
        assert_eq!(s.efer, EFER_LME | EFER_LMA);
        assert!(s.is_long_mode());
        assert!(!s.needs_unrestricted_guest());
        assert_eq!(s.cs.selector, 0x10);
        assert_eq!(s.cs.access_rights.raw(), access_rights(CODE64_DESCRIPTOR));
        for seg in [s.ds, s.es, s.ss] {
            assert_eq!(seg.selector, 0x18);
            assert_eq!(seg.access_rights.raw(), access_rights(DATA_DESCRIPTOR));
        }
        assert_eq!(s.gdtr.base, GDT_GPA);
        assert_eq!(s.gdtr.limit, GDT_LIMIT);
        assert_eq!(s.tr.selector, BOOT_TR);
        assert_eq!(s.tr.base, TSS_GPA);
        assert_eq!(s.rflags, 2);
        assert_eq!(entry_registers(&entry).rsi, BOOT_PARAMS_GPA);
        assert_eq!(entry_registers(&entry).rbx, 0);
    }

    #[test]
    fn protected32_state() {
        let entry = EntryState::Protected32 {
            eip: 0x100_0040,
            ebx: START_INFO_GPA as u32,
            gdt_base: GDT_GPA,
            gdt_limit: GDT_LIMIT,
        };
        let s = guest_state(&entry);
        assert_eq!(s.rip, 0x100_0040);
        assert_eq!(s.cr0 & (CR0_PE | CR0_PG), CR0_PE);
        assert_eq!(s.cr4, 0);
        assert_eq!(s.efer, 0);
        assert!(!s.is_long_mode());
        assert!(s.needs_unrestricted_guest());
        assert_eq!(s.cs.selector, 0x10);
        assert_eq!(s.cs.access_rights.raw(), access_rights(CODE32_DESCRIPTOR));
        assert_eq!(s.cs.limit, 0xFFFF_FFFF);
        for seg in [s.ds, s.es, s.ss] {
            assert_eq!(seg.selector, 0x18);
            assert_eq!(seg.base, 0);
            assert_eq!(seg.limit, 0xFFFF_FFFF);
            assert_eq!(seg.access_rights.raw(), access_rights(DATA_DESCRIPTOR));
        }
        assert_eq!(s.gdtr.base, GDT_GPA);
        assert_eq!(s.rflags, 2);
        let regs = entry_registers(&entry);
        assert_eq!(regs.rbx, START_INFO_GPA);
        assert_eq!(regs.rsi, 0);
    }
}
