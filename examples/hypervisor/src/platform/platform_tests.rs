//! Whole-platform tests: port dispatch, interrupt routing ISA IRQ -> I/O APIC -> local
//! APICs, IPIs, timers as Linux programs them.

use super::lapic::reg;
use super::pit::PIT_HZ;
use super::*;
use proptest::prelude::*;

fn platform(vcpus: u32) -> Platform {
    let mut p = Platform::new(PlatformConfig {
        vcpus,
        tsc_khz: PIT_HZ,
    });
    for cpu in 0..p.vcpus() {
        p.lapic_write(cpu, reg::SVR, 0x1FF, 0);
    }
    p
}

fn route(p: &mut Platform, pin: u8, low: u32, high: u32) {
    p.ioapic_write(0x00, u32::from(0x11 + 2 * pin));
    p.ioapic_write(0x10, high);
    p.ioapic_write(0x00, u32::from(0x10 + 2 * pin));
    p.ioapic_write(0x10, low);
}

#[test]
fn unknown_ports_read_all_ones_and_are_counted() {
    let mut p = platform(1);
    assert_eq!(p.io_read(0x21, 1, 0), 0xFF, "no 8259");
    assert_eq!(p.io_read(0x80, 2, 0), 0xFFFF);
    assert_eq!(p.io_read(0x1234, 4, 0), 0xFFFF_FFFF);
    assert_eq!(p.io_write(0x21, 1, 0xFB, 0), None);
    assert_eq!(p.io_read(0x21, 1, 0), 0xFF);
    assert_eq!(p.io_read(0x60, 1, 0), 0xFF, "no i8042, but modelled");
    let counts: Vec<(u16, u64)> = p
        .unknown_port_accesses()
        .iter()
        .map(|(k, v)| (*k, *v))
        .collect();
    assert_eq!(counts, vec![(0x21, 3), (0x80, 1), (0x1234, 1)]);
}

#[test]
fn pci_and_reset_ports() {
    let mut p = platform(1);
    p.io_write(0xCF8, 4, 0x8000_0000, 0);
    assert_eq!(p.io_read(0xCF8, 4, 0), 0x8000_0000);
    assert_eq!(p.io_read(0xCFC, 4, 0), 0xFFFF_FFFF);
    assert_eq!(p.io_read(0xCFE, 2, 0), 0xFFFF);
    assert_eq!(p.io_read(0xCFD, 4, 0), 0xFFFF_FFFF);
    assert_eq!(p.io_write(0xCF9, 1, 0x02, 0), None);
    assert_eq!(p.io_write(0xCF9, 1, 0x06, 0), Some(PowerEvent::Reset));
    assert_eq!(p.io_write(0x64, 1, 0xFE, 0), Some(PowerEvent::Reset));
    assert!(p.unknown_port_accesses().is_empty());
}

#[test]
fn pit_periodic_irq0_as_linux_programs_it() {
    // setup_pit_timer / pit_set_periodic: channel 0 mode 2, LATCH = 1193 for HZ = 1000,
    // IRQ 0 routed to I/O APIC pin 2, edge, physical destination 0, vector 0x30.
    let mut p = platform(1);
    route(&mut p, 2, 0x30, 0);
    let t0 = 5_000;
    p.io_write(0x43, 1, 0x34, t0);
    p.io_write(0x40, 1, 1193 & 0xFF, t0);
    p.io_write(0x40, 1, 1193 >> 8, t0);
    let first = t0 + 1193 * 1000;
    assert_eq!(p.next_deadline(), Some(first));
    p.update(first - 1);
    assert_eq!(p.pending_interrupt(0), None);
    p.update(first);
    assert_eq!(p.pending_interrupt(0), Some(0x30));
    p.acknowledge(0, 0x30);
    p.lapic_write(0, reg::EOI, 0, first);
    assert_eq!(p.next_deadline(), Some(first + 1193 * 1000));
    // Masking pin 2 takes the PIT out of the deadlines (Linux stops using it).
    route(&mut p, 2, 0x1_0030, 0);
    assert_eq!(p.next_deadline(), None);
}

#[test]
fn lapic_tsc_deadline_as_linux_programs_it() {
    let mut p = platform(2);
    p.lapic_write(1, reg::LVT_TIMER, 0xEC | (2 << 17), 0);
    p.set_tsc_deadline(1, 777_777, 100);
    assert_eq!(p.tsc_deadline(1), 777_777);
    assert_eq!(p.next_deadline(), Some(777_777));
    p.update(777_776);
    assert_eq!(p.pending_interrupt(1), None);
    p.update(777_777);
    assert_eq!(p.pending_interrupt(1), Some(0xEC));
    assert_eq!(p.pending_interrupt(0), None);
    assert_eq!(p.next_deadline(), None);
}

