//! The example hypervisor's Linux virtual machine (issue 12, bare-metal side): reads the
//! payload (config, command line, kernel, initrd) from the disk, plans the Linux boot
//! (`example_hypervisor::linux`), and either runs it under VMX on the emulated platform
//! (`example_hypervisor::platform`), `vcpus` vCPUs time-sliced on this one processor
//! ([`machine`]), or, in bare mode, copies it to physical memory and jumps to it without
//! VMX ([`bare`]), the baseline of the performance ratio.

mod bare;
mod blobs;
mod console;
mod error;
mod exits;
mod guest_ram;
mod host_xstate;
mod machine;
mod msr_glue;
mod string_io;

use alloc::string::String;
use alloc::vec::Vec;

use baremetal::exit::{ExitCode, exit};
use baremetal::payload::Directory;
use baremetal::println;
use example_hypervisor::linux::{BootConfig, BootPlan, entry_registers, guest_state, plan};
use example_hypervisor::msr;
use vmx_defs::addr::GuestPhysAddr;
use vmx_defs::controls::SecondaryProcBasedControls;
use vmx_vcpu::apic::ApicVirtualization;
use vmx_vcpu::sipi::ApWait;
use vmx_vcpu::{VcpuConfig, VmxCpu, VmxVcpu};

use self::blobs::{FrameBuf, read_blob};
use self::error::LinuxVmError;
use self::guest_ram::{GuestRam, XAPIC_BASE, map_apic_access};
use self::machine::{Machine, RunEnd, RunState, Slot};
use crate::hosts::FrameHost;
use example_hypervisor::linux::vm_config::{Mode, VmConfig};

/// The blobs and plan of a run.
struct Loaded {
    config: VmConfig,
    plan: BootPlan,
    kernel: FrameBuf,
    initrd: Option<FrameBuf>,
}

/// Runs the Linux payload found on the disk; never returns.
pub fn main(dir: Directory) -> ! {
    match run(&dir) {
        Ok(()) => {
            println!("example hypervisor: SUCCESS");
            exit(ExitCode::Success)
        }
        Err(e) => {
            println!("example hypervisor: FAILED: {e}");
            exit(ExitCode::Failure)
        }
    }
}

fn load(dir: &Directory) -> Result<Loaded, LinuxVmError> {
    let config_blob = read_blob(dir, "config", 4096)?.ok_or(LinuxVmError::MissingBlob("config"))?;
    let config = VmConfig::parse(config_blob.as_slice())?;
    drop(config_blob);
    let cmdline = match read_blob(dir, "cmdline", 4096)? {
        Some(b) => String::from(
            core::str::from_utf8(b.as_slice())
                .map_err(|_| LinuxVmError::Payload(String::from("cmdline is not UTF-8")))?
                .trim_end_matches(['\n', '\0']),
        ),
        None => String::new(),
    };
    let ram_size = config.ram_mib << 20;
    // Bare mode copies the plan to physical memory: the blobs are staged above its highest
    // address (aligned to the next power of two at or above the RAM size).
    let align = match config.mode {
        Mode::Bare => ram_size.next_power_of_two(),
        Mode::Hypervisor => 2 << 20,
    };
    let kernel = read_blob(dir, "kernel", align)?.ok_or(LinuxVmError::MissingBlob("kernel"))?;
    let initrd = read_blob(dir, "initrd", align)?;
    println!(
        "example hypervisor: linux: payload: kernel {} bytes, initrd {} bytes, cmdline \"{}\", {} vCPU(s), {} MiB, {:?}, TSC {} kHz",
        kernel.len(),
        initrd.as_ref().map_or(0, FrameBuf::len),
        cmdline,
        config.vcpus,
        config.ram_mib,
        config.mode,
        config.tsc_khz
    );
    let boot = BootConfig {
        kernel: kernel.as_slice(),
        initrd_len: initrd.as_ref().map_or(0, |b| b.len() as u64),
        cmdline: &cmdline,
        ram_size,
        vcpus: config.vcpus,
        protocol: config.protocol,
        mp_table: config.mode == Mode::Hypervisor,
    };
    let plan = plan(&boot).map_err(|e| LinuxVmError::Plan(alloc::format!("{e}")))?;
    Ok(Loaded {
        config,
        plan,
        kernel,
        initrd,
    })
}

