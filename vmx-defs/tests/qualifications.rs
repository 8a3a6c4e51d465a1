//! Exit-qualification decoders cross-checked against `data/exit-qualifications.tsv` (the
//! crate's copy of the SDM Vol. 3C §28.2.1 fact table), SDM examples, and proptests.
//!
//! Under Miri (`.ci/run`) the tests that parse the tsv tables and cross-check them are
//! ignored: `vmx-defs` is `#![forbid(unsafe_code)]`, so these pure table comparisons hold
//! no unsafe code for Miri to check, and interpreting the tsv parsing takes minutes each.
//! They run natively in `cargo test`; the SDM examples and proptests here still run under
//! Miri.

use proptest::prelude::*;
use vmx_defs::instruction_info::{AddressSize, Gpr};
use vmx_defs::qualification::*;

mod common;

use common::{FieldRow, check_every_accessor_has_a_row, check_rows_map_to_accessors, field_rows};

const TSV: &str = include_str!("data/exit-qualifications.tsv");

/// Reads one accessor of one decoder from a raw value, formatted for comparison.
type Reader = common::Reader<String>;

/// The `QUAL.*` rows of the tsv.
fn rows() -> Vec<FieldRow> {
    field_rows(TSV, "QUAL.")
}

macro_rules! acc {
    ($t:ty, $m:ident) => {
        (|raw: u64| format!("{:?}", <$t>::from_raw(raw).$m())) as Reader
    };
}

