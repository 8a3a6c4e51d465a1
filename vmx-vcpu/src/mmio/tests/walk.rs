//! The walker: one test per paging mode and rights rule (SDM Vol. 3A ch. 4), a model test
//! over random page tables, totality.

extern crate std;

use proptest::prelude::*;

use super::super::walk::*;
use super::{Memory, Unmapped};

const PG: u64 = CR0_PG;
const P: u64 = 1;
const RW: u64 = 2;
const US: u64 = 4;
const PS: u64 = 0x80;
const XD: u64 = 1 << 63;

fn read(cpl: u8) -> Access {
    Access::new(AccessKind::Read, cpl)
}
fn write(cpl: u8) -> Access {
    Access::new(AccessKind::Write, cpl)
}
fn fetch(cpl: u8) -> Access {
    Access::new(AccessKind::Execute, cpl)
}

fn gpa(r: Result<Translation, WalkError<Unmapped>>) -> u64 {
    r.map(|t| t.gpa.as_u64()).unwrap_or(u64::MAX)
}

fn pf(address: u64, error_code: u32) -> Result<Translation, WalkError<Unmapped>> {
    Err(WalkError::PageFault(PageFault {
        address,
        error_code,
    }))
}

fn long_mode() -> PagingState {
    PagingState {
        cr0: PG | CR0_WP,
        cr3: 0x1000,
        cr4: CR4_PAE,
        efer: EFER_LME | EFER_LMA | EFER_NXE,
        pdptes: None,
        maxphyaddr: 46,
    }
}

/// PML4 0x1000 -> PDPT 0x2000: [0] -> PD 0x3000, [1] 1-GiB page at 3 GiB (user, RW);
/// PD[0] -> PT 0x4000, PD[1] 2-MiB page at 8 MiB (supervisor); PT[5] -> 0x9000 (user,
/// read-only, XD).
fn four_level() -> Memory {
    let mut m = Memory::default();
    m.write_u64(0x1000, 0x2000 | P | RW | US);
    m.write_u64(0x2000, 0x3000 | P | RW | US);
    m.write_u64(0x2008, 0xC000_0000 | P | RW | US | PS);
    m.write_u64(0x3000, 0x4000 | P | RW | US);
    m.write_u64(0x3008, 0x80_0000 | P | RW | PS);
    m.write_u64(0x4028, 0x9000 | P | US | XD);
    m
}

#[test]
fn no_paging_is_identity_on_32_bits() {
    let m = Memory::default();
    let s = PagingState::default();
    assert_eq!(s.mode(), PagingMode::None);
    let t = translate(&m, &s, 0x1_2345_6789, write(3)).unwrap();
    assert_eq!(t.gpa.as_u64(), 0x2345_6789);
}

#[test]
fn four_level_pages_and_rights() {
    let m = four_level();
    let s = long_mode();
    assert_eq!(s.mode(), PagingMode::Level4);
    assert_eq!(gpa(translate(&m, &s, 0x5123, read(3))), 0x9123);
    assert_eq!(gpa(translate(&m, &s, 0x20_1234, read(0))), 0x80_1234);
    let t = translate(&m, &s, 0x4012_3456, write(3)).unwrap();
    assert_eq!((t.gpa.as_u64(), t.page_size), (0xC012_3456, 1 << 30));
    // Not present: PT[6].
    assert_eq!(translate(&m, &s, 0x6000, read(0)), pf(0x6000, 0));
    assert_eq!(
        translate(&m, &s, 0x6000, write(3)),
        pf(0x6000, PageFault::W | PageFault::U)
    );
    // Read-only user page: user write faults, supervisor write faults only with WP.
    assert_eq!(
        translate(&m, &s, 0x5000, write(3)),
        pf(0x5000, PageFault::P | PageFault::W | PageFault::U)
    );
    assert_eq!(
        translate(&m, &s, 0x5000, write(0)),
        pf(0x5000, PageFault::P | PageFault::W)
    );
    let no_wp = PagingState { cr0: PG, ..s };
    assert_eq!(gpa(translate(&m, &no_wp, 0x5000, write(0))), 0x9000);
    // XD page: fetch faults with I/D; without NXE, bit 63 is reserved.
    assert_eq!(
        translate(&m, &s, 0x5000, fetch(3)),
        pf(0x5000, PageFault::P | PageFault::U | PageFault::I)
    );
    let no_nxe = PagingState {
        efer: EFER_LME | EFER_LMA,
        ..s
    };
    assert_eq!(
        translate(&m, &no_nxe, 0x5000, read(0)),
        pf(0x5000, PageFault::P | PageFault::RSVD)
    );
    // Supervisor page from user mode.
    assert_eq!(
        translate(&m, &s, 0x20_0000, read(3)),
        pf(0x20_0000, PageFault::P | PageFault::U)
    );
    // Non-canonical.
    assert_eq!(
        translate(&m, &s, 1 << 47, read(0)),
        Err(WalkError::NonCanonical(1 << 47))
    );
    // A table outside RAM.
    let far = PagingState {
        cr3: 0x7000_0000,
        ..s
    };
    assert_eq!(
        translate(&m, &far, 0, read(0)),
        Err(WalkError::Memory {
            gpa: vmx_defs::addr::GuestPhysAddr::new(0x7000_0000),
            error: Unmapped(0x7000_0000)
        })
    );
}

