//! What CPUID returns to a Linux guest: a deliberate policy (SDM Vol. 2A, CPUID; Vol. 3C
//! §26.1.2: CPUID always exits in VMX non-root operation, so every answer is this policy's).
//!
//! Principles: a feature is shown only where the guest can use it under this hypervisor as
//! on hardware (its instructions run natively or are handled, its MSRs are in
//! `crate::msr`, its interrupts come from the emulated platform); everything else is
//! cleared. The platform is `vcpus` single-threaded cores of one package with xAPICs (no
//! x2APIC), the TSC-deadline timer, no ACPI, no machine-check banks, no performance
//! monitoring, no power management.
//!
//! | leaf | answer |
//! |---|---|
//! | 0 | max basic leaf [`LINUX_MAX_BASIC_LEAF`], the real vendor |
//! | 1 | see [`leaf1`]: VMX, SMX, EIST, TM2, PDCM, MONITOR, DS/DTES64/DS-CPL, xTPR, SDBG, CNXT-ID, DCA, x2APIC, MCE/MCA, PSN, ACPI, TM, PBE cleared; PCID with INVPCID only; TSC-deadline, APIC, hypervisor set; OSXSAVE = guest CR4.OSXSAVE; EBX\[31:24\] = `cpu_index`, \[23:16\] = IDs per package |
//! | 2 | real (cache descriptors) |
//! | 4 | real caches, EAX\[31:26\] and \[25:14\] describing `vcpus` cores, L3 shared by all |
//! | 6 | ARAT only (EAX\[2\]): the LAPIC timer does not stop in deep C-states; no turbo, HWP, MPERF/APERF |
//! | 7 | subleaf 0 filtered ([`leaf7`]), EAX = 0 (no further subleaves) |
//! | 0xB | topology: SMT level of 1 thread, core level of `vcpus` cores, x2APIC ID = `cpu_index` |
//! | 0xD | XSAVE: x87, SSE, AVX, AVX-512 state only; sizes for the guest's XCR0 |
//! | 0x15 | TSC/crystal ratio 1/1 and crystal Hz = TSC Hz: Linux computes `tsc_khz` exactly |
//! | 0x16 | base/max/bus MHz = `tsc_khz / 1000` (at least 1) |
//! | 3, 5, 8-0xA, 0xC, 0xE-0x14 | zero (PSN, MONITOR, DCA, perfmon, RDT, SGX, PT: not virtualised) |
//! | 0x17-0x3FFF_FFFF, 0x4000_0100-0x7FFF_FFFF, above 0x8000_0008 | the highest basic leaf's answer (0x16), as the SDM says for leaves above the maximum |
//! | 0x4000_0000 | EAX = [`LINUX_HYPERVISOR_MAX_LEAF`], signature `VmxRsExample` (not a known hypervisor: Linux takes no paravirtual path) |
//! | 0x4000_0010 | EAX = TSC kHz, EBX = APIC timer kHz (= TSC kHz) |
//! | other 0x4000_00xx | zero |
//! | 0x8000_0000 | max extended leaf clamped to [`LINUX_MAX_EXTENDED_LEAF`] |
//! | 0x8000_0001 | LAHF/SAHF, LZCNT, PREFETCHW, SYSCALL, NX, 1-GiB pages, LM; RDTSCP with "enable RDTSCP" only |
//! | 0x8000_0002-0x8000_0006 | real (brand string, caches) |
//! | 0x8000_0007 | invariant TSC only (guest TSC = host TSC, no offset) |
//! | 0x8000_0008 | real address sizes, WBNOINVD only |
//!
//! Assumed of the processor: leaves 1, 2, 4, 7 and 0xD exist (Sandy Bridge and later; the
//! Bochs models used) and the extended leaves up to 0x8000_0008 (every Intel 64 processor).

use super::CpuidRegisters;

/// The highest basic leaf shown (EAX of leaf 0).
pub const LINUX_MAX_BASIC_LEAF: u32 = 0x16;
/// The highest extended leaf shown (EAX of leaf 0x8000_0000 at most).
pub const LINUX_MAX_EXTENDED_LEAF: u32 = 0x8000_0008;
/// The highest hypervisor leaf (EAX of leaf 0x4000_0000): 0x4000_0010 holds the timing
/// information.
pub const LINUX_HYPERVISOR_MAX_LEAF: u32 = 0x4000_0010;

