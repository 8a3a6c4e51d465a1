//! VM-entry interruption information (VMCS encoding 0x4016; SDM Vol. 3C §25.8.3,
//! Table 25-17) and the VM-entry checks on event injection (SDM Vol. 3C §27.2.1.3).

use super::{
    ERROR_CODE_BIT, InterruptionType, NESTED_EXCEPTION_BIT, TYPE_SHIFT, VALID_BIT, VECTOR_MASK,
};
use crate::exception::ExceptionVector;
use core::fmt;

/// What the processor and the guest allow, for the VM-entry checks on event injection
/// (SDM Vol. 3C §27.2.1.3). Fill it from the capability MSRs and the guest's CR0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InjectionRules {
    /// IA32_VMX_BASIC\[56\] (SDM Vol. 3D §A.1): VM entry does not check that the
    /// deliver-error-code bit matches the vector; a hardware exception may be injected
    /// with or without an error code.
    pub error_code_relaxed: bool,
    /// Bit 0 (PE) of the guest-state CR0 field is 1, or the "unrestricted guest" control
    /// is 0. When false (a real-mode guest), no error code may be delivered.
    pub guest_protected_mode: bool,
    /// The "monitor trap flag" processor-based control may be 1 (IA32_VMX_PROCBASED_CTLS
    /// allowed-1 bit 27). Without it, an other event (type 7) with vector 0 (pending MTF
    /// VM exit) is refused.
    pub monitor_trap_flag: bool,
    /// The guest VM entry establishes has FRED enabled: the "IA-32e mode guest" VM-entry
    /// control is 1 and bit 32 (FRED) of the guest-state CR4 field is 1
    /// ([`InjectionRules::guest_fred_enabled`]). Only then may an other event (type 7)
    /// use vector 1 (SYSCALL) or 2 (SYSENTER) (SDM Vol. 3C §27.2.1.3, §27.6). This is the
    /// guest's state, not the processor's support for FRED: a FRED-capable processor
    /// refuses these vectors for a guest with CR4.FRED = 0 or outside IA-32e mode.
    pub guest_fred: bool,
    /// IA32_VMX_BASIC\[58\]: a hardware exception may be injected as a nested exception
    /// (bit 13).
    pub nested_exception: bool,
}

impl InjectionRules {
    /// The rules of a processor without IA32_VMX_BASIC\[56\] or nested-exception support,
    /// with the monitor trap flag, for a guest in protected mode without FRED enabled: the
    /// strictest checks a VM entry into a protected-mode guest applies.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const LEGACY: Self = Self {
        error_code_relaxed: false,
        guest_protected_mode: true,
        monitor_trap_flag: true,
        guest_fred: false,
        nested_exception: false,
    };

    /// [`InjectionRules::LEGACY`] with IA32_VMX_BASIC\[56\] = 1 (any hardware exception
    /// may carry an error code or not; processors with CET report this).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const RELAXED_ERROR_CODE: Self = Self {
        error_code_relaxed: true,
        ..Self::LEGACY
    };
}

impl InjectionRules {
    /// Bit 32 of CR4: FRED (SDM Vol. 3A §2.5).
    const CR4_FRED: u64 = 1 << 32;

    /// Whether the guest VM entry establishes has FRED enabled, the condition for
    /// injecting FRED SYSCALL/SYSENTER events (SDM Vol. 3C §27.2.1.3): `ia32e_mode_guest`
    /// is the "IA-32e mode guest" VM-entry control (bit 9) and `guest_cr4` the
    /// guest-state CR4 field (encoding 0x6804), whose bit 32 is CR4.FRED.
    ///
    /// ```
    /// use vmx_defs::interruption::InjectionRules;
    ///
    /// assert!(InjectionRules::guest_fred_enabled(true, 1 << 32 | 0x20));
    /// assert!(!InjectionRules::guest_fred_enabled(false, 1 << 32));
    /// assert!(!InjectionRules::guest_fred_enabled(true, 0x20));
    /// ```
    pub const fn guest_fred_enabled(ia32e_mode_guest: bool, guest_cr4: u64) -> bool {
        ia32e_mode_guest && guest_cr4 & Self::CR4_FRED != 0
    }
}

