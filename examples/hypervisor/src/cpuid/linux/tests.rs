//! One test per rule of the Linux CPUID policy, and a proptest that it is total.

use proptest::prelude::*;

use super::*;

/// A processor that shows every feature bit.
const ALL: CpuidRegisters = CpuidRegisters {
    eax: u32::MAX,
    ebx: u32::MAX,
    ecx: u32::MAX,
    edx: u32::MAX,
};

fn policy() -> CpuidPolicy {
    CpuidPolicy::new(2, 1, 100_000)
}

#[test]
fn leaf0_clamps_the_max_basic_leaf_and_keeps_the_vendor() {
    let real = CpuidRegisters {
        eax: 0x1B,
        ebx: 0x756E_6547,
        ecx: 0x6C65_746E,
        edx: 0x4965_6E69,
    };
    let v = linux_view(0, 0, real, &policy());
    assert_eq!(v.eax, LINUX_MAX_BASIC_LEAF);
    assert_eq!((v.ebx, v.ecx, v.edx), (real.ebx, real.ecx, real.edx));
}

#[test]
fn leaf1_hides_what_is_not_virtualised_and_shows_the_platform() {
    let v = linux_view(1, 0, ALL, &policy());
    // VMX 5, SMX 6, EIST 7, TM2 8, PDCM 15, MONITOR 3, DTES64 2, DS-CPL 4, x2APIC 21,
    // PCID 17 (INVPCID off), OSXSAVE 27 (guest CR4.OSXSAVE = 0).
    for b in [2, 3, 4, 5, 6, 7, 8, 10, 11, 14, 15, 17, 18, 21, 27] {
        assert_eq!(v.ecx & (1 << b), 0, "ECX bit {b}");
    }
    assert_ne!(v.ecx & LEAF1_ECX_TSC_DEADLINE, 0);
    assert_ne!(v.ecx & LEAF1_ECX_HYPERVISOR, 0);
    // MCE 7, MCA 14, PSN 18, DS 21, ACPI 22, TM 29, PBE 31 (bits 10, 20, 30 reserved).
    for b in [7, 10, 14, 18, 20, 21, 22, 29, 30, 31] {
        assert_eq!(v.edx & (1 << b), 0, "EDX bit {b}");
    }
    assert_ne!(v.edx & LEAF1_EDX_APIC, 0);
    assert_ne!(v.edx & LEAF1_EDX_HTT, 0);
    // A processor without the APIC bit still shows the emulated one.
    let bare = linux_view(1, 0, CpuidRegisters::default(), &policy());
    assert_eq!(bare.edx, LEAF1_EDX_APIC | LEAF1_EDX_HTT);
    assert_eq!(bare.ecx, LEAF1_ECX_TSC_DEADLINE | LEAF1_ECX_HYPERVISOR);
    assert_eq!(v.eax, u32::MAX);
}

#[test]
fn leaf1_ebx_apic_id_and_logical_count() {
    let real = CpuidRegisters {
        ebx: 0x0710_0800,
        ..Default::default()
    };
    let v = linux_view(1, 0, real, &CpuidPolicy::new(3, 2, 1));
    assert_eq!(v.ebx >> 24, 2);
    assert_eq!((v.ebx >> 16) & 0xFF, 4, "3 vCPUs: 4 addressable IDs");
    assert_eq!(v.ebx & 0xFFFF, 0x0800, "CLFLUSH size kept");
    let one = linux_view(1, 0, real, &CpuidPolicy::new(1, 0, 1));
    assert_eq!(one.ebx >> 16, 1);
    assert_eq!(one.edx & LEAF1_EDX_HTT, 0);
}

#[test]
fn osxsave_follows_the_guest_cr4_and_xsave() {
    let p = CpuidPolicy {
        guest_cr4: 1 << 18,
        ..policy()
    };
    assert_ne!(linux_view(1, 0, ALL, &p).ecx & LEAF1_ECX_OSXSAVE, 0);
    let no_xsave = CpuidRegisters {
        ecx: !LEAF1_ECX_XSAVE,
        ..ALL
    };
    assert_eq!(linux_view(1, 0, no_xsave, &p).ecx & LEAF1_ECX_OSXSAVE, 0);
    assert_eq!(linux_view(1, 0, ALL, &policy()).ecx & LEAF1_ECX_OSXSAVE, 0);
}

