//! Payloads of the exits whose operands the processor describes in the VM-exit
//! instruction-information field (SDM Vol. 3C §28.2.5 "Information for VM Exits Due to
//! Instruction Execution") with the displacement of a memory operand in the exit
//! qualification (§28.2.1): the VMX instructions (reasons 19-27, 50, 53), the
//! descriptor-table instructions (46, 47), RDRAND/RDSEED (57, 61) and INVPCID (58).

use vmx_defs::exit_reason::BasicExitReason;
use vmx_defs::instruction_info::{
    AddressSize, DescriptorTableInstruction, LdtrTrInstruction, MemoryOperand, OperandSize,
};

use crate::regs::Gpr;

/// A memory operand: the registers and segment from the instruction information, and the
/// displacement from the exit qualification (SDM Vol. 3C §28.2.1: sign-extended to 64 bits;
/// with RIP-relative addressing the sum of the displacement and the RIP of the next
/// instruction; bits above the address size undefined, and cleared here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryAddress {
    /// Segment, address size, base, index and scaling (SDM §28.2.5).
    pub operand: MemoryOperand,
    /// The displacement, truncated to the address size (SDM §28.2.1).
    pub displacement: u64,
}

impl MemoryAddress {
    /// Builds the operand from the raw instruction information and exit qualification,
    /// keeping only the displacement bits the address size defines (SDM Vol. 3C §28.2.1,
    /// §28.2.5). Total.
    pub const fn from_fields(info: u32, qualification: u64) -> Self {
        let operand = MemoryOperand::from_info(info);
        Self {
            operand,
            displacement: truncate(qualification, operand.address_size),
        }
    }

    /// The effective address (offset in the segment): base + index * scale + displacement,
    /// computed modulo the address size (SDM Vol. 1 §3.7.5 "Specifying an Offset"), with
    /// `read` giving the current value of a register. `None` for a reserved address-size
    /// encoding. Add the base of [`MemoryOperand::segment`] for the linear address (SDM
    /// Vol. 3A §3.4). Total.
    pub fn offset(&self, read: impl Fn(Gpr) -> u64) -> Option<u64> {
        let width = self.operand.address_size.width()?;
        let base = self.operand.base.map_or(0, &read);
        let index = self
            .operand
            .index
            .map_or(0, |gpr| read(gpr) << self.operand.scaling.bits());
        let sum = base.wrapping_add(index).wrapping_add(self.displacement);
        Some(if width == 64 {
            sum
        } else {
            sum & ((1u64 << width) - 1)
        })
    }
}

/// `value` with the bits above `size` cleared (a reserved size keeps all 64).
const fn truncate(value: u64, size: AddressSize) -> u64 {
    match size {
        AddressSize::Bits16 => value & 0xFFFF,
        AddressSize::Bits32 => value & 0xFFFF_FFFF,
        _ => value,
    }
}

/// An operand that is a register or memory (instruction-information bit 10, SDM Vol. 3C
/// §28.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitOperand {
    /// A register (Reg1).
    Register(Gpr),
    /// A memory operand.
    Memory(MemoryAddress),
}

impl ExitOperand {
    /// Decodes a register-or-memory operand: Reg1 (bits 6:3) when bit 10 is 1, the memory
    /// operand with the displacement otherwise; the qualification is undefined for a
    /// register operand and is then not used (SDM Vol. 3C §28.2.1, §28.2.5). Total.
    pub const fn from_fields(info: u32, qualification: u64) -> Self {
        if info & (1 << 10) != 0 {
            Self::Register(Gpr::from_bits(((info >> 3) & 0xF) as u8))
        } else {
            Self::Memory(MemoryAddress::from_fields(info, qualification))
        }
    }
}

/// INVEPT, INVVPID or INVPCID: the register holding the invalidation type (Reg2) and the
/// descriptor in memory (SDM Vol. 3C §28.2.5, INVEPT/INVPCID/INVVPID format; Vol. 2
/// INVPCID; Vol. 3C §31.3 INVEPT, INVVPID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidationExit {
    /// The register operand holding the type (Reg2, bits 31:28).
    pub type_register: Gpr,
    /// The 128-bit descriptor in memory.
    pub descriptor: MemoryAddress,
}

impl InvalidationExit {
    /// Decodes the INVEPT/INVPCID/INVVPID format (SDM Vol. 3C §28.2.5). Total.
    pub const fn from_fields(info: u32, qualification: u64) -> Self {
        Self {
            type_register: Gpr::from_bits((info >> 28) as u8),
            descriptor: MemoryAddress::from_fields(info, qualification),
        }
    }
}

/// VMREAD or VMWRITE: the register holding the field encoding (Reg2) and the other operand
/// (VMREAD destination, VMWRITE source; SDM Vol. 3C §28.2.5, VMREAD/VMWRITE format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmreadVmwriteExit {
    /// The register holding the VMCS-field encoding (Reg2, bits 31:28).
    pub field_register: Gpr,
    /// The value operand: the VMREAD destination or the VMWRITE source.
    pub operand: ExitOperand,
}

