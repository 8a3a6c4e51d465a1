//! Cross-checks `vmx_defs::ept::Eptp` against the EPTP rows of tests/data/ept.tsv (SDM
//! Vol. 3C §25.6.11, Table 25-9) and the VM-entry checks of §27.2.1.1.

use proptest::prelude::*;
use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::ept::{Eptp, EptpError, PageWalkLength};
use vmx_defs::memory_type::MemoryType;

mod common;

use common::table;

const TSV: &str = include_str!("data/ept.tsv");

/// `(bits, name)` of the EPTP rows.
fn eptp_rows() -> Vec<(&'static str, &'static str)> {
    table(TSV, &["structure", "bits", "name", "description", "notes"])
        .into_iter()
        .filter(|c| c[0] == "EPTP")
        .map(|c| (c[1], c[2]))
        .collect()
}

/// Mask of "hi:lo" / "b", with N (MAXPHYADDR) substituted.
fn mask(bits: &str, n: u32) -> u64 {
    let sub = |s: &str| -> u32 {
        match s {
            "N" => n,
            "N-1" => n - 1,
            s => s.parse().unwrap(),
        }
    };
    let (hi, lo) = match bits.split_once(':') {
        Some((h, l)) => (sub(h), sub(l)),
        None => (sub(bits), sub(bits)),
    };
    let width = hi - lo + 1;
    (if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }) << lo
}

/// Everything an EPTP can use.
const ALL_CAPS: EptVpidCap = EptVpidCap::PAGE_WALK_4
    .union(EptVpidCap::PAGE_WALK_5)
    .union(EptVpidCap::MEMORY_TYPE_UC)
    .union(EptVpidCap::MEMORY_TYPE_WB)
    .union(EptVpidCap::ACCESSED_DIRTY)
    .union(EptVpidCap::SUPERVISOR_SHADOW_STACK);

/// The Bochs corei7_icelake_u value (../shared/bochs/models.tsv): 4-level only, UC and WB,
/// A/D.
const ICELAKE: EptVpidCap = EptVpidCap::from_bits_retain(0x0000_0f01_0633_4141);

#[test]
fn eptp_rows_match() {
    let rows = eptp_rows();
    assert_eq!(rows.len(), 7);
    for n in [36u32, 39, 46, 52] {
        let mut covered = 0u64;
        for &(bits, name) in &rows {
            let m = mask(bits, n);
            assert_eq!(covered & m, 0, "overlap at {bits}");
            covered |= m;
            let ones = Eptp::from_raw(m);
            let zeros = Eptp::from_raw(!m);
            match name {
                "MEMORY_TYPE" => {
                    assert_eq!(ones.memory_type(), MemoryType(7));
                    assert_eq!(zeros.memory_type(), MemoryType(0));
                }
                "PAGE_WALK_LENGTH_MINUS_1" => {
                    assert_eq!(ones.walk_levels(), 8);
                    assert_eq!(zeros.walk_levels(), 1);
                }
                "ENABLE_ACCESSED_DIRTY" => {
                    assert!(ones.accessed_dirty() && !zeros.accessed_dirty());
                }
                "ENABLE_SUPERVISOR_SHADOW_STACK" => {
                    assert!(ones.supervisor_shadow_stack() && !zeros.supervisor_shadow_stack());
                }
                "PML4_OR_PML5_ADDRESS" => {
                    assert_eq!(ones.root(), m);
                    assert_eq!(zeros.root() & m, 0);
                }
                "RESERVED" if bits == "11:8" => assert_eq!(ones.reserved_bits(), m),
                "RESERVED" => {
                    // 63:N: reserved above MAXPHYADDR, refused by the check.
                    let bad = Eptp::from_raw(m | 0x1e);
                    assert_eq!(
                        bad.check(ALL_CAPS, n as u8),
                        Err(EptpError::RootBeyondPhysicalWidth {
                            root: m,
                            width: n as u8
                        })
                    );
                }
                other => panic!("unhandled EPTP row {other}"),
            }
        }
        assert_eq!(covered, u64::MAX);
    }
}

#[test]
fn new_builds_checked_values() {
    let e = Eptp::new(
        0x1234_5000,
        PageWalkLength::Four,
        MemoryType::WRITE_BACK,
        true,
        ICELAKE,
        39,
    )
    .unwrap();
    assert_eq!(e.raw(), 0x1234_505e);
    assert_eq!(e.page_walk_length(), Some(PageWalkLength::Four));
    assert_eq!(e.memory_type(), MemoryType::WRITE_BACK);
    assert!(e.accessed_dirty() && !e.supervisor_shadow_stack());
    assert_eq!(e.root(), 0x1234_5000);
    let e = Eptp::new(
        0x1000,
        PageWalkLength::Five,
        MemoryType::UNCACHEABLE,
        false,
        ALL_CAPS,
        52,
    )
    .unwrap();
    assert_eq!(e.raw(), 0x1020);
    let sss = e.with_supervisor_shadow_stack(ALL_CAPS).unwrap();
    assert_eq!(sss.raw(), 0x10a0);
    assert_eq!(sss.check(ALL_CAPS, 52), Ok(()));
}

