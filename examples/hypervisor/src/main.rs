//! The example hypervisor: runs `examples/guest` under Intel VT-x.
//!
//! A bare-metal program on `ci/baremetal` (booted by Bochs, or QEMU + KVM with nested VMX)
//! that uses only the public APIs of `vmx-defs`, `vmx-insn`, `ept` and `vmx-vcpu`:
//! 1. checks the processor's VMX capabilities (it needs EPT and the VMX-preemption timer);
//! 2. gives the guest its own guest-physical space: [`GUEST_RAM_SIZE`] bytes of host frames
//!    mapped at guest-physical 0 by an EPT (`guest_memory.rs`);
//! 3. loads the guest's ELF (embedded at build time) and writes its GDT and page tables
//!    (`example_hypervisor::guest_loader`, `example_hypervisor::guest_setup`);
//! 4. enters VMX operation, configures a vCPU and runs the guest, handling its VM exits
//!    (`exits.rs`): serial port I/O, CPUID, the preemption timer and timer-interrupt
//!    injection, HLT, MMIO emulation from EPT violations, and the hypercalls;
//! 5. prints the exit statistics and ends the run with success, or prints what went wrong
//!    (decoded) and ends it with failure.
//!
//! Build and boot it with `cargo ci run [--model M]`. On the host this binary only explains
//! that.
//!
//! [`GUEST_RAM_SIZE`]: example_guest::abi::GUEST_RAM_SIZE
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod error;
#[cfg(target_os = "none")]
mod exits;
#[cfg(target_os = "none")]
mod guest_ept;
#[cfg(target_os = "none")]
mod guest_memory;
#[cfg(target_os = "none")]
mod hosts;
#[cfg(target_os = "none")]
mod hypervisor;
#[cfg(target_os = "none")]
mod linux_vm;
#[cfg(target_os = "none")]
mod report;

#[cfg(target_os = "none")]
baremetal::entry!(hypervisor::main);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "example-hypervisor is a bare-metal program for x86_64-unknown-none that embeds \
         examples/guest; build both and boot them in Bochs with `cargo ci run` \
         (`--model M` for another CPU model, `--qemu` for QEMU + KVM with nested VMX)."
    );
    std::process::exit(2);
}
