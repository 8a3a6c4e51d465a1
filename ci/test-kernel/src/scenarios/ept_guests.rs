//! The guest of the `ept` scenarios, as 64-bit code in the kernel image: a command loop on
//! the kernel's own identity-mapped page tables, run under an EPT the scenario builds.
//!
//! Protocol: the guest executes VMCALL; the host advances RIP past it and sets RCX to the
//! command, RDI to the guest-linear (= guest-physical) address and RSI to the value:
//! - RCX = 1 (`ept_guest_read`): `mov rax, [rdi]` (3 bytes), the value comes back in RAX;
//! - RCX = 2 (`ept_guest_write`): `mov [rdi], rsi` (3 bytes);
//! - RCX = 3 (`ept_guest_fetch`): `call rdi`, where the host put a RET (0xC3);
//! - anything else: nothing.
//!
//! Then the guest executes VMCALL again. An access the EPT forbids exits at the access
//! instead (with RIP at the accessing instruction, or at RDI for a fetch); once the host
//! has fixed the EPT, resuming the guest repeats the access and reaches the VMCALL.

use core::arch::global_asm;

global_asm!(
    ".pushsection .text.ept_guests,\"ax\",@progbits",
    ".code64",
    ".global ept_guest_loop",
    "ept_guest_loop:",
    "vmcall",
    "cmp rcx, 1",
    "je ept_guest_read",
    "cmp rcx, 2",
    "je ept_guest_write",
    "cmp rcx, 3",
    "je ept_guest_fetch",
    "jmp ept_guest_loop",
    ".global ept_guest_read",
    "ept_guest_read:",
    "mov rax, [rdi]",
    "jmp ept_guest_loop",
    ".global ept_guest_write",
    "ept_guest_write:",
    "mov [rdi], rsi",
    "jmp ept_guest_loop",
    ".global ept_guest_fetch",
    "ept_guest_fetch:",
    "call rdi",
    "jmp ept_guest_loop",
    ".popsection",
);

unsafe extern "C" {
    /// The guest's entry point: see the module documentation.
    pub fn ept_guest_loop();
    /// The read instruction (`mov rax, [rdi]`).
    pub fn ept_guest_read();
    /// The write instruction (`mov [rdi], rsi`).
    pub fn ept_guest_write();
    /// The call to the fetched page (`call rdi`).
    pub fn ept_guest_fetch();
}

/// The address of a guest label.
pub fn addr(f: unsafe extern "C" fn()) -> u64 {
    f as *const () as u64
}

/// The commands of the guest loop (RCX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Op {
    /// Read the quadword at RDI into RAX.
    Read = 1,
    /// Write RSI to the quadword at RDI.
    Write = 2,
    /// Call RDI (a page holding RET).
    Fetch = 3,
}

impl Op {
    /// The guest instruction that performs the access: where RIP is when it faults (a
    /// fetch faults at the target, RDI, instead).
    pub fn instruction(self) -> u64 {
        match self {
            Op::Read => addr(ept_guest_read),
            Op::Write => addr(ept_guest_write),
            Op::Fetch => addr(ept_guest_fetch),
        }
    }
}
