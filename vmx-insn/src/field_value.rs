//! Conversions between a VMCS field's typed value and the 64-bit register VMREAD and
//! VMWRITE use (SDM Vol. 3C §31.3 "VMREAD", "VMWRITE").

mod sealed {
    /// Keeps [`super::FieldValue`] to `u16`, `u32` and `u64`.
    pub trait Sealed {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

/// The value type of a VMCS field width (`vmx_defs::vmcs::Width::Value`): `u16`, `u32`
/// or `u64`. Sealed.
pub trait FieldValue: sealed::Sealed + Copy {
    /// The value from a VMREAD result. VMREAD clears the destination bits above the
    /// field's width (SDM Vol. 3C §31.3 "VMREAD"), so keeping the low bits loses nothing.
    fn from_register(value: u64) -> Self;
    /// The value as a VMWRITE source operand, zero-extended.
    fn into_register(self) -> u64;
}

impl FieldValue for u16 {
    fn from_register(value: u64) -> Self {
        value as u16
    }
    fn into_register(self) -> u64 {
        u64::from(self)
    }
}

impl FieldValue for u32 {
    fn from_register(value: u64) -> Self {
        value as u32
    }
    fn into_register(self) -> u64 {
        u64::from(self)
    }
}

impl FieldValue for u64 {
    fn from_register(value: u64) -> Self {
        value
    }
    fn into_register(self) -> u64 {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(v16: u16, v32: u32, v64: u64) {
            prop_assert_eq!(u16::from_register(v16.into_register()), v16);
            prop_assert_eq!(u32::from_register(v32.into_register()), v32);
            prop_assert_eq!(u64::from_register(v64.into_register()), v64);
            prop_assert_eq!(v16.into_register() >> 16, 0);
            prop_assert_eq!(v32.into_register() >> 32, 0);
        }

        #[test]
        fn from_register_keeps_low_bits(raw: u64) {
            prop_assert_eq!(u64::from(u16::from_register(raw)), raw & 0xffff);
            prop_assert_eq!(u64::from(u32::from_register(raw)), raw & 0xffff_ffff);
            prop_assert_eq!(u64::from_register(raw), raw);
        }
    }
}
