//! Guest activity state (VMCS encoding 0x4826; SDM Vol. 3C §25.4.2, Table 25-3; support
//! reported by IA32_VMX_MISC bits 8:6, Vol. 3D §A.6).

use core::fmt;

/// The logical processor's activity state (SDM Vol. 3C §25.4.2).
///
/// Open: every `u32` is representable; values above 3 are not defined (VM entry fails on
/// them, and on states the processor does not support, §27.3.1.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ActivityState(pub u32);

impl ActivityState {
    /// Wraps the field value, unknown states included (total: every value is kept exactly).
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// 0: active, executing instructions normally.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const ACTIVE: Self = Self(0);
    /// 1: HLT, inactive after executing HLT.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const HLT: Self = Self(1);
    /// 2: shutdown, inactive after a triple fault or similar.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const SHUTDOWN: Self = Self(2);
    /// 3: wait-for-SIPI, inactive after an INIT, waiting for a startup IPI.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const WAIT_FOR_SIPI: Self = Self(3);

    /// The raw value.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The SDM's name, or `None` for an undefined value.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            0 => Some("Active"),
            1 => Some("HLT"),
            2 => Some("Shutdown"),
            3 => Some("Wait-for-SIPI"),
            _ => None,
        }
    }

    /// The IA32_VMX_MISC bit that reports support for this state (6 HLT, 7 shutdown,
    /// 8 wait-for-SIPI), or `None` for active (always supported) and undefined values.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const fn vmx_misc_bit(self) -> Option<u32> {
        match self.0 {
            1 => Some(6),
            2 => Some(7),
            3 => Some(8),
            _ => None,
        }
    }

    /// Whether a processor whose IA32_VMX_MISC MSR reads `vmx_misc` supports this state.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const fn is_supported(self, vmx_misc: u64) -> bool {
        match self.0 {
            0 => true,
            _ => match self.vmx_misc_bit() {
                Some(bit) => vmx_misc & (1 << bit) != 0,
                None => false,
            },
        }
    }
}

impl fmt::Debug for ActivityState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "ActivityState({})", self.0),
        }
    }
}
