//! VM-exit reasons (SDM Vol. 3C §28.2.1 "Basic VM-Exit Information", Vol. 3D Appendix C "VMX Basic
//! Exit Reasons").
//!
//! The 32-bit "exit reason" VMCS field (encoding 0x4402) is [`ExitReason`]; its bits 15:0
//! are the [`BasicExitReason`].

use core::fmt;

/// A basic exit reason: bits 15:0 of the exit-reason field (SDM Vol. 3D Appendix C,
/// Table C-1).
///
/// Open: every `u16` is representable, so a reason a newer processor reports decodes
/// without loss; [`BasicExitReason::name`] returns `None` for numbers the SDM leaves
/// unused (35, 38, 42, 71, 82, 83) or does not define yet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BasicExitReason(pub u16);

macro_rules! exit_reasons {
    ($($(#[$attr:meta])* $name:ident = $num:literal, $desc:literal;)*) => {
        impl BasicExitReason {
            $(
                $(#[$attr])*
                #[doc = concat!("Exit reason ", stringify!($num), ": ", $desc, " (SDM Vol. 3D Appendix C).")]
                pub const $name: Self = Self($num);
            )*

            /// Every basic exit reason the SDM defines, in ascending order (unused numbers
            /// excluded).
            pub const ALL: &'static [Self] = &[$(Self::$name),*];

            /// The name of the associated constant (e.g. `"CPUID"`), or `None` for an unused
            /// or unknown number.
            ///
            /// SDM Vol. 3C §28.2.1.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// What causes this VM exit (SDM Vol. 3D Appendix C, Table C-1, condensed), or
            /// `None` for an unused or unknown number.
            pub const fn description(self) -> Option<&'static str> {
                match self.0 {
                    $($num => Some($desc),)*
                    _ => None,
                }
            }
        }
    };
}

exit_reasons! {
    EXCEPTION_OR_NMI = 0, "Exception (vector bit set in exception bitmap; includes #BR from BOUND, #DB from INT1, #BP from INT3, #OF from INTO, #UD from UD0/UD1/UD2) or NMI with NMI exiting=1";
    EXTERNAL_INTERRUPT = 1, "External interrupt arrived and external-interrupt exiting=1";
    TRIPLE_FAULT = 2, "Exception while attempting to call the double-fault handler that did not itself cause a VM exit via the exception bitmap";
    INIT_SIGNAL = 3, "INIT signal arrived";
    STARTUP_IPI = 4, "SIPI arrived while in wait-for-SIPI state";
    IO_SMI = 5, "SMI arrived immediately after retirement of an I/O instruction and caused an SMM VM exit";
    OTHER_SMI = 6, "SMI arrived and caused an SMM VM exit, not immediately after an I/O instruction";
    INTERRUPT_WINDOW = 7, "RFLAGS.IF=1, no STI/MOV-SS blocking, and interrupt-window exiting=1";
    NMI_WINDOW = 8, "No virtual-NMI blocking, no MOV-SS blocking, and NMI-window exiting=1";
    TASK_SWITCH = 9, "Guest software attempted a task switch";
    CPUID = 10, "Guest software attempted to execute CPUID";
    GETSEC = 11, "Guest software attempted to execute GETSEC";
    HLT = 12, "Guest software attempted to execute HLT and HLT exiting=1";
    INVD = 13, "Guest software attempted to execute INVD";
    INVLPG = 14, "Guest software attempted to execute INVLPG and INVLPG exiting=1";
    RDPMC = 15, "Guest software attempted to execute RDPMC and RDPMC exiting=1";
    RDTSC = 16, "Guest software attempted to execute RDTSC and RDTSC exiting=1";
    RSM = 17, "Guest software attempted to execute RSM in SMM";
    VMCALL = 18, "VMCALL executed by guest software (or by the executive monitor: SMM VM exit)";
    VMCLEAR = 19, "Guest software attempted to execute VMCLEAR";
    VMLAUNCH = 20, "Guest software attempted to execute VMLAUNCH";
    VMPTRLD = 21, "Guest software attempted to execute VMPTRLD";
    VMPTRST = 22, "Guest software attempted to execute VMPTRST";
    VMREAD = 23, "Guest software attempted to execute VMREAD";
    VMRESUME = 24, "Guest software attempted to execute VMRESUME";
    VMWRITE = 25, "Guest software attempted to execute VMWRITE";
    VMXOFF = 26, "Guest software attempted to execute VMXOFF";
    VMXON = 27, "Guest software attempted to execute VMXON";
    CONTROL_REGISTER_ACCESS = 28, "CLTS, LMSW or MOV CR (CR0/CR3/CR4/CR8) when VM-execution controls require an exit (not used for trap-like MOV-to-CR8 TPR-shadow exits, which use 43)";
    MOV_DR = 29, "MOV to/from a debug register with MOV-DR exiting=1";
    IO_INSTRUCTION = 30, "I/O instruction with unconditional I/O exiting (no I/O bitmaps) or I/O-bitmap bit set";
    RDMSR = 31, "RDMSR and: MSR bitmaps not used, or ECX outside 0-1FFFH/C0000000H-C0001FFFH, or read-bitmap bit set";
    WRMSR = 32, "WRMSR and: MSR bitmaps not used, or ECX outside the bitmap ranges, or write-bitmap bit set";
    VM_ENTRY_FAILURE_INVALID_GUEST_STATE = 33, "VM-entry failure due to invalid guest state (reported with exit-reason bit 31 set)";
    VM_ENTRY_FAILURE_MSR_LOADING = 34, "VM-entry failure due to MSR loading (reported with exit-reason bit 31 set)";
    MWAIT = 36, "Guest software attempted to execute MWAIT and MWAIT exiting=1";
    MONITOR_TRAP_FLAG = 37, "Monitor trap flag VM exit (MTF=1, or pending MTF injected by VM entry)";
    MONITOR = 39, "Guest software attempted to execute MONITOR and MONITOR exiting=1";
    PAUSE = 40, "PAUSE with PAUSE exiting=1, or PAUSE loop exceeding PLE_Window with PAUSE-loop exiting=1";
    VM_ENTRY_FAILURE_MACHINE_CHECK = 41, "Machine-check event during VM entry (reported with exit-reason bit 31 set)";
    // The SDM's "VTPR[7:4]" is bit-range notation, not a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    TPR_BELOW_THRESHOLD = 43, "VTPR[7:4] below TPR threshold with use TPR shadow=1 (TPR virtualization or VM entry); trap-like";
    APIC_ACCESS = 44, "Access to the APIC-access page with virtualize APIC accesses=1";
    VIRTUALIZED_EOI = 45, "EOI virtualization for a vector whose EOI-exit bitmap bit is set; trap-like";
    GDTR_IDTR_ACCESS = 46, "LGDT, LIDT, SGDT or SIDT with descriptor-table exiting=1";
    LDTR_TR_ACCESS = 47, "LLDT, LTR, SLDT or STR with descriptor-table exiting=1";
    EPT_VIOLATION = 48, "Guest-physical access disallowed by EPT paging-structure configuration";
    EPT_MISCONFIGURATION = 49, "Guest-physical access encountered a misconfigured EPT paging-structure entry";
    INVEPT = 50, "Guest software attempted to execute INVEPT";
    RDTSCP = 51, "RDTSCP with enable RDTSCP=1 and RDTSC exiting=1";
    VMX_PREEMPTION_TIMER_EXPIRED = 52, "VMX-preemption timer counted down to zero";
    INVVPID = 53, "Guest software attempted to execute INVVPID";
    WBINVD = 54, "WBINVD (or WBNOINVD) with WBINVD exiting=1";
    XSETBV = 55, "Guest software attempted to execute XSETBV";
    APIC_WRITE = 56, "Write to virtual-APIC page that must be virtualized by VMM software; trap-like";
    RDRAND = 57, "RDRAND with RDRAND exiting=1";
    INVPCID = 58, "INVPCID with enable INVPCID=1 and INVLPG exiting=1";
    VMFUNC = 59, "VMFUNC invoked a VM function that was not enabled or generated a function-specific exit condition";
    ENCLS = 60, "ENCLS with enable ENCLS exiting=1 and ENCLS-exiting bitmap bit (EAX<63: bit EAX; else bit 63) set";
    RDSEED = 61, "RDSEED with RDSEED exiting=1";
    PAGE_MODIFICATION_LOG_FULL = 62, "PML entry creation attempted while PML index not in range 0-511";
    XSAVES = 63, "XSAVES with enable XSAVES/XRSTORS=1 and a bit set in EDX:EAX AND IA32_XSS AND XSS-exiting bitmap";
    XRSTORS = 64, "XRSTORS with enable XSAVES/XRSTORS=1 and a bit set in EDX:EAX AND IA32_XSS AND XSS-exiting bitmap";
    PCONFIG = 65, "PCONFIG with enable PCONFIG=1 and PCONFIG-exiting bitmap bit (EAX<63: bit EAX; else bit 63) set";
    SPP_RELATED_EVENT = 66, "SPP miss or SPP misconfiguration while determining sub-page write permission";
    UMWAIT = 67, "UMWAIT with enable user wait and pause=1 and RDTSC exiting=1";
    TPAUSE = 68, "TPAUSE with enable user wait and pause=1 and RDTSC exiting=1";
    LOADIWKEY = 69, "LOADIWKEY with LOADIWKEY exiting=1";
    ENCLV = 70, "ENCLV with enable ENCLV exiting=1 and ENCLV-exiting bitmap bit (EAX<63: bit EAX; else bit 63) set";
    ENQCMD_PASID_TRANSLATION_FAILURE = 72, "ENQCMD PASID translation failure (PASID-directory entry not present, PASID-table entry not valid, or reserved bit set)";
    ENQCMDS_PASID_TRANSLATION_FAILURE = 73, "ENQCMDS PASID translation failure (same conditions as 72)";
    BUS_LOCK = 74, "Processor asserted a bus lock while VMM bus-lock detection=1 (also sets exit-reason bit 26); trap-like";
    INSTRUCTION_TIMEOUT = 75, "Instruction timeout=1 and the processor could not reach an instruction boundary within the instruction-timeout control time";
    SEAMCALL = 76, "Guest software attempted to execute SEAMCALL";
    TDCALL = 77, "Guest software attempted to execute TDCALL";
    RDMSRLIST = 78, "RDMSRLIST and MSR bitmaps not used or, for an accessed MSR, index outside bitmap ranges or read-bitmap bit set";
    WRMSRLIST = 79, "WRMSRLIST and MSR bitmaps not used or, for an accessed MSR, index outside bitmap ranges or write-bitmap bit set";
    URDMSR = 80, "Guest software attempted to execute URDMSR and the MSR bitmap (or absence of MSR bitmaps) requires an exit";
    UWRMSR = 81, "Guest software attempted to execute UWRMSR and the MSR bitmap (or absence of MSR bitmaps) requires an exit";
    RDMSR_IMMEDIATE = 84, "RDMSR with immediate MSR-index operand and MSR bitmaps require an exit";
    WRMSRNS_IMMEDIATE = 85, "WRMSRNS with immediate MSR-index operand and MSR bitmaps require an exit";
}

impl BasicExitReason {
    /// Wraps the basic exit reason number, unknown ones included (total: every value is kept exactly; the same as `From<u16>`).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn from_raw(raw: u16) -> Self {
        Self(raw)
    }

    /// The raw value (the basic exit reason number, unknown ones included).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// The raw number.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn number(self) -> u16 {
        self.0
    }

    /// Whether the SDM defines this reason.
    pub const fn is_defined(self) -> bool {
        self.name().is_some()
    }

    /// Whether this reason is only reported for a VM-entry failure (exit-reason bit 31
    /// set): invalid guest state (33), MSR loading (34) or machine-check event (41)
    /// (SDM Vol. 3C §27.8, "VM-Entry Failures During or After Loading Guest State").
    pub const fn is_entry_failure_reason(self) -> bool {
        matches!(self.0, 33 | 34 | 41)
    }
}

