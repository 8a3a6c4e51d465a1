//! One VM exit of a Linux vCPU: what the guest asked for, done on the emulated platform
//! (SDM Vol. 3C ch. 26 and §28.2 for the exit reasons and their information).

use alloc::format;
use alloc::vec::Vec;

use example_hypervisor::platform::{CpuEffect, PowerEvent};
use vmx_defs::qualification::ApicAccessType;
use vmx_vcpu::mmio::{MmioAccess, MmioOperation, fetch_and_decode};
use vmx_vcpu::{Event, VmExit, VmxVcpu};

use super::error::LinuxVmError;
use super::guest_ram::{RamView, XAPIC_BASE};
use super::machine::Machine;
use super::msr_glue;
use crate::hosts::FrameHost;

/// The I/O APIC's MMIO page (MP table, linux.md).
pub const IOAPIC_BASE: u64 = 0xFEC0_0000;
/// The xAPIC EOI register's offset in the APIC page (SDM Vol. 3A Table 12-1).
const EOI_OFFSET: u16 = 0xB0;

/// What the scheduler does after an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitAction {
    /// Enter the same vCPU again (within its slice).
    Continue,
    /// The vCPU executed HLT: idle until an interrupt is pending for it.
    Halt,
    /// The slice ended: let the next vCPU run.
    Yield,
    /// The machine resets.
    Reset {
        /// By a triple fault.
        triple_fault: bool,
    },
}

/// Handles `exit` of vCPU `i` at TSC `now`; INIT/SIPI/NMI effects go to `effects`.
pub fn handle_exit(
    m: &mut Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    exit: &VmExit,
    now: u64,
    effects: &mut Vec<CpuEffect>,
) -> Result<ExitAction, LinuxVmError> {
    match exit {
        VmExit::PreemptionTimer => Ok(ExitAction::Yield),
        VmExit::ExternalInterrupt { .. } | VmExit::InterruptWindow | VmExit::NmiWindow => {
            Ok(ExitAction::Continue)
        }
        VmExit::Hlt => {
            vcpu.advance_rip()?;
            Ok(ExitAction::Halt)
        }
        VmExit::Io(io) => {
            if io.string {
                if let Some(PowerEvent::Reset) = super::string_io::emulate(m, i, vcpu, io, now)? {
                    return Ok(ExitAction::Reset {
                        triple_fault: false,
                    });
                }
                return Ok(ExitAction::Continue);
            }
            if io.is_in {
                let v = m.platform.io_read(io.port, io.size, now);
                vcpu.complete_io_in(io, v)?;
            } else {
                let value = io.value.unwrap_or(0);
                let event = m.platform.io_write(io.port, io.size, value, now);
                vcpu.advance_rip()?;
                if let Some(PowerEvent::Reset) = event {
                    return Ok(ExitAction::Reset {
                        triple_fault: false,
                    });
                }
            }
            Ok(ExitAction::Continue)
        }
        VmExit::Cpuid { leaf, subleaf } => {
            let r = msr_glue::cpuid(m, i, vcpu, *leaf, *subleaf)?;
            vcpu.complete_cpuid(r[0], r[1], r[2], r[3])?;
            Ok(ExitAction::Continue)
        }
        VmExit::Rdmsr { msr } => {
            match msr_glue::rdmsr(m, i, vcpu, *msr)? {
                Some(v) => vcpu.complete_rdmsr(v)?,
                None => vcpu.inject(Event::HardwareException {
                    vector: 13,
                    error_code: Some(0),
                })?,
            }
            Ok(ExitAction::Continue)
        }
        VmExit::Wrmsr { msr, value } => {
            if msr_glue::wrmsr(m, i, vcpu, *msr, *value, now)? {
                vcpu.advance_rip()?;
            } else {
                vcpu.inject(Event::HardwareException {
                    vector: 13,
                    error_code: Some(0),
                })?;
            }
            Ok(ExitAction::Continue)
        }
        VmExit::ApicAccess(a) => {
            let Some(offset) = a.offset.filter(|_| a.by_instruction) else {
                return Err(LinuxVmError::Guest(format!(
                    "APIC access not by an instruction's data access: {a:?}"
                )));
            };
            // A write to EOI: its value is ignored (SDM Vol. 3A §12.8.5), so the instruction
            // need not be decoded; the exit records its length (fault-like, Vol. 3C
            // §28.2.4), which `complete_apic_access` skips. The common case of an interrupt
            // handler's end, as KVM handles it.
            if offset == EOI_OFFSET && a.access == ApicAccessType::LinearWrite {
                effects.extend(m.platform.lapic_write(i, u32::from(EOI_OFFSET), 0, now));
                vcpu.complete_apic_access()?;
                return Ok(ExitAction::Continue);
            }
            emulate_mmio(m, i, vcpu, Device::Lapic(u32::from(offset)), now, effects)?;
            Ok(ExitAction::Continue)
        }
        VmExit::EptViolation(v) => {
            let device = if v.gpa & !0xFFF == IOAPIC_BASE {
                Device::IoApic((v.gpa & 0xFFF) as u32)
            } else if v.gpa & !0xFFF == XAPIC_BASE {
                // Another vCPU's view never reaches here (per-vCPU EPT); the page is
                // mapped, so this is a fetch or a guest-physical access: treat as absent.
                Device::Absent
            } else {
                Device::Absent
            };
            emulate_mmio(m, i, vcpu, device, now, effects)?;
            Ok(ExitAction::Continue)
        }
        VmExit::Xsetbv { index, value } => {
            if vcpu.complete_xsetbv(*index, *value).is_err() {
                vcpu.inject(Event::HardwareException {
                    vector: 13,
                    error_code: Some(0),
                })?;
            }
            Ok(ExitAction::Continue)
        }
        VmExit::CrAccess(access) => {
            vcpu.complete_cr_access(access)?;
            Ok(ExitAction::Continue)
        }
        VmExit::MovDr(q) => {
            vcpu.complete_mov_dr(q)?;
            Ok(ExitAction::Continue)
        }
        VmExit::Invd | VmExit::Wbinvd | VmExit::Pause | VmExit::Monitor | VmExit::Mwait => {
            vcpu.advance_rip()?;
            Ok(ExitAction::Continue)
        }
        VmExit::Invlpg { .. } | VmExit::Rdtsc | VmExit::Rdtscp | VmExit::Rdpmc { .. } => {
            Err(LinuxVmError::Guest(format!("unexpected exit {exit:?}")))
        }
        VmExit::TripleFault => Ok(ExitAction::Reset { triple_fault: true }),
        VmExit::Init => {
            // A physical INIT cannot reach a guest on this single-CPU machine; an INIT
            // exit is the processor's, so the vCPU waits for a SIPI (sipi.rs).
            effects.push(CpuEffect::Init { cpu: i });
            Ok(ExitAction::Yield)
        }
        VmExit::VmxInstruction(_) | VmExit::Vmcall(_) | VmExit::Getsec => {
            vcpu.inject(Event::HardwareException {
                vector: 6,
                error_code: None,
            })?;
            Ok(ExitAction::Continue)
        }
        other => Err(LinuxVmError::Guest(format!(
            "vCPU {i}: exit not handled: {other:?}"
        ))),
    }
}