/// A VMX instruction executed by the guest (reasons 19-27, 50, 53), with the operands a
/// nested hypervisor needs to emulate it (SDM Vol. 3C §28.2.1 for the displacement,
/// §28.2.5 for the instruction information; Vol. 3C ch. 31 for the instructions).
/// VMLAUNCH, VMRESUME and VMXOFF have no operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VmxInstructionExit {
    /// VMCLEAR (19) of the VMCS pointer at this address.
    Vmclear(MemoryAddress),
    /// VMLAUNCH (20).
    Vmlaunch,
    /// VMPTRLD (21) of the VMCS pointer at this address.
    Vmptrld(MemoryAddress),
    /// VMPTRST (22) to this address.
    Vmptrst(MemoryAddress),
    /// VMREAD (23).
    Vmread(VmreadVmwriteExit),
    /// VMRESUME (24).
    Vmresume,
    /// VMWRITE (25).
    Vmwrite(VmreadVmwriteExit),
    /// VMXOFF (26).
    Vmxoff,
    /// VMXON (27) with the VMXON-region pointer at this address.
    Vmxon(MemoryAddress),
    /// INVEPT (50).
    Invept(InvalidationExit),
    /// INVVPID (53).
    Invvpid(InvalidationExit),
}

impl VmxInstructionExit {
    /// Decodes the exit of basic reason `reason` from the raw instruction information and
    /// exit qualification (SDM Vol. 3C §28.2.1, §28.2.5); `None` for a reason that is not
    /// one of the VMX instructions. Reads nothing the reason leaves undefined. Total.
    pub const fn decode(reason: BasicExitReason, info: u32, qualification: u64) -> Option<Self> {
        type R = BasicExitReason;
        let memory = MemoryAddress::from_fields(info, qualification);
        let value = VmreadVmwriteExit {
            field_register: Gpr::from_bits((info >> 28) as u8),
            operand: ExitOperand::from_fields(info, qualification),
        };
        let invalidation = InvalidationExit::from_fields(info, qualification);
        Some(match reason {
            R::VMCLEAR => Self::Vmclear(memory),
            R::VMLAUNCH => Self::Vmlaunch,
            R::VMPTRLD => Self::Vmptrld(memory),
            R::VMPTRST => Self::Vmptrst(memory),
            R::VMREAD => Self::Vmread(value),
            R::VMRESUME => Self::Vmresume,
            R::VMWRITE => Self::Vmwrite(value),
            R::VMXOFF => Self::Vmxoff,
            R::VMXON => Self::Vmxon(memory),
            R::INVEPT => Self::Invept(invalidation),
            R::INVVPID => Self::Invvpid(invalidation),
            _ => return None,
        })
    }

    /// Whether the exit has operands, i.e. the instruction-information field and the exit
    /// qualification are defined for it (all but VMLAUNCH, VMRESUME and VMXOFF; SDM Vol. 3C
    /// §28.2.1, §28.2.5).
    pub const fn has_operands(reason: BasicExitReason) -> bool {
        !matches!(
            reason,
            BasicExitReason::VMLAUNCH | BasicExitReason::VMRESUME | BasicExitReason::VMXOFF
        )
    }

    /// The basic exit reason of this instruction (SDM Vol. 3D Appendix C).
    pub const fn reason(&self) -> BasicExitReason {
        match self {
            Self::Vmclear(_) => BasicExitReason::VMCLEAR,
            Self::Vmlaunch => BasicExitReason::VMLAUNCH,
            Self::Vmptrld(_) => BasicExitReason::VMPTRLD,
            Self::Vmptrst(_) => BasicExitReason::VMPTRST,
            Self::Vmread(_) => BasicExitReason::VMREAD,
            Self::Vmresume => BasicExitReason::VMRESUME,
            Self::Vmwrite(_) => BasicExitReason::VMWRITE,
            Self::Vmxoff => BasicExitReason::VMXOFF,
            Self::Vmxon(_) => BasicExitReason::VMXON,
            Self::Invept(_) => BasicExitReason::INVEPT,
            Self::Invvpid(_) => BasicExitReason::INVVPID,
        }
    }

    /// The instruction's mnemonic, e.g. `"VMPTRLD"`.
    pub const fn mnemonic(&self) -> &'static str {
        match self {
            Self::Vmclear(_) => "VMCLEAR",
            Self::Vmlaunch => "VMLAUNCH",
            Self::Vmptrld(_) => "VMPTRLD",
            Self::Vmptrst(_) => "VMPTRST",
            Self::Vmread(_) => "VMREAD",
            Self::Vmresume => "VMRESUME",
            Self::Vmwrite(_) => "VMWRITE",
            Self::Vmxoff => "VMXOFF",
            Self::Vmxon(_) => "VMXON",
            Self::Invept(_) => "INVEPT",
            Self::Invvpid(_) => "INVVPID",
        }
    }
}

