//! Cross-checks the VMCS field table and constants against the SDM table copy
//! `tests/data/vmcs-fields.tsv` (SDM Vol. 3C §25.11.2, Vol. 3D Appendix B).
//!
//! Under Miri (`.ci/run`) the tests that parse the tsv tables and cross-check them are
//! ignored: `vmx-defs` is `#![forbid(unsafe_code)]`, so these pure table comparisons hold
//! no unsafe code for Miri to check, and interpreting the tsv parsing takes minutes each.
//! They run natively in `cargo test`; the SDM examples and proptests here still run under
//! Miri.

use std::collections::HashSet;

use proptest::prelude::*;
use vmx_defs::capabilities::{VmxCapabilities, VmxMisc};
use vmx_defs::controls::{
    EntryControls, PrimaryExitControls, PrimaryProcBasedControls, SecondaryProcBasedControls,
};
use vmx_defs::vmcs::{
    self, ALL_FIELDS, AccessType, ComposeError, CpuidFeature, EncodingError, Field,
    FieldRequirement, FieldType, FieldWidth, ReadOnly, ReadWrite, VmcsEncoding, W16, W32, W64,
    WNat, Width, fields, lookup,
};

mod common;

use common::table;

const TSV: &str = include_str!("data/vmcs-fields.tsv");

/// One row of the table.
struct Row {
    encoding: u32,
    name: &'static str,
    width: &'static str,
    field_type: &'static str,
    exists_if: &'static str,
}

fn rows() -> Vec<Row> {
    table(
        TSV,
        &["encoding", "name", "width", "type", "exists-if", "notes"],
    )
    .into_iter()
    .map(|cols| {
        let hex = cols[0].strip_prefix("0x").expect("encoding starts with 0x");
        Row {
            encoding: u32::from_str_radix(hex, 16).expect("hex encoding"),
            name: cols[1],
            width: cols[2],
            field_type: cols[3],
            exists_if: cols[4],
        }
    })
    .collect()
}

fn width_name(width: FieldWidth) -> &'static str {
    match width {
        FieldWidth::Bits16 => "16",
        FieldWidth::Bits32 => "32",
        FieldWidth::Bits64 => "64",
        FieldWidth::Natural => "natural",
    }
}

fn type_name(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Control => "control",
        FieldType::VmExitInformation => "exit-info",
        FieldType::GuestState => "guest",
        FieldType::HostState => "host",
    }
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn every_row_is_in_all_fields() {
    let rows = rows();
    for row in &rows {
        let info = lookup(row.encoding)
            .unwrap_or_else(|| panic!("{} ({:#06x}) missing", row.name, row.encoding));
        assert_eq!(info.name, row.name, "name of {:#06x}", row.encoding);
        assert_eq!(info.encoding.raw(), row.encoding);
        assert_eq!(width_name(info.width()), row.width, "width of {}", row.name);
        assert_eq!(
            type_name(info.field_type()),
            row.field_type,
            "type of {}",
            row.name
        );
        assert_eq!(
            info.is_read_only(),
            row.field_type == "exit-info",
            "{}",
            row.name
        );
        assert!(info.encoding.is_valid(), "{} is ill-formed", row.name);
        assert_eq!(
            info.encoding.access_type(),
            AccessType::Full,
            "{}",
            row.name
        );
        // "-" in the tsv is exactly "always".
        assert_eq!(
            row.exists_if == "-",
            info.requirement == FieldRequirement::Always,
            "requirement of {}: tsv {:?}, table {}",
            row.name,
            row.exists_if,
            info.requirement
        );
    }
    assert_eq!(
        ALL_FIELDS.len(),
        rows.len(),
        "field count differs from the tsv"
    );
    assert_eq!(ALL_FIELDS.len(), 207);
}

#[cfg_attr(
    miri,
    ignore = "table cross-check of forbid(unsafe_code) data; runs natively"
)]
#[test]
fn no_duplicates_and_sorted() {
    let mut names = HashSet::new();
    for pair in ALL_FIELDS.windows(2) {
        assert!(
            pair[0].encoding < pair[1].encoding,
            "{} / {}",
            pair[0].name,
            pair[1].name
        );
    }
    for info in ALL_FIELDS {
        assert!(names.insert(info.name), "duplicate name {}", info.name);
    }
    let tsv_encodings: HashSet<u32> = rows().iter().map(|r| r.encoding).collect();
    assert_eq!(
        tsv_encodings.len(),
        rows().len(),
        "duplicate encoding in the tsv"
    );
}

