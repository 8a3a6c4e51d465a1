//! Intel VT-x extended page tables (EPT): map, unmap, protect, query, large pages, memory
//! types, accessed/dirty flags and INVEPT.
#![no_std]

mod addr;
mod config;
mod entry;
mod error;
mod host;
mod invalidation;
mod table;
mod walk_length;

pub use addr::{GuestPhysAddr, HostPhysAddr, PageSize};
pub use config::EptConfig;
pub use entry::{ADDRESS_MASK, DecodedEntry, EptAttributes, EptEntry, EptFlags};
pub use error::{AddrKind, Capability, EptError, FlagsError};
pub use host::EptHost;
pub use invalidation::FlushToken;
pub use table::{AccessedDirty, EptPageTable, Mapping, Mappings};
pub use walk_length::PageWalkLength;
