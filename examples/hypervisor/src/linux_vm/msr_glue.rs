//! CPUID and RDMSR/WRMSR of a Linux vCPU: the policies of `example_hypervisor::cpuid` and
//! `example_hypervisor::msr` (part E), with the MSRs the platform or the VMCS own handled
//! here: IA32_APIC_BASE and IA32_TSC_DEADLINE (the vCPU's local APIC, SDM Vol. 3A §12.4.4,
//! §12.5.4.1) and IA32_EFER (the VMCS guest-state field, Vol. 3C §25.4.1).

use example_hypervisor::cpuid::{CpuidPolicy, CpuidRegisters, linux_view};
use vmx_defs::controls::SecondaryProcBasedControls;
use vmx_defs::vmcs::fields;
use vmx_vcpu::VmxVcpu;

use super::error::LinuxVmError;
use super::machine::Machine;
use crate::hosts::FrameHost;

const IA32_APIC_BASE: u32 = 0x1B;
const IA32_TSC_DEADLINE: u32 = 0x6E0;
const IA32_EFER: u32 = 0xC000_0080;
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
/// IA32_FEATURE_CONTROL: read as locked with VMX off (VMX is hidden from the guest).
const IA32_FEATURE_CONTROL: u32 = 0x3A;
/// IA32_BIOS_SIGN_ID: microcode revision, 0.
const IA32_BIOS_SIGN_ID: u32 = 0x8B;
/// IA32_MISC_ENABLE: fast strings (bit 0) only (Bochs lacks it; Linux reads it).
const IA32_MISC_ENABLE: u32 = 0x1A0;
/// IA32_PAT: the VMCS guest-state field.
const IA32_PAT: u32 = 0x277;

/// The MSRs of this run that are neither the platform's nor EFER (until part E's
/// `MsrPolicy` lands): `None` = #GP.
fn other_read(vcpu: &mut VmxVcpu<'_, FrameHost>, msr: u32) -> Result<Option<u64>, LinuxVmError> {
    Ok(match msr {
        IA32_TSC => Some(baremetal::cpu::rdtsc()),
        IA32_FEATURE_CONTROL => Some(1),
        IA32_BIOS_SIGN_ID => Some(0),
        IA32_MISC_ENABLE => Some(1),
        IA32_PAT => Some(vcpu.read_field(fields::GUEST_IA32_PAT)?),
        _ => None,
    })
}

/// WRMSR of the MSRs [`other_read`] knows: `false` = #GP.
fn other_write(
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    msr: u32,
    value: u64,
) -> Result<bool, LinuxVmError> {
    Ok(match msr {
        IA32_BIOS_SIGN_ID => true,
        IA32_MISC_ENABLE => value & !1 == 0 || value == 1,
        IA32_PAT => {
            // Each entry must be a valid memory type: 0, 1, 4, 5, 6 or 7 (SDM Vol. 3A §13.12.2).
            let valid = (0..8).all(|k| matches!((value >> (k * 8)) & 0xFF, 0 | 1 | 4..=7));
            if valid {
                // SAFETY: the guest's own PAT, loaded at entry ("load IA32_PAT") and saved at exit.
                unsafe { vcpu.write_field(fields::GUEST_IA32_PAT, value) }?;
            }
            valid
        }
        _ => false,
    })
}

/// RDMSR: `None` raises #GP(0).
pub fn rdmsr(
    m: &mut Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    msr: u32,
    _now: u64,
) -> Result<Option<u64>, LinuxVmError> {
    Ok(match msr {
        IA32_APIC_BASE => Some(m.platform.apic_base_msr(i)),
        IA32_TSC_DEADLINE => Some(m.platform.tsc_deadline(i)),
        IA32_EFER => Some(vcpu.read_field(fields::GUEST_IA32_EFER)?),
        // The MSRs the vCPU switches itself (STAR, LSTAR, ..., TSC_AUX, XSS).
        _ => match vcpu.guest_msr(msr) {
            Some(v) => Some(v),
            None => other_read(vcpu, msr)?,
        },
    })
}

/// WRMSR: `false` raises #GP(0).
pub fn wrmsr(
    m: &mut Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    msr: u32,
    value: u64,
    now: u64,
) -> Result<bool, LinuxVmError> {
    Ok(match msr {
        IA32_APIC_BASE => m.platform.set_apic_base_msr(i, value).is_ok(),
        IA32_TSC_DEADLINE => {
            m.platform.set_tsc_deadline(i, value, now);
            true
        }
        IA32_EFER => {
            let old = vcpu.read_field(fields::GUEST_IA32_EFER)?;
            // SAFETY: the guest's own EFER, loaded at entry ("load IA32_EFER"); LMA is
            // kept as the processor has it and the reserved bits are refused by the
            // policy below (a #GP as the processor raises).
            let allowed = (1 << 0) | (1 << 8) | (1 << 11);
            if value & !(allowed | EFER_LMA) != 0 {
                false
            } else {
                unsafe {
                    vcpu.write_field(
                        fields::GUEST_IA32_EFER,
                        (value & !EFER_LMA) | (old & EFER_LMA),
                    )
                }?;
                true
            }
        }
        _ if vcpu.guest_msr(msr).is_some() => vcpu.set_guest_msr(msr, value).is_ok(),
        _ => other_write(vcpu, msr, value)?,
    })
}