impl From<u16> for BasicExitReason {
    fn from(raw: u16) -> Self {
        Self(raw)
    }
}

impl fmt::Debug for BasicExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "BasicExitReason({})", self.0),
        }
    }
}

impl fmt::Display for BasicExitReason {
    /// `"CPUID (10)"`, or `"unknown exit reason 35"` for a number the SDM does not define.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "unknown exit reason {}", self.0),
        }
    }
}

/// The full 32-bit exit-reason field (VMCS encoding 0x4402; SDM Vol. 3C §28.2.1,
/// "Format of Exit Reason" table).
///
/// Bits: 15:0 basic exit reason; 16 always 0; 24:17 not currently defined; 25 shadow stack
/// prematurely busy; 26 bus lock asserted; 27 enclave mode; 28 pending MTF VM exit; 29 VM
/// exit from VMX root operation; 30 not currently defined; 31 VM-entry failure. Every `u32`
/// decodes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExitReason(pub u32);

impl ExitReason {
    /// Wraps the exit-reason field value (total: every value is kept exactly; the same as `From<u32>`).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// Bit 25: the VM exit caused a shadow stack to become prematurely busy (reported only
    /// when the secondary VM-exit control "prematurely busy shadow stack" is 1).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const SHADOW_STACK_PREMATURELY_BUSY: u32 = 1 << 25;
    /// Bit 26: a bus lock was asserted (VMM bus-lock detection); also set with basic reason
    /// [`BasicExitReason::BUS_LOCK`].
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const BUS_LOCK_ASSERTED: u32 = 1 << 26;
    /// Bit 27: the VM exit was incident to enclave mode.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const ENCLAVE_MODE: u32 = 1 << 27;
    /// Bit 28: pending MTF VM exit (SMM VM exits only).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const PENDING_MTF_VM_EXIT: u32 = 1 << 28;
    /// Bit 29: VM exit from VMX root operation (SMM VM exits only).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const VM_EXIT_FROM_VMX_ROOT: u32 = 1 << 29;
    /// Bit 31: VM-entry failure (0 = true VM exit).
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const VM_ENTRY_FAILURE: u32 = 1 << 31;
    /// Bits the SDM does not currently define (16, 24:17, 30); a processor reports them 0.
    pub const UNDEFINED_BITS: u32 = (1 << 16) | (0xff << 17) | (1 << 30);

