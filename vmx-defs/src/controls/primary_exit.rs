//! Primary VM-exit controls: [`PrimaryExitControls`].

bitflags::bitflags! {
    /// Primary VM-exit controls (SDM Vol. 3C §25.7.1 "VM-Exit Controls", Table 25-13).
    ///
    /// VMCS field `CTRL_PRIMARY_VMEXIT_CONTROLS` (0x400C); capability MSRs
    /// IA32_VMX_EXIT_CTLS (0x483) and IA32_VMX_TRUE_EXIT_CTLS (0x48F), SDM Vol. 3D
    /// §A.4.1.
    ///
    /// Every bit is retained (`const _ = !0`): a capability MSR of a newer processor
    /// may report controls this crate does not name, and they must survive parsing and
    /// adjusting. Use [`Self::DEFINED`] for the bits that have a name here, and
    /// [`Self::DEFAULT1`] for the reserved bits that are one by default.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct PrimaryExitControls: u32 {
        /// Bit 2: DR7 and IA32_DEBUGCTL saved on VM exit.
        ///
        /// Default1 control: without the TRUE capability MSR this bit must be 1
        /// (SDM Vol. 3D §A.2).
        ///
        /// Notes: DISAGREEMENT: ancient Linux vmx.h defined 0x2 (bit 1), current
        /// Linux 0x4.
        const SAVE_DEBUG_CONTROLS = 1 << 2;
        /// Bit 9: Logical processor in 64-bit mode after VM exit (loads CS.L,
        /// IA32_EFER.LME/LMA).
        const HOST_ADDRESS_SPACE_SIZE = 1 << 9;
        /// Bit 12: IA32_PERF_GLOBAL_CTRL loaded on VM exit.
        const LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 12;
        /// Bit 15: External-interrupt VM exit acknowledges the interrupt controller
        /// and stores vector in VM-exit interruption info.
        const ACKNOWLEDGE_INTERRUPT_ON_EXIT = 1 << 15;
        /// Bit 18: IA32_PAT saved on VM exit.
        const SAVE_IA32_PAT = 1 << 18;
        /// Bit 19: IA32_PAT loaded on VM exit.
        const LOAD_IA32_PAT = 1 << 19;
        /// Bit 20: IA32_EFER saved on VM exit.
        const SAVE_IA32_EFER = 1 << 20;
        /// Bit 21: IA32_EFER loaded on VM exit.
        const LOAD_IA32_EFER = 1 << 21;
        /// Bit 22: VMX-preemption timer value saved on VM exit.
        const SAVE_VMX_PREEMPTION_TIMER_VALUE = 1 << 22;
        /// Bit 23: IA32_BNDCFGS cleared on VM exit.
        const CLEAR_IA32_BNDCFGS = 1 << 23;
        /// Bit 24: Intel PT does not produce PIP on VM exit or VMCS packet on SMM
        /// VM exit.
        const CONCEAL_VMX_FROM_PT = 1 << 24;
        /// Bit 25: IA32_RTIT_CTL cleared on VM exit.
        const CLEAR_IA32_RTIT_CTL = 1 << 25;
        /// Bit 26: IA32_LBR_CTL cleared on VM exit.
        const CLEAR_IA32_LBR_CTL = 1 << 26;
        /// Bit 27: UINV cleared on VM exit.
        const CLEAR_UINV = 1 << 27;
        /// Bit 28: IA32_S_CET, SSP and IA32_INTERRUPT_SSP_TABLE_ADDR loaded on VM
        /// exit.
        const LOAD_CET_STATE = 1 << 28;
        /// Bit 29: IA32_PKRS loaded on VM exit.
        const LOAD_PKRS = 1 << 29;
        /// Bit 30: IA32_PERF_GLOBAL_CTL saved on VM exit.
        const SAVE_IA32_PERF_GLOBAL_CTL = 1 << 30;
        /// Bit 31: Secondary VM-exit controls (field 0x2044) are used.
        const ACTIVATE_SECONDARY_CONTROLS = 1 << 31;
        // Keep bits this crate does not name (newer processors).
        const _ = !0;
    }
}

impl PrimaryExitControls {
    /// The default1 class: reserved bits that are 1 in the default setting (0x36dff;
    /// SDM Vol. 3D §A.2). A processor that lacks IA32_VMX_BASIC bit 55 (TRUE capability
    /// MSRs) requires them all to be 1; the named bits among them may be 0 only if the
    /// TRUE MSR allows it.
    pub const DEFAULT1: Self = Self::from_bits_retain(0x36dff);

    /// Every bit that has a name in this crate (0xfffc9204).
    ///
    /// SDM Vol. 3C §25.7.1.
    pub const DEFINED: Self = Self::from_bits_retain(0xfffc9204);
}
