//! The raw values of every VMX capability MSR one processor reported (SDM Vol. 3D
//! Appendix A), kept for dumps and diagnostics.

use super::msr;

/// The raw capability MSR values of one processor, as read by
/// [`VmxCapabilities::from_msrs`](super::VmxCapabilities::from_msrs).
///
/// MSRs that exist only on some processors (SDM Vol. 3D Appendix A) are `Option`s: `None`
/// means the MSR does not exist on that processor and was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawVmxMsrs {
    /// IA32_FEATURE_CONTROL (0x3A) at the time of reading.
    pub feature_control: u64,
    /// IA32_VMX_BASIC (0x480).
    pub basic: u64,
    /// IA32_VMX_PINBASED_CTLS (0x481).
    pub pinbased_ctls: u64,
    /// IA32_VMX_PROCBASED_CTLS (0x482).
    pub procbased_ctls: u64,
    /// IA32_VMX_EXIT_CTLS (0x483).
    pub exit_ctls: u64,
    /// IA32_VMX_ENTRY_CTLS (0x484).
    pub entry_ctls: u64,
    /// IA32_VMX_MISC (0x485).
    pub misc: u64,
    /// IA32_VMX_CR0_FIXED0 (0x486).
    pub cr0_fixed0: u64,
    /// IA32_VMX_CR0_FIXED1 (0x487).
    pub cr0_fixed1: u64,
    /// IA32_VMX_CR4_FIXED0 (0x488).
    pub cr4_fixed0: u64,
    /// IA32_VMX_CR4_FIXED1 (0x489).
    pub cr4_fixed1: u64,
    /// IA32_VMX_VMCS_ENUM (0x48A).
    pub vmcs_enum: u64,
    /// IA32_VMX_PROCBASED_CTLS2 (0x48B), if IA32_VMX_PROCBASED_CTLS\[63\] is 1.
    pub procbased_ctls2: Option<u64>,
    /// IA32_VMX_EPT_VPID_CAP (0x48C), if secondary "enable EPT" or "enable VPID" may be 1.
    pub ept_vpid_cap: Option<u64>,
    /// IA32_VMX_TRUE_PINBASED_CTLS (0x48D), if IA32_VMX_BASIC\[55\] is 1.
    pub true_pinbased_ctls: Option<u64>,
    /// IA32_VMX_TRUE_PROCBASED_CTLS (0x48E), if IA32_VMX_BASIC\[55\] is 1.
    pub true_procbased_ctls: Option<u64>,
    /// IA32_VMX_TRUE_EXIT_CTLS (0x48F), if IA32_VMX_BASIC\[55\] is 1.
    pub true_exit_ctls: Option<u64>,
    /// IA32_VMX_TRUE_ENTRY_CTLS (0x490), if IA32_VMX_BASIC\[55\] is 1.
    pub true_entry_ctls: Option<u64>,
    /// IA32_VMX_VMFUNC (0x491), if secondary "enable VM functions" may be 1.
    pub vmfunc: Option<u64>,
    /// IA32_VMX_PROCBASED_CTLS3 (0x492), if IA32_VMX_PROCBASED_CTLS\[49\] is 1.
    pub procbased_ctls3: Option<u64>,
    /// IA32_VMX_EXIT_CTLS2 (0x493), if IA32_VMX_EXIT_CTLS\[63\] is 1.
    pub exit_ctls2: Option<u64>,
}

impl RawVmxMsrs {
    /// Every MSR index with its value (`None` if the MSR does not exist), in index order.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn all(&self) -> [(u32, Option<u64>); 21] {
        [
            (msr::IA32_FEATURE_CONTROL, Some(self.feature_control)),
            (msr::IA32_VMX_BASIC, Some(self.basic)),
            (msr::IA32_VMX_PINBASED_CTLS, Some(self.pinbased_ctls)),
            (msr::IA32_VMX_PROCBASED_CTLS, Some(self.procbased_ctls)),
            (msr::IA32_VMX_EXIT_CTLS, Some(self.exit_ctls)),
            (msr::IA32_VMX_ENTRY_CTLS, Some(self.entry_ctls)),
            (msr::IA32_VMX_MISC, Some(self.misc)),
            (msr::IA32_VMX_CR0_FIXED0, Some(self.cr0_fixed0)),
            (msr::IA32_VMX_CR0_FIXED1, Some(self.cr0_fixed1)),
            (msr::IA32_VMX_CR4_FIXED0, Some(self.cr4_fixed0)),
            (msr::IA32_VMX_CR4_FIXED1, Some(self.cr4_fixed1)),
            (msr::IA32_VMX_VMCS_ENUM, Some(self.vmcs_enum)),
            (msr::IA32_VMX_PROCBASED_CTLS2, self.procbased_ctls2),
            (msr::IA32_VMX_EPT_VPID_CAP, self.ept_vpid_cap),
            (msr::IA32_VMX_TRUE_PINBASED_CTLS, self.true_pinbased_ctls),
            (msr::IA32_VMX_TRUE_PROCBASED_CTLS, self.true_procbased_ctls),
            (msr::IA32_VMX_TRUE_EXIT_CTLS, self.true_exit_ctls),
            (msr::IA32_VMX_TRUE_ENTRY_CTLS, self.true_entry_ctls),
            (msr::IA32_VMX_VMFUNC, self.vmfunc),
            (msr::IA32_VMX_PROCBASED_CTLS3, self.procbased_ctls3),
            (msr::IA32_VMX_EXIT_CTLS2, self.exit_ctls2),
        ]
    }

    /// The MSRs that were read, as `(index, value)` in index order (for dumps; pair with
    /// [`msr::name`]).
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn present(&self) -> impl Iterator<Item = (u32, u64)> {
        self.all()
            .into_iter()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
    }

    /// The value of MSR `index`, if it is one of these MSRs and was read.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn get(&self, index: u32) -> Option<u64> {
        self.all()
            .into_iter()
            .find(|(i, _)| *i == index)
            .and_then(|(_, v)| v)
    }
}
