//! MTRR precedence rules (SDM Vol. 3A §12.11.4.1) on synthetic MSR values.

use std::collections::BTreeMap;

use ept::mtrr::{
    ConflictPolicy, FIXED_RANGE_MSRS, MtrrCap, MtrrDefType, MtrrError, MtrrSegment, Mtrrs,
    RangeMemoryType, VariableMtrr,
};
use proptest::prelude::*;
use vmx_defs::memory_type::MemoryType;

const UC: u8 = 0;
const WC: u8 = 1;
const WT: u8 = 4;
const WP: u8 = 5;
const WB: u8 = 6;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const W: u8 = 40;

fn mt(t: u8) -> MemoryType {
    MemoryType(t)
}
/// A variable range of `size` (a power of two) at `base`.
fn var(base: u64, size: u64, t: u8) -> VariableMtrr {
    VariableMtrr {
        base: base | u64::from(t),
        mask: (!(size - 1) & ((1 << W) - 1)) | 1 << 11,
    }
}
fn cap(vcnt: u8) -> MtrrCap {
    MtrrCap(u64::from(vcnt) | 1 << 8 | 1 << 10)
}
fn def(t: u8, e: bool, fe: bool) -> MtrrDefType {
    MtrrDefType(u64::from(t) | u64::from(fe) << 10 | u64::from(e) << 11)
}
fn fixed_all(t: u8) -> [u64; 11] {
    [u64::from_le_bytes([t; 8]); 11]
}

#[test]
fn disabled_means_uncacheable() {
    let m = Mtrrs::new(
        cap(2),
        def(WB, false, true),
        fixed_all(WB),
        &[var(0, GIB, WB)],
        W,
    )
    .unwrap();
    for a in [0, 0xa_0000, MIB, GIB, (1 << W) - 4096] {
        assert_eq!(m.memory_type(a), Ok(mt(UC)));
    }
    assert_eq!(
        m.range_memory_type(0, 4 * GIB),
        Ok(RangeMemoryType::Uniform(mt(UC)))
    );
}

#[test]
fn fixed_ranges_below_one_mib() {
    let mut fixed = fixed_all(WB);
    // MTRRfix16K_A0000: 0xA0000-0xBFFFF UC (legacy VGA).
    fixed[2] = u64::from_le_bytes([UC; 8]);
    // MTRRfix4K_F8000, last byte: 0xFF000-0xFFFFF WP.
    fixed[10] = u64::from_le_bytes([WB, WB, WB, WB, WB, WB, WB, WP]);
    // MTRRfix64K_00000 byte 1: 0x10000-0x1FFFF WT.
    fixed[0] = u64::from_le_bytes([WB, WT, WB, WB, WB, WB, WB, WB]);
    // A variable range over the same memory does not matter below 1 MiB.
    let m = Mtrrs::new(cap(1), def(UC, true, true), fixed, &[var(0, GIB, WC)], W).unwrap();
    assert_eq!(m.memory_type(0), Ok(mt(WB)));
    assert_eq!(m.memory_type(0x1_0000), Ok(mt(WT)));
    assert_eq!(m.memory_type(0xa_0000), Ok(mt(UC)));
    assert_eq!(m.memory_type(0xb_f000), Ok(mt(UC)));
    assert_eq!(m.memory_type(0xc_0000), Ok(mt(WB)));
    assert_eq!(m.memory_type(0xf_f000), Ok(mt(WP)));
    assert_eq!(m.memory_type(MIB), Ok(mt(WC)));
    let segs: Vec<_> = m
        .segments(0, 2 * MIB)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        segs,
        vec![
            MtrrSegment {
                start: 0,
                len: 0x1_0000,
                memory_type: mt(WB)
            },
            MtrrSegment {
                start: 0x1_0000,
                len: 0x1_0000,
                memory_type: mt(WT)
            },
            MtrrSegment {
                start: 0x2_0000,
                len: 0x8_0000,
                memory_type: mt(WB)
            },
            MtrrSegment {
                start: 0xa_0000,
                len: 0x2_0000,
                memory_type: mt(UC)
            },
            MtrrSegment {
                start: 0xc_0000,
                len: 0x3_f000,
                memory_type: mt(WB)
            },
            MtrrSegment {
                start: 0xf_f000,
                len: 0x1000,
                memory_type: mt(WP)
            },
            MtrrSegment {
                start: MIB,
                len: MIB,
                memory_type: mt(WC)
            },
        ]
    );
    // FE clear: the variable ranges and the default apply below 1 MiB too.
    let m = Mtrrs::new(cap(1), def(UC, true, false), fixed, &[var(0, GIB, WC)], W).unwrap();
    assert_eq!(m.memory_type(0xa_0000), Ok(mt(WC)));
    // FIX clear in IA32_MTRRCAP: no fixed ranges either.
    let m = Mtrrs::new(
        MtrrCap(1),
        def(UC, true, true),
        fixed,
        &[var(0, GIB, WC)],
        W,
    )
    .unwrap();
    assert_eq!(m.memory_type(0xa_0000), Ok(mt(WC)));
}

