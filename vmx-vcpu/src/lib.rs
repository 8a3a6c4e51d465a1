//! Intel VT-x per-CPU enabling and a VmxVcpu: VMCS lifetime, guest/host state, run loop,
//! typed exits, event injection.
#![no_std]

pub mod bitmap;
pub mod enable_checks;
pub mod event;
pub mod exit;
pub mod host_checks;
pub mod injection;
pub mod regs;
pub mod vpid;

pub use vpid::{Vpid, VpidAllocator, allocate_vpid, free_vpid};
