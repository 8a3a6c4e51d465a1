//! Host tests of the virtual-interrupt model against a straightforward one (sets of
//! vectors, priorities recomputed from scratch after every step; SDM Vol. 3C ch. 30), and
//! of the posted-interrupt sender on host memory.

extern crate std;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::vec::Vec;

use proptest::prelude::*;
use vmx_defs::posted_interrupt::PostedInterruptDescriptor;

use super::page::{PPR, TPR};
use super::*;

/// The straightforward model: VIRR and VISR as sets, RVI/SVI recomputed as their maxima
/// where the SDM says "highest index of a bit set", VPPR from the §30.1.3 rule.
#[derive(Debug, Default, Clone)]
struct Model {
    irr: BTreeSet<u8>,
    isr: BTreeSet<u8>,
    vtpr: u8,
    rvi: u8,
    svi: u8,
    vppr: u8,
    eoi_exit: BTreeSet<u8>,
}

impl Model {
    fn ppr(&mut self) {
        let tpr_class = self.vtpr / 16;
        let svi_class = self.svi / 16;
        self.vppr = if tpr_class >= svi_class {
            self.vtpr
        } else {
            svi_class * 16
        };
    }
    fn recognized(&self) -> bool {
        self.rvi / 16 > self.vppr / 16
    }
}

#[derive(Debug, Clone)]
enum Op {
    Request(u8),
    Deliver,
    Eoi,
    Tpr(u8),
    EoiExit(u8, bool),
    Post(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::Request),
        Just(Op::Deliver),
        Just(Op::Eoi),
        any::<u8>().prop_map(Op::Tpr),
        (any::<u8>(), any::<bool>()).prop_map(|(v, b)| Op::EoiExit(v, b)),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Op::Post),
    ]
}

/// Operations per case of `delivery_matches_the_set_model`: under Miri (.ci/run) fewer, since
/// every step checks all 512 VIRR/VISR bits against the model and Miri interprets each check;
/// the same assertions run on every step either way.
const MODEL_OPS: usize = if cfg!(miri) { 12 } else { 80 };

proptest! {
    #[test]
    fn delivery_matches_the_set_model(ops in proptest::collection::vec(op(), 0..MODEL_OPS)) {
        let mut page = VirtualApicPage::new();
        let mut status = GuestInterruptStatus::default();
        let mut bitmap = [0u64; 4];
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Request(v) => {
                    let r = request(&mut page, &mut status, v, false);
                    m.irr.insert(v);
                    m.rvi = m.rvi.max(v);
                    prop_assert_eq!(r, m.recognized());
                }
                Op::Deliver => {
                    let rec = is_recognized(&page, status, false);
                    prop_assert_eq!(rec, m.recognized());
                    if !rec {
                        continue;
                    }
                    let v = deliver(&mut page, &mut status);
                    prop_assert_eq!(v, m.rvi);
                    m.irr.remove(&v);
                    m.isr.insert(v);
                    m.svi = v;
                    m.rvi = m.irr.iter().next_back().copied().unwrap_or(0);
                    m.ppr();
                }
                Op::Eoi => {
                    let out = virtualize_eoi(&mut page, &mut status, &bitmap, false);
                    let v = m.svi;
                    m.isr.remove(&v);
                    m.svi = m.isr.iter().next_back().copied().unwrap_or(0);
                    m.ppr();
                    let want = if m.eoi_exit.contains(&v) {
                        EoiOutcome::Exit(v)
                    } else {
                        EoiOutcome::Continue { recognized: m.recognized() }
                    };
                    prop_assert_eq!(out, want);
                }
                Op::Tpr(t) => {
                    let out = write_tpr(&mut page, status, u32::from(t), TprMode::VirtualInterruptDelivery, false);
                    m.vtpr = t;
                    m.ppr();
                    prop_assert_eq!(out, TprOutcome::Continue { recognized: m.recognized() });
                }
                Op::EoiExit(v, on) => {
                    let w = &mut bitmap[usize::from(v / 64)];
                    if on { *w |= 1 << (v % 64); m.eoi_exit.insert(v); }
                    else { *w &= !(1 << (v % 64)); m.eoi_exit.remove(&v); }
                }
                Op::Post(vs) => {
                    let mut pid = PostedInterruptDescriptor::new();
                    pid.set_notification_vector(0xF2);
                    for v in &vs {
                        pid.set_requested(*v, true);
                    }
                    pid.set_outstanding_notification(true);
                    let out = process_notification(&mut page, &mut status, &mut pid, 0xF2, 0xF2, false);
                    for v in &vs {
                        m.irr.insert(*v);
                    }
                    if let Some(h) = vs.iter().max() {
                        m.rvi = m.rvi.max(*h);
                    }
                    prop_assert_eq!(out, NotificationOutcome::Processed { recognized: m.recognized() });
                    prop_assert!(!pid.outstanding_notification());
                    prop_assert_eq!(pid.pending_vectors().count(), 0);
                }
            }
            // The page and the status agree with the model after every step.
            for v in 0..=255u8 {
                prop_assert_eq!(page.bit(VectorRegister::Irr, v), m.irr.contains(&v));
                prop_assert_eq!(page.bit(VectorRegister::Isr, v), m.isr.contains(&v));
            }
            prop_assert_eq!(status, GuestInterruptStatus { rvi: m.rvi, svi: m.svi });
            prop_assert_eq!(page.read(TPR) as u8, m.vtpr);
            prop_assert_eq!(page.read(PPR), u32::from(m.vppr));
        }
    }

    #[test]
    fn status_round_trips(raw in any::<u16>()) {
        prop_assert_eq!(GuestInterruptStatus::from_raw(raw).raw(), raw);
    }

    #[test]
    fn threshold_exit_iff_class_below(t in 0u8..16, vtpr in any::<u8>()) {
        let mut page = VirtualApicPage::new();
        let out = write_tpr(&mut page, GuestInterruptStatus::default(), u32::from(vtpr), TprMode::Threshold(t), false);
        let below = vtpr >> 4 < t;
        prop_assert_eq!(out == TprOutcome::BelowThreshold, below);
        prop_assert_eq!(tpr_threshold_allows_entry(u32::from(t), u32::from(vtpr), false, false), !below);
        prop_assert!(tpr_threshold_allows_entry(u32::from(t), u32::from(vtpr), true, false));
    }

    #[test]
    fn post_sets_on_once(vectors in proptest::collection::vec(any::<u8>(), 1..20), sn in any::<bool>()) {
        let mut pid = PostedInterruptDescriptor::new();
        pid.set_suppress_notification(sn);
        let mut notified = 0;
        for v in &vectors {
            if post(&mut pid, *v) == PostOutcome::Notify {
                notified += 1;
            }
            prop_assert!(pid.requested(*v));
        }
        prop_assert_eq!(notified, if sn { 0 } else { 1 });
    }
}

