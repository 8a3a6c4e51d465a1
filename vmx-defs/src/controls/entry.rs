//! VM-entry controls: [`EntryControls`].

bitflags::bitflags! {
    /// VM-entry controls (SDM Vol. 3C §25.8.1 "VM-Entry Controls", Table 25-16).
    ///
    /// VMCS field `CTRL_VMENTRY_CONTROLS` (0x4012); capability MSRs IA32_VMX_ENTRY_CTLS
    /// (0x484) and IA32_VMX_TRUE_ENTRY_CTLS (0x490), SDM Vol. 3D §A.5.
    ///
    /// Every bit is retained (`const _ = !0`): a capability MSR of a newer processor
    /// may report controls this crate does not name, and they must survive parsing and
    /// adjusting. Use [`Self::DEFINED`] for the bits that have a name here, and
    /// [`Self::DEFAULT1`] for the reserved bits that are one by default.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct EntryControls: u32 {
        /// Bit 2: DR7 and IA32_DEBUGCTL loaded on VM entry.
        ///
        /// Default1 control: without the TRUE capability MSR this bit must be 1
        /// (SDM Vol. 3D §A.2).
        ///
        /// Notes: DISAGREEMENT: ancient Linux vmx.h defined 0x2 (bit 1), current
        /// Linux 0x4.
        const LOAD_DEBUG_CONTROLS = 1 << 2;
        /// Bit 9: Logical processor in IA-32e mode after VM entry (IA32_EFER.LMA
        /// loaded from this control).
        const IA32E_MODE_GUEST = 1 << 9;
        /// Bit 10: Logical processor in SMM after VM entry (only from SMM).
        const ENTRY_TO_SMM = 1 << 10;
        /// Bit 11: Default treatment of SMIs and SMM in effect after VM entry (only
        /// from SMM).
        const DEACTIVATE_DUAL_MONITOR_TREATMENT = 1 << 11;
        /// Bit 13: IA32_PERF_GLOBAL_CTRL loaded on VM entry.
        const LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 13;
        /// Bit 14: IA32_PAT loaded on VM entry.
        const LOAD_IA32_PAT = 1 << 14;
        /// Bit 15: IA32_EFER loaded on VM entry.
        const LOAD_IA32_EFER = 1 << 15;
        /// Bit 16: IA32_BNDCFGS loaded on VM entry.
        const LOAD_IA32_BNDCFGS = 1 << 16;
        /// Bit 17: Intel PT does not produce PIP on VM entry or VMCS packet on VM
        /// entry returning from SMM.
        const CONCEAL_VMX_FROM_PT = 1 << 17;
        /// Bit 18: IA32_RTIT_CTL loaded on VM entry.
        const LOAD_IA32_RTIT_CTL = 1 << 18;
        /// Bit 19: UINV loaded on VM entry.
        const LOAD_UINV = 1 << 19;
        /// Bit 20: Guest IA32_S_CET, SSP and IA32_INTERRUPT_SSP_TABLE_ADDR loaded
        /// on VM entry.
        const LOAD_CET_STATE = 1 << 20;
        /// Bit 21: IA32_LBR_CTL loaded on VM entry.
        const LOAD_GUEST_IA32_LBR_CTL = 1 << 21;
        /// Bit 22: IA32_PKRS loaded on VM entry.
        const LOAD_PKRS = 1 << 22;
        /// Bit 23: Guest FRED MSRs loaded on VM entry.
        ///
        /// Notes: newer than ia32-doc; Bochs LOAD_GUEST_FRED, Linux
        /// VM_ENTRY_LOAD_IA32_FRED, HyveMind load_fred.
        const LOAD_FRED = 1 << 23;
        /// Bit 24: Guest IA32_SPEC_CTRL loaded on VM entry (guest field 0x282E).
        ///
        /// Notes: newer than ia32-doc; Bochs LOAD_GUEST_IA32_SPEC_CTRL, HyveMind
        /// load_ia32_spec_ctrl.
        const LOAD_IA32_SPEC_CTRL = 1 << 24;
        /// Bit 25: Allow SEAM guest telemetry.
        ///
        /// Notes: SINGLE SOURCE (HyveMind allow_seam_guest_telemetry); newer than
        /// ia32-doc/Bochs.
        const ALLOW_SEAM_GUEST_TELEMETRY = 1 << 25;
        // Keep bits this crate does not name (newer processors).
        const _ = !0;
    }
}

impl EntryControls {
    /// The default1 class: reserved bits that are 1 in the default setting (0x11ff; SDM
    /// Vol. 3D §A.2). A processor that lacks IA32_VMX_BASIC bit 55 (TRUE capability
    /// MSRs) requires them all to be 1; the named bits among them may be 0 only if the
    /// TRUE MSR allows it.
    pub const DEFAULT1: Self = Self::from_bits_retain(0x11ff);

    /// Every bit that has a name in this crate (0x3ffee04).
    ///
    /// SDM Vol. 3C §25.8.1.
    pub const DEFINED: Self = Self::from_bits_retain(0x3ffee04);
}
