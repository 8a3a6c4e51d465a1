//! Segment-register numbers of the VM-exit instruction-information field
//! (SDM Vol. 3C §28.2.5, "Segment register" fields, bits 17:15).

/// The segment register of a memory operand, as reported in bits 17:15 of the VM-exit
/// instruction-information field (SDM Vol. 3C §28.2.5): 0 = ES, 1 = CS, 2 = SS, 3 = DS,
/// 4 = FS, 5 = GS; values 6 and 7 are not used by the SDM and decode to [`Reserved`].
///
/// [`Reserved`]: SegmentRegister::Reserved
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentRegister {
    /// ES (0).
    Es,
    /// CS (1).
    Cs,
    /// SS (2).
    Ss,
    /// DS (3).
    Ds,
    /// FS (4).
    Fs,
    /// GS (5).
    Gs,
    /// A 3-bit value the SDM does not use (6 or 7).
    Reserved(u8),
}

impl SegmentRegister {
    /// Decodes the 3-bit field; only the low 3 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn from_bits(value: u8) -> SegmentRegister {
        match value & 0x7 {
            0 => SegmentRegister::Es,
            1 => SegmentRegister::Cs,
            2 => SegmentRegister::Ss,
            3 => SegmentRegister::Ds,
            4 => SegmentRegister::Fs,
            5 => SegmentRegister::Gs,
            other => SegmentRegister::Reserved(other),
        }
    }

    /// The 3-bit encoding.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn bits(self) -> u8 {
        match self {
            SegmentRegister::Es => 0,
            SegmentRegister::Cs => 1,
            SegmentRegister::Ss => 2,
            SegmentRegister::Ds => 3,
            SegmentRegister::Fs => 4,
            SegmentRegister::Gs => 5,
            SegmentRegister::Reserved(v) => v,
        }
    }

    /// The register's name (`"es"` ... `"gs"`), or `None` for a reserved value.
    ///
    /// SDM Vol. 3C §28.2.5.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            SegmentRegister::Es => Some("es"),
            SegmentRegister::Cs => Some("cs"),
            SegmentRegister::Ss => Some("ss"),
            SegmentRegister::Ds => Some("ds"),
            SegmentRegister::Fs => Some("fs"),
            SegmentRegister::Gs => Some("gs"),
            SegmentRegister::Reserved(_) => None,
        }
    }
}
