//! `vmx_defs::registers`: CR0, CR4, EFER and XCR0 bit positions (SDM Vol. 3A §2.2.1, §2.5,
//! §2.6; Vol. 1 §13.1) and the write checks (Vol. 2 MOV to CR, XSETBV; Vol. 1 §13.3),
//! with model-based property tests.

use proptest::prelude::*;
use vmx_defs::registers::{Cr0, Cr0Error, Cr0WriteContext, Cr4, Cr4Error, Efer, Xcr0, Xcr0Error};

#[test]
fn bit_positions_follow_the_sdm() {
    let cr0: &[(Cr0, u32)] = &[
        (Cr0::PE, 0),
        (Cr0::MP, 1),
        (Cr0::EM, 2),
        (Cr0::TS, 3),
        (Cr0::ET, 4),
        (Cr0::NE, 5),
        (Cr0::WP, 16),
        (Cr0::AM, 18),
        (Cr0::NW, 29),
        (Cr0::CD, 30),
        (Cr0::PG, 31),
    ];
    for &(f, bit) in cr0 {
        assert_eq!(f.bits(), 1 << bit, "{f:?}");
    }
    assert_eq!(Cr0::all().iter().count(), cr0.len());
    let cr4: &[(Cr4, u32)] = &[
        (Cr4::VME, 0),
        (Cr4::PVI, 1),
        (Cr4::TSD, 2),
        (Cr4::DE, 3),
        (Cr4::PSE, 4),
        (Cr4::PAE, 5),
        (Cr4::MCE, 6),
        (Cr4::PGE, 7),
        (Cr4::PCE, 8),
        (Cr4::OSFXSR, 9),
        (Cr4::OSXMMEXCPT, 10),
        (Cr4::UMIP, 11),
        (Cr4::LA57, 12),
        (Cr4::VMXE, 13),
        (Cr4::SMXE, 14),
        (Cr4::FSGSBASE, 16),
        (Cr4::PCIDE, 17),
        (Cr4::OSXSAVE, 18),
        (Cr4::KL, 19),
        (Cr4::SMEP, 20),
        (Cr4::SMAP, 21),
        (Cr4::PKE, 22),
        (Cr4::CET, 23),
        (Cr4::PKS, 24),
        (Cr4::UINTR, 25),
        (Cr4::LASS, 27),
        (Cr4::LAM_SUP, 28),
        (Cr4::FRED, 32),
    ];
    for &(f, bit) in cr4 {
        assert_eq!(f.bits(), 1 << bit, "{f:?}");
    }
    assert_eq!(Cr4::all().iter().count(), cr4.len());
    assert_eq!(
        Cr4::RESERVED,
        (1 << 15) | (1 << 26) | (0b111 << 29) | !((1u64 << 33) - 1)
    );
    let efer: &[(Efer, u32)] = &[
        (Efer::SCE, 0),
        (Efer::LME, 8),
        (Efer::LMA, 10),
        (Efer::NXE, 11),
    ];
    for &(f, bit) in efer {
        assert_eq!(f.bits(), 1 << bit, "{f:?}");
    }
    assert_eq!(Efer::all().iter().count(), efer.len());
    assert_eq!(Efer::from_bits_retain(1 << 12).reserved_bits(), 1 << 12);
    let xcr0: &[(Xcr0, u32)] = &[
        (Xcr0::X87, 0),
        (Xcr0::SSE, 1),
        (Xcr0::AVX, 2),
        (Xcr0::BNDREGS, 3),
        (Xcr0::BNDCSR, 4),
        (Xcr0::OPMASK, 5),
        (Xcr0::ZMM_HI256, 6),
        (Xcr0::HI16_ZMM, 7),
        (Xcr0::PKRU, 9),
        (Xcr0::TILECFG, 17),
        (Xcr0::TILEDATA, 18),
        (Xcr0::APX, 19),
    ];
    for &(f, bit) in xcr0 {
        assert_eq!(f.bits(), 1 << bit, "{f:?}");
    }
    assert_eq!(Xcr0::all().iter().count(), xcr0.len());
    // Supervisor state components (PT 8, PASID..HWP 10-16) and bit 63 are reserved in XCR0.
    for bit in [8, 10, 11, 12, 13, 14, 15, 16, 63] {
        assert_ne!(Xcr0::RESERVED & (1 << bit), 0, "bit {bit}");
    }
    assert_eq!(Xcr0::from_cpuid(0x2e7, 0), Xcr0::from_bits_retain(0x2e7));
    assert_eq!(Xcr0::from_cpuid(0, 1), Xcr0::from_bits_retain(1 << 32));
}

