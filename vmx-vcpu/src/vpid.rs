//! Virtual-processor identifiers (SDM Vol. 3C §25.6.12 "Virtual-Processor Identifier"; §29.1,
//! "Virtual Processor Identifiers (VPIDs)").
//!
//! VPID 0 is reserved for VMX root operation: a VM entry with "enable VPID" = 1 and VPID 0
//! fails (§27.2.1.1), so the allocator never hands it out.

use core::fmt;
use core::num::NonZeroU16;
use core::sync::atomic::{AtomicU64, Ordering};

/// An allocated VPID other than 0, owned: it goes back to its allocator when dropped, so it
/// cannot be freed while in use, nor twice, nor shared between two vCPUs (it is neither
/// `Copy` nor `Clone`).
///
/// ```compile_fail
/// # use vmx_vcpu::VpidAllocator;
/// static POOL: VpidAllocator = VpidAllocator::new();
/// let vpid = POOL.allocate().unwrap();
/// let copy = vpid.clone(); // a VPID has exactly one owner
/// ```
///
/// ```compile_fail
/// # use vmx_vcpu::VpidAllocator;
/// static POOL: VpidAllocator = VpidAllocator::new();
/// let vpid = POOL.allocate().unwrap();
/// drop(vpid);
/// let n = vpid.get(); // used after it went back to the pool
/// ```
pub struct Vpid<'a> {
    number: NonZeroU16,
    pool: &'a VpidAllocator,
}

impl Vpid<'_> {
    /// The number written to the VPID field (never 0).
    pub const fn get(&self) -> u16 {
        self.number.get()
    }
}

impl Drop for Vpid<'_> {
    fn drop(&mut self) {
        self.pool.release(self.number);
    }
}

impl fmt::Debug for Vpid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Vpid").field(&self.number).finish()
    }
}

impl fmt::Display for Vpid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VPID {}", self.number)
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

    /// Takes the lowest free VPID, or `None` when all 65,535 are in use. The VPID returns to
    /// this allocator when the [`Vpid`] is dropped.
    pub fn allocate(&self) -> Option<Vpid<'_>> {
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
                        return u16::try_from(raw)
                            .ok()
                            .and_then(NonZeroU16::new)
                            .map(|number| Vpid { number, pool: self });
                    }
                    Err(now) => cur = now,
                }
            }
        }
        None
    }

    /// Returns VPID `number` to the pool (from [`Vpid`]'s drop, the only owner).
    fn release(&self, number: NonZeroU16) {
        let raw = usize::from(number.get());
        let Some(word) = self.used.get(raw / 64) else {
            return;
        };
        let mask = 1u64 << (raw % 64);
        word.fetch_and(!mask, Ordering::AcqRel);
    }

    /// Whether VPID `number` is currently allocated (0 always is: it belongs to VMX root
    /// operation).
    pub fn is_allocated(&self, number: u16) -> bool {
        let raw = usize::from(number);
        if raw == 0 {
            return true;
        }
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

/// Takes a VPID from the crate-wide allocator (used by `VmxVcpu` when VPIDs are enabled); it
/// returns there when dropped.
pub fn allocate_vpid() -> Option<Vpid<'static>> {
    GLOBAL_VPIDS.allocate()
}
