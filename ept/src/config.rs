//! What an EPT page table may use: capabilities and the EPTP settings it will report.

use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::memory_type::MemoryType;

use crate::addr::PageSize;
use crate::error::{Capability, EptError};
use vmx_defs::ept::PageWalkLength;

/// The configuration of an [`EptPageTable`](crate::EptPageTable): the capabilities it may
/// use (IA32_VMX_EPT_VPID_CAP, SDM Vol. 3D §A.10), MAXPHYADDR, and the EPTP settings
/// (page-walk length, paging-structure memory type, A/D flags; SDM Vol. 3C §25.6.11).
///
/// Build it from the capability MSR the CPU reports, or from an explicit feature set written
/// as an [`EptVpidCap`] value (e.g. in tests). Every setter checks the capability it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EptConfig {
    caps: EptVpidCap,
    walk_length: PageWalkLength,
    accessed_dirty: bool,
    mode_based_execute: bool,
    supervisor_shadow_stack: bool,
    structure_memory_type: MemoryType,
    phys_addr_width: u8,
}

impl EptConfig {
    /// A configuration for a CPU with these capabilities and MAXPHYADDR
    /// (CPUID.80000008H:EAX\[7:0\], 36..=52; SDM Vol. 3A §5.1.4, Vol. 3D §A.10).
    ///
    /// Defaults: a 4-level walk if supported (else 5-level), write-back paging structures
    /// if supported (else uncacheable), A/D flags, mode-based execute control and
    /// supervisor shadow-stack control off.
    pub fn new(caps: EptVpidCap, phys_addr_width: u8) -> Result<Self, EptError> {
        if !(36..=52).contains(&phys_addr_width) {
            return Err(EptError::InvalidPhysAddrWidth(phys_addr_width));
        }
        let walk_length = if caps.contains(EptVpidCap::PAGE_WALK_4) {
            PageWalkLength::Four
        } else if caps.contains(EptVpidCap::PAGE_WALK_5) {
            PageWalkLength::Five
        } else {
            return Err(EptError::CapabilityMissing(Capability::PageWalk4));
        };
        let structure_memory_type = if caps.contains(EptVpidCap::MEMORY_TYPE_WB) {
            MemoryType::WRITE_BACK
        } else if caps.contains(EptVpidCap::MEMORY_TYPE_UC) {
            MemoryType::UNCACHEABLE
        } else {
            return Err(EptError::CapabilityMissing(Capability::MemoryTypeWb));
        };
        Ok(Self {
            caps,
            walk_length,
            accessed_dirty: false,
            mode_based_execute: false,
            supervisor_shadow_stack: false,
            structure_memory_type,
            phys_addr_width,
        })
    }

    /// Selects the page-walk length (EPTP bits 5:3, SDM Vol. 3C §25.6.11; capability bits 6
    /// and 7, Vol. 3D §A.10).
    pub fn with_walk_length(mut self, walk_length: PageWalkLength) -> Result<Self, EptError> {
        let (bit, cap) = match walk_length {
            PageWalkLength::Four => (EptVpidCap::PAGE_WALK_4, Capability::PageWalk4),
            PageWalkLength::Five => (EptVpidCap::PAGE_WALK_5, Capability::PageWalk5),
        };
        if !self.caps.contains(bit) {
            return Err(EptError::CapabilityMissing(cap));
        }
        self.walk_length = walk_length;
        Ok(self)
    }

    /// Enables or disables accessed and dirty flags (EPTP bit 6, SDM Vol. 3C §25.6.11 and
    /// §29.3.5; capability bit 21, Vol. 3D §A.10).
    pub fn with_accessed_dirty(mut self, enable: bool) -> Result<Self, EptError> {
        if enable && !self.caps.contains(EptVpidCap::ACCESSED_DIRTY) {
            return Err(EptError::CapabilityMissing(Capability::AccessedDirty));
        }
        self.accessed_dirty = enable;
        Ok(self)
    }