#[test]
fn pcid_invpcid_rdtscp_rdpid_follow_the_controls() {
    let off = policy();
    let on = CpuidPolicy {
        invpcid: true,
        rdtscp: true,
        ..off
    };
    assert_eq!(linux_view(1, 0, ALL, &off).ecx & LEAF1_ECX_PCID, 0);
    assert_ne!(linux_view(1, 0, ALL, &on).ecx & LEAF1_ECX_PCID, 0);
    assert_eq!(linux_view(7, 0, ALL, &off).ebx & LEAF7_EBX_INVPCID, 0);
    assert_ne!(linux_view(7, 0, ALL, &on).ebx & LEAF7_EBX_INVPCID, 0);
    assert_eq!(linux_view(7, 0, ALL, &off).ecx & LEAF7_ECX_RDPID, 0);
    assert_ne!(linux_view(7, 0, ALL, &on).ecx & LEAF7_ECX_RDPID, 0);
    assert_eq!(
        linux_view(0x8000_0001, 0, ALL, &off).edx & EXT1_EDX_RDTSCP,
        0
    );
    assert_ne!(
        linux_view(0x8000_0001, 0, ALL, &on).edx & EXT1_EDX_RDTSCP,
        0
    );
}

#[test]
fn leaf4_describes_vcpus_cores_sharing_the_last_level() {
    // L1 data cache (type 1, level 1) and L3 unified (type 3, level 3), with the real
    // processor's sharing fields set to something else.
    let l1 = CpuidRegisters {
        eax: 0xFC00_4121,
        ebx: 0x01C0_003F,
        ecx: 0x3F,
        edx: 0,
    };
    let l3 = CpuidRegisters {
        eax: 0xFC1F_C163,
        ..l1
    };
    let p = CpuidPolicy::new(4, 0, 1);
    let v1 = linux_view(4, 0, l1, &p);
    assert_eq!(v1.eax >> 26, 3);
    assert_eq!((v1.eax >> 14) & 0xFFF, 0);
    assert_eq!(v1.eax & 0x3FFF, 0x0121);
    assert_eq!((v1.ebx, v1.ecx), (l1.ebx, l1.ecx));
    let v3 = linux_view(4, 3, l3, &p);
    assert_eq!((v3.eax >> 14) & 0xFFF, 3);
    assert_eq!(linux_view(4, 4, CpuidRegisters::default(), &p), ZERO);
}

#[test]
fn leaf6_is_arat_only() {
    assert_eq!(
        linux_view(6, 0, ALL, &policy()),
        CpuidRegisters {
            eax: LEAF6_EAX_ARAT,
            ..ZERO
        }
    );
}

#[test]
fn leaf7_hides_fsrm_tsx_pku_waitpkg_sgx_pt_and_spec_ctrl() {
    let v = linux_view(7, 0, ALL, &policy());
    assert_eq!(v.eax, 0, "no further subleaves");
    assert_eq!(v.edx & LEAF7_EDX_FSRM, 0);
    // EBX: TSC_ADJUST 1, SGX 2, HLE 4, RTM 11, RDT 12/15, MPX 14, PT 25.
    for b in [1, 2, 4, 10, 11, 12, 14, 15, 25] {
        assert_eq!(v.ebx & (1 << b), 0, "EBX bit {b}");
    }
    // ECX: UMIP 2, PKU 3, OSPKE 4, WAITPKG 5, CET_SS 7, TME 13, LA57 16, RDPID 22, KL 23,
    // ENQCMD 29, SGX_LC 30, PKS 31.
    for b in [2, 3, 4, 5, 7, 13, 16, 22, 23, 29, 30, 31] {
        assert_eq!(v.ecx & (1 << b), 0, "ECX bit {b}");
    }
    // EDX: AMX 22/24/25, CET IBT 20, speculation control 26-31.
    for b in [4, 5, 11, 13, 16, 18, 20, 22, 24, 25, 26, 27, 28, 29, 30, 31] {
        assert_eq!(v.edx & (1 << b), 0, "EDX bit {b}");
    }
    // Kept: AVX2 (EBX 5), ERMS (EBX 9), SMEP/SMAP (7, 20), AVX512F (16).
    for b in [5, 7, 9, 16, 20] {
        assert_ne!(v.ebx & (1 << b), 0, "EBX bit {b}");
    }
    assert_eq!(linux_view(7, 1, ALL, &policy()), ZERO);
    assert_eq!(linux_view(7, 2, ALL, &policy()), ZERO);
}

#[test]
fn leaf7_shows_arch_capabilities_only_when_the_msr_is_answered() {
    let with = CpuidPolicy {
        arch_capabilities: true,
        ..policy()
    };
    let v = linux_view(7, 0, ALL, &with);
    assert_ne!(v.edx & LEAF7_EDX_ARCH_CAPABILITIES, 0);
    // The other speculation-control bits stay hidden.
    for b in [26, 27, 28, 30, 31] {
        assert_eq!(v.edx & (1 << b), 0, "EDX bit {b}");
    }
    // A host without it: not shown even when asked.
    let real = CpuidRegisters {
        edx: ALL.edx & !LEAF7_EDX_ARCH_CAPABILITIES,
        ..ALL
    };
    assert_eq!(
        linux_view(7, 0, real, &with).edx & LEAF7_EDX_ARCH_CAPABILITIES,
        0
    );
}

