//! Entering and leaving VMX operation: VMXON and VMXOFF (SDM Vol. 3C §24.7, §31.3).

use memory_addr::PhysAddr;

use crate::address::{check_region_address, physical_address_width};
use crate::error::InsnError;
use crate::vmcs_access::vmfail_from_rflags;

/// VMXON: enters VMX root operation with the VMXON region at `region`
/// (SDM Vol. 3C §24.7, §25.11.5, §31.3 "VMXON").
///
/// Before executing, checks in software that `region` is 4-KByte aligned
/// ([`InsnError::Misaligned`]) and within this processor's physical-address width
/// ([`InsnError::AddressTooWide`], width from [`crate::physical_address_width`]); both would
/// be VMfailInvalid on the processor.
///
/// # Errors
/// - [`crate::VmFail::Invalid`]: the processor rejected the region (e.g. its revision
///   identifier differs from IA32_VMX_BASIC\[30:0\]).
/// - [`crate::VmFail::Valid`] 15: already in VMX root operation.
///
/// # Safety
/// - CPL 0, with CR4.VMXE = 1 and CR0/CR4 satisfying IA32_VMX_CR0_FIXED0/1 and
///   IA32_VMX_CR4_FIXED0/1 (SDM Vol. 3D §A.7, §A.8), IA32_FEATURE_CONTROL locked with VMX
///   enabled (SDM Vol. 3C §24.7); otherwise the processor raises #UD or #GP(0).
/// - `region` is the physical address of a 4-KByte region whose first 32 bits hold the
///   VMCS revision identifier from IA32_VMX_BASIC\[30:0\] with bit 31 clear.
/// - The region belongs to the processor from now until VMXOFF: it must stay allocated and
///   must not be read or written by software (SDM Vol. 3C §25.11.5).
pub unsafe fn vmxon(region: PhysAddr) -> Result<(), InsnError> {
    let addr = region.as_usize() as u64;
    check_region_address(addr, physical_address_width())?;
    // SAFETY: the caller upholds this function's contract; the address was checked.
    unsafe { vmxon_unchecked(addr) }
}

/// VMXON without the software checks of [`vmxon`]: the processor answers for any
/// address (VMfailInvalid for a misaligned or too-wide one).
///
/// Meant for tests that observe the processor's behaviour.
///
/// # Safety
/// As for [`vmxon`]; if `addr` passes the processor's own checks it becomes the VMXON
/// region.
pub unsafe fn vmxon_unchecked(addr: u64) -> Result<(), InsnError> {
    // SAFETY: the caller upholds the contract of `vmxon`. The operand is a pointer to a
    // u64 on this stack frame, valid for the instruction. Memory is clobbered: the
    // processor owns the region from here on.
    let rflags = unsafe { asm_with_rflags!("vmxon qword ptr [{addr}]"; addr = in(reg) &addr) };
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// VMXOFF: leaves VMX operation (SDM Vol. 3C §24.7, §31.3 "VMXOFF").
///
/// After success the VMXON region and every VMCS may be reused as ordinary memory.
///
/// # Errors
/// - [`crate::VmFail::Valid`] 23: the dual-monitor treatment of SMIs and SMM is active.
///
/// # Safety
/// - VMX root operation at CPL 0 (otherwise #UD or #GP(0)).
/// - Every VMCS that is still needed has been cleared with VMCLEAR: leaving VMX operation
///   does not write cached VMCS data back, so an active VMCS's memory may be left
///   inconsistent (SDM Vol. 3C §25.11.1).
/// - No other code still relies on this processor being in VMX operation (for example a
///   vCPU about to enter a guest).
pub unsafe fn vmxoff() -> Result<(), InsnError> {
    // SAFETY: the caller upholds the contract above. VMXOFF takes no operand; memory is
    // clobbered because the VMXON region and the VMCS regions return to software here.
    let rflags = unsafe { asm_with_rflags!("vmxoff";) };
    vmfail_from_rflags(rflags)?;
    Ok(())
}
