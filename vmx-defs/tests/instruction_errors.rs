//! Cross-checks `vmx_defs::instruction_error` against tests/data/instruction-errors.tsv
//! (SDM Vol. 3C §31.4).

use proptest::prelude::*;
use vmx_defs::instruction_error::VmInstructionError;

mod common;

use common::table;

const TSV: &str = include_str!("data/instruction-errors.tsv");

/// `(number, description)` for every data row.
fn rows() -> impl Iterator<Item = (u32, &'static str)> {
    table(TSV, &["number", "description", "notes"])
        .into_iter()
        .map(|cols| {
            let num = cols[0]
                .parse()
                .unwrap_or_else(|e| panic!("bad error number {:?}: {e}", cols[0]));
            (num, cols[1])
        })
}

#[test]
fn every_row_matches() {
    let mut defined = 0;
    let mut reserved = 0;
    for (num, desc) in rows() {
        let e = VmInstructionError(num);
        if desc == "RESERVED" {
            reserved += 1;
            assert_eq!(e.description(), None, "error {num} is reserved");
            assert!(!VmInstructionError::ALL.contains(&e));
            assert_eq!(
                e.to_string(),
                format!("reserved VM-instruction error {num}")
            );
        } else {
            defined += 1;
            assert_eq!(e.description(), Some(desc), "error {num}");
            assert!(
                VmInstructionError::ALL.contains(&e),
                "error {num} missing from ALL"
            );
            assert_eq!(e.to_string(), format!("VM-instruction error {num}: {desc}"));
        }
    }
    assert_eq!(defined, VmInstructionError::ALL.len());
    assert_eq!(defined + reserved, 28);
}

#[test]
fn named_constants() {
    use VmInstructionError as E;
    let expected = [
        (E::VMCALL_IN_VMX_ROOT, 1),
        (E::VMCLEAR_INVALID_ADDRESS, 2),
        (E::VMCLEAR_VMXON_POINTER, 3),
        (E::VMLAUNCH_NONCLEAR_VMCS, 4),
        (E::VMRESUME_NONLAUNCHED_VMCS, 5),
        (E::VMRESUME_AFTER_VMXOFF, 6),
        (E::ENTRY_INVALID_CONTROL_FIELDS, 7),
        (E::ENTRY_INVALID_HOST_STATE, 8),
        (E::VMPTRLD_INVALID_ADDRESS, 9),
        (E::VMPTRLD_VMXON_POINTER, 10),
        (E::VMPTRLD_INCORRECT_REVISION, 11),
        (E::UNSUPPORTED_VMCS_COMPONENT, 12),
        (E::VMWRITE_READ_ONLY_COMPONENT, 13),
        (E::VMXON_IN_VMX_ROOT, 15),
        (E::ENTRY_EVENTS_BLOCKED_BY_MOV_SS, 26),
        (E::INVALID_INVEPT_INVVPID_OPERAND, 28),
    ];
    for (e, n) in expected {
        assert_eq!(e.number(), n);
    }
    assert_eq!(
        E::UNSUPPORTED_VMCS_COMPONENT.to_string(),
        "VM-instruction error 12: VMREAD/VMWRITE from/to unsupported VMCS component"
    );
    assert_eq!(E(14).to_string(), "reserved VM-instruction error 14");
}

proptest! {
    #[test]
    fn any_number_decodes(n in any::<u32>()) {
        let e = VmInstructionError::from(n);
        prop_assert_eq!(e.number(), n);
        prop_assert_eq!(u32::from(e), n);
        prop_assert_eq!(e.description().is_some(), e.name().is_some());
        prop_assert_eq!(e.is_defined(), VmInstructionError::ALL.contains(&e));
        let shown = e.to_string();
        prop_assert!(shown.contains(&n.to_string()));
        let _ = format!("{e:?}");
    }
}