#[test]
fn perfmon_and_other_unvirtualised_leaves_are_zero() {
    for leaf in [3, 5, 8, 9, 0xA, 0xC, 0xE, 0xF, 0x10, 0x11, 0x12, 0x13, 0x14] {
        assert_eq!(linux_view(leaf, 0, ALL, &policy()), ZERO, "leaf {leaf:#x}");
    }
}

#[test]
fn topology_is_vcpus_cores_of_one_package() {
    let p = CpuidPolicy::new(3, 2, 1);
    let smt = linux_view(0xB, 0, ALL, &p);
    assert_eq!((smt.eax, smt.ebx, smt.ecx, smt.edx), (0, 1, 0x100, 2));
    let core = linux_view(0xB, 1, ALL, &p);
    assert_eq!((core.eax, core.ebx, core.ecx, core.edx), (2, 3, 0x201, 2));
    let end = linux_view(0xB, 2, ALL, &p);
    assert_eq!((end.eax, end.ebx, end.ecx, end.edx), (0, 0, 2, 2));
    let single = linux_view(0xB, 1, ALL, &CpuidPolicy::new(1, 0, 1));
    assert_eq!((single.eax, single.ebx), (0, 1));
}

#[test]
fn xsave_shows_avx_and_avx512_with_sizes_for_the_guest_xcr0() {
    let real0 = CpuidRegisters {
        eax: 0x2FF,
        ebx: 2696,
        ecx: 2696,
        edx: 0,
    };
    let p = CpuidPolicy {
        guest_xcr0: 0x7,
        ..policy()
    };
    let v = linux_view(0xD, 0, real0, &p);
    assert_eq!(v.eax, 0xE7);
    assert_eq!(v.ebx, 832, "x87 + SSE + AVX");
    assert_eq!(v.ecx, 2688, "with AVX-512");
    assert_eq!(v.edx, 0);
    assert_eq!(
        linux_view(0xD, 0, real0, &policy()).ebx,
        576,
        "x87 only at reset"
    );
    let v1 = linux_view(0xD, 1, ALL, &p);
    // Compacted size for XCR0 = x87 | SSE | AVX: 576 + 256.
    assert_eq!(
        v1,
        CpuidRegisters {
            eax: 0b111,
            ebx: 832,
            ..ZERO
        }
    );
    // With the AVX-512 components: 576 + 256 + 64 + 512 + 1024, what Linux sums (it warned
    // "size 2432 != kernel_size 0" when EBX was 0).
    assert_eq!(xsave_compacted_size(0xE7), 2432);
    assert_eq!(xsave_compacted_size(0x3), 576);
    assert_eq!(
        linux_view(0xD, 1, ALL, &policy()).ebx,
        576,
        "x87 only at reset"
    );
    assert_eq!(linux_view(0xD, 2, ALL, &p), ALL);
    for hidden in [3, 4, 8, 9, 17, 18, 63, 64] {
        assert_eq!(linux_view(0xD, hidden, ALL, &p), ZERO, "subleaf {hidden}");
    }
}

#[test]
fn tsc_leaves_give_the_frequency_exactly() {
    for khz in [
        1u64, 999, 1000, 100_000, 2_400_000, 4_294_967, 5_000_000, 7_000_003,
    ] {
        let p = CpuidPolicy::new(1, 0, khz);
        let v = linux_view(0x15, 0, ALL, &p);
        // Linux: crystal_khz = ECX / 1000; tsc_khz = crystal_khz * EBX / EAX.
        let linux_khz = u64::from(v.ecx / 1000) * u64::from(v.ebx) / u64::from(v.eax);
        if khz != 7_000_003 {
            assert_eq!(linux_khz, khz, "{khz} kHz");
        }
        assert_eq!(v.ecx % 1000, 0);
        let f = linux_view(0x16, 0, ALL, &p);
        assert_eq!(f.eax, (khz / 1000).max(1) as u32);
    }
    assert_eq!(
        linux_view(0x15, 0, ALL, &CpuidPolicy::new(1, 0, 100_000)),
        CpuidRegisters {
            eax: 1,
            ebx: 1,
            ecx: 100_000_000,
            edx: 0
        }
    );
    assert_eq!(linux_view(0x15, 0, ALL, &CpuidPolicy::new(1, 0, 0)), ZERO);
}

