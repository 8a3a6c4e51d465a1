//! The address vocabulary shared by every crate of the workspace lives in
//! [`vmx_defs::addr`]; re-exported here so that `ept` users need no second import.

pub use vmx_defs::addr::{GuestPhysAddr, HostPhysAddr, PageSize};
