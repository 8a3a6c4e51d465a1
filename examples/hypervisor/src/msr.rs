//! What RDMSR and WRMSR do in a Linux guest: a deliberate MSR policy that matches the CPUID
//! policy of [`crate::cpuid::linux_view`] (SDM Vol. 4 ch. 2 "Model-Specific Registers";
//! Vol. 3C §26.1.3: RDMSR/WRMSR exit when the MSR bitmap says so, SDM §25.6.9).
//!
//! | MSR | read | write |
//! |---|---|---|
//! | IA32_APIC_BASE (1BH), IA32_TSC_DEADLINE (6E0H) | the platform's local APIC ([`PlatformMsr`]) | the platform |
//! | IA32_FEATURE_CONTROL (3AH) | 1: locked, VMX off in and outside SMX (no nested VMX) | #GP (locked) |
//! | IA32_PLATFORM_ID (17H) | 0 | #GP (read-only) |
//! | IA32_BIOS_SIGN_ID (8BH) | 0 (no microcode revision) | accepted, ignored (the microcode-revision read protocol writes 0) |
//! | IA32_MTRRCAP (FEH) | 8 variable ranges, fixed ranges, write-combining | #GP (read-only) |
//! | IA32_MTRR_DEF_TYPE (2FFH), fixed (250H, 258H, 259H, 268H-26FH), variable (200H-20FH) | emulated storage: MTRRs enabled, default type write-back, every other range unset | stored when the types and reserved bits are valid (SDM Vol. 3A §13.11), else #GP |
//! | IA32_MISC_ENABLE (1A0H) | fast strings (bit 0), BTS and PEBS unavailable (11, 12) | only bits 0, 22 (limit CPUID maxval) and 34 (XD disable) may change, which Linux toggles; another change #GP |
//! | IA32_MCG_CAP (179H), IA32_MCG_STATUS (17AH) | 0 (no banks) | MCG_STATUS: 0 accepted; otherwise #GP |
//! | IA32_ARCH_CAPABILITIES (10AH), where the host has it ([`MsrContext::arch_capabilities`]; leaf 7 then shows it) | the host's value, only the bits that say the processor is not affected by a flaw ([`ARCH_CAPABILITIES_SHOWN`]): the guest runs on that processor, so they hold for it too | #GP (read-only) |
//! | everything else, among them MPERF/APERF (E7H/E8H, leaf 6 shows no hardware coordination feedback), IA32_PERF_STATUS/CTL (198H/199H), MSR_PLATFORM_INFO (CEH), IA32_SPEC_CTRL/PRED_CMD/FLUSH_CMD (48H, 49H, 10BH: not shown in leaf 7), IA32_TSC_ADJUST (3BH), thermal, power, performance-monitoring and TSX MSRs | #GP ([`MsrFault`]) | #GP |
//!
//! Not in this policy, because the vCPU switches them itself ([`vcpu_switched`]: VMCS
//! guest-state fields or the VM-entry/VM-exit MSR lists of `vmx-vcpu`): the integrator
//! passes them through in the MSR bitmap (or emulates them on the VMCS); asked anyway, the
//! policy answers [`MsrFaultReason::SwitchedByVcpu`]. IA32_TSC (10H): guest TSC = host TSC
//! (TSC offset 0), so reads are passed through ([`PASS_THROUGH_READS`]); a write would move
//! the host's TSC and is #GP.

use core::fmt;

