//! VM entry and VM exit in assembly (SDM Vol. 3C §27 "VM Entries", §28.5 "Loading Host
//! State"; VMLAUNCH/VMRESUME in §31.3).
//!
//! # The routine and its calling convention
//! `vmx_vcpu_run` is a `global_asm!` routine with its own register convention, called
//! only from the `asm!` block in [`run_guest`] (through the block's `entry_fn`; for
//! extended-state mode 0 it is `vmx_vcpu_run_plain`, the same code without the mode
//! tests, whose HOST_RIP is `vmx_vcpu_exit_plain`): RDI = the [`RunBlock`], RSI = 1 for
//! VMRESUME, 0 for VMLAUNCH. It preserves RSP, RBX and RBP (pushed and popped by the
//! routine: `asm!` cannot name them) and clobbers every other general-purpose register,
//! RFLAGS and (mode 0, below) the vector registers; `run_guest` declares all of them
//! clobbered, so the compiler saves the host's callee-saved R12-R15 once in the prologue
//! of the function that contains the call, not per entry. In a `run_loop` that function
//! is the loop: each exit returns into the same Rust frame, and a loop iteration costs no
//! callee-saved save/restore beyond RBX and RBP.
//!
//! Return: RAX = exit-reason field and RDX = IDT-vectoring information field (both
//! zero-extended 32-bit values) after a VM exit; after a failed VMLAUNCH/VMRESUME (VMfail)
//! RAX = the RFLAGS it left (CF or ZF set) and RDX = `u64::MAX`, which no 32-bit field
//! value equals. Bit 31 of RDX is therefore set for both an interrupted event delivery
//! and a VMfail, and bit 31 of RAX for a failed entry (SDM §25.9.1, §25.9.3): one test of
//! `(RAX | RDX) & 1 << 31` separates every uncommon case from the common one.
//!
//! # The HOST_RSP scheme
//! A VM exit loads RSP from the HOST_RSP field and RIP from HOST_RIP (= `vmx_vcpu_exit`,
//! or `vmx_vcpu_exit_plain`; [`entry_routine`]).
//! `vmx_vcpu_run` pushes RBX, RBP and the block pointer, then makes HOST_RSP equal to the
//! current RSP: it compares RSP with the value it last wrote (kept in the block) and
//! executes VMWRITE only when they differ. HOST_RSP therefore always points at the live
//! stack frame of the `vmx_vcpu_run` call in progress, never into a Rust object that could
//! move; at exit, `[rsp]` is the block pointer and `[rsp + 24]` the return address into
//! `run_guest`.
//!
//! # Registers
//! The 15 GPRs other than RSP and CR2 are loaded from the block before entry and stored
//! into it at exit. Host RFLAGS (cleared by a VM exit, SDM §28.5.3) is saved and interrupts
//! disabled by the caller ([`save_flags_cli`], [`restore_flags`]): per call for
//! `Vcpu::run`, once per loop for `Vcpu::run_loop`.
//!
//! # Extended state
//! Mode 2 (XSAVE): both sides' areas are saved and restored with XCR0 = the union of host
//! XCR0, guest XCR0 and x87|SSE (SSE registers are usable whenever CR4.OSFXSR = 1, whatever
//! XCR0 says, so they are always switched). Before entry: XCR0 = union, XSAVE host, XRSTOR
//! guest, XCR0 = guest. After exit: XCR0 = union, XSAVE guest, XRSTOR host, XCR0 = host.
//! Each XSETBV is skipped when the value is already loaded. Mode 1 (FXSAVE/FXRSTOR): x87,
//! MMX and SSE only. Mode 0: nothing is switched (host does not use x87/SSE).
//!
//! The extended-state switches are out of line: with mode 0 each direction costs one
//! compare. In lazy mode (`lazy = 1`, set by a lazy `run_loop`) the entry switch sets
//! `guest_loaded` and the exit leaves the guest's state in the registers; the loop puts
//! it out when it ends (`xstate::put_guest_xstate`). A VMfail always puts the guest's
//! state out and the host's back.
//!
//! At exit the code reads the exit reason and the IDT-vectoring information (the two
//! fields every exit needs: the first to decode it, the second so that an event whose
//! delivery the exit interrupted is never lost) and returns them; every other
//! exit-information field is read on demand by the Rust side.

