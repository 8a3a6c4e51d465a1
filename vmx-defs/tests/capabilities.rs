//! Capability MSRs (SDM Vol. 3D Appendix A) cross-checked against the crate's copies of the
//! reference tables: `tests/data/vmx-msrs.tsv` (MSR indices and layouts) and
//! `tests/data/bochs-models.tsv` (real values per Bochs CPU model).
//!
//! Under Miri (`.ci/run`) the tests that parse the tsv tables and cross-check them are
//! ignored: `vmx-defs` is `#![forbid(unsafe_code)]`, so these pure table comparisons hold
//! no unsafe code for Miri to check, and interpreting the tsv parsing takes minutes each.
//! They run natively in `cargo test`; the SDM examples and proptests here still run under
//! Miri.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use vmx_defs::capabilities::{
    AllowedSettings, ControlBits, ControlKind, EptVpidCap, FixedRegister, RawVmxMsrs,
    VmFuncControls, VmxBasic, VmxCapabilities, msr,
};
use vmx_defs::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryExitControls, SecondaryProcBasedControls, TertiaryProcBasedControls,
};
use vmx_defs::memory_type::MemoryType;

mod common;

use common::{hex, table};

const MSRS_TSV: &str = include_str!("data/vmx-msrs.tsv");
const MODELS_TSV: &str = include_str!("data/bochs-models.tsv");

// ---------------------------------------------------------------- MSR indices

