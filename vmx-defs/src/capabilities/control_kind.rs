//! The seven VMX control fields whose allowed settings capability MSRs report
//! (SDM Vol. 3D §A.3-§A.5).

use core::fmt;

use super::msr;

/// One of the VM-execution, VM-exit or VM-entry control fields that has a capability MSR
/// (SDM Vol. 3D §A.3-§A.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ControlKind {
    /// Pin-based VM-execution controls (32 bits; SDM Vol. 3D §A.3.1).
    PinBased,
    /// Primary processor-based VM-execution controls (32 bits; §A.3.2).
    PrimaryProcBased,
    /// Secondary processor-based VM-execution controls (32 bits; §A.3.3).
    SecondaryProcBased,
    /// Tertiary processor-based VM-execution controls (64 bits; §A.3.4).
    TertiaryProcBased,
    /// Primary VM-exit controls (32 bits; §A.4.1).
    PrimaryExit,
    /// Secondary VM-exit controls (64 bits; §A.4.2).
    SecondaryExit,
    /// VM-entry controls (32 bits; §A.5).
    Entry,
}

impl ControlKind {
    /// All seven kinds, in SDM order.
    pub const ALL: [Self; 7] = [
        Self::PinBased,
        Self::PrimaryProcBased,
        Self::SecondaryProcBased,
        Self::TertiaryProcBased,
        Self::PrimaryExit,
        Self::SecondaryExit,
        Self::Entry,
    ];

    /// The SDM's name of the control field, e.g. "secondary processor-based controls".
    pub const fn name(self) -> &'static str {
        match self {
            Self::PinBased => "pin-based controls",
            Self::PrimaryProcBased => "primary processor-based controls",
            Self::SecondaryProcBased => "secondary processor-based controls",
            Self::TertiaryProcBased => "tertiary processor-based controls",
            Self::PrimaryExit => "primary VM-exit controls",
            Self::SecondaryExit => "secondary VM-exit controls",
            Self::Entry => "VM-entry controls",
        }
    }

    /// Whether the capability MSR reports only allowed 1-settings in all 64 bits (tertiary
    /// processor-based and secondary VM-exit controls, SDM Vol. 3D §A.3.4, §A.4.2), rather
    /// than allowed 0-settings in bits 31:0 and allowed 1-settings in bits 63:32.
    pub const fn is_64_bit(self) -> bool {
        matches!(self, Self::TertiaryProcBased | Self::SecondaryExit)
    }

    /// The capability MSR reporting this field's allowed settings.
    ///
    /// SDM Vol. 3D §A.3-§A.5.
    pub const fn capability_msr(self) -> u32 {
        match self {
            Self::PinBased => msr::IA32_VMX_PINBASED_CTLS,
            Self::PrimaryProcBased => msr::IA32_VMX_PROCBASED_CTLS,
            Self::SecondaryProcBased => msr::IA32_VMX_PROCBASED_CTLS2,
            Self::TertiaryProcBased => msr::IA32_VMX_PROCBASED_CTLS3,
            Self::PrimaryExit => msr::IA32_VMX_EXIT_CTLS,
            Self::SecondaryExit => msr::IA32_VMX_EXIT_CTLS2,
            Self::Entry => msr::IA32_VMX_ENTRY_CTLS,
        }
    }

    /// The IA32_VMX_TRUE_*_CTLS MSR that replaces [`ControlKind::capability_msr`] when
    /// IA32_VMX_BASIC\[55\] is 1 (SDM Vol. 3D §A.2), for the four fields that have one.
    pub const fn true_msr(self) -> Option<u32> {
        match self {
            Self::PinBased => Some(msr::IA32_VMX_TRUE_PINBASED_CTLS),
            Self::PrimaryProcBased => Some(msr::IA32_VMX_TRUE_PROCBASED_CTLS),
            Self::PrimaryExit => Some(msr::IA32_VMX_TRUE_EXIT_CTLS),
            Self::Entry => Some(msr::IA32_VMX_TRUE_ENTRY_CTLS),
            _ => None,
        }
    }

    /// The default1 class of this field (SDM Vol. 3D §A.2): controls that are reserved or
    /// whose default setting is 1, which the non-TRUE MSRs always report as must-be-1.
    /// Pin-based 1, 2, 4; primary processor-based 1, 4-6, 8, 13-16, 26; primary VM-exit
    /// 0-8, 10, 11, 13, 14, 16, 17; VM-entry 0-8, 12; none in the other fields.
    pub const fn default1(self) -> u64 {
        match self {
            Self::PinBased => 0x0000_0016,
            Self::PrimaryProcBased => 0x0401_e172,
            Self::PrimaryExit => 0x0003_6dff,
            Self::Entry => 0x0000_11ff,
            _ => 0,
        }
    }
}

impl fmt::Display for ControlKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
