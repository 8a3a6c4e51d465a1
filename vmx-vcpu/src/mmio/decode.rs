//! Reading the instruction at the guest's RIP and decoding it into an [`MmioAccess`] with
//! `iced-x86` (SDM Vol. 2 ch. 2 "Instruction Format"; Vol. 3C §28.2.4: an EPT violation
//! records no instruction length or information, so the hypervisor decodes the
//! instruction itself).

use core::fmt;

use iced_x86::{Decoder, DecoderError, DecoderOptions, Instruction, MemorySize, OpKind, Register};

pub use iced_x86::Mnemonic;

use super::access::{
    AddressSize, AluOp, Extension, MmioAccess, MmioOperation, Operand, RegisterOperand,
    RegisterPart, StringForm,
};
use super::walk::{
    Access, AccessKind, EFER_LMA, GuestMemoryRead, PagingState, WalkError, translate,
};
use crate::regs::Gpr;

/// The longest instruction the processor executes (SDM Vol. 2A §2.3.11).
pub const MAX_INSTRUCTION_LENGTH: usize = 15;

/// CS access rights bit 13, L (64-bit code segment; SDM Vol. 3A §3.4.5, VMCS format Vol. 3C
/// §25.4.1 Table 25-2).
pub const CS_L: u32 = 1 << 13;
/// CS access rights bit 14, D (default operation size 32).
pub const CS_D: u32 = 1 << 14;

/// The code size the processor decodes in (SDM Vol. 3A §5.2.1 / Vol. 1 §3.6.1): 64-bit
/// mode when IA32_EFER.LMA = 1 and CS.L = 1, else CS.D selects 32 or 16 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bitness {
    /// 16-bit code (real mode, virtual-8086 mode, 16-bit segments).
    Bits16,
    /// 32-bit code (and compatibility mode with CS.D = 1).
    Bits32,
    /// 64-bit mode.
    Bits64,
}

impl Bitness {
    /// The bitness for guest IA32_EFER `efer` and CS access rights `cs_access_rights`
    /// (VMCS format).
    pub const fn from_cs(efer: u64, cs_access_rights: u32) -> Self {
        if efer & EFER_LMA != 0 && cs_access_rights & CS_L != 0 {
            Self::Bits64
        } else if cs_access_rights & CS_D != 0 {
            Self::Bits32
        } else {
            Self::Bits16
        }
    }

    const fn bits(self) -> u32 {
        match self {
            Self::Bits16 => 16,
            Self::Bits32 => 32,
            Self::Bits64 => 64,
        }
    }
}

/// The guest state needed to fetch the instruction at RIP (VMCS guest-state area, SDM
/// Vol. 3C §25.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FetchState {
    /// Paging (CR0, CR3, CR4, EFER, PDPTEs, MAXPHYADDR).
    pub paging: PagingState,
    /// Guest RIP.
    pub rip: u64,
    /// Guest CS base (ignored in 64-bit mode, SDM Vol. 3A §3.4.4).
    pub cs_base: u64,
    /// Guest CS access rights, VMCS format (L, D).
    pub cs_access_rights: u32,
    /// The CPL (SS.DPL), for the fetch's access rights.
    pub cpl: u8,
}

impl FetchState {
    /// The decoding bitness.
    pub const fn bitness(&self) -> Bitness {
        Bitness::from_cs(self.paging.efer, self.cs_access_rights)
    }

    /// The linear address of the instruction: RIP in 64-bit mode, CS.base + EIP (32 bits)
    /// otherwise (SDM Vol. 3A §3.4).
    pub const fn linear_rip(&self) -> u64 {
        match self.bitness() {
            Bitness::Bits64 => self.rip,
            _ => self.cs_base.wrapping_add(self.rip) & 0xFFFF_FFFF,
        }
    }
}

/// The bytes read at RIP (up to [`MAX_INSTRUCTION_LENGTH`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InstructionBytes {
    bytes: [u8; MAX_INSTRUCTION_LENGTH],
    len: u8,
}

