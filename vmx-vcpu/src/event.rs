//! Events a VMM injects into a guest and their VMCS encodings (SDM Vol. 3C §25.8.3, "VM-Entry
//! Controls for Event Injection"; §27.6, "Event Injection"; §28.2.4, "Information for VM
//! Exits That Occur During Event Delivery").

use core::fmt;

use vmx_defs::exception::ExceptionVector;
use vmx_defs::interruption::{
    EntryInterruptionError, EntryInterruptionInfo, IdtVectoringInfo, InjectionRules,
    InterruptionType,
};

/// Whether a hardware exception with this vector is injected with an error code: the
/// vectors VM entry requires it for in protected mode (#DF, #TS, #NP, #SS, #GP, #PF, #AC;
/// SDM Vol. 3C §27.2.1.3, via [`ExceptionVector::entry_requires_error_code`]). #CP (21)
/// pushes one too, but processors with IA32_VMX_BASIC\[56\] = 0 refuse to deliver it.
pub const fn vector_has_error_code(vector: u8) -> bool {
    ExceptionVector(vector).entry_requires_error_code()
}

/// An event to deliver to the guest through the VM-entry interruption-information field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// External interrupt (type 0) with this vector.
    ExternalInterrupt(u8),
    /// Non-maskable interrupt (type 2, vector 2).
    Nmi,
    /// Hardware exception (type 3). `error_code` must be `Some` exactly when the vector
    /// pushes one ([`vector_has_error_code`]) and the guest is in protected mode.
    HardwareException {
        /// The exception vector (0-31).
        vector: u8,
        /// The error code delivered, if any.
        error_code: Option<u32>,
    },
    /// Software interrupt (type 4, INT n) of `instruction_len` bytes.
    SoftwareInterrupt {
        /// The vector.
        vector: u8,
        /// Length of the INT n instruction (1-15), added to RIP before delivery.
        instruction_len: u32,
    },
    /// Privileged software exception (type 5, INT1/ICEBP).
    PrivilegedSoftwareException {
        /// Length of the instruction (1-15).
        instruction_len: u32,
    },
    /// Software exception (type 6: INT3 #BP or INTO #OF).
    SoftwareException {
        /// The vector (3 or 4).
        vector: u8,
        /// Length of the instruction (1-15).
        instruction_len: u32,
    },
    /// An event read back from IDT-vectoring information whose type this crate does not
    /// interpret (type 1 or 7); re-injected unchanged.
    Raw {
        /// Interruption-information value without the valid bit's meaning changed.
        info: u32,
        /// The error code, if bit 11 is set.
        error_code: Option<u32>,
        /// Instruction length (used by the processor for types 4-6 only).
        instruction_len: u32,
    },
}

/// What became of the event written for injection at the last VM entry (SDM Vol. 3C §27.6
/// "Event Injection", §28.2.4 "Information for VM Exits That Occur During Event Delivery",
/// §27.8 "VM-Entry Failures During or After Loading Guest State").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InjectionOutcome {
    /// The event was delivered through the guest's IDT (the exit came later, or during
    /// the delivery of another event).
    Delivered,
    /// The exit interrupted the event's own delivery: IDT-vectoring information reported
    /// it, and it is queued again for re-injection first at the next entry.
    Interrupted,
    /// The entry failed (VMfail, or exit-reason bit 31) before delivering it: it is queued
    /// again, first in line.
    EntryFailed,
}

/// The event injected at the last VM entry and what became of it
/// ([`Vcpu::last_injection`](crate::Vcpu::last_injection)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InjectionReport {
    /// The event written to the VM-entry interruption-information field.
    pub event: Event,
    /// Delivered, interrupted (to be re-injected) or not attempted.
    pub outcome: InjectionOutcome,
}

/// The three VMCS values that inject an event (SDM §25.8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedEvent {
    /// VM-entry interruption-information field (valid bit set).
    pub info: u32,
    /// VM-entry exception error code, when bit 11 of `info` is set.
    pub error_code: Option<u32>,
    /// VM-entry instruction length, for software interrupts and exceptions.
    pub instruction_len: Option<u32>,
}

impl Event {
    /// The interruption type (SDM Table 25-17).
    pub const fn interruption_type(&self) -> u8 {
        match self {
            Self::ExternalInterrupt(_) => 0,
            Self::Nmi => 2,
            Self::HardwareException { .. } => 3,
            Self::SoftwareInterrupt { .. } => 4,
            Self::PrivilegedSoftwareException { .. } => 5,
            Self::SoftwareException { .. } => 6,
            Self::Raw { info, .. } => ((*info >> 8) & 7) as u8,
        }
    }

    /// The vector.
    pub const fn vector(&self) -> u8 {
        match self {
            Self::ExternalInterrupt(v) => *v,
            Self::Nmi => 2,
            Self::HardwareException { vector, .. }
            | Self::SoftwareInterrupt { vector, .. }
            | Self::SoftwareException { vector, .. } => *vector,
            Self::PrivilegedSoftwareException { .. } => 1,
            Self::Raw { info, .. } => (*info & 0xFF) as u8,
        }
    }

    /// A hardware exception with the error code the vector calls for: `error_code` is used
    /// when the vector has one (0 if `None`), dropped otherwise.
    pub const fn exception(vector: u8, error_code: Option<u32>) -> Self {
        let error_code = if vector_has_error_code(vector) {
            match error_code {
                Some(e) => Some(e),
                None => Some(0),
            }
        } else {
            None
        };
        Self::HardwareException { vector, error_code }
    }