/// What the policy needs to know about the machine and the asking vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuidPolicy {
    /// The number of vCPUs (cores of one package), 1 or more.
    pub vcpus: u32,
    /// The asking vCPU's index = its APIC ID.
    pub cpu_index: u32,
    /// The TSC frequency in kHz (guest TSC = host TSC).
    pub tsc_khz: u64,
    /// The guest's CR4 as it sees it: OSXSAVE (bit 18) is reflected in CPUID.1:ECX\[27\]
    /// (SDM Vol. 2A CPUID, Vol. 3A §2.5).
    pub guest_cr4: u64,
    /// The guest's XCR0: CPUID.(0DH,0):EBX is the XSAVE area size for it (SDM Vol. 1
    /// §13.2).
    pub guest_xcr0: u64,
    /// Whether the vCPU's "enable RDTSCP" control is 1 (else RDTSCP and RDPID are #UD in
    /// the guest, SDM Vol. 3C §26.3): shows RDTSCP and RDPID.
    pub rdtscp: bool,
    /// Whether the vCPU's "enable INVPCID" control is 1 (else INVPCID is #UD, §26.3): shows
    /// INVPCID and PCID.
    pub invpcid: bool,
    /// Whether the MSR policy answers IA32_ARCH_CAPABILITIES (the host has it): shows
    /// CPUID.(7,0):EDX\[29\] where the real leaf has it.
    pub arch_capabilities: bool,
}

impl CpuidPolicy {
    /// The policy for vCPU `cpu_index` of `vcpus` with TSC frequency `tsc_khz`, a guest at
    /// reset (CR4 = 0, XCR0 = 1), neither RDTSCP nor INVPCID, no IA32_ARCH_CAPABILITIES; set
    /// the other fields from
    /// the vCPU (`CpuidPolicy { guest_cr4, ..CpuidPolicy::new(..) }`).
    pub const fn new(vcpus: u32, cpu_index: u32, tsc_khz: u64) -> Self {
        Self {
            vcpus,
            cpu_index,
            tsc_khz,
            guest_cr4: 0,
            guest_xcr0: 1,
            rdtscp: false,
            invpcid: false,
            arch_capabilities: false,
        }
    }

    /// Addressable IDs in the package: `vcpus` rounded up to a power of two (SDM Vol. 3A
    /// §9.9.1), at least 1.
    fn ids_per_package(&self) -> u32 {
        self.vcpus.clamp(1, 1 << 16).next_power_of_two()
    }
}

const fn bit(n: u32) -> u32 {
    1 << n
}

const ZERO: CpuidRegisters = CpuidRegisters {
    eax: 0,
    ebx: 0,
    ecx: 0,
    edx: 0,
};

/// CPUID.1:ECX bits kept from the processor: SSE3, PCLMULQDQ, SSSE3, FMA, CMPXCHG16B,
/// SSE4.1, SSE4.2, MOVBE, POPCNT, AES, XSAVE, AVX, F16C, RDRAND (instructions that run
/// natively; XSAVE with XSETBV handled by the vCPU).
pub const LEAF1_ECX_KEEP: u32 = bit(0)
    | bit(1)
    | bit(9)
    | bit(12)
    | bit(13)
    | bit(19)
    | bit(20)
    | bit(22)
    | bit(23)
    | bit(25)
    | bit(26)
    | bit(28)
    | bit(29)
    | bit(30);
/// CPUID.1:ECX\[17\] PCID.
pub const LEAF1_ECX_PCID: u32 = bit(17);
/// CPUID.1:ECX\[24\] TSC-deadline.
pub const LEAF1_ECX_TSC_DEADLINE: u32 = bit(24);
/// CPUID.1:ECX\[26\] XSAVE.
pub const LEAF1_ECX_XSAVE: u32 = bit(26);
/// CPUID.1:ECX\[27\] OSXSAVE.
pub const LEAF1_ECX_OSXSAVE: u32 = bit(27);
/// CPUID.1:ECX\[31\] hypervisor present.
pub const LEAF1_ECX_HYPERVISOR: u32 = bit(31);
/// CPUID.1:EDX bits kept: FPU, VME, DE, PSE, TSC, MSR, PAE, CX8, SEP, MTRR, PGE, CMOV,
/// PAT, PSE-36, CLFSH, MMX, FXSR, SSE, SSE2, SS. Cleared: MCE, MCA (no machine-check
/// banks), PSN, DS, ACPI (thermal MSRs), TM, PBE.
pub const LEAF1_EDX_KEEP: u32 = bit(0)
    | bit(1)
    | bit(2)
    | bit(3)
    | bit(4)
    | bit(5)
    | bit(6)
    | bit(8)
    | bit(11)
    | bit(12)
    | bit(13)
    | bit(15)
    | bit(16)
    | bit(17)
    | bit(19)
    | bit(23)
    | bit(24)
    | bit(25)
    | bit(26)
    | bit(27);
