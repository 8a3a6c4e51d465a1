//! The decoded form of an instruction that accessed MMIO: what it reads or writes, how
//! wide, from or into which register (SDM Vol. 2 instruction pages; register encodings in
//! Vol. 1 §3.4.1 and Vol. 2A §2.1.5).

use core::fmt;

use crate::regs::Gpr;

/// Which part of a general-purpose register an operand names (SDM Vol. 1 §3.4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterPart {
    /// Bits 7:0 (AL, CL, ..., SPL, ..., R15B).
    Low8,
    /// Bits 15:8 (AH, CH, DH, BH: byte registers 4-7 without a REX prefix, Vol. 2A §2.2.1.2).
    High8,
    /// Bits 15:0.
    Low16,
    /// Bits 31:0; a write zero-extends into bits 63:32 (Vol. 1 §3.4.1.1).
    Low32,
    /// Bits 63:0.
    Full64,
}

impl RegisterPart {
    /// The operand's width in bytes.
    pub const fn width(self) -> u8 {
        match self {
            Self::Low8 | Self::High8 => 1,
            Self::Low16 => 2,
            Self::Low32 => 4,
            Self::Full64 => 8,
        }
    }
}

/// A register operand: a general-purpose register and the part of it the instruction names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegisterOperand {
    /// The register.
    pub gpr: Gpr,
    /// The part of it.
    pub part: RegisterPart,
}

impl RegisterOperand {
    /// The operand's value, taken from the whole register's value `full`.
    pub const fn read(self, full: u64) -> u64 {
        match self.part {
            RegisterPart::Low8 => full & 0xFF,
            RegisterPart::High8 => (full >> 8) & 0xFF,
            RegisterPart::Low16 => full & 0xFFFF,
            RegisterPart::Low32 => full & 0xFFFF_FFFF,
            RegisterPart::Full64 => full,
        }
    }

    /// The whole register after writing `value` to the operand, `old` being its value before
    /// (SDM Vol. 1 §3.4.1.1): 8- and 16-bit writes keep the other bits, a 32-bit write
    /// zero-extends into bits 63:32.
    pub const fn write(self, old: u64, value: u64) -> u64 {
        match self.part {
            RegisterPart::Low8 => (old & !0xFF) | (value & 0xFF),
            RegisterPart::High8 => (old & !0xFF00) | ((value & 0xFF) << 8),
            RegisterPart::Low16 => (old & !0xFFFF) | (value & 0xFFFF),
            RegisterPart::Low32 => value & 0xFFFF_FFFF,
            RegisterPart::Full64 => value,
        }
    }
}

impl fmt::Display for RegisterOperand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = match self.part {
            RegisterPart::Low8 => "low byte",
            RegisterPart::High8 => "high byte",
            RegisterPart::Low16 => "low word",
            RegisterPart::Low32 => "low doubleword",
            RegisterPart::Full64 => "quadword",
        };
        write!(f, "{part} of {:?}", self.gpr)
    }
}

/// The non-memory operand of an instruction: a register or an immediate (already sign- or
/// zero-extended to the operand size as the instruction defines it, SDM Vol. 2A §2.2.1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// A register.
    Register(RegisterOperand),
    /// An immediate.
    Immediate(u64),
}

/// How a load widens the value it read (SDM Vol. 2B MOVZX, MOVSX/MOVSXD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extension {
    /// MOV: the register is as wide as the access.
    None,
    /// MOVZX: zero-extended to the register.
    Zero,
    /// MOVSX, MOVSXD: sign-extended to the register.
    Sign,
}

/// The arithmetic and logical instructions emulated with a memory operand (SDM Vol. 2A ADD,
/// AND, CMP; Vol. 2B OR, SUB, TEST, XOR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// ADD.
    Add,
    /// SUB.
    Sub,
    /// AND.
    And,
    /// OR.
    Or,
    /// XOR.
    Xor,
    /// CMP: SUB that writes only RFLAGS.
    Cmp,
    /// TEST: AND that writes only RFLAGS.
    Test,
}

impl AluOp {
    /// Whether the instruction writes its destination (CMP and TEST write only flags).
    pub const fn writes_destination(self) -> bool {
        !matches!(self, Self::Cmp | Self::Test)
    }
}

