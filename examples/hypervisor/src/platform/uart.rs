//! A 16550A UART with interrupts (COM1: ports 0x3F8-0x3FF, ISA IRQ 4): RBR/THR, IER, IIR
//! with its priorities, FCR (16-byte FIFOs), LCR with DLAB and the divisor latch, MCR (OUT2
//! gates the IRQ line on the PC, loopback), LSR, MSR and SCR (PC16550D datasheet, register
//! descriptions). Transmission is instantaneous: THR writes land in the console output at
//! once and the transmitter is empty again.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// COM1's base port.
pub const COM1_PORT: u16 = 0x3F8;
/// COM1's ISA IRQ.
pub const COM1_IRQ: u8 = 4;
const FIFO_SIZE: usize = 16;

const IER_RDA: u8 = 1;
const IER_THRE: u8 = 2;
const IER_RLS: u8 = 4;
const IER_MS: u8 = 8;
const LSR_DR: u8 = 1;
const LSR_OE: u8 = 2;
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;
const MCR_OUT2: u8 = 8;
const MCR_LOOP: u8 = 0x10;
/// Modem status lines of the attached console: CTS, DSR and DCD asserted.
const MSR_CONNECTED: u8 = 0xB0;

/// The 16550A (PC16550D datasheet).
#[derive(Clone, Debug)]
pub struct Uart16550 {
    rx: VecDeque<u8>,
    /// Bytes received from the host that did not fit in the receiver yet.
    backlog: VecDeque<u8>,
    ier: u8,
    fcr: u8,
    lcr: u8,
    mcr: u8,
    overrun: bool,
    /// The THR-empty interrupt is pending (cleared by reading IIR or writing THR).
    thre_pending: bool,
    msr_lines: u8,
    msr_delta: u8,
    scr: u8,
    divisor: u16,
    output: Vec<u8>,
}

impl Default for Uart16550 {
    fn default() -> Self {
        Uart16550::new()
    }
}

impl Uart16550 {
    /// A UART in its reset state (no interrupts enabled, FIFOs off, divisor 12 = 9600 baud).
    pub fn new() -> Uart16550 {
        Uart16550 {
            rx: VecDeque::new(),
            backlog: VecDeque::new(),
            ier: 0,
            fcr: 0,
            lcr: 0,
            mcr: 0,
            overrun: false,
            thre_pending: false,
            msr_lines: MSR_CONNECTED,
            msr_delta: 0,
            scr: 0,
            divisor: 12,
            output: Vec::new(),
        }
    }

    fn fifo_enabled(&self) -> bool {
        self.fcr & 1 != 0
    }

    fn capacity(&self) -> usize {
        if self.fifo_enabled() { FIFO_SIZE } else { 1 }
    }

    fn trigger_level(&self) -> usize {
        if !self.fifo_enabled() {
            return 1;
        }
        [1, 4, 8, 14][usize::from(self.fcr >> 6)]
    }

    fn dlab(&self) -> bool {
        self.lcr & 0x80 != 0
    }

    fn loopback(&self) -> bool {
        self.mcr & MCR_LOOP != 0
    }

    fn refill(&mut self) {
        while self.rx.len() < self.capacity() {
            match self.backlog.pop_front() {
                Some(b) => self.rx.push_back(b),
                None => break,
            }
        }
    }

    fn receive(&mut self, byte: u8) {
        if self.rx.len() < self.capacity() {
            self.rx.push_back(byte);
        } else {
            self.overrun = true;
        }
    }

    /// Bytes from the host console (kept in order; they enter the receiver FIFO as it has
    /// room, so the host never overruns it).
    pub fn console_input(&mut self, bytes: &[u8]) {
        self.backlog.extend(bytes.iter().copied());
        self.refill();
    }

