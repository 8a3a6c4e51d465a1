//! Event encoding and injection-decision tests (SDM Vol. 3C §25.8.3, §27.6, §28.2.4).

use proptest::prelude::*;
use vmx_defs::guest_state::{ActivityState, Interruptibility};
use vmx_defs::interruption::{EntryInterruptionError, InjectionRules};
use vmx_vcpu::event::*;
use vmx_vcpu::injection::*;

/// Bit 31 (valid) and bit 11 (error code) of the interruption-information fields, written
/// out from SDM Table 25-17 as the independent reference.
const VALID: u32 = 1 << 31;
const ERROR_CODE: u32 = 1 << 11;

fn state(if_: bool, intr: u32, activity: ActivityState, vnmi: bool) -> GuestEventState {
    GuestEventState {
        interrupts_enabled: if_,
        interruptibility: Interruptibility::from_bits_retain(intr),
        activity,
        protected_mode: true,
        virtual_nmis: vnmi,
    }
}

#[test]
fn encodings_match_sdm_table_25_17() {
    assert_eq!(Event::ExternalInterrupt(0x20).encode().info, 0x8000_0020);
    assert_eq!(Event::Nmi.encode().info, 0x8000_0202);
    let pf = Event::exception(14, Some(0x6)).encode();
    assert_eq!(pf.info, 0x8000_0B0E);
    assert_eq!(pf.error_code, Some(6));
    let ud = Event::exception(6, Some(1)).encode();
    assert_eq!(ud.info, 0x8000_0306);
    assert_eq!(ud.error_code, None);
    let int = Event::SoftwareInterrupt {
        vector: 0x80,
        instruction_len: 2,
    }
    .encode();
    assert_eq!(int.info, 0x8000_0480);
    assert_eq!(int.instruction_len, Some(2));
    let bp = Event::SoftwareException {
        vector: 3,
        instruction_len: 1,
    }
    .encode();
    assert_eq!(bp.info, 0x8000_0603);
    assert_eq!(
        Event::PrivilegedSoftwareException { instruction_len: 1 }
            .encode()
            .info,
        0x8000_0501
    );
}

#[test]
fn validation() {
    assert_eq!(
        Event::HardwareException {
            vector: 32,
            error_code: None
        }
        .validate(InjectionRules::LEGACY, false),
        Err(InvalidEvent::Entry(
            EntryInterruptionError::HardwareExceptionVector { vector: 32 }
        ))
    );
    assert_eq!(
        Event::HardwareException {
            vector: 6,
            error_code: Some(0)
        }
        .validate(InjectionRules::LEGACY, false),
        Err(InvalidEvent::Entry(
            EntryInterruptionError::UnexpectedErrorCode { vector: 6 }
        ))
    );
    assert_eq!(
        Event::SoftwareInterrupt {
            vector: 1,
            instruction_len: 0
        }
        .validate(InjectionRules::LEGACY, false),
        Err(InvalidEvent::Entry(
            EntryInterruptionError::InstructionLength { length: 0 }
        ))
    );
    assert_eq!(
        Event::SoftwareInterrupt {
            vector: 1,
            instruction_len: 0
        }
        .validate(InjectionRules::LEGACY, true),
        Ok(())
    );
    assert_eq!(
        Event::SoftwareInterrupt {
            vector: 1,
            instruction_len: 16
        }
        .validate(InjectionRules::LEGACY, true),
        Err(InvalidEvent::Entry(
            EntryInterruptionError::InstructionLength { length: 16 }
        ))
    );
    assert_eq!(
        Event::exception(13, None).validate(InjectionRules::LEGACY, false),
        Ok(())
    );
    // The VM-entry exception error code is 16 bits wide (SDM §27.2.1.3).
    assert_eq!(
        Event::exception(13, Some(0x1_0000)).validate(InjectionRules::LEGACY, false),
        Err(InvalidEvent::Entry(
            EntryInterruptionError::ErrorCodeTooWide {
                error_code: 0x1_0000
            }
        ))
    );
    // A #GP without its error code is refused in protected mode, taken in real mode.
    let bare_gp = Event::HardwareException {
        vector: 13,
        error_code: None,
    };
    assert_eq!(
        bare_gp.validate(InjectionRules::LEGACY, false),
        Err(InvalidEvent::Entry(
            EntryInterruptionError::MissingErrorCode { vector: 13 }
        ))
    );
    let real = InjectionRules {
        guest_protected_mode: false,
        ..InjectionRules::LEGACY
    };
    assert_eq!(
        Event::exception(13, None)
            .for_real_mode()
            .validate(real, false),
        Ok(())
    );
}

