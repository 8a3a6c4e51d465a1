//! [`CheckId`]: one stable name per VM-entry check of SDM Vol. 3C §27.2-§27.4, with its
//! section, its rule in words and the class of outcome a failure gives.

use core::fmt;

/// The class of outcome a failed check gives (SDM Vol. 3C §27.1-§27.4, §27.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckClass {
    /// A check on the VMX controls (§27.2.1): VMfailValid with VM-instruction error 7.
    Control,
    /// A check on the host-state area or the address-space size (§27.2.2-§27.2.4):
    /// VMfailValid with VM-instruction error 8.
    HostState,
    /// A check on the guest-state area (§27.3.1): VM-entry failure with basic exit reason 33
    /// and this exit qualification (§27.8: 0 default, 2 PDPTE, 3 NMI injection with STI
    /// blocking, 4 VMCS link pointer).
    GuestState(u64),
    /// A check on the VM-entry MSR-load area (§27.4): VM-entry failure with basic exit
    /// reason 34, the qualification being the 1-based entry number.
    MsrLoad,
}

macro_rules! check_ids {
    ($( $(#[$doc:meta])* $id:ident => ($section:literal, $class:expr, $rule:literal); )*) => {
        /// One VM-entry check of SDM Vol. 3C §27.2 (controls and host state), §27.3 (guest
        /// state) or §27.4 (MSR loading). The variant name is stable ([`CheckId::name`]);
        /// new checks are added as the SDM grows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum CheckId {
            $( $(#[$doc])* #[doc = concat!("SDM Vol. 3C §", $section, ": `", $rule, "`.")] $id, )*
        }

        impl CheckId {
            /// Every check, in the order the checker runs them (the SDM's order).
            pub const ALL: &'static [CheckId] = &[$(CheckId::$id,)*];

            /// The check's stable name (the variant name).
            pub const fn name(self) -> &'static str {
                match self { $(CheckId::$id => stringify!($id),)* }
            }

            /// The SDM Vol. 3C subsection that states the check (e.g. `"27.2.1.1"`).
            pub const fn section(self) -> &'static str {
                match self { $(CheckId::$id => $section,)* }
            }

            /// The rule in words.
            pub const fn rule(self) -> &'static str {
                match self { $(CheckId::$id => $rule,)* }
            }

            /// What a failure of this check makes the processor do (SDM Vol. 3C §27.1).
            pub const fn class(self) -> CheckClass {
                use CheckClass::*;
                match self { $(CheckId::$id => $class,)* }
            }
        }
    };
}

