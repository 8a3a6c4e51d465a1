//! Address checks made in software before an instruction executes: 4-KByte alignment and
//! the physical-address width for VMXON/VMCLEAR/VMPTRLD operands (SDM Vol. 3C §31.3),
//! canonical linear addresses for INVVPID.
//!
//! The checks are pure functions ([`check_region_address`], [`is_canonical`]) so they can
//! be tested without a VMX-capable processor. The wrappers feed them the widths this
//! processor reports in CPUID leaf 80000008H ([`physical_address_width`],
//! [`linear_address_width`]), read once and cached.

use core::fmt;

use vmx_defs::addr::HostPhysAddr;

use crate::error::InsnError;

/// Size and required alignment of the VMXON region and of a VMCS: 4 KiByte (SDM Vol. 3C
/// §25.2, §25.11.5; the region size itself is IA32_VMX_BASIC\[44:32\], at most 4096).
pub const REGION_ALIGN: u64 = 4096;

/// A physical-address width (MAXPHYADDR), 1 to 52 bits (SDM Vol. 3A §4.1.4).
///
/// A VMXON region or VMCS address must not set any bit at or above this width
/// (SDM Vol. 3C §31.3). On processors that support Intel 64 architecture,
/// IA32_VMX_BASIC\[48\] (32-bit address limit) is always 0 (SDM Vol. 3D §A.1), so the
/// physical-address width is the only limit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhysAddrWidth(u8);

impl PhysAddrWidth {
    /// The architectural maximum, 52 bits (SDM Vol. 3A §4.1.4).
    pub const MAX: Self = Self(52);
    /// The width assumed when CPUID leaf 80000008H is not available: 36 bits
    /// (SDM Vol. 3A §4.1.4).
    pub const DEFAULT: Self = Self(36);

    /// A width of `bits` bits; fails with [`InsnError::InvalidAddressWidth`] unless
    /// `1 <= bits <= 52`.
    pub const fn new(bits: u8) -> Result<Self, InsnError> {
        if bits >= 1 && bits <= Self::MAX.0 {
            Ok(Self(bits))
        } else {
            Err(InsnError::InvalidAddressWidth { width: bits })
        }
    }

    /// The width in bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether `addr` sets no bit at or above this width.
    pub const fn contains(self, addr: HostPhysAddr) -> bool {
        addr.as_u64() >> self.0 == 0
    }
}

impl fmt::Debug for PhysAddrWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysAddrWidth({})", self.0)
    }
}

/// Checks an operand of VMXON, VMCLEAR or VMPTRLD (SDM Vol. 3C §31.3): 4-KByte aligned
/// ([`InsnError::Misaligned`], checked first) and within `width`
/// ([`InsnError::AddressTooWide`]).
///
/// These are the conditions under which the processor answers VMfailInvalid (VMXON) or
/// VMfailValid 2 (VMCLEAR) / 9 (VMPTRLD); the wrappers check them before executing.
pub const fn check_region_address(
    addr: HostPhysAddr,
    width: PhysAddrWidth,
) -> Result<(), InsnError> {
    if addr.as_u64() & (REGION_ALIGN - 1) != 0 {
        Err(InsnError::Misaligned { addr })
    } else if !width.contains(addr) {
        Err(InsnError::AddressTooWide {
            addr,
            width: width.0,
        })
    } else {
        Ok(())
    }
}

/// Whether `addr` is canonical for a processor with `linear_bits` linear-address bits:
/// bits 63 down to `linear_bits - 1` all equal (SDM Vol. 1 §3.3.7.1).
///
/// A `linear_bits` of 0 or of 64 and more accepts every address (no sign-extension
/// region).
pub const fn is_canonical(addr: u64, linear_bits: u8) -> bool {
    if linear_bits == 0 || linear_bits >= 64 {
        return true;
    }
    let shift = 64 - linear_bits as u32;
    (((addr << shift) as i64) >> shift) as u64 == addr
}

/// Linear-address width assumed when CPUID leaf 80000008H is not available: 48 bits
/// (4-level paging, SDM Vol. 3A §4.1.4).
pub const DEFAULT_LINEAR_ADDRESS_WIDTH: u8 = 48;

