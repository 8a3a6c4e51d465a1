//! Counting the timer interrupts the hypervisor injects.
//!
//! The handler is three instructions of assembly: it increments [`TICKS`] atomically and
//! returns with IRETQ (no EOI: the guest has no interrupt controller; the hypervisor injects
//! the vector directly through the VM-entry interruption-information field).
//!
//! The wait loop uses `sti; hlt`: STI delays interrupt recognition until after the next
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

/// Installs the handler, waits (halting) for [`abi::TIMER_TICKS_WANTED`] timer interrupts,
/// prints the count and returns the [`check`] flags that failed.
pub fn count_ticks() -> u64 {
    crate::idt::install(abi::TIMER_VECTOR, timer_interrupt_entry as *const () as u64);
    println!(
        "timer: IDT vector {:#x} installed; waiting for {} interrupts (sti; hlt)",
        abi::TIMER_VECTOR,
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
