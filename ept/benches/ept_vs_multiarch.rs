//! `ept` against an EPT built on `page_table_multiarch`, side by side in one run.
//!
//! Both tables get their frames from the same arena (4-KiB frames, identity "physical"
//! addresses) and map the same pages with the same EPT leaf bits. Workloads:
//! - map 1 GiB as 4-KiB pages (262 144 `map` calls),
//! - query every one of those pages,
//! - unmap every page one by one,
//! - map 4 GiB with one `map_region` call (1-GiB pages where allowed).
//!
//! Criterion reports the time per workload and the throughput in operations per second;
//! the frames each table uses are printed before the measurements.
#![allow(missing_docs)]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::ptr::NonNull;

use ept::{
    EptAttributes, EptConfig, EptFlags, EptPageTable, FlushToken, GuestPhysAddr, HostMemory,
    HostPhysAddr, InveptDescriptor, InveptExecutor, InveptType, PageSize,
};
use memory_addr::{PhysAddr, VirtAddr, def_usize_addr};
use page_table_multiarch::{GenericPTE, MappingFlags, PageTable64, PagingHandler, PagingMetaData};
use vmx_defs::capabilities::EptVpidCap;

const K4: u64 = 1 << 12;
const G1: u64 = 1 << 30;
const PAGES_1G: u64 = G1 / K4;
/// Host-physical base of the mapped memory.
const HPA_BASE: u64 = 64 * G1;

// ----- the shared frame arena -----

struct Arena {
    free: Vec<usize>,
    live: usize,
}

static ARENA: Mutex<Arena> = Mutex::new(Arena {
    free: Vec::new(),
    live: 0,
});
const LAYOUT: Layout = match Layout::from_size_align(4096, 4096) {
    Ok(l) => l,
    Err(_) => panic!("layout"),
};

fn arena_alloc() -> Option<usize> {
    let mut a = ARENA.lock().ok()?;
    a.live += 1;
    match a.free.pop() {
        Some(p) => {
            // SAFETY: p is a 4096-byte frame from alloc_zeroed, owned by the arena.
            unsafe {
                std::ptr::write_bytes(std::ptr::with_exposed_provenance_mut::<u8>(p), 0, 4096)
            };
            Some(p)
        }
        // SAFETY: LAYOUT has non-zero size.
        None => Some(unsafe { alloc_zeroed(LAYOUT) }.expose_provenance()),
    }
}

fn arena_free(p: usize) {
    if let Ok(mut a) = ARENA.lock() {
        a.live -= 1;
        a.free.push(p);
    }
}

fn arena_live() -> usize {
    ARENA.lock().map(|a| a.live).unwrap_or(0)
}

#[allow(dead_code)]
fn arena_release() {
    if let Ok(mut a) = ARENA.lock() {
        for p in a.free.drain(..) {
            // SAFETY: allocated with LAYOUT, not in use.
            unsafe { dealloc(std::ptr::with_exposed_provenance_mut(p), LAYOUT) };
        }
    }
}

// ----- ept -----

struct ArenaHost;

// SAFETY: arena frames are 4 KiB, 4-KiB aligned, zeroed, owned until freed, identity-mapped
// (the arena exposes their provenance, see `arena_alloc`).
unsafe impl HostMemory for ArenaHost {
    #[inline]
    fn alloc_frames(&self, count: usize) -> Option<HostPhysAddr> {
        (count == 1)
            .then(arena_alloc)
            .flatten()
            .map(|p| HostPhysAddr::new(p as u64))
    }
    #[inline]
    unsafe fn free_frames(&self, frame: HostPhysAddr, _count: usize) {
        arena_free(frame.as_u64() as usize)
    }
    #[inline]
    fn phys_to_virt(&self, paddr: HostPhysAddr) -> NonNull<u8> {
        NonNull::new(std::ptr::with_exposed_provenance_mut(
            paddr.as_u64() as usize
        ))
        .expect("arena frames are not at 0")
    }
}

/// INVEPT for the benchmark: nothing ever enters a guest here, so no logical processor
/// holds translations of these tables.
struct NoCpus;

// SAFETY: see the type's documentation.
unsafe impl InveptExecutor for NoCpus {
    type Error = ();
    fn invept(&mut self, _: InveptType, _: &InveptDescriptor) -> Result<(), ()> {
        Ok(())
    }
}

/// Unmaps every 4-KiB page of the first GiB one by one, then flushes once.
fn ept_unmap_1g_4k(t: &mut EptPageTable<ArenaHost>) {
    let mut owed: Option<FlushToken> = None;
    for i in 0..PAGES_1G {
        let tok = t.unmap(GuestPhysAddr::new(i * K4), K4).expect("unmap");
        owed = Some(match owed {
            Some(o) => o.merge(tok),
            None => tok,
        });
    }
    if let Some(tok) = owed {
        t.flush(tok, &mut NoCpus).expect("flush");
    }
}

