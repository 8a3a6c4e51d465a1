//! The hypervisor's main flow: with a Linux payload on the disk, the Linux virtual machine
//! (`linux_vm`); otherwise the example guest: capabilities, guest memory and image, EPT,
//! VMX, the vCPU, the run, the report.

use baremetal::exit::{ExitCode, exit};
use baremetal::println;
use example_guest::abi;
use example_hypervisor::guest_loader::GuestImage;
use example_hypervisor::guest_setup;
use vmx_defs::capabilities::VmxCapabilities;
use vmx_vcpu::{VcpuConfig, VmxCpu, VmxVcpu};

use crate::error::HypervisorError;
use crate::exits::{GuestResult, Machine, TIMER_PERIOD_TSC};
use crate::guest_memory::GuestMemory;
use crate::hosts::FrameHost;

/// The guest executable, built by `cargo ci run` and copied here by `build.rs`.
static GUEST_ELF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.elf"));

/// CPUID.1:ECX bit 5: VMX (SDM Vol. 3C §24.6 "Discovering Support for VMX").
const CPUID_1_ECX_VMX: u32 = 1 << 5;

/// Entered by the runtime once the console, GDT/TSS, IDT, frames and heap are ready.
pub fn main() -> ! {
    println!(
        "example hypervisor: started (Bochs CPU model \"{}\")",
        baremetal::boot::model_name()
    );
    // A payload on the disk (issue 12) selects the Linux virtual machine; without one the
    // example guest runs as before.
    match baremetal::payload::Directory::read() {
        Ok(Some(dir)) => crate::linux_vm::main(dir),
        Ok(None) => {}
        Err(e) => {
            println!("example hypervisor: FAILED: reading the payload directory: {e}");
            exit(ExitCode::Failure)
        }
    }
    match run() {
        Ok(result) if result.failed_checks == 0 => {
            println!("example hypervisor: guest DONE, result 0 (all self-checks passed)");
            println!("example hypervisor: SUCCESS");
            exit(ExitCode::Success)
        }
        Ok(result) => {
            println!(
                "example hypervisor: FAILED: the guest's self-checks failed (mask {:#x}, see example_guest::abi::check)",
                result.failed_checks
            );
            exit(ExitCode::Failure)
        }
        Err(e) => {
            println!("example hypervisor: FAILED: {e}");
            exit(ExitCode::Failure)
        }
    }
}

/// Reads the VMX capability MSRs (SDM Vol. 3C Appendix A), after checking CPUID for VMX,
/// to refuse early and clearly on a processor that lacks what the example needs.
fn check_capabilities() -> Result<(), HypervisorError> {
    if baremetal::cpu::cpuid(1, 0).ecx & CPUID_1_ECX_VMX == 0 {
        return Err(HypervisorError::NoVmx);
    }
    // `from_msrs` reads only the MSRs that exist on this processor; a #GP would still be
    // caught and read as 0 rather than crash.
    let caps = VmxCapabilities::from_msrs(|msr| baremetal::try_rdmsr(msr).unwrap_or(0));
    if !caps.has_ept() {
        return Err(HypervisorError::MissingFeature(
            "EPT (extended page tables)",
        ));
    }
    if !caps.has_preemption_timer() {
        return Err(HypervisorError::MissingFeature("the VMX-preemption timer"));
    }
    Ok(())
}

fn run() -> Result<GuestResult, HypervisorError> {
    check_capabilities()?;

    // The guest's RAM, its image, its GDT and page tables.
    if GUEST_ELF.is_empty() {
        return Err(HypervisorError::NoGuest);
    }
    let mut memory = GuestMemory::new()?;
    let image = GuestImage::parse(GUEST_ELF)?;
    image.load_into(memory.as_mut_slice())?;
    let guest_state = guest_setup::build(memory.as_mut_slice(), image.entry)?;
    println!(
        "example hypervisor: guest RAM {:#x} bytes at host-physical {:#x}; guest image: {} segments, entry {:#x}",
        memory.size(),
        memory.host_base(),
        image.segments.len(),
        image.entry
    );

    // VMX root operation (SDM Vol. 3C §24.7).
    // SAFETY: CPL 0 in 64-bit mode on the only CPU, interrupts disabled, nothing else uses
    // VMX here.
    let cpu = unsafe { VmxCpu::enable(FrameHost) }?;
    let caps = cpu.capabilities();
    println!(
        "example hypervisor: VMX on (VMCS revision {:#x}), EPT and preemption timer (rate 2^{})",
        caps.basic().revision_id(),
        caps.misc().preemption_timer_rate()
    );

    // The guest's own guest-physical space.
    let ept = crate::guest_ept::build(&memory, caps)?;
    println!(
        "example hypervisor: EPT maps guest-physical [0, {:#x}) with {} paging-structure frames (EPTP {:#x}); the device page {:#x} is left unmapped",
        memory.size(),
        ept.edit().frames_used(),
        ept.eptp().raw(),
        abi::DEVICE_BASE
    );

    // The vCPU: EPT, HLT exiting, the preemption timer, every I/O port and MSR intercepted.
    let mut config = VcpuConfig::new(guest_state);
    config.preemption_timer = true;
    // The vCPU attaches to the EPT: the guest reaches only what it maps, and the vCPU
    // performs the invalidations that edits of it publish before each VM entry.
    let mut vcpu = VmxVcpu::new(&cpu, ept.attach()?, &config)?;
    // Every exception exits: the guest has no handlers of its own, so any fault is a bug
    // worth reporting (SDM Vol. 3C §25.6.3).
    vcpu.set_exception_bitmap(u32::MAX)?;
    vcpu.set_preemption_timer(TIMER_PERIOD_TSC)?;

    let mut machine = Machine::new(&memory);
    println!("example hypervisor: launching the guest");
    let result = machine.run(&mut vcpu);

    println!(
        "example hypervisor: timer interrupts injected: {}",
        machine.timer_delivered
    );
    println!(
        "example hypervisor: preemption-timer expiries: {} (a tick waiting for the guest absorbs later ones)",
        machine.timer_ticks
    );
    println!("example hypervisor: exit statistics:");
    println!("{}", machine.stats);

    // The EPT's frames go back only after the vCPU that used them is gone (the vCPU
    // borrows the EPT, so the compiler keeps this order).
    drop(vcpu);
    drop(ept);
    cpu.disable()?;
    result
}
