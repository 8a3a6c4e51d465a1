//! Human-readable `Display` for every exit-qualification type (SDM Vol. 3C §28.2.1, Tables
//! 28-1 to 28-7), for logs and exit dumps: e.g. "MOV to CR3 from RAX", "IN byte from port
//! 0x60", "EPT violation: data write at a page that is readable, not writable".

use super::{
    ApicAccessQualification, ApicAccessType, ApicWriteQualification, CrAccessQualification,
    CrAccessType, DebugExceptionQualification, DisplacementQualification, EntryFailureCode,
    EntryFailureQualification, EptLinearAccess, EptViolationQualification, ExitQualification,
    InstructionTimeoutQualification, IoDirection, IoOperandEncoding, IoQualification, IoSize,
    LinearAddressQualification, LmswOperandType, MovDrDirection, MovDrQualification,
    MsrImmediateQualification, MsrLoadFailureQualification, MwaitQualification,
    PmlFullQualification, SipiQualification, SppEvent, SppQualification, TaskSwitchQualification,
    TaskSwitchSource, VirtualizedEoiQualification, WrmsrInstruction, WrmsrQualification,
};
use crate::instruction_info::Gpr;
use core::fmt::{self, Display, Formatter, Write};

/// Writes a register name in upper case ("RAX").
fn gpr(f: &mut Formatter<'_>, reg: Gpr) -> fmt::Result {
    for c in reg.name().chars() {
        f.write_char(c.to_ascii_uppercase())?;
    }
    Ok(())
}

/// Writes ", NMI unblocking due to IRET" when `set`.
fn nmi_unblocking(f: &mut Formatter<'_>, set: bool) -> fmt::Result {
    if set {
        f.write_str(", NMI unblocking due to IRET")?;
    }
    Ok(())
}

impl Display for DebugExceptionQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("debug exception:")?;
        let mut any = false;
        for n in 0..4 {
            if self.breakpoint_met(n) {
                write!(f, " B{n}")?;
                any = true;
            }
        }
        for (set, name) in [
            (self.bus_lock_detected(), " bus lock"),
            (self.debug_register_access(), " BD (debug-register access)"),
            (self.single_step(), " BS (single step)"),
            (self.rtm(), " RTM"),
        ] {
            if set {
                f.write_str(name)?;
                any = true;
            }
        }
        if !any {
            f.write_str(" no condition reported")?;
        }
        Ok(())
    }
}

impl Display for LinearAddressQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "linear address {:#x}", self.linear_address())
    }
}

impl Display for SipiQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIPI vector {:#04x} (start address {:#x})",
            self.vector(),
            self.start_address()
        )
    }
}

impl Display for TaskSwitchSource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Call => "CALL",
            Self::Iret => "IRET",
            Self::Jmp => "JMP",
            Self::TaskGate => "task gate in the IDT",
        })
    }
}

impl Display for TaskSwitchQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task switch by {} to TSS selector {:#06x}",
            self.source(),
            self.tss_selector()
        )
    }
}

impl Display for DisplacementQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "displacement {:#x}", self.displacement())
    }
}

impl Display for CrAccessQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let cr = self.cr_number();
        match self.access_type() {
            CrAccessType::MovToCr => {
                write!(f, "MOV to CR{cr} from ")?;
                gpr(f, self.gpr())
            }
            CrAccessType::MovFromCr => {
                write!(f, "MOV from CR{cr} to ")?;
                gpr(f, self.gpr())
            }
            CrAccessType::Clts => f.write_str("CLTS"),
            CrAccessType::Lmsw => {
                let operand = match self.lmsw_operand_type() {
                    LmswOperandType::Register => "register",
                    LmswOperandType::Memory => "memory",
                };
                write!(
                    f,
                    "LMSW from {operand} operand, source data {:#06x}",
                    self.lmsw_source_data()
                )
            }
        }
    }
}

impl Display for MovDrQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let dr = self.dr_number();
        match self.direction() {
            MovDrDirection::ToDr => write!(f, "MOV to DR{dr} from ")?,
            MovDrDirection::FromDr => write!(f, "MOV from DR{dr} to ")?,
        }
        gpr(f, self.gpr())
    }
}

impl Display for IoSize {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Byte => f.write_str("byte"),
            Self::Word => f.write_str("word"),
            Self::Dword => f.write_str("dword"),
            Self::Reserved(v) => write!(f, "reserved size {v}"),
        }
    }
}

impl Display for IoQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (name, prep) = match (self.direction(), self.is_string()) {
            (IoDirection::In, false) => ("IN", "from"),
            (IoDirection::Out, false) => ("OUT", "to"),
            (IoDirection::In, true) => ("INS", "from"),
            (IoDirection::Out, true) => ("OUTS", "to"),
        };
        if self.is_rep() {
            f.write_str("REP ")?;
        }
        write!(f, "{name} {} {prep} port {:#x}", self.size(), self.port())?;
        match self.operand_encoding() {
            IoOperandEncoding::Dx => f.write_str(" (DX)"),
            IoOperandEncoding::Immediate => f.write_str(" (immediate)"),
        }
    }
}

impl Display for WrmsrQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.instruction() {
            WrmsrInstruction::Wrmsr => f.write_str("WRMSR"),
            WrmsrInstruction::Wrmsrns => f.write_str("WRMSRNS"),
            WrmsrInstruction::Unknown(v) => write!(f, "WRMSR-class instruction {v:#x}"),
        }
    }
}