impl InstructionBytes {
    /// The bytes read.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Why an instruction could not be decoded into an [`MmioAccess`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not a valid instruction (#UD on the processor).
    Invalid,
    /// The bytes end before the instruction does.
    Truncated,
    /// A valid instruction this emulation does not handle (e.g. SSE or AVX moves, MOV to a
    /// segment register, ADC, string compares).
    Unsupported(Mnemonic),
    /// The instruction has no memory operand (the guest changed it after it exited).
    NoMemoryOperand(Mnemonic),
    /// The memory operand's width is not 1, 2, 4 or 8 bytes.
    UnsupportedWidth(Mnemonic),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid => f.write_str("invalid instruction"),
            Self::Truncated => f.write_str("instruction bytes end early"),
            Self::Unsupported(m) => write!(f, "{m:?} is not emulated on MMIO"),
            Self::NoMemoryOperand(m) => write!(f, "{m:?} has no memory operand"),
            Self::UnsupportedWidth(m) => {
                write!(f, "{m:?} accesses memory with an unsupported width")
            }
        }
    }
}

/// Why the instruction at RIP could not be fetched and decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError<E> {
    /// Translating RIP (or the next page) failed; a page fault is the one the fetch would
    /// raise.
    Walk(WalkError<E>),
    /// The bytes do not decode into a supported access.
    Decode(DecodeError),
}

impl<E: fmt::Display> fmt::Display for FetchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Walk(e) => write!(f, "fetching the instruction: {e}"),
            Self::Decode(e) => write!(f, "decoding the instruction: {e}"),
        }
    }
}

/// What [`fetch`] read: the bytes, and the error that stopped it at a page boundary before
/// 15 bytes, if any.
pub type Fetched<E> = (InstructionBytes, Option<WalkError<E>>);

/// Reads up to 15 bytes at the guest's RIP through its paging structures, crossing into the
/// next page if needed (SDM Vol. 3A §4.6 rights of an instruction fetch). When the next
/// page cannot be translated the bytes up to the page end are returned with the error;
/// [`fetch_and_decode`] reports it only if the instruction needs those bytes.
pub fn fetch<M: GuestMemoryRead + ?Sized>(
    memory: &M,
    state: &FetchState,
) -> Result<Fetched<M::Error>, WalkError<M::Error>> {
    let mut out = InstructionBytes {
        bytes: [0; MAX_INSTRUCTION_LENGTH],
        len: 0,
    };
    let access = Access::new(AccessKind::Execute, state.cpl);
    let wrap = match state.bitness() {
        Bitness::Bits64 => u64::MAX,
        _ => 0xFFFF_FFFF,
    };
    let start = state.linear_rip();
    let mut done = 0usize;
    while done < MAX_INSTRUCTION_LENGTH {
        let la = start.wrapping_add(done as u64) & wrap;
        let t = match translate(memory, &state.paging, la, access) {
            Ok(t) => t,
            Err(e) if done == 0 => return Err(e),
            Err(e) => return Ok((out, Some(e))),
        };
        let in_page = (0x1000 - (t.gpa.as_u64() & 0xFFF)) as usize;
        let n = in_page.min(MAX_INSTRUCTION_LENGTH - done);
        let buf = &mut out.bytes[done..done + n];
        if let Err(error) = memory.read(t.gpa, buf) {
            let e = WalkError::Memory { gpa: t.gpa, error };
            if done == 0 {
                return Err(e);
            }
            return Ok((out, Some(e)));
        }
        done += n;
        out.len = done as u8;
    }
    Ok((out, None))
}

