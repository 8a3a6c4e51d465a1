//! Cross-check of the entry layout against the SDM fact table (tests/data/ept.tsv,
//! a copy of ../shared/sdm/ept.tsv: SDM Vol. 3C Tables 29-1 to 29-7).

use ept::{EptEntry, EptFlags, PageSize};
use proptest::prelude::*;
use vmx_defs::memory_type::MemoryType;

const TSV: &str = include_str!("data/ept.tsv");

fn rows() -> impl Iterator<Item = (&'static str, u32, u32, &'static str)> {
    TSV.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("structure"))
        .filter_map(|l| {
            let mut c = l.split('\t');
            let (s, bits, name) = (c.next()?, c.next()?, c.next()?);
            let (hi, lo) = match bits.split_once(':') {
                Some((h, l)) => (h.parse().ok().unwrap_or(u32::MAX), l.parse().ok()?),
                None => (bits.parse().ok()?, bits.parse().ok()?),
            };
            Some((s, hi, lo, name))
        })
}

#[test]
fn every_single_bit_field_of_every_entry_is_a_flag_at_its_position() {
    let mut checked = 0;
    for (s, hi, lo, name) in rows() {
        if s == "EPTP" || hi != lo || name == "RESERVED" || name == "IGNORED" {
            continue;
        }
        let flag =
            EptFlags::from_name(name).unwrap_or_else(|| panic!("{s} bit {lo} {name}: no flag"));
        assert_eq!(flag.bits(), 1 << lo, "{s} {name}");
        checked += 1;
    }
    assert!(checked > 50, "only {checked} rows");
}

#[test]
fn memory_type_and_address_fields() {
    for (s, hi, lo, name) in rows() {
        match name {
            "MEMORY_TYPE" if s != "EPTP" => {
                assert_eq!((hi, lo), (5, 3), "{s}");
                assert_eq!(EptEntry(6 << 3).memory_type(), MemoryType::WRITE_BACK);
            }
            "ADDRESS" => {
                // N-1:lo, N = MAXPHYADDR; hi does not parse.
                let size = match s {
                    "PDPTE-1G" => PageSize::Size1G,
                    "PDE-2M" => PageSize::Size2M,
                    _ => PageSize::Size4K,
                };
                assert_eq!(size.shift(), lo, "{s}");
                let e = EptEntry(u64::MAX);
                assert_eq!(
                    e.frame(size).as_u64(),
                    ept::ADDRESS_MASK & !(size.bytes() - 1)
                );
            }
            _ => {}
        }
    }
}

proptest! {
    #[test]
    fn entry_decoding_is_total(raw in any::<u64>(), level in 0u32..8, mbec in any::<bool>()) {
        let e = EptEntry(raw);
        let d = e.decode(level, mbec);
        prop_assert_eq!(d.is_some(), (1..=5).contains(&level));
        prop_assert_eq!(e.flags().bits() & !EptFlags::all().bits(), 0);
        let _ = (e.memory_type(), e.addr(), format!("{e:?}"));
    }
}
