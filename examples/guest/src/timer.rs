//! Counting the timer interrupts the hypervisor injects.
//!
//! The handler is three instructions of assembly: it increments [`TICKS`] atomically and
//! returns with IRETQ (no EOI: the guest has no interrupt controller; the hypervisor injects
//! the vector directly through the VM-entry interruption-information field).
//!
//! The first interrupt shows the hypervisor waiting for the guest to be able to take it: the
//! guest computes with interrupts disabled for longer than a timer period, so the tick
//! arrives while RFLAGS.IF = 0; the hypervisor asks for an interrupt-window exit (SDM Vol. 3C
//! §26.7.5) and injects the tick once the guest executes `sti` and spins.
//!
//! The wait loop for the others uses `sti; hlt`: STI delays interrupt recognition until after the next
//! instruction (SDM Vol. 3A §7.8.3, "blocking by STI"), so an interrupt cannot slip in
//! between the check of the count and the HLT and leave the guest halted with nothing to
//! wake it.

use core::sync::atomic::{AtomicU64, Ordering};

use example_guest::abi::{self, check};

/// Timer interrupts seen so far.
static TICKS: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" {
    /// The timer interrupt handler below (not callable from Rust).
    fn timer_interrupt_entry();
}

core::arch::global_asm!(
    r#"
.section .text.timer_interrupt_entry, "ax"
.global timer_interrupt_entry
timer_interrupt_entry:
    lock inc qword ptr [rip + {ticks}]
    iretq
"#,
    ticks = sym TICKS,
);

/// Iterations of the busy loop run with interrupts disabled: a few million instructions,
/// well over the hypervisor's timer period.
const BUSY_ITERATIONS: u64 = 2_000_000;

/// Computes for a while with interrupts disabled; returns a value so the loop is not removed.
fn busy_with_interrupts_disabled() -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..BUSY_ITERATIONS {
        x = core::hint::black_box(x.rotate_left(5) ^ i);
    }
    x
}

/// Installs the handler, takes one timer interrupt that arrived while interrupts were
/// disabled, then waits (halting) for the rest of [`abi::TIMER_TICKS_WANTED`], prints the
/// count and returns the [`check`] flags that failed.
pub fn count_ticks() -> u64 {
    crate::idt::install(abi::TIMER_VECTOR, timer_interrupt_entry as *const () as u64);
    println!(
        "timer: IDT vector {:#x} installed; computing with interrupts disabled",
        abi::TIMER_VECTOR
    );
    let digest = busy_with_interrupts_disabled();
    println!("timer: done computing ({digest:#x}); enabling interrupts (sti) and spinning");
    let mut spins = 0u64;
    // SAFETY: the IDT has a gate for the only vector the hypervisor injects.
    unsafe { core::arch::asm!("sti", options(nomem, nostack)) };
    while TICKS.load(Ordering::SeqCst) == 0 && spins < BUSY_ITERATIONS {
        core::hint::spin_loop();
        spins += 1;
    }
    // SAFETY: disabling interrupts only delays the next tick.
    unsafe { core::arch::asm!("cli", options(nomem, nostack)) };
    println!(
        "timer: first interrupt after {spins} spins; waiting for {} in all (sti; hlt)",
        abi::TIMER_TICKS_WANTED
    );
    let mut halts = 0u64;
    while TICKS.load(Ordering::SeqCst) < abi::TIMER_TICKS_WANTED {
        // SAFETY: the IDT has a gate for the only vector the hypervisor injects. Interrupts
        // are enabled only across the HLT, then disabled again.
        unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
        halts += 1;
    }
    let ticks = TICKS.load(Ordering::SeqCst);
    println!("timer: received {ticks} timer interrupts ({halts} halts)");
    if ticks < abi::TIMER_TICKS_WANTED {
        check::TIMER
    } else {
        0
    }
}
