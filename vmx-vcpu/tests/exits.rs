//! VM-exit decoding tests (SDM Vol. 3C §28.2, Appendix C), fed through a fake field source.

use std::collections::HashMap;

use proptest::prelude::*;
use vmx_defs::exit_reason::BasicExitReason;
use vmx_defs::instruction_info::Gpr;
use vmx_defs::vmcs::fields;
use vmx_vcpu::exit::*;
use vmx_vcpu::regs::GuestRegisters;

#[derive(Default)]
struct Fake {
    values: HashMap<u32, u64>,
    reads: Vec<u32>,
}

impl Fake {
    fn with(pairs: &[(u32, u64)]) -> Self {
        Self {
            values: pairs.iter().copied().collect(),
            reads: Vec::new(),
        }
    }
}

impl ExitInfoSource for Fake {
    fn read_field(&mut self, encoding: u32) -> u64 {
        self.reads.push(encoding);
        self.values.get(&encoding).copied().unwrap_or(0)
    }
}

const REASON: u32 = fields::EXIT_REASON.raw();
const QUAL: u32 = fields::EXIT_QUALIFICATION.raw();

fn decode(pairs: &[(u32, u64)], regs: &GuestRegisters) -> (VmExit, Vec<u32>) {
    let mut f = Fake::with(pairs);
    let e = decode_exit(&mut f, regs);
    (e, f.reads)
}

#[test]
fn cpuid_reads_only_the_reason() {
    let regs = GuestRegisters {
        rax: 0xFFFF_FFFF_8000_0001,
        rcx: 7,
        ..Default::default()
    };
    let (e, reads) = decode(&[(REASON, 10)], &regs);
    assert_eq!(
        e,
        VmExit::Cpuid {
            leaf: 0x8000_0001,
            subleaf: 7
        }
    );
    assert_eq!(reads, vec![REASON]);
}

#[test]
fn io_out_and_in() {
    // OUT DX, AL to 0x80: size 0, direction out, port 0x80.
    let regs = GuestRegisters {
        rax: 0x1234_5678,
        ..Default::default()
    };
    let (e, _) = decode(&[(REASON, 30), (QUAL, 0x80 << 16)], &regs);
    let VmExit::Io(io) = e else { panic!("{e:?}") };
    assert_eq!(
        (io.port, io.size, io.is_in, io.string, io.rep, io.value),
        (0x80, 1, false, false, false, Some(0x78))
    );
    // REP INSD from 0xFFFF: size 3 (4 bytes), IN, string, REP.
    let (e, _) = decode(
        &[
            (REASON, 30),
            (QUAL, (0xFFFF << 16) | 0x3 | 0x8 | 0x10 | 0x20),
        ],
        &regs,
    );
    let VmExit::Io(io) = e else { panic!("{e:?}") };
    assert_eq!(
        (io.port, io.size, io.is_in, io.string, io.rep, io.value),
        (0xFFFF, 4, true, true, true, None)
    );
    // Reserved size 2: not an Io exit, but still decoded.
    let (e, _) = decode(&[(REASON, 30), (QUAL, 2)], &regs);
    assert!(matches!(e, VmExit::Other { .. }));
}

#[test]
fn msr_and_xsetbv() {
    let regs = GuestRegisters {
        rax: 0xAAAA_BBBB_1111_2222,
        rdx: 0xCCCC_DDDD_3333_4444,
        rcx: 0xC000_0080,
        ..Default::default()
    };
    assert_eq!(
        decode(&[(REASON, 31)], &regs).0,
        VmExit::Rdmsr { msr: 0xC000_0080 }
    );
    assert_eq!(
        decode(&[(REASON, 32)], &regs).0,
        VmExit::Wrmsr {
            msr: 0xC000_0080,
            value: 0x3333_4444_1111_2222
        }
    );
    assert_eq!(
        decode(&[(REASON, 55)], &regs).0,
        VmExit::Xsetbv {
            index: 0xC000_0080,
            value: 0x3333_4444_1111_2222
        }
    );
}

