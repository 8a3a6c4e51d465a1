//! Local APIC tests: registers, priorities against a set model, EOI, ICR decoding, LVT and
//! software disable (Intel SDM Vol. 3A chapter 12).

use super::delivery::{DeliveryMode, Destination};
use super::lapic::{APIC_VERSION, ApicBaseError, LapicAction, Lint, LocalApic, reg};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn enabled_apic() -> LocalApic {
    let mut a = LocalApic::new(0, true);
    a.write(reg::SVR, 0x1FF, 0);
    a
}

#[test]
fn power_up_values() {
    let mut a = LocalApic::new(3, false);
    assert_eq!(a.read(reg::ID, 0), 3 << 24);
    assert_eq!(a.read(reg::VERSION, 0), APIC_VERSION);
    assert_eq!(a.read(reg::DFR, 0), 0xFFFF_FFFF);
    assert_eq!(a.read(reg::SVR, 0), 0xFF);
    for off in (0x320..=0x370).step_by(16) {
        assert_eq!(a.read(off, 0), 0x1_0000, "LVT {off:#x} masked");
    }
    assert_eq!(a.base_msr(), 0xFEE0_0800);
    assert_eq!(LocalApic::new(0, true).base_msr(), 0xFEE0_0900);
    assert!(!a.software_enabled());
}

#[test]
fn disabled_apic_accepts_no_fixed_interrupt_but_nmi() {
    let mut a = LocalApic::new(0, true);
    assert!(!a.accept(0x40, false));
    assert_eq!(a.pending_interrupt(), None);
    a.accept_nmi();
    assert!(a.take_nmi());
    assert!(!a.take_nmi());
    // LVT masks cannot be cleared while software-disabled.
    a.write(reg::LVT_TIMER, 0x30, 0);
    assert_eq!(a.read(reg::LVT_TIMER, 0), 0x1_0030);
    a.write(reg::SVR, 0x1FF, 0);
    assert!(a.accept(0x40, false));
    a.write(reg::LVT_LINT0, 0x30, 0);
    // Clearing SVR bit 8 masks every LVT entry again, IRR is held.
    a.write(reg::SVR, 0xFF, 0);
    assert_eq!(a.read(reg::LVT_LINT0, 0), 0x1_0030);
    assert_eq!(a.irr().highest(), Some(0x40));
    assert_eq!(a.pending_interrupt(), None);
}

#[test]
fn priorities_tpr_and_ppr() {
    let mut a = enabled_apic();
    a.accept(0x45, false);
    a.write(reg::TPR, 0x50, 0);
    assert_eq!(a.pending_interrupt(), None, "class 4 below TPR class 5");
    a.write(reg::TPR, 0x3F, 0);
    assert_eq!(a.pending_interrupt(), Some(0x45));
    a.acknowledge(0x45);
    assert_eq!(a.read(reg::PPR, 0), 0x40);
    a.accept(0x48, false);
    assert_eq!(a.pending_interrupt(), None, "same class as in service");
    a.accept(0x51, false);
    assert_eq!(a.pending_interrupt(), Some(0x51));
    assert_eq!(a.read(reg::APR, 0), 0x50);
    assert_eq!(a.read(reg::ISR + 0x20, 0), 1 << 5);
    assert_eq!(a.read(reg::IRR + 0x20, 0), (1 << 8) | (1 << 17));
    assert_eq!(a.write(reg::EOI, 0, 0), LapicAction::None);
    assert_eq!(a.read(reg::PPR, 0), 0x3F);
    assert_eq!(a.pending_interrupt(), Some(0x51));
}

#[test]
fn level_eoi_and_tmr() {
    let mut a = enabled_apic();
    a.accept(0x61, true);
    assert_eq!(a.read(reg::TMR + 0x30, 0), 1 << 1);
    a.acknowledge(0x61);
    assert_eq!(a.write(reg::EOI, 0, 0), LapicAction::LevelEoi(0x61));
    assert_eq!(a.write(reg::EOI, 0, 0), LapicAction::None);
}

#[test]
fn illegal_vectors_and_registers_set_esr() {
    let mut a = enabled_apic();
    a.write(reg::LVT_ERROR, 0xFE, 0);
    assert!(!a.accept(0x05, false));
    a.write(reg::ICR_LOW, 0x0000_4003, 0);
    a.read(0x3F0, 0);
    assert_eq!(a.read(reg::ESR, 0), 0, "ESR updates on write");
    a.write(reg::ESR, 0, 0);
    assert_eq!(a.read(reg::ESR, 0), 0xE0);
    a.write(reg::ESR, 0, 0);
    assert_eq!(a.read(reg::ESR, 0), 0);
    assert_eq!(a.pending_interrupt(), Some(0xFE), "error LVT raised");
}