#[test]
fn variable_range_precedence() {
    let ranges = [
        var(0, 4 * GIB, WB),         // all of the first 4 GiB
        var(3 * GIB, GIB, UC),       // UC wins over WB
        var(2 * GIB, 256 * MIB, WT), // WT + WB -> WT
        var(2 * GIB, 128 * MIB, WT), // same type twice: that type
    ];
    let m = Mtrrs::new(cap(8), def(UC, true, false), fixed_all(WB), &ranges, W).unwrap();
    assert_eq!(m.memory_type(GIB), Ok(mt(WB)));
    assert_eq!(m.memory_type(3 * GIB + 5 * MIB), Ok(mt(UC)));
    assert_eq!(m.memory_type(2 * GIB), Ok(mt(WT)));
    assert_eq!(m.memory_type(2 * GIB + 200 * MIB), Ok(mt(WT)));
    assert_eq!(m.memory_type(2 * GIB + 256 * MIB), Ok(mt(WB)));
    // No range: the default type.
    assert_eq!(m.memory_type(4 * GIB), Ok(mt(UC)));
    assert_eq!(
        m.range_memory_type(GIB, GIB),
        Ok(RangeMemoryType::Uniform(mt(WB)))
    );
    assert_eq!(
        m.range_memory_type(GIB, 2 * GIB),
        Ok(RangeMemoryType::Mixed {
            first: mt(WB),
            split_at: 2 * GIB
        })
    );
    let segs: Vec<_> = m
        .segments(0, 8 * GIB)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        segs.iter()
            .map(|s| (s.start, s.memory_type.raw()))
            .collect::<Vec<_>>(),
        vec![
            (0, WB),
            (2 * GIB, WT),
            (2 * GIB + 256 * MIB, WB),
            (3 * GIB, UC)
        ]
    );
    assert_eq!(segs.last().map(|s| s.start + s.len), Some(8 * GIB));
    // An invalid pair (V = 0) is ignored.
    let mut off = var(0, 4 * GIB, UC);
    off.mask &= !(1 << 11);
    let m = Mtrrs::new(cap(1), def(WB, true, false), fixed_all(WB), &[off], W).unwrap();
    assert_eq!(m.memory_type(0), Ok(mt(WB)));
}

#[test]
fn undefined_overlaps() {
    let ranges = [var(0, GIB, WB), var(0, 512 * MIB, WC)];
    let m = Mtrrs::new(cap(2), def(UC, true, false), fixed_all(WB), &ranges, W).unwrap();
    assert_eq!(
        m.memory_type(MIB),
        Err(MtrrError::Conflict {
            addr: MIB,
            first: mt(WB),
            second: mt(WC)
        })
    );
    assert_eq!(m.memory_type(512 * MIB), Ok(mt(WB)));
    let segs: Vec<_> = m.segments(0, GIB).unwrap().collect();
    assert!(matches!(segs.as_slice(), [Err(MtrrError::Conflict { .. })]));
    let m = m.with_conflict_policy(ConflictPolicy::Uncacheable);
    assert_eq!(m.memory_type(MIB), Ok(mt(UC)));
    // WP + WT is undefined too.
    let ranges = [var(0, GIB, WP), var(0, GIB, WT)];
    let m = Mtrrs::new(cap(2), def(UC, true, false), fixed_all(WB), &ranges, W).unwrap();
    assert!(matches!(
        m.memory_type(GIB - 4096),
        Err(MtrrError::Conflict { .. })
    ));
}

