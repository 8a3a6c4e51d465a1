//! When a VMCS field exists: the condition, as data (SDM Vol. 3C §25.11.2 and the
//! sections of §25.4-§25.9 that define each field: "this field exists only on processors
//! that support the 1-setting of the ... control").

use core::fmt;

use crate::capabilities::{VmFuncControls, VmxCapabilities};
use crate::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryExitControls, SecondaryProcBasedControls, TertiaryProcBasedControls,
};

/// The condition under which a processor supports a VMCS field.
///
/// A field tied to a control exists if the processor supports the 1-setting of that
/// control (its allowed-1 bit in the capability MSR is 1), whatever the control's current
/// value in a VMCS (SDM Vol. 3C §25.6-§25.9). Each control variant holds one or more
/// bits; the requirement is met if the processor allows *any* of them to be 1.
///
/// Bochs (2.7 and master) treats some conditional fields as always present (for example
/// `CTRL_MSR_BITMAP_ADDRESS`, see the field notes); the requirement records the SDM rule,
/// and a processor or emulator that supports more fields than the rule requires is still
/// correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldRequirement {
    /// Exists on every processor that supports VMX.
    Always,
    /// Exists if one of these pin-based VM-execution controls may be 1 (IA32_VMX_PINBASED_CTLS).
    Pin(PinBasedControls),
    /// Exists if one of these primary processor-based VM-execution controls may be 1.
    Primary(PrimaryProcBasedControls),
    /// Exists if one of these secondary processor-based VM-execution controls may be 1
    /// (IA32_VMX_PROCBASED_CTLS2, present only if "activate secondary controls" may be 1).
    Secondary(SecondaryProcBasedControls),
    /// Exists if one of these tertiary processor-based VM-execution controls may be 1
    /// (IA32_VMX_PROCBASED_CTLS3, present only if "activate tertiary controls" may be 1).
    Tertiary(TertiaryProcBasedControls),
    /// Exists if one of these primary VM-exit controls may be 1 (IA32_VMX_EXIT_CTLS).
    Exit(PrimaryExitControls),
    /// Exists if one of these secondary VM-exit controls may be 1 (IA32_VMX_EXIT_CTLS2,
    /// present only if the VM-exit control "activate secondary controls" may be 1).
    SecondaryExit(SecondaryExitControls),
    /// Exists if one of these VM-entry controls may be 1 (IA32_VMX_ENTRY_CTLS).
    Entry(EntryControls),
    /// Exists if one of these VM functions is supported (IA32_VMX_VMFUNC, SDM Vol. 3D
    /// §A.11, present only if "enable VM functions" may be 1; SDM Vol. 3C §25.6
    /// "VM-Function Controls").
    VmFunction(VmFuncControls),
    /// Exists if the processor enumerates a CPUID feature. The VMX capability MSRs do not
    /// report these; see [`FieldRequirement::is_met_with_cpuid`].
    Cpuid(CpuidFeature),
    /// Exists only in VMCSs managed by the Intel TDX module in SEAM VMX root operation;
    /// never on an ordinary VMX processor.
    SeamOnly,
    /// Exists if any of these requirements is met.
    AnyOf(&'static [FieldRequirement]),
}

/// A register of a CPUID leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §25.11.2.
pub enum CpuidRegister {
    /// EAX.
    Eax,
    /// EBX.
    Ebx,
    /// ECX.
    Ecx,
    /// EDX.
    Edx,
}

/// A CPUID feature flag: `CPUID.(EAX=leaf, ECX=subleaf):register[bit]` (SDM Vol. 2A,
/// CPUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CpuidFeature {
    /// The leaf (input EAX).
    pub leaf: u32,
    /// The sub-leaf (input ECX).
    pub subleaf: u32,
    /// The output register holding the flag.
    pub register: CpuidRegister,
    /// The bit number in that register (0-31).
    pub bit: u8,
    /// The feature's name in the SDM.
    pub name: &'static str,
}

impl CpuidFeature {
    /// Flexible return and event delivery: CPUID.(EAX=07H,ECX=1):EAX\[17\] (Intel FRED
    /// architecture specification; SDM Vol. 2A, CPUID).
    pub const FRED: Self = Self {
        leaf: 7,
        subleaf: 1,
        register: CpuidRegister::Eax,
        bit: 17,
        name: "FRED",
    };
    /// Intel advanced performance extensions (extended GPRs R16-R31):
    /// CPUID.(EAX=07H,ECX=1):EDX\[21\] (Intel APX architecture specification).
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const APX: Self = Self {
        leaf: 7,
        subleaf: 1,
        register: CpuidRegister::Edx,
        bit: 21,
        name: "APX_F",
    };