    /// Takes the bytes the guest transmitted.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.output)
    }

    fn modem_status(&self) -> u8 {
        if self.loopback() {
            // DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
            let m = self.mcr;
            ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4)
        } else {
            self.msr_lines
        }
    }

    /// The interrupt identification (IIR bits 3:0) of the highest-priority pending source:
    /// receiver line status 0110b, received data 0100b (character timeout 1100b when the
    /// FIFO holds fewer bytes than its trigger level), THR empty 0010b, modem status 0000b,
    /// none 0001b.
    fn interrupt_id(&self) -> u8 {
        if self.ier & IER_RLS != 0 && self.overrun {
            0x6
        } else if self.ier & IER_RDA != 0 && !self.rx.is_empty() {
            if self.rx.len() >= self.trigger_level() {
                0x4
            } else {
                0xC
            }
        } else if self.ier & IER_THRE != 0 && self.thre_pending {
            0x2
        } else if self.ier & IER_MS != 0 && self.msr_delta != 0 {
            0x0
        } else {
            0x1
        }
    }

    /// The level of the IRQ line to the interrupt controller: an interrupt is pending and
    /// MCR.OUT2 is set (the PC's gate); loopback forces OUT2 inactive.
    pub fn irq_line(&self) -> bool {
        self.interrupt_id() & 1 == 0 && self.mcr & MCR_OUT2 != 0 && !self.loopback()
    }

    /// Reads register `offset` (0-7 from the base port).
    pub fn read(&mut self, offset: u16) -> u8 {
        match offset {
            0 if self.dlab() => self.divisor as u8,
            0 => {
                let byte = self.rx.pop_front().unwrap_or(0);
                self.refill();
                byte
            }
            1 if self.dlab() => (self.divisor >> 8) as u8,
            1 => self.ier,
            2 => {
                let id = self.interrupt_id();
                if id == 0x2 {
                    self.thre_pending = false;
                }
                id | if self.fifo_enabled() { 0xC0 } else { 0 }
            }
            3 => self.lcr,
            4 => self.mcr,
            5 => {
                let lsr = if self.rx.is_empty() { 0 } else { LSR_DR }
                    | if self.overrun { LSR_OE } else { 0 }
                    | LSR_THRE
                    | LSR_TEMT;
                self.overrun = false;
                lsr
            }
            6 => {
                let msr = self.modem_status() | self.msr_delta;
                self.msr_delta = 0;
                msr
            }
            7 => self.scr,
            _ => 0xFF,
        }
    }

    /// Writes register `offset` (0-7 from the base port).
    pub fn write(&mut self, offset: u16, value: u8) {
        match offset {
            0 if self.dlab() => self.divisor = (self.divisor & 0xFF00) | u16::from(value),
            0 => {
                if self.loopback() {
                    self.receive(value);
                } else {
                    self.output.push(value);
                }
                // The byte leaves at once: THR is empty again.
                self.thre_pending = true;
            }
            1 if self.dlab() => self.divisor = (self.divisor & 0x00FF) | (u16::from(value) << 8),
            1 => {
                let enabling_thre = value & IER_THRE != 0 && self.ier & IER_THRE == 0;
                self.ier = value & 0x0F;
                if enabling_thre {
                    self.thre_pending = true;
                }
            }
            2 => {
                if (value ^ self.fcr) & 1 != 0 || value & 2 != 0 {
                    self.rx.clear();
                }
                self.fcr = value & 0xC1;
                self.refill();
            }
            3 => self.lcr = value,
            4 => {
                let before = self.modem_status();
                self.mcr = value & 0x1F;
                let after = self.modem_status();
                self.note_modem_change(before, after);
            }
            7 => self.scr = value,
            _ => {}
        }
    }

    /// Records delta bits for modem-status changes (DCTS, DDSR, TERI on RI going inactive,
    /// DDCD).
    fn note_modem_change(&mut self, before: u8, after: u8) {
        let changed = before ^ after;
        let mut delta = (changed >> 4) & 0b1011;
        if before & 0x40 != 0 && after & 0x40 == 0 {
            delta |= 0b0100;
        }
        self.msr_delta |= delta;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_detection_and_iir_bits() {
        let mut u = Uart16550::new();
        assert_eq!(u.read(2), 0x01);
        u.write(2, 0x01);
        assert_eq!(u.read(2) >> 6, 3);
        assert_eq!(u.read(2) & 0x3F, 0x01);
    }

    #[test]
    fn scratch_and_divisor() {
        let mut u = Uart16550::new();
        u.write(7, 0x5A);
        assert_eq!(u.read(7), 0x5A);
        u.write(3, 0x83);
        u.write(0, 0x01);
        u.write(1, 0x00);
        assert_eq!(u.read(0), 0x01);
        assert_eq!(u.read(1), 0x00);
        u.write(3, 0x03);
        assert_eq!(u.read(1), 0);
        assert_eq!(u.read(3), 0x03);
    }

    #[test]
    fn transmit_and_thre_interrupt() {
        let mut u = Uart16550::new();
        u.write(4, MCR_OUT2);
        assert!(!u.irq_line());
        u.write(1, IER_THRE);
        assert!(u.irq_line(), "enabling THRE with THR empty interrupts");
        assert_eq!(u.read(2), 0x02);
        assert!(!u.irq_line(), "reading IIR clears THRE");
        u.write(0, b'h');
        u.write(0, b'i');
        assert!(u.irq_line());
        assert_eq!(u.take_output(), b"hi".to_vec());
        assert_eq!(u.read(5) & 0x61, 0x60);
        u.write(4, 0);
        assert!(!u.irq_line(), "OUT2 gates the line");
    }

    #[test]
    fn receive_priorities_and_timeout() {
        let mut u = Uart16550::new();
        u.write(4, MCR_OUT2);
        u.write(2, 0xC1); // FIFO on, trigger 14
        u.write(1, IER_RDA | IER_THRE);
        u.console_input(b"ab");
        assert_eq!(u.read(2), 0xCC, "below trigger level: character timeout");
        assert_eq!(u.read(5) & LSR_DR, LSR_DR);
        assert_eq!(u.read(0), b'a');
        assert_eq!(u.read(0), b'b');
        assert_eq!(u.read(5) & LSR_DR, 0);
        assert_eq!(u.read(2), 0xC2, "then THR empty");
        assert_eq!(u.read(2), 0xC1);
        u.write(2, 0x01); // trigger 1
        u.console_input(&[7; 40]);
        assert_eq!(u.read(2), 0xC4);
        let got: Vec<u8> = (0..40).map(|_| u.read(0)).collect();
        assert_eq!(got, vec![7; 40], "backlog refills the FIFO");
    }

    #[test]
    fn loopback_and_overrun() {
        let mut u = Uart16550::new();
        u.write(4, MCR_LOOP | 0x0A);
        assert_eq!(u.read(6) & 0xF0, 0x90);
        u.write(1, IER_RLS);
        u.write(0, 1);
        u.write(0, 2);
        assert_eq!(u.read(2), 0x06, "overrun without FIFO");
        assert!(!u.irq_line(), "loopback disconnects the IRQ");
        assert_eq!(u.read(5) & (LSR_OE | LSR_DR), LSR_OE | LSR_DR);
        assert_eq!(u.read(5) & LSR_OE, 0);
        assert_eq!(u.read(0), 1);
        assert!(u.take_output().is_empty());
    }

    #[test]
    fn modem_status_interrupt() {
        let mut u = Uart16550::new();
        u.write(4, MCR_LOOP);
        assert_eq!(u.read(6), 0x0B, "entering loopback drops CTS, DSR, DCD");
        u.write(1, IER_MS);
        assert_eq!(u.read(2), 0x01);
        u.write(4, MCR_LOOP | 0x02);
        assert_eq!(u.read(2), 0x00);
        assert_eq!(u.read(6), 0x11);
        assert_eq!(u.read(2), 0x01);
    }
}
