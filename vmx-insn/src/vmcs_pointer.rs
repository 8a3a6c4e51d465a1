//! The current-VMCS pointer: VMCLEAR, VMPTRLD and VMPTRST (SDM Vol. 3C §25.1, §25.11.3,
//! §31.3).

use core::arch::asm;

use vmx_defs::addr::HostPhysAddr;

use crate::address::{check_region_address, physical_address_width};
use crate::error::InsnError;
use crate::vmcs_access::vmfail_from_rflags;

/// The value VMPTRST stores when there is no current VMCS: all ones
/// (SDM Vol. 3C §31.3 "VMPTRST").
pub const NO_CURRENT_VMCS: u64 = u64::MAX;

/// VMCLEAR: makes the VMCS at `vmcs` clear and inactive, writing any cached data back to
/// its region (SDM Vol. 3C §25.11.3, §31.3 "VMCLEAR"). If it was the current VMCS, there
/// is no current VMCS afterwards.
///
/// Checks in software first that the address is 4-KByte aligned and within
/// [`crate::physical_address_width`] (the processor's VMfailValid 2).
///
/// # Errors
/// - [`crate::VmFail::Invalid`]: no current VMCS and the processor rejected the operand.
/// - [`crate::VmFail::Valid`] 2: invalid address; 3: `vmcs` is the VMXON pointer.
///
/// # Safety
/// - VMX root operation at CPL 0 (otherwise #UD or #GP(0); in VMX non-root operation a VM
///   exit to a hypervisor that must emulate it as the SDM specifies).
/// - `vmcs` is the host-physical address of writable memory of at least the VMCS region
///   size (IA32_VMX_BASIC\[44:32\], at most 4 KByte, SDM Vol. 3D §A.1) that the caller owns
///   as a VMCS region: the processor writes VMCS data and the launch state into it
///   (SDM Vol. 3C §25.11.3). No Rust reference to that memory may be live during the call,
///   and nothing else may use it as anything but this VMCS's region.
/// - The VMCS is not active on another logical processor: a VMCS is active on at most one
///   logical processor, and moving it to another one takes a VMCLEAR on the processor where
///   it is active first (SDM Vol. 3C §25.11.1). A VMCLEAR on the wrong processor leaves the
///   other processor's cached copy live, to be written over the region later.
/// - If a `vmx_vcpu::VmxCpu` is enabled on this logical processor and `vmcs` is the region
///   of one of its VMCSs (a `vmx_vcpu::Vmcs`, the VMCS of a `vmx_vcpu::VmxVcpu`), this call
///   bypasses that `VmxCpu`'s record of the active and current VMCSs and of each VMCS's
///   launch state: that `Vmcs` and its vCPU must not be used again until its own
///   `Vmcs::clear` has run (which repeats the VMCLEAR and brings the record in line), or
///   it will VMWRITE, VMLAUNCH or VMRESUME as though the VMCS were still current.
///
/// The region is ordinary memory again once this call succeeds and no processor makes the
/// VMCS active again (SDM Vol. 3C §25.11.1).
pub unsafe fn vmclear(vmcs: HostPhysAddr) -> Result<(), InsnError> {
    check_region_address(vmcs, physical_address_width())?;
    // SAFETY: the caller upholds this function's contract; the address was checked.
    unsafe { vmclear_unchecked(vmcs) }
}

