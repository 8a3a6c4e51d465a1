//! VM-exit decoding tests (SDM Vol. 3C §28.2, Appendix C), fed through a fake field source.

use std::collections::HashMap;

use proptest::prelude::*;
use vmx_defs::exception::ExceptionVector;
use vmx_defs::exit_reason::BasicExitReason;
use vmx_defs::instruction_info::{
    AddressSize, DescriptorTableInstruction, LdtrTrInstruction, OperandSize, SegmentRegister,
};
use vmx_defs::interruption::InterruptionType;
use vmx_defs::qualification::SipiQualification;
use vmx_defs::vmcs::fields;
use vmx_vcpu::exit::*;
use vmx_vcpu::regs::{Gpr, GuestRegisters};

#[derive(Default)]
struct Fake {
    values: HashMap<u32, u64>,
    reads: Vec<u32>,
    no_ins_outs_info: bool,
}

impl Fake {
    fn with(pairs: &[(u32, u64)]) -> Self {
        Self {
            values: pairs.iter().copied().collect(),
            ..Default::default()
        }
    }
}

impl ExitInfoSource for Fake {
    fn read_field(&mut self, encoding: u32) -> u64 {
        self.reads.push(encoding);
        self.values.get(&encoding).copied().unwrap_or(0)
    }

    fn ins_outs_info_reported(&self) -> bool {
        !self.no_ins_outs_info
    }
}

const REASON: u32 = fields::EXIT_REASON.raw();
const QUAL: u32 = fields::EXIT_QUALIFICATION.raw();
const INFO: u32 = fields::EXIT_INSTRUCTION_INFO.raw();
const GLA: u32 = fields::EXIT_GUEST_LINEAR_ADDRESS.raw();
const RFLAGS: u32 = fields::GUEST_RFLAGS.raw();

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
    assert_eq!(io.string_io, None);
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
    assert!(io.string_io.is_some());
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
            vector: ExceptionVector::PF,
            interruption_type: InterruptionType::HardwareException,
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
            vector: ExceptionVector::UD,
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
            vector: ExceptionVector::BP,
            interruption_type: InterruptionType::SoftwareException,
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
        VmExit::ExternalInterrupt {
            vector: Some(ExceptionVector(0x30))
        }
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
        (20, VmExit::VmxInstruction(VmxInstructionExit::Vmlaunch)),
        (24, VmExit::VmxInstruction(VmxInstructionExit::Vmresume)),
        (26, VmExit::VmxInstruction(VmxInstructionExit::Vmxoff)),
        (
            59,
            VmExit::Vmfunc {
                function: 1,
                argument: 3,
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
        VmExit::Sipi(SipiQualification::from_raw(0x9A))
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
            (INFO, vals[7]),
            (RFLAGS, vals[5].rotate_left(7)),
            (fields::GUEST_CS_ACCESS_RIGHTS.raw(), vals[4].rotate_left(13)),
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
            prop_assert_eq!(io.string_io.is_some(), io.string);
        }
        // Every exit prints as one line.
        let line = e.to_string();
        prop_assert!(!line.is_empty() && !line.contains('\n'), "{}", line);
    }

    /// Every defined reason 0..=85 (with any flag bits but 31) decodes to a variant naming
    /// that reason, and the reasons listed in the review have their own variant.
    #[test]
    fn every_reason_has_its_variant(basic in 0u32..=85, flags in 0u32..0x8000, vals in proptest::collection::vec(any::<u64>(), 4)) {
        let pairs = [
            (REASON, u64::from((flags << 16) | basic)),
            (QUAL, vals[0]),
            (INFO, vals[1]),
            (fields::EXIT_INTERRUPTION_INFO.raw(), vals[2] | 0x8000_0000),
            (fields::EXIT_INSTRUCTION_LENGTH.raw(), vals[3] & 0xF),
        ];
        let (e, _) = decode(&pairs, &GuestRegisters::default());
        prop_assert_eq!(e.reason(), BasicExitReason(basic as u16));
        let typed = matches!(basic, 19..=27 | 46 | 47 | 50 | 53 | 57 | 58 | 59 | 61);
        if typed {
            prop_assert!(!matches!(e, VmExit::Other { .. }), "{:?}", e);
        }
    }
}

