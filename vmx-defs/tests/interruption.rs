//! Cross-checks `vmx_defs::interruption` and `vmx_defs::exception` against
//! tests/data/interruption-info.tsv (SDM Vol. 3C §25.8.3, §25.9.2, §25.9.3, §27.2.1.3;
//! Vol. 3A Table 6-1), and checks the VM-entry injection rules.

use proptest::prelude::*;
use vmx_defs::exception::ExceptionVector;
use vmx_defs::interruption::{
    EntryInterruptionError as E, EntryInterruptionInfo, ExitInterruptionInfo, IdtVectoringInfo,
    InjectionRules, InterruptionType, vector_has_error_code,
};

mod common;

use common::{range_mask, table};

const TSV: &str = include_str!("data/interruption-info.tsv");

/// Data rows (after the comment lines and the header) split on tabs.
fn rows() -> impl Iterator<Item = Vec<&'static str>> {
    table(
        TSV,
        &[
            "structure",
            "field",
            "name",
            "description",
            "error_code",
            "notes",
        ],
    )
    .into_iter()
}

/// Parses "31" or "30:14" into a mask.
fn mask(bits: &str) -> u32 {
    u32::try_from(range_mask(bits)).expect("a bit range of a 32-bit field")
}

/// "EXTERNAL_INTERRUPT" -> "ExternalInterrupt".
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_string() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

#[test]
fn exception_vector_rows_match() {
    let mut n = 0;
    for r in rows().filter(|r| r[0] == "EXCEPTION_VECTOR") {
        let v = ExceptionVector(r[1].parse().unwrap());
        let mnemonic = if r[2] == "-" { None } else { Some(r[2]) };
        assert_eq!(v.mnemonic(), mnemonic, "vector {}", v.0);
        assert_eq!(v.name(), Some(r[3]), "vector {}", v.0);
        assert_eq!(v.has_error_code(), r[4] == "yes", "vector {}", v.0);
        assert_eq!(v.is_reserved(), r[2] == "-", "vector {}", v.0);
        n += 1;
    }
    assert_eq!(n, 32);
    for v in 32..=255u8 {
        let v = ExceptionVector(v);
        assert_eq!(
            (v.name(), v.mnemonic(), v.has_error_code()),
            (None, None, false)
        );
    }
}

#[test]
fn interruption_type_rows_match() {
    let mut n = 0;
    for r in rows().filter(|r| r[0] == "INTERRUPTION_TYPE") {
        let bits: u8 = r[1].parse().unwrap();
        let ty = InterruptionType::from_bits(bits);
        assert_eq!(ty.bits(), bits);
        assert_eq!(format!("{ty:?}"), camel(r[2]), "type {bits}");
        // Types 4-6 always use the instruction length; type 7 only for its FRED vectors.
        let soft = r[3].contains("instruction length") && !r[3].starts_with("Other event");
        assert_eq!(ty.is_soft(), soft, "type {bits}");
        n += 1;
    }
    assert_eq!(n, 8);
}

