//! The decoder on each supported form (bytes assembled by hand from SDM Vol. 2), fetching
//! across a page boundary, totality on arbitrary bytes.

extern crate std;

use proptest::prelude::*;

use super::super::access::*;
use super::super::decode::*;
use super::super::walk::*;
use super::Memory;
use crate::regs::Gpr;

const B64: Bitness = Bitness::Bits64;

fn reg(gpr: Gpr, part: RegisterPart) -> RegisterOperand {
    RegisterOperand { gpr, part }
}

fn op(bytes: &[u8], bitness: Bitness) -> (u8, u8, MmioOperation) {
    let a = decode(bytes, bitness).unwrap();
    (a.length, a.width, a.operation)
}

#[test]
fn mov_forms() {
    // 89 08: mov [rax], ecx.
    assert_eq!(
        op(&[0x89, 0x08], B64),
        (
            2,
            4,
            MmioOperation::Store {
                source: Operand::Register(reg(Gpr::Rcx, RegisterPart::Low32))
            }
        )
    );
    // 8B 28: mov ebp, [rax].
    assert_eq!(
        op(&[0x8B, 0x28], B64),
        (
            2,
            4,
            MmioOperation::Load {
                destination: reg(Gpr::Rbp, RegisterPart::Low32),
                extension: Extension::None
            }
        )
    );
    // 8A 20: mov ah, [rax] (no REX: AH).
    assert_eq!(
        op(&[0x8A, 0x20], B64),
        (
            2,
            1,
            MmioOperation::Load {
                destination: reg(Gpr::Rax, RegisterPart::High8),
                extension: Extension::None
            }
        )
    );
    // 40 8A 20: mov spl, [rax] (REX: SPL).
    assert_eq!(
        op(&[0x40, 0x8A, 0x20], B64).2,
        MmioOperation::Load {
            destination: reg(Gpr::Rsp, RegisterPart::Low8),
            extension: Extension::None
        }
    );
    // 4C 89 3C 24: mov [rsp], r15.
    assert_eq!(
        op(&[0x4C, 0x89, 0x3C, 0x24], B64),
        (
            4,
            8,
            MmioOperation::Store {
                source: Operand::Register(reg(Gpr::R15, RegisterPart::Full64))
            }
        )
    );
    // 66 89 08: mov [rax], cx.
    assert_eq!(op(&[0x66, 0x89, 0x08], B64).1, 2);
    // 48 C7 00 FF FF FF FF: mov qword [rax], -1 (imm32 sign-extended).
    assert_eq!(
        op(&[0x48, 0xC7, 0x00, 0xFF, 0xFF, 0xFF, 0xFF], B64),
        (
            7,
            8,
            MmioOperation::Store {
                source: Operand::Immediate(u64::MAX)
            }
        )
    );
    // C6 05 disp32 AB: mov byte [rip+disp], 0xAB.
    assert_eq!(
        op(&[0xC6, 0x05, 1, 2, 3, 4, 0xAB], B64),
        (
            7,
            1,
            MmioOperation::Store {
                source: Operand::Immediate(0xAB)
            }
        )
    );
    // A1 moffs64: mov eax, [moffs].
    assert_eq!(
        op(&[0xA1, 0, 0x10, 0, 0xFE, 0, 0, 0, 0], B64),
        (
            9,
            4,
            MmioOperation::Load {
                destination: reg(Gpr::Rax, RegisterPart::Low32),
                extension: Extension::None
            }
        )
    );
    // 32-bit code: A3 moffs32: mov [moffs], eax; 16-bit code: 89 07: mov [bx], ax.
    assert_eq!(op(&[0xA3, 0, 0x10, 0, 0xFE], Bitness::Bits32).0, 5);
    assert_eq!(
        op(&[0x89, 0x07], Bitness::Bits16),
        (
            2,
            2,
            MmioOperation::Store {
                source: Operand::Register(reg(Gpr::Rax, RegisterPart::Low16))
            }
        )
    );
}

