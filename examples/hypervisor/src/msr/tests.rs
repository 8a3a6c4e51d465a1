//! One test per rule of the MSR policy, and a proptest that it is total.

use proptest::prelude::*;

use super::*;

const CTX: MsrContext = MsrContext {
    cpu_index: 1,
    vcpus: 2,
    tsc_khz: 100_000,
    arch_capabilities: None,
};

#[test]
fn arch_capabilities_only_where_the_host_has_it_and_filtered() {
    let mut p = MsrPolicy::new();
    let fault = |r| matches!(r, Err(MsrFault { reason, .. }) if reason == MsrFaultReason::Unknown);
    assert!(fault(p.read(IA32_ARCH_CAPABILITIES, &CTX)));
    // RDCL_NO | IBRS_ALL | SKIP_L1DFL_VMENTRY | MDS_NO | TSX_CTRL | GDS_NO from the host.
    let host = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 26);
    let ctx = MsrContext {
        arch_capabilities: Some(host),
        ..CTX
    };
    assert_eq!(
        p.read(IA32_ARCH_CAPABILITIES, &ctx),
        Ok(MsrRead::Value((1 << 0) | (1 << 5) | (1 << 26)))
    );
    assert!(matches!(
        p.write(IA32_ARCH_CAPABILITIES, 0, &ctx),
        Err(MsrFault {
            reason: MsrFaultReason::ReadOnly,
            ..
        })
    ));
    assert!(matches!(
        p.write(IA32_ARCH_CAPABILITIES, 0, &CTX),
        Err(MsrFault {
            reason: MsrFaultReason::Unknown,
            ..
        })
    ));
}

fn read(p: &MsrPolicy, msr: u32) -> Result<MsrRead, MsrFault> {
    p.read(msr, &CTX)
}

fn value(p: &MsrPolicy, msr: u32) -> u64 {
    match read(p, msr) {
        Ok(MsrRead::Value(v)) => v,
        other => panic!("{msr:#x}: {other:?}"),
    }
}

fn fault(msr: u32, write: bool, reason: MsrFaultReason) -> MsrFault {
    MsrFault { msr, write, reason }
}

#[test]
fn apic_base_and_tsc_deadline_go_to_the_platform() {
    let mut p = MsrPolicy::new();
    assert_eq!(
        read(&p, IA32_APIC_BASE),
        Ok(MsrRead::Platform(PlatformMsr::ApicBase))
    );
    assert_eq!(
        read(&p, IA32_TSC_DEADLINE),
        Ok(MsrRead::Platform(PlatformMsr::TscDeadline))
    );
    assert_eq!(
        p.write(IA32_APIC_BASE, 0xFEE0_0900, &CTX),
        Ok(MsrWrite::Platform(PlatformMsr::ApicBase, 0xFEE0_0900))
    );
    assert_eq!(
        p.write(IA32_TSC_DEADLINE, 12345, &CTX),
        Ok(MsrWrite::Platform(PlatformMsr::TscDeadline, 12345))
    );
}

#[test]
fn misc_enable_has_fast_strings_and_only_linux_bits_change() {
    let mut p = MsrPolicy::new();
    assert_eq!(value(&p, IA32_MISC_ENABLE), MISC_ENABLE_RESET);
    assert_ne!(value(&p, IA32_MISC_ENABLE) & MISC_ENABLE_FAST_STRINGS, 0);
    let xd = MISC_ENABLE_RESET | MISC_ENABLE_XD_DISABLE | MISC_ENABLE_LIMIT_CPUID;
    assert_eq!(p.write(IA32_MISC_ENABLE, xd, &CTX), Ok(MsrWrite::Accepted));
    assert_eq!(value(&p, IA32_MISC_ENABLE), xd);
    assert_eq!(
        p.write(IA32_MISC_ENABLE, MISC_ENABLE_RESET, &CTX),
        Ok(MsrWrite::Accepted)
    );
    // Enabling MONITOR (bit 18) or clearing "BTS unavailable" is refused.
    for bad in [
        MISC_ENABLE_RESET | (1 << 18),
        MISC_ENABLE_RESET & !MISC_ENABLE_BTS_UNAVAILABLE,
    ] {
        assert_eq!(
            p.write(IA32_MISC_ENABLE, bad, &CTX),
            Err(fault(IA32_MISC_ENABLE, true, MsrFaultReason::InvalidValue))
        );
    }
    assert_eq!(value(&p, IA32_MISC_ENABLE), MISC_ENABLE_RESET);
}

