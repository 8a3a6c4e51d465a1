//! IA32_VMX_EPT_VPID_CAP (MSR 0x48C), SDM Vol. 3D §A.10.

use crate::memory_type::MemoryType;

bitflags::bitflags! {
    /// IA32_VMX_EPT_VPID_CAP (MSR 0x48C): EPT and VPID capabilities (SDM Vol. 3D §A.10).
    ///
    /// The MSR exists only if the "enable EPT" or "enable VPID" secondary control may be 1.
    /// Bits 53:48 (maximum HLAT prefix size) are a number, read with
    /// [`EptVpidCap::max_hlat_prefix_size`]; unknown bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct EptVpidCap: u64 {
        /// Bit 0: execute-only EPT translations are supported.
        const EXECUTE_ONLY = 1 << 0;
        /// Bit 6: a page-walk length of 4 is supported.
        const PAGE_WALK_4 = 1 << 6;
        /// Bit 7: a page-walk length of 5 is supported.
        const PAGE_WALK_5 = 1 << 7;
        /// Bit 8: the EPT paging-structure memory type may be uncacheable (UC).
        const MEMORY_TYPE_UC = 1 << 8;
        /// Bit 14: the EPT paging-structure memory type may be write-back (WB).
        const MEMORY_TYPE_WB = 1 << 14;
        /// Bit 16: 2-MByte EPT pages (PDE bit 7) are supported.
        const PAGE_2M = 1 << 16;
        /// Bit 17: 1-GByte EPT pages (PDPTE bit 7) are supported.
        const PAGE_1G = 1 << 17;
        /// Bit 20: the INVEPT instruction is supported.
        const INVEPT = 1 << 20;
        /// Bit 21: accessed and dirty flags for EPT are supported.
        const ACCESSED_DIRTY = 1 << 21;
        /// Bit 22: advanced VM-exit information for EPT violations is reported.
        const ADVANCED_EXIT_INFO = 1 << 22;
        /// Bit 23: the supervisor shadow-stack control (EPTP bit 7) is supported.
        const SUPERVISOR_SHADOW_STACK = 1 << 23;
        /// Bit 25: single-context INVEPT is supported.
        const INVEPT_SINGLE_CONTEXT = 1 << 25;
        /// Bit 26: all-context INVEPT is supported.
        const INVEPT_ALL_CONTEXT = 1 << 26;
        /// Bit 32: the INVVPID instruction is supported.
        const INVVPID = 1 << 32;
        /// Bit 40: individual-address INVVPID is supported.
        const INVVPID_INDIVIDUAL_ADDRESS = 1 << 40;
        /// Bit 41: single-context INVVPID is supported.
        const INVVPID_SINGLE_CONTEXT = 1 << 41;
        /// Bit 42: all-context INVVPID is supported.
        const INVVPID_ALL_CONTEXT = 1 << 42;
        /// Bit 43: single-context-retaining-globals INVVPID is supported.
        const INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS = 1 << 43;
        // Keep reserved and future bits as read.
        const _ = !0;
    }
}

impl EptVpidCap {
    /// Whether the EPT paging structures (EPTP bits 2:0) may use memory type `mt`: UC if
    /// bit 8, WB if bit 14; no other type is ever allowed (SDM Vol. 3D §A.10).
    pub const fn supports_memory_type(self, mt: MemoryType) -> bool {
        match mt.0 {
            0 => self.contains(Self::MEMORY_TYPE_UC),
            6 => self.contains(Self::MEMORY_TYPE_WB),
            _ => false,
        }
    }

    /// Whether an EPT page-walk length of `levels` (EPTP bits 5:3 plus 1) is supported:
    /// 4 if bit 6, 5 if bit 7; no other length is ever allowed (SDM Vol. 3D §A.10).
    pub const fn supports_page_walk_length(self, levels: u8) -> bool {
        match levels {
            4 => self.contains(Self::PAGE_WALK_4),
            5 => self.contains(Self::PAGE_WALK_5),
            _ => false,
        }
    }

    /// Bits 53:48: the maximum HLAT prefix size.
    ///
    /// SDM Vol. 3D §A.10.
    pub const fn max_hlat_prefix_size(self) -> u8 {
        ((self.bits() >> 48) & 0x3f) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icelake_value_decodes() {
        // corei7_icelake_u, ../shared/bochs/models.tsv
        let cap = EptVpidCap::from_bits_retain(0x0000_0f01_0633_4141);
        assert!(cap.contains(EptVpidCap::EXECUTE_ONLY | EptVpidCap::PAGE_WALK_4));
        assert!(!cap.contains(EptVpidCap::PAGE_WALK_5));
        assert!(cap.contains(EptVpidCap::PAGE_2M | EptVpidCap::PAGE_1G));
        assert!(cap.contains(EptVpidCap::INVEPT_SINGLE_CONTEXT | EptVpidCap::INVEPT_ALL_CONTEXT));
        assert!(cap.contains(EptVpidCap::INVVPID_INDIVIDUAL_ADDRESS));
        assert_eq!(cap.max_hlat_prefix_size(), 0);
        assert!(cap.supports_memory_type(MemoryType::WRITE_BACK));
        assert!(cap.supports_memory_type(MemoryType::UNCACHEABLE));
        assert!(!cap.supports_memory_type(MemoryType::WRITE_THROUGH));
        assert!(cap.supports_page_walk_length(4));
        assert!(!cap.supports_page_walk_length(5) && !cap.supports_page_walk_length(3));
    }
}
