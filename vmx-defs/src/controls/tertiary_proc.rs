//! Tertiary processor-based VM-execution controls: [`TertiaryProcBasedControls`].

bitflags::bitflags! {
    /// Tertiary processor-based VM-execution controls (SDM Vol. 3C §25.6.2
    /// "Processor-Based VM-Execution Controls", Table 25-8).
    ///
    /// VMCS field `CTRL_TERTIARY_PROC_BASED_EXEC_CONTROLS` (0x2034, 64 bits), used only
    /// when the primary control "activate tertiary controls" (bit 17) is 1; capability
    /// MSR IA32_VMX_PROCBASED_CTLS3 (0x492, allowed-1 settings only), SDM Vol. 3D
    /// §A.3.4.
    ///
    /// Every bit is retained (`const _ = !0`): a capability MSR of a newer processor
    /// may report controls this crate does not name, and they must survive parsing and
    /// adjusting. Use [`Self::DEFINED`] for the bits that have a name here, and
    /// [`Self::DEFAULT1`] for the reserved bits that are one by default.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct TertiaryProcBasedControls: u64 {
        /// Bit 0: LOADIWKEY causes VM exit.
        const LOADIWKEY_EXITING = 1 << 0;
        /// Bit 1: Hypervisor-managed linear-address translation enabled.
        const ENABLE_HLAT = 1 << 1;
        /// Bit 2: EPT permissions may allow writes only for paging-related updates
        /// (EPT bit 58 paging-write).
        const EPT_PAGING_WRITE_CONTROL = 1 << 2;
        /// Bit 3: EPT can restrict guest paging structures used to access a page
        /// (EPT bit 57 verify guest paging).
        const GUEST_PAGING_VERIFICATION = 1 << 3;
        /// Bit 4: Virtualization of IPIs via PID-pointer table.
        const IPI_VIRTUALIZATION = 1 << 4;
        /// Bit 5: SEAM-only control (guest physical-address width, GPAW).
        ///
        /// Notes: only TDX module (gpaw) and HyveMind (seam_guest_paddr_width); not
        /// in ia32-doc/Bochs.
        const GUEST_PHYSICAL_ADDRESS_WIDTH = 1 << 5;
        /// Bit 6: RDMSRLIST/WRMSRLIST enabled.
        const ENABLE_MSR_LIST_INSTRUCTIONS = 1 << 6;
        /// Bit 7: Guest IA32_SPEC_CTRL accesses use the IA32_SPEC_CTRL mask/shadow
        /// fields.
        const VIRTUALIZE_IA32_SPEC_CTRL = 1 << 7;
        /// Bit 8: APIC-timer (TSC-deadline) virtualization using virtual timer
        /// vector and guest deadline fields.
        ///
        /// Notes: newer than ia32-doc.
        const APIC_TIMER_VIRTUALIZATION = 1 << 8;
        /// Bit 9: Enable PBNDKB.
        ///
        /// Notes: SINGLE SOURCE (HyveMind); newer than ia32-doc/Bochs.
        const ENABLE_PBNDKB = 1 << 9;
        /// Bit 12: PEBS output addresses treated as guest-physical.
        ///
        /// Notes: SINGLE SOURCE (HyveMind pebs_uses_guest_paddrs); newer than
        /// ia32-doc/Bochs.
        const PEBS_USES_GUEST_PHYSICAL_ADDRESSES = 1 << 12;
        // Keep bits this crate does not name (newer processors).
        const _ = !0;
    }
}

impl TertiaryProcBasedControls {
    /// The default1 class: reserved bits that are 1 in the default setting (0x0; SDM
    /// Vol. 3D §A.2). A processor that lacks IA32_VMX_BASIC bit 55 (TRUE capability
    /// MSRs) requires them all to be 1; the named bits among them may be 0 only if the
    /// TRUE MSR allows it.
    pub const DEFAULT1: Self = Self::from_bits_retain(0x0);

    /// Every bit that has a name in this crate (0x13ff).
    ///
    /// SDM Vol. 3C §25.6.2.
    pub const DEFINED: Self = Self::from_bits_retain(0x13ff);
}
