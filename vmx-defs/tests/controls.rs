//! Cross-checks the control bit sets against the SDM table copy
//! `tests/data/control-bits.tsv` (SDM Vol. 3C §25.6-§25.8).
//!
//! Under Miri (`.ci/run`) the tests that parse the tsv tables and cross-check them are
//! ignored: `vmx-defs` is `#![forbid(unsafe_code)]`, so these pure table comparisons hold
//! no unsafe code for Miri to check, and interpreting the tsv parsing takes minutes each.
//! They run natively in `cargo test`; the SDM examples and proptests here still run under
//! Miri.

use bitflags::Flags;
use vmx_defs::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryExitControls, SecondaryProcBasedControls, TertiaryProcBasedControls,
};

mod common;

use common::table;

const TSV: &str = include_str!("data/control-bits.tsv");

/// One row of the table.
struct Row {
    register: &'static str,
    bit: u32,
    name: &'static str,
    default1: bool,
}

fn rows() -> Vec<Row> {
    table(
        TSV,
        &[
            "register",
            "bit",
            "name",
            "description",
            "default1",
            "notes",
        ],
    )
    .into_iter()
    .map(|cols| {
        let default1 = match cols[4] {
            "yes" => true,
            "no" => false,
            other => panic!("bad default1 column {other:?} in {cols:?}"),
        };
        Row {
            register: cols[0],
            bit: cols[1].parse().expect("bit number"),
            name: cols[2],
            default1,
        }
    })
    .collect()
}

