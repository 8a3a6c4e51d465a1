//! The valid baselines pass on every Bochs model; the checker never panics.

mod common;

use proptest::prelude::*;
use vmx_defs::capabilities::{RawVmxMsrs, VmxCapabilities};
use vmx_defs::msr_entry::MsrEntry;
use vmx_defs::vmcs::ALL_FIELDS;
use vmx_entry_check::{CheckContext, CheckId, CpuFeatures, VmcsSnapshot, check};

#[test]
fn baselines_pass_on_every_model() {
    let all = common::baselines();
    assert!(all.len() >= 7, "{} baselines", all.len());
    for (model, kind, caps, snapshot) in all {
        let d = check(&snapshot, &common::ctx(caps));
        assert!(d.passed(), "{model} {kind}:\n{d}");
        assert_eq!(d.outcome(), None);
    }
}

#[test]
fn every_check_has_a_section_and_rule() {
    for id in CheckId::ALL {
        assert!(id.section().starts_with("27."), "{id:?}");
        assert!(!id.rule().is_empty());
        assert_eq!(format!("{id:?}"), id.name());
    }
    assert!(CheckId::ALL.len() >= 140, "{}", CheckId::ALL.len());
}

fn arb_caps() -> impl Strategy<Value = VmxCapabilities> {
    (
        proptest::array::uniform12(any::<u64>()),
        proptest::array::uniform9(proptest::option::of(any::<u64>())),
    )
        .prop_map(|(a, b)| {
            VmxCapabilities::from_raw(RawVmxMsrs {
                feature_control: a[0],
                basic: a[1],
                pinbased_ctls: a[2],
                procbased_ctls: a[3],
                exit_ctls: a[4],
                entry_ctls: a[5],
                misc: a[6],
                cr0_fixed0: a[7],
                cr0_fixed1: a[8],
                cr4_fixed0: a[9],
                cr4_fixed1: a[10],
                vmcs_enum: a[11],
                procbased_ctls2: b[0],
                ept_vpid_cap: b[1],
                true_pinbased_ctls: b[2],
                true_procbased_ctls: b[3],
                true_exit_ctls: b[4],
                true_entry_ctls: b[5],
                vmfunc: b[6],
                procbased_ctls3: b[7],
                exit_ctls2: b[8],
            })
        })
}

proptest! {
    #[test]
    fn never_panics(
        caps in arb_caps(),
        values in proptest::collection::vec((any::<usize>(), any::<u64>()), 0..300),
        maxphy in any::<u8>(),
        flags in any::<[bool; 8]>(),
        extra in any::<[u64; 8]>(),
        entries in proptest::collection::vec((any::<u32>(), any::<u32>(), any::<u64>()), 0..8),
    ) {
        let mut s = VmcsSnapshot::new();
        for (i, v) in values {
            s.set_raw(ALL_FIELDS[i % ALL_FIELDS.len()].encoding, v);
        }
        let area: Vec<MsrEntry> = entries
            .iter()
            .map(|&(index, reserved, value)| MsrEntry { index, reserved, value })
            .collect();
        let mut ctx = CheckContext::new(caps, maxphy);
        ctx.cpu = CpuFeatures { la57: flags[0], lam: flags[1], rtm: flags[2], sgx: flags[3], supported_xss: extra[0], supported_xcr0: extra[1] };
        ctx.host_ia32e = flags[4];
        ctx.in_smm = flags[5];
        ctx.current_vmcs = flags[6].then_some(extra[2]);
        ctx.link_vmcs_header = flags[7].then_some(extra[3] as u32);
        ctx.virtual_tpr = Some(extra[4] as u8);
        ctx.pdptes_in_memory = Some([extra[5], extra[6], extra[7], extra[0]]);
        ctx.msr_load = Some(&area);
        let d = check(&s, &ctx);
        let _ = format!("{d}");
        prop_assert!(d.len() <= vmx_entry_check::CAPACITY);
    }

    #[test]
    fn baselines_pass_with_any_cpu_features(la57 in any::<bool>(), rtm in any::<bool>(), sgx in any::<bool>(), maxphy in 39u8..=52) {
        for (model, kind, caps, snapshot) in common::baselines() {
            let mut ctx = CheckContext::new(caps, maxphy);
            ctx.cpu.la57 = la57;
            ctx.cpu.rtm = rtm;
            ctx.cpu.sgx = sgx;
            let d = check(&snapshot, &ctx);
            prop_assert!(d.passed(), "{} {}: {}", model, kind, d);
        }
    }
}