fn run(dir: &Directory) -> Result<(), LinuxVmError> {
    let loaded = load(dir)?;
    match loaded.config.mode {
        Mode::Bare => bare::run(&loaded.plan, &loaded.kernel, loaded.initrd.as_ref()),
        Mode::Hypervisor => run_hypervisor(loaded),
    }
}

fn run_hypervisor(loaded: Loaded) -> Result<(), LinuxVmError> {
    let Loaded {
        config,
        plan,
        kernel,
        initrd,
    } = loaded;
    let mut ram = GuestRam::new(config.ram_mib << 20)?;
    let empty: &[u8] = &[];
    plan.write_into(
        ram.as_mut_slice(),
        kernel.as_slice(),
        initrd.as_ref().map_or(empty, FrameBuf::as_slice),
    )
    .map_err(|e| LinuxVmError::Plan(alloc::format!("{e}")))?;
    drop(kernel);
    drop(initrd);
    println!(
        "example hypervisor: linux: guest RAM {} MiB at host-physical {:#x}, entry {:?}",
        config.ram_mib,
        ram.host_base(),
        plan.entry
    );

    // SAFETY: CPL 0 in 64-bit mode on the only CPU, interrupts disabled, nothing else uses
    // VMX here.
    let cpu = unsafe { VmxCpu::enable(FrameHost) }?;
    let caps = cpu.capabilities();
    if !caps.has_ept() {
        return Err(LinuxVmError::MissingFeature("EPT"));
    }
    if !caps.has_unrestricted_guest() {
        return Err(LinuxVmError::MissingFeature("unrestricted guest"));
    }
    if !caps.has_preemption_timer() {
        return Err(LinuxVmError::MissingFeature("the VMX-preemption timer"));
    }
    let xcr0 = host_xstate::enable();
    println!("example hypervisor: linux: host extended state on (XCR0 {xcr0:#x})");
    // One EPT per vCPU: each maps the xAPIC page to its own vCPU's APIC-access page.
    let epts = (0..config.vcpus)
        .map(|_| ram.build_ept(caps))
        .collect::<Result<Vec<_>, _>>()?;
    let mut vcfg = VcpuConfig::new(guest_state(&plan.entry));
    vcfg.preemption_timer = true;
    vcfg.hlt_exiting = true;
    vcfg.io_bitmaps = true;
    vcfg.msr_bitmap = true;
    vcfg.required.secondary |= SecondaryProcBasedControls::UNRESTRICTED_GUEST;
    vcfg.optional.secondary |= SecondaryProcBasedControls::ENABLE_RDTSCP
        | SecondaryProcBasedControls::ENABLE_INVPCID
        | SecondaryProcBasedControls::ENABLE_XSAVES_XRSTORS;
    vcfg.apic = Some(ApicVirtualization {
        apic_access: Some(GuestPhysAddr::new(XAPIC_BASE)),
        ..ApicVirtualization::tpr_shadow()
    });
    let mut slots = Vec::new();
    for (i, ept) in epts.iter().enumerate() {
        let mut vcpu = VmxVcpu::new(&cpu, ept.attach()?, &vcfg)?;
        if let Some(page) = vcpu.apic_access_page() {
            map_apic_access(ept, page)?;
        }
        // The guest handles its own exceptions (SDM Vol. 3C §25.6.3).
        vcpu.set_exception_bitmap(0)?;
        // The VMCS switches these on every vCPU; the list ones only where this vCPU lists them.
        let listed: Vec<u32> = msr::VMCS_SWITCHED
            .into_iter()
            .chain(
                msr::LIST_SWITCHED
                    .into_iter()
                    .filter(|m| vcpu.guest_msr(*m).is_some()),
            )
            .collect();
        // SAFETY: only MSRs whose guest values the VMCS or the vCPU's switch lists keep apart
        // from the host's (the host's are restored at every exit), and reads of the TSC,
        // which the guest shares with the host (offset 0) anyway.
        if let Some(bitmap) = unsafe { vcpu.msr_bitmap_mut() } {
            for m in listed {
                let _ = bitmap.pass_through(m, true, true);
            }
            for m in msr::PASS_THROUGH_READS {
                let _ = bitmap.pass_through(m, true, false);
            }
        }
        let state = if i == 0 {
            *vcpu.regs_mut() = entry_registers(&plan.entry);
            RunState::Runnable
        } else {
            vcpu.receive_init(ApWait::Host)?;
            RunState::WaitForSipi
        };
        slots.push(Slot { vcpu, state });
    }

    let mut machine = Machine::new(config, (ram.host_base(), ram.size()));
    let entry_tsc = baremetal::cpu::rdtsc();
    println!("example hypervisor: linux: entering the kernel at TSC {entry_tsc}");
    let end = machine.run(&mut slots, entry_tsc);
    let now = baremetal::cpu::rdtsc();
    machine.console.flush(now);
    if let Some(t) = machine.console.marker_tsc {
        println!(
            "example hypervisor: linux: init marker seen at TSC {t} ({} TSC ticks after kernel entry)",
            t - entry_tsc
        );
    }
    let result = match end {
        Ok(RunEnd::PoweredOff) => {
            let status = machine.console.done_status;
            match status {
                Some(s) => println!("example hypervisor: linux: powered off (guest status {s})"),
                None => println!("example hypervisor: linux: powered off (guest status unknown)"),
            }
            match status {
                Some(0) => Ok(()),
                Some(s) => Err(LinuxVmError::Guest(alloc::format!(
                    "the guest's init finished with status {s}"
                ))),
                None => Err(LinuxVmError::Guest(String::from(
                    "the guest powered off without printing VMXRS-INIT-DONE",
                ))),
            }
        }
        Ok(RunEnd::Rebooted { triple_fault }) => {
            if triple_fault {
                for (i, s) in slots.iter_mut().enumerate() {
                    machine::dump(i, &mut s.vcpu);
                }
            }
            println!(
                "example hypervisor: linux: rebooted{}",
                if triple_fault { " (triple fault)" } else { "" }
            );
            Err(LinuxVmError::Guest(String::from("the guest rebooted")))
        }
        Ok(RunEnd::OutOfTime) => {
            for (i, s) in slots.iter_mut().enumerate() {
                println!("example hypervisor: vCPU {i} is {:?}", s.state);
                machine::dump(i, &mut s.vcpu);
            }
            Err(LinuxVmError::Guest(alloc::format!(
                "out of time: {} TSC ticks (max_tsc) without a power-off",
                machine.config.max_tsc
            )))
        }
        Err(e) => {
            for (i, s) in slots.iter_mut().enumerate() {
                machine::dump(i, &mut s.vcpu);
            }
            Err(e)
        }
    };
    println!(
        "example hypervisor: linux: {} interrupts delivered, {} accesses to absent MMIO",
        machine.interrupts_delivered, machine.absent_mmio
    );
    let elapsed = baremetal::cpu::rdtsc().saturating_sub(entry_tsc);
    println!(
        "example hypervisor: linux: {elapsed} TSC ticks since kernel entry: {} inside Vcpu::run (the guest and vmx-vcpu's entry/exit path), {} in the exit handlers, {} in the rest of the loop (scheduling, timers, event offers, idling)",
        machine.in_run_tsc,
        machine.stats.total_cost(),
        elapsed
            .saturating_sub(machine.in_run_tsc)
            .saturating_sub(machine.stats.total_cost())
    );
    for (port, count) in machine.platform.unknown_port_accesses() {
        println!("example hypervisor: linux: unknown I/O port {port:#06x}: {count} accesses");
    }
    println!("example hypervisor: exit statistics:");
    println!("{}", machine.stats);
    drop(slots);
    drop(epts);
    cpu.disable()?;
    drop(ram);
    result
}
