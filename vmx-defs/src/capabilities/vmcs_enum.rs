//! IA32_VMX_VMCS_ENUM (MSR 0x48A), SDM Vol. 3D §A.9, "VMCS Enumeration".

/// IA32_VMX_VMCS_ENUM (MSR 0x48A): the highest index value used in any VMCS field encoding
/// supported by the processor (SDM Vol. 3D §A.9).
///
/// Bits 9:1 hold the index (the index occupies bits 9:1 of a field encoding, SDM Vol. 3C
/// §25.11.2); bit 0 and bits 63:10 are reserved and kept in [`VmcsEnum::raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmcsEnum(pub u64);

impl From<u64> for VmcsEnum {
    fn from(raw: u64) -> Self {
        Self(raw)
    }
}

impl VmcsEnum {
    /// Wraps the MSR value (total: every value is kept exactly; the same as `From<u64>`).
    ///
    /// SDM Vol. 3D Appendix B.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw MSR value.
    ///
    /// SDM Vol. 3D Appendix B.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Bits 9:1: the highest index value of any supported VMCS field encoding.
    ///
    /// SDM Vol. 3D Appendix B.
    pub const fn highest_index(self) -> u16 {
        ((self.0 >> 1) & 0x1ff) as u16
    }

    /// Whether a field encoding's index (bits 9:1 of the encoding) is within the enumerated
    /// range. A field whose index exceeds it is not supported; one within it may still be
    /// unsupported (existence also depends on the controls, SDM Vol. 3D Appendix B).
    pub const fn index_in_range(self, encoding: u32) -> bool {
        ((encoding >> 1) & 0x1ff) as u16 <= self.highest_index()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_skylake_value() {
        // corei7_skylake_x VMCS_ENUM 0x34, ../shared/bochs/models.tsv
        let e = VmcsEnum::from(0x34);
        assert_eq!(e.highest_index(), 0x1a);
        // 0x2034 (index 0x1a) in range; 0x2036 (index 0x1b) not.
        assert!(e.index_in_range(0x2034));
        assert!(!e.index_in_range(0x2036));
        assert_eq!(VmcsEnum(!0).highest_index(), 0x1ff);
    }
}
