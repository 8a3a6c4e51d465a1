//! Architectural constraints on the values of the MSRs the vCPU switches through its MSR
//! lists. VM entry loads the MSR-load list as WRMSR would and fails with exit reason 34
//! ("VM-entry failure due to MSR loading", SDM Vol. 3C §27.4) on a value WRMSR refuses;
//! checking the value when the guest writes it lets the caller inject #GP instead, as
//! WRMSR on hardware does.

use crate::error::VmxError;

/// IA32_LSTAR: 64-bit SYSCALL target (SDM Vol. 4 Table 2-2).
const LSTAR: u32 = x86::msr::IA32_LSTAR;
/// IA32_CSTAR: compatibility-mode SYSCALL target (SDM Vol. 4 Table 2-2).
const CSTAR: u32 = x86::msr::IA32_CSTAR;
/// IA32_KERNEL_GS_BASE: swapped into GS.base by SWAPGS (SDM Vol. 4 Table 2-2).
const KERNEL_GS_BASE: u32 = x86::msr::IA32_KERNEL_GSBASE;
/// IA32_TSC_AUX (SDM Vol. 4 Table 2-2).
const TSC_AUX: u32 = x86::msr::IA32_TSC_AUX;
/// IA32_XSS (SDM Vol. 1 §13.3, Vol. 4 Table 2-2).
const XSS: u32 = 0xDA0;
/// IA32_PAT, the page-attribute table (SDM Vol. 3A §13.12.2, Vol. 4 Table 2-2).
pub const IA32_PAT: u32 = 0x277;
/// IA32_EFER (SDM Vol. 3A §2.2.1, Vol. 4 Table 2-2).
const EFER: u32 = vmx_defs::registers::Efer::MSR;

/// Whether every byte of a PAT value is a memory type PAT accepts: 0 (UC), 1 (WC), 4 (WT),
/// 5 (WP), 6 (WB) or 7 (UC-); 2, 3 and 8-255 are reserved and WRMSR raises #GP (SDM Vol.
/// 3A §13.12.2 Table 13-10, §13.12.4). Total.
pub const fn is_valid_pat(value: u64) -> bool {
    let mut i = 0;
    while i < 8 {
        let t = (value >> (8 * i)) & 0xFF;
        if !matches!(t, 0 | 1 | 4 | 5 | 6 | 7) {
            return false;
        }
        i += 1;
    }
    true
}

/// What the constraints of [`check_msr_value`] depend on: this processor's linear-address
/// width and the IA32_XSS bits it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsrValueLimits {
    /// Linear-address width (CPUID.80000008H:EAX\[15:8\], `vmx_insn::linear_address_width`):
    /// LSTAR, CSTAR and KERNEL_GS_BASE must be canonical for it (SDM Vol. 4 Table 2-2;
    /// Vol. 2B WRMSR: #GP for a non-canonical address in these MSRs).
    pub linear_bits: u8,
    /// IA32_XSS bits this processor supports: CPUID.(EAX=0DH,ECX=1):EDX:ECX (SDM Vol. 1
    /// §13.3, Vol. 2A CPUID). WRMSR to IA32_XSS with another bit set raises #GP.
    pub xss_supported: u64,
}

impl MsrValueLimits {
    /// The limits of the running processor (read with CPUID; the linear-address width is
    /// cached by vmx-insn).
    #[cfg(target_arch = "x86_64")]
    pub fn current() -> Self {
        let xss = crate::arch::cpuid(0xD, 1);
        Self {
            linear_bits: vmx_insn::linear_address_width(),
            xss_supported: u64::from(xss.edx) << 32 | u64::from(xss.ecx),
        }
    }
}