/// The accessors for the named fields of one kind of qualification (one per defined tsv row).
fn accessors(kind: &str) -> Vec<(&'static str, Reader)> {
    match kind {
        "DEBUG" => vec![
            ("B0_B3", acc!(DebugExceptionQualification, breakpoints)),
            ("BLD", acc!(DebugExceptionQualification, bus_lock_detected)),
            (
                "BD",
                acc!(DebugExceptionQualification, debug_register_access),
            ),
            ("BS", acc!(DebugExceptionQualification, single_step)),
            ("RTM", acc!(DebugExceptionQualification, rtm)),
        ],
        "PAGE_FAULT" => vec![(
            "LINEAR_ADDRESS",
            acc!(LinearAddressQualification, linear_address),
        )],
        "TASK_SWITCH" => vec![
            ("TSS_SELECTOR", acc!(TaskSwitchQualification, tss_selector)),
            ("SOURCE", acc!(TaskSwitchQualification, source)),
        ],
        "INVLPG" => vec![(
            "LINEAR_ADDRESS",
            acc!(LinearAddressQualification, linear_address),
        )],
        "INSTRUCTION_DISPLACEMENT" => {
            vec![("", acc!(DisplacementQualification, displacement))]
        }
        "CR_ACCESS" => vec![
            ("CR_NUMBER", acc!(CrAccessQualification, cr_number)),
            ("ACCESS_TYPE", acc!(CrAccessQualification, access_type)),
            (
                "LMSW_OPERAND_TYPE",
                acc!(CrAccessQualification, lmsw_operand_type),
            ),
            ("GPR", acc!(CrAccessQualification, gpr)),
            (
                "LMSW_SOURCE_DATA",
                acc!(CrAccessQualification, lmsw_source_data),
            ),
        ],
        "MOV_DR" => vec![
            ("DR_NUMBER", acc!(MovDrQualification, dr_number)),
            ("DIRECTION", acc!(MovDrQualification, direction)),
            ("GPR", acc!(MovDrQualification, gpr)),
        ],
        "IO" => vec![
            ("SIZE", acc!(IoQualification, size)),
            ("DIRECTION", acc!(IoQualification, direction)),
            ("STRING", acc!(IoQualification, is_string)),
            ("REP", acc!(IoQualification, is_rep)),
            ("OPERAND_ENCODING", acc!(IoQualification, operand_encoding)),
            ("PORT", acc!(IoQualification, port)),
        ],
        "WRMSR" => vec![("KIND", acc!(WrmsrQualification, instruction))],
        "MSR_IMM" => vec![("MSR_INDEX", acc!(MsrImmediateQualification, msr_index))],
        "APIC_ACCESS" => vec![
            ("OFFSET", acc!(ApicAccessQualification, offset)),
            ("ACCESS_TYPE", acc!(ApicAccessQualification, access_type)),
            (
                "ASYNCHRONOUS_TO_INSTRUCTION",
                acc!(ApicAccessQualification, asynchronous_to_instruction),
            ),
        ],
        "VIRTUALIZED_EOI" => vec![("VECTOR", acc!(VirtualizedEoiQualification, vector))],
        "APIC_WRITE" => vec![("OFFSET", acc!(ApicWriteQualification, offset))],
        "EPT_VIOLATION" => vec![
            ("DATA_READ", acc!(EptViolationQualification, data_read)),
            ("DATA_WRITE", acc!(EptViolationQualification, data_write)),
            (
                "INSTRUCTION_FETCH",
                acc!(EptViolationQualification, instruction_fetch),
            ),
            ("READABLE", acc!(EptViolationQualification, readable)),
            ("WRITABLE", acc!(EptViolationQualification, writable)),
            ("EXECUTABLE", acc!(EptViolationQualification, executable)),
            (
                "USER_EXECUTABLE",
                acc!(EptViolationQualification, user_executable),
            ),
            (
                "GUEST_LINEAR_ADDRESS_VALID",
                acc!(EptViolationQualification, guest_linear_address_valid),
            ),
            (
                "CAUSED_BY_TRANSLATION",
                acc!(EptViolationQualification, caused_by_translation),
            ),
            (
                "USER_MODE_LINEAR_ADDRESS",
                acc!(EptViolationQualification, user_mode_linear_address),
            ),
            (
                "READ_WRITE_PAGE",
                acc!(EptViolationQualification, read_write_page),
            ),
            (
                "EXECUTE_DISABLE_PAGE",
                acc!(EptViolationQualification, execute_disable_page),
            ),
            (
                "NMI_UNBLOCKING",
                acc!(EptViolationQualification, nmi_unblocking),
            ),
            (
                "SHADOW_STACK_ACCESS",
                acc!(EptViolationQualification, shadow_stack_access),
            ),
            (
                "SUPERVISOR_SHADOW_STACK",
                acc!(EptViolationQualification, supervisor_shadow_stack),
            ),
            (
                "GUEST_PAGING_VERIFICATION",
                acc!(EptViolationQualification, guest_paging_verification),
            ),
            (
                "ASYNCHRONOUS_TO_INSTRUCTION",
                acc!(EptViolationQualification, asynchronous_to_instruction),
            ),
        ],
        "EPT_MISCONFIGURATION" => vec![],
        "PML_FULL" => vec![("NMI_UNBLOCKING", acc!(PmlFullQualification, nmi_unblocking))],
        "INSTRUCTION_TIMEOUT" => vec![
            (
                "VM_CONTEXT_INVALID",
                acc!(InstructionTimeoutQualification, vm_context_invalid),
            ),
            (
                "NMI_UNBLOCKING",
                acc!(InstructionTimeoutQualification, nmi_unblocking),
            ),
        ],
        "ENTRY_FAIL" => vec![("CODE", acc!(EntryFailureQualification, code))],
        "ENTRY_FAIL_MSR" => vec![("INDEX", acc!(MsrLoadFailureQualification, entry_number))],
        other => panic!("tsv kind {other} has no decoder in qualification"),
    }
}

