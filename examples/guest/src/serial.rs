//! A polled 16550 UART driver on COM1, and `print!`/`println!` over it.
//!
//! This is what a real driver does: program the line (8 data bits, no parity, one stop bit,
//! divisor 1 = 115200 baud), then for each byte wait until the line status register says
//! the transmit holding register is empty (LSR.THRE) before writing the byte. Under the
//! example hypervisor each of these `IN`/`OUT` instructions is a VM exit, and the
//! hypervisor's UART model answers.

use core::fmt;

use example_guest::abi::serial::{
    BASE, IER, IIR_FCR, LCR, LCR_DLAB, LSR, LSR_TEMT, LSR_THRE, MCR, THR,
};

/// Bounded polling: a missing or broken UART must not hang the guest forever.
const POLL_LIMIT: u32 = 100_000;

fn outb(port: u16, value: u8) {
    // SAFETY: an OUT to the UART's own ports; it touches no memory.
    unsafe {
        core::arch::asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: an IN from the UART's own ports; it touches no memory.
    unsafe {
        core::arch::asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Programs the UART: no interrupts, 115200 baud 8N1, FIFOs on and cleared, DTR/RTS set.
pub fn init() {
    outb(BASE + IER, 0x00);
    outb(BASE + LCR, LCR_DLAB);
    outb(BASE + THR, 0x01); // divisor latch low: 1
    outb(BASE + IER, 0x00); // divisor latch high: 0
    outb(BASE + LCR, 0x03); // 8 data bits, no parity, 1 stop bit; DLAB off
    outb(BASE + IIR_FCR, 0xC7); // enable and clear the FIFOs
    outb(BASE + MCR, 0x03); // DTR, RTS
}

/// Waits (bounded) until the line status register has `bit` set.
fn wait_line_status(bit: u8) {
    for _ in 0..POLL_LIMIT {
        if inb(BASE + LSR) & bit != 0 {
            return;
        }
        core::hint::spin_loop();
    }
}

/// Sends one byte.
pub fn write_byte(byte: u8) {
    wait_line_status(LSR_THRE);
    outb(BASE + THR, byte);
}

/// Waits until every byte has left the transmitter.
pub fn flush() {
    wait_line_status(LSR_TEMT);
}

/// A `core::fmt::Write` sink on the UART.
pub struct Serial;

impl fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            write_byte(byte);
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    // Serial::write_str never fails.
    let _ = fmt::Write::write_fmt(&mut Serial, args);
}

/// Prints to the serial port.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::serial::_print(format_args!($($arg)*)) };
}

/// Prints a line to the serial port.
#[macro_export]
macro_rules! println {
    () => { $crate::serial::_print(format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::serial::_print(format_args!($($arg)*));
        $crate::serial::_print(format_args!("\n"));
    }};
}