use core::mem::offset_of;

use vmx_defs::vmcs::fields;

use crate::error::{VmxError, VmxInstruction, insn};
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
    /// The entry routine for `xmode` ([`entry_routine`]), called by [`run_guest`].
    pub entry_fn: u64,
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
    /// `cpu::VMCS_OFF` (set by the CPU when this vCPU's VMCS is not current) |
    /// `cpu::ENTRY_WORK` (the next entry must run the injection decision): 0 means an
    /// entry needs no preparation.
    pub entry_flags: u64,
    /// 1 while a `run_loop` on this vCPU is running (its handler may not call `run`).
    pub in_loop: u64,
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
    /// The entry routine; see the module documentation for its register convention. Not
    /// callable as a C function: only through [`run_guest`].
    fn vmx_vcpu_run();
    /// Its HOST_RIP target. Not callable.
    fn vmx_vcpu_exit();
    /// The same routine for extended-state mode 0 (nothing to switch), without the mode
    /// tests.
    fn vmx_vcpu_run_plain();
    /// Its HOST_RIP target. Not callable.
    fn vmx_vcpu_exit_plain();
}

/// The entry routine and HOST_RIP value for a vCPU with extended-state mode `xmode` (the
/// block's `xmode`, fixed when the vCPU is created).
pub(crate) fn entry_routine(xmode: u64) -> (u64, u64) {
    if xmode == 0 {
        (
            vmx_vcpu_run_plain as *const () as u64,
            vmx_vcpu_exit_plain as *const () as u64,
        )
    } else {
        (
            vmx_vcpu_run as *const () as u64,
            vmx_vcpu_exit as *const () as u64,
        )
    }
}

/// What [`run_guest`] came back with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawExit {
    /// Exit-reason field, or the RFLAGS of a VMfail.
    pub rax: u64,
    /// IDT-vectoring information field, or `u64::MAX` after a VMfail.
    pub rdx: u64,
}

impl RawExit {
    /// Bit 31 of either word or of `work`: a failed entry, an interrupted event delivery,
    /// a VMfail, or bookkeeping the caller asked for (`work` = 1 << 31).
    #[inline(always)]
    pub fn is_uncommon(self, work: u32) -> bool {
        ((self.rax | self.rdx) as u32 | work) & (1 << 31) != 0
    }

    /// Whether the entry instruction failed (VMfail): RFLAGS in `rax`.
    #[inline(always)]
    pub fn is_vmfail(self) -> bool {
        self.rdx == u64::MAX
    }
}

/// Enters the guest with VMRESUME (`resume`) or VMLAUNCH and returns at the next VM exit
/// or VMfail (see the module documentation).
///
/// # Safety
/// The vCPU's VMCS is current and fully set up: host state captured from this CPU,
/// HOST_RIP = the exit code of the block's `entry_fn` ([`entry_routine`]), every pointer
/// in it names frames the vCPU owns; `block` is that vCPU's pinned block. Interrupts are disabled ([`save_flags_cli`]).
#[inline(always)]
pub(crate) unsafe fn run_guest(block: *mut RunBlock, resume: bool) -> RawExit {
    let rax: u64;
    let rdx: u64;
    // SAFETY: the caller upholds the contract above. The routine preserves RSP, RBX and
    // RBP; everything else it may change is declared clobbered (`clobber_abi("C")` plus
    // R12-R15); it uses the stack below RSP only for its own call frame (no `nostack`).
    unsafe {
        core::arch::asm!(
            "call qword ptr [rdi + {entry_fn}]",
            entry_fn = const offset_of!(RunBlock, entry_fn),
            inout("rdi") block => _,
            inout("rsi") u64::from(resume) => _,
            out("rax") rax,
            out("rdx") rdx,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            out("r15") _,
            clobber_abi("C"),
        );
    }
    RawExit { rax, rdx }
}