/// Whether `q` is the variant the tsv kind is decoded to.
fn is_variant(kind: &str, q: ExitQualification) -> bool {
    use ExitQualification as E;
    match kind {
        "DEBUG" => matches!(q, E::DebugException(_)),
        "PAGE_FAULT" => matches!(q, E::PageFault(_)),
        "TASK_SWITCH" => matches!(q, E::TaskSwitch(_)),
        "INVLPG" => matches!(q, E::Invlpg(_)),
        "INSTRUCTION_DISPLACEMENT" => matches!(q, E::Displacement(_)),
        "CR_ACCESS" => matches!(q, E::CrAccess(_)),
        "MOV_DR" => matches!(q, E::MovDr(_)),
        "IO" => matches!(q, E::Io(_)),
        "WRMSR" => matches!(q, E::Wrmsr(_)),
        "MSR_IMM" => matches!(q, E::MsrImmediate(_)),
        "APIC_ACCESS" => matches!(q, E::ApicAccess(_)),
        "VIRTUALIZED_EOI" => matches!(q, E::VirtualizedEoi(_)),
        "APIC_WRITE" => matches!(q, E::ApicWrite(_)),
        "EPT_VIOLATION" => matches!(q, E::EptViolation(_)),
        "EPT_MISCONFIGURATION" => matches!(q, E::Raw(_)),
        "PML_FULL" => matches!(q, E::PmlFull(_)),
        "INSTRUCTION_TIMEOUT" => matches!(q, E::InstructionTimeout(_)),
        "ENTRY_FAIL" => matches!(q, E::EntryFailure(_)),
        "ENTRY_FAIL_MSR" => matches!(q, E::MsrLoadFailure(_)),
        other => panic!("tsv kind {other} has no ExitQualification variant"),
    }
}

fn is_undefined(field: &str) -> bool {
    matches!(field, "RESERVED" | "UNDEFINED")
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn tsv_has_qualification_rows() {
    let rows = rows();
    assert!(rows.len() >= 60, "only {} QUAL rows parsed", rows.len());
}

/// Every defined tsv row maps to exactly one accessor: setting exactly the row's bits (all
/// of them, and each one alone) changes that accessor and no other of the same kind.
/// Reserved/undefined rows change no accessor.
#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn every_tsv_row_maps_to_its_accessor() {
    check_rows_map_to_accessors(&rows(), "QUAL.", accessors, is_undefined);
}

/// Every accessor of a kind is backed by a tsv row (no invented fields).
#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn every_accessor_has_a_tsv_row() {
    check_every_accessor_has_a_row(&rows(), accessors);
}

/// The reasons column of every row decodes to the matching `ExitQualification` variant.
#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn decode_picks_the_tsv_kind_for_each_reason() {
    for row in rows() {
        let numbers = row.reasons.split(' ').next().unwrap_or_default();
        for reason in numbers.split(',') {
            let reason: u16 = reason.parse().unwrap();
            let q = if reason == 0 {
                let vector: u8 = row
                    .reasons
                    .split("vector ")
                    .nth(1)
                    .and_then(|s| s.trim_end_matches(')').parse().ok())
                    .unwrap_or_else(|| panic!("no vector in {}", row.reasons));
                let q = ExitQualification::decode_exception(vector, 0x1234);
                assert_eq!(
                    ExitQualification::decode(0, 0x1234),
                    ExitQualification::Raw(0x1234)
                );
                q
            } else {
                ExitQualification::decode(reason, 0x1234)
            };
            assert!(
                is_variant(&row.kind, q),
                "reason {reason} ({}) -> {q:?}",
                row.kind
            );
            assert_eq!(q.raw(), 0x1234);
        }
    }
}

#[test]
fn io_in_al_dx() {
    // IN AL, DX with DX = 0x3F8.
    let q = IoQualification::from_raw(0x03F8_0008);
    assert_eq!(q.size(), IoSize::Byte);
    assert_eq!(q.size().bytes(), Some(1));
    assert_eq!(q.direction(), IoDirection::In);
    assert!(!q.is_string() && !q.is_rep());
    assert_eq!(q.operand_encoding(), IoOperandEncoding::Dx);
    assert_eq!(q.port(), 0x3F8);
}

#[test]
fn io_out_imm8() {
    // OUT 0x80, AL.
    let q = IoQualification::from_raw(0x0080_0040);
    assert_eq!(q.size(), IoSize::Byte);
    assert_eq!(q.direction(), IoDirection::Out);
    assert_eq!(q.operand_encoding(), IoOperandEncoding::Immediate);
    assert_eq!(q.port(), 0x80);
}

