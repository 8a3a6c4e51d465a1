//! Guest start states and XCR0 rules (SDM Vol. 3C §25.4, §27.3.1; Vol. 1 §13.3).

mod common;

use proptest::prelude::*;
use vmx_vcpu::guest::*;
use vmx_vcpu::xstate::check_xcr0;

#[test]
fn real_mode_state() {
    let g = GuestState::real_mode(0x0800, 0x10, 0x0700, 0xFFFE);
    assert_eq!(g.cs.base, 0x8000);
    assert_eq!(g.ss.base, 0x7000);
    assert_eq!(g.cs.limit, 0xFFFF);
    assert_eq!(g.rip, 0x10);
    assert!(g.needs_unrestricted_guest());
    assert!(!g.is_long_mode());
    assert_eq!(g.rflags & 2, 2);
    // CS must be an accessed code segment, SS an accessed read/write data segment.
    assert!(g.cs.access_rights.is_code());
    assert!(!g.ss.access_rights.is_code());
    assert!(!g.tr.access_rights.is_unusable());
}

#[test]
fn long_mode_state() {
    let g = common::long_guest();
    assert!(g.is_long_mode());
    assert!(!g.needs_unrestricted_guest());
    assert!(g.cs.access_rights.long_mode());
    assert_eq!(g.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
    assert_eq!(g.cr4 & CR4_PAE, CR4_PAE);
    assert_eq!(g.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
    assert!(g.ldtr.access_rights.is_unusable());
    assert_eq!(g.tr.base, 0x4000);
}

#[test]
fn protected_mode_state() {
    let g = GuestState::protected_mode(0x8000, 0x7000);
    assert_eq!(g.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    assert!(g.needs_unrestricted_guest());
    assert!(!g.is_long_mode());
    assert!(g.cs.access_rights.default_big());
    assert!(!g.cs.access_rights.long_mode());
    assert_eq!((g.rip, g.rsp), (0x8000, 0x7000));
}

#[test]
fn xcr0_rules() {
    let all = 0x2FF; // x87, SSE, AVX, BNDREGS/BNDCSR, AVX-512 (3), PKRU
    assert!(check_xcr0(1, all).is_ok());
    assert!(check_xcr0(0b11, all).is_ok());
    assert!(check_xcr0(0b111, all).is_ok());
    assert!(check_xcr0(0b1110_0111, all).is_ok());
    assert!(check_xcr0(0, all).is_err(), "x87 must be set");
    assert!(check_xcr0(0b101, all).is_err(), "AVX without SSE");
    assert!(check_xcr0(0b0110_0111, all).is_err(), "partial AVX-512");
    assert!(check_xcr0(0b1110_0011, all).is_err(), "AVX-512 without AVX");
    assert!(check_xcr0(0b111, 0b11).is_err(), "unsupported component");
    assert!(check_xcr0(1 | (3 << 17), u64::MAX).is_ok());
    assert!(
        check_xcr0(1 | (1 << 17), u64::MAX).is_err(),
        "AMX halves together"
    );
}

proptest! {
    #[test]
    fn xcr0_accepted_values_follow_the_rules(v in any::<u64>(), supported in any::<u64>()) {
        if check_xcr0(v, supported).is_ok() {
            prop_assert_eq!(v & !supported, 0);
            prop_assert_eq!(v & 1, 1);
            prop_assert!(v & 4 == 0 || v & 2 != 0);
        }
    }

    #[test]
    fn real_mode_bases_follow_selectors(cs in any::<u16>(), ss in any::<u16>(), ip in any::<u16>(), sp in any::<u16>()) {
        let g = GuestState::real_mode(cs, ip, ss, sp);
        prop_assert_eq!(g.cs.base, u64::from(cs) << 4);
        prop_assert_eq!(g.ss.base, u64::from(ss) << 4);
        prop_assert_eq!(g.rsp, u64::from(sp));
    }
}

#[test]
fn xcr0_mpx_bits_go_together() {
    // XCR0 bits 3 and 4 (MPX BNDREGS, BNDCSR) must be set together (SDM Vol. 1 §13.3): a
    // value with only one would make the host's XSETBV in the entry path raise #GP.
    let supported = 0b1_1111;
    assert!(check_xcr0(0b1011, supported).is_err());
    assert!(check_xcr0(0b1_0011, supported).is_err());
    assert!(check_xcr0(0b1_1011, supported).is_ok());
}
