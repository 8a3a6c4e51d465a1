//! Mutations of a valid VMCS snapshot for differential tests (SDM Vol. 3C §27.2-§27.3):
//! [`targeted`] gives one mutation per check it can reach from the snapshot (the fields to
//! write and the [`CheckId`] it should trip); [`BitFlips`] gives seeded random single-bit
//! flips in control, host-state and guest-state fields (a xorshift generator, the same
//! sequence for the same seed).

use vmx_defs::capabilities::{ControlBits, VmxCapabilities};
use vmx_defs::controls::{
    EntryControls as Entry, PinBasedControls as Pin, PrimaryExitControls as Exit,
    PrimaryProcBasedControls as Proc, SecondaryProcBasedControls as Sec,
};
use vmx_defs::vmcs::{ALL_FIELDS, FieldType, VmcsEncoding, fields as f};

use crate::bits;
use crate::check_id::CheckId;
use crate::snapshot::VmcsSnapshot;

/// At most this many field writes per mutation.
pub const MAX_WRITES: usize = 3;

/// One mutation: up to [`MAX_WRITES`] field writes and the check it should trip (`None` for
/// a random flip, whose outcome the differential test compares instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mutation {
    /// The writes, first the field the check is about.
    pub writes: [Option<(VmcsEncoding, u64)>; MAX_WRITES],
    /// The check the mutation targets.
    pub expect: Option<CheckId>,
}

impl Mutation {
    /// The main field and its new value.
    pub fn field(&self) -> Option<(VmcsEncoding, u64)> {
        self.writes[0]
    }

    /// `base` with the writes applied.
    pub fn apply(&self, base: &VmcsSnapshot) -> VmcsSnapshot {
        let mut out = base.clone();
        for (field, value) in self.writes.iter().flatten() {
            out.set_raw(*field, *value);
        }
        out
    }
}

/// The lowest set bit of `x` (0 if none).
const fn lowest(x: u64) -> u64 {
    x & x.wrapping_neg()
}

/// A control value that breaks the allowed settings: a must-be-1 bit cleared, else a
/// not-allowed bit set.
fn break_control<T: ControlBits>(
    value: u64,
    allowed: vmx_defs::capabilities::AllowedSettings<T>,
) -> Option<u64> {
    let must = allowed.must_be_one().to_raw();
    let may = allowed.may_be_one().to_raw();
    if must != 0 {
        Some(value & !lowest(must))
    } else {
        let not_allowed = !may & 0xffff_ffff;
        (not_allowed != 0).then(|| value | lowest(not_allowed))
    }
}

