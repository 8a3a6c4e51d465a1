//! Checks on the VM-entry control fields (SDM Vol. 3C §27.2.1.3), event injection included.
//! A failure makes VMLAUNCH/VMRESUME fail with VMfailValid, VM-instruction error 7.

use vmx_defs::controls::{EntryControls as Entry, PrimaryProcBasedControls as Proc};
use vmx_defs::interruption::{EntryInterruptionError as E, InjectionRules};
use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// SDM Vol. 3C §27.2.1.3: the VM-entry controls must be a setting the capability MSR
/// allows (Vol. 3D §A.5).
pub fn entry_controls_reserved(c: &mut Checker<'_, '_>) {
    let value = c.entry();
    if !c.ctx().caps.entry().permits(value) {
        let fv = c.fv(f::CTRL_VMENTRY_CONTROLS);
        c.fail(C::EntryControlsReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.3: outside SMM, "entry to SMM" is 0.
pub fn entry_to_smm_outside_smm(c: &mut Checker<'_, '_>) {
    if !c.ctx().in_smm && c.entry().contains(Entry::ENTRY_TO_SMM) {
        let fv = c.fv(f::CTRL_VMENTRY_CONTROLS);
        c.fail(C::EntryToSmmOutsideSmm, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.3: outside SMM, "deactivate dual-monitor treatment" is 0.
pub fn deactivate_dual_monitor_outside_smm(c: &mut Checker<'_, '_>) {
    if !c.ctx().in_smm && c.entry().contains(Entry::DEACTIVATE_DUAL_MONITOR_TREATMENT) {
        let fv = c.fv(f::CTRL_VMENTRY_CONTROLS);
        c.fail(C::DeactivateDualMonitorOutsideSmm, &[fv]);
    }
}

/// The event-injection rules of this processor and guest (SDM Vol. 3C §27.2.1.3).
fn injection_rules(c: &mut Checker<'_, '_>) -> InjectionRules {
    let basic = c.ctx().caps.basic();
    let pe = c.get(f::GUEST_CR0) & bits::CR0_PE != 0;
    let unrestricted = c.unrestricted();
    let ia32e = c.ia32e_guest();
    let cr4 = c.get(f::GUEST_CR4);
    InjectionRules {
        error_code_relaxed: basic.no_hw_error_code_check(),
        guest_protected_mode: pe || !unrestricted,
        monitor_trap_flag: c
            .ctx()
            .caps
            .primary_proc()
            .can_be_one(Proc::MONITOR_TRAP_FLAG),
        guest_fred: InjectionRules::guest_fred_enabled(ia32e, cr4),
        nested_exception: basic.nested_exception(),
    }
}

/// The failed injection rules, one [`CheckId`](crate::CheckId) each: the field is re-checked
/// with each reported problem removed so that all of them are found.
fn injection_failures(info: u32, rules: InjectionRules) -> [Option<C>; 5] {
    let mut out = [None; 5];
    let mut raw = info;
    for slot in out.iter_mut() {
        let parsed = vmx_defs::interruption::EntryInterruptionInfo::from_raw(raw);
        let (id, fixed) = match parsed.check(rules) {
            Ok(()) => break,
            Err(E::ReservedType | E::MonitorTrapFlagUnsupported) => {
                // Type 3 (hardware exception) with vector 0 keeps the other bits checkable.
                (C::EventInjectionType, (raw & !0x7ff) | 3 << 8)
            }
            Err(
                E::NmiVector { .. }
                | E::HardwareExceptionVector { .. }
                | E::OtherEventVector { .. }
                | E::FredEventWithoutGuestFred { .. },
            ) => {
                let vector = match parsed.interruption_type() as u8 {
                    2 => 2,
                    _ => 0,
                };
                (C::EventInjectionVector, (raw & !0xff) | vector)
            }
            Err(
                E::ErrorCodeForNonException { .. }
                | E::ErrorCodeInRealMode
                | E::UnexpectedErrorCode { .. }
                | E::MissingErrorCode { .. },
            ) => (C::EventInjectionErrorCode, raw ^ 1 << 11),
            Err(E::NestedExceptionUnsupported | E::NestedExceptionType { .. }) => {
                (C::EventInjectionNested, raw & !(1 << 13))
            }
            Err(E::ReservedBits { bits }) => (C::EventInjectionReserved, raw & !bits),
            Err(_) => break,
        };
        *slot = Some(id);
        raw = fixed;
    }
    out
}

/// SDM Vol. 3C §27.2.1.3: a valid VM-entry interruption-information field has a supported
/// type, a vector fit for the type, a deliver-error-code bit fit for type, vector and guest
/// mode, a nested-exception bit only where allowed, and reserved bits 30:12 clear.
pub fn event_injection_info(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    let rules = injection_rules(c);
    let fv = c.fv(f::CTRL_VMENTRY_INTERRUPTION_INFO);
    for id in injection_failures(info.raw(), rules).into_iter().flatten() {
        if !c.diagnosis().failed(id) {
            c.fail(id, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.1.3: when an error code is delivered, bits 31:16 of the VM-entry
/// exception error code are 0.
pub fn event_injection_error_code(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    let code = c.fv(f::CTRL_VMENTRY_EXCEPTION_ERROR_CODE);
    if info.check_error_code(code.value as u32).is_err() {
        c.fail(C::EventInjectionErrorCodeWidth, &[code]);
    }
}

/// SDM Vol. 3C §27.2.1.3: for a software interrupt, privileged software exception or
/// software exception, the VM-entry instruction length is 1-15 (0 allowed with
/// IA32_VMX_MISC\[30\]).
pub fn event_injection_instruction_length(c: &mut Checker<'_, '_>) {
    let Some(info) = c.injected() else {
        return;
    };
    let len = c.fv(f::CTRL_VMENTRY_INSTRUCTION_LENGTH);
    let zero_ok = c.ctx().caps.misc().zero_length_injection();
    if info
        .check_instruction_length(len.value as u32, zero_ok)
        .is_err()
    {
        let i = c.fv(f::CTRL_VMENTRY_INTERRUPTION_INFO);
        c.fail(C::EventInjectionInstructionLength, &[len, i]);
    }
}

/// SDM Vol. 3C §27.2.1.3: with a non-zero VM-entry MSR-load count, the MSR-load area is
/// 16-byte aligned and within the physical-address width.
pub fn entry_msr_load_area(c: &mut Checker<'_, '_>) {
    super::exit::check_msr_area(
        c,
        C::EntryMsrLoadAddress,
        f::CTRL_VMENTRY_MSR_LOAD_COUNT,
        f::CTRL_VMENTRY_MSR_LOAD_ADDRESS,
    );
}

/// Every §27.2.1.3 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    entry_controls_reserved(c);
    entry_to_smm_outside_smm(c);
    deactivate_dual_monitor_outside_smm(c);
    event_injection_info(c);
    event_injection_error_code(c);
    event_injection_instruction_length(c);
    entry_msr_load_area(c);
}
