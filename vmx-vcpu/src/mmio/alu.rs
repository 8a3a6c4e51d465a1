//! The arithmetic of the emulated ALU instructions and their RFLAGS status flags (SDM Vol. 1
//! §3.4.3.1 "Status Flags", Appendix A "EFLAGS Cross-Reference"; Vol. 2 ADD, SUB, CMP, AND,
//! OR, XOR, TEST).

use super::access::{AluOp, width_mask};

/// RFLAGS.CF (bit 0).
pub const CF: u64 = 1 << 0;
/// RFLAGS.PF (bit 2).
pub const PF: u64 = 1 << 2;
/// RFLAGS.AF (bit 4).
pub const AF: u64 = 1 << 4;
/// RFLAGS.ZF (bit 6).
pub const ZF: u64 = 1 << 6;
/// RFLAGS.SF (bit 7).
pub const SF: u64 = 1 << 7;
/// RFLAGS.OF (bit 11).
pub const OF: u64 = 1 << 11;
/// The six status flags these instructions write.
pub const STATUS_FLAGS: u64 = CF | PF | AF | ZF | SF | OF;

/// An ALU instruction's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AluResult {
    /// The result, `width` bytes (also computed for CMP and TEST, which do not write it).
    pub value: u64,
    /// The new status flags (bits of [`STATUS_FLAGS`]; AF, undefined after the logical
    /// instructions, is 0 for them).
    pub flags: u64,
}

/// Computes `destination op source` on `width` bytes (1, 2, 4 or 8; the operands are
/// truncated to it). ADD and SUB/CMP set CF, OF and AF from the carry and borrow; AND, OR,
/// XOR and TEST clear CF and OF; all set SF, ZF and PF (parity of the low byte) from the
/// result. Total.
pub const fn compute(op: AluOp, destination: u64, source: u64, width: u8) -> AluResult {
    let mask = width_mask(width);
    let sign = mask ^ (mask >> 1);
    let a = destination & mask;
    let b = source & mask;
    let (value, mut flags) = match op {
        AluOp::Add => {
            let r = a.wrapping_add(b) & mask;
            let mut f = 0;
            if r < a {
                f |= CF;
            }
            if (!(a ^ b) & (a ^ r)) & sign != 0 {
                f |= OF;
            }
            (r, f | ((a ^ b ^ r) & AF))
        }
        AluOp::Sub | AluOp::Cmp => {
            let r = a.wrapping_sub(b) & mask;
            let mut f = 0;
            if a < b {
                f |= CF;
            }
            if ((a ^ b) & (a ^ r)) & sign != 0 {
                f |= OF;
            }
            (r, f | ((a ^ b ^ r) & AF))
        }
        AluOp::And | AluOp::Test => (a & b, 0),
        AluOp::Or => (a | b, 0),
        AluOp::Xor => (a ^ b, 0),
    };
    if value == 0 {
        flags |= ZF;
    }
    if value & sign != 0 {
        flags |= SF;
    }
    if (value as u8).count_ones().is_multiple_of(2) {
        flags |= PF;
    }
    AluResult { value, flags }
}
