//! Allowed settings of a VMX control field and the SDM's algorithm for choosing a setting
//! (SDM Vol. 3D §A.2-§A.5; Vol. 3C §32.5.1, "Algorithms for Determining VMX Capabilities",
//! in chapter 32 "Virtual-Machine Monitor Programming Considerations"; §31.5.1 in editions
//! whose VM-entry chapter is 26).

use core::fmt;

use super::control_bits::ControlBits;
use super::control_kind::ControlKind;

/// The bits of `T` that have a name (the controls software knows); unnamed bits of a
/// catch-all `const _` are excluded.
fn named_bits<T: ControlBits>() -> u64 {
    T::FLAGS
        .iter()
        .filter(|flag| flag.is_named())
        .fold(0, |acc, flag| acc | flag.value().to_raw())
}

/// The allowed settings of one control field: the allowed 0-settings (bits that must be 1)
/// and allowed 1-settings (bits that may be 1), SDM Vol. 3D §A.3-§A.5.
///
/// For the 32-bit fields the capability MSR holds the allowed 0-settings in bits 31:0 (bit X
/// set: control X must be 1) and the allowed 1-settings in bits 63:32 (bit 32+X set: control
/// X may be 1). For the tertiary processor-based controls (MSR 0x492) and the secondary
/// VM-exit controls (MSR 0x493) all 64 bits are allowed 1-settings and no control must be 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AllowedSettings<T> {
    allowed0: T,
    allowed1: T,
}

impl<T: ControlBits> AllowedSettings<T> {
    /// Decodes a raw capability MSR value for `T`'s field (total: any value decodes).
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn from_msr(raw: u64) -> Self {
        if T::KIND.is_64_bit() {
            Self {
                allowed0: T::from_raw(0),
                allowed1: T::from_raw(raw),
            }
        } else {
            Self {
                allowed0: T::from_raw(raw & 0xffff_ffff),
                allowed1: T::from_raw(raw >> 32),
            }
        }
    }

