//! VM-exit instruction-information decoders cross-checked against
//! `data/exit-qualifications.tsv` (the `INSTR_INFO.*` rows, SDM Vol. 3C §28.2.5), SDM
//! examples, and proptests.
//!
//! Under Miri (`.ci/run`) the tests that parse the tsv tables and cross-check them are
//! ignored: `vmx-defs` is `#![forbid(unsafe_code)]`, so these pure table comparisons hold
//! no unsafe code for Miri to check, and interpreting the tsv parsing takes minutes each.
//! They run natively in `cargo test`; the SDM examples and proptests here still run under
//! Miri.

use proptest::prelude::*;
use vmx_defs::instruction_info::*;

mod common;

use common::{FieldRow, check_every_accessor_has_a_row, check_rows_map_to_accessors, field_rows};

const TSV: &str = include_str!("data/exit-qualifications.tsv");

/// Reads one accessor of one decoder from a raw value, formatted for comparison.
type Reader = common::Reader<String>;

/// The `INSTR_INFO.*` rows of the tsv.
fn rows() -> Vec<FieldRow> {
    let rows = field_rows(TSV, "INSTR_INFO.");
    for row in &rows {
        assert!(
            !row.field.is_empty(),
            "INSTR_INFO.{}: no field name",
            row.kind
        );
    }
    rows
}

macro_rules! acc {
    ($t:ty, $m:ident) => {
        (|raw: u64| format!("{:?}", <$t>::from_raw(raw as u32).$m())) as Reader
    };
}

macro_rules! memory_accessors {
    ($t:ty) => {
        vec![
            ("SCALING", acc!($t, scaling)),
            ("ADDRESS_SIZE", acc!($t, address_size)),
            ("MEM_REG", acc!($t, is_register_operand)),
            ("SEGMENT", acc!($t, segment)),
            ("INDEX_REG", acc!($t, index_register)),
            ("INDEX_REG_INVALID", acc!($t, index_register_invalid)),
            ("BASE_REG", acc!($t, base_register)),
            ("BASE_REG_INVALID", acc!($t, base_register_invalid)),
        ]
    };
}

/// The accessors for the named fields of one instruction-information format.
fn accessors(kind: &str) -> Vec<(&'static str, Reader)> {
    match kind {
        "INS_OUTS" => vec![
            ("ADDRESS_SIZE", acc!(InsOutsInfo, address_size)),
            ("SEGMENT", acc!(InsOutsInfo, segment)),
        ],
        "INVALIDATE" => {
            let mut v = memory_accessors!(InvalidationInfo);
            v.push(("REG2", acc!(InvalidationInfo, reg2)));
            v
        }
        "GDTR_IDTR" => {
            let mut v = memory_accessors!(DescriptorTableInfo);
            v.push(("OPERAND_SIZE", acc!(DescriptorTableInfo, operand_size)));
            v.push(("INSTRUCTION", acc!(DescriptorTableInfo, instruction)));
            v
        }
        "LDTR_TR" => {
            let mut v = memory_accessors!(LdtrTrInfo);
            v.push(("REG1", acc!(LdtrTrInfo, reg1)));
            v.push(("INSTRUCTION", acc!(LdtrTrInfo, instruction)));
            v
        }
        "RDRAND_RDSEED" => vec![
            ("OPERAND_REG", acc!(RdrandRdseedInfo, operand_register)),
            ("OPERAND_SIZE", acc!(RdrandRdseedInfo, operand_size)),
        ],
        "VMX_XSAVES" => memory_accessors!(VmxMemoryInfo),
        "VMREAD_VMWRITE" => {
            let mut v = memory_accessors!(VmreadVmwriteInfo);
            v.push(("REG1", acc!(VmreadVmwriteInfo, reg1)));
            v.push(("REG2", acc!(VmreadVmwriteInfo, reg2)));
            v
        }
        "MSR_IMM" => vec![("REG", acc!(MsrImmediateInfo, register))],
        "LOADIWKEY" => vec![
            ("REG1", acc!(LoadiwkeyInfo, xmm1)),
            ("REG2", acc!(LoadiwkeyInfo, xmm2)),
        ],
        other => panic!("tsv format {other} has no decoder in instruction_info"),
    }
}

