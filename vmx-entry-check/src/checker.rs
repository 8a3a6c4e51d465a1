//! [`Checker`]: the state one run of the checks shares (snapshot, context, diagnosis) and
//! the derived facts several checks use (effective controls, guest mode).

use vmx_defs::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryExitControls, SecondaryProcBasedControls, TertiaryProcBasedControls,
};
use vmx_defs::vmcs::{Access, Field, VmcsEncoding, Width, fields as f};

use crate::bits;
use crate::check_id::CheckId;
use crate::context::CheckContext;
use crate::diagnosis::{Diagnosis, Failure, FieldValue};
use crate::snapshot::VmcsSnapshot;

/// One run of the VM-entry checks: reads the snapshot (absent fields read as 0 and are
/// noted), applies the context, and collects failures. Every check function of this crate
/// (e.g. [`controls::execution::pin_based_reserved`](crate::controls::execution::pin_based_reserved))
/// takes a `&mut Checker`.
#[derive(Debug)]
pub struct Checker<'s, 'c> {
    vmcs: &'s VmcsSnapshot,
    ctx: &'s CheckContext<'c>,
    diagnosis: Diagnosis,
}

impl<'s, 'c> Checker<'s, 'c> {
    /// A run over `vmcs` in `ctx`, with no failure yet.
    pub fn new(vmcs: &'s VmcsSnapshot, ctx: &'s CheckContext<'c>) -> Self {
        Self {
            vmcs,
            ctx,
            diagnosis: Diagnosis::new(),
        }
    }

    /// The context.
    pub fn ctx(&self) -> &'s CheckContext<'c> {
        self.ctx
    }

    /// The failures so far.
    pub fn diagnosis(&self) -> &Diagnosis {
        &self.diagnosis
    }

    /// Ends the run.
    pub fn finish(self) -> Diagnosis {
        self.diagnosis
    }

    /// The value of `field`, or 0 (noted as absent) if the snapshot lacks it.
    pub fn get<W: Width, A: Access>(&mut self, field: Field<W, A>) -> u64 {
        self.get_raw(field.encoding())
    }

    /// The value of a field by encoding, or 0 (noted as absent).
    pub fn get_raw(&mut self, field: VmcsEncoding) -> u64 {
        match self.vmcs.get_raw(field) {
            Some(v) => v,
            None => {
                self.diagnosis.note_absent(field);
                0
            }
        }
    }

    /// A field and its value, for a [`Failure`].
    pub fn fv<W: Width, A: Access>(&mut self, field: Field<W, A>) -> FieldValue {
        FieldValue {
            field: field.encoding(),
            value: self.get(field),
        }
    }

    /// Records a failure of `id` involving `fields` (at most three kept).
    pub fn fail(&mut self, id: CheckId, fields: &[FieldValue]) {
        let mut kept = [None; 3];
        for (slot, fv) in kept.iter_mut().zip(fields) {
            *slot = Some(*fv);
        }
        self.diagnosis.push(Failure {
            id,
            fields: kept,
            msr_entry: None,
        });
    }

    /// Records a failure of a §27.4 check on MSR-load entry `number` (1-based).
    pub fn fail_msr(&mut self, id: CheckId, number: u32, index: u32, value: u64) {
        self.diagnosis.push(Failure {
            id,
            fields: [None; 3],
            msr_entry: Some((number, index, value)),
        });
    }

    /// The pin-based controls.
    pub fn pin(&mut self) -> PinBasedControls {
        PinBasedControls::from_bits_retain(self.get(f::CTRL_PIN_BASED_EXEC_CONTROLS) as u32)
    }

    /// The primary processor-based controls.
    pub fn proc(&mut self) -> PrimaryProcBasedControls {
        PrimaryProcBasedControls::from_bits_retain(
            self.get(f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS) as u32,
        )
    }

