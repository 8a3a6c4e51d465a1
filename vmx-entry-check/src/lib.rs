//! A software VM-entry checker for Intel VT-x: given a snapshot of the VMCS fields and the
//! processor's capabilities, it runs every check VMLAUNCH/VMRESUME performs on the VMX
//! controls and host state (SDM Vol. 3C §27.2), on the guest state (§27.3.1) and on the
//! VM-entry MSR-load area (§27.4), and says which checks fail and what the processor does
//! first: `VMfailValid(7)`, `VMfailValid(8)`, or a VM-entry failure with exit reason 33 or
//! 34 ([`Outcome`]).
//!
//! - Input: a [`VmcsSnapshot`] (built from any [`VmcsSource`]) and a [`CheckContext`]
//!   (capability MSRs, MAXPHYADDR, CPUID facts, memory contents when known).
//! - Output: a [`Diagnosis`]: every [`Failure`] with its [`CheckId`] (stable name, SDM
//!   section, rule in words), the fields and values involved, and the [`Outcome`];
//!   [`Diagnosis::outcome`] is what the processor reports.
//! - One public function per check, grouped by SDM section: [`controls`] (§27.2.1),
//!   [`host_state`] (§27.2.2-§27.2.4), [`guest_state`] (§27.3.1), [`msr_load`] (§27.4).
//! - [`mutations`]: targeted and random mutations of a valid snapshot, for differential
//!   tests against a processor or an emulator.
//!
//! The crate is `no_std`, has no `unsafe` code, no inline assembly and no allocation; it
//! does not need `vmx-vcpu`, so a nested hypervisor can check its guest's VMCS with it.
//!
//! ```
//! use vmx_defs::capabilities::{RawVmxMsrs, VmxCapabilities};
//! use vmx_defs::vmcs::fields as f;
//! use vmx_entry_check::{CheckContext, CheckId, Outcome, VmcsSnapshot, check};
//!
//! // IA32_VMX_* of a Core 2 (no secondary controls), MAXPHYADDR 36.
//! let caps = VmxCapabilities::from_raw(RawVmxMsrs {
//!     basic: 0x00d8_1000_0000_002b,
//!     pinbased_ctls: 0x0000_003f_0000_0016,
//!     procbased_ctls: 0xf7f9_fffe_0401_e172,
//!     exit_ctls: 0x007f_ffff_0003_6dff,
//!     entry_ctls: 0x0000_ffff_0000_11ff,
//!     misc: 0x0000_0000_0000_01e0,
//!     cr0_fixed0: 0x8000_0021,
//!     cr0_fixed1: 0xffff_ffff,
//!     cr4_fixed0: 0x2000,
//!     cr4_fixed1: 0x3727ff,
//!     ..RawVmxMsrs::default()
//! });
//! let ctx = CheckContext::new(caps, 36);
//! let mut vmcs = VmcsSnapshot::new();
//! vmcs.set(f::CTRL_PIN_BASED_EXEC_CONTROLS, 0x16);
//! vmcs.set(f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS, 0x0401_e172);
//! vmcs.set(f::CTRL_PRIMARY_VMEXIT_CONTROLS, 0x36dff);
//! vmcs.set(f::CTRL_VMENTRY_CONTROLS, 0x13ff);
//! vmcs.set(f::CTRL_CR3_TARGET_COUNT, 5); // IA32_VMX_MISC allows 0
//! vmcs.set(f::HOST_CR0, 0x8000_0031);
//!
//! let diagnosis = check(&vmcs, &ctx);
//! assert!(diagnosis.failed(CheckId::Cr3TargetCount));
//! assert_eq!(diagnosis.outcome(), Some(Outcome::VmFailValid(7)));
//! let first = diagnosis.first().unwrap();
//! assert_eq!(first.id.section(), "27.2.1.1");
//! println!("{diagnosis}");
//! ```
#![no_std]
#![forbid(unsafe_code)]

pub mod bits;
mod check_id;
mod checker;
mod context;
pub mod controls;
mod diagnosis;
pub mod guest_state;
pub mod host_state;
pub mod msr_load;
mod msr_state;
pub mod mutations;
mod snapshot;

pub use check_id::{CheckClass, CheckId};
pub use checker::Checker;
pub use context::{CheckContext, CpuFeatures, MsrMasks};
pub use diagnosis::{ABSENT_CAPACITY, CAPACITY, Diagnosis, Failure, FieldValue, Outcome};
pub use snapshot::{SNAPSHOT_CAPACITY, VmcsSnapshot, VmcsSource};

/// Runs every VM-entry check of SDM Vol. 3C §27.2 (controls, then host state), §27.3.1
/// (guest state) and §27.4 (MSR loading, when the context carries the area), in the SDM's
/// order, and returns every failure.
pub fn check(vmcs: &VmcsSnapshot, ctx: &CheckContext<'_>) -> Diagnosis {
    let mut c = Checker::new(vmcs, ctx);
    controls::check_all(&mut c);
    host_state::check_all(&mut c);
    guest_state::check_all(&mut c);
    msr_load::check_all(&mut c);
    c.finish()
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
