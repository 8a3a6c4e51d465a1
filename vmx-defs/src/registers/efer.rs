//! The IA32_EFER MSR (0xC000_0080; SDM Vol. 3A §2.2.1, Figure 2-4; Vol. 4 Table 2-2).

bitflags::bitflags! {
    /// IA32_EFER, the extended feature enable register (MSR 0xC000_0080; SDM Vol. 3A
    /// §2.2.1 Figure 2-4, Vol. 4 Table 2-2). Intel defines bits 0, 8, 10 and 11; the others
    /// are reserved (bit 12, AMD's SVME, is not an Intel bit and has no name here).
    /// Unknown bits are kept by [`Efer::from_bits_retain`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct Efer: u64 {
        /// Bit 0 (SCE): SYSCALL/SYSRET enable.
        const SCE = 1 << 0;
        /// Bit 8 (LME): IA-32e mode enable.
        const LME = 1 << 8;
        /// Bit 10 (LMA): IA-32e mode active (read-only; the processor sets it).
        const LMA = 1 << 10;
        /// Bit 11 (NXE): execute-disable bit enable.
        const NXE = 1 << 11;
    }
}

impl Efer {
    /// The MSR index of IA32_EFER (SDM Vol. 4 Table 2-2).
    pub const MSR: u32 = 0xC000_0080;

    /// The bits the SDM reserves (every bit but SCE, LME, LMA, NXE; SDM Vol. 4 Table 2-2):
    /// WRMSR raises #GP if one is 1, and VM entry with "load IA32_EFER" refuses them
    /// (SDM Vol. 3C §27.3.1.1).
    pub const RESERVED: u64 = !Self::all().bits();

    /// The reserved bits set in this value (0 if none).
    ///
    /// SDM Vol. 3A §2.2.1.
    pub const fn reserved_bits(self) -> u64 {
        self.bits() & Self::RESERVED
    }
}
