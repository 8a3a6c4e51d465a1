//! `vmx_defs::posted_interrupt`: the descriptor layout against SDM Vol. 3C §30.6 Table
//! 30-1 (PIR 255:0, ON 256) and the VT-d fields (SN 257, NV 279:272, NDST 319:288).

use core::mem::{align_of, size_of};
use proptest::prelude::*;
use vmx_defs::posted_interrupt::PostedInterruptDescriptor as Pid;

#[test]
fn layout_matches_the_table() {
    assert_eq!(size_of::<Pid>(), 64);
    assert_eq!(align_of::<Pid>(), 64);
    assert_eq!(Pid::SIZE, 64);
    assert_eq!(Pid::ALIGN, 64);
    assert_eq!(Pid::PIR_OFFSET, 0);
    assert_eq!(Pid::PIR_LEN, 256 / 8);
    assert_eq!(Pid::CONTROL_OFFSET, 256 / 8);
    assert_eq!(Pid::ON_BIT, 256);
    assert_eq!(Pid::SN_BIT, 257);
    assert_eq!(Pid::NV_OFFSET, 272 / 8);
    assert_eq!(Pid::NDST_OFFSET, 288 / 8);
}

#[test]
fn fields_land_on_their_bits() {
    let mut pid = Pid::new();
    pid.set_requested(0, true);
    pid.set_requested(255, true);
    pid.set_outstanding_notification(true);
    pid.set_suppress_notification(true);
    pid.set_notification_vector(0xab);
    pid.set_notification_destination(0x1234_5678);
    let b = pid.to_bytes();
    assert_eq!(b[0], 1);
    assert_eq!(b[31], 0x80);
    assert_eq!(b[Pid::CONTROL_OFFSET], 0b11);
    assert_eq!(b[Pid::NV_OFFSET], 0xab);
    assert_eq!(
        &b[Pid::NDST_OFFSET..Pid::NDST_OFFSET + 4],
        &0x1234_5678u32.to_le_bytes()
    );
    assert!(b[40..].iter().all(|&x| x == 0));
    assert_eq!(pid.pending_vectors().collect::<Vec<_>>(), vec![0, 255]);
    pid.set_suppress_notification(false);
    assert!(pid.outstanding_notification() && !pid.suppress_notification());
    pid.set_outstanding_notification(false);
    assert!(!pid.outstanding_notification());
    assert_eq!(Pid::xapic_destination(5), 0x500);
    pid.set_pir([0; 4]);
    assert_eq!(pid.pending_vectors().count(), 0);
}

proptest! {
    #[test]
    fn bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 64)) {
        let arr: [u8; 64] = bytes.try_into().unwrap();
        let pid = Pid::from_bytes(arr);
        prop_assert_eq!(pid.to_bytes(), arr);
        prop_assert_eq!(Pid::from_words(pid.words()), pid);
        prop_assert_eq!(pid.outstanding_notification(), arr[32] & 1 != 0);
        prop_assert_eq!(pid.suppress_notification(), arr[32] & 2 != 0);
        prop_assert_eq!(pid.notification_vector(), arr[34]);
        prop_assert_eq!(pid.notification_destination(), u32::from_le_bytes([arr[36], arr[37], arr[38], arr[39]]));
        for v in 0..=255u8 {
            prop_assert_eq!(pid.requested(v), arr[usize::from(v / 8)] >> (v % 8) & 1 == 1);
        }
    }

    #[test]
    fn setters_touch_only_their_field(words in any::<[u64; 8]>(), v in any::<u8>(), nv in any::<u8>(), nd in any::<u32>(), on in any::<bool>()) {
        let before = Pid::from_words(words);
        let mut pid = before;
        pid.set_requested(v, !before.requested(v));
        let diff: Vec<usize> = (0..8).filter(|&i| pid.words()[i] != words[i]).collect();
        prop_assert_eq!(diff, vec![usize::from(v / 64)]);
        let mut pid = before;
        pid.set_notification_vector(nv);
        pid.set_notification_destination(nd);
        pid.set_outstanding_notification(on);
        prop_assert_eq!(pid.notification_vector(), nv);
        prop_assert_eq!(pid.notification_destination(), nd);
        prop_assert_eq!(pid.outstanding_notification(), on);
        prop_assert_eq!(pid.suppress_notification(), before.suppress_notification());
        prop_assert_eq!(pid.pir(), before.pir());
        prop_assert_eq!(&pid.words()[5..], &words[5..]);
    }
}