/// Builds the targeted mutations of `base` (a snapshot that passes every check) on
/// processors with capabilities `caps`: one per check this crate can reach by writing at
/// most [`MAX_WRITES`] fields, skipping checks whose preconditions the processor or the
/// snapshot rule out. Returns the list and its length.
pub fn targeted(base: &VmcsSnapshot, caps: &VmxCapabilities) -> ([Option<Mutation>; 128], usize) {
    let mut out = [None; 128];
    let mut n = 0;
    let g = |field: vmx_defs::vmcs::VmcsEncoding| base.get_raw(field).unwrap_or(0);
    let mut push = |expect: CheckId, writes: &[(VmcsEncoding, u64)]| {
        let mut w = [None; MAX_WRITES];
        for (slot, x) in w.iter_mut().zip(writes) {
            *slot = Some(*x);
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = Some(Mutation {
                writes: w,
                expect: Some(expect),
            });
            n += 1;
        }
    };
    use CheckId as C;
    macro_rules! enc {
        ($x:ident) => {
            f::$x.encoding()
        };
    }
    let pin = g(enc!(CTRL_PIN_BASED_EXEC_CONTROLS));
    let proc = g(enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS));
    let sec_on = proc & u64::from(Proc::ACTIVATE_SECONDARY_CONTROLS.bits()) != 0;
    let sec = if sec_on {
        g(enc!(CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS))
    } else {
        0
    };
    let exit = g(enc!(CTRL_PRIMARY_VMEXIT_CONTROLS));
    let entry = g(enc!(CTRL_VMENTRY_CONTROLS));
    let ia32e = entry & u64::from(Entry::IA32E_MODE_GUEST.bits()) != 0;
    let unrestricted = sec & u64::from(Sec::UNRESTRICTED_GUEST.bits()) != 0;
    let ept = sec & u64::from(Sec::ENABLE_EPT.bits()) != 0;
    let proc_may = |b: Proc| caps.primary_proc().can_be_one(b);
    let pin_may = |b: Pin| caps.pin_based().can_be_one(b);
    let exit_may = |b: Exit| caps.exit().can_be_one(b);
    let entry_may = |b: Entry| caps.entry().can_be_one(b);
    let bit32 = |b: u32| u64::from(b);

    // §27.2.1.1
    if let Some(v) = break_control(pin, caps.pin_based()) {
        push(
            C::PinBasedReserved,
            &[(enc!(CTRL_PIN_BASED_EXEC_CONTROLS), v)],
        );
    }
    if let Some(v) = break_control(proc, caps.primary_proc()) {
        push(
            C::PrimaryProcReserved,
            &[(enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS), v)],
        );
    }
    if sec_on {
        let not_allowed = !u64::from(caps.secondary_proc().may_be_one().bits()) & 0xffff_ffff;
        if not_allowed != 0 {
            push(
                C::SecondaryProcReserved,
                &[(
                    enc!(CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS),
                    sec | lowest(not_allowed),
                )],
            );
        }
    }
    let max_cr3 = u64::from(caps.misc().cr3_target_count());
    push(
        C::Cr3TargetCount,
        &[(enc!(CTRL_CR3_TARGET_COUNT), max_cr3 + 1)],
    );
    if proc_may(Proc::USE_IO_BITMAPS) {
        let p = proc | bit32(Proc::USE_IO_BITMAPS.bits());
        push(
            C::IoBitmapAAddress,
            &[
                (enc!(CTRL_IO_BITMAP_A_ADDRESS), 0x1001),
                (enc!(CTRL_IO_BITMAP_B_ADDRESS), 0x2000),
                (enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS), p),
            ],
        );
        push(
            C::IoBitmapBAddress,
            &[
                (enc!(CTRL_IO_BITMAP_B_ADDRESS), 1 << 60),
                (enc!(CTRL_IO_BITMAP_A_ADDRESS), 0x1000),
                (enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS), p),
            ],
        );
    }
    if proc_may(Proc::USE_MSR_BITMAPS) {
        let p = proc | bit32(Proc::USE_MSR_BITMAPS.bits());
        push(
            C::MsrBitmapAddress,
            &[
                (enc!(CTRL_MSR_BITMAP_ADDRESS), 0x3008),
                (enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS), p),
            ],
        );
    }
    if proc_may(Proc::USE_TPR_SHADOW) {
        let p = proc | bit32(Proc::USE_TPR_SHADOW.bits());
        push(
            C::VirtualApicAddress,
            &[
                (enc!(CTRL_VIRTUAL_APIC_ADDRESS), 0x4100),
                (enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS), p),
            ],
        );
        push(
            C::TprThresholdReserved,
            &[
                (enc!(CTRL_TPR_THRESHOLD), 0x10),
                (enc!(CTRL_VIRTUAL_APIC_ADDRESS), 0x4000),
                (enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS), p),
            ],
        );
    }
    if pin_may(Pin::VIRTUAL_NMIS) && pin & bit32(Pin::NMI_EXITING.bits()) == 0 {
        push(
            C::VirtualNmisWithoutNmiExiting,
            &[(
                enc!(CTRL_PIN_BASED_EXEC_CONTROLS),
                pin | bit32(Pin::VIRTUAL_NMIS.bits()),
            )],
        );
    }
    if proc_may(Proc::NMI_WINDOW_EXITING) && pin & bit32(Pin::VIRTUAL_NMIS.bits()) == 0 {
        push(
            C::NmiWindowWithoutVirtualNmis,
            &[(
                enc!(CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS),
                proc | bit32(Proc::NMI_WINDOW_EXITING.bits()),
            )],
        );
    }
    if sec & bit32(Sec::ENABLE_VPID.bits()) != 0 {
        push(C::VpidZero, &[(enc!(CTRL_VPID), 0)]);
    }
    if ept {
        let eptp = g(enc!(CTRL_EPT_POINTER));
        push(
            C::EptpMemoryType,
            &[(enc!(CTRL_EPT_POINTER), (eptp & !7) | 1)],
        );
        push(
            C::EptpWalkLength,
            &[(enc!(CTRL_EPT_POINTER), (eptp & !0x38) | 1 << 3)],
        );
        push(C::EptpReserved, &[(enc!(CTRL_EPT_POINTER), eptp | 0x100)]);
        if !caps
            .ept_vpid()
            .contains(vmx_defs::capabilities::EptVpidCap::ACCESSED_DIRTY)
        {
            push(
                C::EptpAccessedDirty,
                &[(enc!(CTRL_EPT_POINTER), eptp | 0x40)],
            );
        }
        if caps.secondary_proc().can_be_one(Sec::UNRESTRICTED_GUEST) && !unrestricted {
            let s = (sec | bit32(Sec::UNRESTRICTED_GUEST.bits())) & !bit32(Sec::ENABLE_EPT.bits());
            push(
                C::UnrestrictedGuestWithoutEpt,
                &[(enc!(CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS), s)],
            );
        }
    }
    // §27.2.1.2
    if let Some(v) = break_control(exit, caps.exit()) {
        push(
            C::ExitControlsReserved,
            &[(enc!(CTRL_PRIMARY_VMEXIT_CONTROLS), v)],
        );
    }
    if exit_may(Exit::SAVE_VMX_PREEMPTION_TIMER_VALUE)
        && pin & bit32(Pin::ACTIVATE_VMX_PREEMPTION_TIMER.bits()) == 0
    {
        push(
            C::SavePreemptionTimerWithoutTimer,
            &[(
                enc!(CTRL_PRIMARY_VMEXIT_CONTROLS),
                exit | bit32(Exit::SAVE_VMX_PREEMPTION_TIMER_VALUE.bits()),
            )],
        );
    }
    push(
        C::ExitMsrStoreAddress,
        &[
            (enc!(CTRL_VMEXIT_MSR_STORE_ADDRESS), 0x5008),
            (enc!(CTRL_VMEXIT_MSR_STORE_COUNT), 1),
        ],
    );
    push(
        C::ExitMsrLoadAddress,
        &[
            (enc!(CTRL_VMEXIT_MSR_LOAD_ADDRESS), 1 << 62),
            (enc!(CTRL_VMEXIT_MSR_LOAD_COUNT), 1),
        ],
    );
    // §27.2.1.3
    if let Some(v) = break_control(entry, caps.entry()) {
        push(
            C::EntryControlsReserved,
            &[(enc!(CTRL_VMENTRY_CONTROLS), v)],
        );
    }
    if entry_may(Entry::ENTRY_TO_SMM) {
        push(
            C::EntryToSmmOutsideSmm,
            &[(
                enc!(CTRL_VMENTRY_CONTROLS),
                entry | bit32(Entry::ENTRY_TO_SMM.bits()),
            )],
        );
    }
    if entry_may(Entry::DEACTIVATE_DUAL_MONITOR_TREATMENT) {
        push(
            C::DeactivateDualMonitorOutsideSmm,
            &[(
                enc!(CTRL_VMENTRY_CONTROLS),
                entry | bit32(Entry::DEACTIVATE_DUAL_MONITOR_TREATMENT.bits()),
            )],
        );
    }
    let info = enc!(CTRL_VMENTRY_INTERRUPTION_INFO);
    push(C::EventInjectionType, &[(info, 0x8000_0100)]);
    push(C::EventInjectionVector, &[(info, 0x8000_0203)]);
    push(C::EventInjectionErrorCode, &[(info, 0x8000_0a02)]);
    push(C::EventInjectionNested, &[(info, 0x8000_2202)]);
    push(C::EventInjectionReserved, &[(info, 0x8001_0202)]);
    push(
        C::EventInjectionErrorCodeWidth,
        &[
            (enc!(CTRL_VMENTRY_EXCEPTION_ERROR_CODE), 0x1_0000),
            (info, 0x8000_0b0d),
        ],
    );
    push(
        C::EventInjectionInstructionLength,
        &[
            (enc!(CTRL_VMENTRY_INSTRUCTION_LENGTH), 16),
            (info, 0x8000_0403),
        ],
    );
    push(
        C::EntryMsrLoadAddress,
        &[
            (enc!(CTRL_VMENTRY_MSR_LOAD_ADDRESS), 0x6004),
            (enc!(CTRL_VMENTRY_MSR_LOAD_COUNT), 2),
        ],
    );

    // §27.2.2-§27.2.4
    let host_cr0 = g(enc!(HOST_CR0));
    let host_cr4 = g(enc!(HOST_CR4));
    push(
        C::HostCr0Fixed,
        &[(enc!(HOST_CR0), host_cr0 & !bits::CR0_PE)],
    );
    push(C::HostCr4Fixed, &[(enc!(HOST_CR4), host_cr4 & !(1 << 13))]);
    if caps.cr4_fixed().fixed1() & bits::CR4_CET != 0 {
        push(
            C::HostCetWithoutWp,
            &[
                (enc!(HOST_CR4), host_cr4 | bits::CR4_CET),
                (enc!(HOST_CR0), host_cr0 & !bits::CR0_WP),
            ],
        );
    }
    push(
        C::HostCr3Reserved,
        &[(enc!(HOST_CR3), g(enc!(HOST_CR3)) | 1 << 63)],
    );
    push(
        C::HostSysenterEspCanonical,
        &[(enc!(HOST_IA32_SYSENTER_ESP), 1 << 60)],
    );
    push(
        C::HostSysenterEipCanonical,
        &[(enc!(HOST_IA32_SYSENTER_EIP), 1 << 60)],
    );
    if exit_may(Exit::LOAD_IA32_PAT) {
        push(
            C::HostPat,
            &[
                (enc!(HOST_IA32_PAT), 0x0007_0406_0203_0006),
                (
                    enc!(CTRL_PRIMARY_VMEXIT_CONTROLS),
                    exit | bit32(Exit::LOAD_IA32_PAT.bits()),
                ),
            ],
        );
    }
    if exit & bit32(Exit::LOAD_IA32_EFER.bits()) != 0 {
        let efer = g(enc!(HOST_IA32_EFER));
        push(
            C::HostEferReserved,
            &[(enc!(HOST_IA32_EFER), efer | 1 << 1)],
        );
        push(
            C::HostEferLmaLme,
            &[(enc!(HOST_IA32_EFER), efer & !bits::EFER_LMA)],
        );
    }
    push(
        C::HostSelectorRplTi,
        &[(enc!(HOST_DS_SELECTOR), g(enc!(HOST_DS_SELECTOR)) | 4)],
    );
    push(C::HostCsSelectorNull, &[(enc!(HOST_CS_SELECTOR), 0)]);
    push(C::HostTrSelectorNull, &[(enc!(HOST_TR_SELECTOR), 0)]);
    push(
        C::HostBaseCanonical,
        &[(enc!(HOST_GS_BASE), 0x0000_8000_0000_0000)],
    );
    push(
        C::HostAddressSpaceSizeMismatch,
        &[(
            enc!(CTRL_PRIMARY_VMEXIT_CONTROLS),
            exit ^ bit32(Exit::HOST_ADDRESS_SPACE_SIZE.bits()),
        )],
    );
    push(
        C::HostPaeWithoutPaging64,
        &[(enc!(HOST_CR4), host_cr4 & !bits::CR4_PAE)],
    );
    push(
        C::HostRipCanonical,
        &[(enc!(HOST_RIP), 0x0000_8000_0000_0000)],
    );

    // §27.3.1.1
    let cr0 = g(enc!(GUEST_CR0));
    let cr4 = g(enc!(GUEST_CR4));
    push(C::GuestCr0Fixed, &[(enc!(GUEST_CR0), cr0 & !(1 << 5))]);
    if unrestricted {
        push(
            C::GuestCr0PgWithoutPe,
            &[(enc!(GUEST_CR0), (cr0 | bits::CR0_PG) & !bits::CR0_PE)],
        );
    }
    push(C::GuestCr4Fixed, &[(enc!(GUEST_CR4), cr4 & !(1 << 13))]);
    if caps.cr4_fixed().fixed1() & bits::CR4_CET != 0 {
        push(
            C::GuestCetWithoutWp,
            &[
                (enc!(GUEST_CR4), cr4 | bits::CR4_CET),
                (enc!(GUEST_CR0), cr0 & !bits::CR0_WP),
            ],
        );
    }
    if entry & bit32(Entry::LOAD_DEBUG_CONTROLS.bits()) != 0 {
        push(
            C::GuestDebugctlReserved,
            &[(enc!(GUEST_IA32_DEBUGCTL), 1 << 2)],
        );
        push(C::GuestDr7High, &[(enc!(GUEST_DR7), 0x400 | 1 << 32)]);
    }
    if ia32e {
        push(
            C::GuestIa32eWithoutPaging,
            &[(enc!(GUEST_CR4), cr4 & !bits::CR4_PAE)],
        );
    } else if caps.cr4_fixed().fixed1() & bits::CR4_PCIDE != 0 {
        push(
            C::GuestPcideOutsideIa32e,
            &[(enc!(GUEST_CR4), cr4 | bits::CR4_PCIDE)],
        );
    }
    push(
        C::GuestCr3Reserved,
        &[(enc!(GUEST_CR3), g(enc!(GUEST_CR3)) | 1 << 63)],
    );
    push(
        C::GuestSysenterEspCanonical,
        &[(enc!(GUEST_IA32_SYSENTER_ESP), 1 << 59)],
    );
    push(
        C::GuestSysenterEipCanonical,
        &[(enc!(GUEST_IA32_SYSENTER_EIP), 1 << 59)],
    );
    if entry & bit32(Entry::LOAD_IA32_PAT.bits()) != 0 {
        push(
            C::GuestPat,
            &[(enc!(GUEST_IA32_PAT), 0x0000_0000_0000_0002)],
        );
    }
    if entry & bit32(Entry::LOAD_IA32_EFER.bits()) != 0 {
        let efer = g(enc!(GUEST_IA32_EFER));
        push(
            C::GuestEferReserved,
            &[(enc!(GUEST_IA32_EFER), efer | 1 << 2)],
        );
        push(
            C::GuestEferLma,
            &[(enc!(GUEST_IA32_EFER), efer ^ bits::EFER_LMA)],
        );
        if cr0 & bits::CR0_PG != 0 {
            push(
                C::GuestEferLmaLme,
                &[(enc!(GUEST_IA32_EFER), efer ^ bits::EFER_LME)],
            );
        }
    }
    // §27.3.1.2
    let ar = |x: VmcsEncoding| g(x);
    push(
        C::GuestTrSelectorTi,
        &[(enc!(GUEST_TR_SELECTOR), g(enc!(GUEST_TR_SELECTOR)) | 4)],
    );
    push(
        C::GuestLdtrSelectorTi,
        &[
            (enc!(GUEST_LDTR_SELECTOR), 0x1c),
            (enc!(GUEST_LDTR_ACCESS_RIGHTS), 0x82),
            (enc!(GUEST_LDTR_LIMIT), 0xff),
        ],
    );
    push(
        C::GuestLdtrType,
        &[
            (enc!(GUEST_LDTR_ACCESS_RIGHTS), 0x83),
            (enc!(GUEST_LDTR_LIMIT), 0xff),
        ],
    );
    if !unrestricted {
        push(
            C::GuestSsRplCsRpl,
            &[(enc!(GUEST_SS_SELECTOR), g(enc!(GUEST_SS_SELECTOR)) | 3)],
        );
        push(
            C::GuestDataSegmentDpl,
            &[(enc!(GUEST_DS_SELECTOR), g(enc!(GUEST_DS_SELECTOR)) | 3)],
        );
    }
    push(
        C::GuestBaseCanonical,
        &[(enc!(GUEST_FS_BASE), 0x0000_8000_0000_0000)],
    );
    push(C::GuestBaseHigh, &[(enc!(GUEST_CS_BASE), 1 << 32)]);
    let cs_ar = ar(enc!(GUEST_CS_ACCESS_RIGHTS));
    let ss_ar = ar(enc!(GUEST_SS_ACCESS_RIGHTS));
    let ds_ar = ar(enc!(GUEST_DS_ACCESS_RIGHTS));
    push(
        C::GuestCsType,
        &[(enc!(GUEST_CS_ACCESS_RIGHTS), (cs_ar & !0xf) | 0x1)],
    );
    if ss_ar & 1 << 16 == 0 {
        push(
            C::GuestSsType,
            &[(enc!(GUEST_SS_ACCESS_RIGHTS), (ss_ar & !0xf) | 0x1)],
        );
        push(
            C::GuestSsDpl,
            &[(enc!(GUEST_SS_ACCESS_RIGHTS), ss_ar | 0x60)],
        );
    }
    if ds_ar & 1 << 16 == 0 {
        push(
            C::GuestDataSegmentType,
            &[(enc!(GUEST_DS_ACCESS_RIGHTS), (ds_ar & !0xf) | 0x2)],
        );
        push(
            C::GuestSegmentDescriptorType,
            &[(enc!(GUEST_DS_ACCESS_RIGHTS), ds_ar & !0x10)],
        );
        push(
            C::GuestSegmentPresent,
            &[(enc!(GUEST_DS_ACCESS_RIGHTS), ds_ar & !0x80)],
        );
        push(
            C::GuestSegmentAccessRightsReserved,
            &[(enc!(GUEST_DS_ACCESS_RIGHTS), ds_ar | 0x100)],
        );
        let g_bit = ds_ar & 1 << 15 != 0;
        let limit = if g_bit { 0xffff_f000 } else { 0x0010_0000 };
        push(C::GuestSegmentGranularity, &[(enc!(GUEST_DS_LIMIT), limit)]);
    }
    if cs_ar & 0xf != 3 {
        push(
            C::GuestCsDpl,
            &[(enc!(GUEST_CS_ACCESS_RIGHTS), (cs_ar & !0xf) | 0xb | 0x60)],
        );
    }
    if ia32e && cs_ar & 1 << 13 != 0 {
        push(
            C::GuestCsLongModeDb,
            &[(enc!(GUEST_CS_ACCESS_RIGHTS), cs_ar | 1 << 14)],
        );
    }
    let tr_ar = ar(enc!(GUEST_TR_ACCESS_RIGHTS));
    push(
        C::GuestTrType,
        &[(enc!(GUEST_TR_ACCESS_RIGHTS), (tr_ar & !0xf) | 0x9)],
    );
    push(
        C::GuestTrUnusable,
        &[(enc!(GUEST_TR_ACCESS_RIGHTS), tr_ar | 1 << 16)],
    );
    // §27.3.1.3
    push(
        C::GuestDescriptorTableBaseCanonical,
        &[(enc!(GUEST_IDTR_BASE), 0x00f0_0000_0000_0000)],
    );
    push(
        C::GuestDescriptorTableLimit,
        &[(enc!(GUEST_GDTR_LIMIT), 0x1_0000)],
    );
    // §27.3.1.4
    let rflags = g(enc!(GUEST_RFLAGS));
    if ia32e && cs_ar & 1 << 13 != 0 {
        push(
            C::GuestRipCanonical,
            &[(enc!(GUEST_RIP), 0x0000_8000_0000_0000)],
        );
    } else {
        push(C::GuestRipHigh, &[(enc!(GUEST_RIP), 1 << 32)]);
    }
    push(
        C::GuestRflagsReserved,
        &[(enc!(GUEST_RFLAGS), rflags | 1 << 3)],
    );
    push(
        C::GuestRflagsVm,
        &[(enc!(GUEST_RFLAGS), rflags | bits::RFLAGS_VM)],
    );
    push(
        C::GuestRflagsIfForExternalInterrupt,
        &[
            (enc!(GUEST_RFLAGS), rflags & !bits::RFLAGS_IF),
            (info, 0x8000_0020),
        ],
    );
    // §27.3.1.5
    let act = enc!(GUEST_ACTIVITY_STATE);
    let intr = enc!(GUEST_INTERRUPTIBILITY_STATE);
    push(C::GuestActivityState, &[(act, 4)]);
    if caps.misc().activity_hlt() {
        push(
            C::GuestHltWithSsDpl,
            &[(act, 1), (enc!(GUEST_SS_ACCESS_RIGHTS), ss_ar | 0x60)],
        );
        push(
            C::GuestActivityWithStiOrMovSsBlocking,
            &[(act, 1), (intr, 2)],
        );
        push(
            C::GuestActivityEventInjection,
            &[(act, 1), (info, 0x8000_0306)],
        );
    }
    push(C::GuestInterruptibilityReserved, &[(intr, 1 << 5)]);
    push(C::GuestInterruptibilityStiAndMovSs, &[(intr, 3)]);
    push(
        C::GuestInterruptibilityStiWithoutIf,
        &[(intr, 1), (enc!(GUEST_RFLAGS), rflags & !bits::RFLAGS_IF)],
    );
    push(
        C::GuestInterruptibilityEventBlocked,
        &[(intr, 2), (info, 0x8000_0202)],
    );
    push(
        C::GuestNmiInjectionWithStiBlocking,
        &[(intr, 1), (info, 0x8000_0202)],
    );
    push(C::GuestInterruptibilitySmi, &[(intr, 4)]);
    push(C::GuestEnclaveInterruptionWithMovSs, &[(intr, 0x12)]);
    push(
        C::GuestPendingDebugReserved,
        &[(enc!(GUEST_PENDING_DEBUG_EXCEPTIONS), 1 << 4)],
    );
    push(
        C::GuestPendingDebugBs,
        &[(enc!(GUEST_PENDING_DEBUG_EXCEPTIONS), 1 << 14), (intr, 2)],
    );
    push(
        C::GuestPendingDebugRtm,
        &[(enc!(GUEST_PENDING_DEBUG_EXCEPTIONS), 1 << 16)],
    );
    push(
        C::GuestVmcsLinkPointer,
        &[(enc!(GUEST_VMCS_LINK_POINTER), 0x1001)],
    );
    (out, n)
}