#[test]
fn invalid_inputs() {
    assert_eq!(
        Mtrrs::new(
            cap(1),
            def(WB, true, false),
            fixed_all(WB),
            &[var(0, GIB, WB); 2],
            W
        )
        .err(),
        Some(MtrrError::TooManyVariableRanges { given: 2, vcnt: 1 })
    );
    assert_eq!(
        Mtrrs::new(cap(1), def(WB, true, false), fixed_all(WB), &[], 30).err(),
        Some(MtrrError::InvalidPhysAddrWidth(30))
    );
    let m = Mtrrs::new(
        cap(1),
        def(WB, true, true),
        fixed_all(2),
        &[var(GIB, GIB, 7)],
        W,
    )
    .unwrap();
    assert_eq!(
        m.memory_type(0),
        Err(MtrrError::ReservedType {
            addr: 0,
            memory_type: mt(2)
        })
    );
    assert_eq!(
        m.memory_type(GIB),
        Err(MtrrError::ReservedType {
            addr: GIB,
            memory_type: mt(7)
        })
    );
    let m = Mtrrs::new(cap(0), def(3, true, false), fixed_all(WB), &[], W).unwrap();
    assert_eq!(
        m.memory_type(GIB),
        Err(MtrrError::ReservedType {
            addr: GIB,
            memory_type: mt(3)
        })
    );
    assert_eq!(
        m.memory_type(1 << W),
        Err(MtrrError::BeyondPhysAddrWidth { addr: 1 << W })
    );
    assert!(matches!(
        m.segments(0, 0),
        Err(MtrrError::InvalidRange { .. })
    ));
    assert!(matches!(
        m.segments(0x800, 4096),
        Err(MtrrError::InvalidRange { .. })
    ));
    assert!(matches!(
        m.segments(!0xfffu64, 8192),
        Err(MtrrError::InvalidRange { .. })
    ));
    assert!(matches!(
        m.segments(0, 1 << 41),
        Err(MtrrError::BeyondPhysAddrWidth { .. })
    ));
}

#[test]
fn from_msrs_reads_only_existing_registers() {
    let mut msrs = BTreeMap::new();
    msrs.insert(0xfe, 2u64); // VCNT 2, no FIX
    msrs.insert(0x2ff, 1 << 11 | 1 << 10 | u64::from(UC));
    msrs.insert(0x200, u64::from(WB));
    msrs.insert(0x201, (!(GIB - 1) & ((1 << W) - 1)) | 1 << 11);
    msrs.insert(0x202, GIB | u64::from(WT));
    msrs.insert(0x203, (!(GIB - 1) & ((1 << W) - 1)) | 1 << 11);
    let m = Mtrrs::from_msrs(
        |msr| *msrs.get(&msr).unwrap_or_else(|| panic!("read of {msr:#x}")),
        W,
    )
    .unwrap();
    assert_eq!(m.variable().len(), 2);
    assert_eq!(m.memory_type(0), Ok(mt(WB)), "no fixed ranges without FIX");
    assert_eq!(m.memory_type(GIB), Ok(mt(WT)));
    assert_eq!(m.memory_type(2 * GIB), Ok(mt(UC)));
    assert_eq!(FIXED_RANGE_MSRS.len(), 11);
}

fn types() -> impl Strategy<Value = u8> {
    prop_oneof![Just(UC), Just(WC), Just(WT), Just(WP), Just(WB)]
}

fn range() -> impl Strategy<Value = VariableMtrr> {
    // Bases and sizes within the first 64 MiB; occasionally a non-contiguous mask.
    (0u64..16, 12u32..26, types(), any::<bool>(), 0u64..4).prop_map(|(b, shift, t, odd, hole)| {
        let size = 1u64 << shift;
        let mut r = var((b << 22) & !(size - 1), size, t);
        if odd {
            r.mask &= !(1 << (shift + 1 + hole as u32));
        }
        r
    })
}

/// Longest range (in 4-KiB pages) `segments_agree_with_pointwise_types` walks. Under Miri
/// (.ci/run) shorter: every page is checked pointwise and Miri interprets each check of this
/// unsafe-free code; start addresses still cover the fixed ranges and the whole test runs
/// in full natively.
const MAX_SEGMENT_PAGES: u64 = if cfg!(miri) { 256 } else { 8192 };

proptest! {
    /// Segments agree with the pointwise type, tile the range, and are maximal.
    #[test]
    fn segments_agree_with_pointwise_types(
        ranges in prop::collection::vec(range(), 0..5),
        dt in types(),
        fe in any::<bool>(),
        fixed in prop::array::uniform11(any::<u64>()),
        start in 0u64..8192,
        pages in 1u64..MAX_SEGMENT_PAGES,
    ) {
        // Each byte one of the five defined types.
        let fixed = fixed.map(|v| u64::from_le_bytes(v.to_le_bytes().map(|b| [UC, WC, WT, WP, WB][usize::from(b % 5)])));
        let m = Mtrrs::new(cap(8), def(dt, true, fe), fixed, &ranges, W)
            .unwrap()
            .with_conflict_policy(ConflictPolicy::Uncacheable);
        let (start, len) = (start * 4096, pages * 4096);
        let mut at = start;
        let mut prev = None;
        for s in m.segments(start, len).unwrap() {
            let s = s.unwrap();
            prop_assert_eq!(s.start, at);
            prop_assert!(s.len > 0);
            prop_assert_ne!(Some(s.memory_type), prev);
            for a in (s.start..s.start + s.len).step_by(4096) {
                prop_assert_eq!(m.memory_type(a), Ok(s.memory_type), "{:#x}", a);
            }
            prev = Some(s.memory_type);
            at = s.start + s.len;
        }
        prop_assert_eq!(at, start + len);
    }
}
