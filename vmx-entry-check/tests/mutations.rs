//! Every targeted mutation trips the check it names; random flips are deterministic and
//! plentiful.

mod common;

use std::collections::BTreeSet;

use vmx_entry_check::mutations::{BitFlips, targeted};
use vmx_entry_check::{CheckId, check};

#[test]
fn targeted_mutations_trip_their_check() {
    let mut covered = BTreeSet::new();
    let mut total = 0;
    for (model, kind, caps, base) in common::baselines() {
        let ctx = common::ctx(caps);
        let (list, n) = targeted(&base, &caps);
        assert!(n > 60, "{model} {kind}: only {n} targeted mutations");
        for m in list.iter().flatten() {
            let expect = m.expect.unwrap();
            let d = check(&m.apply(&base), &ctx);
            assert!(
                d.failed(expect),
                "{model} {kind}: {expect:?} not tripped by {m:?}:\n{d}"
            );
            covered.insert(expect);
            total += 1;
        }
    }
    assert!(total >= 300, "{total}");
    assert!(covered.len() >= 95, "{} checks covered", covered.len());
}

#[test]
fn single_field_mutations_trip_exactly_their_check() {
    // Mutations that write one field and whose check has no companion rule trip only it.
    for (model, kind, caps, base) in common::baselines() {
        let ctx = common::ctx(caps);
        let (list, _) = targeted(&base, &caps);
        for m in list.iter().flatten() {
            let expect = m.expect.unwrap();
            if m.writes[1].is_some()
                || matches!(
                    expect,
                    CheckId::EntryToSmmOutsideSmm
                        | CheckId::HostAddressSpaceSizeMismatch
                        | CheckId::GuestSsDpl
                        | CheckId::GuestSsRplCsRpl
                        | CheckId::GuestCsType
                        | CheckId::GuestRflagsVm
                        | CheckId::GuestInterruptibilityStiAndMovSs
                        | CheckId::GuestEnclaveInterruptionWithMovSs
                        | CheckId::GuestPendingDebugRtm
                        | CheckId::GuestEferLma
                        | CheckId::GuestIa32eWithoutPaging
                        | CheckId::HostCr0Fixed
                        | CheckId::GuestCr0Fixed
                        | CheckId::EventInjectionVector
                        | CheckId::EventInjectionErrorCode
                        | CheckId::EventInjectionNested
                        | CheckId::EventInjectionReserved
                        | CheckId::EventInjectionType
                        | CheckId::GuestCsDpl
                        | CheckId::PrimaryProcReserved
                        | CheckId::ExitControlsReserved
                        | CheckId::EntryControlsReserved
                        | CheckId::HostPaeWithoutPaging64
                        | CheckId::GuestCr0PgWithoutPe
                        | CheckId::UnrestrictedGuestWithoutEpt
                        | CheckId::HostEferLmaLme
                        | CheckId::SecondaryProcReserved
                        | CheckId::PinBasedReserved
                )
            {
                continue;
            }
            let d = check(&m.apply(&base), &ctx);
            let ids: Vec<CheckId> = d.failures().map(|f| f.id).collect();
            assert_eq!(ids, vec![expect], "{model} {kind}: {m:?}\n{d}");
        }
    }
}

#[test]
fn bit_flips_are_deterministic_and_plentiful() {
    let (_, caps, base) = {
        let (m, _, c, b) = common::baselines().remove(0);
        (m, c, b)
    };
    let a: Vec<_> = BitFlips::new(&base, 42).take(300).collect();
    let b: Vec<_> = BitFlips::new(&base, 42).take(300).collect();
    let c: Vec<_> = BitFlips::new(&base, 43).take(300).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let ctx = common::ctx(caps);
    let mut failing = 0;
    for m in &a {
        let (field, value) = m.field().unwrap();
        assert_ne!(base.get_raw(field), Some(value));
        if !check(&m.apply(&base), &ctx).passed() {
            failing += 1;
        }
    }
    // Many single-bit flips hit reserved or constrained bits.
    assert!(failing > 50, "{failing}");
}
