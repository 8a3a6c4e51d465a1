//! Pin-based VM-execution controls: [`PinBasedControls`].

bitflags::bitflags! {
    /// Pin-based VM-execution controls (SDM Vol. 3C §25.6.1 "Pin-Based VM-Execution
    /// Controls", Table 25-5).
    ///
    /// VMCS field `CTRL_PIN_BASED_EXEC_CONTROLS` (0x4000); capability MSRs
    /// IA32_VMX_PINBASED_CTLS (0x481) and IA32_VMX_TRUE_PINBASED_CTLS (0x48D), SDM Vol.
    /// 3D §A.3.1.
    ///
    /// Every bit is retained (`const _ = !0`): a capability MSR of a newer processor
    /// may report controls this crate does not name, and they must survive parsing and
    /// adjusting. Use [`Self::DEFINED`] for the bits that have a name here, and
    /// [`Self::DEFAULT1`] for the reserved bits that are one by default.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct PinBasedControls: u32 {
        /// Bit 0: External interrupts cause VM exits (RFLAGS.IF does not affect
        /// interrupt blocking).
        const EXTERNAL_INTERRUPT_EXITING = 1 << 0;
        /// Bit 3: NMIs cause VM exits; also affects IRET/NMI blocking interaction.
        const NMI_EXITING = 1 << 3;
        /// Bit 5: NMIs never blocked; interruptibility bit 3 tracks virtual-NMI
        /// blocking; interacts with NMI-window exiting.
        const VIRTUAL_NMIS = 1 << 5;
        /// Bit 6: VMX-preemption timer counts down in VMX non-root operation; VM
        /// exit at zero.
        const ACTIVATE_VMX_PREEMPTION_TIMER = 1 << 6;
        /// Bit 7: Interrupts with the posted-interrupt notification vector are
        /// processed specially (posted-interrupt descriptor).
        const PROCESS_POSTED_INTERRUPTS = 1 << 7;
        // Keep bits this crate does not name (newer processors).
        const _ = !0;
    }
}

impl PinBasedControls {
    /// The default1 class: reserved bits that are 1 in the default setting (0x16; SDM
    /// Vol. 3D §A.2). A processor that lacks IA32_VMX_BASIC bit 55 (TRUE capability
    /// MSRs) requires them all to be 1; the named bits among them may be 0 only if the
    /// TRUE MSR allows it.
    pub const DEFAULT1: Self = Self::from_bits_retain(0x16);

    /// Every bit that has a name in this crate (0xe9).
    ///
    /// SDM Vol. 3C §25.6.1.
    pub const DEFINED: Self = Self::from_bits_retain(0xe9);
}
