//! Checks `vmx_defs::guest_state` (SDM Vol. 3C §25.4.1 Table 25-2, §25.4.2 Tables 25-3
//! and 25-4) and `vmx_defs::msr_entry` (§25.7.2 Table 25-15).

use proptest::prelude::*;
use vmx_defs::guest_state::{
    ActivityState, Interruptibility, PendingDebugExceptions, PrivilegeLevel, SegmentAccessRights,
};
use vmx_defs::msr_entry::MsrEntry;

#[test]
fn access_rights_constructors() {
    use PrivilegeLevel::*;
    let cases = [
        (SegmentAccessRights::code64(Ring0), 0xa09b),
        (SegmentAccessRights::code64(Ring3), 0xa0fb),
        (SegmentAccessRights::code32(Ring0), 0xc09b),
        (SegmentAccessRights::data(Ring0), 0xc093),
        (SegmentAccessRights::data(Ring3), 0xc0f3),
        (SegmentAccessRights::tss_busy(), 0x8b),
        (SegmentAccessRights::tss16_busy(), 0x83),
        (SegmentAccessRights::ldtr(), 0x82),
        (SegmentAccessRights::unusable(), 0x1_0000),
        (SegmentAccessRights::virtual_8086(), 0xf3),
        (SegmentAccessRights::real_mode_code(), 0x9b),
        (SegmentAccessRights::real_mode_data(), 0x93),
    ];
    for (ar, raw) in cases {
        assert_eq!(ar.raw(), raw, "{ar:?}");
        assert_eq!(ar.reserved_bits(), 0);
    }
    let c = SegmentAccessRights::code64(Ring0);
    assert!(c.is_code() && c.long_mode() && !c.default_big() && c.present() && c.granularity());
    assert_eq!(c.dpl(), Ring0);
    assert!(!SegmentAccessRights::tss_busy().is_code_or_data());
    assert!(SegmentAccessRights::unusable().is_unusable());
    // A flat 64-bit kernel code descriptor from a GDT.
    assert_eq!(
        SegmentAccessRights::from_descriptor(0x00af_9b00_0000_ffff).raw(),
        0xa09b
    );
    assert_eq!(
        SegmentAccessRights::data(Ring0).with_dpl(Ring3).raw(),
        0xc0f3
    );
    assert_eq!(
        SegmentAccessRights::ldtr().with_available(true).raw(),
        0x1082
    );
}

#[test]
fn activity_states() {
    let misc_all = 0b1_1100_0000u64;
    for (s, n, name) in [
        (ActivityState::ACTIVE, 0, "Active"),
        (ActivityState::HLT, 1, "HLT"),
        (ActivityState::SHUTDOWN, 2, "Shutdown"),
        (ActivityState::WAIT_FOR_SIPI, 3, "Wait-for-SIPI"),
    ] {
        assert_eq!((s.raw(), s.name()), (n, Some(name)));
        assert!(s.is_supported(misc_all));
        assert_eq!(s.is_supported(0), n == 0);
    }
    assert_eq!(ActivityState(4).name(), None);
    assert!(!ActivityState(4).is_supported(u64::MAX));
}

#[test]
fn interruptibility_and_pending_debug_bits() {
    let bits = [
        (Interruptibility::STI, 0),
        (Interruptibility::MOV_SS, 1),
        (Interruptibility::SMI, 2),
        (Interruptibility::NMI, 3),
        (Interruptibility::ENCLAVE, 4),
    ];
    for (f, b) in bits {
        assert_eq!(f.bits(), 1 << b);
    }
    assert_eq!(Interruptibility::all().bits(), 0x1f);
    assert!(Interruptibility::MOV_SS.blocks_interrupts());
    assert!(!Interruptibility::NMI.blocks_interrupts());
    let pd = [
        (PendingDebugExceptions::B0, 0),
        (PendingDebugExceptions::B1, 1),
        (PendingDebugExceptions::B2, 2),
        (PendingDebugExceptions::B3, 3),
        (PendingDebugExceptions::ENABLED_BREAKPOINT, 12),
        (PendingDebugExceptions::BS, 14),
        (PendingDebugExceptions::RTM, 16),
    ];
    for (f, b) in pd {
        assert_eq!(f.bits(), 1 << b);
    }
    assert_eq!(
        PendingDebugExceptions::all().bits() & PendingDebugExceptions::RESERVED,
        0
    );
    assert_eq!(
        PendingDebugExceptions::all().bits() | PendingDebugExceptions::RESERVED,
        u64::MAX
    );
}

#[test]
fn msr_entry_layout() {
    assert_eq!(size_of::<MsrEntry>(), 16);
    assert_eq!(align_of::<MsrEntry>(), 16);
    let e = MsrEntry::new(0xc000_0080, 0xd01);
    assert_eq!((e.index, e.reserved, e.value), (0xc000_0080, 0, 0xd01));
    assert_eq!(core::mem::offset_of!(MsrEntry, index), 0);
    assert_eq!(core::mem::offset_of!(MsrEntry, reserved), 4);
    assert_eq!(core::mem::offset_of!(MsrEntry, value), 8);
}

proptest! {
    #[test]
    fn access_rights_decode_any_value(raw in any::<u32>()) {
        let ar = SegmentAccessRights::from_raw(raw);
        prop_assert_eq!(ar.raw(), raw);
        let rebuilt = u32::from(ar.segment_type())
            | (u32::from(ar.is_code_or_data()) << 4)
            | (u32::from(ar.dpl().bits()) << 5)
            | (u32::from(ar.present()) << 7)
            | (u32::from(ar.available()) << 12)
            | (u32::from(ar.long_mode()) << 13)
            | (u32::from(ar.default_big()) << 14)
            | (u32::from(ar.granularity()) << 15)
            | (u32::from(ar.is_unusable()) << 16)
            | ar.reserved_bits();
        prop_assert_eq!(rebuilt, raw);
        let _ = format!("{ar:?}");
    }

    #[test]
    fn descriptor_conversion(desc in any::<u64>()) {
        let ar = SegmentAccessRights::from_descriptor(desc);
        prop_assert_eq!(ar.reserved_bits(), 0);
        prop_assert!(!ar.is_unusable());
        prop_assert_eq!(u64::from(ar.raw() & 0xff), (desc >> 40) & 0xff);
        prop_assert_eq!(u64::from(ar.raw() >> 12), (desc >> 52) & 0xf);
    }

    #[test]
    fn state_fields_decode_any_value(raw in any::<u32>(), raw64 in any::<u64>()) {
        let i = Interruptibility::from_bits_retain(raw);
        prop_assert_eq!(i.bits(), raw);
        prop_assert_eq!(i.reserved_bits(), raw & !0x1f);
        let p = PendingDebugExceptions::from_bits_retain(raw64);
        prop_assert_eq!(p.bits(), raw64);
        prop_assert_eq!(p.reserved_bits() | p.intersection(PendingDebugExceptions::all()).bits(), raw64);
        let a = ActivityState(raw);
        prop_assert_eq!(a.name().is_some(), raw <= 3);
        let _ = format!("{a:?}{i:?}{p:?}");
    }
}
