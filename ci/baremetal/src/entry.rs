//! The Rust entry point, the [`entry!`](crate::entry) macro and the panic handler.

use core::fmt::Write;

unsafe extern "Rust" {
    /// Defined by the [`entry!`](crate::entry) macro in the binary.
    fn __baremetal_main() -> !;
}

unsafe extern "C" {
    static __kernel_end: u8;
}

/// Called by `_start64` on the boot stack with interrupts disabled.
#[unsafe(no_mangle)]
extern "C" fn baremetal_rust_entry() -> ! {
    crate::console::init();
    crate::console::write_str("\n");
    // SAFETY: once, at boot, on the only CPU, interrupts disabled.
    unsafe {
        crate::gdt::init();
        crate::interrupts::init();
    }
    crate::pic::init();
    let kernel_end = &raw const __kernel_end as u64;
    let top = crate::memory::ram_top()
        .min(4 << 30)
        .saturating_sub(1 << 20);
    crate::frames::init(kernel_end, top);
    match crate::frames::alloc_frames(crate::heap::HEAP_SIZE / 4096, 4096) {
        // SAFETY: the frames are ours for good (never freed), identity mapped.
        Ok(Some(h)) => unsafe { crate::heap::init(h, crate::heap::HEAP_SIZE) },
        _ => {
            crate::println!("FATAL: no memory for the heap (RAM top {top:#x})");
            crate::exit::exit(crate::exit::ExitCode::Failure);
        }
    }
    if let Err(e) = crate::memory::install_stack_guard() {
        crate::println!("warning: no stack guard page: {e}");
    }
    crate::logger::init(log::LevelFilter::Info);
    // SAFETY: defined by `entry!` in the binary (the link fails otherwise).
    unsafe { __baremetal_main() }
}

/// Declares the kernel's main function: `baremetal::entry!(main);` with `fn main() -> !`.
/// It runs after the runtime is set up (console, GDT/TSS, IDT, frames, heap, logger).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __baremetal_main() -> ! {
            let f: fn() -> ! = $main;
            f()
        }
    };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut msg = crate::catch::PanicMessage::new();
    let _ = write!(msg, "{}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(msg, " at {}:{}", loc.file(), loc.line());
    }
    crate::catch::panic_to_catch(msg);
    crate::println!();
    crate::println!("FATAL: panic: {msg}");
    crate::exit::exit(crate::exit::ExitCode::Failure)
}
