//! Cross-checks `vmx_defs::exit_reason` against tests/data/exit-reasons.tsv and the
//! EXIT_REASON rows of tests/data/exit-qualifications.tsv (SDM Vol. 3C §28.2.1, Vol. 3D Appendix C).

use proptest::prelude::*;
use vmx_defs::exit_reason::{BasicExitReason, ExitReason};

mod common;

use common::{range_mask, table};

const REASONS: &str = include_str!("data/exit-reasons.tsv");
const QUALIFICATIONS: &str = include_str!("data/exit-qualifications.tsv");

/// Data rows (after the comment lines and the header) split on tabs.
fn rows(tsv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    let header: &[&str] = if tsv == REASONS {
        &["number", "name", "description", "notes"]
    } else {
        &["exit-reason", "field", "name", "description", "notes"]
    };
    table(tsv, header).into_iter()
}

#[test]
fn every_reason_row_matches() {
    let mut defined = 0;
    let mut count = 0;
    for cols in rows(REASONS) {
        let num: u16 = cols[0].parse().expect("number column");
        let (name, desc) = (cols[1], cols[2]);
        assert_eq!(num, count, "rows are consecutive");
        count += 1;
        let r = BasicExitReason(num);
        if name == "RESERVED" {
            assert_eq!(r.name(), None, "reason {num} is unused");
            assert_eq!(r.description(), None);
            assert!(!BasicExitReason::ALL.contains(&r));
            assert_eq!(r.to_string(), format!("unknown exit reason {num}"));
        } else {
            defined += 1;
            assert_eq!(r.name(), Some(name), "reason {num}");
            assert_eq!(r.description(), Some(desc), "reason {num}");
            assert!(BasicExitReason::ALL.contains(&r));
            assert_eq!(r.to_string(), format!("{name} ({num})"));
        }
    }
    assert_eq!(count, 86);
    assert_eq!(defined, BasicExitReason::ALL.len());
}

#[test]
fn some_constants() {
    assert_eq!(BasicExitReason::CPUID.number(), 10);
    assert_eq!(BasicExitReason::EPT_VIOLATION.number(), 48);
    assert_eq!(BasicExitReason::WRMSRNS_IMMEDIATE.number(), 85);
    assert_eq!(BasicExitReason::EXCEPTION_OR_NMI.number(), 0);
}

/// Parses "31" or "24:17" into a mask.
fn mask(bits: &str) -> u32 {
    u32::try_from(range_mask(bits)).expect("a bit range of the 32-bit field")
}

#[test]
fn exit_reason_field_rows_match() {
    let mut seen = 0;
    let mut covered = 0u32;
    for cols in rows(QUALIFICATIONS).filter(|c| c[0].starts_with("all (EXIT_REASON")) {
        let m = mask(cols[1]);
        covered |= m;
        let accessor: Option<fn(ExitReason) -> bool> = match cols[2] {
            "EXIT_REASON.BASIC_EXIT_REASON" => {
                assert_eq!(m, 0xffff);
                let r = ExitReason(0xffff_0000 | 48);
                assert_eq!(r.basic(), BasicExitReason::EPT_VIOLATION);
                None
            }
            "EXIT_REASON.ALWAYS_0" | "EXIT_REASON.RESERVED" => {
                assert_eq!(ExitReason::UNDEFINED_BITS & m, m, "{}", cols[1]);
                None
            }
            "EXIT_REASON.SHADOW_STACK_PREMATURELY_BUSY" => {
                Some(ExitReason::shadow_stack_prematurely_busy)
            }
            "EXIT_REASON.BUS_LOCK_ASSERTED" => Some(ExitReason::bus_lock),
            "EXIT_REASON.ENCLAVE_MODE" => Some(ExitReason::enclave),
            "EXIT_REASON.PENDING_MTF_VM_EXIT" => Some(ExitReason::pending_mtf),
            "EXIT_REASON.VM_EXIT_FROM_VMX_ROOT" => Some(ExitReason::from_vmx_root),
            "EXIT_REASON.VM_ENTRY_FAILURE" => Some(ExitReason::is_entry_failure),
            other => panic!("row {other} not handled"),
        };
        if let Some(get) = accessor {
            assert!(get(ExitReason(m)), "{}", cols[2]);
            assert!(!get(ExitReason(!m)), "{}", cols[2]);
        }
        seen += 1;
    }
    assert!(seen >= 10);
    assert_eq!(covered, u32::MAX, "the rows cover all 32 bits");
}

proptest! {
    #[test]
    fn any_field_decodes(raw in any::<u32>()) {
        let r = ExitReason::from(raw);
        prop_assert_eq!(r.raw(), raw);
        prop_assert_eq!(u32::from(r), raw);
        prop_assert_eq!(u32::from(r.basic().number()), raw & 0xffff);
        prop_assert_eq!(r.is_entry_failure(), raw >> 31 == 1);
        prop_assert_eq!(r.from_vmx_root(), (raw >> 29) & 1 == 1);
        prop_assert_eq!(r.pending_mtf(), (raw >> 28) & 1 == 1);
        prop_assert_eq!(r.enclave(), (raw >> 27) & 1 == 1);
        prop_assert_eq!(r.bus_lock(), (raw >> 26) & 1 == 1);
        prop_assert_eq!(r.shadow_stack_prematurely_busy(), (raw >> 25) & 1 == 1);
        let _ = (r.to_string(), format!("{r:?}"));
    }

    #[test]
    fn any_basic_reason_decodes(n in any::<u16>()) {
        let b = BasicExitReason::from(n);
        prop_assert_eq!(b.name().is_some(), b.description().is_some());
        prop_assert_eq!(b.is_defined(), BasicExitReason::ALL.contains(&b));
        prop_assert_eq!(ExitReason::from_basic(b).basic(), b);
        let _ = (b.to_string(), format!("{b:?}"));
    }
}
