//! Architectural register bits the checks use (SDM Vol. 3A §2.5, §2.2.1, §3.4.5, §17.2,
//! Vol. 1 §3.4.3), as raw `u64` constants, and the canonical-address test.

/// CR0.PE (bit 0).
pub const CR0_PE: u64 = 1 << 0;
/// CR0.WP (bit 16).
pub const CR0_WP: u64 = 1 << 16;
/// CR0.PG (bit 31).
pub const CR0_PG: u64 = 1 << 31;
/// CR4.PAE (bit 5).
pub const CR4_PAE: u64 = 1 << 5;
/// CR4.LA57 (bit 12).
pub const CR4_LA57: u64 = 1 << 12;
/// CR4.PCIDE (bit 17).
pub const CR4_PCIDE: u64 = 1 << 17;
/// CR4.CET (bit 23).
pub const CR4_CET: u64 = 1 << 23;
/// CR3 bits 62:61 (LAM_U57, LAM_U48), allowed with LAM.
pub const CR3_LAM: u64 = 3 << 61;
/// IA32_EFER.LME (bit 8).
pub const EFER_LME: u64 = 1 << 8;
/// IA32_EFER.LMA (bit 10).
pub const EFER_LMA: u64 = 1 << 10;
/// IA32_EFER bits Intel processors define: SCE (0), LME (8), LMA (10), NXE (11).
pub const EFER_VALID: u64 = 1 | 1 << 8 | 1 << 10 | 1 << 11;
/// IA32_DEBUGCTL bits defined architecturally (LBR, BTF, TR, BTS, BTINT, BTS_OFF_OS,
/// BTS_OFF_USR, FREEZE_LBRS_ON_PMI, FREEZE_PERFMON_ON_PMI, ENABLE_UNCORE_PMI,
/// FREEZE_WHILE_SMM, RTM_DEBUG): bits 1:0 and 15:6.
pub const DEBUGCTL_VALID: u64 = 0x3 | 0xffc0;
/// IA32_DEBUGCTL.BTF (bit 1).
pub const DEBUGCTL_BTF: u64 = 1 << 1;
/// IA32_LBR_CTL defined bits: 3:0 (LBREn, OS, USR, CALL_STACK) and 22:16 (branch types).
pub const LBR_CTL_VALID: u64 = 0xf | 0x7f << 16;
/// RFLAGS.TF (bit 8).
pub const RFLAGS_TF: u64 = 1 << 8;
/// RFLAGS.IF (bit 9).
pub const RFLAGS_IF: u64 = 1 << 9;
/// RFLAGS.VM (bit 17).
pub const RFLAGS_VM: u64 = 1 << 17;
/// RFLAGS bit 1, always 1.
pub const RFLAGS_FIXED1: u64 = 1 << 1;
/// RFLAGS bits that must be 0: 63:22, 15, 5, 3.
pub const RFLAGS_RESERVED: u64 = !0x3f_ffff | 1 << 15 | 1 << 5 | 1 << 3;
/// IA32_S_CET bits 9:6 (reserved).
pub const S_CET_RESERVED: u64 = 0xf << 6;
/// IA32_S_CET SUPPRESS (bit 10) and TRACKER (bit 11): not both 1.
pub const S_CET_SUPPRESS: u64 = 1 << 10;
/// IA32_S_CET TRACKER (bit 11).
pub const S_CET_TRACKER: u64 = 1 << 11;
/// IA32_FRED_CONFIG reserved bits: 2, 5:4, 11.
pub const FRED_CONFIG_RESERVED: u64 = 1 << 2 | 3 << 4 | 1 << 11;

/// Whether `addr` is canonical for a `width`-bit linear address (bits 63:width-1 all
/// equal; SDM Vol. 1 §3.3.7.1).
pub const fn is_canonical(addr: u64, width: u32) -> bool {
    let shift = 64 - width;
    (((addr << shift) as i64) >> shift) as u64 == addr
}

/// Whether `addr` sets no bit at or above `width`.
pub const fn within(addr: u64, width: u32) -> bool {
    width >= 64 || addr >> width == 0
}

/// Whether an IA32_PAT value has each byte 0, 1, 4, 5, 6 or 7 (SDM Vol. 3A §13.12.2).
pub const fn is_valid_pat(pat: u64) -> bool {
    let mut i = 0;
    while i < 8 {
        let byte = (pat >> (i * 8)) & 0xff;
        if !matches!(byte, 0 | 1 | 4 | 5 | 6 | 7) {
            return false;
        }
        i += 1;
    }
    true
}
