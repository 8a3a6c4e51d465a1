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
/// - The hypervisor's ABI decides what the call does: the caller passes values that are
///   valid under that ABI, and any memory the hypervisor may read or write by that ABI
///   (buffers named by the registers, shared pages) is memory the caller has handed over
///   for the call: no Rust reference to memory the hypervisor writes is live during the
///   call, and the hypervisor writes no other memory of this program (its stacks, statics
///   and heap). Changes the hypervisor makes to the guest's memory mappings (EPT, or the
///   guest paging structures) leave every address this program uses mapped to the same
///   contents.
/// - When the hypervisor resumes the guest, it continues at the instruction after VMCALL
///   (RIP + 3) with every register preserved that this call does not declare as an
///   output: `asm!` tells the compiler that only RAX, RBX, RCX, RDX, RSI, RDI (the six
///   [`VmcallRegs`] registers), one more general-purpose register chosen by the compiler
///   for the RFLAGS capture, and the status flags change. Everything else must hold the
///   value it had before VMCALL: RSP, RBP, R8 to R15 (the compiler keeps live values
///   there, and the caller's own RBX in one of them for the duration of the call), the
///   x87, MMX, XMM/YMM/ZMM and opmask registers, the x87 control word and MXCSR control
///   bits, RFLAGS apart from CF, PF, AF, ZF, SF and OF (DF in particular stays 0, as Rust
///   requires, and IF, TF and AC unchanged), the segment registers and the FS and GS
///   bases, CR0, CR3, CR4, XCR0, PKRU and the MSRs this program depends on. A hypervisor
///   that sets CF or ZF on purpose reports a VMX status (see above).
/// - In VMX root operation the caller must make sure the dual-monitor treatment cannot be
///   activated unexpectedly (IA32_SMM_MONITOR_CTL\[0\] is 0; SDM Vol. 3C §31.3 "VMCALL");
///   then only the VMfail outcomes above occur.
pub unsafe fn vmcall(regs: &mut VmcallRegs) -> Result<(), InsnError> {
    let rflags: u64;
    let mut rbx = regs.rbx;
    // SAFETY: the caller upholds the contract above (the hypervisor's ABI, the registers
    // it preserves, the memory it may write). RBX is reserved by the compiler, so its value
    // travels in another register and is swapped in and out around VMCALL. `rflags` is
    // an `out` (not `lateout`) operand, so it shares no register with an input and can
    // serve as the scratch of `mov`/`test`, which clear CF and ZF. The block may use the
    // stack (no `nostack`: PUSHFQ), changes flags (no `preserves_flags`) and clobbers
    // memory (no `nomem`/`readonly`), because the hypervisor may write memory handed to it.
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
/// - VMX non-root operation with "enable VM functions" set and `function` enabled by the
///   hypervisor; otherwise VMFUNC raises #UD (or causes a VM exit, see below).
/// - EPTP switching ([`VMFUNC_EPTP_SWITCHING`]) replaces the guest-physical to
///   host-physical translation under the running code. For as long as the selected EPT
///   view stays in effect, every guest-physical address this program may touch (its code,
///   stack, statics, heap and whatever memory a live reference names) must reach the same
///   host-physical memory as before, or different memory that the program is prepared to
///   see (for example, a page it only reads through raw pointers); and the hypervisor
///   must keep the views' tables valid.
/// - If the call causes a VM exit (reason 59: function disabled, `function >= 64`, `ecx`
///   not below 512 or an invalid EPTP-list entry), the hypervisor resumes the guest with
///   every register preserved (EAX and ECX included: they are inputs only), RFLAGS apart
///   from the status flags unchanged, and no memory of this program written, or delivers
///   an exception (#UD) that this program handles.
pub unsafe fn vmfunc(function: u32, ecx: u32) {
    // SAFETY: the caller upholds the contract above (the function is enabled, the new EPT
    // view keeps this program's memory in place, a VM exit preserves every register).
    // VMFUNC reads EAX and ECX and, completed in the guest, changes no register; memory is
    // clobbered because the function may change which memory guest-physical addresses
    // reach, and flags because a hypervisor handling a VM exit may change them.
    unsafe {
        asm!(
            "vmfunc",
            in("eax") function,
            in("ecx") ecx,
        );
    }
}
