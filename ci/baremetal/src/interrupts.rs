//! The IDT, the interrupt entry stubs and the dispatcher (SDM Vol. 3A §7.10, §7.14).
//!
//! All 256 vectors have an interrupt gate (IF cleared on entry) to a 16-byte stub that
//! pushes a zero error code where the CPU does not push one, pushes the vector number and
//! jumps to a common routine that saves every general-purpose register as an
//! [`InterruptFrame`] and calls the dispatcher. The dispatcher, in order:
//! 1. calls the handler installed for the vector with [`set_interrupt_handler`], if any,
//!    and returns to the interrupted code with IRETQ (the handler may edit the frame);
//! 2. otherwise, inside `baremetal::catch_exception`, abandons the interrupted code and
//!    resumes at the catch with an [`crate::ExceptionInfo`];
//! 3. otherwise prints a `FATAL` line with vector, error code and RIP and ends the run
//!    with a failure.
//!
//! #DF, NMI and #MC run on their own IST stacks (see [`crate::gdt`]).

use core::sync::atomic::{AtomicUsize, Ordering};

/// What the entry stub saved, lowest address first: the general-purpose registers, the
/// vector and error code, then the frame the CPU pushed (SDM Vol. 3A Figure 7-9).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct InterruptFrame {
    /// R15 at the interruption.
    pub r15: u64,
    /// R14.
    pub r14: u64,
    /// R13.
    pub r13: u64,
    /// R12.
    pub r12: u64,
    /// R11.
    pub r11: u64,
    /// R10.
    pub r10: u64,
    /// R9.
    pub r9: u64,
    /// R8.
    pub r8: u64,
    /// RBP.
    pub rbp: u64,
    /// RDI.
    pub rdi: u64,
    /// RSI.
    pub rsi: u64,
    /// RDX.
    pub rdx: u64,
    /// RCX.
    pub rcx: u64,
    /// RBX.
    pub rbx: u64,
    /// RAX.
    pub rax: u64,
    /// The vector number.
    pub vector: u64,
    /// The error code the CPU pushed, or 0 for vectors without one.
    pub error_code: u64,
    /// Return RIP.
    pub rip: u64,
    /// Return CS.
    pub cs: u64,
    /// Return RFLAGS.
    pub rflags: u64,
    /// Return RSP.
    pub rsp: u64,
    /// Return SS.
    pub ss: u64,
}

/// A handler installed for one vector; it runs with interrupts disabled and returns to the
/// interrupted code through IRETQ with whatever the handler left in the frame. A handler
/// for an external interrupt must send the EOI itself.
pub type InterruptHandler = fn(&mut InterruptFrame);

/// Vectors with an error code (SDM Vol. 3A Table 7-1): #DF, #TS, #NP, #SS, #GP, #PF, #AC,
/// #CP, #VC, #SX.
pub const fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
}

/// The mnemonic of an exception vector (`#GP`...), or `"interrupt"` for 32..=255.
pub const fn vector_name(vector: u8) -> &'static str {
    match vector {
        0 => "#DE",
        1 => "#DB",
        2 => "NMI",
        3 => "#BP",
        4 => "#OF",
        5 => "#BR",
        6 => "#UD",
        7 => "#NM",
        8 => "#DF",
        9 => "coprocessor segment overrun",
        10 => "#TS",
        11 => "#NP",
        12 => "#SS",
        13 => "#GP",
        14 => "#PF",
        16 => "#MF",
        17 => "#AC",
        18 => "#MC",
        19 => "#XM",
        20 => "#VE",
        21 => "#CP",
        28 => "#HV",
        29 => "#VC",
        30 => "#SX",
        _ if vector < 32 => "reserved",
        _ => "interrupt",
    }
}

static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];

/// Installs (`Some`) or removes (`None`) the handler for `vector`, returning the previous
/// one. A handler takes precedence over exception catching for its vector. The test
/// runner removes every handler after each scenario.
pub fn set_interrupt_handler(
    vector: u8,
    handler: Option<InterruptHandler>,
) -> Option<InterruptHandler> {
    let raw = handler.map_or(0, |h| h as usize);
    let old = HANDLERS[usize::from(vector)].swap(raw, Ordering::SeqCst);
    if old == 0 {
        None
    } else {
        // SAFETY: non-zero values stored in HANDLERS come only from `InterruptHandler`
        // function pointers converted just above.
        Some(unsafe { core::mem::transmute::<usize, InterruptHandler>(old) })
    }
}