#[test]
fn extensions_alu_xchg() {
    // 0F B6 08: movzx ecx, byte [rax]; 48 0F BF 08: movsx rcx, word [rax];
    // 48 63 08: movsxd rcx, dword [rax].
    assert_eq!(
        op(&[0x0F, 0xB6, 0x08], B64),
        (
            3,
            1,
            MmioOperation::Load {
                destination: reg(Gpr::Rcx, RegisterPart::Low32),
                extension: Extension::Zero
            }
        )
    );
    assert_eq!(
        op(&[0x48, 0x0F, 0xBF, 0x08], B64),
        (
            4,
            2,
            MmioOperation::Load {
                destination: reg(Gpr::Rcx, RegisterPart::Full64),
                extension: Extension::Sign
            }
        )
    );
    assert_eq!(op(&[0x48, 0x63, 0x08], B64).1, 4);
    // 83 08 10: or dword [rax], 0x10; 21 08: and [rax], ecx; 3B 08: cmp ecx, [rax];
    // F6 00 01: test byte [rax], 1; 2B 08: sub ecx, [rax].
    assert_eq!(
        op(&[0x83, 0x08, 0x10], B64).2,
        MmioOperation::Alu {
            op: AluOp::Or,
            memory_destination: true,
            other: Operand::Immediate(0x10)
        }
    );
    assert_eq!(
        op(&[0x21, 0x08], B64).2,
        MmioOperation::Alu {
            op: AluOp::And,
            memory_destination: true,
            other: Operand::Register(reg(Gpr::Rcx, RegisterPart::Low32))
        }
    );
    assert_eq!(
        op(&[0x3B, 0x08], B64).2,
        MmioOperation::Alu {
            op: AluOp::Cmp,
            memory_destination: false,
            other: Operand::Register(reg(Gpr::Rcx, RegisterPart::Low32))
        }
    );
    assert_eq!(
        op(&[0xF6, 0x00, 0x01], B64),
        (
            3,
            1,
            MmioOperation::Alu {
                op: AluOp::Test,
                memory_destination: true,
                other: Operand::Immediate(1)
            }
        )
    );
    let sub = decode(&[0x2B, 0x08], B64).unwrap();
    assert!(sub.reads() && !sub.writes());
    // F0 01 08: lock add [rax], ecx; 31 08: xor; 87 08: xchg [rax], ecx.
    let add = decode(&[0xF0, 0x01, 0x08], B64).unwrap();
    assert!(add.reads() && add.writes());
    assert!(matches!(
        decode(&[0x31, 0x08], B64).unwrap().operation,
        MmioOperation::Alu { op: AluOp::Xor, .. }
    ));
    assert_eq!(
        op(&[0x87, 0x08], B64).2,
        MmioOperation::Exchange {
            register: reg(Gpr::Rcx, RegisterPart::Low32)
        }
    );
}

#[test]
fn string_forms() {
    // F3 48 AB: rep stosq; AA: stosb; 67 A5: movsd with 32-bit addresses; F3 A4: rep movsb.
    assert_eq!(
        op(&[0xF3, 0x48, 0xAB], B64),
        (
            3,
            8,
            MmioOperation::Stos {
                source: reg(Gpr::Rax, RegisterPart::Full64),
                form: StringForm {
                    rep: true,
                    address_size: AddressSize::Bits64
                }
            }
        )
    );
    assert_eq!(
        op(&[0xAA], B64).2,
        MmioOperation::Stos {
            source: reg(Gpr::Rax, RegisterPart::Low8),
            form: StringForm {
                rep: false,
                address_size: AddressSize::Bits64
            }
        }
    );
    assert_eq!(
        op(&[0x67, 0xA5], B64),
        (
            2,
            4,
            MmioOperation::Movs {
                form: StringForm {
                    rep: false,
                    address_size: AddressSize::Bits32
                }
            }
        )
    );
    assert_eq!(
        op(&[0xF3, 0xA4], Bitness::Bits16).2,
        MmioOperation::Movs {
            form: StringForm {
                rep: true,
                address_size: AddressSize::Bits16
            }
        }
    );
}

#[test]
fn errors_name_the_instruction() {
    // F2 0F 10 00: movsd xmm0, [rax] (SSE2, not the string MOVSD).
    assert_eq!(
        decode(&[0xF2, 0x0F, 0x10, 0x00], B64),
        Err(DecodeError::Unsupported(Mnemonic::Movsd))
    );
    // 0F 28 00: movaps xmm0, [rax].
    assert_eq!(
        decode(&[0x0F, 0x28, 0x00], B64),
        Err(DecodeError::Unsupported(Mnemonic::Movaps))
    );
    // 8E 18: mov ds, [rax].
    assert_eq!(
        decode(&[0x8E, 0x18], B64),
        Err(DecodeError::Unsupported(Mnemonic::Mov))
    );
    // 11 08: adc [rax], ecx.
    assert_eq!(
        decode(&[0x11, 0x08], B64),
        Err(DecodeError::Unsupported(Mnemonic::Adc))
    );
    // 89 C8: mov eax, ecx (no memory operand).
    assert_eq!(
        decode(&[0x89, 0xC8], B64),
        Err(DecodeError::NoMemoryOperand(Mnemonic::Mov))
    );
    assert_eq!(
        decode(&[0x48, 0xC7, 0x00], B64),
        Err(DecodeError::Truncated)
    );
    assert_eq!(decode(&[], B64), Err(DecodeError::Truncated));
    // 06 (push es) is invalid in 64-bit mode.
    assert_eq!(
        decode(&[0x06, 0x90, 0x90, 0x90], B64),
        Err(DecodeError::Invalid)
    );
    let e = DecodeError::Unsupported(Mnemonic::Movaps);
    assert_eq!(std::format!("{e}"), "Movaps is not emulated on MMIO");
}

