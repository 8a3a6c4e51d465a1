//! [`CheckContext`]: what the checks need besides the VMCS: the processor's VMX
//! capabilities, MAXPHYADDR, CPUID facts, and memory the VMCS points to when the caller has
//! it.

use vmx_defs::capabilities::VmxCapabilities;
use vmx_defs::msr_entry::MsrEntry;

use crate::bits;

/// CPUID facts the VM-entry checks depend on (SDM Vol. 3C §27.2-§27.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CpuFeatures {
    /// 5-level paging (CPUID.(EAX=7,ECX=0):ECX\[16\]): canonical checks of MSR and base
    /// fields are 57-bit (SDM Vol. 3C §27.2.2, §27.3.1).
    pub la57: bool,
    /// Linear-address masking (CPUID.(EAX=7,ECX=1):EAX\[26\]): CR3 bits 62:61 may be 1.
    pub lam: bool,
    /// RTM (CPUID.(EAX=7,ECX=0):EBX\[11\]): pending-debug bit 16 may be 1.
    pub rtm: bool,
    /// SGX (CPUID.(EAX=7,ECX=0):EBX\[2\]): interruptibility bit 4 may be 1.
    pub sgx: bool,
    /// Supported IA32_XSS bits (CPUID.(EAX=0DH,ECX=1):ECX:EDX), for loading IA32_XSS from
    /// the MSR-load area (§27.4).
    pub supported_xss: u64,
    /// Supported XCR0 bits (CPUID.(EAX=0DH,ECX=0):EDX:EAX); kept for callers that check
    /// XSETBV-related state alongside VM entry.
    pub supported_xcr0: u64,
}

impl CpuFeatures {
    /// A processor with none of the optional features (4-level paging, no LAM, RTM,
    /// SGX; x87 and SSE state only).
    pub const BASELINE: Self = Self {
        la57: false,
        lam: false,
        rtm: false,
        sgx: false,
        supported_xss: 0,
        supported_xcr0: 0x3,
    };
}

impl Default for CpuFeatures {
    fn default() -> Self {
        Self::BASELINE
    }
}

/// Valid-bit masks of MSRs whose reserved bits depend on the processor; `None` skips the
/// check (SDM Vol. 3C §27.2.2, §27.3.1.1; Vol. 4 for the MSRs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MsrMasks {
    /// Bits IA32_PERF_GLOBAL_CTRL may set (CPUID.0AH counters).
    pub perf_global_ctrl: Option<u64>,
    /// Bits IA32_RTIT_CTL may set (CPUID.14H).
    pub rtit_ctl: Option<u64>,
    /// Bits IA32_SPEC_CTRL may set (CPUID.(EAX=7)).
    pub spec_ctrl: Option<u64>,
    /// Bits IA32_DEBUGCTL may set; `None` uses [`bits::DEBUGCTL_VALID`].
    pub debugctl: Option<u64>,
    /// Bits IA32_EFER may set; `None` uses [`bits::EFER_VALID`] (SCE, LME, LMA, NXE).
    pub efer: Option<u64>,
}

/// Everything a check reads besides the VMCS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckContext<'a> {
    /// The VMX capability MSRs (SDM Vol. 3D Appendix A).
    pub caps: VmxCapabilities,
    /// MAXPHYADDR, CPUID.80000008H:EAX\[7:0\] (clamped to 32..=52 by the checks).
    pub maxphyaddr: u8,
    /// CPUID facts.
    pub cpu: CpuFeatures,
    /// MSR valid-bit masks.
    pub msr_masks: MsrMasks,
    /// Whether the processor is in IA-32e mode (IA32_EFER.LMA) when it executes
    /// VMLAUNCH/VMRESUME (SDM Vol. 3C §27.2.4).
    pub host_ia32e: bool,
    /// Whether VM entry starts in SMM (dual-monitor treatment, SDM Vol. 3C §33.15).
    pub in_smm: bool,
    /// The current-VMCS pointer, to check that the VMCS link pointer differs from it.
    pub current_vmcs: Option<u64>,
    /// The first 32 bits of the VMCS the link pointer references (revision identifier in
    /// bits 30:0, shadow-VMCS indicator in bit 31), when the caller can read it.
    pub link_vmcs_header: Option<u32>,
    /// VTPR (byte 80H of the virtual-APIC page), when the caller can read it.
    pub virtual_tpr: Option<u8>,
    /// The four PDPTEs at guest CR3 (used when "enable EPT" is 0), when the caller can read
    /// them.
    pub pdptes_in_memory: Option<[u64; 4]>,
    /// The VM-entry MSR-load area, when the caller has it (§27.4); entries beyond the
    /// VM-entry MSR-load count are ignored.
    pub msr_load: Option<&'a [MsrEntry]>,
}

impl<'a> CheckContext<'a> {
    /// A context for `caps` with MAXPHYADDR `maxphyaddr`: baseline CPU features, no MSR
    /// masks, a 64-bit host outside SMM, and no memory contents.
    pub const fn new(caps: VmxCapabilities, maxphyaddr: u8) -> Self {
        Self {
            caps,
            maxphyaddr,
            cpu: CpuFeatures::BASELINE,
            msr_masks: MsrMasks {
                perf_global_ctrl: None,
                rtit_ctl: None,
                spec_ctrl: None,
                debugctl: None,
                efer: None,
            },
            host_ia32e: true,
            in_smm: false,
            current_vmcs: None,
            link_vmcs_header: None,
            virtual_tpr: None,
            pdptes_in_memory: None,
            msr_load: None,
        }
    }

    /// The physical-address width the checks use, clamped to 32..=52 (SDM Vol. 3A §4.1.4).
    pub fn phys_width(&self) -> u32 {
        u32::from(self.maxphyaddr.clamp(32, 52))
    }

    /// The width for addresses of VMCS-referenced structures: 32 if IA32_VMX_BASIC\[48\]
    /// is 1 (SDM Vol. 3D §A.1), else MAXPHYADDR.
    pub fn structure_width(&self) -> u32 {
        if self.caps.basic().addresses_limited_to_32_bits() {
            32
        } else {
            self.phys_width()
        }
    }

    /// The linear-address width for canonical checks of MSR and base fields: 57 with
    /// 5-level paging, else 48.
    pub fn linear_width(&self) -> u32 {
        if self.cpu.la57 { 57 } else { 48 }
    }

    /// IA32_EFER valid bits.
    pub fn efer_valid(&self) -> u64 {
        self.msr_masks.efer.unwrap_or(bits::EFER_VALID)
    }

    /// IA32_DEBUGCTL valid bits.
    pub fn debugctl_valid(&self) -> u64 {
        self.msr_masks.debugctl.unwrap_or(bits::DEBUGCTL_VALID)
    }
}