/// Whether `info` is the variant the tsv format is decoded to.
fn is_variant(kind: &str, info: ExitInstructionInfo) -> bool {
    use ExitInstructionInfo as E;
    match kind {
        "INS_OUTS" => matches!(info, E::InsOuts(_)),
        "INVALIDATE" => matches!(info, E::Invalidation(_)),
        "GDTR_IDTR" => matches!(info, E::DescriptorTable(_)),
        "LDTR_TR" => matches!(info, E::LdtrTr(_)),
        "RDRAND_RDSEED" => matches!(info, E::RdrandRdseed(_)),
        "VMX_XSAVES" => matches!(info, E::VmxMemory(_)),
        "VMREAD_VMWRITE" => matches!(info, E::VmreadVmwrite(_)),
        "MSR_IMM" => matches!(info, E::MsrImmediate(_)),
        "LOADIWKEY" => matches!(info, E::Loadiwkey(_)),
        other => panic!("tsv format {other} has no ExitInstructionInfo variant"),
    }
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn tsv_has_instruction_info_rows() {
    assert!(
        rows().len() >= 70,
        "only {} INSTR_INFO rows parsed",
        rows().len()
    );
}

/// Every defined tsv row maps to exactly one accessor: setting exactly the row's bits (all
/// of them, and each one alone) changes that accessor and no other of the same format.
/// Undefined rows change no accessor.
#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn every_tsv_row_maps_to_its_accessor() {
    check_rows_map_to_accessors(&rows(), "INSTR_INFO.", accessors, |field| {
        field == "UNDEFINED"
    });
}

/// Every accessor of a format is backed by a tsv row (no invented fields).
#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn every_accessor_has_a_tsv_row() {
    check_every_accessor_has_a_row(&rows(), accessors);
}

/// The reasons column of every row decodes to the matching `ExitInstructionInfo` variant.
#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn decode_picks_the_tsv_format_for_each_reason() {
    for row in rows() {
        let numbers = row.reasons.split(' ').next().unwrap_or_default();
        for reason in numbers.split(',') {
            let reason: u16 = reason.parse().unwrap();
            let info = ExitInstructionInfo::decode(reason, 0x1234_5678);
            assert!(
                is_variant(&row.kind, info),
                "reason {reason} ({}) -> {info:?}",
                row.kind
            );
            assert_eq!(info.raw(), 0x1234_5678);
        }
    }
    assert_eq!(
        ExitInstructionInfo::decode(10, 7),
        ExitInstructionInfo::Raw(7)
    );
}

const DS: u32 = 3 << 15;
const ADDR64: u32 = 2 << 7;
const NO_INDEX: u32 = 1 << 22;
const NO_BASE: u32 = 1 << 27;
const REGISTER: u32 = 1 << 10;

#[test]
fn vmptrld_rdi() {
    // VMPTRLD [RDI] in 64-bit mode.
    let info = VmxMemoryInfo::from_raw(ADDR64 | DS | NO_INDEX | (7 << 23));
    assert_eq!(
        info.memory_operand(),
        MemoryOperand {
            segment: SegmentRegister::Ds,
            address_size: AddressSize::Bits64,
            base: Some(Gpr::Rdi),
            index: None,
            scaling: Scaling::None,
        }
    );
    assert!(!info.is_register_operand());
}

#[test]
fn invept_rax_rsi_rcx8() {
    // INVEPT RAX, [RSI + RCX*8].
    let info = InvalidationInfo::from_raw(3 | ADDR64 | DS | (1 << 18) | (6 << 23));
    assert_eq!(info.reg2(), Gpr::Rax);
    assert_eq!(info.index(), Some(Gpr::Rcx));
    assert_eq!(info.base(), Some(Gpr::Rsi));
    assert_eq!(info.scaling(), Scaling::By8);
    assert_eq!(info.scaling().factor(), 8);
    // INVVPID R11, [disp32]: no base, no index.
    let info = InvalidationInfo::from_raw(ADDR64 | DS | NO_INDEX | NO_BASE | (11 << 28));
    assert_eq!(
        (info.reg2(), info.base(), info.index()),
        (Gpr::R11, None, None)
    );
}

