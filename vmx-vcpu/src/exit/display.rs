//! `Display` for [`VmExit`] and its payloads: one human-readable line naming the exit
//! reason (SDM Vol. 3D Appendix C) and what the exit reports (Vol. 3C §28.2), e.g.
//! `CPUID leaf 0x1 subleaf 0x0`, `I/O OUT port 0x3f8 size 1 value 0x41`,
//! `EPT violation at GPA 0x1000 (read, not present)`.

use core::fmt::{self, Display, Formatter};

use vmx_defs::qualification::{MovDrDirection, MovDrQualification};

use super::{
    ApicAccessExit, CrAccess, DescriptorTableExit, EntryFailure, EptViolation, ExceptionExit,
    ExitOperand, InvalidationExit, IoExit, LdtrTrExit, MemoryAddress, RandomExit, StringIo, VmExit,
    VmcallArgs, VmreadVmwriteExit, VmxInstructionExit,
};

impl Display for ApicAccessExit {
    /// `APIC access (linear data write) at offset 0x80`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        use vmx_defs::qualification::ApicAccessType as T;
        let kind = match self.access {
            T::LinearRead => "linear data read",
            T::LinearWrite => "linear data write",
            T::LinearFetch => "linear instruction fetch",
            T::LinearEventDelivery => "linear access during event delivery",
            T::GuestPhysicalEventDelivery => "guest-physical access during event delivery",
            T::GuestPhysicalInstruction => "guest-physical access by an instruction",
            _ => "unknown access type",
        };
        write!(f, "APIC access ({kind})")?;
        match self.offset {
            Some(o) => write!(f, " at offset {o:#x}"),
            None => Ok(()),
        }
    }
}

impl Display for MemoryAddress {
    /// `DS:[rbx+rsi*4+0x10] (64-bit address)`, `ES:[0x1000] (16-bit address)`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let op = &self.operand;
        write!(f, "{}:[", op.segment)?;
        let mut empty = true;
        if let Some(base) = op.base {
            write!(f, "{base}")?;
            empty = false;
        }
        if let Some(index) = op.index {
            if !empty {
                f.write_str("+")?;
            }
            write!(f, "{index}*{}", op.scaling.factor())?;
            empty = false;
        }
        if empty {
            write!(f, "{:#x}", self.displacement)?;
        } else if self.displacement != 0 {
            write!(f, "+{:#x}", self.displacement)?;
        }
        write!(f, "] ({})", op.address_size)
    }
}

impl Display for ExitOperand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Register(gpr) => write!(f, "{gpr}"),
            Self::Memory(m) => write!(f, "{m}"),
        }
    }
}

impl Display for InvalidationExit {
    /// `type in rax, descriptor DS:[rbx] (64-bit address)`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "type in {}, descriptor {}",
            self.type_register, self.descriptor
        )
    }
}

impl Display for VmreadVmwriteExit {
    /// `field in rax, value rbx`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field in {}, value {}",
            self.field_register, self.operand
        )
    }
}

impl Display for VmxInstructionExit {
    /// `VMPTRLD DS:[rax] (64-bit address)`, `VMLAUNCH`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())?;
        match self {
            Self::Vmclear(m) | Self::Vmptrld(m) | Self::Vmptrst(m) | Self::Vmxon(m) => {
                write!(f, " {m}")
            }
            Self::Vmread(v) | Self::Vmwrite(v) => write!(f, " {v}"),
            Self::Invept(i) | Self::Invvpid(i) => write!(f, " {i}"),
            Self::Vmlaunch | Self::Vmresume | Self::Vmxoff => Ok(()),
        }
    }
}

impl Display for DescriptorTableExit {
    /// `LGDT DS:[rax] (32-bit address), 32-bit operand`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.instruction, self.operand)?;
        match self.operand_size {
            Some(size) => write!(f, ", {size}"),
            None => f.write_str(", 64-bit mode"),
        }
    }
}

impl Display for LdtrTrExit {
    /// `LTR rax`, `SLDT DS:[rbx] (64-bit address)`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.instruction, self.operand)
    }
}

impl Display for RandomExit {
    /// `into rax, 64-bit operand`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "into {}, {}", self.destination, self.operand_size)
    }
}