/// CPUID.1:EDX\[9\] APIC on chip (the emulated xAPIC).
pub const LEAF1_EDX_APIC: u32 = bit(9);
/// CPUID.1:EDX\[28\] HTT: EBX\[23:16\] is valid (more than one logical processor).
pub const LEAF1_EDX_HTT: u32 = bit(28);
/// CR4.OSXSAVE (SDM Vol. 3A §2.5).
const CR4_OSXSAVE: u64 = 1 << 18;

/// Leaf 1 (see the module table).
pub fn leaf1(real: CpuidRegisters, policy: &CpuidPolicy) -> CpuidRegisters {
    let mut ecx = (real.ecx & LEAF1_ECX_KEEP) | LEAF1_ECX_TSC_DEADLINE | LEAF1_ECX_HYPERVISOR;
    if policy.invpcid {
        ecx |= real.ecx & LEAF1_ECX_PCID;
    }
    if ecx & LEAF1_ECX_XSAVE != 0 && policy.guest_cr4 & CR4_OSXSAVE != 0 {
        ecx |= LEAF1_ECX_OSXSAVE;
    }
    let mut edx = (real.edx & LEAF1_EDX_KEEP) | LEAF1_EDX_APIC;
    if policy.vcpus > 1 {
        edx |= LEAF1_EDX_HTT;
    }
    let ids = policy.ids_per_package().min(0xFF);
    CpuidRegisters {
        eax: real.eax,
        ebx: (real.ebx & 0xFFFF) | (ids << 16) | ((policy.cpu_index & 0xFF) << 24),
        ecx,
        edx,
    }
}

/// Leaf 4 (deterministic cache parameters): the processor's caches, with EAX\[31:26\] =
/// addressable core IDs - 1 and EAX\[25:14\] = IDs sharing the cache - 1 (the last level,
/// 3, shared by every vCPU; L1 and L2 private). A null subleaf (type 0) stays null.
pub fn leaf4(real: CpuidRegisters, policy: &CpuidPolicy) -> CpuidRegisters {
    if real.eax & 0x1F == 0 {
        return ZERO;
    }
    let cores = policy.ids_per_package().min(64) - 1;
    let level = (real.eax >> 5) & 7;
    let sharing = if level >= 3 { cores } else { 0 };
    CpuidRegisters {
        eax: (real.eax & 0x3FFF) | (sharing << 14) | (cores << 26),
        ..real
    }
}

/// CPUID.6:EAX\[2\] ARAT: the APIC timer always runs.
pub const LEAF6_EAX_ARAT: u32 = bit(2);

/// CPUID.(7,0):EBX bits kept: FSGSBASE, BMI1, AVX2, FDP_EXCPTN_ONLY, SMEP, BMI2, ERMS,
/// FPU CS/DS deprecation, AVX512F, AVX512DQ, RDSEED, ADX, SMAP, AVX512_IFMA, CLFLUSHOPT,
/// CLWB, AVX512PF, AVX512ER, AVX512CD, SHA, AVX512BW, AVX512VL. Cleared: TSC_ADJUST (no
/// IA32_TSC_ADJUST), SGX, HLE and RTM (TSX: not advertised, its MSRs absent), RDT-M/RDT-A,
/// MPX, Intel PT, INVPCID unless enabled.
pub const LEAF7_EBX_KEEP: u32 = bit(0)
    | bit(3)
    | bit(5)
    | bit(6)
    | bit(7)
    | bit(8)
    | bit(9)
    | bit(13)
    | bit(16)
    | bit(17)
    | bit(18)
    | bit(19)
    | bit(20)
    | bit(21)
    | bit(23)
    | bit(24)
    | bit(26)
    | bit(27)
    | bit(28)
    | bit(29)
    | bit(30)
    | bit(31);
