//! Emulating an instruction that accessed memory-mapped I/O (an EPT violation, basic exit
//! reason 48, on a page the hypervisor left unmapped; SDM Vol. 3C §29.3.3.2), or the
//! APIC-access page (an APIC-access exit, basic exit reason 44, by an instruction's linear
//! data read or write, §30.4.1: the qualification gives the page offset and the direction);
//! [`exit::MmioExit`] says which exits qualify.
//!
//! The exit gives the guest-physical address and whether the access read or wrote (SDM
//! Vol. 3C §28.2.1 Table 28-7) but neither the instruction's length nor its operands
//! (§28.2.4), so the hypervisor:
//!
//! 1. reads the instruction at the guest's RIP: [`walk::translate`] walks the guest's own
//!    paging structures in any paging mode (SDM Vol. 3A ch. 4) and [`decode::fetch`] reads
//!    up to 15 bytes, across a page boundary;
//! 2. decodes it ([`decode::decode`], with `iced-x86`) into an [`MmioAccess`]: width,
//!    direction, register or immediate, extension, string form;
//! 3. performs the access on its device model, using
//!    [`Vcpu::mmio_write_value`](crate::Vcpu::mmio_write_value) for what a write stores;
//! 4. completes the instruction with
//!    [`Vcpu::complete_mmio_read`](crate::Vcpu::complete_mmio_read) or
//!    [`Vcpu::complete_mmio_write`](crate::Vcpu::complete_mmio_write), which update the
//!    registers and RFLAGS ([`complete`]) and move RIP by the decoded length.
//!
//! With EPT, the [`GuestMemoryRead`] the walker reads through is the hypervisor's view of
//! guest-physical memory: the guest's page tables hold guest-physical addresses, and
//! translating those through the EPT is the hypervisor's business (SDM Vol. 3C §29.3.1).

pub mod access;
pub mod alu;
pub mod complete;
pub mod decode;
pub mod exit;
pub mod walk;

// Not under Miri: this module has no unsafe code of its own, and Miri's Stacked Borrows
// model reports a retag violation inside the decoder it calls (iced-x86 1.22,
// src/decoder/handlers/legacy.rs:2623, `&*(self_ptr as *const Self)`), third-party code this
// crate cannot change; the tests run natively in `cargo test`.
#[cfg(all(test, not(miri)))]
mod tests;

pub use access::{
    AddressSize, AluOp, Extension, MmioAccess, MmioOperation, Operand, RegisterOperand,
    RegisterPart, StringForm,
};
pub use decode::{
    Bitness, DecodeError, FetchError, FetchState, MAX_INSTRUCTION_LENGTH, Mnemonic, decode, fetch,
    fetch_and_decode,
};
pub use exit::{MmioExit, MmioExitRefusal};
pub use walk::{
    Access, AccessKind, GuestMemoryRead, PageFault, PagingMode, PagingState, Translation,
    WalkError, translate,
};
