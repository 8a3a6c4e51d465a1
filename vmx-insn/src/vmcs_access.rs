//! VMREAD and VMWRITE (SDM Vol. 3C §31.3), and reading the VM-instruction error after a
//! VMfailValid (SDM Vol. 3C §31.4).

use vmx_defs::instruction_error::VmInstructionError;
use vmx_defs::vmcs::{Access, Field, ReadWrite, Width, fields};

use crate::error::{InsnError, VmFail};
use crate::field_value::FieldValue;
use crate::status::{VmFailKind, decode_rflags};

/// Encoding of the VM-instruction error field, a read-only 32-bit data field
/// (SDM Vol. 3C §25.9.5, Vol. 3D Appendix B.3.2).
pub const VM_INSTRUCTION_ERROR_ENCODING: u32 = fields::EXIT_VM_INSTRUCTION_ERROR.raw();

/// Executes VMREAD with no status interpretation; returns (value, RFLAGS).
#[inline]
fn vmread_flags(encoding: u32) -> (u64, u64) {
    let value: u64;
    // SAFETY: VMREAD (register destination) writes only `value`; it reads the current
    // VMCS, which is processor-managed state, and never writes memory. Outside VMX root
    // operation it raises #UD or #GP (or causes a VM exit in VMX non-root operation)
    // instead of executing, which cannot corrupt memory. PUSHFQ/POP use the stack below
    // RSP, which `asm!` permits without `nostack`.
    let rflags = unsafe {
        asm_with_rflags!(
            "vmread {value}, {encoding}";
            encoding = in(reg) u64::from(encoding),
            value = out(reg) value,
            options(readonly),
        )
    };
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
#[inline]
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
#[inline]
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
/// - VMX root operation at CPL 0 with a current VMCS (otherwise #UD, #GP(0) or VMfail; in
///   VMX non-root operation a VM exit to a hypervisor that must emulate it as the SDM
///   specifies).
/// - The value must not make a later VM entry or VM exit break memory safety, for as long
///   as this VMCS may be used for a VM entry (until the field is written again, or the
///   VMCS is cleared and not entered again):
///   - host-state fields (SDM Vol. 3C §25.5: RIP, RSP, CR0, CR3, CR4, segment selectors
///     and bases, GDTR/IDTR bases, IA32_EFER/PAT/PERF_GLOBAL_CTRL/S_CET...) describe code,
///     a stack, address space and descriptor tables that are valid and reserved for the
///     VM-exit path whenever a VM exit loads them (SDM Vol. 3C §28.5);
///   - every host-physical address written (I/O and MSR bitmaps, VM-entry and VM-exit MSR
///     load/store areas, EPTP and EPTP list, virtual-APIC and APIC-access pages, posted-
///     interrupt descriptor, VMCS link pointer and shadow VMCS, VMREAD/VMWRITE bitmaps,
///     PML address, #VE information area, sub-page permission table...) names memory that
///     stays allocated and reserved for the processor, which reads and may write it; the
///     VM-exit MSR-load area only loads host MSR values that keep the host sound;
///   - the execution controls decide which host memory the guest reaches: without
///     "enable EPT" the guest's paging addresses host-physical memory directly (every VM
///     entry then hands the guest all of it), and with it the EPT paging structures must
///     map only memory reserved for the guest (SDM Vol. 3C §29.3).
/// - If the current VMCS belongs to a `vmx_vcpu::Vmcs` (or a `vmx_vcpu::VmxVcpu`), the
///   fields vmx-vcpu sets itself (host state, including HOST_RSP and HOST_RIP that its run
///   loop writes, the controls and the addresses it allocated) are left as vmx-vcpu wrote
///   them; vmx-vcpu's own write methods are the way to change the rest.
#[inline]
pub unsafe fn vmwrite_raw(encoding: u32, value: u64) -> Result<(), InsnError> {
    // SAFETY: the caller upholds the contract above; VMWRITE (register source) itself only
    // updates the current VMCS. Memory is left clobbered (no `nomem`/`readonly`) because
    // the processor may keep the current VMCS in its memory region. The capture of RFLAGS
    // uses the stack below RSP, which `asm!` permits without `nostack`.
    let rflags = unsafe {
        asm_with_rflags!(
            "vmwrite {encoding}, {value}";
            encoding = in(reg) u64::from(encoding),
            value = in(reg) value,
        )
    };
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// VMREAD of a typed field: reads `field` from the current VMCS as its width's value type
/// (`u16`, `u32` or `u64`) (SDM Vol. 3C §25.11.2, §31.3 "VMREAD").
///
/// ```no_run
/// use vmx_defs::vmcs::fields;
/// let rip: u64 = vmx_insn::vmread(fields::GUEST_RIP)?;
/// let reason: u32 = vmx_insn::vmread(fields::EXIT_REASON)?;
/// # Ok::<(), vmx_insn::InsnError>(())
/// ```
///
/// # Errors
/// As [`vmread_raw`]: VMfailInvalid without a current VMCS, VMfailValid 12 when this
/// processor does not support the field.
///
/// # Safety model
/// Safe, for the reasons given on [`vmread_raw`].
#[inline]
pub fn vmread<W: Width, A: Access>(field: Field<W, A>) -> Result<W::Value, InsnError>
where
    W::Value: FieldValue,
{
    vmread_raw(field.raw()).map(W::Value::from_register)
}

/// VMWRITE of a typed, writable field (SDM Vol. 3C §25.11.2, §31.3 "VMWRITE").
///
/// Read-only (VM-exit information) fields have type `Field<_, ReadOnly>` and are refused
/// at compile time; on a processor with IA32_VMX_MISC\[29\] = 1 they can be written
/// through `Field::as_writable_if_misc29` or [`vmwrite_raw`].
///
/// ```no_run
/// use vmx_defs::vmcs::fields;
/// // SAFETY: VMX root operation with a current VMCS that is not used for a VM entry.
/// unsafe { vmx_insn::vmwrite(fields::CTRL_CR3_TARGET_COUNT, 0u32)? };
/// # Ok::<(), vmx_insn::InsnError>(())
/// ```
///
/// A read-only field does not compile:
///
/// ```compile_fail
/// use vmx_defs::vmcs::fields;
/// unsafe { vmx_insn::vmwrite(fields::EXIT_REASON, 0u32) };
/// ```
///
/// # Errors
/// As [`vmwrite_raw`]: VMfailInvalid without a current VMCS, VMfailValid 12 when this
/// processor does not support the field.
///
/// # Safety
/// Everything [`vmwrite_raw`] lists: VMX root operation at CPL 0 with a current VMCS, and
/// host-state values, host-physical addresses and controls that keep every later VM entry
/// and VM exit with this VMCS memory-safe, for as long as the VMCS may be entered.
#[inline]
pub unsafe fn vmwrite<W: Width>(
    field: Field<W, ReadWrite>,
    value: W::Value,
) -> Result<(), InsnError>
where
    W::Value: FieldValue,
{
    // SAFETY: the caller upholds the contract of `vmwrite_raw`.
    unsafe { vmwrite_raw(field.raw(), value.into_register()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{RFLAGS_CF, RFLAGS_ZF};

    // Success and VMfailInvalid are decided from the flags alone; only VMfailValid reads
    // the VMCS (which needs VMX root operation), so these run on any host.
    #[test]
    fn success_and_invalid_need_no_vmcs() {
        assert_eq!(vmfail_from_rflags(0x2), Ok(()));
        assert_eq!(vmfail_from_rflags(0x2 | RFLAGS_CF), Err(VmFail::Invalid));
        assert_eq!(
            vmfail_from_rflags(0x2 | RFLAGS_CF | RFLAGS_ZF),
            Err(VmFail::Invalid)
        );
    }

    #[test]
    fn instruction_error_encoding() {
        assert_eq!(VM_INSTRUCTION_ERROR_ENCODING, 0x4400);
    }
}
