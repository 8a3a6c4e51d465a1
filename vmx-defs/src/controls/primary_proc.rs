//! Primary processor-based VM-execution controls: [`PrimaryProcBasedControls`].

bitflags::bitflags! {
    /// Primary processor-based VM-execution controls (SDM Vol. 3C §25.6.2
    /// "Processor-Based VM-Execution Controls", Table 25-6).
    ///
    /// VMCS field `CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS` (0x4002); capability MSRs
    /// IA32_VMX_PROCBASED_CTLS (0x482) and IA32_VMX_TRUE_PROCBASED_CTLS (0x48E), SDM
    /// Vol. 3D §A.3.2.
    ///
    /// Every bit is retained (`const _ = !0`): a capability MSR of a newer processor
    /// may report controls this crate does not name, and they must survive parsing and
    /// adjusting. Use [`Self::DEFINED`] for the bits that have a name here, and
    /// [`Self::DEFAULT1`] for the reserved bits that are one by default.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct PrimaryProcBasedControls: u32 {
        /// Bit 2: VM exit at the beginning of any instruction if RFLAGS.IF=1 and no
        /// other blocking of interrupts.
        ///
        /// Notes: Linux old name VIRTUAL_INTR_PENDING.
        const INTERRUPT_WINDOW_EXITING = 1 << 2;
        /// Bit 3: TSC offset field modifies
        /// RDTSC/RDTSCP/RDMSR(IA32_TIME_STAMP_COUNTER) results.
        const USE_TSC_OFFSETTING = 1 << 3;
        /// Bit 7: HLT causes VM exit.
        const HLT_EXITING = 1 << 7;
        /// Bit 9: INVLPG causes VM exit (also INVPCID when enable INVPCID=1).
        const INVLPG_EXITING = 1 << 9;
        /// Bit 10: MWAIT causes VM exit.
        const MWAIT_EXITING = 1 << 10;
        /// Bit 11: RDPMC causes VM exit.
        const RDPMC_EXITING = 1 << 11;
        /// Bit 12: RDTSC (and RDTSCP; UMWAIT/TPAUSE with enable user wait and
        /// pause) causes VM exit.
        const RDTSC_EXITING = 1 << 12;
        /// Bit 15: MOV to CR3 causes VM exit unless value matches a CR3-target
        /// value.
        ///
        /// Default1 control: without the TRUE capability MSR this bit must be 1
        /// (SDM Vol. 3D §A.2).
        const CR3_LOAD_EXITING = 1 << 15;
        /// Bit 16: MOV from CR3 causes VM exit.
        ///
        /// Default1 control: without the TRUE capability MSR this bit must be 1
        /// (SDM Vol. 3D §A.2).
        const CR3_STORE_EXITING = 1 << 16;
        /// Bit 17: Tertiary processor-based VM-execution controls are used (0 = all
        /// tertiary controls treated as 0).
        const ACTIVATE_TERTIARY_CONTROLS = 1 << 17;
        /// Bit 19: MOV to CR8 causes VM exit.
        const CR8_LOAD_EXITING = 1 << 19;
        /// Bit 20: MOV from CR8 causes VM exit.
        const CR8_STORE_EXITING = 1 << 20;
        /// Bit 21: TPR virtualization and other APIC-virtualization features via
        /// virtual-APIC page.
        const USE_TPR_SHADOW = 1 << 21;
        /// Bit 22: VM exit at the beginning of any instruction if there is no
        /// virtual-NMI blocking.
        ///
        /// Notes: Linux old name VIRTUAL_NMI_PENDING.
        const NMI_WINDOW_EXITING = 1 << 22;
        /// Bit 23: MOV to/from debug registers causes VM exit.
        const MOV_DR_EXITING = 1 << 23;
        /// Bit 24: All I/O instructions cause VM exits (ignored if use I/O
        /// bitmaps=1).
        const UNCONDITIONAL_IO_EXITING = 1 << 24;
        /// Bit 25: I/O bitmaps A/B restrict I/O instructions (unconditional I/O
        /// exiting ignored).
        const USE_IO_BITMAPS = 1 << 25;
        /// Bit 27: Monitor trap flag debugging feature enabled.
        const MONITOR_TRAP_FLAG = 1 << 27;
        /// Bit 28: MSR bitmaps control RDMSR/WRMSR exits (0 = all RDMSR/WRMSR
        /// exit).
        const USE_MSR_BITMAPS = 1 << 28;
        /// Bit 29: MONITOR causes VM exit.
        const MONITOR_EXITING = 1 << 29;
        /// Bit 30: PAUSE causes VM exit.
        const PAUSE_EXITING = 1 << 30;
        /// Bit 31: Secondary processor-based VM-execution controls are used (0 =
        /// all treated as 0).
        const ACTIVATE_SECONDARY_CONTROLS = 1 << 31;
        // Keep bits this crate does not name (newer processors).
        const _ = !0;
    }
}

impl PrimaryProcBasedControls {
    /// The default1 class: reserved bits that are 1 in the default setting (0x401e172;
    /// SDM Vol. 3D §A.2). A processor that lacks IA32_VMX_BASIC bit 55 (TRUE capability
    /// MSRs) requires them all to be 1; the named bits among them may be 0 only if the
    /// TRUE MSR allows it.
    pub const DEFAULT1: Self = Self::from_bits_retain(0x401e172);

    /// Every bit that has a name in this crate (0xfbfb9e8c).
    ///
    /// SDM Vol. 3C §25.6.2.
    pub const DEFINED: Self = Self::from_bits_retain(0xfbfb9e8c);
}
