//! An 82093AA-style I/O APIC with 24 pins: IOREGSEL/IOWIN, ID, version, arbitration ID and
//! the redirection table, with edge and level semantics and remote IRR (82093AA datasheet
//! §3; Intel SDM Vol. 3A §12.1 and §12.8.5 for the EOI message).

use super::delivery::{DeliveryMode, Destination, Message};

/// The I/O APIC's default MMIO base (MP table and 82093AA datasheet §3.0).
pub const IOAPIC_BASE: u64 = 0xFEC0_0000;
/// IOREGSEL's offset in the MMIO window.
pub const IOREGSEL: u32 = 0x00;
/// IOWIN's offset in the MMIO window.
pub const IOWIN: u32 = 0x10;
/// Number of input pins (redirection entries).
pub const IOAPIC_PINS: usize = 24;
/// The version register: version 0x11, maximum redirection entry 23 (82093AA §3.2.2).
pub const IOAPIC_VERSION: u32 = 0x0017_0011;

const MASK: u64 = 1 << 16;
const TRIGGER_LEVEL: u64 = 1 << 15;
const REMOTE_IRR: u64 = 1 << 14;
const POLARITY_LOW: u64 = 1 << 13;
/// Writable bits of a redirection entry: everything but delivery status and remote IRR.
const WRITABLE: u64 = 0xFF00_0000_0001_AFFF;

/// The I/O APIC (82093AA datasheet §3).
#[derive(Clone, Debug)]
pub struct IoApic {
    id: u8,
    ioregsel: u8,
    redirection: [u64; IOAPIC_PINS],
    /// Electrical level of each input line (bit per pin).
    lines: u32,
}

impl IoApic {
    /// An I/O APIC with ID `id`, every pin masked, edge-triggered, active high.
    pub fn new(id: u8) -> IoApic {
        IoApic {
            id,
            ioregsel: 0,
            redirection: [MASK; IOAPIC_PINS],
            lines: 0,
        }
    }

    /// The redirection entry of `pin` (0 for a pin out of range).
    pub fn entry(&self, pin: usize) -> u64 {
        self.redirection.get(pin).copied().unwrap_or(0)
    }

    /// Whether `pin` is masked (an absent pin counts as masked).
    pub fn masked(&self, pin: usize) -> bool {
        self.entry(pin) & MASK != 0 || pin >= IOAPIC_PINS
    }

    /// Reads the MMIO window at `offset` (IOREGSEL at 0x00, IOWIN at 0x10; other offsets
    /// read 0).
    pub fn mmio_read(&self, offset: u32) -> u32 {
        match offset {
            IOREGSEL => u32::from(self.ioregsel),
            IOWIN => self.read_register(self.ioregsel),
            _ => 0,
        }
    }

    /// Writes the MMIO window at `offset`; returns the messages the write releases
    /// (unmasking an asserted level-triggered pin delivers it).
    pub fn mmio_write(&mut self, offset: u32, value: u32) -> Option<Message> {
        match offset {
            IOREGSEL => {
                self.ioregsel = value as u8;
                None
            }
            IOWIN => self.write_register(self.ioregsel, value),
            _ => None,
        }
    }

    /// Reads indirect register `index` (82093AA §3.2): 0x00 ID, 0x01 version, 0x02
    /// arbitration ID, 0x10 + 2n / 0x11 + 2n redirection entry n low / high; others read 0.
    pub fn read_register(&self, index: u8) -> u32 {
        match index {
            0x00 => u32::from(self.id & 0xF) << 24,
            0x01 => IOAPIC_VERSION,
            0x02 => u32::from(self.id & 0xF) << 24,
            0x10..=0x3F => {
                let entry = self.redirection[usize::from((index - 0x10) / 2)];
                if index & 1 == 0 {
                    entry as u32
                } else {
                    (entry >> 32) as u32
                }
            }
            _ => 0,
        }
    }

    /// Writes indirect register `index`; returns a message if the write unmasks (or
    /// re-targets) an asserted level-triggered pin with remote IRR clear.
    pub fn write_register(&mut self, index: u8, value: u32) -> Option<Message> {
        match index {
            0x00 => {
                self.id = ((value >> 24) & 0xF) as u8;
                None
            }
            0x10..=0x3F => {
                let pin = usize::from((index - 0x10) / 2);
                let old = self.redirection[pin];
                let new = if index & 1 == 0 {
                    (old & !0xFFFF_FFFF) | u64::from(value)
                } else {
                    (old & 0xFFFF_FFFF) | (u64::from(value) << 32)
                };
                self.redirection[pin] = (new & WRITABLE) | (old & !WRITABLE);
                if self.redirection[pin] & TRIGGER_LEVEL == 0 {
                    self.redirection[pin] &= !REMOTE_IRR;
                }
                self.level_check(pin)
            }
            _ => None,
        }
    }

    fn asserted(&self, pin: usize) -> bool {
        let high = self.lines & (1 << pin) != 0;
        high != (self.redirection[pin] & POLARITY_LOW != 0)
    }

    /// A level-triggered pin that is asserted, unmasked and has remote IRR clear sends its
    /// message and sets remote IRR (82093AA §3.2.4).
    fn level_check(&mut self, pin: usize) -> Option<Message> {
        let entry = self.redirection[pin];
        if entry & TRIGGER_LEVEL == 0 || entry & (MASK | REMOTE_IRR) != 0 || !self.asserted(pin) {
            return None;
        }
        let message = message(entry);
        if matches!(
            message.mode,
            DeliveryMode::Fixed | DeliveryMode::LowestPriority
        ) {
            self.redirection[pin] |= REMOTE_IRR;
        }
        Some(message)
    }

