//! CPUID and RDMSR/WRMSR of a Linux vCPU: the policies of `example_hypervisor::cpuid` and
//! `example_hypervisor::msr` (part E), with the MSRs the platform or the VMCS own handled
//! here: IA32_APIC_BASE and IA32_TSC_DEADLINE (the vCPU's local APIC, SDM Vol. 3A §12.4.4,
//! §12.5.4.1) and IA32_EFER (the VMCS guest-state field, Vol. 3C §25.4.1).

use example_hypervisor::cpuid::{CpuidPolicy, CpuidRegisters, linux_view};
use example_hypervisor::msr::{
    MsrContext, MsrFault, MsrFaultReason, MsrRead, MsrWrite, PlatformMsr,
};
use vmx_defs::controls::SecondaryProcBasedControls;
use vmx_defs::vmcs::fields;
use vmx_vcpu::VmxVcpu;

use super::error::LinuxVmError;
use super::machine::Machine;
use crate::hosts::FrameHost;

const IA32_EFER: u32 = 0xC000_0080;
/// EFER.SCE (bit 0), LME (bit 8), NXE (bit 11): the writable bits (SDM Vol. 3A §2.2.1).
const EFER_SCE: u64 = 1;
const EFER_LME: u64 = 1 << 8;
const EFER_NXE: u64 = 1 << 11;
/// EFER.LMA (bit 10) is read-only to WRMSR: the processor sets it (SDM Vol. 3A §2.2.1).
const EFER_LMA: u64 = 1 << 10;

/// The four registers CPUID returns to vCPU `i`.
pub fn cpuid(
    m: &Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    leaf: u32,
    subleaf: u32,
) -> Result<[u32; 4], LinuxVmError> {
    let real = baremetal::cpu::cpuid(leaf, subleaf);
    let secondary = vcpu.controls().secondary;
    let policy = CpuidPolicy {
        guest_cr4: guest_visible_cr4(vcpu)?,
        guest_xcr0: vcpu.guest_xcr0(),
        rdtscp: secondary.contains(SecondaryProcBasedControls::ENABLE_RDTSCP),
        invpcid: secondary.contains(SecondaryProcBasedControls::ENABLE_INVPCID),
        arch_capabilities: m.host_arch_capabilities.is_some(),
        ..CpuidPolicy::new(m.config.vcpus, i as u32, m.config.tsc_khz)
    };
    let real = CpuidRegisters {
        eax: real.eax,
        ebx: real.ebx,
        ecx: real.ecx,
        edx: real.edx,
    };
    let r = linux_view(leaf, subleaf, real, &policy);
    Ok([r.eax, r.ebx, r.ecx, r.edx])
}

/// CR4 as the guest reads it: the bits the host owns (guest/host mask) from the read
/// shadow, the others from the guest's CR4 (SDM Vol. 3C §25.6.6).
fn guest_visible_cr4(vcpu: &mut VmxVcpu<'_, FrameHost>) -> Result<u64, LinuxVmError> {
    let mask = vcpu.read_field(fields::CTRL_CR4_GUEST_HOST_MASK)?;
    let shadow = vcpu.read_field(fields::CTRL_CR4_READ_SHADOW)?;
    let cr4 = vcpu.read_field(fields::GUEST_CR4)?;
    Ok((cr4 & !mask) | (shadow & mask))
}

/// IA32_TIME_STAMP_COUNTER (SDM Vol. 4 Table 2-2).
const IA32_TSC: u32 = 0x10;
/// IA32_PAT: the VMCS guest-state field.
const IA32_PAT: u32 = 0x277;

/// RDMSR of an MSR the vCPU switches itself, should it be intercepted (the MSR bitmap
/// normally passes these through): the VMCS field or the vCPU's MSR lists.
fn switched_read(vcpu: &mut VmxVcpu<'_, FrameHost>, msr: u32) -> Result<Option<u64>, LinuxVmError> {
    Ok(match msr {
        IA32_EFER => Some(vcpu.read_field(fields::GUEST_IA32_EFER)?),
        IA32_PAT => Some(vcpu.read_field(fields::GUEST_IA32_PAT)?),
        IA32_TSC => Some(baremetal::cpu::rdtsc()),
        m => vcpu.guest_msr(m),
    })
}