#[cfg_attr(
    miri,
    ignore = "table cross-check of forbid(unsafe_code) data; runs natively"
)]
#[test]
fn lookup_round_trips_and_rejects_unknown() {
    for info in ALL_FIELDS {
        let found = lookup(info.encoding.raw()).expect("known field");
        assert!(core::ptr::eq(found, info));
        assert_eq!(info.encoding.to_string(), info.name);
        // The high access of a 64-bit field is not a table entry but prints with _HIGH.
        if let Some(high) = info.encoding.high() {
            assert_eq!(info.width(), FieldWidth::Bits64);
            assert!(lookup(high.raw()).is_none());
            assert_eq!(high.to_string(), format!("{}_HIGH", info.name));
        } else {
            assert_ne!(info.width(), FieldWidth::Bits64);
        }
    }
    let known: HashSet<u32> = rows().iter().map(|r| r.encoding).collect();
    // Every 15-bit encoding natively; under Miri (no unsafe code to check here, and each
    // step is interpreted) every 37th, which still crosses every width/type/index pattern.
    let stride = if cfg!(miri) { 37 } else { 1 };
    for raw in (0..0x8000u32)
        .step_by(stride)
        .chain([0x8000, 0xFFFF_FFFF, 0x0001_0000 | 0x681E])
    {
        if !known.contains(&raw) {
            assert!(lookup(raw).is_none(), "{raw:#x} should be unknown");
        }
    }
    // A 16-bit field with the high bit set is not "_HIGH".
    assert_eq!(VmcsEncoding(0x0801).to_string(), "VMCS field 0x0801");
    assert_eq!(VmcsEncoding(0x4402).to_string(), "EXIT_REASON");
    assert_eq!(
        VmcsEncoding(0x1234_5678).to_string(),
        "VMCS field 0x12345678"
    );
}

#[test]
fn decoding_matches_sdm_table_25_21() {
    // GUEST_RIP 0x681E: natural-width guest-state field, index 15, full access.
    let rip = VmcsEncoding(0x681E);
    assert_eq!(rip.width(), FieldWidth::Natural);
    assert_eq!(rip.field_type(), FieldType::GuestState);
    assert_eq!(rip.index(), 15);
    assert_eq!(rip.access_type(), AccessType::Full);
    // EXIT_GUEST_PHYSICAL_ADDRESS_HIGH 0x2401.
    let gpa_high = VmcsEncoding(0x2401);
    assert_eq!(gpa_high.width(), FieldWidth::Bits64);
    assert_eq!(gpa_high.field_type(), FieldType::VmExitInformation);
    assert_eq!(gpa_high.access_type(), AccessType::High);
    assert!(gpa_high.is_read_only());
    assert_eq!(gpa_high.check(), Ok(gpa_high));
    assert_eq!(
        VmcsEncoding(0x8000).check(),
        Err(EncodingError::ReservedBitsSet { bits: 0x8000 })
    );
    assert_eq!(
        VmcsEncoding(0x1000).check(),
        Err(EncodingError::ReservedBitsSet { bits: 0x1000 })
    );
    assert_eq!(
        VmcsEncoding(0x4403).check(),
        Err(EncodingError::HighAccessToNon64BitField {
            width: FieldWidth::Bits32
        })
    );
    assert_eq!(
        VmcsEncoding::compose(
            FieldWidth::Natural,
            FieldType::GuestState,
            15,
            AccessType::Full
        ),
        Ok(rip)
    );
    assert_eq!(
        VmcsEncoding::compose(
            FieldWidth::Bits16,
            FieldType::Control,
            0x200,
            AccessType::Full
        ),
        Err(ComposeError::IndexTooLarge { index: 0x200 })
    );
    assert_eq!(
        VmcsEncoding::compose(FieldWidth::Bits32, FieldType::Control, 0, AccessType::High),
        Err(ComposeError::Encoding(
            EncodingError::HighAccessToNon64BitField {
                width: FieldWidth::Bits32
            }
        ))
    );
}

