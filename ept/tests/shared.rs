//! The `Ept` / `EptUser` generation protocol: edits that owe an invalidation make every
//! user synchronise, retired frames are held until all have, and users come and go.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::{CountingHost, GuestMap, NoCpus, config, full_caps};
use ept::{
    AttachError, Ept, EptAttributes, EptFlags, EptPageTable, EptUser, FlushError, GuestPhysAddr,
    HostPhysAddr, InveptType, PageSize, USER_SLOTS,
};

const K4: u64 = 1 << 12;

fn gpa(a: u64) -> GuestPhysAddr {
    GuestPhysAddr::new(a)
}

fn shared() -> (Ept<CountingHost>, CountingHost) {
    let host = CountingHost::new();
    let mut t = EptPageTable::new(host.clone(), config(full_caps())).unwrap();
    // Two page tables' worth of 4-KiB pages in two 1-GiB regions, so that unmapping one
    // region retires its PDPT entry's PD and PT.
    for i in 0..4 {
        t.map_guest(
            gpa(i * K4),
            HostPhysAddr::new(i * K4),
            PageSize::Size4K,
            EptAttributes::write_back(EptFlags::RW),
        )
        .unwrap();
        t.map_guest(
            gpa((1 << 30) + i * K4),
            HostPhysAddr::new(i * K4),
            PageSize::Size4K,
            EptAttributes::write_back(EptFlags::RW),
        )
        .unwrap();
    }
    (Ept::new(t), host)
}

/// Unmaps the second 1-GiB region: retires its PD and PT.
fn unmap_second_region(ept: &Ept<CountingHost>) {
    let mut edit = ept.edit();
    let tok = edit.unmap(gpa(1 << 30), 4 * K4).unwrap();
    assert_eq!(edit.frames_retired(), 2);
    edit.commit(tok);
}

#[test]
fn a_new_user_must_sync_before_its_first_entry() {
    let (ept, _host) = shared();
    let user = ept.attach().unwrap();
    assert!(user.needs_sync());
    assert_eq!(user.synced_generation(), 0);
    assert_eq!(user.eptp(), ept.eptp());
    let mut inv = NoCpus::default();
    user.sync(&mut inv).unwrap();
    assert!(!user.needs_sync());
    assert_eq!(
        inv.calls,
        vec![(InveptType::SingleContext, [ept.eptp().raw(), 0])]
    );
    assert_eq!(user.synced_generation(), ept.generation());
}

#[test]
fn edits_that_owe_an_invalidation_make_every_user_sync() {
    let (ept, _host) = shared();
    let users: Vec<EptUser<'_>> = (0..3).map(|_| ept.attach().unwrap()).collect();
    let mut inv = NoCpus::default();
    for u in &users {
        u.sync(&mut inv).unwrap();
        assert!(!u.needs_sync());
    }
    // A map where nothing was mapped owes nothing: no user needs to sync.
    let g0 = ept.generation();
    {
        let mut edit = ept.edit();
        edit.map_guest(
            gpa(100 * K4),
            HostPhysAddr::new(0),
            PageSize::Size4K,
            EptAttributes::write_back(EptFlags::R),
        )
        .unwrap();
    }
    assert_eq!(ept.generation(), g0);
    assert!(users.iter().all(|u| !u.needs_sync()));
    // A protect does.
    {
        let mut edit = ept.edit();
        let tok = edit
            .protect(gpa(0), K4, EptAttributes::write_back(EptFlags::R))
            .unwrap();
        edit.commit(tok);
    }
    assert_eq!(ept.generation(), g0 + 1);
    assert!(users.iter().all(|u| u.needs_sync()));
    assert!(!ept.synced(g0 + 1));
    for (i, u) in users.iter().enumerate() {
        assert!(!ept.synced(g0 + 1), "user {i} not yet synced");
        u.sync(&mut inv).unwrap();
        assert!(!u.needs_sync());
    }
    assert!(ept.synced(g0 + 1));
}

#[test]
fn retired_frames_are_held_until_every_user_has_synced() {
    let (ept, host) = shared();
    let a = ept.attach().unwrap();
    let b = ept.attach().unwrap();
    let mut inv = NoCpus::default();
    a.sync(&mut inv).unwrap();
    b.sync(&mut inv).unwrap();
    let live = host.live();
    unmap_second_region(&ept);
    assert_eq!(ept.frames_held(), 2);
    assert_eq!(host.live(), live, "held, not given back");
    a.sync(&mut inv).unwrap();
    assert_eq!(ept.reclaim(), 0, "b has not synced");
    assert_eq!(ept.frames_held(), 2);
    b.sync(&mut inv).unwrap();
    assert_eq!(ept.reclaim(), 2);
    assert_eq!(ept.frames_held(), 0);
    assert_eq!(host.live(), live - 2);
}

#[test]
fn frames_are_released_on_the_next_edit_too() {
    let (ept, host) = shared();
    let a = ept.attach().unwrap();
    let mut inv = NoCpus::default();
    unmap_second_region(&ept);
    let live = host.live();
    a.sync(&mut inv).unwrap();
    drop(ept.edit());
    assert_eq!(host.live(), live - 2);
}