/// WRMSR of an MSR the vCPU switches itself, should it be intercepted: `false` = #GP.
fn switched_write(
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    msr: u32,
    value: u64,
) -> Result<bool, LinuxVmError> {
    Ok(match msr {
        IA32_EFER => {
            let old = vcpu.read_field(fields::GUEST_IA32_EFER)?;
            let paging = vcpu.read_field(fields::GUEST_CR0)? & (1 << 31) != 0;
            // SCE, LME and NXE are writable; LMA is the processor's (writes ignored); a
            // change of LME while paging is on is #GP (SDM Vol. 3A §10.8.5, Vol. 4 IA32_EFER).
            let allowed = EFER_SCE | EFER_LME | EFER_NXE;
            if value & !(allowed | EFER_LMA) != 0 || (paging && (value ^ old) & EFER_LME != 0) {
                false
            } else {
                // SAFETY: the guest's own EFER, loaded at entry ("load IA32_EFER") and
                // saved at exit; only its architectural writable bits change, LMA keeps
                // the processor's value.
                unsafe {
                    vcpu.write_field(
                        fields::GUEST_IA32_EFER,
                        (value & !EFER_LMA) | (old & EFER_LMA),
                    )
                }?;
                true
            }
        }
        IA32_PAT => {
            // Each entry must be a valid memory type: 0, 1, 4, 5, 6 or 7 (SDM Vol. 3A §13.12.2).
            let valid = (0..8).all(|k| matches!((value >> (k * 8)) & 0xFF, 0 | 1 | 4..=7));
            if valid {
                // SAFETY: the guest's own PAT, loaded at entry ("load IA32_PAT") and saved
                // at exit; a valid value.
                unsafe { vcpu.write_field(fields::GUEST_IA32_PAT, value) }?;
            }
            valid
        }
        m if vcpu.guest_msr(m).is_some() => vcpu.set_guest_msr(m, value).is_ok(),
        _ => false,
    })
}

fn context(m: &Machine, i: usize) -> MsrContext {
    MsrContext {
        cpu_index: i as u32,
        vcpus: m.config.vcpus,
        tsc_khz: m.config.tsc_khz,
        arch_capabilities: m.host_arch_capabilities,
    }
}

/// RDMSR through vCPU `i`'s [`MsrPolicy`](example_hypervisor::msr::MsrPolicy) (and the platform for the local APIC's MSRs):
/// `None` raises #GP(0).
pub fn rdmsr(
    m: &mut Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    msr: u32,
) -> Result<Option<u64>, LinuxVmError> {
    let ctx = context(m, i);
    let Some(policy) = m.msrs.get(i) else {
        return Ok(None);
    };
    Ok(match policy.read(msr, &ctx) {
        Ok(MsrRead::Value(v)) => Some(v),
        Ok(MsrRead::Platform(PlatformMsr::ApicBase)) => Some(m.platform.apic_base_msr(i)),
        Ok(MsrRead::Platform(PlatformMsr::TscDeadline)) => Some(m.platform.tsc_deadline(i)),
        Err(MsrFault {
            reason: MsrFaultReason::SwitchedByVcpu,
            ..
        }) => switched_read(vcpu, msr)?,
        _ => None,
    })
}

/// WRMSR through vCPU `i`'s [`MsrPolicy`](example_hypervisor::msr::MsrPolicy) (and the platform for the local APIC's MSRs):
/// `false` raises #GP(0).
pub fn wrmsr(
    m: &mut Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    msr: u32,
    value: u64,
    now: u64,
) -> Result<bool, LinuxVmError> {
    let ctx = context(m, i);
    let Some(policy) = m.msrs.get_mut(i) else {
        return Ok(false);
    };
    Ok(match policy.write(msr, value, &ctx) {
        Ok(MsrWrite::Accepted) => true,
        Ok(MsrWrite::Platform(PlatformMsr::ApicBase, v)) => {
            m.platform.set_apic_base_msr(i, v).is_ok()
        }
        Ok(MsrWrite::Platform(PlatformMsr::TscDeadline, v)) => {
            m.platform.set_tsc_deadline(i, v, now);
            true
        }
        Err(MsrFault {
            reason: MsrFaultReason::SwitchedByVcpu,
            ..
        }) => switched_write(vcpu, msr, value)?,
        _ => false,
    })
}
