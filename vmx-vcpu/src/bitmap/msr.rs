//! The MSR bitmap (SDM Vol. 3C §25.6.9, "MSR-Bitmap Address"; §26.1.3, "Instructions That
//! Cause VM Exits Conditionally": RDMSR, WRMSR).
//!
//! One 4-KByte page made of four 1-KByte bitmaps:
//!
//! | bytes      | bitmap                                  |
//! |------------|-----------------------------------------|
//! | 0-1023     | read bitmap for low MSRs 0-1FFFH        |
//! | 1024-2047  | read bitmap for high MSRs C0000000H-C0001FFFH |
//! | 2048-3071  | write bitmap for low MSRs               |
//! | 3072-4095  | write bitmap for high MSRs              |
//!
//! A set bit makes the access exit. An MSR outside both ranges always exits, whatever
//! the bitmap holds (and RDMSR/WRMSR always exit when "use MSR bitmaps" is 0).

use core::fmt;

/// Size of the MSR bitmap in bytes (one 4-KByte page).
pub const MSR_BITMAP_SIZE: usize = 4096;

/// Highest MSR index covered by the low half of each bitmap (SDM §25.6.9).
pub const LOW_MSR_LAST: u32 = 0x1FFF;
/// First MSR index covered by the high half of each bitmap (SDM §25.6.9).
pub const HIGH_MSR_FIRST: u32 = 0xC000_0000;
/// Last MSR index covered by the high half of each bitmap (SDM §25.6.9).
pub const HIGH_MSR_LAST: u32 = 0xC000_1FFF;

/// Which MSR instruction an interception applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsrAccess {
    /// RDMSR (the read bitmaps).
    Read,
    /// WRMSR (the write bitmaps).
    Write,
}

/// Whether an MSR access exits, as decided by the bitmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsrIntercept {
    /// The bitmap bit is set: the access causes a VM exit.
    Intercepted,
    /// The bitmap bit is clear: the guest accesses the real MSR.
    PassThrough,
    /// The MSR lies outside both bitmap ranges: the access always causes a VM exit.
    AlwaysExits,
}

impl MsrIntercept {
    /// Whether the access causes a VM exit.
    pub const fn exits(self) -> bool {
        !matches!(self, Self::PassThrough)
    }
}

/// An MSR index that no bitmap bit covers (outside 0-1FFFH and C0000000H-C0001FFFH);
/// accesses to it always exit and cannot be passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsrOutOfRange(pub u32);

impl fmt::Display for MsrOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MSR {:#x} is outside the MSR-bitmap ranges (0-0x1fff, 0xc0000000-0xc0001fff) and always exits",
            self.0
        )
    }
}

/// Byte offset and bit of the bitmap bit for `msr` and `access`, or `None` when the MSR
/// lies outside both ranges (SDM §25.6.9). Pure; exposed for tests and tools.
pub const fn msr_bit_position(msr: u32, access: MsrAccess) -> Option<(usize, u8)> {
    let (base, index) = if msr <= LOW_MSR_LAST {
        (0usize, msr)
    } else if msr >= HIGH_MSR_FIRST && msr <= HIGH_MSR_LAST {
        (1024usize, msr - HIGH_MSR_FIRST)
    } else {
        return None;
    };
    let base = match access {
        MsrAccess::Read => base,
        MsrAccess::Write => base + 2048,
    };
    Some((base + (index / 8) as usize, (index % 8) as u8))
}

/// The 4-KByte MSR bitmap page (SDM §25.6.9), deny-by-default.
///
/// [`MsrBitmap::intercept_all`] (also the state of a fresh vCPU's bitmap) makes every
/// RDMSR and WRMSR exit; [`MsrBitmap::pass_through`] opens single MSRs explicitly.
#[repr(C, align(4096))]
#[derive(Clone)]
pub struct MsrBitmap {
    bytes: [u8; MSR_BITMAP_SIZE],
}

impl MsrBitmap {
    /// A bitmap that intercepts every read and write.
    pub const fn new_intercept_all() -> Self {
        Self {
            bytes: [0xFF; MSR_BITMAP_SIZE],
        }
    }

    /// A bitmap that passes every in-range MSR through (out-of-range MSRs still exit).
    pub const fn new_pass_all() -> Self {
        Self {
            bytes: [0; MSR_BITMAP_SIZE],
        }
    }

    /// Sets every bit: all RDMSR/WRMSR exit (deny by default).
    pub fn intercept_all(&mut self) {
        self.bytes = [0xFF; MSR_BITMAP_SIZE];
    }

    /// Whether `access` to `msr` exits, and why.
    pub fn intercept(&self, msr: u32, access: MsrAccess) -> MsrIntercept {
        match msr_bit_position(msr, access) {
            None => MsrIntercept::AlwaysExits,
            Some((byte, bit)) => match self.bytes.get(byte) {
                Some(b) if b & (1 << bit) != 0 => MsrIntercept::Intercepted,
                Some(_) => MsrIntercept::PassThrough,
                None => MsrIntercept::AlwaysExits,
            },
        }
    }

    /// Whether `access` to `msr` causes a VM exit.
    pub fn exits(&self, msr: u32, access: MsrAccess) -> bool {
        self.intercept(msr, access).exits()
    }

    /// Sets (`intercept = true`) or clears the bit for `access` to `msr`.
    ///
    /// Clearing a bit for an out-of-range MSR is an error ([`MsrOutOfRange`]): the access
    /// would still exit. Setting one succeeds (it exits anyway).
    pub fn set_intercept(
        &mut self,
        msr: u32,
        access: MsrAccess,
        intercept: bool,
    ) -> Result<(), MsrOutOfRange> {
        match msr_bit_position(msr, access) {
            None if intercept => Ok(()),
            None => Err(MsrOutOfRange(msr)),
            Some((byte, bit)) => match self.bytes.get_mut(byte) {
                Some(b) => {
                    if intercept {
                        *b |= 1 << bit;
                    } else {
                        *b &= !(1 << bit);
                    }
                    Ok(())
                }
                None => Err(MsrOutOfRange(msr)),
            },
        }
    }

    /// Lets the guest read (`read`) and/or write (`write`) `msr` without an exit; the
    /// other direction is intercepted.
    pub fn pass_through(&mut self, msr: u32, read: bool, write: bool) -> Result<(), MsrOutOfRange> {
        if msr_bit_position(msr, MsrAccess::Read).is_none() {
            return if read || write {
                Err(MsrOutOfRange(msr))
            } else {
                Ok(())
            };
        }
        self.set_intercept(msr, MsrAccess::Read, !read)?;
        self.set_intercept(msr, MsrAccess::Write, !write)
    }

    /// The raw page, as the processor reads it.
    pub fn as_bytes(&self) -> &[u8; MSR_BITMAP_SIZE] {
        &self.bytes
    }
}

impl Default for MsrBitmap {
    fn default() -> Self {
        Self::new_intercept_all()
    }
}

impl fmt::Debug for MsrBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cleared = self.bytes.iter().map(|b| b.count_zeros()).sum::<u32>();
        f.debug_struct("MsrBitmap")
            .field("pass_through_bits", &cleared)
            .finish()
    }
}
