//! Handing the host the NMIs and external interrupts that arrived while a guest ran (SDM
//! Vol. 3C §26.2 "Other Causes of VM Exits": with "NMI exiting" and "external-interrupt
//! exiting" = 1, which every vCPU requires ([`ISOLATION`](crate::ISOLATION)), an NMI or
//! interrupt arriving in VMX non-root operation causes a VM exit instead of being delivered;
//! §28.2.2 "acknowledge interrupt on exit").
//!
//! An NMI exit ([`VmExit::Nmi`](crate::VmExit::Nmi)) means the NMI was *consumed* by the
//! exit: the host's NMI handler never ran and never will unless the host delivers it. The
//! same holds for an external-interrupt exit with "acknowledge interrupt on exit" = 1: the
//! processor acknowledged the interrupt controller and stored the vector in the exit
//! information, so the host's handler for that vector must be invoked by software. Do it
//! right after the exit, with interrupts still disabled (as Linux KVM does in
//! `handle_exception_nmi_irqoff` / `handle_external_interrupt_irqoff`), before anything else
//! can run on this CPU: inside a [`Vcpu::run_loop`](crate::Vcpu::run_loop) handler (which
//! runs with interrupts disabled), or after [`Vcpu::run`](crate::Vcpu::run) returns.
//! Without "acknowledge interrupt on exit" the interrupt stays pending at the interrupt
//! controller and is delivered to the host by itself as soon as RFLAGS.IF = 1: no call is
//! needed.

use core::arch::asm;

use crate::error::VmxError;

/// Invokes the host's NMI handler through its IDT (INT 2), for an NMI that caused a VM exit.
///
/// INT 2 runs the handler of vector 2 but does not block further NMIs the way a hardware
/// NMI does (SDM Vol. 3A §6.7.1): a handler that relies on that blocking must tolerate it.
///
/// # Safety
/// CPL 0 on the processor that took the exit, with the host's IDT loaded, its vector-2 gate
/// present, and a host NMI handler that may run here (in the middle of the caller's code,
/// like a real NMI). Call it once per [`VmExit::Nmi`](crate::VmExit::Nmi).
pub unsafe fn deliver_host_nmi() {
    // SAFETY: the caller guarantees a usable vector-2 handler; INT 2 pushes an interrupt
    // frame and returns here with IRET, like a hardware NMI.
    unsafe { asm!("int 2") };
}

/// Invokes the host's handler for external-interrupt `vector` (32-255) through its IDT
/// (INT n), for an interrupt acknowledged on exit (SDM §28.2.2): the vector from
/// [`VmExit::ExternalInterrupt`](crate::VmExit::ExternalInterrupt).
///
/// Returns [`VmxError::NotAnInterruptVector`] for vectors 0-31 (exceptions, never
/// external interrupts on a processor whose interrupt controller follows the SDM, Vol. 3A
/// §6.2).
///
/// # Safety
/// CPL 0 on the processor that took the exit, with the host's IDT loaded and a handler for
/// `vector` that may run here (it will typically signal EOI to the interrupt controller, as
/// for a hardware interrupt). Call it once per acknowledged interrupt.
pub unsafe fn deliver_host_interrupt(vector: u8) -> Result<(), VmxError> {
    if vector < 32 {
        return Err(VmxError::NotAnInterruptVector(vector));
    }
    let stub = vmx_vcpu_int_stubs as *const () as usize + usize::from(vector) * STUB_SIZE;
    // SAFETY: `stub` is the `int vector; ret` stub for this vector in the table below (the
    // table has 256 stubs of STUB_SIZE bytes); the caller guarantees the handler may run.
    // The stub clobbers nothing but what an interrupt handler preserves; it uses the stack.
    unsafe { asm!("call {s}", s = in(reg) stub, clobber_abi("C")) };
    Ok(())
}

/// Size of one stub in the `vmx_vcpu_int_stubs` table: ENDBR64 (4), INT imm8 (2), RET (1),
/// padded to 8.
const STUB_SIZE: usize = 8;

unsafe extern "C" {
    /// 256 stubs `endbr64; int N; ret`, 8 bytes each. Not callable as a C function.
    fn vmx_vcpu_int_stubs();
}

core::arch::global_asm!(
    ".pushsection .text.vmx_vcpu_int_stubs,\"ax\",@progbits",
    ".global vmx_vcpu_int_stubs",
    ".p2align 3",
    "vmx_vcpu_int_stubs:",
    ".set vmx_vcpu_int_n, 0",
    ".rept 256",
    ".p2align 3",
    "endbr64",
    ".byte 0xcd, vmx_vcpu_int_n",
    "ret",
    ".set vmx_vcpu_int_n, vmx_vcpu_int_n + 1",
    ".endr",
    ".popsection",
);