impl Default for InjectionRules {
    fn default() -> Self {
        Self::LEGACY
    }
}

/// Why an [`EntryInterruptionInfo`] (or its companion fields) would fail the VM-entry
/// checks of SDM Vol. 3C §27.2.1.3 (VM entry would fail with VM-instruction error 7,
/// "VM entry with invalid control field(s)").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryInterruptionError {
    /// Interruption type 1 is reserved.
    ReservedType,
    /// An other event (type 7) with vector 0 (pending MTF VM exit) needs a processor that
    /// supports the "monitor trap flag" control.
    MonitorTrapFlagUnsupported,
    /// An other event (type 7) with vector 1 (SYSCALL) or 2 (SYSENTER) needs a guest with
    /// FRED enabled: "IA-32e mode guest" = 1 and guest CR4.FRED = 1
    /// ([`InjectionRules::guest_fred`]).
    FredEventWithoutGuestFred {
        /// The vector given (1 or 2).
        vector: u8,
    },
    /// An NMI must use vector 2.
    NmiVector {
        /// The vector given.
        vector: u8,
    },
    /// A hardware exception must use a vector of at most 31.
    HardwareExceptionVector {
        /// The vector given.
        vector: u8,
    },
    /// An other event must use vector 0 (pending MTF VM exit), 1 (FRED SYSCALL) or 2 (FRED
    /// SYSENTER).
    OtherEventVector {
        /// The vector given.
        vector: u8,
    },
    /// Only a hardware exception may deliver an error code.
    ErrorCodeForNonException {
        /// The interruption type given.
        ty: InterruptionType,
    },
    /// No error code may be delivered to a guest whose CR0.PE is 0.
    ErrorCodeInRealMode,
    /// With IA32_VMX_BASIC\[56\] = 0, this exception vector must not deliver an error code
    /// (only #DF, #TS, #NP, #SS, #GP, #PF and #AC do).
    UnexpectedErrorCode {
        /// The vector given.
        vector: u8,
    },
    /// With IA32_VMX_BASIC\[56\] = 0 and a protected-mode guest, this exception vector
    /// (#DF, #TS, #NP, #SS, #GP, #PF or #AC) must deliver an error code.
    MissingErrorCode {
        /// The vector given.
        vector: u8,
    },
    /// Bit 13 (nested exception) needs IA32_VMX_BASIC\[58\] = 1.
    NestedExceptionUnsupported,
    /// Bit 13 (nested exception) is allowed only with the hardware-exception type.
    NestedExceptionType {
        /// The interruption type given.
        ty: InterruptionType,
    },
    /// Reserved bits 30:12 (other than an allowed bit 13) must be 0.
    ReservedBits {
        /// The reserved bits that were set.
        bits: u32,
    },
    /// Bits 31:16 of the VM-entry exception error code must be 0 when an error code is
    /// delivered.
    ErrorCodeTooWide {
        /// The error code given.
        error_code: u32,
    },
    /// The VM-entry instruction length for a software interrupt or (privileged) software
    /// exception must be 1-15 (0 only if IA32_VMX_MISC\[30\] = 1).
    InstructionLength {
        /// The length given.
        length: u32,
    },
    /// The VM-entry instruction length for a FRED SYSCALL/SYSENTER event (other event,
    /// vector 1 or 2) must be at most 15 (0 is allowed).
    FredInstructionLength {
        /// The length given.
        length: u32,
    },
}