    /// Builds an exit reason from a basic reason with every flag bit clear.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn from_basic(basic: BasicExitReason) -> Self {
        Self(basic.0 as u32)
    }

    /// The raw 32-bit field value.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Bits 15:0: the basic exit reason.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn basic(self) -> BasicExitReason {
        BasicExitReason(self.0 as u16)
    }

    /// Bit 31: this is a VM-entry failure, not a true VM exit (SDM Vol. 3C §27.8).
    pub const fn is_entry_failure(self) -> bool {
        self.0 & Self::VM_ENTRY_FAILURE != 0
    }

    /// Bit 29: VM exit from VMX root operation (an SMM VM exit; SDM Vol. 3C §25.9.1).
    pub const fn from_vmx_root(self) -> bool {
        self.0 & Self::VM_EXIT_FROM_VMX_ROOT != 0
    }

    /// Bit 28: a pending MTF VM exit (an SMM VM exit; SDM Vol. 3C §25.9.1).
    pub const fn pending_mtf(self) -> bool {
        self.0 & Self::PENDING_MTF_VM_EXIT != 0
    }

    /// Bit 27: the VM exit was incident to enclave mode (SGX; SDM Vol. 3C §25.9.1).
    pub const fn enclave(self) -> bool {
        self.0 & Self::ENCLAVE_MODE != 0
    }

    /// Bit 26: a bus lock was asserted (VMM bus-lock detection, SDM Vol. 3C §26.2).
    pub const fn bus_lock(self) -> bool {
        self.0 & Self::BUS_LOCK_ASSERTED != 0
    }

    /// Bit 25: the VM exit caused a shadow stack to become prematurely busy (SDM Vol. 3C
    /// §28.2.1).
    pub const fn shadow_stack_prematurely_busy(self) -> bool {
        self.0 & Self::SHADOW_STACK_PREMATURELY_BUSY != 0
    }

    /// The bits the SDM does not currently define (16, 24:17, 30), as reported.
    pub const fn undefined_bits(self) -> u32 {
        self.0 & Self::UNDEFINED_BITS
    }
}

