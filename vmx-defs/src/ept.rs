//! The extended-page-table pointer, EPTP (VMCS encoding 0x201A; SDM Vol. 3C §25.6.11
//! "Extended-Page-Table Pointer (EPTP)", Table 25-9; VM-entry checks §27.2.1.1).

use crate::capabilities::EptVpidCap;
use crate::memory_type::MemoryType;
use core::fmt;

/// The number of levels of the EPT paging structures (EPTP bits 5:3 hold this minus 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
///
/// SDM Vol. 3C §25.6.11.
pub enum PageWalkLength {
    /// 4-level EPT (PML4 root), 48-bit guest-physical addresses; IA32_VMX_EPT_VPID_CAP\[6\].
    Four = 4,
    /// 5-level EPT (PML5 root), 57-bit guest-physical addresses; IA32_VMX_EPT_VPID_CAP\[7\].
    Five = 5,
}

impl PageWalkLength {
    /// The number of levels (4 or 5).
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn levels(self) -> u8 {
        self as u8
    }

    /// Whether `caps` reports support for this walk length.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn is_supported(self, caps: EptVpidCap) -> bool {
        match self {
            Self::Four => caps.contains(EptVpidCap::PAGE_WALK_4),
            Self::Five => caps.contains(EptVpidCap::PAGE_WALK_5),
        }
    }
}

/// Why an EPTP would fail the VM-entry checks (SDM Vol. 3C §27.2.1.1) or INVEPT (§31.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EptpError {
    /// The page-walk length is not supported (IA32_VMX_EPT_VPID_CAP bits 6/7), or bits
    /// 5:3 encode neither 4 nor 5 levels. Holds the number of levels encoded.
    UnsupportedWalkLength {
        /// Levels requested (bits 5:3 plus 1).
        levels: u8,
    },
    /// The memory type is not one the processor allows for EPT paging structures (UC with
    /// IA32_VMX_EPT_VPID_CAP\[8\], WB with bit 14; every other value is reserved).
    UnsupportedMemoryType(MemoryType),
    /// Accessed and dirty flags need IA32_VMX_EPT_VPID_CAP\[21\].
    AccessedDirtyUnsupported,
    /// Supervisor shadow-stack control needs IA32_VMX_EPT_VPID_CAP\[23\].
    SupervisorShadowStackUnsupported,
    /// The root table address is not 4-KByte aligned.
    MisalignedRoot {
        /// The address given.
        root: u64,
    },
    /// The root table address has bits at or above the physical-address width set.
    RootBeyondPhysicalWidth {
        /// The address given.
        root: u64,
        /// The physical-address width (MAXPHYADDR).
        width: u8,
    },
    /// The physical-address width is not in 32..=52 (CPUID.80000008H:EAX\[7:0\]).
    InvalidPhysicalAddressWidth {
        /// The width given.
        width: u8,
    },
    /// Reserved bits 11:8 are set.
    ReservedBits {
        /// The reserved bits that were set.
        bits: u64,
    },
}

impl fmt::Display for EptpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnsupportedWalkLength { levels } => {
                write!(f, "EPT page-walk length {levels} is not supported")
            }
            Self::UnsupportedMemoryType(mt) => {
                write!(f, "EPT paging-structure memory type {mt} is not supported")
            }
            Self::AccessedDirtyUnsupported => {
                f.write_str("EPT accessed/dirty flags are not supported")
            }
            Self::SupervisorShadowStackUnsupported => {
                f.write_str("EPT supervisor shadow-stack control is not supported")
            }
            Self::MisalignedRoot { root } => {
                write!(f, "EPT root table {root:#x} is not 4-KByte aligned")
            }
            Self::RootBeyondPhysicalWidth { root, width } => write!(
                f,
                "EPT root table {root:#x} is beyond the {width}-bit physical-address width"
            ),
            Self::InvalidPhysicalAddressWidth { width } => {
                write!(f, "physical-address width {width} is not in 32..=52")
            }
            Self::ReservedBits { bits } => write!(f, "EPTP reserved bits set: {bits:#x}"),
        }
    }
}

