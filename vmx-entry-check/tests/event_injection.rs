//! The deliver-error-code rule of event injection (SDM Vol. 3C §27.2.1.3) under both values
//! of IA32_VMX_BASIC\[56\] (Vol. 3D §A.1). Bit 56 = 1 lifts only the vector's part of the
//! rule for hardware exceptions in a protected-mode guest: an error code for a
//! non-exception event (NMI, external or software interrupt) and an error code in a
//! real-mode unrestricted guest (CR0.PE = 0) still fail with VMfailValid(7).

mod common;

use proptest::prelude::*;
use vmx_defs::capabilities::VmxCapabilities;
use vmx_defs::vmcs::fields as f;
use vmx_entry_check::{CheckId as C, Outcome, VmcsSnapshot, check};

/// The `corei7_skylake_x` model with IA32_VMX_BASIC\[56\] set to `bit56`.
fn caps(bit56: bool) -> VmxCapabilities {
    let (_, caps) = common::models()
        .into_iter()
        .find(|(n, _)| n == "corei7_skylake_x")
        .expect("model in test data");
    assert!(common::has_unrestricted(&caps));
    let mut raw = *caps.raw();
    raw.basic = (raw.basic & !(1 << 56)) | u64::from(bit56) << 56;
    let caps = VmxCapabilities::from_raw(raw);
    assert_eq!(caps.basic().no_hw_error_code_check(), bit56);
    caps
}

/// `s` injecting `info` (with error code 0 and instruction length 1).
fn inject(mut s: VmcsSnapshot, info: u32) -> VmcsSnapshot {
    s.set(f::CTRL_VMENTRY_INTERRUPTION_INFO, u64::from(info));
    s.set(f::CTRL_VMENTRY_EXCEPTION_ERROR_CODE, 0);
    s.set(f::CTRL_VMENTRY_INSTRUCTION_LENGTH, 1);
    // An external interrupt needs RFLAGS.IF = 1 (§27.3.1.4): not the rule under test.
    s.set(f::GUEST_RFLAGS, 0x202);
    s
}

/// Whether the checker refuses `info` for the error-code rule, and if so, that the
/// outcome is VMfailValid(7); if not, that the whole entry passes.
fn refused(caps: VmxCapabilities, real_mode: bool, info: u32) -> bool {
    let base = if real_mode {
        common::baseline_real_mode(&caps)
    } else {
        common::baseline_64(&caps)
    };
    let d = check(&inject(base, info), &common::ctx(caps));
    if d.failed(C::EventInjectionErrorCode) {
        assert_eq!(d.outcome(), Some(Outcome::VmFailValid(7)), "{info:#x}\n{d}");
        true
    } else {
        assert!(d.passed(), "{info:#x}\n{d}");
        false
    }
}

const VALID: u32 = 1 << 31;
const ERROR_CODE: u32 = 1 << 11;
const EXTERNAL: u32 = 0 << 8;
const NMI: u32 = 2 << 8;
const HARDWARE: u32 = 3 << 8;
const SOFTWARE_INT: u32 = 4 << 8;
const SOFTWARE_EXC: u32 = 6 << 8;

/// Vectors of exceptions that push an error code, for the bit-56 = 0 rule (§27.2.1.3).
const WITH_CODE: [u32; 7] = [8, 10, 11, 12, 13, 14, 17];

#[test]
fn protected_mode_hardware_exceptions_follow_bit_56() {
    for bit56 in [false, true] {
        let c = caps(bit56);
        for vector in 0..32u32 {
            if vector == 2 {
                continue; // vector 2 as a hardware exception: a vector check, not this one
            }
            let pushes = WITH_CODE.contains(&vector);
            let with = VALID | HARDWARE | ERROR_CODE | vector;
            let without = VALID | HARDWARE | vector;
            // Bit 56 = 0: the bit must match the vector; bit 56 = 1: either is accepted.
            assert_eq!(
                refused(c, false, with),
                !bit56 && !pushes,
                "{with:#x} bit56={bit56}"
            );
            assert_eq!(
                refused(c, false, without),
                !bit56 && pushes,
                "{without:#x} bit56={bit56}"
            );
        }
    }
}

#[test]
fn control_protection_needs_bit_56_for_its_error_code() {
    // #CP (21) pushes an error code but is not in the §27.2.1.3 list: with bit 56 = 0 it
    // is injected without one; bit 56 = 1 allows it with one.
    let cp = VALID | HARDWARE | 21;
    assert!(refused(caps(false), false, cp | ERROR_CODE));
    assert!(!refused(caps(false), false, cp));
    assert!(!refused(caps(true), false, cp | ERROR_CODE));
    assert!(!refused(caps(true), false, cp));
}

#[test]
fn non_exception_events_never_deliver_an_error_code() {
    for bit56 in [false, true] {
        let c = caps(bit56);
        for info in [
            VALID | NMI | 2,
            VALID | EXTERNAL | 0x20,
            VALID | SOFTWARE_INT | 0x80,
            VALID | SOFTWARE_EXC | 3,
        ] {
            assert!(!refused(c, false, info), "{info:#x} bit56={bit56}");
            assert!(
                refused(c, false, info | ERROR_CODE),
                "{info:#x} bit56={bit56}"
            );
        }
    }
}

#[test]
fn real_mode_guest_never_delivers_an_error_code() {
    for bit56 in [false, true] {
        let c = caps(bit56);
        for vector in [6, 8, 13, 14, 21] {
            let info = VALID | HARDWARE | vector;
            assert!(!refused(c, true, info), "{info:#x} bit56={bit56}");
            assert!(
                refused(c, true, info | ERROR_CODE),
                "{info:#x} bit56={bit56}"
            );
        }
        assert!(refused(c, true, VALID | NMI | ERROR_CODE | 2));
    }
}

#[test]
fn error_code_width_is_checked_under_bit_56() {
    // Bit 56 lifts the vector rule only: a delivered error code still has bits 31:16 clear.
    let s = inject(
        common::baseline_64(&caps(true)),
        VALID | HARDWARE | ERROR_CODE | 6,
    );
    let mut wide = s.clone();
    wide.set(f::CTRL_VMENTRY_EXCEPTION_ERROR_CODE, 0x1_0000);
    let ctx = common::ctx(caps(true));
    assert!(check(&s, &ctx).passed(), "{}", check(&s, &ctx));
    let d = check(&wide, &ctx);
    assert!(d.failed(C::EventInjectionErrorCodeWidth), "{d}");
    assert!(!d.failed(C::EventInjectionErrorCode), "{d}");
}

proptest! {
    /// Any hardware exception into a protected-mode guest passes the error-code rule with
    /// bit 56 = 1, and any event into a real-mode guest with the bit set fails it, whatever
    /// bit 56 says.
    #[test]
    fn bit_56_scope(vector in 0u32..32, code in any::<bool>(), bit56 in any::<bool>()) {
        prop_assume!(vector != 2);
        let info = VALID | HARDWARE | vector | if code { ERROR_CODE } else { 0 };
        let s = inject(common::baseline_64(&caps(true)), info);
        let d = check(&s, &common::ctx(caps(true)));
        prop_assert!(!d.failed(C::EventInjectionErrorCode), "{}", d);
        let r = inject(common::baseline_real_mode(&caps(bit56)), info);
        let d = check(&r, &common::ctx(caps(bit56)));
        prop_assert_eq!(d.failed(C::EventInjectionErrorCode), code);
    }
}