#[test]
fn interrupt_window_exiting_blocks_recognition() {
    let mut page = VirtualApicPage::new();
    let mut status = GuestInterruptStatus::default();
    assert!(request(&mut page, &mut status, 0x40, false));
    assert!(!is_recognized(&page, status, true));
}

#[test]
fn vectors_below_the_class_of_vppr_wait() {
    // VTPR 0x50: a vector of class 5 waits, class 6 is recognized (RVI[7:4] > VPPR[7:4]).
    let mut page = VirtualApicPage::new();
    let mut status = GuestInterruptStatus::default();
    write_tpr(
        &mut page,
        status,
        0x50,
        TprMode::VirtualInterruptDelivery,
        false,
    );
    assert!(!request(&mut page, &mut status, 0x5F, false));
    assert!(request(&mut page, &mut status, 0x60, false));
    assert_eq!(deliver(&mut page, &mut status), 0x60);
    assert_eq!(
        status,
        GuestInterruptStatus {
            rvi: 0x5F,
            svi: 0x60
        }
    );
    assert_eq!(page.read(PPR), 0x60);
    let out = virtualize_eoi(&mut page, &mut status, &[0, 1 << (0x60 - 64), 0, 0], false);
    assert_eq!(out, EoiOutcome::Exit(0x60));
    assert_eq!(page.read(PPR), 0x50);
}

#[test]
fn other_vectors_exit_as_external_interrupts() {
    let mut page = VirtualApicPage::new();
    let mut status = GuestInterruptStatus::default();
    let mut pid = PostedInterruptDescriptor::new();
    pid.set_requested(0x31, true);
    let out = process_notification(&mut page, &mut status, &mut pid, 0x20, 0xF2, false);
    assert_eq!(out, NotificationOutcome::ExternalInterruptExit);
    assert!(pid.requested(0x31));
}

/// Host memory from the global allocator, identity-mapped.
struct TestHost;

// SAFETY: frames come from the global allocator, zeroed, page aligned, and are freed
// with the same layout; physical = virtual.
unsafe impl crate::HostMemory for TestHost {
    fn alloc_frames(&self, count: usize) -> Option<crate::HostPhysAddr> {
        let layout = std::alloc::Layout::from_size_align(count * 4096, 4096).ok()?;
        // SAFETY: non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        (!p.is_null()).then(|| crate::HostPhysAddr::new(p as u64))
    }
    unsafe fn free_frames(&self, frame: crate::HostPhysAddr, count: usize) {
        let layout = std::alloc::Layout::from_size_align(count * 4096, 4096).expect("layout");
        // SAFETY: allocated by `alloc_frames` with this layout.
        unsafe { std::alloc::dealloc(frame.as_u64() as *mut u8, layout) };
    }
    fn phys_to_virt(&self, paddr: crate::HostPhysAddr) -> core::ptr::NonNull<u8> {
        core::ptr::NonNull::new(paddr.as_u64() as *mut u8).expect("non-null")
    }
}

// SAFETY: current_cpu keeps its default.
unsafe impl crate::VmxHost for TestHost {}

#[test]
fn sender_posts_and_notifies_once_across_threads() {
    let host = TestHost;
    let page = PostedInterruptDescriptorPage::new(&host, 0xF2, 7).expect("frame");
    let sent = Mutex::new(Vec::new());
    let notify = |dest: u32, vector: u8| sent.lock().expect("lock").push((dest, vector));
    let sender = page.sender(&notify);
    assert!(matches!(
        sender.post(3),
        Err(crate::VmxError::NotAnInterruptVector(3))
    ));
    std::thread::scope(|s| {
        for t in 0..4u8 {
            s.spawn(move || {
                for i in 0..8u8 {
                    sender.post(0x20 + t * 8 + i).expect("vector");
                }
            });
        }
    });
    assert_eq!(*sent.lock().expect("lock"), [(7, 0xF2)]);
    let d = page.read();
    assert!(d.outstanding_notification());
    assert_eq!(
        d.pending_vectors().collect::<Vec<_>>(),
        (0x20..0x40).collect::<Vec<u8>>()
    );
    // With SN set, requests are recorded without notification.
    page.set_suppress_notification(true);
    let fresh = PostedInterruptDescriptorPage::new(&host, 0xF2, 7).expect("frame");
    fresh.set_suppress_notification(true);
    assert_eq!(
        fresh.sender(&notify).post(0x40).expect("vector"),
        PostOutcome::NoNotification
    );
    assert!(fresh.read().requested(0x40));
    assert_eq!(sent.lock().expect("lock").len(), 1);
}
