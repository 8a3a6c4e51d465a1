//! IA32_VMX_MISC (MSR 0x485), SDM Vol. 3D §A.6, "Miscellaneous Data".

/// IA32_VMX_MISC (MSR 0x485): miscellaneous VMX capabilities (SDM Vol. 3D §A.6).
///
/// Every `u64` decodes; bits the SDM reserves (13:9, 31) are kept in [`VmxMisc::raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmxMisc(pub u64);

impl From<u64> for VmxMisc {
    fn from(raw: u64) -> Self {
        Self(raw)
    }
}

impl VmxMisc {
    /// Wraps the MSR value (total: every value is kept exactly; the same as `From<u64>`).
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw MSR value.
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn raw(self) -> u64 {
        self.0
    }

    const fn bit(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }

    /// Bits 4:0: X such that the VMX-preemption timer counts down by 1 every time bit X of
    /// the TSC changes (SDM Vol. 3C §26.5.1).
    pub const fn preemption_timer_rate(self) -> u8 {
        (self.0 & 0x1f) as u8
    }

    /// TSC cycles per VMX-preemption-timer tick: `1 << preemption_timer_rate()`.
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn tsc_cycles_per_preemption_tick(self) -> u64 {
        1 << self.preemption_timer_rate()
    }

    /// Bit 5: VM exits store the value of IA32_EFER.LMA into the "IA-32e mode guest"
    /// VM-entry control (SDM Vol. 3C §28.2); read as 1 on every processor that supports the
    /// 1-setting of the "unrestricted guest" control.
    pub const fn stores_efer_lma(self) -> bool {
        self.bit(5)
    }

    /// Bit 6: the HLT activity state (1) is supported (SDM Vol. 3C §25.4.2).
    pub const fn activity_hlt(self) -> bool {
        self.bit(6)
    }

    /// Bit 7: the shutdown activity state (2) is supported.
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn activity_shutdown(self) -> bool {
        self.bit(7)
    }

    /// Bit 8: the wait-for-SIPI activity state (3) is supported.
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn activity_wait_for_sipi(self) -> bool {
        self.bit(8)
    }

    /// Whether the guest activity state with this encoding (SDM Vol. 3C §25.4.2: 0 active,
    /// 1 HLT, 2 shutdown, 3 wait-for-SIPI) may be used on VM entry. Active is always
    /// supported; any other value is not.
    pub const fn supports_activity_state(self, state: u32) -> bool {
        match state {
            0 => true,
            1 => self.activity_hlt(),
            2 => self.activity_shutdown(),
            3 => self.activity_wait_for_sipi(),
            _ => false,
        }
    }

    /// Bit 14: Intel Processor Trace may be used in VMX operation (IA32_RTIT_CTL.TraceEn may
    /// be set in VMX operation).
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn intel_pt_in_vmx(self) -> bool {
        self.bit(14)
    }

    /// Bit 15: RDMSR in SMM may read IA32_SMBASE (MSR 0x9E) (SDM Vol. 3C, "Dual-Monitor Treatment of SMIs and SMM").
    pub const fn rdmsr_smbase_in_smm(self) -> bool {
        self.bit(15)
    }

    /// Bits 24:16: the number of CR3-target values supported (SDM Vol. 3C §25.6.7). The SDM
    /// bounds it by 256 (bit 24 set only if bits 23:16 are clear); the raw 9-bit value is
    /// returned and [`VmxMisc::check`] reports a larger one.
    pub const fn cr3_target_count(self) -> u16 {
        ((self.0 >> 16) & 0x1ff) as u16
    }

    /// Bits 27:25: N, such that the recommended maximum number of MSRs in each of the VM-exit
    /// MSR-store, VM-exit MSR-load and VM-entry MSR-load lists is `512 * (N + 1)`.
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn msr_list_n(self) -> u8 {
        ((self.0 >> 25) & 0x7) as u8
    }

    /// The recommended maximum number of entries in each MSR list: `512 * (N + 1)`, where N
    /// is bits 27:25 (SDM Vol. 3D §A.6; exceeding it may make VM entry fail).
    pub const fn max_msr_list_entries(self) -> u32 {
        512 * (self.msr_list_n() as u32 + 1)
    }

