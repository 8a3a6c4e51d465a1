//! Bochs 2.7's VM-entry failure messages (`cpu/vmx.cc`, logged at the error level) and the
//! `vmx-entry-check` checks ([`CheckId`](../../vmx-entry-check) names) each one stands for.
//!
//! Bochs logs one message when a VM entry fails a check, naming the check in its own words
//! (e.g. `VMFAIL: VMCS host state invalid CR0 0x80000031`). [`BOCHS_CHECKS`] has one row per
//! message text: the pattern (Bochs's format string with `*` for each printf argument), the
//! SDM Vol. 3C section of the rule, and the checker's names for it. A message that covers
//! several of the SDM's checks (Bochs tests two rules at once) names each of them; one with
//! no counterpart among the checker's checks (a check of the VMLAUNCH/VMRESUME instruction
//! itself, or one the SDM does not state) names none. The table was written from Bochs 2.7's
//! `cpu/vmx.cc` (its `BX_ERROR` calls in the VM-entry checks and in `LoadMSRs`); the rows
//! at its end are the messages Bochs 3.0's adds or words differently.

/// One Bochs VM-entry failure message and the checker's checks it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BochsCheck {
    /// Bochs's message, `*` standing for each printf argument (any text, possibly empty).
    pub pattern: &'static str,
    /// The SDM Vol. 3C section of the rule (`31.3` for checks of the VMLAUNCH/VMRESUME
    /// instruction itself, which are no VM-entry check of chapter 27).
    pub sdm: &'static str,
    /// The `vmx-entry-check` `CheckId` names the message stands for; empty when none
    /// corresponds (the message is then counted as unmapped).
    pub checks: &'static [&'static str],
}

impl BochsCheck {
    /// The checker's names, or `None` when the message has no counterpart.
    pub fn mapped(&self) -> Option<&'static [&'static str]> {
        (!self.checks.is_empty()).then_some(self.checks)
    }
}

/// Whether `text` matches `pattern`, where each `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The row of [`BOCHS_CHECKS`] whose pattern matches `message` (the log line's text after
/// the `[CPU0  ] ` prefix); where several match, the most specific (the most literal
/// characters: `guest IDTR/IDTR.BASE non canonical` before `guest *.BASE non canonical`).
/// `None` for a message the table does not know.
pub fn lookup(message: &str) -> Option<&'static BochsCheck> {
    let m = message.trim_end();
    BOCHS_CHECKS
        .iter()
        .filter(|r| glob_match(r.pattern, m))
        .max_by_key(|r| r.pattern.len() - r.pattern.matches('*').count())
}

/// Whether a log message is one of Bochs's VM-entry failure messages (the prefixes its
/// `cpu/vmx.cc` uses for them), whether or not the table knows it.
pub fn is_entry_failure_message(message: &str) -> bool {
    [
        "VMFAIL: ",
        "VMENTER FAIL: ",
        "VMENTER: ",
        "VMX LoadMSRs ",
        "is_eptptr_valid: ",
        "FAIL: VMCS host ",
    ]
    .iter()
    .any(|p| message.starts_with(p))
}

