//! Decoding the `MOV` instructions the guest uses to access MMIO.
//!
//! An EPT violation reports the guest-physical address and whether the access was a read or
//! a write (SDM Vol. 3C §28.2.1, Table 28-7), but not the value or the register: the
//! hypervisor reads the faulting instruction's bytes and decodes it. This decoder handles the
//! memory forms of `MOV` (SDM Vol. 2B, MOV):
//!
//! | opcode | instruction | access |
//! |---|---|---|
//! | `88 /r` | `MOV r/m8, r8` | store, 1 byte |
//! | `89 /r` | `MOV r/m16/32/64, r16/32/64` | store, 2/4/8 bytes |
//! | `8A /r` | `MOV r8, r/m8` | load, 1 byte |
//! | `8B /r` | `MOV r16/32/64, r/m16/32/64` | load, 2/4/8 bytes |
//! | `C6 /0 ib` | `MOV r/m8, imm8` | store, 1 byte |
//! | `C7 /0 iw/id` | `MOV r/m16/32/64, imm16/32` | store, 2/4/8 bytes (imm32 sign-extended with REX.W) |
//!
//! with the 0x66 operand-size, 0x67 address-size and segment-override prefixes and REX
//! (SDM Vol. 2A §2.1, §2.2.1), and every 64-bit ModR/M + SIB + displacement form (SDM Vol. 2A
//! §2.1.5, Tables 2-2 and 2-3; RIP-relative §2.2.1.6). Anything else is a [`DecodeError`].
//! The decoder is total: any byte string decodes or fails without panicking.

use core::fmt;

pub use vmx_defs::instruction_info::Gpr;

/// The longest legal x86 instruction (SDM Vol. 2A §2.3.11).
pub const MAX_INSTRUCTION_LENGTH: usize = 15;

/// Which part of a general-purpose register an operand names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterPart {
    /// Bits 7:0 (AL, CL, ..., SPL, ..., R15B).
    Low8,
    /// Bits 15:8 (AH, CH, DH, BH: byte registers 4-7 without a REX prefix).
    High8,
    /// Bits 15:0.
    Low16,
    /// Bits 31:0; a write zero-extends into bits 63:32 (SDM Vol. 1 §3.4.1.1).
    Low32,
    /// Bits 63:0.
    Full64,
}

/// A register operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterOperand {
    /// The general-purpose register.
    pub gpr: Gpr,
    /// The part of it.
    pub part: RegisterPart,
}

impl RegisterOperand {
    /// The operand's value, read from the whole register's value `full`.
    pub const fn read(self, full: u64) -> u64 {
        match self.part {
            RegisterPart::Low8 => full & 0xFF,
            RegisterPart::High8 => (full >> 8) & 0xFF,
            RegisterPart::Low16 => full & 0xFFFF,
            RegisterPart::Low32 => full & 0xFFFF_FFFF,
            RegisterPart::Full64 => full,
        }
    }

    /// The whole register's new value after writing `value` to the operand, `old` being its
    /// previous value: 8- and 16-bit writes keep the other bits, 32-bit writes zero-extend.
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
            RegisterPart::Low8 => "low byte of ",
            RegisterPart::High8 => "high byte of ",
            RegisterPart::Low16 => "low word of ",
            RegisterPart::Low32 => "low dword of ",
            RegisterPart::Full64 => "",
        };
        write!(f, "{part}{}", self.gpr.name())
    }
}

/// What the instruction does with memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovKind {
    /// Reads memory into a register.
    Load {
        /// The destination register.
        destination: RegisterOperand,
    },
    /// Writes a register to memory.
    StoreRegister {
        /// The source register.
        source: RegisterOperand,
    },
    /// Writes an immediate to memory (already sign-extended to the access size).
    StoreImmediate {
        /// The value.
        value: u64,
    },
}

/// A decoded memory `MOV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MovInstruction {
    /// Length in bytes (prefixes included): how far to advance RIP.
    pub length: u8,
    /// Size of the memory access in bytes: 1, 2, 4 or 8.
    pub size: u8,
    /// Load or store, and the register or immediate.
    pub kind: MovKind,
}

impl MovInstruction {
    /// Whether the instruction writes memory.
    pub const fn is_store(&self) -> bool {
        !matches!(self.kind, MovKind::Load { .. })
    }
}

