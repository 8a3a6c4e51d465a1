//! Talking to the hypervisor: its CPUID signature leaf and the `VMCALL` hypercalls.

use core::arch::x86_64::__cpuid;

use example_guest::abi::{self, check, hypercall};

/// Reads CPUID 0x4000_0000 and CPUID.1:ECX.hypervisor, prints them, and returns the
/// [`check`] flags that failed.
pub fn report_signature() -> u64 {
    let mut failed = 0;

    // CPUID is always available in 64-bit mode (SDM Vol. 2A, CPUID).
    let leaf1 = __cpuid(1);
    let hypervisor_bit = leaf1.ecx & abi::CPUID_1_ECX_HYPERVISOR != 0;
    println!(
        "cpuid 1: hypervisor present bit = {}",
        u8::from(hypervisor_bit)
    );
    if !hypervisor_bit {
        failed |= check::HYPERVISOR_BIT;
    }

    let leaf = __cpuid(abi::CPUID_HYPERVISOR_LEAF);
    let mut signature = [0u8; 12];
    for (chunk, register) in signature
        .chunks_exact_mut(4)
        .zip([leaf.ebx, leaf.ecx, leaf.edx])
    {
        chunk.copy_from_slice(&register.to_le_bytes());
    }
    let printable = core::str::from_utf8(&signature).unwrap_or("<not UTF-8>");
    println!(
        "cpuid {:#x}: max leaf {:#x}, hypervisor signature \"{printable}\"",
        abi::CPUID_HYPERVISOR_LEAF,
        leaf.eax
    );
    if signature != abi::HYPERVISOR_SIGNATURE {
        failed |= check::SIGNATURE;
    }
    failed
}

/// `VMCALL` with `number` in RAX and `argument` in RDI; returns the hypervisor's RAX.
fn vmcall(number: u64, argument: u64) -> u64 {
    let answer: u64;
    // SAFETY: VMCALL in VMX non-root operation is a VM exit to our hypervisor (SDM Vol. 3C
    // §26.1.3), which only reads RAX/RDI and writes RAX; no memory is touched.
    unsafe {
        core::arch::asm!(
            "vmcall",
            inout("rax") number => answer,
            in("rdi") argument,
            options(nostack),
        );
    }
    answer
}

/// The `DONE` hypercall with the mask of failed self-checks; returns the hypervisor's answer
/// if it resumes the guest (it normally ends the run).
pub fn done(failed_checks: u64) -> u64 {
    crate::serial::flush();
    vmcall(hypercall::DONE, failed_checks)
}

/// The `PANIC` hypercall, after the message was printed; then halts.
pub fn panic() -> ! {
    crate::serial::flush();
    vmcall(hypercall::PANIC, 0);
    halt_forever()
}

/// Halts with interrupts disabled, forever.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: CLI and HLT only stop this (virtual) processor.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}
