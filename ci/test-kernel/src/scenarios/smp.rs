//! More than one processor (Bochs `cpu: count=2`): the application processor started by
//! `baremetal::smp`, VMX on both processors with a vCPU on each at the same time, and a vCPU
//! moved between processors with `VmxVcpu::unload` / `ParkedVcpu::load` (SDM Vol. 3C
//! §25.11.1).

use alloc::format;

use baremetal::smp;
use vmx_vcpu::{ParkedVcpu, SharedHost, VcpuConfig, VmExit, VmcsState, VmxVcpu};

mod ipi;

use crate::env::{Env, Outcome, Scenario};
use crate::hosts::KernelHost;
use crate::{check, check_eq, require, setup};

use super::vmx_setup::{Cpu, NO_IDT, enable, long_mode_guest};

/// The scenarios of this area.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "smp_ap_starts",
        run: ap_starts,
    },
    Scenario {
        name: "smp_two_vcpus_at_once",
        run: two_vcpus_at_once,
    },
    Scenario {
        name: "smp_vcpu_migrates",
        run: vcpu_migrates,
    },
    Scenario {
        name: "smp_guest_init_sipi_ipi",
        run: ipi::init_sipi_ipi,
    },
];

impl Clone for KernelHost {
    fn clone(&self) -> Self {
        KernelHost
    }
}

// SAFETY: every `KernelHost` is the same zero-sized handle on the one global frame
// allocator (`baremetal::frames`, a spin-locked bitmap usable from every processor) over
// identity-mapped RAM: frames from one value can be used and freed through any other.
unsafe impl SharedHost for KernelHost {}

core::arch::global_asm!(
    ".pushsection .text.smp_guests,\"ax\",@progbits",
    ".code64",
    // VMCALL with RAX = 0x5350 and RDX counting the VMCALLs so far, forever.
    ".global smp_guest_count",
    "smp_guest_count:",
    "mov eax, 0x5350",
    "2:",
    "vmcall",
    "inc rdx",
    "jmp 2b",
    ".popsection",
);

unsafe extern "C" {
    fn smp_guest_count();
}

/// Starts the AP (two processors in all).
fn two_cpus() -> Result<usize, Outcome> {
    match smp::start_aps(2) {
        Ok(n) => Ok(n),
        Err(e) => Err(Outcome::Fail(format!("start_aps(2): {e}"))),
    }
}

fn ap_starts(_env: &mut Env) -> Outcome {
    let n = setup!(two_cpus());
    check_eq!(n, 2);
    check_eq!(smp::current_cpu(), 0);
    let bsp = smp::apic_id();
    let r = require!(
        smp::run_on(1, || (smp::apic_id(), smp::current_cpu())),
        "run_on"
    );
    let (ap, ap_index) = require!(r, "the AP's closure");
    check!(ap != bsp, "AP APIC ID {ap} equals the BSP's {bsp}");
    check_eq!(ap_index, 1);
    check_eq!(smp::apic_id_of(1), Some(ap));
    // Exceptions are caught on the processor that raised them.
    let r = require!(
        smp::run_on(1, || baremetal::try_rdmsr(0x4000_1234)
            .map_err(|e| e.vector)),
        "run_on"
    );
    check!(
        matches!(r, Ok(Err(13))),
        "RDMSR of a missing MSR on the AP: {r:?}"
    );
    Outcome::Pass
}

fn guest_config(env: &mut Env) -> Result<VcpuConfig, Outcome> {
    Ok(VcpuConfig::new(long_mode_guest(
        env,
        smp_guest_count,
        0x2,
        NO_IDT,
    )?))
}

/// Runs `v` to its next VMCALL and advances RIP; returns RAX, RDX and the RIP at the exit.
fn vmcall(
    v: &mut vmx_vcpu::Vcpu<'_, KernelHost>,
) -> Result<(u64, u64, u64), alloc::string::String> {
    let e = v.run().map_err(|e| format!("run: {e}"))?;
    if !matches!(e, VmExit::Vmcall(_)) {
        return Err(format!("expected VMCALL, got {e:?}"));
    }
    let rip = v.rip().map_err(|e| format!("rip: {e}"))?;
    let r = *v.regs();
    v.advance_rip().map_err(|e| format!("advance_rip: {e}"))?;
    Ok((r.rax, r.rdx, rip))
}

/// On the calling processor: VMX on, a vCPU, `rounds` VMCALLs (checking RDX counts them),
/// the barrier crossed once the vCPU has run once (so both processors are in VMX operation
/// with a launched vCPU at the same time), VMX off. Returns the APIC ID the host saw.
fn vcpu_here(
    cfg: &VcpuConfig,
    barrier: &smp::Barrier,
    rounds: u64,
) -> Result<u32, alloc::string::String> {
    let cpu: Cpu = enable().map_err(|o| format!("enable: {o:?}"))?;
    // SAFETY: the guest is the kernel's own test code on its page tables (trusted like the
    // kernel); the vCPU is dropped before the scenario ends.
    let mut v = unsafe { VmxVcpu::new_on_host_memory(&cpu, cfg) }
        .map_err(|e| format!("new_on_host_memory: {e}"))?;
    v.regs_mut().rdx = 0;
    let (rax, rdx, _) = vmcall(&mut v)?;
    if rax != 0x5350 || rdx != 0 {
        return Err(format!("first VMCALL: RAX {rax:#x}, RDX {rdx}"));
    }
    barrier.wait();
    for i in 1..rounds {
        let (_, rdx, _) = vmcall(&mut v)?;
        if rdx != i {
            return Err(format!("VMCALL {i}: RDX {rdx}"));
        }
    }
    let id = cpu.cpu_id().unwrap_or(u32::MAX);
    drop(v);
    cpu.disable().map_err(|e| format!("disable: {e}"))?;
    Ok(id)
}