/// Why the bytes are not a supported memory `MOV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the instruction does.
    Truncated {
        /// Bytes available.
        available: usize,
    },
    /// More than 15 bytes (SDM Vol. 2A §2.3.11), e.g. a run of prefixes.
    TooLong,
    /// A prefix that a memory `MOV` does not take (LOCK, REP/REPNE).
    UnsupportedPrefix(u8),
    /// Not one of the opcodes in the table above.
    UnsupportedOpcode(u8),
    /// `C6`/`C7` with a ModR/M reg field other than 0 (not `MOV`).
    UnsupportedOpcodeExtension {
        /// The opcode.
        opcode: u8,
        /// The ModR/M reg field.
        reg: u8,
    },
    /// A register-to-register form (ModR/M mod = 11): not a memory access.
    NotAMemoryOperand,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { available } => {
                write!(f, "instruction truncated after {available} bytes")
            }
            Self::TooLong => write!(f, "instruction longer than 15 bytes"),
            Self::UnsupportedPrefix(p) => write!(f, "unsupported prefix {p:#04x}"),
            Self::UnsupportedOpcode(op) => {
                write!(f, "unsupported opcode {op:#04x} (not a memory MOV)")
            }
            Self::UnsupportedOpcodeExtension { opcode, reg } => {
                write!(f, "opcode {opcode:#04x} /{reg} is not MOV")
            }
            Self::NotAMemoryOperand => {
                write!(f, "register form (ModR/M mod = 11), not a memory access")
            }
        }
    }
}

/// A cursor over the instruction bytes.
struct Bytes<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn next(&mut self) -> Result<u8, DecodeError> {
        if self.at >= MAX_INSTRUCTION_LENGTH {
            return Err(DecodeError::TooLong);
        }
        let b = *self.bytes.get(self.at).ok_or(DecodeError::Truncated {
            available: self.bytes.len(),
        })?;
        self.at += 1;
        Ok(b)
    }

    fn skip(&mut self, count: usize) -> Result<(), DecodeError> {
        for _ in 0..count {
            self.next()?;
        }
        Ok(())
    }

    fn immediate(&mut self, size: usize) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for i in 0..size {
            value |= u64::from(self.next()?) << (8 * i);
        }
        Ok(value)
    }
}

/// The byte register `number` (0-15): with any REX prefix 4-7 are SPL, BPL, SIL, DIL;
/// without one they are AH, CH, DH, BH (SDM Vol. 2A §3.1.1.1, Table 3-1 note).
fn byte_register(number: u8, has_rex: bool) -> RegisterOperand {
    if !has_rex && (4..8).contains(&number) {
        RegisterOperand {
            gpr: Gpr::from_bits(number - 4),
            part: RegisterPart::High8,
        }
    } else {
        RegisterOperand {
            gpr: Gpr::from_bits(number),
            part: RegisterPart::Low8,
        }
    }
}

fn sized_register(number: u8, size: u8) -> RegisterOperand {
    let part = match size {
        2 => RegisterPart::Low16,
        4 => RegisterPart::Low32,
        _ => RegisterPart::Full64,
    };
    RegisterOperand {
        gpr: Gpr::from_bits(number),
        part,
    }
}

