//! [`VmxCapabilities`]: every VMX capability MSR of one processor, read following the
//! existence rules of SDM Vol. 3D Appendix A, with accessors and `adjust_*` helpers
//! (Vol. 3C §32.5.1).

use core::fmt;

use super::{
    AllowedSettings, ControlAdjustError, ControlBits, ControlKind, EptVpidCap, FeatureControl,
    FixedBits, FixedRegister, RawVmxMsrs, VmFuncControls, VmcsEnum, VmxBasic, VmxBasicError,
    VmxMisc, VmxMiscError, msr,
};
use crate::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryExitControls, SecondaryProcBasedControls, TertiaryProcBasedControls,
};

/// The VMX capabilities of one logical processor (SDM Vol. 3D Appendix A).
///
/// Built by [`VmxCapabilities::from_msrs`], which reads only the MSRs that exist on the
/// processor. Accessors decode on demand; [`VmxCapabilities::raw`] keeps the values read.
/// Feature predicates (`has_ept()`, `has_vpid()`...) are in the `features` module's `impl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmxCapabilities {
    raw: RawVmxMsrs,
}

impl VmxCapabilities {
    /// Reads the capability MSRs with `read` (RDMSR of the given index) and keeps them.
    ///
    /// Precondition: CPUID.01H:ECX.VMX\[bit 5\] is 1 (IA32_FEATURE_CONTROL and MSRs
    /// 0x480-0x48A exist). MSRs that exist only on some processors are read only when the
    /// SDM says they exist, since reading an absent MSR raises #GP (SDM Vol. 3D Appendix A):
    /// - 0x48B only if IA32_VMX_PROCBASED_CTLS\[63\] ("activate secondary controls" may be 1);
    /// - 0x48C only if IA32_VMX_PROCBASED_CTLS2\[33\] or \[37\] ("enable EPT"/"enable VPID");
    /// - 0x48D-0x490 only if IA32_VMX_BASIC\[55\];
    /// - 0x491 only if IA32_VMX_PROCBASED_CTLS2\[45\] ("enable VM functions");
    /// - 0x492 only if IA32_VMX_PROCBASED_CTLS\[49\] ("activate tertiary controls");
    /// - 0x493 only if IA32_VMX_EXIT_CTLS\[63\] ("activate secondary controls").
    ///
    /// IA32_FEATURE_CONTROL (0x3A) is read too, as a snapshot: system software may lock it
    /// later (SDM Vol. 3C §24.7), so code that enables VMX reads it again.
    pub fn from_msrs(mut read: impl FnMut(u32) -> u64) -> Self {
        let feature_control = read(msr::IA32_FEATURE_CONTROL);
        let basic = read(msr::IA32_VMX_BASIC);
        let pinbased_ctls = read(msr::IA32_VMX_PINBASED_CTLS);
        let procbased_ctls = read(msr::IA32_VMX_PROCBASED_CTLS);
        let exit_ctls = read(msr::IA32_VMX_EXIT_CTLS);
        let entry_ctls = read(msr::IA32_VMX_ENTRY_CTLS);
        let misc = read(msr::IA32_VMX_MISC);
        let cr0_fixed0 = read(msr::IA32_VMX_CR0_FIXED0);
        let cr0_fixed1 = read(msr::IA32_VMX_CR0_FIXED1);
        let cr4_fixed0 = read(msr::IA32_VMX_CR4_FIXED0);
        let cr4_fixed1 = read(msr::IA32_VMX_CR4_FIXED1);
        let vmcs_enum = read(msr::IA32_VMX_VMCS_ENUM);

        let mut read_if = |exists: bool, index: u32| exists.then(|| read(index));
        let procbased_ctls2 = read_if(procbased_ctls & 1 << 63 != 0, msr::IA32_VMX_PROCBASED_CTLS2);
        // Bit X of the allowed 1-settings of the secondary controls (MSR bit 32 + X).
        let secondary_allows = |x: u32| procbased_ctls2.is_some_and(|v| v & 1 << (32 + x) != 0);
        let ept_or_vpid = secondary_allows(1) || secondary_allows(5);
        let true_ctls = basic & 1 << 55 != 0;
        let raw = RawVmxMsrs {
            feature_control,
            basic,
            pinbased_ctls,
            procbased_ctls,
            exit_ctls,
            entry_ctls,
            misc,
            cr0_fixed0,
            cr0_fixed1,
            cr4_fixed0,
            cr4_fixed1,
            vmcs_enum,
            procbased_ctls2,
            ept_vpid_cap: read_if(ept_or_vpid, msr::IA32_VMX_EPT_VPID_CAP),
            true_pinbased_ctls: read_if(true_ctls, msr::IA32_VMX_TRUE_PINBASED_CTLS),
            true_procbased_ctls: read_if(true_ctls, msr::IA32_VMX_TRUE_PROCBASED_CTLS),
            true_exit_ctls: read_if(true_ctls, msr::IA32_VMX_TRUE_EXIT_CTLS),
            true_entry_ctls: read_if(true_ctls, msr::IA32_VMX_TRUE_ENTRY_CTLS),
            vmfunc: read_if(secondary_allows(13), msr::IA32_VMX_VMFUNC),
            procbased_ctls3: read_if(procbased_ctls & 1 << 49 != 0, msr::IA32_VMX_PROCBASED_CTLS3),
            exit_ctls2: read_if(exit_ctls & 1 << 63 != 0, msr::IA32_VMX_EXIT_CTLS2),
        };
        Self::from_raw(raw)
    }

