//! Exit qualification for APIC-access VM exits (SDM Vol. 3C §28.2.1, Table 28-6).

use super::bits;

/// Access type of an APIC-access VM exit (bits 15:12, SDM Vol. 3C Table 28-6). Values the
/// SDM does not use decode to [`Unknown`](ApicAccessType::Unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApicAccessType {
    /// Linear access for a data read during instruction execution (0).
    LinearRead,
    /// Linear access for a data write during instruction execution (1).
    LinearWrite,
    /// Linear access for an instruction fetch (2).
    LinearFetch,
    /// Linear access (read or write) during event delivery (3).
    LinearEventDelivery,
    /// Guest-physical access during event delivery (10).
    GuestPhysicalEventDelivery,
    /// Guest-physical access for an instruction fetch or during instruction execution (15).
    GuestPhysicalInstruction,
    /// A 4-bit value the SDM does not use.
    Unknown(u8),
}

impl ApicAccessType {
    /// Decodes the 4-bit field; only the low 4 bits of `value` are used.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn from_bits(value: u8) -> Self {
        match value & 0xF {
            0 => Self::LinearRead,
            1 => Self::LinearWrite,
            2 => Self::LinearFetch,
            3 => Self::LinearEventDelivery,
            10 => Self::GuestPhysicalEventDelivery,
            15 => Self::GuestPhysicalInstruction,
            other => Self::Unknown(other),
        }
    }

    /// `true` for the linear-access types (0–3), for which the page offset is defined.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn is_linear(self) -> bool {
        matches!(
            self,
            Self::LinearRead | Self::LinearWrite | Self::LinearFetch | Self::LinearEventDelivery
        )
    }
}

/// Exit qualification of an APIC-access VM exit (basic exit reason 44), SDM Vol. 3C §28.2.1
/// Table 28-6 "Exit Qualification for APIC-Access VM Exits from Linear Accesses and
/// Guest-Physical Accesses". Bit 16 says the access was asynchronous to instruction
/// execution; bits 63:17 are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApicAccessQualification(u64);

super::impl_raw!(ApicAccessQualification);

impl ApicAccessQualification {
    /// Offset of the access within the APIC page (bits 11:0, Table 28-6); undefined for
    /// guest-physical accesses — see [`linear_offset`](Self::linear_offset).
    pub const fn offset(self) -> u16 {
        bits(self.0, 0, 11) as u16
    }

    /// Access type (bits 15:12, Table 28-6).
    pub const fn access_type(self) -> ApicAccessType {
        ApicAccessType::from_bits(bits(self.0, 12, 15) as u8)
    }

    /// Bit 16 (Table 28-6 in current SDMs, as bit 16 of the EPT-violation qualification,
    /// Table 28-7): the access was asynchronous to instruction execution and not part of
    /// event delivery (e.g. a guest-physical access for Intel PT trace output); such an
    /// access did not come from the instruction at the guest RIP, so a VMM must not
    /// emulate that instruction for it. 0 on processors that predate the bit.
    pub const fn asynchronous_to_instruction(self) -> bool {
        super::bit(self.0, 16)
    }

    /// The page offset if the access type says it is defined (a linear access), else `None`.
    ///
    /// SDM Vol. 3C §28.2.1.
    pub const fn linear_offset(self) -> Option<u16> {
        if self.access_type().is_linear() {
            Some(self.offset())
        } else {
            None
        }
    }
}