#[test]
fn uart_interrupt_through_ioapic() {
    let mut p = platform(1);
    route(&mut p, 4, 0x24, 0);
    p.io_write(0x3F9, 1, 0x01, 0); // IER: received data
    p.io_write(0x3FC, 1, 0x08, 0); // MCR: OUT2
    p.console_input(b"x");
    assert_eq!(p.pending_interrupt(0), Some(0x24));
    assert_eq!(p.io_read(0x3FA, 1, 0) & 0x0F, 0x04);
    assert_eq!(p.io_read(0x3F8, 1, 0), u32::from(b'x'));
    p.io_write(0x3F8, 1, u32::from(b'o'), 0);
    p.io_write(0x3F8, 1, u32::from(b'k'), 0);
    assert_eq!(p.take_console_output(), b"ok".to_vec());
}

#[test]
fn init_sipi_bring_up() {
    let mut p = platform(2);
    p.lapic_write(1, reg::TPR, 0x20, 0);
    p.lapic_write(0, reg::ICR_HIGH, 1 << 24, 0);
    let e = p.lapic_write(0, reg::ICR_LOW, 0x0000_C500, 0);
    assert_eq!(e, vec![CpuEffect::Init { cpu: 1 }]);
    assert_eq!(p.tpr(1), 0, "INIT resets the target APIC");
    assert!(p.lapic_write(0, reg::ICR_LOW, 0x0000_8500, 0).is_empty());
    let e = p.lapic_write(0, reg::ICR_LOW, 0x0000_0699, 0);
    assert_eq!(
        e,
        vec![CpuEffect::Startup {
            cpu: 1,
            vector: 0x99
        }]
    );
    let e = p.lapic_write(0, reg::ICR_LOW, 0x000C_0400, 0);
    assert_eq!(e, vec![CpuEffect::Nmi { cpu: 1 }]);
    assert!(p.take_nmi(1));
    assert!(!p.take_nmi(0));
}

#[test]
fn fixed_ipis_by_shorthand_and_logical_destination() {
    let mut p = platform(3);
    for cpu in 0..3 {
        p.lapic_write(cpu, reg::LDR, 1 << (24 + cpu), 0);
    }
    p.lapic_write(0, reg::ICR_HIGH, 0x06 << 24, 0);
    p.lapic_write(0, reg::ICR_LOW, 0x0000_0840, 0);
    let pending: Vec<_> = (0..3).map(|c| p.pending_interrupt(c)).collect();
    assert_eq!(pending, vec![None, Some(0x40), Some(0x40)]);
    p.lapic_write(2, reg::ICR_LOW, 0x0004_0050, 0);
    assert_eq!(p.pending_interrupt(2), Some(0x50));
    assert_eq!(p.pending_interrupt(0), None);
    p.lapic_write(2, reg::ICR_LOW, 0x0008_0060, 0);
    assert_eq!(p.pending_interrupt(0), Some(0x60));
    // Lowest priority goes to the lowest APR: CPU 1 raises its TPR, CPU 0 wins ties.
    p.lapic_write(1, reg::TPR, 0xF0, 0);
    p.lapic_write(2, reg::TPR, 0xF0, 0);
    p.lapic_write(1, reg::ICR_HIGH, 0x07 << 24, 0);
    p.lapic_write(1, reg::ICR_LOW, 0x0000_0970, 0);
    assert_eq!(p.lapic(0).map(|a| a.irr().contains(0x70)), Some(true));
    // A processor servicing the vector is its focus and takes it despite a higher APR.
    p.lapic_write(2, reg::ICR_LOW, 0x0004_0071, 0);
    p.acknowledge(2, 0x71);
    p.lapic_write(1, reg::ICR_LOW, 0x0000_0971, 0);
    assert_eq!(p.lapic(2).map(|a| a.irr().contains(0x71)), Some(true));
    assert_eq!(p.lapic(0).map(|a| a.irr().contains(0x71)), Some(false));
}

#[test]
fn level_triggered_remote_irr_cleared_by_eoi() {
    let mut p = platform(1);
    route(&mut p, 9, 0x8039, 0);
    p.set_isa_irq(9, true);
    assert_eq!(p.pending_interrupt(0), Some(0x39));
    p.acknowledge(0, 0x39);
    p.set_isa_irq(9, false);
    p.ioapic_write(0x00, 0x22);
    assert_ne!(p.ioapic_read(0x10) & (1 << 14), 0, "remote IRR");
    p.lapic_write(0, reg::EOI, 0, 0);
    assert_eq!(p.ioapic_read(0x10) & (1 << 14), 0);
    assert_eq!(p.pending_interrupt(0), None);
}

#[test]
fn apic_base_and_bad_cpus() {
    let mut p = platform(1);
    assert_eq!(p.apic_base_msr(0), 0xFEE0_0900);
    assert!(p.set_apic_base_msr(0, 0xFEE0_0900).is_ok());
    assert!(p.set_apic_base_msr(5, 0).is_err());
    assert_eq!(p.lapic_read(7, reg::ID, 0), 0xFFFF_FFFF);
    assert!(p.lapic_write(7, reg::EOI, 0, 0).is_empty());
    assert_eq!(p.pending_interrupt(9), None);
    assert!(!p.take_nmi(9));
    assert_eq!(p.lapic_read(0, reg::ID, 0), 0);
    let q = Platform::new(PlatformConfig {
        vcpus: 4,
        tsc_khz: 0,
    });
    assert_eq!(q.ioapic().read_register(0), 4 << 24);
    assert_eq!(q.lapic(3).map(|a| a.id()), Some(3));
}