    /// Capabilities from values read elsewhere (a dump, a test). Optional MSRs given as
    /// `Some` are used only where the SDM says they exist (the accessors apply the same
    /// rules as [`VmxCapabilities::from_msrs`]).
    pub const fn from_raw(raw: RawVmxMsrs) -> Self {
        Self { raw }
    }

    /// The raw MSR values.
    ///
    /// SDM Vol. 3D Appendix A.
    pub const fn raw(&self) -> &RawVmxMsrs {
        &self.raw
    }

    /// IA32_VMX_BASIC (SDM Vol. 3D §A.1).
    pub const fn basic(&self) -> VmxBasic {
        VmxBasic(self.raw.basic)
    }

    /// IA32_FEATURE_CONTROL as it was when the capabilities were read (SDM Vol. 3C §24.7).
    pub const fn feature_control(&self) -> FeatureControl {
        FeatureControl::from_bits_retain(self.raw.feature_control)
    }

    /// The settings of a field with a TRUE MSR: the TRUE MSR if IA32_VMX_BASIC\[55\] is 1
    /// (SDM Vol. 3D §A.2), else the plain one.
    fn with_true<T: ControlBits>(&self, plain: u64, true_msr: Option<u64>) -> AllowedSettings<T> {
        match true_msr {
            Some(v) if self.basic().true_controls() => AllowedSettings::from_msr(v),
            _ => AllowedSettings::from_msr(plain),
        }
    }

    /// The settings of an optional field: `unsupported()` unless its MSR exists (`exists`)
    /// and was read.
    fn optional<T: ControlBits>(exists: bool, value: Option<u64>) -> AllowedSettings<T> {
        match value {
            Some(v) if exists => AllowedSettings::from_msr(v),
            _ => AllowedSettings::unsupported(),
        }
    }

    /// Allowed settings of the pin-based VM-execution controls (SDM Vol. 3D §A.3.1), from
    /// IA32_VMX_TRUE_PINBASED_CTLS when IA32_VMX_BASIC\[55\] is 1, else
    /// IA32_VMX_PINBASED_CTLS.
    pub fn pin_based(&self) -> AllowedSettings<PinBasedControls> {
        self.with_true(self.raw.pinbased_ctls, self.raw.true_pinbased_ctls)
    }

    /// Allowed settings of the primary processor-based VM-execution controls (SDM Vol. 3D
    /// §A.3.2), TRUE MSR rule as for [`VmxCapabilities::pin_based`].
    pub fn primary_proc(&self) -> AllowedSettings<PrimaryProcBasedControls> {
        self.with_true(self.raw.procbased_ctls, self.raw.true_procbased_ctls)
    }

    /// Allowed settings of the secondary processor-based VM-execution controls (SDM Vol. 3D
    /// §A.3.3); none may be 1 if IA32_VMX_PROCBASED_CTLS2 does not exist.
    pub fn secondary_proc(&self) -> AllowedSettings<SecondaryProcBasedControls> {
        Self::optional(
            self.raw.procbased_ctls & 1 << 63 != 0,
            self.raw.procbased_ctls2,
        )
    }

    /// Allowed settings of the tertiary processor-based VM-execution controls (SDM Vol. 3D
    /// §A.3.4); none may be 1 if IA32_VMX_PROCBASED_CTLS3 does not exist.
    pub fn tertiary_proc(&self) -> AllowedSettings<TertiaryProcBasedControls> {
        Self::optional(
            self.raw.procbased_ctls & 1 << 49 != 0,
            self.raw.procbased_ctls3,
        )
    }

    /// Allowed settings of the primary VM-exit controls (SDM Vol. 3D §A.4.1), TRUE MSR rule
    /// as for [`VmxCapabilities::pin_based`].
    pub fn exit(&self) -> AllowedSettings<PrimaryExitControls> {
        self.with_true(self.raw.exit_ctls, self.raw.true_exit_ctls)
    }

    /// Allowed settings of the secondary VM-exit controls (SDM Vol. 3D §A.4.2); none may be 1
    /// if IA32_VMX_EXIT_CTLS2 does not exist.
    pub fn secondary_exit(&self) -> AllowedSettings<SecondaryExitControls> {
        Self::optional(self.raw.exit_ctls & 1 << 63 != 0, self.raw.exit_ctls2)
    }

