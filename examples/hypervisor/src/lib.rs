//! The example hypervisor's building blocks.
//!
//! The bare-metal program (`src/main.rs`) boots on `ci/baremetal`, enables VMX, gives the
//! guest (the example guest, or an unmodified Linux kernel from the disk's payload) its own
//! guest-physical space through EPT and runs it, handling its VM exits. Everything in this
//! library is plain data handling, independent of VMX, so it is tested on the host:
//!
//! | module | what it holds |
//! |---|---|
//! | [`guest_loader`] | ELF64 parsing (PT_LOAD segments) and loading into guest RAM |
//! | [`guest_setup`] | the guest's GDT, TSS and identity page tables, and its initial 64-bit state |
//! | [`mmio`] | the made-up MMIO device and emulating one access to it with `vmx_vcpu::mmio` (page walk, decode, completion) |
//! | [`uart`] | the 16550 UART model behind the guest's serial port |
//! | [`cpuid`] | what CPUID returns to the guest (the example guest's view, and Linux's policy: [`cpuid::linux_view`]) |
//! | [`msr`] | the Linux guest's MSR policy (emulated MSRs, the local APIC's to the platform, unknown ones #GP) |
//! | [`linux`] | Linux boot plans: the bzImage 64-bit boot protocol and the PVH entry of a vmlinux, zero page / start info, e820, MP table, entry state |
//! | [`platform`] | the machine Linux sees: local APICs (timer included), I/O APIC, 8254 PIT, 16550A UART, RTC/CMOS, PCI host bridge with no devices, reset ports |
//! | [`exit_stats`] | counting VM exits by reason |
//!
//! The contract with the guest (addresses, vectors, hypercall numbers) is
//! [`example_guest::abi`].
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod cpuid;
pub mod exit_stats;
pub mod guest_loader;
pub mod guest_setup;
pub mod linux;
pub mod mmio;
pub mod msr;
pub mod platform;
pub mod uart;

/// The workspace README's snippets, compiled (and, where they can run on the host, run) as
/// doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct WorkspaceReadmeDoctests;
