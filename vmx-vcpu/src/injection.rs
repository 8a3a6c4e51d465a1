//! Pending events and the decision of what to inject at the next VM entry (SDM Vol. 3C
//! §27.6, "Event Injection"; §26.7.5-26.7.6, interrupt-window and NMI-window exiting;
//! §27.3.1.5, checks on interruptibility and activity state; Vol. 3A §6.8-6.9 blocking).
//!
//! Pure: [`PendingEvents::decide`] looks at the guest's blocking state and returns the
//! event to inject now (if any) and which window exits to request for the rest. The vCPU
//! applies the decision to the VMCS.

use vmx_defs::guest_state::{ActivityState, Interruptibility};

use crate::event::{Event, InvalidEvent};

/// The guest state that decides whether an event can be delivered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestEventState {
    /// RFLAGS.IF.
    pub interrupts_enabled: bool,
    /// The guest interruptibility-state field (SDM §25.4.2, Table 25-3).
    pub interruptibility: Interruptibility,
    /// The guest activity state.
    pub activity: ActivityState,
    /// CR0.PE: exceptions deliver error codes only in protected mode (SDM §27.2.1.3).
    pub protected_mode: bool,
    /// Whether the "virtual NMIs" pin-based control (and so NMI-window exiting) is on.
    pub virtual_nmis: bool,
}

impl GuestEventState {
    /// Builds the state from raw RFLAGS, interruptibility, activity and CR0 values.
    pub const fn from_raw(
        rflags: u64,
        interruptibility: u32,
        activity: u32,
        cr0: u64,
        virtual_nmis: bool,
    ) -> Self {
        Self {
            interrupts_enabled: rflags & (1 << 9) != 0,
            interruptibility: Interruptibility::from_bits_retain(interruptibility),
            activity: ActivityState::from_raw(activity),
            protected_mode: cr0 & 1 != 0,
            virtual_nmis,
        }
    }

    /// Whether an external interrupt can be injected now: IF=1, no STI or MOV-SS blocking
    /// (SDM §27.3.1.5), and not shut down or waiting for SIPI.
    pub const fn can_take_interrupt(&self) -> bool {
        self.interrupts_enabled
            && !self.interruptibility.blocks_interrupts()
            && self.can_take_events()
    }

    /// Whether an NMI can be injected now: no STI, MOV-SS or NMI blocking.
    pub const fn can_take_nmi(&self) -> bool {
        !self.interruptibility.intersects(
            Interruptibility::STI
                .union(Interruptibility::MOV_SS)
                .union(Interruptibility::NMI),
        ) && self.can_take_events()
    }

    /// Whether the activity state accepts injected events at all (not shutdown, not
    /// wait-for-SIPI, §27.3.1.5).
    pub const fn can_take_events(&self) -> bool {
        matches!(self.activity, ActivityState::ACTIVE | ActivityState::HLT)
    }
}

/// What to do at the next VM entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InjectionDecision {
    /// The event to write into the VM-entry interruption-information field.
    pub inject: Option<Event>,
    /// Set "interrupt-window exiting": an external interrupt waits for IF=1 (or an NMI
    /// waits and virtual NMIs are off).
    pub interrupt_window: bool,
    /// Set "NMI-window exiting": an NMI waits for the end of NMI blocking.
    pub nmi_window: bool,
    /// Set the activity state to active: the guest is in HLT and an event is injected.
    pub wake: bool,
}

const QUEUE: usize = 8;

/// Events waiting for delivery.
///
/// Priority at each entry: an event re-injected from IDT-vectoring information first, then
/// queued exceptions and software events in FIFO order, then an NMI, then the
/// highest-numbered pending external interrupt (SDM Vol. 3A §6.9 priorities; external
/// interrupt vectors are kept as an IRR-like bitmap).
#[derive(Debug, Clone, Default)]
pub struct PendingEvents {
    reinject: Option<Event>,
    queue: [Option<Event>; QUEUE],
    queued: usize,
    nmi: bool,
    irr: [u64; 4],
    /// Cached `!is_empty()`, kept up to date by every mutation (read before each entry).
    any: bool,
}