    /// Settings from explicit allowed-0 (must be 1) and allowed-1 (may be 1) sets.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn new(must_be_one: T, may_be_one: T) -> Self {
        Self {
            allowed0: must_be_one,
            allowed1: may_be_one,
        }
    }

    /// The settings of a field whose capability MSR does not exist: no control may be 1.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn unsupported() -> Self {
        Self {
            allowed0: T::from_raw(0),
            allowed1: T::from_raw(0),
        }
    }

    /// The raw MSR encoding of these settings (inverse of [`AllowedSettings::from_msr`]).
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn to_msr(&self) -> u64 {
        if T::KIND.is_64_bit() {
            self.allowed1.to_raw()
        } else {
            self.allowed0.to_raw() | self.allowed1.to_raw() << 32
        }
    }

    /// The control field these settings are for.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn kind(&self) -> ControlKind {
        T::KIND
    }

    /// The allowed 0-settings: controls that must be 1.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn must_be_one(&self) -> T {
        self.allowed0
    }

    /// The allowed 1-settings: controls that may be 1.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn may_be_one(&self) -> T {
        self.allowed1
    }

    /// Whether every control in `controls` may be 1.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn can_be_one(&self, controls: T) -> bool {
        controls.to_raw() & !self.allowed1.to_raw() == 0
    }

    /// Whether every control in `controls` may be 0.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn can_be_zero(&self, controls: T) -> bool {
        controls.to_raw() & self.allowed0.to_raw() == 0
    }

    /// Controls reported as must-be-1 that are not allowed to be 1: empty on every processor
    /// that follows the SDM; any such bit makes every setting fail VM entry.
    pub fn contradictory(&self) -> T {
        T::from_raw(self.allowed0.to_raw() & !self.allowed1.to_raw())
    }

    /// Whether `value` is a setting these capabilities permit (VM entry checks this, SDM
    /// Vol. 3C §27.2.1.1): every must-be-1 control set, no control outside may-be-1 set.
    pub fn permits(&self, value: T) -> bool {
        let v = value.to_raw();
        self.allowed0.to_raw() & !v == 0 && v & !self.allowed1.to_raw() == 0
    }

    /// Chooses a setting of the field as SDM Vol. 3C §32.5.1 (Vol. 3D §A.2) describes.
    ///
    /// `required` are controls the caller needs; `optional` are controls it wants when the
    /// processor allows them. The result is
    /// `must_be_one | required | (optional & may_be_one) | (unknown_default1 & may_be_one)`,
    /// where `unknown_default1` are the default1-class controls of the field (see
    /// [`ControlKind::default1`]) that `T` does not name: following the SDM's algorithm,
    /// a default1 control software does not know is left at its default of 1 when allowed,
    /// which matters only when these settings come from an IA32_VMX_TRUE_*_CTLS MSR.
    /// Every other control the caller did not ask for is 0 unless it must be 1.
    ///
    /// Errors: a required control that may not be 1 (each one is named), or a contradictory
    /// capability (a must-be-1 control that may not be 1, see
    /// [`AllowedSettings::contradictory`]). On success the result always lies between
    /// `must_be_one` and `may_be_one`.
    ///
    /// ```
    /// use vmx_defs::capabilities::AllowedSettings;
    /// use vmx_defs::controls::PinBasedControls as P;
    ///
    /// // IA32_VMX_PINBASED_CTLS of a CPU without posted interrupts: bits 1, 2, 4 must be 1.
    /// let pin = AllowedSettings::<P>::from_msr(0x0000_003f_0000_0016);
    /// let value = pin.adjust(P::EXTERNAL_INTERRUPT_EXITING, P::VIRTUAL_NMIS)?;
    /// assert_eq!(value.bits(), 0x16 | 0x1 | 0x20);
    /// let err = pin.adjust(P::PROCESS_POSTED_INTERRUPTS, P::empty()).unwrap_err();
    /// assert!(err.to_string().contains("PROCESS_POSTED_INTERRUPTS"));
    /// # Ok::<(), vmx_defs::capabilities::ControlAdjustError>(())
    /// ```
    pub fn adjust(&self, required: T, optional: T) -> Result<T, ControlAdjustError> {
        let may = self.allowed1.to_raw();
        let must = self.allowed0.to_raw();
        let unsupported = required.to_raw() & !may;
        let contradictory = must & !may;
        if unsupported != 0 || contradictory != 0 {
            return Err(ControlAdjustError {
                kind: T::KIND,
                unsupported,
                contradictory,
                describe: describe_bits::<T>,
            });
        }
        let unknown_default1 = T::KIND.default1() & !named_bits::<T>();
        let wanted = required.to_raw() | optional.to_raw() | unknown_default1;
        Ok(T::from_raw(must | (wanted & may)))
    }
}

/// Writes the names of the controls in `bits` (from `T`'s flag names), and "bit N" for each
/// control `T` does not name, separated by ", ".
fn describe_bits<T: ControlBits>(bits: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let value = T::from_raw(bits);
    let mut named = 0u64;
    let mut first = true;
    for (name, flag) in value.iter_names() {
        named |= flag.to_raw();
        if !first {
            f.write_str(", ")?;
        }
        first = false;
        f.write_str(name)?;
    }
    let rest = bits & !named;
    for bit in 0..64 {
        if rest & (1 << bit) != 0 {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "bit {bit}")?;
        }
    }
    Ok(())
}

/// A control setting the processor cannot provide (SDM Vol. 3C §32.5.1), as returned by
/// [`AllowedSettings::adjust`] and the `adjust_*` methods of
/// [`VmxCapabilities`](super::VmxCapabilities).
///
/// `Display` names each offending control, e.g.
/// "secondary processor-based controls: ENABLE_EPT, UNRESTRICTED_GUEST not supported".
#[derive(Clone, Copy)]
pub struct ControlAdjustError {
    kind: ControlKind,
    unsupported: u64,
    contradictory: u64,
    describe: fn(u64, &mut fmt::Formatter<'_>) -> fmt::Result,
}

impl ControlAdjustError {
    /// The control field concerned.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn kind(&self) -> ControlKind {
        self.kind
    }

    /// The required controls that the processor does not allow to be 1 (raw bits).
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn unsupported(&self) -> u64 {
        self.unsupported
    }