proptest! {
    #[test]
    fn idt_vectoring_round_trip(info in any::<u32>(), ec in any::<u32>(), len in 0u32..16) {
        match Event::from_interruption_info(info, ec, len) {
            None => prop_assert_eq!(info & VALID, 0),
            Some(e) => {
                let enc = e.encode();
                let ty = (info >> 8) & 7;
                prop_assert_eq!(enc.info & 0x700, info & 0x700);
                // NMIs always use vector 2 and INT1 vector 1 (SDM Table 25-17).
                let vector = match ty { 2 => 2, 5 => 1, _ => info & 0xFF };
                prop_assert_eq!(enc.info & 0xFF, vector);
                prop_assert_eq!(enc.info & VALID, VALID);
                // Only exceptions (and types this crate keeps raw) carry an error code.
                let may_have_code = matches!(ty, 1 | 3 | 7);
                prop_assert_eq!(enc.error_code.is_some(), may_have_code && info & ERROR_CODE != 0);
                prop_assert_eq!(enc.info & ERROR_CODE != 0, enc.error_code.is_some());
                if let Some(c) = enc.error_code { prop_assert_eq!(c, ec); }
            }
        }
    }

    #[test]
    fn decide_never_injects_blocked_events(if_ in any::<bool>(), intr in 0u32..16, act in 0u32..5, vnmi in any::<bool>(),
                                          nmi in any::<bool>(), vecs in proptest::collection::vec(any::<u8>(), 0..4)) {
        let s = state(if_, intr, ActivityState::from_raw(act), vnmi);
        let mut p = PendingEvents::new();
        if nmi { p.push(Event::Nmi).unwrap(); }
        for v in &vecs { p.push(Event::ExternalInterrupt(*v)).unwrap(); }
        let d = p.decide(&s);
        match d.inject {
            Some(Event::Nmi) => prop_assert!(s.can_take_nmi()),
            Some(Event::ExternalInterrupt(v)) => {
                prop_assert!(s.can_take_interrupt());
                prop_assert_eq!(Some(v), vecs.iter().copied().max());
                prop_assert!(!nmi || !s.can_take_nmi());
            }
            Some(other) => prop_assert!(false, "unexpected {:?}", other),
            None => {
                prop_assert!(!(nmi && s.can_take_nmi()));
                prop_assert!(vecs.is_empty() || !s.can_take_interrupt());
            }
        }
        // Whatever is still pending has a window requested (if deliverable at all).
        if s.can_take_events() {
            if p.nmi_pending() { prop_assert!(d.nmi_window || d.interrupt_window); }
            if p.highest_interrupt().is_some() { prop_assert!(d.interrupt_window); }
        } else {
            prop_assert_eq!(d, InjectionDecision::default());
        }
        prop_assert_eq!(d.wake, d.inject.is_some() && s.activity == ActivityState::HLT);
        // The cached emptiness agrees with what is observable (no exceptions queued here).
        prop_assert_eq!(
            p.is_empty(),
            p.reinjection().is_none() && !p.nmi_pending() && p.highest_interrupt().is_none()
        );
    }
}

#[test]
fn interrupt_waits_for_if_then_goes() {
    let mut p = PendingEvents::new();
    p.push(Event::ExternalInterrupt(0x30)).unwrap();
    p.push(Event::ExternalInterrupt(0x40)).unwrap();
    let d = p.decide(&state(false, 0, ActivityState::ACTIVE, true));
    assert_eq!(d.inject, None);
    assert!(d.interrupt_window);
    let d = p.decide(&state(
        true,
        Interruptibility::STI.bits(),
        ActivityState::ACTIVE,
        true,
    ));
    assert_eq!(d.inject, None);
    assert!(d.interrupt_window);
    let d = p.decide(&state(true, 0, ActivityState::HLT, true));
    assert_eq!(d.inject, Some(Event::ExternalInterrupt(0x40)));
    assert!(d.interrupt_window && d.wake);
    let d = p.decide(&state(true, 0, ActivityState::ACTIVE, true));
    assert_eq!(d.inject, Some(Event::ExternalInterrupt(0x30)));
    assert!(!d.interrupt_window);
    assert!(p.is_empty());
}

