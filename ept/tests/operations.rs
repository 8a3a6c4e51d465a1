//! Unit tests of every operation and every error case.

mod common;

use common::{CountingHost, FlushIn, GuestMap, NoCpus, config, full_caps};
use ept::{
    AddrKind, Capability, EptAttributes, EptConfig, EptEntry, EptError, EptFlags, EptPageTable,
    FlagsError, GuestPhysAddr, HostPhysAddr, PageSize, PageWalkLength,
};
use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::memory_type::MemoryType;

const K4: u64 = 1 << 12;
const M2: u64 = 1 << 21;
const G1: u64 = 1 << 30;

fn gpa(a: u64) -> GuestPhysAddr {
    GuestPhysAddr::new(a)
}
fn hpa(a: u64) -> HostPhysAddr {
    HostPhysAddr::new(a)
}
fn wb(f: EptFlags) -> EptAttributes {
    EptAttributes::write_back(f)
}

fn table(caps: EptVpidCap) -> (EptPageTable<CountingHost>, CountingHost) {
    let host = CountingHost::new();
    (EptPageTable::new(host.clone(), config(caps)).unwrap(), host)
}

#[test]
fn map_query_translate_each_size() {
    let (mut t, host) = table(full_caps());
    t.map_guest(
        gpa(0x1000),
        hpa(0x5000),
        PageSize::Size4K,
        wb(EptFlags::RWX),
    )
    .unwrap();
    t.map_guest(gpa(4 * M2), hpa(8 * M2), PageSize::Size2M, wb(EptFlags::RW))
        .unwrap();
    t.map_guest(
        gpa(2 * G1),
        hpa(5 * G1),
        PageSize::Size1G,
        EptAttributes::uncacheable(EptFlags::R),
    )
    .unwrap();

    let m = t.query(gpa(0x1abc)).unwrap();
    assert_eq!(
        (m.gpa(), m.hpa(), m.size()),
        (gpa(0x1000), hpa(0x5000), PageSize::Size4K)
    );
    assert_eq!(m.attributes(), wb(EptFlags::RWX));
    assert_eq!(t.translate(gpa(0x1abc)).unwrap(), hpa(0x5abc));

    let m = t.query(gpa(4 * M2 + 0x12345)).unwrap();
    assert_eq!(
        (m.gpa(), m.hpa(), m.size()),
        (gpa(4 * M2), hpa(8 * M2), PageSize::Size2M)
    );
    assert_eq!(
        t.translate(gpa(4 * M2 + 0x12345)).unwrap(),
        hpa(8 * M2 + 0x12345)
    );

    let m = t.query(gpa(2 * G1 + 0x3456_7890)).unwrap();
    assert_eq!(
        (m.size(), m.attributes().memory_type),
        (PageSize::Size1G, MemoryType::UNCACHEABLE)
    );
    assert_eq!(
        t.translate(gpa(2 * G1 + 0x3456_7890)).unwrap(),
        hpa(5 * G1 + 0x3456_7890)
    );

    assert_eq!(
        t.query(gpa(0x2000)),
        Err(EptError::NotMapped { gpa: gpa(0x2000) })
    );
    // Root + PDPT(0) + PD(0) + PT(0); the 1-GiB page needs nothing more.
    assert_eq!(t.frames_used(), 4);
    assert_eq!(host.live(), 4);
    let all: Vec<_> = t.mappings().map(|m| (m.gpa().as_u64(), m.size())).collect();
    assert_eq!(
        all,
        vec![
            (0x1000, PageSize::Size4K),
            (4 * M2, PageSize::Size2M),
            (2 * G1, PageSize::Size1G)
        ]
    );
    drop(t);
    assert_eq!(host.live(), 0);
}

