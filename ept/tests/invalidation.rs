//! Accessed/dirty flags and the invalidation protocol (flush tokens, pending state, INVEPT
//! type and descriptor), observed through a recording INVEPT executor.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{CountingHost, FlushIn, GuestMap, NoCpus, config, full_caps};
use ept::{
    AccessedDirty, Capability, EptAttributes, EptError, EptFlags, EptPageTable, FlushError,
    GuestPhysAddr, HostMemory, HostPhysAddr, InveptType, PageSize,
};
use vmx_defs::capabilities::EptVpidCap;

const K4: u64 = 1 << 12;
const M2: u64 = 1 << 21;

type Recorder = NoCpus;

fn gpa(a: u64) -> GuestPhysAddr {
    GuestPhysAddr::new(a)
}

fn rw() -> EptAttributes {
    EptAttributes::write_back(EptFlags::RW)
}

/// Does what the processor does on an access with A/D enabled: walks from the EPTP and
/// sets bits in the leaf with a locked OR (SDM Vol. 3C §29.3.5).
fn cpu_sets(t: &EptPageTable<CountingHost>, g: u64, bits: u64) {
    let mut table = t.eptp().root();
    let mut level = t.eptp().walk_levels() as u32;
    loop {
        let idx = (g >> (12 + 9 * (level - 1))) & 511;
        let p = t.host().phys_to_virt(HostPhysAddr::new(table + idx * 8));
        // SAFETY: an 8-aligned entry of a live structure of `t`, which accesses its
        // entries only atomically.
        let e = unsafe { p.cast::<AtomicU64>().as_ref() };
        let v = e.load(Ordering::SeqCst);
        assert!(v & 7 != 0, "walk hit a not-present entry");
        if level == 1 || v & 0x80 != 0 {
            e.fetch_or(bits, Ordering::SeqCst);
            return;
        }
        e.fetch_or(1 << 8, Ordering::SeqCst);
        table = v & 0x000f_ffff_ffff_f000;
        level -= 1;
    }
}

fn ad_table() -> EptPageTable<CountingHost> {
    let c = config(full_caps()).with_accessed_dirty(true).unwrap();
    EptPageTable::new(CountingHost::new(), c).unwrap()
}

#[test]
fn accessed_dirty_read_and_clear() {
    let mut t = ad_table();
    t.map_region_guest(gpa(0), HostPhysAddr::new(0), 4 * K4, rw())
        .unwrap();
    t.map_guest(gpa(M2), HostPhysAddr::new(M2), PageSize::Size2M, rw())
        .unwrap();
    assert_eq!(t.accessed_dirty(gpa(0)).unwrap(), AccessedDirty::default());
    cpu_sets(&t, K4, 1 << 8);
    cpu_sets(&t, 2 * K4, 3 << 8);
    cpu_sets(&t, M2 + 5 * K4, 3 << 8);
    assert_eq!(
        t.accessed_dirty(gpa(K4)).unwrap(),
        AccessedDirty {
            accessed: true,
            dirty: false
        }
    );
    assert_eq!(
        t.accessed_dirty(gpa(2 * K4 + 8)).unwrap(),
        AccessedDirty {
            accessed: true,
            dirty: true
        }
    );
    assert_eq!(
        t.accessed_dirty(gpa(M2 + 7 * K4)).unwrap(),
        AccessedDirty {
            accessed: true,
            dirty: true
        }
    );

    // Collect and clear dirty pages: the 4-KiB page and the whole 2-MiB page.
    let mut dirty = Vec::new();
    let tok = t
        .clear_accessed_dirty(gpa(0), 2 * M2, EptFlags::DIRTY, |m| {
            dirty.push((m.gpa().as_u64(), m.size()))
        })
        .unwrap();
    assert_eq!(
        dirty,
        vec![(2 * K4, PageSize::Size4K), (M2, PageSize::Size2M)]
    );
    assert!(t.needs_flush());
    let mut inv = Recorder::default();
    t.flush(tok, &mut inv).unwrap();
    assert_eq!(inv.calls.len(), 1);
    assert_eq!(
        t.accessed_dirty(gpa(2 * K4)).unwrap(),
        AccessedDirty {
            accessed: true,
            dirty: false
        }
    );
    // Nothing left to clear: no invalidation is owed.
    let tok = t
        .clear_accessed_dirty(gpa(0), 2 * M2, EptFlags::DIRTY, |_| panic!("clean"))
        .unwrap();
    assert!(!t.needs_flush());
    t.flush(tok, &mut inv).unwrap();
    assert_eq!(inv.calls.len(), 1);
    // Protect keeps the flags the processor set.
    t.protect(gpa(K4), K4, EptAttributes::write_back(EptFlags::R))
        .unwrap()
        .flush_in(&mut t);
    assert!(t.accessed_dirty(gpa(K4)).unwrap().accessed);
    // Splitting a large page copies its flags to every part.
    t.unmap(gpa(M2), K4).unwrap().flush_in(&mut t);
    assert_eq!(
        t.accessed_dirty(gpa(M2 + 100 * K4)).unwrap(),
        AccessedDirty {
            accessed: true,
            dirty: false
        }
    );
}

