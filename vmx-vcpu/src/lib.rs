#![doc = include_str!("../README.md")]
#![no_std]

pub mod apic;
mod arch;
pub mod bitmap;
pub mod config;
mod cpu;
pub mod cr3;
pub mod enable_checks;
mod entry;
mod error;
pub mod event;
pub mod exit;
pub mod guest;
pub mod handler;
mod host;
pub mod host_checks;
pub mod host_events;
mod host_state;
pub mod injection;
pub mod mitigations;
pub mod mmio;
pub mod msr_values;
pub mod regs;
mod vcpu;
mod vmcs;
pub mod vpid;
pub mod xstate;

pub use vpid::{Vpid, VpidAllocator, allocate_vpid};

pub use config::{Controls, ISOLATION, VcpuConfig, compute_controls, refuse_page_controls};
pub use config::{ExecControl, with_exec_control};
pub use config::{ISOLATION_WITH_TPR_SHADOW, isolation};
pub use cpu::{MAX_ACTIVE_VMCS, VmxCpu};
pub use ept::{Ept, EptUser, FlushError, HostMemory};
pub use error::{
    AllocWhat, Completion, EntryCheck, EntryInstruction, PageControl, VcpuFeature, VmxError,
    VmxInstruction,
};
pub use event::{Event, InjectionOutcome, InjectionReport};
pub use exit::VmExit;
pub use host::{FRAME_SIZE, VmxHost};
pub use host_state::HostState;
pub use vcpu::{
    Flow, IA32_CSTAR, IA32_FMASK, IA32_KERNEL_GS_BASE, IA32_LSTAR, IA32_STAR, IA32_TSC_AUX,
    IA32_XSS, Vcpu, VmxVcpu,
};
pub use vcpu::{MigrateError, MigrateFailure, ParkedVcpu, SharedHost};
pub use vcpu::{cr_rules, dr_rules, sipi};
pub use vmcs::{Vmcs, VmcsState};
pub use vmx_defs::addr::{GuestPhysAddr, HostPhysAddr};
/// The software VM-entry checker behind [`Vcpu::diagnose_entry`] (SDM Vol. 3C §27.2-§27.4).
pub use vmx_entry_check;
