//! Exit qualification for debug exceptions (SDM Vol. 3C §28.2.1, Table 28-1).

use super::bit;

/// Exit qualification of a VM exit caused by a debug exception (#DB, vector 1; basic exit
/// reason 0), SDM Vol. 3C §28.2.1 Table 28-1 "Exit Qualification for Debug Exceptions".
///
/// It reports what DR6 would have reported had the exception been delivered, with the
/// RTM and bus-lock bits active-high (DR6 has them active-low). Bits 10:4, 12, 15 and
/// 63:17 are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DebugExceptionQualification(u64);

super::impl_raw!(DebugExceptionQualification);

impl DebugExceptionQualification {
    /// B0–B3 (bits 3:0): bit *n* set means the condition of breakpoint *n* was met. May be
    /// set even for breakpoints not enabled in DR7 (SDM Vol. 3C Table 28-1).
    pub const fn breakpoints(self) -> u8 {
        (self.0 & 0xF) as u8
    }

    /// Whether the condition of breakpoint `n` (0–3) was met (bit `n`, Table 28-1); `false`
    /// for `n > 3`.
    pub const fn breakpoint_met(self, n: u8) -> bool {
        n < 4 && self.0 & (1 << n) != 0
    }

    /// BLD (bit 11): a bus lock was detected (OS bus-lock detection). Active-high here.
    /// Reported by recent processors; Linux documents it as matching the #DB payload.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn bus_lock_detected(self) -> bool {
        bit(self.0, 11)
    }

    /// BD (bit 13): debug-register access detected (DR7.GD) (SDM Vol. 3C Table 28-1).
    pub const fn debug_register_access(self) -> bool {
        bit(self.0, 13)
    }

    /// BS (bit 14): single step (RFLAGS.TF = 1 with DEBUGCTL.BTF = 0) or taken branch
    /// (TF = BTF = 1) (SDM Vol. 3C Table 28-1).
    pub const fn single_step(self) -> bool {
        bit(self.0, 14)
    }

    /// RTM (bit 16): the #DB or #BP occurred inside an RTM region with advanced debugging
    /// of RTM transactional regions enabled. Active-high here (SDM Vol. 3C Table 28-1).
    pub const fn rtm(self) -> bool {
        bit(self.0, 16)
    }
}