#[test]
fn nmi_window_with_and_without_virtual_nmis() {
    let mut p = PendingEvents::new();
    p.push(Event::Nmi).unwrap();
    let d = p.decide(&state(
        true,
        Interruptibility::NMI.bits(),
        ActivityState::ACTIVE,
        true,
    ));
    assert_eq!(
        (d.inject, d.nmi_window, d.interrupt_window),
        (None, true, false)
    );
    let d = p.decide(&state(
        true,
        Interruptibility::MOV_SS.bits(),
        ActivityState::ACTIVE,
        false,
    ));
    assert_eq!(
        (d.inject, d.nmi_window, d.interrupt_window),
        (None, false, true)
    );
    let d = p.decide(&state(false, 0, ActivityState::ACTIVE, true));
    assert_eq!(d.inject, Some(Event::Nmi));
    assert!(p.is_empty());
}

#[test]
fn priorities_reinjection_exception_nmi_interrupt() {
    let mut p = PendingEvents::new();
    p.push(Event::ExternalInterrupt(0x21)).unwrap();
    p.push(Event::Nmi).unwrap();
    p.push(Event::exception(13, Some(0x10))).unwrap();
    p.set_reinjection(Some(Event::ExternalInterrupt(0x50)));
    let s = state(true, 0, ActivityState::ACTIVE, true);
    assert_eq!(p.decide(&s).inject, Some(Event::ExternalInterrupt(0x50)));
    let d = p.decide(&s);
    assert_eq!(
        d.inject,
        Some(Event::HardwareException {
            vector: 13,
            error_code: Some(0x10)
        })
    );
    assert!(d.nmi_window && d.interrupt_window);
    assert_eq!(p.decide(&s).inject, Some(Event::Nmi));
    assert_eq!(p.decide(&s).inject, Some(Event::ExternalInterrupt(0x21)));
    assert_eq!(p.decide(&s), InjectionDecision::default());
}

#[test]
fn real_mode_drops_error_codes_and_queue_bounds() {
    let mut p = PendingEvents::new();
    p.push(Event::exception(13, Some(5))).unwrap();
    let mut s = state(true, 0, ActivityState::ACTIVE, false);
    s.protected_mode = false;
    assert_eq!(
        p.decide(&s).inject,
        Some(Event::HardwareException {
            vector: 13,
            error_code: None
        })
    );
    for _ in 0..8 {
        p.push(Event::exception(6, None)).unwrap();
    }
    assert_eq!(
        p.push(Event::exception(6, None)),
        Err(InvalidEvent::QueueFull)
    );
    assert_eq!(
        p.push(Event::Raw {
            info: 0x8000_0700,
            error_code: None,
            instruction_len: 0
        }),
        Err(InvalidEvent::UnsupportedType(7))
    );
}

#[test]
fn shutdown_and_wait_for_sipi_keep_events() {
    let mut p = PendingEvents::new();
    p.push(Event::ExternalInterrupt(0x20)).unwrap();
    for a in [
        ActivityState::SHUTDOWN,
        ActivityState::WAIT_FOR_SIPI,
        ActivityState(9),
    ] {
        assert_eq!(
            p.decide(&state(true, 0, a, true)),
            InjectionDecision::default()
        );
    }
    assert_eq!(p.highest_interrupt(), Some(0x20));
}

// --- Reflection of an exception raised during event delivery (SDM Vol. 3A §6.15) ---

use vmx_vcpu::injection::{ExceptionClass, Reflection, reflect};

fn hw(vector: u8) -> Event {
    Event::exception(vector, Some(0))
}

/// Table 6-5, written out independently: (first class, second class) -> #DF?
fn model_double_fault(first: u8, second: u8) -> Option<bool> {
    let contributory = |v: u8| matches!(v, 0 | 10 | 11 | 12 | 13 | 21);
    let page_fault = |v: u8| v == 14 || v == 20;
    if first == 8 && (contributory(second) || page_fault(second)) {
        return None; // shutdown
    }
    Some(
        (contributory(first) && contributory(second))
            || (page_fault(first) && (contributory(second) || page_fault(second))),
    )
}

