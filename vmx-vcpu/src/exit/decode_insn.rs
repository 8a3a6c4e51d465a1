//! Decoding the exits whose operands are in the VM-exit instruction-information field and
//! the exit qualification (SDM Vol. 3C §28.2.1 "Basic VM-Exit Information": displacement;
//! §28.2.5 "Information for VM Exits Due to Instruction Execution").

use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::instruction_info::{DescriptorTableInfo, LdtrTrInfo, RdrandRdseedInfo};
use vmx_defs::qualification::ExitQualification;
use vmx_defs::vmcs::fields;

use super::decode::ExitInfoSource;
use super::{
    CS_ACCESS_RIGHTS_L, DescriptorTableExit, ExitOperand, InvalidationExit, LdtrTrExit,
    MemoryAddress, RandomExit, VmExit, VmxInstructionExit,
};

/// Reasons 19-27, 46, 47, 50, 53, 57, 58, 61: reads the instruction information and the
/// exit qualification only where the reason defines them (not for VMLAUNCH, VMRESUME,
/// VMXOFF; not the qualification for RDRAND/RDSEED), and guest CS for reason 46 (the
/// operand size is undefined in 64-bit mode). Any other reason gives [`VmExit::Other`].
/// Total.
pub(super) fn decode_instruction_info_exit(
    reason: ExitReason,
    src: &mut impl ExitInfoSource,
) -> VmExit {
    type R = BasicExitReason;
    let basic = reason.basic();
    let mut info = || src.read_field(fields::EXIT_INSTRUCTION_INFO.raw()) as u32;
    match basic {
        R::RDRAND | R::RDSEED => {
            let i = RdrandRdseedInfo::from_raw(info());
            let exit = RandomExit {
                destination: i.operand_register(),
                operand_size: i.operand_size(),
            };
            if basic == R::RDRAND {
                VmExit::Rdrand(exit)
            } else {
                VmExit::Rdseed(exit)
            }
        }
        _ => {
            let info = if VmxInstructionExit::has_operands(basic) {
                info()
            } else {
                0
            };
            decode_with_displacement(reason, info, src)
        }
    }
}

/// The reasons whose qualification is a displacement (or, for VMLAUNCH, VMRESUME and
/// VMXOFF, nothing), with the instruction information `info` already read.
fn decode_with_displacement(
    reason: ExitReason,
    info: u32,
    src: &mut impl ExitInfoSource,
) -> VmExit {
    type R = BasicExitReason;
    let basic = reason.basic();
    let qualification = if VmxInstructionExit::has_operands(basic) {
        src.read_field(fields::EXIT_QUALIFICATION.raw())
    } else {
        0
    };
    if let Some(exit) = VmxInstructionExit::decode(basic, info, qualification) {
        return VmExit::VmxInstruction(exit);
    }
    match basic {
        R::GDTR_IDTR_ACCESS => {
            let i = DescriptorTableInfo::from_raw(info);
            let cs = src.read_field(fields::GUEST_CS_ACCESS_RIGHTS.raw());
            VmExit::DescriptorTable(DescriptorTableExit {
                instruction: i.instruction(),
                operand: MemoryAddress::from_fields(info, qualification),
                operand_size: (cs & CS_ACCESS_RIGHTS_L == 0).then(|| i.operand_size()),
            })
        }
        R::LDTR_TR_ACCESS => VmExit::LdtrTr(LdtrTrExit {
            instruction: LdtrTrInfo::from_raw(info).instruction(),
            operand: ExitOperand::from_fields(info, qualification),
        }),
        R::INVPCID => VmExit::Invpcid(InvalidationExit::from_fields(info, qualification)),
        _ => VmExit::Other {
            reason,
            qualification: ExitQualification::decode_reason(basic, qualification),
        },
    }
}
