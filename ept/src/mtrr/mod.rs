//! Memory types from the MTRRs (SDM Vol. 3A §12.11, "Memory Type Range Registers").
//!
//! A hypervisor with EPT chooses the memory type of each guest page in the EPT leaf
//! (SDM Vol. 3C §29.3.7); for guest RAM and MMIO it usually takes the type the host MTRRs
//! give the host-physical range. [`Mtrrs`] holds the MSR values (read with
//! [`Mtrrs::from_msrs`] or given as synthetic values) and answers the effective type of an
//! address or a range with the precedence rules of SDM Vol. 3A §12.11.4.1:
//!
//! 1. MTRRs disabled (IA32_MTRR_DEF_TYPE.E = 0): UC everywhere.
//! 2. Below 1 MiB with fixed ranges enabled (FE = 1, and IA32_MTRRCAP.FIX): the fixed range.
//! 3. Otherwise the variable ranges that contain the address: one, or several of one type:
//!    that type; several with one UC: UC; only WT and WB: WT; any other overlap is
//!    undefined: [`MtrrError::Conflict`] by default, or UC with
//!    [`ConflictPolicy::Uncacheable`].
//! 4. No range: the default type.

mod bits;
mod msrs;
mod resolve;

pub use msrs::{
    FIXED_RANGE_MSRS, IA32_MTRR_DEF_TYPE, IA32_MTRR_PHYSBASE0, IA32_MTRR_PHYSMASK0, IA32_MTRRCAP,
    MtrrCap, MtrrDefType, VariableMtrr,
};
pub use resolve::{ConflictPolicy, MtrrError, MtrrSegment, Mtrrs, RangeMemoryType, Segments};