macro_rules! named {
    ($($name:ident),* $(,)?) => {
        [$((stringify!($name), msr::$name)),*]
    };
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn every_msr_in_the_table_is_a_constant_with_the_same_name() {
    let consts: BTreeSet<(&str, u32)> = named![
        IA32_FEATURE_CONTROL,
        IA32_VMX_BASIC,
        IA32_VMX_PINBASED_CTLS,
        IA32_VMX_PROCBASED_CTLS,
        IA32_VMX_EXIT_CTLS,
        IA32_VMX_ENTRY_CTLS,
        IA32_VMX_MISC,
        IA32_VMX_CR0_FIXED0,
        IA32_VMX_CR0_FIXED1,
        IA32_VMX_CR4_FIXED0,
        IA32_VMX_CR4_FIXED1,
        IA32_VMX_VMCS_ENUM,
        IA32_VMX_PROCBASED_CTLS2,
        IA32_VMX_EPT_VPID_CAP,
        IA32_VMX_TRUE_PINBASED_CTLS,
        IA32_VMX_TRUE_PROCBASED_CTLS,
        IA32_VMX_TRUE_EXIT_CTLS,
        IA32_VMX_TRUE_ENTRY_CTLS,
        IA32_VMX_VMFUNC,
        IA32_VMX_PROCBASED_CTLS3,
        IA32_VMX_EXIT_CTLS2,
    ]
    .into_iter()
    .collect();
    let rows: BTreeSet<(&str, u32)> = table(MSRS_TSV, &["msr", "name", "description", "layout"])
        .iter()
        .map(|r| (r[1], u32::try_from(hex(r[0])).expect("32-bit MSR index")))
        .collect();
    assert_eq!(consts, rows);
    let all: BTreeSet<(&str, u32)> = msr::ALL.iter().map(|&(i, n)| (n, i)).collect();
    assert_eq!(all, rows);
    for (name, index) in rows {
        assert_eq!(msr::name(index), Some(name));
        assert!(msr::exists_if(index).is_some(), "{name}");
    }
    assert_eq!(msr::name(0x494), None);
    assert_eq!(msr::exists_if(0x479), None);
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn existence_rules_match_the_table() {
    // The "exists only if" clause of each optional MSR's description names the bit that
    // `msr::exists_if` (and `from_msrs`) uses.
    let mut checked = 0;
    for r in table(MSRS_TSV, &["msr", "name", "description", "layout"]) {
        let index = u32::try_from(hex(r[0])).expect("index");
        let rule = msr::exists_if(index).expect("rule");
        if let Some(pos) = r[2].find("exists only if ") {
            let clause = &r[2][pos + "exists only if ".len()..];
            let key = clause.split_whitespace().next().expect("clause");
            let key = key.trim_end_matches("=1");
            if key.starts_with("IA32_VMX") {
                assert!(rule.starts_with(key), "{}: {rule} vs {clause}", r[1]);
                checked += 1;
            }
        }
    }
    // 0x48B, 0x48D-0x490, 0x492 and 0x493 state their rule as an MSR bit.
    assert_eq!(checked, 7);
}

// ---------------------------------------------------------------- Bochs models

/// A feature predicate of `VmxCapabilities`.
type Predicate = fn(&VmxCapabilities) -> bool;

/// One row of bochs-models.tsv.
struct Model {
    name: &'static str,
    basic: u64,
    procbased_ctls2: u64,
    ept_vpid_cap: u64,
    ept: bool,
    vpid: bool,
    unrestricted_guest: bool,
    preemption_timer: bool,
    notes: &'static str,
}

fn yes_no(s: &str) -> bool {
    match s {
        "yes" => true,
        "no" => false,
        _ => panic!("not yes/no: {s:?}"),
    }
}

fn models() -> Vec<Model> {
    let header = [
        "model",
        "IA32_VMX_BASIC",
        "IA32_VMX_PROCBASED_CTLS2",
        "IA32_VMX_EPT_VPID_CAP",
        "EPT",
        "VPID",
        "unrestricted_guest",
        "preemption_timer",
        "notes",
    ];
    table(MODELS_TSV, &header)
        .into_iter()
        .map(|r| Model {
            name: r[0],
            basic: hex(r[1]),
            procbased_ctls2: hex(r[2]),
            ept_vpid_cap: hex(r[3]),
            ept: yes_no(r[4]),
            vpid: yes_no(r[5]),
            unrestricted_guest: yes_no(r[6]),
            preemption_timer: yes_no(r[7]),
            notes: r[8],
        })
        .collect()
}

/// The hex value quoted after `key ` in a notes cell (e.g. "misc 0x600401e0").
fn quoted(notes: &str, key: &str) -> Option<u64> {
    let pat = format!("{key} 0x");
    let start = notes.find(&pat)? + pat.len() - 2;
    let end = notes[start..]
        .find(|c: char| !(c.is_ascii_hexdigit() || c == 'x'))
        .map_or(notes.len(), |e| start + e);
    Some(hex(&notes[start..end]))
}

/// The "A/B" pair quoted after `key ` (e.g. "CR0_FIXED0/1 0x80000021/0xffffffff").
fn quoted_pair(notes: &str, key: &str) -> Option<(u64, u64)> {
    let pat = format!("{key} ");
    let start = notes.find(&pat)? + pat.len();
    let text: &str = notes[start..].split([',', ' ']).next()?;
    let (a, b) = text.split_once('/')?;
    Some((hex(a), hex(b)))
}

fn model(name: &str) -> Model {
    models()
        .into_iter()
        .find(|m| m.name == name)
        .expect("model in table")
}

/// The non-TRUE form of a TRUE control MSR value: the default1 class reported as must-be-1
/// (SDM Vol. 3D §A.2). The values quoted in bochs-models.tsv are the TRUE MSRs (their low
/// halves lack CR3 exiting and the debug-controls bits, as vmx-msrs.tsv notes).
fn non_true(kind: ControlKind, true_value: u64) -> u64 {
    true_value | kind.default1()
}

/// A capability set from a model row, with the control MSRs its row does not quote taken
/// from `base` (a model whose notes quote them). Returns the MSR map `from_msrs` reads.
fn msr_map(m: &Model, base: &Model) -> BTreeMap<u32, u64> {
    let q = |key: &str| quoted(m.notes, key).or_else(|| quoted(base.notes, key));
    let pin = quoted(m.notes, "pin-based allowed-1")
        .map(|a1| a1 << 32 | 0x16)
        .or_else(|| q("pinbased"))
        .expect("pin-based value");
    let proc = q("procbased").expect("procbased");
    let exit = q("exit").expect("exit");
    let entry = q("entry").expect("entry");
    let (cr0_0, cr0_1) = quoted_pair(base.notes, "CR0_FIXED0/1").expect("cr0");
    let (cr4_0, cr4_1) = quoted_pair(base.notes, "CR4_FIXED0/1").expect("cr4");
    let mut map = BTreeMap::from([
        (msr::IA32_FEATURE_CONTROL, 0x5),
        (msr::IA32_VMX_BASIC, m.basic),
        (
            msr::IA32_VMX_PINBASED_CTLS,
            non_true(ControlKind::PinBased, pin),
        ),
        (
            msr::IA32_VMX_PROCBASED_CTLS,
            non_true(ControlKind::PrimaryProcBased, proc),
        ),
        (
            msr::IA32_VMX_EXIT_CTLS,
            non_true(ControlKind::PrimaryExit, exit),
        ),
        (
            msr::IA32_VMX_ENTRY_CTLS,
            non_true(ControlKind::Entry, entry),
        ),
        (msr::IA32_VMX_MISC, q("misc").expect("misc")),
        (msr::IA32_VMX_CR0_FIXED0, cr0_0),
        (msr::IA32_VMX_CR0_FIXED1, cr0_1),
        (msr::IA32_VMX_CR4_FIXED0, cr4_0),
        (msr::IA32_VMX_CR4_FIXED1, cr4_1),
        (msr::IA32_VMX_VMCS_ENUM, q("VMCS_ENUM").expect("vmcs enum")),
    ]);
    if m.procbased_ctls2 != 0 {
        map.insert(msr::IA32_VMX_PROCBASED_CTLS2, m.procbased_ctls2);
    }
    if m.ept || m.vpid {
        map.insert(msr::IA32_VMX_EPT_VPID_CAP, m.ept_vpid_cap);
    }
    if m.basic & 1 << 55 != 0 {
        map.insert(msr::IA32_VMX_TRUE_PINBASED_CTLS, pin);
        map.insert(msr::IA32_VMX_TRUE_PROCBASED_CTLS, proc);
        map.insert(msr::IA32_VMX_TRUE_EXIT_CTLS, exit);
        map.insert(msr::IA32_VMX_TRUE_ENTRY_CTLS, entry);
    }
    if m.procbased_ctls2 & 1 << (32 + 13) != 0 {
        map.insert(msr::IA32_VMX_VMFUNC, q("vmfunc").expect("vmfunc"));
    }
    map
}

/// Reads through `from_msrs` with a closure that panics (the test's stand-in for #GP) on an
/// MSR absent from `map`, and checks every MSR of `map` was read exactly once.
fn read_strictly(map: &BTreeMap<u32, u64>) -> VmxCapabilities {
    let mut reads = Vec::new();
    let caps = VmxCapabilities::from_msrs(|index| {
        reads.push(index);
        match map.get(&index) {
            Some(&v) => v,
            None => panic!(
                "#GP: RDMSR of absent MSR {index:#x} ({:?})",
                msr::name(index)
            ),
        }
    });
    reads.sort_unstable();
    assert_eq!(
        reads,
        map.keys().copied().collect::<Vec<_>>(),
        "each MSR read once"
    );
    let present: BTreeMap<u32, u64> = caps.raw().present().collect();
    assert_eq!(&present, map);
    caps
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn model_rows_decode_to_the_features_the_table_lists() {
    let rows = models();
    assert_eq!(rows.len(), 8);
    for m in &rows {
        let basic = VmxBasic::from(m.basic);
        assert_eq!(basic.check(), Ok(()), "{}", m.name);
        assert_eq!(basic.region_size(), 4096, "{}", m.name);
        assert_eq!(basic.memory_type(), MemoryType::WRITE_BACK, "{}", m.name);
        assert!(basic.true_controls() && basic.ins_outs_info(), "{}", m.name);
        assert_eq!(
            basic.no_hw_error_code_check(),
            m.notes.contains("BASIC bit 56 set"),
            "{}",
            m.name
        );

        let sec = AllowedSettings::<SecondaryProcBasedControls>::from_msr(m.procbased_ctls2);
        assert!(
            sec.must_be_one().is_empty(),
            "{}: no default1 secondary controls",
            m.name
        );
        assert_eq!(
            sec.can_be_one(SecondaryProcBasedControls::ENABLE_EPT),
            m.ept,
            "{}",
            m.name
        );
        assert_eq!(
            sec.can_be_one(SecondaryProcBasedControls::ENABLE_VPID),
            m.vpid,
            "{}",
            m.name
        );
        assert_eq!(
            sec.can_be_one(SecondaryProcBasedControls::UNRESTRICTED_GUEST),
            m.unrestricted_guest,
            "{}",
            m.name
        );
        let cap = EptVpidCap::from_bits_retain(m.ept_vpid_cap);
        assert_eq!(cap.is_empty(), !(m.ept || m.vpid), "{}", m.name);
        if m.ept {
            assert!(cap.contains(EptVpidCap::PAGE_WALK_4 | EptVpidCap::MEMORY_TYPE_WB));
            assert!(
                cap.contains(EptVpidCap::INVEPT | EptVpidCap::PAGE_2M),
                "{}",
                m.name
            );
            assert!(
                !cap.contains(EptVpidCap::PAGE_WALK_5),
                "{}: Bochs 2.7 has no 5-level EPT",
                m.name
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn every_model_through_from_msrs() {
    let skylake = model("corei7_skylake_x");
    for m in models() {
        let caps = read_strictly(&msr_map(&m, &skylake));
        let n = m.name;
        assert_eq!(caps.check(), Ok(()), "{n}");
        assert!(caps.has_true_controls(), "{n}");
        assert_eq!(caps.has_secondary_controls(), m.procbased_ctls2 != 0, "{n}");
        assert_eq!(caps.has_ept(), m.ept, "{n}");
        assert_eq!(caps.has_vpid(), m.vpid, "{n}");
        assert_eq!(caps.has_unrestricted_guest(), m.unrestricted_guest, "{n}");
        if m.notes.contains("pinbased") || m.notes.contains("pin-based") {
            assert_eq!(caps.has_preemption_timer(), m.preemption_timer, "{n}");
        }
        assert_eq!(caps.has_invept(), m.ept, "{n}");
        assert_eq!(caps.has_invept_single_context(), m.ept, "{n}");
        assert_eq!(caps.has_invept_all_context(), m.ept, "{n}");
        assert_eq!(caps.has_invvpid(), m.vpid, "{n}");
        assert_eq!(caps.has_invvpid_individual_address(), m.vpid, "{n}");
        assert_eq!(caps.has_ept_execute_only(), m.ept, "{n}");
        assert_eq!(caps.has_ept_wb(), m.ept, "{n}");
        assert_eq!(caps.has_ept_4level(), m.ept, "{n}");
        assert!(!caps.has_ept_5level(), "{n}");
        assert!(
            !caps.has_tertiary_controls() && !caps.has_secondary_exit_controls(),
            "{n}"
        );
        assert_eq!(
            caps.has_ept_1g_pages(),
            m.ept && !m.notes.contains("no 1 GiB EPT pages"),
            "{n}"
        );
        assert_eq!(
            caps.has_ept_ad(),
            m.ept && !m.notes.contains("no EPT A/D bits"),
            "{n}"
        );
        if m.ept {
            assert_eq!(
                caps.has_vmcs_shadowing(),
                !m.notes.contains("no VMCS shadowing"),
                "{n}"
            );
        }
        let negatives: [(&str, Predicate); 5] = [
            ("no PML", VmxCapabilities::has_pml),
            (
                "no APIC virtualization",
                VmxCapabilities::has_apic_register_virtualization,
            ),
            (
                "no APIC virtualization",
                VmxCapabilities::has_virtual_interrupt_delivery,
            ),
            ("no RDSEED exiting", VmxCapabilities::has_rdseed_exiting),
            ("no MTF", VmxCapabilities::has_mtf),
        ];
        for (phrase, predicate) in negatives {
            if m.notes.contains(phrase) {
                assert!(!predicate(&caps), "{n}: {phrase}");
            }
        }
        if m.notes
            .contains("(MTF, PML, APIC virtualization, SPP, TSC scaling)")
        {
            assert!(
                caps.has_pml() && caps.has_apic_register_virtualization(),
                "{n}"
            );
            assert!(caps.has_virtual_interrupt_delivery(), "{n}");
            assert!(
                caps.has_ept_sub_page_write() && caps.has_tsc_scaling(),
                "{n}"
            );
        }
        assert!(caps.feature_control().vmx_allowed(false), "{n}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn skylake_full_capabilities() {
    let m = model("corei7_skylake_x");
    let caps = read_strictly(&msr_map(&m, &m));
    // TRUE MSRs in use: quoted values, not the non-TRUE forms.
    assert_eq!(caps.pin_based().to_msr(), 0x0000_007f_0000_0016);
    assert_eq!(caps.primary_proc().to_msr(), 0xf7f9_fffe_0400_6172);
    assert_eq!(caps.exit().to_msr(), 0x007f_ffff_0003_6dfb);
    assert_eq!(caps.entry().to_msr(), 0x0000_ffff_0000_11fb);
    assert_eq!(caps.raw().procbased_ctls, 0xf7f9_fffe_0401_e172);
    assert!(caps.has_cr3_exiting_optional() && caps.has_debug_controls_optional());
    // Bochs 2.7 does not emulate posted interrupts (pin-based allowed-1 0x7f).
    assert!(caps.has_preemption_timer() && !caps.has_posted_interrupts());
    assert!(caps.has_virtual_nmis() && caps.has_msr_bitmaps() && caps.has_io_bitmaps());
    assert!(!caps.has_mtf());
    assert!(caps.has_load_efer() && caps.has_save_efer() && caps.has_load_pat());
    assert!(caps.has_save_pat() && caps.has_load_perf_global_ctrl());
    assert!(caps.has_ack_interrupt_on_exit() && caps.has_save_preemption_timer());
    assert!(caps.has_host_address_space_size() && caps.has_ia32e_mode_guest());
    assert!(caps.has_vmfunc() && caps.has_eptp_switching());
    assert_eq!(caps.vmfunc(), VmFuncControls::EPTP_SWITCHING);
    assert!(caps.has_rdtscp() && caps.has_invpcid() && caps.has_xsaves());
    assert!(caps.has_pml() && caps.has_ept_ad() && caps.has_tsc_scaling());
    assert!(!caps.has_fred() && !caps.has_load_spec_ctrl() && !caps.has_ept_sub_page_write());
    assert!(caps.has_vmwrite_exit_info() && caps.has_zero_length_injection());
    assert!(caps.has_activity_hlt() && caps.has_activity_shutdown());
    assert!(caps.has_activity_wait_for_sipi() && caps.has_store_efer_lma());
    assert_eq!(caps.misc().cr3_target_count(), 4);
    assert_eq!(caps.misc().max_msr_list_entries(), 512);
    assert_eq!(caps.vmcs_enum().highest_index(), 0x1a);
    assert_eq!(caps.cr0_fixed().register(), FixedRegister::Cr0);
    assert_eq!(caps.cr0_fixed().must_be_one(), 0x8000_0021);
    assert_eq!(caps.cr0_fixed_unrestricted_guest().must_be_one(), 0x20);
    assert_eq!(caps.cr4_fixed().must_be_one(), 0x2000);
    assert_eq!(caps.cr4_fixed().adjust(0x20), 0x2020);
    assert_eq!(caps.tertiary_proc(), AllowedSettings::unsupported());
    assert_eq!(caps.secondary_exit(), AllowedSettings::unsupported());

    // A typical EPT guest configuration (SDM Vol. 3C §32.5.1).
    type P = PrimaryProcBasedControls;
    type S = SecondaryProcBasedControls;
    let primary = caps
        .adjust_primary_proc(
            P::USE_MSR_BITMAPS | P::ACTIVATE_SECONDARY_CONTROLS,
            P::HLT_EXITING,
        )
        .expect("primary");
    // TRUE MSR: CR3 exiting (named, not requested, may be 0) is dropped.
    assert_eq!(primary.bits(), 0x0400_6172 | 1 << 7 | 1 << 28 | 1 << 31);
    let secondary = caps
        .adjust_secondary_proc(
            S::ENABLE_EPT | S::ENABLE_VPID | S::UNRESTRICTED_GUEST,
            S::ENABLE_RDTSCP | S::SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT,
        )
        .expect("secondary");
    assert_eq!(
        secondary,
        S::ENABLE_EPT | S::ENABLE_VPID | S::UNRESTRICTED_GUEST | S::ENABLE_RDTSCP
    );
    let exit = caps
        .adjust_exit(
            PrimaryExitControls::HOST_ADDRESS_SPACE_SIZE,
            PrimaryExitControls::empty(),
        )
        .expect("exit");
    assert_eq!(exit.bits(), 0x0003_6dfb | 1 << 9);
    let entry = caps
        .adjust_entry(
            EntryControls::IA32E_MODE_GUEST,
            EntryControls::LOAD_IA32_EFER,
        )
        .expect("entry");
    assert_eq!(entry.bits(), 0x11fb | 1 << 9 | 1 << 15);
    let pin = caps
        .adjust_pin_based(PinBasedControls::empty(), PinBasedControls::NMI_EXITING)
        .expect("pin");
    assert_eq!(pin.bits(), 0x16 | 1 << 3);
    let err = caps
        .adjust_tertiary_proc(
            TertiaryProcBasedControls::IPI_VIRTUALIZATION,
            TertiaryProcBasedControls::empty(),
        )
        .expect_err("no tertiary controls");
    assert_eq!(err.kind(), ControlKind::TertiaryProcBased);
    assert_eq!(
        err.to_string(),
        "tertiary processor-based controls: IPI_VIRTUALIZATION not supported"
    );
    assert!(
        caps.adjust_secondary_exit(
            SecondaryExitControls::empty(),
            SecondaryExitControls::LOAD_FRED
        )
        .expect("nothing required")
        .is_empty()
    );
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn without_true_controls_the_plain_msrs_apply() {
    // Skylake with IA32_VMX_BASIC[55] clear: the TRUE MSRs must not be read, and the default1
    // class is must-be-1 (SDM Vol. 3D §A.2).
    let mut m = model("corei7_skylake_x");
    m.basic &= !(1 << 55);
    let map = msr_map(&m, &model("corei7_skylake_x"));
    assert!(!map.contains_key(&msr::IA32_VMX_TRUE_PROCBASED_CTLS));
    let caps = read_strictly(&map);
    assert!(!caps.has_true_controls());
    assert!(!caps.has_cr3_exiting_optional() && !caps.has_debug_controls_optional());
    let primary = caps
        .adjust_primary_proc(
            PrimaryProcBasedControls::empty(),
            PrimaryProcBasedControls::empty(),
        )
        .expect("primary");
    assert_eq!(primary.bits(), 0x0401_e172);
    // TRUE values supplied through `from_raw` are ignored when bit 55 is clear.
    let raw = RawVmxMsrs {
        true_procbased_ctls: Some(0xffff_ffff_0000_0000),
        ..*caps.raw()
    };
    assert_eq!(
        VmxCapabilities::from_raw(raw).primary_proc(),
        caps.primary_proc()
    );
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn penryn_never_reads_ept_vpid_vmfunc_tertiary_or_exit2() {
    // penryn's quoted values; the control MSRs its row does not quote come from skylake.
    let m = model("core2_penryn_t9600");
    let map = msr_map(&m, &model("corei7_skylake_x"));
    for absent in [
        msr::IA32_VMX_EPT_VPID_CAP,
        msr::IA32_VMX_VMFUNC,
        msr::IA32_VMX_PROCBASED_CTLS3,
        msr::IA32_VMX_EXIT_CTLS2,
    ] {
        assert!(!map.contains_key(&absent));
    }
    let caps = read_strictly(&map);
    assert!(caps.has_secondary_controls());
    assert!(caps.has_virtualize_apic_accesses() && caps.has_wbinvd_exiting());
    assert!(!caps.has_ept() && !caps.has_vpid() && !caps.has_unrestricted_guest());
    assert!(!caps.has_preemption_timer() && caps.has_virtual_nmis());
    assert!(caps.ept_vpid().is_empty() && caps.vmfunc().is_empty());
    assert!(!caps.has_invept() && !caps.has_invvpid() && !caps.has_eptp_switching());
    let err = caps
        .adjust_secondary_proc(
            SecondaryProcBasedControls::ENABLE_EPT | SecondaryProcBasedControls::UNRESTRICTED_GUEST,
            SecondaryProcBasedControls::WBINVD_EXITING,
        )
        .expect_err("penryn has no EPT");
    assert_eq!(
        err.to_string(),
        "secondary processor-based controls: ENABLE_EPT, UNRESTRICTED_GUEST not supported"
    );
    assert_eq!(
        err.unsupported_as::<SecondaryProcBasedControls>(),
        Some(
            SecondaryProcBasedControls::ENABLE_EPT | SecondaryProcBasedControls::UNRESTRICTED_GUEST
        )
    );
    let err = caps
        .adjust_pin_based(
            PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER,
            PinBasedControls::empty(),
        )
        .expect_err("no preemption timer");
    assert_eq!(
        err.to_string(),
        "pin-based controls: ACTIVATE_VMX_PREEMPTION_TIMER not supported"
    );
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn without_secondary_controls_0x48b_and_0x48c_are_never_read() {
    // A processor whose primary controls cannot activate secondary controls.
    let skylake = model("corei7_skylake_x");
    let mut m = model("core2_penryn_t9600");
    m.procbased_ctls2 = 0;
    let mut map = msr_map(&m, &skylake);
    for index in [
        msr::IA32_VMX_PROCBASED_CTLS,
        msr::IA32_VMX_TRUE_PROCBASED_CTLS,
    ] {
        let v = map.get_mut(&index).expect("primary");
        *v &= !(1 << 63);
    }
    let caps = read_strictly(&map);
    assert!(!caps.has_secondary_controls());
    assert_eq!(caps.secondary_proc(), AllowedSettings::unsupported());
    assert!(!caps.has_ept() && !caps.has_vpid() && !caps.has_vmfunc());
    assert_eq!(caps.raw().procbased_ctls2, None);
    assert_eq!(caps.raw().get(msr::IA32_VMX_PROCBASED_CTLS2), None);
    let err = caps
        .adjust_primary_proc(
            PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS,
            PrimaryProcBasedControls::empty(),
        )
        .expect_err("no secondary controls");
    assert_eq!(
        err.to_string(),
        "primary processor-based controls: ACTIVATE_SECONDARY_CONTROLS not supported"
    );
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn tertiary_and_secondary_exit_msrs_use_the_64_bit_layout() {
    let skylake = model("corei7_skylake_x");
    let mut map = msr_map(&skylake, &skylake);
    for index in [
        msr::IA32_VMX_PROCBASED_CTLS,
        msr::IA32_VMX_TRUE_PROCBASED_CTLS,
    ] {
        *map.get_mut(&index).expect("primary") |= 1 << 49;
    }
    for index in [msr::IA32_VMX_EXIT_CTLS, msr::IA32_VMX_TRUE_EXIT_CTLS] {
        *map.get_mut(&index).expect("exit") |= 1 << 63;
    }
    map.insert(msr::IA32_VMX_PROCBASED_CTLS3, 0x8000_0000_0000_0011);
    map.insert(msr::IA32_VMX_EXIT_CTLS2, 0x0000_0000_0000_0007);
    let mut entry = map[&msr::IA32_VMX_TRUE_ENTRY_CTLS];
    entry |= 1 << (32 + 23) | 1 << (32 + 24);
    map.insert(msr::IA32_VMX_TRUE_ENTRY_CTLS, entry);
    let caps = read_strictly(&map);
    assert!(caps.has_tertiary_controls() && caps.has_secondary_exit_controls());
    let ter = caps.tertiary_proc();
    assert!(ter.must_be_one().is_empty());
    assert_eq!(ter.may_be_one().bits(), 0x8000_0000_0000_0011);
    assert!(caps.has_loadiwkey_exiting() && caps.has_ipi_virtualization() && !caps.has_hlat());
    assert!(caps.has_fred() && caps.has_load_spec_ctrl());
    let got = caps
        .adjust_tertiary_proc(
            TertiaryProcBasedControls::IPI_VIRTUALIZATION,
            TertiaryProcBasedControls::from_bits_retain(1 << 63 | 1 << 1),
        )
        .expect("tertiary");
    assert_eq!(got.bits(), 1 << 4 | 1 << 63);
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn check_reports_values_that_break_the_sdm() {
    use vmx_defs::capabilities::{CapabilityError, VmxBasicError, VmxMiscError};
    let m = model("corei7_skylake_x");
    let good = *read_strictly(&msr_map(&m, &m)).raw();
    let bad = |raw: RawVmxMsrs| {
        VmxCapabilities::from_raw(raw)
            .check()
            .expect_err("malformed")
    };
    assert_eq!(
        bad(RawVmxMsrs {
            basic: good.basic & !(0x1fff << 32),
            ..good
        }),
        CapabilityError::Basic(VmxBasicError::InvalidRegionSize(0))
    );
    assert_eq!(
        bad(RawVmxMsrs {
            misc: good.misc | 0x1ff << 16,
            ..good
        }),
        CapabilityError::Misc(VmxMiscError::TooManyCr3Targets(511))
    );
    let e = bad(RawVmxMsrs {
        true_entry_ctls: Some(0x0000_ffff_0001_11fb),
        ..good
    });
    assert_eq!(
        e,
        CapabilityError::ContradictoryControls {
            kind: ControlKind::Entry,
            bits: 1 << 16
        }
    );
    assert_eq!(
        e.to_string(),
        "VM-entry controls: bits 0x10000 reported as must-be-1 but not allowed to be 1"
    );
    let e = bad(RawVmxMsrs {
        cr4_fixed0: good.cr4_fixed0 | 1 << 40,
        ..good
    });
    assert_eq!(
        e,
        CapabilityError::ContradictoryFixedBits {
            register: FixedRegister::Cr4,
            bits: 1 << 40
        }
    );
}

#[test]
#[cfg_attr(miri, ignore = "unsafe-free table cross-check: see the file comment")]
fn has_field_follows_the_field_requirements() {
    let skylake = model("corei7_skylake_x");
    let penryn = read_strictly(&msr_map(&model("core2_penryn_t9600"), &skylake));
    let skylake = read_strictly(&msr_map(&skylake, &skylake));
    let field = |raw: u32| vmx_defs::vmcs::lookup(raw).expect("known field");
    // CTRL_VPID (0x0000) exists with "enable VPID"; the EPT pointer (0x201A) with EPT;
    // the preemption timer value (0x482E) with the pin-based control; GUEST_RIP always.
    for (raw, on_skylake, on_penryn) in [
        (0x0000, true, false),
        (0x201a, true, false),
        (0x482e, true, false),
        (0x681e, true, true),
    ] {
        let f = field(raw);
        assert_eq!(skylake.has_field(f), on_skylake, "{}", f.name);
        assert_eq!(penryn.has_field(f), on_penryn, "{}", f.name);
        assert_eq!(skylake.has_field(f), f.requirement.is_met(&skylake));
    }
    assert!(
        vmx_defs::vmcs::ALL_FIELDS
            .iter()
            .any(|f| !skylake.has_field(f))
    );
}

#[test]
fn default1_classes_match_the_control_types() {
    fn check<T: ControlBits>(default1: T) {
        assert_eq!(T::KIND.default1(), default1.to_raw(), "{}", T::KIND);
    }
    check(PinBasedControls::DEFAULT1);
    check(PrimaryProcBasedControls::DEFAULT1);
    check(SecondaryProcBasedControls::DEFAULT1);
    check(TertiaryProcBasedControls::DEFAULT1);
    check(PrimaryExitControls::DEFAULT1);
    check(SecondaryExitControls::DEFAULT1);
    check(EntryControls::DEFAULT1);
    for kind in ControlKind::ALL {
        assert_eq!(kind.true_msr().is_some(), kind.default1() != 0, "{kind}");
        assert!(msr::name(kind.capability_msr()).is_some());
    }
}

// ---------------------------------------------------------------- properties

mod properties {
    use super::*;
    use proptest::prelude::*;
    use vmx_defs::capabilities::{FeatureControl, FixedBits, VmcsEnum, VmxMisc};

    /// The SDM's adjust contract for one field (Vol. 3C §32.5.1): Err iff a required
    /// control may not be 1 or the MSR is contradictory; when Ok the result lies between
    /// allowed-0 and allowed-1, holds every required control, every allowed optional one,
    /// and nothing else except must-be-1 and unknown default1 controls.
    fn adjust_contract<T: ControlBits>(raw: u64, required: u64, optional: u64) {
        let s = AllowedSettings::<T>::from_msr(raw);
        let (req, opt) = (T::from_raw(required), T::from_raw(optional));
        let (a0, a1) = (s.must_be_one().to_raw(), s.may_be_one().to_raw());
        let (req, opt) = (req.to_raw(), opt.to_raw());
        let ok_expected = req & !a1 == 0 && a0 & !a1 == 0;
        match s.adjust(T::from_raw(req), T::from_raw(opt)) {
            Ok(r) => {
                assert!(ok_expected);
                let r = r.to_raw();
                assert_eq!(a0 & !r, 0, "allowed-0 ⊆ result");
                assert_eq!(r & !a1, 0, "result ⊆ allowed-1");
                assert_eq!(req & !r, 0, "required ⊆ result");
                assert_eq!(opt & a1 & !r, 0, "allowed optional ⊆ result");
                assert_eq!(
                    r & !(a0 | req | opt | T::KIND.default1()),
                    0,
                    "nothing unasked"
                );
                assert!(s.permits(T::from_raw(r)));
            }
            Err(e) => {
                assert!(!ok_expected);
                assert_eq!(e.kind(), T::KIND);
                assert_eq!(e.unsupported(), req & !a1);
                assert_eq!(e.contradictory(), a0 & !a1);
                assert!(!e.to_string().is_empty());
            }
        }
        assert_eq!(AllowedSettings::<T>::from_msr(s.to_msr()), s);
    }

    fn all_kinds(raw: u64, required: u64, optional: u64) {
        adjust_contract::<PinBasedControls>(raw, required, optional);
        adjust_contract::<PrimaryProcBasedControls>(raw, required, optional);
        adjust_contract::<SecondaryProcBasedControls>(raw, required, optional);
        adjust_contract::<TertiaryProcBasedControls>(raw, required, optional);
        adjust_contract::<PrimaryExitControls>(raw, required, optional);
        adjust_contract::<SecondaryExitControls>(raw, required, optional);
        adjust_contract::<EntryControls>(raw, required, optional);
    }

    /// A consistent 32-bit-layout MSR value: allowed-0 ⊆ allowed-1.
    fn consistent() -> impl Strategy<Value = u64> {
        (any::<u32>(), any::<u32>()).prop_map(|(a1, a0)| u64::from(a1) << 32 | u64::from(a0 & a1))
    }

    fn raw_msrs() -> impl Strategy<Value = RawVmxMsrs> {
        (
            proptest::array::uniform12(any::<u64>()),
            proptest::array::uniform9(any::<Option<u64>>()),
        )
            .prop_map(|(a, o)| RawVmxMsrs {
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
                procbased_ctls2: o[0],
                ept_vpid_cap: o[1],
                true_pinbased_ctls: o[2],
                true_procbased_ctls: o[3],
                true_exit_ctls: o[4],
                true_entry_ctls: o[5],
                vmfunc: o[6],
                procbased_ctls3: o[7],
                exit_ctls2: o[8],
            })
    }

    /// Every accessor and predicate of `caps` (must not panic).
    fn exercise(caps: &VmxCapabilities) -> usize {
        let predicates: [Predicate; 24] = [
            VmxCapabilities::has_secondary_controls,
            VmxCapabilities::has_tertiary_controls,
            VmxCapabilities::has_secondary_exit_controls,
            VmxCapabilities::has_true_controls,
            VmxCapabilities::has_ept,
            VmxCapabilities::has_vpid,
            VmxCapabilities::has_unrestricted_guest,
            VmxCapabilities::has_preemption_timer,
            VmxCapabilities::has_virtual_nmis,
            VmxCapabilities::has_posted_interrupts,
            VmxCapabilities::has_eptp_switching,
            VmxCapabilities::has_conceal_vmx_from_pt,
            VmxCapabilities::has_cr3_exiting_optional,
            VmxCapabilities::has_load_efer,
            VmxCapabilities::has_fred,
            VmxCapabilities::has_load_spec_ctrl,
            VmxCapabilities::has_debug_controls_optional,
            VmxCapabilities::has_vmwrite_exit_info,
            VmxCapabilities::has_ept_1g_pages,
            VmxCapabilities::has_ept_ad,
            VmxCapabilities::has_invept_all_context,
            VmxCapabilities::has_invvpid_single_context_retaining_globals,
            VmxCapabilities::has_nested_exception,
            VmxCapabilities::has_activity_wait_for_sipi,
        ];
        let _ = caps.check().map_err(|e| e.to_string());
        let _ = (
            caps.basic(),
            caps.feature_control(),
            caps.misc(),
            caps.vmcs_enum(),
        );
        let _ = (
            caps.cr0_fixed(),
            caps.cr4_fixed(),
            caps.cr0_fixed_unrestricted_guest(),
        );
        let _ = (caps.ept_vpid(), caps.vmfunc());
        let _ = caps.adjust_pin_based(PinBasedControls::all(), PinBasedControls::empty());
        let _ = caps.adjust_primary_proc(
            PrimaryProcBasedControls::empty(),
            PrimaryProcBasedControls::all(),
        );
        let _ = caps.adjust_secondary_proc(
            SecondaryProcBasedControls::ENABLE_EPT,
            SecondaryProcBasedControls::all(),
        );
        let _ = caps.adjust_tertiary_proc(
            TertiaryProcBasedControls::empty(),
            TertiaryProcBasedControls::all(),
        );
        let _ = caps.adjust_exit(PrimaryExitControls::all(), PrimaryExitControls::all());
        let _ = caps
            .adjust_secondary_exit(SecondaryExitControls::all(), SecondaryExitControls::empty());
        let _ = caps.adjust_entry(EntryControls::IA32E_MODE_GUEST, EntryControls::all());
        predicates.iter().filter(|p| p(caps)).count()
    }

    proptest! {
        #[test]
        fn adjust_contract_any_msr(raw in any::<u64>(), req in any::<u64>(), opt in any::<u64>()) {
            all_kinds(raw, req, opt);
        }

        #[test]
        fn adjust_contract_consistent_msr(raw in consistent(), opt in any::<u64>(), pick in any::<u64>()) {
            // Required controls drawn from allowed-1 as well: the Ok path is exercised.
            all_kinds(raw, (raw >> 32) & pick, opt);
            all_kinds(raw, pick, opt);
        }

        #[test]
        fn decoders_are_total(v in any::<u64>(), w in any::<u64>()) {
            let b = VmxBasic::from(v);
            let _ = (b.revision_id(), b.region_size(), b.memory_type(), b.max_structure_address());
            let _ = (b.addresses_limited_to_32_bits(), b.dual_monitor_smm(), b.ins_outs_info());
            let _ = (b.true_controls(), b.no_hw_error_code_check(), b.nested_exception());
            match b.check() {
                Ok(()) => prop_assert!((1..=4096).contains(&b.region_size())),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            let m = VmxMisc::from(v);
            prop_assert!(m.max_msr_list_entries() >= 512 && m.max_msr_list_entries() <= 4096);
            prop_assert!(m.tsc_cycles_per_preemption_tick().is_power_of_two());
            let _ = (m.cr3_target_count(), m.mseg_revision_id(), m.supports_activity_state(w as u32));
            prop_assert!(VmcsEnum::from(v).highest_index() <= 0x1ff);
            let fc = FeatureControl::from_bits_retain(v);
            prop_assert_eq!(fc.with_vmx_enabled(w & 1 == 1).bits() & v, v);
            prop_assert!(fc.with_vmx_enabled(w & 1 == 1).vmx_allowed(w & 1 == 1));
            let cap = EptVpidCap::from_bits_retain(v);
            prop_assert_eq!(cap.bits(), v);
            prop_assert!(cap.max_hlat_prefix_size() < 64);
            prop_assert_eq!(VmFuncControls::from_bits_retain(v).bits(), v);
        }

        #[test]
        fn fixed_bits_adjust_then_check(f0 in any::<u64>(), f1 in any::<u64>(), v in any::<u64>()) {
            for reg in [FixedRegister::Cr0, FixedRegister::Cr4] {
                let fixed = FixedBits::new(reg, f0, f1);
                let adjusted = fixed.adjust(v);
                prop_assert_eq!(fixed.check(adjusted).is_ok(), fixed.contradictory() == 0);
                match fixed.check(v) {
                    Ok(()) => prop_assert_eq!(adjusted, v),
                    Err(e) => {
                        prop_assert_eq!(e.missing_ones, f0 & !v);
                        prop_assert_eq!(e.forbidden_ones, v & !f1);
                        prop_assert!(!e.to_string().is_empty());
                    }
                }
                let ug = fixed.for_unrestricted_guest();
                prop_assert_eq!(ug.must_be_one() & !fixed.must_be_one(), 0);
            }
        }

        #[test]
        fn capabilities_from_any_raw_values(raw in raw_msrs()) {
            let caps = VmxCapabilities::from_raw(raw);
            exercise(&caps);
            // Optional fields are used only where the SDM says the MSR exists.
            if raw.procbased_ctls & 1 << 63 == 0 {
                prop_assert_eq!(caps.secondary_proc(), AllowedSettings::unsupported());
                prop_assert!(caps.ept_vpid().is_empty() && caps.vmfunc().is_empty());
            }
            if raw.basic & 1 << 55 == 0 {
                prop_assert_eq!(caps.pin_based().to_msr(), raw.pinbased_ctls);
                prop_assert_eq!(caps.entry().to_msr(), raw.entry_ctls);
            }
            prop_assert_eq!(caps.has_ept_ad(), caps.has_ept() && caps.ept_vpid().contains(EptVpidCap::ACCESSED_DIRTY));
        }

        #[test]
        fn from_msrs_reads_only_existing_msrs(values in proptest::array::uniform21(any::<u64>())) {
            let value = |index: u32| {
                let pos = msr::ALL.iter().position(|&(i, _)| i == index).expect("known MSR");
                values[pos]
            };
            let mut read = Vec::new();
            let caps = VmxCapabilities::from_msrs(|index| {
                read.push(index);
                value(index)
            });
            let basic = value(msr::IA32_VMX_BASIC);
            let proc = value(msr::IA32_VMX_PROCBASED_CTLS);
            let exit = value(msr::IA32_VMX_EXIT_CTLS);
            let proc2 = (proc & 1 << 63 != 0).then(|| value(msr::IA32_VMX_PROCBASED_CTLS2));
            let p2 = |bit: u32| proc2.is_some_and(|v| v & 1 << (32 + bit) != 0);
            for index in read.iter().copied() {
                let exists = match index {
                    msr::IA32_VMX_PROCBASED_CTLS2 => proc & 1 << 63 != 0,
                    msr::IA32_VMX_EPT_VPID_CAP => p2(1) || p2(5),
                    msr::IA32_VMX_TRUE_PINBASED_CTLS..=msr::IA32_VMX_TRUE_ENTRY_CTLS => basic & 1 << 55 != 0,
                    msr::IA32_VMX_VMFUNC => p2(13),
                    msr::IA32_VMX_PROCBASED_CTLS3 => proc & 1 << 49 != 0,
                    msr::IA32_VMX_EXIT_CTLS2 => exit & 1 << 63 != 0,
                    _ => true,
                };
                prop_assert!(exists, "read absent MSR {:#x}", index);
            }
            let distinct: BTreeSet<u32> = read.iter().copied().collect();
            prop_assert_eq!(distinct.len(), read.len());
            prop_assert_eq!(caps.raw().present().count(), read.len());
            exercise(&caps);
        }
    }
}