/// Saves RFLAGS and disables interrupts (the host must not take an interrupt between a
/// VM exit and the code that handles it with HOST_RSP's frame live).
///
/// Not `nomem`: the block is a compiler barrier, so that no memory access the caller
/// meant to happen with interrupts disabled is moved before the CLI.
#[inline(always)]
pub(crate) fn save_flags_cli() -> u64 {
    let flags: u64;
    // SAFETY: PUSHFQ/POP/CLI at CPL 0 change only RFLAGS.IF and the stack below RSP.
    unsafe {
        core::arch::asm!("pushfq", "pop {f}", "cli", f = out(reg) flags);
    }
    flags
}

/// Restores RFLAGS saved by [`save_flags_cli`].
///
/// Not `nomem`: a compiler barrier, so that no memory access meant to happen with
/// interrupts disabled (reading the exit information, the run block) is moved after the
/// POPFQ that may enable them.
#[inline(always)]
pub(crate) fn restore_flags(flags: u64) {
    // SAFETY: restores a value PUSHFQ produced in this function's caller at CPL 0.
    unsafe {
        core::arch::asm!("push {f}", "popfq", f = in(reg) flags);
    }
}

/// With RDI = the block and RSI = 1 for VMRESUME: loads guest CR2 and the 15 GPRs (RDI,
/// the block pointer, last) and executes VMRESUME or VMLAUNCH; falls through on VMfail.
macro_rules! load_guest_and_enter {
    () => {
        concat!(
            "mov rax, [rdi + {cr2}]\n",
            "mov cr2, rax\n",
            "test rsi, rsi\n",
            "mov rax, [rdi + {rax}]\n",
            "mov rcx, [rdi + {rcx}]\n",
            "mov rdx, [rdi + {rdx}]\n",
            "mov rbx, [rdi + {rbx}]\n",
            "mov rbp, [rdi + {rbp}]\n",
            "mov rsi, [rdi + {rsi}]\n",
            "mov r8, [rdi + {r8}]\n",
            "mov r9, [rdi + {r9}]\n",
            "mov r10, [rdi + {r10}]\n",
            "mov r11, [rdi + {r11}]\n",
            "mov r12, [rdi + {r12}]\n",
            "mov r13, [rdi + {r13}]\n",
            "mov r14, [rdi + {r14}]\n",
            "mov r15, [rdi + {r15}]\n",
            "mov rdi, [rdi + {rdi}]\n",
            "jnz 2f\n",
            "vmlaunch\n",
            "jmp 3f\n",
            "2:\n",
            "vmresume\n",
            "3:\n",
        )
    };
}

/// At a VM exit (`[rsp]` = the block): stores the 15 guest GPRs and CR2 into the block and
/// leaves the block pointer in RAX.
macro_rules! save_guest {
    () => {
        concat!(
            "push rax\n",
            "mov rax, [rsp + 8]\n",
            "mov [rax + {rcx}], rcx\n",
            "mov [rax + {rdx}], rdx\n",
            "mov [rax + {rbx}], rbx\n",
            "mov [rax + {rbp}], rbp\n",
            "mov [rax + {rsi}], rsi\n",
            "mov [rax + {rdi}], rdi\n",
            "mov [rax + {r8}], r8\n",
            "mov [rax + {r9}], r9\n",
            "mov [rax + {r10}], r10\n",
            "mov [rax + {r11}], r11\n",
            "mov [rax + {r12}], r12\n",
            "mov [rax + {r13}], r13\n",
            "mov [rax + {r14}], r14\n",
            "mov [rax + {r15}], r15\n",
            "pop qword ptr [rax + {rax}]\n",
            "mov rcx, cr2\n",
            "mov [rax + {cr2}], rcx\n",
        )
    };
}

