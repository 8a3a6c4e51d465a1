//! Reset sources: the keyboard controller's pulse-reset command (0xFE to port 0x64), the
//! reset control register at 0xCF9 (Intel PCH datasheets, "Reset Control Register") and
//! System Control Port A at 0x92 (fast reset, A20). There is no i8042: its ports 0x60 and
//! 0x64 read all ones.

/// Something that ends or restarts the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PowerEvent {
    /// The guest asked for a system reset (reboot).
    Reset,
}

/// The reset-related ports.
#[derive(Clone, Debug, Default)]
pub struct ResetControl {
    /// 0xCF9 bits 3:1 (full reset, reset CPU, system reset).
    cf9: u8,
    /// 0x92 bits 1:0 (A20 gate, fast reset).
    port_a: u8,
}

impl ResetControl {
    /// Whether `port`/`size` is decoded here (0x60, 0x64, 0x92 and a byte at 0xCF9).
    pub fn claims(port: u16, size: u8) -> bool {
        matches!(port, 0x60 | 0x64 | 0x92) || (port == 0xCF9 && size == 1)
    }

    /// Reads a claimed port.
    pub fn read(&self, port: u16) -> u8 {
        match port {
            0x92 => self.port_a,
            0xCF9 => self.cf9,
            _ => 0xFF,
        }
    }

    /// Writes a claimed port; returns [`PowerEvent::Reset`] for 0xFE to 0x64, a 0-to-1
    /// transition of 0xCF9 bit 2 (reset CPU; hard or soft as bit 1 says, both restart the
    /// guest) or of 0x92 bit 0 (fast reset).
    pub fn write(&mut self, port: u16, value: u8) -> Option<PowerEvent> {
        match port {
            0x64 if value == 0xFE => Some(PowerEvent::Reset),
            0xCF9 => {
                let rising = value & 4 != 0 && self.cf9 & 4 == 0;
                self.cf9 = value & 0x0E;
                if rising {
                    self.cf9 &= !4;
                    Some(PowerEvent::Reset)
                } else {
                    None
                }
            }
            0x92 => {
                let rising = value & 1 != 0 && self.port_a & 1 == 0;
                self.port_a = value & 3;
                if rising {
                    self.port_a &= !1;
                    Some(PowerEvent::Reset)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Whether 0x92 bit 1 enables A20.
    pub fn a20(&self) -> bool {
        self.port_a & 2 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_sources() {
        let mut r = ResetControl::default();
        assert_eq!(r.read(0x64), 0xFF);
        assert_eq!(r.read(0x60), 0xFF);
        assert_eq!(r.write(0x64, 0xD1), None);
        assert_eq!(r.write(0x64, 0xFE), Some(PowerEvent::Reset));
        assert_eq!(r.write(0xCF9, 0x02), None);
        assert_eq!(r.read(0xCF9), 0x02);
        assert_eq!(r.write(0xCF9, 0x06), Some(PowerEvent::Reset));
        assert_eq!(r.write(0x92, 0x02), None);
        assert!(r.a20());
        assert_eq!(r.write(0x92, 0x03), Some(PowerEvent::Reset));
        assert!(ResetControl::claims(0xCF9, 1));
        assert!(!ResetControl::claims(0xCF9, 4));
    }
}