/// Fetches the instruction at RIP ([`fetch`]) and decodes it ([`decode`]).
pub fn fetch_and_decode<M: GuestMemoryRead + ?Sized>(
    memory: &M,
    state: &FetchState,
) -> Result<MmioAccess, FetchError<M::Error>> {
    let (bytes, rest) = fetch(memory, state).map_err(FetchError::Walk)?;
    match (decode(bytes.as_slice(), state.bitness()), rest) {
        (Err(DecodeError::Truncated), Some(e)) => Err(FetchError::Walk(e)),
        (r, _) => r.map_err(FetchError::Decode),
    }
}

/// Decodes the instruction at the start of `bytes` in `bitness` into the MMIO access it
/// makes. Total: any bytes give an access or a [`DecodeError`].
///
/// Supported (SDM Vol. 2): MOV (ModR/M and moffs forms, register or immediate), MOVZX,
/// MOVSX, MOVSXD, ADD, SUB, AND, OR, XOR, CMP, TEST with a memory operand, XCHG with memory,
/// STOS and MOVS with or without REP. Memory widths 1, 2, 4 and 8.
pub fn decode(bytes: &[u8], bitness: Bitness) -> Result<MmioAccess, DecodeError> {
    let mut decoder = Decoder::try_new(bitness.bits(), bytes, DecoderOptions::NONE)
        .map_err(|_| DecodeError::Invalid)?;
    let insn = decoder.decode();
    match decoder.last_error() {
        DecoderError::None => {}
        DecoderError::NoMoreBytes => return Err(DecodeError::Truncated),
        _ => return Err(DecodeError::Invalid),
    }
    let mnemonic = insn.mnemonic();
    let width = memory_width(insn.memory_size());
    let operation = operation(&insn, mnemonic)?;
    let width = match (width, operation) {
        (Some(w), _) => w,
        // XCHG and the others always name a sized memory operand; this is the fallback for
        // a size iced reports as unknown.
        _ => return Err(DecodeError::UnsupportedWidth(mnemonic)),
    };
    Ok(MmioAccess {
        length: insn.len() as u8,
        width,
        operation,
    })
}

fn operation(insn: &Instruction, mnemonic: Mnemonic) -> Result<MmioOperation, DecodeError> {
    let count = insn.op_count().min(2);
    let kinds = [insn.op_kind(0), insn.op_kind(1)];
    let is_mem = |k: OpKind| k == OpKind::Memory;
    let mem_index = (0..count).find(|&i| is_mem(kinds[i as usize]));
    let string = string_form(insn);
    let other = |i: u32| -> Result<Operand, DecodeError> {
        match insn.op_kind(i) {
            OpKind::Register => register_operand(insn.op_register(i))
                .map(Operand::Register)
                .ok_or(DecodeError::Unsupported(mnemonic)),
            OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64 => Ok(Operand::Immediate(insn.immediate(i))),
            _ => Err(DecodeError::Unsupported(mnemonic)),
        }
    };
    let alu = match mnemonic {
        Mnemonic::Add => Some(AluOp::Add),
        Mnemonic::Sub => Some(AluOp::Sub),
        Mnemonic::And => Some(AluOp::And),
        Mnemonic::Or => Some(AluOp::Or),
        Mnemonic::Xor => Some(AluOp::Xor),
        Mnemonic::Cmp => Some(AluOp::Cmp),
        Mnemonic::Test => Some(AluOp::Test),
        _ => None,
    };
    let two_operands = || -> Result<(u32, u32), DecodeError> {
        match mem_index {
            Some(m) if count == 2 => Ok((m, 1 - m)),
            Some(_) => Err(DecodeError::Unsupported(mnemonic)),
            None => Err(DecodeError::NoMemoryOperand(mnemonic)),
        }
    };
    match mnemonic {
        Mnemonic::Mov | Mnemonic::Movzx | Mnemonic::Movsx | Mnemonic::Movsxd => {
            let (m, o) = two_operands()?;
            let other = other(o)?;
            match (m, other) {
                (0, source) if mnemonic == Mnemonic::Mov => Ok(MmioOperation::Store { source }),
                (1, Operand::Register(destination)) => Ok(MmioOperation::Load {
                    destination,
                    extension: match mnemonic {
                        Mnemonic::Movzx => Extension::Zero,
                        Mnemonic::Movsx | Mnemonic::Movsxd => Extension::Sign,
                        _ => Extension::None,
                    },
                }),
                _ => Err(DecodeError::Unsupported(mnemonic)),
            }
        }
        Mnemonic::Xchg => {
            let (_, o) = two_operands()?;
            match other(o)? {
                Operand::Register(register) => Ok(MmioOperation::Exchange { register }),
                Operand::Immediate(_) => Err(DecodeError::Unsupported(mnemonic)),
            }
        }
        Mnemonic::Stosb | Mnemonic::Stosw | Mnemonic::Stosd | Mnemonic::Stosq => {
            let form = string.ok_or(DecodeError::Unsupported(mnemonic))?;
            let source =
                register_operand(insn.op_register(1)).ok_or(DecodeError::Unsupported(mnemonic))?;
            Ok(MmioOperation::Stos { source, form })
        }
        // MOVSD is also the SSE2 scalar move: only the string form (memory operands at
        // ES:DI and seg:SI) is MOVS.
        Mnemonic::Movsb | Mnemonic::Movsw | Mnemonic::Movsd | Mnemonic::Movsq => {
            match (string, kinds) {
                (
                    Some(form),
                    [
                        _,
                        OpKind::MemorySegSI | OpKind::MemorySegESI | OpKind::MemorySegRSI,
                    ],
                ) => Ok(MmioOperation::Movs { form }),
                _ => Err(DecodeError::Unsupported(mnemonic)),
            }
        }
        _ => match alu {
            Some(op) => {
                let (m, o) = two_operands()?;
                Ok(MmioOperation::Alu {
                    op,
                    memory_destination: m == 0,
                    other: other(o)?,
                })
            }
            None => Err(DecodeError::Unsupported(mnemonic)),
        },
    }
}