impl fmt::Display for EntryInterruptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ReservedType => f.write_str("interruption type 1 is reserved"),
            Self::MonitorTrapFlagUnsupported => f.write_str(
                "other event with vector 0 (pending MTF VM exit) needs the monitor-trap-flag control",
            ),
            Self::FredEventWithoutGuestFred { vector } => write!(
                f,
                "other event with vector {vector} (FRED SYSCALL/SYSENTER) needs an IA-32e mode guest with CR4.FRED = 1"
            ),
            Self::NmiVector { vector } => write!(f, "an NMI must use vector 2, not {vector}"),
            Self::HardwareExceptionVector { vector } => {
                write!(
                    f,
                    "a hardware exception must use a vector <= 31, not {vector}"
                )
            }
            Self::OtherEventVector { vector } => write!(
                f,
                "an other event must use vector 0, 1 or 2, not {vector}"
            ),
            Self::ErrorCodeForNonException { ty } => {
                write!(
                    f,
                    "only a hardware exception may deliver an error code, not a {ty}"
                )
            }
            Self::ErrorCodeInRealMode => {
                f.write_str("no error code may be delivered to a guest with CR0.PE = 0")
            }
            Self::UnexpectedErrorCode { vector } => write!(
                f,
                "vector {vector} does not deliver an error code (IA32_VMX_BASIC[56] = 0)"
            ),
            Self::MissingErrorCode { vector } => write!(
                f,
                "vector {vector} must deliver an error code (IA32_VMX_BASIC[56] = 0)"
            ),
            Self::NestedExceptionUnsupported => {
                f.write_str("nested-exception injection needs IA32_VMX_BASIC[58]")
            }
            Self::NestedExceptionType { ty } => {
                write!(f, "only a hardware exception may be nested, not a {ty}")
            }
            Self::ReservedBits { bits } => {
                write!(f, "reserved interruption-information bits set: {bits:#x}")
            }
            Self::ErrorCodeTooWide { error_code } => {
                write!(f, "error code {error_code:#x} has bits 31:16 set")
            }
            Self::InstructionLength { length } => {
                write!(f, "VM-entry instruction length {length} is not 1-15")
            }
            Self::FredInstructionLength { length } => write!(
                f,
                "VM-entry instruction length {length} of a FRED SYSCALL/SYSENTER event is more than 15"
            ),
        }
    }
}

impl core::error::Error for EntryInterruptionError {}

/// The VM-entry interruption-information field (VMCS encoding 0x4016; SDM Vol. 3C
/// §25.8.3, Table 25-17): the event VM entry injects.
///
/// Bits: 7:0 vector; 10:8 [`InterruptionType`]; 11 deliver error code; 12 reserved;
/// 13 nested exception (FRED, IA32_VMX_BASIC\[58\]); 30:14 reserved; 31 valid.
///
/// The constructors build only values that pass the VM-entry checks (SDM Vol. 3C
/// §27.2.1.3) under the given [`InjectionRules`]; [`EntryInterruptionInfo::from_raw`]
/// keeps any value, and [`EntryInterruptionInfo::check`] says whether VM entry would
/// accept it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EntryInterruptionInfo(u32);

impl EntryInterruptionInfo {
    /// No event: the valid bit is 0, VM entry injects nothing. VM exits leave this value's
    /// valid bit clear in the field.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const NONE: Self = Self(0);

    /// Reserved bits when bit 13 is allowed (30:14 and 12).
    const RESERVED: u32 = 0x7fff_d000;