#[test]
fn entries_have_the_hardware_layout() {
    // Read the entries the processor would walk, through the host's memory.
    let (mut t, host) = table(full_caps());
    let attrs = EptAttributes::new(
        EptFlags::RW | EptFlags::IGNORE_PAT | EptFlags::SUPPRESS_VE,
        MemoryType::WRITE_THROUGH,
    );
    t.map_guest(
        gpa(0x20_0000),
        hpa(0x1234_0000_0000 & !0xfff | 0x4000_0000),
        PageSize::Size2M,
        attrs,
    )
    .unwrap();
    let eptp = t.eptp();
    assert_eq!(eptp.root(), t.root().as_u64());
    assert_eq!(eptp.walk_levels(), 4);
    assert_eq!(eptp.memory_type(), MemoryType::WRITE_BACK);
    let read = |a: u64, i: u64| host.entry(a, i);
    let pml4e = EptEntry(read(eptp.root(), 0));
    assert!(pml4e.read() && pml4e.write() && pml4e.execute() && !pml4e.page_size_bit());
    assert_eq!(
        pml4e.raw() & 0x78,
        0,
        "bits 6:3 reserved in non-leaf entries"
    );
    let pdpte = EptEntry(read(pml4e.addr().as_u64(), 0));
    assert!(!pdpte.page_size_bit());
    let pde = EptEntry(read(pdpte.addr().as_u64(), 1));
    assert!(pde.page_size_bit() && pde.read() && pde.write() && !pde.execute());
    assert!(pde.ignore_pat() && pde.suppress_ve() && !pde.accessed() && !pde.dirty());
    assert_eq!(pde.memory_type(), MemoryType::WRITE_THROUGH);
    assert_eq!(pde.frame(PageSize::Size2M), hpa(0x1234_4000_0000));
    assert_eq!(
        pde.decode(2, false),
        Some(ept::DecodedEntry::Page {
            frame: hpa(0x1234_4000_0000),
            size: PageSize::Size2M,
            attributes: attrs
        })
    );
}

#[test]
fn five_level_addresses_above_2_pow_48() {
    let c = config(full_caps())
        .with_walk_length(PageWalkLength::Five)
        .unwrap();
    let host = CountingHost::new();
    let mut t = EptPageTable::new(host.clone(), c).unwrap();
    assert_eq!(t.guest_address_width(), 57);
    assert_eq!(t.eptp().walk_levels(), 5);
    let high = (1u64 << 56) + 3 * G1 + 5 * K4;
    t.map_guest(gpa(high), hpa(0x7000), PageSize::Size4K, wb(EptFlags::RWX))
        .unwrap();
    t.map_guest(gpa(1 << 48), hpa(G1), PageSize::Size1G, wb(EptFlags::RWX))
        .unwrap();
    assert_eq!(t.translate(gpa(high + 0x10)).unwrap(), hpa(0x7010));
    assert_eq!(t.translate(gpa((1 << 48) + 0x10)).unwrap(), hpa(G1 + 0x10));
    assert_eq!(
        t.map_guest(gpa(1 << 57), hpa(0), PageSize::Size4K, wb(EptFlags::R)),
        Err(EptError::BeyondWalkLength {
            gpa: gpa(1 << 57),
            width: 57
        })
    );
    t.unmap(gpa(high), K4).unwrap().flush_in(&mut t);
    t.unmap(gpa(1 << 48), G1).unwrap().flush_in(&mut t);
    assert_eq!(t.frames_used(), 1);
    drop(t);
    assert_eq!(host.live(), 0);
}

#[test]
fn four_level_rejects_addresses_at_2_pow_48() {
    let (mut t, _h) = table(full_caps());
    assert_eq!(
        t.map_guest(gpa(1 << 48), hpa(0), PageSize::Size4K, wb(EptFlags::R)),
        Err(EptError::BeyondWalkLength {
            gpa: gpa(1 << 48),
            width: 48
        })
    );
    assert_eq!(
        t.query(gpa(1 << 48)),
        Err(EptError::BeyondWalkLength {
            gpa: gpa(1 << 48),
            width: 48
        })
    );
    assert_eq!(
        t.map_region_guest(gpa((1 << 48) - K4), hpa(0), 2 * K4, wb(EptFlags::R)),
        Err(EptError::BeyondWalkLength {
            gpa: gpa(1 << 48),
            width: 48
        })
    );
}

