//! Model-based property tests: random operation sequences checked against a reference
//! model (an interval map of guest-physical runs), including large-page splits, 5-level
//! addresses above 2^48, out-of-memory atomicity and frame accounting.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{CountingHost, GuestMap, NoCpus, full_caps};
use ept::{
    EptAttributes, EptConfig, EptError, EptFlags, EptPageTable, FlushToken, GuestPhysAddr,
    HostMemory, HostPhysAddr, PageSize, PageWalkLength,
};
use proptest::prelude::*;
use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::memory_type::MemoryType;

const K4: u64 = 1 << 12;
const M2: u64 = 1 << 21;
const G1: u64 = 1 << 30;

/// Longest region mapped with 4-KiB pages only (no 2-MiB pages) in a model run; longer
/// ones are skipped. Under Miri (.ci/run) shorter, as are the operation sequences
/// ([`MAX_OPS`]): Miri interprets every table walk and every cross-check of the state,
/// and what it looks for (undefined behaviour in the table's unsafe code) shows up on
/// short sequences as well; the full sizes run natively in `cargo test`.
const MAX_4K_REGION: u64 = if cfg!(miri) { 64 * K4 } else { 64 * M2 };
/// Longest operation sequence of one case (see [`MAX_4K_REGION`]).
const MAX_OPS: usize = if cfg!(miri) { 6 } else { 40 };

/// Reference model: runs of contiguous guest-physical memory with contiguous host-physical
/// memory and one set of attributes, keyed by start.
#[derive(Clone, Default, Debug)]
struct Model {
    runs: BTreeMap<u64, (u64, u64, EptAttributes)>, // start -> (len, hpa, attrs)
}

impl Model {
    fn lookup(&self, gpa: u64) -> Option<(u64, EptAttributes)> {
        let (&s, &(len, hpa, a)) = self.runs.range(..=gpa).next_back()?;
        (gpa < s + len).then_some((hpa + (gpa - s), a))
    }

    /// First unmapped 4-KiB page in [start, end), if any.
    fn first_hole(&self, start: u64, end: u64) -> Option<u64> {
        let mut at = start;
        while at < end {
            let (&s, &(len, _, _)) = match self.runs.range(..=at).next_back() {
                Some(r) => r,
                None => return Some(at),
            };
            if at >= s + len {
                return Some(at);
            }
            at = s + len;
        }
        None
    }

    fn any_mapped(&self, start: u64, end: u64) -> bool {
        if let Some((&s, &(len, _, _))) = self.runs.range(..=start).next_back()
            && start < s + len
        {
            return true;
        }
        self.runs.range(start..end).next().is_some()
    }

    /// Splits runs so that `at` is a run boundary.
    fn cut(&mut self, at: u64) {
        if let Some((&s, &(len, hpa, a))) = self.runs.range(..at).next_back()
            && at < s + len
        {
            self.runs.insert(s, (at - s, hpa, a));
            self.runs.insert(at, (s + len - at, hpa + (at - s), a));
        }
    }

    fn remove(&mut self, start: u64, end: u64) {
        self.cut(start);
        self.cut(end);
        let keys: Vec<u64> = self.runs.range(start..end).map(|(k, _)| *k).collect();
        for k in keys {
            self.runs.remove(&k);
        }
    }

    fn protect(&mut self, start: u64, end: u64, attrs: EptAttributes) {
        self.cut(start);
        self.cut(end);
        for (_, v) in self.runs.range_mut(start..end) {
            // Keep A/D as the table does (never set in these tests).
            v.2 = attrs;
        }
    }

    fn total(&self) -> u64 {
        self.runs.values().map(|r| r.0).sum()
    }
}

#[derive(Clone, Debug)]
enum Op {
    Map {
        gpa: u64,
        hpa: u64,
        size: PageSize,
        attrs: EptAttributes,
    },
    MapRegion {
        gpa: u64,
        hpa: u64,
        len: u64,
        attrs: EptAttributes,
    },
    Unmap {
        gpa: u64,
        len: u64,
    },
    Protect {
        gpa: u64,
        len: u64,
        attrs: EptAttributes,
    },
    Query {
        gpa: u64,
    },
    /// Map a 4-KiB frame of guest memory freshly allocated from the table's host.
    MapFrame {
        gpa: u64,
    },
    /// Flush the invalidations owed so far (SDM Vol. 3C §29.4.3.1).
    Flush,
}