#[test]
fn xcr0_each_rule_has_its_error() {
    let all = Xcr0::all();
    let cases: &[(u64, Xcr0Error)] = &[
        (1 << 63 | 3, Xcr0Error::Reserved { bits: 1 << 63 }),
        (1 << 8 | 3, Xcr0Error::Reserved { bits: 1 << 8 }),
        (0x2, Xcr0Error::X87Clear),
        (0x5, Xcr0Error::AvxWithoutSse),
        (0x0b, Xcr0Error::MpxPartial),
        (0x13, Xcr0Error::MpxPartial),
        (0x27, Xcr0Error::Avx512Partial),
        (0xc7, Xcr0Error::Avx512Partial),
        (0xe3, Xcr0Error::Avx512WithoutAvx),
        (0xe5, Xcr0Error::AvxWithoutSse),
        (1 << 17 | 3, Xcr0Error::AmxPartial),
        (1 << 18 | 3, Xcr0Error::AmxPartial),
    ];
    for &(value, err) in cases {
        assert_eq!(Xcr0::check(value, all), Err(err), "{value:#x}");
        assert!(!err.to_string().is_empty());
    }
    assert_eq!(
        Xcr0::check(0x7, Xcr0::X87 | Xcr0::SSE),
        Err(Xcr0Error::Unsupported { bits: 0x4 })
    );
    for ok in [
        0x1u64, 0x3, 0x7, 0x1f, 0xe7, 0x2e7, 0x602e7, 0x8_02e7, 0xe_02ff,
    ] {
        assert_eq!(Xcr0::check(ok, all).map(|x| x.bits()), Ok(ok), "{ok:#x}");
    }
    assert!(Xcr0Error::Avx512Partial.to_string().contains("7:5"));
    assert!(Xcr0Error::AmxPartial.to_string().contains("17 and 18"));
}

fn ctx(current: u64, cr4: u64, efer: u64, in_64bit_mode: bool) -> Cr0WriteContext {
    Cr0WriteContext {
        current: Cr0::from_bits_retain(current),
        cr4: Cr4::from_bits_retain(cr4),
        efer: Efer::from_bits_retain(efer),
        in_64bit_mode,
    }
}

#[test]
fn cr0_each_rule_has_its_error() {
    let real = ctx(0x10, 0, 0, false);
    let long = ctx(0x8001_0031, 1 << 5 | 1 << 17, 0x500, true);
    let cases: &[(u64, Cr0WriteContext, Cr0Error)] = &[
        (1 << 40 | 1, real, Cr0Error::ReservedHigh { bits: 1 << 40 }),
        (0x8000_0000, real, Cr0Error::PagingWithoutProtection),
        (
            0x2000_0000,
            real,
            Cr0Error::NotWriteThroughWithoutCacheDisable,
        ),
        (
            0x8000_0031,
            ctx(0x8001_0031, 1 << 23 | 1 << 5, 0, false),
            Cr0Error::WriteProtectClearedWithCet,
        ),
        (0x0001_0031, long, Cr0Error::PagingClearedIn64BitMode),
        (
            0x0001_0031,
            ctx(0x8001_0031, 1 << 17 | 1 << 5, 0x500, false),
            Cr0Error::PagingClearedWithPcide,
        ),
        (
            0x8000_0011,
            ctx(0x11, 0, 0x100, false),
            Cr0Error::LongModeWithoutPae,
        ),
    ];
    for &(value, c, err) in cases {
        assert_eq!(Cr0::check_mov(value, c), Err(err), "{value:#x} {c:?}");
        assert!(!err.to_string().is_empty());
    }
    // Allowed: entering long mode with PAE, keeping PG in 64-bit mode, CD+NW together,
    // reserved low bits (ignored by the processor).
    assert!(Cr0::check_mov(0x8000_0011, ctx(0x11, 1 << 5, 0x100, false)).is_ok());
    assert!(Cr0::check_mov(0x8001_0031, long).is_ok());
    assert!(Cr0::check_mov(0x6000_0011, real).is_ok());
    assert_eq!(
        Cr0::check_mov(0x11 | 1 << 7, real).map(|x| x.bits()),
        Ok(0x91)
    );
}

