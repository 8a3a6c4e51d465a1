//! Event injection with interrupt- and NMI-window exiting (SDM Vol. 3C §25.8.3, §26.7.5,
//! §26.7.6, §27.6).

use vmx_defs::controls::{PinBasedControls, PrimaryProcBasedControls};
use vmx_defs::interruption::InjectionRules;
use vmx_defs::vmcs::fields;

use crate::error::VmxError;
use crate::event::{Event, InjectionReport};
use crate::host::VmxHost;
use crate::injection::{GuestEventState, PendingEvents};

use super::{EXIT_WORK, Vcpu, vmread, vmwrite};

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// Queues an event for injection at the next VM entry where the guest can take it
    /// (SDM §27.6); checked first (vector, error code, instruction length).
    ///
    /// The error-code rule is the one VM entry applies to the guest as it is now: with
    /// CR0.PE = 1 the vectors of [`vector_has_error_code`](crate::event::vector_has_error_code)
    /// need one and others must not have one (unless IA32_VMX_BASIC\[56\] relaxes it); a
    /// real-mode guest takes none (a code given anyway is dropped at delivery).
    pub fn inject(&mut self, event: Event) -> Result<(), VmxError> {
        let caps = self.cpu.capabilities();
        let rules = InjectionRules {
            error_code_relaxed: caps.basic().no_hw_error_code_check(),
            guest_protected_mode: self.read_field(fields::GUEST_CR0)? & 1 != 0,
            monitor_trap_flag: false,
            guest_fred: false,
            nested_exception: false,
        };
        let delivered = if rules.guest_protected_mode {
            event
        } else {
            event.for_real_mode()
        };
        delivered.validate(rules, self.zero_length_injection)?;
        self.pending.push(event)?;
        self.set_entry_work(true);
        Ok(())
    }

    /// The pending events.
    pub fn pending_events(&self) -> &PendingEvents {
        &self.pending
    }

    /// The event injected at the last VM entry and whether it was delivered, came back in
    /// IDT-vectoring information (queued again for re-injection), or was not attempted
    /// because the entry failed (SDM §27.6, §28.2.4, §27.8). `None` when the last entry
    /// injected nothing. Valid from the exit (or entry failure) until the next entry.
    pub fn last_injection(&self) -> Option<InjectionReport> {
        self.last_injection
    }

    fn virtual_nmis(&self) -> bool {
        self.controls.pin.contains(PinBasedControls::VIRTUAL_NMIS)
            && self.cpu.capabilities().has_nmi_window_exiting()
    }

    #[inline(never)]
    pub(super) fn apply_injection(&mut self) -> Result<(), VmxError> {
        let state = GuestEventState::from_raw(
            vmread(fields::GUEST_RFLAGS)?,
            vmread(fields::GUEST_INTERRUPTIBILITY_STATE)?,
            vmread(fields::GUEST_ACTIVITY_STATE)?,
            vmread(fields::GUEST_CR0)?,
            self.virtual_nmis(),
        );
        let d = self.pending.decide(&state);
        if let Some(e) = d.inject {
            let enc = e.encode();
            if let Some(code) = enc.error_code {
                vmwrite(fields::CTRL_VMENTRY_EXCEPTION_ERROR_CODE, code)?;
            }
            if let Some(len) = enc.instruction_len {
                vmwrite(fields::CTRL_VMENTRY_INSTRUCTION_LENGTH, len)?;
            }
            vmwrite(fields::CTRL_VMENTRY_INTERRUPTION_INFO, enc.info)?;
            self.in_flight = Some(e);
            self.exit_work = EXIT_WORK;
        }
        if d.wake {
            vmwrite(fields::GUEST_ACTIVITY_STATE, 0)?;
        }
        let mut primary = self.controls.primary;
        // Interrupt-window exiting is allowed on every processor the SDM describes, but
        // it is checked: without it a waiting event stays queued until the next exit.
        primary.set(
            PrimaryProcBasedControls::INTERRUPT_WINDOW_EXITING,
            d.interrupt_window && self.cpu.capabilities().has_interrupt_window_exiting(),
        );
        primary.set(
            PrimaryProcBasedControls::NMI_WINDOW_EXITING,
            d.nmi_window && self.virtual_nmis(),
        );
        if primary != self.controls.primary {
            self.controls.primary = primary;
            vmwrite(
                fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS,
                primary.bits(),
            )?;
        }
        self.set_entry_work(d.interrupt_window || d.nmi_window || !self.pending.is_empty());
        Ok(())
    }
}