#[test]
fn feature_control_is_locked_with_vmx_off() {
    let mut p = MsrPolicy::new();
    assert_eq!(value(&p, IA32_FEATURE_CONTROL), 1);
    assert_eq!(
        p.write(IA32_FEATURE_CONTROL, 5, &CTX),
        Err(fault(IA32_FEATURE_CONTROL, true, MsrFaultReason::ReadOnly))
    );
}

#[test]
fn microcode_platform_id_and_machine_check() {
    let mut p = MsrPolicy::new();
    for msr in [
        IA32_BIOS_SIGN_ID,
        IA32_PLATFORM_ID,
        IA32_MCG_CAP,
        IA32_MCG_STATUS,
    ] {
        assert_eq!(value(&p, msr), 0, "{msr:#x}");
    }
    assert_eq!(p.write(IA32_BIOS_SIGN_ID, 0, &CTX), Ok(MsrWrite::Accepted));
    assert_eq!(value(&p, IA32_BIOS_SIGN_ID), 0);
    assert_eq!(p.write(IA32_MCG_STATUS, 0, &CTX), Ok(MsrWrite::Accepted));
    assert!(p.write(IA32_MCG_STATUS, 1, &CTX).is_err());
    assert!(p.write(IA32_MCG_CAP, 0, &CTX).is_err());
    assert!(p.write(IA32_PLATFORM_ID, 0, &CTX).is_err());
}

#[test]
fn mtrrs_default_to_write_back_and_store_valid_values() {
    let mut p = MsrPolicy::new();
    assert_eq!(value(&p, IA32_MTRRCAP), 0x508);
    assert_eq!(
        p.write(IA32_MTRRCAP, 0, &CTX),
        Err(fault(IA32_MTRRCAP, true, MsrFaultReason::ReadOnly))
    );
    assert_eq!(value(&p, IA32_MTRR_DEF_TYPE), 0x806);
    // Disable, set UC default with fixed ranges, enable.
    assert_eq!(p.write(IA32_MTRR_DEF_TYPE, 0, &CTX), Ok(MsrWrite::Accepted));
    assert_eq!(
        p.write(IA32_MTRR_DEF_TYPE, 0xC00, &CTX),
        Ok(MsrWrite::Accepted)
    );
    assert_eq!(value(&p, IA32_MTRR_DEF_TYPE), 0xC00);
    // Type 2 and 3 are reserved; bit 9 is reserved.
    for bad in [0x802, 0x803, 0xA06, 1 << 12] {
        assert!(p.write(IA32_MTRR_DEF_TYPE, bad, &CTX).is_err(), "{bad:#x}");
    }
    for &msr in &FIXED_MTRRS {
        assert_eq!(value(&p, msr), 0);
        let wb = 0x0606_0606_0606_0606;
        assert_eq!(p.write(msr, wb, &CTX), Ok(MsrWrite::Accepted));
        assert_eq!(value(&p, msr), wb);
        assert!(p.write(msr, 0x0606_0606_0606_0602, &CTX).is_err());
    }
    for n in 0..VARIABLE_MTRRS as u32 {
        let base = IA32_MTRR_PHYSBASE0 + 2 * n;
        assert_eq!(p.write(base, 0x8000_0006, &CTX), Ok(MsrWrite::Accepted));
        assert_eq!(
            p.write(base + 1, 0xF_8000_0800, &CTX),
            Ok(MsrWrite::Accepted)
        );
        assert_eq!(
            (value(&p, base), value(&p, base + 1)),
            (0x8000_0006, 0xF_8000_0800)
        );
        assert!(p.write(base, 0x8000_0106, &CTX).is_err(), "reserved bit 8");
        assert!(p.write(base, 0x8000_0007, &CTX).is_err(), "type 7");
        assert!(
            p.write(base + 1, 0x8000_0001, &CTX).is_err(),
            "reserved bit 0"
        );
        assert!(p.write(base, 1 << 60, &CTX).is_err());
    }
    assert!(read(&p, IA32_MTRR_PHYSBASE0 + 16).is_err(), "only 8 pairs");
}