#[test]
fn register_operand_table() {
    use iced_x86::Register;
    assert_eq!(
        register_of(Register::BH),
        reg(Gpr::Rbx, RegisterPart::High8)
    );
    assert_eq!(
        register_of(Register::DIL),
        reg(Gpr::Rdi, RegisterPart::Low8)
    );
    assert_eq!(register_of(Register::R8L), reg(Gpr::R8, RegisterPart::Low8));
    assert_eq!(
        register_of(Register::R15W),
        reg(Gpr::R15, RegisterPart::Low16)
    );
    assert_eq!(
        register_of(Register::ESP),
        reg(Gpr::Rsp, RegisterPart::Low32)
    );
    assert_eq!(
        register_of(Register::R9),
        reg(Gpr::R9, RegisterPart::Full64)
    );
    assert_eq!(super::super::decode::register_operand(Register::XMM0), None);
    assert_eq!(super::super::decode::register_operand(Register::None), None);
}

fn register_of(r: iced_x86::Register) -> RegisterOperand {
    super::super::decode::register_operand(r).unwrap()
}

/// 64-bit identity paging of the first 2 MiB with one 4-KiB page table: PML4 0x1000,
/// PDPT 0x2000, PD 0x3000, PT 0x4000; code pages 0x10000 and 0x11000, the second only if
/// `second`.
fn code_memory(second: bool) -> (Memory, FetchState) {
    let mut m = Memory::default();
    m.write_u64(0x1000, 0x2000 | 3);
    m.write_u64(0x2000, 0x3000 | 3);
    m.write_u64(0x3000, 0x4000 | 3);
    m.write_u64(0x4000 + 8 * 0x10, 0x10000 | 3);
    m.write(0x10000, &[0; 4096]);
    if second {
        m.write_u64(0x4000 + 8 * 0x11, 0x11000 | 3);
        m.write(0x11000, &[0; 4096]);
    }
    let state = FetchState {
        paging: PagingState {
            cr0: CR0_PG,
            cr3: 0x1000,
            cr4: CR4_PAE,
            efer: EFER_LME | EFER_LMA,
            pdptes: None,
            maxphyaddr: 40,
        },
        rip: 0x10FFE,
        cs_base: 0xDEAD_0000,
        cs_access_rights: CS_L,
        cpl: 0,
    };
    (m, state)
}

#[test]
fn fetch_across_a_page_boundary() {
    // mov qword [rax], -1 split 2 + 5 bytes over the boundary.
    let (mut m, state) = code_memory(true);
    m.write(0x10FFE, &[0x48, 0xC7, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(state.bitness(), Bitness::Bits64);
    assert_eq!(state.linear_rip(), 0x10FFE);
    let a = fetch_and_decode(&m, &state).unwrap();
    assert_eq!((a.length, a.width), (7, 8));
    // Without the second page: the fetch's page fault (not present, I/D clear: no NXE).
    let (mut m, state) = code_memory(false);
    m.write(0x10FFE, &[0x48, 0xC7]);
    assert_eq!(
        fetch_and_decode(&m, &state),
        Err(FetchError::Walk(WalkError::PageFault(PageFault {
            address: 0x11000,
            error_code: 0
        })))
    );
    // A short instruction at the page end does not need the next page.
    m.write(0x10FFE, &[0x89, 0x08]);
    assert_eq!(fetch_and_decode(&m, &state).unwrap().length, 2);
    // 32-bit code: CS base added, EIP wraps.
    let s32 = FetchState {
        paging: PagingState::default(),
        rip: 0x10,
        cs_base: 0xFFFF_FFF8,
        cs_access_rights: CS_D,
        ..state
    };
    assert_eq!((s32.bitness(), s32.linear_rip()), (Bitness::Bits32, 8));
}

proptest! {
    #[test]
    fn decode_is_total(bytes in prop::collection::vec(any::<u8>(), 0..20), bits in 0u8..3) {
        let bitness = [Bitness::Bits16, Bitness::Bits32, Bitness::Bits64][bits as usize];
        if let Ok(a) = decode(&bytes, bitness) {
            prop_assert!((1..=15).contains(&a.length));
            prop_assert!(usize::from(a.length) <= bytes.len());
            prop_assert!(matches!(a.width, 1 | 2 | 4 | 8));
            prop_assert!(a.reads() || a.writes());
        }
    }

    #[test]
    fn fetch_is_total(rip in any::<u64>(), cs_base in any::<u64>(), ar in any::<u32>(), code in prop::collection::vec(any::<u8>(), 15)) {
        let (mut m, state) = code_memory(true);
        m.write(0x10FF8, &code);
        let _ = fetch_and_decode(&m, &FetchState { rip, cs_base, cs_access_rights: ar, ..state });
        let _ = fetch_and_decode(&m, &FetchState { rip: 0x10FF8 + (rip & 7), ..state });
    }
}