impl From<u32> for ExitReason {
    fn from(raw: u32) -> Self {
        Self(raw)
    }
}

impl From<ExitReason> for u32 {
    fn from(reason: ExitReason) -> Self {
        reason.0
    }
}

impl fmt::Debug for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitReason")
            .field("basic", &self.basic())
            .field("entry_failure", &self.is_entry_failure())
            .field("from_vmx_root", &self.from_vmx_root())
            .field("pending_mtf", &self.pending_mtf())
            .field("enclave", &self.enclave())
            .field("bus_lock", &self.bus_lock())
            .field(
                "shadow_stack_prematurely_busy",
                &self.shadow_stack_prematurely_busy(),
            )
            .finish()
    }
}

impl fmt::Display for ExitReason {
    /// The basic reason, prefixed by `"VM-entry failure: "` when bit 31 is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_entry_failure() {
            f.write_str("VM-entry failure: ")?;
        }
        fmt::Display::fmt(&self.basic(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_decode() {
        let r = ExitReason(0x8000_0021);
        assert!(r.is_entry_failure());
        assert_eq!(
            r.basic(),
            BasicExitReason::VM_ENTRY_FAILURE_INVALID_GUEST_STATE
        );
        assert!(r.basic().is_entry_failure_reason());
        let r = ExitReason(74 | (1 << 26));
        assert!(r.bus_lock() && !r.is_entry_failure());
        assert_eq!(r.basic(), BasicExitReason::BUS_LOCK);
    }

    #[test]
    fn all_is_sorted() {
        assert_eq!(BasicExitReason::ALL.len(), 80);
        assert!(BasicExitReason::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