#[test]
fn map_region_picks_largest_pages() {
    let (mut t, host) = table(full_caps());
    // 4 KiB up to a 2-MiB boundary, 2-MiB pages up to 1 GiB, one 1-GiB page, then tail.
    let start = G1 - 2 * M2 - 2 * K4;
    let len = 2 * K4 + 2 * M2 + G1 + M2 + K4;
    t.map_region_guest(gpa(start), hpa(start + 16 * G1), len, wb(EptFlags::RWX))
        .unwrap();
    let sizes: Vec<_> = t.mappings().map(|m| m.size()).collect();
    let mut want = vec![PageSize::Size4K; 2];
    want.extend([PageSize::Size2M; 2]);
    want.push(PageSize::Size1G);
    want.push(PageSize::Size2M);
    want.push(PageSize::Size4K);
    assert_eq!(sizes, want);
    for m in t.mappings() {
        assert_eq!(m.hpa().as_u64(), m.gpa().as_u64() + 16 * G1);
    }
    // Host and guest alignment differ: only 4-KiB pages fit.
    let (mut t2, _h2) = table(full_caps());
    t2.map_region_guest(gpa(0), hpa(K4), 4 * K4, wb(EptFlags::R))
        .unwrap();
    assert!(t2.mappings().all(|m| m.size() == PageSize::Size4K));
    // 4 GiB with 1-GiB pages: root and one PDPT.
    let (mut t3, _h3) = table(full_caps());
    t3.map_region_guest(gpa(0), hpa(0), 4 * G1, wb(EptFlags::RWX))
        .unwrap();
    assert_eq!(t3.frames_used(), 2);
    drop(t);
    assert_eq!(host.live(), 0);
}

#[test]
fn large_pages_only_with_capability() {
    let caps = full_caps() - EptVpidCap::PAGE_1G;
    let (mut t, _h) = table(caps);
    assert_eq!(
        t.map_guest(gpa(0), hpa(0), PageSize::Size1G, wb(EptFlags::R)),
        Err(EptError::PageSizeUnsupported(PageSize::Size1G))
    );
    t.map_region_guest(gpa(0), hpa(0), G1, wb(EptFlags::R))
        .unwrap();
    assert!(t.mappings().all(|m| m.size() == PageSize::Size2M));
    let caps = full_caps() - EptVpidCap::PAGE_2M;
    let (mut t, _h) = table(caps);
    assert_eq!(
        t.map_guest(gpa(0), hpa(0), PageSize::Size2M, wb(EptFlags::R)),
        Err(EptError::PageSizeUnsupported(PageSize::Size2M))
    );
    // 1 GiB without 2 MiB is not used (a 1-GiB page could not be split).
    assert_eq!(
        t.map_guest(gpa(0), hpa(0), PageSize::Size1G, wb(EptFlags::R)),
        Err(EptError::PageSizeUnsupported(PageSize::Size1G))
    );
}

#[test]
fn unmap_part_of_large_pages_splits_and_keeps_the_rest() {
    let (mut t, host) = table(full_caps());
    let attrs = EptAttributes::new(
        EptFlags::RX | EptFlags::SUPPRESS_VE,
        MemoryType::WRITE_PROTECTED,
    );
    t.map_guest(gpa(G1), hpa(7 * G1), PageSize::Size1G, attrs)
        .unwrap();
    let hole = G1 + 5 * M2 + 3 * K4;
    t.unmap(gpa(hole), K4).unwrap().flush_in(&mut t);
    assert_eq!(
        t.query(gpa(hole)),
        Err(EptError::NotMapped { gpa: gpa(hole) })
    );
    let pages: Vec<_> = t.mappings().collect();
    // 511 2-MiB pages and 511 4-KiB pages remain.
    assert_eq!(
        pages
            .iter()
            .filter(|m| m.size() == PageSize::Size2M)
            .count(),
        511
    );
    assert_eq!(
        pages
            .iter()
            .filter(|m| m.size() == PageSize::Size4K)
            .count(),
        511
    );
    for m in &pages {
        assert_eq!(m.hpa().as_u64(), m.gpa().as_u64() + 6 * G1);
        assert_eq!(m.attributes(), attrs);
    }
    // Root, PDPT, new PD, new PT.
    assert_eq!(t.frames_used(), 4);
    // Unmapping the rest frees every structure but the root.
    t.unmap(gpa(G1), hole - G1).unwrap().flush_in(&mut t);
    t.unmap(gpa(hole + K4), 2 * G1 - hole - K4)
        .unwrap()
        .flush_in(&mut t);
    assert_eq!(t.mappings().count(), 0);
    assert_eq!(t.frames_used(), 1);
    assert_eq!(host.live(), 1);
}

