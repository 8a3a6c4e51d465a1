//! General-purpose register numbers as they appear in exit qualifications and in the
//! VM-exit instruction-information field (SDM Vol. 3C §28.2.1 Tables 28-3 and 28-4, §28.2.5).

use core::fmt;

/// A 64-bit general-purpose register identified by its 4-bit number.
///
/// The encoding is the one used by the exit qualifications for control-register accesses
/// (SDM Vol. 3C Table 28-3, bits 11:8), for MOV DR (Table 28-4, bits 11:8) and by every
/// register field of the VM-exit instruction-information formats (§28.2.5): 0 = RAX,
/// 1 = RCX, 2 = RDX, 3 = RBX, 4 = RSP, 5 = RBP, 6 = RSI, 7 = RDI, 8–15 = R8–R15.
/// All sixteen 4-bit values are defined, so decoding is total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Gpr {
    /// RAX (0).
    Rax = 0,
    /// RCX (1).
    Rcx = 1,
    /// RDX (2).
    Rdx = 2,
    /// RBX (3).
    Rbx = 3,
    /// RSP (4).
    Rsp = 4,
    /// RBP (5).
    Rbp = 5,
    /// RSI (6).
    Rsi = 6,
    /// RDI (7).
    Rdi = 7,
    /// R8 (8).
    R8 = 8,
    /// R9 (9).
    R9 = 9,
    /// R10 (10).
    R10 = 10,
    /// R11 (11).
    R11 = 11,
    /// R12 (12).
    R12 = 12,
    /// R13 (13).
    R13 = 13,
    /// R14 (14).
    R14 = 14,
    /// R15 (15).
    R15 = 15,
}

impl Gpr {
    /// All sixteen registers in encoding order.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const ALL: [Gpr; 16] = [
        Gpr::Rax,
        Gpr::Rcx,
        Gpr::Rdx,
        Gpr::Rbx,
        Gpr::Rsp,
        Gpr::Rbp,
        Gpr::Rsi,
        Gpr::Rdi,
        Gpr::R8,
        Gpr::R9,
        Gpr::R10,
        Gpr::R11,
        Gpr::R12,
        Gpr::R13,
        Gpr::R14,
        Gpr::R15,
    ];

    /// Decodes a register number; only the low 4 bits of `number` are used (the SDM fields
    /// are 4 bits wide), so every input maps to a register.
    pub const fn from_bits(number: u8) -> Gpr {
        match number & 0xF {
            0 => Gpr::Rax,
            1 => Gpr::Rcx,
            2 => Gpr::Rdx,
            3 => Gpr::Rbx,
            4 => Gpr::Rsp,
            5 => Gpr::Rbp,
            6 => Gpr::Rsi,
            7 => Gpr::Rdi,
            8 => Gpr::R8,
            9 => Gpr::R9,
            10 => Gpr::R10,
            11 => Gpr::R11,
            12 => Gpr::R12,
            13 => Gpr::R13,
            14 => Gpr::R14,
            _ => Gpr::R15,
        }
    }

    /// The 4-bit register number (0 = RAX ... 15 = R15).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The register's 64-bit name in lower case, e.g. `"rax"`, `"r15"`.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn name(self) -> &'static str {
        match self {
            Gpr::Rax => "rax",
            Gpr::Rcx => "rcx",
            Gpr::Rdx => "rdx",
            Gpr::Rbx => "rbx",
            Gpr::Rsp => "rsp",
            Gpr::Rbp => "rbp",
            Gpr::Rsi => "rsi",
            Gpr::Rdi => "rdi",
            Gpr::R8 => "r8",
            Gpr::R9 => "r9",
            Gpr::R10 => "r10",
            Gpr::R11 => "r11",
            Gpr::R12 => "r12",
            Gpr::R13 => "r13",
            Gpr::R14 => "r14",
            Gpr::R15 => "r15",
        }
    }
}

impl fmt::Display for Gpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