/// Checks `value` for `msr` as WRMSR does, for the MSRs with architectural value
/// constraints that the vCPU switches by default:
///
/// - IA32_LSTAR, IA32_CSTAR, IA32_KERNEL_GS_BASE: a canonical address for
///   `limits.linear_bits` (SDM Vol. 4 Table 2-2, Vol. 1 §3.3.7.1; the check uses
///   `vmx_insn::is_canonical`).
/// - IA32_TSC_AUX: bits 63:32 reserved, must be 0 (SDM Vol. 4 Table 2-2).
/// - IA32_XSS: only bits the processor enumerates in CPUID.(EAX=0DH,ECX=1):EDX:ECX
///   (SDM Vol. 1 §13.3).
/// - IA32_PAT: every entry a valid memory type ([`is_valid_pat`]; SDM Vol. 3A §13.12.2).
/// - IA32_EFER: no reserved bit ([`Efer::RESERVED`](vmx_defs::registers::Efer::RESERVED);
///   SDM Vol. 4 Table 2-2).
///
/// IA32_STAR and IA32_FMASK take any value here (no WRMSR fault is architected for their
/// contents at write time; bad selectors fault at SYSCALL/SYSRET). Other MSRs (added with
/// `add_switched_msr`, whose caller vouches for their values) are not checked.
///
/// Returns [`VmxError::InvalidMsrValue`]: the caller injects #GP(0), as WRMSR would.
pub const fn check_msr_value(msr: u32, value: u64, limits: MsrValueLimits) -> Result<(), VmxError> {
    let ok = match msr {
        LSTAR | CSTAR | KERNEL_GS_BASE => vmx_insn::is_canonical(value, limits.linear_bits),
        TSC_AUX => value >> 32 == 0,
        XSS => value & !limits.xss_supported == 0,
        IA32_PAT => is_valid_pat(value),
        EFER => value & vmx_defs::registers::Efer::RESERVED == 0,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(VmxError::InvalidMsrValue { msr, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const L48: MsrValueLimits = MsrValueLimits {
        linear_bits: 48,
        xss_supported: 0x1_0000_1900,
    };
    const L57: MsrValueLimits = MsrValueLimits {
        linear_bits: 57,
        xss_supported: 0,
    };

    #[test]
    fn canonical_addresses() {
        for msr in [LSTAR, CSTAR, KERNEL_GS_BASE] {
            assert_eq!(check_msr_value(msr, 0xFFFF_8000_0000_0000, L48), Ok(()));
            assert_eq!(check_msr_value(msr, 0x0000_7FFF_FFFF_FFFF, L48), Ok(()));
            let bad = 0x0000_8000_0000_0000;
            assert_eq!(
                check_msr_value(msr, bad, L48),
                Err(VmxError::InvalidMsrValue { msr, value: bad })
            );
            // Canonical with 57 bits, not with 48.
            assert_eq!(check_msr_value(msr, bad, L57), Ok(()));
            let bad57 = 0x0100_0000_0000_0000;
            assert_eq!(
                check_msr_value(msr, bad57, L57),
                Err(VmxError::InvalidMsrValue { msr, value: bad57 })
            );
        }
    }

    #[test]
    fn tsc_aux_reserved_high_half() {
        assert_eq!(check_msr_value(TSC_AUX, 0xFFFF_FFFF, L48), Ok(()));
        assert_eq!(
            check_msr_value(TSC_AUX, 1 << 32, L48),
            Err(VmxError::InvalidMsrValue {
                msr: TSC_AUX,
                value: 1 << 32
            })
        );
    }

    #[test]
    fn xss_supported_bits() {
        assert_eq!(check_msr_value(XSS, 0x100, L48), Ok(()));
        assert_eq!(check_msr_value(XSS, 0x1_0000_1900, L48), Ok(()));
        assert_eq!(
            check_msr_value(XSS, 1, L48),
            Err(VmxError::InvalidMsrValue { msr: XSS, value: 1 })
        );
        assert_eq!(
            check_msr_value(XSS, 0x100, L57),
            Err(VmxError::InvalidMsrValue {
                msr: XSS,
                value: 0x100
            })
        );
        assert_eq!(check_msr_value(XSS, 0, L57), Ok(()));
    }

    proptest! {
        #[test]
        fn address_msrs_follow_is_canonical(v in any::<u64>(), bits in 0u8..=70) {
            let limits = MsrValueLimits { linear_bits: bits, xss_supported: 0 };
            for msr in [LSTAR, CSTAR, KERNEL_GS_BASE] {
                prop_assert_eq!(
                    check_msr_value(msr, v, limits).is_ok(),
                    vmx_insn::is_canonical(v, bits)
                );
            }
        }

        #[test]
        fn unconstrained_msrs_accept_anything(v in any::<u64>(), msr in any::<u32>()) {
            prop_assume!(![LSTAR, CSTAR, KERNEL_GS_BASE, TSC_AUX, XSS].contains(&msr));
            prop_assert_eq!(check_msr_value(msr, v, L48), Ok(()));
        }

        #[test]
        fn xss_is_subset_check(v in any::<u64>(), sup in any::<u64>()) {
            let limits = MsrValueLimits { linear_bits: 48, xss_supported: sup };
            prop_assert_eq!(check_msr_value(XSS, v, limits).is_ok(), v & !sup == 0);
        }
    }

    #[test]
    fn pat_and_efer() {
        assert_eq!(
            check_msr_value(IA32_PAT, 0x0007_0406_0007_0406, L48),
            Ok(())
        );
        let bad = 0x0007_0406_0007_0402;
        assert_eq!(
            check_msr_value(IA32_PAT, bad, L48),
            Err(VmxError::InvalidMsrValue {
                msr: IA32_PAT,
                value: bad
            })
        );
        assert_eq!(check_msr_value(EFER, 0xD01, L48), Ok(()));
        assert!(check_msr_value(EFER, 1 << 12, L48).is_err());
    }

    proptest! {
        #[test]
        fn pat_model(value in any::<u64>()) {
            let ok = value.to_le_bytes().iter().all(|b| [0u8, 1, 4, 5, 6, 7].contains(b));
            prop_assert_eq!(is_valid_pat(value), ok);
        }
    }
}
