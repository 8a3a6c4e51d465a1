#![doc = include_str!("../README.md")]
//!
//! ## Map of the crate
//!
//! | item | SDM |
//! |---|---|
//! | [`EptEntry`], [`EptFlags`], [`EptAttributes`] | Vol. 3C §29.3.2, Tables 29-1 to 29-7 |
//! | [`EptPageTable`] walks, large pages | Vol. 3C §29.3.2 |
//! | [`EptError`] misconfigurations | Vol. 3C §29.3.3.1 |
//! | [`EptPageTable::accessed_dirty`] | Vol. 3C §29.3.5 |
//! | [`EptAttributes::memory_type`], [`mtrr`] | Vol. 3C §29.3.7, Vol. 3A §12.11 |
//! | [`EptPageTable::eptp`] | Vol. 3C §25.6.11 |
//! | [`FlushToken`], [`EptPageTable::flush`], retired frames | Vol. 3C §29.4.2, §29.4.3.1 |
//! | [`InveptExecutor`], [`HardwareInvept`] | Vol. 3C §31.3 "INVEPT" |
//! | [`Ept`], [`EptEdit`], [`EptUser`]: sharing with running vCPUs | Vol. 3C §29.4.3.1 |
//! | [`HostMemory`] | Vol. 3C §29.3.2 (paging-structure frames) |
//! | [`EptConfig`] | Vol. 3D §A.10 (IA32_VMX_EPT_VPID_CAP) |
#![no_std]

mod addr;
mod config;
mod entry;
mod error;
mod invalidation;
mod memory;
pub mod mtrr;
mod shared;
mod table;

pub use addr::{GuestPhysAddr, HostPhysAddr, PageSize};
pub use config::EptConfig;
pub use entry::{ADDRESS_MASK, DecodedEntry, EptAttributes, EptEntry, EptFlags};
pub use error::{AddrKind, Capability, EptError, FlagsError};
pub use invalidation::FlushToken;
pub use invalidation::{FlushError, HardwareInvept, InveptExecutor};
pub use memory::{FRAME_SIZE, HostMemory};
pub use shared::{AttachError, Ept, EptEdit, EptUser, USER_SLOTS};
pub use table::{AccessedDirty, EptPageTable, Mapping, Mappings};
pub use vmx_defs::ept::{Eptp, EptpError, PageWalkLength};
pub use vmx_defs::invalidation::{InveptDescriptor, InveptType};