/// CPUID.(7,0):EBX\[10\] INVPCID.
pub const LEAF7_EBX_INVPCID: u32 = bit(10);
/// CPUID.(7,0):ECX bits kept: PREFETCHWT1, AVX512_VBMI, AVX512_VBMI2, GFNI, VAES,
/// VPCLMULQDQ, AVX512_VNNI, AVX512_BITALG, AVX512_VPOPCNTDQ, CLDEMOTE, MOVDIRI, MOVDIR64B.
/// Cleared: UMIP (a CR4 bit the guest does not need), PKU/OSPKE (protection keys: PKRU not
/// in the XSAVE policy), WAITPKG (UMWAIT needs the "enable user wait" control and
/// IA32_UMWAIT_CONTROL), CET shadow stacks, TME, LA57 (5-level paging not tested here),
/// MAWAU, Key Locker, bus-lock detection, ENQCMD (PASID MSR), SGX launch control, PKS;
/// RDPID unless RDTSCP is enabled.
pub const LEAF7_ECX_KEEP: u32 = bit(0)
    | bit(1)
    | bit(6)
    | bit(8)
    | bit(9)
    | bit(10)
    | bit(11)
    | bit(12)
    | bit(14)
    | bit(25)
    | bit(27)
    | bit(28);
/// CPUID.(7,0):ECX\[22\] RDPID.
pub const LEAF7_ECX_RDPID: u32 = bit(22);
/// CPUID.(7,0):EDX bits kept: AVX512_4VNNIW, AVX512_4FMAPS, AVX512_VP2INTERSECT, MD_CLEAR
/// (VERW), SERIALIZE, AVX512_FP16. Cleared: FSRM (bit 4: Linux's memmove breaks on Bochs,
/// which lacks IA32_MISC_ENABLE; see ../shared/bochs/NOTES.md), UINTR, SRBDS_CTRL,
/// RTM_ALWAYS_ABORT, TSX_FORCE_ABORT, hybrid, TSXLDTRK, PCONFIG, arch LBR, CET IBT, AMX (no
/// XFD/tile state), and the speculation-control bits 26-28 and 30-31 (IBRS/IBPB, STIBP,
/// L1D_FLUSH, CORE_CAPABILITIES, SSBD): their MSRs are not emulated, so `crate::msr` faults
/// them. ARCH_CAPABILITIES (29) follows [`CpuidPolicy::arch_capabilities`]
/// ([`LEAF7_EDX_ARCH_CAPABILITIES`]).
pub const LEAF7_EDX_KEEP: u32 = bit(2) | bit(3) | bit(8) | bit(10) | bit(14) | bit(23);
/// CPUID.(7,0):EDX\[29\] IA32_ARCH_CAPABILITIES: shown when the host has the MSR, which
/// `crate::msr` then answers with the host's "not affected" bits (without it a guest assumes
/// every flaw and turns on, among others, page-table isolation).
pub const LEAF7_EDX_ARCH_CAPABILITIES: u32 = bit(29);
/// CPUID.(7,0):EDX\[4\] FSRM.
pub const LEAF7_EDX_FSRM: u32 = bit(4);

/// Leaf 7: subleaf 0 filtered, EAX = 0 (no subleaf 1 or 2 is shown), other subleaves zero.
pub fn leaf7(subleaf: u32, real: CpuidRegisters, policy: &CpuidPolicy) -> CpuidRegisters {
    if subleaf != 0 {
        return ZERO;
    }
    let mut ebx = real.ebx & LEAF7_EBX_KEEP;
    if policy.invpcid {
        ebx |= real.ebx & LEAF7_EBX_INVPCID;
    }
    let mut ecx = real.ecx & LEAF7_ECX_KEEP;
    if policy.rdtscp {
        ecx |= real.ecx & LEAF7_ECX_RDPID;
    }
    CpuidRegisters {
        eax: 0,
        ebx,
        ecx,
        edx: real.edx & LEAF7_EDX_KEEP
            | if policy.arch_capabilities {
                real.edx & LEAF7_EDX_ARCH_CAPABILITIES
            } else {
                0
            },
    }
}

/// Leaf 0xB (extended topology; SDM Vol. 3A §9.9.1): level 0 SMT (1 thread, shift 0),
/// level 1 core (`vcpus` cores, shift log2 of the IDs per package), then invalid levels;
/// EDX = the x2APIC ID = `cpu_index` (= the xAPIC ID).
pub fn topology(subleaf: u32, policy: &CpuidPolicy) -> CpuidRegisters {
    let level = subleaf & 0xFF;
    let (eax, ebx, kind) = match level {
        0 => (0, 1, 1),
        1 => (
            policy.ids_per_package().trailing_zeros(),
            policy.vcpus.clamp(1, 0xFFFF),
            2,
        ),
        _ => (0, 0, 0),
    };
    CpuidRegisters {
        eax,
        ebx,
        ecx: level | (kind << 8),
        edx: policy.cpu_index,
    }
}

