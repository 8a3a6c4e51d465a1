//! The effect of an emulated MMIO instruction on the guest's registers, given the value the
//! device returned (SDM Vol. 2 MOV, MOVZX, MOVSX, XCHG, STOS, MOVS and the ALU
//! instructions; Vol. 1 §3.4.1.1 register widths). Pure, so that every case is tested on the
//! host; [`Vcpu::complete_mmio_read`](crate::Vcpu::complete_mmio_read) and
//! [`Vcpu::complete_mmio_write`](crate::Vcpu::complete_mmio_write) apply it to a vCPU.

use super::access::{
    AddressSize, Extension, MmioAccess, MmioOperation, Operand, RegisterOperand, StringForm,
    width_mask,
};
use super::alu::{STATUS_FLAGS, compute};
use crate::regs::Gpr;

/// RFLAGS.DF (bit 10): string instructions move SI/DI down when set (SDM Vol. 1 §3.4.3.2).
pub const DF: u64 = 1 << 10;

/// The guest registers an emulated instruction reads and writes: the 16 general-purpose
/// registers by SDM number ([`Gpr`] order) and RFLAGS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MmioRegisters {
    /// RAX..R15.
    pub gprs: [u64; 16],
    /// RFLAGS.
    pub rflags: u64,
}

impl MmioRegisters {
    /// The value of `gpr`.
    pub const fn get(&self, gpr: Gpr) -> u64 {
        self.gprs[gpr as usize]
    }

    fn operand(&self, r: RegisterOperand) -> u64 {
        r.read(self.get(r.gpr))
    }

    fn set_operand(&mut self, r: RegisterOperand, value: u64) {
        let slot = &mut self.gprs[r.gpr as usize];
        *slot = r.write(*slot, value);
    }

    fn operand_value(&self, o: Operand) -> u64 {
        match o {
            Operand::Register(r) => self.operand(r),
            Operand::Immediate(i) => i,
        }
    }
}

/// What completing an instruction leaves to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Completed {
    /// A value the instruction writes to memory after its read: the MMIO location for a
    /// read-modify-write ALU instruction or XCHG, the destination in guest memory for a
    /// MOVS whose source was MMIO. `None` when it writes nothing more.
    pub write_back: Option<u64>,
    /// Whether the instruction is done and RIP moves past it: false for a REP string
    /// instruction whose count is not yet 0 (it executes again, SDM Vol. 2B REP).
    pub advance_rip: bool,
}

/// The value a write-only instruction (MOV store, STOS) writes, `width` bytes; `None` for
/// the others (a read-modify-write instruction's value comes from [`complete_read`], a
/// MOVS's from guest memory at \[SI\]).
pub fn write_value(access: &MmioAccess, regs: &MmioRegisters) -> Option<u64> {
    let value = match access.operation {
        MmioOperation::Store { source } => regs.operand_value(source),
        MmioOperation::Stos { source, .. } => regs.operand(source),
        _ => return None,
    };
    Some(value & access.width_mask())
}

/// Completes an instruction that read `value` from MMIO ([`MmioAccess::reads`]): writes the
/// destination register with the instruction's width and extension (32-bit writes
/// zero-extend, 8- and 16-bit writes merge), the ALU status flags, the string registers.
/// `None` (nothing changed) for an instruction that does not read memory.
pub fn complete_read(
    access: &MmioAccess,
    regs: &mut MmioRegisters,
    value: u64,
) -> Option<Completed> {
    let width = access.width;
    let value = value & access.width_mask();
    let mut write_back = None;
    match access.operation {
        MmioOperation::Load {
            destination,
            extension,
        } => {
            let v = match extension {
                Extension::Sign => sign_extend(value, width),
                Extension::None | Extension::Zero => value,
            };
            regs.set_operand(destination, v);
        }
        MmioOperation::Alu {
            op,
            memory_destination,
            other,
        } => {
            let other_value = regs.operand_value(other);
            let (dst, src) = if memory_destination {
                (value, other_value)
            } else {
                (other_value, value)
            };
            let r = compute(op, dst, src, width);
            regs.rflags = (regs.rflags & !STATUS_FLAGS) | r.flags;
            if op.writes_destination() {
                match (memory_destination, other) {
                    (true, _) => write_back = Some(r.value),
                    (false, Operand::Register(reg)) => regs.set_operand(reg, r.value),
                    (false, Operand::Immediate(_)) => {}
                }
            }
        }
        MmioOperation::Exchange { register } => {
            write_back = Some(regs.operand(register) & access.width_mask());
            regs.set_operand(register, value);
        }
        MmioOperation::Movs { form } => {
            write_back = Some(value);
            return Some(Completed {
                write_back,
                advance_rip: string_step(regs, form, width, true),
            });
        }
        MmioOperation::Store { .. } | MmioOperation::Stos { .. } => return None,
    }
    Some(Completed {
        write_back,
        advance_rip: true,
    })
}

/// Completes an instruction that only wrote MMIO (MOV store, STOS, a MOVS whose destination
/// was MMIO): moves the string registers. `None` (nothing changed) for an instruction that
/// reads memory first ([`complete_read`] completes those).
pub fn complete_write(access: &MmioAccess, regs: &mut MmioRegisters) -> Option<Completed> {
    let advance_rip = match access.operation {
        MmioOperation::Store { .. } => true,
        MmioOperation::Stos { form, .. } => string_step(regs, form, access.width, false),
        MmioOperation::Movs { form } => string_step(regs, form, access.width, true),
        _ => return None,
    };
    Some(Completed {
        write_back: None,
        advance_rip,
    })
}

/// `value` (`width` bytes) sign-extended to 64 bits.
pub const fn sign_extend(value: u64, width: u8) -> u64 {
    let bits = if width >= 8 { 64 } else { 8 * width as u32 };
    let shift = 64 - bits;
    (((value << shift) as i64) >> shift) as u64
}

/// One iteration of a string instruction's register updates (SDM Vol. 2B MOVS, STOS, REP):
/// DI (and SI for MOVS) move by `width` up or down as RFLAGS.DF says, a REP count
/// decrements; returns whether the instruction is done. A REP with a count already 0 did no
/// iteration: nothing moves and it is done.
fn string_step(regs: &mut MmioRegisters, form: StringForm, width: u8, source: bool) -> bool {
    let size = form.address_size;
    let count = regs.get(Gpr::Rcx) & size.mask();
    if form.rep && count == 0 {
        return true;
    }
    let delta = if regs.rflags & DF != 0 {
        0u64.wrapping_sub(u64::from(width))
    } else {
        u64::from(width)
    };
    step(&mut regs.gprs[Gpr::Rdi as usize], size, delta);
    if source {
        step(&mut regs.gprs[Gpr::Rsi as usize], size, delta);
    }
    if !form.rep {
        return true;
    }
    step(&mut regs.gprs[Gpr::Rcx as usize], size, u64::MAX);
    count == 1
}

/// Adds `delta` to the `size` part of `reg` (a 32-bit update zero-extends, a 16-bit one
/// keeps bits 63:16; SDM Vol. 1 §3.4.1.1).
fn step(reg: &mut u64, size: AddressSize, delta: u64) {
    let mask = size.mask();
    let next = reg.wrapping_add(delta) & mask;
    *reg = match size {
        AddressSize::Bits16 => (*reg & !mask) | next,
        AddressSize::Bits32 | AddressSize::Bits64 => next,
    };
}

// Width masks for the whole-register case.
const _: () = assert!(width_mask(8) == u64::MAX && width_mask(1) == 0xFF);