/// IA32_TSC (SDM Vol. 4 Table 2-2).
pub const IA32_TSC: u32 = 0x10;
/// IA32_PLATFORM_ID.
pub const IA32_PLATFORM_ID: u32 = 0x17;
/// IA32_APIC_BASE.
pub const IA32_APIC_BASE: u32 = 0x1B;
/// IA32_FEATURE_CONTROL.
pub const IA32_FEATURE_CONTROL: u32 = 0x3A;
/// IA32_BIOS_SIGN_ID (microcode revision).
pub const IA32_BIOS_SIGN_ID: u32 = 0x8B;
/// IA32_MTRRCAP.
pub const IA32_MTRRCAP: u32 = 0xFE;
/// IA32_MCG_CAP.
pub const IA32_MCG_CAP: u32 = 0x179;
/// IA32_MCG_STATUS.
pub const IA32_MCG_STATUS: u32 = 0x17A;
/// IA32_MISC_ENABLE.
pub const IA32_MISC_ENABLE: u32 = 0x1A0;
/// IA32_MTRR_PHYSBASE0; PHYSBASEn = 200H + 2n, PHYSMASKn = 201H + 2n.
pub const IA32_MTRR_PHYSBASE0: u32 = 0x200;
/// IA32_MTRR_FIX64K_00000, IA32_MTRR_FIX16K_80000/A0000, IA32_MTRR_FIX4K_C0000..F8000
/// (SDM Vol. 3A §13.11.2.2).
pub const FIXED_MTRRS: [u32; 11] = [
    0x250, 0x258, 0x259, 0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F,
];
/// IA32_MTRR_DEF_TYPE.
pub const IA32_MTRR_DEF_TYPE: u32 = 0x2FF;
/// IA32_ARCH_CAPABILITIES (SDM Vol. 4 Table 2-2; enumerated by CPUID.(7,0):EDX\[29\]).
pub const IA32_ARCH_CAPABILITIES: u32 = 0x10A;
/// The IA32_ARCH_CAPABILITIES bits a guest is shown (SDM Vol. 4 Table 2-2): RDCL_NO (0),
/// RSBA (2), SSB_NO (4), MDS_NO (5), IF_PSCHANGE_MC_NO (6), TAA_NO (8), SBDR_SSDP_NO (13),
/// FBSDP_NO (14), PSDP_NO (15), RRSBA (19), BHI_NO (20), PBRSB_NO (24), GDS_NO (26),
/// RFDS_NO (27): properties of the processor the guest runs on. Not shown: the bits that
/// enumerate controls the platform does not give the guest (IBRS_ALL needs IA32_SPEC_CTRL,
/// SKIP_L1DFL_VMENTRY concerns a nested hypervisor, TSX_CTRL, MCU_CONTROL,
/// MISC_PACKAGE_CTLS, ENERGY_FILTERING_CTL, DOITM, FB_CLEAR(_CTRL), ...).
pub const ARCH_CAPABILITIES_SHOWN: u64 = (1 << 0)
    | (1 << 2)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 8)
    | (1 << 13)
    | (1 << 14)
    | (1 << 15)
    | (1 << 19)
    | (1 << 20)
    | (1 << 24)
    | (1 << 26)
    | (1 << 27);
/// IA32_TSC_DEADLINE.
pub const IA32_TSC_DEADLINE: u32 = 0x6E0;

/// The number of variable-range MTRRs (IA32_MTRRCAP.VCNT).
pub const VARIABLE_MTRRS: usize = 8;
/// IA32_MTRRCAP: VCNT = 8, FIX (bit 8), WC (bit 10); no SMRR (SDM Vol. 3A §13.11.1).
pub const MTRRCAP_VALUE: u64 = VARIABLE_MTRRS as u64 | (1 << 8) | (1 << 10);
/// Write-back memory type (SDM Vol. 3A Table 13-8).
pub const MEMORY_TYPE_WB: u8 = 6;
/// IA32_MTRR_DEF_TYPE.E (bit 11): MTRRs enabled.
pub const MTRR_DEF_TYPE_E: u64 = 1 << 11;
/// IA32_MTRR_DEF_TYPE.FE (bit 10): fixed-range MTRRs enabled.
pub const MTRR_DEF_TYPE_FE: u64 = 1 << 10;
/// IA32_MISC_ENABLE bit 0: fast-string operation enabled (SDM Vol. 4 Table 2-2).
pub const MISC_ENABLE_FAST_STRINGS: u64 = 1 << 0;
/// IA32_MISC_ENABLE bit 11: branch trace storage unavailable.
pub const MISC_ENABLE_BTS_UNAVAILABLE: u64 = 1 << 11;
/// IA32_MISC_ENABLE bit 12: processor event-based sampling unavailable.
pub const MISC_ENABLE_PEBS_UNAVAILABLE: u64 = 1 << 12;
/// IA32_MISC_ENABLE bit 22: limit CPUID maxval.
pub const MISC_ENABLE_LIMIT_CPUID: u64 = 1 << 22;
/// IA32_MISC_ENABLE bit 34: XD bit disable.
pub const MISC_ENABLE_XD_DISABLE: u64 = 1 << 34;
/// The IA32_MISC_ENABLE bits a guest may change.
pub const MISC_ENABLE_WRITABLE: u64 =
    MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_LIMIT_CPUID | MISC_ENABLE_XD_DISABLE;