    /// Any raw value, kept exactly (total; nothing is checked).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw field value to write with VMWRITE.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The valid field for an event of type `ty` with `vector` and the deliver-error-code
    /// bit, without any check (total; [`EntryInterruptionInfo::check`] says whether VM entry
    /// accepts it).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn from_parts(ty: InterruptionType, vector: u8, deliver_error_code: bool) -> Self {
        let code = if deliver_error_code {
            ERROR_CODE_BIT
        } else {
            0
        };
        Self(VALID_BIT | ((ty.bits() as u32) << TYPE_SHIFT) | code | vector as u32)
    }

    /// Builds a valid event under [`InjectionRules::LEGACY`].
    ///
    /// SDM Vol. 3C §25.8.3.
    pub fn new(
        ty: InterruptionType,
        vector: u8,
        deliver_error_code: bool,
    ) -> Result<Self, EntryInterruptionError> {
        Self::new_with_rules(ty, vector, deliver_error_code, InjectionRules::LEGACY)
    }

    /// Builds a valid event, checked against `rules` (SDM Vol. 3C §27.2.1.3). Use
    /// [`InjectionRules::RELAXED_ERROR_CODE`] (or a value with `error_code_relaxed`) on a
    /// processor reporting IA32_VMX_BASIC\[56\] = 1.
    pub fn new_with_rules(
        ty: InterruptionType,
        vector: u8,
        deliver_error_code: bool,
        rules: InjectionRules,
    ) -> Result<Self, EntryInterruptionError> {
        let mut raw = VALID_BIT | ((ty.bits() as u32) << TYPE_SHIFT) | vector as u32;
        if deliver_error_code {
            raw |= ERROR_CODE_BIT;
        }
        let info = Self(raw);
        info.check(rules)?;
        Ok(info)
    }

    /// An external interrupt with `vector` (any vector is accepted).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn external_interrupt(vector: u8) -> Self {
        Self(
            VALID_BIT
                | ((InterruptionType::ExternalInterrupt as u32) << TYPE_SHIFT)
                | vector as u32,
        )
    }

    /// A non-maskable interrupt (type 2, vector 2).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn nmi() -> Self {
        Self(VALID_BIT | ((InterruptionType::Nmi as u32) << TYPE_SHIFT) | 2)
    }

    /// A hardware exception (type 3) delivered as the processor would deliver it to a
    /// protected-mode guest: with an error code exactly when the vector has one
    /// ([`ExceptionVector::has_error_code`]), checked under [`InjectionRules::LEGACY`].
    /// #CP (which has an error code) therefore needs
    /// [`EntryInterruptionInfo::hardware_exception_with_rules`] with IA32_VMX_BASIC\[56\].
    ///
    /// ```
    /// use vmx_defs::exception::ExceptionVector;
    /// use vmx_defs::interruption::{EntryInterruptionInfo, InterruptionType};
    ///
    /// let gp = EntryInterruptionInfo::hardware_exception(ExceptionVector::GP)?;
    /// assert_eq!(gp.raw(), 0x8000_0b0d); // valid, error code, type 3, vector 13
    /// assert_eq!(gp.interruption_type(), InterruptionType::HardwareException);
    /// assert!(gp.deliver_error_code());
    /// // A hardware exception has a vector of at most 31 (SDM Vol. 3C §27.2.1.3).
    /// assert!(EntryInterruptionInfo::hardware_exception(ExceptionVector(32)).is_err());
    /// # Ok::<(), vmx_defs::interruption::EntryInterruptionError>(())
    /// ```
    pub fn hardware_exception(vector: ExceptionVector) -> Result<Self, EntryInterruptionError> {
        Self::hardware_exception_with_rules(vector, InjectionRules::LEGACY)
    }

    /// A hardware exception (type 3) delivered as the processor would deliver it: with an
    /// error code when the vector has one and the guest is in protected mode
    /// (`rules.guest_protected_mode`), checked against `rules`.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub fn hardware_exception_with_rules(
        vector: ExceptionVector,
        rules: InjectionRules,
    ) -> Result<Self, EntryInterruptionError> {
        let error_code = vector.has_error_code() && rules.guest_protected_mode;
        Self::new_with_rules(
            InterruptionType::HardwareException,
            vector.0,
            error_code,
            rules,
        )
    }

    /// A software interrupt (INT n, type 4). VM entry also needs the instruction length
    /// ([`EntryInterruptionInfo::check_instruction_length`]).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn software_interrupt(vector: u8) -> Self {
        Self(
            VALID_BIT
                | ((InterruptionType::SoftwareInterrupt as u32) << TYPE_SHIFT)
                | vector as u32,
        )
    }

    /// A privileged software exception (type 5; INT1/ICEBP raises it with vector 1). VM
    /// entry also needs the instruction length.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn privileged_software_exception(vector: u8) -> Self {
        Self(
            VALID_BIT
                | ((InterruptionType::PrivilegedSoftwareException as u32) << TYPE_SHIFT)
                | vector as u32,
        )
    }

    /// A software exception (type 6; INT3 raises #BP, INTO raises #OF). VM entry also needs
    /// the instruction length.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn software_exception(vector: u8) -> Self {
        Self(
            VALID_BIT
                | ((InterruptionType::SoftwareException as u32) << TYPE_SHIFT)
                | vector as u32,
        )
    }

    /// A pending MTF VM exit (other event, vector 0; SDM Vol. 3C §27.6.2): the guest exits
    /// with reason 37 before executing an instruction. Needs the monitor-trap-flag control.
    pub const fn pending_mtf() -> Self {
        Self(VALID_BIT | ((InterruptionType::OtherEvent as u32) << TYPE_SHIFT))
    }

    /// A FRED SYSCALL event (other event, vector 1; SDM Vol. 3C §27.2.1.3, §27.6): VM entry
    /// delivers it as FRED event delivery of SYSCALL, with the return address RIP + the
    /// VM-entry instruction length (at most 15, 0 allowed;
    /// [`EntryInterruptionInfo::check_instruction_length`]). Needs a guest with FRED
    /// enabled ([`InjectionRules::guest_fred`]).
    pub const fn fred_syscall() -> Self {
        Self(VALID_BIT | ((InterruptionType::OtherEvent as u32) << TYPE_SHIFT) | 1)
    }

    /// A FRED SYSENTER event (other event, vector 2); the same rules as
    /// [`EntryInterruptionInfo::fred_syscall`].
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn fred_sysenter() -> Self {
        Self(VALID_BIT | ((InterruptionType::OtherEvent as u32) << TYPE_SHIFT) | 2)
    }

    /// This event marked as a nested exception (bit 13; FRED), checked against `rules`
    /// (needs IA32_VMX_BASIC\[58\] and the hardware-exception type).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub fn with_nested_exception(
        self,
        rules: InjectionRules,
    ) -> Result<Self, EntryInterruptionError> {
        let info = Self(self.0 | NESTED_EXCEPTION_BIT);
        info.check(rules)?;
        Ok(info)
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

    /// Bit 11: deliver an error code (taken from the VM-entry exception error-code field,
    /// encoding 0x4018).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn deliver_error_code(self) -> bool {
        self.0 & ERROR_CODE_BIT != 0
    }

    /// Bit 13: inject as a nested exception (FRED).
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn nested_exception(self) -> bool {
        self.0 & NESTED_EXCEPTION_BIT != 0
    }

    /// Bit 31: VM entry injects this event.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn is_valid(self) -> bool {
        self.0 & VALID_BIT != 0
    }

    /// The reserved bits (30:12) that are set, bit 13 included.
    ///
    /// SDM Vol. 3C §25.8.3.
    pub const fn reserved_bits(self) -> u32 {
        self.0 & 0x7fff_f000
    }

    /// Whether VM entry uses the VM-entry instruction length for this event: software
    /// interrupts, (privileged) software exceptions, and the FRED SYSCALL/SYSENTER other
    /// events (vectors 1 and 2) (SDM Vol. 3C §25.8.3, §27.2.1.3).
    pub const fn uses_instruction_length(self) -> bool {
        self.interruption_type().is_soft() || self.is_fred_instruction_event()
    }

    /// Whether this is an other event (type 7) with vector 1 (SYSCALL) or 2 (SYSENTER),
    /// the FRED events (SDM Vol. 3C §27.2.1.3).
    pub const fn is_fred_instruction_event(self) -> bool {
        matches!(self.interruption_type(), InterruptionType::OtherEvent)
            && matches!(self.0 & VECTOR_MASK, 1 | 2)
    }

    /// The VM-entry checks on this field (SDM Vol. 3C §27.2.1.3) under `rules`. A field
    /// whose valid bit is 0 passes: VM entry checks nothing else then.
    pub fn check(self, rules: InjectionRules) -> Result<(), EntryInterruptionError> {
        use EntryInterruptionError as E;
        use InterruptionType as T;
        if !self.is_valid() {
            return Ok(());
        }
        let ty = self.interruption_type();
        let vector = self.vector().0;
        match ty {
            T::Reserved => return Err(E::ReservedType),
            T::Nmi if vector != 2 => return Err(E::NmiVector { vector }),
            T::HardwareException if vector > 31 => {
                return Err(E::HardwareExceptionVector { vector });
            }
            T::OtherEvent => match vector {
                0 if !rules.monitor_trap_flag => return Err(E::MonitorTrapFlagUnsupported),
                1 | 2 if !rules.guest_fred => {
                    return Err(E::FredEventWithoutGuestFred { vector });
                }
                0..=2 => {}
                _ => return Err(E::OtherEventVector { vector }),
            },
            _ => {}
        }
        self.check_error_code_bit(ty, rules)?;
        if self.nested_exception() {
            if !rules.nested_exception {
                return Err(E::NestedExceptionUnsupported);
            }
            if ty != T::HardwareException {
                return Err(E::NestedExceptionType { ty });
            }
        }
        let reserved = self.0 & Self::RESERVED;
        if reserved != 0 {
            return Err(E::ReservedBits { bits: reserved });
        }
        Ok(())
    }

    /// The deliver-error-code rule (SDM Vol. 3C §27.2.1.3).
    fn check_error_code_bit(
        self,
        ty: InterruptionType,
        rules: InjectionRules,
    ) -> Result<(), EntryInterruptionError> {
        use EntryInterruptionError as E;
        let vector = self.vector();
        let exception = ty == InterruptionType::HardwareException;
        if self.deliver_error_code() {
            if !exception {
                return Err(E::ErrorCodeForNonException { ty });
            }
            if !rules.guest_protected_mode {
                return Err(E::ErrorCodeInRealMode);
            }
            if !rules.error_code_relaxed && !vector.entry_requires_error_code() {
                return Err(E::UnexpectedErrorCode { vector: vector.0 });
            }
        } else if exception
            && rules.guest_protected_mode
            && !rules.error_code_relaxed
            && vector.entry_requires_error_code()
        {
            return Err(E::MissingErrorCode { vector: vector.0 });
        }
        Ok(())
    }

    /// Checks a VM-entry exception error code (encoding 0x4018) to go with this event:
    /// when the deliver-error-code bit is set, bits 31:16 must be 0 (SDM Vol. 3C
    /// §27.2.1.3). Returns the code as the 16 bits VM entry pushes.
    pub fn check_error_code(self, error_code: u32) -> Result<u16, EntryInterruptionError> {
        if self.is_valid() && self.deliver_error_code() && error_code >> 16 != 0 {
            return Err(EntryInterruptionError::ErrorCodeTooWide { error_code });
        }
        Ok(error_code as u16)
    }

    /// Checks a VM-entry instruction length (encoding 0x401A) to go with this event (SDM
    /// Vol. 3C §27.2.1.3): for a software interrupt, privileged software exception or
    /// software exception it must be 1-15, or 0 when `zero_length_allowed`
    /// (IA32_VMX_MISC\[30\] = 1); for a FRED SYSCALL/SYSENTER event (other event, vector 1
    /// or 2) it must be at most 15, and 0 is always allowed. Other events ignore the length.
    pub fn check_instruction_length(
        self,
        length: u32,
        zero_length_allowed: bool,
    ) -> Result<(), EntryInterruptionError> {
        if !self.is_valid() || !self.uses_instruction_length() {
            return Ok(());
        }
        if self.is_fred_instruction_event() {
            return match length {
                0..=15 => Ok(()),
                _ => Err(EntryInterruptionError::FredInstructionLength { length }),
            };
        }
        match length {
            1..=15 => Ok(()),
            0 if zero_length_allowed => Ok(()),
            _ => Err(EntryInterruptionError::InstructionLength { length }),
        }
    }
}

impl From<EntryInterruptionInfo> for u32 {
    fn from(info: EntryInterruptionInfo) -> Self {
        info.0
    }
}

impl fmt::Debug for EntryInterruptionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryInterruptionInfo")
            .field("valid", &self.is_valid())
            .field("vector", &self.vector())
            .field("type", &self.interruption_type())
            .field("deliver_error_code", &self.deliver_error_code())
            .field("nested_exception", &self.nested_exception())
            .field("reserved", &format_args!("{:#x}", self.reserved_bits()))
            .finish()
    }
}