#[test]
fn string_io_reports_what_emulation_needs() {
    let regs = GuestRegisters::default();
    // REP OUTSW to 0x3f8 (size 1 = word, string, REP), 32-bit address size (bits 9:7 = 1),
    // FS (bits 17:15 = 4), DF = 1.
    let pairs = [
        (REASON, 30),
        (QUAL, (0x3F8 << 16) | 0x1 | 0x10 | 0x20),
        (INFO, (1 << 7) | (4 << 15)),
        (GLA, 0x1234_5678),
        (RFLAGS, 0x402),
    ];
    let (e, reads) = decode(&pairs, &regs);
    let VmExit::Io(io) = e else { panic!("{e:?}") };
    assert_eq!(
        io.string_io,
        Some(StringIo {
            linear_address: 0x1234_5678,
            address_size: Some(AddressSize::Bits32),
            segment: Some(SegmentRegister::Fs),
            decrement: true,
            index_register: Gpr::Rsi,
        })
    );
    assert!(reads.contains(&INFO));
    assert_eq!(
        e.to_string(),
        "I/O REP OUTS port 0x3f8 size 2, linear address 0x12345678 via FS, 32-bit address, DF=1"
    );
    // INS: the segment is ES whatever bits 17:15 hold; without IA32_VMX_BASIC[54] the
    // information field is not read and the address size is unknown.
    let mut f = Fake::with(&[
        (REASON, 30),
        (QUAL, (0x60 << 16) | 0x8 | 0x10),
        (INFO, (2 << 7) | (4 << 15)),
        (GLA, 0x9000),
    ]);
    f.no_ins_outs_info = true;
    let e = decode_exit(&mut f, &regs);
    let VmExit::Io(io) = e else { panic!("{e:?}") };
    let s = io.string_io.expect("INS has string information");
    assert_eq!(
        (s.address_size, s.segment, s.index_register, s.decrement),
        (None, Some(SegmentRegister::Es), Gpr::Rdi, false)
    );
    assert!(!f.reads.contains(&INFO));
    // Reserved address size 3: unknown.
    let (e, _) = decode(&[(REASON, 30), (QUAL, 0x18), (INFO, 3 << 7)], &regs);
    let VmExit::Io(io) = e else { panic!("{e:?}") };
    assert_eq!(io.string_io.and_then(|s| s.address_size), None);
}

#[test]
fn vmx_instructions_carry_operands() {
    let regs = GuestRegisters::default();
    // VMPTRLD [rbx+rcx*8+0x10], 64-bit address, DS.
    let info = 3 | (2 << 7) | (3 << 15) | (1 << 18) | (3 << 23);
    let (e, reads) = decode(&[(REASON, 21), (QUAL, 0x10), (INFO, info)], &regs);
    let VmExit::VmxInstruction(VmxInstructionExit::Vmptrld(m)) = e else {
        panic!("{e:?}")
    };
    assert_eq!(m.displacement, 0x10);
    assert_eq!(m.operand.base, Some(Gpr::Rbx));
    assert_eq!(m.operand.index, Some(Gpr::Rcx));
    assert_eq!(
        m.offset(|g| if g == Gpr::Rbx { 0x1000 } else { 2 }),
        Some(0x1000 + 16 + 0x10)
    );
    assert!(reads.contains(&QUAL) && reads.contains(&INFO));
    assert_eq!(
        e.to_string(),
        "VMPTRLD DS:[rbx+rcx*8+0x10] (64-bit address)"
    );
    // VMWRITE r9 -> field in rax: register operand, qualification not read.
    let info = (1 << 10) | (9 << 3);
    let (e, _) = decode(&[(REASON, 25), (INFO, info)], &regs);
    assert_eq!(
        e,
        VmExit::VmxInstruction(VmxInstructionExit::Vmwrite(VmreadVmwriteExit {
            field_register: Gpr::Rax,
            operand: ExitOperand::Register(Gpr::R9),
        }))
    );
    assert_eq!(e.to_string(), "VMWRITE field in rax, value r9");
    // INVEPT type in rdx, descriptor [rsp] (no index), 64-bit.
    let info = (2 << 7) | (3 << 15) | (1 << 22) | (4 << 23) | (2 << 28);
    let (e, _) = decode(&[(REASON, 50), (QUAL, 0), (INFO, info)], &regs);
    let VmExit::VmxInstruction(VmxInstructionExit::Invept(i)) = e else {
        panic!("{e:?}")
    };
    assert_eq!(i.type_register, Gpr::Rdx);
    assert_eq!(i.descriptor.operand.base, Some(Gpr::Rsp));
    assert_eq!(i.descriptor.operand.index, None);
    // VMLAUNCH reads neither the qualification nor the information.
    let (_, reads) = decode(&[(REASON, 20)], &regs);
    assert_eq!(reads, vec![REASON]);
}

