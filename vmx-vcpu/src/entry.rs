//! VM entry and VM exit in assembly (SDM Vol. 3C §27 "VM Entries", §28.5 "Loading Host
//! State"; VMLAUNCH/VMRESUME in §31.3).
//!
//! # The HOST_RSP scheme
//! A VM exit loads RSP from the HOST_RSP field and RIP from HOST_RIP (= [`vmx_vcpu_exit`]).
//! `vmx_vcpu_enter` pushes the callee-saved registers, RFLAGS and a pointer to the
//! [`RunBlock`] (which lives in host frames owned by the vCPU and never moves), then makes
//! HOST_RSP equal to the current RSP: it compares RSP with the value it last wrote (kept in
//! the block) and executes VMWRITE only when they differ. HOST_RSP therefore always points
//! at the live stack frame of the `vmx_vcpu_enter` call in progress, never into a Rust
//! object that could move; at exit, `[rsp]` is the block pointer.
//!
//! # Registers
//! The 15 GPRs other than RSP and CR2 are loaded from the block before entry and stored
//! into it at exit; RBX, RBP, R12-R15 of the host are preserved; host RFLAGS is restored
//! (a VM exit clears it, SDM §28.5.3).
//!
//! # Extended state
//! Mode 2 (XSAVE): both sides' areas are saved and restored with XCR0 = the union of host
//! XCR0, guest XCR0 and x87|SSE (SSE registers are usable whenever CR4.OSFXSR = 1, whatever
//! XCR0 says, so they are always switched). Before entry: XCR0 = union, XSAVE host, XRSTOR
//! guest, XCR0 = guest. After exit: XCR0 = union, XSAVE guest, XRSTOR host, XCR0 = host.
//! Each XSETBV is skipped when the value is already loaded. Mode 1 (FXSAVE/FXRSTOR): x87,
//! MMX and SSE only. Mode 0: nothing is switched (host does not use x87/SSE).
//!
//! At exit the code also stores the exit reason and the IDT-vectoring information (the two
//! fields every exit needs: the first to decode it, the second so that an event whose
//! delivery the exit interrupted is never lost) into the block; every other exit-information
//! field is read on demand by the Rust side.
//!
//! The extended-state switches are out of line: with mode 0 each direction costs one
//! compare.
//!
//! # Run-loop mode
//! When the block's `loop_callback` is set, the exit code does not return: with the guest
//! state saved and the host's extended state back, it calls `loop_callback(loop_ctx)`
//! (stack 16-byte aligned, as the C ABI wants). A return of 0 or 1 re-enters the guest
//! with VMLAUNCH or VMRESUME without checking HOST_RSP again (RSP is the same as at the
//! call's first entry, and only this call enters with this VMCS); 2 or more ends the loop
//! and returns 0. Host callee-saved registers are preserved by the callback itself, so a
//! loop iteration costs no push/pop of them beyond what the callback's own code needs.
//!
//! Return value: 0 after a VM exit; otherwise the RFLAGS after a failed VMLAUNCH/VMRESUME
//! (VMfail, CF or ZF set; never 0 since bit 1 of RFLAGS is always 1).

use core::mem::offset_of;

use vmx_defs::vmcs::fields;

use crate::regs::GuestRegisters;

/// Everything the entry/exit code reads and writes, in one pinned block.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub(crate) struct RunBlock {
    /// Guest GPRs and CR2.
    pub regs: GuestRegisters,
    /// HOST_RSP as last written (0: never).
    pub host_rsp: u64,
    /// 0: no extended-state switch; 1: FXSAVE; 2: XSAVE.
    pub xmode: u64,
    /// Host XCR0.
    pub host_xcr0: u64,
    /// Guest XCR0.
    pub guest_xcr0: u64,
    /// Host XCR0 | guest XCR0 | x87 | SSE: loaded while either area is saved or restored.
    pub union_xcr0: u64,
    /// Host-virtual address of the host's save area (64-byte aligned).
    pub host_area: u64,
    /// Host-virtual address of the guest's save area (64-byte aligned).
    pub guest_area: u64,
    /// Exit-reason field, read by the exit code (SDM §25.9.1).
    pub exit_reason: u64,
    /// IDT-vectoring information field, read by the exit code (SDM §25.9.3).
    pub idt_vectoring_info: u64,
    /// Run-loop mode: `extern "C" fn(u64) -> u64` called after each exit with
    /// `loop_ctx` (0: plain `run`, return after the exit).
    pub loop_callback: u64,
    /// Argument for `loop_callback`.
    pub loop_ctx: u64,
    /// 1 while a `run_loop` keeps the guest's extended state loaded between exits (lazy
    /// mode); 0 otherwise.
    pub lazy: u64,
    /// 1 while the guest's extended state is in the registers outside the guest (lazy
    /// mode only; the host's state is then in `host_area`).
    pub guest_loaded: u64,
}