/// IA32_MISC_ENABLE at reset.
pub const MISC_ENABLE_RESET: u64 =
    MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE;
/// IA32_FEATURE_CONTROL as read: lock (bit 0) set, VMX inside (1) and outside (2) SMX off
/// (SDM Vol. 3C §24.7).
pub const FEATURE_CONTROL_VALUE: u64 = 1;

/// MSRs whose guest values the VMCS keeps apart from the host's (SDM Vol. 3C §25.4.1,
/// loaded at every entry and saved at every exit with the controls every vCPU of the example
/// has): IA32_SYSENTER_CS/ESP/EIP (174H-176H), IA32_DEBUGCTL (1D9H, always-on load/save
/// debug controls), IA32_PAT (277H) and IA32_EFER (C0000080H) by the load/save controls
/// (vmx-vcpu falls back to its MSR lists without them), IA32_FS_BASE/GS_BASE
/// (C0000100H/C0000101H) as the segment bases.
pub const VMCS_SWITCHED: [u32; 8] = [
    0x174,
    0x175,
    0x176,
    0x1D9,
    0x277,
    0xC000_0080,
    0xC000_0100,
    0xC000_0101,
];

/// MSRs `vmx-vcpu` switches through its VM-entry/VM-exit MSR lists: IA32_STAR, LSTAR,
/// CSTAR, FMASK (C0000081H-C0000084H) and KERNEL_GS_BASE (C0000102H) always, IA32_TSC_AUX
/// (C0000103H) when "enable RDTSCP" is 1, IA32_XSS (DA0H) when the processor has XSAVES
/// (`Vcpu::guest_msr` tells which a vCPU lists).
pub const LIST_SWITCHED: [u32; 7] = [
    0xC000_0081,
    0xC000_0082,
    0xC000_0083,
    0xC000_0084,
    0xC000_0102,
    0xC000_0103,
    0xDA0,
];

/// Every MSR whose guest value `vmx-vcpu` switches itself ([`VMCS_SWITCHED`], then
/// [`LIST_SWITCHED`]), so the MSR bitmap passes them through.
pub fn vcpu_switched() -> impl Iterator<Item = u32> {
    VMCS_SWITCHED.into_iter().chain(LIST_SWITCHED)
}

/// MSRs whose reads the MSR bitmap passes through (their writes stay intercepted):
/// IA32_TSC (the guest's TSC is the host's, offset 0).
pub const PASS_THROUGH_READS: [u32; 1] = [IA32_TSC];

/// Whether the vCPU switches `msr` itself ([`vcpu_switched`]).
pub fn is_vcpu_switched(msr: u32) -> bool {
    VMCS_SWITCHED.contains(&msr) || LIST_SWITCHED.contains(&msr)
}

/// The vCPU and machine an MSR access comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsrContext {
    /// The vCPU's index (= its APIC ID).
    pub cpu_index: u32,
    /// The number of vCPUs.
    pub vcpus: u32,
    /// The TSC frequency in kHz.
    pub tsc_khz: u64,
    /// The host's IA32_ARCH_CAPABILITIES, `None` where the processor lacks the MSR
    /// (CPUID.(7,0):EDX\[29\] = 0): the guest sees it filtered by
    /// [`ARCH_CAPABILITIES_SHOWN`], or #GP without it.
    pub arch_capabilities: Option<u64>,
}

/// An MSR the platform (the vCPU's local APIC) owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlatformMsr {
    /// IA32_APIC_BASE (1BH; SDM Vol. 3A §12.4.4).
    ApicBase,
    /// IA32_TSC_DEADLINE (6E0H; SDM Vol. 3A §12.5.4.1).
    TscDeadline,
}