check_ids! {
    // §27.2.1.1 VM-execution control fields.
    PinBasedReserved => ("27.2.1.1", Control, "the pin-based VM-execution controls must be a setting IA32_VMX_(TRUE_)PINBASED_CTLS allows");
    PrimaryProcReserved => ("27.2.1.1", Control, "the primary processor-based VM-execution controls must be a setting IA32_VMX_(TRUE_)PROCBASED_CTLS allows");
    SecondaryProcReserved => ("27.2.1.1", Control, "with \"activate secondary controls\" 1, the secondary processor-based controls must be a setting IA32_VMX_PROCBASED_CTLS2 allows");
    TertiaryProcReserved => ("27.2.1.1", Control, "with \"activate tertiary controls\" 1, the tertiary processor-based controls must be a setting IA32_VMX_PROCBASED_CTLS3 allows");
    Cr3TargetCount => ("27.2.1.1", Control, "the CR3-target count must not exceed the number IA32_VMX_MISC[24:16] reports");
    IoBitmapAAddress => ("27.2.1.1", Control, "with \"use I/O bitmaps\" 1, I/O-bitmap address A must be 4-KByte aligned and within the physical-address width");
    IoBitmapBAddress => ("27.2.1.1", Control, "with \"use I/O bitmaps\" 1, I/O-bitmap address B must be 4-KByte aligned and within the physical-address width");
    MsrBitmapAddress => ("27.2.1.1", Control, "with \"use MSR bitmaps\" 1, the MSR-bitmap address must be 4-KByte aligned and within the physical-address width");
    VirtualApicAddress => ("27.2.1.1", Control, "with \"use TPR shadow\" 1, the virtual-APIC address must be 4-KByte aligned and within the physical-address width");
    TprThresholdReserved => ("27.2.1.1", Control, "with \"use TPR shadow\" 1 and \"virtual-interrupt delivery\" 0, bits 31:4 of the TPR threshold must be 0");
    TprThresholdAboveVtpr => ("27.2.1.1", Control, "with \"use TPR shadow\" 1 and \"virtualize APIC accesses\" and \"virtual-interrupt delivery\" 0, TPR threshold bits 3:0 must not exceed VTPR bits 7:4");
    ApicVirtualizationWithoutTprShadow => ("27.2.1.1", Control, "with \"use TPR shadow\" 0, \"virtualize x2APIC mode\", \"APIC-register virtualization\" and \"virtual-interrupt delivery\" must be 0");
    VirtualNmisWithoutNmiExiting => ("27.2.1.1", Control, "with \"NMI exiting\" 0, \"virtual NMIs\" must be 0");
    NmiWindowWithoutVirtualNmis => ("27.2.1.1", Control, "with \"virtual NMIs\" 0, \"NMI-window exiting\" must be 0");
    ApicAccessAddress => ("27.2.1.1", Control, "with \"virtualize APIC accesses\" 1, the APIC-access address must be 4-KByte aligned and within the physical-address width");
    X2apicModeWithApicAccesses => ("27.2.1.1", Control, "with \"virtualize x2APIC mode\" 1, \"virtualize APIC accesses\" must be 0");
    VirtualInterruptDeliveryWithoutExternalInterruptExiting => ("27.2.1.1", Control, "with \"virtual-interrupt delivery\" 1, \"external-interrupt exiting\" must be 1");
    PostedInterruptsWithoutVirtualInterruptDelivery => ("27.2.1.1", Control, "with \"process posted interrupts\" 1, \"virtual-interrupt delivery\" must be 1");
    PostedInterruptsWithoutAcknowledgeOnExit => ("27.2.1.1", Control, "with \"process posted interrupts\" 1, the \"acknowledge interrupt on exit\" VM-exit control must be 1");
    PostedInterruptNotificationVector => ("27.2.1.1", Control, "with \"process posted interrupts\" 1, bits 15:8 of the posted-interrupt notification vector must be 0");
    PostedInterruptDescriptorAddress => ("27.2.1.1", Control, "with \"process posted interrupts\" 1, the posted-interrupt descriptor address must be 64-byte aligned and within the physical-address width");
    VpidZero => ("27.2.1.1", Control, "with \"enable VPID\" 1, the VPID must not be 0");
    EptpMemoryType => ("27.2.1.1", Control, "with \"enable EPT\" 1, EPTP bits 2:0 must be a memory type IA32_VMX_EPT_VPID_CAP allows (UC or WB)");
    EptpWalkLength => ("27.2.1.1", Control, "with \"enable EPT\" 1, EPTP bits 5:3 must encode a page-walk length IA32_VMX_EPT_VPID_CAP allows (4 or 5 levels)");
    EptpAccessedDirty => ("27.2.1.1", Control, "with \"enable EPT\" 1, EPTP bit 6 (accessed/dirty flags) must be 0 unless IA32_VMX_EPT_VPID_CAP[21] is 1");
    EptpSupervisorShadowStack => ("27.2.1.1", Control, "with \"enable EPT\" 1, EPTP bit 7 (supervisor shadow-stack control) must be 0 unless IA32_VMX_EPT_VPID_CAP[23] is 1");
    EptpReserved => ("27.2.1.1", Control, "with \"enable EPT\" 1, EPTP bits 11:8 and bits 63:MAXPHYADDR must be 0");
    PmlWithoutEpt => ("27.2.1.1", Control, "with \"enable PML\" 1, \"enable EPT\" must be 1");
    PmlAddress => ("27.2.1.1", Control, "with \"enable PML\" 1, the PML address must be 4-KByte aligned and within the physical-address width");
    UnrestrictedGuestWithoutEpt => ("27.2.1.1", Control, "with \"unrestricted guest\" 1, \"enable EPT\" must be 1");
    ModeBasedExecuteWithoutEpt => ("27.2.1.1", Control, "with \"mode-based execute control for EPT\" 1, \"enable EPT\" must be 1");
    SubPageWriteWithoutEpt => ("27.2.1.1", Control, "with \"sub-page write permissions for EPT\" 1, \"enable EPT\" must be 1");
    SubPagePermissionTablePointer => ("27.2.1.1", Control, "with \"sub-page write permissions for EPT\" 1, the SPP-table pointer must be 4-KByte aligned and within the physical-address width");
    VmFunctionControlsReserved => ("27.2.1.1", Control, "with \"enable VM functions\" 1, VM-function control bits IA32_VMX_VMFUNC reports as unsupported must be 0");
    EptpSwitchingWithoutEpt => ("27.2.1.1", Control, "with \"enable VM functions\" 1 and EPTP switching (VM-function bit 0) 1, \"enable EPT\" must be 1");
    EptpListAddress => ("27.2.1.1", Control, "with EPTP switching enabled, the EPTP-list address must be 4-KByte aligned and within the physical-address width");
    VmreadBitmapAddress => ("27.2.1.1", Control, "with \"VMCS shadowing\" 1, the VMREAD-bitmap address must be 4-KByte aligned and within the physical-address width");
    VmwriteBitmapAddress => ("27.2.1.1", Control, "with \"VMCS shadowing\" 1, the VMWRITE-bitmap address must be 4-KByte aligned and within the physical-address width");
    VirtualizationExceptionInfoAddress => ("27.2.1.1", Control, "with \"EPT-violation #VE\" 1, the virtualization-exception information address must be 4-KByte aligned and within the physical-address width");
    PtGuestPhysicalWithoutRequiredControls => ("27.2.1.1", Control, "with \"Intel PT uses guest physical addresses\" 1, \"enable EPT\", the \"load IA32_RTIT_CTL\" VM-entry control and the \"clear IA32_RTIT_CTL\" VM-exit control must be 1");
    HlatWithoutEpt => ("27.2.1.1", Control, "with \"enable HLAT\" 1, \"enable EPT\" must be 1");
    HlatPointer => ("27.2.1.1", Control, "with \"enable HLAT\" 1, HLATP bits 2:0 and 11:5 must be 0 and the address within the physical-address width");
    EptPagingWriteWithoutEpt => ("27.2.1.1", Control, "with \"EPT paging-write control\" or \"guest-paging verification\" 1, \"enable EPT\" must be 1");
    PidPointerTableAddress => ("27.2.1.1", Control, "with \"IPI virtualization\" 1, the PID-pointer table address must be 8-byte aligned and within the physical-address width");
    // §27.2.1.2 VM-exit control fields.
    ExitControlsReserved => ("27.2.1.2", Control, "the primary VM-exit controls must be a setting IA32_VMX_(TRUE_)EXIT_CTLS allows");
    SecondaryExitControlsReserved => ("27.2.1.2", Control, "with \"activate secondary controls\" (VM-exit bit 31) 1, the secondary VM-exit controls must be a setting IA32_VMX_EXIT_CTLS2 allows");
    SavePreemptionTimerWithoutTimer => ("27.2.1.2", Control, "with \"activate VMX-preemption timer\" 0, \"save VMX-preemption timer value\" must be 0");
    ExitMsrStoreAddress => ("27.2.1.2", Control, "with a non-zero VM-exit MSR-store count, the MSR-store address must be 16-byte aligned and the whole area within the physical-address width");
    ExitMsrLoadAddress => ("27.2.1.2", Control, "with a non-zero VM-exit MSR-load count, the MSR-load address must be 16-byte aligned and the whole area within the physical-address width");
    // §27.2.1.3 VM-entry control fields.
    EntryControlsReserved => ("27.2.1.3", Control, "the VM-entry controls must be a setting IA32_VMX_(TRUE_)ENTRY_CTLS allows");
    EntryToSmmOutsideSmm => ("27.2.1.3", Control, "outside SMM, the \"entry to SMM\" VM-entry control must be 0");
    DeactivateDualMonitorOutsideSmm => ("27.2.1.3", Control, "outside SMM, the \"deactivate dual-monitor treatment\" VM-entry control must be 0");
    EventInjectionType => ("27.2.1.3", Control, "an injected event must not use interruption type 1, nor type 7 unless the \"monitor trap flag\" control is supported");
    EventInjectionVector => ("27.2.1.3", Control, "an injected NMI must use vector 2, a hardware exception a vector of at most 31, an other event vector 0 (1 or 2 with FRED)");
    EventInjectionErrorCode => ("27.2.1.3", Control, "deliver-error-code must be 1 exactly for hardware exceptions that push an error code (#DF, #TS, #NP, #SS, #GP, #PF, #AC) in protected mode, unless IA32_VMX_BASIC[56] relaxes it; never for other types or a real-mode unrestricted guest");
    EventInjectionNested => ("27.2.1.3", Control, "the nested-exception bit (13) may be 1 only for a hardware exception and with IA32_VMX_BASIC[58]");
    EventInjectionReserved => ("27.2.1.3", Control, "reserved bits 30:12 of the VM-entry interruption-information field must be 0");
    EventInjectionErrorCodeWidth => ("27.2.1.3", Control, "with an error code delivered, bits 31:16 of the VM-entry exception error code must be 0");
    EventInjectionInstructionLength => ("27.2.1.3", Control, "for a software interrupt or (privileged) software exception, the VM-entry instruction length must be 1-15 (0 only with IA32_VMX_MISC[30])");
    EntryMsrLoadAddress => ("27.2.1.3", Control, "with a non-zero VM-entry MSR-load count, the MSR-load address must be 16-byte aligned and the whole area within the physical-address width");
    // §27.2.2 host control registers and MSRs.
    HostCr0Fixed => ("27.2.2", HostState, "the host CR0 field must have the bits IA32_VMX_CR0_FIXED0 sets and none IA32_VMX_CR0_FIXED1 clears");
    HostCr4Fixed => ("27.2.2", HostState, "the host CR4 field must have the bits IA32_VMX_CR4_FIXED0 sets and none IA32_VMX_CR4_FIXED1 clears");
    HostCetWithoutWp => ("27.2.2", HostState, "if CR4.CET is 1 in the host CR4 field, CR0.WP must be 1 in the host CR0 field");
    HostCr3Reserved => ("27.2.2", HostState, "the host CR3 field must not set bits beyond the physical-address width (bits 62:61 allowed with LAM)");
    HostSysenterEspCanonical => ("27.2.2", HostState, "the host IA32_SYSENTER_ESP field must hold a canonical address");
    HostSysenterEipCanonical => ("27.2.2", HostState, "the host IA32_SYSENTER_EIP field must hold a canonical address");
    HostCetState => ("27.2.2", HostState, "with \"load CET state\" (VM-exit) 1, host IA32_S_CET must have no reserved bit and not SUPPRESS with TRACKER, and its legacy-bitmap base, SSP and the interrupt-SSP-table address must be canonical, SSP 4-byte aligned");
    HostPerfGlobalCtrlReserved => ("27.2.2", HostState, "with \"load IA32_PERF_GLOBAL_CTRL\" (VM-exit) 1, the host field must not set bits reserved in the MSR");
    HostPat => ("27.2.2", HostState, "with \"load IA32_PAT\" (VM-exit) 1, each byte of the host IA32_PAT field must be 0, 1, 4, 5, 6 or 7");
    HostEferReserved => ("27.2.2", HostState, "with \"load IA32_EFER\" (VM-exit) 1, the host IA32_EFER field must not set reserved bits");
    HostEferLmaLme => ("27.2.2", HostState, "with \"load IA32_EFER\" (VM-exit) 1, host IA32_EFER.LMA and LME must each equal the \"host address-space size\" control");
    HostPkrsReserved => ("27.2.2", HostState, "with \"load PKRS\" (VM-exit) 1, bits 63:32 of the host IA32_PKRS field must be 0");
    HostFredState => ("27.2.2", HostState, "with \"load FRED\" (secondary VM-exit) 1, host IA32_FRED_CONFIG must have reserved bits 2, 5:4 and 11 clear and a canonical base, RSP1-3 canonical and 64-byte aligned, SSP1-3 canonical and 8-byte aligned");
    HostSpecCtrlReserved => ("27.2.2", HostState, "with \"load IA32_SPEC_CTRL\" (secondary VM-exit) 1, the host field must not set bits reserved in the MSR");
    // §27.2.3 host segment and descriptor-table registers.
    HostSelectorRplTi => ("27.2.3", HostState, "the host ES, CS, SS, DS, FS, GS and TR selectors must have RPL (bits 1:0) and TI (bit 2) 0");
    HostCsSelectorNull => ("27.2.3", HostState, "the host CS selector must not be 0");
    HostTrSelectorNull => ("27.2.3", HostState, "the host TR selector must not be 0");
    HostSsSelectorNull => ("27.2.3", HostState, "with \"host address-space size\" 0, the host SS selector must not be 0");
    HostBaseCanonical => ("27.2.3", HostState, "the host FS, GS, GDTR, IDTR and TR base addresses must be canonical");
    // §27.2.4 address-space size.
    HostAddressSpaceSizeMismatch => ("27.2.4", HostState, "the \"host address-space size\" VM-exit control must be 1 exactly when the processor is in IA-32e mode (IA32_EFER.LMA 1) at VM entry");
    Ia32eGuestOutsideIa32eHost => ("27.2.4", HostState, "outside IA-32e mode (IA32_EFER.LMA 0), the \"IA-32e mode guest\" VM-entry control must be 0");
    HostPcideWithoutIa32e => ("27.2.4", HostState, "with \"host address-space size\" 0, CR4.PCIDE must be 0 in the host CR4 field");
    HostRipHigh => ("27.2.4", HostState, "with \"host address-space size\" 0, bits 63:32 of the host RIP field must be 0");
    HostPaeWithoutPaging64 => ("27.2.4", HostState, "with \"host address-space size\" 1, CR4.PAE must be 1 in the host CR4 field");
    HostRipCanonical => ("27.2.4", HostState, "with \"host address-space size\" 1, the host RIP field must be canonical (57-bit with host CR4.LA57)");
    HostSspHigh => ("27.2.4", HostState, "with \"host address-space size\" 0 and \"load CET state\" 1, bits 63:32 of the host SSP field must be 0");
    // §27.3.1.1 guest control registers, debug registers and MSRs.
    GuestCr0Fixed => ("27.3.1.1", GuestState(0), "the guest CR0 field must have the bits IA32_VMX_CR0_FIXED0 sets (PE and PG excepted with \"unrestricted guest\") and none IA32_VMX_CR0_FIXED1 clears");
    GuestCr0PgWithoutPe => ("27.3.1.1", GuestState(0), "if CR0.PG is 1 in the guest CR0 field, CR0.PE must be 1");
    GuestCr4Fixed => ("27.3.1.1", GuestState(0), "the guest CR4 field must have the bits IA32_VMX_CR4_FIXED0 sets and none IA32_VMX_CR4_FIXED1 clears");
    GuestCetWithoutWp => ("27.3.1.1", GuestState(0), "if CR4.CET is 1 in the guest CR4 field, CR0.WP must be 1");
    GuestDebugctlReserved => ("27.3.1.1", GuestState(0), "with \"load debug controls\" 1, the guest IA32_DEBUGCTL field must not set reserved bits");
    GuestIa32eWithoutPaging => ("27.3.1.1", GuestState(0), "with \"IA-32e mode guest\" 1, CR0.PG and CR4.PAE must be 1 in the guest fields");
    GuestPcideOutsideIa32e => ("27.3.1.1", GuestState(0), "with \"IA-32e mode guest\" 0, CR4.PCIDE must be 0 in the guest CR4 field");
    GuestCr3Reserved => ("27.3.1.1", GuestState(0), "the guest CR3 field must not set bits beyond the physical-address width (bits 62:61 allowed with LAM)");
    GuestDr7High => ("27.3.1.1", GuestState(0), "with \"load debug controls\" 1, bits 63:32 of the guest DR7 field must be 0");
    GuestSysenterEspCanonical => ("27.3.1.1", GuestState(0), "the guest IA32_SYSENTER_ESP field must hold a canonical address");
    GuestSysenterEipCanonical => ("27.3.1.1", GuestState(0), "the guest IA32_SYSENTER_EIP field must hold a canonical address");
    GuestCetState => ("27.3.1.1", GuestState(0), "with \"load CET state\" (VM-entry) 1, guest IA32_S_CET must have no reserved bit and not SUPPRESS with TRACKER, its legacy-bitmap base and the interrupt-SSP-table address canonical, SSP 4-byte aligned (and bits 63:32 0 outside IA-32e mode, canonical inside)");
    GuestPerfGlobalCtrlReserved => ("27.3.1.1", GuestState(0), "with \"load IA32_PERF_GLOBAL_CTRL\" (VM-entry) 1, the guest field must not set bits reserved in the MSR");
    GuestPat => ("27.3.1.1", GuestState(0), "with \"load IA32_PAT\" (VM-entry) 1, each byte of the guest IA32_PAT field must be 0, 1, 4, 5, 6 or 7");
    GuestEferReserved => ("27.3.1.1", GuestState(0), "with \"load IA32_EFER\" (VM-entry) 1, the guest IA32_EFER field must not set reserved bits");
    GuestEferLma => ("27.3.1.1", GuestState(0), "with \"load IA32_EFER\" (VM-entry) 1, guest IA32_EFER.LMA must equal \"IA-32e mode guest\"");
    GuestEferLmaLme => ("27.3.1.1", GuestState(0), "with \"load IA32_EFER\" (VM-entry) 1 and guest CR0.PG 1, guest IA32_EFER.LMA must equal LME");
    GuestBndcfgs => ("27.3.1.1", GuestState(0), "with \"load IA32_BNDCFGS\" 1, guest IA32_BNDCFGS bits 11:2 must be 0 and bits 63:12 a canonical base");
    GuestRtitCtlReserved => ("27.3.1.1", GuestState(0), "with \"load IA32_RTIT_CTL\" 1, the guest field must not set bits reserved in the MSR");
    GuestLbrCtlReserved => ("27.3.1.1", GuestState(0), "with \"load guest IA32_LBR_CTL\" 1, the guest field must not set reserved bits");
    GuestPkrsReserved => ("27.3.1.1", GuestState(0), "with \"load PKRS\" (VM-entry) 1, bits 63:32 of the guest IA32_PKRS field must be 0");
    GuestUinvReserved => ("27.3.1.1", GuestState(0), "with \"load UINV\" 1, bits 15:8 of the guest UINV field must be 0");
    GuestFredState => ("27.3.1.1", GuestState(0), "with \"load FRED\" (VM-entry) 1, guest IA32_FRED_CONFIG must have reserved bits 2, 5:4 and 11 clear and a canonical base, RSP1-3 canonical and 64-byte aligned, SSP1-3 canonical and 8-byte aligned");
    GuestSpecCtrlReserved => ("27.3.1.1", GuestState(0), "with \"load IA32_SPEC_CTRL\" (VM-entry) 1, the guest field must not set bits reserved in the MSR");
    // §27.3.1.2 guest segment registers.
    GuestTrSelectorTi => ("27.3.1.2", GuestState(0), "the TI flag (bit 2) of the guest TR selector must be 0");
    GuestLdtrSelectorTi => ("27.3.1.2", GuestState(0), "if LDTR is usable, the TI flag (bit 2) of the guest LDTR selector must be 0");
    GuestSsRplCsRpl => ("27.3.1.2", GuestState(0), "outside virtual-8086 mode and without \"unrestricted guest\", the RPL of the SS selector must equal the RPL of the CS selector");
    GuestV86Base => ("27.3.1.2", GuestState(0), "in virtual-8086 mode (RFLAGS.VM 1), each of CS, SS, DS, ES, FS, GS must have base = selector << 4");
    GuestV86Limit => ("27.3.1.2", GuestState(0), "in virtual-8086 mode, each of CS, SS, DS, ES, FS, GS must have limit 0xFFFF");
    GuestV86AccessRights => ("27.3.1.2", GuestState(0), "in virtual-8086 mode, each of CS, SS, DS, ES, FS, GS must have access rights 0xF3");
    GuestBaseCanonical => ("27.3.1.2", GuestState(0), "the guest TR, FS and GS bases (and LDTR if usable) must be canonical");
    GuestBaseHigh => ("27.3.1.2", GuestState(0), "bits 63:32 of the guest CS base (and of SS, DS, ES if usable) must be 0");
    GuestCsType => ("27.3.1.2", GuestState(0), "outside virtual-8086 mode, the guest CS type must be 9, 11, 13 or 15 (accessed code), or 3 with \"unrestricted guest\"");
    GuestSsType => ("27.3.1.2", GuestState(0), "outside virtual-8086 mode, a usable guest SS must have type 3 or 7 (read/write data, accessed)");
    GuestDataSegmentType => ("27.3.1.2", GuestState(0), "outside virtual-8086 mode, usable DS, ES, FS, GS must be accessed (type bit 0), and readable (type bit 1) if code");
    GuestSegmentDescriptorType => ("27.3.1.2", GuestState(0), "outside virtual-8086 mode, CS and usable SS, DS, ES, FS, GS must have S = 1; TR and usable LDTR S = 0");
    GuestCsDpl => ("27.3.1.2", GuestState(0), "the guest CS DPL must be 0 for type 3, equal SS DPL for non-conforming code (9, 11), not exceed SS DPL for conforming code (13, 15)");
    GuestSsDpl => ("27.3.1.2", GuestState(0), "without \"unrestricted guest\", the guest SS DPL must equal the SS selector's RPL; with CS type 3 or CR0.PE 0 it must be 0");
    GuestDataSegmentDpl => ("27.3.1.2", GuestState(0), "without \"unrestricted guest\", a usable DS, ES, FS, GS that is not conforming code must have DPL >= the selector's RPL");
    GuestSegmentPresent => ("27.3.1.2", GuestState(0), "outside virtual-8086 mode CS and usable SS, DS, ES, FS, GS, and always TR and usable LDTR, must be present (P = 1)");
    GuestSegmentAccessRightsReserved => ("27.3.1.2", GuestState(0), "bits 11:8 and 31:17 of the access rights of CS, TR and usable SS, DS, ES, FS, GS, LDTR must be 0");
    GuestCsLongModeDb => ("27.3.1.2", GuestState(0), "with \"IA-32e mode guest\" 1 and CS.L 1, CS.D/B must be 0");
    GuestSegmentGranularity => ("27.3.1.2", GuestState(0), "for CS, TR and usable others: G must be 0 if limit bits 11:0 are not all 1, and 1 if any of limit bits 31:20 is 1");
    GuestTrType => ("27.3.1.2", GuestState(0), "the guest TR type must be 11 (busy 32/64-bit TSS), or 3 (busy 16-bit TSS) outside IA-32e mode");
    GuestTrUnusable => ("27.3.1.2", GuestState(0), "the guest TR must be usable (access-rights bit 16 0)");
    GuestLdtrType => ("27.3.1.2", GuestState(0), "a usable guest LDTR must have type 2 (LDT)");
    // §27.3.1.3 guest descriptor-table registers.
    GuestDescriptorTableBaseCanonical => ("27.3.1.3", GuestState(0), "the guest GDTR and IDTR bases must be canonical");
    GuestDescriptorTableLimit => ("27.3.1.3", GuestState(0), "bits 31:16 of the guest GDTR and IDTR limits must be 0");
    // §27.3.1.4 guest RIP and RFLAGS.
    GuestRipHigh => ("27.3.1.4", GuestState(0), "with \"IA-32e mode guest\" 0 or CS.L 0, bits 63:32 of the guest RIP must be 0");
    GuestRipCanonical => ("27.3.1.4", GuestState(0), "with \"IA-32e mode guest\" 1 and CS.L 1, the guest RIP must be canonical (57-bit with guest CR4.LA57)");
    GuestRflagsReserved => ("27.3.1.4", GuestState(0), "guest RFLAGS bits 63:22, 15, 5 and 3 must be 0 and bit 1 must be 1");
    GuestRflagsVm => ("27.3.1.4", GuestState(0), "with \"IA-32e mode guest\" 1 or guest CR0.PE 0, RFLAGS.VM must be 0");
    GuestRflagsIfForExternalInterrupt => ("27.3.1.4", GuestState(0), "when injecting an external interrupt, RFLAGS.IF must be 1");
    // §27.3.1.5 guest non-register state.
    GuestActivityState => ("27.3.1.5", GuestState(0), "the activity state must be 0-3 and one IA32_VMX_MISC reports as supported (active always is)");
    GuestHltWithSsDpl => ("27.3.1.5", GuestState(0), "the HLT activity state needs SS DPL 0");
    GuestActivityWithStiOrMovSsBlocking => ("27.3.1.5", GuestState(0), "with blocking by STI or MOV SS, the activity state must be active");
    GuestActivityEventInjection => ("27.3.1.5", GuestState(0), "an injected event must suit the activity state: HLT takes external interrupts, NMIs, #DB, #MC and pending MTF; shutdown NMIs and #MC; wait-for-SIPI none");
    GuestActivityWaitForSipiWithEntryToSmm => ("27.3.1.5", GuestState(0), "with \"entry to SMM\" 1, the activity state must not be wait-for-SIPI");
    GuestInterruptibilityReserved => ("27.3.1.5", GuestState(0), "bits 31:5 of the guest interruptibility state must be 0 (bit 4 too without SGX)");
    GuestInterruptibilityStiAndMovSs => ("27.3.1.5", GuestState(0), "blocking by STI and blocking by MOV SS must not both be 1");
    GuestInterruptibilityStiWithoutIf => ("27.3.1.5", GuestState(0), "blocking by STI must be 0 when RFLAGS.IF is 0");
    GuestInterruptibilityEventBlocked => ("27.3.1.5", GuestState(0), "when injecting an external interrupt, blocking by STI and MOV SS must be 0; when injecting an NMI, blocking by MOV SS must be 0");
    GuestNmiInjectionWithStiBlocking => ("27.3.1.5", GuestState(3), "when injecting an NMI, blocking by STI must be 0 (exit qualification 3)");
    GuestInterruptibilitySmi => ("27.3.1.5", GuestState(0), "blocking by SMI must be 0 outside SMM, and 1 with \"entry to SMM\" 1");
    GuestNmiInjectionWithVirtualNmiBlocking => ("27.3.1.5", GuestState(0), "with \"virtual NMIs\" 1, when injecting an NMI, blocking by NMI must be 0");
    GuestEnclaveInterruptionWithMovSs => ("27.3.1.5", GuestState(0), "with enclave interruption (bit 4) 1, blocking by MOV SS must be 0");
    GuestPendingDebugReserved => ("27.3.1.5", GuestState(0), "guest pending debug exceptions bits 11:4, 13, 15 and 63:17 must be 0 (bit 16 too without RTM)");
    GuestPendingDebugBs => ("27.3.1.5", GuestState(0), "with STI or MOV-SS blocking or the HLT state, pending BS must be 1 if RFLAGS.TF is 1 and IA32_DEBUGCTL.BTF 0, and 0 if TF is 0 or BTF 1");
    GuestPendingDebugRtm => ("27.3.1.5", GuestState(0), "with pending RTM (bit 16) 1, bits 11:0 and 14 must be 0, bit 12 must be 1, and blocking by MOV SS must be 0");
    GuestVmcsLinkPointer => ("27.3.1.5", GuestState(4), "a VMCS link pointer other than all ones must be 4-KByte aligned, within the physical-address width, not the current VMCS, and reference a VMCS with this revision whose shadow bit equals \"VMCS shadowing\" (exit qualification 4)");
    // §27.3.1.6 guest PDPTEs.
    GuestPdpteReserved => ("27.3.1.6", GuestState(2), "with PAE paging (CR0.PG, CR4.PAE, not IA-32e mode), each present PDPTE must have bits 2:1, 8:5 and 63:MAXPHYADDR 0 (exit qualification 2)");
    // §27.4 loading MSRs.
    MsrLoadFsGsBase => ("27.4", MsrLoad, "a VM-entry MSR-load entry must not name IA32_FS_BASE (C0000100H) or IA32_GS_BASE (C0000101H)");
    MsrLoadX2apic => ("27.4", MsrLoad, "a VM-entry MSR-load entry must not name an x2APIC MSR (800H-8FFH)");
    MsrLoadSmmOnly => ("27.4", MsrLoad, "outside SMM, a VM-entry MSR-load entry must not name an MSR writable only in SMM (IA32_SMM_MONITOR_CTL, 9BH)");
    MsrLoadReservedBits => ("27.4", MsrLoad, "bits 63:32 of a VM-entry MSR-load entry must be 0");
    MsrLoadValueFaults => ("27.4", MsrLoad, "the value of a VM-entry MSR-load entry must be one WRMSR at CPL 0 would write without #GP");
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "§{} {}: {}", self.section(), self.name(), self.rule())
    }
}