/// The typed constants, listed with the tsv name they must carry; checked against the
/// table so that the type (width, access) cannot drift from the encoding.
fn check_typed<W: Width, A: vmcs::Access>(field: Field<W, A>, name: &str) {
    let info = lookup(field.raw()).unwrap_or_else(|| panic!("{name} not in ALL_FIELDS"));
    assert_eq!(info.name, name);
    assert_eq!(field.encoding(), info.encoding);
    assert_eq!(W::WIDTH, info.width(), "{name}: typed width");
    assert_eq!(A::WRITABLE, !info.is_read_only(), "{name}: typed access");
    assert_eq!(field.to_string(), name);
}

#[test]
fn typed_constants_agree_with_table() {
    check_typed::<WNat, ReadWrite>(fields::GUEST_RIP, "GUEST_RIP");
    check_typed::<WNat, ReadWrite>(fields::HOST_RIP, "HOST_RIP");
    check_typed::<W16, ReadWrite>(fields::CTRL_VPID, "CTRL_VPID");
    check_typed::<W16, ReadWrite>(fields::GUEST_CS_SELECTOR, "GUEST_CS_SELECTOR");
    check_typed::<W32, ReadOnly>(fields::EXIT_REASON, "EXIT_REASON");
    check_typed::<W32, ReadOnly>(
        fields::EXIT_VM_INSTRUCTION_ERROR,
        "EXIT_VM_INSTRUCTION_ERROR",
    );
    check_typed::<WNat, ReadOnly>(fields::EXIT_QUALIFICATION, "EXIT_QUALIFICATION");
    check_typed::<W64, ReadOnly>(
        fields::EXIT_GUEST_PHYSICAL_ADDRESS,
        "EXIT_GUEST_PHYSICAL_ADDRESS",
    );
    check_typed::<W64, ReadWrite>(fields::CTRL_EPT_POINTER, "CTRL_EPT_POINTER");
    check_typed::<W64, ReadWrite>(fields::GUEST_VMCS_LINK_POINTER, "GUEST_VMCS_LINK_POINTER");
    check_typed::<W32, ReadWrite>(
        fields::CTRL_PIN_BASED_EXEC_CONTROLS,
        "CTRL_PIN_BASED_EXEC_CONTROLS",
    );
    check_typed::<W32, ReadWrite>(fields::HOST_IA32_SYSENTER_CS, "HOST_IA32_SYSENTER_CS");

    // The high access of a 64-bit field: W32, same access, encoding bit 0 set.
    let high: Field<W32, ReadOnly> = fields::EXIT_GUEST_PHYSICAL_ADDRESS.high();
    assert_eq!(high.raw(), 0x2401);
    assert_eq!(high.to_string(), "EXIT_GUEST_PHYSICAL_ADDRESS_HIGH");
    let high: Field<W32, ReadWrite> = fields::GUEST_IA32_EFER.high();
    assert_eq!(high.raw(), 0x2807);

    // The IA32_VMX_MISC[29] escape hatch.
    assert!(
        fields::EXIT_REASON
            .as_writable_if_misc29(VmxMisc(!(1 << 29)))
            .is_none()
    );
    let writable: Option<Field<W32, ReadWrite>> =
        fields::EXIT_REASON.as_writable_if_misc29(VmxMisc(1 << 29));
    assert_eq!(writable.map(Field::raw), Some(0x4402));
}

