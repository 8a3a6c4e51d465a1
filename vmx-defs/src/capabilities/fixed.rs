//! IA32_VMX_CR0_FIXED0/1 and IA32_VMX_CR4_FIXED0/1 (MSRs 0x486-0x489), SDM Vol. 3D §A.7
//! and §A.8, "VMX-Fixed Bits in CR0" / "VMX-Fixed Bits in CR4".

use core::fmt;

/// Which control register a [`FixedBits`] pair constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3D §A.7-§A.8.
pub enum FixedRegister {
    /// CR0, from IA32_VMX_CR0_FIXED0/1 (SDM Vol. 3D §A.7).
    Cr0,
    /// CR4, from IA32_VMX_CR4_FIXED0/1 (SDM Vol. 3D §A.8).
    Cr4,
}

impl FixedRegister {
    /// "CR0" or "CR4".
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cr0 => "CR0",
            Self::Cr4 => "CR4",
        }
    }

    /// The architectural name of bit `bit` of this register (SDM Vol. 3A §2.5), or `None`
    /// for a reserved bit.
    pub const fn bit_name(self, bit: u32) -> Option<&'static str> {
        match self {
            Self::Cr0 => match bit {
                0 => Some("PE"),
                1 => Some("MP"),
                2 => Some("EM"),
                3 => Some("TS"),
                4 => Some("ET"),
                5 => Some("NE"),
                16 => Some("WP"),
                18 => Some("AM"),
                29 => Some("NW"),
                30 => Some("CD"),
                31 => Some("PG"),
                _ => None,
            },
            Self::Cr4 => match bit {
                0 => Some("VME"),
                1 => Some("PVI"),
                2 => Some("TSD"),
                3 => Some("DE"),
                4 => Some("PSE"),
                5 => Some("PAE"),
                6 => Some("MCE"),
                7 => Some("PGE"),
                8 => Some("PCE"),
                9 => Some("OSFXSR"),
                10 => Some("OSXMMEXCPT"),
                11 => Some("UMIP"),
                12 => Some("LA57"),
                13 => Some("VMXE"),
                14 => Some("SMXE"),
                16 => Some("FSGSBASE"),
                17 => Some("PCIDE"),
                18 => Some("OSXSAVE"),
                19 => Some("KL"),
                20 => Some("SMEP"),
                21 => Some("SMAP"),
                22 => Some("PKE"),
                23 => Some("CET"),
                24 => Some("PKS"),
                25 => Some("UINTR"),
                27 => Some("LASS"),
                28 => Some("LAM_SUP"),
                32 => Some("FRED"),
                _ => None,
            },
        }
    }
}

/// CR0.PE (bit 0).
///
/// SDM Vol. 3D §A.7-§A.8.
pub const CR0_PE: u64 = 1 << 0;
/// CR0.NE (bit 5).
///
/// SDM Vol. 3D §A.7-§A.8.
pub const CR0_NE: u64 = 1 << 5;
/// CR0.PG (bit 31).
///
/// SDM Vol. 3D §A.7-§A.8.
pub const CR0_PG: u64 = 1 << 31;
/// CR4.VMXE (bit 13).
///
/// SDM Vol. 3D §A.7-§A.8.
pub const CR4_VMXE: u64 = 1 << 13;

/// A FIXED0/FIXED1 MSR pair: which bits of CR0 or CR4 must be 1 and which must be 0 in VMX
/// operation (SDM Vol. 3D §A.7, §A.8).
///
/// If bit X is 1 in FIXED0, that bit of the register must be 1; if bit X is 0 in FIXED1, it
/// must be 0. The constraints apply to the register when VMXON executes, throughout VMX
/// operation, and to the host and guest CR0/CR4 fields at VM entry (with the
/// unrestricted-guest relaxation of [`FixedBits::for_unrestricted_guest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedBits {
    register: FixedRegister,
    fixed0: u64,
    fixed1: u64,
}

impl FixedBits {
    /// The pair for `register` from the raw FIXED0 and FIXED1 MSR values.
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn new(register: FixedRegister, fixed0: u64, fixed1: u64) -> Self {
        Self {
            register,
            fixed0,
            fixed1,
        }
    }

    /// The register these bits constrain.
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn register(self) -> FixedRegister {
        self.register
    }

    /// The raw FIXED0 value.
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn fixed0(self) -> u64 {
        self.fixed0
    }

    /// The raw FIXED1 value.
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn fixed1(self) -> u64 {
        self.fixed1
    }

    /// Bits that must be 1 (FIXED0).
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn must_be_one(self) -> u64 {
        self.fixed0
    }

    /// Bits that must be 0 (the complement of FIXED1).
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn must_be_zero(self) -> u64 {
        !self.fixed1
    }

    /// Bits FIXED0 requires to be 1 that FIXED1 forbids: empty for every processor that
    /// follows the SDM; a nonzero value means no register value can satisfy the pair.
    pub const fn contradictory(self) -> u64 {
        self.fixed0 & !self.fixed1
    }