/// LGDT, LIDT, SGDT or SIDT (reason 46; SDM Vol. 3C §28.2.5, LIDT/LGDT/SIDT/SGDT format;
/// Vol. 2 LGDT/LIDT, SGDT, SIDT). The operand is always in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorTableExit {
    /// Which instruction (bits 29:28).
    pub instruction: DescriptorTableInstruction,
    /// The 6-byte (10-byte in 64-bit mode) pseudo-descriptor in memory.
    pub operand: MemoryAddress,
    /// Operand size (bit 11: 16 or 32 bits; for LGDT/LIDT a 16-bit operand loads 24 bits
    /// of base); `None` for an exit from 64-bit mode (guest CS.L = 1), where the SDM leaves
    /// it undefined and the operand is 64-bit.
    pub operand_size: Option<OperandSize>,
}

/// LLDT, LTR, SLDT or STR (reason 47; SDM Vol. 3C §28.2.5, LLDT/LTR/SLDT/STR format;
/// Vol. 2 LLDT, LTR, SLDT, STR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LdtrTrExit {
    /// Which instruction (bits 29:28).
    pub instruction: LdtrTrInstruction,
    /// The selector operand: a register or memory.
    pub operand: ExitOperand,
}

/// RDRAND or RDSEED (reasons 57, 61; SDM Vol. 3C §28.2.5, RDRAND/RDSEED/TPAUSE/UMWAIT
/// format; Vol. 2 RDRAND, RDSEED): the emulation writes a random value of the operand size
/// into the destination and sets CF (clear on failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomExit {
    /// Destination register (bits 6:3).
    pub destination: Gpr,
    /// Operand size (bits 12:11): 16, 32 or 64 bits (3 is reserved and kept as
    /// [`OperandSize::Reserved`]).
    pub operand_size: OperandSize,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn offset_sums_and_wraps_per_address_size() {
        // 32-bit, base RBX, index RSI * 4, displacement -4 (sign-extended).
        let info = (1 << 7) | 2 | (3 << 15) | (6 << 18) | (3 << 23);
        let m = MemoryAddress::from_fields(info, (-4i64) as u64);
        assert_eq!(m.displacement, 0xFFFF_FFFC);
        let read = |g: Gpr| match g {
            Gpr::Rbx => 0x1000,
            Gpr::Rsi => 2,
            _ => 0xDEAD,
        };
        assert_eq!(m.offset(read), Some(0x1000 + 8 - 4));
        // No base, no index: the displacement alone (RIP-relative already summed).
        let m = MemoryAddress::from_fields((2 << 7) | (1 << 22) | (1 << 27), 0x1234_5678_9ABC);
        assert_eq!(m.offset(read), Some(0x1234_5678_9ABC));
        // 16-bit wraps at 64 KiB.
        let m = MemoryAddress::from_fields((1 << 22) | (3 << 23), 0x10);
        assert_eq!(m.offset(|_| 0xFFFF), Some(0xF));
        // Reserved address size.
        let m = MemoryAddress::from_fields(3 << 7, 0);
        assert_eq!(m.offset(read), None);
    }

    #[test]
    fn operands_per_instruction() {
        // VMREAD with a register destination (bit 10, Reg1 = RDX) and field in R9.
        let info = (1 << 10) | (2 << 3) | (9 << 28);
        assert_eq!(
            VmxInstructionExit::decode(BasicExitReason::VMREAD, info, 0xFFFF),
            Some(VmxInstructionExit::Vmread(VmreadVmwriteExit {
                field_register: Gpr::R9,
                operand: ExitOperand::Register(Gpr::Rdx),
            }))
        );
        assert_eq!(
            VmxInstructionExit::decode(BasicExitReason::VMXOFF, u32::MAX, u64::MAX),
            Some(VmxInstructionExit::Vmxoff)
        );
        assert_eq!(
            VmxInstructionExit::decode(BasicExitReason::CPUID, 0, 0),
            None
        );
    }

    proptest! {
        /// Every VMX-instruction reason decodes to itself, whatever the fields hold.
        #[test]
        fn decode_is_total(info in any::<u32>(), qualification in any::<u64>(), reason in 0u16..100) {
            let r = BasicExitReason(reason);
            match VmxInstructionExit::decode(r, info, qualification) {
                Some(exit) => prop_assert_eq!(exit.reason(), r),
                None => prop_assert!(!matches!(reason, 19..=27 | 50 | 53)),
            }
            let m = MemoryAddress::from_fields(info, qualification);
            let _ = m.offset(|g| u64::from(g.number()).wrapping_mul(qualification));
        }
    }
}