#[test]
fn dropping_a_user_releases_its_hold() {
    let (ept, host) = shared();
    let a = ept.attach().unwrap();
    let b = ept.attach().unwrap();
    let mut inv = NoCpus::default();
    a.sync(&mut inv).unwrap();
    unmap_second_region(&ept);
    a.sync(&mut inv).unwrap();
    let live = host.live();
    assert_eq!(ept.users(), 2);
    drop(b);
    assert_eq!(ept.users(), 1);
    assert_eq!(ept.reclaim(), 2);
    assert_eq!(host.live(), live - 2);
}

#[test]
fn with_no_user_attached_frames_go_back_at_once() {
    let (ept, host) = shared();
    let live = host.live();
    unmap_second_region(&ept);
    assert_eq!(ept.frames_held(), 0);
    assert_eq!(host.live(), live - 2);
    // A user attaching afterwards still starts unsynchronised.
    let u = ept.attach().unwrap();
    assert!(u.needs_sync());
}

#[test]
fn a_migrated_user_syncs_again_and_holds_frames_meanwhile() {
    let (ept, host) = shared();
    let u = ept.attach().unwrap();
    let mut inv = NoCpus::default();
    u.sync(&mut inv).unwrap();
    u.migrated();
    assert!(u.needs_sync());
    unmap_second_region(&ept);
    let live = host.live();
    assert_eq!(ept.reclaim(), 0);
    u.sync(&mut inv).unwrap();
    assert!(!u.needs_sync());
    assert_eq!(ept.reclaim(), 2);
    assert_eq!(host.live(), live - 2);
}

#[test]
fn a_failed_sync_publishes_nothing() {
    let (ept, _host) = shared();
    let u = ept.attach().unwrap();
    let mut inv = NoCpus {
        fail: true,
        ..NoCpus::default()
    };
    assert_eq!(u.sync(&mut inv), Err(FlushError::Invept("refused")));
    assert!(u.needs_sync());
    assert_eq!(u.synced_generation(), 0);

    // Without any INVEPT type the user cannot sync either.
    let caps = full_caps()
        - vmx_defs::capabilities::EptVpidCap::INVEPT_SINGLE_CONTEXT
        - vmx_defs::capabilities::EptVpidCap::INVEPT_ALL_CONTEXT;
    let t = EptPageTable::new(CountingHost::new(), config(caps)).unwrap();
    let ept = Ept::new(t);
    assert_eq!(ept.invept_type(), None);
    let u = ept.attach().unwrap();
    assert_eq!(
        u.sync(&mut NoCpus::default()),
        Err(FlushError::Unsupported(ept::Capability::Invept))
    );
}

#[test]
fn attach_beyond_the_slot_count_is_a_typed_error() {
    let (ept, _host) = shared();
    let users: Vec<EptUser<'_>> = (0..USER_SLOTS).map(|_| ept.attach().unwrap()).collect();
    let err = ept.attach().unwrap_err();
    assert_eq!(err, AttachError::AllSlotsTaken);
    assert!(err.to_string().contains("64"));
    drop(users);
    assert!(ept.attach().is_ok());
}

#[test]
fn dropping_the_ept_gives_everything_back() {
    let (ept, host) = shared();
    let u = ept.attach().unwrap();
    unmap_second_region(&ept);
    assert_eq!(ept.frames_held(), 2);
    drop(u);
    drop(ept);
    assert_eq!(host.live(), 0);
}

#[test]
fn auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<EptUser<'static>>();
    send::<Ept<CountingHost>>();
    sync::<Ept<CountingHost>>();
}

/// A vCPU thread entering and syncing while an editor thread unmaps and maps: frames are
/// given back only after the vCPU synced past the edit that retired them (the host checks
/// that nothing it hands out is still a held structure).
#[test]
fn concurrent_vcpu_and_editor() {
    let (ept, host) = shared();
    let stop = AtomicBool::new(false);
    let rounds = if cfg!(miri) { 4 } else { 200 };
    std::thread::scope(|s| {
        let user = ept.attach().unwrap();
        let vcpu = s.spawn(|| {
            let user = user;
            let mut inv = NoCpus::default();
            let mut entries = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if user.needs_sync() {
                    user.sync(&mut inv).unwrap();
                }
                entries += 1;
                std::thread::yield_now();
            }
            user.sync(&mut inv).unwrap();
            entries
        });
        for round in 0..rounds {
            let mut edit = ept.edit();
            let g = gpa((2 << 30) + (round % 3) * (1 << 21));
            edit.map_guest(
                g,
                HostPhysAddr::new(0),
                PageSize::Size4K,
                EptAttributes::write_back(EptFlags::R),
            )
            .unwrap();
            let tok = edit.unmap(g, K4).unwrap();
            edit.commit(tok);
            drop(edit);
            if round % 10 == 0 {
                // Let the vCPU catch up now and then, so that frames are released while
                // it runs, not only at the end.
                let generation = ept.generation();
                while !ept.synced(generation) {
                    std::thread::yield_now();
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        assert!(vcpu.join().unwrap() > 0);
    });
    // The vCPU synced last after every edit and detached: everything can go back.
    ept.reclaim();
    assert_eq!(ept.frames_held(), 0);
    let used = ept.edit().frames_used();
    assert_eq!(host.live(), used);
}