    /// Encodes the event for the VM-entry fields (SDM §25.8.3, Table 25-17). Total: an
    /// event that breaks the VM-entry rules encodes as given ([`Event::validate`] finds
    /// it).
    pub const fn encode(&self) -> EncodedEvent {
        let ty = InterruptionType::from_bits(self.interruption_type());
        match *self {
            Self::ExternalInterrupt(v) => EncodedEvent {
                info: EntryInterruptionInfo::external_interrupt(v).raw(),
                error_code: None,
                instruction_len: None,
            },
            Self::Nmi => EncodedEvent {
                info: EntryInterruptionInfo::nmi().raw(),
                error_code: None,
                instruction_len: None,
            },
            Self::HardwareException { vector, error_code } => EncodedEvent {
                info: EntryInterruptionInfo::from_parts(ty, vector, error_code.is_some()).raw(),
                error_code,
                instruction_len: None,
            },
            Self::SoftwareInterrupt {
                vector,
                instruction_len,
            }
            | Self::SoftwareException {
                vector,
                instruction_len,
            } => EncodedEvent {
                info: EntryInterruptionInfo::from_parts(ty, vector, false).raw(),
                error_code: None,
                instruction_len: Some(instruction_len),
            },
            Self::PrivilegedSoftwareException { instruction_len } => EncodedEvent {
                info: EntryInterruptionInfo::privileged_software_exception(1).raw(),
                error_code: None,
                instruction_len: Some(instruction_len),
            },
            Self::Raw {
                info,
                error_code,
                instruction_len,
            } => {
                let from = IdtVectoringInfo::from_raw(info);
                EncodedEvent {
                    info: EntryInterruptionInfo::from_parts(
                        from.interruption_type(),
                        from.vector().0,
                        from.error_code_valid(),
                    )
                    .raw(),
                    error_code,
                    instruction_len: Some(instruction_len),
                }
            }
        }
    }

    /// Decodes IDT-vectoring information (or any interruption-information value) so that an
    /// event interrupted by a VM exit can be re-injected (SDM §28.2.4, §27.6.1.1). Returns
    /// `None` when bit 31 (valid) is clear. `error_code` is used only when bit 11 is set;
    /// `instruction_len` is the VM-exit instruction length (meaningful for types 4-6).
    pub const fn from_interruption_info(
        info: u32,
        error_code: u32,
        instruction_len: u32,
    ) -> Option<Self> {
        let i = IdtVectoringInfo::from_raw(info);
        if !i.is_valid() {
            return None;
        }
        let vector = i.vector().0;
        let error_code = if i.error_code_valid() {
            Some(error_code)
        } else {
            None
        };
        Some(match i.interruption_type() {
            InterruptionType::ExternalInterrupt => Self::ExternalInterrupt(vector),
            InterruptionType::Nmi => Self::Nmi,
            InterruptionType::HardwareException => Self::HardwareException { vector, error_code },
            InterruptionType::SoftwareInterrupt => Self::SoftwareInterrupt {
                vector,
                instruction_len,
            },
            InterruptionType::PrivilegedSoftwareException => {
                Self::PrivilegedSoftwareException { instruction_len }
            }
            InterruptionType::SoftwareException => Self::SoftwareException {
                vector,
                instruction_len,
            },
            InterruptionType::Reserved | InterruptionType::OtherEvent => Self::Raw {
                info,
                error_code,
                instruction_len,
            },
        })
    }

    /// The event as delivered to a real-mode guest: a hardware exception loses its error
    /// code (VM entry delivers none with CR0.PE = 0, SDM §27.2.1.3); other events are
    /// unchanged.
    pub const fn for_real_mode(self) -> Self {
        match self {
            Self::HardwareException { vector, .. } => Self::HardwareException {
                vector,
                error_code: None,
            },
            other => other,
        }
    }

    /// Whether `other` is the same delivery: same interruption type and vector (an
    /// event read back from IDT-vectoring information against the one injected; SDM
    /// §28.2.4). Error code and instruction length do not take part.
    pub const fn same_delivery(&self, other: &Event) -> bool {
        self.interruption_type() == other.interruption_type() && self.vector() == other.vector()
    }

    /// Checks the event against the VM-entry checks on event injection (SDM §27.2.1.3,
    /// through [`EntryInterruptionInfo::check`]): exception vectors 0-31, the error code
    /// present exactly when `rules` require it and at most 16 bits wide, software
    /// instruction lengths 1-15 (0 only when `zero_length_allowed`, IA32_VMX_MISC\[30\]).
    /// [`Event::Raw`] cannot be queued.
    pub fn validate(
        &self,
        rules: InjectionRules,
        zero_length_allowed: bool,
    ) -> Result<(), InvalidEvent> {
        if let Self::Raw { info, .. } = *self {
            return Err(InvalidEvent::UnsupportedType(
                IdtVectoringInfo::from_raw(info).interruption_type().bits(),
            ));
        }
        let enc = self.encode();
        let info = EntryInterruptionInfo::from_raw(enc.info);
        info.check(rules).map_err(InvalidEvent::Entry)?;
        if let Some(code) = enc.error_code {
            info.check_error_code(code).map_err(InvalidEvent::Entry)?;
        }
        if let Some(len) = enc.instruction_len {
            info.check_instruction_length(len, zero_length_allowed)
                .map_err(InvalidEvent::Entry)?;
        }
        Ok(())
    }
}

/// Why an event cannot be injected (SDM §27.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidEvent {
    /// VM entry would refuse it (SDM §27.2.1.3): the check that fails.
    Entry(EntryInterruptionError),
    /// A caller cannot queue an event of this raw type.
    UnsupportedType(u8),
    /// The queue of exceptions and software events is full.
    QueueFull,
}

impl fmt::Display for InvalidEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Entry(e) => write!(f, "{e}"),
            Self::UnsupportedType(t) => write!(f, "interruption type {t} cannot be queued"),
            Self::QueueFull => f.write_str("the pending-exception queue is full"),
        }
    }
}
