//! MSR and I/O bitmap tests (SDM Vol. 3C §25.6.4, §25.6.9).

use proptest::prelude::*;
use vmx_vcpu::bitmap::*;

fn in_range(msr: u32) -> bool {
    msr <= LOW_MSR_LAST || (HIGH_MSR_FIRST..=HIGH_MSR_LAST).contains(&msr)
}

fn any_msr() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..=0x1FFF,
        0xC000_0000u32..=0xC000_1FFF,
        any::<u32>(),
        0x2000u32..0x3000,
        0xBFFF_F000u32..0xC000_0000,
        0xC000_2000u32..0xC000_3000,
    ]
}

#[test]
fn msr_layout_matches_sdm() {
    assert_eq!(msr_bit_position(0, MsrAccess::Read), Some((0, 0)));
    assert_eq!(msr_bit_position(0x1FFF, MsrAccess::Read), Some((1023, 7)));
    assert_eq!(
        msr_bit_position(0xC000_0000, MsrAccess::Read),
        Some((1024, 0))
    );
    assert_eq!(
        msr_bit_position(0xC000_1FFF, MsrAccess::Read),
        Some((2047, 7))
    );
    assert_eq!(msr_bit_position(0, MsrAccess::Write), Some((2048, 0)));
    assert_eq!(
        msr_bit_position(0xC000_0080, MsrAccess::Write),
        Some((3072 + 16, 0))
    );
    assert_eq!(msr_bit_position(0x2000, MsrAccess::Read), None);
    assert_eq!(msr_bit_position(0xBFFF_FFFF, MsrAccess::Write), None);
    assert_eq!(msr_bit_position(0xC000_2000, MsrAccess::Write), None);
}

#[test]
fn msr_fresh_bitmap_denies_everything() {
    let b = MsrBitmap::new_intercept_all();
    assert!(b.as_bytes().iter().all(|&x| x == 0xFF));
    assert_eq!(
        b.intercept(0x10, MsrAccess::Read),
        MsrIntercept::Intercepted
    );
    assert_eq!(
        b.intercept(0x4000_0000, MsrAccess::Read),
        MsrIntercept::AlwaysExits
    );
}

#[test]
fn msr_pass_through_one_direction() {
    let mut b = MsrBitmap::new_intercept_all();
    b.pass_through(0xC000_0100, true, false).unwrap();
    assert_eq!(
        b.intercept(0xC000_0100, MsrAccess::Read),
        MsrIntercept::PassThrough
    );
    assert_eq!(
        b.intercept(0xC000_0100, MsrAccess::Write),
        MsrIntercept::Intercepted
    );
    assert_eq!(
        b.intercept(0xC000_0101, MsrAccess::Read),
        MsrIntercept::Intercepted
    );
    assert_eq!(b.as_bytes()[1024 + 0x20], 0xFE);
    assert_eq!(
        b.pass_through(0x4000_0000, true, true),
        Err(MsrOutOfRange(0x4000_0000))
    );
}

proptest! {
    #[test]
    fn msr_set_clear_round_trip(msr in any_msr(), write in any::<bool>(), start_all in any::<bool>()) {
        let access = if write { MsrAccess::Write } else { MsrAccess::Read };
        let other = if write { MsrAccess::Read } else { MsrAccess::Write };
        let mut b = if start_all { MsrBitmap::new_intercept_all() } else { MsrBitmap::new_pass_all() };
        let before_other = b.intercept(msr, other);
        let r = b.set_intercept(msr, access, false);
        if in_range(msr) {
            prop_assert!(r.is_ok());
            prop_assert_eq!(b.intercept(msr, access), MsrIntercept::PassThrough);
            prop_assert!(b.set_intercept(msr, access, true).is_ok());
            prop_assert_eq!(b.intercept(msr, access), MsrIntercept::Intercepted);
            prop_assert_eq!(b.intercept(msr, other), before_other);
            // Exactly one bit differs from an all-clear page after setting it.
            let mut c = MsrBitmap::new_pass_all();
            c.set_intercept(msr, access, true).unwrap();
            let ones: u32 = c.as_bytes().iter().map(|x| x.count_ones()).sum();
            prop_assert_eq!(ones, 1);
        } else {
            prop_assert_eq!(r, Err(MsrOutOfRange(msr)));
            prop_assert_eq!(b.intercept(msr, access), MsrIntercept::AlwaysExits);
            prop_assert!(b.exits(msr, access));
            prop_assert!(b.set_intercept(msr, access, true).is_ok());
            prop_assert_eq!(msr_bit_position(msr, access), None);
        }
    }

    #[test]
    fn msr_positions_are_distinct(a in any_msr(), b in any_msr(), wa in any::<bool>(), wb in any::<bool>()) {
        let acc = |w: bool| if w { MsrAccess::Write } else { MsrAccess::Read };
        if let (Some(pa), Some(pb)) = (msr_bit_position(a, acc(wa)), msr_bit_position(b, acc(wb))) {
            prop_assert!(pa.0 < 4096 && pb.0 < 4096);
            prop_assert_eq!(pa == pb, a == b && wa == wb);
        }
    }

    #[test]
    fn io_set_clear_round_trip(port in any::<u16>(), other in any::<u16>()) {
        let mut b = IoBitmaps::new_intercept_all();
        prop_assert!(b.is_intercepted(port));
        b.pass_through(port);
        prop_assert!(!b.is_intercepted(port));
        prop_assert_eq!(b.is_intercepted(other), other != port);
        b.set_intercept(port, true);
        prop_assert!(b.is_intercepted(port));
        let mut c = IoBitmaps::new_pass_all();
        c.set_intercept(port, true);
        let (page, byte, bit) = io_bit_position(port);
        let raw = match page { IoBitmapPage::A => c.page_a(), IoBitmapPage::B => c.page_b() };
        prop_assert_eq!(raw[byte], 1u8 << bit);
        prop_assert_eq!(page == IoBitmapPage::B, port >= 0x8000);
        let ones: u32 = c.page_a().iter().chain(c.page_b().iter()).map(|x| x.count_ones()).sum();
        prop_assert_eq!(ones, 1);
    }

    #[test]
    fn io_multi_byte_accesses(port in any::<u16>(), size in prop_oneof![Just(1u8), Just(2u8), Just(4u8)]) {
        let mut b = IoBitmaps::new_pass_all();
        let wraps = u32::from(port) + u32::from(size) - 1 > 0xFFFF;
        prop_assert_eq!(b.access_exits(port, size), wraps);
        // Intercepting the last byte touched makes the access exit.
        let last = port.wrapping_add(u16::from(size) - 1);
        b.set_intercept(last, true);
        prop_assert!(b.access_exits(port, size));
    }
}

#[test]
fn io_pages_split_at_8000() {
    let mut b = IoBitmaps::new_pass_all();
    b.set_intercept(0x80, true);
    b.set_intercept(0x8000, true);
    b.set_intercept(0xFFFF, true);
    assert_eq!(b.page_a()[0x10], 1);
    assert_eq!(b.page_b()[0], 1);
    assert_eq!(b.page_b()[4095], 0x80);
    b.set_range(0xFFF0, 100, false);
    assert!(!b.is_intercepted(0xFFFF));
    assert!(b.is_intercepted(0x8000));
}