/// What a RDMSR reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MsrRead {
    /// This value (the caller completes the RDMSR with it).
    Value(u64),
    /// The platform's register: ask it.
    Platform(PlatformMsr),
}

/// What a WRMSR does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MsrWrite {
    /// The policy took the value (stored or ignored): the caller advances RIP.
    Accepted,
    /// The platform's register gets the value (the platform may still refuse it, e.g. a
    /// reserved IA32_APIC_BASE bit, which is a #GP).
    Platform(PlatformMsr, u64),
}

/// Why an access faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MsrFaultReason {
    /// The MSR does not exist on this virtual processor.
    Unknown,
    /// The MSR is read-only (or locked).
    ReadOnly,
    /// The value sets reserved bits or an invalid memory type.
    InvalidValue,
    /// The vCPU switches this MSR itself ([`vcpu_switched`], [`PASS_THROUGH_READS`]): it
    /// should not have been intercepted.
    SwitchedByVcpu,
}

/// A RDMSR or WRMSR that raises #GP(0) in the guest (SDM Vol. 2B RDMSR/WRMSR): the caller
/// injects the exception without advancing RIP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsrFault {
    /// The MSR (ECX).
    pub msr: u32,
    /// Whether the access was a write.
    pub write: bool,
    /// Why.
    pub reason: MsrFaultReason,
}

impl fmt::Display for MsrFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = if self.write { "WRMSR" } else { "RDMSR" };
        let why = match self.reason {
            MsrFaultReason::Unknown => "not emulated",
            MsrFaultReason::ReadOnly => "read-only",
            MsrFaultReason::InvalidValue => "invalid value",
            MsrFaultReason::SwitchedByVcpu => {
                "switched by the vCPU: pass it through in the MSR bitmap"
            }
        };
        write!(f, "{access} {:#x}: #GP(0), {why}", self.msr)
    }
}

/// One vCPU's emulated MSRs (keep one per vCPU).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsrPolicy {
    misc_enable: u64,
    mtrr_def_type: u64,
    fixed_mtrrs: [u64; FIXED_MTRRS.len()],
    variable_mtrrs: [(u64, u64); VARIABLE_MTRRS],
}

impl Default for MsrPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `t` is a memory type MTRRs accept: UC, WC, WT, WP, WB (SDM Vol. 3A Table 13-8).
const fn valid_type(t: u64) -> bool {
    matches!(t, 0 | 1 | 4 | 5 | 6)
}

/// Bits 63:52 of a variable-range MTRR are reserved at any MAXPHYADDR (SDM Vol. 3A
/// §13.11.2.3 reserves those above MAXPHYADDR, at most 52).
const PHYS_HIGH_RESERVED: u64 = !((1u64 << 52) - 1);

impl MsrPolicy {
    /// The MSRs at reset: IA32_MISC_ENABLE [`MISC_ENABLE_RESET`], MTRRs enabled with
    /// default type write-back and no fixed or variable range set.
    pub const fn new() -> Self {
        Self {
            misc_enable: MISC_ENABLE_RESET,
            mtrr_def_type: MTRR_DEF_TYPE_E | MEMORY_TYPE_WB as u64,
            fixed_mtrrs: [0; FIXED_MTRRS.len()],
            variable_mtrrs: [(0, 0); VARIABLE_MTRRS],
        }
    }

    /// RDMSR of `msr` by the vCPU `ctx` describes (see the module table).
    pub fn read(&self, msr: u32, ctx: &MsrContext) -> Result<MsrRead, MsrFault> {
        let fault = |reason| MsrFault {
            msr,
            write: false,
            reason,
        };
        let value = match msr {
            IA32_APIC_BASE => return Ok(MsrRead::Platform(PlatformMsr::ApicBase)),
            IA32_TSC_DEADLINE => return Ok(MsrRead::Platform(PlatformMsr::TscDeadline)),
            IA32_PLATFORM_ID | IA32_BIOS_SIGN_ID | IA32_MCG_CAP | IA32_MCG_STATUS => 0,
            IA32_FEATURE_CONTROL => FEATURE_CONTROL_VALUE,
            IA32_ARCH_CAPABILITIES => match ctx.arch_capabilities {
                Some(host) => host & ARCH_CAPABILITIES_SHOWN,
                None => return Err(fault(MsrFaultReason::Unknown)),
            },
            IA32_MTRRCAP => MTRRCAP_VALUE,
            IA32_MISC_ENABLE => self.misc_enable,
            IA32_MTRR_DEF_TYPE => self.mtrr_def_type,
            m if is_vcpu_switched(m) || PASS_THROUGH_READS.contains(&m) => {
                return Err(fault(MsrFaultReason::SwitchedByVcpu));
            }
            m => match (fixed_index(m), variable_index(m)) {
                (Some(i), _) => self.fixed_mtrrs[i],
                (_, Some((i, false))) => self.variable_mtrrs[i].0,
                (_, Some((i, true))) => self.variable_mtrrs[i].1,
                (None, None) => return Err(fault(MsrFaultReason::Unknown)),
            },
        };
        Ok(MsrRead::Value(value))
    }