impl core::error::Error for EptpError {}

/// The extended-page-table pointer (SDM Vol. 3C §25.6.11, Table 25-9).
///
/// Bits: 2:0 EPT paging-structure memory type (UC 0 or WB 6); 5:3 page-walk length minus
/// 1; 6 enable accessed and dirty flags; 7 enable supervisor shadow-stack control; 11:8
/// reserved; N-1:12 physical address of the EPT PML4 (or PML5) table; 63:N reserved
/// (N = MAXPHYADDR).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Eptp(u64);

impl Eptp {
    const MEMORY_TYPE_MASK: u64 = 0x7;
    const WALK_SHIFT: u32 = 3;
    const WALK_MASK: u64 = 0x7 << Self::WALK_SHIFT;
    const ACCESSED_DIRTY: u64 = 1 << 6;
    const SUPERVISOR_SHADOW_STACK: u64 = 1 << 7;
    const RESERVED_LOW: u64 = 0xf00;
    const ADDRESS_MASK: u64 = !0xfff;

    /// Builds an EPTP, checking every field against the processor's capabilities `caps`
    /// and its physical-address width `phys_addr_width` (MAXPHYADDR,
    /// CPUID.80000008H:EAX\[7:0\]) as VM entry does (SDM Vol. 3C §27.2.1.1):
    /// the walk length and memory type must be supported, A/D flags allowed if requested,
    /// and `root` 4-KByte aligned and below 2^MAXPHYADDR.
    ///
    /// ```
    /// use vmx_defs::capabilities::EptVpidCap;
    /// use vmx_defs::ept::{Eptp, EptpError, PageWalkLength};
    /// use vmx_defs::memory_type::MemoryType;
    ///
    /// let caps = EptVpidCap::PAGE_WALK_4 | EptVpidCap::MEMORY_TYPE_WB;
    /// let eptp = Eptp::new(0x5000, PageWalkLength::Four, MemoryType::WRITE_BACK, false, caps, 39)?;
    /// assert_eq!(eptp.raw(), 0x5000 | 3 << 3 | 6);
    /// // A root above MAXPHYADDR, an unaligned root or A/D without support are refused.
    /// assert!(Eptp::new(1 << 39, PageWalkLength::Four, MemoryType::WRITE_BACK, false, caps, 39).is_err());
    /// assert!(Eptp::new(0x5000, PageWalkLength::Four, MemoryType::WRITE_BACK, true, caps, 39).is_err());
    /// # Ok::<(), EptpError>(())
    /// ```
    pub fn new(
        root: u64,
        walk: PageWalkLength,
        mt: MemoryType,
        ad: bool,
        caps: EptVpidCap,
        phys_addr_width: u8,
    ) -> Result<Self, EptpError> {
        let mut raw = root
            | (((walk.levels() - 1) as u64) << Self::WALK_SHIFT)
            | (mt.0 as u64 & Self::MEMORY_TYPE_MASK);
        if ad {
            raw |= Self::ACCESSED_DIRTY;
        }
        // A memory type wider than 3 bits cannot be encoded: refuse it before it aliases.
        if mt.0 > 7 {
            return Err(EptpError::UnsupportedMemoryType(mt));
        }
        if root & 0xfff != 0 {
            return Err(EptpError::MisalignedRoot { root });
        }
        let eptp = Self(raw);
        eptp.check(caps, phys_addr_width)?;
        Ok(eptp)
    }

    /// This EPTP with the supervisor shadow-stack control (bit 7) set, which needs
    /// IA32_VMX_EPT_VPID_CAP\[23\].
    ///
    /// SDM Vol. 3C §25.6.11.
    pub fn with_supervisor_shadow_stack(self, caps: EptVpidCap) -> Result<Self, EptpError> {
        if !caps.contains(EptVpidCap::SUPERVISOR_SHADOW_STACK) {
            return Err(EptpError::SupervisorShadowStackUnsupported);
        }
        Ok(Self(self.0 | Self::SUPERVISOR_SHADOW_STACK))
    }