#[test]
fn icr_decoding() {
    let mut a = enabled_apic();
    a.write(reg::ICR_HIGH, 0x0200_0000, 0);
    assert_eq!(a.read(reg::ICR_HIGH, 0), 0x0200_0000);
    let init = a.write(reg::ICR_LOW, 0x0000_C500, 0);
    let LapicAction::Ipi(m) = init else {
        panic!("INIT assert sent nothing")
    };
    assert_eq!(m.mode, DeliveryMode::Init);
    assert_eq!(m.destination, Destination::Physical(2));
    assert_eq!(
        a.read(reg::ICR_LOW, 0) & (1 << 12),
        0,
        "delivery status idle"
    );
    assert_eq!(
        a.write(reg::ICR_LOW, 0x0000_8500, 0),
        LapicAction::None,
        "INIT de-assert"
    );
    let LapicAction::Ipi(m) = a.write(reg::ICR_LOW, 0x0000_4698, 0) else {
        panic!()
    };
    assert_eq!((m.mode, m.vector), (DeliveryMode::StartUp, 0x98));
    let LapicAction::Ipi(m) = a.write(reg::ICR_LOW, 0x000C_0030, 0) else {
        panic!()
    };
    assert_eq!(m.destination, Destination::AllExcludingSelf);
    let LapicAction::Ipi(m) = a.write(reg::ICR_LOW, 0x0004_0030, 0) else {
        panic!()
    };
    assert_eq!(m.destination, Destination::SelfOnly);
    let LapicAction::Ipi(m) = a.write(reg::ICR_LOW, 0x0008_0030, 0) else {
        panic!()
    };
    assert_eq!(m.destination, Destination::AllIncludingSelf);
    let LapicAction::Ipi(m) = a.write(reg::ICR_LOW, 0x0000_0930, 0) else {
        panic!()
    };
    assert_eq!(
        (m.mode, m.destination),
        (DeliveryMode::LowestPriority, Destination::Logical(2))
    );
    let LapicAction::Ipi(m) = a.write(reg::ICR_LOW, 0x0000_0400, 0) else {
        panic!()
    };
    assert_eq!(m.mode, DeliveryMode::Nmi);
}

#[test]
fn lint_pins() {
    let mut a = enabled_apic();
    a.lint(Lint::Lint1);
    assert!(!a.nmi_pending(), "masked");
    a.write(reg::LVT_LINT1, 0x400, 0);
    a.lint(Lint::Lint1);
    assert!(a.take_nmi());
    a.write(reg::LVT_LINT0, 0x700, 0);
    a.lint(Lint::Lint0);
    assert_eq!(a.pending_interrupt(), None, "ExtINT: no 8259");
    a.write(reg::LVT_LINT0, 0x33, 0);
    a.lint(Lint::Lint0);
    assert_eq!(a.pending_interrupt(), Some(0x33));
}

#[test]
fn apic_base_msr() {
    let mut a = enabled_apic();
    a.accept(0x40, false);
    assert_eq!(
        a.set_base_msr(0xFEE0_0801),
        Err(ApicBaseError::ReservedBits(0xFEE0_0801))
    );
    assert_eq!(
        a.set_base_msr(0xFEE0_0C00),
        Err(ApicBaseError::X2ApicUnsupported)
    );
    a.set_base_msr(0xFEE0_0000).expect("disable");
    assert!(!a.hardware_enabled());
    a.set_base_msr(0xFEE0_0800).expect("enable");
    assert_eq!(a.base_msr(), 0xFEE0_0900, "BSP kept");
    assert!(!a.software_enabled(), "back in power-up state");
    assert!(a.irr().is_empty());
}

#[test]
fn timer_one_shot_as_linux_programs_it() {
    let mut a = enabled_apic();
    a.write(reg::TIMER_DIVIDE, 0x3, 0); // divide by 16
    a.write(reg::LVT_TIMER, 0xEC, 0);
    a.write(reg::TIMER_INITIAL, 1000, 5_000);
    assert_eq!(a.read(reg::TIMER_CURRENT, 5_000 + 160), 990);
    assert_eq!(a.next_deadline(), Some(5_000 + 16_000));
    a.update(20_999);
    assert_eq!(a.pending_interrupt(), None);
    a.update(21_000);
    assert_eq!(a.pending_interrupt(), Some(0xEC));
    assert_eq!(a.read(reg::TIMER_CURRENT, 21_000), 0);
}