    /// WRMSR of `value` to `msr` by the vCPU `ctx` describes (see the module table).
    pub fn write(&mut self, msr: u32, value: u64, ctx: &MsrContext) -> Result<MsrWrite, MsrFault> {
        let fault = |reason| MsrFault {
            msr,
            write: true,
            reason,
        };
        let check = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(fault(MsrFaultReason::InvalidValue))
            }
        };
        match msr {
            IA32_APIC_BASE => return Ok(MsrWrite::Platform(PlatformMsr::ApicBase, value)),
            IA32_TSC_DEADLINE => return Ok(MsrWrite::Platform(PlatformMsr::TscDeadline, value)),
            IA32_BIOS_SIGN_ID => {}
            IA32_MCG_STATUS => check(value == 0)?,
            IA32_PLATFORM_ID | IA32_FEATURE_CONTROL | IA32_MTRRCAP | IA32_MCG_CAP => {
                return Err(fault(MsrFaultReason::ReadOnly));
            }
            IA32_ARCH_CAPABILITIES => {
                return Err(fault(if ctx.arch_capabilities.is_some() {
                    MsrFaultReason::ReadOnly
                } else {
                    MsrFaultReason::Unknown
                }));
            }
            IA32_MISC_ENABLE => {
                check((value ^ self.misc_enable) & !MISC_ENABLE_WRITABLE == 0)?;
                self.misc_enable = value;
            }
            IA32_MTRR_DEF_TYPE => {
                check(
                    value & !(0xFF | MTRR_DEF_TYPE_FE | MTRR_DEF_TYPE_E) == 0
                        && valid_type(value & 0xFF),
                )?;
                self.mtrr_def_type = value;
            }
            m if is_vcpu_switched(m) || m == IA32_TSC => {
                return Err(fault(MsrFaultReason::SwitchedByVcpu));
            }
            m => match (fixed_index(m), variable_index(m)) {
                (Some(i), _) => {
                    check((0..8).all(|b| valid_type((value >> (8 * b)) & 0xFF)))?;
                    self.fixed_mtrrs[i] = value;
                }
                (_, Some((i, false))) => {
                    check(value & (PHYS_HIGH_RESERVED | 0xF00) == 0 && valid_type(value & 0xFF))?;
                    self.variable_mtrrs[i].0 = value;
                }
                (_, Some((i, true))) => {
                    check(value & (PHYS_HIGH_RESERVED | 0x7FF) == 0)?;
                    self.variable_mtrrs[i].1 = value;
                }
                (None, None) => return Err(fault(MsrFaultReason::Unknown)),
            },
        }
        Ok(MsrWrite::Accepted)
    }
}

/// The index of `msr` in [`FIXED_MTRRS`].
fn fixed_index(msr: u32) -> Option<usize> {
    FIXED_MTRRS.iter().position(|&m| m == msr)
}

/// The variable-range MTRR pair `msr` belongs to, and whether it is the mask (PHYSMASKn).
fn variable_index(msr: u32) -> Option<(usize, bool)> {
    let offset = msr.checked_sub(IA32_MTRR_PHYSBASE0)?;
    let i = (offset / 2) as usize;
    (i < VARIABLE_MTRRS).then_some((i, offset % 2 == 1))
}

#[cfg(test)]
mod tests;
