//! Memory types (SDM Vol. 3A §12.3, "Methods of Caching Available"; Vol. 3C §29.3.7).
//!
//! The same 3-bit encoding is used by IA32_VMX_BASIC bits 53:50, the EPT pointer bits 2:0,
//! EPT leaf entries bits 5:3, the MTRRs and the PAT.

use core::fmt;

/// A memory type as encoded in MTRRs, the PAT, EPT entries and the EPT pointer.
///
/// Open: every `u8` is representable, so a value a newer CPU reports never panics;
/// [`MemoryType::is_defined`] tells the architectural ones (0, 1, 4, 5, 6) apart.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
///
/// SDM Vol. 3A §12.3.
pub struct MemoryType(pub u8);

impl MemoryType {
    /// Wraps the memory-type number, reserved values included (total: every value is kept exactly).
    ///
    /// SDM Vol. 3A §12.3.
    pub const fn from_raw(raw: u8) -> Self {
        Self(raw)
    }

    /// Uncacheable (UC).
    ///
    /// SDM Vol. 3A §12.3.
    pub const UNCACHEABLE: Self = Self(0);
    /// Write combining (WC).
    ///
    /// SDM Vol. 3A §12.3.
    pub const WRITE_COMBINING: Self = Self(1);
    /// Write-through (WT).
    ///
    /// SDM Vol. 3A §12.3.
    pub const WRITE_THROUGH: Self = Self(4);
    /// Write-protected (WP).
    ///
    /// SDM Vol. 3A §12.3.
    pub const WRITE_PROTECTED: Self = Self(5);
    /// Write-back (WB).
    ///
    /// SDM Vol. 3A §12.3.
    pub const WRITE_BACK: Self = Self(6);

    /// The raw encoding.
    ///
    /// SDM Vol. 3A §12.3.
    pub const fn raw(self) -> u8 {
        self.0
    }

    /// Whether this is one of the five defined memory types.
    ///
    /// SDM Vol. 3A §12.3.
    pub const fn is_defined(self) -> bool {
        matches!(self.0, 0 | 1 | 4 | 5 | 6)
    }

    /// The SDM's short name ("UC", "WC", "WT", "WP", "WB"), or `None` for a reserved value.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            0 => Some("UC"),
            1 => Some("WC"),
            4 => Some("WT"),
            5 => Some("WP"),
            6 => Some("WB"),
            _ => None,
        }
    }
}

impl fmt::Debug for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "MemoryType({})", self.0),
        }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