    /// Bit 28: bit 2 of IA32_SMM_MONITOR_CTL may be set, so that VMXOFF unblocks SMIs unless
    /// that bit is 1 (SDM Vol. 3C, "VMX Operation and SMM", VMXOFF and SMI blocking).
    pub const fn smm_monitor_ctl_vmxoff_bit(self) -> bool {
        self.bit(28)
    }

    /// Bit 29: VMWRITE may write to any supported VMCS field, including the VM-exit
    /// information fields (otherwise VMWRITE to them fails with VM-instruction error 13).
    ///
    /// SDM Vol. 3D §A.6.
    pub const fn vmwrite_any_field(self) -> bool {
        self.bit(29)
    }

    /// Bit 30: VM entry may inject a software interrupt, software exception or privileged
    /// software exception with an instruction length of 0 (SDM Vol. 3C §27.2.1.3).
    pub const fn zero_length_injection(self) -> bool {
        self.bit(30)
    }

    /// The most CR3-target values the SDM allows a processor to report (Vol. 3D §A.6).
    pub const MAX_CR3_TARGETS: u16 = 256;

    /// Checks this value against the SDM's contract (Vol. 3D §A.6): the CR3-target count is
    /// at most 256.
    pub const fn check(self) -> Result<(), VmxMiscError> {
        let n = self.cr3_target_count();
        if n > Self::MAX_CR3_TARGETS {
            Err(VmxMiscError::TooManyCr3Targets(n))
        } else {
            Ok(())
        }
    }

    /// Bits 63:32: the MSEG revision identifier used by the processor (SDM Vol. 3C, "Dual-Monitor Treatment of SMIs and SMM", MSEG header).
    pub const fn mseg_revision_id(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// A malformed IA32_VMX_MISC value (SDM Vol. 3D §A.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VmxMiscError {
    /// Bits 24:16 report more than 256 CR3-target values.
    TooManyCr3Targets(u16),
}

impl core::fmt::Display for VmxMiscError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooManyCr3Targets(n) => {
                write!(
                    f,
                    "IA32_VMX_MISC: {n} CR3-target values reported (at most 256)"
                )
            }
        }
    }
}

impl core::error::Error for VmxMiscError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_skylake_value_decodes() {
        // corei7_skylake_x misc 0x600401e0, ../shared/bochs/models.tsv
        let m = VmxMisc::from(0x6004_01e0);
        assert_eq!(m.preemption_timer_rate(), 0);
        assert_eq!(m.tsc_cycles_per_preemption_tick(), 1);
        assert!(m.stores_efer_lma());
        assert!(m.activity_hlt() && m.activity_shutdown() && m.activity_wait_for_sipi());
        assert!((0..=3).all(|s| m.supports_activity_state(s)));
        assert!(!m.supports_activity_state(4));
        assert_eq!(m.cr3_target_count(), 4);
        assert_eq!(m.max_msr_list_entries(), 512);
        assert!(!m.smm_monitor_ctl_vmxoff_bit());
        assert!(m.vmwrite_any_field() && m.zero_length_injection());
        assert!(!m.intel_pt_in_vmx() && !m.rdmsr_smbase_in_smm());
        assert_eq!(m.mseg_revision_id(), 0);
        assert_eq!(m.check(), Ok(()));
    }

    #[test]
    fn every_field_at_its_bits() {
        let m = VmxMisc(
            0x1234_5678_0000_0000 | 7 << 25 | 0x1ff << 16 | 1 << 14 | 1 << 15 | 1 << 28 | 0x1f,
        );
        assert_eq!(m.mseg_revision_id(), 0x1234_5678);
        assert_eq!(m.max_msr_list_entries(), 4096);
        assert_eq!(m.cr3_target_count(), 511);
        assert_eq!(m.check(), Err(VmxMiscError::TooManyCr3Targets(511)));
        assert_eq!(VmxMisc(1 << 24).check(), Ok(()));
        assert!(m.intel_pt_in_vmx() && m.rdmsr_smbase_in_smm() && m.smm_monitor_ctl_vmxoff_bit());
        assert_eq!(m.preemption_timer_rate(), 31);
        assert!(!m.activity_hlt() && !m.supports_activity_state(1));
        assert!(m.supports_activity_state(0));
    }
}
