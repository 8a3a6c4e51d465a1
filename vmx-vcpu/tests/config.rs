//! Control computation against Bochs-like capability values (SDM Vol. 3C §27.5.1,
//! Vol. 3D §A.2-A.5).

mod common;

use common::long_guest;

use vmx_defs::capabilities::{RawVmxMsrs, VmxCapabilities};
use vmx_defs::controls::*;
use vmx_vcpu::guest::GuestState;
use vmx_vcpu::{
    Controls, ExecControl, ISOLATION, VcpuConfig, VmxError, compute_controls, refuse_page_controls,
    with_exec_control,
};

/// corei7_icelake_u-like values (Bochs 2.7, /work/shared/bochs/models.tsv): TRUE controls,
/// EPT, VPID, unrestricted guest, preemption timer.
fn icelake() -> VmxCapabilities {
    VmxCapabilities::from_raw(RawVmxMsrs {
        basic: 0x00d8_1000_0000_0004,
        ..common::skylake_x_msrs(0x0297_7fff_0000_0000)
    })
}

/// core2_penryn_t9600-like values: pin allowed-1 0x3f (no preemption timer), secondary
/// controls limited to 0x41 (no EPT, VPID, unrestricted guest), no EFER/PAT load.
fn penryn() -> VmxCapabilities {
    VmxCapabilities::from_raw(RawVmxMsrs {
        feature_control: 5,
        basic: 0x00d8_1000_0000_002b,
        pinbased_ctls: 0x0000_003f_0000_0016,
        procbased_ctls: 0xf7f9_fffe_0401_e172,
        exit_ctls: 0x0003_ffff_0003_6dff,
        entry_ctls: 0x0000_3fff_0000_11ff,
        misc: 0x0004_01e0,
        cr0_fixed0: 0x8000_0021,
        cr0_fixed1: 0xffff_ffff,
        cr4_fixed0: 0x2000,
        cr4_fixed1: 0x3727ff,
        vmcs_enum: 0x34,
        procbased_ctls2: Some(0x0000_0041_0000_0000),
        true_pinbased_ctls: Some(0x0000_003f_0000_0016),
        true_procbased_ctls: Some(0xf7f9_fffe_0400_6172),
        true_exit_ctls: Some(0x0003_ffff_0003_6dfb),
        true_entry_ctls: Some(0x0000_3fff_0000_11fb),
        ..RawVmxMsrs::default()
    })
}

#[test]
fn icelake_defaults() {
    let caps = icelake();
    let c = compute_controls(&caps, &VcpuConfig::new(long_guest()), false).unwrap();
    assert!(c.pin.contains(
        PinBasedControls::EXTERNAL_INTERRUPT_EXITING
            | PinBasedControls::NMI_EXITING
            | PinBasedControls::VIRTUAL_NMIS
    ));
    assert!(
        !c.pin
            .contains(PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER)
    );
    assert!(c.primary.contains(
        PrimaryProcBasedControls::USE_IO_BITMAPS
            | PrimaryProcBasedControls::USE_MSR_BITMAPS
            | PrimaryProcBasedControls::HLT_EXITING
    ));
    // TRUE controls let CR3 load/store exiting be 0.
    assert!(!c.primary.intersects(
        PrimaryProcBasedControls::CR3_LOAD_EXITING | PrimaryProcBasedControls::CR3_STORE_EXITING
    ));
    assert!(!c.primary.contains(PrimaryProcBasedControls::RDTSC_EXITING));
    assert!(c.exit.contains(
        PrimaryExitControls::HOST_ADDRESS_SPACE_SIZE
            | PrimaryExitControls::LOAD_IA32_EFER
            | PrimaryExitControls::SAVE_IA32_EFER
    ));
    assert!(
        c.entry
            .contains(EntryControls::IA32E_MODE_GUEST | EntryControls::LOAD_IA32_EFER)
    );
    assert!(caps.primary_proc().permits(c.primary));
    assert!(caps.pin_based().permits(c.pin));
    assert!(caps.exit().permits(c.exit));
    assert!(caps.entry().permits(c.entry));
    assert!(caps.secondary_proc().permits(c.secondary));
}

#[test]
fn icelake_real_mode_with_ept_vpid_timer() {
    let caps = icelake();
    let mut cfg = VcpuConfig::new(GuestState::real_mode(0, 0x7c00, 0, 0x7000));
    cfg.vpid = true;
    cfg.preemption_timer = true;
    cfg.rdtsc_exiting = true;
    let c = compute_controls(&caps, &cfg, true).unwrap();
    assert!(c.secondary.contains(
        SecondaryProcBasedControls::ENABLE_EPT
            | SecondaryProcBasedControls::UNRESTRICTED_GUEST
            | SecondaryProcBasedControls::ENABLE_VPID
    ));
    assert!(c.primary.contains(
        PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS
            | PrimaryProcBasedControls::RDTSC_EXITING
    ));
    assert!(
        c.pin
            .contains(PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER)
    );
    assert!(!c.entry.contains(EntryControls::IA32E_MODE_GUEST));
}

