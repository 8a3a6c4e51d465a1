//! The current-VMCS pointer: VMCLEAR, VMPTRLD and VMPTRST (SDM Vol. 3C §25.1, §25.11.3,
//! §31.3).

use core::arch::asm;

use memory_addr::PhysAddr;

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
/// - VMX root operation at CPL 0.
/// - `vmcs` is the physical address of a VMCS region owned by the caller (or memory the
///   caller owns and does not otherwise use): the processor writes VMCS data and the
///   launch state into it.
pub unsafe fn vmclear(vmcs: PhysAddr) -> Result<(), InsnError> {
    let addr = vmcs.as_usize() as u64;
    check_region_address(addr, physical_address_width())?;
    // SAFETY: the caller upholds this function's contract; the address was checked.
    unsafe { vmclear_unchecked(addr) }
}

/// VMCLEAR without the software checks of [`vmclear`], so the processor answers for any
/// address (VMfailValid 2 for a misaligned or too-wide one). Meant for tests.
///
/// # Safety
/// As for [`vmclear`].
pub unsafe fn vmclear_unchecked(addr: u64) -> Result<(), InsnError> {
    // SAFETY: the caller upholds the contract of `vmclear`. The operand points to a u64
    // on this stack frame. Memory is clobbered: the processor writes the VMCS region.
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
/// # Errors
/// - [`crate::VmFail::Invalid`]: no current VMCS and the processor rejected the operand.
/// - [`crate::VmFail::Valid`] 9: invalid address; 10: `vmcs` is the VMXON pointer;
///   11: the region's revision identifier differs from IA32_VMX_BASIC\[30:0\] (or bit 31,
///   shadow-VMCS indicator, is set without VMCS shadowing support).
///
/// # Safety
/// - VMX root operation at CPL 0.
/// - `vmcs` is the physical address of a VMCS region (4 KByte) that starts with the
///   revision identifier from IA32_VMX_BASIC\[30:0\] and was initialized by VMCLEAR before
///   its first use.
/// - The region belongs to the processor while the VMCS is active: it stays allocated and
///   is not accessed by software until a VMCLEAR of it (SDM Vol. 3C §25.11.1).
pub unsafe fn vmptrld(vmcs: PhysAddr) -> Result<(), InsnError> {
    let addr = vmcs.as_usize() as u64;
    check_region_address(addr, physical_address_width())?;
    // SAFETY: the caller upholds this function's contract; the address was checked.
    unsafe { vmptrld_unchecked(addr) }
}

/// VMPTRLD without the software checks of [`vmptrld`], so the processor answers for any
/// address (VMfailValid 9 for a misaligned or too-wide one). Meant for tests.
///
/// # Safety
/// As for [`vmptrld`].
pub unsafe fn vmptrld_unchecked(addr: u64) -> Result<(), InsnError> {
    // SAFETY: the caller upholds the contract of `vmptrld`. The operand points to a u64
    // on this stack frame. Memory is clobbered: the processor may read and later write
    // the VMCS region.
    let rflags = unsafe { asm_with_rflags!("vmptrld qword ptr [{addr}]"; addr = in(reg) &addr) };
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// VMPTRST: the physical address of the current VMCS, or `None` when there is none
/// (the processor stores all ones, [`NO_CURRENT_VMCS`]) (SDM Vol. 3C §31.3 "VMPTRST").
///
/// # Safety model
/// Safe: VMPTRST writes only the 8-byte stack slot this function provides. Outside VMX
/// operation it raises #UD, at CPL > 0 #GP(0), in VMX non-root operation it causes a VM
/// exit; none of these writes memory. VMPTRST cannot VMfail.
pub fn vmptrst() -> Option<PhysAddr> {
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
    (addr != NO_CURRENT_VMCS).then_some(PhysAddr::from_usize(addr as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmx_operation::vmxon;

    /// On the host (CPL 3) each of these instructions would raise #UD or #GP and kill the
    /// test process: getting the error back proves the check runs before the instruction.
    #[test]
    fn bad_addresses_refused_before_executing() {
        let width = physical_address_width().bits();
        let misaligned = PhysAddr::from_usize(0x1234);
        let too_wide = PhysAddr::from_usize((1usize << width) | 0x5000);
        let is_misaligned = Err(InsnError::Misaligned { addr: 0x1234 });
        let is_too_wide = Err(InsnError::AddressTooWide {
            addr: (1 << width) | 0x5000,
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