#[test]
fn software_disabled_ap_takes_init_and_sipi_but_not_fixed() {
    let mut p = Platform::new(PlatformConfig {
        vcpus: 2,
        tsc_khz: PIT_HZ,
    });
    p.lapic_write(0, reg::SVR, 0x1FF, 0);
    p.lapic_write(0, reg::ICR_HIGH, 1 << 24, 0);
    p.lapic_write(0, reg::ICR_LOW, 0x0000_0040, 0);
    assert_eq!(p.lapic(1).map(|a| a.irr().is_empty()), Some(true));
    assert_eq!(
        p.lapic_write(0, reg::ICR_LOW, 0x0000_C500, 0),
        vec![CpuEffect::Init { cpu: 1 }]
    );
    assert_eq!(
        p.lapic_write(0, reg::ICR_LOW, 0x0000_0608, 0),
        vec![CpuEffect::Startup { cpu: 1, vector: 8 }]
    );
}

#[test]
fn rtc_and_pit_through_ports() {
    let mut p = platform(1);
    p.io_write(0x70, 1, 0x8A, 0);
    assert_eq!(p.io_read(0x71, 1, 0) & 0x80, 0, "UIP clear");
    p.io_write(0x70, 1, 0x09, 0);
    assert_eq!(p.io_read(0x71, 1, 0), 0x26);
    p.io_write(0x61, 1, 0x01, 0);
    assert_eq!(p.io_read(0x61, 1, 0) & 0x03, 0x01);
    p.io_write(0x43, 1, 0xB0, 0);
    p.io_write(0x42, 1, 0x10, 0);
    p.io_write(0x42, 1, 0x00, 0);
    assert_eq!(p.io_read(0x61, 1, 0x10 * 1000) & 0x20, 0x20);
    assert!(p.unknown_port_accesses().is_empty());
}

proptest! {
    #[test]
    fn ioapic_routing_matches_model(
        irq in 0u8..16,
        vector in 16u8..=255,
        logical in any::<bool>(),
        dest in any::<u8>(),
        masked in any::<bool>(),
        ldrs in proptest::collection::vec(any::<u8>(), 4),
    ) {
        let mut p = platform(4);
        for (cpu, ldr) in ldrs.iter().enumerate() {
            p.lapic_write(cpu, reg::LDR, u32::from(*ldr) << 24, 0);
        }
        let pin = if irq == 0 { 2 } else { irq };
        let low = u32::from(vector) | if logical { 1 << 11 } else { 0 } | if masked { 1 << 16 } else { 0 };
        route(&mut p, pin, low, u32::from(dest) << 24);
        p.set_isa_irq(irq, true);
        for (cpu, ldr) in ldrs.iter().enumerate() {
            let want = !masked && if logical {
                dest == 0xFF || ldr & dest != 0
            } else {
                dest == 0xFF || usize::from(dest) == cpu
            };
            prop_assert_eq!(p.pending_interrupt(cpu), want.then_some(vector));
        }
    }

    #[test]
    fn port_accesses_never_panic(ops in proptest::collection::vec((any::<u16>(), prop_oneof![Just(1u8), Just(2), Just(4), any::<u8>()], any::<u32>(), any::<bool>(), any::<u64>()), 1..100)) {
        let mut p = platform(2);
        for (port, size, value, write, now) in ops {
            let port = if port & 1 == 0 { port } else { 0x3F0 | (port & 0x1F) };
            if write { p.io_write(port, size, value, now); } else { p.io_read(port, size, now); }
            p.update(now);
            let _ = p.next_deadline();
        }
    }

    #[test]
    fn timers_never_panic_at_any_rate(
        tsc_khz in any::<u64>(),
        writes in proptest::collection::vec((0x40u16..=0x43, any::<u8>(), any::<u64>()), 1..40),
        deadline in any::<u64>(),
    ) {
        let mut p = Platform::new(PlatformConfig { vcpus: 1, tsc_khz });
        route(&mut p, 2, 0x30, 0);
        p.lapic_write(0, reg::SVR, 0x1FF, 0);
        p.lapic_write(0, reg::LVT_TIMER, 0x40 | (2 << 17), 0);
        p.set_tsc_deadline(0, deadline, 0);
        for (port, value, now) in writes {
            p.io_write(port, 1, u32::from(value), now);
            p.io_read(0x61, 1, now);
            p.io_read(0x70 + (port & 1), 1, now);
            p.update(now);
            if let Some(t) = p.next_deadline() {
                p.update(t);
            }
        }
    }
}
