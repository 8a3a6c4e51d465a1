//! Bare-metal x86-64 runtime shared by the test kernel and the example hypervisor.
//!
//! Boots from a BIOS boot sector into 64-bit long mode with the first 4 GiB identity
//! mapped ([`boot`]), then provides: a serial console with `print!`/`println!`
//! ([`console`]) and a `log` backend, the kernel's GDT and TSS ([`gdt`]), an IDT with
//! installable handlers ([`interrupts`]), exception and panic catching ([`catch`]), a
//! physical frame allocator ([`frames`]) and a heap for `alloc` ([`heap`]), CPU
//! instruction wrappers ([`cpu`]), the legacy PICs remapped and masked ([`pic`]) and a way
//! to end the emulator run ([`exit`]).
//!
//! Everything that only makes sense on the bare-metal target (`target_os = "none"`) is
//! compiled only there; the pure bookkeeping (frame bitmap, free-list heap, types) also
//! builds and is tested on the host. See `ci/baremetal/README.md` for the image layout.
#![no_std]

#[cfg(target_os = "none")]
extern crate alloc;

pub mod boot;
pub mod catch;
pub mod console;
pub mod cpu;
pub mod disk;
pub mod exit;
pub mod frames;
pub mod gdt;
pub mod heap;
pub mod interrupts;
pub mod memory;
pub mod payload;
pub mod pic;
pub mod smp;
pub mod sync;

#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
pub mod logger;

pub use catch::{ExceptionInfo, Fault, PanicMessage};
#[cfg(target_os = "none")]
pub use catch::{catch_exception, catch_fault};
pub use interrupts::{InterruptFrame, InterruptHandler, set_interrupt_handler};

/// RDMSR that reports a #GP (non-existent MSR) instead of faulting.
#[cfg(target_os = "none")]
pub fn try_rdmsr(msr: u32) -> Result<u64, ExceptionInfo> {
    // SAFETY: a #GP from a missing MSR is caught; reading capability and status MSRs has
    // no side effects the caller did not ask for.
    catch_exception(|| unsafe { cpu::rdmsr(msr) })
}

/// WRMSR that reports a #GP instead of faulting.
///
/// # Safety
/// As [`cpu::wrmsr`] when the write succeeds.
#[cfg(target_os = "none")]
pub unsafe fn try_wrmsr(msr: u32, value: u64) -> Result<(), ExceptionInfo> {
    // SAFETY: the caller accepts the write's effects as for `cpu::wrmsr`; a #GP (missing
    // MSR, reserved bits) is caught and reported instead of faulting.
    catch_exception(|| unsafe { cpu::wrmsr(msr, value) })
}