/// The MMIO target of an access.
#[derive(Clone, Copy, Debug)]
enum Device {
    /// The vCPU's local APIC, at this offset.
    Lapic(u32),
    /// The I/O APIC, at this offset.
    IoApic(u32),
    /// Nothing: reads all-ones, writes ignored.
    Absent,
}

fn device_read(m: &mut Machine, i: usize, d: Device, width: u8, now: u64) -> u64 {
    let dword = |off: u32, v: u32| -> u64 { u64::from(v) >> ((off & 3) * 8) };
    let v = match d {
        Device::Lapic(off) => dword(off, m.platform.lapic_read(i, off & !3, now)),
        Device::IoApic(off) => dword(off, m.platform.ioapic_read(off & !3)),
        Device::Absent => {
            m.absent_mmio += 1;
            u64::MAX
        }
    };
    match width {
        1 => v & 0xFF,
        2 => v & 0xFFFF,
        4 => v & 0xFFFF_FFFF,
        _ => v,
    }
}

fn device_write(
    m: &mut Machine,
    i: usize,
    d: Device,
    value: u64,
    now: u64,
    effects: &mut Vec<CpuEffect>,
) {
    match d {
        Device::Lapic(off) => {
            effects.extend(m.platform.lapic_write(i, off & !3, value as u32, now));
        }
        Device::IoApic(off) => effects.extend(m.platform.ioapic_write(off & !3, value as u32)),
        Device::Absent => m.absent_mmio += 1,
    }
}

/// Decodes the instruction at RIP (vmx_vcpu::mmio), performs its access on `device` and
/// completes it.
fn emulate_mmio(
    m: &mut Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    device: Device,
    now: u64,
    effects: &mut Vec<CpuEffect>,
) -> Result<(), LinuxVmError> {
    let state = vcpu.mmio_fetch_state()?;
    let ram = RamView {
        base: m.ram.0,
        size: m.ram.1,
    };
    let access: MmioAccess = fetch_and_decode(&ram, &state).map_err(|e| {
        LinuxVmError::Guest(format!(
            "vCPU {i}: MMIO ({device:?}) at RIP {:#x}: {e:?}",
            state.rip
        ))
    })?;
    if matches!(access.operation, MmioOperation::Movs { .. }) {
        return Err(LinuxVmError::Guest(format!(
            "vCPU {i}: MOVS on MMIO ({device:?}) at RIP {:#x} is not emulated",
            state.rip
        )));
    }
    if access.reads() {
        let value = device_read(m, i, device, access.width, now);
        if let Some(back) = vcpu.complete_mmio_read(&access, value)? {
            device_write(m, i, device, back, now, effects);
        }
    } else {
        let value = vcpu.mmio_write_value(&access)?;
        device_write(m, i, device, value, now, effects);
        vcpu.complete_mmio_write(&access)?;
    }
    Ok(())
}