#[test]
fn protect_part_of_large_page() {
    let (mut t, _h) = table(full_caps());
    t.map_guest(gpa(0), hpa(M2), PageSize::Size2M, wb(EptFlags::RWX))
        .unwrap();
    t.protect(gpa(4 * K4), 2 * K4, wb(EptFlags::R))
        .unwrap()
        .flush_in(&mut t);
    assert_eq!(t.query(gpa(4 * K4)).unwrap().attributes(), wb(EptFlags::R));
    assert_eq!(t.query(gpa(5 * K4)).unwrap().attributes(), wb(EptFlags::R));
    assert_eq!(
        t.query(gpa(6 * K4)).unwrap().attributes(),
        wb(EptFlags::RWX)
    );
    assert_eq!(
        t.query(gpa(3 * K4)).unwrap().attributes(),
        wb(EptFlags::RWX)
    );
    assert_eq!(t.translate(gpa(5 * K4 + 7)).unwrap(), hpa(M2 + 5 * K4 + 7));
    // A whole large page keeps its size.
    t.map_guest(
        gpa(2 * M2),
        hpa(2 * M2),
        PageSize::Size2M,
        wb(EptFlags::RWX),
    )
    .unwrap();
    t.protect(gpa(2 * M2), M2, EptAttributes::uncacheable(EptFlags::RW))
        .unwrap()
        .flush_in(&mut t);
    let m = t.query(gpa(2 * M2)).unwrap();
    assert_eq!(
        (m.size(), m.attributes()),
        (PageSize::Size2M, EptAttributes::uncacheable(EptFlags::RW))
    );
}

#[test]
fn already_mapped() {
    let (mut t, _h) = table(full_caps());
    t.map_guest(gpa(M2), hpa(0), PageSize::Size2M, wb(EptFlags::R))
        .unwrap();
    // 4 KiB inside a 2-MiB page, a 2-MiB page over it, a 1-GiB page over it.
    assert_eq!(
        t.map_guest(gpa(M2 + K4), hpa(0), PageSize::Size4K, wb(EptFlags::R)),
        Err(EptError::AlreadyMapped { gpa: gpa(M2 + K4) })
    );
    assert_eq!(
        t.map_guest(gpa(M2), hpa(0), PageSize::Size2M, wb(EptFlags::R)),
        Err(EptError::AlreadyMapped { gpa: gpa(M2) })
    );
    assert_eq!(
        t.map_guest(gpa(0), hpa(0), PageSize::Size1G, wb(EptFlags::R)),
        Err(EptError::AlreadyMapped { gpa: gpa(0) })
    );
    // map_region is all-or-nothing.
    let frames = t.frames_used();
    assert!(matches!(
        t.map_region_guest(gpa(0), hpa(0), 2 * M2, wb(EptFlags::R)),
        Err(EptError::AlreadyMapped { .. })
    ));
    assert_eq!(t.mappings().count(), 1);
    assert_eq!(t.frames_used(), frames);
    t.map_guest(gpa(K4), hpa(0), PageSize::Size4K, wb(EptFlags::R))
        .unwrap();
    assert_eq!(
        t.map_guest(gpa(K4), hpa(0), PageSize::Size4K, wb(EptFlags::R)),
        Err(EptError::AlreadyMapped { gpa: gpa(K4) })
    );
}