#[test]
fn vmread_vmwrite_forms() {
    // VMREAD RAX, RBX (field encoding in RBX, register destination RAX).
    let info = VmreadVmwriteInfo::from_raw(REGISTER | (3 << 28));
    assert_eq!(info.operand(), Operand::Register(Gpr::Rax));
    assert_eq!(info.reg2(), Gpr::Rbx);
    // VMWRITE R8, [RSP+...] with SS, 64-bit.
    let info = VmreadVmwriteInfo::from_raw(ADDR64 | (2 << 15) | NO_INDEX | (4 << 23) | (8 << 28));
    assert_eq!(info.reg2(), Gpr::R8);
    let Operand::Memory(mem) = info.operand() else {
        panic!("memory operand expected")
    };
    assert_eq!(
        (mem.segment, mem.base, mem.index),
        (SegmentRegister::Ss, Some(Gpr::Rsp), None)
    );
}

#[test]
fn descriptor_table_and_ldtr_tr() {
    // LGDT [EAX] in 32-bit code with a 32-bit operand.
    let info = DescriptorTableInfo::from_raw((1 << 7) | (1 << 11) | DS | NO_INDEX | (2 << 28));
    assert_eq!(info.instruction(), DescriptorTableInstruction::Lgdt);
    assert!(info.instruction().is_load());
    assert_eq!(info.operand_size(), OperandSize::Bits32);
    assert_eq!(info.address_size(), AddressSize::Bits32);
    assert_eq!(info.base(), Some(Gpr::Rax));
    assert_eq!(
        DescriptorTableInfo::from_raw(1 << 28).instruction(),
        DescriptorTableInstruction::Sidt
    );
    // LTR AX.
    let info = LdtrTrInfo::from_raw(REGISTER | (3 << 28));
    assert_eq!(info.operand(), Operand::Register(Gpr::Rax));
    assert_eq!(info.instruction(), LdtrTrInstruction::Ltr);
    // SLDT [RBX] from FS.
    let info = LdtrTrInfo::from_raw(ADDR64 | (4 << 15) | NO_INDEX | (3 << 23));
    assert_eq!(info.instruction(), LdtrTrInstruction::Sldt);
    assert!(!info.instruction().is_load());
    assert!(matches!(info.operand(), Operand::Memory(m) if m.segment == SegmentRegister::Fs));
}

#[test]
fn register_only_formats() {
    // RDRAND R9D.
    let info = RdrandRdseedInfo::from_raw((9 << 3) | (1 << 11));
    assert_eq!(info.operand_register(), Gpr::R9);
    assert_eq!(info.operand_size(), OperandSize::Bits32);
    assert_eq!(info.operand_size().width(), Some(32));
    assert_eq!(
        RdrandRdseedInfo::from_raw(3 << 11).operand_size(),
        OperandSize::Reserved(3)
    );
    // TPAUSE ECX.
    let tpause: TpauseUmwaitInfo = TpauseUmwaitInfo::from_raw(1 << 3);
    assert_eq!(tpause.operand_register(), Gpr::Rcx);
    // RDMSR R14, imm32.
    assert_eq!(MsrImmediateInfo::from_raw(14 << 3).register(), Gpr::R14);
    // LOADIWKEY XMM1, XMM2.
    let info = LoadiwkeyInfo::from_raw((1 << 3) | (2 << 28));
    assert_eq!((info.xmm1(), info.xmm2()), (1, 2));
    // REP OUTSB with a DS override in 64-bit mode.
    let info = InsOutsInfo::from_raw(ADDR64 | DS);
    assert_eq!(
        (info.address_size(), info.segment()),
        (AddressSize::Bits64, SegmentRegister::Ds)
    );
}