#[test]
fn smep_smap_and_ac() {
    let m = four_level();
    let s = PagingState {
        cr4: CR4_PAE | CR4_SMEP | CR4_SMAP,
        ..long_mode()
    };
    // Supervisor fetch from the user 1-GiB page: SMEP.
    assert_eq!(
        translate(&m, &s, 0x4000_0000, fetch(0)),
        pf(0x4000_0000, PageFault::P | PageFault::I)
    );
    // Supervisor read of a user page: SMAP unless RFLAGS.AC (explicit accesses only).
    assert_eq!(
        translate(&m, &s, 0x4000_0000, read(0)),
        pf(0x4000_0000, PageFault::P)
    );
    let ac = Access {
        rflags_ac: true,
        ..read(0)
    };
    assert_eq!(gpa(translate(&m, &s, 0x4000_0000, ac)), 0xC000_0000);
    let implicit = Access {
        implicit_supervisor: true,
        ..ac
    };
    assert_eq!(
        translate(&m, &s, 0x4000_0000, Access { cpl: 3, ..implicit }),
        pf(0x4000_0000, PageFault::P)
    );
    // User accesses are not affected.
    assert_eq!(gpa(translate(&m, &s, 0x4000_0000, write(3))), 0xC000_0000);
}

#[test]
fn reserved_bits_in_64_bit_entries() {
    let mut m = four_level();
    let s = long_mode();
    // PS in a PML4E.
    m.write_u64(0x1008, 0x2000 | P | RW | PS);
    let la = 1 << 39;
    assert_eq!(
        translate(&m, &s, la, read(0)),
        pf(la, PageFault::P | PageFault::RSVD)
    );
    // An address bit at MAXPHYADDR.
    m.write_u64(0x1008, (1 << 46) | 0x2000 | P | RW);
    assert_eq!(
        translate(&m, &s, la, read(0)),
        pf(la, PageFault::P | PageFault::RSVD)
    );
    // Bit 13 of a 2-MiB page.
    m.write_u64(0x3008, 0x80_0000 | (1 << 13) | P | RW | PS);
    assert_eq!(
        translate(&m, &s, 0x20_0000, read(0)),
        pf(0x20_0000, PageFault::P | PageFault::RSVD)
    );
}

#[test]
fn five_level() {
    let mut m = Memory::default();
    let la: u64 = 0x00FF_8000_0000_1234 & ((1 << 57) - 1);
    let idx = |shift: u32| (la >> shift) & 0x1FF;
    m.write_u64(0x1000 + 8 * idx(48), 0x2000 | P | RW);
    m.write_u64(0x2000 + 8 * idx(39), 0x3000 | P | RW);
    m.write_u64(0x3000 + 8 * idx(30), 0x4000 | P | RW);
    m.write_u64(0x4000 + 8 * idx(21), 0x5000 | P | RW);
    m.write_u64(0x5000 + 8 * idx(12), 0xA000 | P | RW);
    let s = PagingState {
        cr4: CR4_PAE | CR4_LA57,
        ..long_mode()
    };
    assert_eq!(s.mode(), PagingMode::Level5);
    assert_eq!(gpa(translate(&m, &s, la, read(0))), 0xA234);
    assert_eq!(
        translate(&m, &s, 1 << 56, read(0)),
        Err(WalkError::NonCanonical(1 << 56))
    );
}