#[test]
fn not_mapped() {
    let (mut t, _h) = table(full_caps());
    assert_eq!(
        t.unmap(gpa(0), K4).map(|f| f.flush_in(&mut t)),
        Err(EptError::NotMapped { gpa: gpa(0) })
    );
    t.map_region_guest(gpa(0), hpa(0), 4 * K4, wb(EptFlags::R))
        .unwrap();
    assert_eq!(
        t.unmap(gpa(0), 8 * K4).map(|f| f.flush_in(&mut t)),
        Err(EptError::NotMapped { gpa: gpa(4 * K4) })
    );
    // Nothing changed.
    assert_eq!(t.mappings().count(), 4);
    assert_eq!(
        t.protect(gpa(2 * K4), 4 * K4, wb(EptFlags::RW))
            .map(|f| f.flush_in(&mut t)),
        Err(EptError::NotMapped { gpa: gpa(4 * K4) })
    );
    assert!(t.mappings().all(|m| m.attributes() == wb(EptFlags::R)));
    assert_eq!(t.query(gpa(G1)), Err(EptError::NotMapped { gpa: gpa(G1) }));
    assert_eq!(
        t.translate(gpa(G1)),
        Err(EptError::NotMapped { gpa: gpa(G1) })
    );
}

#[test]
fn misaligned() {
    let (mut t, _h) = table(full_caps());
    let r = wb(EptFlags::R);
    assert_eq!(
        t.map_guest(gpa(K4), hpa(0), PageSize::Size2M, r),
        Err(EptError::Misaligned {
            kind: AddrKind::GuestPhys,
            value: K4,
            alignment: M2
        })
    );
    assert_eq!(
        t.map_guest(gpa(0), hpa(M2), PageSize::Size1G, r),
        Err(EptError::Misaligned {
            kind: AddrKind::HostPhys,
            value: M2,
            alignment: G1
        })
    );
    assert_eq!(
        t.map_guest(gpa(0x10), hpa(0), PageSize::Size4K, r),
        Err(EptError::Misaligned {
            kind: AddrKind::GuestPhys,
            value: 0x10,
            alignment: K4
        })
    );
    assert_eq!(
        t.map_region_guest(gpa(0), hpa(0), 0x1800, r),
        Err(EptError::Misaligned {
            kind: AddrKind::Length,
            value: 0x1800,
            alignment: K4
        })
    );
    assert_eq!(
        t.map_region_guest(gpa(0), hpa(0x800), K4, r),
        Err(EptError::Misaligned {
            kind: AddrKind::HostPhys,
            value: 0x800,
            alignment: K4
        })
    );
    assert_eq!(
        t.unmap(gpa(0x800), K4).map(|f| f.flush_in(&mut t)),
        Err(EptError::Misaligned {
            kind: AddrKind::GuestPhys,
            value: 0x800,
            alignment: K4
        })
    );
}

#[test]
fn invalid_ranges() {
    let (mut t, _h) = table(full_caps());
    let r = wb(EptFlags::R);
    assert_eq!(
        t.map_region_guest(gpa(0), hpa(0), 0, r),
        Err(EptError::InvalidRange {
            gpa: gpa(0),
            len: 0
        })
    );
    assert_eq!(
        t.unmap(gpa(K4), !0xfffu64).map(|f| f.flush_in(&mut t)),
        Err(EptError::InvalidRange {
            gpa: gpa(K4),
            len: !0xfffu64
        })
    );
    assert_eq!(
        t.protect(gpa(0), 0, r).map(|f| f.flush_in(&mut t)),
        Err(EptError::InvalidRange {
            gpa: gpa(0),
            len: 0
        })
    );
}

