//! The register effects of completing an emulated access, and the ALU flags against a
//! wider-arithmetic model.

extern crate std;

use proptest::prelude::*;

use super::super::access::*;
use super::super::alu::*;
use super::super::complete::*;
use super::super::decode::{Bitness, decode};
use crate::regs::Gpr;

fn access(bytes: &[u8]) -> MmioAccess {
    decode(bytes, Bitness::Bits64).unwrap()
}

fn regs() -> MmioRegisters {
    let mut r = MmioRegisters::default();
    for (i, g) in r.gprs.iter_mut().enumerate() {
        *g = 0x1111_1111_1111_1111u64.wrapping_mul(i as u64 + 1);
    }
    r
}

#[test]
fn loads_merge_zero_and_sign_extend() {
    let mut r = regs();
    // mov ebp, [rax]: 32-bit write clears bits 63:32.
    let done = complete_read(&access(&[0x8B, 0x28]), &mut r, 0xFFFF_FFFF_8765_4321).unwrap();
    assert_eq!(
        done,
        Completed {
            write_back: None,
            advance_rip: true
        }
    );
    assert_eq!(r.get(Gpr::Rbp), 0x8765_4321);
    // mov ah, [rax]: bits 15:8 only.
    complete_read(&access(&[0x8A, 0x20]), &mut r, 0xAB).unwrap();
    assert_eq!(r.get(Gpr::Rax), 0x1111_1111_1111_AB11);
    // mov cx, [rax]: 16-bit merge.
    complete_read(&access(&[0x66, 0x8B, 0x08]), &mut r, 0x1_BEEF).unwrap();
    assert_eq!(r.get(Gpr::Rcx), 0x2222_2222_2222_BEEF);
    // movsx rcx, word [rax]; movzx ecx, byte [rax]; movsx cx, byte [rax].
    complete_read(&access(&[0x48, 0x0F, 0xBF, 0x08]), &mut r, 0x8000).unwrap();
    assert_eq!(r.get(Gpr::Rcx), 0xFFFF_FFFF_FFFF_8000);
    complete_read(&access(&[0x0F, 0xB6, 0x08]), &mut r, 0xFF).unwrap();
    assert_eq!(r.get(Gpr::Rcx), 0xFF);
    r.gprs[1] = u64::MAX << 16;
    complete_read(&access(&[0x66, 0x0F, 0xBE, 0x08]), &mut r, 0x80).unwrap();
    assert_eq!(r.get(Gpr::Rcx), (u64::MAX << 16) | 0xFF80);
    // A store is not completed by a read.
    let before = r;
    assert_eq!(complete_read(&access(&[0x89, 0x08]), &mut r, 0), None);
    assert_eq!(r, before);
}

#[test]
fn stores_and_write_values() {
    let r = regs();
    assert_eq!(write_value(&access(&[0x89, 0x08]), &r), Some(0x2222_2222));
    assert_eq!(write_value(&access(&[0x88, 0x30]), &r), Some(0x33)); // mov [rax], dh (RDX = 0x3333...)
    assert_eq!(write_value(&access(&[0xC6, 0x00, 0x7F]), &r), Some(0x7F));
    assert_eq!(
        write_value(&access(&[0x48, 0xC7, 0x00, 0x00, 0x00, 0x00, 0x80]), &r),
        Some(0xFFFF_FFFF_8000_0000)
    );
    assert_eq!(write_value(&access(&[0x8B, 0x08]), &r), None);
    let mut w = r;
    assert_eq!(
        complete_write(&access(&[0x89, 0x08]), &mut w),
        Some(Completed {
            write_back: None,
            advance_rip: true
        })
    );
    assert_eq!(w, r);
    assert_eq!(complete_write(&access(&[0x01, 0x08]), &mut w), None);
}

#[test]
fn read_modify_write_and_xchg() {
    let mut r = regs();
    r.gprs[1] = 0xF0;
    // and [rax], ecx with memory 0x3C: writes 0x30, flags PF (two bits), no ZF/SF/CF.
    let done = complete_read(&access(&[0x21, 0x08]), &mut r, 0x3C).unwrap();
    assert_eq!(done.write_back, Some(0x30));
    assert_eq!(r.rflags & STATUS_FLAGS, PF);
    // cmp ecx, [rax] with memory 0xF1: borrow, sign; ecx unchanged.
    let done = complete_read(&access(&[0x3B, 0x08]), &mut r, 0xF1).unwrap();
    assert_eq!(done.write_back, None);
    assert_eq!(r.get(Gpr::Rcx), 0xF0);
    assert_eq!(r.rflags & (CF | SF | ZF), CF | SF);
    // sub ecx, [rax]: writes ecx.
    complete_read(&access(&[0x2B, 0x08]), &mut r, 0x10).unwrap();
    assert_eq!(r.get(Gpr::Rcx), 0xE0);
    // xchg [rax], ecx.
    let done = complete_read(&access(&[0x87, 0x08]), &mut r, 0x1234).unwrap();
    assert_eq!((done.write_back, r.get(Gpr::Rcx)), (Some(0xE0), 0x1234));
    // Non-status flags are kept.
    r.rflags = 0x202 | CF;
    complete_read(&access(&[0x83, 0x08, 0x00]), &mut r, 0).unwrap();
    assert_eq!(r.rflags, 0x202 | ZF | PF);
}