    /// Controls the capability MSR reports both as must-be-1 and as not-allowed-1 (raw bits;
    /// 0 on every processor that follows the SDM).
    pub fn contradictory(&self) -> u64 {
        self.contradictory
    }

    /// The unsupported required controls as `T`, if `T` is the type of this error's field.
    ///
    /// SDM Vol. 3D §A.2-§A.5.
    pub fn unsupported_as<T: ControlBits>(&self) -> Option<T> {
        (T::KIND == self.kind).then(|| T::from_raw(self.unsupported))
    }
}

impl PartialEq for ControlAdjustError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.unsupported == other.unsupported
            && self.contradictory == other.contradictory
    }
}

impl Eq for ControlAdjustError {}

impl fmt::Debug for ControlAdjustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlAdjustError")
            .field("kind", &self.kind)
            .field("unsupported", &format_args!("{:#x}", self.unsupported))
            .field("contradictory", &format_args!("{:#x}", self.contradictory))
            .finish()
    }
}

impl fmt::Display for ControlAdjustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.kind)?;
        if self.unsupported != 0 {
            (self.describe)(self.unsupported, f)?;
            f.write_str(" not supported")?;
            if self.contradictory != 0 {
                f.write_str("; ")?;
            }
        }
        if self.contradictory != 0 {
            (self.describe)(self.contradictory, f)?;
            f.write_str(
                " reported as must-be-1 but not allowed to be 1 (inconsistent capability MSR)",
            )?;
        }
        Ok(())
    }
}