#[test]
fn accessed_dirty_needs_enabling() {
    let mut t = EptPageTable::new(CountingHost::new(), config(full_caps())).unwrap();
    t.map_guest(gpa(0), HostPhysAddr::new(0), PageSize::Size4K, rw())
        .unwrap();
    assert_eq!(
        t.accessed_dirty(gpa(0)),
        Err(EptError::CapabilityMissing(Capability::AccessedDirty))
    );
    assert_eq!(
        t.clear_accessed_dirty(gpa(0), K4, EptFlags::ACCESSED_DIRTY, |_| {})
            .map(|f| f.flush_in(&mut t)),
        Err(EptError::CapabilityMissing(Capability::AccessedDirty))
    );
    let t = ad_table();
    assert_eq!(
        t.accessed_dirty(gpa(0)),
        Err(EptError::NotMapped { gpa: gpa(0) })
    );
}

#[test]
fn which_operations_owe_an_invalidation() {
    let mut t = EptPageTable::new(CountingHost::new(), config(full_caps())).unwrap();
    let mut inv = Recorder::default();
    // Mapping where nothing was mapped needs none (not-present entries are not cached).
    t.map_region_guest(gpa(0), HostPhysAddr::new(0), 4 * M2, rw())
        .unwrap();
    t.map_guest(gpa(1 << 30), HostPhysAddr::new(0), PageSize::Size4K, rw())
        .unwrap();
    assert!(!t.needs_flush());
    assert_eq!(t.flush_pending(&mut inv), Ok(false));
    assert!(inv.calls.is_empty());
    // Queries and failed operations change nothing.
    let _ = t.query(gpa(0));
    assert!(t.unmap(gpa(1 << 40), K4).is_err());
    assert!(!t.needs_flush());

    let tok = t.unmap(gpa(0), K4).unwrap();
    assert!(t.needs_flush());
    t.flush(tok, &mut inv).unwrap();
    assert!(!t.needs_flush());
    let tok = t
        .protect(gpa(M2), K4, EptAttributes::write_back(EptFlags::R))
        .unwrap();
    let tok = tok.merge(t.unmap(gpa(2 * M2), M2).unwrap());
    t.flush(tok, &mut inv).unwrap();
    assert_eq!(inv.calls.len(), 2, "one INVEPT for the merged changes");
    // Single-context, with this table's EPTP and reserved bits 0.
    for (ty, raw) in &inv.calls {
        assert_eq!(*ty, InveptType::SingleContext);
        assert_eq!(*raw, [t.eptp().raw(), 0]);
    }
    // A token lost on the way (here dropped on purpose) is still flushed by flush_pending:
    // the table records the pending invalidation itself.
    drop(t.unmap(gpa(3 * M2), K4).unwrap());
    assert_eq!(t.flush_pending(&mut inv), Ok(true));
    assert_eq!(t.flush_pending(&mut inv), Ok(false));
    assert_eq!(inv.calls.len(), 3);
}

#[test]
fn failed_invept_keeps_the_invalidation_pending() {
    let mut t = EptPageTable::new(CountingHost::new(), config(full_caps())).unwrap();
    t.map_guest(gpa(0), HostPhysAddr::new(0), PageSize::Size4K, rw())
        .unwrap();
    let tok = t.unmap(gpa(0), K4).unwrap();
    let mut inv = Recorder {
        fail: true,
        ..Recorder::default()
    };
    assert_eq!(t.flush(tok, &mut inv), Err(FlushError::Invept("refused")));
    assert!(t.needs_flush());
    inv.fail = false;
    assert_eq!(t.flush_pending(&mut inv), Ok(true));
}

#[test]
fn all_context_when_single_context_is_missing() {
    let caps = full_caps() - EptVpidCap::INVEPT_SINGLE_CONTEXT;
    let mut t = EptPageTable::new(CountingHost::new(), config(caps)).unwrap();
    assert_eq!(t.invept_type(), Some(InveptType::AllContext));
    t.map_guest(gpa(0), HostPhysAddr::new(0), PageSize::Size4K, rw())
        .unwrap();
    let tok = t.unmap(gpa(0), K4).unwrap();
    let mut inv = Recorder::default();
    t.flush(tok, &mut inv).unwrap();
    assert_eq!(inv.calls, vec![(InveptType::AllContext, [0, 0])]);

    let caps = full_caps() - EptVpidCap::INVEPT_SINGLE_CONTEXT - EptVpidCap::INVEPT_ALL_CONTEXT;
    let mut t = EptPageTable::new(CountingHost::new(), config(caps)).unwrap();
    assert_eq!(t.invept_type(), None);
    t.map_guest(gpa(0), HostPhysAddr::new(0), PageSize::Size4K, rw())
        .unwrap();
    let tok = t.unmap(gpa(0), K4).unwrap();
    assert_eq!(
        t.flush(tok, &mut inv),
        Err(FlushError::Unsupported(Capability::Invept))
    );
    assert!(t.needs_flush());
}

#[test]
fn splitting_owes_an_invalidation_even_if_the_operation_fails() {
    let host = CountingHost::new();
    let mut t = EptPageTable::new(host.clone(), config(full_caps())).unwrap();
    t.map_guest(gpa(0), HostPhysAddr::new(0), PageSize::Size1G, rw())
        .unwrap();
    // The first split (1 GiB -> 2 MiB) succeeds, the second (2 MiB -> 4 KiB) runs out of
    // memory; the page-size change already happened.
    host.set_budget(Some(1));
    assert_eq!(
        t.unmap(gpa(K4), K4).map(|f| f.flush_in(&mut t)),
        Err(EptError::OutOfMemory)
    );
    assert!(t.needs_flush());
    assert_eq!(t.query(gpa(K4)).unwrap().size(), PageSize::Size2M);
}