#[test]
fn msrs_the_vcpu_switches_are_not_emulated_here() {
    let mut p = MsrPolicy::new();
    for msr in vcpu_switched() {
        assert_eq!(
            read(&p, msr),
            Err(fault(msr, false, MsrFaultReason::SwitchedByVcpu))
        );
        assert_eq!(
            p.write(msr, 0, &CTX),
            Err(fault(msr, true, MsrFaultReason::SwitchedByVcpu))
        );
        assert!(is_vcpu_switched(msr));
    }
    assert_eq!(
        read(&p, IA32_TSC),
        Err(fault(IA32_TSC, false, MsrFaultReason::SwitchedByVcpu))
    );
    assert!(p.write(IA32_TSC, 0, &CTX).is_err());
    assert!(!is_vcpu_switched(IA32_MISC_ENABLE));
}

#[test]
fn unadvertised_msrs_fault() {
    let mut p = MsrPolicy::new();
    // MPERF, APERF, PERF_STATUS/CTL, PLATFORM_INFO, SPEC_CTRL, PRED_CMD,
    // ARCH_CAPABILITIES, FLUSH_CMD, TSC_ADJUST, MCG_CTL, THERM_STATUS, PERFEVTSEL0,
    // IA32_PMC0, x2APIC ID, ENERGY_PERF_BIAS, TSX_CTRL, an unarchitected number.
    for msr in [
        0xE7,
        0xE8,
        0x198,
        0x199,
        0xCE,
        0x48,
        0x49,
        0x10A,
        0x10B,
        0x3B,
        0x17B,
        0x19C,
        0x186,
        0xC1,
        0x802,
        0x1B0,
        0x122,
        0x1234_5678,
    ] {
        assert_eq!(
            read(&p, msr),
            Err(fault(msr, false, MsrFaultReason::Unknown)),
            "{msr:#x}"
        );
        assert_eq!(
            p.write(msr, 0, &CTX),
            Err(fault(msr, true, MsrFaultReason::Unknown)),
            "{msr:#x}"
        );
    }
}

#[test]
fn fault_display_names_the_msr() {
    let f = fault(0xE7, false, MsrFaultReason::Unknown);
    assert_eq!(f.to_string(), "RDMSR 0xe7: #GP(0), not emulated");
}

proptest! {
    #[test]
    fn total_and_a_rejected_write_changes_nothing(
        msr in prop_oneof![0u32..0x800, 0xC000_0000u32..0xC000_0110, any::<u32>()],
        value in any::<u64>(),
    ) {
        let mut p = MsrPolicy::new();
        let before = p.clone();
        let _ = p.read(msr, &CTX);
        if p.write(msr, value, &CTX).is_err() {
            prop_assert_eq!(&p, &before);
        }
        if let Ok(MsrWrite::Accepted) = p.write(msr, value, &CTX)
            && let Ok(MsrRead::Value(v)) = p.read(msr, &CTX)
            && msr != IA32_BIOS_SIGN_ID
        {
            prop_assert_eq!(v, value);
        }
    }
}
