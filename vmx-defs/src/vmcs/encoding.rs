//! The 32-bit encoding of a VMCS component (SDM Vol. 3C §25.11.2 "VMREAD, VMWRITE, and
//! Encodings of VMCS Fields", Table 25-21 "Structure of VMCS Component Encoding").

use core::fmt;

/// Mask of bit 12 of an encoding: reserved, must be 0 (SDM Vol. 3C §25.11.2, Table 25-21).
const RESERVED_BIT_12: u32 = 1 << 12;
/// Mask of bits 31:15 of an encoding: reserved, must be 0 (SDM Vol. 3C §25.11.2).
const RESERVED_HIGH_BITS: u32 = !0 << 15;

/// The raw 32-bit encoding of a VMCS component, the operand VMREAD and VMWRITE take
/// (SDM Vol. 3C §25.11.2, Table 25-21).
///
/// | bits | meaning |
/// |---|---|
/// | 0 | access type: 0 = full, 1 = high (only for 64-bit fields) |
/// | 9:1 | index |
/// | 11:10 | type: control, VM-exit information, guest state, host state |
/// | 12 | reserved (must be 0) |
/// | 14:13 | width: 16-bit, 64-bit, 32-bit, natural-width |
/// | 31:15 | reserved (must be 0) |
///
/// Every `u32` is a `VmcsEncoding`; the accessors decode the bit fields of any value
/// without failing, and [`VmcsEncoding::check`] says whether the value is well formed.
/// Its `Display` prints the field name when the encoding is known (see
/// [`lookup`](super::lookup)), and the number otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct VmcsEncoding(pub u32);

/// Width of a VMCS field: encoding bits 14:13 (SDM Vol. 3C §25.11.2, Table 25-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldWidth {
    /// 16-bit field (width 0).
    Bits16,
    /// 64-bit field (width 1); its high 32 bits are also reachable with access type "high".
    Bits64,
    /// 32-bit field (width 2).
    Bits32,
    /// Natural-width field (width 3): 64 bits on processors that support Intel 64
    /// architecture, 32 bits otherwise.
    Natural,
}

impl FieldWidth {
    /// The width from encoding bits 14:13 (only the two low bits of `bits` are used).
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn from_bits(bits: u32) -> Self {
        match bits & 0b11 {
            0 => Self::Bits16,
            1 => Self::Bits64,
            2 => Self::Bits32,
            _ => Self::Natural,
        }
    }

    /// The value of encoding bits 14:13 for this width.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn bits(self) -> u32 {
        match self {
            Self::Bits16 => 0,
            Self::Bits64 => 1,
            Self::Bits32 => 2,
            Self::Natural => 3,
        }
    }
}

/// Type of a VMCS field: encoding bits 11:10 (SDM Vol. 3C §25.11.2, Table 25-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Control field (type 0): VM-execution, VM-exit and VM-entry controls (SDM Vol. 3C
    /// §25.6-§25.8).
    Control,
    /// VM-exit information field (type 1), called "read-only data" in the encoding
    /// tables (SDM Vol. 3C §25.9). Writable with VMWRITE only if IA32_VMX_MISC bit 29 is 1.
    VmExitInformation,
    /// Guest-state field (type 2, SDM Vol. 3C §25.4).
    GuestState,
    /// Host-state field (type 3, SDM Vol. 3C §25.5).
    HostState,
}

impl FieldType {
    /// The type from encoding bits 11:10 (only the two low bits of `bits` are used).
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn from_bits(bits: u32) -> Self {
        match bits & 0b11 {
            0 => Self::Control,
            1 => Self::VmExitInformation,
            2 => Self::GuestState,
            _ => Self::HostState,
        }
    }

    /// The value of encoding bits 11:10 for this type.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn bits(self) -> u32 {
        match self {
            Self::Control => 0,
            Self::VmExitInformation => 1,
            Self::GuestState => 2,
            Self::HostState => 3,
        }
    }
}

/// Access type: encoding bit 0 (SDM Vol. 3C §25.11.2, Table 25-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessType {
    /// Full access (0): the whole field. The only access type of 16-bit, 32-bit and
    /// natural-width fields.
    Full,
    /// High access (1): bits 63:32 of a 64-bit field, read and written as a 32-bit value.
    High,
}

/// Why a raw value is not a well-formed VMCS component encoding (SDM Vol. 3C §25.11.2).
///
/// VMREAD/VMWRITE fail with VM-instruction error 12 ("VMREAD/VMWRITE from/to unsupported
/// VMCS component") on such an encoding, as they do for a well-formed encoding of a
/// field the processor does not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodingError {
    /// Reserved bit 12 or reserved bits 31:15 are set; `bits` holds the offending bits.
    ReservedBitsSet {
        /// The reserved bits that are 1.
        bits: u32,
    },
    /// Access type "high" (bit 0 = 1) on a field whose width is not 64 bits.
    HighAccessToNon64BitField {
        /// The width the encoding names.
        width: FieldWidth,
    },
}

impl fmt::Display for EncodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBitsSet { bits } => {
                write!(f, "reserved bits {bits:#x} set in VMCS field encoding")
            }
            Self::HighAccessToNon64BitField { width } => write!(
                f,
                "high access type on a {width:?} VMCS field (only 64-bit fields have a high part)"
            ),
        }
    }
}

impl core::error::Error for EncodingError {}