#[test]
fn real_mode_without_ept_is_refused() {
    let cfg = VcpuConfig::new(GuestState::real_mode(0, 0x7c00, 0, 0x7000));
    assert!(matches!(
        compute_controls(&icelake(), &cfg, false),
        Err(VmxError::UnrestrictedGuestNeedsEpt)
    ));
}

#[test]
fn penryn_lacks_what_it_lacks() {
    let caps = penryn();
    // A 64-bit guest on shared page tables works.
    let c = compute_controls(&caps, &VcpuConfig::new(long_guest()), false).unwrap();
    assert!(!c.secondary.intersects(
        SecondaryProcBasedControls::ENABLE_EPT | SecondaryProcBasedControls::ENABLE_VPID
    ));
    // EFER load/save not complete: neither direction used (switching falls back).
    assert!(!c.entry.contains(EntryControls::LOAD_IA32_EFER));
    // VPID: the error names the control.
    let mut cfg = VcpuConfig::new(long_guest());
    cfg.vpid = true;
    let e = compute_controls(&caps, &cfg, false).unwrap_err();
    match e {
        VmxError::Control(err) => {
            assert_eq!(
                err.unsupported(),
                SecondaryProcBasedControls::ENABLE_VPID.bits() as u64
            );
            let text = format!("{err}");
            assert!(text.contains("ENABLE_VPID"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    // Preemption timer missing.
    let mut cfg = VcpuConfig::new(long_guest());
    cfg.preemption_timer = true;
    let VmxError::Control(err) = compute_controls(&caps, &cfg, false).unwrap_err() else {
        panic!()
    };
    assert!(format!("{err}").contains("ACTIVATE_VMX_PREEMPTION_TIMER"));
    // Caller-required controls are checked too.
    let mut cfg = VcpuConfig::new(long_guest());
    cfg.required = Controls {
        secondary: SecondaryProcBasedControls::UNRESTRICTED_GUEST,
        ..Controls::empty()
    };
    assert!(compute_controls(&caps, &cfg, false).is_err());
}

/// Bochs 2.7's capability MSRs per CPU model (copied from ../shared/bochs/models.tsv).
const MODELS_TSV: &str = include_str!("data/bochs-models.tsv");

/// The hex value after `key 0x` in a notes cell.
fn quoted(notes: &str, key: &str) -> Option<u64> {
    let at = notes.find(&format!("{key} 0x"))? + key.len() + 3;
    let digits: String = notes[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u64::from_str_radix(&digits, 16).ok()
}

/// One capability set per model row: BASIC, secondary controls and EPT/VPID capabilities
/// from the row; the other control MSRs quoted in its notes, else in the notes of
/// corei7_skylake_x (the row that quotes them all); pin-based allowed-1 from "pin-based
/// allowed-1" where given. The quoted control values are the TRUE MSRs.
fn model_caps() -> Vec<(String, VmxCapabilities)> {
    let rows: Vec<Vec<&str>> = MODELS_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("model\t") && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let base = rows
        .iter()
        .find(|r| r[0] == "corei7_skylake_x")
        .expect("skylake row")[8];
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
    rows.iter()
        .map(|r| {
            let notes = r[8];
            let q = |k: &str| quoted(notes, k).or_else(|| quoted(base, k)).expect(k);
            let pin = quoted(notes, "pin-based allowed-1")
                .map(|a1| a1 << 32 | 0x16)
                .unwrap_or_else(|| q("pinbased"));
            let proc = q("procbased");
            let exit = q("exit");
            let entry = q("entry");
            let ctls2 = hex(r[2]);
            let ept_vpid = hex(r[3]);
            let raw = RawVmxMsrs {
                feature_control: 5,
                basic: hex(r[1]),
                pinbased_ctls: pin,
                // The non-TRUE MSRs report the default1 controls as must-be-1.
                procbased_ctls: proc | 0x0401_e172,
                exit_ctls: exit | 0x0003_6dff,
                entry_ctls: entry | 0x11ff,
                misc: q("misc"),
                cr0_fixed0: 0x8000_0021,
                cr0_fixed1: 0xffff_ffff,
                cr4_fixed0: 0x2000,
                cr4_fixed1: 0x3727ff,
                vmcs_enum: 0x34,
                procbased_ctls2: (ctls2 != 0).then_some(ctls2),
                ept_vpid_cap: (ept_vpid != 0).then_some(ept_vpid),
                true_pinbased_ctls: Some(pin),
                true_procbased_ctls: Some(proc),
                true_exit_ctls: Some(exit),
                true_entry_ctls: Some(entry),
                ..RawVmxMsrs::default()
            };
            (r[0].to_string(), VmxCapabilities::from_raw(raw))
        })
        .collect()
}

/// The same capabilities without the IA32_EFER/IA32_PAT load and save controls (as
/// core2_penryn_t9600 lacks them on some set-ups).
fn without_efer_pat(caps: &VmxCapabilities) -> VmxCapabilities {
    let mut raw = *caps.raw();
    let exit_bits = (PrimaryExitControls::SAVE_IA32_EFER
        | PrimaryExitControls::LOAD_IA32_EFER
        | PrimaryExitControls::SAVE_IA32_PAT
        | PrimaryExitControls::LOAD_IA32_PAT)
        .bits() as u64;
    let entry_bits = (EntryControls::LOAD_IA32_EFER | EntryControls::LOAD_IA32_PAT).bits() as u64;
    raw.exit_ctls &= !(exit_bits << 32);
    raw.true_exit_ctls = raw.true_exit_ctls.map(|v| v & !(exit_bits << 32));
    raw.entry_ctls &= !(entry_bits << 32);
    raw.true_entry_ctls = raw.true_entry_ctls.map(|v| v & !(entry_bits << 32));
    VmxCapabilities::from_raw(raw)
}

#[test]
fn every_model_isolates_and_sets_no_page_control() {
    let models = model_caps();
    assert_eq!(models.len(), 8, "every row of models.tsv");
    for (name, caps) in &models {
        for caps in [*caps, without_efer_pat(caps)] {
            for ept in [false, true] {
                if ept && !caps.has_ept() {
                    continue;
                }
                let c = compute_controls(&caps, &VcpuConfig::new(long_guest()), ept)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(c.pin.contains(ISOLATION.pin), "{name}");
                assert!(c.primary.contains(ISOLATION.primary), "{name}");
                assert!(c.secondary.contains(ISOLATION.secondary), "{name}");
                assert!(c.exit.contains(ISOLATION.exit), "{name}");
                assert!(c.entry.contains(ISOLATION.entry), "{name}");
                assert_eq!(refuse_page_controls(&c), Ok(()), "{name}");
                assert!(caps.primary_proc().permits(c.primary), "{name}");
                // Every run-time control change keeps isolation and sets no page control.
                for ctl in ExecControl::ALL {
                    for on in [false, true] {
                        match with_exec_control(&caps, c, ctl, on) {
                            Ok(n) => {
                                assert_eq!(ctl.is_set(&n), on, "{name} {ctl}");
                                assert!(n.primary.contains(ISOLATION.primary), "{name}");
                                assert_eq!(refuse_page_controls(&n), Ok(()), "{name}");
                                assert!(caps.primary_proc().permits(n.primary), "{name}");
                                assert!(
                                    n.primary.intersects(
                                        PrimaryProcBasedControls::USE_IO_BITMAPS
                                            | PrimaryProcBasedControls::UNCONDITIONAL_IO_EXITING
                                    ),
                                    "{name}: I/O never passes through both"
                                );
                            }
                            Err(VmxError::IsolationControl(c)) => {
                                assert!(!on && ctl.is_isolation() && c == ctl)
                            }
                            Err(VmxError::ControlNotAllowed { control, on: o }) => {
                                assert_eq!((control, o), (ctl, on));
                                let (p, s) = ctl.bits();
                                if on {
                                    assert!(
                                        !caps.primary_proc().can_be_one(p)
                                            || !caps.secondary_proc().can_be_one(s),
                                        "{name} {ctl}"
                                    );
                                } else {
                                    assert!(!caps.primary_proc().can_be_zero(p), "{name} {ctl}");
                                }
                            }
                            Err(VmxError::NoSecondaryControls) => {
                                assert!(on && !caps.has_secondary_controls())
                            }
                            Err(e) => panic!("{name} {ctl} {on}: {e}"),
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn isolation_controls_cannot_be_turned_off() {
    let caps = icelake();
    let c = compute_controls(&caps, &VcpuConfig::new(long_guest()), false).unwrap();
    for ctl in [
        ExecControl::Cr8LoadExiting,
        ExecControl::Cr8StoreExiting,
        ExecControl::MovDrExiting,
    ] {
        assert!(ctl.is_isolation());
        assert_eq!(
            with_exec_control(&caps, c, ctl, false),
            Err(VmxError::IsolationControl(ctl))
        );
        assert_eq!(with_exec_control(&caps, c, ctl, true), Ok(c));
    }
    // Penryn without TRUE controls would force CR3 exiting; with them it can be cleared.
    let n = with_exec_control(&caps, c, ExecControl::RdrandExiting, true).unwrap();
    assert!(
        n.secondary
            .contains(SecondaryProcBasedControls::RDRAND_EXITING)
    );
    let off = with_exec_control(&caps, c, ExecControl::UseIoBitmaps, false).unwrap();
    assert!(
        off.primary
            .contains(PrimaryProcBasedControls::UNCONDITIONAL_IO_EXITING)
    );
    assert!(
        !off.primary
            .contains(PrimaryProcBasedControls::USE_IO_BITMAPS)
    );
}