#[test]
fn shared_enums_cover_every_value() {
    for n in 0..=u8::MAX {
        let gpr = Gpr::from_bits(n);
        assert_eq!(gpr.number(), n & 0xF);
        assert_eq!(Gpr::ALL[usize::from(n & 0xF)], gpr);
        assert_eq!(SegmentRegister::from_bits(n).bits(), n & 7);
        assert_eq!(SegmentRegister::from_bits(n).name().is_some(), n & 7 < 6);
        assert_eq!(AddressSize::from_bits(n).bits(), n & 7);
        assert_eq!(AddressSize::from_bits(n).width().is_some(), n & 7 < 3);
        assert_eq!(OperandSize::from_bits(n).bits(), n & 3);
        assert_eq!(Scaling::from_bits(n).bits(), n & 3);
        assert_eq!(Scaling::from_bits(n).factor(), 1 << (n & 3));
    }
    assert_eq!(Gpr::R15.to_string(), "r15");
    assert_eq!(Gpr::Rsp.name(), "rsp");
}

proptest! {
    #[test]
    fn decoders_are_total_and_round_trip(raw in any::<u32>()) {
        for kind in [
            "INS_OUTS", "INVALIDATE", "GDTR_IDTR", "LDTR_TR", "RDRAND_RDSEED",
            "VMX_XSAVES", "VMREAD_VMWRITE", "MSR_IMM", "LOADIWKEY",
        ] {
            for (_, read) in accessors(kind) {
                let _ = read(u64::from(raw));
            }
        }
        let _ = format!("{:?}{:?}", LdtrTrInfo::from_raw(raw).operand(), VmreadVmwriteInfo::from_raw(raw).operand());
        prop_assert_eq!(InsOutsInfo::from_raw(raw).raw(), raw);
        prop_assert_eq!(InvalidationInfo::from_raw(raw).raw(), raw);
        prop_assert_eq!(DescriptorTableInfo::from_raw(raw).raw(), raw);
        prop_assert_eq!(LdtrTrInfo::from_raw(raw).raw(), raw);
        prop_assert_eq!(RdrandRdseedInfo::from_raw(raw).raw(), raw);
        prop_assert_eq!(VmxMemoryInfo::from_raw(raw).raw(), raw);
        prop_assert_eq!(VmreadVmwriteInfo::from(raw).raw(), raw);
        prop_assert_eq!(MsrImmediateInfo::from_raw(raw).raw(), raw);
        prop_assert_eq!(LoadiwkeyInfo::from_raw(raw).raw(), raw);
    }

    #[test]
    fn exit_instruction_info_decode_is_total(reason in any::<u16>(), raw in any::<u32>()) {
        prop_assert_eq!(ExitInstructionInfo::decode(reason, raw).raw(), raw);
        let _ = format!("{:?}", ExitInstructionInfo::decode(reason, raw));
    }

    #[test]
    fn memory_operand_matches_the_bits(raw in any::<u32>()) {
        let m = MemoryOperand::from_info(raw);
        prop_assert_eq!(m.index.is_none(), raw & NO_INDEX != 0);
        prop_assert_eq!(m.base.is_none(), raw & NO_BASE != 0);
        if let Some(index) = m.index {
            prop_assert_eq!(u32::from(index.number()), (raw >> 18) & 0xF);
        }
        if let Some(base) = m.base {
            prop_assert_eq!(u32::from(base.number()), (raw >> 23) & 0xF);
        }
        prop_assert_eq!(u32::from(m.segment.bits()), (raw >> 15) & 7);
        prop_assert_eq!(u32::from(m.address_size.bits()), (raw >> 7) & 7);
        prop_assert_eq!(u32::from(m.scaling.bits()), raw & 3);
        prop_assert_eq!(VmxMemoryInfo::from_raw(raw).memory_operand(), m);
    }
}

#[test]
fn typed_and_numeric_decode_agree() {
    use vmx_defs::exit_reason::BasicExitReason;
    for n in 0..=200u16 {
        let raw = 0x8000_0000 | u32::from(n);
        assert_eq!(
            ExitInstructionInfo::decode_reason(BasicExitReason(n), raw),
            ExitInstructionInfo::decode(n, raw)
        );
    }
    assert!(matches!(
        ExitInstructionInfo::decode_reason(BasicExitReason::VMREAD, 1 << 10),
        ExitInstructionInfo::VmreadVmwrite(i) if i.operand() == Operand::Register(Gpr::Rax)
    ));
}
