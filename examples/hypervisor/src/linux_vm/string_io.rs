//! INS and OUTS on the emulated platform's ports (SDM Vol. 2 INS/OUTS, REP; Vol. 3C
//! §28.2.5 for what the exit reports).
//!
//! One exit handles the iterations that stay in the memory operand's page
//! (`StringIo::iterations_in_page`, at most [`MAX_ITERATIONS`]): the page is translated
//! once through the guest's paging structures (`vmx_vcpu::mmio::translate`, with the access
//! rights of the guest's CPL), each element moved between guest RAM and the port, and
//! `Vcpu::complete_string_io` advances RSI/RDI and RCX, moving RIP past the instruction only
//! when the count is exhausted: the guest re-executes the instruction for the rest, so a long
//! `rep insb` is interruptible as on a processor. A page fault on the operand is delivered to
//! the guest as the processor would (CR2, #PF with its error code); an operand outside RAM
//! (a guest pointing INS at MMIO) is refused with #GP(0), which is what the platform gives
//! a device it does not have.

use alloc::format;

use example_hypervisor::platform::PowerEvent;
use vmx_vcpu::Event;
use vmx_vcpu::exit::IoExit;
use vmx_vcpu::mmio::{Access, AccessKind, WalkError, translate};

use super::error::LinuxVmError;
use super::guest_ram::RamView;
use super::machine::Machine;
use crate::hosts::FrameHost;
use vmx_vcpu::VmxVcpu;

/// Iterations emulated per exit at most: bounds the time one exit holds the processor.
pub const MAX_ITERATIONS: u64 = 4096;
/// #PF (SDM Vol. 3A §7.15, interrupt 14).
const PF: u8 = 14;
/// #GP.
const GP: u8 = 13;
/// RFLAGS.AC (SDM Vol. 1 §3.4.3.3).
const RFLAGS_AC: u64 = 1 << 18;

/// Emulates what it can of the string I/O instruction of `io` on vCPU `i` at TSC `now`;
/// returns the power event an OUTS caused, if any.
pub fn emulate(
    m: &mut Machine,
    i: usize,
    vcpu: &mut VmxVcpu<'_, FrameHost>,
    io: &IoExit,
    now: u64,
) -> Result<Option<PowerEvent>, LinuxVmError> {
    let Some(string) = io.string_io else {
        return Err(LinuxVmError::Guest(format!(
            "vCPU {i}: string I/O on port {:#x} without the instruction information (IA32_VMX_BASIC[54] = 0)",
            io.port
        )));
    };
    let size = io.size;
    let rcx = vcpu.regs().rcx;
    let index = vcpu.gpr(string.index_register)?;
    let (Some(remaining), Some(_)) = (string.remaining(io.rep, rcx), string.address_size) else {
        return Err(LinuxVmError::Guest(format!(
            "vCPU {i}: string I/O on port {:#x} with a reserved address size",
            io.port
        )));
    };
    if remaining == 0 {
        vcpu.complete_string_io(io, 0)?;
        return Ok(None);
    }
    let in_page = string
        .iterations_in_page(index, size, remaining)
        .unwrap_or(1)
        .clamp(1, MAX_ITERATIONS);
    let state = vcpu.mmio_fetch_state()?;
    let rflags = vcpu.rflags()?;
    let access = Access {
        // INS writes memory, OUTS reads it.
        kind: if io.is_in {
            AccessKind::Write
        } else {
            AccessKind::Read
        },
        cpl: state.cpl,
        implicit_supervisor: false,
        rflags_ac: rflags & RFLAGS_AC != 0,
    };
    let ram = RamView {
        base: m.ram.0,
        size: m.ram.1,
    };
    let first = string.element_address(size, 0);
    let gpa = match translate(&ram, &state.paging, first, access) {
        Ok(t) => t.gpa.as_u64(),
        Err(WalkError::PageFault(pf)) => {
            vcpu.regs_mut().cr2 = pf.address;
            vcpu.inject(Event::HardwareException {
                vector: PF,
                error_code: Some(pf.error_code),
            })?;
            return Ok(None);
        }
        Err(e) => {
            return Err(LinuxVmError::Guest(format!(
                "vCPU {i}: string I/O on port {:#x}: the operand at {first:#x} does not translate: {e:?}",
                io.port
            )));
        }
    };
    let width = u64::from(size);
    let span_low = if string.decrement {
        gpa.checked_sub((in_page - 1) * width)
    } else {
        Some(gpa)
    };
    let in_ram = span_low.is_some_and(|low| {
        low.checked_add(in_page * width)
            .is_some_and(|high| high <= m.ram.1)
    });
    if !in_ram {
        vcpu.inject(Event::HardwareException {
            vector: GP,
            error_code: Some(0),
        })?;
        return Ok(None);
    }
    for k in 0..in_page {
        let delta = k * width;
        let element = if string.decrement {
            gpa - delta
        } else {
            gpa + delta
        };
        let host = (m.ram.0 + element) as *mut u8;
        if io.is_in {
            let value = m.platform.io_read(io.port, size, now).to_le_bytes();
            // SAFETY: [element, element + size) lies in the guest's RAM (checked above for
            // the whole run), identity mapped host frames that no Rust reference covers; no
            // vCPU runs while an exit is handled (one physical CPU).
            unsafe {
                core::ptr::copy_nonoverlapping(value.as_ptr(), host, usize::from(size));
            }
        } else {
            let mut bytes = [0u8; 4];
            // SAFETY: as above, read only.
            unsafe {
                core::ptr::copy_nonoverlapping(host, bytes.as_mut_ptr(), usize::from(size));
            }
            let event = m
                .platform
                .io_write(io.port, size, u32::from_le_bytes(bytes), now);
            if event.is_some() {
                // A reset (OUTS to a reset port): the elements after it are never written.
                vcpu.complete_string_io(io, k + 1)?;
                return Ok(event);
            }
        }
    }
    vcpu.complete_string_io(io, in_page)?;
    Ok(None)
}
