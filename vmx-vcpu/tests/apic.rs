//! APIC virtualization on the host: the controls a configuration takes on Bochs-like
//! capability values (SDM Vol. 3C §25.6.8, §27.2.1.1), the decoders of exits 43, 44, 45 and
//! 56 (§28.2.1, ch. 30), and the isolation rule for CR8 exiting with a TPR shadow (§30.3).

use std::collections::HashMap;

use proptest::prelude::*;
use vmx_defs::addr::GuestPhysAddr;
use vmx_defs::controls::*;
use vmx_defs::exit_reason::BasicExitReason;
use vmx_defs::qualification::ApicAccessType;
use vmx_defs::vmcs::fields;
use vmx_vcpu::apic::{ApicError, ApicVirtualization};
use vmx_vcpu::exit::{ApicAccessExit, ExitInfoSource, decode_exit};
use vmx_vcpu::regs::GuestRegisters;
use vmx_vcpu::{
    ExecControl, ISOLATION, ISOLATION_WITH_TPR_SHADOW, PageControl, VcpuConfig, VmExit, VmxError,
    compute_controls, with_exec_control,
};

mod common;
use common::{long_guest, skylake_x_caps as caps};

const ICELAKE: u64 = 0x0297_7fff_0000_0000;
const SANDY_BRIDGE: u64 = 0x0000_00ff_0000_0000;
const PENRYN: u64 = 0x0000_0041_0000_0000;

fn config(apic: ApicVirtualization) -> VcpuConfig {
    let mut c = VcpuConfig::new(long_guest());
    c.apic = Some(apic);
    c
}

fn full() -> ApicVirtualization {
    ApicVirtualization {
        tpr_threshold: 0,
        apic_access: Some(GuestPhysAddr::new(0xFEE0_0000)),
        register_virtualization: true,
        x2apic_mode: false,
        virtual_interrupt_delivery: true,
    }
}

#[test]
fn tpr_shadow_drops_cr8_exiting() {
    for ctls2 in [ICELAKE, SANDY_BRIDGE, PENRYN] {
        let c = compute_controls(
            &caps(ctls2),
            &config(ApicVirtualization::tpr_shadow()),
            false,
        )
        .unwrap();
        assert!(c.primary.contains(PrimaryProcBasedControls::USE_TPR_SHADOW));
        assert!(!c.primary.intersects(
            PrimaryProcBasedControls::CR8_LOAD_EXITING
                | PrimaryProcBasedControls::CR8_STORE_EXITING
        ));
        assert!(c.primary.contains(ISOLATION_WITH_TPR_SHADOW.primary));
        // Without a TPR shadow CR8 exiting stays required.
        let plain = compute_controls(&caps(ctls2), &VcpuConfig::new(long_guest()), false).unwrap();
        assert!(plain.primary.contains(ISOLATION.primary));
        assert!(
            !plain
                .primary
                .contains(PrimaryProcBasedControls::USE_TPR_SHADOW)
        );
    }
}

#[test]
fn cr8_exiting_can_be_turned_off_only_with_a_tpr_shadow() {
    let caps = caps(ICELAKE);
    let plain = compute_controls(&caps, &VcpuConfig::new(long_guest()), false).unwrap();
    let shadow = compute_controls(&caps, &config(ApicVirtualization::tpr_shadow()), false).unwrap();
    for ctl in [ExecControl::Cr8LoadExiting, ExecControl::Cr8StoreExiting] {
        assert_eq!(
            with_exec_control(&caps, plain, ctl, false),
            Err(VmxError::IsolationControl(ctl))
        );
        let on = with_exec_control(&caps, shadow, ctl, true).unwrap();
        assert_eq!(with_exec_control(&caps, on, ctl, false), Ok(shadow));
    }
    assert_eq!(
        with_exec_control(&caps, shadow, ExecControl::MovDrExiting, false),
        Err(VmxError::IsolationControl(ExecControl::MovDrExiting))
    );
}

#[test]
fn features_per_model() {
    // Icelake has all four secondary APIC controls.
    let c = compute_controls(&caps(ICELAKE), &config(full()), false).unwrap();
    assert!(c.secondary.contains(
        SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES
            | SecondaryProcBasedControls::APIC_REGISTER_VIRTUALIZATION
            | SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY
    ));
    assert!(c.pin.contains(PinBasedControls::EXTERNAL_INTERRUPT_EXITING));
    // Sandy Bridge: APIC accesses and x2APIC mode, no register virtualization or VID.
    assert_eq!(
        compute_controls(&caps(SANDY_BRIDGE), &config(full()), false),
        Err(VmxError::Apic(ApicError::Unsupported(
            PageControl::ApicRegisterVirtualization
        )))
    );
    let mut x2 = ApicVirtualization::tpr_shadow();
    x2.x2apic_mode = true;
    let c = compute_controls(&caps(SANDY_BRIDGE), &config(x2), false).unwrap();
    assert!(
        c.secondary
            .contains(SecondaryProcBasedControls::VIRTUALIZE_X2APIC_MODE)
    );
    // Penryn: APIC accesses only.
    let mut access = ApicVirtualization::tpr_shadow();
    access.apic_access = Some(GuestPhysAddr::new(0xFEE0_0000));
    compute_controls(&caps(PENRYN), &config(access), false).unwrap();
    assert_eq!(
        compute_controls(&caps(PENRYN), &config(x2), false),
        Err(VmxError::Apic(ApicError::Unsupported(
            PageControl::VirtualizeX2apicMode
        )))
    );
    let mut vid = ApicVirtualization::tpr_shadow();
    vid.virtual_interrupt_delivery = true;
    assert_eq!(
        compute_controls(&caps(PENRYN), &config(vid), false),
        Err(VmxError::Apic(ApicError::Unsupported(
            PageControl::VirtualInterruptDelivery
        )))
    );
}