#[test]
fn io_rep_outsb_and_sizes() {
    // REP OUTSB with DX = 0x3F8.
    let q = IoQualification::from_raw(0x03F8_0030);
    assert!(q.is_string() && q.is_rep());
    assert_eq!(q.direction(), IoDirection::Out);
    assert_eq!(q.port(), 0x3F8);
    // IN EAX, DX: size encoding 3 = 4 bytes; 2 is not used.
    assert_eq!(
        IoQualification::from_raw(0xCFC_0000 | 0xB).size(),
        IoSize::Dword
    );
    assert_eq!(IoQualification::from_raw(1).size().bytes(), Some(2));
    assert_eq!(IoQualification::from_raw(2).size(), IoSize::Reserved(2));
    assert_eq!(IoQualification::from_raw(2).size().bytes(), None);
}

#[test]
fn cr_access_examples() {
    // MOV CR3, RAX.
    let q = CrAccessQualification::from_raw(3);
    assert_eq!(q.cr_number(), 3);
    assert_eq!(q.access_type(), CrAccessType::MovToCr);
    assert_eq!(q.gpr(), Gpr::Rax);
    // MOV R12, CR4.
    let q = CrAccessQualification::from_raw(0xC14);
    assert_eq!(q.cr_number(), 4);
    assert_eq!(q.access_type(), CrAccessType::MovFromCr);
    assert_eq!(q.gpr(), Gpr::R12);
    // MOV CR8, R15.
    let q = CrAccessQualification::from_raw(0xF08);
    assert_eq!((q.cr_number(), q.gpr()), (8, Gpr::R15));
    // CLTS.
    assert_eq!(
        CrAccessQualification::from_raw(0x20).access_type(),
        CrAccessType::Clts
    );
    // LMSW [mem] with source data 0x0001.
    let q = CrAccessQualification::from_raw(0x1_0070);
    assert_eq!(q.access_type(), CrAccessType::Lmsw);
    assert_eq!(q.lmsw_operand_type(), LmswOperandType::Memory);
    assert_eq!(q.lmsw_source_data(), 1);
}

#[test]
fn mov_dr_example() {
    // MOV DR7, RCX.
    let q = MovDrQualification::from_raw(0x107);
    assert_eq!(q.dr_number(), 7);
    assert_eq!(q.direction(), MovDrDirection::ToDr);
    assert_eq!(q.gpr(), Gpr::Rcx);
    // MOV R9, DR6.
    let q = MovDrQualification::from_raw(0x916);
    assert_eq!(
        (q.dr_number(), q.direction(), q.gpr()),
        (6, MovDrDirection::FromDr, Gpr::R9)
    );
}

#[test]
fn ept_violation_write_to_read_only_page() {
    // Data write; the page is readable only; guest linear address valid; access to the
    // translation itself.
    let q = EptViolationQualification::from_raw((1 << 1) | (1 << 3) | (1 << 7) | (1 << 8));
    assert!(q.data_write() && !q.data_read() && !q.instruction_fetch());
    assert!(q.readable() && !q.writable() && !q.executable());
    assert!(q.guest_linear_address_valid());
    assert_eq!(q.linear_access(), Some(EptLinearAccess::Translation));
    assert_eq!(q.advanced_info(false), None);
    assert_eq!(
        q.advanced_info(true),
        Some(EptAdvancedInfo {
            user_mode: false,
            read_write: false,
            execute_disable: false
        })
    );
    // A paging-structure access (bit 8 clear) has no advanced information.
    let walk = EptViolationQualification::from_raw((1 << 0) | (1 << 7) | (1 << 9));
    assert_eq!(walk.linear_access(), Some(EptLinearAccess::PagingStructure));
    assert_eq!(walk.advanced_info(true), None);
    // PDPTE load by MOV to CR3: no linear address.
    assert_eq!(EptViolationQualification::from_raw(1).linear_access(), None);
}

