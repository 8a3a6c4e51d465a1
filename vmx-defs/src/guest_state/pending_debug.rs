//! Guest pending debug exceptions (VMCS encoding 0x6822; SDM Vol. 3C §25.4.2, Table 25-4
//! "Format of Pending-Debug-Exceptions").

bitflags::bitflags! {
    /// Debug exceptions recognized but not yet delivered (SDM Vol. 3C §25.4.2, Table 25-4).
    ///
    /// Bits 3:0 and 14 follow DR6; other bits are reserved and must be 0 for VM entry
    /// (§27.3.1.5). [`PendingDebugExceptions::from_bits_retain`] keeps them so any read
    /// value decodes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PendingDebugExceptions: u64 {
        /// Bit 0: breakpoint condition 0 met.
        const B0 = 1 << 0;
        /// Bit 1: breakpoint condition 1 met.
        const B1 = 1 << 1;
        /// Bit 2: breakpoint condition 2 met.
        const B2 = 1 << 2;
        /// Bit 3: breakpoint condition 3 met.
        const B3 = 1 << 3;
        /// Bit 12: at least one data or I/O breakpoint met and was enabled in DR7.
        const ENABLED_BREAKPOINT = 1 << 12;
        /// Bit 14 (BS): a debug exception would have been triggered by single-step.
        const BS = 1 << 14;
        /// Bit 16 (RTM): a debug exception (#DB) or breakpoint (#BP) occurred inside an
        /// RTM region with advanced debugging of RTM transactional regions enabled.
        const RTM = 1 << 16;
    }
}

impl PendingDebugExceptions {
    /// Reserved bits: 11:4, 13, 15, 63:17.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const RESERVED: u64 = !(0xf | (1 << 12) | (1 << 14) | (1 << 16));

    /// The reserved bits that are set.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const fn reserved_bits(self) -> u64 {
        self.bits() & Self::RESERVED
    }
}
