//! EPT paging-structure entries (SDM Vol. 3C §29.3.2, Tables 29-1 to 29-7).
//!
//! All EPT paging-structure entries are 64 bits wide and share one layout for the bits
//! this module names; which bits are meaningful depends on the level and on whether the
//! entry maps a page (a *leaf*) or references another paging structure:
//!
//! | bits | leaf (PTE, PDE with bit 7, PDPTE with bit 7) | non-leaf (PML5E, PML4E, PDE/PDPTE without bit 7) |
//! |---|---|---|
//! | 0, 1, 2 | read, write, execute | same, for the whole region the entry controls |
//! | 5:3 | EPT memory type | reserved |
//! | 6 | ignore PAT | reserved |
//! | 7 | page size (PDE, PDPTE); ignored in a PTE | 0 |
//! | 8 | accessed (if EPTP bit 6) | accessed (if EPTP bit 6) |
//! | 9 | dirty (if EPTP bit 6) | ignored |
//! | 10 | user-mode execute (mode-based execute control) | same |
//! | N-1:12 | page frame (4 KiB, 2 MiB or 1 GiB aligned) | next paging structure |
//! | 57 | verify guest paging | ignored |
//! | 58 | paging-write access | ignored |
//! | 60 | supervisor shadow stack (if EPTP bit 7) | ignored |
//! | 61 | sub-page write permissions (PTE only) | ignored |
//! | 63 | suppress #VE | ignored |
//!
//! N is MAXPHYADDR. An entry whose bits 2:0 are all 0 (and bit 10 too, when mode-based
//! execute control for EPT is 1) is *not present* (SDM Vol. 3C §29.3.2).

use core::fmt;

use vmx_defs::memory_type::MemoryType;

use crate::addr::{HostPhysAddr, PageSize};

bitflags::bitflags! {
    /// The single-bit fields of an EPT paging-structure entry, at their hardware bit
    /// positions (SDM Vol. 3C Tables 29-1 to 29-7).
    ///
    /// The 3-bit memory type (bits 5:3) and the address are not flags; see
    /// [`EptAttributes`] and [`EptEntry`].
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
    pub struct EptFlags: u64 {
        /// Bit 0: reads allowed.
        const READ = 1 << 0;
        /// Bit 1: writes allowed. Write without read is an EPT misconfiguration
        /// (SDM Vol. 3C §29.3.3.1).
        const WRITE = 1 << 1;
        /// Bit 2: instruction fetches allowed (supervisor-mode linear addresses only when
        /// the "mode-based execute control for EPT" VM-execution control is 1).
        const EXECUTE = 1 << 2;
        /// Bit 6 (leaf only): ignore the guest PAT memory type (SDM Vol. 3C §29.3.7).
        const IGNORE_PAT = 1 << 6;
        /// Bit 7 (PDE, PDPTE): the entry maps a 2-MByte or 1-GByte page. Managed by the
        /// page table, not accepted in mapping attributes.
        const PAGE_SIZE = 1 << 7;
        /// Bit 8: accessed, set by the processor when EPTP bit 6 enables accessed and
        /// dirty flags (SDM Vol. 3C §29.3.5).
        const ACCESSED = 1 << 8;
        /// Bit 9 (leaf only): dirty, set by the processor when EPTP bit 6 enables accessed
        /// and dirty flags (SDM Vol. 3C §29.3.5).
        const DIRTY = 1 << 9;
        /// Bit 10: instruction fetches from user-mode linear addresses allowed, when the
        /// "mode-based execute control for EPT" VM-execution control is 1 (SDM Vol. 3C
        /// §29.3.3.2); ignored otherwise.
        const USER_EXECUTE = 1 << 10;
        /// Bit 57 (leaf only): verify guest paging, when the "guest-paging verification"
        /// tertiary control is 1 (SDM Vol. 3C §29.3.3.2).
        const VERIFY_GUEST_PAGING = 1 << 57;
        /// Bit 58 (leaf only): paging-write access, when the "EPT paging-write control"
        /// tertiary control is 1: guest paging-structure A/D updates are allowed even
        /// without write access (SDM Vol. 3C §29.3.3.2).
        const PAGING_WRITE_ACCESS = 1 << 58;
        /// Bit 60 (leaf only): supervisor shadow-stack accesses allowed, when EPTP bit 7
        /// is 1 (SDM Vol. 3C §29.3.3.2).
        const SUPERVISOR_SHADOW_STACK = 1 << 60;
        /// Bit 61 (4-KByte PTE only): writes are governed by the sub-page permission
        /// table, when the "sub-page write permissions for EPT" control is 1
        /// (SDM Vol. 3C §29.3.4).
        const SUB_PAGE_WRITE_PERMISSIONS = 1 << 61;
        /// Bit 63 (leaf only): EPT violations on this page are not converted into
        /// virtualization exceptions, when the "EPT-violation #VE" control is 1
        /// (SDM Vol. 3C §26.5.7).
        const SUPPRESS_VE = 1 << 63;
    }
}

