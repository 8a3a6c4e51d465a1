//! MSR indices of the VMX capability-reporting facility (SDM Vol. 3D Appendix A) and of
//! IA32_FEATURE_CONTROL (SDM Vol. 3C §24.7, "Enabling and Entering VMX Operation").
//!
//! Several of these MSRs exist only on some processors; reading one that does not exist
//! raises #GP. [`VmxCapabilities::from_msrs`](super::VmxCapabilities::from_msrs) follows the
//! existence rules of Vol. 3D Appendix A; [`exists_if`] states them for each MSR.

/// IA32_FEATURE_CONTROL: lock bit and VMX enables; exists if CPUID.01H:ECX.VMX\[5\] or
/// CPUID.01H:ECX.SMX\[6\] is 1 (SDM Vol. 3C §24.7).
pub const IA32_FEATURE_CONTROL: u32 = 0x3A;
/// IA32_VMX_BASIC: basic VMX information (SDM Vol. 3D §A.1).
pub const IA32_VMX_BASIC: u32 = 0x480;
/// IA32_VMX_PINBASED_CTLS: allowed settings of the pin-based VM-execution controls
/// (SDM Vol. 3D §A.3.1).
pub const IA32_VMX_PINBASED_CTLS: u32 = 0x481;
/// IA32_VMX_PROCBASED_CTLS: allowed settings of the primary processor-based VM-execution
/// controls (SDM Vol. 3D §A.3.2).
pub const IA32_VMX_PROCBASED_CTLS: u32 = 0x482;
/// IA32_VMX_EXIT_CTLS: allowed settings of the primary VM-exit controls (SDM Vol. 3D §A.4.1).
pub const IA32_VMX_EXIT_CTLS: u32 = 0x483;
/// IA32_VMX_ENTRY_CTLS: allowed settings of the VM-entry controls (SDM Vol. 3D §A.5).
pub const IA32_VMX_ENTRY_CTLS: u32 = 0x484;
/// IA32_VMX_MISC: miscellaneous VMX data (SDM Vol. 3D §A.6).
pub const IA32_VMX_MISC: u32 = 0x485;
/// IA32_VMX_CR0_FIXED0: CR0 bits fixed to 1 in VMX operation (SDM Vol. 3D §A.7).
pub const IA32_VMX_CR0_FIXED0: u32 = 0x486;
/// IA32_VMX_CR0_FIXED1: CR0 bits allowed to be 1 in VMX operation (SDM Vol. 3D §A.7).
pub const IA32_VMX_CR0_FIXED1: u32 = 0x487;
/// IA32_VMX_CR4_FIXED0: CR4 bits fixed to 1 in VMX operation (SDM Vol. 3D §A.8).
pub const IA32_VMX_CR4_FIXED0: u32 = 0x488;
/// IA32_VMX_CR4_FIXED1: CR4 bits allowed to be 1 in VMX operation (SDM Vol. 3D §A.8).
pub const IA32_VMX_CR4_FIXED1: u32 = 0x489;
/// IA32_VMX_VMCS_ENUM: highest index used in VMCS field encodings (SDM Vol. 3D §A.9).
pub const IA32_VMX_VMCS_ENUM: u32 = 0x48A;
/// IA32_VMX_PROCBASED_CTLS2: allowed settings of the secondary processor-based
/// VM-execution controls; exists only if IA32_VMX_PROCBASED_CTLS\[63\] is 1
/// (SDM Vol. 3D §A.3.3).
pub const IA32_VMX_PROCBASED_CTLS2: u32 = 0x48B;
/// IA32_VMX_EPT_VPID_CAP: EPT and VPID capabilities; exists only if the "enable EPT" or
/// "enable VPID" secondary control may be 1 (SDM Vol. 3D §A.10).
pub const IA32_VMX_EPT_VPID_CAP: u32 = 0x48C;
/// IA32_VMX_TRUE_PINBASED_CTLS: allowed settings of the pin-based controls including
/// default1 controls that may be 0; exists only if IA32_VMX_BASIC\[55\] is 1
/// (SDM Vol. 3D §A.3.1).
pub const IA32_VMX_TRUE_PINBASED_CTLS: u32 = 0x48D;
/// IA32_VMX_TRUE_PROCBASED_CTLS: TRUE allowed settings of the primary processor-based
/// controls; exists only if IA32_VMX_BASIC\[55\] is 1 (SDM Vol. 3D §A.3.2).
pub const IA32_VMX_TRUE_PROCBASED_CTLS: u32 = 0x48E;
/// IA32_VMX_TRUE_EXIT_CTLS: TRUE allowed settings of the primary VM-exit controls; exists
/// only if IA32_VMX_BASIC\[55\] is 1 (SDM Vol. 3D §A.4.1).
pub const IA32_VMX_TRUE_EXIT_CTLS: u32 = 0x48F;
/// IA32_VMX_TRUE_ENTRY_CTLS: TRUE allowed settings of the VM-entry controls; exists only if
/// IA32_VMX_BASIC\[55\] is 1 (SDM Vol. 3D §A.5).
pub const IA32_VMX_TRUE_ENTRY_CTLS: u32 = 0x490;
/// IA32_VMX_VMFUNC: VM functions that may be enabled; exists only if the "enable VM
/// functions" secondary control may be 1 (SDM Vol. 3D §A.11).
pub const IA32_VMX_VMFUNC: u32 = 0x491;
/// IA32_VMX_PROCBASED_CTLS3: allowed 1-settings of the tertiary processor-based
/// VM-execution controls; exists only if IA32_VMX_PROCBASED_CTLS\[49\] is 1
/// (SDM Vol. 3D §A.3.4).
pub const IA32_VMX_PROCBASED_CTLS3: u32 = 0x492;
/// IA32_VMX_EXIT_CTLS2: allowed 1-settings of the secondary VM-exit controls; exists only if
/// IA32_VMX_EXIT_CTLS\[63\] is 1 (SDM Vol. 3D §A.4.2).
pub const IA32_VMX_EXIT_CTLS2: u32 = 0x493;

