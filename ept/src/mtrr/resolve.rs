//! The effective memory type of addresses and ranges (SDM Vol. 3A §12.11.4.1).

use core::fmt;

use vmx_defs::memory_type::MemoryType;

use super::bits::{next_match, next_mismatch};
use super::msrs::{
    FIXED_RANGE_MSRS, IA32_MTRR_DEF_TYPE, IA32_MTRR_PHYSBASE0, IA32_MTRR_PHYSMASK0, IA32_MTRRCAP,
    MtrrCap, MtrrDefType, VariableMtrr, width_mask,
};

/// The most variable ranges IA32_MTRRCAP.VCNT (8 bits) can report.
const MAX_VARIABLE: usize = 255;
/// The fixed ranges cover the first MiB.
const FIXED_END: u64 = 0x10_0000;

/// What to do where variable ranges overlap in a way the SDM leaves undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ConflictPolicy {
    /// Report [`MtrrError::Conflict`].
    #[default]
    Error,
    /// Use UC, the most conservative type.
    Uncacheable,
}

/// Why a memory type could not be determined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MtrrError {
    /// Variable ranges of types `first` and `second` overlap at `addr`, which the SDM leaves
    /// undefined (Vol. 3A §12.11.4.1).
    Conflict {
        /// An address in the overlap.
        addr: u64,
        /// One type.
        first: MemoryType,
        /// Another.
        second: MemoryType,
    },
    /// An MTRR holds a reserved memory type (2, 3, 7 or above), which WRMSR would have
    /// refused with #GP (SDM Vol. 3A §12.11.2): `addr` is where it applies.
    ReservedType {
        /// An address the MTRR applies to.
        addr: u64,
        /// The value.
        memory_type: MemoryType,
    },
    /// More variable-range pairs than IA32_MTRRCAP.VCNT.
    TooManyVariableRanges {
        /// Pairs given.
        given: usize,
        /// VCNT.
        vcnt: u8,
    },
    /// An address at or beyond 2^MAXPHYADDR, or a range whose end is.
    BeyondPhysAddrWidth {
        /// The address.
        addr: u64,
    },
    /// A range of length 0, or not 4-KiB aligned (MTRRs have 4-KiB granularity).
    InvalidRange {
        /// Start.
        start: u64,
        /// Length.
        len: u64,
    },
    /// MAXPHYADDR outside 36..=52.
    InvalidPhysAddrWidth(u8),
}

impl fmt::Display for MtrrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MtrrError::Conflict {
                addr,
                first,
                second,
            } => write!(
                f,
                "variable MTRRs of types {first} and {second} overlap at {addr:#x} (undefined)"
            ),
            MtrrError::ReservedType { addr, memory_type } => {
                write!(
                    f,
                    "reserved memory type {memory_type} in an MTRR for {addr:#x}"
                )
            }
            MtrrError::TooManyVariableRanges { given, vcnt } => {
                write!(
                    f,
                    "{given} variable MTRRs given, IA32_MTRRCAP reports {vcnt}"
                )
            }
            MtrrError::BeyondPhysAddrWidth { addr } => {
                write!(f, "{addr:#x} is beyond the physical-address width")
            }
            MtrrError::InvalidRange { start, len } => {
                write!(f, "invalid range of {len:#x} bytes at {start:#x}")
            }
            MtrrError::InvalidPhysAddrWidth(w) => write!(f, "MAXPHYADDR {w} outside 36..=52"),
        }
    }
}

impl core::error::Error for MtrrError {}

/// The memory type over a range, by the precedence rules of SDM Vol. 3A §12.11.4.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeMemoryType {
    /// The whole range has this type: one EPT mapping with this memory type fits.
    Uniform(MemoryType),
    /// The range starts with `first` and changes type at `split_at`: split the mapping
    /// there (and look again from `split_at`).
    Mixed {
        /// Type at the start.
        first: MemoryType,
        /// The first address with another type.
        split_at: u64,
    },
}

/// A maximal piece of a range with one memory type (SDM Vol. 3A §12.11.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MtrrSegment {
    /// Start address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Effective memory type.
    pub memory_type: MemoryType,
}

/// The MTRR state of a processor (SDM Vol. 3A §12.11.2).
#[derive(Clone)]
pub struct Mtrrs {
    cap: MtrrCap,
    def_type: MtrrDefType,
    fixed: [u64; 11],
    variable: [VariableMtrr; MAX_VARIABLE],
    count: usize,
    width: u8,
    policy: ConflictPolicy,
}