#[test]
fn descriptor_table_rdrand_invpcid() {
    let regs = GuestRegisters::default();
    // LIDT [eax+0x8] with 32-bit operand, outside 64-bit mode.
    let info: u32 = (1 << 7) | (1 << 11) | (3 << 15) | (1 << 22) | (3 << 28);
    let (e, reads) = decode(&[(REASON, 46), (QUAL, 0x8), (INFO, info.into())], &regs);
    assert_eq!(
        e,
        VmExit::DescriptorTable(DescriptorTableExit {
            instruction: DescriptorTableInstruction::Lidt,
            operand: MemoryAddress::from_fields(info, 0x8),
            operand_size: Some(OperandSize::Bits32),
        })
    );
    assert!(reads.contains(&fields::GUEST_CS_ACCESS_RIGHTS.raw()));
    assert_eq!(
        e.to_string(),
        "LIDT DS:[rax+0x8] (32-bit address), 32-bit operand"
    );
    // In 64-bit mode (CS.L) the operand size is undefined.
    let (e, _) = decode(
        &[
            (REASON, 46),
            (INFO, info.into()),
            (fields::GUEST_CS_ACCESS_RIGHTS.raw(), 0xA09B),
        ],
        &regs,
    );
    let VmExit::DescriptorTable(d) = e else {
        panic!("{e:?}")
    };
    assert_eq!(d.operand_size, None);
    // LTR ax: register operand.
    let (e, _) = decode(&[(REASON, 47), (INFO, (1 << 10) | (3 << 28))], &regs);
    assert_eq!(
        e,
        VmExit::LdtrTr(LdtrTrExit {
            instruction: LdtrTrInstruction::Ltr,
            operand: ExitOperand::Register(Gpr::Rax),
        })
    );
    assert_eq!(e.to_string(), "LTR rax");
    // RDRAND r12 (64-bit), RDSEED ecx (32-bit): the qualification is not read.
    let (e, reads) = decode(&[(REASON, 57), (INFO, (12 << 3) | (2 << 11))], &regs);
    assert_eq!(
        e,
        VmExit::Rdrand(RandomExit {
            destination: Gpr::R12,
            operand_size: OperandSize::Bits64,
        })
    );
    assert!(!reads.contains(&QUAL));
    assert_eq!(e.to_string(), "RDRAND into r12, 64-bit operand");
    let (e, _) = decode(&[(REASON, 61), (INFO, (1 << 3) | (1 << 11))], &regs);
    assert_eq!(
        e,
        VmExit::Rdseed(RandomExit {
            destination: Gpr::Rcx,
            operand_size: OperandSize::Bits32,
        })
    );
    // INVPCID type in r8, descriptor [rdi].
    let info = (2 << 7) | (3 << 15) | (1 << 22) | (7 << 23) | (8 << 28);
    let (e, _) = decode(&[(REASON, 58), (QUAL, 0), (INFO, info)], &regs);
    let VmExit::Invpcid(i) = e else {
        panic!("{e:?}")
    };
    assert_eq!(i.type_register, Gpr::R8);
    assert_eq!(i.descriptor.operand.base, Some(Gpr::Rdi));
}

#[test]
fn display_names_the_reason() {
    let regs = GuestRegisters {
        rax: 1,
        rcx: 0,
        ..Default::default()
    };
    assert_eq!(
        decode(&[(REASON, 10)], &regs).0.to_string(),
        "CPUID leaf 0x1 subleaf 0x0"
    );
    let out = GuestRegisters {
        rax: 0x41,
        ..Default::default()
    };
    assert_eq!(
        decode(&[(REASON, 30), (QUAL, 0x3F8 << 16)], &out)
            .0
            .to_string(),
        "I/O OUT port 0x3f8 size 1 value 0x41"
    );
    let gpa = fields::EXIT_GUEST_PHYSICAL_ADDRESS.raw();
    assert_eq!(
        decode(&[(REASON, 48), (QUAL, 0x1), (gpa, 0x1000)], &regs)
            .0
            .to_string(),
        "EPT violation at GPA 0x1000 (read, not present)"
    );
    assert_eq!(
        decode(
            &[
                (REASON, 48),
                (QUAL, 0x2 | 0x8 | 0x20 | 0x80 | 0x100),
                (gpa, 0x2000),
                (GLA, 0xffff_8000_0000_2000)
            ],
            &regs
        )
        .0
        .to_string(),
        "EPT violation at GPA 0x2000, GLA 0xffff800000002000 (write, page r-x)"
    );
    let info = fields::EXIT_INTERRUPTION_INFO.raw();
    let ec = fields::EXIT_INTERRUPTION_ERROR_CODE.raw();
    assert_eq!(
        decode(
            &[(REASON, 0), (info, 0x8000_0B0E), (ec, 2), (QUAL, 0xdead000)],
            &regs
        )
        .0
        .to_string(),
        "exception #PF (14, Page Fault), hardware exception, error code 0x2, qualification 0xdead000"
    );
    assert_eq!(
        decode(&[(REASON, 1), (info, 0x8000_0030)], &regs)
            .0
            .to_string(),
        "external interrupt vector 0x30"
    );
    assert_eq!(
        decode(&[(REASON, 28), (QUAL, 3 | (1 << 4))], &regs)
            .0
            .to_string(),
        "MOV from CR3 to rax"
    );
    assert_eq!(
        decode(&[(REASON, 29), (QUAL, 7 | (2 << 8))], &regs)
            .0
            .to_string(),
        "MOV to DR7 from rdx"
    );
    assert_eq!(decode(&[(REASON, 12)], &regs).0.to_string(), "HLT");
    assert_eq!(
        decode(&[(REASON, 0x8000_0021)], &regs).0.to_string(),
        "VM-entry failure: VM_ENTRY_FAILURE_INVALID_GUEST_STATE (33), qualification 0x0"
    );
    assert_eq!(
        decode(&[(REASON, 4), (QUAL, 0x9A)], &regs).0.to_string(),
        "SIPI vector 0x9a (start address 0x9a000)"
    );
}
