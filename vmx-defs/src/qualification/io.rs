//! Exit qualification for I/O instructions (SDM Vol. 3C §28.2.1, Table 28-5).

use super::{bit, bits};

/// Size of an I/O access (bits 2:0, SDM Vol. 3C Table 28-5): 0 = 1 byte, 1 = 2 bytes,
/// 3 = 4 bytes; other values are not used and decode to [`Reserved`](IoSize::Reserved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoSize {
    /// 1-byte access (0).
    Byte,
    /// 2-byte access (1).
    Word,
    /// 4-byte access (3).
    Dword,
    /// A 3-bit value the SDM does not use (2, 4-7).
    Reserved(u8),
}

impl IoSize {
    /// Decodes the 3-bit field; only the low 3 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn from_bits(value: u8) -> Self {
        match value & 0x7 {
            0 => Self::Byte,
            1 => Self::Word,
            3 => Self::Dword,
            other => Self::Reserved(other),
        }
    }

    /// The access size in bytes (1, 2 or 4), or `None` for a reserved value.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn bytes(self) -> Option<u8> {
        match self {
            Self::Byte => Some(1),
            Self::Word => Some(2),
            Self::Dword => Some(4),
            Self::Reserved(_) => None,
        }
    }
}

/// Direction of an I/O access (bit 3, SDM Vol. 3C Table 28-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoDirection {
    /// OUT / OUTS (0).
    Out,
    /// IN / INS (1).
    In,
}

/// Operand encoding of the port (bit 6, SDM Vol. 3C Table 28-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoOperandEncoding {
    /// Port in DX (0).
    Dx,
    /// Port in an immediate operand (1).
    Immediate,
}

/// Exit qualification of an I/O-instruction VM exit (basic exit reason 30) and of an I/O
/// SMI (reason 5, the I/O instruction that retired just before the SMI), SDM Vol. 3C
/// §28.2.1 Table 28-5 "Exit Qualification for I/O Instructions". Bits 15:7 and 63:32 are
/// not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IoQualification(u64);

super::impl_raw!(IoQualification);

impl IoQualification {
    /// Size of access (bits 2:0, Table 28-5).
    pub const fn size(self) -> IoSize {
        IoSize::from_bits(bits(self.0, 0, 2) as u8)
    }

    /// Direction of the attempted access (bit 3, Table 28-5).
    pub const fn direction(self) -> IoDirection {
        if bit(self.0, 3) {
            IoDirection::In
        } else {
            IoDirection::Out
        }
    }

    /// String instruction, INS or OUTS (bit 4, Table 28-5).
    pub const fn is_string(self) -> bool {
        bit(self.0, 4)
    }

    /// REP prefixed (bit 5, Table 28-5).
    pub const fn is_rep(self) -> bool {
        bit(self.0, 5)
    }

    /// Operand encoding (bit 6, Table 28-5).
    pub const fn operand_encoding(self) -> IoOperandEncoding {
        if bit(self.0, 6) {
            IoOperandEncoding::Immediate
        } else {
            IoOperandEncoding::Dx
        }
    }

    /// Port number, from DX or the immediate operand (bits 31:16, Table 28-5).
    pub const fn port(self) -> u16 {
        bits(self.0, 16, 31) as u16
    }
}