/// The accessor for a named bit field of one of the three structures, as a function of
/// the raw value returning the field's value widened to u32.
fn field_getter(structure: &str, name: &str) -> Option<fn(u32) -> u32> {
    let f: fn(u32) -> u32 = match (structure, name) {
        (s, "VECTOR") if s.starts_with("VMENTRY") => {
            |x| EntryInterruptionInfo::from_raw(x).vector().0.into()
        }
        (s, "VECTOR") if s.starts_with("VMEXIT") => {
            |x| ExitInterruptionInfo::from_raw(x).vector().0.into()
        }
        (_, "VECTOR") => |x| IdtVectoringInfo::from_raw(x).vector().0.into(),
        (s, "INTERRUPTION_TYPE") if s.starts_with("VMENTRY") => |x| {
            EntryInterruptionInfo::from_raw(x)
                .interruption_type()
                .bits()
                .into()
        },
        (s, "INTERRUPTION_TYPE") if s.starts_with("VMEXIT") => |x| {
            ExitInterruptionInfo::from_raw(x)
                .interruption_type()
                .bits()
                .into()
        },
        (_, "INTERRUPTION_TYPE") => |x| {
            IdtVectoringInfo::from_raw(x)
                .interruption_type()
                .bits()
                .into()
        },
        (_, "DELIVER_ERROR_CODE") => |x| {
            EntryInterruptionInfo::from_raw(x)
                .deliver_error_code()
                .into()
        },
        (s, "ERROR_CODE_VALID") if s.starts_with("VMEXIT") => {
            |x| ExitInterruptionInfo::from_raw(x).error_code_valid().into()
        }
        (_, "ERROR_CODE_VALID") => |x| IdtVectoringInfo::from_raw(x).error_code_valid().into(),
        (_, "NMI_UNBLOCKING_DUE_TO_IRET") => |x| {
            ExitInterruptionInfo::from_raw(x)
                .nmi_unblocking_due_to_iret()
                .into()
        },
        (s, "NESTED_EXCEPTION") if s.starts_with("VMENTRY") => {
            |x| EntryInterruptionInfo::from_raw(x).nested_exception().into()
        }
        (s, "NESTED_EXCEPTION") if s.starts_with("VMEXIT") => {
            |x| ExitInterruptionInfo::from_raw(x).nested_exception().into()
        }
        (_, "NESTED_EXCEPTION") => |x| IdtVectoringInfo::from_raw(x).nested_exception().into(),
        (s, "VALID") if s.starts_with("VMENTRY") => {
            |x| EntryInterruptionInfo::from_raw(x).is_valid().into()
        }
        (s, "VALID") if s.starts_with("VMEXIT") => {
            |x| ExitInterruptionInfo::from_raw(x).is_valid().into()
        }
        (_, "VALID") => |x| IdtVectoringInfo::from_raw(x).is_valid().into(),
        (_, "RESERVED" | "UNDEFINED") => return None,
        other => panic!("unhandled row {other:?}"),
    };
    Some(f)
}

#[test]
fn structure_rows_match() {
    let structures = [
        "VMENTRY_INTERRUPTION_INFO",
        "VMEXIT_INTERRUPTION_INFO",
        "IDT_VECTORING_INFO",
    ];
    for s in structures {
        let mut covered = 0u32;
        for r in rows().filter(|r| r[0].starts_with(s)) {
            let m = mask(r[1]);
            assert_eq!(covered & m, 0, "{s} rows overlap at {}", r[1]);
            covered |= m;
            match field_getter(s, r[2]) {
                Some(get) => {
                    let lo = m.trailing_zeros();
                    assert_eq!(get(m), m >> lo, "{s}.{} all ones", r[2]);
                    assert_eq!(get(!m), 0, "{s}.{} all zeros", r[2]);
                }
                None if s.starts_with("VMENTRY") => {
                    // Reserved on entry: set alone (with the valid bit), VM entry refuses it.
                    let info = EntryInterruptionInfo::from_raw((1 << 31) | m);
                    assert_eq!(info.reserved_bits(), m);
                    assert!(matches!(
                        info.check(InjectionRules::LEGACY),
                        Err(E::ReservedBits { .. })
                    ));
                }
                None => {}
            }
        }
        assert_eq!(covered, u32::MAX, "{s} rows cover all bits");
    }
}