    /// Allowed settings of the VM-entry controls (SDM Vol. 3D §A.5), TRUE MSR rule as for
    /// [`VmxCapabilities::pin_based`].
    pub fn entry(&self) -> AllowedSettings<EntryControls> {
        self.with_true(self.raw.entry_ctls, self.raw.true_entry_ctls)
    }

    /// IA32_VMX_MISC (SDM Vol. 3D §A.6).
    pub const fn misc(&self) -> VmxMisc {
        VmxMisc(self.raw.misc)
    }

    /// The CR0 fixed bits (IA32_VMX_CR0_FIXED0/1, SDM Vol. 3D §A.7).
    pub const fn cr0_fixed(&self) -> FixedBits {
        FixedBits::new(FixedRegister::Cr0, self.raw.cr0_fixed0, self.raw.cr0_fixed1)
    }

    /// The CR0 fixed bits that apply to the guest CR0 field when "unrestricted guest" is 1:
    /// PE and PG may be 0 (SDM Vol. 3C §27.3.1.1; see
    /// [`FixedBits::for_unrestricted_guest`]).
    pub const fn cr0_fixed_unrestricted_guest(&self) -> FixedBits {
        self.cr0_fixed().for_unrestricted_guest()
    }

    /// The CR4 fixed bits (IA32_VMX_CR4_FIXED0/1, SDM Vol. 3D §A.8).
    pub const fn cr4_fixed(&self) -> FixedBits {
        FixedBits::new(FixedRegister::Cr4, self.raw.cr4_fixed0, self.raw.cr4_fixed1)
    }

    /// IA32_VMX_VMCS_ENUM (SDM Vol. 3D §A.9).
    pub const fn vmcs_enum(&self) -> VmcsEnum {
        VmcsEnum(self.raw.vmcs_enum)
    }

    /// IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D §A.10); empty if the MSR does not exist.
    pub fn ept_vpid(&self) -> EptVpidCap {
        let s = self.secondary_proc();
        let exists = s.can_be_one(SecondaryProcBasedControls::ENABLE_EPT)
            || s.can_be_one(SecondaryProcBasedControls::ENABLE_VPID);
        match self.raw.ept_vpid_cap {
            Some(v) if exists => EptVpidCap::from_bits_retain(v),
            _ => EptVpidCap::empty(),
        }
    }

    /// IA32_VMX_VMFUNC (SDM Vol. 3D §A.11); empty if the MSR does not exist.
    pub fn vmfunc(&self) -> VmFuncControls {
        let exists = self
            .secondary_proc()
            .can_be_one(SecondaryProcBasedControls::ENABLE_VM_FUNCTIONS);
        match self.raw.vmfunc {
            Some(v) if exists => VmFuncControls::from_bits_retain(v),
            _ => VmFuncControls::empty(),
        }
    }

    /// Pin-based controls for `required` and, where allowed, `optional`
    /// ([`AllowedSettings::adjust`], SDM Vol. 3C §32.5.1).
    pub fn adjust_pin_based(
        &self,
        required: PinBasedControls,
        optional: PinBasedControls,
    ) -> Result<PinBasedControls, ControlAdjustError> {
        self.pin_based().adjust(required, optional)
    }

    /// Primary processor-based controls for `required` and, where allowed, `optional`
    /// ([`AllowedSettings::adjust`], SDM Vol. 3C §32.5.1).
    pub fn adjust_primary_proc(
        &self,
        required: PrimaryProcBasedControls,
        optional: PrimaryProcBasedControls,
    ) -> Result<PrimaryProcBasedControls, ControlAdjustError> {
        self.primary_proc().adjust(required, optional)
    }

    /// Secondary processor-based controls for `required` and, where allowed, `optional`
    /// ([`AllowedSettings::adjust`], SDM Vol. 3C §32.5.1). They take effect only if the
    /// primary "activate secondary controls" is 1.
    pub fn adjust_secondary_proc(
        &self,
        required: SecondaryProcBasedControls,
        optional: SecondaryProcBasedControls,
    ) -> Result<SecondaryProcBasedControls, ControlAdjustError> {
        self.secondary_proc().adjust(required, optional)
    }

    /// Tertiary processor-based controls for `required` and, where allowed, `optional`
    /// ([`AllowedSettings::adjust`], SDM Vol. 3C §32.5.1). They take effect only if the
    /// primary "activate tertiary controls" is 1.
    pub fn adjust_tertiary_proc(
        &self,
        required: TertiaryProcBasedControls,
        optional: TertiaryProcBasedControls,
    ) -> Result<TertiaryProcBasedControls, ControlAdjustError> {
        self.tertiary_proc().adjust(required, optional)
    }