/// Removes every installed handler.
pub fn clear_interrupt_handlers() {
    for h in &HANDLERS {
        h.store(0, Ordering::SeqCst);
    }
}

#[cfg(target_os = "none")]
mod imp {
    use super::*;
    use crate::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CS};
    use core::cell::UnsafeCell;

    core::arch::global_asm!(
        r#"
.section .text.baremetal_vectors, "ax"
.code64
.align 16
.global baremetal_vector_stubs
baremetal_vector_stubs:
.set vec, 0
.rept 256
.align 16
.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
.else
    push 0
.endif
    push vec
    jmp baremetal_interrupt_common
.set vec, vec + 1
.endr

baremetal_interrupt_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp
    call baremetal_interrupt_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq
"#
    );

    unsafe extern "C" {
        static baremetal_vector_stubs: u8;
    }

    #[repr(C, align(16))]
    struct Idt([u128; 256]);
    struct StaticIdt(UnsafeCell<Idt>);
    // SAFETY: written only by `init` on the boot CPU before the IDT is loaded.
    unsafe impl Sync for StaticIdt {}
    static IDT: StaticIdt = StaticIdt(UnsafeCell::new(Idt([0; 256])));

    /// Builds and loads the IDT.
    ///
    /// # Safety
    /// Once, at boot, after [`crate::gdt::init`].
    pub unsafe fn init() {
        let stubs = &raw const baremetal_vector_stubs as u64;
        let idt = IDT.0.get();
        for v in 0..256usize {
            let handler = stubs + 16 * v as u64;
            let ist: u128 = match v {
                2 => IST_NMI.into(),
                8 => IST_DOUBLE_FAULT.into(),
                18 => IST_MACHINE_CHECK.into(),
                _ => 0,
            };
            // 64-bit interrupt gate (SDM Vol. 3A Figure 7-8): type 0xE, present, DPL 0.
            let gate: u128 = u128::from(handler & 0xFFFF)
                | (u128::from(KERNEL_CS) << 16)
                | (ist << 32)
                | (0x8E << 40)
                | (u128::from((handler >> 16) & 0xFFFF) << 48)
                | (u128::from(handler >> 32) << 64);
            // SAFETY: single-threaded boot; `v` < 256.
            unsafe { (*idt).0[v] = gate };
        }
        reload();
    }

    /// Loads IDTR with the kernel's IDT again (after code that changed it; a VM exit sets
    /// the IDTR limit to 0xFFFF). The test runner calls this after every scenario.
    pub fn reload() {
        let ptr = crate::cpu::DescriptorTablePointer {
            limit: (core::mem::size_of::<Idt>() - 1) as u16,
            base: IDT.0.get() as u64,
        };
        // SAFETY: the IDT is static; `init` filled every gate at boot before anything
        // could call this.
        unsafe { core::arch::asm!("lidt [{}]", in(reg) &raw const ptr, options(nostack)) };
    }

    #[unsafe(no_mangle)]
    extern "C" fn baremetal_interrupt_dispatch(frame: &mut InterruptFrame) {
        let vector = (frame.vector & 0xFF) as u8;
        let raw = HANDLERS[usize::from(vector)].load(Ordering::SeqCst);
        if raw != 0 {
            // SAFETY: non-zero entries are `InterruptHandler`s stored by
            // `set_interrupt_handler`.
            let handler = unsafe { core::mem::transmute::<usize, InterruptHandler>(raw) };
            handler(frame);
            return;
        }
        if crate::catch::resume_at_catch(frame) {
            return;
        }
        crate::println!();
        crate::println!(
            "FATAL: unhandled exception: vector {} ({}), error code {:#x}, RIP {:#x}, RSP {:#x}, CR2 {:#x}",
            vector,
            vector_name(vector),
            frame.error_code,
            frame.rip,
            frame.rsp,
            crate::cpu::read_cr2()
        );
        crate::exit::exit(crate::exit::ExitCode::Failure);
    }
}

#[cfg(target_os = "none")]
pub use imp::{init, reload};