/// The string form of a STOS or MOVS: the destination operand's kind gives the address
/// size.
fn string_form(insn: &Instruction) -> Option<StringForm> {
    let address_size = match insn.op_kind(0) {
        OpKind::MemoryESDI => AddressSize::Bits16,
        OpKind::MemoryESEDI => AddressSize::Bits32,
        OpKind::MemoryESRDI => AddressSize::Bits64,
        _ => return None,
    };
    Some(StringForm {
        rep: insn.has_rep_prefix(),
        address_size,
    })
}

/// The width of a memory operand of an integer instruction.
fn memory_width(size: MemorySize) -> Option<u8> {
    match size {
        MemorySize::UInt8 | MemorySize::Int8 => Some(1),
        MemorySize::UInt16 | MemorySize::Int16 => Some(2),
        MemorySize::UInt32 | MemorySize::Int32 => Some(4),
        MemorySize::UInt64 | MemorySize::Int64 => Some(8),
        _ => None,
    }
}

/// The general-purpose register operand `reg` names (SDM Vol. 2A §2.1.5 Table 2-2, §2.2.1.2:
/// AH-BH without REX, SPL-DIL and R8B-R15B with it), `None` for other registers.
pub(crate) fn register_operand(reg: Register) -> Option<RegisterOperand> {
    let r = reg as u32;
    let al = Register::AL as u32;
    let index = r.checked_sub(al)?;
    let (n, part) = match index {
        0..=3 => (index, RegisterPart::Low8),
        4..=7 => (index - 4, RegisterPart::High8),
        8..=19 => (index - 4, RegisterPart::Low8),
        20..=35 => (index - 20, RegisterPart::Low16),
        36..=51 => (index - 36, RegisterPart::Low32),
        52..=67 => (index - 52, RegisterPart::Full64),
        _ => return None,
    };
    Some(RegisterOperand {
        gpr: Gpr::from_bits(n as u8),
        part,
    })
}