/// VMCLEAR without the software checks of [`vmclear`], so the processor answers for any
/// address (VMfailValid 2 for a misaligned or too-wide one). Meant for tests.
///
/// # Safety
/// As for [`vmclear`] for an address the processor accepts (4-KByte aligned, within the
/// physical-address width, not the VMXON pointer); every other address is refused by the
/// processor before it touches memory.
pub unsafe fn vmclear_unchecked(vmcs: HostPhysAddr) -> Result<(), InsnError> {
    let addr = vmcs.as_u64();
    // SAFETY: the caller upholds the contract of `vmclear`. The operand is a pointer to
    // `addr`, a u64 on this stack frame that lives through the instruction. Memory is
    // clobbered: the processor writes the VMCS region.
    let rflags = unsafe { asm_with_rflags!("vmclear qword ptr [{addr}]"; addr = in(reg) &addr) };
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// VMPTRLD: makes the VMCS at `vmcs` current and active (SDM Vol. 3C §25.11.3, §31.3
/// "VMPTRLD").
///
/// Checks in software first that the address is 4-KByte aligned and within
/// [`crate::physical_address_width`] (the processor's VMfailValid 9).
///
/// The operand is a host-physical address; a guest-physical one does not compile
/// (the same holds for [`vmclear`] and [`crate::vmxon`]):
///
/// ```compile_fail,E0308
/// use vmx_defs::addr::GuestPhysAddr;
/// // SAFETY: never runs; the call does not type-check.
/// let _ = unsafe { vmx_insn::vmptrld(GuestPhysAddr::new(0x1000)) };
/// ```
///
/// # Errors
/// - [`crate::VmFail::Invalid`]: no current VMCS and the processor rejected the operand.
/// - [`crate::VmFail::Valid`] 9: invalid address; 10: `vmcs` is the VMXON pointer;
///   11: the region's revision identifier differs from IA32_VMX_BASIC\[30:0\] (or bit 31,
///   shadow-VMCS indicator, is set without VMCS shadowing support).
///
/// # Safety
/// - VMX root operation at CPL 0 (otherwise #UD or #GP(0); in VMX non-root operation a VM
///   exit to a hypervisor that must emulate it as the SDM specifies).
/// - `vmcs` is the host-physical address of a VMCS region (IA32_VMX_BASIC\[44:32\] bytes,
///   at most 4 KByte) that starts with the revision identifier from
///   IA32_VMX_BASIC\[30:0\] and was initialized by VMCLEAR before its first VMPTRLD
///   (SDM Vol. 3C §25.11.3).
/// - The VMCS is not active on another logical processor (SDM Vol. 3C §25.11.1: active on
///   at most one; to move it, VMCLEAR it on the old processor first). Two processors
///   caching the same VMCS write over each other's data in the region.
/// - From this call until a VMCLEAR of this VMCS on this logical processor, the region
///   belongs to the processor: it stays allocated, no software reads or writes it with
///   ordinary memory accesses and no Rust reference to it is live, because the processor
///   may write it at any time (SDM Vol. 3C §25.11.1). VMXOFF does not end this: it leaves
///   the VMCS's data unwritten (see [`crate::vmxoff`]).
/// - If a `vmx_vcpu::VmxCpu` is enabled on this logical processor, this call changes the
///   current VMCS behind its back: the `VmxCpu` keeps recording its own VMCS as current,
///   and vmx-vcpu skips its VMPTRLD when its record says a VMCS is already current
///   (`Vmcs::load`, the vCPU run loop), so its `Vmcs`s and `VmxVcpu`s would VMWRITE and
///   VMRESUME the VMCS loaded here as if it were theirs, with their host state. Until the
///   VMCS that `VmxCpu` records as current is made current again (with this function, on
///   its region), no `vmx_vcpu::Vmcs` or `vmx_vcpu::VmxVcpu` of that `VmxCpu` may be used.
///   A VMCS made active here is not in the `VmxCpu`'s active set either: the caller
///   VMCLEARs it before that `VmxCpu` is disabled or dropped (its VMXOFF would leave it
///   active) and before the region is freed.
pub unsafe fn vmptrld(vmcs: HostPhysAddr) -> Result<(), InsnError> {
    check_region_address(vmcs, physical_address_width())?;
    // SAFETY: the caller upholds this function's contract; the address was checked.
    unsafe { vmptrld_unchecked(vmcs) }
}

/// VMPTRLD without the software checks of [`vmptrld`], so the processor answers for any
/// address (VMfailValid 9 for a misaligned or too-wide one). Meant for tests.
///
/// # Safety
/// As for [`vmptrld`] for an address the processor accepts (4-KByte aligned, within the
/// physical-address width, not the VMXON pointer, matching revision identifier); every
/// other address is refused by the processor before the VMCS becomes active.
pub unsafe fn vmptrld_unchecked(vmcs: HostPhysAddr) -> Result<(), InsnError> {
    let addr = vmcs.as_u64();
    // SAFETY: the caller upholds the contract of `vmptrld`. The operand is a pointer to
    // `addr`, a u64 on this stack frame that lives through the instruction. Memory is
    // clobbered: the processor reads the VMCS region and may write it while it is active.
    let rflags = unsafe { asm_with_rflags!("vmptrld qword ptr [{addr}]"; addr = in(reg) &addr) };
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// VMPTRST: the host-physical address of the current VMCS, or `None` when there is none
/// (the processor stores all ones, [`NO_CURRENT_VMCS`]) (SDM Vol. 3C §31.3 "VMPTRST").
///
/// # Safety model
/// Safe: VMPTRST writes only the 8-byte stack slot this function provides. Outside VMX
/// operation it raises #UD, at CPL > 0 #GP(0), in VMX non-root operation it causes a VM
/// exit; none of these writes memory. VMPTRST cannot VMfail.
pub fn vmptrst() -> Option<HostPhysAddr> {
    let mut addr: u64 = NO_CURRENT_VMCS;
    // SAFETY: the operand is a pointer to `addr`, a live u64 this function owns; VMPTRST
    // writes exactly those 8 bytes and nothing else.
    unsafe {
        asm!(
            "vmptrst qword ptr [{addr}]",
            addr = in(reg) &mut addr,
            options(nostack),
        );
    }
    (addr != NO_CURRENT_VMCS).then_some(HostPhysAddr::new(addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmx_operation::vmxon;

    /// On the host (CPL 3) each of these instructions would raise #UD or #GP and kill the
    /// test process: getting the error back proves the check runs before the instruction.
    // Not under Miri: the width comes from CPUID, which Miri cannot execute.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn bad_addresses_refused_before_executing() {
        let width = physical_address_width().bits();
        let misaligned = HostPhysAddr::new(0x1234);
        let too_wide = HostPhysAddr::new((1 << width) | 0x5000);
        let is_misaligned = Err(InsnError::Misaligned { addr: misaligned });
        let is_too_wide = Err(InsnError::AddressTooWide {
            addr: too_wide,
            width,
        });
        // SAFETY: every call is refused in software; nothing executes.
        unsafe {
            assert_eq!(vmxon(misaligned), is_misaligned);
            assert_eq!(vmclear(misaligned), is_misaligned);
            assert_eq!(vmptrld(misaligned), is_misaligned);
            assert_eq!(vmxon(too_wide), is_too_wide);
            assert_eq!(vmclear(too_wide), is_too_wide);
            assert_eq!(vmptrld(too_wide), is_too_wide);
        }
    }
}