#[test]
fn cr_access() {
    let regs = GuestRegisters {
        rbx: 0x8000_0031,
        ..Default::default()
    };
    // MOV CR0, RBX: CR 0, type 0, GPR 3.
    let (e, _) = decode(&[(REASON, 28), (QUAL, 3 << 8)], &regs);
    assert_eq!(
        e,
        VmExit::CrAccess(CrAccess::MovTo {
            cr: 0,
            gpr: Gpr::Rbx,
            value: 0x8000_0031
        })
    );
    // MOV CR4, RSP reads GUEST_RSP.
    let (e, _) = decode(
        &[
            (REASON, 28),
            (QUAL, 4 | (4 << 8)),
            (fields::GUEST_RSP.raw(), 0x7000),
        ],
        &regs,
    );
    assert_eq!(
        e,
        VmExit::CrAccess(CrAccess::MovTo {
            cr: 4,
            gpr: Gpr::Rsp,
            value: 0x7000
        })
    );
    // MOV RAX, CR3.
    let (e, _) = decode(&[(REASON, 28), (QUAL, 3 | (1 << 4))], &regs);
    assert_eq!(
        e,
        VmExit::CrAccess(CrAccess::MovFrom {
            cr: 3,
            gpr: Gpr::Rax
        })
    );
    assert_eq!(
        decode(&[(REASON, 28), (QUAL, 2 << 4)], &regs).0,
        VmExit::CrAccess(CrAccess::Clts)
    );
    assert_eq!(
        decode(
            &[(REASON, 28), (QUAL, (3 << 4) | (1 << 6) | (0xF << 16))],
            &regs
        )
        .0,
        VmExit::CrAccess(CrAccess::Lmsw {
            source: 0xF,
            memory_operand: true
        })
    );
}

#[test]
fn exceptions_and_nmi() {
    let regs = GuestRegisters::default();
    let info = fields::EXIT_INTERRUPTION_INFO.raw();
    let ec = fields::EXIT_INTERRUPTION_ERROR_CODE.raw();
    // #PF with error code 2 at 0xdead000.
    let (e, _) = decode(
        &[(REASON, 0), (info, 0x8000_0B0E), (ec, 2), (QUAL, 0xdead000)],
        &regs,
    );
    assert_eq!(
        e,
        VmExit::Exception(ExceptionExit {
            vector: 14,
            interruption_type: 3,
            error_code: Some(2),
            qualification: 0xdead000,
            nmi_unblocking_iret: false,
            instruction_len: 0
        })
    );
    // #UD, no error code.
    let (e, reads) = decode(&[(REASON, 0), (info, 0x8000_0306)], &regs);
    assert!(matches!(
        e,
        VmExit::Exception(ExceptionExit {
            vector: 6,
            error_code: None,
            ..
        })
    ));
    assert!(!reads.contains(&ec));
    // INT3 (software exception) carries its length.
    let (e, _) = decode(
        &[
            (REASON, 0),
            (info, 0x8000_0603),
            (fields::EXIT_INSTRUCTION_LENGTH.raw(), 1),
        ],
        &regs,
    );
    assert!(matches!(
        e,
        VmExit::Exception(ExceptionExit {
            vector: 3,
            interruption_type: 6,
            instruction_len: 1,
            ..
        })
    ));
    // NMI with IRET unblocking.
    assert_eq!(
        decode(&[(REASON, 0), (info, 0x8000_1202)], &regs).0,
        VmExit::Nmi {
            nmi_unblocking_iret: true
        }
    );
    // External interrupt, acknowledged and not.
    assert_eq!(
        decode(&[(REASON, 1), (info, 0x8000_0030)], &regs).0,
        VmExit::ExternalInterrupt { vector: Some(0x30) }
    );
    assert_eq!(
        decode(&[(REASON, 1)], &regs).0,
        VmExit::ExternalInterrupt { vector: None }
    );
}

#[test]
fn entry_failures_have_bit_31() {
    let regs = GuestRegisters::default();
    let (e, _) = decode(&[(REASON, 0x8000_0021), (QUAL, 0)], &regs);
    let VmExit::EntryFailure(f) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        f.reason.basic(),
        BasicExitReason::VM_ENTRY_FAILURE_INVALID_GUEST_STATE
    );
    assert!(f.reason.is_entry_failure());
    let (e, _) = decode(&[(REASON, 0x8000_0022), (QUAL, 3)], &regs);
    assert!(matches!(
        e,
        VmExit::EntryFailure(EntryFailure {
            qualification: 3,
            ..
        })
    ));
}

