//! Control computation against Bochs-like capability values (SDM Vol. 3C §27.5.1,
//! Vol. 3D §A.2-A.5).

use vmx_defs::capabilities::{RawVmxMsrs, VmxCapabilities};
use vmx_defs::controls::*;
use vmx_vcpu::guest::{DescriptorTableRegister, GuestState, Segment};
use vmx_vcpu::{Controls, VcpuConfig, VmxError, compute_controls};

/// corei7_icelake_u-like values (Bochs 2.7, /work/shared/bochs/models.tsv): TRUE controls,
/// EPT, VPID, unrestricted guest, preemption timer.
fn icelake() -> VmxCapabilities {
    VmxCapabilities::from_raw(RawVmxMsrs {
        feature_control: 5,
        basic: 0x00d8_1000_0000_0004,
        pinbased_ctls: 0x0000_007f_0000_0016,
        procbased_ctls: 0xf7f9_fffe_0401_e172,
        exit_ctls: 0x007f_ffff_0003_6dff,
        entry_ctls: 0x0000_ffff_0000_11ff,
        misc: 0x6004_01e0,
        cr0_fixed0: 0x8000_0021,
        cr0_fixed1: 0xffff_ffff,
        cr4_fixed0: 0x2000,
        cr4_fixed1: 0x3727ff,
        vmcs_enum: 0x34,
        procbased_ctls2: Some(0x0297_7fff_0000_0000),
        ept_vpid_cap: Some(0x0000_0f01_0633_4141),
        true_pinbased_ctls: Some(0x0000_007f_0000_0016),
        true_procbased_ctls: Some(0xf7f9_fffe_0400_6172),
        true_exit_ctls: Some(0x007f_ffff_0003_6dfb),
        true_entry_ctls: Some(0x0000_ffff_0000_11fb),
        ..RawVmxMsrs::default()
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

fn long_guest() -> GuestState {
    GuestState::long_mode(
        0x1000,
        0x2000,
        0x3000,
        Segment::tss(0x18, 0x4000, 0x67),
        DescriptorTableRegister {
            base: 0x5000,
            limit: 39,
        },
        DescriptorTableRegister {
            base: 0x6000,
            limit: 4095,
        },
    )
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