/// The address size of a string instruction, which selects SI/ESI/RSI, DI/EDI/RDI and
/// CX/ECX/RCX (SDM Vol. 2B MOVS, STOS, "REP/REPE/REPZ/REPNE/REPNZ").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressSize {
    /// 16-bit: SI, DI, CX.
    Bits16,
    /// 32-bit: ESI, EDI, ECX.
    Bits32,
    /// 64-bit: RSI, RDI, RCX.
    Bits64,
}

impl AddressSize {
    /// The mask of the address and count registers' bits that the instruction uses.
    pub const fn mask(self) -> u64 {
        match self {
            Self::Bits16 => 0xFFFF,
            Self::Bits32 => 0xFFFF_FFFF,
            Self::Bits64 => u64::MAX,
        }
    }
}

/// A string instruction's registers: which are used and whether REP repeats it (SDM Vol. 2B
/// MOVS, STOS; one iteration is emulated per exit, RFLAGS.DF gives the direction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StringForm {
    /// Whether a REP prefix repeats it (count in CX/ECX/RCX).
    pub rep: bool,
    /// The address size.
    pub address_size: AddressSize,
}

/// What the instruction does with the MMIO location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MmioOperation {
    /// MOV reg, mem / MOVZX / MOVSX / MOVSXD: reads memory into `destination`.
    Load {
        /// The register written.
        destination: RegisterOperand,
        /// How the value is widened to it.
        extension: Extension,
    },
    /// MOV mem, reg / MOV mem, imm (moffs forms included): writes `source` to memory.
    Store {
        /// The value written.
        source: Operand,
    },
    /// ADD/SUB/AND/OR/XOR/CMP/TEST with a memory operand: reads memory, computes, writes the
    /// result to memory (`memory_destination`, unless CMP/TEST) or to the register, and
    /// writes RFLAGS' status flags.
    Alu {
        /// The operation.
        op: AluOp,
        /// Whether memory is the first (destination) operand.
        memory_destination: bool,
        /// The other operand.
        other: Operand,
    },
    /// XCHG mem, reg: reads memory into the register and writes the register's old value.
    Exchange {
        /// The register.
        register: RegisterOperand,
    },
    /// STOS: writes AL/AX/EAX/RAX to ES:\[DI\], then moves DI.
    Stos {
        /// The register stored (AL, AX, EAX or RAX).
        source: RegisterOperand,
        /// REP and address size.
        form: StringForm,
    },
    /// MOVS: copies from \[SI\] to ES:\[DI\], then moves SI and DI. One side is the MMIO
    /// location (the EPT violation says which by its access type), the caller performs the
    /// other side in guest memory.
    Movs {
        /// REP and address size.
        form: StringForm,
    },
}

/// An instruction that accessed MMIO, decoded (see [`decode`](fn@crate::mmio::decode)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MmioAccess {
    /// The instruction's length in bytes (1-15): an EPT violation records none (SDM Vol. 3C
    /// §28.2.4), the completion moves RIP by this much.
    pub length: u8,
    /// The width of the memory access in bytes: 1, 2, 4 or 8.
    pub width: u8,
    /// What the instruction does.
    pub operation: MmioOperation,
}

impl MmioAccess {
    /// Whether the instruction reads the memory operand.
    pub const fn reads(&self) -> bool {
        match self.operation {
            MmioOperation::Load { .. }
            | MmioOperation::Alu { .. }
            | MmioOperation::Exchange { .. }
            | MmioOperation::Movs { .. } => true,
            MmioOperation::Store { .. } | MmioOperation::Stos { .. } => false,
        }
    }

    /// Whether the instruction writes the memory operand.
    pub const fn writes(&self) -> bool {
        match self.operation {
            MmioOperation::Load { .. } => false,
            MmioOperation::Alu {
                op,
                memory_destination,
                ..
            } => memory_destination && op.writes_destination(),
            MmioOperation::Store { .. }
            | MmioOperation::Exchange { .. }
            | MmioOperation::Stos { .. }
            | MmioOperation::Movs { .. } => true,
        }
    }

    /// The mask of the access's `width` bytes.
    pub const fn width_mask(&self) -> u64 {
        width_mask(self.width)
    }
}

/// The mask of `width` bytes (8 and above: all 64 bits).
pub(crate) const fn width_mask(width: u8) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width as u32)) - 1
    }
}