/// Bochs 2.7's VM-entry failure messages, in the order `cpu/vmx.cc` checks them (controls,
/// host state, guest state, MSR loading), then the VMLAUNCH/VMRESUME instruction's own.
pub const BOCHS_CHECKS: &[BochsCheck] = &[
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX pin-based controls allowed 0-settings",
        sdm: "27.2.1.1",
        checks: &["PinBasedReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX pin-based controls allowed 1-settings [*]",
        sdm: "27.2.1.1",
        checks: &["PinBasedReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX proc-based controls allowed 0-settings",
        sdm: "27.2.1.1",
        checks: &["PrimaryProcReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX proc-based controls allowed 1-settings [*]",
        sdm: "27.2.1.1",
        checks: &["PrimaryProcReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX secondary proc-based controls allowed 0-settings",
        sdm: "27.2.1.1",
        checks: &["SecondaryProcReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX secondary controls allowed 1-settings [*]",
        sdm: "27.2.1.1",
        checks: &["SecondaryProcReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: too may CR3 targets *",
        sdm: "27.2.1.1",
        checks: &["Cr3TargetCount"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: I/O bitmap A phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["IoBitmapAAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: I/O bitmap B phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["IoBitmapBAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: MSR bitmap phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["MsrBitmapAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: misconfigured virtual NMI control",
        sdm: "27.2.1.1",
        checks: &[
            "VirtualNmisWithoutNmiExiting",
            "NmiWindowWithoutVirtualNmis",
        ],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMREAD bitmap phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["VmreadBitmapAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMWRITE bitmap phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["VmwriteBitmapAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: broken #VE information address",
        sdm: "27.2.1.1",
        checks: &["VirtualizationExceptionInfoAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: virtual apic phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["VirtualApicAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: virtual interrupt delivery must be set together with external interrupt exiting",
        sdm: "27.2.1.1",
        checks: &["VirtualInterruptDeliveryWithoutExternalInterruptExiting"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: TPR threshold too big",
        sdm: "27.2.1.1",
        checks: &["TprThresholdReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: TPR threshold > TPR shadow",
        sdm: "27.2.1.1",
        checks: &["TprThresholdAboveVtpr"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: apic virtualization is enabled without TPR shadow",
        sdm: "27.2.1.1",
        checks: &["ApicVirtualizationWithoutTprShadow"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: apic access page phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["ApicAccessAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: virtualize X2APIC mode enabled together with APIC access virtualization",
        sdm: "27.2.1.1",
        checks: &["X2apicModeWithApicAccesses"],
    },
    BochsCheck {
        pattern: "is_eptptr_valid: EPTPTR A/D enabled when not supported by CPU",
        sdm: "27.2.1.1",
        checks: &["EptpAccessedDirty"],
    },
    BochsCheck {
        pattern: "is_eptptr_valid: EPTPTR CET supervisor shadow stack control bit enabled when not supported by CPU",
        sdm: "27.2.1.1",
        checks: &["EptpSupervisorShadowStack"],
    },
    BochsCheck {
        pattern: "is_eptptr_valid: EPTPTR reserved bits set",
        sdm: "27.2.1.1",
        checks: &["EptpReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: invalid EPTPTR value",
        sdm: "27.2.1.1",
        checks: &[
            "EptpMemoryType",
            "EptpWalkLength",
            "EptpAccessedDirty",
            "EptpSupervisorShadowStack",
            "EptpReserved",
        ],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: unrestricted guest without EPT",
        sdm: "27.2.1.1",
        checks: &["UnrestrictedGuestWithoutEpt"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: guest VPID == 0",
        sdm: "27.2.1.1",
        checks: &["VpidZero"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS VM Functions control reserved bits set",
        sdm: "27.2.1.1",
        checks: &["VmFunctionControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMFUNC EPTP-SWITCHING: EPT disabled",
        sdm: "27.2.1.1",
        checks: &["EptpSwitchingWithoutEpt"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMFUNC EPTP-SWITCHING: eptp list phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["EptpListAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: PML is enabled without EPT",
        sdm: "27.2.1.1",
        checks: &["PmlWithoutEpt"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: PML base phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["PmlAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: SPP is enabled without EPT",
        sdm: "27.2.1.1",
        checks: &["SubPageWriteWithoutEpt"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: SPP base phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["SubPagePermissionTablePointer"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: TSC multiplier should be non zero",
        sdm: "27.2.1.1",
        checks: &[],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX vmexit controls allowed 0-settings",
        sdm: "27.2.1.2",
        checks: &["ExitControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX vmexit controls allowed 1-settings [*]",
        sdm: "27.2.1.2",
        checks: &["ExitControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: save_VMX_preemption_timer VMEXIT control is set but VMX_preemption_timer VMEXEC control is clear",
        sdm: "27.2.1.2",
        checks: &["SavePreemptionTimerWithoutTimer"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS VMEXIT CTRL: msr store addr malformed",
        sdm: "27.2.1.2",
        checks: &["ExitMsrStoreAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS VMEXIT CTRL: msr store addr too high",
        sdm: "27.2.1.2",
        checks: &["ExitMsrStoreAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS VMEXIT CTRL: msr load addr malformed",
        sdm: "27.2.1.2",
        checks: &["ExitMsrLoadAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS VMEXIT CTRL: msr load addr too high",
        sdm: "27.2.1.2",
        checks: &["ExitMsrLoadAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX vmentry controls allowed 0-settings",
        sdm: "27.2.1.3",
        checks: &["EntryControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX vmentry controls allowed 1-settings [*]",
        sdm: "27.2.1.3",
        checks: &["EntryControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY from outside SMM with dual-monitor treatment enabled",
        sdm: "27.2.1.3",
        checks: &["DeactivateDualMonitorOutsideSmm"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS VMENTRY CTRL: msr load addr malformed",
        sdm: "27.2.1.3",
        checks: &["EntryMsrLoadAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS VMENTRY CTRL: msr load addr too high",
        sdm: "27.2.1.3",
        checks: &["EntryMsrLoadAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY broken interruption info field",
        sdm: "27.2.1.3",
        checks: &["EventInjectionReserved", "EventInjectionNested"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY bad injected event vector *",
        sdm: "27.2.1.3",
        checks: &["EventInjectionVector"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY injected NMI vector when blocked by NMI in interruptibility state",
        sdm: "27.3.1.5",
        checks: &["GuestNmiInjectionWithVirtualNmiBlocking"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY bad injected event instr length",
        sdm: "27.2.1.3",
        checks: &["EventInjectionInstructionLength"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY bad MTF injection with vector=*",
        sdm: "27.2.1.3",
        checks: &["EventInjectionVector"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY bad injected event type *",
        sdm: "27.2.1.3",
        checks: &["EventInjectionType"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY injected event vector * broken error code",
        sdm: "27.2.1.3",
        checks: &["EventInjectionErrorCode"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMENTRY bad error code * for injected event *",
        sdm: "27.2.1.3",
        checks: &["EventInjectionErrorCodeWidth"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS x86-64 host control invalid on VMENTRY",
        sdm: "27.2.4",
        checks: &["HostAddressSpaceSizeMismatch"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS x86-64 guest(*)/host(*) controls invalid on VMENTRY",
        sdm: "27.2.4",
        checks: &["HostAddressSpaceSizeMismatch", "Ia32eGuestOutsideIa32eHost"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host state invalid CR0 *",
        sdm: "27.2.2",
        checks: &["HostCr0Fixed"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host state invalid CR3",
        sdm: "27.2.2",
        checks: &["HostCr3Reserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host state invalid CR4 *",
        sdm: "27.2.2",
        checks: &["HostCr4Fixed"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host segreg * TI/RPL != 0",
        sdm: "27.2.3",
        checks: &["HostSelectorRplTi"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host CS selector 0",
        sdm: "27.2.3",
        checks: &["HostCsSelectorNull"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host SS selector 0",
        sdm: "27.2.3",
        checks: &["HostSsSelectorNull"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS invalid host TR selector",
        sdm: "27.2.3",
        checks: &["HostTrSelectorNull", "HostSelectorRplTi"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host * BASE non canonical",
        sdm: "27.2.3",
        checks: &["HostBaseCanonical"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host SYSENTER_ESP_MSR non canonical",
        sdm: "27.2.2",
        checks: &["HostSysenterEspCanonical"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host SYSENTER_EIP_MSR non canonical",
        sdm: "27.2.2",
        checks: &["HostSysenterEipCanonical"],
    },
    BochsCheck {
        pattern: "VMFAIL: invalid Memory Type in host MSR_PAT",
        sdm: "27.2.2",
        checks: &["HostPat"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host IA32_S_CET/EB_LEG_BITMAP_BASE non canonical or invalid",
        sdm: "27.2.2",
        checks: &["HostCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host IA32_S_CET invalid",
        sdm: "27.2.2",
        checks: &["HostCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host SSP non canonical or invalid",
        sdm: "27.2.2",
        checks: &["HostCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host SSP[1:0] not zero",
        sdm: "27.2.2",
        checks: &["HostCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host INTERRUPT_SSP_TABLE_ADDR non canonical or invalid",
        sdm: "27.2.2",
        checks: &["HostCetState"],
    },
    BochsCheck {
        pattern: "FAIL: VMCS host CR4.CET=1 when CR0.WP=0",
        sdm: "27.2.2",
        checks: &["HostCetWithoutWp"],
    },
    BochsCheck {
        pattern: "VMFAIL: invalid host IA32_PKRS value",
        sdm: "27.2.2",
        checks: &["HostPkrsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host EFER reserved bits set !",
        sdm: "27.2.2",
        checks: &["HostEferReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host EFER (*) inconsistent value !",
        sdm: "27.2.2",
        checks: &["HostEferLmaLme"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host CR4.PAE=0 with x86-64 host",
        sdm: "27.2.4",
        checks: &["HostPaeWithoutPaging64"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host RIP non-canonical",
        sdm: "27.2.4",
        checks: &["HostRipCanonical"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host RIP > 32 bit",
        sdm: "27.2.4",
        checks: &["HostRipHigh"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS host CR4.PCIDE set",
        sdm: "27.2.4",
        checks: &["HostPcideWithoutIa32e"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: RFLAGS reserved bits are set",
        sdm: "27.3.1.4",
        checks: &["GuestRflagsReserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: RFLAGS[1] cleared",
        sdm: "27.3.1.4",
        checks: &["GuestRflagsReserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: Enter to x86-64 guest with RFLAGS.VM",
        sdm: "27.3.1.4",
        checks: &["GuestRflagsVm"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest invalid CR0",
        sdm: "27.3.1.1",
        checks: &["GuestCr0Fixed"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS unrestricted guest CR0.PG without CR0.PE",
        sdm: "27.3.1.1",
        checks: &["GuestCr0PgWithoutPe"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest invalid CR3",
        sdm: "27.3.1.1",
        checks: &["GuestCr3Reserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest invalid CR4",
        sdm: "27.3.1.1",
        checks: &["GuestCr4Fixed"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest CR4.PAE=0 in x86-64 mode",
        sdm: "27.3.1.1",
        checks: &["GuestIa32eWithoutPaging"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS CR4.PCIDE set in 32-bit guest",
        sdm: "27.3.1.1",
        checks: &["GuestPcideOutsideIa32e"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest invalid DR7",
        sdm: "27.3.1.1",
        checks: &["GuestDr7High"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest CR4.CET=1 when CR0.WP=0",
        sdm: "27.3.1.1",
        checks: &["GuestCetWithoutWp"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS guest IA32_S_CET/EB_LEG_BITMAP_BASE non canonical or invalid",
        sdm: "27.3.1.1",
        checks: &["GuestCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS guest IA32_S_CET invalid",
        sdm: "27.3.1.1",
        checks: &["GuestCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS guest SSP non canonical or invalid",
        sdm: "27.3.1.1",
        checks: &["GuestCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS guest SSP[1:0] not zero",
        sdm: "27.3.1.1",
        checks: &["GuestCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS guest INTERRUPT_SSP_TABLE_ADDR non canonical or invalid",
        sdm: "27.3.1.1",
        checks: &["GuestCetState"],
    },
    BochsCheck {
        pattern: "VMFAIL: invalid guest IA32_PKRS value",
        sdm: "27.3.1.1",
        checks: &["GuestPkrsReserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS v8086 guest bad *.BASE",
        sdm: "27.3.1.2",
        checks: &["GuestV86Base"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS v8086 guest *.LIMIT != 0xFFFF",
        sdm: "27.3.1.2",
        checks: &["GuestV86Limit"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS v8086 guest *.AR != 0xF3",
        sdm: "27.3.1.2",
        checks: &["GuestV86AccessRights"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest *.BASE non canonical",
        sdm: "27.3.1.2",
        checks: &["GuestBaseCanonical"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest *.BASE > 32 bit",
        sdm: "27.3.1.2",
        checks: &["GuestBaseHigh"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest * not segment",
        sdm: "27.3.1.2",
        checks: &["GuestSegmentDescriptorType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest * not present",
        sdm: "27.3.1.2",
        checks: &["GuestSegmentPresent"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest *.AR/LIMIT malformed",
        sdm: "27.3.1.2",
        checks: &[
            "GuestSegmentAccessRightsReserved",
            "GuestSegmentGranularity",
        ],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest non-conforming CS.RPL <> CS.DPL",
        sdm: "27.3.1.2",
        checks: &["GuestCsDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest non-conforming CS.RPL < CS.DPL",
        sdm: "27.3.1.2",
        checks: &["GuestCsDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS unrestricted guest CS.DPL != 0",
        sdm: "27.3.1.2",
        checks: &["GuestCsDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest CS.TYPE",
        sdm: "27.3.1.2",
        checks: &["GuestCsType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS x86_64 guest wrong CS.D_B/L",
        sdm: "27.3.1.2",
        checks: &["GuestCsLongModeDb"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest SS.TYPE",
        sdm: "27.3.1.2",
        checks: &["GuestSsType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest * not ACCESSED",
        sdm: "27.3.1.2",
        checks: &["GuestDataSegmentType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest CODE segment * not READABLE",
        sdm: "27.3.1.2",
        checks: &["GuestDataSegmentType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest non-conforming *.RPL < *.DPL",
        sdm: "27.3.1.2",
        checks: &["GuestDataSegmentDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest CS.RPL != SS.RPL",
        sdm: "27.3.1.2",
        checks: &["GuestSsRplCsRpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest SS.RPL <> SS.DPL",
        sdm: "27.3.1.2",
        checks: &["GuestSsDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS unrestricted guest SS.DPL != 0",
        sdm: "27.3.1.2",
        checks: &["GuestSsDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest IDTR/IDTR.BASE non canonical",
        sdm: "27.3.1.3",
        checks: &["GuestDescriptorTableBaseCanonical"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest GDTR/IDTR limit > 0xFFFF",
        sdm: "27.3.1.3",
        checks: &["GuestDescriptorTableLimit"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest LDTR.TI set",
        sdm: "27.3.1.2",
        checks: &["GuestLdtrSelectorTi"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest incorrect LDTR type (*)",
        sdm: "27.3.1.2",
        checks: &["GuestLdtrType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest LDTR is not system segment",
        sdm: "27.3.1.2",
        checks: &["GuestSegmentDescriptorType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest TR invalid",
        sdm: "27.3.1.2",
        checks: &["GuestTrUnusable"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest TR.TI set",
        sdm: "27.3.1.2",
        checks: &["GuestTrSelectorTi"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest TR is not system segment",
        sdm: "27.3.1.2",
        checks: &["GuestSegmentDescriptorType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest incorrect TR type",
        sdm: "27.3.1.2",
        checks: &["GuestTrType"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest SYSENTER_ESP_MSR non canonical",
        sdm: "27.3.1.1",
        checks: &["GuestSysenterEspCanonical"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest SYSENTER_EIP_MSR non canonical",
        sdm: "27.3.1.1",
        checks: &["GuestSysenterEipCanonical"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: invalid Memory Type in guest MSR_PAT",
        sdm: "27.3.1.1",
        checks: &["GuestPat"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest EFER reserved bits set !",
        sdm: "27.3.1.1",
        checks: &["GuestEferReserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest EFER.LMA doesn't match x86_64_guest !",
        sdm: "27.3.1.1",
        checks: &["GuestEferLma"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest EFER (*) inconsistent value !",
        sdm: "27.3.1.1",
        checks: &["GuestEferLmaLme"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest RIP > 32 bit",
        sdm: "27.3.1.4",
        checks: &["GuestRipHigh"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS link pointer *",
        sdm: "27.3.1.5",
        checks: &["GuestVmcsLinkPointer"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest tmpDR6 reserved bits",
        sdm: "27.3.1.5",
        checks: &["GuestPendingDebugReserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest activity state *",
        sdm: "27.3.1.5",
        checks: &["GuestActivityState"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest HLT state with SS.DPL=*",
        sdm: "27.3.1.5",
        checks: &["GuestHltWithSsDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest interruptibility state broken when entering non active CPU state *",
        sdm: "27.3.1.5",
        checks: &["GuestActivityWithStiOrMovSsBlocking"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest interruptibility state broken",
        sdm: "27.3.1.5",
        checks: &[
            "GuestInterruptibilityReserved",
            "GuestInterruptibilityStiAndMovSs",
        ],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest interrupts can't be blocked by STI when EFLAGS.IF = 0",
        sdm: "27.3.1.5",
        checks: &["GuestInterruptibilityStiWithoutIf"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest interrupts blocked when injecting external interrupt",
        sdm: "27.3.1.5, 27.3.1.4",
        checks: &[
            "GuestInterruptibilityEventBlocked",
            "GuestRflagsIfForExternalInterrupt",
        ],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest interrupts blocked when injecting NMI",
        sdm: "27.3.1.5",
        checks: &[
            "GuestInterruptibilityEventBlocked",
            "GuestNmiInjectionWithStiBlocking",
        ],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: No guest interruptions are allowed when entering Wait-For-Sipi state",
        sdm: "27.3.1.5",
        checks: &["GuestActivityEventInjection"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: Only NMI or #MC guest interruption is allowed when entering shutdown state",
        sdm: "27.3.1.5",
        checks: &["GuestActivityEventInjection"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS SMM guest should block SMI",
        sdm: "27.3.1.5",
        checks: &["GuestInterruptibilitySmi"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: The activity state must not indicate the wait-for-SIPI state if entering to SMM guest",
        sdm: "27.3.1.5",
        checks: &["GuestActivityWaitForSipiWithEntryToSmm"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS SMI blocked when not in SMM mode",
        sdm: "27.3.1.5",
        checks: &["GuestInterruptibilitySmi"],
    },
    BochsCheck {
        pattern: "VMENTER: EPT Guest State PDPTRs Checks Failed",
        sdm: "27.3.1.6",
        checks: &["GuestPdpteReserved"],
    },
    BochsCheck {
        pattern: "VMENTER: Guest State PDPTRs Checks Failed",
        sdm: "27.3.1.6",
        checks: &["GuestPdpteReserved"],
    },
    BochsCheck {
        pattern: "VMX LoadMSRs *: broken msr index *",
        sdm: "27.4",
        checks: &["MsrLoadReservedBits"],
    },
    BochsCheck {
        pattern: "VMX LoadMSRs *: unable to restore FSBASE or GSBASE",
        sdm: "27.4",
        checks: &["MsrLoadFsGsBase"],
    },
    BochsCheck {
        pattern: "VMX LoadMSRs *: unable to restore X2APIC range MSR *",
        sdm: "27.4",
        checks: &["MsrLoadX2apic"],
    },
    BochsCheck {
        pattern: "VMX LoadMSRs *: unable to set up MSR *",
        sdm: "27.4",
        checks: &["MsrLoadValueFaults", "MsrLoadSmmOnly"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMLAUNCH with interrupts blocked by MOV_SS !",
        sdm: "30.3 (VMLAUNCH/VMRESUME)",
        checks: &[],
    },
    BochsCheck {
        pattern: "VMFAIL: VMLAUNCH with non-clear VMCS!",
        sdm: "30.3 (VMLAUNCH/VMRESUME)",
        checks: &[],
    },
    BochsCheck {
        pattern: "VMFAIL: VMRESUME with non-launched VMCS!",
        sdm: "30.3 (VMLAUNCH/VMRESUME)",
        checks: &[],
    },
    BochsCheck {
        pattern: "VMFAIL: VMLAUNCH with invalid VMCS ptr !",
        sdm: "30.3 (VMLAUNCH/VMRESUME)",
        checks: &[],
    },
    // Bochs 3.0's `cpu/vmx.cc`: messages it words differently from 2.7 (the allowed
    // 1-settings without the offending bits; capitalised APIC; the CS.DPL/SS.DPL pair),
    // and those of the features 3.0 adds (posted interrupts, MBEC, tertiary and secondary
    // VM-exit controls, IA32_SPEC_CTRL, UINV). `guest non-conforming CS.DPL > SS.DPL` is
    // its message for a conforming CS.
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX pin-based controls allowed 1-settings",
        sdm: "27.2.1.1",
        checks: &["PinBasedReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX proc-based controls allowed 1-settings",
        sdm: "27.2.1.1",
        checks: &["PrimaryProcReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX secondary controls allowed 1-settings",
        sdm: "27.2.1.1",
        checks: &["SecondaryProcReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX tertiary controls allowed 1-settings",
        sdm: "27.2.1.1",
        checks: &["TertiaryProcReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: posted interrupts must be enabled together with virtual interrupt delivery",
        sdm: "27.2.1.1",
        checks: &["PostedInterruptsWithoutVirtualInterruptDelivery"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: posted interrupts notification vector * must be 0-255",
        sdm: "27.2.1.1",
        checks: &["PostedInterruptNotificationVector"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: Posted Interrupt Descriptor phy addr malformed",
        sdm: "27.2.1.1",
        checks: &["PostedInterruptDescriptorAddress"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: APIC virtualization is enabled without TPR shadow",
        sdm: "27.2.1.1",
        checks: &["ApicVirtualizationWithoutTprShadow"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: MBE is enabled without EPT",
        sdm: "27.2.1.1",
        checks: &["ModeBasedExecuteWithoutEpt"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: posted interrupts must be enabled together 'ack interrupt on exit'",
        sdm: "27.2.1.1",
        checks: &["PostedInterruptsWithoutAcknowledgeOnExit"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX vmexit controls allowed 1-settings",
        sdm: "27.2.1.2",
        checks: &["ExitControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX vmexit secondary controls allowed 1-settings",
        sdm: "27.2.1.2",
        checks: &["SecondaryExitControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: VMCS EXEC CTRL: VMX vmentry controls allowed 1-settings",
        sdm: "27.2.1.3",
        checks: &["EntryControlsReserved"],
    },
    BochsCheck {
        pattern: "VMFAIL: invalid value in host IA32_SPEC_CTRL_MSR",
        sdm: "27.2.2",
        checks: &["HostSpecCtrlReserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest non-conforming CS.DPL <> SS.DPL",
        sdm: "27.3.1.2",
        checks: &["GuestCsDpl"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest non-conforming CS.DPL > SS.DPL",
        sdm: "27.3.1.2",
        checks: &["GuestCsDpl"],
    },
    BochsCheck {
        pattern: "VMFAIL: invalid value in guest MSR_IA32_SPEC_CTRL",
        sdm: "27.3.1.1",
        checks: &["GuestSpecCtrlReserved"],
    },
    BochsCheck {
        pattern: "VMENTER FAIL: VMCS guest INTR.UINV=* > 256",
        sdm: "27.3.1.1",
        checks: &["GuestUinvReserved"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The checker's `check_ids!` table: `(name, section)` of every `CheckId`.
    fn checker_ids() -> Vec<(&'static str, &'static str)> {
        include_str!("../../vmx-entry-check/src/check_id.rs")
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.trim().split_once(" => (\"")?;
                let (section, _) = rest.split_once('"')?;
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric())
                    .then_some((name, section))
            })
            .collect()
    }

    #[test]
    fn every_name_is_a_checker_check_of_the_rows_section() {
        let ids = checker_ids();
        assert!(ids.len() > 100, "parsed {} CheckIds", ids.len());
        for row in BOCHS_CHECKS {
            for name in row.checks {
                let Some((_, section)) = ids.iter().find(|(n, _)| n == name) else {
                    panic!("{name} (row {:?}) is no CheckId", row.pattern)
                };
                assert!(
                    row.sdm.split(", ").any(|s| s == *section),
                    "{name} is §{section}, row {:?} says §{}",
                    row.pattern,
                    row.sdm
                );
            }
        }
    }

    #[test]
    fn patterns_are_unique_and_prefixed() {
        for (i, row) in BOCHS_CHECKS.iter().enumerate() {
            assert!(is_entry_failure_message(row.pattern), "{:?}", row.pattern);
            assert!(
                BOCHS_CHECKS[..i].iter().all(|r| r.pattern != row.pattern),
                "{:?} twice",
                row.pattern
            );
            // Each row is reachable: no other row is a more specific match of its own text.
            assert_eq!(lookup(row.pattern), Some(row), "{:?}", row.pattern);
        }
    }

    #[test]
    fn glob() {
        assert!(glob_match("a*c", "abc"));
        assert!(glob_match("a*c", "ac"));
        assert!(glob_match("a*b*c", "a1b2c"));
        assert!(!glob_match("a*b*c", "a1c"));
        assert!(glob_match("abc", "abc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(!glob_match("a*cd", "acd2"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn real_messages_map() {
        let cases: &[(&str, &[&str])] = &[
            (
                "VMFAIL: VMCS EXEC CTRL: VMX pin-based controls allowed 1-settings [0x00000800]",
                &["PinBasedReserved"],
            ),
            (
                "VMFAIL: VMCS EXEC CTRL: VMX pin-based controls allowed 1-settings",
                &["PinBasedReserved"],
            ),
            (
                "VMENTER FAIL: VMCS guest non-conforming CS.DPL <> SS.DPL",
                &["GuestCsDpl"],
            ),
            (
                "VMENTER FAIL: VMCS guest INTR.UINV=300 > 256",
                &["GuestUinvReserved"],
            ),
            (
                "VMFAIL: VMCS host state invalid CR4 0x0040000000002020",
                &["HostCr4Fixed"],
            ),
            (
                "VMFAIL: VMCS host segreg 5 TI/RPL != 0",
                &["HostSelectorRplTi"],
            ),
            (
                "VMFAIL: VMCS host GS BASE non canonical",
                &["HostBaseCanonical"],
            ),
            (
                "VMFAIL: VMCS host EFER (0x00000900) inconsistent value !",
                &["HostEferLmaLme"],
            ),
            (
                "VMENTER FAIL: VMCS guest DS.AR/LIMIT malformed",
                &[
                    "GuestSegmentAccessRightsReserved",
                    "GuestSegmentGranularity",
                ],
            ),
            (
                "VMENTER FAIL: VMCS guest FS not present",
                &["GuestSegmentPresent"],
            ),
            (
                "VMENTER FAIL: VMCS guest LDTR not present",
                &["GuestSegmentPresent"],
            ),
            (
                "VMENTER FAIL: VMCS guest activity state 262144",
                &["GuestActivityState"],
            ),
            (
                "VMENTER FAIL: VMCS guest non-conforming CS.RPL < CS.DPL",
                &["GuestCsDpl"],
            ),
            (
                "VMENTER FAIL: VMCS guest non-conforming DS.RPL < DS.DPL",
                &["GuestDataSegmentDpl"],
            ),
            (
                "VMENTER FAIL: VMCS guest interruptibility state broken when entering non active CPU state 1",
                &["GuestActivityWithStiOrMovSsBlocking"],
            ),
            (
                "VMX LoadMSRs 1: unable to restore X2APIC range MSR 808",
                &["MsrLoadX2apic"],
            ),
            (
                "VMFAIL: VMCS link pointer incorrect revision ID 7 != 8",
                &["GuestVmcsLinkPointer"],
            ),
            (
                "is_eptptr_valid: EPTPTR reserved bits set",
                &["EptpReserved"],
            ),
        ];
        for (m, names) in cases {
            assert!(is_entry_failure_message(m), "{m}");
            let row = lookup(m).unwrap_or_else(|| panic!("{m} not in the table"));
            assert_eq!(row.mapped(), Some(*names), "{m}");
        }
        let none = lookup("VMFAIL: VMLAUNCH with non-clear VMCS!").expect("known");
        assert_eq!(none.mapped(), None);
        assert!(lookup("VMFAIL: something Bochs 3.0 added").is_none());
        assert!(!is_entry_failure_message(
            "VMEXIT: Guest State Checks Failed"
        ));
        assert!(!is_entry_failure_message("entry_check #3 GuestCr0Fixed"));
    }
}
