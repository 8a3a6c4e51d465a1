//! A test host: frames from the global allocator, identity "physical" addresses, counted.
#![allow(dead_code)]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use ept::{EptConfig, EptHost, HostPhysAddr};
use vmx_defs::capabilities::EptVpidCap;

#[derive(Default, Debug)]
pub struct Frames {
    pub live: HashSet<u64>,
    pub allocs: usize,
    pub frees: usize,
    /// Allocations still allowed; `None` = unlimited.
    pub budget: Option<usize>,
    /// Return this bogus frame on the next allocation.
    pub bogus: Option<u64>,
    /// Bogus frames handed out (never deallocated).
    pub fake: HashSet<u64>,
}

#[derive(Clone, Default)]
pub struct CountingHost(pub Rc<RefCell<Frames>>);

const LAYOUT: Layout = match Layout::from_size_align(4096, 4096) {
    Ok(l) => l,
    Err(_) => panic!(),
};

impl CountingHost {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn live(&self) -> usize {
        self.0.borrow().live.len()
    }
    pub fn set_budget(&self, budget: Option<usize>) {
        self.0.borrow_mut().budget = budget;
    }
}

// SAFETY: frames come from the global allocator with 4096-byte size and alignment, zeroed,
// identity-mapped; each is freed exactly once (checked by the live set).
unsafe impl EptHost for CountingHost {
    fn alloc_zeroed_frame(&mut self) -> Option<HostPhysAddr> {
        let mut f = self.0.borrow_mut();
        if let Some(b) = f.bogus.take() {
            f.live.insert(b);
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
        // SAFETY: LAYOUT has non-zero size.
        let p = unsafe { alloc_zeroed(LAYOUT) };
        assert!(!p.is_null());
        f.live.insert(p as u64);
        f.allocs += 1;
        Some(HostPhysAddr::new(p as u64))
    }

    fn free_frame(&mut self, frame: HostPhysAddr) {
        let mut f = self.0.borrow_mut();
        assert!(
            f.live.remove(&frame.as_u64()),
            "double or foreign free of {frame:?}"
        );
        f.frees += 1;
        if !f.fake.remove(&frame.as_u64()) {
            // SAFETY: allocated above with LAYOUT and not yet freed (live set).
            unsafe { dealloc(frame.as_u64() as *mut u8, LAYOUT) };
        }
    }

    fn phys_to_virt(&self, frame: HostPhysAddr) -> *mut u8 {
        frame.as_u64() as *mut u8
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