macro_rules! reg_off {
    ($f:ident) => {
        offset_of!(RunBlock, regs) + offset_of!(GuestRegisters, $f)
    };
}

unsafe extern "C" {
    /// Enters the guest. `block` is the vCPU's run block; `resume` selects VMRESUME (1) or
    /// VMLAUNCH (0). Returns 0 after a VM exit, the RFLAGS of a VMfail otherwise.
    pub(crate) fn vmx_vcpu_enter(block: *mut RunBlock, resume: u64) -> u64;
    /// The HOST_RIP target. Not callable.
    pub(crate) fn vmx_vcpu_exit();
}

core::arch::global_asm!(
    ".pushsection .text.vmx_vcpu_enter,\"ax\",@progbits",
    ".global vmx_vcpu_enter",
    ".global vmx_vcpu_exit",
    ".p2align 4",
    "vmx_vcpu_enter:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "pushfq",
    "cli",
    "sub rsp, 8",
    "push rdi",
    "mov r12, rdi",
    "mov r13, rsi",
    // ---- HOST_RSP = RSP, written only when it changed ----
    "cmp rsp, [r12 + {host_rsp}]",
    "je 20f",
    "mov [r12 + {host_rsp}], rsp",
    "mov eax, {host_rsp_enc}",
    "vmwrite rax, rsp",
    // Run-loop re-entry point: r12 = block, r13 = 1 for VMRESUME. RSP is the same as at
    // the first entry of this call, so HOST_RSP is still right.
    "20:",
    "cmp qword ptr [r12 + {xmode}], 0",
    "jne 60f",
    "21:",
    // ---- guest CR2 and GPRs ----
    "mov rax, [r12 + {cr2}]",
    "mov cr2, rax",
    "mov rax, r12",
    "test r13, r13",
    "mov rcx, [rax + {rcx}]",
    "mov rdx, [rax + {rdx}]",
    "mov rbx, [rax + {rbx}]",
    "mov rbp, [rax + {rbp}]",
    "mov rsi, [rax + {rsi}]",
    "mov rdi, [rax + {rdi}]",
    "mov r8, [rax + {r8}]",
    "mov r9, [rax + {r9}]",
    "mov r10, [rax + {r10}]",
    "mov r11, [rax + {r11}]",
    "mov r12, [rax + {r12}]",
    "mov r13, [rax + {r13}]",
    "mov r14, [rax + {r14}]",
    "mov r15, [rax + {r15}]",
    "mov rax, [rax + {rax}]",
    "jnz 35f",
    "vmlaunch",
    "jmp 36f",
    "35:",
    "vmresume",
    "36:",
    // ---- VMfail: RSP is ours, the guest registers were only loaded ----
    "pushfq",
    "pop rbx",
    "mov r12, [rsp]",
    "mov r13d, 1",
    // The guest's area is current unless lazy mode kept the state in the registers.
    "mov r14, [r12 + {guest_loaded}]",
    "xor r14d, 1",
    "cmp qword ptr [r12 + {xmode}], 0",
    "jne 51f",
    "47:",
    "mov rax, rbx",
    "jmp 49f",
    // ---- VM exit ----
    ".p2align 4",
    "vmx_vcpu_exit:",
    "push rax",
    "mov rax, [rsp + 8]",
    "mov [rax + {rcx}], rcx",
    "mov [rax + {rdx}], rdx",
    "mov [rax + {rbx}], rbx",
    "mov [rax + {rbp}], rbp",
    "mov [rax + {rsi}], rsi",
    "mov [rax + {rdi}], rdi",
    "mov [rax + {r8}], r8",
    "mov [rax + {r9}], r9",
    "mov [rax + {r10}], r10",
    "mov [rax + {r11}], r11",
    "mov [rax + {r12}], r12",
    "mov [rax + {r13}], r13",
    "mov [rax + {r14}], r14",
    "mov [rax + {r15}], r15",
    "pop qword ptr [rax + {rax}]",
    "mov rcx, cr2",
    "mov [rax + {cr2}], rcx",
    "mov r12, rax",
    // The two exit-information fields every exit needs (they always exist): the reason,
    // and IDT-vectoring information (an event whose delivery the exit interrupted).
    "mov eax, {enc_reason}",
    "vmread qword ptr [r12 + {exit_reason}], rax",
    "mov eax, {enc_idt}",
    "vmread qword ptr [r12 + {idt_info}], rax",
    "cmp qword ptr [r12 + {xmode}], 0",
    "jne 50f",
    // ---- run-loop mode: call the callback ----
    "41:",
    "mov rax, [r12 + {loop_callback}]",
    "test rax, rax",
    "jz 48f",
    "mov rdi, [r12 + {loop_ctx}]",
    "call rax",
    "cmp rax, 2",
    "jae 48f",
    "mov r13, rax",
    "jmp 20b",
    // ---- leaving: a lazily kept guest state goes out first, then return 0 ----
    "48:",
    "cmp qword ptr [r12 + {guest_loaded}], 0",
    "jne 58f",
    "xor eax, eax",
    "49:",
    "add rsp, 16",
    "popfq",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    // ---- extended state: guest out, host in. r13: 0 = then call the callback, 1 = then
    // return RBX. r14: 1 = the guest's area is current (no XSAVE). ----
    "58:",
    "xor ebx, ebx",
    "mov r13d, 1",
    "xor r14d, r14d",
    "jmp 51f",
    "50:",
    // Lazy mode: the guest's state stays in the registers for the callback.
    "cmp qword ptr [r12 + {guest_loaded}], 0",
    "jne 41b",
    "xor r13d, r13d",
    "xor r14d, r14d",
    "51:",
    "mov rax, [r12 + {xmode}]",
    "cmp rax, 2",
    "jne 55f",
    "mov rax, [r12 + {union_xcr0}]",
    "cmp rax, [r12 + {guest_xcr0}]",
    "je 52f",
    "mov rdx, rax",
    "shr rdx, 32",
    "xor ecx, ecx",
    "xsetbv",
    "52:",
    "mov eax, [r12 + {union_xcr0}]",
    "mov edx, [r12 + {union_xcr0} + 4]",
    "test r14, r14",
    "jnz 53f",
    "mov rcx, [r12 + {guest_area}]",
    "xsave64 [rcx]",
    "53:",
    "mov rcx, [r12 + {host_area}]",
    "xrstor64 [rcx]",
    "mov rax, [r12 + {host_xcr0}]",
    "cmp rax, [r12 + {union_xcr0}]",
    "je 57f",
    "mov rdx, rax",
    "shr rdx, 32",
    "xor ecx, ecx",
    "xsetbv",
    "jmp 57f",
    "55:",
    "test r14, r14",
    "jnz 56f",
    "mov rcx, [r12 + {guest_area}]",
    "fxsave64 [rcx]",
    "56:",
    "mov rcx, [r12 + {host_area}]",
    "fxrstor64 [rcx]",
    "57:",
    "mov qword ptr [r12 + {guest_loaded}], 0",
    "test r13, r13",
    "jz 41b",
    "jmp 47b",
    // ---- extended state: host out, guest in ----
    "60:",
    // Lazy mode with the guest's state still loaded: nothing to do.
    "cmp qword ptr [r12 + {guest_loaded}], 0",
    "jne 21b",
    "mov rax, [r12 + {lazy}]",
    "mov [r12 + {guest_loaded}], rax",
    "mov rax, [r12 + {xmode}]",
    "cmp rax, 2",
    "jne 63f",
    "mov rax, [r12 + {union_xcr0}]",
    "cmp rax, [r12 + {host_xcr0}]",
    "je 61f",
    "mov rdx, rax",
    "shr rdx, 32",
    "xor ecx, ecx",
    "xsetbv",
    "61:",
    "mov eax, [r12 + {union_xcr0}]",
    "mov edx, [r12 + {union_xcr0} + 4]",
    "mov rbx, [r12 + {host_area}]",
    "xsave64 [rbx]",
    "mov rbx, [r12 + {guest_area}]",
    "xrstor64 [rbx]",
    "mov rax, [r12 + {guest_xcr0}]",
    "cmp rax, [r12 + {union_xcr0}]",
    "je 21b",
    "mov rdx, rax",
    "shr rdx, 32",
    "xor ecx, ecx",
    "xsetbv",
    "jmp 21b",
    "63:",
    "mov rbx, [r12 + {host_area}]",
    "fxsave64 [rbx]",
    "mov rbx, [r12 + {guest_area}]",
    "fxrstor64 [rbx]",
    "jmp 21b",
    ".popsection",
    xmode = const offset_of!(RunBlock, xmode),
    host_xcr0 = const offset_of!(RunBlock, host_xcr0),
    guest_xcr0 = const offset_of!(RunBlock, guest_xcr0),
    union_xcr0 = const offset_of!(RunBlock, union_xcr0),
    host_area = const offset_of!(RunBlock, host_area),
    guest_area = const offset_of!(RunBlock, guest_area),
    host_rsp = const offset_of!(RunBlock, host_rsp),
    host_rsp_enc = const fields::HOST_RSP.raw(),
    exit_reason = const offset_of!(RunBlock, exit_reason),
    idt_info = const offset_of!(RunBlock, idt_vectoring_info),
    enc_reason = const fields::EXIT_REASON.raw(),
    enc_idt = const fields::EXIT_IDT_VECTORING_INFO.raw(),
    loop_callback = const offset_of!(RunBlock, loop_callback),
    loop_ctx = const offset_of!(RunBlock, loop_ctx),
    lazy = const offset_of!(RunBlock, lazy),
    guest_loaded = const offset_of!(RunBlock, guest_loaded),
    cr2 = const reg_off!(cr2),
    rax = const reg_off!(rax),
    rcx = const reg_off!(rcx),
    rdx = const reg_off!(rdx),
    rbx = const reg_off!(rbx),
    rbp = const reg_off!(rbp),
    rsi = const reg_off!(rsi),
    rdi = const reg_off!(rdi),
    r8 = const reg_off!(r8),
    r9 = const reg_off!(r9),
    r10 = const reg_off!(r10),
    r11 = const reg_off!(r11),
    r12 = const reg_off!(r12),
    r13 = const reg_off!(r13),
    r14 = const reg_off!(r14),
    r15 = const reg_off!(r15),
);