#[test]
fn task_switch_apic_sipi_examples() {
    let q = TaskSwitchQualification::from_raw(0x28 | (2 << 30));
    assert_eq!(
        (q.tss_selector(), q.source()),
        (0x28, TaskSwitchSource::Jmp)
    );
    assert_eq!(
        TaskSwitchQualification::from_raw(3 << 30).source(),
        TaskSwitchSource::TaskGate
    );

    // Linear write to the EOI register (offset 0xB0).
    let q = ApicAccessQualification::from_raw(0x10B0);
    assert_eq!(q.access_type(), ApicAccessType::LinearWrite);
    assert_eq!(q.linear_offset(), Some(0xB0));
    let q = ApicAccessQualification::from_raw(0xF123);
    assert_eq!(q.access_type(), ApicAccessType::GuestPhysicalInstruction);
    assert_eq!(q.linear_offset(), None);
    assert_eq!(
        ApicAccessQualification::from_raw(0x4000).access_type(),
        ApicAccessType::Unknown(4)
    );

    let q = SipiQualification::from_raw(0x9A);
    assert_eq!((q.vector(), q.start_address()), (0x9A, 0x9A000));
}

#[test]
fn entry_failure_codes() {
    let code = |raw| EntryFailureQualification::from_raw(raw).code();
    assert_eq!(code(0), EntryFailureCode::NoSpecifiedReason);
    assert_eq!(code(1), EntryFailureCode::Unknown(1));
    assert_eq!(code(2), EntryFailureCode::PdpteLoad);
    assert_eq!(code(3), EntryFailureCode::NmiInjectionBlockedBySti);
    assert_eq!(code(4), EntryFailureCode::InvalidVmcsLinkPointer);
    assert_eq!(code(5), EntryFailureCode::Unknown(5));
    let m = MsrLoadFailureQualification::from_raw(1);
    assert_eq!((m.entry_number(), m.entry_index()), (1, Some(0)));
    assert_eq!(MsrLoadFailureQualification::from_raw(0).entry_index(), None);
}

#[test]
fn small_qualifications() {
    let d = DebugExceptionQualification::from_raw(0x4000 | 0b0101);
    assert!(d.single_step() && !d.debug_register_access());
    assert!(d.breakpoint_met(0) && !d.breakpoint_met(1) && d.breakpoint_met(2));
    assert!(!d.breakpoint_met(4) && !d.breakpoint_met(255));
    assert!(MwaitQualification::from_raw(1).monitor_armed());
    assert!(!MwaitQualification::from_raw(0).monitor_armed());
    assert_eq!(
        WrmsrQualification::from_raw(1).instruction(),
        WrmsrInstruction::Wrmsrns
    );
    let s = SppQualification::from_raw(1 << 11);
    assert_eq!((s.event(), s.nmi_unblocking()), (SppEvent::Miss, false));
    assert_eq!(
        SppQualification::from_raw(1 << 12).event(),
        SppEvent::Misconfiguration
    );
    assert_eq!(
        MsrImmediateQualification::from_raw(0x10).msr_index_u32(),
        Some(0x10)
    );
    assert_eq!(
        MsrImmediateQualification::from_raw(1 << 32).msr_index_u32(),
        None
    );
    let disp = DisplacementQualification::from_raw(0xFFFF_FFFF_FFFF_FFF8);
    assert_eq!(disp.displacement_for(AddressSize::Bits16), 0xFFF8);
    assert_eq!(disp.displacement_for(AddressSize::Bits32), 0xFFFF_FFF8);
    assert_eq!(disp.displacement_for(AddressSize::Bits64), disp.raw());
    assert!(matches!(
        ExitQualification::decode(5, 0x3F8_0008),
        ExitQualification::IoSmi(q) if q.port() == 0x3F8
    ));
}

