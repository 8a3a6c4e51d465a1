//! Extended control register XCR0 (SDM Vol. 3A §2.6; Vol. 1 §13.1, §13.3) and the rules
//! XSETBV enforces (SDM Vol. 2D "XSETBV—Set Extended Control Register").

use core::fmt;

bitflags::bitflags! {
    /// XCR0, the user state components the XSAVE feature set manages (SDM Vol. 3A §2.6,
    /// Figure 2-8; Vol. 1 §13.1). Bit 8 (PT) and bits 10-16 (PASID, CET_U, CET_S, HDC,
    /// UINTR, LBR, HWP) are supervisor state components, enabled in IA32_XSS only: in XCR0
    /// they are reserved, like bit 63 and every bit without a name here.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct Xcr0: u64 {
        /// Bit 0: x87 state (always 1 in XCR0).
        const X87 = 1 << 0;
        /// Bit 1: SSE state (XMM0-XMM15, MXCSR).
        const SSE = 1 << 1;
        /// Bit 2: AVX state (upper halves of YMM0-YMM15).
        const AVX = 1 << 2;
        /// Bit 3: MPX BNDREGS state (BND0-BND3).
        const BNDREGS = 1 << 3;
        /// Bit 4: MPX BNDCSR state (BNDCFGU, BNDSTATUS).
        const BNDCSR = 1 << 4;
        /// Bit 5: AVX-512 opmask state (k0-k7).
        const OPMASK = 1 << 5;
        /// Bit 6: AVX-512 ZMM_Hi256 state (upper halves of ZMM0-ZMM15).
        const ZMM_HI256 = 1 << 6;
        /// Bit 7: AVX-512 Hi16_ZMM state (ZMM16-ZMM31).
        const HI16_ZMM = 1 << 7;
        /// Bit 9: PKRU state (the protection-key rights register for user pages).
        const PKRU = 1 << 9;
        /// Bit 17: AMX TILECFG state.
        const TILECFG = 1 << 17;
        /// Bit 18: AMX TILEDATA state (TMM0-TMM7).
        const TILEDATA = 1 << 18;
        /// Bit 19: APX state (extended general-purpose registers R16-R31).
        const APX = 1 << 19;
    }
}

/// Why XSETBV would raise #GP(0) for an XCR0 value (SDM Vol. 2D "XSETBV—Set Extended
/// Control Register"; Vol. 1 §13.3). One variant per rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Xcr0Error {
    /// Bits that are reserved in XCR0 (bit 63, supervisor state components, bits the SDM
    /// does not define) are set.
    Reserved {
        /// The reserved bits that were set.
        bits: u64,
    },
    /// Bits the processor does not support in XCR0 (CPUID.(EAX=0DH,ECX=0):EDX:EAX) are set.
    Unsupported {
        /// The unsupported bits that were set.
        bits: u64,
    },
    /// Bit 0 (x87) must be 1.
    X87Clear,
    /// Bit 2 (AVX) needs bit 1 (SSE).
    AvxWithoutSse,
    /// Bits 3 (BNDREGS) and 4 (BNDCSR) must be both 1 or both 0.
    MpxPartial,
    /// Bits 7:5 (opmask, ZMM_Hi256, Hi16_ZMM) must be all 1 or all 0.
    Avx512Partial,
    /// Bits 7:5 (AVX-512) need bit 2 (AVX).
    Avx512WithoutAvx,
    /// Bits 17 (TILECFG) and 18 (TILEDATA) must be both 1 or both 0.
    AmxPartial,
}

impl fmt::Display for Xcr0Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Reserved { bits } => write!(f, "reserved XCR0 bits set: {bits:#x}"),
            Self::Unsupported { bits } => {
                write!(f, "XCR0 bits the processor does not support set: {bits:#x}")
            }
            Self::X87Clear => f.write_str("XCR0 bit 0 (x87) must be 1"),
            Self::AvxWithoutSse => f.write_str("XCR0 bit 2 (AVX) needs bit 1 (SSE)"),
            Self::MpxPartial => {
                f.write_str("XCR0 bits 3 and 4 (MPX BNDREGS, BNDCSR) must be set together")
            }
            Self::Avx512Partial => f.write_str(
                "XCR0 bits 7:5 (AVX-512 opmask, ZMM_Hi256, Hi16_ZMM) must be set together",
            ),
            Self::Avx512WithoutAvx => f.write_str("XCR0 bits 7:5 (AVX-512) need bit 2 (AVX)"),
            Self::AmxPartial => {
                f.write_str("XCR0 bits 17 and 18 (AMX TILECFG, TILEDATA) must be set together")
            }
        }
    }
}

