//! The guest's console: its COM1 output printed on the host's console (whole lines as
//! `guest: <line>` in batch mode, raw bytes in interactive mode), the init markers it
//! watches for, and the host's COM1 input in interactive mode.

use alloc::vec::Vec;

use baremetal::println;
use example_hypervisor::linux::console_lines::{LineAssembler, init_done_status, is_init_marker};

use example_hypervisor::linux::vm_config::ConsoleMode;

/// Line assembly and marker tracking.
pub struct GuestConsole {
    mode: ConsoleMode,
    lines: LineAssembler,
    /// TSC at which the init marker line was seen.
    pub marker_tsc: Option<u64>,
    /// The status of `VMXRS-INIT-DONE status=<n>`.
    pub done_status: Option<i64>,
}

impl GuestConsole {
    /// An empty console. In batch mode the host's console stops copying to its COM1
    /// (`baremetal::console::set_com1`): every forwarded guest byte would otherwise cost
    /// the host thousands of emulated instructions of UART pacing, counted in the guest's
    /// TSC; port 0xE9, which `cargo ci` reads, still gets everything. Interactive mode
    /// keeps COM1: it is the terminal.
    pub fn new(mode: ConsoleMode) -> Self {
        if mode == ConsoleMode::Batch {
            baremetal::console::set_com1(false);
        }
        Self {
            mode,
            lines: LineAssembler::new(),
            marker_tsc: None,
            done_status: None,
        }
    }

    /// Takes bytes the guest sent at TSC `now`.
    pub fn feed(&mut self, bytes: &[u8], now: u64) {
        for &b in bytes {
            if self.mode == ConsoleMode::Interactive {
                baremetal::console::write_byte(b);
            }
            if let Some(line) = self.lines.push(b) {
                self.end_line(&line, now);
            }
        }
    }

    /// Prints a partial last line (at the end of the run).
    pub fn flush(&mut self, now: u64) {
        if let Some(line) = self.lines.take_partial() {
            self.end_line(&line, now);
        }
    }

    fn end_line(&mut self, text: &str, now: u64) {
        if self.mode == ConsoleMode::Batch {
            println!("guest: {text}");
        }
        if self.marker_tsc.is_none() && is_init_marker(text) {
            self.marker_tsc = Some(now);
        }
        if let Some(status) = init_done_status(text) {
            self.done_status = Some(status);
        }
    }
}

/// COM1's line status register and receive buffer (16550: LSR bit 0 = data ready).
const COM1: u16 = 0x3F8;
const LSR_DATA_READY: u8 = 1;

/// Reads the bytes waiting in the host's COM1 receive buffer (interactive mode).
pub fn poll_host_input(out: &mut Vec<u8>) {
    for _ in 0..16 {
        // SAFETY: COM1 is the runtime's console UART; reading LSR and RBR has no effect
        // beyond taking the received byte.
        let lsr = unsafe { baremetal::cpu::inb(COM1 + 5) };
        if lsr & LSR_DATA_READY == 0 {
            break;
        }
        // SAFETY: as above.
        out.push(unsafe { baremetal::cpu::inb(COM1) });
    }
}