/// Checks one bitflags type against the rows of `register`.
fn check<F>(register: &str, to_u64: impl Fn(F) -> u64, width: u32)
where
    F: Flags + Copy,
{
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| r.register == register)
        .collect();
    assert!(!rows.is_empty(), "no rows for {register}");
    let mut named = 0usize;
    for row in &rows {
        assert!(row.bit < width, "{register} bit {} out of range", row.bit);
        if row.name == "RESERVED" {
            assert!(
                F::FLAGS.iter().all(|f| to_u64(*f.value()) != 1 << row.bit),
                "{register}: reserved bit {} has a flag",
                row.bit
            );
            continue;
        }
        named += 1;
        let flag = F::from_name(row.name)
            .unwrap_or_else(|| panic!("{register}: no flag named {}", row.name));
        assert_eq!(
            to_u64(flag),
            1 << row.bit,
            "{register}: {} has the wrong bit",
            row.name
        );
    }
    // No extra flags: every named flag (the `const _` is unnamed) is a tsv row.
    let names: Vec<&str> = F::FLAGS
        .iter()
        .filter(|f| f.is_named())
        .map(|f| f.name())
        .collect();
    assert_eq!(
        names.len(),
        named,
        "{register}: flag count differs from the tsv: {names:?}"
    );
    for name in names {
        assert!(
            rows.iter().any(|r| r.name == name),
            "{register}: flag {name} is not in the tsv"
        );
    }
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn pin_based() {
    check::<PinBasedControls>("pin", |f| f.bits().into(), 32);
    assert_eq!(PinBasedControls::DEFAULT1.bits(), default1("pin") as u32);
    assert_eq!(PinBasedControls::DEFINED.bits(), defined("pin") as u32);
    assert_eq!(PinBasedControls::DEFAULT1.bits(), 0x16);
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn primary_proc_based() {
    check::<PrimaryProcBasedControls>("proc", |f| f.bits().into(), 32);
    assert_eq!(
        PrimaryProcBasedControls::DEFAULT1.bits(),
        default1("proc") as u32
    );
    assert_eq!(
        PrimaryProcBasedControls::DEFINED.bits(),
        defined("proc") as u32
    );
    assert_eq!(PrimaryProcBasedControls::DEFAULT1.bits(), 0x0401_E172);
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn secondary_proc_based() {
    check::<SecondaryProcBasedControls>("proc2", |f| f.bits().into(), 32);
    assert_eq!(
        SecondaryProcBasedControls::DEFAULT1.bits(),
        default1("proc2") as u32
    );
    assert_eq!(
        SecondaryProcBasedControls::DEFINED.bits(),
        defined("proc2") as u32
    );
    assert!(SecondaryProcBasedControls::DEFAULT1.is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn tertiary_proc_based() {
    check::<TertiaryProcBasedControls>("proc3", |f| f.bits(), 64);
    assert_eq!(
        TertiaryProcBasedControls::DEFAULT1.bits(),
        default1("proc3")
    );
    assert_eq!(TertiaryProcBasedControls::DEFINED.bits(), defined("proc3"));
    assert!(TertiaryProcBasedControls::DEFAULT1.is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn primary_exit() {
    check::<PrimaryExitControls>("exit", |f| f.bits().into(), 32);
    assert_eq!(
        PrimaryExitControls::DEFAULT1.bits(),
        default1("exit") as u32
    );
    assert_eq!(PrimaryExitControls::DEFINED.bits(), defined("exit") as u32);
    assert_eq!(PrimaryExitControls::DEFAULT1.bits(), 0x0003_6DFF);
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn secondary_exit() {
    check::<SecondaryExitControls>("exit2", |f| f.bits(), 64);
    assert_eq!(SecondaryExitControls::DEFAULT1.bits(), default1("exit2"));
    assert_eq!(SecondaryExitControls::DEFINED.bits(), defined("exit2"));
    assert!(SecondaryExitControls::DEFAULT1.is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn entry() {
    check::<EntryControls>("entry", |f| f.bits().into(), 32);
    assert_eq!(EntryControls::DEFAULT1.bits(), default1("entry") as u32);
    assert_eq!(EntryControls::DEFINED.bits(), defined("entry") as u32);
    assert_eq!(EntryControls::DEFAULT1.bits(), 0x0000_11FF);
}

/// Well-known bits used by the rest of the workspace, spelled out against the SDM tables.
#[test]
fn well_known_bits() {
    assert_eq!(PrimaryProcBasedControls::USE_MSR_BITMAPS.bits(), 1 << 28);
    assert_eq!(
        PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS.bits(),
        1 << 31
    );
    assert_eq!(SecondaryProcBasedControls::ENABLE_EPT.bits(), 1 << 1);
    assert_eq!(SecondaryProcBasedControls::ENABLE_VPID.bits(), 1 << 5);
    assert_eq!(
        SecondaryProcBasedControls::UNRESTRICTED_GUEST.bits(),
        1 << 7
    );
    assert_eq!(PrimaryExitControls::HOST_ADDRESS_SPACE_SIZE.bits(), 1 << 9);
    assert_eq!(EntryControls::IA32E_MODE_GUEST.bits(), 1 << 9);
    assert_eq!(
        PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER.bits(),
        1 << 6
    );
}

fn default1(register: &str) -> u64 {
    rows()
        .iter()
        .filter(|r| r.register == register && r.default1)
        .fold(0, |acc, r| acc | 1 << r.bit)
}

fn defined(register: &str) -> u64 {
    rows()
        .iter()
        .filter(|r| r.register == register && r.name != "RESERVED")
        .fold(0, |acc, r| acc | 1 << r.bit)
}

proptest::proptest! {
    /// Parsing a raw value keeps every bit, named or not (a newer processor's capability
    /// MSR may report controls unknown here).
    #[test]
    fn raw_bits_are_kept(raw32: u32, raw64: u64) {
        proptest::prop_assert_eq!(PinBasedControls::from_bits_truncate(raw32).bits(), raw32);
        proptest::prop_assert_eq!(PrimaryProcBasedControls::from_bits_retain(raw32).bits(), raw32);
        proptest::prop_assert_eq!(SecondaryProcBasedControls::from_bits(raw32).map(|c| c.bits()), Some(raw32));
        proptest::prop_assert_eq!(TertiaryProcBasedControls::from_bits_truncate(raw64).bits(), raw64);
        proptest::prop_assert_eq!(PrimaryExitControls::from_bits_truncate(raw32).bits(), raw32);
        proptest::prop_assert_eq!(SecondaryExitControls::from_bits_truncate(raw64).bits(), raw64);
        proptest::prop_assert_eq!(EntryControls::from_bits_truncate(raw32).bits(), raw32);
        proptest::prop_assert_eq!((!EntryControls::from_bits_retain(raw32)).bits(), !raw32);
    }
}
