//! Segment access rights in VMCS format (SDM Vol. 3C §25.4.1, Table 25-2 "Format of
//! Access Rights"; VM-entry checks §27.3.1.2).

use core::fmt;

/// A descriptor privilege level (ring 0-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
///
/// SDM Vol. 3C §25.4.1.
pub enum PrivilegeLevel {
    /// Ring 0 (most privileged).
    Ring0 = 0,
    /// Ring 1.
    Ring1 = 1,
    /// Ring 2.
    Ring2 = 2,
    /// Ring 3 (user).
    Ring3 = 3,
}

impl PrivilegeLevel {
    /// Decodes the low two bits of `bits` (total).
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 3 {
            0 => Self::Ring0,
            1 => Self::Ring1,
            2 => Self::Ring2,
            _ => Self::Ring3,
        }
    }

    /// The 2-bit value.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn bits(self) -> u8 {
        self as u8
    }
}

/// The access rights of a guest segment register as the VMCS holds them (SDM Vol. 3C
/// §25.4.1, Table 25-2).
///
/// Bits: 3:0 segment type; 4 S (descriptor type: 0 system, 1 code or data); 6:5 DPL;
/// 7 P (present); 11:8 reserved; 12 AVL; 13 L (64-bit code segment); 14 D/B (default
/// operation size); 15 G (granularity); 16 segment unusable; 31:17 reserved. This is bits
/// 47:40 and 55:52 of a segment descriptor, plus the unusable bit. Every `u32` decodes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SegmentAccessRights(u32);

impl SegmentAccessRights {
    const S: u32 = 1 << 4;
    const P: u32 = 1 << 7;
    const AVL: u32 = 1 << 12;
    const L: u32 = 1 << 13;
    const DB: u32 = 1 << 14;
    const G: u32 = 1 << 15;
    const UNUSABLE_BIT: u32 = 1 << 16;
    /// Reserved bits: 11:8 and 31:17 (must be 0 for a usable segment, §27.3.1.2).
    pub const RESERVED: u32 = 0xfffe_0f00;

    /// Segment type 3: read/write data, accessed.
    const TYPE_DATA_RW_ACCESSED: u32 = 0x3;
    /// Segment type 11: execute/read code, accessed.
    const TYPE_CODE_XR_ACCESSED: u32 = 0xb;
    /// System type 2: LDT.
    const TYPE_LDT: u32 = 0x2;
    /// System type 11: busy 32-bit TSS (busy 64-bit TSS in IA-32e mode).
    const TYPE_TSS_BUSY: u32 = 0xb;
    /// System type 3: busy 16-bit TSS.
    const TYPE_TSS16_BUSY: u32 = 0x3;

    const fn dpl_bits(dpl: PrivilegeLevel) -> u32 {
        (dpl as u32) << 5
    }

