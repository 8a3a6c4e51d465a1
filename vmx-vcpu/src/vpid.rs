//! Virtual-processor identifiers (SDM Vol. 3C §25.6.12 "Virtual-Processor Identifier"; §29.1,
//! "Virtual Processor Identifiers (VPIDs)").
//!
//! VPID 0 is reserved for VMX root operation: a VM entry with "enable VPID" = 1 and VPID 0
//! fails (§27.2.1.1), so the allocator never hands it out.

use core::fmt;
use core::num::NonZeroU16;
use core::sync::atomic::{AtomicU64, Ordering};

/// A VPID other than 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vpid(NonZeroU16);

impl Vpid {
    /// The VPID with this number, or `None` for 0.
    pub const fn new(raw: u16) -> Option<Self> {
        match NonZeroU16::new(raw) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The number written to the VPID field.
    pub const fn get(self) -> u16 {
        self.0.get()
    }
}

impl fmt::Display for Vpid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VPID {}", self.0)
    }
}

const WORDS: usize = 65536 / 64;

/// A lock-free allocator of the 65,535 non-zero VPIDs (one bit each, 8 KiB).
///
/// `const`-constructible so that it can live in a `static` shared by all CPUs; the crate
/// keeps one, used by [`allocate_vpid`].
pub struct VpidAllocator {
    used: [AtomicU64; WORDS],
}

impl VpidAllocator {
    /// An allocator with every VPID free.
    pub const fn new() -> Self {
        Self {
            used: [const { AtomicU64::new(0) }; WORDS],
        }
    }

    /// Takes the lowest free VPID, or `None` when all 65,535 are in use.
    pub fn allocate(&self) -> Option<Vpid> {
        for (w, word) in self.used.iter().enumerate() {
            // Bit 0 of word 0 is VPID 0: treat it as permanently taken.
            let reserved = if w == 0 { 1 } else { 0 };
            let mut cur = word.load(Ordering::Relaxed);
            loop {
                let free = !(cur | reserved);
                if free == 0 {
                    break;
                }
                let bit = free.trailing_zeros();
                match word.compare_exchange_weak(
                    cur,
                    cur | (1 << bit),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        let raw = w * 64 + bit as usize;
                        return u16::try_from(raw).ok().and_then(Vpid::new);
                    }
                    Err(now) => cur = now,
                }
            }
        }
        None
    }

    /// Returns `vpid` to the pool. Returns `false` (and changes nothing) if it was not
    /// allocated.
    pub fn free(&self, vpid: Vpid) -> bool {
        let raw = usize::from(vpid.get());
        let Some(word) = self.used.get(raw / 64) else {
            return false;
        };
        let mask = 1u64 << (raw % 64);
        word.fetch_and(!mask, Ordering::AcqRel) & mask != 0
    }

    /// Whether `vpid` is currently allocated.
    pub fn is_allocated(&self, vpid: Vpid) -> bool {
        let raw = usize::from(vpid.get());
        self.used
            .get(raw / 64)
            .is_some_and(|w| w.load(Ordering::Acquire) & (1u64 << (raw % 64)) != 0)
    }
}

impl Default for VpidAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for VpidAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n: u32 = self
            .used
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones())
            .sum();
        f.debug_struct("VpidAllocator")
            .field("allocated", &n)
            .finish()
    }
}

static GLOBAL_VPIDS: VpidAllocator = VpidAllocator::new();

/// Takes a VPID from the crate-wide allocator (used by `VmxVcpu` when VPIDs are enabled).
pub fn allocate_vpid() -> Option<Vpid> {
    GLOBAL_VPIDS.allocate()
}

/// Returns a VPID to the crate-wide allocator.
pub fn free_vpid(vpid: Vpid) -> bool {
    GLOBAL_VPIDS.free(vpid)
}
