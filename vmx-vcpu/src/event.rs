//! Events a VMM injects into a guest and their VMCS encodings (SDM Vol. 3C §25.8.3, "VM-Entry
//! Controls for Event Injection"; §27.6, "Event Injection"; §28.2.4, "Information for VM
//! Exits That Occur During Event Delivery").

use core::fmt;

use vmx_defs::exception::ExceptionVector;

/// Bit 31 of the interruption-information fields: valid.
pub const INTERRUPTION_INFO_VALID: u32 = 1 << 31;
/// Bit 11 of the interruption-information fields: an error code is delivered.
pub const INTERRUPTION_INFO_ERROR_CODE: u32 = 1 << 11;
/// Bit 12 of the exit interruption-information field: NMI unblocking due to IRET.
pub const INTERRUPTION_INFO_NMI_UNBLOCKING: u32 = 1 << 12;

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
/// ([`VmxVcpu::last_injection`](crate::VmxVcpu::last_injection)).
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

    /// Encodes the event for the VM-entry fields (SDM §25.8.3).
    pub const fn encode(&self) -> EncodedEvent {
        let base = INTERRUPTION_INFO_VALID
            | ((self.interruption_type() as u32) << 8)
            | self.vector() as u32;
        match *self {
            Self::ExternalInterrupt(_) | Self::Nmi => EncodedEvent {
                info: base,
                error_code: None,
                instruction_len: None,
            },
            Self::HardwareException { error_code, .. } => EncodedEvent {
                info: if error_code.is_some() {
                    base | INTERRUPTION_INFO_ERROR_CODE
                } else {
                    base
                },
                error_code,
                instruction_len: None,
            },
            Self::SoftwareInterrupt {
                instruction_len, ..
            }
            | Self::PrivilegedSoftwareException { instruction_len }
            | Self::SoftwareException {
                instruction_len, ..
            } => EncodedEvent {
                info: base,
                error_code: None,
                instruction_len: Some(instruction_len),
            },
            Self::Raw {
                info,
                error_code,
                instruction_len,
            } => EncodedEvent {
                // Bits 30:12 are reserved in the VM-entry field; keep vector, type, bit 11.
                info: INTERRUPTION_INFO_VALID | (info & 0xFFF),
                error_code,
                instruction_len: Some(instruction_len),
            },
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
        if info & INTERRUPTION_INFO_VALID == 0 {
            return None;
        }
        let vector = (info & 0xFF) as u8;
        let error_code = if info & INTERRUPTION_INFO_ERROR_CODE != 0 {
            Some(error_code)
        } else {
            None
        };
        Some(match (info >> 8) & 7 {
            0 => Self::ExternalInterrupt(vector),
            2 => Self::Nmi,
            3 => Self::HardwareException { vector, error_code },
            4 => Self::SoftwareInterrupt {
                vector,
                instruction_len,
            },
            5 => Self::PrivilegedSoftwareException { instruction_len },
            6 => Self::SoftwareException {
                vector,
                instruction_len,
            },
            _ => Self::Raw {
                info,
                error_code,
                instruction_len,
            },
        })
    }

    /// Whether `other` is the same delivery: same interruption type and vector (an
    /// event read back from IDT-vectoring information against the one injected; SDM
    /// §28.2.4). Error code and instruction length do not take part.
    pub const fn same_delivery(&self, other: &Event) -> bool {
        self.interruption_type() == other.interruption_type() && self.vector() == other.vector()
    }

    /// Checks the event against the VM-entry rules for the interruption-information field
    /// (SDM §27.2.1.3): exceptions use vectors 0-31, NMI uses vector 2, error codes only
    /// with vectors that push one, software instruction lengths 1-15 (0 allowed only when
    /// the CPU reports IA32_VMX_MISC bit 30).
    pub fn validate(&self, zero_length_allowed: bool) -> Result<(), InvalidEvent> {
        match *self {
            Self::ExternalInterrupt(_) | Self::Nmi => Ok(()),
            Self::HardwareException { vector, error_code } => {
                if vector > 31 {
                    Err(InvalidEvent::ExceptionVector(vector))
                } else if error_code.is_some() && !vector_has_error_code(vector) {
                    Err(InvalidEvent::UnexpectedErrorCode(vector))
                } else {
                    Ok(())
                }
            }
            Self::SoftwareException {
                vector,
                instruction_len,
            } => {
                if vector > 31 {
                    Err(InvalidEvent::ExceptionVector(vector))
                } else {
                    check_len(instruction_len, zero_length_allowed)
                }
            }
            Self::SoftwareInterrupt {
                instruction_len, ..
            }
            | Self::PrivilegedSoftwareException { instruction_len } => {
                check_len(instruction_len, zero_length_allowed)
            }
            Self::Raw { info, .. } => Err(InvalidEvent::UnsupportedType(((info >> 8) & 7) as u8)),
        }
    }
}

fn check_len(len: u32, zero_allowed: bool) -> Result<(), InvalidEvent> {
    if len > 15 || (len == 0 && !zero_allowed) {
        Err(InvalidEvent::InstructionLength(len))
    } else {
        Ok(())
    }
}

/// Why an event cannot be injected (SDM §27.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidEvent {
    /// Exceptions use vectors 0-31.
    ExceptionVector(u8),
    /// An error code was given for a vector that does not push one.
    UnexpectedErrorCode(u8),
    /// Software-event instruction lengths are 1-15 (0 only with IA32_VMX_MISC bit 30).
    InstructionLength(u32),
    /// A caller cannot queue an event of this raw type.
    UnsupportedType(u8),
    /// The queue of exceptions and software events is full.
    QueueFull,
}

impl fmt::Display for InvalidEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExceptionVector(v) => write!(f, "exception vector {v} is above 31"),
            Self::UnexpectedErrorCode(v) => {
                write!(f, "vector {v} does not deliver an error code")
            }
            Self::InstructionLength(l) => write!(f, "instruction length {l} is not 1-15"),
            Self::UnsupportedType(t) => write!(f, "interruption type {t} cannot be queued"),
            Self::QueueFull => f.write_str("the pending-exception queue is full"),
        }
    }
}