impl EptFlags {
    /// Read only.
    pub const R: Self = Self::READ;
    /// Read and write.
    pub const RW: Self = Self::READ.union(Self::WRITE);
    /// Read and execute.
    pub const RX: Self = Self::READ.union(Self::EXECUTE);
    /// Read, write and execute.
    pub const RWX: Self = Self::READ.union(Self::WRITE).union(Self::EXECUTE);
    /// The access-right bits: read, write, execute and user-mode execute.
    pub const ACCESS_RIGHTS: Self = Self::RWX.union(Self::USER_EXECUTE);
    /// Flags maintained by the page table or the processor rather than by the caller.
    pub const TABLE_MANAGED: Self = Self::PAGE_SIZE;
    /// Flags the processor sets (accessed and dirty).
    pub const ACCESSED_DIRTY: Self = Self::ACCESSED.union(Self::DIRTY);
}

/// Every flag bit, as a constant (evaluated at compile time).
const ALL_FLAGS: u64 = EptFlags::all().bits();
/// The flag bits a mapping's attributes report (all but page size).
const ATTRIBUTE_FLAGS: u64 = ALL_FLAGS & !EptFlags::PAGE_SIZE.bits();

/// Bits 5:3 of a leaf entry: the EPT memory type.
pub(crate) const MEMORY_TYPE_SHIFT: u32 = 3;
/// Mask of bits 5:3.
pub(crate) const MEMORY_TYPE_MASK: u64 = 0b111 << MEMORY_TYPE_SHIFT;
/// Bits 51:12: the widest possible physical-address field (MAXPHYADDR is at most 52; SDM
/// Vol. 3C §29.3.2).
pub const ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;

/// The attributes of a mapping: the flags of its leaf entries plus the EPT memory type
/// (SDM Vol. 3C §29.3.7, "EPT and Memory Typing").
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EptAttributes {
    /// Access rights and the other single-bit leaf fields.
    pub flags: EptFlags,
    /// The EPT memory type (bits 5:3): UC, WC, WT, WP or WB.
    pub memory_type: MemoryType,
}

impl EptAttributes {
    /// Attributes with these flags and memory type.
    pub const fn new(flags: EptFlags, memory_type: MemoryType) -> Self {
        Self { flags, memory_type }
    }

    /// Write-back memory with these flags, the usual choice for guest RAM.
    pub const fn write_back(flags: EptFlags) -> Self {
        Self::new(flags, MemoryType::WRITE_BACK)
    }

    /// Uncacheable memory with these flags, the usual choice for MMIO.
    pub const fn uncacheable(flags: EptFlags) -> Self {
        Self::new(flags, MemoryType::UNCACHEABLE)
    }