fn attrs() -> impl Strategy<Value = EptAttributes> {
    let flags = prop_oneof![
        4 => Just(EptFlags::RWX),
        2 => Just(EptFlags::RW),
        2 => Just(EptFlags::R),
        1 => Just(EptFlags::RX | EptFlags::IGNORE_PAT),
        1 => Just(EptFlags::EXECUTE),
        1 => Just(EptFlags::RWX | EptFlags::SUPPRESS_VE | EptFlags::VERIFY_GUEST_PAGING),
        1 => Just(EptFlags::RW | EptFlags::SUB_PAGE_WRITE_PERMISSIONS),
        1 => Just(EptFlags::WRITE),
    ];
    let mt = prop_oneof![
        4 => Just(MemoryType::WRITE_BACK),
        1 => Just(MemoryType::UNCACHEABLE),
        1 => Just(MemoryType::WRITE_THROUGH),
        1 => Just(MemoryType(2)),
    ];
    (flags, mt).prop_map(|(f, m)| EptAttributes::new(f, m))
}

/// Guest-physical addresses clustered around interesting places: low memory, a 1-GiB
/// boundary, the top of the 4-level reach and (5-level only) above 2^48.
fn gpa() -> impl Strategy<Value = u64> {
    let base = prop_oneof![
        Just(0u64),
        Just(3 * G1),
        Just((1u64 << 48) - 2 * G1),
        Just((1u64 << 48) + 5 * G1),
        Just((1u64 << 57) - G1),
    ];
    let off = prop_oneof![
        3 => (0u64..1024).prop_map(|p| p * K4),
        2 => (0u64..8).prop_map(|p| p * M2),
        1 => (0u64..2).prop_map(|p| p * G1),
        1 => (0u64..4).prop_map(|p| p * M2 + 1023 * K4),
    ];
    (base, off).prop_map(|(b, o)| b + o)
}

fn hpa() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => (0u64..64).prop_map(|p| 0x4000_0000 + p * M2),
        2 => (0u64..4).prop_map(|p| 0x8_0000_0000 + p * G1),
        2 => (0u64..4096).prop_map(|p| 0x1_0000_0000 + p * K4),
        1 => Just((1u64 << 52) - G1),
    ]
}

fn len() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => (1u64..=600).prop_map(|p| p * K4),
        2 => (1u64..=3).prop_map(|p| p * M2),
        1 => (1u64..=4).prop_map(|p| p * M2 + 4 * K4),
        1 => Just(G1),
        1 => Just(G1 + M2),
        1 => Just(0u64),
    ]
}

fn size() -> impl Strategy<Value = PageSize> {
    prop_oneof![
        3 => Just(PageSize::Size4K),
        2 => Just(PageSize::Size2M),
        1 => Just(PageSize::Size1G),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (gpa(), hpa(), size(), attrs()).prop_map(|(gpa, hpa, size, attrs)| Op::Map { gpa, hpa, size, attrs }),
        3 => (gpa(), hpa(), len(), attrs()).prop_map(|(gpa, hpa, len, attrs)| Op::MapRegion { gpa, hpa, len, attrs }),
        3 => (gpa(), len()).prop_map(|(gpa, len)| Op::Unmap { gpa, len }),
        2 => (gpa(), len(), attrs()).prop_map(|(gpa, len, attrs)| Op::Protect { gpa, len, attrs }),
        2 => gpa().prop_map(|gpa| Op::Query { gpa }),
        2 => gpa().prop_map(|gpa| Op::MapFrame { gpa }),
        2 => Just(Op::Flush),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Cfg {
    five: bool,
    p2m: bool,
    p1g: bool,
    xo: bool,
    ad: bool,
}

fn cfg() -> impl Strategy<Value = Cfg> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(five, p2m, p1g, xo, ad)| Cfg {
            five,
            p2m,
            p1g,
            xo,
            ad,
        })
}