    /// Enables supervisor shadow-stack control (EPTP bit 7, SDM Vol. 3C §25.6.11; capability
    /// bit 23, Vol. 3D §A.10).
    pub fn with_supervisor_shadow_stack(mut self, enable: bool) -> Result<Self, EptError> {
        if enable && !self.caps.contains(EptVpidCap::SUPERVISOR_SHADOW_STACK) {
            return Err(EptError::CapabilityMissing(
                Capability::SupervisorShadowStack,
            ));
        }
        self.supervisor_shadow_stack = enable;
        Ok(self)
    }

    /// Declares that the VMCS will set the "mode-based execute control for EPT" secondary
    /// control (SDM Vol. 3C §25.6.2); the caller checks that control's allowed-1 setting.
    /// With it, bit 10 (user execute) alone makes an entry present.
    pub fn with_mode_based_execute(mut self, enable: bool) -> Self {
        self.mode_based_execute = enable;
        self
    }

    /// Selects the memory type of the EPT paging structures (EPTP bits 2:0, SDM Vol. 3C
    /// §25.6.11, §29.3.7.1): UC needs capability bit 8, WB bit 14 (Vol. 3D §A.10); other
    /// types are reserved.
    pub fn with_structure_memory_type(mut self, memory_type: MemoryType) -> Result<Self, EptError> {
        let needed = match memory_type {
            MemoryType::UNCACHEABLE => (EptVpidCap::MEMORY_TYPE_UC, Capability::MemoryTypeUc),
            MemoryType::WRITE_BACK => (EptVpidCap::MEMORY_TYPE_WB, Capability::MemoryTypeWb),
            other => {
                return Err(EptError::InvalidFlags(
                    crate::error::FlagsError::ReservedMemoryType(other),
                ));
            }
        };
        if !self.caps.contains(needed.0) {
            return Err(EptError::CapabilityMissing(needed.1));
        }
        self.structure_memory_type = memory_type;
        Ok(self)
    }

    /// The capabilities this configuration was built from.
    pub const fn capabilities(&self) -> EptVpidCap {
        self.caps
    }

    /// The page-walk length.
    pub const fn walk_length(&self) -> PageWalkLength {
        self.walk_length
    }

    /// Whether accessed and dirty flags are enabled (EPTP bit 6).
    pub const fn accessed_dirty(&self) -> bool {
        self.accessed_dirty
    }

    /// Whether mode-based execute control is declared on.
    pub const fn mode_based_execute(&self) -> bool {
        self.mode_based_execute
    }

    /// Whether supervisor shadow-stack control is enabled (EPTP bit 7).
    pub const fn supervisor_shadow_stack(&self) -> bool {
        self.supervisor_shadow_stack
    }

    /// The memory type of the paging structures (EPTP bits 2:0).
    pub const fn structure_memory_type(&self) -> MemoryType {
        self.structure_memory_type
    }

    /// MAXPHYADDR.
    pub const fn phys_addr_width(&self) -> u8 {
        self.phys_addr_width
    }

    /// Whether pages of `size` may be mapped (capability bits 16 and 17, SDM Vol. 3D §A.10).
    ///
    /// 1-GiB pages are used only when 2-MiB pages are supported too, so that part of a
    /// 1-GiB page can always be unmapped by splitting it into 2-MiB pages.
    pub const fn supports_page_size(&self, size: PageSize) -> bool {
        match size {
            PageSize::Size4K => true,
            PageSize::Size2M => self.caps.contains(EptVpidCap::PAGE_2M),
            PageSize::Size1G => self
                .caps
                .contains(EptVpidCap::PAGE_2M.union(EptVpidCap::PAGE_1G)),
        }
    }

    /// Whether execute-only translations are allowed (capability bit 0, SDM Vol. 3D §A.10).
    pub const fn supports_execute_only(&self) -> bool {
        self.caps.contains(EptVpidCap::EXECUTE_ONLY)
    }
}
