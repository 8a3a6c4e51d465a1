//! Control register CR0 (SDM Vol. 3A §2.5, Figure 2-7) and the #GP checks of MOV to CR0
//! (SDM Vol. 2B "MOV—Move to/from Control Registers", Vol. 3A §2.5).

use super::{Cr4, Efer};
use core::fmt;

bitflags::bitflags! {
    /// Control register CR0 (SDM Vol. 3A §2.5, Figure 2-7 "Control Registers"). Bits 63:32
    /// are reserved (MOV to CR0 refuses them); the other undefined bits (15:6, 17, 28:19)
    /// are reserved too, but writes of 1 to them are ignored rather than refused.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct Cr0: u64 {
        /// Bit 0 (PE): protection enable.
        const PE = 1 << 0;
        /// Bit 1 (MP): monitor coprocessor (WAIT/FWAIT and TS).
        const MP = 1 << 1;
        /// Bit 2 (EM): emulation (x87 instructions raise #NM).
        const EM = 1 << 2;
        /// Bit 3 (TS): task switched.
        const TS = 1 << 3;
        /// Bit 4 (ET): extension type (hard-wired to 1 on current processors).
        const ET = 1 << 4;
        /// Bit 5 (NE): numeric error (native x87 error reporting through #MF).
        const NE = 1 << 5;
        /// Bit 16 (WP): write protect (supervisor writes honour read-only pages).
        const WP = 1 << 16;
        /// Bit 18 (AM): alignment mask (with RFLAGS.AC, enables #AC at CPL 3).
        const AM = 1 << 18;
        /// Bit 29 (NW): not write-through.
        const NW = 1 << 29;
        /// Bit 30 (CD): cache disable.
        const CD = 1 << 30;
        /// Bit 31 (PG): paging.
        const PG = 1 << 31;
    }
}

/// What MOV to CR0 depends on besides the new value (SDM Vol. 2B "MOV—Move to/from Control
/// Registers", exceptions): the current CR0, CR4 and IA32_EFER, and whether the guest is
/// in 64-bit mode (IA32_EFER.LMA = 1 and CS.L = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cr0WriteContext {
    /// CR0 before the write.
    pub current: Cr0,
    /// CR4 at the time of the write.
    pub cr4: Cr4,
    /// IA32_EFER at the time of the write.
    pub efer: Efer,
    /// The write executes in 64-bit mode.
    pub in_64bit_mode: bool,
}

/// Why MOV to CR0 would raise #GP(0) (SDM Vol. 2B "MOV—Move to/from Control Registers",
/// protected-mode and 64-bit-mode exceptions; Vol. 3A §2.5). One variant per rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cr0Error {
    /// Bits 63:32 are reserved and must be 0.
    ReservedHigh {
        /// The reserved bits that were set.
        bits: u64,
    },
    /// PG = 1 needs PE = 1.
    PagingWithoutProtection,
    /// NW = 1 needs CD = 1.
    NotWriteThroughWithoutCacheDisable,
    /// WP may not be cleared while CR4.CET = 1.
    WriteProtectClearedWithCet,
    /// PG may not be cleared in 64-bit mode.
    PagingClearedIn64BitMode,
    /// PG may not be cleared while CR4.PCIDE = 1.
    PagingClearedWithPcide,
    /// Setting PG with IA32_EFER.LME = 1 (activating IA-32e mode) needs CR4.PAE = 1.
    LongModeWithoutPae,
}

impl fmt::Display for Cr0Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ReservedHigh { bits } => {
                write!(f, "CR0 bits 63:32 are reserved, {bits:#x} set")
            }
            Self::PagingWithoutProtection => f.write_str("CR0.PG = 1 needs CR0.PE = 1"),
            Self::NotWriteThroughWithoutCacheDisable => f.write_str("CR0.NW = 1 needs CR0.CD = 1"),
            Self::WriteProtectClearedWithCet => {
                f.write_str("CR0.WP cannot be cleared while CR4.CET = 1")
            }
            Self::PagingClearedIn64BitMode => {
                f.write_str("CR0.PG cannot be cleared in 64-bit mode")
            }
            Self::PagingClearedWithPcide => {
                f.write_str("CR0.PG cannot be cleared while CR4.PCIDE = 1")
            }
            Self::LongModeWithoutPae => {
                f.write_str("setting CR0.PG with IA32_EFER.LME = 1 needs CR4.PAE = 1")
            }
        }
    }
}

impl core::error::Error for Cr0Error {}

impl Cr0 {
    /// Bits 63:32, reserved: MOV to CR0 raises #GP if any is 1 (SDM Vol. 3A §2.5).
    pub const RESERVED_HIGH: u64 = 0xffff_ffff_0000_0000;

    /// The checks MOV to CR0 applies (SDM Vol. 2B "MOV—Move to/from Control Registers";
    /// Vol. 3A §2.5): `Ok` with the value if the processor would load it, else the first
    /// rule it breaks (the processor would raise #GP(0)). Undefined bits below 32 pass:
    /// the processor ignores them.
    ///
    /// ```
    /// use vmx_defs::registers::{Cr0, Cr0Error, Cr0WriteContext, Cr4, Efer};
    ///
    /// let ctx = Cr0WriteContext {
    ///     current: Cr0::PE | Cr0::ET,
    ///     cr4: Cr4::empty(),
    ///     efer: Efer::empty(),
    ///     in_64bit_mode: false,
    /// };
    /// assert_eq!(Cr0::check_mov(0x8000_0011, ctx), Ok(Cr0::PG | Cr0::ET | Cr0::PE));
    /// assert_eq!(Cr0::check_mov(0x8000_0000, ctx), Err(Cr0Error::PagingWithoutProtection));
    /// assert_eq!(Cr0::check_mov(1 << 29 | 1, ctx), Err(Cr0Error::NotWriteThroughWithoutCacheDisable));
    /// assert_eq!(Cr0::check_mov(1 << 32 | 1, ctx), Err(Cr0Error::ReservedHigh { bits: 1 << 32 }));
    /// ```
    pub const fn check_mov(value: u64, ctx: Cr0WriteContext) -> Result<Cr0, Cr0Error> {
        let high = value & Self::RESERVED_HIGH;
        if high != 0 {
            return Err(Cr0Error::ReservedHigh { bits: high });
        }
        let new = Cr0::from_bits_retain(value);
        if new.contains(Cr0::PG) && !new.contains(Cr0::PE) {
            return Err(Cr0Error::PagingWithoutProtection);
        }
        if new.contains(Cr0::NW) && !new.contains(Cr0::CD) {
            return Err(Cr0Error::NotWriteThroughWithoutCacheDisable);
        }
        if !new.contains(Cr0::WP) && ctx.cr4.contains(Cr4::CET) {
            return Err(Cr0Error::WriteProtectClearedWithCet);
        }
        let clears_pg = ctx.current.contains(Cr0::PG) && !new.contains(Cr0::PG);
        if clears_pg && ctx.in_64bit_mode {
            return Err(Cr0Error::PagingClearedIn64BitMode);
        }
        if clears_pg && ctx.cr4.contains(Cr4::PCIDE) {
            return Err(Cr0Error::PagingClearedWithPcide);
        }
        let sets_pg = !ctx.current.contains(Cr0::PG) && new.contains(Cr0::PG);
        if sets_pg && ctx.efer.contains(Efer::LME) && !ctx.cr4.contains(Cr4::PAE) {
            return Err(Cr0Error::LongModeWithoutPae);
        }
        Ok(new)
    }
}