fn ept_table() -> EptPageTable<ArenaHost> {
    let caps = EptVpidCap::PAGE_WALK_4
        | EptVpidCap::MEMORY_TYPE_WB
        | EptVpidCap::PAGE_2M
        | EptVpidCap::PAGE_1G
        | EptVpidCap::INVEPT
        | EptVpidCap::INVEPT_SINGLE_CONTEXT;
    let config = EptConfig::new(caps, 52).expect("config");
    EptPageTable::new(ArenaHost, config).expect("root")
}

const ATTRS: EptAttributes = EptAttributes::write_back(EptFlags::RWX);

fn ept_map_1g_4k(t: &mut EptPageTable<ArenaHost>) {
    for i in 0..PAGES_1G {
        let g = i * K4;
        // SAFETY: nothing ever enters a guest with this table: no memory reaches a guest.
        unsafe {
            t.map(
                GuestPhysAddr::new(g),
                HostPhysAddr::new(HPA_BASE + g),
                PageSize::Size4K,
                ATTRS,
            )
        }
        .expect("map");
    }
}

// ----- page_table_multiarch with an EPT entry -----

def_usize_addr! {
    /// Guest-physical address for page_table_multiarch.
    #[derive(Debug)]
    pub type MaGpa;
}

/// An EPT entry for page_table_multiarch (SDM Vol. 3C Tables 29-1 to 29-7).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
struct MaEptEntry(u64);

const ADDR: u64 = 0x000f_ffff_ffff_f000;
const PS: u64 = 1 << 7;
const MT_SHIFT: u64 = 3;

fn ma_bits(flags: MappingFlags) -> u64 {
    let mut b = 0;
    if flags.contains(MappingFlags::READ) {
        b |= 1;
    }
    if flags.contains(MappingFlags::WRITE) {
        b |= 2;
    }
    if flags.contains(MappingFlags::EXECUTE) {
        b |= 4;
    }
    let mt = if flags.intersects(MappingFlags::DEVICE | MappingFlags::UNCACHED) {
        0
    } else {
        6
    };
    b | mt << MT_SHIFT
}

impl GenericPTE for MaEptEntry {
    fn new_page(paddr: PhysAddr, flags: MappingFlags, is_huge: bool) -> Self {
        Self(paddr.as_usize() as u64 & ADDR | ma_bits(flags) | if is_huge { PS } else { 0 })
    }
    fn new_table(paddr: PhysAddr) -> Self {
        Self(paddr.as_usize() as u64 & ADDR | 7)
    }
    fn paddr(&self) -> PhysAddr {
        PhysAddr::from((self.0 & ADDR) as usize)
    }
    fn flags(&self) -> MappingFlags {
        let mut f = MappingFlags::empty();
        if self.0 & 1 != 0 {
            f |= MappingFlags::READ;
        }
        if self.0 & 2 != 0 {
            f |= MappingFlags::WRITE;
        }
        if self.0 & 4 != 0 {
            f |= MappingFlags::EXECUTE;
        }
        if (self.0 >> MT_SHIFT) & 7 == 0 {
            f |= MappingFlags::UNCACHED;
        }
        f
    }
    fn set_paddr(&mut self, paddr: PhysAddr) {
        self.0 = (self.0 & !ADDR) | (paddr.as_usize() as u64 & ADDR);
    }
    fn set_flags(&mut self, flags: MappingFlags, is_huge: bool) {
        self.0 = (self.0 & ADDR) | ma_bits(flags) | if is_huge { PS } else { 0 };
    }
    fn bits(self) -> usize {
        self.0 as usize
    }
    fn is_unused(&self) -> bool {
        self.0 == 0
    }
    fn is_present(&self) -> bool {
        self.0 & 7 != 0
    }
    fn is_huge(&self) -> bool {
        self.0 & PS != 0
    }
    fn clear(&mut self) {
        self.0 = 0;
    }
}

struct MaEptMeta;

impl PagingMetaData for MaEptMeta {
    const LEVELS: usize = 4;
    const PA_MAX_BITS: usize = 52;
    const VA_MAX_BITS: usize = 48;
    type VirtAddr = MaGpa;

    fn vaddr_is_valid(vaddr: usize) -> bool {
        vaddr < 1 << 48
    }
    fn flush_tlb(_vaddr: Option<MaGpa>) {}
}

struct MaHandler;

impl PagingHandler for MaHandler {
    fn alloc_frames(num: usize, _align: usize) -> Option<PhysAddr> {
        (num == 1).then(arena_alloc).flatten().map(PhysAddr::from)
    }
    fn dealloc_frames(paddr: PhysAddr, num: usize) {
        if num == 1 {
            arena_free(paddr.as_usize());
        }
    }
    fn phys_to_virt(paddr: PhysAddr) -> VirtAddr {
        VirtAddr::from(paddr.as_usize())
    }
}

type MaTable = PageTable64<MaEptMeta, MaEptEntry, MaHandler>;
const MA_FLAGS: MappingFlags = MappingFlags::READ
    .union(MappingFlags::WRITE)
    .union(MappingFlags::EXECUTE);

fn ma_table() -> MaTable {
    MaTable::try_new().expect("root")
}