    /// The attributes a leaf entry holds (its flags other than page size, and its
    /// memory type).
    pub const fn of_entry(entry: EptEntry) -> Self {
        Self {
            flags: EptFlags::from_bits_retain(entry.0 & ATTRIBUTE_FLAGS),
            memory_type: entry.memory_type(),
        }
    }
}

/// One 64-bit EPT paging-structure entry, any level (SDM Vol. 3C Tables 29-1 to 29-7).
///
/// Decoding is total: every `u64` is a value of this type and every accessor returns the
/// raw field; [`EptEntry::decode`] interprets the entry for a given level.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct EptEntry(pub u64);

impl EptEntry {
    /// The not-present entry 0.
    pub const EMPTY: Self = Self(0);

    /// The raw 64-bit value.
    #[inline]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Whether the entry is present: bits 2:0 not all 0, or bit 10 set when
    /// `mode_based_execute` (the "mode-based execute control for EPT" VM-execution
    /// control) is 1 (SDM Vol. 3C §29.3.2).
    #[inline]
    pub const fn is_present(self, mode_based_execute: bool) -> bool {
        let mask = if mode_based_execute { 0x407 } else { 0x7 };
        self.0 & mask != 0
    }

    /// The single-bit fields (bits 63:57 and 10:0 other than the memory type).
    #[inline]
    pub const fn flags(self) -> EptFlags {
        EptFlags::from_bits_retain(self.0 & ALL_FLAGS)
    }

    /// Bit 0: read access (SDM Vol. 3C §29.3.2).
    #[inline]
    pub const fn read(self) -> bool {
        self.0 & EptFlags::READ.bits() != 0
    }

    /// Bit 1: write access (SDM Vol. 3C §29.3.2).
    #[inline]
    pub const fn write(self) -> bool {
        self.0 & EptFlags::WRITE.bits() != 0
    }

    /// Bit 2: execute access (supervisor-mode execute with mode-based execute control;
    /// SDM Vol. 3C §29.3.2, §29.3.3.2).
    #[inline]
    pub const fn execute(self) -> bool {
        self.0 & EptFlags::EXECUTE.bits() != 0
    }

    /// Bit 10: user-mode execute access (with mode-based execute control; SDM Vol. 3C
    /// §29.3.3.2).
    #[inline]
    pub const fn user_execute(self) -> bool {
        self.0 & EptFlags::USER_EXECUTE.bits() != 0
    }

    /// Bits 5:3 of a leaf: the EPT memory type (reserved in non-leaf entries; SDM Vol. 3C
    /// §29.3.7).
    #[inline]
    pub const fn memory_type(self) -> MemoryType {
        MemoryType(((self.0 & MEMORY_TYPE_MASK) >> MEMORY_TYPE_SHIFT) as u8)
    }

    /// Bit 6 of a leaf: ignore PAT (SDM Vol. 3C §29.3.7).
    #[inline]
    pub const fn ignore_pat(self) -> bool {
        self.0 & EptFlags::IGNORE_PAT.bits() != 0
    }

    /// Bit 7: page size (meaningful in PDEs and PDPTEs; SDM Vol. 3C §29.3.2).
    #[inline]
    pub const fn page_size_bit(self) -> bool {
        self.0 & EptFlags::PAGE_SIZE.bits() != 0
    }

    /// Bit 8: accessed (SDM Vol. 3C §29.3.5).
    #[inline]
    pub const fn accessed(self) -> bool {
        self.0 & EptFlags::ACCESSED.bits() != 0
    }

    /// Bit 9: dirty (leaf entries; SDM Vol. 3C §29.3.5).
    #[inline]
    pub const fn dirty(self) -> bool {
        self.0 & EptFlags::DIRTY.bits() != 0
    }

    /// Bit 57: verify guest paging (leaf entries; SDM Vol. 3C §29.3.3.2).
    #[inline]
    pub const fn verify_guest_paging(self) -> bool {
        self.0 & EptFlags::VERIFY_GUEST_PAGING.bits() != 0
    }