    /// Any raw value, kept exactly (total; nothing is checked).
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw value to write to the VMCS or put in an INVEPT descriptor.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Bits 2:0: the memory type of the EPT paging structures.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn memory_type(self) -> MemoryType {
        MemoryType((self.0 & Self::MEMORY_TYPE_MASK) as u8)
    }

    /// Bits 5:3 plus 1: the number of levels encoded (1-8; only 4 and 5 are defined).
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn walk_levels(self) -> u8 {
        ((self.0 & Self::WALK_MASK) >> Self::WALK_SHIFT) as u8 + 1
    }

    /// The page-walk length, or `None` if bits 5:3 encode neither 4 nor 5 levels.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn page_walk_length(self) -> Option<PageWalkLength> {
        match self.walk_levels() {
            4 => Some(PageWalkLength::Four),
            5 => Some(PageWalkLength::Five),
            _ => None,
        }
    }

    /// Bit 6: accessed and dirty flags are enabled.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn accessed_dirty(self) -> bool {
        self.0 & Self::ACCESSED_DIRTY != 0
    }

    /// Bit 7: supervisor shadow-stack control is enabled.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn supervisor_shadow_stack(self) -> bool {
        self.0 & Self::SUPERVISOR_SHADOW_STACK != 0
    }

    /// Bits 63:12: the physical address of the root (PML4 or PML5) table, including any
    /// bits at or above MAXPHYADDR.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn root(self) -> u64 {
        self.0 & Self::ADDRESS_MASK
    }

    /// The reserved bits 11:8 that are set.
    ///
    /// SDM Vol. 3C §25.6.11.
    pub const fn reserved_bits(self) -> u64 {
        self.0 & Self::RESERVED_LOW
    }

    /// The VM-entry checks on the EPTP (SDM Vol. 3C §27.2.1.1) against `caps` and the
    /// physical-address width: supported memory type and walk length, A/D and
    /// supervisor-shadow-stack bits only if supported, bits 11:8 and 63:MAXPHYADDR zero.
    pub fn check(self, caps: EptVpidCap, phys_addr_width: u8) -> Result<(), EptpError> {
        if !(32..=52).contains(&phys_addr_width) {
            return Err(EptpError::InvalidPhysicalAddressWidth {
                width: phys_addr_width,
            });
        }
        let mt = self.memory_type();
        let mt_ok = (mt.0 == MemoryType::UNCACHEABLE.0
            && caps.contains(EptVpidCap::MEMORY_TYPE_UC))
            || (mt.0 == MemoryType::WRITE_BACK.0 && caps.contains(EptVpidCap::MEMORY_TYPE_WB));
        if !mt_ok {
            return Err(EptpError::UnsupportedMemoryType(mt));
        }
        match self.page_walk_length() {
            Some(walk) if walk.is_supported(caps) => {}
            _ => {
                return Err(EptpError::UnsupportedWalkLength {
                    levels: self.walk_levels(),
                });
            }
        }
        if self.accessed_dirty() && !caps.contains(EptVpidCap::ACCESSED_DIRTY) {
            return Err(EptpError::AccessedDirtyUnsupported);
        }
        if self.supervisor_shadow_stack() && !caps.contains(EptVpidCap::SUPERVISOR_SHADOW_STACK) {
            return Err(EptpError::SupervisorShadowStackUnsupported);
        }
        if self.reserved_bits() != 0 {
            return Err(EptpError::ReservedBits {
                bits: self.reserved_bits(),
            });
        }
        if self.root() >> phys_addr_width != 0 {
            return Err(EptpError::RootBeyondPhysicalWidth {
                root: self.root(),
                width: phys_addr_width,
            });
        }
        Ok(())
    }
}

impl From<Eptp> for u64 {
    fn from(eptp: Eptp) -> Self {
        eptp.0
    }
}

impl fmt::Debug for Eptp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Eptp")
            .field("root", &format_args!("{:#x}", self.root()))
            .field("memory_type", &self.memory_type())
            .field("walk_levels", &self.walk_levels())
            .field("accessed_dirty", &self.accessed_dirty())
            .field("supervisor_shadow_stack", &self.supervisor_shadow_stack())
            .finish()
    }
}