/// Decodes CPUID leaf 80000008H EAX: bits 7:0 physical-address width, bits 15:8
/// linear-address width (SDM Vol. 2A, CPUID). Out-of-range widths fall back to the
/// defaults ([`PhysAddrWidth::DEFAULT`], [`DEFAULT_LINEAR_ADDRESS_WIDTH`]).
pub const fn decode_address_widths(eax: u32) -> (PhysAddrWidth, u8) {
    let phys = match PhysAddrWidth::new((eax & 0xff) as u8) {
        Ok(w) => w,
        Err(_) => PhysAddrWidth::DEFAULT,
    };
    let linear = ((eax >> 8) & 0xff) as u8;
    let linear = if linear >= 32 && linear <= 64 {
        linear
    } else {
        DEFAULT_LINEAR_ADDRESS_WIDTH
    };
    (phys, linear)
}

#[cfg(target_arch = "x86_64")]
mod cpuid {
    use core::sync::atomic::{AtomicU16, Ordering};

    use super::{DEFAULT_LINEAR_ADDRESS_WIDTH, PhysAddrWidth, decode_address_widths};

    /// Bits 7:0 physical width, 15:8 linear width; 0 until first read.
    static WIDTHS: AtomicU16 = AtomicU16::new(0);

    /// CPUID leaf that reports address widths (SDM Vol. 2A, CPUID).
    const LEAF_ADDRESS_SIZES: u32 = 0x8000_0008;

    fn read() -> (PhysAddrWidth, u8) {
        let cached = WIDTHS.load(Ordering::Relaxed);
        if cached != 0 {
            let (phys, linear) = decode_address_widths(u32::from(cached));
            return (phys, linear);
        }
        // SAFETY: CPUID is available on every x86_64 processor and only writes the four
        // result registers; it has no memory effects.
        #[allow(unused_unsafe)]
        let max_ext = unsafe { core::arch::x86_64::__cpuid(0x8000_0000) }.eax;
        let (phys, linear) = if max_ext >= LEAF_ADDRESS_SIZES {
            // SAFETY: as above; the leaf is reported as supported.
            #[allow(unused_unsafe)]
            let eax = unsafe { core::arch::x86_64::__cpuid(LEAF_ADDRESS_SIZES) }.eax;
            decode_address_widths(eax)
        } else {
            (PhysAddrWidth::DEFAULT, DEFAULT_LINEAR_ADDRESS_WIDTH)
        };
        // Racing writers store the same value.
        WIDTHS.store(
            u16::from(phys.bits()) | u16::from(linear) << 8,
            Ordering::Relaxed,
        );
        (phys, linear)
    }

    /// See [`super::physical_address_width`].
    pub fn physical() -> PhysAddrWidth {
        read().0
    }

    /// See [`super::linear_address_width`].
    pub fn linear() -> u8 {
        read().1
    }
}

/// This processor's physical-address width (MAXPHYADDR): CPUID.80000008H:EAX\[7:0\], or 36
/// bits when that leaf is not available (SDM Vol. 3A §4.1.4).
///
/// Read with CPUID on the first call and cached afterwards (CPUID in VMX non-root
/// operation causes a VM exit, so the wrappers do not repeat it). The VMXON, VMCLEAR and
/// VMPTRLD wrappers check their operand against this width.
#[cfg(target_arch = "x86_64")]
pub fn physical_address_width() -> PhysAddrWidth {
    cpuid::physical()
}