impl core::error::Error for Xcr0Error {}

impl Xcr0 {
    /// The bits reserved in XCR0: every bit without a name here, bit 63 and the
    /// supervisor state components (8, 10-16) included (SDM Vol. 1 §13.1, §13.3).
    pub const RESERVED: u64 = !Self::all().bits();

    /// The MPX state components (bits 4:3).
    ///
    /// SDM Vol. 1 §13.3.
    pub const MPX: Self = Self::BNDREGS.union(Self::BNDCSR);

    /// The AVX-512 state components (bits 7:5).
    ///
    /// SDM Vol. 1 §13.3.
    pub const AVX512: Self = Self::OPMASK.union(Self::ZMM_HI256).union(Self::HI16_ZMM);

    /// The AMX state components (bits 18:17).
    ///
    /// SDM Vol. 1 §13.3.
    pub const AMX: Self = Self::TILECFG.union(Self::TILEDATA);

    /// The bits a processor supports in XCR0, from CPUID.(EAX=0DH,ECX=0): EAX holds bits
    /// 31:0 and EDX bits 63:32 (SDM Vol. 1 §13.2).
    pub const fn from_cpuid(eax: u32, edx: u32) -> Self {
        Self::from_bits_retain(((edx as u64) << 32) | eax as u64)
    }

    /// Every check XSETBV with ECX = 0 applies to the new XCR0 value (SDM Vol. 2D
    /// "XSETBV—Set Extended Control Register", Vol. 1 §13.3): `Ok` with the value if the
    /// processor would load it, else the first rule it breaks (XSETBV would raise #GP(0)).
    /// `supported` is the set of bits the processor (or the VMM, for its guest) supports
    /// (see [`Xcr0::from_cpuid`]).
    ///
    /// ```
    /// use vmx_defs::registers::{Xcr0, Xcr0Error};
    ///
    /// let supported = Xcr0::X87 | Xcr0::SSE | Xcr0::AVX | Xcr0::AVX512;
    /// assert_eq!(Xcr0::check(0x7, supported), Ok(Xcr0::X87 | Xcr0::SSE | Xcr0::AVX));
    /// assert_eq!(Xcr0::check(0x6, supported), Err(Xcr0Error::X87Clear));
    /// assert_eq!(Xcr0::check(0x5, supported), Err(Xcr0Error::AvxWithoutSse));
    /// assert_eq!(Xcr0::check(0x27, supported), Err(Xcr0Error::Avx512Partial));
    /// assert_eq!(Xcr0::check(0xe3, supported), Err(Xcr0Error::Avx512WithoutAvx));
    /// assert_eq!(Xcr0::check(1 << 63 | 3, supported), Err(Xcr0Error::Reserved { bits: 1 << 63 }));
    /// ```
    pub const fn check(value: u64, supported: Xcr0) -> Result<Xcr0, Xcr0Error> {
        let reserved = value & Self::RESERVED;
        if reserved != 0 {
            return Err(Xcr0Error::Reserved { bits: reserved });
        }
        let unsupported = value & !supported.bits();
        if unsupported != 0 {
            return Err(Xcr0Error::Unsupported { bits: unsupported });
        }
        let x = Xcr0::from_bits_retain(value);
        if !x.contains(Self::X87) {
            return Err(Xcr0Error::X87Clear);
        }
        if x.contains(Self::AVX) && !x.contains(Self::SSE) {
            return Err(Xcr0Error::AvxWithoutSse);
        }
        if x.intersects(Self::MPX) && !x.contains(Self::MPX) {
            return Err(Xcr0Error::MpxPartial);
        }
        if x.intersects(Self::AVX512) && !x.contains(Self::AVX512) {
            return Err(Xcr0Error::Avx512Partial);
        }
        if x.intersects(Self::AVX512) && !x.contains(Self::AVX) {
            return Err(Xcr0Error::Avx512WithoutAvx);
        }
        if x.intersects(Self::AMX) && !x.contains(Self::AMX) {
            return Err(Xcr0Error::AmxPartial);
        }
        Ok(x)
    }
}