    /// Whether `value`, the output `register` of `CPUID.(EAX=leaf, ECX=subleaf)`, has the
    /// flag set (bits above 31 of `bit` are never set).
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn is_set_in(self, value: u32) -> bool {
        self.bit < 32 && value & (1 << self.bit) != 0
    }
}

impl FieldRequirement {
    /// Whether a processor with these VMX capabilities supports the field, judged from
    /// the capability MSRs alone (SDM Vol. 3D Appendix A).
    ///
    /// A control requirement is met if the allowed-1 setting of one of its controls is 1
    /// (a capability MSR that does not exist reads as all-zero allowed-1 settings, see
    /// [`VmxCapabilities`]). [`FieldRequirement::SeamOnly`] is never met. A
    /// [`FieldRequirement::Cpuid`] requirement is met only where the capability MSRs
    /// imply the feature: FRED, if one of the VMX FRED controls ("load FRED" VM-entry
    /// control, "save FRED"/"load FRED" secondary VM-exit controls) may be 1, since the
    /// FRED event-data fields are part of VMX support for FRED; APX, never (no capability
    /// MSR reports it). Use [`FieldRequirement::is_met_with_cpuid`] to decide those
    /// from CPUID.
    pub fn is_met(&self, caps: &VmxCapabilities) -> bool {
        self.is_met_with_cpuid(caps, &|feature| match feature {
            CpuidFeature::FRED => {
                caps.entry()
                    .may_be_one()
                    .intersects(EntryControls::LOAD_FRED)
                    || caps.secondary_exit().may_be_one().intersects(
                        SecondaryExitControls::SAVE_FRED | SecondaryExitControls::LOAD_FRED,
                    )
            }
            _ => false,
        })
    }

    /// Like [`FieldRequirement::is_met`], with `has_cpuid_feature` deciding the
    /// [`FieldRequirement::Cpuid`] requirements (for instance from the CPUID instruction,
    /// see [`CpuidFeature::is_set_in`]).
    ///
    /// SDM Vol. 3C §25.11.2.
    pub fn is_met_with_cpuid(
        &self,
        caps: &VmxCapabilities,
        has_cpuid_feature: &dyn Fn(CpuidFeature) -> bool,
    ) -> bool {
        match self {
            Self::Always => true,
            Self::Pin(c) => caps.pin_based().may_be_one().intersects(*c),
            Self::Primary(c) => caps.primary_proc().may_be_one().intersects(*c),
            Self::Secondary(c) => caps.secondary_proc().may_be_one().intersects(*c),
            Self::Tertiary(c) => caps.tertiary_proc().may_be_one().intersects(*c),
            Self::Exit(c) => caps.exit().may_be_one().intersects(*c),
            Self::SecondaryExit(c) => caps.secondary_exit().may_be_one().intersects(*c),
            Self::Entry(c) => caps.entry().may_be_one().intersects(*c),
            Self::VmFunction(f) => caps.vmfunc().intersects(*f),
            Self::Cpuid(feature) => has_cpuid_feature(*feature),
            Self::SeamOnly => false,
            Self::AnyOf(list) => list
                .iter()
                .any(|r| r.is_met_with_cpuid(caps, has_cpuid_feature)),
        }
    }
}

impl fmt::Display for FieldRequirement {
    /// Writes the condition in words, e.g. `secondary processor-based control ENABLE_EPT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn flags<B: bitflags::Flags>(
            f: &mut fmt::Formatter<'_>,
            what: &str,
            bits: &B,
        ) -> fmt::Result
        where
            B::Bits: bitflags::parser::WriteHex,
        {
            write!(f, "{what} ")?;
            bitflags::parser::to_writer(bits, &mut *f)
        }
        match self {
            Self::Always => f.write_str("always"),
            Self::Pin(c) => flags(f, "pin-based control", c),
            Self::Primary(c) => flags(f, "primary processor-based control", c),
            Self::Secondary(c) => flags(f, "secondary processor-based control", c),
            Self::Tertiary(c) => flags(f, "tertiary processor-based control", c),
            Self::Exit(c) => flags(f, "VM-exit control", c),
            Self::SecondaryExit(c) => flags(f, "secondary VM-exit control", c),
            Self::Entry(c) => flags(f, "VM-entry control", c),
            Self::VmFunction(c) => flags(f, "VM function", c),
            Self::Cpuid(feature) => write!(
                f,
                "CPUID feature {} (CPUID.(EAX={:#x},ECX={:#x}):{:?}[{}])",
                feature.name, feature.leaf, feature.subleaf, feature.register, feature.bit
            ),
            Self::SeamOnly => f.write_str("SEAM (Intel TDX module) VMCS only"),
            Self::AnyOf(list) => {
                for (i, requirement) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    requirement.fmt(f)?;
                }
                Ok(())
            }
        }
    }
}