    /// The secondary processor-based controls in effect: 0 unless "activate secondary
    /// controls" is 1 (SDM Vol. 3C §25.6.2).
    pub fn secondary(&mut self) -> SecondaryProcBasedControls {
        if self
            .proc()
            .contains(PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS)
        {
            SecondaryProcBasedControls::from_bits_retain(
                self.get(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS) as u32,
            )
        } else {
            SecondaryProcBasedControls::empty()
        }
    }

    /// The tertiary processor-based controls in effect: 0 unless "activate tertiary
    /// controls" is 1 (SDM Vol. 3C §25.6.2).
    pub fn tertiary(&mut self) -> TertiaryProcBasedControls {
        if self
            .proc()
            .contains(PrimaryProcBasedControls::ACTIVATE_TERTIARY_CONTROLS)
        {
            TertiaryProcBasedControls::from_bits_retain(
                self.get(f::CTRL_TERTIARY_PROC_BASED_EXEC_CONTROLS),
            )
        } else {
            TertiaryProcBasedControls::empty()
        }
    }

    /// The primary VM-exit controls.
    pub fn exit(&mut self) -> PrimaryExitControls {
        PrimaryExitControls::from_bits_retain(self.get(f::CTRL_PRIMARY_VMEXIT_CONTROLS) as u32)
    }

    /// The secondary VM-exit controls in effect: 0 unless VM-exit "activate secondary
    /// controls" is 1 (SDM Vol. 3C §25.7.1).
    pub fn exit2(&mut self) -> SecondaryExitControls {
        if self
            .exit()
            .contains(PrimaryExitControls::ACTIVATE_SECONDARY_CONTROLS)
        {
            SecondaryExitControls::from_bits_retain(self.get(f::CTRL_SECONDARY_VMEXIT_CONTROLS))
        } else {
            SecondaryExitControls::empty()
        }
    }

    /// The VM-entry controls.
    pub fn entry(&mut self) -> EntryControls {
        EntryControls::from_bits_retain(self.get(f::CTRL_VMENTRY_CONTROLS) as u32)
    }

    /// Whether "unrestricted guest" is in effect.
    pub fn unrestricted(&mut self) -> bool {
        self.secondary()
            .contains(SecondaryProcBasedControls::UNRESTRICTED_GUEST)
    }

    /// Whether "enable EPT" is in effect.
    pub fn ept(&mut self) -> bool {
        self.secondary()
            .contains(SecondaryProcBasedControls::ENABLE_EPT)
    }

    /// Whether the "IA-32e mode guest" VM-entry control is 1.
    pub fn ia32e_guest(&mut self) -> bool {
        self.entry().contains(EntryControls::IA32E_MODE_GUEST)
    }

    /// Whether the "host address-space size" VM-exit control is 1.
    pub fn host_64(&mut self) -> bool {
        self.exit()
            .contains(PrimaryExitControls::HOST_ADDRESS_SPACE_SIZE)
    }

    /// Whether the guest RFLAGS.VM is 1 (virtual-8086 mode).
    pub fn v86(&mut self) -> bool {
        self.get(f::GUEST_RFLAGS) & bits::RFLAGS_VM != 0
    }

    /// The valid VM-entry interruption information, if an event is injected.
    pub fn injected(&mut self) -> Option<vmx_defs::interruption::EntryInterruptionInfo> {
        let info = vmx_defs::interruption::EntryInterruptionInfo::from_raw(
            self.get(f::CTRL_VMENTRY_INTERRUPTION_INFO) as u32,
        );
        info.is_valid().then_some(info)
    }

    /// Records `id` unless `addr` is `align`-byte aligned (`align` a power of two) and within the structure width
    /// (the common "bits N:0 zero, no bit beyond the physical-address width" check).
    pub fn check_address<W: Width, A: Access>(
        &mut self,
        id: CheckId,
        field: Field<W, A>,
        align: u64,
    ) {
        let fv = self.fv(field);
        let width = self.ctx.structure_width();
        if fv.value & align.wrapping_sub(1) != 0 || !bits::within(fv.value, width) {
            self.fail(id, &[fv]);
        }
    }
}