#[test]
fn pae_pdptes_from_vmcs_and_memory() {
    let mut m = Memory::default();
    // PDPT at 0x1020 (32-byte aligned): [1] -> PD 0x3000; PD[0] 2-MiB page at 0x60_0000,
    // PD[1] -> PT 0x4000, PT[2] -> 0x7000 XD.
    m.write_u64(0x1028, 0x3000 | P);
    m.write_u64(0x3000, 0x60_0000 | P | RW | PS);
    m.write_u64(0x3008, 0x4000 | P | RW);
    m.write_u64(0x4010, 0x7000 | P | RW | XD);
    let s = PagingState {
        cr0: PG,
        cr3: 0x1020,
        cr4: CR4_PAE,
        efer: EFER_NXE,
        pdptes: None,
        maxphyaddr: 36,
    };
    assert_eq!(s.mode(), PagingMode::Pae);
    let base = 0x4000_0000;
    assert_eq!(gpa(translate(&m, &s, base + 0x1_2345, write(0))), 0x61_2345);
    assert_eq!(gpa(translate(&m, &s, base + 0x20_2010, read(0))), 0x7010);
    assert_eq!(
        translate(&m, &s, base + 0x20_2010, fetch(0)),
        pf(base + 0x20_2010, PageFault::P | PageFault::I)
    );
    // PDPTE 0 not present.
    assert_eq!(translate(&m, &s, 0x1000, read(0)), pf(0x1000, 0));
    // PDPTEs from the VMCS win over memory.
    let vmcs = PagingState {
        pdptes: Some([0x3000 | P, 0, 0, 0]),
        ..s
    };
    assert_eq!(gpa(translate(&m, &vmcs, 0x1234, read(0))), 0x60_1234);
    // Reserved bit 1 in a present PDPTE.
    let bad = PagingState {
        pdptes: Some([0x3000 | P | RW, 0, 0, 0]),
        ..s
    };
    assert_eq!(
        translate(&m, &bad, 0, read(0)),
        Err(WalkError::InvalidPdpte {
            index: 0,
            value: 0x3000 | P | RW
        })
    );
}

#[test]
fn bits32_4k_4m_and_pse36() {
    let mut m = Memory::default();
    // PD 0x1000: [0] -> PT 0x2000 (PTE[3] -> 0x5000 user RO), [1] 4-MiB page with address
    // bits 35:32 = 0x3 (PSE-36), [2] 4-MiB page with bit 21 set (reserved).
    m.write_u32(0x1000, 0x2000 | (P | RW | US) as u32);
    m.write_u32(0x200C, 0x5000 | (P | US) as u32);
    m.write_u32(0x1004, 0x0040_0000 | (0x3 << 13) | (P | RW | PS) as u32);
    m.write_u32(0x1008, 0x0080_0000 | (1 << 21) | (P | RW | PS) as u32);
    let s = PagingState {
        cr0: PG | CR0_WP,
        cr3: 0x1000,
        cr4: CR4_PSE,
        efer: 0,
        pdptes: None,
        maxphyaddr: 36,
    };
    assert_eq!(s.mode(), PagingMode::Bits32);
    assert_eq!(gpa(translate(&m, &s, 0x3ABC, read(3))), 0x5ABC);
    assert_eq!(
        translate(&m, &s, 0x3ABC, write(3)),
        pf(0x3ABC, PageFault::P | PageFault::W | PageFault::U)
    );
    // No I/D bit for a fetch without SMEP under 32-bit paging.
    assert_eq!(
        translate(&m, &s, 0x4000, fetch(3)),
        pf(0x4000, PageFault::U)
    );
    let t = translate(&m, &s, 0x0041_2345, read(0)).unwrap();
    assert_eq!((t.gpa.as_u64(), t.page_size), (0x3_0041_2345, 1 << 22));
    assert_eq!(
        translate(&m, &s, 0x0080_0000, read(0)),
        pf(0x0080_0000, PageFault::P | PageFault::RSVD)
    );
    // Address bits above MAXPHYADDR = 32 are reserved.
    let narrow = PagingState {
        maxphyaddr: 32,
        ..s
    };
    assert_eq!(
        translate(&m, &narrow, 0x0041_2345, read(0)),
        pf(0x0041_2345, PageFault::P | PageFault::RSVD)
    );
    // Without CR4.PSE, PS is ignored and the PDE points to a page table (at 0x406000:
    // bits 13-14 are now address bits).
    let no_pse = PagingState { cr4: 0, ..s };
    m.write_u32(0x0040_6000 + 0x48, 0x9000 | P as u32);
    assert_eq!(gpa(translate(&m, &no_pse, 0x0041_2345, read(0))), 0x9345);
}