#[test]
fn invalid_configurations_are_typed() {
    let caps = caps(ICELAKE);
    let mut a = full();
    a.x2apic_mode = true;
    assert_eq!(
        compute_controls(&caps, &config(a), false),
        Err(VmxError::Apic(ApicError::Conflict(
            PageControl::VirtualizeX2apicMode,
            PageControl::VirtualizeApicAccesses
        )))
    );
    let mut a = full();
    a.apic_access = Some(GuestPhysAddr::new(0xFEE0_0800));
    assert_eq!(
        compute_controls(&caps, &config(a), false),
        Err(VmxError::Apic(ApicError::UnalignedApicAccess(0xFEE0_0800)))
    );
    let mut a = ApicVirtualization::tpr_shadow();
    a.tpr_threshold = 0x10;
    assert_eq!(
        compute_controls(&caps, &config(a), false),
        Err(VmxError::Apic(ApicError::TprThreshold(0x10)))
    );
    let mut a = ApicVirtualization::tpr_shadow();
    a.tpr_threshold = 4;
    assert_eq!(
        compute_controls(&caps, &config(a), false),
        Err(VmxError::Apic(ApicError::ThresholdAboveVtpr {
            threshold: 4,
            vtpr_class: 0
        }))
    );
    a.apic_access = Some(GuestPhysAddr::new(0xFEE0_0000));
    compute_controls(&caps, &config(a), false).unwrap();
    // Raw page controls in required/optional are still refused.
    let mut raw = VcpuConfig::new(long_guest());
    raw.required.primary |= PrimaryProcBasedControls::USE_TPR_SHADOW;
    assert_eq!(
        compute_controls(&caps, &raw, false),
        Err(VmxError::ControlNeedsPage(PageControl::TprShadow))
    );
    assert!(!format!("{}", VmxError::Apic(ApicError::NotMigratable)).is_empty());
}

#[derive(Default)]
struct Fake(HashMap<u32, u64>);

impl ExitInfoSource for Fake {
    fn read_field(&mut self, encoding: u32) -> u64 {
        self.0.get(&encoding).copied().unwrap_or(0)
    }
}

fn decode(reason: u16, qualification: u64) -> VmExit {
    let mut f = Fake::default();
    f.0.insert(fields::EXIT_REASON.raw(), u64::from(reason));
    f.0.insert(fields::EXIT_QUALIFICATION.raw(), qualification);
    decode_exit(&mut f, &GuestRegisters::default())
}

#[test]
fn apic_exits_decode() {
    assert_eq!(decode(43, 0), VmExit::TprBelowThreshold);
    let VmExit::ApicAccess(a) = decode(44, 0x1080) else {
        panic!("not an APIC access")
    };
    assert_eq!(a.access, ApicAccessType::LinearWrite);
    assert_eq!(a.offset, Some(0x80));
    assert!(a.by_instruction);
    assert_eq!(
        format!("{}", VmExit::ApicAccess(a)),
        "APIC access (linear data write) at offset 0x80"
    );
    let VmExit::ApicAccess(a) = decode(44, 0x0300) else {
        panic!("not an APIC access")
    };
    assert_eq!(
        (a.access, a.offset, a.by_instruction),
        (ApicAccessType::LinearRead, Some(0x300), true)
    );
    let VmExit::ApicAccess(a) = decode(44, 0x3020) else {
        panic!("not an APIC access")
    };
    assert_eq!(a.access, ApicAccessType::LinearEventDelivery);
    assert!(!a.by_instruction);
    let VmExit::ApicAccess(a) = decode(44, 0xF123) else {
        panic!("not an APIC access")
    };
    assert_eq!(
        (a.access, a.offset),
        (ApicAccessType::GuestPhysicalInstruction, None)
    );
    assert_eq!(
        decode(45, 0xFFFF_FF31),
        VmExit::VirtualizedEoi { vector: 0x31 }
    );
    assert_eq!(decode(56, 0xF380), VmExit::ApicWrite { offset: 0x380 });
    for (r, want) in [
        (43, BasicExitReason::TPR_BELOW_THRESHOLD),
        (44, BasicExitReason::APIC_ACCESS),
        (45, BasicExitReason::VIRTUALIZED_EOI),
        (56, BasicExitReason::APIC_WRITE),
    ] {
        assert_eq!(decode(r, 0).reason(), want);
        assert!(!format!("{}", decode(r, 0)).is_empty());
    }
}

proptest! {
    #[test]
    fn apic_decoders_total(reason in prop_oneof![Just(43u16), Just(44), Just(45), Just(56)], q in any::<u64>()) {
        let e = decode(reason, q);
        prop_assert_eq!(e.reason().0, reason);
        let _ = format!("{e}");
        let a = ApicAccessExit::from_qualification(q);
        prop_assert_eq!(a.by_instruction, matches!(a.access, ApicAccessType::LinearRead | ApicAccessType::LinearWrite));
        if a.access.is_linear() {
            prop_assert_eq!(a.offset, Some((q & 0xFFF) as u16));
        }
    }
}
