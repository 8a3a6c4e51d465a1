//! The console: COM1 (a 16550 UART) plus a mirror on Bochs's port 0xE9.
//!
//! Every byte goes to both. Port 0xE9 ("port_e9_hack" in bochsrc) is copied to Bochs's
//! stdout without pacing: the `ci` tool streams and parses that. COM1 is programmed for
//! 115200 baud 8N1 (divisor 1) and polled (LSR.THRE before each byte); Bochs writes it to
//! `serial.txt`, paced by the emulated baud rate. [`flush`] waits for LSR.TEMT so that no
//! byte is lost when the run ends. On real hardware or QEMU without port 0xE9 the mirror
//! writes go nowhere.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::cpu::{inb, outb};

const COM1: u16 = 0x3F8;
const E9: u16 = 0xE9;
const LSR_THRE: u8 = 1 << 5;
const LSR_TEMT: u8 = 1 << 6;
/// Bounded polling: a missing UART must not hang the kernel.
const POLL_LIMIT: u32 = 1_000_000;

/// Programs COM1: interrupts off, divisor 1 (115200 baud), 8 data bits, no parity, one stop
/// bit, FIFOs enabled and cleared, DTR/RTS set.
pub fn init() {
    // SAFETY: these writes only program the COM1 UART.
    unsafe {
        outb(COM1 + 1, 0x00); // IER: no interrupts
        outb(COM1 + 3, 0x80); // LCR: DLAB
        outb(COM1, 0x01); // DLL
        outb(COM1 + 1, 0x00); // DLM
        outb(COM1 + 3, 0x03); // LCR: 8N1, DLAB off
        outb(COM1 + 2, 0xC7); // FCR: enable + clear FIFOs
        outb(COM1 + 4, 0x0B); // MCR: DTR, RTS, OUT2
    }
}

fn wait_lsr(bit: u8) {
    for _ in 0..POLL_LIMIT {
        // SAFETY: reading LSR has no side effect beyond clearing error bits.
        if unsafe { inb(COM1 + 5) } & bit != 0 {
            return;
        }
    }
}

/// Whether bytes also go to COM1 (see [`set_com1`]).
static COM1_ON: AtomicBool = AtomicBool::new(true);

/// Turns the COM1 copy of the console on or off (port 0xE9 always gets every byte).
///
/// COM1 is paced by the emulated baud rate (about 8.7 emulated microseconds a byte at
/// 115200 baud, thousands of emulated instructions at the `ips` Linux runs use), so a
/// program that prints a lot on a hot path, like a hypervisor forwarding its guest's
/// console, turns it off and leaves port 0xE9, which Bochs copies to its stdout unpaced.
pub fn set_com1(on: bool) {
    COM1_ON.store(on, Ordering::Relaxed);
}

/// Writes one byte to port 0xE9 and, unless [`set_com1`] turned it off, COM1.
pub fn write_byte(b: u8) {
    // SAFETY: port 0xE9 is Bochs's debug port (ignored elsewhere); COM1 THR after THRE.
    unsafe { outb(E9, b) };
    if !COM1_ON.load(Ordering::Relaxed) {
        return;
    }
    wait_lsr(LSR_THRE);
    // SAFETY: the transmitter holding register is empty (LSR.THRE, waited for above), so
    // the byte is queued for sending and no other device or memory is affected.
    unsafe { outb(COM1, b) };
}

/// Writes a string, bytes unchanged (no `\r` added).
pub fn write_str(s: &str) {
    for b in s.bytes() {
        write_byte(b);
    }
}

/// Waits until COM1 has sent every byte (LSR.TEMT).
pub fn flush() {
    if !COM1_ON.load(Ordering::Relaxed) {
        return;
    }
    wait_lsr(LSR_TEMT);
}

/// A `core::fmt::Write` sink for the console. Unlocked: the kernel is single-threaded; an
/// interrupt handler that prints may interleave its bytes with the interrupted line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_str(s);
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    // Console::write_str never fails.
    let _ = fmt::Write::write_fmt(&mut Console, args);
}

/// Prints to the console (COM1 and port 0xE9), like `std::print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::_print(format_args!($($arg)*)) };
}

/// Prints a line to the console (COM1 and port 0xE9), like `std::println!`.
#[macro_export]
macro_rules! println {
    () => { $crate::console::write_str("\n") };
    ($($arg:tt)*) => {{
        $crate::console::_print(format_args!($($arg)*));
        $crate::console::write_str("\n");
    }};
}
