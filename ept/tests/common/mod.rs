//! A test host: frames from the global allocator behind made-up "physical" addresses (so
//! that the table never confuses the two and Miri sees no integer-to-pointer casts),
//! counted, reused last-freed-first so that a frame given back too early is handed out
//! again at once, with a check that the table gives back only frames a flush has covered.
#![allow(dead_code)]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::collections::{HashMap, HashSet};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};

use ept::{
    EptConfig, EptPageTable, FlushToken, HostMemory, HostPhysAddr, InveptDescriptor,
    InveptExecutor, InveptType,
};
use vmx_defs::capabilities::EptVpidCap;

/// Where the made-up physical addresses start.
const PHYS_BASE: u64 = 0x1000_0000;

/// A frame's host-virtual address. Only this host and the table under test use it.
#[derive(Clone, Copy, Debug)]
pub struct Virt(NonNull<u8>);
// SAFETY: the pointer is to a heap frame the host owns; the host hands it to one table at
// a time and serialises its own bookkeeping behind a mutex.
unsafe impl Send for Virt {}

#[derive(Default, Debug)]
pub struct Frames {
    /// Allocated frames: physical address -> memory.
    pub live: HashMap<u64, Virt>,
    /// Freed frames, reused last first.
    pool: Vec<(u64, Virt)>,
    next_phys: u64,
    pub allocs: usize,
    pub frees: usize,
    /// Allocations still allowed; `None` = unlimited.
    pub budget: Option<usize>,
    /// Return this bogus frame on the next allocation.
    pub bogus: Option<u64>,
    /// Bogus frames handed out (no memory behind them).
    pub fake: HashSet<u64>,
    /// When set, a frame may be given back only once marked covered by a flush.
    pub check_covered: bool,
    /// Live frames that a flush has covered (unlinked before an invalidation completed).
    pub covered: HashSet<u64>,
    /// Every frame given back, in order.
    pub freed_log: Vec<u64>,
}

impl Drop for Frames {
    fn drop(&mut self) {
        for (_, v) in self.live.drain().chain(self.pool.drain(..)) {
            // SAFETY: allocated with LAYOUT in `alloc_frames`, owned by this host.
            unsafe { dealloc(v.0.as_ptr(), LAYOUT) };
        }
    }
}

#[derive(Clone, Default)]
pub struct CountingHost(pub Arc<Mutex<Frames>>);

const LAYOUT: Layout = match Layout::from_size_align(4096, 4096) {
    Ok(l) => l,
    Err(_) => panic!(),
};

impl CountingHost {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn frames(&self) -> MutexGuard<'_, Frames> {
        self.0.lock().unwrap()
    }
    pub fn live(&self) -> usize {
        self.frames().live.len()
    }
    pub fn set_budget(&self, budget: Option<usize>) {
        self.frames().budget = budget;
    }
    /// A frame of guest memory (as a hypervisor allocates guest RAM from the same host),
    /// outside any allocation budget.
    pub fn alloc_guest(&self) -> HostPhysAddr {
        let budget = self.frames().budget.take();
        let frame = self.alloc_frames(1).expect("guest frame");
        self.frames().budget = budget;
        frame
    }
    /// Reads entry `i` of the paging structure at physical `frame`.
    pub fn entry(&self, frame: u64, i: u64) -> u64 {
        assert!(i < 512);
        let p = self.phys_to_virt(HostPhysAddr::new(frame + 8 * i));
        // SAFETY: a live frame of this host, 8-aligned offset inside it; the table writes
        // entries atomically, and this test reads while no table operation runs.
        unsafe { p.cast::<u64>().as_ptr().read_volatile() }
    }
    /// The paging structures reachable from the table's root (root included).
    pub fn structures<H: HostMemory>(&self, t: &EptPageTable<H>) -> HashSet<u64> {
        let mut out = HashSet::new();
        self.collect(t.root().as_u64(), t.eptp().walk_levels() as u32, &mut out);
        out
    }
    fn collect(&self, frame: u64, level: u32, out: &mut HashSet<u64>) {
        out.insert(frame);
        if level == 1 {
            return;
        }
        let base = self.phys_to_virt(HostPhysAddr::new(frame)).cast::<u64>();
        for i in 0..512 {
            // SAFETY: entry `i` of a live frame of this host (4096 bytes, 8-aligned); the
            // table writes entries atomically and no table operation runs meanwhile.
            let e = unsafe { base.add(i).as_ptr().read_volatile() };
            if e & 7 != 0 && !(level <= 3 && e & 0x80 != 0) {
                self.collect(e & 0x000f_ffff_ffff_f000, level - 1, out);
            }
        }
    }
    /// Before a flush of `t`: every live frame not reachable now is covered by it.
    pub fn flush_covers<H: HostMemory>(&self, t: &EptPageTable<H>) {
        let reachable = self.structures(t);
        let mut f = self.frames();
        let newly: Vec<u64> = f
            .live
            .keys()
            .copied()
            .filter(|p| !reachable.contains(p))
            .collect();
        f.covered.extend(newly);
    }
    /// Frames reachable now are linked again and must be covered by a later flush.
    pub fn linked<H: HostMemory>(&self, t: &EptPageTable<H>) {
        let reachable = self.structures(t);
        let mut f = self.frames();
        for p in reachable {
            f.covered.remove(&p);
        }
    }
}