/// Every entry of ALL_FIELDS has a typed constant whose access matches (the macro
/// generates both; this spot-checks the read-only class end to end).
#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn read_only_fields_are_exactly_exit_information() {
    let read_only: Vec<&str> = ALL_FIELDS
        .iter()
        .filter(|i| i.is_read_only())
        .map(|i| i.name)
        .collect();
    let tsv: Vec<&str> = rows()
        .iter()
        .filter(|r| r.field_type == "exit-info")
        .map(|r| r.name)
        .collect();
    assert_eq!(read_only, tsv);
    assert!(read_only.iter().all(|n| n.starts_with("EXIT_")));
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn requirements_follow_the_tsv() {
    let req = |name: &str| {
        ALL_FIELDS
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.requirement)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(
        req("CTRL_EPT_POINTER"),
        FieldRequirement::Secondary(SecondaryProcBasedControls::ENABLE_EPT)
    );
    assert_eq!(
        req("GUEST_UINV"),
        FieldRequirement::AnyOf(&[
            FieldRequirement::Exit(PrimaryExitControls::CLEAR_UINV),
            FieldRequirement::Entry(EntryControls::LOAD_UINV),
        ])
    );
    assert_eq!(req("CTRL_SHARED_EPT_POINTER"), FieldRequirement::SeamOnly);
    assert_eq!(
        req("GUEST_IA32_PAT").to_string(),
        "VM-entry control LOAD_IA32_PAT or VM-exit control SAVE_IA32_PAT"
    );
    // Every control bit a requirement names is mentioned by its bit number in the tsv.
    for (row, info) in rows().iter().zip(ALL_FIELDS) {
        for bit in control_bits(&info.requirement) {
            assert!(
                row.exists_if.contains(&format!("bit {bit})")),
                "{}: requirement {} vs tsv {:?}",
                row.name,
                info.requirement,
                row.exists_if
            );
        }
    }
}

/// The bit numbers of the controls a requirement names.
fn control_bits(requirement: &FieldRequirement) -> Vec<u32> {
    fn bits(value: u64) -> Vec<u32> {
        (0..64).filter(|b| value & (1u64 << b) != 0).collect()
    }
    match requirement {
        FieldRequirement::Pin(c) => bits(c.bits().into()),
        FieldRequirement::Primary(c) => bits(c.bits().into()),
        FieldRequirement::Secondary(c) => bits(c.bits().into()),
        FieldRequirement::Tertiary(c) => bits(c.bits()),
        FieldRequirement::Exit(c) => bits(c.bits().into()),
        FieldRequirement::SecondaryExit(c) => bits(c.bits()),
        FieldRequirement::Entry(c) => bits(c.bits().into()),
        FieldRequirement::AnyOf(list) => list.iter().flat_map(control_bits).collect(),
        _ => Vec::new(),
    }
}

