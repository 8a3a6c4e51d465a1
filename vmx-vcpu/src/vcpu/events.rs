//! Event injection with interrupt- and NMI-window exiting (SDM Vol. 3C §25.8.3, §26.7.5,
//! §26.7.6, §27.6).

use vmx_defs::controls::{PinBasedControls, PrimaryProcBasedControls};
use vmx_defs::interruption::InjectionRules;
use vmx_defs::vmcs::fields;

use crate::error::VmxError;
use crate::event::{Event, InjectionReport};
use crate::host::VmxHost;
use crate::injection::{GuestEventState, PendingEvents, Reflection, reflect};

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
        self.check_event(event)?;
        self.pending.push(event)?;
        self.set_entry_work(true);
        Ok(())
    }

    /// The checks VM entry applies to `event` for the guest as it is now (see
    /// [`Vcpu::inject`]).
    fn check_event(&mut self, event: Event) -> Result<(), VmxError> {
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
        Ok(())
    }

    /// Reflects an exception that arose while the processor delivered another event (the
    /// exit's IDT-vectoring information, which the vCPU keeps as the pending re-injection):
    /// combines the two as the processor would ([`reflect`], SDM Vol. 3A §6.15 Table 6-5)
    /// and queues the result first in line, replacing the re-injection. A #NP raised by an
    /// `INT n` through a not-present gate is thus delivered once, and the `INT n` is not
    /// re-injected (the guest executes it again after its handler returns); two contributory
    /// exceptions make a #DF. Returns what was decided: on [`Reflection::TripleFault`]
    /// nothing is queued and the host decides the guest's fate (a real processor shuts
    /// down). Without an interrupted event this is [`Vcpu::inject`] with first priority.
    pub fn reflect_exception(&mut self, exception: Event) -> Result<Reflection, VmxError> {
        let r = reflect(self.pending.reinjection(), exception);
        if let Reflection::Deliver { event, .. } = r {
            self.check_event(event)?;
        }
        self.pending.apply_reflection(r);
        self.set_entry_work(true);
        Ok(r)
    }

    /// Removes the event the last exit interrupted (IDT-vectoring information, SDM
    /// §28.2.4), which the vCPU would otherwise re-inject first at the next entry: the host
    /// takes over its delivery, or drops it.
    pub fn take_reinjection(&mut self) -> Option<Event> {
        let e = self.pending.take_reinjection();
        self.set_entry_work(true);
        e
    }

    /// Replaces the event to re-inject first at the next entry (checked as by
    /// [`Vcpu::inject`]); returns the one it replaces.
    pub fn replace_reinjection(&mut self, event: Option<Event>) -> Result<Option<Event>, VmxError> {
        if let Some(e) = event {
            self.check_event(e)?;
        }
        let old = self.pending.take_reinjection();
        self.pending.set_reinjection(event);
        self.set_entry_work(true);
        Ok(old)
    }

    /// Takes every pending event (queue, NMI latch, interrupt bitmap, re-injection), leaving
    /// none: for moving them elsewhere or inspecting and re-queueing them.
    pub fn take_pending_events(&mut self) -> PendingEvents {
        let taken = core::mem::take(&mut self.pending);
        self.set_entry_work(true);
        taken
    }

    /// Drops every pending and re-injected event and the last injection report, and clears
    /// the VM-entry interruption-information field (SDM §25.8.3): nothing queued for the
    /// guest's present context reaches the next one (called by
    /// [`Vcpu::write_guest_state`]). Window exits are turned off at the next entry.
    pub fn clear_pending_events(&mut self) -> Result<(), VmxError> {
        self.pending.clear();
        self.in_flight = None;
        self.last_injection = None;
        self.vmcs.load()?;
        vmwrite(fields::CTRL_VMENTRY_INTERRUPTION_INFO, 0)?;
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
