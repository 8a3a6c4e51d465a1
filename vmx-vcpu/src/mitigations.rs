//! Speculative-execution barriers a hypervisor places between guests and around VM entry.
//!
//! What the crate does by itself on every VM exit: the return-stack buffer is overwritten
//! before the first RET after the exit (`entry.rs`), so that a return cannot be predicted to
//! a target the guest trained; IA32_SPEC_CTRL and IA32_PRED_CMD stay intercepted by the
//! deny-by-default MSR bitmap, so a guest cannot change the host's speculation controls (a
//! hypervisor that passes IA32_SPEC_CTRL through must switch it, e.g. with the "load
//! IA32_SPEC_CTRL" controls or the MSR lists).
//!
//! What stays the caller's decision, because its cost depends on the processor's
//! vulnerabilities and on which guests trust each other (Intel's "Speculative Execution Side
//! Channel Mitigations" guidance; IA32_ARCH_CAPABILITIES, SDM Vol. 4 §2.1):
//! - an indirect branch prediction barrier ([`indirect_branch_prediction_barrier`]) when a
//!   processor switches from one guest's vCPU to another's that must not influence it;
//! - clearing CPU buffers with VERW ([`clear_cpu_buffers`]) right before entering a guest
//!   on processors affected by MDS/TAA/MMIO stale data (CPUID.(EAX=7,ECX=0):EDX\[10\]
//!   MD_CLEAR enumerates that VERW does it).

use core::arch::asm;

use crate::arch;
use crate::error::VmxError;

/// IA32_PRED_CMD (SDM Vol. 4 Table 2-2): bit 0 IBPB.
const IA32_PRED_CMD: u32 = 0x49;
/// CPUID.(EAX=7,ECX=0):EDX\[26\]: IBRS and IBPB supported.
const CPUID_7_EDX_IBRS_IBPB: u32 = 1 << 26;
/// CPUID.(EAX=7,ECX=0):EDX\[10\]: MD_CLEAR, VERW clears CPU buffers.
const CPUID_7_EDX_MD_CLEAR: u32 = 1 << 10;

/// Which barrier the processor does not have.
fn has_cpuid7_edx(bit: u32) -> bool {
    arch::cpuid(0, 0).eax >= 7 && arch::cpuid(7, 0).edx & bit != 0
}

/// Executes an indirect branch prediction barrier (WRMSR IA32_PRED_CMD.IBPB = 1): indirect
/// branch predictions from before it no longer steer those after it.
/// [`VmxError::MitigationUnsupported`] when CPUID does not enumerate IBPB.
///
/// # Safety
/// CPL 0.
pub unsafe fn indirect_branch_prediction_barrier() -> Result<(), VmxError> {
    if !has_cpuid7_edx(CPUID_7_EDX_IBRS_IBPB) {
        return Err(VmxError::MitigationUnsupported(Mitigation::Ibpb));
    }
    // SAFETY: CPUID enumerates IA32_PRED_CMD; writing bit 0 only issues the barrier.
    unsafe { arch::wrmsr(IA32_PRED_CMD, 1) };
    Ok(())
}

/// Clears the CPU buffers affected by MDS-class issues with VERW (the memory-operand form,
/// with the current data selector as operand). [`VmxError::MitigationUnsupported`] when
/// CPUID does not enumerate MD_CLEAR (the instruction still runs harmlessly then).
pub fn clear_cpu_buffers() -> Result<(), VmxError> {
    if !has_cpuid7_edx(CPUID_7_EDX_MD_CLEAR) {
        return Err(VmxError::MitigationUnsupported(Mitigation::MdClear));
    }
    let selector: u16 = arch::selectors()[1];
    // SAFETY: VERW reads a 16-bit selector from memory and sets ZF; it changes nothing
    // else software can see.
    unsafe { asm!("verw word ptr [{}]", in(reg) &selector, options(readonly, nostack)) };
    Ok(())
}

/// A speculative-execution barrier ([`VmxError::MitigationUnsupported`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mitigation {
    /// Indirect branch prediction barrier (IA32_PRED_CMD.IBPB).
    Ibpb,
    /// VERW clearing CPU buffers (MD_CLEAR).
    MdClear,
}

impl core::fmt::Display for Mitigation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Ibpb => "IBPB (IA32_PRED_CMD)",
            Self::MdClear => "VERW buffer clearing (MD_CLEAR)",
        })
    }
}
