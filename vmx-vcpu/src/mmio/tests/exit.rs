//! Which exits an MMIO completion follows: EPT violations, and APIC-access exits by an
//! instruction's linear data read or write only.

use proptest::prelude::*;
use vmx_defs::exit_reason::ExitReason;
use vmx_defs::qualification::ApicAccessType;

use super::super::exit::{MmioExit, MmioExitRefusal};

const EPT_VIOLATION: u32 = 48;
const APIC_ACCESS: u32 = 44;
const ENTRY_FAILURE: u32 = 1 << 31;

#[test]
fn ept_violation_whatever_the_qualification() {
    for q in [0, 1, 2, 0x3F, u64::MAX] {
        assert_eq!(
            MmioExit::from_exit(ExitReason(EPT_VIOLATION), q),
            Ok(MmioExit::EptViolation)
        );
    }
    assert!(MmioExit::reason_may_complete(ExitReason(EPT_VIOLATION)));
}

#[test]
fn apic_access_linear_read_and_write_carry_offset_and_direction() {
    // Access type 0 (read) at offset 0x300 (ICR low); type 1 (write) at 0xB0 (EOI).
    assert_eq!(
        MmioExit::from_exit(ExitReason(APIC_ACCESS), 0x0300),
        Ok(MmioExit::ApicAccess {
            offset: 0x300,
            write: false
        })
    );
    assert_eq!(
        MmioExit::from_exit(ExitReason(APIC_ACCESS), 0x10B0),
        Ok(MmioExit::ApicAccess {
            offset: 0xB0,
            write: true
        })
    );
    assert!(MmioExit::reason_may_complete(ExitReason(APIC_ACCESS)));
}

#[test]
fn apic_access_other_types_are_refused() {
    // 2: linear fetch, 3: linear during event delivery, 10: guest-physical during event
    // delivery, 15: guest-physical for a fetch or during execution (Table 28-6).
    for (ty, expected) in [
        (2u64, ApicAccessType::LinearFetch),
        (3, ApicAccessType::LinearEventDelivery),
    ] {
        assert_eq!(
            MmioExit::from_exit(ExitReason(APIC_ACCESS), (ty << 12) | 0x80),
            Err(MmioExitRefusal::NotAnInstructionAccess(expected))
        );
    }
    for ty in [10u64, 15] {
        assert!(matches!(
            MmioExit::from_exit(ExitReason(APIC_ACCESS), ty << 12),
            Err(MmioExitRefusal::NotAnInstructionAccess(_))
        ));
    }
    // Bit 16: asynchronous to instruction execution.
    assert_eq!(
        MmioExit::from_exit(ExitReason(APIC_ACCESS), (1 << 16) | 0x1000),
        Err(MmioExitRefusal::Asynchronous)
    );
}

#[test]
fn other_exits_and_entry_failures_are_refused() {
    for reason in [
        0,
        10,
        12,
        30,
        31,
        49,
        56,
        ENTRY_FAILURE | EPT_VIOLATION,
        ENTRY_FAILURE | APIC_ACCESS,
    ] {
        assert_eq!(
            MmioExit::from_exit(ExitReason(reason), 0),
            Err(MmioExitRefusal::OtherExit),
            "reason {reason:#x}"
        );
        assert!(!MmioExit::reason_may_complete(ExitReason(reason)));
    }
}

proptest! {
    #[test]
    fn total_and_consistent(reason in any::<u32>(), q in any::<u64>()) {
        let r = MmioExit::from_exit(ExitReason(reason), q);
        if r.is_ok() {
            prop_assert!(MmioExit::reason_may_complete(ExitReason(reason)));
        }
        if !MmioExit::reason_may_complete(ExitReason(reason)) {
            prop_assert_eq!(r, Err(MmioExitRefusal::OtherExit));
        }
        if let Ok(MmioExit::ApicAccess { offset, write }) = r {
            prop_assert_eq!(u64::from(offset), q & 0xFFF);
            prop_assert_eq!(write, (q >> 12) & 0xF == 1);
        }
    }
}