    /// A present 64-bit code segment (type 11 execute/read accessed, S, L, G) at `dpl`:
    /// `0xa09b` at ring 0. D/B is 0 as required with L = 1.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn code64(dpl: PrivilegeLevel) -> Self {
        Self(
            Self::TYPE_CODE_XR_ACCESSED
                | Self::S
                | Self::dpl_bits(dpl)
                | Self::P
                | Self::L
                | Self::G,
        )
    }

    /// A present 32-bit flat code segment (type 11, S, D, G) at `dpl`: `0xc09b` at ring 0.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn code32(dpl: PrivilegeLevel) -> Self {
        Self(
            Self::TYPE_CODE_XR_ACCESSED
                | Self::S
                | Self::dpl_bits(dpl)
                | Self::P
                | Self::DB
                | Self::G,
        )
    }

    /// A present flat read/write data segment (type 3 accessed, S, B, G) at `dpl`:
    /// `0xc093` at ring 0. Also valid for SS (type 3 is writable).
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn data(dpl: PrivilegeLevel) -> Self {
        Self(
            Self::TYPE_DATA_RW_ACCESSED
                | Self::S
                | Self::dpl_bits(dpl)
                | Self::P
                | Self::DB
                | Self::G,
        )
    }

    /// A present busy 32-bit/64-bit TSS (system type 11, byte granular): `0x8b`. VM entry
    /// requires TR to be a busy TSS (§27.3.1.2).
    pub const fn tss_busy() -> Self {
        Self(Self::TYPE_TSS_BUSY | Self::P)
    }

    /// A present busy 16-bit TSS (system type 3): `0x83`; allowed for TR only outside
    /// IA-32e mode.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn tss16_busy() -> Self {
        Self(Self::TYPE_TSS16_BUSY | Self::P)
    }

    /// A present LDT (system type 2): `0x82`.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn ldtr() -> Self {
        Self(Self::TYPE_LDT | Self::P)
    }

    /// An unusable segment (bit 16 set, everything else 0): `0x10000`. Used for a null
    /// selector in ES, DS, FS, GS, SS or LDTR (§25.4.1).
    pub const fn unusable() -> Self {
        Self(Self::UNUSABLE_BIT)
    }

    /// A virtual-8086-mode segment (type 3, S, DPL 3, P): `0xf3`, the only value VM entry
    /// accepts when guest RFLAGS.VM = 1 (§27.3.1.2).
    pub const fn virtual_8086() -> Self {
        Self(
            Self::TYPE_DATA_RW_ACCESSED | Self::S | Self::dpl_bits(PrivilegeLevel::Ring3) | Self::P,
        )
    }

    /// A real-mode code segment for an unrestricted guest (type 11, S, P, 16-bit): `0x9b`.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn real_mode_code() -> Self {
        Self(Self::TYPE_CODE_XR_ACCESSED | Self::S | Self::P)
    }

    /// A real-mode data segment for an unrestricted guest (type 3, S, P, 16-bit): `0x93`.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn real_mode_data() -> Self {
        Self(Self::TYPE_DATA_RW_ACCESSED | Self::S | Self::P)
    }

    /// The access rights of a segment descriptor (its bits 47:40 and 55:52), usable.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn from_descriptor(descriptor: u64) -> Self {
        Self(((descriptor >> 40) as u32) & 0xf0ff)
    }

    /// Any raw value, kept exactly (total).
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw field value.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Bits 3:0: the segment type.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn segment_type(self) -> u8 {
        (self.0 & 0xf) as u8
    }

    /// Bit 4 (S): a code or data segment (`false`: a system segment such as a TSS or LDT).
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn is_code_or_data(self) -> bool {
        self.0 & Self::S != 0
    }

    /// Whether this is a code segment (S = 1 and type bit 3 set).
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn is_code(self) -> bool {
        self.is_code_or_data() && self.0 & 0x8 != 0
    }

    /// Bits 6:5: the descriptor privilege level.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn dpl(self) -> PrivilegeLevel {
        PrivilegeLevel::from_bits((self.0 >> 5) as u8)
    }

    /// Bit 7 (P): present.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn present(self) -> bool {
        self.0 & Self::P != 0
    }

    /// Bit 12: available for use by system software.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn available(self) -> bool {
        self.0 & Self::AVL != 0
    }

    /// Bit 13 (L): 64-bit code segment.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn long_mode(self) -> bool {
        self.0 & Self::L != 0
    }

    /// Bit 14 (D/B): default operation size 32 bits (code) or big (stack, expand-down).
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn default_big(self) -> bool {
        self.0 & Self::DB != 0
    }

    /// Bit 15 (G): limit in 4-KByte units.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn granularity(self) -> bool {
        self.0 & Self::G != 0
    }

    /// Bit 16: the segment is unusable (loaded with a null selector, or invalid).
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn is_unusable(self) -> bool {
        self.0 & Self::UNUSABLE_BIT != 0
    }

    /// The reserved bits (11:8, 31:17) that are set.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn reserved_bits(self) -> u32 {
        self.0 & Self::RESERVED
    }

    /// This value with the DPL replaced.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn with_dpl(self, dpl: PrivilegeLevel) -> Self {
        Self((self.0 & !(3 << 5)) | Self::dpl_bits(dpl))
    }

    /// This value with the AVL bit set or cleared.
    ///
    /// SDM Vol. 3C §25.4.1.
    pub const fn with_available(self, avl: bool) -> Self {
        if avl {
            Self(self.0 | Self::AVL)
        } else {
            Self(self.0 & !Self::AVL)
        }
    }
}

impl From<SegmentAccessRights> for u32 {
    fn from(ar: SegmentAccessRights) -> Self {
        ar.0
    }
}

impl fmt::Debug for SegmentAccessRights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unusable() {
            return write!(f, "SegmentAccessRights(unusable, {:#x})", self.0);
        }
        f.debug_struct("SegmentAccessRights")
            .field("type", &self.segment_type())
            .field("s", &self.is_code_or_data())
            .field("dpl", &self.dpl().bits())
            .field("p", &self.present())
            .field("avl", &self.available())
            .field("l", &self.long_mode())
            .field("db", &self.default_big())
            .field("g", &self.granularity())
            .finish()
    }
}
