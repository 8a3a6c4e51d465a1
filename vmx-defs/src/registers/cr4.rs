//! Control register CR4 (SDM Vol. 3A §2.5, Figure 2-7) and its reserved-bit check.

use core::fmt;

bitflags::bitflags! {
    /// Control register CR4 (SDM Vol. 3A §2.5, Figure 2-7 "Control Registers"). Bits 15, 26,
    /// 31:29 and 63:33 are reserved: MOV to CR4 raises #GP if one of them is 1, and so does a
    /// defined bit the processor does not support ([`Cr4::check_reserved`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct Cr4: u64 {
        /// Bit 0 (VME): virtual-8086 mode extensions.
        const VME = 1 << 0;
        /// Bit 1 (PVI): protected-mode virtual interrupts.
        const PVI = 1 << 1;
        /// Bit 2 (TSD): time stamp disable (RDTSC/RDTSCP at CPL 0 only).
        const TSD = 1 << 2;
        /// Bit 3 (DE): debugging extensions.
        const DE = 1 << 3;
        /// Bit 4 (PSE): page size extensions (4-MByte pages with 32-bit paging).
        const PSE = 1 << 4;
        /// Bit 5 (PAE): physical address extension.
        const PAE = 1 << 5;
        /// Bit 6 (MCE): machine-check enable.
        const MCE = 1 << 6;
        /// Bit 7 (PGE): page global enable.
        const PGE = 1 << 7;
        /// Bit 8 (PCE): performance-monitoring counter enable (RDPMC at any CPL).
        const PCE = 1 << 8;
        /// Bit 9 (OSFXSR): OS support for FXSAVE and FXRSTOR.
        const OSFXSR = 1 << 9;
        /// Bit 10 (OSXMMEXCPT): OS support for unmasked SIMD floating-point exceptions.
        const OSXMMEXCPT = 1 << 10;
        /// Bit 11 (UMIP): user-mode instruction prevention.
        const UMIP = 1 << 11;
        /// Bit 12 (LA57): 57-bit linear addresses (5-level paging).
        const LA57 = 1 << 12;
        /// Bit 13 (VMXE): VMX enable.
        const VMXE = 1 << 13;
        /// Bit 14 (SMXE): SMX enable.
        const SMXE = 1 << 14;
        /// Bit 16 (FSGSBASE): RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE enable.
        const FSGSBASE = 1 << 16;
        /// Bit 17 (PCIDE): process-context identifiers enable.
        const PCIDE = 1 << 17;
        /// Bit 18 (OSXSAVE): XSAVE and processor extended states enable.
        const OSXSAVE = 1 << 18;
        /// Bit 19 (KL): Key Locker enable.
        const KL = 1 << 19;
        /// Bit 20 (SMEP): supervisor-mode execution prevention.
        const SMEP = 1 << 20;
        /// Bit 21 (SMAP): supervisor-mode access prevention.
        const SMAP = 1 << 21;
        /// Bit 22 (PKE): protection keys for user-mode pages.
        const PKE = 1 << 22;
        /// Bit 23 (CET): control-flow enforcement technology.
        const CET = 1 << 23;
        /// Bit 24 (PKS): protection keys for supervisor-mode pages.
        const PKS = 1 << 24;
        /// Bit 25 (UINTR): user interrupts enable.
        const UINTR = 1 << 25;
        /// Bit 27 (LASS): linear-address-space separation.
        const LASS = 1 << 27;
        /// Bit 28 (LAM_SUP): linear-address masking for supervisor pointers.
        const LAM_SUP = 1 << 28;
        /// Bit 32 (FRED): flexible return and event delivery (IA-32e mode only).
        const FRED = 1 << 32;
    }
}

/// Why MOV to CR4 would raise #GP(0) because of the bits set (SDM Vol. 2B "MOV—Move
/// to/from Control Registers"; Vol. 3A §2.5). One variant per rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cr4Error {
    /// Bits the SDM reserves (15, 26, 31:29, 63:33) are set.
    Reserved {
        /// The reserved bits that were set.
        bits: u64,
    },
    /// Defined bits that the processor does not support are set.
    Unsupported {
        /// The unsupported bits that were set.
        bits: u64,
    },
}

impl fmt::Display for Cr4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Reserved { bits } => write!(f, "reserved CR4 bits set: {bits:#x}"),
            Self::Unsupported { bits } => {
                write!(f, "CR4 bits the processor does not support set: {bits:#x}")
            }
        }
    }
}

impl core::error::Error for Cr4Error {}

impl Cr4 {
    /// The bits the SDM reserves (every bit without a name here).
    pub const RESERVED: u64 = !Self::all().bits();

    /// The reserved-bit check of MOV to CR4 (SDM Vol. 2B "MOV—Move to/from Control
    /// Registers"; Vol. 3A §2.5 and §2.5.1 "CPUID Qualification of Control Register
    /// Flags"): a bit the SDM reserves, or a defined bit outside `supported` (the features
    /// the processor enumerates, or that a VMM exposes to its guest), raises #GP. Other
    /// MOV-to-CR4 rules (PCIDE with CR3\[11:0\], leaving IA-32e mode...) depend on more
    /// state and are not checked here.
    ///
    /// ```
    /// use vmx_defs::registers::{Cr4, Cr4Error};
    ///
    /// let supported = Cr4::PAE | Cr4::PGE | Cr4::OSFXSR | Cr4::OSXSAVE;
    /// assert_eq!(Cr4::check_reserved(0x20, supported), Ok(Cr4::PAE));
    /// assert_eq!(Cr4::check_reserved(1 << 15, supported), Err(Cr4Error::Reserved { bits: 1 << 15 }));
    /// assert_eq!(Cr4::check_reserved(1 << 32, supported), Err(Cr4Error::Unsupported { bits: 1 << 32 }));
    /// ```
    pub const fn check_reserved(value: u64, supported: Cr4) -> Result<Cr4, Cr4Error> {
        let reserved = value & Self::RESERVED;
        if reserved != 0 {
            return Err(Cr4Error::Reserved { bits: reserved });
        }
        let unsupported = value & !supported.bits();
        if unsupported != 0 {
            return Err(Cr4Error::Unsupported { bits: unsupported });
        }
        Ok(Cr4::from_bits_retain(value))
    }
}
