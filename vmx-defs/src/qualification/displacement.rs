//! Exit qualification holding the displacement of a memory operand (SDM Vol. 3C §28.2.1).

/// Exit qualification for INVEPT, INVPCID, INVVPID, LGDT, LIDT, LLDT, LTR, SGDT, SIDT, SLDT,
/// STR, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMXON, XRSTORS and XSAVES (basic exit
/// reasons 19, 21, 22, 23, 25, 27, 46, 47, 50, 53, 58, 63, 64), SDM Vol. 3C §28.2.1: the
/// displacement field of the memory operand (0 if there is none, e.g. for a register
/// operand); with RIP-relative addressing, the displacement plus the RIP of the next
/// instruction.
///
/// The SDM sign-extends the displacement to 64 bits but leaves the bits beyond the
/// instruction's address size undefined (Bochs zero-extends them); use
/// [`displacement_for`](Self::displacement_for) to reduce it to the address size reported
/// in the instruction-information field. The other operand parts are in the instruction-information field
/// ([`crate::instruction_info`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DisplacementQualification(u64);

super::impl_raw!(DisplacementQualification);

impl DisplacementQualification {
    /// The displacement (bits 63:0) as reported (SDM Vol. 3C §28.2.1).
    pub const fn displacement(self) -> u64 {
        self.0
    }

    /// The displacement truncated to `address_size` (16, 32 or 64 bits, from the
    /// instruction-information field) for use in effective-address arithmetic. A reserved
    /// address size leaves the value unchanged.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn displacement_for(self, address_size: crate::instruction_info::AddressSize) -> u64 {
        match address_size {
            crate::instruction_info::AddressSize::Bits16 => self.0 & 0xFFFF,
            crate::instruction_info::AddressSize::Bits32 => self.0 & 0xFFFF_FFFF,
            _ => self.0,
        }
    }
}