/// Every MSR of this module with its SDM name, in index order (for dumps and diagnostics).
pub const ALL: &[(u32, &str)] = &[
    (IA32_FEATURE_CONTROL, "IA32_FEATURE_CONTROL"),
    (IA32_VMX_BASIC, "IA32_VMX_BASIC"),
    (IA32_VMX_PINBASED_CTLS, "IA32_VMX_PINBASED_CTLS"),
    (IA32_VMX_PROCBASED_CTLS, "IA32_VMX_PROCBASED_CTLS"),
    (IA32_VMX_EXIT_CTLS, "IA32_VMX_EXIT_CTLS"),
    (IA32_VMX_ENTRY_CTLS, "IA32_VMX_ENTRY_CTLS"),
    (IA32_VMX_MISC, "IA32_VMX_MISC"),
    (IA32_VMX_CR0_FIXED0, "IA32_VMX_CR0_FIXED0"),
    (IA32_VMX_CR0_FIXED1, "IA32_VMX_CR0_FIXED1"),
    (IA32_VMX_CR4_FIXED0, "IA32_VMX_CR4_FIXED0"),
    (IA32_VMX_CR4_FIXED1, "IA32_VMX_CR4_FIXED1"),
    (IA32_VMX_VMCS_ENUM, "IA32_VMX_VMCS_ENUM"),
    (IA32_VMX_PROCBASED_CTLS2, "IA32_VMX_PROCBASED_CTLS2"),
    (IA32_VMX_EPT_VPID_CAP, "IA32_VMX_EPT_VPID_CAP"),
    (IA32_VMX_TRUE_PINBASED_CTLS, "IA32_VMX_TRUE_PINBASED_CTLS"),
    (IA32_VMX_TRUE_PROCBASED_CTLS, "IA32_VMX_TRUE_PROCBASED_CTLS"),
    (IA32_VMX_TRUE_EXIT_CTLS, "IA32_VMX_TRUE_EXIT_CTLS"),
    (IA32_VMX_TRUE_ENTRY_CTLS, "IA32_VMX_TRUE_ENTRY_CTLS"),
    (IA32_VMX_VMFUNC, "IA32_VMX_VMFUNC"),
    (IA32_VMX_PROCBASED_CTLS3, "IA32_VMX_PROCBASED_CTLS3"),
    (IA32_VMX_EXIT_CTLS2, "IA32_VMX_EXIT_CTLS2"),
];

/// The SDM name of one of this module's MSRs, or `None` for any other index.
pub fn name(index: u32) -> Option<&'static str> {
    ALL.iter().find(|(i, _)| *i == index).map(|(_, n)| *n)
}

/// When an MSR of this module exists (reading it otherwise raises #GP), as the SDM states
/// it in Vol. 3D Appendix A; `None` for an index this module does not define.
pub fn exists_if(index: u32) -> Option<&'static str> {
    Some(match index {
        IA32_FEATURE_CONTROL => "CPUID.01H:ECX.VMX[5] = 1 or CPUID.01H:ECX.SMX[6] = 1",
        IA32_VMX_BASIC..=IA32_VMX_VMCS_ENUM => "CPUID.01H:ECX.VMX[5] = 1",
        IA32_VMX_PROCBASED_CTLS2 => "IA32_VMX_PROCBASED_CTLS[63] = 1",
        IA32_VMX_EPT_VPID_CAP => {
            "IA32_VMX_PROCBASED_CTLS2[33] = 1 or IA32_VMX_PROCBASED_CTLS2[37] = 1"
        }
        IA32_VMX_TRUE_PINBASED_CTLS..=IA32_VMX_TRUE_ENTRY_CTLS => "IA32_VMX_BASIC[55] = 1",
        IA32_VMX_VMFUNC => "IA32_VMX_PROCBASED_CTLS2[45] = 1",
        IA32_VMX_PROCBASED_CTLS3 => "IA32_VMX_PROCBASED_CTLS[49] = 1",
        IA32_VMX_EXIT_CTLS2 => "IA32_VMX_EXIT_CTLS[63] = 1",
        _ => return None,
    })
}
