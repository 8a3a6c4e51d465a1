//! The example guest: a small 64-bit program run by `examples/hypervisor` in its own
//! guest-physical space.
//!
//! In order it:
//! 1. programs its serial port (a 16550 UART at COM1, emulated by the hypervisor) and prints;
//! 2. reads CPUID leaf 0x4000_0000 and prints the hypervisor's signature;
//! 3. sets up its IDT, enables interrupts and counts the timer interrupts the hypervisor
//!    injects, halting between them, until it has seen `TIMER_TICKS_WANTED`;
//! 4. drives the made-up MMIO device at `DEVICE_BASE` (a page with no EPT mapping,
//!    emulated by the hypervisor from the EPT violations);
//! 5. ends with the `DONE` hypercall carrying the mask of its failed self-checks (0: all good).
//!
//! The constants named here are in `example_guest::abi`, shared with the hypervisor.
//! It is built for `x86_64-unknown-none` by `cargo ci run`, which embeds it in the hypervisor.
//! On the host this binary only explains that.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
#[macro_use]
mod serial;

#[cfg(target_os = "none")]
mod device;
#[cfg(target_os = "none")]
mod hypercall;
#[cfg(target_os = "none")]
mod idt;
#[cfg(target_os = "none")]
mod start;
#[cfg(target_os = "none")]
mod timer;

/// The guest's main function, called by `_start` (see `start.rs`) on the guest's own stack.
#[cfg(target_os = "none")]
fn main() -> ! {
    serial::init();
    println!("hello from the example guest (64-bit mode, running under VMX)");

    let mut failed = 0;
    failed |= hypercall::report_signature();
    failed |= timer::count_ticks();
    failed |= device::exercise();

    if failed == 0 {
        println!("all self-checks passed; sending the DONE hypercall");
    } else {
        println!("self-checks failed (mask {failed:#x}); sending the DONE hypercall");
    }
    let answer = hypercall::done(failed);
    // The hypervisor ends the run on DONE: reaching this line means it resumed us.
    println!("the hypervisor resumed the guest after DONE (answer {answer:#x})");
    hypercall::halt_forever()
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {}", info.message());
    if let Some(location) = info.location() {
        println!("  at {}:{}", location.file(), location.line());
    }
    hypercall::panic()
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "example-guest is a bare-metal program for x86_64-unknown-none, run inside the \
         example hypervisor; build and boot both in Bochs with `cargo ci run`."
    );
    std::process::exit(2);
}