impl PendingEvents {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            reinject: None,
            queue: [None; QUEUE],
            queued: 0,
            nmi: false,
            irr: [0; 4],
            any: false,
        }
    }

    fn recompute(&mut self) {
        let [a, b, c, d] = self.irr;
        self.any = self.reinject.is_some() || self.queued != 0 || self.nmi || a | b | c | d != 0;
    }

    /// Whether nothing is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        !self.any
    }

    /// Queues an event. External interrupts join the interrupt bitmap (a vector already
    /// pending is merged), NMIs set the NMI latch (one NMI can be pending, Vol. 3A §6.7.1),
    /// everything else joins the FIFO of up to 8 exceptions / software events.
    pub fn push(&mut self, event: Event) -> Result<(), InvalidEvent> {
        match event {
            Event::ExternalInterrupt(v) => {
                if let Some(w) = self.irr.get_mut(usize::from(v / 64)) {
                    *w |= 1 << (v % 64);
                }
                self.any = true;
                Ok(())
            }
            Event::Nmi => {
                self.nmi = true;
                self.any = true;
                Ok(())
            }
            Event::Raw { info, .. } => Err(InvalidEvent::UnsupportedType(((info >> 8) & 7) as u8)),
            other => {
                let slot = self
                    .queue
                    .get_mut(self.queued)
                    .ok_or(InvalidEvent::QueueFull)?;
                *slot = Some(other);
                self.queued += 1;
                self.any = true;
                Ok(())
            }
        }
    }

    /// Records an event whose delivery a VM exit interrupted (IDT-vectoring information),
    /// to be re-injected before anything else (SDM §28.2.4, §27.6.1.1).
    pub fn set_reinjection(&mut self, event: Option<Event>) {
        self.reinject = event;
        self.recompute();
    }

    /// The event waiting for re-injection, if any.
    pub fn reinjection(&self) -> Option<Event> {
        self.reinject
    }

    /// Removes and returns the event waiting for re-injection: the host takes over its
    /// delivery (or drops it).
    pub fn take_reinjection(&mut self) -> Option<Event> {
        let e = self.reinject.take();
        self.recompute();
        e
    }

    /// Empties the set: the queue, the NMI latch, the interrupt bitmap and the re-injection.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Applies a [`Reflection`]: the event to deliver goes first in line (re-injection
    /// slot), an interrupted external interrupt or NMI goes back to the bitmap or latch (it is
    /// delivered again after the exception, as the processor would once the exception's
    /// handler returns), an interrupted software event is dropped (its instruction executes
    /// again). Returns `false` for [`Reflection::TripleFault`], which leaves the set without
    /// a re-injection: the guest is in shutdown (SDM Vol. 3A §6.15, interrupt 8).
    pub fn apply_reflection(&mut self, r: Reflection) -> bool {
        match r {
            Reflection::Deliver { event, requeue } => {
                self.reinject = Some(event);
                match requeue {
                    Some(Event::ExternalInterrupt(v)) => {
                        if let Some(w) = self.irr.get_mut(usize::from(v / 64)) {
                            *w |= 1 << (v % 64);
                        }
                    }
                    Some(Event::Nmi) => self.nmi = true,
                    _ => {}
                }
                self.recompute();
                true
            }
            Reflection::TripleFault => {
                self.reinject = None;
                self.recompute();
                false
            }
        }
    }

    /// Whether an NMI is pending.
    pub fn nmi_pending(&self) -> bool {
        self.nmi
    }

    /// The highest pending external-interrupt vector.
    pub fn highest_interrupt(&self) -> Option<u8> {
        for (i, w) in self.irr.iter().enumerate().rev() {
            if *w != 0 {
                return Some((i as u32 * 64 + 63 - w.leading_zeros()) as u8);
            }
        }
        None
    }

    fn pop_queue(&mut self) -> Option<Event> {
        if self.queued == 0 {
            return None;
        }
        let first = self.queue.first().copied().flatten();
        self.queue.rotate_left(1);
        if let Some(last) = self.queue.last_mut() {
            *last = None;
        }
        self.queued -= 1;
        first
    }

    fn clear_interrupt(&mut self, v: u8) {
        if let Some(w) = self.irr.get_mut(usize::from(v / 64)) {
            *w &= !(1 << (v % 64));
        }
    }

    /// Decides the next entry's injection and window requests and removes the injected
    /// event from the pending set.
    pub fn decide(&mut self, state: &GuestEventState) -> InjectionDecision {
        let mut d = InjectionDecision::default();
        if !state.can_take_events() {
            // Nothing can be delivered in shutdown or wait-for-SIPI; keep everything.
            return d;
        }
        let fix_error_code = |e: Event| {
            if state.protected_mode {
                e
            } else {
                e.for_real_mode()
            }
        };
        if let Some(e) = self.reinject.take() {
            d.inject = Some(fix_error_code(e));
        } else if let Some(e) = self.pop_queue() {
            d.inject = Some(fix_error_code(e));
        } else if self.nmi && state.can_take_nmi() {
            self.nmi = false;
            d.inject = Some(Event::Nmi);
        } else if let Some(v) = self
            .highest_interrupt()
            .filter(|_| state.can_take_interrupt())
        {
            self.clear_interrupt(v);
            d.inject = Some(Event::ExternalInterrupt(v));
        }
        if self.nmi {
            if state.virtual_nmis {
                d.nmi_window = true;
            } else {
                d.interrupt_window = true;
            }
        }
        if self.highest_interrupt().is_some() {
            d.interrupt_window = true;
        }
        d.wake = d.inject.is_some() && state.activity == ActivityState::HLT;
        self.recompute();
        d
    }
}