#[test]
fn string_iterations() {
    let mut r = regs();
    r.gprs[Gpr::Rdi as usize] = 0x1000;
    r.gprs[Gpr::Rcx as usize] = 2;
    let stos = access(&[0xF3, 0x48, 0xAB]);
    assert_eq!(write_value(&stos, &r), Some(r.get(Gpr::Rax)));
    assert!(!complete_write(&stos, &mut r).unwrap().advance_rip);
    assert_eq!((r.get(Gpr::Rdi), r.get(Gpr::Rcx)), (0x1008, 1));
    assert!(complete_write(&stos, &mut r).unwrap().advance_rip);
    assert_eq!((r.get(Gpr::Rdi), r.get(Gpr::Rcx)), (0x1010, 0));
    // Count 0: nothing moves.
    assert!(complete_write(&stos, &mut r).unwrap().advance_rip);
    assert_eq!(r.get(Gpr::Rdi), 0x1010);
    // movsb with DF = 1 and 16-bit addresses: SI and DI wrap in their low 16 bits.
    let mut r = regs();
    r.rflags = DF;
    r.gprs[Gpr::Rsi as usize] = 0xAAAA_0000;
    r.gprs[Gpr::Rdi as usize] = 0xBBBB_0005;
    let movsb = decode(&[0xA4], Bitness::Bits16).unwrap();
    let done = complete_read(&movsb, &mut r, 0x1_77).unwrap();
    assert_eq!(
        done,
        Completed {
            write_back: Some(0x77),
            advance_rip: true
        }
    );
    assert_eq!(
        (r.get(Gpr::Rsi), r.get(Gpr::Rdi)),
        (0xAAAA_FFFF, 0xBBBB_0004)
    );
    // 32-bit addresses zero-extend.
    let mut r = regs();
    r.gprs[Gpr::Rdi as usize] = 0x1_FFFF_FFFF;
    complete_write(&access(&[0x67, 0xAA]), &mut r).unwrap();
    assert_eq!(r.get(Gpr::Rdi), 0);
}

proptest! {
    #[test]
    fn alu_flags_match_wide_arithmetic(a in any::<u64>(), b in any::<u64>(), w in prop::sample::select(std::vec![1u8, 2, 4, 8])) {
        let bits = 8 * u32::from(w);
        let mask = width_mask(w) as u128;
        let (ua, ub) = (a as u128 & mask, b as u128 & mask);
        let signed = |x: u128| -> i128 { ((x << (128 - bits)) as i128) >> (128 - bits) };
        let in_range = |x: i128| x >= -(1i128 << (bits - 1)) && x < (1i128 << (bits - 1));
        let add = compute(AluOp::Add, a, b, w);
        prop_assert_eq!(u128::from(add.value), (ua + ub) & mask);
        prop_assert_eq!(add.flags & CF != 0, ua + ub > mask);
        prop_assert_eq!(add.flags & OF != 0, !in_range(signed(ua) + signed(ub)));
        prop_assert_eq!(add.flags & AF != 0, (ua & 0xF) + (ub & 0xF) > 0xF);
        let sub = compute(AluOp::Sub, a, b, w);
        prop_assert_eq!(sub, compute(AluOp::Cmp, a, b, w));
        prop_assert_eq!(u128::from(sub.value), ua.wrapping_sub(ub) & mask);
        prop_assert_eq!(sub.flags & CF != 0, ua < ub);
        prop_assert_eq!(sub.flags & OF != 0, !in_range(signed(ua) - signed(ub)));
        prop_assert_eq!(sub.flags & AF != 0, (ua & 0xF) < (ub & 0xF));
        for (op, r) in [(AluOp::And, ua & ub), (AluOp::Or, ua | ub), (AluOp::Xor, ua ^ ub), (AluOp::Test, ua & ub)] {
            let got = compute(op, a, b, w);
            prop_assert_eq!(u128::from(got.value), r);
            prop_assert_eq!(got.flags & (CF | OF | AF), 0);
        }
        for got in [add, sub] {
            let v = u128::from(got.value);
            prop_assert_eq!(got.flags & ZF != 0, v == 0);
            prop_assert_eq!(got.flags & SF != 0, v >> (bits - 1) & 1 == 1);
            prop_assert_eq!(got.flags & PF != 0, (v & 0xFF).count_ones() % 2 == 0);
        }
    }

    #[test]
    fn completion_is_total_and_keeps_other_registers(
        bytes in prop::collection::vec(any::<u8>(), 1..16), gprs in any::<[u64; 16]>(),
        rflags in any::<u64>(), value in any::<u64>(),
    ) {
        if let Ok(a) = decode(&bytes, Bitness::Bits64) {
            let before = MmioRegisters { gprs, rflags };
            let mut r = before;
            let read = complete_read(&a, &mut r, value);
            prop_assert_eq!(read.is_some(), a.reads());
            let changed = (0..16).filter(|&i| r.gprs[i] != before.gprs[i]).count();
            prop_assert!(changed <= 3);
            prop_assert_eq!(r.rflags & !STATUS_FLAGS, rflags & !STATUS_FLAGS);
            let mut w = before;
            let wrote = complete_write(&a, &mut w);
            prop_assert_eq!(wrote.is_some(), !a.reads() || matches!(a.operation, MmioOperation::Movs { .. }));
            if let Some(v) = write_value(&a, &before) {
                prop_assert_eq!(v & !a.width_mask(), 0);
            }
        }
    }
}
