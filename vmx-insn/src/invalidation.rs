//! INVEPT and INVVPID (SDM Vol. 3C §29.4.3 "Invalidating Cached Translation
//! Information", §31.3 "INVEPT", "INVVPID").
//!
//! The checked wrappers refuse, before executing, every operand the processor would
//! answer with VMfailValid 28 that can be checked cheaply: a type this processor does not
//! report in IA32_VMX_EPT_VPID_CAP, an invalid EPTP for single-context INVEPT, VPID 0 for
//! INVVPID types that need one, and a non-canonical address for individual-address
//! INVVPID. The pure checks are [`crate::check_invept`] and [`crate::check_invvpid`]; the `*_raw` forms
//! execute any operand.

use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::invalidation::{InveptDescriptor, InveptType, InvvpidDescriptor, InvvpidType};

use crate::address::{linear_address_width, physical_address_width};
use crate::error::InsnError;
use crate::invalidation_check::{check_invept, check_invvpid};
use crate::vmcs_access::vmfail_from_rflags;

mod cap_cache {
    use core::arch::asm;
    use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use vmx_defs::capabilities::{EptVpidCap, msr};

    static KNOWN: AtomicBool = AtomicBool::new(false);
    static VALUE: AtomicU64 = AtomicU64::new(0);

    fn rdmsr(index: u32) -> u64 {
        let (lo, hi): (u32, u32);
        // SAFETY: RDMSR writes only EDX:EAX. The indices read here are VMX capability
        // MSRs, read only when the processor reports them (see `read`); at CPL > 0 RDMSR
        // raises #GP, as the INVEPT/INVVPID the caller is about to execute would.
        unsafe {
            asm!(
                "rdmsr",
                in("ecx") index,
                out("eax") lo,
                out("edx") hi,
                options(nomem, nostack, preserves_flags),
            );
        }
        u64::from(hi) << 32 | u64::from(lo)
    }

    /// IA32_VMX_EPT_VPID_CAP if it exists, read once: it exists only if the secondary
    /// controls exist (IA32_VMX_PROCBASED_CTLS\[63\]) and "enable EPT" or "enable VPID"
    /// may be 1 (IA32_VMX_PROCBASED_CTLS2\[33\] or \[37\]) (SDM Vol. 3D §A.3.3, §A.10).
    pub fn read() -> EptVpidCap {
        if KNOWN.load(Ordering::Acquire) {
            return EptVpidCap::from_bits_retain(VALUE.load(Ordering::Relaxed));
        }
        let mut value = 0;
        if rdmsr(msr::IA32_VMX_PROCBASED_CTLS) & 1 << 63 != 0 {
            let ctls2 = rdmsr(msr::IA32_VMX_PROCBASED_CTLS2);
            if ctls2 & (1 << 33 | 1 << 37) != 0 {
                value = rdmsr(msr::IA32_VMX_EPT_VPID_CAP);
            }
        }
        VALUE.store(value, Ordering::Relaxed);
        KNOWN.store(true, Ordering::Release);
        EptVpidCap::from_bits_retain(value)
    }
}

/// This processor's IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D §A.10), or empty when the MSR
/// does not exist (no EPT and no VPID). Read with RDMSR on the first call (of this
/// function, [`invept`] or [`invvpid`]) and cached. Needs CPL 0 on a processor that
/// supports VMX.
pub fn ept_vpid_capabilities() -> EptVpidCap {
    cap_cache::read()
}

