//! VMX capability MSRs (SDM Vol. 3D Appendix A, "VMX Capability Reporting Facility").
//!
//! One file per MSR: [`msr`] (indices), [`FeatureControl`] (0x3A), [`VmxBasic`] (0x480, §A.1),
//! [`AllowedSettings`] (the control MSRs 0x481-0x484, 0x48B, 0x48D-0x490, 0x492, 0x493;
//! §A.3-§A.5), [`VmxMisc`] (0x485, §A.6), [`FixedBits`] (0x486-0x489, §A.7, §A.8),
//! [`VmcsEnum`] (0x48A, §A.9), [`EptVpidCap`] (0x48C, §A.10), [`VmFuncControls`] (0x491,
//! §A.11); [`VmxCapabilities`] reads them all and answers one predicate per feature.

mod allowed;
mod basic;
mod control_bits;
mod control_kind;
mod ept_vpid;
mod feature_control;
mod features;
mod fixed;
mod misc;
pub mod msr;
mod raw;
mod vmcs_enum;
mod vmfunc;
mod vmx_capabilities;

pub use allowed::{AllowedSettings, ControlAdjustError};
pub use basic::{VmxBasic, VmxBasicError};
pub use control_bits::ControlBits;
pub use control_kind::ControlKind;
pub use ept_vpid::EptVpidCap;
pub use feature_control::FeatureControl;
pub use fixed::{CR0_NE, CR0_PE, CR0_PG, CR4_VMXE, FixedBits, FixedBitsError, FixedRegister};
pub use misc::{VmxMisc, VmxMiscError};
pub use raw::RawVmxMsrs;
pub use vmcs_enum::VmcsEnum;
pub use vmfunc::VmFuncControls;
pub use vmx_capabilities::{CapabilityError, VmxCapabilities};
