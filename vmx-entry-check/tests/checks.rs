//! Failing cases for checks the targeted mutations cannot reach from the baselines (they
//! need a 32-bit host, virtual-8086 mode, PAE paging, memory contents or several controls),
//! each next to the passing baseline.

mod common;

use vmx_defs::msr_entry::MsrEntry;
use vmx_defs::vmcs::fields as f;
use vmx_entry_check::{CheckId as C, Outcome, check};

fn skylake() -> (
    vmx_defs::capabilities::VmxCapabilities,
    vmx_entry_check::VmcsSnapshot,
) {
    let (_, caps) = common::models()
        .into_iter()
        .find(|(n, _)| n == "corei7_skylake_x")
        .unwrap();
    (caps, common::baseline_64(&caps))
}

#[test]
fn thirty_two_bit_host() {
    let (caps, mut s) = skylake();
    let mut ctx = common::ctx(caps);
    ctx.host_ia32e = false;
    let exit = s.get(f::CTRL_PRIMARY_VMEXIT_CONTROLS).unwrap() & !(1 << 9) & !(1 << 21);
    s.set(f::CTRL_PRIMARY_VMEXIT_CONTROLS, exit);
    s.set(f::HOST_SS_SELECTOR, 0);
    s.set(f::HOST_CR4, 0x2020 | 1 << 17);
    s.set(f::HOST_RIP, 1 << 32);
    let d = check(&s, &ctx);
    for id in [
        C::Ia32eGuestOutsideIa32eHost,
        C::HostSsSelectorNull,
        C::HostPcideWithoutIa32e,
        C::HostRipHigh,
    ] {
        assert!(d.failed(id), "{id:?}\n{d}");
    }
    assert_eq!(d.outcome(), Some(Outcome::VmFailValid(8)));
}

#[test]
fn virtual_8086_segments() {
    let (caps, mut s) = skylake();
    let entry = s.get(f::CTRL_VMENTRY_CONTROLS).unwrap() & !(1 << 9);
    s.set(f::CTRL_VMENTRY_CONTROLS, entry);
    s.set(f::GUEST_CR0, 0x8001_0031);
    s.set(f::GUEST_CR4, 0x2000);
    s.set(f::GUEST_IA32_EFER, 0);
    s.set(f::GUEST_RFLAGS, 0x2_0202);
    // CS still flat 64-bit: base/limit/AR wrong for virtual-8086 mode.
    let d = check(&s, &common::ctx(caps));
    for id in [C::GuestV86Base, C::GuestV86Limit, C::GuestV86AccessRights] {
        assert!(d.failed(id), "{id:?}\n{d}");
    }
}

#[test]
fn pae_pdptes_with_ept() {
    let (caps, mut s) = skylake();
    let entry = s.get(f::CTRL_VMENTRY_CONTROLS).unwrap() & !(1 << 9);
    s.set(f::CTRL_VMENTRY_CONTROLS, entry);
    s.set(f::GUEST_IA32_EFER, 0);
    s.set(f::GUEST_CS_ACCESS_RIGHTS, 0xc09b);
    let ctx = common::ctx(caps);
    assert!(check(&s, &ctx).passed(), "{}", check(&s, &ctx));
    s.set(f::GUEST_PDPTE2, 1 | 1 << 5);
    let d = check(&s, &ctx);
    assert!(d.failed(C::GuestPdpteReserved));
    assert_eq!(
        d.outcome(),
        Some(Outcome::EntryFailure {
            reason: 33,
            qualification: 2
        })
    );
}

#[test]
fn msr_load_area() {
    let (caps, mut s) = skylake();
    let area = [
        MsrEntry::new(0xc000_0080, 0xd01),
        MsrEntry::new(0x277, 0x0007_0406_0007_0406),
        MsrEntry::new(0xc000_0100, 0),
        MsrEntry::new(0x808, 0),
    ];
    let mut ctx = common::ctx(caps);
    ctx.msr_load = Some(&area);
    s.set(f::CTRL_VMENTRY_MSR_LOAD_COUNT, 2);
    s.set(f::CTRL_VMENTRY_MSR_LOAD_ADDRESS, 0x7000);
    assert!(check(&s, &ctx).passed());
    s.set(f::CTRL_VMENTRY_MSR_LOAD_COUNT, 4);
    let d = check(&s, &ctx);
    assert!(d.failed(C::MsrLoadFsGsBase));
    assert_eq!(
        d.outcome(),
        Some(Outcome::EntryFailure {
            reason: 34,
            qualification: 3
        })
    );
    let bad = [
        MsrEntry::new(0x808, 0),
        MsrEntry::new(0x9b, 0),
        MsrEntry {
            index: 0x10,
            reserved: 1,
            value: 0,
        },
        MsrEntry::new(0xc000_0082, 1 << 60),
    ];
    for (i, id) in [
        C::MsrLoadX2apic,
        C::MsrLoadSmmOnly,
        C::MsrLoadReservedBits,
        C::MsrLoadValueFaults,
    ]
    .into_iter()
    .enumerate()
    {
        let one = [bad[i]];
        let mut ctx = common::ctx(caps);
        ctx.msr_load = Some(&one);
        s.set(f::CTRL_VMENTRY_MSR_LOAD_COUNT, 1);
        assert!(check(&s, &ctx).failed(id), "{id:?}");
    }
}