/// One mapping of the model: a 4-KiB page with its own chain of tables and the flags of
/// each level's entry.
#[derive(Clone, Debug)]
struct Mapping {
    la: u64,
    flags: [u64; 5],
    frame: u64,
}

/// The levels of `mode`: (index shift, index bits, entry bytes, entry has rights bits).
fn levels(mode: PagingMode) -> &'static [(u32, u32, u64, bool)] {
    match mode {
        PagingMode::Bits32 => &[(22, 10, 4, true), (12, 10, 4, true)],
        PagingMode::Pae => &[(30, 2, 8, false), (21, 9, 8, true), (12, 9, 8, true)],
        PagingMode::Level4 => &[
            (39, 9, 8, true),
            (30, 9, 8, true),
            (21, 9, 8, true),
            (12, 9, 8, true),
        ],
        _ => &[
            (48, 9, 8, true),
            (39, 9, 8, true),
            (30, 9, 8, true),
            (21, 9, 8, true),
            (12, 9, 8, true),
        ],
    }
}

/// Builds the tables: the top table at 0x1000, each mapping's chain in its own frames.
fn build(mode: PagingMode, maps: &[Mapping]) -> Memory {
    let mut m = Memory::default();
    m.write(0x1000, &[0; 4096]);
    let lv = levels(mode);
    let mut next = 0x10_0000u64;
    for map in maps {
        let mut table = 0x1000;
        for (k, &(shift, bits, size, _)) in lv.iter().enumerate() {
            let index = (map.la >> shift) & ((1 << bits) - 1);
            let target = if k + 1 == lv.len() {
                map.frame
            } else {
                next += 0x1000;
                m.write(next, &[0; 4096]);
                next
            };
            let entry = target | map.flags[k];
            let at = table + index * size;
            m.write(at, &entry.to_le_bytes()[..size as usize]);
            table = target;
        }
    }
    m
}

/// The model: the mapping whose page is `la`'s page, rights combined over its levels and
/// checked case by case from SDM Vol. 3A §4.6.1 and §4.7.
fn model(
    mode: PagingMode,
    s: &PagingState,
    maps: &[Mapping],
    la: u64,
    a: Access,
) -> Result<u64, u32> {
    let lv = levels(mode);
    let user = a.cpl == 3;
    let nx_on = s.efer & EFER_NXE != 0 && mode != PagingMode::Bits32;
    let mut code = 0;
    if user {
        code |= PageFault::U;
    }
    match a.kind {
        AccessKind::Write => code |= PageFault::W,
        AccessKind::Execute if nx_on || s.cr4 & CR4_SMEP != 0 => code |= PageFault::I,
        _ => {}
    }
    // The last mapping written for a top-level index wins (later chains overwrite).
    let top = |x: u64| (x >> lv[0].0) & ((1 << lv[0].1) - 1);
    let Some(map) = maps.iter().rev().find(|m| top(m.la) == top(la)) else {
        return Err(code);
    };
    for (k, &(shift, bits, _, _)) in lv.iter().enumerate() {
        if k > 0 && (map.la >> shift) & ((1 << bits) - 1) != (la >> shift) & ((1 << bits) - 1) {
            return Err(code);
        }
        if map.flags[k] & P == 0 {
            return Err(code);
        }
        if map.flags[k] & XD != 0 && s.efer & EFER_NXE == 0 {
            return Err(code | PageFault::P | PageFault::RSVD);
        }
    }
    let with_rights = lv
        .iter()
        .enumerate()
        .filter(|(_, l)| l.3)
        .map(|(k, _)| map.flags[k]);
    let all = |bit: u64| with_rights.clone().all(|f| f & bit != 0);
    let any_xd = with_rights.clone().any(|f| f & XD != 0);
    let (w, u) = (all(RW), all(US));
    let wp = s.cr0 & CR0_WP != 0;
    let ok = match (user, a.kind) {
        (true, AccessKind::Read) => u,
        (true, AccessKind::Write) => u && w,
        (true, AccessKind::Execute) => u && !(nx_on && any_xd),
        (false, AccessKind::Read) => true,
        (false, AccessKind::Write) => w || !wp,
        (false, AccessKind::Execute) => !((u && s.cr4 & CR4_SMEP != 0) || (nx_on && any_xd)),
    };
    if ok {
        Ok(map.frame | (la & 0xFFF))
    } else {
        Err(code | PageFault::P)
    }
}