// SAFETY: frames are fresh (or reused after being zeroed) 4096-byte, 4096-aligned heap
// allocations owned by this host, each handed out once until given back (live map);
// phys_to_virt returns the same pointer for a frame every time, with its provenance.
unsafe impl HostMemory for CountingHost {
    fn alloc_frames(&self, count: usize) -> Option<HostPhysAddr> {
        assert_eq!(count, 1, "the table allocates single frames");
        let mut f = self.frames();
        if let Some(b) = f.bogus.take() {
            f.fake.insert(b);
            f.allocs += 1;
            return Some(HostPhysAddr::new(b));
        }
        if let Some(b) = f.budget.as_mut() {
            if *b == 0 {
                return None;
            }
            *b -= 1;
        }
        let (phys, virt) = match f.pool.pop() {
            Some(reused) => reused,
            None => {
                // SAFETY: LAYOUT has a non-zero size.
                let p = NonNull::new(unsafe { alloc_zeroed(LAYOUT) }).expect("heap");
                let phys = PHYS_BASE + f.next_phys;
                f.next_phys += 4096;
                (phys, Virt(p))
            }
        };
        f.covered.remove(&phys);
        f.live.insert(phys, virt);
        f.allocs += 1;
        Some(HostPhysAddr::new(phys))
    }

    unsafe fn free_frames(&self, frame: HostPhysAddr, count: usize) {
        assert_eq!(count, 1);
        let mut f = self.frames();
        let p = frame.as_u64();
        f.frees += 1;
        if f.fake.remove(&p) {
            return;
        }
        if f.check_covered {
            assert!(
                f.covered.contains(&p),
                "frame {p:#x} given back before a flush covered it"
            );
        }
        f.covered.remove(&p);
        let v = f
            .live
            .remove(&p)
            .unwrap_or_else(|| panic!("double or foreign free of {p:#x}"));
        // Zeroed for its next allocation (structures given back on drop are not empty).
        // SAFETY: a live frame of 4096 bytes owned by this host; the table gave it back.
        unsafe { v.0.as_ptr().write_bytes(0, 4096) };
        f.freed_log.push(p);
        f.pool.push((p, v));
    }

    fn phys_to_virt(&self, paddr: HostPhysAddr) -> NonNull<u8> {
        let a = paddr.as_u64();
        let f = self.frames();
        let v = f
            .live
            .get(&(a & !0xfff))
            .unwrap_or_else(|| panic!("phys_to_virt of {a:#x}, not a live frame"));
        // SAFETY: offset below 4096 inside the frame's allocation.
        unsafe { v.0.add((a & 0xfff) as usize) }
    }
}