    /// Primary VM-exit controls for `required` and, where allowed, `optional`
    /// ([`AllowedSettings::adjust`], SDM Vol. 3C §32.5.1).
    pub fn adjust_exit(
        &self,
        required: PrimaryExitControls,
        optional: PrimaryExitControls,
    ) -> Result<PrimaryExitControls, ControlAdjustError> {
        self.exit().adjust(required, optional)
    }

    /// Secondary VM-exit controls for `required` and, where allowed, `optional`
    /// ([`AllowedSettings::adjust`], SDM Vol. 3C §32.5.1). They take effect only if the
    /// primary VM-exit control "activate secondary controls" is 1.
    pub fn adjust_secondary_exit(
        &self,
        required: SecondaryExitControls,
        optional: SecondaryExitControls,
    ) -> Result<SecondaryExitControls, ControlAdjustError> {
        self.secondary_exit().adjust(required, optional)
    }

    /// VM-entry controls for `required` and, where allowed, `optional`
    /// ([`AllowedSettings::adjust`], SDM Vol. 3C §32.5.1).
    pub fn adjust_entry(
        &self,
        required: EntryControls,
        optional: EntryControls,
    ) -> Result<EntryControls, ControlAdjustError> {
        self.entry().adjust(required, optional)
    }

    /// Whether this processor supports the VMCS field `field` (SDM Vol. 3C §25.11.2: a field
    /// tied to a control exists only if that control may be 1), judged from the capability
    /// MSRs alone: [`FieldRequirement::is_met`](crate::vmcs::FieldRequirement::is_met).
    pub fn has_field(&self, field: &crate::vmcs::FieldInfo) -> bool {
        field.requirement.is_met(self)
    }

    /// Checks the values against the SDM's guarantees (Vol. 3D Appendix A): a well-formed
    /// IA32_VMX_BASIC and IA32_VMX_MISC, no control reported as must-be-1 and not-allowed-1,
    /// no CR0/CR4 bit fixed to 1 and to 0 at once. The first problem found is returned.
    pub fn check(&self) -> Result<(), CapabilityError> {
        self.basic().check().map_err(CapabilityError::Basic)?;
        self.misc().check().map_err(CapabilityError::Misc)?;
        let contradictions = [
            (
                ControlKind::PinBased,
                self.pin_based().contradictory().bits().into(),
            ),
            (
                ControlKind::PrimaryProcBased,
                self.primary_proc().contradictory().bits().into(),
            ),
            (
                ControlKind::SecondaryProcBased,
                self.secondary_proc().contradictory().bits().into(),
            ),
            (
                ControlKind::TertiaryProcBased,
                self.tertiary_proc().contradictory().bits(),
            ),
            (
                ControlKind::PrimaryExit,
                self.exit().contradictory().bits().into(),
            ),
            (
                ControlKind::SecondaryExit,
                self.secondary_exit().contradictory().bits(),
            ),
            (
                ControlKind::Entry,
                self.entry().contradictory().bits().into(),
            ),
        ];
        for (kind, bits) in contradictions {
            if bits != 0 {
                return Err(CapabilityError::ContradictoryControls { kind, bits });
            }
        }
        for fixed in [self.cr0_fixed(), self.cr4_fixed()] {
            if fixed.contradictory() != 0 {
                return Err(CapabilityError::ContradictoryFixedBits {
                    register: fixed.register(),
                    bits: fixed.contradictory(),
                });
            }
        }
        Ok(())
    }
}

/// A capability value that breaks the SDM's guarantees (SDM Vol. 3D Appendix A), from
/// [`VmxCapabilities::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CapabilityError {
    /// IA32_VMX_BASIC is malformed.
    Basic(VmxBasicError),
    /// IA32_VMX_MISC is malformed.
    Misc(VmxMiscError),
    /// Controls of `kind` reported as must-be-1 (allowed-0) but not allowed to be 1.
    ContradictoryControls {
        /// The control field.
        kind: ControlKind,
        /// The contradictory bits.
        bits: u64,
    },
    /// CR0/CR4 bits fixed to 1 by FIXED0 and to 0 by FIXED1.
    ContradictoryFixedBits {
        /// The register.
        register: FixedRegister,
        /// The contradictory bits.
        bits: u64,
    },
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic(e) => e.fmt(f),
            Self::Misc(e) => e.fmt(f),
            Self::ContradictoryControls { kind, bits } => write!(
                f,
                "{kind}: bits {bits:#x} reported as must-be-1 but not allowed to be 1"
            ),
            Self::ContradictoryFixedBits { register, bits } => write!(
                f,
                "{}: bits {bits:#x} fixed to 1 by FIXED0 and to 0 by FIXED1",
                register.name()
            ),
        }
    }
}

impl core::error::Error for CapabilityError {}