/// Calls every accessor of every decoder on `raw` (they must not panic).
fn decode_everything(raw: u64) -> String {
    let mut out = String::new();
    for kind in [
        "DEBUG",
        "PAGE_FAULT",
        "TASK_SWITCH",
        "INVLPG",
        "INSTRUCTION_DISPLACEMENT",
        "CR_ACCESS",
        "MOV_DR",
        "IO",
        "WRMSR",
        "MSR_IMM",
        "APIC_ACCESS",
        "VIRTUALIZED_EOI",
        "APIC_WRITE",
        "EPT_VIOLATION",
        "PML_FULL",
        "INSTRUCTION_TIMEOUT",
        "ENTRY_FAIL",
        "ENTRY_FAIL_MSR",
    ] {
        for (_, read) in accessors(kind) {
            out.push_str(&read(raw));
        }
    }
    let e = EptViolationQualification::from_raw(raw);
    out.push_str(&format!(
        "{:?}{:?}{:?}",
        e.linear_access(),
        e.advanced_info(true),
        e.advanced_info(false)
    ));
    let a = ApicAccessQualification::from_raw(raw);
    out.push_str(&format!(
        "{:?}{:?}",
        a.linear_offset(),
        a.access_type().is_linear()
    ));
    out.push_str(&format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        SipiQualification::from_raw(raw).start_address(),
        MwaitQualification::from_raw(raw).monitor_armed(),
        SppQualification::from_raw(raw).event(),
        SppQualification::from_raw(raw).nmi_unblocking(),
        MsrLoadFailureQualification::from_raw(raw).entry_index(),
        MsrImmediateQualification::from_raw(raw).msr_index_u32(),
        IoQualification::from_raw(raw).size().bytes(),
    ));
    out
}

proptest! {
    #[test]
    fn decoders_are_total_and_round_trip(raw in any::<u64>()) {
        let _ = decode_everything(raw);
        prop_assert_eq!(CrAccessQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(MovDrQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(IoQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(EptViolationQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(TaskSwitchQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(ApicAccessQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(DebugExceptionQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(LinearAddressQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(DisplacementQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(SipiQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(EntryFailureQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(MsrLoadFailureQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(u64::from(WrmsrQualification::from(raw)), raw);
        prop_assert_eq!(MsrImmediateQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(VirtualizedEoiQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(ApicWriteQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(PmlFullQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(InstructionTimeoutQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(MwaitQualification::from_raw(raw).raw(), raw);
        prop_assert_eq!(SppQualification::from_raw(raw).raw(), raw);
    }

    #[test]
    fn exit_qualification_decode_is_total(reason in any::<u16>(), vector in any::<u8>(), raw in any::<u64>()) {
        prop_assert_eq!(ExitQualification::decode(reason, raw).raw(), raw);
        prop_assert_eq!(ExitQualification::decode_exception(vector, raw).raw(), raw);
        let _ = format!("{:?}", ExitQualification::decode(reason, raw));
    }

    #[test]
    fn multi_bit_fields_keep_their_value(raw in any::<u64>()) {
        let io = IoQualification::from_raw(raw);
        prop_assert_eq!(u64::from(io.port()), (raw >> 16) & 0xFFFF);
        let cr = CrAccessQualification::from_raw(raw);
        prop_assert_eq!(u64::from(cr.gpr().number()), (raw >> 8) & 0xF);
        prop_assert_eq!(u64::from(cr.lmsw_source_data()), (raw >> 16) & 0xFFFF);
        let apic = ApicAccessQualification::from_raw(raw);
        prop_assert_eq!(u64::from(apic.offset()), raw & 0xFFF);
        let ts = TaskSwitchQualification::from_raw(raw);
        prop_assert_eq!(u64::from(ts.tss_selector()), raw & 0xFFFF);
    }
}

#[test]
fn typed_and_numeric_decode_agree() {
    use vmx_defs::exit_reason::BasicExitReason;
    for n in 0..=200u16 {
        let raw = 0xDEAD_BEEF_0000_0000 | u64::from(n);
        assert_eq!(
            ExitQualification::decode_reason(BasicExitReason(n), raw),
            ExitQualification::decode(n, raw)
        );
    }
    assert!(matches!(
        ExitQualification::decode_reason(BasicExitReason::CONTROL_REGISTER_ACCESS, 3),
        ExitQualification::CrAccess(q) if q.cr_number() == 3
    ));
    assert_eq!(
        ExitQualification::decode_reason(BasicExitReason::CPUID, 9),
        ExitQualification::Raw(9)
    );
}