/// Seeded random single-bit flips in control, host-state and guest-state fields
/// (xorshift64; the same seed gives the same sequence). Endless: take as many as needed.
#[derive(Debug, Clone)]
pub struct BitFlips<'a> {
    base: &'a VmcsSnapshot,
    state: u64,
}

impl<'a> BitFlips<'a> {
    /// Flips of `base`'s present writable fields, from `seed` (0 is replaced by a fixed
    /// non-zero seed, as xorshift needs).
    pub fn new(base: &'a VmcsSnapshot, seed: u64) -> Self {
        Self {
            base,
            state: if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            },
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
}

/// Whether a field is one the flips target: control, guest-state or host-state, present.
fn flippable(base: &VmcsSnapshot, field: VmcsEncoding) -> bool {
    !matches!(field.field_type(), FieldType::VmExitInformation) && base.get_raw(field).is_some()
}

impl Iterator for BitFlips<'_> {
    type Item = Mutation;

    fn next(&mut self) -> Option<Mutation> {
        let count = ALL_FIELDS
            .iter()
            .filter(|i| flippable(self.base, i.encoding))
            .count();
        if count == 0 {
            return None;
        }
        let pick = (self.next_u64() % count as u64) as usize;
        let field = ALL_FIELDS
            .iter()
            .filter(|i| flippable(self.base, i.encoding))
            .nth(pick)?
            .encoding;
        let width = match field.width().bits() {
            0 => 16,
            2 => 32,
            _ => 64,
        };
        let bit = self.next_u64() % width;
        let value = self.base.get_raw(field)? ^ (1 << bit);
        Some(Mutation {
            writes: [Some((field, value)), None, None],
            expect: None,
        })
    }
}