impl Display for StringIo {
    /// `linear address 0x1000 via ES, 32-bit address, DF=0`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "linear address {:#x}", self.linear_address)?;
        if let Some(segment) = self.segment {
            write!(f, " via {segment}")?;
        }
        match self.address_size {
            Some(a) => write!(f, ", {a}")?,
            None => f.write_str(", address size not reported")?,
        }
        write!(f, ", DF={}", u8::from(self.decrement))
    }
}

impl Display for IoExit {
    /// `I/O OUT port 0x3f8 size 1 value 0x41`, `I/O REP INS port 0x60 size 2, linear
    /// address ...`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = match (self.is_in, self.string) {
            (true, false) => "IN",
            (false, false) => "OUT",
            (true, true) => "INS",
            (false, true) => "OUTS",
        };
        let rep = if self.rep { "REP " } else { "" };
        write!(
            f,
            "I/O {rep}{name} port {:#x} size {}",
            self.port, self.size
        )?;
        if let Some(value) = self.value {
            write!(f, " value {value:#x}")?;
        }
        if let Some(s) = &self.string_io {
            write!(f, ", {s}")?;
        }
        Ok(())
    }
}

impl Display for CrAccess {
    /// `MOV to CR3 from rax (value 0x1000)`, `MOV from CR8 to rbx`, `CLTS`, `LMSW 0x1`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::MovTo { cr, gpr, value } => {
                write!(f, "MOV to CR{cr} from {gpr} (value {value:#x})")
            }
            Self::MovFrom { cr, gpr } => write!(f, "MOV from CR{cr} to {gpr}"),
            Self::Clts => f.write_str("CLTS"),
            Self::Lmsw {
                source,
                memory_operand,
            } => {
                write!(f, "LMSW {source:#x}")?;
                if *memory_operand {
                    f.write_str(" (memory operand)")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for EptViolation {
    /// `EPT violation at GPA 0x1000 (read, not present)`, `EPT violation at GPA 0x2000,
    /// GLA 0xffff800000002000 (write, page r-x)`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let q = &self.qualification;
        write!(f, "EPT violation at GPA {:#x}", self.gpa)?;
        if let Some(gla) = self.gla {
            write!(f, ", GLA {gla:#x}")?;
        }
        f.write_str(" (")?;
        let mut sep = "";
        for (set, name) in [
            (q.data_read(), "read"),
            (q.data_write(), "write"),
            (q.instruction_fetch(), "fetch"),
            (q.shadow_stack_access(), "shadow-stack"),
        ] {
            if set {
                write!(f, "{sep}{name}")?;
                sep = "+";
            }
        }
        if sep.is_empty() {
            f.write_str("access")?;
        }
        if !(q.readable() || q.writable() || q.executable()) {
            f.write_str(", not present)")
        } else {
            write!(
                f,
                ", page {}{}{})",
                if q.readable() { 'r' } else { '-' },
                if q.writable() { 'w' } else { '-' },
                if q.executable() { 'x' } else { '-' },
            )
        }
    }
}

impl Display for ExceptionExit {
    /// `#PF (14, Page Fault), hardware exception, error code 0x2, qualification 0x1000`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.vector, self.interruption_type)?;
        if let Some(code) = self.error_code {
            write!(f, ", error code {code:#x}")?;
        }
        if self.qualification != 0 {
            write!(f, ", qualification {:#x}", self.qualification)?;
        }
        if self.instruction_len != 0 {
            write!(f, ", instruction length {}", self.instruction_len)?;
        }
        if self.nmi_unblocking_iret {
            f.write_str(", NMI unblocking due to IRET")?;
        }
        Ok(())
    }
}

impl Display for VmcallArgs {
    /// `rax=0x1 rbx=0x0 rcx=0x0 rdx=0x0 rsi=0x0 rdi=0x0`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x}",
            self.rax, self.rbx, self.rcx, self.rdx, self.rsi, self.rdi
        )
    }
}

impl Display for EntryFailure {
    /// `VM-entry failure: VM_ENTRY_FAILURE_INVALID_GUEST_STATE (33), qualification 0x0`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VM-entry failure: {}, qualification {:#x}",
            self.reason.basic(),
            self.qualification
        )
    }
}