#[test]
fn host_address_width() {
    let host = CountingHost::new();
    let mut t = EptPageTable::new(host, EptConfig::new(full_caps(), 47).unwrap()).unwrap();
    let r = wb(EptFlags::R);
    assert_eq!(
        t.map_guest(gpa(0), hpa(1 << 47), PageSize::Size4K, r),
        Err(EptError::BeyondPhysAddrWidth {
            hpa: hpa(1 << 47),
            width: 47
        })
    );
    assert_eq!(
        t.map_region_guest(gpa(0), hpa((1 << 47) - K4), 2 * K4, r),
        Err(EptError::BeyondPhysAddrWidth {
            hpa: hpa(1 << 47),
            width: 47
        })
    );
    t.map_guest(gpa(0), hpa((1 << 47) - K4), PageSize::Size4K, r)
        .unwrap();
    assert_eq!(
        EptConfig::new(full_caps(), 35),
        Err(EptError::InvalidPhysAddrWidth(35))
    );
    assert_eq!(
        EptConfig::new(full_caps(), 53),
        Err(EptError::InvalidPhysAddrWidth(53))
    );
}

#[test]
fn invalid_flags() {
    let (mut t, _h) = table(full_caps());
    let map = |t: &mut EptPageTable<CountingHost>, a: EptAttributes| {
        t.map_guest(gpa(0), hpa(0), PageSize::Size4K, a)
    };
    assert_eq!(
        map(&mut t, wb(EptFlags::WRITE)),
        Err(EptError::InvalidFlags(FlagsError::WriteWithoutRead))
    );
    assert_eq!(
        map(&mut t, wb(EptFlags::WRITE | EptFlags::EXECUTE)),
        Err(EptError::InvalidFlags(FlagsError::WriteWithoutRead))
    );
    assert_eq!(
        map(&mut t, wb(EptFlags::empty())),
        Err(EptError::InvalidFlags(FlagsError::NoAccess))
    );
    // User-execute alone is not present without mode-based execute control.
    assert_eq!(
        map(&mut t, wb(EptFlags::USER_EXECUTE)),
        Err(EptError::InvalidFlags(FlagsError::NoAccess))
    );
    assert_eq!(
        map(&mut t, wb(EptFlags::R | EptFlags::PAGE_SIZE)),
        Err(EptError::InvalidFlags(FlagsError::TableManaged(
            EptFlags::PAGE_SIZE
        )))
    );
    // Bits that are not flags (an address bit, an ignored bit) are refused, also on the
    // fast path for a cached page table.
    t.map_guest(gpa(0x3000), hpa(0), PageSize::Size4K, wb(EptFlags::R))
        .unwrap();
    for bits in [1u64 << 40 | 1, 1 << 52 | 1, 1 << 11 | 1] {
        assert_eq!(
            map(&mut t, wb(EptFlags::from_bits_retain(bits))),
            Err(EptError::InvalidFlags(FlagsError::Undefined(bits & !1)))
        );
    }
    for mt in [2u8, 3, 7, 8, 0xff] {
        assert_eq!(
            map(&mut t, EptAttributes::new(EptFlags::R, MemoryType(mt))),
            Err(EptError::InvalidFlags(FlagsError::ReservedMemoryType(
                MemoryType(mt)
            )))
        );
    }
    assert_eq!(
        t.map_guest(
            gpa(0),
            hpa(0),
            PageSize::Size2M,
            wb(EptFlags::RW | EptFlags::SUB_PAGE_WRITE_PERMISSIONS)
        ),
        Err(EptError::InvalidFlags(FlagsError::SubPageWriteOnLargePage))
    );
    t.map_guest(gpa(M2), hpa(0), PageSize::Size2M, wb(EptFlags::RW))
        .unwrap();
    assert_eq!(
        t.protect(
            gpa(M2),
            M2,
            wb(EptFlags::RW | EptFlags::SUB_PAGE_WRITE_PERMISSIONS)
        )
        .map(|f| f.flush_in(&mut t)),
        Err(EptError::InvalidFlags(FlagsError::SubPageWriteOnLargePage))
    );
    // map_region with sub-page permissions uses 4-KiB pages only.
    t.map_region_guest(
        gpa(G1),
        hpa(0),
        M2,
        wb(EptFlags::RW | EptFlags::SUB_PAGE_WRITE_PERMISSIONS),
    )
    .unwrap();
    assert_eq!(t.query(gpa(G1)).unwrap().size(), PageSize::Size4K);
    assert_eq!(
        t.protect(gpa(0), K4, wb(EptFlags::WRITE))
            .map(|f| f.flush_in(&mut t)),
        Err(EptError::InvalidFlags(FlagsError::WriteWithoutRead))
    );
}