impl Display for EntryFailureQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.code() {
            EntryFailureCode::NoSpecifiedReason => f.write_str("no specified reason"),
            EntryFailureCode::PdpteLoad => f.write_str("failure loading the PDPTEs"),
            EntryFailureCode::NmiInjectionBlockedBySti => {
                f.write_str("NMI injection while blocking by STI")
            }
            EntryFailureCode::InvalidVmcsLinkPointer => f.write_str("invalid VMCS link pointer"),
            EntryFailureCode::Unknown(v) => write!(f, "unknown failure code {v:#x}"),
        }
    }
}

impl Display for MsrLoadFailureQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "MSR-load entry {} failed", self.entry_number())
    }
}

impl Display for MwaitQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.monitor_armed() {
            "MWAIT with monitoring hardware armed"
        } else {
            "MWAIT with monitoring hardware not armed"
        })
    }
}

impl Display for ApicAccessType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::LinearRead => f.write_str("linear data read"),
            Self::LinearWrite => f.write_str("linear data write"),
            Self::LinearFetch => f.write_str("linear instruction fetch"),
            Self::LinearEventDelivery => f.write_str("linear access during event delivery"),
            Self::GuestPhysicalEventDelivery => {
                f.write_str("guest-physical access during event delivery")
            }
            Self::GuestPhysicalInstruction => {
                f.write_str("guest-physical access by an instruction")
            }
            Self::Unknown(v) => write!(f, "access type {v}"),
        }
    }
}

impl Display for ApicAccessQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "APIC access: {}", self.access_type())?;
        if let Some(offset) = self.linear_offset() {
            write!(f, " at offset {offset:#05x}")?;
        }
        if self.asynchronous_to_instruction() {
            f.write_str(", asynchronous to instruction execution")?;
        }
        Ok(())
    }
}

impl Display for VirtualizedEoiQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "virtualized EOI for vector {:#04x}", self.vector())
    }
}

impl Display for EptViolationQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("EPT violation:")?;
        let mut sep = " ";
        for (set, name) in [
            (self.data_read(), "data read"),
            (self.data_write(), "data write"),
            (self.instruction_fetch(), "instruction fetch"),
            (self.shadow_stack_access(), "shadow-stack access"),
        ] {
            if set {
                write!(f, "{sep}{name}")?;
                sep = " + ";
            }
        }
        if sep == " " {
            f.write_str(" access")?;
        }
        write!(
            f,
            "; page {}{}{}",
            if self.readable() { 'r' } else { '-' },
            if self.writable() { 'w' } else { '-' },
            if self.executable() { 'x' } else { '-' },
        )?;
        match self.linear_access() {
            Some(EptLinearAccess::Translation) => f.write_str("; linear address translated")?,
            Some(EptLinearAccess::PagingStructure) => {
                f.write_str("; guest paging-structure access")?
            }
            None if self.guest_linear_address_valid() => {}
            None => f.write_str("; no guest linear address")?,
        }
        if self.asynchronous_to_instruction() {
            f.write_str("; asynchronous to instruction execution")?;
        }
        nmi_unblocking(f, self.nmi_unblocking())
    }
}

impl Display for ApicWriteQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "APIC write at offset {:#05x}", self.offset())
    }
}

impl Display for PmlFullQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("page-modification log full")?;
        nmi_unblocking(f, self.nmi_unblocking())
    }
}

impl Display for SppQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.event() {
            SppEvent::Misconfiguration => "SPP misconfiguration",
            SppEvent::Miss => "SPP miss",
        })?;
        nmi_unblocking(f, self.nmi_unblocking())
    }
}

impl Display for InstructionTimeoutQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("instruction timeout")?;
        if self.vm_context_invalid() {
            f.write_str(", VM context invalid")?;
        }
        nmi_unblocking(f, self.nmi_unblocking())
    }
}

impl Display for MsrImmediateQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "MSR {:#x}", self.msr_index())
    }
}

impl Display for ExitQualification {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::DebugException(q) => q.fmt(f),
            Self::PageFault(q) => write!(f, "page fault at {q}"),
            Self::Sipi(q) => q.fmt(f),
            Self::IoSmi(q) => write!(f, "I/O SMI after {q}"),
            Self::TaskSwitch(q) => q.fmt(f),
            Self::Invlpg(q) => write!(f, "INVLPG of {q}"),
            Self::Displacement(q) => q.fmt(f),
            Self::CrAccess(q) => q.fmt(f),
            Self::MovDr(q) => q.fmt(f),
            Self::Io(q) => q.fmt(f),
            Self::Wrmsr(q) => q.fmt(f),
            Self::EntryFailure(q) => write!(f, "VM-entry failure: {q}"),
            Self::MsrLoadFailure(q) => write!(f, "VM-entry failure: {q}"),
            Self::Mwait(q) => q.fmt(f),
            Self::ApicAccess(q) => q.fmt(f),
            Self::VirtualizedEoi(q) => q.fmt(f),
            Self::EptViolation(q) => q.fmt(f),
            Self::ApicWrite(q) => q.fmt(f),
            Self::PmlFull(q) => q.fmt(f),
            Self::Spp(q) => q.fmt(f),
            Self::InstructionTimeout(q) => q.fmt(f),
            Self::MsrImmediate(q) => write!(f, "immediate-form access to {q}"),
            Self::Raw(raw) => write!(f, "exit qualification {raw:#x}"),
        }
    }
}