fn two_vcpus_at_once(env: &mut Env) -> Outcome {
    setup!(two_cpus());
    let cfg = setup!(guest_config(env));
    let cfg_ap = cfg;
    let barrier = smp::Barrier::new(2);
    let (remote, local) = require!(
        smp::run_pair(
            1,
            || vcpu_here(&cfg_ap, &barrier, 50),
            || vcpu_here(&cfg, &barrier, 50)
        ),
        "run_pair"
    );
    let remote = require!(require!(remote, "AP closure"), "AP vCPU");
    let local = require!(require!(local, "BSP closure"), "BSP vCPU");
    check_eq!(local, u32::from(smp::apic_id()));
    check_eq!(Some(remote as u8), smp::apic_id_of(1));
    check!(remote != local, "both vCPUs ran on APIC ID {local}");
    Outcome::Pass
}

/// On the AP: VMX on, the parked vCPU loaded there, two VMCALLs (RDX continuing from
/// `rdx`, RCX as the BSP left it), unloaded again.
fn run_parked_on_ap(
    parked: ParkedVcpu<KernelHost>,
    rdx: u64,
) -> Result<(ParkedVcpu<KernelHost>, u64, u32), alloc::string::String> {
    let cpu: Cpu = enable().map_err(|o| format!("enable: {o:?}"))?;
    let mut v = parked
        .load(&cpu, None)
        .map_err(|e| format!("load on the AP: {e}"))?;
    if v.vmcs().state() != VmcsState::Current {
        return Err(format!("VMCS state after load: {:?}", v.vmcs().state()));
    }
    let (_, d1, _) = vmcall(&mut v)?;
    if v.vmcs().state() != VmcsState::Launched {
        return Err(format!(
            "not launched after the first entry: {:?}",
            v.vmcs().state()
        ));
    }
    let (_, d2, rip) = vmcall(&mut v)?;
    if d1 != rdx || d2 != rdx + 1 {
        return Err(format!(
            "RDX on the AP {d1}, {d2}; expected {rdx}, {}",
            rdx + 1
        ));
    }
    if v.regs().rcx != 0xC0FFEE {
        return Err(format!("RCX on the AP {:#x}", v.regs().rcx));
    }
    let id = cpu.cpu_id().unwrap_or(u32::MAX);
    let parked = v.unload().map_err(|e| format!("unload on the AP: {e}"))?;
    if cpu.active_vmcs_count() != 0 {
        return Err("a VMCS stayed active on the AP".into());
    }
    cpu.disable().map_err(|e| format!("disable: {e}"))?;
    let _ = rip;
    Ok((parked, d2 + 1, id))
}

fn vcpu_migrates(env: &mut Env) -> Outcome {
    setup!(two_cpus());
    let cfg = setup!(guest_config(env));
    let cpu = setup!(enable());
    // SAFETY: as in `vcpu_here`.
    let mut v = require!(
        unsafe { VmxVcpu::new_on_host_memory(&cpu, &cfg) },
        "new_on_host_memory"
    );
    v.regs_mut().rdx = 0;
    v.regs_mut().rcx = 0xC0FFEE;
    let (_, d0, rip0) = require!(vmcall(&mut v), "first VMCALL on the BSP");
    check_eq!(d0, 0);
    check_eq!(cpu.active_vmcs_count(), 1);
    let parked = require!(v.unload(), "unload on the BSP");
    check_eq!(cpu.active_vmcs_count(), 0);
    check_eq!(parked.unloaded_from(), Some(u32::from(smp::apic_id())));
    check_eq!(parked.eptp(), None);
    let r = require!(
        smp::run_on(1, move || run_parked_on_ap(parked, 1)),
        "run_on"
    );
    let r = require!(r, "AP closure");
    let (parked, next, ap_id) = require!(r, "the vCPU on the AP");
    check_eq!(Some(ap_id as u8), smp::apic_id_of(1));
    check_eq!(parked.unloaded_from(), Some(ap_id));
    // Back on the BSP: VMLAUNCH again, the count goes on.
    let mut v = require!(parked.load(&cpu, None), "load on the BSP");
    let (rax, d3, rip3) = require!(vmcall(&mut v), "VMCALL back on the BSP");
    check_eq!(rax, 0x5350);
    check_eq!(d3, next);
    check_eq!(v.regs().rcx, 0xC0FFEE);
    check!(rip3 == rip0, "VMCALL RIP {rip3:#x} != {rip0:#x}");
    check_eq!(v.vmcs().state(), VmcsState::Launched);
    drop(v);
    check_eq!(cpu.active_vmcs_count(), 0);
    require!(cpu.disable(), "disable");
    Outcome::Pass
}