fn ma_map_1g_4k(t: &mut MaTable) {
    let mut c = t.cursor();
    for i in 0..PAGES_1G {
        let g = (i * K4) as usize;
        c.map(
            MaGpa::from(g),
            PhysAddr::from(HPA_BASE as usize + g),
            page_table_multiarch::PageSize::Size4K,
            MA_FLAGS,
        )
        .expect("map");
    }
}

/// 4 GiB at guest-physical 0 with one `map_region` call (1-GiB pages).
fn ept_map_region_4g(t: &mut EptPageTable<ArenaHost>) {
    // SAFETY: nothing ever enters a guest with this table: no memory reaches a guest.
    unsafe {
        t.map_region(
            GuestPhysAddr::new(0),
            HostPhysAddr::new(HPA_BASE),
            4 * G1,
            ATTRS,
        )
    }
    .expect("region");
}

/// [`ept_map_region_4g`] on page_table_multiarch (huge pages allowed).
fn ma_map_region_4g(t: &mut MaTable) {
    t.cursor()
        .map_region(
            MaGpa::from(0),
            |g| PhysAddr::from(HPA_BASE as usize + g.as_usize()),
            4 * G1 as usize,
            MA_FLAGS,
            true,
        )
        .expect("region");
}

// ----- frame counts -----

fn report_frames() {
    let base = arena_live();
    let mut e = ept_table();
    ept_map_1g_4k(&mut e);
    let e_map = arena_live() - base;
    ept_unmap_1g_4k(&mut e);
    let e_unmap = arena_live() - base;
    drop(e);
    let mut e = ept_table();
    ept_map_region_4g(&mut e);
    let e_region = arena_live() - base;
    drop(e);

    let mut m = ma_table();
    ma_map_1g_4k(&mut m);
    let m_map = arena_live() - base;
    {
        let mut c = m.cursor();
        for i in 0..PAGES_1G {
            c.unmap(MaGpa::from((i * K4) as usize)).expect("unmap");
        }
    }
    let m_unmap = arena_live() - base;
    drop(m);
    let mut m = ma_table();
    ma_map_region_4g(&mut m);
    let m_region = arena_live() - base;
    drop(m);
    assert_eq!(arena_live(), base, "frames leaked");

    println!("frames used (4-KiB paging structures, root included):");
    println!("  workload                         ept   page_table_multiarch");
    println!("  1 GiB mapped as 4-KiB pages   {e_map:>6}   {m_map:>6}");
    println!("  after unmapping every page    {e_unmap:>6}   {m_unmap:>6}");
    println!("  4 GiB map_region              {e_region:>6}   {m_region:>6}");
}

// ----- benchmarks -----

fn benches(c: &mut Criterion) {
    report_frames();

    let mut g = c.benchmark_group("map_1GiB_4KiB");
    g.throughput(Throughput::Elements(PAGES_1G));
    g.bench_function("ept", |b| {
        b.iter_batched(
            ept_table,
            |mut t| {
                ept_map_1g_4k(&mut t);
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("page_table_multiarch", |b| {
        b.iter_batched(
            ma_table,
            |mut t| {
                ma_map_1g_4k(&mut t);
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("query_1GiB_4KiB");
    g.throughput(Throughput::Elements(PAGES_1G));
    let mut e = ept_table();
    ept_map_1g_4k(&mut e);
    g.bench_function("ept", |b| {
        b.iter(|| {
            for i in 0..PAGES_1G {
                black_box(
                    e.query(GuestPhysAddr::new(black_box(i * K4)))
                        .expect("query"),
                );
            }
        })
    });
    drop(e);
    let mut m = ma_table();
    ma_map_1g_4k(&mut m);
    g.bench_function("page_table_multiarch", |b| {
        b.iter(|| {
            for i in 0..PAGES_1G {
                black_box(
                    m.query(MaGpa::from(black_box((i * K4) as usize)))
                        .expect("query"),
                );
            }
        })
    });
    drop(m);
    g.finish();

    let mut g = c.benchmark_group("unmap_1GiB_4KiB");
    g.throughput(Throughput::Elements(PAGES_1G));
    g.bench_function("ept", |b| {
        b.iter_batched(
            || {
                let mut t = ept_table();
                ept_map_1g_4k(&mut t);
                t
            },
            |mut t| {
                ept_unmap_1g_4k(&mut t);
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("page_table_multiarch", |b| {
        b.iter_batched(
            || {
                let mut t = ma_table();
                ma_map_1g_4k(&mut t);
                t
            },
            |mut t| {
                {
                    let mut c = t.cursor();
                    for i in 0..PAGES_1G {
                        black_box(c.unmap(MaGpa::from((i * K4) as usize)).expect("unmap"));
                    }
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("map_region_4GiB");
    // One call maps 4 GiB: throughput in calls per second.
    g.throughput(Throughput::Elements(1));
    g.bench_function("ept", |b| {
        b.iter_batched(
            ept_table,
            |mut t| {
                ept_map_region_4g(&mut t);
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("page_table_multiarch", |b| {
        b.iter_batched(
            ma_table,
            |mut t| {
                ma_map_region_4g(&mut t);
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group! {
    name = ept_vs_multiarch;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(ept_vs_multiarch);
