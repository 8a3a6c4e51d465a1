//! Secondary VM-exit controls: [`SecondaryExitControls`].

bitflags::bitflags! {
    /// Secondary VM-exit controls (SDM Vol. 3C §25.7.1 "VM-Exit Controls", Table
    /// 25-14).
    ///
    /// VMCS field `CTRL_SECONDARY_VMEXIT_CONTROLS` (0x2044, 64 bits), used only when
    /// the primary VM-exit control "activate secondary controls" (bit 31) is 1;
    /// capability MSR IA32_VMX_EXIT_CTLS2 (0x493, allowed-1 settings only), SDM Vol. 3D
    /// §A.4.2.
    ///
    /// Every bit is retained (`const _ = !0`): a capability MSR of a newer processor
    /// may report controls this crate does not name, and they must survive parsing and
    /// adjusting. Use [`Self::DEFINED`] for the bits that have a name here, and
    /// [`Self::DEFAULT1`] for the reserved bits that are one by default.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct SecondaryExitControls: u64 {
        /// Bit 0: Guest FRED MSRs (IA32_FRED_CONFIG/RSP1-3/STKLVLS/SSP1-3) saved on
        /// VM exit.
        ///
        /// Notes: newer than ia32-doc; Bochs SAVE_GUEST_FRED, Linux
        /// SECONDARY_VM_EXIT_SAVE_IA32_FRED, HyveMind save_fred.
        const SAVE_FRED = 1 << 0;
        /// Bit 1: Host FRED MSRs loaded on VM exit.
        ///
        /// Notes: newer than ia32-doc; Bochs LOAD_HOST_FRED, Linux
        /// SECONDARY_VM_EXIT_LOAD_IA32_FRED, HyveMind load_fred.
        const LOAD_FRED = 1 << 1;
        /// Bit 2: Host IA32_SPEC_CTRL loaded on VM exit (host field 0x2C1A).
        ///
        /// Notes: newer than ia32-doc; Bochs LOAD_HOST_IA32_SPEC_CTRL, HyveMind
        /// load_ia32_spec_ctrl.
        const LOAD_IA32_SPEC_CTRL = 1 << 2;
        /// Bit 3: VM exit reports (exit-reason bit 25) when it causes a shadow
        /// stack to become prematurely busy.
        const PREMATURELY_BUSY_SHADOW_STACK = 1 << 3;
        // Keep bits this crate does not name (newer processors).
        const _ = !0;
    }
}

impl SecondaryExitControls {
    /// The default1 class: reserved bits that are 1 in the default setting (0x0; SDM
    /// Vol. 3D §A.2). A processor that lacks IA32_VMX_BASIC bit 55 (TRUE capability
    /// MSRs) requires them all to be 1; the named bits among them may be 0 only if the
    /// TRUE MSR allows it.
    pub const DEFAULT1: Self = Self::from_bits_retain(0x0);

    /// Every bit that has a name in this crate (0xf).
    ///
    /// SDM Vol. 3C §25.7.1.
    pub const DEFINED: Self = Self::from_bits_retain(0xf);
}