/// XCR0 state components shown (SDM Vol. 1 §13.1): x87 (0), SSE (1), AVX (2), AVX-512
/// opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7). Not shown: MPX (3, 4), PKRU (9), AMX (17,
/// 18), and every supervisor component (XSAVES is not shown).
pub const XCR0_SHOWN: u64 = 0b1110_0111;
/// Standard-format (non-compacted) offset and size of the user state components 2-7
/// (SDM Vol. 1 §13.4.1: the legacy region and header take the first 576 bytes; the
/// offsets are those Intel processors enumerate in CPUID.(0DH,i)).
const XSAVE_LAYOUT: [(u32, u32, u32); 4] = [
    (2, 576, 256),
    (5, 1088, 64),
    (6, 1152, 512),
    (7, 1664, 1024),
];

/// The standard-format XSAVE area size for the components in `xcr0` (at least the 576-byte
/// legacy region and header).
pub fn xsave_size(xcr0: u64) -> u32 {
    XSAVE_LAYOUT
        .iter()
        .filter(|(c, _, _)| xcr0 & (1 << c) != 0)
        .map(|(_, offset, size)| offset + size)
        .fold(576, u32::max)
}

/// The compacted-format XSAVE area size (SDM Vol. 1 §13.4.3) for the components in `xcr0`
/// (IA32_XSS is 0: no supervisor component is shown): the 576-byte legacy region and
/// header, then each enabled component (2, 5, 6, 7: AVX and the AVX-512 state) in order.
/// Every size there and 576 are multiples of 64, so the 64-byte alignment a component may
/// ask for (CPUID.(0DH, i):ECX\[1\]) never adds padding.
pub fn xsave_compacted_size(xcr0: u64) -> u32 {
    XSAVE_LAYOUT
        .iter()
        .filter(|(c, _, _)| xcr0 & (1 << c) != 0)
        .map(|(_, _, size)| size)
        .sum::<u32>()
        + 576
}

/// Leaf 0xD (XSAVE; SDM Vol. 1 §13.2): subleaf 0 shows [`XCR0_SHOWN`] of the processor's
/// components with sizes for the guest's XCR0 (EBX) and for all shown components (ECX);
/// subleaf 1 keeps XSAVEOPT, XSAVEC and XGETBV with EBX the compacted size for the guest's
/// XCR0 ([`xsave_compacted_size`]; Linux checks it against its own sum when XSAVEC is shown)
/// and ECX = 1 (no XSAVES, no XFD, no supervisor components); subleaves of shown components
/// are the processor's, others zero.
pub fn xsave(subleaf: u32, real: CpuidRegisters, policy: &CpuidPolicy) -> CpuidRegisters {
    match subleaf {
        0 => {
            let shown = u64::from(real.eax) & XCR0_SHOWN;
            CpuidRegisters {
                eax: shown as u32,
                ebx: xsave_size(policy.guest_xcr0 & shown),
                ecx: xsave_size(shown),
                edx: 0,
            }
        }
        1 => CpuidRegisters {
            eax: real.eax & 0b111,
            ebx: xsave_compacted_size(policy.guest_xcr0 & XCR0_SHOWN),
            ..ZERO
        },
        2..=63 if XCR0_SHOWN & (1 << subleaf) != 0 => real,
        _ => ZERO,
    }
}

/// Leaf 0x15 (TSC and core crystal clock; SDM Vol. 2A CPUID, Vol. 3B §19.7.3): TSC =
/// crystal × EBX / EAX. EAX = 1, EBX = n, ECX = crystal Hz = `tsc_khz` / n × 1000 with the
/// smallest n that makes ECX fit 32 bits and divides `tsc_khz` (n = 1 below 4.29 GHz), so
/// that Linux's `crystal_khz * EBX / EAX` is exactly `tsc_khz`. Zero (unknown) without a
/// TSC frequency.
pub fn tsc_crystal(policy: &CpuidPolicy) -> CpuidRegisters {
    let khz = policy.tsc_khz;
    if khz == 0 {
        return ZERO;
    }
    let max_khz = u64::from(u32::MAX) / 1000;
    let first = khz.div_ceil(max_khz).max(1);
    let n = (first..first.saturating_add(100_000))
        .find(|n| khz.is_multiple_of(*n))
        .unwrap_or(first);
    let crystal_khz = (khz / n).min(max_khz);
    CpuidRegisters {
        eax: 1,
        ebx: u32::try_from(n).unwrap_or(u32::MAX),
        ecx: (crystal_khz * 1000) as u32,
        edx: 0,
    }
}