proptest! {
    /// Decoding, checking, printing and looking up any u32 never panics, and the decoded
    /// parts recompose into the same encoding when it is well formed.
    #[test]
    fn decoding_is_total(raw: u32) {
        let encoding = VmcsEncoding(raw);
        let _ = encoding.to_string();
        let found = lookup(raw);
        if let Some(info) = found {
            prop_assert_eq!(info.encoding.raw(), raw);
        }
        match encoding.check() {
            Ok(valid) => {
                prop_assert_eq!(valid.reserved_bits(), 0);
                let recomposed = VmcsEncoding::compose(
                    valid.width(),
                    valid.field_type(),
                    valid.index(),
                    valid.access_type(),
                );
                prop_assert_eq!(recomposed, Ok(valid));
            }
            Err(EncodingError::ReservedBitsSet { bits }) => {
                prop_assert!(bits != 0);
                prop_assert!(found.is_none());
            }
            Err(EncodingError::HighAccessToNon64BitField { width }) => {
                prop_assert_ne!(width, FieldWidth::Bits64);
                prop_assert!(found.is_none());
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    /// Lookups in the low 16 bits (where all fields live) agree with a linear search.
    #[test]
    fn lookup_agrees_with_linear_search(raw in 0u32..0x1_0000) {
        let linear = ALL_FIELDS.iter().find(|i| i.encoding.raw() == raw);
        prop_assert_eq!(lookup(raw).map(|i| i.name), linear.map(|i| i.name));
    }
}

/// Capabilities of a made-up processor: each control MSR reports `default1` as allowed-0
/// and `default1 | allowed1` as allowed-1 (SDM Vol. 3D §A.3-§A.5).
fn processor(
    proc_allowed1: u32,
    secondary_allowed1: u32,
    everything_else: bool,
) -> VmxCapabilities {
    let ctls =
        |default1: u32, allowed1: u32| u64::from(default1 | allowed1) << 32 | u64::from(default1);
    let all = if everything_else { u32::MAX } else { 0 };
    VmxCapabilities::from_msrs(|msr| match msr {
        0x3A => 0x5,
        0x480 => 0x0018_1000_0000_0001, // revision 1, 4 KiB region, WB; no TRUE MSRs
        0x481 => ctls(0x16, all),
        0x482 => ctls(0x0401_E172, proc_allowed1),
        0x483 => ctls(0x0003_6DFF, all),
        0x484 => ctls(0x0000_11FF, all),
        0x485 => 0,
        0x48B => ctls(0, secondary_allowed1),
        0x491 => u64::from(all),
        0x492 | 0x493 => u64::from(all) << 32 | u64::from(all),
        _ => 0,
    })
}

#[test]
fn minimal_processor_has_only_unconditional_fields() {
    let caps = processor(0, 0, false);
    for info in ALL_FIELDS {
        assert_eq!(
            info.exists_on(&caps),
            info.requirement == FieldRequirement::Always,
            "{}: {}",
            info.name,
            info.requirement
        );
    }
}

#[test]
fn maximal_processor_has_every_non_seam_field() {
    let caps = processor(u32::MAX, u32::MAX, true);
    for info in ALL_FIELDS {
        let expected = !matches!(
            info.name,
            "CTRL_SHARED_EPT_POINTER" | "CTRL_SEAM_GUEST_KEYID" | "EXIT_EXTENDED_INSTRUCTION_INFO"
        );
        assert_eq!(
            info.exists_on(&caps),
            expected,
            "{}: {}",
            info.name,
            info.requirement
        );
    }
    // APX is a CPUID feature no capability MSR reports.
    let apx = lookup(fields::EXIT_EXTENDED_INSTRUCTION_INFO.raw()).expect("known");
    assert!(
        apx.requirement
            .is_met_with_cpuid(&caps, &|f| f == CpuidFeature::APX)
    );
    assert!(
        !apx.requirement
            .is_met_with_cpuid(&caps, &|f| f == CpuidFeature::FRED)
    );
    // SEAM-only fields never exist outside the TDX module.
    let seam = lookup(fields::CTRL_SHARED_EPT_POINTER.raw()).expect("known");
    assert!(!seam.requirement.is_met_with_cpuid(&caps, &|_| true));
}

#[test]
fn ept_without_vpid() {
    let activate_secondary = PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS.bits();
    let ept = SecondaryProcBasedControls::ENABLE_EPT.bits();
    let caps = processor(activate_secondary, ept, false);
    let exists = |field: u32| lookup(field).expect("known").exists_on(&caps);
    assert!(exists(fields::CTRL_EPT_POINTER.raw()));
    assert!(exists(fields::GUEST_PDPTE3.raw()));
    assert!(exists(fields::EXIT_GUEST_PHYSICAL_ADDRESS.raw()));
    assert!(exists(
        fields::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS.raw()
    ));
    assert!(!exists(fields::CTRL_VPID.raw()));
    assert!(!exists(fields::CTRL_MSR_BITMAP_ADDRESS.raw()));
    assert!(!exists(fields::CTRL_EPTP_LIST_ADDRESS.raw()));
    // The same secondary MSR is ignored when "activate secondary controls" cannot be 1.
    let caps = processor(0, ept, false);
    assert!(
        !lookup(fields::CTRL_EPT_POINTER.raw())
            .expect("known")
            .exists_on(&caps)
    );
}

#[test]
fn requirement_of_either_control() {
    // GUEST_IA32_PAT exists with "save IA32_PAT" alone.
    let caps = VmxCapabilities::from_msrs(|msr| match msr {
        0x483 => {
            (u64::from(0x0003_6DFFu32 | PrimaryExitControls::SAVE_IA32_PAT.bits()) << 32)
                | 0x0003_6DFF
        }
        _ => 0,
    });
    let pat = lookup(fields::GUEST_IA32_PAT.raw()).expect("known");
    assert!(pat.exists_on(&caps));
    assert!(
        !lookup(fields::HOST_IA32_PAT.raw())
            .expect("known")
            .exists_on(&caps)
    );
}
