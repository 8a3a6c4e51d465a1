//! PCI configuration mechanism #1 with no devices (PCI Local Bus Specification 3.0 §3.2.2.3.2):
//! CONFIG_ADDRESS at 0xCF8 (dword accesses only), CONFIG_DATA at 0xCFC-0xCFF. No function
//! answers on any bus, so every configuration read returns all ones (a master abort) and
//! writes are dropped.

/// The CONFIG_ADDRESS port.
pub const CONFIG_ADDRESS: u16 = 0xCF8;
/// The CONFIG_DATA port (0xCFC-0xCFF).
pub const CONFIG_DATA: u16 = 0xCFC;

/// The host bridge's configuration mechanism.
#[derive(Clone, Debug, Default)]
pub struct PciHost {
    address: u32,
}

impl PciHost {
    /// The latched CONFIG_ADDRESS (bit 31 enable, bus 23:16, device 15:11, function 10:8,
    /// register 7:2; bits 30:24 and 1:0 read as 0).
    pub fn address(&self) -> u32 {
        self.address
    }

    /// Whether `port`/`size` is decoded here: a dword at 0xCF8 or any access inside
    /// 0xCFC-0xCFF.
    pub fn claims(port: u16, size: u8) -> bool {
        (port == CONFIG_ADDRESS && size == 4) || (CONFIG_DATA..=CONFIG_DATA + 3).contains(&port)
    }

    /// Reads a claimed port: CONFIG_ADDRESS back, or all ones from CONFIG_DATA.
    pub fn read(&self, port: u16) -> u32 {
        if port == CONFIG_ADDRESS {
            self.address
        } else {
            0xFFFF_FFFF
        }
    }

    /// Writes a claimed port: CONFIG_ADDRESS latches, CONFIG_DATA is dropped.
    pub fn write(&mut self, port: u16, value: u32) {
        if port == CONFIG_ADDRESS {
            self.address = value & 0x80FF_FFFC;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type1_probe_sees_no_device() {
        let mut p = PciHost::default();
        assert!(PciHost::claims(0xCF8, 4));
        assert!(!PciHost::claims(0xCF8, 1));
        assert!(!PciHost::claims(0xCFB, 1));
        assert!(PciHost::claims(0xCFE, 2));
        p.write(0xCF8, 0x8000_0000);
        assert_eq!(p.read(0xCF8), 0x8000_0000);
        p.write(0xCF8, 0xFFFF_FFFF);
        assert_eq!(p.address(), 0x80FF_FFFC);
        p.write(0xCFC, 0x1234);
        assert_eq!(p.read(0xCFC), 0xFFFF_FFFF);
    }
}