/// Leaf 0x16 (processor frequency; SDM Vol. 2A CPUID): base, maximum and bus (reference)
/// frequency in MHz, all `tsc_khz / 1000`, at least 1 and at most 0xFFFF (16 bits).
pub fn frequency(policy: &CpuidPolicy) -> CpuidRegisters {
    let mhz = (policy.tsc_khz / 1000).clamp(1, 0xFFFF) as u32;
    CpuidRegisters {
        eax: mhz,
        ebx: mhz,
        ecx: mhz,
        edx: 0,
    }
}

/// The hypervisor signature leaf 0x4000_0000: the example's signature
/// ([`super::signature`]) with the Linux policy's highest hypervisor leaf.
fn signature() -> CpuidRegisters {
    CpuidRegisters {
        eax: LINUX_HYPERVISOR_MAX_LEAF,
        ..super::signature()
    }
}

/// CPUID.8000_0001H:ECX kept: LAHF/SAHF, LZCNT, PREFETCHW.
pub const EXT1_ECX_KEEP: u32 = bit(0) | bit(5) | bit(8);
/// CPUID.8000_0001H:EDX kept: SYSCALL, NX, 1-GiB pages (the guest's own paging; EPT maps
/// RAM underneath), LM.
pub const EXT1_EDX_KEEP: u32 = bit(11) | bit(20) | bit(26) | bit(29);
/// CPUID.8000_0001H:EDX\[27\] RDTSCP.
pub const EXT1_EDX_RDTSCP: u32 = bit(27);
/// CPUID.8000_0007H:EDX\[8\] invariant TSC.
pub const EXT7_EDX_INVARIANT_TSC: u32 = bit(8);
/// CPUID.8000_0008H:EBX\[9\] WBNOINVD.
pub const EXT8_EBX_WBNOINVD: u32 = bit(9);

/// The Linux guest's answer for CPUID `leaf`/`subleaf`, given the processor's answer `real`
/// for the same leaf and subleaf (ignored for the leaves the policy answers alone). Total:
/// every input gives an answer (see the module table).
pub fn linux_view(
    leaf: u32,
    subleaf: u32,
    real: CpuidRegisters,
    policy: &CpuidPolicy,
) -> CpuidRegisters {
    match leaf {
        0 => CpuidRegisters {
            eax: LINUX_MAX_BASIC_LEAF,
            ..real
        },
        1 => leaf1(real, policy),
        2 => real,
        4 => leaf4(real, policy),
        6 => CpuidRegisters {
            eax: LEAF6_EAX_ARAT,
            ..ZERO
        },
        7 => leaf7(subleaf, real, policy),
        0xB => topology(subleaf, policy),
        0xD => xsave(subleaf, real, policy),
        0x15 => tsc_crystal(policy),
        0x16 => frequency(policy),
        3 | 5 | 8..=0xA | 0xC | 0xE..=0x14 => ZERO,
        0x4000_0000 => signature(),
        0x4000_0010 => {
            let khz = u32::try_from(policy.tsc_khz).unwrap_or(u32::MAX);
            CpuidRegisters {
                eax: khz,
                ebx: khz,
                ..ZERO
            }
        }
        0x4000_0001..=0x4000_00FF => ZERO,
        0x8000_0000 => CpuidRegisters {
            eax: real.eax.clamp(0x8000_0000, LINUX_MAX_EXTENDED_LEAF),
            ..real
        },
        0x8000_0001 => {
            let mut edx = real.edx & EXT1_EDX_KEEP;
            if policy.rdtscp {
                edx |= real.edx & EXT1_EDX_RDTSCP;
            }
            CpuidRegisters {
                eax: real.eax,
                ebx: 0,
                ecx: real.ecx & EXT1_ECX_KEEP,
                edx,
            }
        }
        0x8000_0002..=0x8000_0006 => real,
        0x8000_0007 => CpuidRegisters {
            edx: EXT7_EDX_INVARIANT_TSC,
            ..ZERO
        },
        0x8000_0008 => CpuidRegisters {
            eax: real.eax & 0xFFFF,
            ebx: real.ebx & EXT8_EBX_WBNOINVD,
            ..ZERO
        },
        // Above the maximum basic or extended leaf: the highest basic leaf's data (SDM
        // Vol. 2A CPUID, "If a value entered for CPUID.EAX is higher than the maximum
        // input value...").
        _ => frequency(policy),
    }
}

#[cfg(test)]
mod tests;