#[test]
fn reflect_follows_table_6_5_for_every_pair() {
    for first in 0u8..32 {
        for second in 0u8..32 {
            let r = reflect(Some(hw(first)), hw(second));
            match model_double_fault(first, second) {
                None => assert_eq!(r, Reflection::TripleFault, "{first} then {second}"),
                Some(true) => assert_eq!(
                    r,
                    Reflection::Deliver {
                        event: Event::HardwareException {
                            vector: 8,
                            error_code: Some(0)
                        },
                        requeue: None
                    },
                    "{first} then {second}"
                ),
                Some(false) => assert_eq!(
                    r,
                    Reflection::Deliver {
                        event: hw(second),
                        requeue: None
                    },
                    "{first} then {second}"
                ),
            }
        }
    }
    assert_eq!(ExceptionClass::of(14), ExceptionClass::PageFault);
    assert_eq!(ExceptionClass::of(13), ExceptionClass::Contributory);
    assert_eq!(ExceptionClass::of(8), ExceptionClass::DoubleFault);
    assert_eq!(ExceptionClass::of(200), ExceptionClass::Benign);
}

#[test]
fn np_during_int_n_is_delivered_once_and_int_n_not_reinjected() {
    let int_n = Event::SoftwareInterrupt {
        vector: 0x80,
        instruction_len: 2,
    };
    let np = Event::exception(11, Some(0x80 * 8 + 2));
    let r = reflect(Some(int_n), np);
    assert_eq!(
        r,
        Reflection::Deliver {
            event: np,
            requeue: None
        }
    );
    let mut p = PendingEvents::new();
    p.set_reinjection(Some(int_n));
    assert!(p.apply_reflection(r));
    let state = GuestEventState::from_raw(1 << 9, 0, 0, 1, true);
    assert_eq!(p.decide(&state).inject, Some(np));
    // Nothing else is left: the INT n is gone, the #NP is delivered exactly once.
    assert!(p.is_empty());
    assert_eq!(p.decide(&state).inject, None);
}

#[test]
fn interrupted_interrupt_and_nmi_are_still_owed_after_the_fault() {
    let pf = Event::exception(14, Some(2));
    for interrupted in [Event::ExternalInterrupt(0x41), Event::Nmi] {
        let r = reflect(Some(interrupted), pf);
        assert_eq!(
            r,
            Reflection::Deliver {
                event: pf,
                requeue: Some(interrupted)
            }
        );
        let mut p = PendingEvents::new();
        p.set_reinjection(Some(interrupted));
        p.apply_reflection(r);
        let state = GuestEventState::from_raw(1 << 9, 0, 0, 1, true);
        assert_eq!(p.decide(&state).inject, Some(pf));
        assert_eq!(p.decide(&state).inject, Some(interrupted));
        assert!(p.is_empty());
    }
}

#[test]
fn triple_fault_leaves_nothing_to_inject_and_clear_empties_everything() {
    let mut p = PendingEvents::new();
    p.set_reinjection(Some(Event::exception(8, Some(0))));
    assert!(!p.apply_reflection(reflect(p.reinjection(), Event::exception(13, Some(0)))));
    assert_eq!(p.reinjection(), None);
    p.push(Event::Nmi).unwrap();
    p.push(Event::ExternalInterrupt(0x30)).unwrap();
    p.push(Event::exception(6, None)).unwrap();
    p.set_reinjection(Some(Event::ExternalInterrupt(0x20)));
    assert_eq!(p.take_reinjection(), Some(Event::ExternalInterrupt(0x20)));
    assert!(!p.is_empty());
    p.clear();
    assert!(p.is_empty());
    assert!(!p.nmi_pending());
    assert_eq!(p.highest_interrupt(), None);
}

proptest! {
    /// Whatever was interrupted and whatever faulted, reflection never panics and never
    /// re-injects a software event.
    #[test]
    fn reflect_is_total(info in any::<u32>(), code in any::<u32>(), len in 0u32..16, v in any::<u8>()) {
        let interrupted = Event::from_interruption_info(info | 1 << 31, code, len);
        let r = reflect(interrupted, Event::exception(v, Some(code)));
        if let Reflection::Deliver { requeue: Some(e), .. } = r {
            prop_assert!(matches!(e, Event::ExternalInterrupt(_) | Event::Nmi));
        }
    }
}