impl Cfg {
    fn config(self) -> EptConfig {
        let mut caps = full_caps();
        if !self.p2m {
            caps.remove(EptVpidCap::PAGE_2M);
        }
        if !self.p1g {
            caps.remove(EptVpidCap::PAGE_1G);
        }
        if !self.xo {
            caps.remove(EptVpidCap::EXECUTE_ONLY);
        }
        let c = EptConfig::new(caps, 52).unwrap();
        let c = if self.five {
            c.with_walk_length(PageWalkLength::Five).unwrap()
        } else {
            c
        };
        c.with_accessed_dirty(self.ad).unwrap()
    }
    fn width(self) -> u32 {
        if self.five { 57 } else { 48 }
    }
    fn size_ok(self, s: PageSize) -> bool {
        match s {
            PageSize::Size4K => true,
            PageSize::Size2M => self.p2m,
            PageSize::Size1G => self.p1g && self.p2m,
        }
    }
    /// Expected attribute validation result (the table checks attributes first).
    fn check_attrs(self, a: EptAttributes) -> Result<(), &'static str> {
        let f = a.flags;
        if !f.contains(EptFlags::READ) {
            if f.contains(EptFlags::WRITE) {
                return Err("wnr");
            }
            if !f.contains(EptFlags::EXECUTE) {
                return Err("noaccess");
            }
            if !self.xo {
                return Err("xo");
            }
        }
        if !a.memory_type.is_defined() {
            return Err("mt");
        }
        Ok(())
    }
}

fn kind(e: &EptError) -> &'static str {
    match e {
        EptError::AlreadyMapped { .. } => "already",
        EptError::NotMapped { .. } => "notmapped",
        EptError::Misaligned { .. } => "misaligned",
        EptError::InvalidRange { .. } => "range",
        EptError::BeyondWalkLength { .. } => "walk",
        EptError::BeyondPhysAddrWidth { .. } => "phys",
        EptError::CapabilityMissing(_) => "cap",
        EptError::PageSizeUnsupported(_) => "size",
        EptError::OutOfMemory => "oom",
        EptError::InvalidFlags(_) => "flags",
        _ => "other",
    }
}

/// The expected outcome of `op` on `m` (error class), applying it to `m` on success.
fn expect(c: Cfg, m: &mut Model, op: &Op) -> Result<(), &'static str> {
    let top = 1u64 << c.width();
    let attr_err = |a: &EptAttributes| {
        c.check_attrs(*a).map_err(|e| match e {
            "xo" => "cap",
            _ => "flags",
        })
    };
    let range = |gpa: u64, len: u64| -> Result<u64, &'static str> {
        if !gpa.is_multiple_of(K4) || !len.is_multiple_of(K4) {
            return Err("misaligned");
        }
        if gpa >= top {
            return Err("walk");
        }
        let end = gpa.checked_add(len).filter(|_| len != 0).ok_or("range")?;
        if end > top {
            return Err("walk");
        }
        Ok(end)
    };
    match *op {
        Op::Map {
            gpa,
            hpa,
            size,
            attrs,
        } => {
            attr_err(&attrs)?;
            if size != PageSize::Size4K && !c.size_ok(size) {
                return Err("size");
            }
            if size != PageSize::Size4K
                && attrs.flags.contains(EptFlags::SUB_PAGE_WRITE_PERMISSIONS)
            {
                return Err("flags");
            }
            let b = size.bytes();
            if gpa % b != 0 {
                return Err("misaligned");
            }
            if gpa >= top {
                return Err("walk");
            }
            if hpa % b != 0 {
                return Err("misaligned");
            }
            if hpa >= 1 << 52 {
                return Err("phys");
            }
            if m.any_mapped(gpa, gpa + b) {
                return Err("already");
            }
            m.runs.insert(gpa, (b, hpa, attrs));
            Ok(())
        }
        Op::MapRegion {
            gpa,
            hpa,
            len,
            attrs,
        } => {
            attr_err(&attrs)?;
            let end = range(gpa, len)?;
            if hpa % K4 != 0 {
                return Err("misaligned");
            }
            if hpa.checked_add(len).is_none_or(|e| e > 1 << 52) {
                return Err("phys");
            }
            if m.any_mapped(gpa, end) {
                return Err("already");
            }
            m.runs.insert(gpa, (len, hpa, attrs));
            Ok(())
        }
        Op::Unmap { gpa, len } => {
            let end = range(gpa, len)?;
            if m.first_hole(gpa, end).is_some() {
                return Err("notmapped");
            }
            m.remove(gpa, end);
            Ok(())
        }
        Op::Protect { gpa, len, attrs } => {
            attr_err(&attrs)?;
            let end = range(gpa, len)?;
            if m.first_hole(gpa, end).is_some() {
                return Err("notmapped");
            }
            // Sub-page write permissions on a range containing a large page: checked by
            // the caller against the table (the model has no page sizes).
            m.protect(gpa, end, attrs);
            Ok(())
        }
        Op::Query { gpa } => {
            if gpa >= top {
                return Err("walk");
            }
            m.lookup(gpa).map(|_| ()).ok_or("notmapped")
        }
        Op::MapFrame { .. } => unreachable!("turned into Map by the driver"),
        Op::Flush => Ok(()),
    }
}

