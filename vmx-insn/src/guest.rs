//! Guest-side instructions: VMCALL (hypercall) and VMFUNC (VM functions)
//! (SDM Vol. 3C §26.5.5, §31.3).

use core::arch::asm;

use crate::error::InsnError;
use crate::vmcs_access::vmfail_from_rflags;

/// The registers a hypercall passes in and gets back.
///
/// Convention of [`vmcall`]: RAX, RBX, RCX, RDX, RSI and RDI are loaded from this
/// structure before VMCALL and stored back into it afterwards, so the hypervisor receives
/// all six in the guest-state it saved on the VM exit (RAX...RDI of the guest) and
/// returns results by changing them before resuming the guest. Which register means what
/// (function number, arguments, status) is the hypervisor's ABI; a common choice is the
/// function number in RAX and the status back in RAX. No other register is read or
/// changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VmcallRegs {
    /// RAX.
    pub rax: u64,
    /// RBX.
    pub rbx: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// RSI.
    pub rsi: u64,
    /// RDI.
    pub rdi: u64,
}

/// VMCALL: calls the hypervisor with the registers in `regs` (SDM Vol. 3C §26.1.2,
/// §31.3 "VMCALL"), then stores the registers the hypervisor returned into `regs`.
///
/// In VMX non-root operation VMCALL always causes a VM exit (exit reason 18); the
/// hypervisor resumes the guest after the instruction. RFLAGS.CF and ZF are cleared just
/// before VMCALL, so they read as a VMX status afterwards only if the hypervisor set them
/// on purpose (as a hypervisor that emulates VMX for its guest does); otherwise the call
/// returns `Ok(())`.
///
/// In VMX root operation VMCALL does not exit: it fails with VMfailValid 1 when there is
/// a current VMCS (or attempts to activate the dual-monitor treatment of SMIs and SMM when
/// IA32_SMM_MONITOR_CTL\[0\] is 1, errors 19 to 24), and with VMfailInvalid when there is
/// none. Outside VMX operation it raises #UD.
///
/// # Errors
/// [`crate::VmFail`] as decoded from RFLAGS after the call (see above).
///
/// # Safety
/// The hypervisor's ABI decides what the call does: it may read or write guest memory
/// named by the registers, change the guest's memory mappings or its state. The caller
/// must pass values that are valid under that ABI. In VMX root operation the caller must
/// make sure the dual-monitor treatment cannot be activated unexpectedly.
pub unsafe fn vmcall(regs: &mut VmcallRegs) -> Result<(), InsnError> {
    let rflags: u64;
    let mut rbx = regs.rbx;
    // SAFETY: the caller upholds the hypervisor ABI contract above. RBX is reserved by the
    // compiler, so its value travels in another register and is swapped in and out around
    // VMCALL. `mov`/`test` clear CF and ZF without touching inputs; memory is clobbered
    // because the hypervisor may write guest memory.
    unsafe {
        asm!(
            "xchg {rbx}, rbx",
            "mov {rflags:e}, 1",
            "test {rflags:e}, {rflags:e}",
            "vmcall",
            "xchg {rbx}, rbx",
            "pushfq",
            "pop {rflags}",
            rbx = inout(reg) rbx,
            rflags = out(reg) rflags,
            inout("rax") regs.rax,
            inout("rcx") regs.rcx,
            inout("rdx") regs.rdx,
            inout("rsi") regs.rsi,
            inout("rdi") regs.rdi,
        );
    }
    regs.rbx = rbx;
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// VM function 0, EPTP switching (SDM Vol. 3C §26.5.5.3): ECX is an index into the EPTP
/// list (0 to 511).
pub const VMFUNC_EPTP_SWITCHING: u32 = 0;

/// VMFUNC: invokes VM function `function` (EAX) with `ecx` as its argument
/// (SDM Vol. 3C §26.5.5, §31.3 "VMFUNC").
///
/// In VMX non-root operation with the "enable VM functions" secondary control set, a
/// function that the VM-function controls enable runs without a VM exit; a disabled
/// function, `function >= 64` or an invalid argument (for EPTP switching, `ecx >= 512` or
/// an invalid EPTP-list entry) causes a VM exit with reason 59. With that control clear,
/// and outside VMX non-root operation (including VMX root operation), VMFUNC raises #UD.
/// VMFUNC reports no status in RFLAGS.
///
/// # Safety
/// VMX non-root operation with the function enabled by the hypervisor. EPTP switching
/// ([`VMFUNC_EPTP_SWITCHING`]) replaces the guest-physical to host-physical translation
/// under the running code: the caller must make sure the code, stack and data in use
/// are mapped identically (or as intended) in the selected EPT view.
pub unsafe fn vmfunc(function: u32, ecx: u32) {
    // SAFETY: the caller upholds the contract above. Memory is clobbered because the
    // function may change which memory guest-physical addresses reach.
    unsafe {
        asm!(
            "vmfunc",
            in("eax") function,
            in("ecx") ecx,
        );
    }
}