/// The class of an exception for the double-fault rules (SDM Vol. 3A §6.15 "Exception and
/// Interrupt Reference", Interrupt 8, Table 6-4 "Interrupt and Exception Classes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionClass {
    /// #DB, NMI, #BP, #OF, #BR, #UD, #NM, coprocessor segment overrun, #MF, #AC, #MC, #XM,
    /// and every vector the table does not list.
    Benign,
    /// #DE, #TS, #NP, #SS, #GP, #CP.
    Contributory,
    /// #PF and #VE.
    PageFault,
    /// #DF itself (a contributory or page-fault exception during its delivery shuts the
    /// processor down).
    DoubleFault,
}

impl ExceptionClass {
    /// The class of exception `vector` (Table 6-4).
    pub const fn of(vector: u8) -> Self {
        match vector {
            0 | 10 | 11 | 12 | 13 | 21 => Self::Contributory,
            14 | 20 => Self::PageFault,
            8 => Self::DoubleFault,
            _ => Self::Benign,
        }
    }
}

/// What the guest gets when an exception (`fault`) arose while the processor was delivering
/// another event (`interrupted`, from the IDT-vectoring information; SDM Vol. 3C §28.2.4):
/// see [`reflect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reflection {
    /// Deliver `event` next; `requeue` is an interrupted external interrupt or NMI to
    /// deliver again afterwards.
    Deliver {
        /// The exception to deliver (the fault, or #DF with error code 0).
        event: Event,
        /// An interrupted external interrupt or NMI, still owed to the guest.
        requeue: Option<Event>,
    },
    /// A contributory or page-fault exception during the delivery of #DF: the processor
    /// would shut down (SDM Vol. 3A §6.15, Interrupt 8); the host decides what that means
    /// for the guest (reset it, stop it).
    TripleFault,
}

/// Combines an exception raised during the delivery of another event, as the processor does
/// (SDM Vol. 3A §6.15 Table 6-5 "Conditions for Generating a Double Fault"):
/// - after a hardware exception: contributory then contributory, or page fault then
///   contributory or page fault, give #DF (error code 0); #DF then contributory or page
///   fault shuts down ([`Reflection::TripleFault`]); every other pair is handled serially
///   (the second exception is delivered; the first is regenerated when the faulting
///   instruction runs again);
/// - after a software interrupt, INT1/INT3/INTO (types 4-6) or another event type: the
///   fault is delivered and the software event is not re-injected, because the guest's RIP
///   still points at its instruction, which executes again after the handler returns;
/// - after an external interrupt or NMI: the fault is delivered and the interrupt or NMI is
///   still owed to the guest (`requeue`);
/// - with nothing interrupted: the fault is delivered.
///
/// Total; `fault` should be a hardware exception (any other event is delivered as given).
pub fn reflect(interrupted: Option<Event>, fault: Event) -> Reflection {
    let second = match fault {
        Event::HardwareException { vector, .. } => ExceptionClass::of(vector),
        _ => ExceptionClass::Benign,
    };
    let deliver = |requeue| Reflection::Deliver {
        event: fault,
        requeue,
    };
    match interrupted {
        Some(Event::HardwareException { vector, .. }) => {
            let serious = matches!(
                second,
                ExceptionClass::Contributory | ExceptionClass::PageFault
            );
            match ExceptionClass::of(vector) {
                ExceptionClass::DoubleFault if serious => Reflection::TripleFault,
                ExceptionClass::Contributory if matches!(second, ExceptionClass::Contributory) => {
                    Reflection::Deliver {
                        event: Event::HardwareException {
                            vector: 8,
                            error_code: Some(0),
                        },
                        requeue: None,
                    }
                }
                ExceptionClass::PageFault if serious => Reflection::Deliver {
                    event: Event::HardwareException {
                        vector: 8,
                        error_code: Some(0),
                    },
                    requeue: None,
                },
                _ => deliver(None),
            }
        }
        Some(e @ (Event::ExternalInterrupt(_) | Event::Nmi)) => deliver(Some(e)),
        _ => deliver(None),
    }
}
