//! 8254 tests: access modes, latch and read-back, modes 0-5, port 0x61 and the TSC clock.

use super::pit::{PIT_HZ, Pit};

/// A TSC of 1193.182 MHz: exactly 1000 TSC ticks per PIT tick.
const TSC_KHZ: u64 = PIT_HZ;
const T: u64 = 1000;

fn read16(p: &mut Pit, port: u16, now: u64) -> u16 {
    let lo = p.read(port, now);
    let hi = p.read(port, now);
    u16::from(lo) | u16::from(hi) << 8
}

#[test]
fn linux_pit_calibration_loop_on_channel_2() {
    // pit_calibrate_tsc(): gate 2 on, speaker off; channel 2 mode 0 lobyte/hibyte; wait for OUT2.
    let mut p = Pit::new(TSC_KHZ);
    let b = p.read(0x61, 0);
    p.write(0x61, (b & !0x02) | 0x01, 0);
    p.write(0x43, 0xB0, 0);
    let latch = 11_932u16;
    let start = 10 * T;
    p.write(0x42, latch as u8, start);
    p.write(0x42, (latch >> 8) as u8, start);
    assert_eq!(p.read(0x61, start) & 0x21, 0x01, "OUT2 low, gate read back");
    assert_eq!(p.read(0x61, start + u64::from(latch) * T - 1) & 0x20, 0);
    assert_eq!(p.read(0x61, start + u64::from(latch) * T) & 0x20, 0x20);
}

#[test]
fn quick_pit_calibrate_reads_a_falling_count() {
    let mut p = Pit::new(TSC_KHZ);
    p.write(0x61, 0x01, 0);
    p.write(0x43, 0xB0, 0);
    p.write(0x42, 0xFF, 0);
    p.write(0x42, 0xFF, 0);
    assert_eq!(read16(&mut p, 0x42, 0), 0xFFFF);
    assert_eq!(read16(&mut p, 0x42, 256 * T), 0xFFFF - 256);
    assert_eq!(read16(&mut p, 0x42, 0xFFFF * T), 0);
    assert_eq!(p.read(0x61, 0xFFFF * T) & 0x20, 0x20);
    assert_eq!(read16(&mut p, 0x42, 0x1_0000 * T), 0xFFFF, "mode 0 wraps");
}

#[test]
fn gate_low_stops_mode_0() {
    let mut p = Pit::new(TSC_KHZ);
    p.write(0x43, 0xB0, 0);
    p.write(0x61, 0x01, 0);
    p.write(0x42, 100, 0);
    p.write(0x42, 0, 0);
    p.write(0x61, 0x00, 40 * T);
    assert_eq!(read16(&mut p, 0x42, 500 * T), 60);
    assert_eq!(p.read(0x61, 500 * T) & 0x20, 0);
    p.write(0x61, 0x01, 500 * T);
    assert_eq!(p.read(0x61, 559 * T) & 0x20, 0);
    assert_eq!(p.read(0x61, 560 * T + 1) & 0x20, 0x20);
}

#[test]
fn latch_and_read_back() {
    let mut p = Pit::new(TSC_KHZ);
    p.write(0x43, 0x34, 0); // channel 0, lobyte/hibyte, mode 2
    p.write(0x40, 0xE8, 0);
    p.write(0x40, 0x03, 0); // 1000
    p.write(0x43, 0x00, 10 * T);
    assert_eq!(read16(&mut p, 0x40, 500 * T), 990, "latched at tick 10");
    assert_eq!(read16(&mut p, 0x40, 500 * T), 500);
    // Read-back: status and count of channel 0.
    p.write(0x43, 0xC2, 600 * T);
    assert_eq!(
        p.read(0x40, 700 * T),
        0x80 | 0x34,
        "OUT high, mode 2, lobyte/hibyte"
    );
    assert_eq!(read16(&mut p, 0x40, 700 * T), 400);
    // Lobyte-only and hibyte-only access.
    p.write(0x43, 0x50, 0); // channel 1, lobyte, mode 0
    p.write(0x41, 0x20, 0);
    assert_eq!(p.read(0x41, 0), 0x20);
    p.write(0x43, 0x60, 0); // channel 1, hibyte, mode 0
    p.write(0x41, 0x02, 0);
    assert_eq!(p.read(0x41, 0x100 * T), 0x01);
    assert_eq!(p.read(0x43, 0), 0xFF);
}

#[test]
fn mode_3_square_wave_and_bcd() {
    let mut p = Pit::new(TSC_KHZ);
    p.write(0x43, 0x36, 0); // channel 0, mode 3
    p.write(0x40, 10, 0);
    p.write(0x40, 0, 0);
    assert!(p.out(0, 4 * T));
    assert!(!p.out(0, 5 * T));
    assert!(p.out(0, 10 * T));
    assert_eq!(p.take_irq0_edges(35 * T), 3);
    assert_eq!(p.next_irq0(), Some(40 * T));
    p.write(0x43, 0x31, 0); // channel 0, mode 0, BCD
    p.write(0x40, 0x00, 0);
    p.write(0x40, 0x10, 0); // 1000 decimal
    assert_eq!(read16(&mut p, 0x40, T), 0x0999);
    assert_eq!(p.next_irq0(), Some(1000 * T));
}

#[test]
fn modes_1_4_5() {
    let mut p = Pit::new(TSC_KHZ);
    // Mode 1 on channel 2: waits for a gate rising edge, OUT low until terminal count.
    p.write(0x61, 0, 0);
    p.write(0x43, 0xB2, 0);
    p.write(0x42, 50, 0);
    p.write(0x42, 0, 0);
    assert!(p.out(2, 100 * T));
    p.write(0x61, 1, 100 * T);
    assert!(!p.out(2, 120 * T));
    assert!(p.out(2, 150 * T));
    // Mode 4 on channel 1: one low tick at terminal count.
    p.write(0x43, 0x78, 0);
    p.write(0x41, 20, 0);
    p.write(0x41, 0, 0);
    assert!(p.out(1, 19 * T));
    assert!(!p.out(1, 20 * T));
    assert!(p.out(1, 21 * T));
    // Mode 5 on channel 2: the gate triggers the strobe.
    p.write(0x61, 0, 0);
    p.write(0x43, 0xBA, 0);
    p.write(0x42, 5, 0);
    p.write(0x42, 0, 0);
    p.write(0x61, 1, 10 * T);
    assert!(!p.out(2, 15 * T));
    assert!(p.out(2, 16 * T));
}
