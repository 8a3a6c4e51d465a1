//! Placeholder, replaced by vmx_defs::ept::PageWalkLength once available.

/// The EPT page-walk length (EPTP bits 5:3 hold this minus 1; SDM Vol. 3C §26.6.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageWalkLength {
    /// 4-level walk: guest-physical addresses of 48 bits.
    Four,
    /// 5-level walk: guest-physical addresses of 57 bits.
    Five,
}