#[test]
fn constructors_build_what_the_sdm_allows() {
    let nmi = EntryInterruptionInfo::nmi();
    assert_eq!(nmi.raw(), 0x8000_0202);
    assert_eq!(nmi.check(InjectionRules::LEGACY), Ok(()));
    let gp = EntryInterruptionInfo::hardware_exception(ExceptionVector::GP).unwrap();
    assert_eq!(gp.raw(), 0x8000_0b0d);
    let ud = EntryInterruptionInfo::hardware_exception(ExceptionVector::UD).unwrap();
    assert_eq!(ud.raw(), 0x8000_0306);
    assert_eq!(
        EntryInterruptionInfo::external_interrupt(0x20).raw(),
        0x8000_0020
    );
    assert_eq!(
        EntryInterruptionInfo::software_interrupt(0x80).raw(),
        0x8000_0480
    );
    assert_eq!(
        EntryInterruptionInfo::privileged_software_exception(1).raw(),
        0x8000_0501
    );
    assert_eq!(
        EntryInterruptionInfo::software_exception(3).raw(),
        0x8000_0603
    );
    assert_eq!(EntryInterruptionInfo::pending_mtf().raw(), 0x8000_0700);
    assert!(!EntryInterruptionInfo::NONE.is_valid());
    for v in 0..=255u8 {
        for info in [
            EntryInterruptionInfo::external_interrupt(v),
            EntryInterruptionInfo::software_interrupt(v),
            EntryInterruptionInfo::privileged_software_exception(v),
            EntryInterruptionInfo::software_exception(v),
        ] {
            assert_eq!(info.check(InjectionRules::LEGACY), Ok(()));
        }
    }
    // Real-mode guest: #GP without error code.
    let real = InjectionRules {
        guest_protected_mode: false,
        ..InjectionRules::LEGACY
    };
    let gp = EntryInterruptionInfo::hardware_exception_with_rules(ExceptionVector::GP, real);
    assert!(!gp.unwrap().deliver_error_code());
    // #CP has an error code: only with IA32_VMX_BASIC[56].
    assert_eq!(
        EntryInterruptionInfo::hardware_exception(ExceptionVector::CP),
        Err(E::UnexpectedErrorCode { vector: 21 })
    );
    let cp = EntryInterruptionInfo::hardware_exception_with_rules(
        ExceptionVector::CP,
        InjectionRules::RELAXED_ERROR_CODE,
    );
    assert!(cp.unwrap().deliver_error_code());
}

