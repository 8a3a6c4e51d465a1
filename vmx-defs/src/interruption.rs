//! Event (interruption) information fields of the VMCS.
//!
//! - [`EntryInterruptionInfo`]: VM-entry interruption information (encoding 0x4016), the
//!   event VM entry injects (SDM Vol. 3C §25.8.3, Table 25-17; checks §27.2.1.3; delivery
//!   §27.6).
//! - [`ExitInterruptionInfo`]: VM-exit interruption information (0x4404), the event that
//!   caused the VM exit (SDM Vol. 3C §25.9.2, Table 25-19; §28.2.2).
//! - [`IdtVectoringInfo`]: IDT-vectoring information (0x4408), the event being delivered
//!   when the VM exit happened (SDM Vol. 3C §25.9.3, Table 25-20; §28.2.4).
//!
//! All three share the layout: vector in bits 7:0, [`InterruptionType`] in bits 10:8,
//! error-code bit 11, valid bit 31.
//!
//! FRED (SDM Vol. 3C §27.2.1.3, §27.6, §28.2.4): interruption type 7 (other event) with
//! vector 1 or 2 stands for SYSCALL or SYSENTER delivered by FRED event delivery. VM entry
//! injects it only into an IA-32e mode guest with CR4.FRED = 1, using the VM-entry
//! instruction length (at most 15, 0 allowed); a VM exit during that delivery records it in
//! the IDT-vectoring information, with the length in the VM-exit instruction length.

/// The total constructor, the raw value, `From<u32>` and the accessors for bits 7:0, 10:8,
/// 11, 13 and 31 shared by the two fields the processor writes (VM-exit interruption
/// information and IDT-vectoring information have the same layout for these bits; SDM
/// Vol. 3C §25.9.2 Table 25-19, §25.9.3 Table 25-20). `$error_code` names the field that
/// holds the error code, `$valid` says what bit 31 means.
macro_rules! shared_event_info {
    ($name:ident, $error_code:literal, $valid:literal) => {
        impl $name {
            /// Any raw value, kept exactly (total).
            ///
            /// SDM Vol. 3C §25.8.3.
            pub const fn from_raw(raw: u32) -> Self {
                Self(raw)
            }

            /// The raw field value.
            ///
            /// SDM Vol. 3C §25.8.3.
            pub const fn raw(self) -> u32 {
                self.0
            }

            /// Bits 7:0: the vector.
            ///
            /// SDM Vol. 3C §25.8.3.
            pub const fn vector(self) -> ExceptionVector {
                ExceptionVector((self.0 & VECTOR_MASK) as u8)
            }

            /// Bits 10:8: the interruption type.
            ///
            /// SDM Vol. 3C §25.8.3.
            pub const fn interruption_type(self) -> InterruptionType {
                InterruptionType::from_field(self.0)
            }

            #[doc = concat!("Bit 11: ", $error_code, " holds the event's error code.")]
            /// SDM Vol. 3C §25.8.3.
            pub const fn error_code_valid(self) -> bool {
                self.0 & ERROR_CODE_BIT != 0
            }

            /// Bit 13: the event was a nested exception during FRED event delivery.
            ///
            /// SDM Vol. 3C §25.8.3.
            pub const fn nested_exception(self) -> bool {
                self.0 & NESTED_EXCEPTION_BIT != 0
            }

            #[doc = concat!("Bit 31: ", $valid, ".")]
            /// SDM Vol. 3C §25.8.3.
            pub const fn is_valid(self) -> bool {
                self.0 & VALID_BIT != 0
            }
        }

        impl From<u32> for $name {
            fn from(raw: u32) -> Self {
                Self(raw)
            }
        }
    };
}

mod entry;
mod exit;

pub use entry::{EntryInterruptionError, EntryInterruptionInfo, InjectionRules};
pub use exit::{ExitInterruptionInfo, IdtVectoringInfo};

use crate::exception::ExceptionVector;
use core::fmt;

/// Bits 7:0 of an interruption-information field: the vector.
const VECTOR_MASK: u32 = 0xff;
/// Bits 10:8: the interruption type.
const TYPE_SHIFT: u32 = 8;
/// Bit 11: deliver error code (entry) / error code valid (exit, IDT vectoring).
const ERROR_CODE_BIT: u32 = 1 << 11;
/// Bit 12: NMI unblocking due to IRET (exit interruption information only).
const NMI_UNBLOCKING_BIT: u32 = 1 << 12;
/// Bit 13: nested exception (FRED).
const NESTED_EXCEPTION_BIT: u32 = 1 << 13;
/// Bit 31: valid.
const VALID_BIT: u32 = 1 << 31;