    /// Bit 58: paging-write access (leaf entries; SDM Vol. 3C §29.3.3.2).
    #[inline]
    pub const fn paging_write_access(self) -> bool {
        self.0 & EptFlags::PAGING_WRITE_ACCESS.bits() != 0
    }

    /// Bit 60: supervisor shadow stack (leaf entries; SDM Vol. 3C §29.3.3.2).
    #[inline]
    pub const fn supervisor_shadow_stack(self) -> bool {
        self.0 & EptFlags::SUPERVISOR_SHADOW_STACK.bits() != 0
    }

    /// Bit 61: sub-page write permissions (4-KByte PTEs; SDM Vol. 3C §29.3.4).
    #[inline]
    pub const fn sub_page_write_permissions(self) -> bool {
        self.0 & EptFlags::SUB_PAGE_WRITE_PERMISSIONS.bits() != 0
    }

    /// Bit 63: suppress #VE (leaf entries; SDM Vol. 3C §26.5.7).
    #[inline]
    pub const fn suppress_ve(self) -> bool {
        self.0 & EptFlags::SUPPRESS_VE.bits() != 0
    }

    /// Bits 51:12: the physical address field, for a table reference or a 4-KByte page
    /// (SDM Vol. 3C §29.3.2).
    /// For a 2-MByte or 1-GByte page use [`EptEntry::frame`], which drops the reserved
    /// low bits.
    #[inline]
    pub const fn addr(self) -> HostPhysAddr {
        HostPhysAddr::new(self.0 & ADDRESS_MASK)
    }

    /// Bits 51:S of a leaf mapping a page of `size` (S = 12, 21 or 30; SDM Vol. 3C Tables
    /// 29-7, 29-5 and 29-3: PTE, 2-MByte PDE, 1-GByte PDPTE).
    #[inline]
    pub const fn frame(self, size: PageSize) -> HostPhysAddr {
        HostPhysAddr::new(self.0 & ADDRESS_MASK & !(size.bytes() - 1))
    }

    /// Interprets the entry as one of `level` (1 = PTE, 2 = PDE, 3 = PDPTE, 4 = PML4E,
    /// 5 = PML5E), following SDM Vol. 3C §29.3.2. Returns `None` for a level outside 1..=5.
    pub const fn decode(self, level: u32, mode_based_execute: bool) -> Option<DecodedEntry> {
        if level == 0 || level > 5 {
            return None;
        }
        if !self.is_present(mode_based_execute) {
            return Some(DecodedEntry::NotPresent);
        }
        let leaf_size = match level {
            1 => Some(PageSize::Size4K),
            2 | 3 if self.page_size_bit() => PageSize::from_level(level),
            _ => None,
        };
        Some(match leaf_size {
            Some(size) => DecodedEntry::Page {
                frame: self.frame(size),
                size,
                attributes: EptAttributes::of_entry(self),
            },
            None => DecodedEntry::Table { table: self.addr() },
        })
    }
}

/// An EPT entry interpreted for its level (SDM Vol. 3C §29.3.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DecodedEntry {
    /// Bits 2:0 (and bit 10 under mode-based execute control) are 0.
    NotPresent,
    /// The entry references the next paging structure.
    Table {
        /// Host-physical address of that structure.
        table: HostPhysAddr,
    },
    /// The entry maps a page.
    Page {
        /// Host-physical address of the page.
        frame: HostPhysAddr,
        /// Its size.
        size: PageSize,
        /// Its flags and memory type.
        attributes: EptAttributes,
    },
}

impl fmt::Debug for EptEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EptEntry")
            .field("raw", &format_args!("{:#018x}", self.0))
            .field("addr", &self.addr())
            .field("memory_type", &self.memory_type())
            .field("flags", &self.flags())
            .finish()
    }
}

impl From<u64> for EptEntry {
    fn from(raw: u64) -> Self {
        Self(raw)
    }
}

impl From<EptEntry> for u64 {
    fn from(entry: EptEntry) -> u64 {
        entry.0
    }
}
