//! Changing VM-execution controls while the vCPU lives (SDM Vol. 3C §25.6.2 "Processor-Based
//! VM-Execution Controls", §26.1 "Instructions That Cause VM Exits"; allowed settings Vol. 3D
//! §A.3). The vCPU's `controls` is the one source of truth: every change goes through it
//! (the injection logic toggles the window controls the same way), so a later write of the
//! field from it never undoes another.

use vmx_defs::controls::{PrimaryProcBasedControls, SecondaryProcBasedControls};
use vmx_defs::vmcs::fields;

use crate::config::{ExecControl, with_exec_control};
use crate::error::VmxError;
use crate::host::VmxHost;

use super::{F_IO_A, F_MSR_BITMAP, Vcpu, vmwrite};

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// Turns `control` on or off from the next VM entry, checked against the processor's
    /// capability MSRs ([`with_exec_control`]: [`VmxError::ControlNotAllowed`] when the
    /// processor cannot, [`VmxError::IsolationControl`] for a control of
    /// [`ISOLATION`](crate::ISOLATION), [`VmxError::NoSecondaryControls`]). On error
    /// nothing changes.
    ///
    /// Turning on "use I/O bitmaps" or "use MSR bitmaps" points the VMCS at this vCPU's
    /// bitmaps (everything intercepted unless passed through); turning on TSC offsetting
    /// starts with offset 0. This is the only way to change these controls: a raw write of a
    /// control field through [`Vcpu::write_field`] is not seen by the vCPU and is undone the
    /// next time it writes the field.
    pub fn set_exec_control(&mut self, control: ExecControl, on: bool) -> Result<(), VmxError> {
        let new = with_exec_control(self.cpu.capabilities(), self.controls, control, on)?;
        if new == self.controls {
            return Ok(());
        }
        self.vmcs.load()?;
        let old = self.controls;
        let turned_on =
            |c: PrimaryProcBasedControls| new.primary.contains(c) && !old.primary.contains(c);
        if turned_on(PrimaryProcBasedControls::USE_IO_BITMAPS) {
            vmwrite(
                fields::CTRL_IO_BITMAP_A_ADDRESS,
                self.frames.paddr_of(F_IO_A).as_u64(),
            )?;
            vmwrite(
                fields::CTRL_IO_BITMAP_B_ADDRESS,
                self.frames.paddr_of(F_IO_A + 1).as_u64(),
            )?;
        }
        if turned_on(PrimaryProcBasedControls::USE_MSR_BITMAPS) {
            vmwrite(
                fields::CTRL_MSR_BITMAP_ADDRESS,
                self.frames.paddr_of(F_MSR_BITMAP).as_u64(),
            )?;
        }
        if turned_on(PrimaryProcBasedControls::USE_TSC_OFFSETTING) {
            vmwrite(fields::CTRL_TSC_OFFSET, 0)?;
        }
        if new.secondary != old.secondary
            || turned_on(PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS)
        {
            // Written before the primary field activates it.
            vmwrite(
                fields::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS,
                new.secondary.bits(),
            )?;
        }
        if new.primary != old.primary {
            vmwrite(
                fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS,
                new.primary.bits(),
            )?;
        }
        self.controls = new;
        Ok(())
    }

    /// Whether `control` is on ([`ExecControl::is_set`] of [`Vcpu::controls`]).
    pub fn exec_control(&self, control: ExecControl) -> bool {
        control.is_set(&self.controls)
    }

    /// Whether the secondary controls are active and include `control`.
    pub(super) fn has_secondary(&self, control: SecondaryProcBasedControls) -> bool {
        self.controls
            .primary
            .contains(PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS)
            && self.controls.secondary.contains(control)
    }
}