#[test]
fn new_rejects_each_forbidden_combination() {
    let wb = MemoryType::WRITE_BACK;
    let four = PageWalkLength::Four;
    assert_eq!(
        Eptp::new(0x1000, PageWalkLength::Five, wb, false, ICELAKE, 39),
        Err(EptpError::UnsupportedWalkLength { levels: 5 })
    );
    assert_eq!(
        Eptp::new(
            0x1000,
            four,
            wb,
            false,
            ICELAKE.difference(EptVpidCap::PAGE_WALK_4),
            39
        ),
        Err(EptpError::UnsupportedWalkLength { levels: 4 })
    );
    for mt in [1u8, 2, 3, 4, 5, 7, 8, 255] {
        assert_eq!(
            Eptp::new(0x1000, four, MemoryType(mt), false, ALL_CAPS, 39),
            Err(EptpError::UnsupportedMemoryType(MemoryType(mt)))
        );
    }
    assert_eq!(
        Eptp::new(
            0x1000,
            four,
            wb,
            false,
            ALL_CAPS.difference(EptVpidCap::MEMORY_TYPE_WB),
            39
        ),
        Err(EptpError::UnsupportedMemoryType(wb))
    );
    assert_eq!(
        Eptp::new(
            0x1000,
            four,
            MemoryType::UNCACHEABLE,
            false,
            ALL_CAPS.difference(EptVpidCap::MEMORY_TYPE_UC),
            39
        ),
        Err(EptpError::UnsupportedMemoryType(MemoryType::UNCACHEABLE))
    );
    assert_eq!(
        Eptp::new(
            0x1000,
            four,
            wb,
            true,
            ALL_CAPS.difference(EptVpidCap::ACCESSED_DIRTY),
            39
        ),
        Err(EptpError::AccessedDirtyUnsupported)
    );
    assert_eq!(
        Eptp::new(0x1000, four, wb, false, ICELAKE, 39)
            .unwrap()
            .with_supervisor_shadow_stack(ICELAKE),
        Err(EptpError::SupervisorShadowStackUnsupported)
    );
    assert_eq!(
        Eptp::new(0x1800, four, wb, false, ICELAKE, 39),
        Err(EptpError::MisalignedRoot { root: 0x1800 })
    );
    assert_eq!(
        Eptp::new(1 << 39, four, wb, false, ICELAKE, 39),
        Err(EptpError::RootBeyondPhysicalWidth {
            root: 1 << 39,
            width: 39
        })
    );
    for width in [0u8, 31, 53, 64, 255] {
        assert_eq!(
            Eptp::new(0x1000, four, wb, false, ICELAKE, width),
            Err(EptpError::InvalidPhysicalAddressWidth { width })
        );
    }
    assert_eq!(
        Eptp::from_raw(0x11e).check(ICELAKE, 39),
        Err(EptpError::ReservedBits { bits: 0x100 })
    );
    assert_eq!(
        Eptp::from_raw(0x106).check(ICELAKE, 39),
        Err(EptpError::UnsupportedWalkLength { levels: 1 })
    );
    assert_eq!(
        Eptp::from_raw(0x9e).check(ICELAKE, 39),
        Err(EptpError::SupervisorShadowStackUnsupported)
    );
}

fn any_caps() -> impl Strategy<Value = EptVpidCap> {
    any::<u64>().prop_map(EptVpidCap::from_bits_retain)
}

proptest! {
    #[test]
    fn any_raw_decodes(raw in any::<u64>(), caps in any_caps(), width in any::<u8>()) {
        let e = Eptp::from_raw(raw);
        prop_assert_eq!(e.raw(), raw);
        let rebuilt = u64::from(e.memory_type().0)
            | (u64::from(e.walk_levels() - 1) << 3)
            | (u64::from(e.accessed_dirty()) << 6)
            | (u64::from(e.supervisor_shadow_stack()) << 7)
            | e.reserved_bits()
            | e.root();
        prop_assert_eq!(rebuilt, raw);
        let _ = (e.check(caps, width), format!("{e:?}"));
    }

    #[test]
    fn new_agrees_with_check(
        root in any::<u64>(), five in any::<bool>(), mt in any::<u8>(), ad in any::<bool>(),
        caps in any_caps(), width in any::<u8>(),
    ) {
        let walk = if five { PageWalkLength::Five } else { PageWalkLength::Four };
        if let Ok(e) = Eptp::new(root, walk, MemoryType(mt), ad, caps, width) {
            prop_assert_eq!(e.check(caps, width), Ok(()));
            prop_assert_eq!(e.root(), root);
            prop_assert_eq!(e.page_walk_length(), Some(walk));
            prop_assert_eq!(e.memory_type(), MemoryType(mt));
            prop_assert_eq!(e.accessed_dirty(), ad);
            prop_assert!(root.trailing_zeros() >= 12 && root >> width == 0);
        }
    }

    #[test]
    fn aligned_roots_within_width_are_accepted(frame in any::<u64>(), width in 32u8..=52) {
        let root = (frame << 12) & ((1u64 << width) - 1);
        let e = Eptp::new(root, PageWalkLength::Four, MemoryType::WRITE_BACK, true, ICELAKE, width);
        prop_assert!(e.is_ok());
    }
}
