//! The MTRR MSRs and their fields (SDM Vol. 3A §12.11.1, §12.11.2; Vol. 4 Table 2-2).

use vmx_defs::memory_type::MemoryType;

/// IA32_MTRRCAP (read-only): number of variable ranges and supported features (SDM Vol. 3A
/// §12.11.1; Vol. 4 Table 2-2).
pub const IA32_MTRRCAP: u32 = 0xfe;
/// IA32_MTRR_DEF_TYPE: default memory type and the enable flags (SDM Vol. 3A §12.11.2.1;
/// Vol. 4 Table 2-2).
pub const IA32_MTRR_DEF_TYPE: u32 = 0x2ff;
/// IA32_MTRR_PHYSBASE0; PHYSBASEn is `IA32_MTRR_PHYSBASE0 + 2 * n` (SDM Vol. 3A §12.11.2.3;
/// Vol. 4 Table 2-2).
pub const IA32_MTRR_PHYSBASE0: u32 = 0x200;
/// IA32_MTRR_PHYSMASK0; PHYSMASKn is `IA32_MTRR_PHYSMASK0 + 2 * n` (SDM Vol. 3A §12.11.2.3;
/// Vol. 4 Table 2-2).
pub const IA32_MTRR_PHYSMASK0: u32 = 0x201;

/// The 11 fixed-range MTRRs in address order (SDM Vol. 3A §12.11.2.2, Table 12-9):
/// MTRRfix64K_00000, MTRRfix16K_80000, MTRRfix16K_A0000, MTRRfix4K_C0000 ...
/// MTRRfix4K_F8000.
pub const FIXED_RANGE_MSRS: [u32; 11] = [
    0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
];

/// IA32_MTRRCAP (SDM Vol. 3A §12.11.1, Figure 12-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MtrrCap(pub u64);

impl MtrrCap {
    /// Bits 7:0 (VCNT): the number of variable ranges.
    pub const fn variable_count(self) -> u8 {
        self.0 as u8
    }
    /// Bit 8 (FIX): the fixed-range MTRRs are supported.
    pub const fn fixed_supported(self) -> bool {
        self.0 & (1 << 8) != 0
    }
    /// Bit 10 (WC): the write-combining memory type is supported.
    pub const fn write_combining_supported(self) -> bool {
        self.0 & (1 << 10) != 0
    }
    /// Bit 11 (SMRR): the system-management range register is supported.
    pub const fn smrr_supported(self) -> bool {
        self.0 & (1 << 11) != 0
    }
}

/// IA32_MTRR_DEF_TYPE (SDM Vol. 3A §12.11.2.1, Figure 12-6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MtrrDefType(pub u64);

impl MtrrDefType {
    /// Bits 7:0 (Type): the memory type of memory no MTRR covers.
    pub const fn default_type(self) -> MemoryType {
        MemoryType(self.0 as u8)
    }
    /// Bit 10 (FE): the fixed-range MTRRs are enabled (when E is also set).
    pub const fn fixed_enabled(self) -> bool {
        self.0 & (1 << 10) != 0
    }
    /// Bit 11 (E): the MTRRs are enabled; clear means all memory is UC.
    pub const fn enabled(self) -> bool {
        self.0 & (1 << 11) != 0
    }
}

/// One variable-range MTRR pair, IA32_MTRR_PHYSBASEn and IA32_MTRR_PHYSMASKn
/// (SDM Vol. 3A §12.11.2.3, Figure 12-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct VariableMtrr {
    /// IA32_MTRR_PHYSBASEn: bits 7:0 type, bits MAXPHYADDR-1:12 PhysBase.
    pub base: u64,
    /// IA32_MTRR_PHYSMASKn: bit 11 valid, bits MAXPHYADDR-1:12 PhysMask.
    pub mask: u64,
}

impl VariableMtrr {
    /// PHYSBASE bits 7:0: the memory type of the range.
    pub const fn memory_type(self) -> MemoryType {
        MemoryType(self.base as u8)
    }
    /// PHYSMASK bit 11 (V): the pair is in use.
    pub const fn valid(self) -> bool {
        self.mask & (1 << 11) != 0
    }
    /// Whether `addr` is in the range: `addr & PhysMask == PhysBase & PhysMask`, over the
    /// address bits below `phys_addr_width` (SDM Vol. 3A §12.11.3).
    pub const fn contains(self, addr: u64, phys_addr_width: u8) -> bool {
        let m = self.effective_mask(phys_addr_width);
        self.valid() && addr & m == self.base & m
    }
    /// PhysMask restricted to bits MAXPHYADDR-1:12.
    pub const fn effective_mask(self, phys_addr_width: u8) -> u64 {
        self.mask & width_mask(phys_addr_width) & !0xfff
    }
}

/// Bits `width-1:0`.
pub(crate) const fn width_mask(width: u8) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}