#[test]
fn constructors_reject_each_forbidden_combination() {
    use InterruptionType as T;
    let legacy = InjectionRules::LEGACY;
    let relaxed = InjectionRules::RELAXED_ERROR_CODE;
    let cases: &[(T, u8, bool, InjectionRules, E)] = &[
        (T::Reserved, 0, false, legacy, E::ReservedType),
        (
            T::OtherEvent,
            0,
            false,
            InjectionRules {
                monitor_trap_flag: false,
                ..legacy
            },
            E::MonitorTrapFlagUnsupported,
        ),
        (T::Nmi, 3, false, legacy, E::NmiVector { vector: 3 }),
        (
            T::HardwareException,
            32,
            false,
            legacy,
            E::HardwareExceptionVector { vector: 32 },
        ),
        (
            T::OtherEvent,
            1,
            false,
            legacy,
            E::FredEventWithoutGuestFred { vector: 1 },
        ),
        (
            T::OtherEvent,
            3,
            false,
            InjectionRules {
                guest_fred: true,
                ..legacy
            },
            E::OtherEventVector { vector: 3 },
        ),
        (
            T::ExternalInterrupt,
            0x20,
            true,
            relaxed,
            E::ErrorCodeForNonException {
                ty: T::ExternalInterrupt,
            },
        ),
        (
            T::SoftwareException,
            3,
            true,
            relaxed,
            E::ErrorCodeForNonException {
                ty: T::SoftwareException,
            },
        ),
        (
            T::Nmi,
            2,
            true,
            legacy,
            E::ErrorCodeForNonException { ty: T::Nmi },
        ),
        (
            T::HardwareException,
            13,
            true,
            InjectionRules {
                guest_protected_mode: false,
                ..relaxed
            },
            E::ErrorCodeInRealMode,
        ),
        (
            T::HardwareException,
            6,
            true,
            legacy,
            E::UnexpectedErrorCode { vector: 6 },
        ),
        (
            T::HardwareException,
            21,
            true,
            legacy,
            E::UnexpectedErrorCode { vector: 21 },
        ),
        (
            T::HardwareException,
            14,
            false,
            legacy,
            E::MissingErrorCode { vector: 14 },
        ),
    ];
    for &(ty, vector, ec, rules, expected) in cases {
        assert_eq!(
            EntryInterruptionInfo::new_with_rules(ty, vector, ec, rules),
            Err(expected),
            "{ty:?} {vector} {ec} {rules:?}"
        );
    }
    // The same combinations the relaxed or FRED rules allow.
    let ok: &[(T, u8, bool, InjectionRules)] = &[
        (T::HardwareException, 6, true, relaxed),
        (T::HardwareException, 14, false, relaxed),
        (
            T::HardwareException,
            14,
            false,
            InjectionRules {
                guest_protected_mode: false,
                ..legacy
            },
        ),
        (T::OtherEvent, 0, false, legacy),
        (
            T::OtherEvent,
            1,
            false,
            InjectionRules {
                guest_fred: true,
                ..legacy
            },
        ),
        (
            T::OtherEvent,
            2,
            false,
            InjectionRules {
                guest_fred: true,
                ..legacy
            },
        ),
        (T::HardwareException, 31, false, legacy),
    ];
    for &(ty, vector, ec, rules) in ok {
        let info = EntryInterruptionInfo::new_with_rules(ty, vector, ec, rules).unwrap();
        assert_eq!(
            (
                info.interruption_type(),
                info.vector().0,
                info.deliver_error_code()
            ),
            (ty, vector, ec)
        );
    }
    // Nested exceptions.
    let gp = EntryInterruptionInfo::hardware_exception(ExceptionVector::GP).unwrap();
    assert_eq!(
        gp.with_nested_exception(legacy),
        Err(E::NestedExceptionUnsupported)
    );
    let nested = InjectionRules {
        nested_exception: true,
        ..legacy
    };
    assert!(gp.with_nested_exception(nested).unwrap().nested_exception());
    assert_eq!(
        EntryInterruptionInfo::nmi().with_nested_exception(nested),
        Err(E::NestedExceptionType { ty: T::Nmi })
    );
    // Companion fields.
    assert_eq!(
        gp.check_error_code(0x1_0000),
        Err(E::ErrorCodeTooWide {
            error_code: 0x1_0000
        })
    );
    assert_eq!(gp.check_error_code(0xfffc), Ok(0xfffc));
    let int = EntryInterruptionInfo::software_interrupt(0x80);
    assert_eq!(
        int.check_instruction_length(0, false),
        Err(E::InstructionLength { length: 0 })
    );
    assert_eq!(
        int.check_instruction_length(16, true),
        Err(E::InstructionLength { length: 16 })
    );
    assert_eq!(int.check_instruction_length(0, true), Ok(()));
    assert_eq!(int.check_instruction_length(2, false), Ok(()));
    assert_eq!(gp.check_instruction_length(0, false), Ok(()));
    // Every error has a message.
    for &(_, _, _, _, e) in cases {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn reinjection() {
    // #PF with error code during delivery, undefined bit 12 set.
    let idt = IdtVectoringInfo::from_raw(0x8000_1b0e);
    let entry = idt.to_reinjection().unwrap();
    assert_eq!(entry.raw(), 0x8000_0b0e);
    assert_eq!(entry.check(InjectionRules::LEGACY), Ok(()));
    assert_eq!(
        IdtVectoringInfo::from_raw(0x0000_0b0e).to_reinjection(),
        None
    );
    assert_eq!(
        IdtVectoringInfo::from_raw(0x8000_0100).to_reinjection(),
        None
    );
    assert_eq!(
        IdtVectoringInfo::from_raw(0x8000_0700).to_reinjection(),
        None
    );
    let soft = IdtVectoringInfo::from_raw(0x8000_0480)
        .to_reinjection()
        .unwrap();
    assert!(soft.uses_instruction_length());
}

#[test]
fn error_code_predicate() {
    for ty in 0..8u8 {
        let ty = InterruptionType::from_bits(ty);
        for v in 0..=255u8 {
            let v = ExceptionVector(v);
            assert_eq!(
                vector_has_error_code(ty, v),
                ty == InterruptionType::HardwareException
                    && [8, 10, 11, 12, 13, 14, 17, 21].contains(&v.0)
            );
        }
    }
    assert_eq!(
        InterruptionType::from_vector(ExceptionVector::BP),
        InterruptionType::SoftwareException
    );
    assert_eq!(
        InterruptionType::from_vector(ExceptionVector::NMI),
        InterruptionType::Nmi
    );
    assert_eq!(
        InterruptionType::from_vector(ExceptionVector::PF),
        InterruptionType::HardwareException
    );
    assert_eq!(
        InterruptionType::from_vector(ExceptionVector(0x30)),
        InterruptionType::ExternalInterrupt
    );
}

fn any_rules() -> impl Strategy<Value = InjectionRules> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                error_code_relaxed,
                guest_protected_mode,
                monitor_trap_flag,
                guest_fred,
                nested_exception,
            )| {
                InjectionRules {
                    error_code_relaxed,
                    guest_protected_mode,
                    monitor_trap_flag,
                    guest_fred,
                    nested_exception,
                }
            },
        )
}