#[test]
fn execute_only_needs_capability() {
    let (mut t, _h) = table(full_caps() - EptVpidCap::EXECUTE_ONLY);
    assert_eq!(
        t.map_guest(gpa(0), hpa(0), PageSize::Size4K, wb(EptFlags::EXECUTE)),
        Err(EptError::CapabilityMissing(Capability::ExecuteOnly))
    );
    let (mut t, _h) = table(full_caps());
    t.map_guest(gpa(0), hpa(0), PageSize::Size4K, wb(EptFlags::EXECUTE))
        .unwrap();
    // With mode-based execute control, user-execute alone is an execute-only mapping.
    let c = config(full_caps()).with_mode_based_execute(true);
    let mut t = EptPageTable::new(CountingHost::new(), c).unwrap();
    t.map_guest(gpa(0), hpa(0), PageSize::Size4K, wb(EptFlags::USER_EXECUTE))
        .unwrap();
    let c = config(full_caps() - EptVpidCap::EXECUTE_ONLY).with_mode_based_execute(true);
    let mut t = EptPageTable::new(CountingHost::new(), c).unwrap();
    assert_eq!(
        t.map_guest(gpa(0), hpa(0), PageSize::Size4K, wb(EptFlags::USER_EXECUTE)),
        Err(EptError::CapabilityMissing(Capability::ExecuteOnly))
    );
}

#[test]
fn configuration_capabilities() {
    let none = EptVpidCap::empty();
    assert_eq!(
        EptConfig::new(none, 48),
        Err(EptError::CapabilityMissing(Capability::PageWalk4))
    );
    assert_eq!(
        EptConfig::new(EptVpidCap::PAGE_WALK_4, 48),
        Err(EptError::CapabilityMissing(Capability::MemoryTypeWb))
    );
    let minimal = EptVpidCap::PAGE_WALK_4 | EptVpidCap::MEMORY_TYPE_UC;
    let c = EptConfig::new(minimal, 48).unwrap();
    assert_eq!(c.structure_memory_type(), MemoryType::UNCACHEABLE);
    assert_eq!(
        c.with_walk_length(PageWalkLength::Five),
        Err(EptError::CapabilityMissing(Capability::PageWalk5))
    );
    assert_eq!(
        c.with_accessed_dirty(true),
        Err(EptError::CapabilityMissing(Capability::AccessedDirty))
    );
    assert_eq!(
        c.with_supervisor_shadow_stack(true),
        Err(EptError::CapabilityMissing(
            Capability::SupervisorShadowStack
        ))
    );
    assert_eq!(
        c.with_structure_memory_type(MemoryType::WRITE_BACK),
        Err(EptError::CapabilityMissing(Capability::MemoryTypeWb))
    );
    assert_eq!(
        c.with_structure_memory_type(MemoryType::WRITE_THROUGH),
        Err(EptError::InvalidFlags(FlagsError::ReservedMemoryType(
            MemoryType::WRITE_THROUGH
        )))
    );
    // Only a 5-level walk: that is the default.
    let five = EptVpidCap::PAGE_WALK_5 | EptVpidCap::MEMORY_TYPE_WB;
    assert_eq!(
        EptConfig::new(five, 48).unwrap().walk_length(),
        PageWalkLength::Five
    );
    // The EPTP reflects the configuration.
    let c = config(full_caps())
        .with_accessed_dirty(true)
        .unwrap()
        .with_supervisor_shadow_stack(true)
        .unwrap();
    let t = EptPageTable::new(CountingHost::new(), c).unwrap();
    let e = t.eptp();
    assert!(e.accessed_dirty() && e.supervisor_shadow_stack());
    assert_eq!(e.raw() & 0xfff, 6 | 3 << 3 | 1 << 6 | 1 << 7);
    assert_eq!(e.check(full_caps(), 52), Ok(()));
}

