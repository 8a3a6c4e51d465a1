//! Exit qualification for task switches (SDM Vol. 3C §28.2.1, Table 28-2).

use super::bits;

/// Source of a task switch (bits 31:30 of the task-switch exit qualification, SDM Vol. 3C
/// Table 28-2). Every 2-bit value is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskSwitchSource {
    /// CALL instruction (0).
    Call,
    /// IRET instruction (1).
    Iret,
    /// JMP instruction (2).
    Jmp,
    /// Task gate in the IDT (3).
    TaskGate,
}

impl TaskSwitchSource {
    /// Decodes the 2-bit field; only the low 2 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn from_bits(value: u8) -> Self {
        match value & 0x3 {
            0 => Self::Call,
            1 => Self::Iret,
            2 => Self::Jmp,
            _ => Self::TaskGate,
        }
    }
}

/// Exit qualification of a task-switch VM exit (basic exit reason 9), SDM Vol. 3C §28.2.1
/// Table 28-2 "Exit Qualification for Task Switches". Bits 29:16 and 63:32 are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskSwitchQualification(u64);

super::impl_raw!(TaskSwitchQualification);

impl TaskSwitchQualification {
    /// Selector of the TSS to which the guest attempted to switch (bits 15:0, Table 28-2).
    pub const fn tss_selector(self) -> u16 {
        bits(self.0, 0, 15) as u16
    }

    /// Source of the task switch (bits 31:30, Table 28-2).
    pub const fn source(self) -> TaskSwitchSource {
        TaskSwitchSource::from_bits(bits(self.0, 30, 31) as u8)
    }
}