proptest! {
    #[test]
    fn decoders_are_total(raw in any::<u32>(), rules in any_rules()) {
        let entry = EntryInterruptionInfo::from_raw(raw);
        prop_assert_eq!(entry.raw(), raw);
        let _ = entry.check(rules);
        let _ = entry.check_error_code(raw);
        let _ = entry.check_instruction_length(raw, rules.guest_fred);
        let exit = ExitInterruptionInfo::from_raw(raw);
        prop_assert_eq!(exit.raw(), raw);
        let _ = format!("{exit:?}");
        let idt = IdtVectoringInfo::from_raw(raw);
        prop_assert_eq!(idt.raw(), raw);
        let _ = format!("{idt:?}");
        // The decoded fields rebuild the defined bits.
        let rebuilt = u32::from(exit.vector().0)
            | (u32::from(exit.interruption_type().bits()) << 8)
            | (u32::from(exit.error_code_valid()) << 11)
            | (u32::from(exit.nmi_unblocking_due_to_iret()) << 12)
            | (u32::from(exit.nested_exception()) << 13)
            | (u32::from(exit.is_valid()) << 31);
        prop_assert_eq!(rebuilt, raw & 0x8000_3fff);
        if let Some(re) = idt.to_reinjection() {
            prop_assert_eq!(re.raw(), raw & 0x8000_2fff);
            prop_assert_eq!(re.vector(), idt.vector());
            prop_assert_eq!(re.interruption_type(), idt.interruption_type());
            prop_assert_eq!(re.deliver_error_code(), idt.error_code_valid());
        }
    }

    #[test]
    fn constructors_agree_with_check(ty in 0u8..8, vector in any::<u8>(), ec in any::<bool>(), rules in any_rules()) {
        let ty = InterruptionType::from_bits(ty);
        match EntryInterruptionInfo::new_with_rules(ty, vector, ec, rules) {
            Ok(info) => {
                prop_assert_eq!(info.check(rules), Ok(()));
                prop_assert!(info.is_valid());
                prop_assert_eq!(info.interruption_type(), ty);
                prop_assert_eq!(info.vector().0, vector);
                prop_assert_eq!(info.deliver_error_code(), ec);
                prop_assert_eq!(info.reserved_bits(), 0);
            }
            Err(e) => {
                let raw = (1 << 31) | (u32::from(ty.bits()) << 8) | u32::from(vector) | (u32::from(ec) << 11);
                prop_assert_eq!(EntryInterruptionInfo::from_raw(raw).check(rules), Err(e));
            }
        }
    }

    #[test]
    fn hardware_exception_constructor(vector in any::<u8>(), rules in any_rules()) {
        let v = ExceptionVector(vector);
        match EntryInterruptionInfo::hardware_exception_with_rules(v, rules) {
            Ok(info) => {
                prop_assert!(vector <= 31);
                prop_assert_eq!(info.deliver_error_code(), v.has_error_code() && rules.guest_protected_mode);
            }
            Err(E::HardwareExceptionVector { .. }) => prop_assert!(vector > 31),
            Err(E::UnexpectedErrorCode { vector: 21 }) => prop_assert!(!rules.error_code_relaxed),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }
}

/// FRED (SDM Vol. 3C §27.2.1.3, §27.6): type 7 vectors 1 and 2 need the guest's FRED state
/// (IA-32e mode guest, CR4.FRED = 1), not the processor's support; vector 0 needs MTF.
#[test]
fn fred_other_events_follow_the_guest_state() {
    let no_fred = InjectionRules::LEGACY;
    let fred = InjectionRules {
        guest_fred: InjectionRules::guest_fred_enabled(true, 1 << 32),
        ..no_fred
    };
    assert!(fred.guest_fred);
    assert!(!InjectionRules::guest_fred_enabled(false, 1 << 32));
    assert!(!InjectionRules::guest_fred_enabled(true, !(1 << 32)));
    let syscall = EntryInterruptionInfo::fred_syscall();
    let sysenter = EntryInterruptionInfo::fred_sysenter();
    assert_eq!(syscall.raw(), 0x8000_0701);
    assert_eq!(sysenter.raw(), 0x8000_0702);
    for (info, vector) in [(syscall, 1), (sysenter, 2)] {
        assert_eq!(info.check(fred), Ok(()));
        assert_eq!(
            info.check(no_fred),
            Err(E::FredEventWithoutGuestFred { vector })
        );
        // Without the monitor trap flag the FRED vectors are still allowed.
        let no_mtf = InjectionRules {
            monitor_trap_flag: false,
            ..fred
        };
        assert_eq!(info.check(no_mtf), Ok(()));
        assert!(info.uses_instruction_length());
        assert!(info.is_fred_instruction_event());
        // At most 15; 0 allowed whatever IA32_VMX_MISC[30] says.
        for len in 0..=15 {
            assert_eq!(info.check_instruction_length(len, false), Ok(()));
        }
        assert_eq!(
            info.check_instruction_length(16, true),
            Err(E::FredInstructionLength { length: 16 })
        );
    }
    // Vector 0 is MTF: needs the control, not FRED; no instruction length.
    let mtf = EntryInterruptionInfo::pending_mtf();
    assert_eq!(mtf.check(no_fred), Ok(()));
    assert_eq!(
        mtf.check(InjectionRules {
            monitor_trap_flag: false,
            ..fred
        }),
        Err(E::MonitorTrapFlagUnsupported)
    );
    assert!(!mtf.uses_instruction_length());
    assert_eq!(mtf.check_instruction_length(99, false), Ok(()));
    // Vector 3 and above: never.
    let three = EntryInterruptionInfo::from_parts(InterruptionType::OtherEvent, 3, false);
    assert_eq!(three.check(fred), Err(E::OtherEventVector { vector: 3 }));
    // Errors display the rule.
    assert!(
        E::FredEventWithoutGuestFred { vector: 1 }
            .to_string()
            .contains("CR4.FRED")
    );
    assert!(
        E::FredInstructionLength { length: 16 }
            .to_string()
            .contains("more than 15")
    );
}

/// IDT-vectoring information of type 7 (a VM exit during FRED delivery of SYSCALL or
/// SYSENTER; SDM Vol. 3C §28.2.4) re-injects as the same other event.
#[test]
fn idt_vectoring_fred_events_reinject() {
    for vector in [1u32, 2] {
        let idt = IdtVectoringInfo::from_raw(0x8000_0700 | vector);
        let re = idt.to_reinjection().expect("FRED event re-injects");
        assert_eq!(re.raw(), 0x8000_0700 | vector);
        assert!(re.uses_instruction_length());
    }
    assert_eq!(
        IdtVectoringInfo::from_raw(0x8000_0700).to_reinjection(),
        None
    );
    assert_eq!(
        IdtVectoringInfo::from_raw(0x8000_0703).to_reinjection(),
        None
    );
    assert_eq!(
        IdtVectoringInfo::from_raw(0x8000_0100).to_reinjection(),
        None
    );
}

proptest! {
    /// `check` on any other event (type 7) agrees with a direct model of §27.2.1.3.
    #[test]
    fn other_event_check_matches_model(vector in any::<u8>(), rules in any_rules(), len in any::<u32>(), zero in any::<bool>()) {
        let info = EntryInterruptionInfo::from_parts(InterruptionType::OtherEvent, vector, false);
        let model_ok = match vector {
            0 => rules.monitor_trap_flag,
            1 | 2 => rules.guest_fred,
            _ => false,
        };
        prop_assert_eq!(info.check(rules).is_ok(), model_ok);
        let len_ok = !matches!(vector, 1 | 2) || len <= 15;
        prop_assert_eq!(info.check_instruction_length(len, zero).is_ok(), len_ok);
    }
}
