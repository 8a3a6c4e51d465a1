//! The guest general-purpose registers the VMCS does not hold (SDM Vol. 3C §25.4.1: RSP, RIP
//! and RFLAGS are in the VMCS guest-state area; the other 15 GPRs and CR2 are not and are
//! switched by software around VM entries and exits).

pub use vmx_defs::instruction_info::Gpr;

/// The 15 guest GPRs other than RSP, plus guest CR2, as saved at VM exit and loaded before
/// VM entry by the entry code. `repr(C)`: the assembly addresses the fields by offset.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuestRegisters {
    /// RAX.
    pub rax: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// RBX.
    pub rbx: u64,
    /// Unused slot keeping the SDM's register numbering (RSP is GUEST_RSP in the VMCS).
    pub unused_rsp: u64,
    /// RBP.
    pub rbp: u64,
    /// RSI.
    pub rsi: u64,
    /// RDI.
    pub rdi: u64,
    /// R8.
    pub r8: u64,
    /// R9.
    pub r9: u64,
    /// R10.
    pub r10: u64,
    /// R11.
    pub r11: u64,
    /// R12.
    pub r12: u64,
    /// R13.
    pub r13: u64,
    /// R14.
    pub r14: u64,
    /// R15.
    pub r15: u64,
    /// CR2 (not part of the VMCS; SDM §25.4.1).
    pub cr2: u64,
}

impl GuestRegisters {
    /// The value of `gpr`; `None` for RSP, which lives in the VMCS.
    pub const fn get(&self, gpr: Gpr) -> Option<u64> {
        Some(match gpr {
            Gpr::Rax => self.rax,
            Gpr::Rcx => self.rcx,
            Gpr::Rdx => self.rdx,
            Gpr::Rbx => self.rbx,
            Gpr::Rsp => return None,
            Gpr::Rbp => self.rbp,
            Gpr::Rsi => self.rsi,
            Gpr::Rdi => self.rdi,
            Gpr::R8 => self.r8,
            Gpr::R9 => self.r9,
            Gpr::R10 => self.r10,
            Gpr::R11 => self.r11,
            Gpr::R12 => self.r12,
            Gpr::R13 => self.r13,
            Gpr::R14 => self.r14,
            Gpr::R15 => self.r15,
        })
    }

    /// Sets `gpr`; returns `false` for RSP (write GUEST_RSP instead).
    pub fn set(&mut self, gpr: Gpr, value: u64) -> bool {
        let slot = match gpr {
            Gpr::Rax => &mut self.rax,
            Gpr::Rcx => &mut self.rcx,
            Gpr::Rdx => &mut self.rdx,
            Gpr::Rbx => &mut self.rbx,
            Gpr::Rsp => return false,
            Gpr::Rbp => &mut self.rbp,
            Gpr::Rsi => &mut self.rsi,
            Gpr::Rdi => &mut self.rdi,
            Gpr::R8 => &mut self.r8,
            Gpr::R9 => &mut self.r9,
            Gpr::R10 => &mut self.r10,
            Gpr::R11 => &mut self.r11,
            Gpr::R12 => &mut self.r12,
            Gpr::R13 => &mut self.r13,
            Gpr::R14 => &mut self.r14,
            Gpr::R15 => &mut self.r15,
        };
        *slot = value;
        true
    }
}
