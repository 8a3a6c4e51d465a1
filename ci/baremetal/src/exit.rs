//! Ending the run.
//!
//! [`exit`] flushes the console (COM1 LSR.TEMT), then, in order, tries:
//! 1. the Bochs magic breakpoint `xchg bx, bx` (with `magic_break: enabled=1` the debugger
//!    stops and runs the rc file's `quit`: Bochs exits 0);
//! 2. the string "Shutdown" on port 0x8900 (Bochs: "shutdown requested", exit code 1);
//! 3. QEMU's `isa-debug-exit` device on port 0xF4 (exit code `(value << 1) | 1`);
//! 4. `cli; hlt` forever.
//!
//! The `ci` tool judges success from the kernel's output lines, not from the exit code.

/// The outcome the kernel reports when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything passed.
    Success,
    /// Something failed.
    Failure,
}

/// Ends the run (see the module documentation).
pub fn exit(code: ExitCode) -> ! {
    crate::console::flush();
    crate::cpu::cli();
    // SAFETY: `xchg bx, bx` is a no-op outside Bochs's magic-breakpoint mode; the port
    // writes go to Bochs's shutdown port and QEMU's debug-exit device, ignored elsewhere.
    unsafe {
        core::arch::asm!("xchg bx, bx", options(nomem, nostack, preserves_flags));
        for b in b"Shutdown" {
            crate::cpu::outb(0x8900, *b);
        }
        crate::cpu::outl(0xF4, if code == ExitCode::Success { 0 } else { 1 });
    }
    loop {
        crate::cpu::cli();
        crate::cpu::hlt();
    }
}