/// Decodes one memory `MOV` from the start of `bytes` (at most 15 are looked at).
pub fn decode(bytes: &[u8]) -> Result<MovInstruction, DecodeError> {
    let mut cursor = Bytes { bytes, at: 0 };
    let mut operand_size_override = false;
    let mut rex = 0u8;
    let opcode = loop {
        let b = cursor.next()?;
        match b {
            0x66 => operand_size_override = true,
            0x67 | 0x26 | 0x2E | 0x36 | 0x3E | 0x64 | 0x65 => {}
            0xF0 | 0xF2 | 0xF3 => return Err(DecodeError::UnsupportedPrefix(b)),
            0x40..=0x4F => {
                // REX counts only as the last prefix before the opcode (SDM Vol. 2A §2.2.1):
                // keep it, and forget it if another prefix follows.
                rex = b;
                let next = *bytes.get(cursor.at).ok_or(DecodeError::Truncated {
                    available: bytes.len(),
                })?;
                if matches!(
                    next,
                    0x66 | 0x67
                        | 0x26
                        | 0x2E
                        | 0x36
                        | 0x3E
                        | 0x64
                        | 0x65
                        | 0xF0
                        | 0xF2
                        | 0xF3
                        | 0x40..=0x4F
                ) {
                    rex = 0;
                }
            }
            other => break other,
        }
    };
    let has_rex = rex != 0;
    let rex_w = rex & 0x8 != 0;
    let rex_r = (rex >> 2) & 1;
    let wide_size = if rex_w {
        8
    } else if operand_size_override {
        2
    } else {
        4
    };
    let size = match opcode {
        0x88 | 0x8A | 0xC6 => 1,
        0x89 | 0x8B | 0xC7 => wide_size,
        other => return Err(DecodeError::UnsupportedOpcode(other)),
    };

    // ModR/M (SDM Vol. 2A §2.1.5): mod 7:6, reg 5:3, r/m 2:0.
    let modrm = cursor.next()?;
    let mode = modrm >> 6;
    let reg = ((modrm >> 3) & 7) | (rex_r << 3);
    let rm = modrm & 7;
    if mode == 0b11 {
        return Err(DecodeError::NotAMemoryOperand);
    }
    if rm == 0b100 {
        // SIB follows; with mod 00 and base 101 a disp32 replaces the base.
        let sib = cursor.next()?;
        if mode == 0b00 && sib & 7 == 0b101 {
            cursor.skip(4)?;
        }
    }
    match mode {
        0b00 if rm == 0b101 => cursor.skip(4)?, // RIP-relative disp32
        0b01 => cursor.skip(1)?,
        0b10 => cursor.skip(4)?,
        _ => {}
    }

    let kind = match opcode {
        0x88 => MovKind::StoreRegister {
            source: byte_register(reg, has_rex),
        },
        0x8A => MovKind::Load {
            destination: byte_register(reg, has_rex),
        },
        0x89 => MovKind::StoreRegister {
            source: sized_register(reg, size),
        },
        0x8B => MovKind::Load {
            destination: sized_register(reg, size),
        },
        _ => {
            let extension = (modrm >> 3) & 7;
            if extension != 0 {
                return Err(DecodeError::UnsupportedOpcodeExtension {
                    opcode,
                    reg: extension,
                });
            }
            let value = match size {
                1 => cursor.immediate(1)?,
                2 => cursor.immediate(2)?,
                4 => cursor.immediate(4)?,
                // REX.W: imm32 sign-extended to 64 bits.
                _ => cursor.immediate(4)? as u32 as i32 as i64 as u64,
            };
            MovKind::StoreImmediate { value }
        }
    };
    Ok(MovInstruction {
        length: cursor.at as u8,
        size,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reg(gpr: Gpr, part: RegisterPart) -> RegisterOperand {
        RegisterOperand { gpr, part }
    }

    #[test]
    fn decodes_the_guest_forms() {
        // mov ebp, dword ptr [rax]
        assert_eq!(
            decode(&[0x8B, 0x28]),
            Ok(MovInstruction {
                length: 2,
                size: 4,
                kind: MovKind::Load {
                    destination: reg(Gpr::Rbp, RegisterPart::Low32)
                }
            })
        );
        // mov dword ptr [rax], ecx
        assert_eq!(
            decode(&[0x89, 0x08, 0xCC]),
            Ok(MovInstruction {
                length: 2,
                size: 4,
                kind: MovKind::StoreRegister {
                    source: reg(Gpr::Rcx, RegisterPart::Low32)
                }
            })
        );
        // mov r9d, dword ptr [r13 + 0x1]   (41 = REX.B, 44 = REX.R)
        assert_eq!(
            decode(&[0x45, 0x8B, 0x4D, 0x01]),
            Ok(MovInstruction {
                length: 4,
                size: 4,
                kind: MovKind::Load {
                    destination: reg(Gpr::R9, RegisterPart::Low32)
                }
            })
        );
    }

    #[test]
    fn decodes_sizes_prefixes_and_addressing() {
        // mov qword ptr [rsp + 0x10], rdx: REX.W 89 /r, SIB, disp8
        let i = decode(&[0x48, 0x89, 0x54, 0x24, 0x10]).unwrap();
        assert_eq!((i.length, i.size), (5, 8));
        // mov word ptr [rip + 0x1234], ax: 66 89 05 disp32
        let i = decode(&[0x66, 0x89, 0x05, 0x34, 0x12, 0, 0]).unwrap();
        assert_eq!((i.length, i.size), (7, 2));
        assert_eq!(
            i.kind,
            MovKind::StoreRegister {
                source: reg(Gpr::Rax, RegisterPart::Low16)
            }
        );
        // mov ah, byte ptr [rbx]: 8A 23 (no REX: reg 4 is AH)
        assert_eq!(
            decode(&[0x8A, 0x23]).unwrap().kind,
            MovKind::Load {
                destination: reg(Gpr::Rax, RegisterPart::High8)
            }
        );
        // mov spl, byte ptr [rbx]: 40 8A 23 (REX: reg 4 is SPL)
        assert_eq!(
            decode(&[0x40, 0x8A, 0x23]).unwrap().kind,
            MovKind::Load {
                destination: reg(Gpr::Rsp, RegisterPart::Low8)
            }
        );
        // mov dword ptr [disp32], imm32 via SIB with no base: C7 04 25 disp32 imm32
        let i = decode(&[0xC7, 0x04, 0x25, 0, 0, 0xB0, 0xFE, 0x78, 0x56, 0x34, 0x12]).unwrap();
        assert_eq!((i.length, i.size), (11, 4));
        assert_eq!(i.kind, MovKind::StoreImmediate { value: 0x1234_5678 });
        // mov qword ptr [rax + disp32], -1 (imm32 sign-extended): 48 C7 80 disp32 imm32
        let i = decode(&[0x48, 0xC7, 0x80, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
        assert_eq!(i.kind, MovKind::StoreImmediate { value: u64::MAX });
        // mov byte ptr [rax], 0x7F
        let i = decode(&[0xC6, 0x00, 0x7F]).unwrap();
        assert_eq!(
            (i.length, i.size, i.kind),
            (3, 1, MovKind::StoreImmediate { value: 0x7F })
        );
        // A REX followed by another prefix is ignored: 48 66 89 00 is a 16-bit store.
        assert_eq!(decode(&[0x48, 0x66, 0x89, 0x00]).unwrap().size, 2);
        // Segment override and address-size prefixes are accepted.
        assert_eq!(decode(&[0x64, 0x67, 0x8B, 0x00]).unwrap().length, 4);
    }

    #[test]
    fn rejects_what_it_does_not_handle() {
        assert_eq!(decode(&[]), Err(DecodeError::Truncated { available: 0 }));
        assert_eq!(
            decode(&[0x8B]),
            Err(DecodeError::Truncated { available: 1 })
        );
        assert_eq!(decode(&[0x8B, 0xC0]), Err(DecodeError::NotAMemoryOperand));
        assert_eq!(
            decode(&[0x0F, 0xB6, 0x00]),
            Err(DecodeError::UnsupportedOpcode(0x0F))
        );
        assert_eq!(
            decode(&[0xF0, 0x89, 0x00]),
            Err(DecodeError::UnsupportedPrefix(0xF0))
        );
        assert_eq!(
            decode(&[0xC7, 0x08, 0, 0, 0, 0]),
            Err(DecodeError::UnsupportedOpcodeExtension {
                opcode: 0xC7,
                reg: 1
            })
        );
        assert_eq!(decode(&[0x66; 20]), Err(DecodeError::TooLong));
    }

    #[test]
    fn register_parts_read_and_write() {
        let ah = reg(Gpr::Rax, RegisterPart::High8);
        assert_eq!(ah.read(0x1234), 0x12);
        assert_eq!(ah.write(0xFFFF_FFFF_FFFF_FFFF, 0xAB), 0xFFFF_FFFF_FFFF_ABFF);
        let eax = reg(Gpr::Rax, RegisterPart::Low32);
        assert_eq!(eax.write(u64::MAX, 0x1_2345_6789), 0x2345_6789);
        let ax = reg(Gpr::Rax, RegisterPart::Low16);
        assert_eq!(ax.write(u64::MAX, 0x1234), 0xFFFF_FFFF_FFFF_1234);
    }

    proptest! {
        #[test]
        fn never_panics_and_length_is_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            if let Ok(i) = decode(&bytes) {
                prop_assert!(usize::from(i.length) <= bytes.len().min(MAX_INSTRUCTION_LENGTH));
                prop_assert!(matches!(i.size, 1 | 2 | 4 | 8));
            }
        }
    }
}
