//! IA32_VMX_BASIC (MSR 0x480), SDM Vol. 3D §A.1, "Basic VMX Information".

use core::fmt;

use crate::memory_type::MemoryType;

/// IA32_VMX_BASIC (MSR 0x480): VMCS revision, region size and basic VMX properties
/// (SDM Vol. 3D §A.1).
///
/// Every `u64` decodes ([`VmxBasic::from`] is total); [`VmxBasic::check`] reports values that
/// break the SDM's contract for this MSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmxBasic(pub u64);

impl From<u64> for VmxBasic {
    fn from(raw: u64) -> Self {
        Self(raw)
    }
}

impl VmxBasic {
    /// Wraps the MSR value (total: every value is kept exactly; the same as `From<u64>`).
    ///
    /// SDM Vol. 3D §A.1.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The largest VMXON/VMCS region size the SDM allows (bit 44 set, bits 43:32 clear).
    pub const MAX_REGION_SIZE: u32 = 4096;

    /// The raw MSR value.
    ///
    /// SDM Vol. 3D §A.1.
    pub const fn raw(self) -> u64 {
        self.0
    }

    const fn bit(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }

    /// Bits 30:0: the VMCS revision identifier software writes into the first 31 bits of
    /// the VMXON region and of every VMCS region (SDM Vol. 3C §25.2, §25.11.5).
    pub const fn revision_id(self) -> u32 {
        (self.0 & 0x7fff_ffff) as u32
    }

    /// Bits 44:32: the number of bytes to allocate for the VMXON region and each VMCS region;
    /// the SDM guarantees 1..=4096 (bit 44 is set if and only if bits 43:32 are clear, which
    /// reads as 4096). [`VmxBasic::check`] reports values outside that range.
    pub const fn region_size(self) -> u32 {
        ((self.0 >> 32) & 0x1fff) as u32
    }

    /// Bit 48: if 1, the physical addresses of the VMXON region, VMCS regions and every
    /// structure referenced from a VMCS are limited to 32 bits. Always 0 on processors that
    /// support Intel 64.
    ///
    /// SDM Vol. 3D §A.1.
    pub const fn addresses_limited_to_32_bits(self) -> bool {
        self.bit(48)
    }

    /// The highest physical address the VMX structures may use given bit 48: `u32::MAX` when
    /// it is set, `u64::MAX` otherwise (the processor's physical-address width still applies).
    ///
    /// SDM Vol. 3D §A.1.
    pub const fn max_structure_address(self) -> u64 {
        if self.addresses_limited_to_32_bits() {
            u32::MAX as u64
        } else {
            u64::MAX
        }
    }

    /// Bit 49: the dual-monitor treatment of SMIs and SMM is supported (SDM Vol. 3C, "Dual-Monitor Treatment of SMIs and SMM").
    pub const fn dual_monitor_smm(self) -> bool {
        self.bit(49)
    }

    /// Bits 53:50: the memory type the processor uses to access the VMCS, the data structures
    /// it references and the MSEG header. The SDM uses 0 (UC) and 6 (WB); other values are
    /// reserved and reported by [`VmxBasic::check`].
    pub const fn memory_type(self) -> MemoryType {
        MemoryType(((self.0 >> 50) & 0xf) as u8)
    }

    /// Bit 54: VM exits caused by INS and OUTS report instruction information in the
    /// VM-exit instruction-information field (SDM Vol. 3C §28.2.5).
    pub const fn ins_outs_info(self) -> bool {
        self.bit(54)
    }

    /// Bit 55: any default1 VM-execution, VM-exit or VM-entry control may be 0 where the
    /// IA32_VMX_TRUE_*_CTLS MSRs (0x48D-0x490) say so, and those MSRs exist (SDM Vol. 3D §A.2).
    pub const fn true_controls(self) -> bool {
        self.bit(55)
    }

    /// Bit 56: VM entry may deliver a hardware exception with or without an error code
    /// whatever its vector: the "deliver error code" consistency check on the VM-entry
    /// interruption-information field is relaxed (SDM Vol. 3C §27.2.1.3).
    pub const fn no_hw_error_code_check(self) -> bool {
        self.bit(56)
    }