impl VmcsEncoding {
    /// The encoding with the given raw value (any value; see [`VmcsEncoding::check`]).
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The encoding with the given raw value, checked to be well formed (reserved bits 31:15
    /// and 12 clear, high access only on a 64-bit field; SDM Vol. 3C §25.11.2): the checked
    /// counterpart of [`VmcsEncoding::from_raw`], the same as `from_raw(raw).check()`.
    pub const fn new(raw: u32) -> Result<Self, EncodingError> {
        Self(raw).check()
    }

    /// Builds a well-formed encoding from its parts (SDM Vol. 3C §25.11.2, Table 25-21).
    ///
    /// `index` must fit in 9 bits and `access` may be [`AccessType::High`] only for a
    /// 64-bit `width`.
    pub const fn compose(
        width: FieldWidth,
        field_type: FieldType,
        index: u16,
        access: AccessType,
    ) -> Result<Self, ComposeError> {
        if index > 0x1FF {
            return Err(ComposeError::IndexTooLarge { index });
        }
        let high = matches!(access, AccessType::High);
        if high && !matches!(width, FieldWidth::Bits64) {
            return Err(ComposeError::Encoding(
                EncodingError::HighAccessToNon64BitField { width },
            ));
        }
        Ok(Self(
            (width.bits() << 13) | (field_type.bits() << 10) | ((index as u32) << 1) | high as u32,
        ))
    }

    /// The raw 32-bit value.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Access type, bit 0.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn access_type(self) -> AccessType {
        if self.0 & 1 == 0 {
            AccessType::Full
        } else {
            AccessType::High
        }
    }

    /// Index, bits 9:1.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn index(self) -> u16 {
        ((self.0 >> 1) & 0x1FF) as u16
    }

    /// Type, bits 11:10.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn field_type(self) -> FieldType {
        FieldType::from_bits(self.0 >> 10)
    }

    /// Width, bits 14:13.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn width(self) -> FieldWidth {
        FieldWidth::from_bits(self.0 >> 13)
    }

    /// Whether the field is a VM-exit information field ("read-only data", type 1):
    /// VMWRITE to it fails unless IA32_VMX_MISC bit 29 is 1 (SDM Vol. 3C §25.11.2,
    /// SDM Vol. 3D §A.6).
    pub const fn is_read_only(self) -> bool {
        matches!(self.field_type(), FieldType::VmExitInformation)
    }

    /// The reserved bits (12 and 31:15) that are set; 0 for a well-formed encoding.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn reserved_bits(self) -> u32 {
        self.0 & (RESERVED_BIT_12 | RESERVED_HIGH_BITS)
    }

    /// Checks that the encoding is well formed: reserved bits clear and access type
    /// "high" only for a 64-bit width (SDM Vol. 3C §25.11.2). A well-formed encoding
    /// may still name a field that no processor (or this one) supports.
    pub const fn check(self) -> Result<Self, EncodingError> {
        let bits = self.reserved_bits();
        if bits != 0 {
            return Err(EncodingError::ReservedBitsSet { bits });
        }
        if matches!(self.access_type(), AccessType::High)
            && !matches!(self.width(), FieldWidth::Bits64)
        {
            return Err(EncodingError::HighAccessToNon64BitField {
                width: self.width(),
            });
        }
        Ok(self)
    }

    /// Whether [`VmcsEncoding::check`] succeeds.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn is_valid(self) -> bool {
        self.check().is_ok()
    }

    /// The encoding of the high 32 bits of this field, if it is a 64-bit field accessed
    /// in full (SDM Vol. 3C §25.11.2); `None` otherwise.
    pub const fn high(self) -> Option<Self> {
        if matches!(self.width(), FieldWidth::Bits64)
            && matches!(self.access_type(), AccessType::Full)
        {
            Some(Self(self.0 | 1))
        } else {
            None
        }
    }

    /// The encoding of the whole field: access type bit 0 cleared.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn full(self) -> Self {
        Self(self.0 & !1)
    }
}

/// Why [`VmcsEncoding::compose`] refused its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
///
/// SDM Vol. 3C §25.11.2.
pub enum ComposeError {
    /// The index does not fit in the 9 bits of encoding bits 9:1.
    IndexTooLarge {
        /// The index given.
        index: u16,
    },
    /// The parts form an ill-formed encoding.
    Encoding(EncodingError),
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IndexTooLarge { index } => {
                write!(f, "VMCS field index {index} does not fit in 9 bits")
            }
            Self::Encoding(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ComposeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Encoding(e) => Some(e),
            Self::IndexTooLarge { .. } => None,
        }
    }
}

impl From<u32> for VmcsEncoding {
    fn from(raw: u32) -> Self {
        Self(raw)
    }
}

impl From<VmcsEncoding> for u32 {
    fn from(encoding: VmcsEncoding) -> Self {
        encoding.0
    }
}

impl fmt::Display for VmcsEncoding {
    /// Prints the field name (`GUEST_RIP`), with `_HIGH` for the high access of a 64-bit
    /// field, or `VMCS field 0x....` when the encoding is not a known field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match super::lookup(self.full().0) {
            Some(info)
                if matches!(self.access_type(), AccessType::High)
                    && matches!(self.width(), FieldWidth::Bits64) =>
            {
                write!(f, "{}_HIGH", info.name)
            }
            Some(info) if info.encoding.0 == self.0 => f.write_str(info.name),
            _ => write!(f, "VMCS field {:#06x}", self.0),
        }
    }
}