#[test]
fn timer_tsc_deadline_as_linux_programs_it() {
    let mut a = enabled_apic();
    a.write(reg::LVT_TIMER, 0xEC | (2 << 17), 0);
    a.set_tsc_deadline(1_234_567, 1_000);
    assert_eq!(a.tsc_deadline(), 1_234_567);
    assert_eq!(a.next_deadline(), Some(1_234_567));
    a.update(1_234_566);
    assert_eq!(a.pending_interrupt(), None);
    a.update(1_234_567);
    assert_eq!(a.pending_interrupt(), Some(0xEC));
    assert_eq!(a.tsc_deadline(), 0);
    // A deadline in the past fires at once; masked timers count but do not interrupt.
    a.acknowledge(0xEC);
    a.write(reg::EOI, 0, 0);
    a.write(reg::LVT_TIMER, 0x1_00EC | (2 << 17), 0);
    a.set_tsc_deadline(10, 2_000_000);
    assert_eq!(a.pending_interrupt(), None);
    assert_eq!(a.tsc_deadline(), 0);
}

#[test]
fn timer_periodic() {
    let mut a = enabled_apic();
    a.write(reg::LVT_TIMER, 0x40 | (1 << 17), 0);
    a.write(reg::TIMER_DIVIDE, 0xB, 0);
    a.write(reg::TIMER_INITIAL, 100, 0);
    for k in 1..=3u64 {
        assert_eq!(a.next_deadline(), Some(100 * k));
        a.update(100 * k);
        assert_eq!(a.pending_interrupt(), Some(0x40));
        a.acknowledge(0x40);
        a.write(reg::EOI, 0, 0);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Accept(u8, bool),
    Tpr(u8),
    Ack,
    Eoi,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (16u8..=255, any::<bool>()).prop_map(|(v, l)| Op::Accept(v, l)),
        1 => any::<u8>().prop_map(Op::Tpr),
        2 => Just(Op::Ack),
        2 => Just(Op::Eoi),
    ]
}

#[derive(Default)]
struct Model {
    irr: BTreeSet<u8>,
    isr: BTreeSet<u8>,
    tmr: BTreeSet<u8>,
    tpr: u8,
}

impl Model {
    fn ppr(&self) -> u8 {
        let isrv = self.isr.iter().next_back().copied().unwrap_or(0);
        if self.tpr >> 4 >= isrv >> 4 {
            self.tpr
        } else {
            isrv & 0xF0
        }
    }
    fn pending(&self) -> Option<u8> {
        let v = *self.irr.iter().next_back()?;
        (v >> 4 > self.ppr() >> 4).then_some(v)
    }
}

proptest! {
    #[test]
    fn priority_rules_match_set_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut a = enabled_apic();
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Accept(v, level) => {
                    prop_assert!(a.accept(v, level));
                    m.irr.insert(v);
                    if level { m.tmr.insert(v); } else { m.tmr.remove(&v); }
                }
                Op::Tpr(t) => { a.write(reg::TPR, u32::from(t), 0); m.tpr = t; }
                Op::Ack => {
                    if let Some(v) = a.pending_interrupt() {
                        a.acknowledge(v);
                        m.irr.remove(&v);
                        m.isr.insert(v);
                    }
                }
                Op::Eoi => {
                    let got = a.write(reg::EOI, 0, 0);
                    let want = match m.isr.pop_last() {
                        Some(v) if m.tmr.contains(&v) => LapicAction::LevelEoi(v),
                        _ => LapicAction::None,
                    };
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(a.pending_interrupt(), m.pending());
            prop_assert_eq!(a.read(reg::PPR, 0), u32::from(m.ppr()));
            for i in 0..8u32 {
                let bits = |s: &BTreeSet<u8>| s.iter().filter(|v| u32::from(**v) / 32 == i)
                    .fold(0u32, |acc, v| acc | 1 << (v % 32));
                prop_assert_eq!(a.read(reg::IRR + 16 * i, 0), bits(&m.irr));
                prop_assert_eq!(a.read(reg::ISR + 16 * i, 0), bits(&m.isr));
                prop_assert_eq!(a.read(reg::TMR + 16 * i, 0), bits(&m.tmr));
            }
        }
    }

    #[test]
    fn register_accesses_never_panic(ops in proptest::collection::vec((0u32..0x1100, any::<u32>(), any::<bool>(), any::<u64>()), 1..64)) {
        let mut a = enabled_apic();
        for (off, value, write, now) in ops {
            if write { a.write(off, value, now); } else { a.read(off, now); }
            a.update(now);
            let _ = a.next_deadline();
        }
    }
}