    /// `value` with every must-be-1 bit set and every must-be-0 bit cleared:
    /// `(value | FIXED0) & FIXED1`. If the pair is contradictory the result still fails
    /// [`FixedBits::check`].
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn adjust(self, value: u64) -> u64 {
        (value | self.fixed0) & self.fixed1
    }

    /// Checks `value` against the pair; the error names every offending bit.
    ///
    /// SDM Vol. 3D §A.7-§A.8.
    pub const fn check(self, value: u64) -> Result<(), FixedBitsError> {
        let missing_ones = self.fixed0 & !value;
        let forbidden_ones = value & !self.fixed1;
        if missing_ones == 0 && forbidden_ones == 0 {
            Ok(())
        } else {
            Err(FixedBitsError {
                register: self.register,
                missing_ones,
                forbidden_ones,
            })
        }
    }

    /// The pair that applies to the guest CR0 field when the "unrestricted guest" secondary
    /// control is 1 (SDM Vol. 3C §27.3.1.1): CR0.PE and CR0.PG are not required to be 1.
    /// The check "if CR0.PG is 1, CR0.PE must be 1" still applies to the guest and is not
    /// expressible as fixed bits. A CR4 pair is returned unchanged.
    pub const fn for_unrestricted_guest(self) -> Self {
        match self.register {
            FixedRegister::Cr0 => Self {
                fixed0: self.fixed0 & !(CR0_PE | CR0_PG),
                ..self
            },
            FixedRegister::Cr4 => self,
        }
    }
}

/// A CR0/CR4 value that violates the VMX fixed bits (SDM Vol. 3D §A.7, §A.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedBitsError {
    /// The register checked.
    pub register: FixedRegister,
    /// Bits that are 0 but must be 1.
    pub missing_ones: u64,
    /// Bits that are 1 but must be 0.
    pub forbidden_ones: u64,
}

fn write_bits(f: &mut fmt::Formatter<'_>, reg: FixedRegister, bits: u64) -> fmt::Result {
    let mut first = true;
    for bit in 0..64 {
        if bits & (1 << bit) == 0 {
            continue;
        }
        if !first {
            f.write_str(", ")?;
        }
        first = false;
        match reg.bit_name(bit) {
            Some(name) => write!(f, "{}.{name}", reg.name())?,
            None => write!(f, "{} bit {bit}", reg.name())?,
        }
    }
    Ok(())
}

impl fmt::Display for FixedBitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.missing_ones != 0 {
            write_bits(f, self.register, self.missing_ones)?;
            f.write_str(" must be 1 in VMX operation")?;
            if self.forbidden_ones != 0 {
                f.write_str("; ")?;
            }
        }
        if self.forbidden_ones != 0 {
            write_bits(f, self.register, self.forbidden_ones)?;
            f.write_str(" must be 0 in VMX operation")?;
        }
        Ok(())
    }
}

impl core::error::Error for FixedBitsError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    // corei7_skylake_x, ../shared/bochs/models.tsv
    const CR0: FixedBits = FixedBits::new(FixedRegister::Cr0, 0x8000_0021, 0xffff_ffff);
    const CR4: FixedBits = FixedBits::new(FixedRegister::Cr4, 0x2000, 0x3727ff);

    #[test]
    fn bochs_values() {
        assert_eq!(CR0.must_be_one(), CR0_PE | CR0_NE | CR0_PG);
        assert_eq!(CR0.must_be_zero(), 0xffff_ffff_0000_0000);
        assert_eq!(CR4.must_be_one(), CR4_VMXE);
        assert_eq!(CR0.contradictory(), 0);
        assert_eq!(CR0.adjust(0x11), 0x8000_0031);
        assert_eq!(CR0.check(0x8000_0031), Ok(()));
        assert_eq!(CR4.adjust(1 << 23 | 1 << 5), 1 << 13 | 1 << 5);
    }

    #[test]
    fn check_names_bits() {
        let err = CR4.check(1 << 23 | 1 << 40).unwrap_err();
        assert_eq!(err.missing_ones, CR4_VMXE);
        assert_eq!(err.forbidden_ones, 1 << 23 | 1 << 40);
        assert_eq!(
            err.to_string(),
            "CR4.VMXE must be 1 in VMX operation; CR4.CET, CR4 bit 40 must be 0 in VMX operation"
        );
        let err = CR0.check(0x11).unwrap_err();
        assert_eq!(err.to_string(), "CR0.NE, CR0.PG must be 1 in VMX operation");
    }

    #[test]
    fn unrestricted_guest_relaxes_pe_and_pg_only() {
        let ug = CR0.for_unrestricted_guest();
        assert_eq!(ug.must_be_one(), CR0_NE);
        assert_eq!(ug.check(CR0_NE), Ok(()));
        assert!(CR0.check(CR0_NE).is_err());
        assert_eq!(CR4.for_unrestricted_guest(), CR4);
    }
}