/// Label `10` (taken when RSP differs from the block's cached HOST_RSP, RDI = the block):
/// records RSP in the block, VMWRITEs it to HOST_RSP and jumps back to label `20`.
macro_rules! write_host_rsp {
    () => {
        concat!(
            "10:\n",
            "mov [rdi + {host_rsp}], rsp\n",
            "mov eax, {host_rsp_enc}\n",
            "vmwrite rax, rsp\n",
            "jmp 20b\n",
        )
    };
}

/// After a VM exit: reads the exit reason into RAX and the IDT-vectoring information into
/// RDX (the two exit-information fields every exit needs; they always exist), then, at
/// label `49` (where the VMfail path joins with RAX and RDX set), drops the block pointer,
/// restores RBP and RBX and returns.
macro_rules! read_exit_and_return {
    () => {
        concat!(
            "mov ecx, {enc_reason}\n",
            "vmread rax, rcx\n",
            "mov ecx, {enc_idt}\n",
            "vmread rdx, rcx\n",
            fill_return_stack_buffer!(),
            "49:\n",
            "add rsp, 8\n",
            "pop rbp\n",
            "pop rbx\n",
            "ret\n",
        )
    };
}

/// Overwrites all 32 entries of the return-stack buffer with returns to a speculation
/// trap before the first RET after a VM exit, so that no return can be predicted to a
/// target the guest planted (Intel's guidance on return stack buffer underflow and
/// "Post-barrier Return Stack Buffer Predictions"; the SDM does not virtualize the RSB
/// across VM exits). 32 CALLs, each skipping an INT3 that only speculation reaches, then
/// one ADD drops the 32 return addresses. Uses no register; 33 instructions retired.
macro_rules! fill_return_stack_buffer {
    () => {
        concat!(
            ".rept 32\n",
            "call 1f\n",
            "int3\n",
            "1:\n",
            ".endr\n",
            "add rsp, 256\n",
        )
    };
}