/// Runs `op`; a token it returns is merged into `pending`, flushed by `Op::Flush`.
fn run_op(
    t: &mut EptPageTable<CountingHost>,
    host: &CountingHost,
    pending: &mut Option<FlushToken>,
    op: &Op,
) -> Result<(), EptError> {
    let mut owe = |tok: FlushToken| {
        *pending = Some(match pending.take() {
            Some(p) => p.merge(tok),
            None => tok,
        })
    };
    match *op {
        Op::Map {
            gpa,
            hpa,
            size,
            attrs,
        } => t.map_guest(GuestPhysAddr::new(gpa), HostPhysAddr::new(hpa), size, attrs),
        Op::MapRegion {
            gpa,
            hpa,
            len,
            attrs,
        } => t.map_region_guest(GuestPhysAddr::new(gpa), HostPhysAddr::new(hpa), len, attrs),
        Op::Unmap { gpa, len } => t.unmap(GuestPhysAddr::new(gpa), len).map(&mut owe),
        Op::Protect { gpa, len, attrs } => {
            t.protect(GuestPhysAddr::new(gpa), len, attrs).map(&mut owe)
        }
        Op::Query { gpa } => t.query(GuestPhysAddr::new(gpa)).map(|_| ()),
        Op::MapFrame { .. } => unreachable!("turned into Map by the driver"),
        Op::Flush => {
            // Every frame unlinked so far is covered by this flush; the host checks that
            // the table gives back only covered frames, and only now.
            host.flush_covers(t);
            let mut invept = NoCpus::default();
            match pending.take() {
                Some(tok) => t.flush(tok, &mut invept).unwrap(),
                None => {
                    t.flush_pending(&mut invept).unwrap();
                }
            }
            assert_eq!(t.frames_retired(), 0, "retired frames given back on flush");
            assert!(!t.needs_flush());
            Ok(())
        }
    }
}

/// The table's mappings agree with the model, page sizes are allowed, and the frames in
/// use are exactly the structures those mappings need.
fn check_state(
    c: Cfg,
    t: &EptPageTable<CountingHost>,
    m: &Model,
    host: &CountingHost,
    guest_frames: usize,
) {
    let levels = if c.five { 5 } else { 4 };
    let mut total = 0;
    let mut needed = BTreeSet::new();
    let mut last_end = 0;
    for mp in t.mappings() {
        let g = mp.gpa().as_u64();
        assert!(g >= last_end, "mappings out of order");
        last_end = g + mp.size().bytes();
        assert!(
            c.size_ok(mp.size()),
            "page size {:?} not allowed",
            mp.size()
        );
        let (h, a) = m
            .lookup(g)
            .unwrap_or_else(|| panic!("table maps {g:#x}, model does not"));
        assert_eq!(mp.hpa().as_u64(), h, "hpa of {g:#x}");
        let mut got = mp.attributes();
        got.flags.remove(EptFlags::ACCESSED_DIRTY);
        assert_eq!(got, a, "attributes of {g:#x}");
        // The whole page is one run in the model.
        let (h_end, a_end) = m
            .lookup(last_end - K4)
            .expect("end of page mapped in model");
        assert_eq!(h_end, h + mp.size().bytes() - K4);
        assert_eq!(a_end, a);
        total += mp.size().bytes();
        for l in mp.size().level()..levels {
            needed.insert((l, g >> (12 + 9 * l)));
        }
    }
    assert_eq!(total, m.total(), "mapped bytes");
    assert_eq!(
        t.frames_used(),
        needed.len() + 1,
        "frames in use vs structures needed"
    );
    assert_eq!(
        host.live(),
        t.frames_used() + t.frames_retired() + guest_frames,
        "host frames vs table count"
    );
}

