//! Intel VT-x (VMX) definitions as pure data.
//!
//! Everything here follows the Intel® 64 and IA-32 Architectures Software Developer's
//! Manual (SDM): Volume 3C chapters 24-33 (VMX) and Volume 3D appendices A-C (capability
//! reporting, field encodings, exit reasons). The crate has no `unsafe`,
//! no inline assembly and no allocation: it describes the architecture; the `vmx-insn` crate executes it.
#![no_std]
#![forbid(unsafe_code)]

pub mod addr;
pub mod capabilities;
pub mod controls;
pub mod ept;
pub mod exception;
pub mod exit_reason;
pub mod guest_state;
pub mod instruction_error;
pub mod instruction_info;
pub mod interruption;
pub mod invalidation;
pub mod memory_type;
pub mod msr_entry;
pub mod posted_interrupt;
pub mod qualification;
pub mod registers;
pub mod vmcs;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
///
/// SDM Vol. 3C chapters 24-33 (the README's examples).
pub struct ReadmeDoctests;
