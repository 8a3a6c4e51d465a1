//! Typed errors of the EPT page table.

use core::fmt;

use vmx_defs::memory_type::MemoryType;

use crate::addr::{GuestPhysAddr, HostPhysAddr, PageSize};
use crate::entry::EptFlags;

/// A capability from IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D §A.10) or a VM-execution control
/// an operation needs but the table was not configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Bit 0: execute-only translations.
    ExecuteOnly,
    /// Bit 6: 4-level EPT page walks.
    PageWalk4,
    /// Bit 7: 5-level EPT page walks.
    PageWalk5,
    /// Bit 8: uncacheable EPT paging-structure memory type.
    MemoryTypeUc,
    /// Bit 14: write-back EPT paging-structure memory type.
    MemoryTypeWb,
    /// Bit 16: 2-MByte pages.
    Page2M,
    /// Bit 17: 1-GByte pages.
    Page1G,
    /// Bit 20: the INVEPT instruction (with bit 25 or 26: a supported INVEPT type).
    Invept,
    /// Bit 21: accessed and dirty flags. Also reported when A/D flags are supported but
    /// not enabled in the table's configuration.
    AccessedDirty,
    /// Bit 23: supervisor shadow-stack control (EPTP bit 7).
    SupervisorShadowStack,
    /// The "mode-based execute control for EPT" secondary processor-based control
    /// (SDM Vol. 3C §25.6.2), which user-execute-only mappings need.
    ModeBasedExecute,
}

/// Why mapping attributes were rejected (SDM Vol. 3C §29.3.3.1, "EPT Misconfigurations").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagsError {
    /// Write access without read access: an EPT misconfiguration.
    WriteWithoutRead,
    /// No access right at all: the entry would be not present. Use `unmap` instead.
    NoAccess,
    /// A reserved EPT memory type (2, 3, 7 or above): an EPT misconfiguration.
    ReservedMemoryType(MemoryType),
    /// Bits that are not EPT flags (made with `EptFlags::from_bits_retain`): they would land
    /// in the address, the memory type or reserved bits.
    Undefined(u64),
    /// Flags the table manages itself (page size) were passed.
    TableManaged(EptFlags),
    /// Sub-page write permissions (bit 61) on a page larger than 4 KiB, where the bit is
    /// ignored and would take effect unexpectedly if the page were later split.
    SubPageWriteOnLargePage,
}

/// Which address or length was misaligned for the page size (a leaf maps a naturally
/// aligned page, SDM Vol. 3C §29.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrKind {
    /// The guest-physical address.
    GuestPhys,
    /// The host-physical address.
    HostPhys,
    /// The length of a range.
    Length,
}

/// An EPT page-table operation failed. Nothing a caller passes makes an operation panic;
/// it returns one of these instead. Each variant names the SDM rule it enforces (Vol. 3C
/// §29.3 for entries, §25.6.11 and Vol. 3D §A.10 for the configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EptError {
    /// Part of the range is already mapped (`gpa` is the first such address).
    AlreadyMapped {
        /// First guest-physical address found mapped.
        gpa: GuestPhysAddr,
    },
    /// Part of the range is not mapped (`gpa` is the first such address).
    NotMapped {
        /// First guest-physical address found not mapped.
        gpa: GuestPhysAddr,
    },
    /// An address or length is not a multiple of `alignment`.
    Misaligned {
        /// What was misaligned.
        kind: AddrKind,
        /// The value.
        value: u64,
        /// The required alignment in bytes.
        alignment: u64,
    },
    /// A range has length 0 or its end overflows 64 bits.
    InvalidRange {
        /// Start of the range.
        gpa: GuestPhysAddr,
        /// Its length.
        len: u64,
    },
    /// A guest-physical address at or beyond 2^48 (4-level walk) or 2^57 (5-level walk):
    /// the page walk cannot translate it (SDM Vol. 3C §29.3.2).
    BeyondWalkLength {
        /// The first untranslatable address.
        gpa: GuestPhysAddr,
        /// Number of bits the walk translates (48 or 57).
        width: u32,
    },
    /// A host-physical address at or beyond 2^MAXPHYADDR: its high bits are reserved in
    /// EPT entries (SDM Vol. 3C §29.3.3.1).
    BeyondPhysAddrWidth {
        /// The first address beyond the width.
        hpa: HostPhysAddr,
        /// MAXPHYADDR.
        width: u32,
    },
    /// The table's configuration (from IA32_VMX_EPT_VPID_CAP) lacks a capability.
    CapabilityMissing(Capability),
    /// A page size the table's configuration does not allow.
    PageSizeUnsupported(PageSize),
    /// The host could not allocate a paging-structure frame.
    OutOfMemory,
    /// The host returned a frame that is not 4-KiB aligned or lies beyond MAXPHYADDR.
    InvalidFrame(HostPhysAddr),
    /// The mapping attributes are invalid.
    InvalidFlags(FlagsError),
    /// The EPTP for the table would fail the VM-entry checks (SDM Vol. 3C §27.2.1.1).
    Eptp(vmx_defs::ept::EptpError),
    /// MAXPHYADDR outside 36..=52 (SDM Vol. 3A §5.1.4: CPUID.80000008H:EAX\[7:0\]).
    InvalidPhysAddrWidth(u8),
}

impl fmt::Display for EptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EptError::AlreadyMapped { gpa } => write!(f, "guest-physical {gpa} is already mapped"),
            EptError::NotMapped { gpa } => write!(f, "guest-physical {gpa} is not mapped"),
            EptError::Misaligned {
                kind,
                value,
                alignment,
            } => write!(f, "{kind:?} {value:#x} is not {alignment:#x}-aligned"),
            EptError::InvalidRange { gpa, len } => {
                write!(f, "invalid range of {len:#x} bytes at guest-physical {gpa}")
            }
            EptError::BeyondWalkLength { gpa, width } => write!(
                f,
                "guest-physical {gpa} is beyond the {width}-bit reach of the EPT page walk"
            ),
            EptError::BeyondPhysAddrWidth { hpa, width } => {
                write!(f, "host-physical {hpa} is beyond MAXPHYADDR ({width} bits)")
            }
            EptError::CapabilityMissing(c) => write!(f, "EPT capability missing: {c:?}"),
            EptError::PageSizeUnsupported(s) => write!(f, "page size {s:?} is not supported"),
            EptError::OutOfMemory => f.write_str("out of memory for EPT paging structures"),
            EptError::InvalidFrame(hpa) => {
                write!(f, "host returned an unusable paging-structure frame {hpa}")
            }
            EptError::InvalidFlags(e) => write!(f, "invalid EPT mapping attributes: {e:?}"),
            EptError::Eptp(e) => write!(f, "invalid EPT pointer: {e}"),
            EptError::InvalidPhysAddrWidth(w) => {
                write!(f, "MAXPHYADDR {w} is outside 36..=52")
            }
        }
    }
}

impl core::error::Error for EptError {}
