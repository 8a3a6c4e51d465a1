//! Entering and leaving VMX operation: VMXON and VMXOFF (SDM Vol. 3C §24.7, §31.3).

use vmx_defs::addr::HostPhysAddr;

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
/// - `region` is the host-physical address of writable memory of the VMXON region size
///   (IA32_VMX_BASIC\[44:32\], at most 4 KByte, SDM Vol. 3D §A.1) whose first 32 bits hold
///   the VMCS revision identifier from IA32_VMX_BASIC\[30:0\] with bit 31 clear
///   (SDM Vol. 3C §25.11.5).
/// - The region is this logical processor's alone: no other logical processor uses it as
///   its VMXON region or as a VMCS (SDM Vol. 3C §25.11.5: a separate region per logical
///   processor).
/// - From this call until a VMXOFF on this logical processor succeeds, the region belongs
///   to the processor: it stays allocated, software does not read or write it and no Rust
///   reference to it is live (SDM Vol. 3C §25.11.5). If VMXON fails the region is not
///   used.
/// - VMX operation that `vmx_vcpu::VmxCpu` manages is entered with `VmxCpu::enable`, not
///   with this function: a `VmxCpu` enabled on a processor already in VMX operation by
///   this call fails, and a VMXON region entered here must be left with [`vmxoff`] by the
///   caller.
pub unsafe fn vmxon(region: HostPhysAddr) -> Result<(), InsnError> {
    check_region_address(region, physical_address_width())?;
    // SAFETY: the caller upholds this function's contract; the address was checked.
    unsafe { vmxon_unchecked(region) }
}

/// VMXON without the software checks of [`vmxon`]: the processor answers for any
/// address (VMfailInvalid for a misaligned or too-wide one).
///
/// Meant for tests that observe the processor's behaviour.
///
/// # Safety
/// As for [`vmxon`]; if `region` passes the processor's own checks it becomes the VMXON
/// region, with every duty [`vmxon`] lists.
pub unsafe fn vmxon_unchecked(region: HostPhysAddr) -> Result<(), InsnError> {
    let addr = region.as_u64();
    // SAFETY: the caller upholds the contract of `vmxon`. The operand is a pointer to
    // `addr`, a u64 on this stack frame that lives through the instruction. Memory is
    // clobbered: the processor owns the region from here on.
    let rflags = unsafe { asm_with_rflags!("vmxon qword ptr [{addr}]"; addr = in(reg) &addr) };
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// VMXOFF: leaves VMX operation (SDM Vol. 3C §24.7, §31.3 "VMXOFF").
///
/// After success the VMXON region and every cleared VMCS region may be reused as ordinary
/// memory.
///
/// # Errors
/// - [`crate::VmFail::Valid`] 23: the dual-monitor treatment of SMIs and SMM is active.
///
/// # Safety
/// - VMX root operation at CPL 0 (otherwise #UD or #GP(0); in VMX non-root operation a VM
///   exit to a hypervisor that must emulate it as the SDM specifies).
/// - Every VMCS active on this logical processor has been cleared with VMCLEAR: leaving
///   VMX operation does not write cached VMCS data back, so an active VMCS's region is left
///   with undefined contents (SDM Vol. 3C §25.11.1). A VMCS left active this way must
///   never be made active again, and its region is not read as a VMCS.
/// - No other code still relies on this processor being in VMX operation: no vCPU, VMCS
///   handle or run loop that would execute VMREAD, VMWRITE, VMLAUNCH or VMRESUME later.
///   In particular, if a `vmx_vcpu::VmxCpu` is enabled on this processor, VMX operation is
///   left only through `VmxCpu::disable` (or by dropping it), which first VMCLEARs every
///   VMCS it tracks; this function would pull VMX operation from under that `VmxCpu`, its
///   `Vmcs`s and its `VmxVcpu`s.
pub unsafe fn vmxoff() -> Result<(), InsnError> {
    // SAFETY: the caller upholds the contract above. VMXOFF takes no operand; memory is
    // clobbered because the VMXON region and the VMCS regions return to software here.
    let rflags = unsafe { asm_with_rflags!("vmxoff";) };
    vmfail_from_rflags(rflags)?;
    Ok(())
}