fn run(c: Cfg, ops: &[Op], budget: Option<usize>) {
    let host = CountingHost::new();
    let mut t = EptPageTable::new(host.clone(), c.config()).unwrap();
    host.set_budget(budget);
    host.frames().check_covered = true;
    let mut m = Model::default();
    let mut pending = None;
    let mut guest = Vec::new();
    for op in ops {
        if let Op::MapRegion { len, .. } = op
            && !c.p2m
            && *len > MAX_4K_REGION
        {
            // Hundreds of thousands of 4-KiB pages: too slow to cross-check each step
            // (under Miri, which interprets every step, even a few hundred).
            continue;
        }
        if let Op::MapRegion { gpa, hpa, len, .. } = *op
            && cfg!(miri)
            && len > MAX_4K_REGION
            && !(c.p2m && gpa % M2 == 0 && hpa % M2 == 0 && len <= 4 * M2 + 4 * K4)
        {
            // Under Miri only regions of at most a few dozen leaf entries (see
            // MAX_4K_REGION); 1-GiB pages still come from `Op::Map`.
            continue;
        }
        let op = &match *op {
            Op::MapFrame { gpa } => {
                // Guest memory from the same host: never a frame the table still holds,
                // retired ones included (the host hands out only frames given back, and
                // checks that those were covered by a flush).
                let frame = host.alloc_guest();
                assert!(!host.structures(&t).contains(&frame.as_u64()));
                guest.push(frame);
                Op::Map {
                    gpa,
                    hpa: frame.as_u64(),
                    size: PageSize::Size4K,
                    attrs: EptAttributes::write_back(EptFlags::RW),
                }
            }
            ref other => other.clone(),
        };
        let mut next = m.clone();
        let want = expect(c, &mut next, op);
        let got = run_op(&mut t, &host, &mut pending, op);
        match (&want, &got) {
            (_, Err(EptError::OutOfMemory)) => {
                assert!(budget.is_some(), "out of memory without a budget");
                // The model is unchanged: operations are all-or-nothing.
            }
            (Ok(()), Ok(())) => m = next,
            (Err(w), Err(g)) => assert_eq!(*w, kind(g), "{op:?}: {got:?}"),
            (Ok(()), Err(EptError::InvalidFlags(ept::FlagsError::SubPageWriteOnLargePage)))
                if matches!(op, Op::Protect { .. }) => {}
            _ => panic!("{op:?}: model {want:?}, table {got:?}"),
        }
        if let (Op::Query { gpa }, Ok(())) = (op, &got) {
            let tr = t.translate(GuestPhysAddr::new(*gpa)).unwrap();
            assert_eq!(Some(tr.as_u64()), m.lookup(*gpa).map(|x| x.0));
        }
        // Structures linked now must be covered by a later flush before they go back.
        host.linked(&t);
        check_state(c, &t, &m, &host, guest.len());
    }
    run_op(&mut t, &host, &mut pending, &Op::Flush).unwrap();
    check_state(c, &t, &m, &host, guest.len());
    host.frames().check_covered = false;
    drop(t);
    assert_eq!(host.live(), guest.len(), "frames leaked");
    for frame in guest {
        // SAFETY: allocated above with alloc_frames(1); the table that mapped it is gone.
        unsafe { host.free_frames(frame, 1) };
    }
    assert_eq!(host.live(), 0);
}

/// `default` cases, or `PROPTEST_CASES` when set (a deeper run: see the README, "Tests").
/// Under Miri at most 2: each case interprets thousands of table operations, and the unsafe
/// frame access they exercise is the same in every case.
fn cases(default: u32) -> u32 {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    if cfg!(miri) { n.min(2) } else { n }
}

/// The proptest configuration with `cases` cases. Under Miri the persisted regression seeds
/// are not replayed (each replays a full-size case; they run natively in `cargo test`).
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::with_cases(cases);
    if cfg!(miri) {
        c.failure_persistence = None;
    }
    c
}

proptest! {
    #![proptest_config(config(cases(128)))]

    #[test]
    fn table_matches_model(c in cfg(), ops in prop::collection::vec(op(), 1..MAX_OPS)) {
        run(c, &ops, None);
    }

}

proptest! {
    #![proptest_config(config(cases(64)))]

    #[test]
    fn out_of_memory_is_all_or_nothing(c in cfg(), ops in prop::collection::vec(op(), 1..MAX_OPS * 3 / 4), budget in 0usize..12) {
        run(c, &ops, Some(budget));
    }
}
