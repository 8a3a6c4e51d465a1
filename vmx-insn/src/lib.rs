//! One wrapper per Intel VMX instruction, with VMfail decoding
//! (Intel® 64 and IA-32 Architectures Software Developer's Manual, Volume 3C, chapter 31
//! "VMX Instruction Reference").
//!
//! | instruction | wrapper | safe? |
//! |---|---|---|
//! | VMXON | [`vmxon`] ([`vmxon_unchecked`]) | `unsafe`: hands a memory region to the processor |
//! | VMXOFF | [`vmxoff`] | `unsafe`: ends VMX operation under other code's feet |
//! | VMCLEAR | [`vmclear`] ([`vmclear_unchecked`]) | `unsafe`: the processor writes the region |
//! | VMPTRLD | [`vmptrld`] ([`vmptrld_unchecked`]) | `unsafe`: the processor owns the region while active |
//! | VMPTRST | [`vmptrst`] | safe: writes only a local |
//! | VMREAD | [`vmread`] (typed by `vmx_defs::vmcs::Field`), [`vmread_raw`] | safe: reads processor state into a register |
//! | VMWRITE | [`vmwrite`] (writable fields only), [`vmwrite_raw`] | `unsafe`: host state and pointers steer later VM exits |
//! | INVEPT | [`invept`] ([`invept_raw`]) | safe: only drops cached translations |
//! | INVVPID | [`invvpid`] ([`invvpid_raw`]) | safe: only drops cached translations |
//! | VMCALL | [`vmcall`] | `unsafe`: the hypervisor's ABI may touch memory |
//! | VMFUNC | [`vmfunc`] | `unsafe`: EPTP switching remaps the running guest |
//!
//! VMLAUNCH and VMRESUME are not wrapped: they only make sense together with the code
//! that saves and restores the guest's registers around a VM entry and receives the VM
//! exit (the vCPU run loop); such code can decode the RFLAGS it captures with
//! [`vmfail_from_rflags`].
//!
//! # Status and errors
//! Every instruction that can fail captures RFLAGS in the same `asm!` block and decodes
//! it with the pure [`decode_rflags`] (SDM Vol. 3C §31.2). VMfailValid is turned into
//! [`VmFail::Valid`] with the number read from the VM-instruction error field
//! (SDM Vol. 3C §31.4) inside the wrapper, so callers get
//! `Err(InsnError::VmFail(VmFail::Valid(VmInstructionError::...)))`.
//!
//! Cheap preconditions are checked in software before the processor is touched:
//! 4-KByte alignment and physical-address width of VMXON/VMCLEAR/VMPTRLD operands
//! ([`check_region_address`]), the width read once from CPUID.80000008H
//! ([`physical_address_width`]); INVEPT/INVVPID types against IA32_VMX_EPT_VPID_CAP (read
//! once, [`ept_vpid_capabilities`]), the single-context EPTP, VPID 0 and canonical
//! addresses ([`check_invept`], [`check_invvpid`]). The `*_unchecked` and `*_raw` forms
//! skip those checks so a test can observe the processor's own answer.
//!
//! # Safety model
//! A wrapper is `unsafe` when a wrong call can break memory safety: when it hands memory
//! to the processor (VMXON, VMCLEAR, VMPTRLD), writes state that a later VM exit or entry
//! uses as pointers (VMWRITE), or lets another party touch memory (VMCALL, VMFUNC). It is
//! safe when the instruction only reads processor state or writes a local (VMREAD,
//! VMPTRST) or only drops cached translations (INVEPT, INVVPID): called in the wrong mode
//! those fault (#UD, #GP) or cause a VM exit, which ends the operation without touching
//! memory.
//!
//! This crate only builds for `x86_64` (its instructions are 64-bit-mode forms); the pure
//! decoding and checks are available on every target.
#![no_std]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(target_arch = "x86_64")]
#[macro_use]
mod asm_status;

mod address;
mod error;
mod field_value;
mod invalidation_check;
mod status;

#[cfg(target_arch = "x86_64")]
mod guest;
#[cfg(target_arch = "x86_64")]
mod invalidation;
#[cfg(target_arch = "x86_64")]
mod vmcs_access;
#[cfg(target_arch = "x86_64")]
mod vmcs_pointer;
#[cfg(target_arch = "x86_64")]
mod vmx_operation;

pub use address::{
    DEFAULT_LINEAR_ADDRESS_WIDTH, PhysAddrWidth, REGION_ALIGN, check_region_address,
    decode_address_widths, is_canonical,
};
#[cfg(target_arch = "x86_64")]
pub use address::{linear_address_width, physical_address_width};
pub use error::{InsnError, VmFail, instruction_error_kind};
pub use field_value::FieldValue;
pub use invalidation_check::{check_invept, check_invvpid};
pub use status::{RFLAGS_CF, RFLAGS_ZF, VmFailKind, decode_rflags};

#[cfg(target_arch = "x86_64")]
pub use guest::{VMFUNC_EPTP_SWITCHING, VmcallRegs, vmcall, vmfunc};
#[cfg(target_arch = "x86_64")]
pub use invalidation::{ept_vpid_capabilities, invept, invept_raw, invvpid, invvpid_raw};
#[cfg(target_arch = "x86_64")]
pub use vmcs_access::{
    VM_INSTRUCTION_ERROR_ENCODING, vm_instruction_error, vmfail_from_rflags, vmread, vmread_raw,
    vmwrite, vmwrite_raw,
};
#[cfg(target_arch = "x86_64")]
pub use vmcs_pointer::{
    NO_CURRENT_VMCS, vmclear, vmclear_unchecked, vmptrld, vmptrld_unchecked, vmptrst,
};
#[cfg(target_arch = "x86_64")]
pub use vmx_operation::{vmxoff, vmxon, vmxon_unchecked};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// `Result` with this crate's error type.
pub type Result<T, E = InsnError> = core::result::Result<T, E>;
