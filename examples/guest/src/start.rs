//! The guest's entry point and stack.
//!
//! The hypervisor enters `_start` (the ELF entry point) in 64-bit mode with interrupts
//! disabled; nothing is assumed about RSP. `_start` switches to the guest's own stack in
//! `.bss` (zero-filled by the loader) and calls `main`.

/// Size of the guest's stack.
const STACK_SIZE: usize = 64 * 1024;

/// The guest's stack, 16-byte aligned as the System V ABI wants at a call.
#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

/// Only addressed from `_start`; never read or written from Rust.
static mut STACK: Stack = Stack([0; STACK_SIZE]);

/// Called by `_start`; never returns.
extern "C" fn rust_start() -> ! {
    super::main()
}

core::arch::global_asm!(
    r#"
.section .text.start, "ax"
.global _start
_start:
    cli
    cld
    lea rsp, [rip + {stack} + {stack_size}]
    xor ebp, ebp
    call {rust_start}
2:  hlt
    jmp 2b
"#,
    stack = sym STACK,
    stack_size = const STACK_SIZE,
    rust_start = sym rust_start,
);