    /// Bit 58: VMX nested-exception support (used with FRED: the "nested exception" bit of
    /// the event-injection and IDT-vectoring fields).
    ///
    /// SDM Vol. 3D §A.1.
    pub const fn nested_exception(self) -> bool {
        self.bit(58)
    }

    /// Checks this value against the SDM's contract (Vol. 3D §A.1): bit 31 clear, region size
    /// in 1..=4096, memory type UC or WB. The first violation found is returned.
    pub const fn check(self) -> Result<(), VmxBasicError> {
        if self.bit(31) {
            return Err(VmxBasicError::Bit31Set);
        }
        let size = self.region_size();
        if size == 0 || size > Self::MAX_REGION_SIZE {
            return Err(VmxBasicError::InvalidRegionSize(size));
        }
        let mt = self.memory_type();
        if mt.0 != MemoryType::UNCACHEABLE.0 && mt.0 != MemoryType::WRITE_BACK.0 {
            return Err(VmxBasicError::InvalidMemoryType(mt));
        }
        Ok(())
    }
}

/// A malformed IA32_VMX_BASIC value (SDM Vol. 3D §A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VmxBasicError {
    /// Bit 31 is 1; the SDM guarantees it is 0 (bit 31 of a VMCS revision dword is the
    /// shadow-VMCS indicator).
    Bit31Set,
    /// Bits 44:32 hold a region size of 0 or above 4096 bytes.
    InvalidRegionSize(u32),
    /// Bits 53:50 hold a memory type other than UC (0) or WB (6).
    InvalidMemoryType(MemoryType),
}

impl fmt::Display for VmxBasicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bit31Set => f.write_str("IA32_VMX_BASIC: bit 31 is set (must be 0)"),
            Self::InvalidRegionSize(s) => write!(
                f,
                "IA32_VMX_BASIC: VMXON/VMCS region size {s} is outside 1..=4096 bytes"
            ),
            Self::InvalidMemoryType(mt) => write!(
                f,
                "IA32_VMX_BASIC: VMCS memory type {mt} is neither UC (0) nor WB (6)"
            ),
        }
    }
}

impl core::error::Error for VmxBasicError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_skylake_value_decodes() {
        // corei7_skylake_x, ../shared/bochs/models.tsv
        let b = VmxBasic::from(0x00d8_1000_0000_002b);
        assert_eq!(b.revision_id(), 0x2b);
        assert_eq!(b.region_size(), 4096);
        assert_eq!(b.memory_type(), MemoryType::WRITE_BACK);
        assert!(b.ins_outs_info() && b.true_controls());
        assert!(!b.no_hw_error_code_check() && !b.nested_exception());
        assert!(!b.addresses_limited_to_32_bits() && !b.dual_monitor_smm());
        assert_eq!(b.check(), Ok(()));
    }

    #[test]
    fn malformed_values_are_reported() {
        let good = 0x00d8_1000_0000_002b_u64;
        assert_eq!(
            VmxBasic(good | 1 << 31).check(),
            Err(VmxBasicError::Bit31Set)
        );
        let no_size = good & !(0x1fff << 32);
        assert_eq!(
            VmxBasic(no_size).check(),
            Err(VmxBasicError::InvalidRegionSize(0))
        );
        assert_eq!(
            VmxBasic(no_size | 0x1001 << 32).check(),
            Err(VmxBasicError::InvalidRegionSize(4097))
        );
        assert_eq!(VmxBasic(no_size | 0x400 << 32).check(), Ok(()));
        let wt = (good & !(0xf << 50)) | 4 << 50;
        assert_eq!(
            VmxBasic(wt).check(),
            Err(VmxBasicError::InvalidMemoryType(MemoryType::WRITE_THROUGH))
        );
    }

    #[test]
    fn limited_addresses() {
        assert_eq!(VmxBasic(1 << 48).max_structure_address(), 0xffff_ffff);
        assert_eq!(VmxBasic(0).max_structure_address(), u64::MAX);
    }
}
