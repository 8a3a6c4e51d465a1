//! VMX capability MSRs (SDM Vol. 3D, Appendix A, "VMX Capability Reporting Facility").

mod ept_vpid;

pub use ept_vpid::EptVpidCap;
