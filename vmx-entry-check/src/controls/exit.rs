//! Checks on the VM-exit control fields (SDM Vol. 3C §27.2.1.2). A failure makes
//! VMLAUNCH/VMRESUME fail with VMfailValid, VM-instruction error 7.

use vmx_defs::controls::{PinBasedControls as Pin, PrimaryExitControls as Exit};
use vmx_defs::vmcs::{Access, Field, W32, W64, fields as f};

use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// SDM Vol. 3C §27.2.1.2: the primary VM-exit controls must be a setting the capability
/// MSR allows (Vol. 3D §A.4.1).
pub fn exit_controls_reserved(c: &mut Checker<'_, '_>) {
    let value = c.exit();
    if !c.ctx().caps.exit().permits(value) {
        let fv = c.fv(f::CTRL_PRIMARY_VMEXIT_CONTROLS);
        c.fail(C::ExitControlsReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.2: with VM-exit "activate secondary controls" 1, the secondary
/// VM-exit controls must be a setting IA32_VMX_EXIT_CTLS2 allows (Vol. 3D §A.4.2).
pub fn secondary_exit_controls_reserved(c: &mut Checker<'_, '_>) {
    if !c.exit().contains(Exit::ACTIVATE_SECONDARY_CONTROLS) {
        return;
    }
    let value = c.exit2();
    if !c.ctx().caps.secondary_exit().permits(value) {
        let fv = c.fv(f::CTRL_SECONDARY_VMEXIT_CONTROLS);
        c.fail(C::SecondaryExitControlsReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.2: with "activate VMX-preemption timer" 0, "save VMX-preemption
/// timer value" is 0.
pub fn save_preemption_timer_needs_timer(c: &mut Checker<'_, '_>) {
    if c.exit().contains(Exit::SAVE_VMX_PREEMPTION_TIMER_VALUE)
        && !c.pin().contains(Pin::ACTIVATE_VMX_PREEMPTION_TIMER)
    {
        let a = c.fv(f::CTRL_PRIMARY_VMEXIT_CONTROLS);
        let b = c.fv(f::CTRL_PIN_BASED_EXEC_CONTROLS);
        c.fail(C::SavePreemptionTimerWithoutTimer, &[a, b]);
    }
}

/// The MSR-area rule shared by §27.2.1.2 and §27.2.1.3: with a non-zero count, the address
/// is 16-byte aligned and neither it nor the area's last byte (address + count × 16 − 1)
/// sets a bit beyond the physical-address width.
pub(crate) fn check_msr_area<A1: Access, A2: Access>(
    c: &mut Checker<'_, '_>,
    id: C,
    count: Field<W32, A1>,
    address: Field<W64, A2>,
) {
    let n = c.fv(count);
    if n.value == 0 {
        return;
    }
    let a = c.fv(address);
    let width = c.ctx().structure_width();
    let last = u128::from(a.value) + u128::from(n.value) * 16 - 1;
    if a.value & 0xf != 0 || !crate::bits::within(a.value, width) || last >> width != 0 {
        c.fail(id, &[a, n]);
    }
}

/// SDM Vol. 3C §27.2.1.2: with a non-zero VM-exit MSR-store count, the MSR-store area is
/// 16-byte aligned and within the physical-address width.
pub fn exit_msr_store_area(c: &mut Checker<'_, '_>) {
    check_msr_area(
        c,
        C::ExitMsrStoreAddress,
        f::CTRL_VMEXIT_MSR_STORE_COUNT,
        f::CTRL_VMEXIT_MSR_STORE_ADDRESS,
    );
}

/// SDM Vol. 3C §27.2.1.2: with a non-zero VM-exit MSR-load count, the MSR-load area is
/// 16-byte aligned and within the physical-address width.
pub fn exit_msr_load_area(c: &mut Checker<'_, '_>) {
    check_msr_area(
        c,
        C::ExitMsrLoadAddress,
        f::CTRL_VMEXIT_MSR_LOAD_COUNT,
        f::CTRL_VMEXIT_MSR_LOAD_ADDRESS,
    );
}

/// Every §27.2.1.2 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    exit_controls_reserved(c);
    secondary_exit_controls_reserved(c);
    save_preemption_timer_needs_timer(c);
    exit_msr_store_area(c);
    exit_msr_load_area(c);
}
