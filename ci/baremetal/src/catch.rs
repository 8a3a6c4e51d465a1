//! Catching CPU exceptions and panics: recovery points (setjmp/longjmp style).
//!
//! `catch_exception` saves a recovery point (callee-saved registers, RSP, the return
//! address and RFLAGS) and runs the closure. If an exception arrives while it runs and no
//! handler is installed for its vector (see [`crate::set_interrupt_handler`]), the
//! dispatcher rewrites the interrupt frame so that IRETQ "returns" from the recovery point
//! with the registers saved there: the closure is abandoned and `catch_exception` returns
//! `Err(ExceptionInfo)`. Leaving through IRETQ also ends NMI blocking after an NMI (SDM
//! Vol. 3A §7.7.1: NMIs stay blocked until the next IRET). `catch_fault` additionally
//! catches panics: the panic handler jumps to the innermost `catch_fault` recovery point.
//!
//! # Safety contract of the abandoned closure
//! When the closure is abandoned, nothing it owned is dropped (heap memory and frames it
//! allocated leak, although the test runner frees a scenario's frames; locks it held stay
//! held), data it was mutating may be half-updated,
//! and no code after the faulting instruction runs. Callers must only rely on state that
//! is valid at every instruction boundary of the closure. The closure must not be running
//! with a different stack or from an interrupt handler of a different catch.

use core::fmt;

/// What the CPU reported for a caught exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionInfo {
    /// Vector number (0-31 for exceptions, 32-255 for an interrupt without handler).
    pub vector: u8,
    /// The error code the CPU pushed, or 0 for a vector without error code.
    pub error_code: u64,
    /// RIP of the faulting instruction (of the next one for traps such as #BP, #DB).
    pub rip: u64,
    /// CR2 at the time of the exception (the faulting linear address for #PF).
    pub cr2: u64,
}

impl fmt::Display for ExceptionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exception vector {} ({}), error code {:#x}, RIP {:#x}",
            self.vector,
            crate::interrupts::vector_name(self.vector),
            self.error_code,
            self.rip
        )?;
        if self.vector == 14 {
            write!(f, ", CR2 {:#x}", self.cr2)?;
        }
        Ok(())
    }
}

/// Capacity of [`PanicMessage`].
pub const PANIC_MESSAGE_CAPACITY: usize = 240;

/// A panic's message and location, formatted without the heap (truncated to
/// [`PANIC_MESSAGE_CAPACITY`] bytes).
#[derive(Clone, Copy)]
pub struct PanicMessage {
    buf: [u8; PANIC_MESSAGE_CAPACITY],
    len: usize,
}

impl PanicMessage {
    /// An empty message.
    pub const fn new() -> Self {
        Self {
            buf: [0; PANIC_MESSAGE_CAPACITY],
            len: 0,
        }
    }

    /// The text (cut at a character boundary when truncated).
    pub fn as_str(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or(&[]);
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                core::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or("")
            }
        }
    }
}

impl Default for PanicMessage {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for PanicMessage {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PanicMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for PanicMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why `catch_fault` abandoned its closure.
///
/// The panic message is stored inline (no heap is needed to report a panic), which makes
/// this type large; it is only returned on the rare failure path.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// A CPU exception (or an interrupt without handler).
    Exception(ExceptionInfo),
    /// A panic, with its message.
    Panic(PanicMessage),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Exception(e) => write!(f, "unexpected {e}"),
            Fault::Panic(m) => write!(f, "panicked: {m}"),
        }
    }
}

#[cfg(target_os = "none")]
pub use imp::*;

#[cfg(target_os = "none")]
mod imp {
    use super::*;
    use crate::interrupts::InterruptFrame;
    use core::sync::atomic::{AtomicPtr, Ordering};