/// `MOV to DR7 from rax` / `MOV from DR6 to rbx`.
fn mov_dr(f: &mut Formatter<'_>, q: &MovDrQualification) -> fmt::Result {
    match q.direction() {
        MovDrDirection::ToDr => write!(f, "MOV to DR{} from {}", q.dr_number(), q.gpr()),
        MovDrDirection::FromDr => write!(f, "MOV from DR{} to {}", q.dr_number(), q.gpr()),
    }
}

impl Display for VmExit {
    /// One line naming the exit and what it reports.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exception(e) => write!(f, "exception {e}"),
            Self::Nmi {
                nmi_unblocking_iret,
            } => {
                f.write_str("NMI")?;
                if *nmi_unblocking_iret {
                    f.write_str(", NMI unblocking due to IRET")?;
                }
                Ok(())
            }
            Self::ExternalInterrupt { vector: Some(v) } => {
                write!(f, "external interrupt vector {:#x}", v.0)
            }
            Self::ExternalInterrupt { vector: None } => {
                f.write_str("external interrupt (not acknowledged)")
            }
            Self::TripleFault => f.write_str("triple fault"),
            Self::Init => f.write_str("INIT signal"),
            Self::Sipi(q) => write!(f, "{q}"),
            Self::InterruptWindow => f.write_str("interrupt window"),
            Self::NmiWindow => f.write_str("NMI window"),
            Self::TaskSwitch(q) => write!(f, "{q}"),
            Self::Cpuid { leaf, subleaf } => write!(f, "CPUID leaf {leaf:#x} subleaf {subleaf:#x}"),
            Self::Getsec => f.write_str("GETSEC"),
            Self::Hlt => f.write_str("HLT"),
            Self::Invd => f.write_str("INVD"),
            Self::Invlpg { address } => write!(f, "INVLPG {address:#x}"),
            Self::Rdpmc { counter } => write!(f, "RDPMC counter {counter:#x}"),
            Self::Rdtsc => f.write_str("RDTSC"),
            Self::Vmcall(args) => write!(f, "VMCALL {args}"),
            Self::VmxInstruction(i) => write!(f, "{i}"),
            Self::CrAccess(c) => write!(f, "{c}"),
            Self::MovDr(q) => mov_dr(f, q),
            Self::Io(io) => write!(f, "{io}"),
            Self::Rdmsr { msr } => write!(f, "RDMSR {msr:#x}"),
            Self::Wrmsr { msr, value } => write!(f, "WRMSR {msr:#x} value {value:#x}"),
            Self::EntryFailure(e) => write!(f, "{e}"),
            Self::Mwait => f.write_str("MWAIT"),
            Self::MonitorTrapFlag => f.write_str("monitor trap flag"),
            Self::Monitor => f.write_str("MONITOR"),
            Self::Pause => f.write_str("PAUSE"),
            Self::TprBelowThreshold => f.write_str("TPR below threshold"),
            Self::ApicAccess(a) => write!(f, "{a}"),
            Self::VirtualizedEoi { vector } => write!(f, "virtualized EOI of vector {vector:#x}"),
            Self::ApicWrite { offset } => write!(f, "APIC write at offset {offset:#x}"),
            Self::DescriptorTable(d) => write!(f, "{d}"),
            Self::LdtrTr(l) => write!(f, "{l}"),
            Self::EptViolation(v) => write!(f, "{v}"),
            Self::EptMisconfiguration { gpa } => {
                write!(f, "EPT misconfiguration at GPA {gpa:#x}")
            }
            Self::Rdtscp => f.write_str("RDTSCP"),
            Self::PreemptionTimer => f.write_str("VMX-preemption timer expired"),
            Self::Wbinvd => f.write_str("WBINVD"),
            Self::Xsetbv { index, value } => write!(f, "XSETBV XCR{index} value {value:#x}"),
            Self::Rdrand(r) => write!(f, "RDRAND {r}"),
            Self::Invpcid(i) => write!(f, "INVPCID {i}"),
            Self::Vmfunc { function, argument } => {
                write!(f, "VMFUNC function {function:#x} argument {argument:#x}")
            }
            Self::Rdseed(r) => write!(f, "RDSEED {r}"),
            Self::Other {
                reason,
                qualification,
            } => write!(f, "{reason}: {qualification}"),
        }
    }
}