/// This processor's linear-address width: CPUID.80000008H:EAX\[15:8\], or 48 bits when
/// that leaf is not available (SDM Vol. 2A, CPUID). Read once and cached, like
/// [`physical_address_width`]; the INVVPID wrapper checks canonicality against it.
#[cfg(target_arch = "x86_64")]
pub fn linear_address_width() -> u8 {
    cpuid::linear()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hpa(addr: u64) -> HostPhysAddr {
        HostPhysAddr::new(addr)
    }

    fn w(bits: u8) -> PhysAddrWidth {
        match PhysAddrWidth::new(bits) {
            Ok(w) => w,
            Err(e) => panic!("width {bits}: {e}"),
        }
    }

    #[test]
    fn width_range() {
        assert_eq!(
            PhysAddrWidth::new(0),
            Err(InsnError::InvalidAddressWidth { width: 0 })
        );
        assert_eq!(
            PhysAddrWidth::new(53),
            Err(InsnError::InvalidAddressWidth { width: 53 })
        );
        assert_eq!(w(1).bits(), 1);
        assert_eq!(w(52), PhysAddrWidth::MAX);
        assert_eq!(PhysAddrWidth::DEFAULT.bits(), 36);
        extern crate std;
        assert_eq!(std::format!("{:?}", w(39)), "PhysAddrWidth(39)");
        assert!(w(39).contains(hpa((1 << 39) - 1)));
        assert!(!w(39).contains(hpa(1 << 39)));
    }

    #[test]
    fn region_checks() {
        let w39 = w(39);
        assert_eq!(check_region_address(hpa(0x1000), w39), Ok(()));
        assert_eq!(check_region_address(hpa(0), w39), Ok(()));
        assert_eq!(check_region_address(hpa((1 << 39) - 0x1000), w39), Ok(()));
        assert_eq!(
            check_region_address(hpa(1 << 39), w39),
            Err(InsnError::AddressTooWide {
                addr: hpa(1 << 39),
                width: 39
            })
        );
        assert_eq!(
            check_region_address(hpa(0x1004), w39),
            Err(InsnError::Misaligned { addr: hpa(0x1004) })
        );
        // Alignment is reported first when both are wrong.
        assert_eq!(
            check_region_address(hpa((1 << 45) | 0x800), w39),
            Err(InsnError::Misaligned {
                addr: hpa((1 << 45) | 0x800)
            })
        );
        assert_eq!(
            check_region_address(hpa(!0xfffu64), PhysAddrWidth::MAX),
            Err(InsnError::AddressTooWide {
                addr: hpa(!0xfffu64),
                width: 52
            })
        );
    }

    #[test]
    fn canonical() {
        assert!(is_canonical(0x0000_7fff_ffff_ffff, 48));
        assert!(!is_canonical(0x0000_8000_0000_0000, 48));
        assert!(is_canonical(0xffff_8000_0000_0000, 48));
        assert!(!is_canonical(0xfff7_8000_0000_0000, 48));
        assert!(is_canonical(0x0000_8000_0000_0000, 57));
        assert!(is_canonical(0x8000_0000_0000_0000, 64));
        assert!(is_canonical(0x8000_0000_0000_0000, 0));
    }

    #[test]
    fn cpuid_decoding() {
        assert_eq!(decode_address_widths(0x3027), (w(39), 48));
        assert_eq!(decode_address_widths(0x3934), (w(52), 57));
        assert_eq!(decode_address_widths(0), (PhysAddrWidth::DEFAULT, 48));
        assert_eq!(decode_address_widths(0xff40), (PhysAddrWidth::DEFAULT, 48));
    }

    // Not under Miri: reads the widths with CPUID, which Miri cannot execute.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[cfg_attr(miri, ignore)]
    fn host_widths_are_sane() {
        let phys = physical_address_width().bits();
        assert!((32..=52).contains(&phys), "MAXPHYADDR {phys}");
        assert_eq!(
            physical_address_width().bits(),
            phys,
            "cached value differs"
        );
        assert!(matches!(linear_address_width(), 48 | 57));
    }

    proptest! {
        #[test]
        fn region_check_matches_definition(raw: u64, bits in 1u8..=52) {
            let width = w(bits);
            let addr = hpa(raw);
            let got = check_region_address(addr, width);
            if raw & 0xfff != 0 {
                prop_assert_eq!(got, Err(InsnError::Misaligned { addr }));
            } else if raw >= 1u64 << bits {
                prop_assert_eq!(got, Err(InsnError::AddressTooWide { addr, width: bits }));
            } else {
                prop_assert_eq!(got, Ok(()));
            }
        }

        #[test]
        fn canonical_matches_definition(addr: u64, bits in 1u8..64) {
            let upper = addr >> (bits - 1);
            let expected = upper == 0 || upper == u64::MAX >> (bits - 1);
            prop_assert_eq!(is_canonical(addr, bits), expected);
        }

        #[test]
        fn width_decoding_total(eax: u32) {
            let (phys, linear) = decode_address_widths(eax);
            prop_assert!((1..=52).contains(&phys.bits()));
            prop_assert!((32..=64).contains(&linear));
        }
    }
}
