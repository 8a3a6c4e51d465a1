//! `Display` of the exit-qualification (SDM Vol. 3C §28.2.1) and instruction-information
//! (§28.2.5) types: exact text for typical exits, and never a panic for any value.

use proptest::prelude::*;
use vmx_defs::instruction_info::{ExitInstructionInfo, Operand};
use vmx_defs::qualification::{
    ApicAccessQualification, CrAccessQualification, EptViolationQualification, ExitQualification,
    IoQualification, MovDrQualification,
};

fn q(reason: u16, raw: u64) -> String {
    ExitQualification::decode(reason, raw).to_string()
}

fn ii(reason: u16, raw: u32) -> String {
    ExitInstructionInfo::decode(reason, raw).to_string()
}

#[test]
fn qualifications_read_like_the_instruction() {
    assert_eq!(
        CrAccessQualification::from_raw(0x3).to_string(),
        "MOV to CR3 from RAX"
    );
    assert_eq!(q(28, 0x314), "MOV from CR4 to RBX");
    assert_eq!(q(28, 0x20), "CLTS");
    assert_eq!(
        q(28, 0x0011_0030),
        "LMSW from register operand, source data 0x0011"
    );
    assert_eq!(
        MovDrQualification::from_raw(0x717).to_string(),
        "MOV from DR7 to RDI"
    );
    assert_eq!(
        IoQualification::from_raw(0x0060_0048).to_string(),
        "IN byte from port 0x60 (immediate)"
    );
    assert_eq!(q(30, 0x03f8_0033), "REP OUTS dword to port 0x3f8 (DX)");
    assert_eq!(
        q(9, 0x4000_0028),
        "task switch by IRET to TSS selector 0x0028"
    );
    assert_eq!(q(4, 0x9a), "SIPI vector 0x9a (start address 0x9a000)");
    assert_eq!(
        q(14, 0xffff_8000_0000_1000),
        "INVLPG of linear address 0xffff800000001000"
    );
    assert_eq!(
        ExitQualification::decode_exception(14, 0x1234).to_string(),
        "page fault at linear address 0x1234"
    );
    assert_eq!(
        ExitQualification::decode_exception(1, 0x4001).to_string(),
        "debug exception: B0 BS (single step)"
    );
    assert_eq!(q(32, 0), "WRMSR");
    assert_eq!(q(32, 1), "WRMSRNS");
    assert_eq!(q(33, 4), "VM-entry failure: invalid VMCS link pointer");
    assert_eq!(q(34, 2), "VM-entry failure: MSR-load entry 2 failed");
    assert_eq!(q(36, 1), "MWAIT with monitoring hardware armed");
    assert_eq!(
        ApicAccessQualification::from_raw(0x10b0).to_string(),
        "APIC access: linear data write at offset 0x0b0"
    );
    assert_eq!(
        q(44, 0x1_a000),
        "APIC access: guest-physical access during event delivery, asynchronous to instruction execution"
    );
    assert_eq!(q(45, 0x31), "virtualized EOI for vector 0x31");
    assert_eq!(
        EptViolationQualification::from_raw(0x18a).to_string(),
        "EPT violation: data write; page r--; linear address translated"
    );
    assert_eq!(
        q(48, 0x1084),
        "EPT violation: instruction fetch; page ---; guest paging-structure access, NMI unblocking due to IRET"
    );
    assert_eq!(
        q(48, 0x1),
        "EPT violation: data read; page ---; no guest linear address"
    );
    assert_eq!(q(56, 0x300), "APIC write at offset 0x300");
    assert_eq!(
        q(62, 0x1000),
        "page-modification log full, NMI unblocking due to IRET"
    );
    assert_eq!(q(66, 0x800), "SPP miss");
    assert_eq!(q(66, 0), "SPP misconfiguration");
    assert_eq!(q(75, 1), "instruction timeout, VM context invalid");
    assert_eq!(q(84, 0x10), "immediate-form access to MSR 0x10");
    assert_eq!(q(19, 0x20), "displacement 0x20");
    assert_eq!(
        q(5, 0x0060_0048),
        "I/O SMI after IN byte from port 0x60 (immediate)"
    );
    assert_eq!(q(0xffff, 7), "exit qualification 0x7");
}

#[test]
fn instruction_info_reads_like_the_operands() {
    // LGDT DS:[RAX+RBX*4], 64-bit addressing, 32-bit operand size.
    let lgdt = 2 | 2 << 7 | 1 << 11 | 3 << 15 | 3 << 18 | 2 << 28;
    assert_eq!(
        ii(46, lgdt),
        "LGDT DS:[RAX+RBX*4] (64-bit address), 32-bit operand"
    );
    // LTR from register RCX (bit 10 = register operand, reg1 in 6:3).
    assert_eq!(ii(47, 1 << 10 | 1 << 3 | 3 << 28), "LTR RCX");
    // VMREAD into [RSP] via SS, field encoding in RDX.
    let vmread = 2 << 7 | 2 << 15 | 1 << 22 | 4 << 23 | 2 << 28;
    assert_eq!(
        ii(23, vmread),
        "field encoding in RDX, value operand SS:[RSP] (64-bit address)"
    );
    assert_eq!(ii(57, 5 << 3 | 2 << 11), "register RBP, 64-bit operand");
    assert_eq!(ii(69, 1 << 3 | 2 << 28), "XMM1, XMM2");
    assert_eq!(ii(84, 15 << 3), "register R15");
    assert_eq!(
        ii(30, 1 << 7 | 3 << 15),
        "string I/O via DS, 32-bit address"
    );
    // No base, no index: only a displacement.
    assert_eq!(
        ii(19, 1 << 7 | 3 << 15 | 1 << 22 | 1 << 27),
        "memory operand DS:[disp] (32-bit address)"
    );
    assert_eq!(
        ii(50, 2 << 7 | 3 << 15 | 1 << 22 | 2 << 28),
        "type in RDX, descriptor at DS:[RAX] (64-bit address)"
    );
    assert_eq!(ii(1, 0x55), "instruction information 0x55");
    assert_eq!(
        Operand::Register(vmx_defs::instruction_info::Gpr::R8).to_string(),
        "R8"
    );
}

proptest! {
    #[test]
    fn display_never_panics(reason in any::<u16>(), raw in any::<u64>(), vector in any::<u8>()) {
        prop_assert!(!ExitQualification::decode(reason, raw).to_string().is_empty());
        prop_assert!(!ExitQualification::decode_exception(vector, raw).to_string().is_empty());
        prop_assert!(!ExitInstructionInfo::decode(reason, raw as u32).to_string().is_empty());
    }

    #[test]
    fn display_for_every_known_reason(raw in any::<u64>()) {
        for reason in 0..=90u16 {
            prop_assert!(!ExitQualification::decode(reason, raw).to_string().is_empty());
            prop_assert!(!ExitInstructionInfo::decode(reason, raw as u32).to_string().is_empty());
        }
    }
}
