//! Guest-physical and host-physical addresses and page sizes: the one address vocabulary of
//! every crate in the workspace (`vmx-insn`, `ept`, `vmx-vcpu` take and return these types).
//!
//! EPT translates *guest-physical* addresses (GPAs) to *host-physical* addresses (HPAs)
//! (SDM Vol. 3C §29.3, "The Extended Page Table Mechanism (EPT)"). The two are kept as
//! distinct types so that one cannot be passed where the other is expected. Both are `u64`
//! newtypes: a guest-physical address has up to 57 bits (5-level EPT) and a host-physical
//! address up to MAXPHYADDR (at most 52) bits on every target, independent of `usize`.

use core::fmt;

macro_rules! phys_addr_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(u64);

        impl $name {
            /// The address `addr`.
            #[inline]
            pub const fn new(addr: u64) -> Self {
                Self(addr)
            }

            /// The address as a number.
            #[inline]
            pub const fn as_u64(self) -> u64 {
                self.0
            }

            /// Whether the address is a multiple of `size`'s byte count.
            #[inline]
            pub const fn is_aligned(self, size: PageSize) -> bool {
                self.0 & (size.bytes() - 1) == 0
            }

            /// The address rounded down to a multiple of `size`'s byte count.
            #[inline]
            pub const fn align_down(self, size: PageSize) -> Self {
                Self(self.0 & !(size.bytes() - 1))
            }

            /// The offset of the address within its `size`-sized page.
            #[inline]
            pub const fn page_offset(self, size: PageSize) -> u64 {
                self.0 & (size.bytes() - 1)
            }

            /// `self + offset`, or `None` on overflow.
            #[inline]
            pub const fn checked_add(self, offset: u64) -> Option<Self> {
                match self.0.checked_add(offset) {
                    Some(a) => Some(Self(a)),
                    None => None,
                }
            }
        }

        impl From<u64> for $name {
            #[inline]
            fn from(addr: u64) -> Self {
                Self(addr)
            }
        }

        impl From<$name> for u64 {
            #[inline]
            fn from(addr: $name) -> u64 {
                addr.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, ":{:#x}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}

phys_addr_type!(
    /// A guest-physical address: the input of the EPT translation (SDM Vol. 3C §29.3.1).
    GuestPhysAddr,
    "GPA"
);

phys_addr_type!(
    /// A host-physical address: the output of the EPT translation and the address of
    /// every EPT paging structure (SDM Vol. 3C §29.3.2).
    HostPhysAddr,
    "HPA"
);

impl From<memory_addr::PhysAddr> for HostPhysAddr {
    #[inline]
    fn from(addr: memory_addr::PhysAddr) -> Self {
        // usize is at most 64 bits on every target Rust supports.
        Self(addr.as_usize() as u64)
    }
}

impl TryFrom<HostPhysAddr> for memory_addr::PhysAddr {
    type Error = core::num::TryFromIntError;

    /// Fails only where `usize` is narrower than the address.
    fn try_from(addr: HostPhysAddr) -> Result<Self, Self::Error> {
        usize::try_from(addr.0).map(memory_addr::PhysAddr::from_usize)
    }
}

/// The size of a page an EPT leaf entry maps (SDM Vol. 3C §29.3.2).
///
/// 2-MByte pages are mapped by an EPT PDE with bit 7 set and need
/// IA32_VMX_EPT_VPID_CAP bit 16; 1-GByte pages by an EPT PDPTE with bit 7 set and need
/// bit 17 (SDM Vol. 3D §A.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u64)]
pub enum PageSize {
    /// 4 KiB, mapped by an EPT PTE (SDM Vol. 3C Table 29-7).
    Size4K = 1 << 12,
    /// 2 MiB, mapped by an EPT PDE with bit 7 set (SDM Vol. 3C Table 29-5).
    Size2M = 1 << 21,
    /// 1 GiB, mapped by an EPT PDPTE with bit 7 set (SDM Vol. 3C Table 29-3).
    Size1G = 1 << 30,
}

impl PageSize {
    /// All sizes, smallest first.
    pub const ALL: [PageSize; 3] = [PageSize::Size4K, PageSize::Size2M, PageSize::Size1G];

    /// The number of bytes.
    #[inline]
    pub const fn bytes(self) -> u64 {
        self as u64
    }

    /// log2 of the number of bytes (12, 21 or 30).
    #[inline]
    pub const fn shift(self) -> u32 {
        match self {
            PageSize::Size4K => 12,
            PageSize::Size2M => 21,
            PageSize::Size1G => 30,
        }
    }

    /// The paging-structure level whose entries map pages of this size: 1 (page table),
    /// 2 (page directory) or 3 (page-directory-pointer table).
    #[inline]
    pub const fn level(self) -> u32 {
        match self {
            PageSize::Size4K => 1,
            PageSize::Size2M => 2,
            PageSize::Size1G => 3,
        }
    }

    /// The size mapped by a leaf at `level` (1, 2 or 3), `None` for other levels.
    #[inline]
    pub const fn from_level(level: u32) -> Option<PageSize> {
        match level {
            1 => Some(PageSize::Size4K),
            2 => Some(PageSize::Size2M),
            3 => Some(PageSize::Size1G),
            _ => None,
        }
    }
}