#[test]
fn cr4_reserved_and_unsupported() {
    let supported = Cr4::PAE | Cr4::VMXE;
    assert_eq!(
        Cr4::check_reserved(1 << 26 | 1 << 5, supported),
        Err(Cr4Error::Reserved { bits: 1 << 26 })
    );
    assert_eq!(
        Cr4::check_reserved(1 << 33, Cr4::all()),
        Err(Cr4Error::Reserved { bits: 1 << 33 })
    );
    assert_eq!(
        Cr4::check_reserved(1 << 32 | 1 << 5, supported),
        Err(Cr4Error::Unsupported { bits: 1 << 32 })
    );
    assert_eq!(Cr4::check_reserved(0x2020, supported), Ok(supported));
    assert!(
        Cr4Error::Reserved { bits: 1 }
            .to_string()
            .contains("reserved")
    );
}

/// The XSETBV rules written out directly from SDM Vol. 2 XSETBV / Vol. 1 §13.3, as a
/// predicate on the bits, independent of `Xcr0::check`.
fn xsetbv_accepts(v: u64, supported: u64) -> bool {
    let bit = |n: u32| v >> n & 1 == 1;
    let defined: u64 = 0b1110_0000_0010_1111_1111; // 0-7, 9, 17-19
    v & !defined == 0
        && v & !supported == 0
        && bit(0)
        && (!bit(2) || bit(1))
        && bit(3) == bit(4)
        && (bit(5) == bit(6) && bit(6) == bit(7))
        && (!bit(5) || bit(2))
        && bit(17) == bit(18)
}

fn interesting_xcr0() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (0u64..1 << 20),
        (0u64..1 << 20).prop_map(|v| v | 1),
        (0u64..1 << 20, 0u32..64).prop_map(|(v, b)| v | 1 | 1 << b),
    ]
}

fn interesting_supported() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(Xcr0::all().bits()),
        Just(u64::MAX),
        any::<u64>(),
        (0u64..1 << 20)
    ]
}

proptest! {
    #[test]
    fn xcr0_check_matches_the_model(v in interesting_xcr0(), s in interesting_supported()) {
        let got = Xcr0::check(v, Xcr0::from_bits_retain(s));
        prop_assert_eq!(got.is_ok(), xsetbv_accepts(v, s), "{:#x} {:#x} {:?}", v, s, got);
        // Round trip: an accepted value comes back unchanged.
        if let Ok(x) = got {
            prop_assert_eq!(x.bits(), v);
        }
    }

    #[test]
    fn cr0_check_never_panics_and_round_trips(v in any::<u64>(), cur in any::<u64>(), cr4 in any::<u64>(), efer in any::<u64>(), m in any::<bool>()) {
        let c = ctx(cur, cr4, efer, m);
        match Cr0::check_mov(v, c) {
            Ok(x) => {
                prop_assert_eq!(x.bits(), v);
                prop_assert_eq!(v >> 32, 0);
                prop_assert!(v & (1 << 31) == 0 || v & 1 == 1);
                prop_assert!(v & (1 << 29) == 0 || v & (1 << 30) != 0);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn cr4_check_matches_the_model(v in any::<u64>(), s in any::<u64>()) {
        let got = Cr4::check_reserved(v, Cr4::from_bits_retain(s));
        let model = v & Cr4::RESERVED == 0 && v & !s == 0;
        prop_assert_eq!(got.is_ok(), model);
        if let Ok(x) = got {
            prop_assert_eq!(x.bits(), v);
        }
    }
}
