//! Value rules shared by host (§27.2.2) and guest (§27.3.1.1) MSR fields: CET and FRED
//! state.

use crate::bits;

/// Whether an IA32_S_CET value is loadable (SDM Vol. 3C §27.2.2, §27.3.1.1; Vol. 1 §18.3):
/// bits 9:6 clear, not SUPPRESS and TRACKER both 1, legacy-bitmap base (bits 63:12)
/// canonical.
pub const fn s_cet_ok(value: u64, width: u32) -> bool {
    value & bits::S_CET_RESERVED == 0
        && value & (bits::S_CET_SUPPRESS | bits::S_CET_TRACKER)
            != (bits::S_CET_SUPPRESS | bits::S_CET_TRACKER)
        && bits::is_canonical(value & !0xfff, width)
}

/// Whether FRED state is loadable (SDM Vol. 3C §27.2.2, §27.3.1.1): IA32_FRED_CONFIG
/// reserved bits 2, 5:4, 11 clear and base canonical; RSP1-3 canonical and 64-byte
/// aligned; SSP1-3 canonical and 8-byte aligned.
pub fn fred_ok(config: u64, rsp: [u64; 3], ssp: [u64; 3], width: u32) -> bool {
    config & bits::FRED_CONFIG_RESERVED == 0
        && bits::is_canonical(config & !0xfff, width)
        && rsp
            .iter()
            .all(|&r| r & 0x3f == 0 && bits::is_canonical(r, width))
        && ssp
            .iter()
            .all(|&s| s & 0x7 == 0 && bits::is_canonical(s, width))
}