/// Interruption type, bits 10:8 of the interruption-information fields (SDM Vol. 3C
/// §25.8.3 Table 25-17, §25.9.2 Table 25-19, §25.9.3 Table 25-20).
///
/// Total: every 3-bit value is a variant ([`InterruptionType::from_bits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum InterruptionType {
    /// 0: external interrupt.
    ExternalInterrupt = 0,
    /// 1: reserved (not used by any field).
    Reserved = 1,
    /// 2: non-maskable interrupt (vector 2).
    Nmi = 2,
    /// 3: hardware exception (vectors 0-31, except #BP and #OF raised by INT3/INTO).
    HardwareException = 3,
    /// 4: software interrupt (INT n); entry and IDT vectoring only.
    SoftwareInterrupt = 4,
    /// 5: privileged software exception (INT1, also called ICEBP).
    PrivilegedSoftwareException = 5,
    /// 6: software exception (#BP from INT3, #OF from INTO).
    SoftwareException = 6,
    /// 7: other event, not delivered through the IDT. On VM entry (SDM Vol. 3C §27.2.1.3,
    /// §27.6): vector 0 is a pending MTF VM exit (needs the "monitor trap flag" control);
    /// vector 1 is SYSCALL and 2 is SYSENTER, delivered by FRED event delivery (needs an
    /// IA-32e mode guest with CR4.FRED = 1; the VM-entry instruction length, at most 15,
    /// gives the return address). In IDT-vectoring information (§28.2.4): the VM exit
    /// occurred during FRED event delivery of SYSCALL (vector 1) or SYSENTER (vector 2),
    /// and the VM-exit instruction length holds that instruction's length.
    OtherEvent = 7,
}

impl InterruptionType {
    /// Decodes the low three bits of `bits` (higher bits are ignored), so every input maps
    /// to a type.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 7 {
            0 => Self::ExternalInterrupt,
            1 => Self::Reserved,
            2 => Self::Nmi,
            3 => Self::HardwareException,
            4 => Self::SoftwareInterrupt,
            5 => Self::PrivilegedSoftwareException,
            6 => Self::SoftwareException,
            _ => Self::OtherEvent,
        }
    }

    /// Extracts bits 10:8 of an interruption-information field.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn from_field(field: u32) -> Self {
        Self::from_bits((field >> TYPE_SHIFT) as u8)
    }

    /// The 3-bit encoding.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// The type a VMM uses to inject an exception or interrupt with this vector when it
    /// did not come from an instruction (SDM Vol. 3C §25.8.3): NMI for vector 2, software
    /// exception for #BP and #OF (the types INT3 and INTO produce), hardware exception
    /// for the other vectors 0-31, external interrupt for 32-255.
    ///
    /// To re-inject an event the processor reported, keep the reported type instead
    /// ([`IdtVectoringInfo::to_reinjection`]).
    pub const fn from_vector(vector: ExceptionVector) -> Self {
        match vector.0 {
            2 => Self::Nmi,
            3 | 4 => Self::SoftwareException,
            0..=31 => Self::HardwareException,
            _ => Self::ExternalInterrupt,
        }
    }

    /// Whether this is one of the three software-generated types whose injection always
    /// uses the VM-entry instruction length, 1-15 (software interrupt, privileged software
    /// exception, software exception; SDM Vol. 3C §25.8.3, §27.2.1.3). The FRED
    /// SYSCALL/SYSENTER other events also use it, with other rules: see
    /// [`EntryInterruptionInfo::uses_instruction_length`].
    pub const fn is_soft(self) -> bool {
        matches!(
            self,
            Self::SoftwareInterrupt | Self::PrivilegedSoftwareException | Self::SoftwareException
        )
    }

    /// The SDM's name for this type (e.g. `"hardware exception"`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::ExternalInterrupt => "external interrupt",
            Self::Reserved => "reserved",
            Self::Nmi => "non-maskable interrupt (NMI)",
            Self::HardwareException => "hardware exception",
            Self::SoftwareInterrupt => "software interrupt",
            Self::PrivilegedSoftwareException => "privileged software exception",
            Self::SoftwareException => "software exception",
            Self::OtherEvent => "other event",
        }
    }
}

impl fmt::Display for InterruptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether delivering an event of type `ty` with `vector` pushes an error code: only
/// hardware exceptions whose vector has one (#DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP;
/// SDM Vol. 3A §6.13, Vol. 3C §28.2.2). Software exceptions (INT3, INTO), INT1, interrupts
/// and NMIs never push one.
pub const fn vector_has_error_code(ty: InterruptionType, vector: ExceptionVector) -> bool {
    matches!(ty, InterruptionType::HardwareException) && vector.has_error_code()
}