    /// Sets the electrical level of input `pin` (`high`); returns the message this sends:
    /// an edge-triggered pin sends one on each transition to its active level (a masked
    /// pin loses it), a level-triggered pin while active with remote IRR clear. Pins out of
    /// range are ignored.
    pub fn set_line(&mut self, pin: usize, high: bool) -> Option<Message> {
        if pin >= IOAPIC_PINS {
            return None;
        }
        let was = self.asserted(pin);
        if high {
            self.lines |= 1 << pin;
        } else {
            self.lines &= !(1 << pin);
        }
        let entry = self.redirection[pin];
        if entry & TRIGGER_LEVEL != 0 {
            self.level_check(pin)
        } else if !was && self.asserted(pin) && entry & MASK == 0 {
            Some(message(entry))
        } else {
            None
        }
    }

    /// The EOI message for `vector` (Intel SDM Vol. 3A §12.8.5): clears remote IRR of every
    /// level-triggered pin with that vector; pins still asserted send again.
    pub fn eoi(&mut self, vector: u8) -> alloc::vec::Vec<Message> {
        let mut out = alloc::vec::Vec::new();
        for pin in 0..IOAPIC_PINS {
            let entry = self.redirection[pin];
            if entry & TRIGGER_LEVEL != 0 && entry as u8 == vector && entry & REMOTE_IRR != 0 {
                self.redirection[pin] &= !REMOTE_IRR;
                out.extend(self.level_check(pin));
            }
        }
        out
    }
}

/// The message a redirection entry describes (82093AA §3.2.4): vector 7:0, delivery mode
/// 10:8, destination mode 11 (logical when set), trigger mode 15, destination 63:56.
pub fn message(entry: u64) -> Message {
    let dest = (entry >> 56) as u8;
    Message {
        vector: entry as u8,
        mode: DeliveryMode::decode((entry >> 8) as u32, true),
        destination: if entry & (1 << 11) != 0 {
            Destination::Logical(dest)
        } else {
            Destination::Physical(dest)
        },
        level_triggered: entry & TRIGGER_LEVEL != 0,
        assert: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(io: &mut IoApic, pin: u8, low: u32, high: u32) -> Option<Message> {
        io.write_register(0x11 + 2 * pin, high);
        io.write_register(0x10 + 2 * pin, low)
    }

    #[test]
    fn registers() {
        let mut io = IoApic::new(2);
        assert_eq!(io.read_register(0), 2 << 24);
        assert_eq!(io.read_register(1), 0x0017_0011);
        assert_eq!(io.read_register(2), 2 << 24);
        io.mmio_write(IOREGSEL, 0x01);
        assert_eq!(io.mmio_read(IOREGSEL), 1);
        assert_eq!(io.mmio_read(IOWIN), 0x0017_0011);
        assert_eq!(io.read_register(0x10), 0x1_0000);
        assert_eq!(io.read_register(0x40), 0);
        // Delivery status and remote IRR are read-only.
        io.write_register(0x12, 0x5030);
        assert_eq!(io.read_register(0x12), 0x0030);
        io.write_register(0x13, 0x0300_0000);
        assert_eq!(io.read_register(0x13), 0x0300_0000);
    }

    #[test]
    fn edge_pin_fires_on_rising_edge_only_when_unmasked() {
        let mut io = IoApic::new(0);
        assert_eq!(io.set_line(4, true), None);
        io.set_line(4, false);
        program(&mut io, 4, 0x0000_0034, 0x0100_0000);
        let m = io.set_line(4, true).expect("edge");
        assert_eq!(m.vector, 0x34);
        assert_eq!(m.destination, Destination::Physical(1));
        assert!(!m.level_triggered);
        assert_eq!(io.set_line(4, true), None);
        io.set_line(4, false);
        assert!(io.set_line(4, true).is_some());
    }

    #[test]
    fn level_pin_remote_irr_and_eoi() {
        let mut io = IoApic::new(0);
        program(&mut io, 9, 0x0001_8841, 0x0300_0000);
        assert_eq!(io.set_line(9, true), None, "masked");
        let m = program(&mut io, 9, 0x0000_8841, 0x0300_0000).expect("unmask delivers");
        assert_eq!(m.destination, Destination::Logical(3));
        assert!(m.level_triggered);
        assert_eq!(m.mode, DeliveryMode::Fixed);
        assert_ne!(io.read_register(0x22) & (1 << 14), 0);
        assert_eq!(io.set_line(9, true), None, "remote IRR blocks");
        assert_eq!(io.eoi(0x41).len(), 1, "still asserted: sent again");
        io.set_line(9, false);
        assert!(io.eoi(0x41).is_empty());
        assert_eq!(io.read_register(0x22) & (1 << 14), 0);
        assert_eq!(io.eoi(0x42), vec![]);
    }

    #[test]
    fn active_low_polarity() {
        let mut io = IoApic::new(0);
        program(&mut io, 3, 0x0000_2030, 0);
        assert_eq!(io.set_line(3, true), None);
        assert!(io.set_line(3, false).is_some());
    }
}
