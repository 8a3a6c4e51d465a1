//! IA32_FEATURE_CONTROL (MSR 0x3A): the firmware-controlled VMX enables
//! (SDM Vol. 3C §24.7, "Enabling and Entering VMX Operation"; Vol. 4, table 2-2).

bitflags::bitflags! {
    /// IA32_FEATURE_CONTROL (MSR 0x3A), SDM Vol. 3C §24.7.
    ///
    /// VMXON raises #GP unless the lock bit is 1 and the enable bit for the current mode
    /// (inside or outside SMX operation) is 1. Once the lock bit is 1 the MSR cannot be
    /// written until the next reset, so firmware decides; if firmware left it unlocked,
    /// system software may set the enable bit and the lock bit itself
    /// ([`FeatureControl::with_vmx_enabled`]). Reserved and future bits are kept as read.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct FeatureControl: u64 {
        /// Bit 0: lock bit; once 1, WRMSR to this MSR raises #GP until reset.
        const LOCKED = 1 << 0;
        /// Bit 1: VMXON allowed inside SMX operation (after GETSEC\[SENTER\]).
        const VMX_INSIDE_SMX = 1 << 1;
        /// Bit 2: VMXON allowed outside SMX operation.
        const VMX_OUTSIDE_SMX = 1 << 2;
        /// Bits 14:8: SENTER local function enables (one bit per GETSEC\[SENTER\] function).
        const SENTER_LOCAL_FUNCTIONS = 0x7f << 8;
        /// Bit 15: SENTER global enable.
        const SENTER_GLOBAL_ENABLE = 1 << 15;
        /// Bit 17: SGX launch control enable (IA32_SGXLEPUBKEYHASHn writable).
        const SGX_LAUNCH_CONTROL = 1 << 17;
        /// Bit 18: SGX global enable.
        const SGX_GLOBAL_ENABLE = 1 << 18;
        /// Bit 20: local machine check exceptions (LMCE) enabled.
        const LMCE_ON = 1 << 20;
        // Keep reserved and future bits as read.
        const _ = !0;
    }
}

impl FeatureControl {
    /// The enable bit that VMXON checks in the given mode: [`Self::VMX_INSIDE_SMX`] when the
    /// processor is in SMX operation, [`Self::VMX_OUTSIDE_SMX`] otherwise.
    ///
    /// SDM Vol. 3C §24.7.
    pub const fn vmx_enable_bit(in_smx: bool) -> Self {
        if in_smx {
            Self::VMX_INSIDE_SMX
        } else {
            Self::VMX_OUTSIDE_SMX
        }
    }

    /// Whether the lock bit (bit 0) is set.
    ///
    /// SDM Vol. 3C §24.7.
    pub const fn is_locked(self) -> bool {
        self.contains(Self::LOCKED)
    }

    /// Whether VMXON is permitted by this value in the given mode: locked, and the enable
    /// bit for the mode set (SDM Vol. 3C §24.7).
    pub const fn vmx_allowed(self, in_smx: bool) -> bool {
        self.contains(Self::LOCKED.union(Self::vmx_enable_bit(in_smx)))
    }

    /// Whether firmware locked the MSR with VMX disabled for the given mode: VMXON will raise
    /// #GP until the next reset and nothing software does can change that.
    ///
    /// SDM Vol. 3C §24.7.
    pub const fn vmx_locked_off(self, in_smx: bool) -> bool {
        self.is_locked() && !self.contains(Self::vmx_enable_bit(in_smx))
    }

    /// The value software writes to an unlocked MSR to permit VMXON in the given mode: this
    /// value with the enable bit for the mode and the lock bit set, every other bit kept.
    /// Writing it is only possible while [`Self::is_locked`] is false.
    ///
    /// SDM Vol. 3C §24.7.
    pub const fn with_vmx_enabled(self, in_smx: bool) -> Self {
        self.union(Self::LOCKED).union(Self::vmx_enable_bit(in_smx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_bios_value_allows_vmxon_outside_smx() {
        // Bochs BIOS leaves 0x5 (../shared/bochs/NOTES.md).
        let fc = FeatureControl::from_bits_retain(0x5);
        assert!(fc.is_locked());
        assert!(fc.vmx_allowed(false));
        assert!(!fc.vmx_allowed(true));
        assert!(fc.vmx_locked_off(true));
        assert!(!fc.vmx_locked_off(false));
    }

    #[test]
    fn unlocked_value_gets_enabled_and_locked() {
        let fc = FeatureControl::from_bits_retain(1 << 20 | 1 << 40);
        assert!(!fc.vmx_allowed(false) && !fc.vmx_locked_off(false));
        let enabled = fc.with_vmx_enabled(false);
        assert_eq!(enabled.bits(), 1 << 40 | 1 << 20 | 0b101);
        assert!(enabled.vmx_allowed(false));
    }

    #[test]
    fn senter_local_functions_cover_bits_14_to_8() {
        assert_eq!(FeatureControl::SENTER_LOCAL_FUNCTIONS.bits(), 0x7f00);
    }
}
