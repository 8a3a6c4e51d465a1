//! Human-readable `Display` for the VM-exit instruction-information types (SDM Vol. 3C
//! §28.2.5), for logs and exit dumps: e.g. "LGDT DS:[RAX+RBX*4] (64-bit address), 32-bit operand".
//! Registers print in upper case; a memory operand prints as segment, then base, index and
//! scale in brackets (the displacement is in the exit qualification, not here).

use super::{
    AddressSize, DescriptorTableInfo, DescriptorTableInstruction, ExitInstructionInfo, Gpr,
    InsOutsInfo, InvalidationInfo, LdtrTrInfo, LdtrTrInstruction, LoadiwkeyInfo, MemoryOperand,
    MsrImmediateInfo, Operand, OperandSize, RdrandRdseedInfo, Scaling, SegmentRegister,
    VmreadVmwriteInfo, VmxMemoryInfo,
};
use core::fmt::{self, Display, Formatter, Write};

/// Writes `s` in upper case.
fn upper(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        f.write_char(c.to_ascii_uppercase())?;
    }
    Ok(())
}

/// Writes a register name in upper case ("RAX").
fn gpr(f: &mut Formatter<'_>, reg: Gpr) -> fmt::Result {
    upper(f, reg.name())
}

impl Display for SegmentRegister {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => upper(f, name),
            None => write!(f, "reserved segment {}", self.bits()),
        }
    }
}

impl Display for AddressSize {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.width() {
            Some(w) => write!(f, "{w}-bit address"),
            None => write!(f, "reserved address size {}", self.bits()),
        }
    }
}

impl Display for OperandSize {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.width() {
            Some(w) => write!(f, "{w}-bit operand"),
            None => write!(f, "reserved operand size {}", self.bits()),
        }
    }
}

impl Display for Scaling {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "*{}", self.factor())
    }
}

impl Display for MemoryOperand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:[", self.segment)?;
        let mut empty = true;
        if let Some(base) = self.base {
            gpr(f, base)?;
            empty = false;
        }
        if let Some(index) = self.index {
            if !empty {
                f.write_char('+')?;
            }
            gpr(f, index)?;
            if self.scaling != Scaling::None {
                write!(f, "{}", self.scaling)?;
            }
            empty = false;
        }
        if empty {
            f.write_str("disp")?;
        }
        write!(f, "] ({})", self.address_size)
    }
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Register(reg) => gpr(f, *reg),
            Self::Memory(mem) => mem.fmt(f),
        }
    }
}

impl Display for InsOutsInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "string I/O via {}, {}",
            self.segment(),
            self.address_size()
        )
    }
}

impl Display for InvalidationInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("type in ")?;
        gpr(f, self.reg2())?;
        write!(f, ", descriptor at {}", self.memory_operand())
    }
}

impl Display for DescriptorTableInstruction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sgdt => "SGDT",
            Self::Sidt => "SIDT",
            Self::Lgdt => "LGDT",
            Self::Lidt => "LIDT",
        })
    }
}

impl Display for DescriptorTableInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}, {}",
            self.instruction(),
            self.memory_operand(),
            self.operand_size()
        )
    }
}

impl Display for LdtrTrInstruction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sldt => "SLDT",
            Self::Str => "STR",
            Self::Lldt => "LLDT",
            Self::Ltr => "LTR",
        })
    }
}

impl Display for LdtrTrInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.instruction(), self.operand())
    }
}

impl Display for RdrandRdseedInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("register ")?;
        gpr(f, self.operand_register())?;
        write!(f, ", {}", self.operand_size())
    }
}

impl Display for VmxMemoryInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "memory operand {}", self.memory_operand())
    }
}

impl Display for VmreadVmwriteInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("field encoding in ")?;
        gpr(f, self.reg2())?;
        write!(f, ", value operand {}", self.operand())
    }
}

impl Display for MsrImmediateInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("register ")?;
        gpr(f, self.register())
    }
}

impl Display for LoadiwkeyInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "XMM{}, XMM{}", self.xmm1(), self.xmm2())
    }
}

impl Display for ExitInstructionInfo {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::InsOuts(i) => i.fmt(f),
            Self::Invalidation(i) => i.fmt(f),
            Self::DescriptorTable(i) => i.fmt(f),
            Self::LdtrTr(i) => i.fmt(f),
            Self::RdrandRdseed(i) => i.fmt(f),
            Self::VmxMemory(i) => i.fmt(f),
            Self::VmreadVmwrite(i) => i.fmt(f),
            Self::MsrImmediate(i) => i.fmt(f),
            Self::Loadiwkey(i) => i.fmt(f),
            Self::Raw(raw) => write!(f, "instruction information {raw:#x}"),
        }
    }
}