#[test]
fn memory_dependent_checks() {
    let (caps, mut s) = skylake();
    let mut ctx = common::ctx(caps);
    ctx.link_vmcs_header = Some(0x2b);
    s.set(f::GUEST_VMCS_LINK_POINTER, 0x8000);
    ctx.current_vmcs = Some(0x9000);
    assert!(check(&s, &ctx).passed());
    ctx.link_vmcs_header = Some(0x2c);
    let d = check(&s, &ctx);
    assert!(d.failed(C::GuestVmcsLinkPointer));
    assert_eq!(
        d.outcome(),
        Some(Outcome::EntryFailure {
            reason: 33,
            qualification: 4
        })
    );
    // VTPR: threshold 5 above VTPR 0x40 >> 4 = 4.
    let mut ctx = common::ctx(caps);
    ctx.virtual_tpr = Some(0x40);
    let proc = s.get(f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS).unwrap() | 1 << 21;
    s.set(f::GUEST_VMCS_LINK_POINTER, u64::MAX);
    s.set(f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS, proc);
    s.set(f::CTRL_VIRTUAL_APIC_ADDRESS, 0x4000);
    s.set(f::CTRL_TPR_THRESHOLD, 4);
    assert!(check(&s, &ctx).passed());
    s.set(f::CTRL_TPR_THRESHOLD, 5);
    assert!(check(&s, &ctx).failed(C::TprThresholdAboveVtpr));
}

#[test]
fn apic_virtualization_and_posted_interrupts() {
    let (caps, mut s) = skylake();
    let ctx = common::ctx(caps);
    let sec = s.get(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS).unwrap();
    // Virtual-interrupt delivery without TPR shadow and without external-interrupt exiting.
    s.set(
        f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS,
        sec | 1 << 9 | 1 << 4 | 1,
    );
    s.set(f::CTRL_APIC_ACCESS_ADDRESS, 0x123);
    let d = check(&s, &ctx);
    for id in [
        C::ApicVirtualizationWithoutTprShadow,
        C::VirtualInterruptDeliveryWithoutExternalInterruptExiting,
        C::X2apicModeWithApicAccesses,
        C::ApicAccessAddress,
    ] {
        assert!(d.failed(id), "{id:?}\n{d}");
    }
    let (_, mut s) = skylake();
    let pin = s.get(f::CTRL_PIN_BASED_EXEC_CONTROLS).unwrap() | 1 << 7;
    s.set(f::CTRL_PIN_BASED_EXEC_CONTROLS, pin);
    s.set(f::CTRL_POSTED_INTERRUPT_NOTIFICATION_VECTOR, 0x100);
    s.set(f::CTRL_POSTED_INTERRUPT_DESCRIPTOR_ADDRESS, 0x20);
    let d = check(&s, &ctx);
    for id in [
        C::PostedInterruptsWithoutVirtualInterruptDelivery,
        C::PostedInterruptsWithoutAcknowledgeOnExit,
        C::PostedInterruptNotificationVector,
        C::PostedInterruptDescriptorAddress,
    ] {
        assert!(d.failed(id), "{id:?}\n{d}");
    }
}

#[test]
fn ept_dependent_features() {
    let (caps, mut s) = skylake();
    let ctx = common::ctx(caps);
    let sec = s.get(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS).unwrap();
    // PML, VM functions, VMCS shadowing, #VE, MBEC with EPT off and bad addresses.
    let on = 1 << 17 | 1 << 13 | 1 << 14 | 1 << 18 | 1 << 22;
    s.set(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS, (sec | on) & !2);
    s.set(f::CTRL_VM_FUNCTION_CONTROLS, 1 | 1 << 5);
    for field in [
        f::CTRL_PML_ADDRESS,
        f::CTRL_EPTP_LIST_ADDRESS,
        f::CTRL_VMREAD_BITMAP_ADDRESS,
        f::CTRL_VMWRITE_BITMAP_ADDRESS,
        f::CTRL_VIRTUALIZATION_EXCEPTION_INFO_ADDRESS,
    ] {
        s.set(field, 0x10);
    }
    let d = check(&s, &ctx);
    for id in [
        C::PmlWithoutEpt,
        C::PmlAddress,
        C::VmFunctionControlsReserved,
        C::EptpSwitchingWithoutEpt,
        C::EptpListAddress,
        C::VmreadBitmapAddress,
        C::VmwriteBitmapAddress,
        C::VirtualizationExceptionInfoAddress,
    ] {
        assert!(d.failed(id), "{id:?}\n{d}");
    }
}

#[test]
fn outcome_order_vmfail_before_entry_failure() {
    let (caps, mut s) = skylake();
    s.set(f::GUEST_ACTIVITY_STATE, 7);
    s.set(f::HOST_CS_SELECTOR, 0);
    let d = check(&s, &common::ctx(caps));
    assert_eq!(d.outcome(), Some(Outcome::VmFailValid(8)));
    assert_eq!(d.first().unwrap().id, C::HostCsSelectorNull);
    s.set(f::CTRL_CR3_TARGET_COUNT, 9);
    assert_eq!(
        check(&s, &common::ctx(caps)).outcome(),
        Some(Outcome::VmFailValid(7))
    );
}