impl core::error::Error for ControlAdjustError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    bitflags::bitflags! {
        /// Stand-in for the secondary processor-based controls (a few named bits).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        struct Secondary: u32 {
            const VIRTUALIZE_APIC_ACCESSES = 1 << 0;
            const ENABLE_EPT = 1 << 1;
            const ENABLE_VPID = 1 << 5;
            const UNRESTRICTED_GUEST = 1 << 7;
            const _ = !0;
        }
    }

    bitflags::bitflags! {
        /// Stand-in for the primary processor-based controls: names HLT and CR3 exiting only.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        struct Primary: u32 {
            const HLT_EXITING = 1 << 7;
            const CR3_LOAD_EXITING = 1 << 15;
            const CR3_STORE_EXITING = 1 << 16;
            const _ = !0;
        }
    }

    bitflags::bitflags! {
        /// Stand-in for the tertiary controls (64-bit MSR layout).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        struct Tertiary: u64 {
            const IPI_VIRTUALIZATION = 1 << 4;
            const _ = !0;
        }
    }

    macro_rules! control_bits {
        ($t:ty, $kind:expr, $bits:ty) => {
            impl ControlBits for $t {
                const KIND: ControlKind = $kind;
                fn to_raw(self) -> u64 {
                    self.bits() as u64
                }
                fn from_raw(raw: u64) -> Self {
                    Self::from_bits_retain(raw as $bits)
                }
            }
        };
    }
    control_bits!(Secondary, ControlKind::SecondaryProcBased, u32);
    control_bits!(Primary, ControlKind::PrimaryProcBased, u32);
    control_bits!(Tertiary, ControlKind::TertiaryProcBased, u64);

    #[test]
    fn decodes_32_and_64_bit_layouts() {
        // penryn PROCBASED_CTLS2, ../shared/bochs/models.tsv
        let s = AllowedSettings::<Secondary>::from_msr(0x0000_0041_0000_0000);
        assert_eq!(s.must_be_one(), Secondary::empty());
        assert_eq!(s.may_be_one().bits(), 0x41);
        assert!(s.can_be_one(Secondary::VIRTUALIZE_APIC_ACCESSES));
        assert!(!s.can_be_one(Secondary::ENABLE_EPT));
        assert_eq!(s.to_msr(), 0x0000_0041_0000_0000);
        let t = AllowedSettings::<Tertiary>::from_msr(0x8000_0000_0000_0010);
        assert_eq!(t.must_be_one(), Tertiary::empty());
        assert_eq!(t.may_be_one().bits(), 0x8000_0000_0000_0010);
        assert_eq!(t.to_msr(), 0x8000_0000_0000_0010);
        assert_eq!(AllowedSettings::<Tertiary>::unsupported().to_msr(), 0);
    }

    #[test]
    fn must_be_one_forced_optional_dropped() {
        let s = AllowedSettings::<Secondary>::new(
            Secondary::from_bits_retain(1 << 9),
            Secondary::from_bits_retain(1 << 9) | Secondary::ENABLE_EPT | Secondary::ENABLE_VPID,
        );
        let got = s
            .adjust(
                Secondary::ENABLE_EPT,
                Secondary::ENABLE_VPID | Secondary::UNRESTRICTED_GUEST,
            )
            .unwrap();
        assert_eq!(got.bits(), 1 << 9 | 1 << 1 | 1 << 5);
        assert!(s.permits(got));
    }

    #[test]
    fn missing_required_controls_are_named() {
        let s = AllowedSettings::<Secondary>::from_msr(0x0000_0041_0000_0000);
        let err = s
            .adjust(
                Secondary::ENABLE_EPT
                    | Secondary::UNRESTRICTED_GUEST
                    | Secondary::VIRTUALIZE_APIC_ACCESSES,
                Secondary::empty(),
            )
            .unwrap_err();
        assert_eq!(err.kind(), ControlKind::SecondaryProcBased);
        assert_eq!(err.unsupported(), 1 << 1 | 1 << 7);
        assert_eq!(err.contradictory(), 0);
        assert_eq!(
            err.unsupported_as::<Secondary>().unwrap().bits(),
            1 << 1 | 1 << 7
        );
        assert!(err.unsupported_as::<Primary>().is_none());
        assert_eq!(
            err.to_string(),
            "secondary processor-based controls: ENABLE_EPT, UNRESTRICTED_GUEST not supported"
        );
        let err = s.adjust(
            Secondary::from_bits_retain(1 << 30 | 1 << 5),
            Secondary::empty(),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "secondary processor-based controls: ENABLE_VPID, bit 30 not supported"
        );
    }

    #[test]
    fn contradictory_capability_is_an_error() {
        let s = AllowedSettings::<Secondary>::from_msr(0x0000_0001_0000_0003);
        let err = s
            .adjust(Secondary::empty(), Secondary::empty())
            .unwrap_err();
        assert_eq!(err.contradictory(), 0x2);
        assert_eq!(
            err.to_string(),
            "secondary processor-based controls: ENABLE_EPT reported as must-be-1 but not \
             allowed to be 1 (inconsistent capability MSR)"
        );
    }

    #[test]
    fn true_msr_lets_known_default1_controls_be_zero() {
        // tigerlake: plain IA32_VMX_PROCBASED_CTLS low half 0x0401e172, TRUE 0x04006172.
        let plain = AllowedSettings::<Primary>::from_msr(0xfff9_fffe_0401_e172);
        let truem = AllowedSettings::<Primary>::from_msr(0xfff9_fffe_0400_6172);
        let want = Primary::HLT_EXITING;
        assert_eq!(
            plain.adjust(want, Primary::empty()).unwrap().bits(),
            0x0401_e1f2
        );
        // CR3 exiting is named, not requested, and may be 0: dropped.
        assert_eq!(
            truem.adjust(want, Primary::empty()).unwrap().bits(),
            0x0400_61f2
        );
        // Requesting it keeps it.
        assert_eq!(
            truem
                .adjust(want, Primary::CR3_LOAD_EXITING)
                .unwrap()
                .bits(),
            0x0400_e1f2
        );
    }

    #[test]
    fn unknown_default1_controls_stay_one_under_true_msr() {
        // A TRUE MSR that lets default1 bit 26 (unnamed by `Primary`) be 0: the SDM's
        // algorithm keeps an unknown default1 control at 1.
        let truem = AllowedSettings::<Primary>::from_msr(0xffff_ffff_0000_6172);
        assert_eq!(
            truem
                .adjust(Primary::empty(), Primary::empty())
                .unwrap()
                .bits(),
            0x0400_6172
        );
    }
}