core::arch::global_asm!(
    ".pushsection .text.vmx_vcpu_run,\"ax\",@progbits",
    // ==== mode 0 (no extended state to switch): the routine without the mode tests ====
    ".global vmx_vcpu_run_plain",
    ".global vmx_vcpu_exit_plain",
    ".p2align 4",
    "vmx_vcpu_run_plain:",
    // Reached by an indirect CALL (the block's `entry_fn`): a landing pad for kernel IBT
    // (SDM Vol. 1 §18.3 "Indirect Branch Tracking"); a NOP without CET.
    "endbr64",
    "push rbx",
    "push rbp",
    "push rdi",
    "cmp rsp, [rdi + {host_rsp}]",
    "jne 10f",
    "20:",
    load_guest_and_enter!(),
    // VMfail: the guest registers were only loaded.
    "pushfq",
    "pop rax",
    "mov rdx, -1",
    "jmp 49f",
    write_host_rsp!(),
    ".p2align 4",
    "vmx_vcpu_exit_plain:",
    // HOST_RIP: a landing pad as well, whatever the host's CET state after the exit.
    "endbr64",
    save_guest!(),
    read_exit_and_return!(),
    // ==== any mode ====
    ".global vmx_vcpu_run",
    ".global vmx_vcpu_exit",
    ".p2align 4",
    "vmx_vcpu_run:",
    "endbr64",
    "push rbx",
    "push rbp",
    "push rdi",
    // ---- HOST_RSP = RSP, written only when it changed ----
    "cmp rsp, [rdi + {host_rsp}]",
    "jne 10f",
    "20:",
    "cmp qword ptr [rdi + {xmode}], 0",
    "jne 60f",
    "21:",
    // ---- guest CR2 and GPRs (RDI, the block pointer, last) ----
    load_guest_and_enter!(),
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
    "mov rdx, -1",
    "jmp 49f",
    write_host_rsp!(),
    // ---- VM exit ----
    ".p2align 4",
    "vmx_vcpu_exit:",
    "endbr64",
    save_guest!(),
    "cmp qword ptr [rax + {xmode}], 0",
    "jne 50f",
    // The two exit-information fields every exit needs (they always exist): the reason,
    // and IDT-vectoring information (an event whose delivery the exit interrupted).
    "48:",
    read_exit_and_return!(),
    // ---- extended state after an exit: guest out, host in (lazy mode: kept) ----
    "50:",
    "mov r12, rax",
    "cmp qword ptr [r12 + {guest_loaded}], 0",
    "jne 48b",
    "xor r13d, r13d",
    "xor r14d, r14d",
    // r13: 0 = then read and return the exit, 1 = then return the VMfail's RFLAGS (RBX).
    // r14: 1 = the guest's area is current (no XSAVE).
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
    "jnz 47b",
    "jmp 48b",
    // ---- extended state before entry: host out, guest in ----
    "60:",
    // Lazy mode with the guest's state still loaded: nothing to do.
    "cmp qword ptr [rdi + {guest_loaded}], 0",
    "jne 21b",
    "mov rax, [rdi + {lazy}]",
    "mov [rdi + {guest_loaded}], rax",
    "mov rax, [rdi + {xmode}]",
    "cmp rax, 2",
    "jne 63f",
    "mov rax, [rdi + {union_xcr0}]",
    "cmp rax, [rdi + {host_xcr0}]",
    "je 61f",
    "mov rdx, rax",
    "shr rdx, 32",
    "xor ecx, ecx",
    "xsetbv",
    "61:",
    "mov eax, [rdi + {union_xcr0}]",
    "mov edx, [rdi + {union_xcr0} + 4]",
    "mov rbx, [rdi + {host_area}]",
    "xsave64 [rbx]",
    "mov rbx, [rdi + {guest_area}]",
    "xrstor64 [rbx]",
    "mov rax, [rdi + {guest_xcr0}]",
    "cmp rax, [rdi + {union_xcr0}]",
    "je 21b",
    "mov rdx, rax",
    "shr rdx, 32",
    "xor ecx, ecx",
    "xsetbv",
    "jmp 21b",
    "63:",
    "mov rbx, [rdi + {host_area}]",
    "fxsave64 [rbx]",
    "mov rbx, [rdi + {guest_area}]",
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
    enc_reason = const fields::EXIT_REASON.raw(),
    enc_idt = const fields::EXIT_IDT_VECTORING_INFO.raw(),
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

/// VMREAD for the run loop's hot path: the status is tested (CF or ZF set, SDM §31.3
/// VMREAD) with one SETBE in the same `asm!` block, and a failure is reported, never turned
/// into a value; the cause (VMfailInvalid, or VMfailValid with its error number) is decoded
/// out of line by [`vmread_failure`].
#[inline(always)]
pub(crate) fn vmread_fast(encoding: u32) -> Result<u64, VmxError> {
    match vmread_checked(encoding) {
        Some(v) => Ok(v),
        None => Err(vmread_failure(encoding)),
    }
}

/// VMREAD with its status: `None` when it failed (CF or ZF set).
#[inline(always)]
pub(crate) fn vmread_checked(encoding: u32) -> Option<u64> {
    let value: u64;
    let failed: u8;
    // SAFETY: VMREAD with a register destination writes only `value`; it reads the current
    // VMCS, never memory software owns. Outside VMX root operation it would #UD, which is
    // not memory-unsafe.
    unsafe {
        core::arch::asm!(
            "vmread {v}, {e}",
            "setbe {f}",
            e = in(reg) u64::from(encoding),
            v = out(reg) value,
            f = out(reg_byte) failed,
            options(nostack, readonly),
        );
    }
    if failed != 0 { None } else { Some(value) }
}

/// Why a VMREAD of `encoding` failed: executed again through `vmx_insn`, which decodes the
/// status and reads the VM-instruction error.
#[cold]
#[inline(never)]
pub(crate) fn vmread_failure(encoding: u32) -> VmxError {
    match vmx_insn::vmread_raw(encoding) {
        Err(e) => insn(VmxInstruction::Vmread)(e),
        // It succeeded this time: report the first failure as VMfailInvalid.
        Ok(_) => {
            insn(VmxInstruction::Vmread)(vmx_insn::InsnError::VmFail(vmx_insn::VmFail::Invalid))
        }
    }
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