#[test]
fn out_of_memory_and_bad_frames() {
    let host = CountingHost::new();
    host.set_budget(Some(0));
    assert_eq!(
        EptPageTable::new(host.clone(), config(full_caps())).err(),
        Some(EptError::OutOfMemory)
    );
    host.set_budget(Some(2));
    let mut t = EptPageTable::new(host.clone(), config(full_caps())).unwrap();
    // Needs PDPT, PD and PT: only one more frame is available.
    assert_eq!(
        t.map_guest(gpa(0), hpa(0), PageSize::Size4K, wb(EptFlags::R)),
        Err(EptError::OutOfMemory)
    );
    assert_eq!(t.frames_used(), 1, "the partial path was released");
    // The PDPT created on the way was linked for a moment: a processor may have cached
    // the PML4E naming it even though it maps nothing (SDM Vol. 3A §4.10.3.1, which EPT
    // follows per Vol. 3C §29.4.2), so it is retired and owes an invalidation.
    assert_eq!(t.frames_retired(), 1);
    assert!(t.needs_flush());
    assert_eq!(host.live(), 2);
    t.flush_pending(&mut NoCpus::default()).unwrap();
    assert_eq!(host.live(), 1);
    host.set_budget(None);
    t.map_guest(gpa(G1), hpa(0), PageSize::Size1G, wb(EptFlags::R))
        .unwrap();
    host.set_budget(Some(0));
    // Splitting needs a frame: nothing changes.
    assert_eq!(
        t.unmap(gpa(G1), K4).map(|f| f.flush_in(&mut t)),
        Err(EptError::OutOfMemory)
    );
    assert_eq!(t.query(gpa(G1)).unwrap().size(), PageSize::Size1G);
    host.set_budget(None);
    drop(t);
    assert_eq!(host.live(), 0);

    // A misaligned frame or one beyond MAXPHYADDR is refused and given back.
    for bogus in [0x1234u64, 1 << 52] {
        let host = CountingHost::new();
        host.frames().bogus = Some(bogus);
        assert_eq!(
            EptPageTable::new(host.clone(), config(full_caps())).err(),
            Some(EptError::InvalidFrame(hpa(bogus)))
        );
        assert_eq!(host.live(), 0);
    }
}

#[test]
fn tables_left_empty_are_freed() {
    let (mut t, host) = table(full_caps());
    for i in 0..1024 {
        t.map_guest(gpa(i * K4), hpa(i * K4), PageSize::Size4K, wb(EptFlags::RW))
            .unwrap();
    }
    assert_eq!(t.frames_used(), 5);
    for i in 0..511 {
        t.unmap(gpa(i * K4), K4).unwrap().flush_in(&mut t);
    }
    // The last unmap empties the page table: it is unlinked at once but retired, held
    // until the flush (SDM Vol. 3C §29.4.3.1), and then given back zeroed.
    let pt = host.structures(&t);
    let tok = t.unmap(gpa(511 * K4), K4).unwrap();
    assert_eq!(t.frames_used(), 4);
    assert_eq!(t.frames_retired(), 1);
    assert_eq!(host.live(), 5);
    let retired: Vec<u64> = pt.difference(&host.structures(&t)).copied().collect();
    assert_eq!(retired.len(), 1);
    // A stale walk through the retired frame reads not-present entries only.
    for i in 0..512 {
        assert_eq!(host.entry(retired[0], i) & 0b100_0000_0111, 0);
    }
    host.frames().check_covered = true;
    host.flush_covers(&t);
    tok.flush_in(&mut t);
    assert_eq!(t.frames_retired(), 0);
    assert_eq!(host.live(), 4);
    assert_eq!(host.frames().freed_log, retired);
    host.frames().check_covered = false;
    t.unmap(gpa(M2), M2).unwrap().flush_in(&mut t);
    assert_eq!(t.frames_used(), 1);
    assert_eq!(host.live(), 1);
    assert!(!t.is_any_mapped(gpa(0), G1).unwrap());
}