impl fmt::Debug for Mtrrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mtrrs")
            .field("cap", &self.cap)
            .field("def_type", &self.def_type)
            .field("fixed", &self.fixed)
            .field("variable", &self.variable())
            .field("phys_addr_width", &self.width)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Mtrrs {
    /// MTRR state from MSR values: IA32_MTRRCAP, IA32_MTRR_DEF_TYPE, the 11 fixed-range
    /// MTRRs in [`FIXED_RANGE_MSRS`] order (ignored unless IA32_MTRRCAP.FIX), the variable
    /// pairs (at most VCNT), and MAXPHYADDR.
    pub fn new(
        cap: MtrrCap,
        def_type: MtrrDefType,
        fixed: [u64; 11],
        variable: &[VariableMtrr],
        phys_addr_width: u8,
    ) -> Result<Self, MtrrError> {
        if !(36..=52).contains(&phys_addr_width) {
            return Err(MtrrError::InvalidPhysAddrWidth(phys_addr_width));
        }
        if variable.len() > usize::from(cap.variable_count()) {
            return Err(MtrrError::TooManyVariableRanges {
                given: variable.len(),
                vcnt: cap.variable_count(),
            });
        }
        let mut v = [VariableMtrr::default(); MAX_VARIABLE];
        for (slot, r) in v.iter_mut().zip(variable) {
            *slot = *r;
        }
        Ok(Self {
            cap,
            def_type,
            fixed,
            variable: v,
            count: variable.len(),
            width: phys_addr_width,
            policy: ConflictPolicy::Error,
        })
    }

    /// Reads the MTRR MSRs with `rdmsr`: IA32_MTRRCAP, IA32_MTRR_DEF_TYPE, the fixed-range
    /// MTRRs only if IA32_MTRRCAP.FIX, and VCNT variable pairs (MSRs that do not exist are
    /// not read). The caller checks CPUID.01H:EDX.MTRR\[bit 12\] first.
    pub fn from_msrs(
        mut rdmsr: impl FnMut(u32) -> u64,
        phys_addr_width: u8,
    ) -> Result<Self, MtrrError> {
        let cap = MtrrCap(rdmsr(IA32_MTRRCAP));
        let def_type = MtrrDefType(rdmsr(IA32_MTRR_DEF_TYPE));
        let mut fixed = [0u64; 11];
        if cap.fixed_supported() {
            for (v, msr) in fixed.iter_mut().zip(FIXED_RANGE_MSRS) {
                *v = rdmsr(msr);
            }
        }
        let mut v = [VariableMtrr::default(); MAX_VARIABLE];
        let count = usize::from(cap.variable_count());
        for (n, slot) in (0u32..).zip(v.iter_mut().take(count)) {
            *slot = VariableMtrr {
                base: rdmsr(IA32_MTRR_PHYSBASE0 + 2 * n),
                mask: rdmsr(IA32_MTRR_PHYSMASK0 + 2 * n),
            };
        }
        let mut m = Self::new(cap, def_type, fixed, &[], phys_addr_width)?;
        m.variable = v;
        m.count = count;
        Ok(m)
    }

    /// The same state with another [`ConflictPolicy`].
    pub fn with_conflict_policy(mut self, policy: ConflictPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The variable-range pairs.
    pub fn variable(&self) -> &[VariableMtrr] {
        self.variable.get(..self.count).unwrap_or(&[])
    }

    fn fixed_active(&self) -> bool {
        self.def_type.enabled() && self.def_type.fixed_enabled() && self.cap.fixed_supported()
    }

    /// The fixed range containing `addr` (< 1 MiB): its type byte and its end.
    fn fixed_range(&self, addr: u64) -> (u8, u64) {
        let (msr, base, unit) = match addr {
            0..0x8_0000 => (0, 0, 0x1_0000),
            0x8_0000..0xa_0000 => (1, 0x8_0000, 0x4000),
            0xa_0000..0xc_0000 => (2, 0xa_0000, 0x4000),
            _ => (
                3 + ((addr - 0xc_0000) >> 15) as usize,
                addr & !0x7fff,
                0x1000,
            ),
        };
        let sub = (addr - base) / unit;
        let value = self.fixed.get(msr).copied().unwrap_or(0);
        ((value >> (8 * sub)) as u8, base + (sub + 1) * unit)
    }

    fn check_type(&self, addr: u64, t: MemoryType) -> Result<MemoryType, MtrrError> {
        if t.is_defined() {
            Ok(t)
        } else {
            Err(MtrrError::ReservedType {
                addr,
                memory_type: t,
            })
        }
    }

    /// The effective memory type at `addr` (SDM Vol. 3A §12.11.4.1).
    pub fn memory_type(&self, addr: u64) -> Result<MemoryType, MtrrError> {
        self.type_and_next(addr).map(|(t, _)| t)
    }

    /// The type at `addr` and the first address above it where the type may change (the
    /// end of the address space if none).
    fn type_and_next(&self, addr: u64) -> Result<(MemoryType, u64), MtrrError> {
        let limit = width_mask(self.width);
        let top = limit + 1;
        if addr > limit {
            return Err(MtrrError::BeyondPhysAddrWidth { addr });
        }
        if !self.def_type.enabled() {
            return Ok((MemoryType::UNCACHEABLE, top));
        }
        if addr < FIXED_END && self.fixed_active() {
            let (t, end) = self.fixed_range(addr);
            return Ok((self.check_type(addr, MemoryType(t))?, end));
        }
        let mut next = top;
        let mut found: Option<MemoryType> = None;
        let mut conflict: Option<(MemoryType, MemoryType)> = None;
        let mut uc = false;
        let mut wt_wb_only = true;
        for r in self.variable().iter().filter(|r| r.valid()) {
            let m = r.effective_mask(self.width);
            let b = r.base & m;
            if addr & m == b {
                if let Some(n) = next_mismatch(addr, m, limit) {
                    next = next.min(n);
                }
                let t = self.check_type(addr, r.memory_type())?;
                uc |= t == MemoryType::UNCACHEABLE;
                wt_wb_only &= t == MemoryType::WRITE_THROUGH || t == MemoryType::WRITE_BACK;
                match found {
                    None => found = Some(t),
                    Some(f) if f != t => conflict = Some((f, t)),
                    Some(_) => {}
                }
            } else if let Some(n) = addr.checked_add(1).and_then(|a| next_match(a, m, b, limit)) {
                next = next.min(n);
            }
        }
        let t = match (found, conflict) {
            (None, _) => self.check_type(addr, self.def_type.default_type())?,
            (Some(t), None) => t,
            (Some(_), Some(_)) if uc => MemoryType::UNCACHEABLE,
            (Some(_), Some(_)) if wt_wb_only => MemoryType::WRITE_THROUGH,
            (Some(_), Some((first, second))) => match self.policy {
                ConflictPolicy::Error => {
                    return Err(MtrrError::Conflict {
                        addr,
                        first,
                        second,
                    });
                }
                ConflictPolicy::Uncacheable => MemoryType::UNCACHEABLE,
            },
        };
        Ok((t, next))
    }

    /// The memory type over `[start, start + len)` (4-KiB aligned, non-empty): uniform, or
    /// where it first changes.
    pub fn range_memory_type(&self, start: u64, len: u64) -> Result<RangeMemoryType, MtrrError> {
        let mut segs = self.segments(start, len)?;
        match segs.next() {
            Some(Ok(s)) if s.len == len => Ok(RangeMemoryType::Uniform(s.memory_type)),
            Some(Ok(s)) => Ok(RangeMemoryType::Mixed {
                first: s.memory_type,
                split_at: s.start + s.len,
            }),
            Some(Err(e)) => Err(e),
            None => Err(MtrrError::InvalidRange { start, len }),
        }
    }

    /// The maximal pieces of `[start, start + len)` (4-KiB aligned, non-empty) with one
    /// memory type each, in address order.
    pub fn segments(&self, start: u64, len: u64) -> Result<Segments<'_>, MtrrError> {
        if len == 0 || start & 0xfff != 0 || len & 0xfff != 0 {
            return Err(MtrrError::InvalidRange { start, len });
        }
        let end = start
            .checked_add(len)
            .ok_or(MtrrError::InvalidRange { start, len })?;
        if end - 1 > width_mask(self.width) {
            return Err(MtrrError::BeyondPhysAddrWidth { addr: end - 1 });
        }
        Ok(Segments {
            mtrrs: self,
            at: start,
            end,
            failed: false,
        })
    }
}

/// Iterator over the memory-type segments of a range, from [`Mtrrs::segments`].
pub struct Segments<'a> {
    mtrrs: &'a Mtrrs,
    at: u64,
    end: u64,
    failed: bool,
}

impl Iterator for Segments<'_> {
    type Item = Result<MtrrSegment, MtrrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.end {
            return None;
        }
        let start = self.at;
        let mut memory_type = None;
        while self.at < self.end {
            let (t, next) = match self.mtrrs.type_and_next(self.at) {
                Ok(x) => x,
                Err(e) => {
                    if memory_type.is_some() {
                        // Report the piece so far; the error comes on the next call.
                        break;
                    }
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            match memory_type {
                None => memory_type = Some(t),
                Some(m) if m != t => break,
                Some(_) => {}
            }
            self.at = next.min(self.end);
        }
        memory_type.map(|memory_type| {
            Ok(MtrrSegment {
                start,
                len: self.at - start,
                memory_type,
            })
        })
    }
}
