//! The hypervisor's main flow: capabilities, guest memory, guest image, then the vCPU.

use baremetal::exit::{ExitCode, exit};
use baremetal::println;
use example_guest::abi;
use example_hypervisor::guest_loader::GuestImage;
use example_hypervisor::guest_setup;
use vmx_defs::capabilities::VmxCapabilities;

use crate::error::HypervisorError;
use crate::guest_memory::GuestMemory;

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
    match run() {
        Ok(()) => {
            println!("example hypervisor: SUCCESS");
            exit(ExitCode::Success)
        }
        Err(e) => {
            println!("example hypervisor: FAILED: {e}");
            exit(ExitCode::Failure)
        }
    }
}

/// Reads the VMX capability MSRs (SDM Vol. 3C Appendix A), after checking CPUID for VMX.
fn read_capabilities() -> Result<VmxCapabilities, HypervisorError> {
    if baremetal::cpu::cpuid(1, 0).ecx & CPUID_1_ECX_VMX == 0 {
        return Err(HypervisorError::NoVmx);
    }
    // `from_msrs` reads only the MSRs the basic controls say exist; a #GP would still be
    // caught and read as 0 rather than crash.
    Ok(VmxCapabilities::from_msrs(|msr| {
        baremetal::try_rdmsr(msr).unwrap_or(0)
    }))
}

fn run() -> Result<(), HypervisorError> {
    let caps = read_capabilities()?;
    if !caps.has_ept() {
        return Err(HypervisorError::MissingFeature(
            "EPT (extended page tables)",
        ));
    }
    if !caps.has_preemption_timer() {
        return Err(HypervisorError::MissingFeature("the VMX-preemption timer"));
    }
    println!(
        "example hypervisor: VMX with EPT and the preemption timer (VMCS revision {:#x})",
        caps.basic().revision_id()
    );

    let mut memory = GuestMemory::new()?;
    let image = GuestImage::parse(GUEST_ELF)?;
    image.load_into(memory.as_mut_slice())?;
    let state = guest_setup::build(memory.as_mut_slice(), image.entry)?;
    println!(
        "example hypervisor: guest RAM {:#x} bytes at host {:#x}; guest image: {} segments, entry {:#x}",
        memory.size(),
        memory.host_base(),
        image.segments.len(),
        state.rip
    );
    let _ = abi::DEVICE_BASE;
    Err(HypervisorError::MissingFeature(
        "vmx-vcpu's VmxVcpu run loop (being written): the guest cannot run yet",
    ))
}