/// An INVEPT executor for host tests, recording calls.
///
/// No logical processor runs these tables (nothing ever enters a guest in host tests), so
/// no processor holds translations derived from any EPTP: every call can answer `Ok`
/// while keeping the `InveptExecutor` contract.
#[derive(Default, Debug)]
pub struct NoCpus {
    pub calls: Vec<(InveptType, [u64; 2])>,
    pub fail: bool,
}

// SAFETY: see the type's documentation: no processor caches anything from these tables.
unsafe impl InveptExecutor for NoCpus {
    type Error = &'static str;
    fn invept(&mut self, ty: InveptType, d: &InveptDescriptor) -> Result<(), &'static str> {
        if self.fail {
            return Err("refused");
        }
        self.calls.push((ty, d.raw()));
        Ok(())
    }
}

/// Flushing a token in tests.
pub trait FlushIn {
    fn flush_in<H: HostMemory>(self, t: &mut EptPageTable<H>);
}

impl FlushIn for FlushToken {
    fn flush_in<H: HostMemory>(self, t: &mut EptPageTable<H>) {
        t.flush(self, &mut NoCpus::default()).expect("flush");
    }
}

/// Capabilities of a modern CPU: everything the table can use.
pub fn full_caps() -> EptVpidCap {
    EptVpidCap::EXECUTE_ONLY
        | EptVpidCap::PAGE_WALK_4
        | EptVpidCap::PAGE_WALK_5
        | EptVpidCap::MEMORY_TYPE_UC
        | EptVpidCap::MEMORY_TYPE_WB
        | EptVpidCap::PAGE_2M
        | EptVpidCap::PAGE_1G
        | EptVpidCap::INVEPT
        | EptVpidCap::ACCESSED_DIRTY
        | EptVpidCap::SUPERVISOR_SHADOW_STACK
        | EptVpidCap::INVEPT_SINGLE_CONTEXT
        | EptVpidCap::INVEPT_ALL_CONTEXT
}

pub fn config(caps: EptVpidCap) -> EptConfig {
    EptConfig::new(caps, 52).unwrap()
}

/// `map` and `map_region` for host tests.
///
/// Their safety contract is about the memory a guest can reach: no guest ever runs on a
/// table in host tests (nothing loads an EPTP into a VMCS), and the host-physical
/// addresses mapped are made-up numbers the table never dereferences, so no host memory
/// is handed to anyone.
pub trait GuestMap {
    fn map_guest(
        &mut self,
        gpa: ept::GuestPhysAddr,
        hpa: HostPhysAddr,
        size: ept::PageSize,
        attributes: ept::EptAttributes,
    ) -> Result<(), ept::EptError>;
    fn map_region_guest(
        &mut self,
        gpa: ept::GuestPhysAddr,
        hpa: HostPhysAddr,
        len: u64,
        attributes: ept::EptAttributes,
    ) -> Result<(), ept::EptError>;
}

/// Implements [`GuestMap`] for types with unsafe `map`/`map_region` methods of the same
/// signature (the table itself and an edit of a shared one).
macro_rules! impl_guest_map {
    ($($ty:ty),* $(,)?) => {$(
        impl<H: HostMemory> GuestMap for $ty {
            fn map_guest(
                &mut self,
                gpa: ept::GuestPhysAddr,
                hpa: HostPhysAddr,
                size: ept::PageSize,
                attributes: ept::EptAttributes,
            ) -> Result<(), ept::EptError> {
                // SAFETY: see the trait: no guest runs on tables in host tests.
                unsafe { self.map(gpa, hpa, size, attributes) }
            }
            fn map_region_guest(
                &mut self,
                gpa: ept::GuestPhysAddr,
                hpa: HostPhysAddr,
                len: u64,
                attributes: ept::EptAttributes,
            ) -> Result<(), ept::EptError> {
                // SAFETY: see the trait: no guest runs on tables in host tests.
                unsafe { self.map_region(gpa, hpa, len, attributes) }
            }
        }
    )*};
}

impl_guest_map!(EptPageTable<H>, ept::EptEdit<'_, H>);