#[test]
fn ept_violation_gla_only_when_valid() {
    let regs = GuestRegisters::default();
    let gpa = fields::EXIT_GUEST_PHYSICAL_ADDRESS.raw();
    let gla = fields::EXIT_GUEST_LINEAR_ADDRESS.raw();
    let (e, _) = decode(
        &[
            (REASON, 48),
            (QUAL, 0x82),
            (gpa, 0x1234),
            (gla, 0xffff_8000_0000_1234),
        ],
        &regs,
    );
    let VmExit::EptViolation(v) = e else {
        panic!("{e:?}")
    };
    assert_eq!((v.gpa, v.gla), (0x1234, Some(0xffff_8000_0000_1234)));
    assert!(v.qualification.data_write());
    let (e, reads) = decode(&[(REASON, 48), (QUAL, 0x4), (gpa, 0x5000)], &regs);
    let VmExit::EptViolation(v) = e else {
        panic!("{e:?}")
    };
    assert_eq!(v.gla, None);
    assert!(!reads.contains(&gla));
    assert!(v.qualification.instruction_fetch());
}

#[test]
fn simple_reasons() {
    let regs = GuestRegisters {
        rax: 1,
        rbx: 2,
        rcx: 3,
        rdx: 4,
        rsi: 5,
        rdi: 6,
        ..Default::default()
    };
    let cases = [
        (2, VmExit::TripleFault),
        (3, VmExit::Init),
        (7, VmExit::InterruptWindow),
        (8, VmExit::NmiWindow),
        (12, VmExit::Hlt),
        (16, VmExit::Rdtsc),
        (52, VmExit::PreemptionTimer),
        (51, VmExit::Rdtscp),
        (
            20,
            VmExit::VmxInstruction {
                reason: BasicExitReason::VMLAUNCH,
            },
        ),
        (
            18,
            VmExit::Vmcall(VmcallArgs {
                rax: 1,
                rbx: 2,
                rcx: 3,
                rdx: 4,
                rsi: 5,
                rdi: 6,
            }),
        ),
    ];
    for (r, want) in cases {
        assert_eq!(decode(&[(REASON, r)], &regs).0, want, "reason {r}");
    }
    assert_eq!(
        decode(&[(REASON, 4), (QUAL, 0x9A)], &regs).0,
        VmExit::Sipi { vector: 0x9A }
    );
}

proptest! {
    #[test]
    fn decoding_is_total(reason in any::<u32>(), small_reason in 0u32..90, use_small in any::<bool>(),
                         vals in proptest::collection::vec(any::<u64>(), 8), gprs in proptest::collection::vec(any::<u64>(), 16)) {
        let reason = if use_small { small_reason } else { reason };
        let regs = GuestRegisters { rax: gprs[0], rcx: gprs[1], rdx: gprs[2], rbx: gprs[3], rbp: gprs[5], rsi: gprs[6], rdi: gprs[7], r8: gprs[8], r15: gprs[15], ..Default::default() };
        let pairs = [
            (REASON, u64::from(reason)), (QUAL, vals[0]),
            (fields::EXIT_INTERRUPTION_INFO.raw(), vals[1]),
            (fields::EXIT_INTERRUPTION_ERROR_CODE.raw(), vals[2]),
            (fields::EXIT_GUEST_PHYSICAL_ADDRESS.raw(), vals[3]),
            (fields::EXIT_GUEST_LINEAR_ADDRESS.raw(), vals[4]),
            (fields::EXIT_INSTRUCTION_LENGTH.raw(), vals[5]),
            (fields::GUEST_RSP.raw(), vals[6]),
        ];
        let (e, _) = decode(&pairs, &regs);
        if reason & 0x8000_0000 != 0 {
            prop_assert!(matches!(e, VmExit::EntryFailure(_)), "{:?}", e);
        }
        // Every decoded exit names the basic reason it came from (bits 15:0).
        prop_assert_eq!(e.reason(), BasicExitReason((reason & 0xFFFF) as u16));
        if let VmExit::Io(io) = e {
            prop_assert_eq!(u64::from(io.port), (vals[0] >> 16) & 0xFFFF);
            prop_assert!(matches!(io.size, 1 | 2 | 4));
            prop_assert_eq!(io.is_in, vals[0] & 8 != 0);
        }
    }
}