/// VMREAD for the run loop's hot path: no status decoding.
///
/// Only for fields that exist on every processor supporting VMX, read while this vCPU's
/// VMCS is current (right after a VM exit or in the vCPU's own methods after `load`), where
/// VMREAD cannot fail (SDM §31.3). If it failed anyway the destination is left unchanged:
/// 0 is returned.
#[inline(always)]
pub(crate) fn vmread_fast(encoding: u32) -> u64 {
    let mut value = 0u64;
    // SAFETY: VMREAD with a register destination writes only `value`; it reads the current
    // VMCS, never memory software owns. Outside VMX root operation it would #UD, which is
    // not memory-unsafe.
    unsafe {
        core::arch::asm!(
            "vmread {v}, {e}",
            e = in(reg) u64::from(encoding),
            v = inout(reg) value,
            options(nostack, readonly),
        );
    }
    value
}

/// VMWRITE for the run loop's hot path: no status decoding.
///
/// # Safety
/// As for `vmx_insn::vmwrite`; only used for guest RIP and interruptibility, which exist on
/// every processor and cannot affect the host.
#[inline(always)]
pub(crate) unsafe fn vmwrite_fast(encoding: u32, value: u64) {
    // SAFETY: the caller upholds the contract above.
    unsafe {
        core::arch::asm!(
            "vmwrite {e}, {v}",
            e = in(reg) u64::from(encoding),
            v = in(reg) value,
            options(nostack),
        );
    }
}