fn mode_state(mode: PagingMode, wp: bool, smep: bool, nxe: bool) -> PagingState {
    let (cr4, efer) = match mode {
        PagingMode::Bits32 => (0, 0),
        PagingMode::Pae => (CR4_PAE, 0),
        PagingMode::Level4 => (CR4_PAE, EFER_LME | EFER_LMA),
        _ => (CR4_PAE | CR4_LA57, EFER_LME | EFER_LMA),
    };
    PagingState {
        cr0: PG | if wp { CR0_WP } else { 0 },
        cr3: 0x1000,
        cr4: cr4 | if smep { CR4_SMEP } else { 0 },
        efer: efer | if nxe { EFER_NXE } else { 0 },
        pdptes: None,
        maxphyaddr: 40,
    }
}

prop_compose! {
    fn mapping(mode: PagingMode)(
        pages in prop::collection::vec(0u64..8, 5),
        flags in prop::collection::vec(prop::sample::select(std::vec![0, P, P|RW, P|US, P|RW|US, P|XD, P|RW|US|XD]), 5),
        frame in 0x100u64..0x200,
    ) -> Mapping {
        let lv = levels(mode);
        let mut la = 0;
        for (k, &(shift, _, _, _)) in lv.iter().enumerate() {
            la |= (pages[k] & ((1 << lv[k].1) - 1)) << shift;
        }
        let mut f = [0; 5];
        for k in 0..lv.len() {
            f[k] = flags[k];
            // 4-byte entries have no XD; PDPTEs only P.
            if lv[k].2 == 4 { f[k] &= !XD; }
            if !lv[k].3 { f[k] &= P; }
        }
        Mapping { la, flags: f, frame: frame << 12 }
    }
}

fn modes() -> impl Strategy<Value = PagingMode> {
    prop::sample::select(std::vec![
        PagingMode::Bits32,
        PagingMode::Pae,
        PagingMode::Level4,
        PagingMode::Level5,
    ])
}

proptest! {
    #[test]
    fn walker_matches_model(
        (mode, maps, probe) in modes().prop_flat_map(|mode| (
            Just(mode),
            prop::collection::vec(mapping(mode), 1..6),
            mapping(mode),
        )),
        pick in any::<prop::sample::Index>(),
        use_probe in any::<bool>(),
        offset in 0u64..0x1000,
        cpl in prop::sample::select(std::vec![0u8, 3]),
        kind in prop::sample::select(std::vec![AccessKind::Read, AccessKind::Write, AccessKind::Execute]),
        wp in any::<bool>(), smep in any::<bool>(), nxe in any::<bool>(),
    ) {
        let s = mode_state(mode, wp, smep, nxe);
        let mem = build(mode, &maps);
        let la = if use_probe { probe.la } else { pick.get(&maps).la } | offset;
        let a = Access::new(kind, cpl);
        let got = match translate(&mem, &s, la, a) {
            Ok(t) => Ok(t.gpa.as_u64()),
            Err(WalkError::PageFault(p)) => { prop_assert_eq!(p.address, la); Err(p.error_code) }
            Err(e) => return Err(TestCaseError::fail(std::format!("{e:?}"))),
        };
        prop_assert_eq!(got, model(mode, &s, &maps, la, a));
    }

    #[test]
    fn translate_is_total(
        cr0 in any::<u64>(), cr3 in any::<u64>(), cr4 in any::<u64>(), efer in any::<u64>(),
        pdptes in any::<Option<[u64; 4]>>(), maxphyaddr in any::<u8>(), la in any::<u64>(),
        fill in any::<u64>(), cpl in 0u8..4, kind in 0u8..3, ac in any::<bool>(),
    ) {
        let mut m = Memory::default();
        // Every table entry in the first 64 KiB is `fill`-derived garbage.
        for a in (0..0x10000u64).step_by(8) {
            m.write_u64(a, fill.rotate_left((a / 8) as u32) ^ a);
        }
        let s = PagingState { cr0, cr3: cr3 & 0xFFFF, cr4, efer, pdptes, maxphyaddr };
        let kind = [AccessKind::Read, AccessKind::Write, AccessKind::Execute][kind as usize];
        let _ = translate(&m, &s, la, Access { kind, cpl, implicit_supervisor: false, rflags_ac: ac });
        let s = PagingState { cr3, ..s };
        let _ = translate(&m, &s, la, Access::new(kind, cpl));
    }
}
