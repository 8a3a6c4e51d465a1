//! Fixtures shared by the vmx-vcpu integration tests: Bochs-like capability values and a
//! 64-bit guest start state. Each test binary uses only some of them.
#![allow(dead_code)]

use vmx_defs::capabilities::{RawVmxMsrs, VmxCapabilities};
use vmx_vcpu::guest::{DescriptorTableRegister, GuestState, Segment};

/// The capability MSRs of corei7_skylake_x (TRUE MSRs; ../shared/bochs/models.tsv) with
/// `ctls2` as IA32_VMX_PROCBASED_CTLS2 (allowed-1 in the high half).
pub fn skylake_x_msrs(ctls2: u64) -> RawVmxMsrs {
    RawVmxMsrs {
        feature_control: 5,
        basic: 0x00d8_1000_0000_002b,
        pinbased_ctls: 0x0000_007f_0000_0016,
        procbased_ctls: 0xf7f9_fffe_0401_e172,
        exit_ctls: 0x007f_ffff_0003_6dff,
        entry_ctls: 0x0000_ffff_0000_11ff,
        misc: 0x6004_01e0,
        cr0_fixed0: 0x8000_0021,
        cr0_fixed1: 0xffff_ffff,
        cr4_fixed0: 0x2000,
        cr4_fixed1: 0x3727ff,
        vmcs_enum: 0x34,
        procbased_ctls2: Some(ctls2),
        ept_vpid_cap: Some(0x0000_0f01_0633_4141),
        true_pinbased_ctls: Some(0x0000_007f_0000_0016),
        true_procbased_ctls: Some(0xf7f9_fffe_0400_6172),
        true_exit_ctls: Some(0x007f_ffff_0003_6dfb),
        true_entry_ctls: Some(0x0000_ffff_0000_11fb),
        ..RawVmxMsrs::default()
    }
}

/// [`skylake_x_msrs`] decoded.
pub fn skylake_x_caps(ctls2: u64) -> VmxCapabilities {
    VmxCapabilities::from_raw(skylake_x_msrs(ctls2))
}

/// A 64-bit guest: CR3 0x1000, RIP 0x2000, RSP 0x3000, TSS at 0x4000 (selector 0x18),
/// GDT at 0x5000 (5 entries), IDT at 0x6000 (256 entries).
pub fn long_guest() -> GuestState {
    GuestState::long_mode(
        0x1000,
        0x2000,
        0x3000,
        Segment::tss(0x18, 0x4000, 0x67),
        DescriptorTableRegister {
            base: 0x5000,
            limit: 39,
        },
        DescriptorTableRegister {
            base: 0x6000,
            limit: 4095,
        },
    )
}