/// INVEPT: invalidates cached EPT-derived translations (SDM Vol. 3C §29.4.3.1, §31.3
/// "INVEPT").
///
/// Checks first, without executing ([`crate::check_invept`]), against this processor's
/// [`ept_vpid_capabilities`] and [`physical_address_width`]:
/// [`InsnError::UnsupportedInveptType`], [`InsnError::InvalidEptp`].
///
/// # Errors
/// - [`crate::VmFail::Invalid`]: no current VMCS and the processor refused the operand.
/// - [`crate::VmFail::Valid`] 28: the processor refused the operand.
///
/// # Safety model
/// Safe: invalidation only drops cached translations, which the processor may do at any
/// time anyway (SDM Vol. 3C §29.4.1); the 16-byte descriptor is only read, and nothing
/// stays true or reserved after the call returns. Outside VMX root operation or at
/// CPL > 0 the instruction (or the capability read before it) raises #UD or #GP, which
/// ends the operation before any memory is touched. In VMX non-root operation it causes a
/// VM exit; like every instruction a hypervisor intercepts, it is then up to the
/// hypervisor to emulate it as the SDM specifies (or deliver an exception), preserving
/// registers and memory.
pub fn invept(ty: InveptType, descriptor: &InveptDescriptor) -> Result<(), InsnError> {
    check_invept(
        ty,
        descriptor,
        ept_vpid_capabilities(),
        physical_address_width(),
    )?;
    invept_raw(ty.raw(), descriptor)
}

/// INVEPT with any type value and no software checks: the processor answers (VMfailValid
/// 28 for a type or EPTP it refuses). Meant for tests. Safe for the reasons given on
/// [`invept`].
pub fn invept_raw(ty: u64, descriptor: &InveptDescriptor) -> Result<(), InsnError> {
    // SAFETY: INVEPT reads the 16-byte descriptor behind the reference (`InveptDescriptor`
    // is a 16-byte `repr(C)` struct, live for the whole block) and drops cached
    // translations; it writes no memory (`readonly`). The capture of RFLAGS uses the stack
    // below RSP, which `asm!` permits without `nostack`.
    let rflags = unsafe {
        asm_with_rflags!(
            "invept {ty}, xmmword ptr [{desc}]";
            ty = in(reg) ty,
            desc = in(reg) descriptor as *const InveptDescriptor,
            options(readonly),
        )
    };
    vmfail_from_rflags(rflags)?;
    Ok(())
}

/// INVVPID: invalidates cached translations tagged with a VPID (SDM Vol. 3C §29.4.3.3,
/// §31.3 "INVVPID").
///
/// Checks first, without executing ([`crate::check_invvpid`]), against this processor's
/// [`ept_vpid_capabilities`] and [`linear_address_width`]:
/// [`InsnError::UnsupportedInvvpidType`], [`InsnError::ZeroVpid`],
/// [`InsnError::NonCanonicalAddress`].
///
/// # Errors
/// - [`crate::VmFail::Invalid`]: no current VMCS and the processor refused the operand.
/// - [`crate::VmFail::Valid`] 28: the processor refused the operand.
///
/// # Safety model
/// Safe, as [`invept`].
pub fn invvpid(ty: InvvpidType, descriptor: &InvvpidDescriptor) -> Result<(), InsnError> {
    check_invvpid(
        ty,
        descriptor,
        ept_vpid_capabilities(),
        linear_address_width(),
    )?;
    invvpid_raw(ty.raw(), descriptor)
}

/// INVVPID with any type value and no software checks: the processor answers
/// (VMfailValid 28 for an operand it refuses). Meant for tests. Safe for the reasons
/// given on [`invept`].
pub fn invvpid_raw(ty: u64, descriptor: &InvvpidDescriptor) -> Result<(), InsnError> {
    // SAFETY: INVVPID reads the 16-byte descriptor behind the reference
    // (`InvvpidDescriptor` is a 16-byte `repr(C)` struct, live for the whole block) and
    // drops cached translations; it writes no memory (`readonly`). The capture of RFLAGS
    // uses the stack below RSP, which `asm!` permits without `nostack`.
    let rflags = unsafe {
        asm_with_rflags!(
            "invvpid {ty}, xmmword ptr [{desc}]";
            ty = in(reg) ty,
            desc = in(reg) descriptor as *const InvvpidDescriptor,
            options(readonly),
        )
    };
    vmfail_from_rflags(rflags)?;
    Ok(())
}