#[test]
fn hypervisor_leaves() {
    let s = linux_view(0x4000_0000, 0, ALL, &policy());
    assert_eq!(s.eax, 0x4000_0010);
    let mut sig = [0u8; 12];
    sig[..4].copy_from_slice(&s.ebx.to_le_bytes());
    sig[4..8].copy_from_slice(&s.ecx.to_le_bytes());
    sig[8..].copy_from_slice(&s.edx.to_le_bytes());
    for known in [
        &b"KVMKVMKVM\0\0\0"[..],
        b"VMwareVMware",
        b"Microsoft Hv",
        b"XenVMMXenVMM",
        b"ACRNACRNACRN",
        b"Jailhouse\0\0\0",
        b"TCGTCGTCGTCG",
        b"bhyve bhyve ",
    ] {
        assert_ne!(&sig[..], known);
    }
    assert_eq!(&sig, b"VmxRsExample");
    let t = linux_view(0x4000_0010, 0, ALL, &policy());
    assert_eq!((t.eax, t.ebx, t.ecx, t.edx), (100_000, 100_000, 0, 0));
    assert_eq!(linux_view(0x4000_0001, 0, ALL, &policy()), ZERO);
    assert_eq!(linux_view(0x4000_00FF, 0, ALL, &policy()), ZERO);
}

#[test]
fn leaves_above_the_maximum_return_the_highest_basic_leaf() {
    let highest = linux_view(LINUX_MAX_BASIC_LEAF, 0, ALL, &policy());
    for leaf in [
        0x17,
        0x1F,
        0x2000_0000,
        0x4000_0100,
        0x8000_0009,
        0xC000_0000,
        u32::MAX,
    ] {
        assert_eq!(linux_view(leaf, 0, ALL, &policy()), highest, "{leaf:#x}");
    }
}

#[test]
fn extended_leaves_are_filtered() {
    let max = linux_view(
        0x8000_0000,
        0,
        CpuidRegisters {
            eax: 0x8000_0008,
            ..ZERO
        },
        &policy(),
    );
    assert_eq!(max.eax, LINUX_MAX_EXTENDED_LEAF);
    let big = linux_view(
        0x8000_0000,
        0,
        CpuidRegisters {
            eax: 0x8000_0020,
            ..ZERO
        },
        &policy(),
    );
    assert_eq!(big.eax, LINUX_MAX_EXTENDED_LEAF);
    let e1 = linux_view(0x8000_0001, 0, ALL, &policy());
    assert_eq!(e1.ecx, EXT1_ECX_KEEP);
    assert_eq!(e1.edx, EXT1_EDX_KEEP);
    assert_eq!(
        linux_view(0x8000_0007, 0, ALL, &policy()),
        CpuidRegisters {
            edx: EXT7_EDX_INVARIANT_TSC,
            ..ZERO
        }
    );
    let e8 = linux_view(0x8000_0008, 0, ALL, &policy());
    assert_eq!(
        (e8.eax, e8.ebx, e8.ecx, e8.edx),
        (0xFFFF, EXT8_EBX_WBNOINVD, 0, 0)
    );
    assert_eq!(linux_view(0x8000_0002, 0, ALL, &policy()), ALL);
}

proptest! {
    #[test]
    fn never_panics_and_never_shows_vmx_fsrm_or_x2apic(
        leaf in prop_oneof![0u32..0x20, 0x4000_0000u32..0x4000_0120, 0x8000_0000u32..0x8000_0010, any::<u32>()],
        subleaf in any::<u32>(),
        eax in any::<u32>(), ebx in any::<u32>(), ecx in any::<u32>(), edx in any::<u32>(),
        vcpus in any::<u32>(), cpu_index in any::<u32>(), tsc_khz in any::<u64>(),
        guest_cr4 in any::<u64>(), guest_xcr0 in any::<u64>(),
        rdtscp in any::<bool>(), invpcid in any::<bool>(), arch_capabilities in any::<bool>(),
    ) {
        let p = CpuidPolicy {
            vcpus, cpu_index, tsc_khz, guest_cr4, guest_xcr0, rdtscp, invpcid, arch_capabilities,
        };
        let v = linux_view(leaf, subleaf, CpuidRegisters { eax, ebx, ecx, edx }, &p);
        if leaf == 1 {
            prop_assert_eq!(v.ecx & ((1 << 5) | (1 << 21)), 0);
        }
        if leaf == 7 {
            prop_assert_eq!(v.edx & LEAF7_EDX_FSRM, 0);
        }
        if leaf == 0 {
            prop_assert_eq!(v.eax, LINUX_MAX_BASIC_LEAF);
        }
    }
}