    /// Layout shared with the assembly below: offsets 0..72 are fixed.
    #[repr(C)]
    struct RecoveryPoint {
        rbx: u64,
        rbp: u64,
        r12: u64,
        r13: u64,
        r14: u64,
        r15: u64,
        rsp: u64,
        rip: u64,
        rflags: u64,
        prev: *mut RecoveryPoint,
        catches_panics: bool,
        fault: Option<Fault>,
    }

    /// The innermost recovery point of each processor ([`crate::smp::current_cpu`]):
    /// exceptions and panics resume on the processor that raised them.
    static CURRENT_OF: [AtomicPtr<RecoveryPoint>; crate::smp::MAX_CPUS] =
        [const { AtomicPtr::new(core::ptr::null_mut()) }; crate::smp::MAX_CPUS];

    /// The calling processor's chain head.
    fn current() -> &'static AtomicPtr<RecoveryPoint> {
        let cpu = crate::smp::current_cpu();
        CURRENT_OF.get(cpu).unwrap_or(&CURRENT_OF[0])
    }

    core::arch::global_asm!(
        r#"
.section .text.baremetal_catch, "ax"
.code64
.global baremetal_catch_call
baremetal_catch_call:
    /* rdi = recovery point, rsi = trampoline, rdx = its argument */
    mov [rdi], rbx
    mov [rdi + 8], rbp
    mov [rdi + 16], r12
    mov [rdi + 24], r13
    mov [rdi + 32], r14
    mov [rdi + 40], r15
    lea rax, [rsp + 8]
    mov [rdi + 48], rax
    mov rax, [rsp]
    mov [rdi + 56], rax
    pushfq
    pop rax
    mov [rdi + 64], rax
    sub rsp, 8
    mov rdi, rdx
    call rsi
    add rsp, 8
    xor eax, eax
    ret

.global baremetal_catch_longjmp
baremetal_catch_longjmp:
    /* rdi = recovery point: return 1 from its baremetal_catch_call */
    mov rbx, [rdi]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    push qword ptr [rdi + 64]
    popfq
    mov eax, 1
    jmp qword ptr [rdi + 56]
"#
    );

    unsafe extern "C" {
        fn baremetal_catch_call(rp: *mut u8, f: extern "C" fn(*mut u8), data: *mut u8) -> u64;
        fn baremetal_catch_longjmp(rp: *mut u8) -> !;
    }

    struct Call<F, T> {
        f: Option<F>,
        out: Option<T>,
    }

    extern "C" fn trampoline<F: FnOnce() -> T, T>(data: *mut u8) {
        // SAFETY: `data` is the `Call<F, T>` that `run` passed, alive for the whole call.
        let call = unsafe { &mut *data.cast::<Call<F, T>>() };
        if let Some(f) = call.f.take() {
            call.out = Some(f());
        }
    }

    #[allow(clippy::result_large_err)] // see `Fault`
    fn run<T, F: FnOnce() -> T>(catches_panics: bool, f: F) -> Result<T, Fault> {
        let mut rp = RecoveryPoint {
            rbx: 0,
            rbp: 0,
            r12: 0,
            r13: 0,
            r14: 0,
            r15: 0,
            rsp: 0,
            rip: 0,
            rflags: 0,
            prev: current().load(Ordering::SeqCst),
            catches_panics,
            fault: None,
        };
        let mut call = Call {
            f: Some(f),
            out: None,
        };
        let rp_ptr: *mut RecoveryPoint = &raw mut rp;
        current().store(rp_ptr, Ordering::SeqCst);
        // SAFETY: `rp` and `call` outlive the call; the assembly follows the C ABI and
        // returns a second time (with 1) only through `resume_at_catch` or
        // `baremetal_catch_longjmp`, which restore the callee-saved registers, RSP and
        // RFLAGS saved at entry, so this frame is intact when it continues.
        let r = unsafe {
            baremetal_catch_call(rp_ptr.cast(), trampoline::<F, T>, (&raw mut call).cast())
        };
        // SAFETY: `rp_ptr` points at `rp`, alive; the volatile read sees the dispatcher's
        // writes, which happened behind the compiler's back.
        let rp_now = unsafe { core::ptr::read_volatile(rp_ptr) };
        current().store(rp_now.prev, Ordering::SeqCst);
        if r == 0
            && let Some(v) = call.out.take()
        {
            return Ok(v);
        }
        // The closure was abandoned: forget it (its captures leak by contract).
        core::mem::forget(call);
        Err(rp_now.fault.unwrap_or(Fault::Exception(ExceptionInfo {
            vector: 255,
            error_code: 0,
            rip: 0,
            cr2: 0,
        })))
    }

    /// Runs `f`; if it raises a CPU exception without installed handler, abandons it and
    /// returns what the CPU reported. Panics inside `f` are not caught here: they go to
    /// the innermost `catch_fault`. Nests: the innermost catch wins. See the module
    /// documentation for what happens to an abandoned closure.
    pub fn catch_exception<T, F: FnOnce() -> T>(f: F) -> Result<T, ExceptionInfo> {
        match run(false, f) {
            Ok(v) => Ok(v),
            Err(Fault::Exception(e)) => Err(e),
            // A panic never lands on a non-panic recovery point (see `panic_to_catch`).
            Err(Fault::Panic(_)) => Err(ExceptionInfo {
                vector: 255,
                error_code: 0,
                rip: 0,
                cr2: 0,
            }),
        }
    }

    /// Runs `f`; catches CPU exceptions (as `catch_exception`) and panics.
    #[allow(clippy::result_large_err)] // see `Fault`
    pub fn catch_fault<T, F: FnOnce() -> T>(f: F) -> Result<T, Fault> {
        run(true, f)
    }

    /// Called by the interrupt dispatcher: if a catch is active, records the exception,
    /// pops the innermost recovery point and rewrites `frame` to resume there.
    pub(crate) fn resume_at_catch(frame: &mut InterruptFrame) -> bool {
        let rp_ptr = current().load(Ordering::SeqCst);
        if rp_ptr.is_null() {
            return false;
        }
        // SAFETY: the chain only holds recovery points of `run` frames that are still
        // live (it is reset before `run` returns).
        let rp = unsafe { &mut *rp_ptr };
        current().store(rp.prev, Ordering::SeqCst);
        rp.fault = Some(Fault::Exception(ExceptionInfo {
            vector: (frame.vector & 0xFF) as u8,
            error_code: frame.error_code,
            rip: frame.rip,
            cr2: crate::cpu::read_cr2(),
        }));
        frame.rbx = rp.rbx;
        frame.rbp = rp.rbp;
        frame.r12 = rp.r12;
        frame.r13 = rp.r13;
        frame.r14 = rp.r14;
        frame.r15 = rp.r15;
        frame.rax = 1;
        frame.rip = rp.rip;
        frame.rsp = rp.rsp;
        frame.rflags = rp.rflags;
        frame.cs = u64::from(crate::gdt::KERNEL_CS);
        frame.ss = u64::from(crate::gdt::KERNEL_DS);
        true
    }

    /// Called by the panic handler: jumps to the innermost `catch_fault` with `msg`, or
    /// returns if there is none.
    pub(crate) fn panic_to_catch(msg: PanicMessage) {
        let mut p = current().load(Ordering::SeqCst);
        while !p.is_null() {
            // SAFETY: as in `resume_at_catch`: every pointer in the chain is live.
            let rp = unsafe { &mut *p };
            if rp.catches_panics {
                current().store(rp.prev, Ordering::SeqCst);
                rp.fault = Some(Fault::Panic(msg));
                // SAFETY: `rp` is a live recovery point on this stack, below the panicking
                // frames, which are abandoned.
                unsafe { baremetal_catch_longjmp(p.cast()) };
            }
            p = rp.prev;
        }
    }

    /// Whether any catch is active.
    pub fn in_catch() -> bool {
        !current().load(Ordering::SeqCst).is_null()
    }
}
