//! Secondary processor-based VM-execution controls: [`SecondaryProcBasedControls`].

bitflags::bitflags! {
    /// Secondary processor-based VM-execution controls (SDM Vol. 3C §25.6.2
    /// "Processor-Based VM-Execution Controls", Table 25-7).
    ///
    /// VMCS field `CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS` (0x401E), used only when
    /// the primary control "activate secondary controls" (bit 31) is 1; capability MSR
    /// IA32_VMX_PROCBASED_CTLS2 (0x48B), SDM Vol. 3D §A.3.3.
    ///
    /// Every bit is retained (`const _ = !0`): a capability MSR of a newer processor
    /// may report controls this crate does not name, and they must survive parsing and
    /// adjusting. Use [`Self::DEFINED`] for the bits that have a name here, and
    /// [`Self::DEFAULT1`] for the reserved bits that are one by default.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct SecondaryProcBasedControls: u32 {
        /// Bit 0: Accesses to the APIC-access page are treated specially
        /// (APIC-access VM exits / virtualization).
        const VIRTUALIZE_APIC_ACCESSES = 1 << 0;
        /// Bit 1: Extended page tables enabled.
        const ENABLE_EPT = 1 << 1;
        /// Bit 2: LGDT/LIDT/LLDT/LTR/SGDT/SIDT/SLDT/STR cause VM exits.
        const DESCRIPTOR_TABLE_EXITING = 1 << 2;
        /// Bit 3: RDTSCP enabled (0 = RDTSCP causes #UD).
        const ENABLE_RDTSCP = 1 << 3;
        /// Bit 4: RDMSR/WRMSR to x2APIC MSRs (800H-8FFH) treated specially.
        const VIRTUALIZE_X2APIC_MODE = 1 << 4;
        /// Bit 5: Cached linear translations tagged with VPID.
        const ENABLE_VPID = 1 << 5;
        /// Bit 6: WBINVD (and WBNOINVD) cause VM exits.
        const WBINVD_EXITING = 1 << 6;
        /// Bit 7: Guest may run in unpaged protected mode or real-address mode.
        const UNRESTRICTED_GUEST = 1 << 7;
        /// Bit 8: APIC-register virtualization (reads/writes to virtual-APIC page).
        const APIC_REGISTER_VIRTUALIZATION = 1 << 8;
        /// Bit 9: Evaluation and delivery of pending virtual interrupts.
        const VIRTUAL_INTERRUPT_DELIVERY = 1 << 9;
        /// Bit 10: PAUSE loop (per PLE_Gap/PLE_Window) at CPL 0 causes VM exit.
        const PAUSE_LOOP_EXITING = 1 << 10;
        /// Bit 11: RDRAND causes VM exit.
        const RDRAND_EXITING = 1 << 11;
        /// Bit 12: INVPCID enabled (0 = #UD).
        const ENABLE_INVPCID = 1 << 12;
        /// Bit 13: VMFUNC enabled.
        const ENABLE_VM_FUNCTIONS = 1 << 13;
        /// Bit 14: VMREAD/VMWRITE in non-root may access a shadow VMCS.
        const VMCS_SHADOWING = 1 << 14;
        /// Bit 15: ENCLS consults the ENCLS-exiting bitmap.
        const ENABLE_ENCLS_EXITING = 1 << 15;
        /// Bit 16: RDSEED causes VM exit.
        const RDSEED_EXITING = 1 << 16;
        /// Bit 17: Page-modification logging enabled (requires enable EPT=1; GPAs
        /// logged when EPT dirty flags are set, i.e. EPTP[6]=1).
        const ENABLE_PML = 1 << 17;
        /// Bit 18: EPT violations may cause virtualization exceptions (#VE).
        const EPT_VIOLATION_VE = 1 << 18;
        /// Bit 19: Intel PT suppresses PIP.NR and omits PSB+ VMCS packets in
        /// non-root.
        const CONCEAL_VMX_FROM_PT = 1 << 19;
        /// Bit 20: XSAVES/XRSTORS enabled (0 = #UD); XSS-exiting bitmap consulted.
        const ENABLE_XSAVES_XRSTORS = 1 << 20;
        /// Bit 21: PASID translation performed for ENQCMD/ENQCMDS.
        ///
        /// Notes: not defined in Bochs master or Linux.
        const PASID_TRANSLATION = 1 << 21;
        /// Bit 22: EPT execute permission separate for supervisor (bit 2) and
        /// user-mode (bit 10) linear addresses.
        const MODE_BASED_EXECUTE_CONTROL_FOR_EPT = 1 << 22;
        /// Bit 23: EPT write permissions at 128-byte granularity (SPP).
        const SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT = 1 << 23;
        /// Bit 24: Intel PT output addresses treated as guest-physical and
        /// translated by EPT.
        const PT_USES_GUEST_PHYSICAL_ADDRESSES = 1 << 24;
        /// Bit 25: TSC multiplier applied to RDTSC/RDTSCP/RDMSR TSC reads.
        const USE_TSC_SCALING = 1 << 25;
        /// Bit 26: TPAUSE/UMONITOR/UMWAIT enabled (0 = #UD).
        const ENABLE_USER_WAIT_AND_PAUSE = 1 << 26;
        /// Bit 27: PCONFIG enabled; PCONFIG-exiting bitmap consulted.
        const ENABLE_PCONFIG = 1 << 27;
        /// Bit 28: ENCLV consults the ENCLV-exiting bitmap.
        ///
        /// Notes: DISAGREEMENT: HyveMind treats bits 29:28 as reserved.
        const ENABLE_ENCLV_EXITING = 1 << 28;
        // Bit 29 is reserved in the SDM (Vol. 3C Table 25-7 names no bit 29; Vol. 3D
        // App. C names no exit reason 71): it has no name here. It is kept by `const _`.
        /// Bit 30: Bus locks asserted in non-root cause VM exits (exit reason 74).
        const VMM_BUS_LOCK_DETECTION = 1 << 30;
        /// Bit 31: VM exit (reason 75) if an operation prevents reaching an
        /// instruction boundary within the instruction-timeout control (0x4024).
        ///
        /// Notes: NAME DISAGREEMENT: Linux NOTIFY_VM_EXITING, TDX
        /// notification_exiting/en_no_commit.
        const INSTRUCTION_TIMEOUT = 1 << 31;
        // Keep bits this crate does not name (newer processors).
        const _ = !0;
    }
}

impl SecondaryProcBasedControls {
    /// The default1 class: reserved bits that are 1 in the default setting (0x0; SDM
    /// Vol. 3D §A.2). A processor that lacks IA32_VMX_BASIC bit 55 (TRUE capability
    /// MSRs) requires them all to be 1; the named bits among them may be 0 only if the
    /// TRUE MSR allows it.
    pub const DEFAULT1: Self = Self::from_bits_retain(0x0);

    /// Every bit that has a name in this crate (0xdfffffff: all but reserved bit 29).
    ///
    /// SDM Vol. 3C §25.6.2.
    pub const DEFINED: Self = Self::from_bits_retain(0xdfffffff);
}
