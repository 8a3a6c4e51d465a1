//! The 16550 UART model behind the guest's serial port (COM1).
//!
//! Enough of a 16550 for a polled driver: the transmitter is always ready (LSR.THRE and
//! LSR.TEMT set), bytes written to THR are collected into lines, the divisor latch, LCR,
//! IER, MCR and the scratch register hold what is written, and the receiver is always empty.
//! Register layout: PC16550D datasheet (and [`example_guest::abi::serial`]).

use alloc::string::String;

use example_guest::abi::serial::{
    IER, IIR_FCR, LCR, LCR_DLAB, LSR, LSR_TEMT, LSR_THRE, MCR, MSR, SCR, THR,
};

/// IIR value with no interrupt pending (bit 0 set), FIFOs enabled (bits 7:6).
const IIR_NO_INTERRUPT_FIFO: u8 = 0xC1;
/// MSR value with CTS, DSR and DCD asserted (a connected line).
const MSR_CONNECTED: u8 = 0xB0;
/// Lines longer than this are split (a guest that never sends `\n` must not grow the
/// buffer without bound).
pub const MAX_LINE: usize = 200;

/// The UART's registers and the line being assembled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uart {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scratch: u8,
    divisor: u16,
    fifo_enabled: bool,
    line: String,
    bytes_sent: u64,
}

impl Uart {
    /// A UART in its reset state.
    pub fn new() -> Self {
        Self::default()
    }

    fn dlab(&self) -> bool {
        self.lcr & LCR_DLAB != 0
    }

    /// Reads the register at `offset` (0-7 from the base port).
    pub fn read(&self, offset: u16) -> u8 {
        match offset {
            THR if self.dlab() => self.divisor.to_le_bytes()[0],
            THR => 0, // receive buffer: nothing ever arrives
            IER if self.dlab() => self.divisor.to_le_bytes()[1],
            IER => self.ier,
            IIR_FCR if self.fifo_enabled => IIR_NO_INTERRUPT_FIFO,
            IIR_FCR => 0x01,
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => LSR_THRE | LSR_TEMT,
            MSR => MSR_CONNECTED,
            SCR => self.scratch,
            _ => 0xFF,
        }
    }

    /// Writes `value` to the register at `offset`. Returns a complete line (without its
    /// `\n`; a `\r` is dropped) when a byte sent ends one.
    pub fn write(&mut self, offset: u16, value: u8) -> Option<String> {
        match offset {
            THR if self.dlab() => self.divisor = (self.divisor & 0xFF00) | u16::from(value),
            THR => return self.transmit(value),
            IER if self.dlab() => self.divisor = (self.divisor & 0x00FF) | (u16::from(value) << 8),
            IER => self.ier = value & 0x0F,
            IIR_FCR => self.fifo_enabled = value & 1 != 0,
            LCR => self.lcr = value,
            MCR => self.mcr = value & 0x1F,
            SCR => self.scratch = value,
            _ => {} // LSR and MSR are read-only
        }
        None
    }

    fn transmit(&mut self, byte: u8) -> Option<String> {
        self.bytes_sent += 1;
        match byte {
            b'\n' => Some(core::mem::take(&mut self.line)),
            b'\r' => None,
            _ => {
                // Printable ASCII as is; anything else shown as an escape.
                if byte.is_ascii_graphic() || byte == b' ' {
                    self.line.push(char::from(byte));
                } else {
                    use core::fmt::Write;
                    let _ = write!(self.line, "\\x{byte:02x}");
                }
                (self.line.len() >= MAX_LINE).then(|| core::mem::take(&mut self.line))
            }
        }
    }

    /// The partial line not yet ended by `\n` (to print when the guest stops).
    pub fn take_partial_line(&mut self) -> Option<String> {
        (!self.line.is_empty()).then(|| core::mem::take(&mut self.line))
    }

    /// Bytes the guest has sent.
    pub const fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// The programmed divisor latch.
    pub const fn divisor(&self) -> u16 {
        self.divisor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_polled_driver_sends_lines() {
        let mut uart = Uart::new();
        // The guest's init sequence.
        for (offset, value) in [
            (IER, 0),
            (LCR, 0x80),
            (THR, 1),
            (IER, 0),
            (LCR, 3),
            (IIR_FCR, 0xC7),
            (MCR, 3),
        ] {
            assert_eq!(uart.write(offset, value), None);
        }
        assert_eq!(uart.divisor(), 1);
        assert_eq!(uart.read(LCR), 3);
        assert_eq!(uart.read(IIR_FCR), IIR_NO_INTERRUPT_FIFO);
        assert_ne!(uart.read(LSR) & LSR_THRE, 0);
        for b in b"hi\r" {
            assert_eq!(uart.write(THR, *b), None);
        }
        assert_eq!(uart.write(THR, b'\n').as_deref(), Some("hi"));
        uart.write(THR, 7);
        assert_eq!(uart.take_partial_line().as_deref(), Some("\\x07"));
        assert_eq!(uart.take_partial_line(), None);
        assert_eq!(uart.bytes_sent(), 5);
    }

    proptest! {
        #[test]
        fn lines_stay_bounded(writes in proptest::collection::vec((0u16..10, any::<u8>()), 0..600)) {
            let mut uart = Uart::new();
            for (offset, value) in writes {
                if let Some(line) = uart.write(offset, value) {
                    prop_assert!(line.len() <= MAX_LINE + 4);
                }
                let _ = uart.read(offset);
            }
        }
    }
}
