//! VMREAD and VMWRITE (SDM Vol. 3C §31.3), and reading the VM-instruction error after a
//! VMfailValid (SDM Vol. 3C §31.4).

use core::arch::asm;

use vmx_defs::instruction_error::VmInstructionError;

use crate::error::{InsnError, VmFail};
use crate::status::{VmFailKind, decode_rflags};

/// Encoding of the VM-instruction error field, a read-only 32-bit data field
/// (SDM Vol. 3C §25.9.5, Appendix B.3.3).
pub const VM_INSTRUCTION_ERROR_ENCODING: u32 = 0x4400;

/// Executes VMREAD with no status interpretation; returns (value, RFLAGS).
#[inline]
fn vmread_flags(encoding: u32) -> (u64, u64) {
    let value: u64;
    let rflags: u64;
    // SAFETY: VMREAD (register destination) writes only `value`; it reads the current
    // VMCS, which is processor-managed state, and never writes memory. Outside VMX root
    // operation it raises #UD or #GP (or causes a VM exit in VMX non-root operation)
    // instead of executing, which cannot corrupt memory. PUSHFQ/POP use the stack below
    // RSP, which `asm!` permits without `nostack`.
    unsafe {
        asm!(
            "vmread {value}, {encoding}",
            "pushfq",
            "pop {rflags}",
            encoding = in(reg) u64::from(encoding),
            value = out(reg) value,
            rflags = lateout(reg) rflags,
            options(readonly),
        );
    }
    (value, rflags)
}

/// Reads the VM-instruction error field of the current VMCS (SDM Vol. 3C §31.4).
///
/// Meaningful right after an instruction ended in VMfailValid. Fails with
/// [`VmFail::Invalid`] if there is no current VMCS.
pub fn vm_instruction_error() -> Result<VmInstructionError, InsnError> {
    let (value, rflags) = vmread_flags(VM_INSTRUCTION_ERROR_ENCODING);
    match decode_rflags(rflags) {
        // The field is 32 bits wide; VMREAD zero-extends it (SDM Vol. 3C §31.3 VMREAD).
        Ok(()) => Ok(VmInstructionError(value as u32)),
        Err(VmFailKind::Invalid) => Err(InsnError::VmFail(VmFail::Invalid)),
        // Reading the error field itself reported an error: return the number read.
        Err(VmFailKind::Valid) => Err(InsnError::VmFail(VmFail::Valid(read_error_number()))),
    }
}

/// The number in the VM-instruction error field, or 0 (never an SDM number) if it cannot
/// be read.
fn read_error_number() -> VmInstructionError {
    let (value, rflags) = vmread_flags(VM_INSTRUCTION_ERROR_ENCODING);
    match decode_rflags(rflags) {
        Ok(()) => VmInstructionError(value as u32),
        Err(_) => VmInstructionError(0),
    }
}

/// Turns the RFLAGS a VMX instruction left into its outcome (SDM Vol. 3C §31.2): on
/// VMfailValid this reads the VM-instruction error field of the current VMCS
/// (encoding 0x4400) so the caller gets the number.
///
/// Call it with the RFLAGS captured right after the instruction, before anything else
/// touches the current VMCS; it is meant for instructions this crate does not wrap
/// (VMLAUNCH/VMRESUME in a vCPU run loop). The flag decoding itself is the pure
/// [`decode_rflags`].
pub fn vmfail_from_rflags(rflags: u64) -> Result<(), VmFail> {
    match decode_rflags(rflags) {
        Ok(()) => Ok(()),
        Err(VmFailKind::Invalid) => Err(VmFail::Invalid),
        Err(VmFailKind::Valid) => Err(VmFail::Valid(read_error_number())),
    }
}

/// VMREAD: reads the field with raw `encoding` from the current VMCS (SDM Vol. 3C §31.3).
///
/// The value is zero-extended to 64 bits; a 64-bit field reads whole in 64-bit mode and
/// its "high" encoding (bit 0 set) reads bits 63:32.
///
/// # Errors
/// - [`VmFail::Invalid`]: no current VMCS.
/// - [`VmFail::Valid`] 12: the encoding names no field this processor supports
///   (including encodings with bits 31:15 set).
///
/// # Safety model
/// Safe: VMREAD only copies processor-held VMCS state into a register. Executed
/// outside VMX operation it raises #UD, at CPL > 0 #GP(0), and in VMX non-root operation
/// it causes a VM exit (or reads the shadow VMCS); none of these writes memory. The caller
/// must be in VMX root operation at CPL 0 for a meaningful result.
pub fn vmread_raw(encoding: u32) -> Result<u64, InsnError> {
    let (value, rflags) = vmread_flags(encoding);
    vmfail_from_rflags(rflags)?;
    Ok(value)
}

/// VMWRITE: writes `value` to the field with raw `encoding` in the current VMCS
/// (SDM Vol. 3C §31.3). Bits beyond the field's width are ignored by the processor.
///
/// # Errors
/// - [`VmFail::Invalid`]: no current VMCS.
/// - [`VmFail::Valid`] 12: unsupported field; 13: read-only field and IA32_VMX_MISC\[29\]
///   is 0 (SDM Vol. 3D §A.6).
///
/// # Safety
/// VMX root operation at CPL 0 with a current VMCS. The value must not make a later VM
/// entry or VM exit break memory safety: host-state fields (RIP, RSP, CR3, segment
/// bases...) must describe code and a stack that are valid when a VM exit loads them, and
/// every physical address written (I/O and MSR bitmaps, MSR load/store areas, EPTP,
/// virtual-APIC page, VMCS link pointer, PML address...) must name memory that stays
/// reserved for the processor for as long as this VMCS may use it.
pub unsafe fn vmwrite_raw(encoding: u32, value: u64) -> Result<(), InsnError> {
    let rflags: u64;
    // SAFETY: the caller upholds the contract above; VMWRITE itself only updates the
    // current VMCS. Memory is left clobbered (no `nomem`/`readonly`) because the processor
    // may keep the current VMCS in its memory region.
    unsafe {
        asm!(
            "vmwrite {encoding}, {value}",
            "pushfq",
            "pop {rflags}",
            encoding = in(reg) u64::from(encoding),
            value = in(reg) value,
            rflags = lateout(reg) rflags,
        );
    }
    vmfail_from_rflags(rflags)?;
    Ok(())
}
