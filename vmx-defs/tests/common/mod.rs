//! Readers for the crate's copies of the SDM fact tables (`tests/data/*.tsv`) and the
//! row-to-accessor checks, shared by the integration tests (each test binary uses a
//! subset, hence the `dead_code` allowance).
#![allow(dead_code)]

use std::fmt::Debug;

/// The data rows of a table: comment lines (`#`) and blank lines dropped, the header line
/// checked against `header`, each row split on tabs and checked to have one column per
/// header name.
pub fn table(tsv: &'static str, header: &[&str]) -> Vec<Vec<&'static str>> {
    let mut lines = tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let head: Vec<&str> = lines.next().expect("header line").split('\t').collect();
    assert_eq!(head, header, "header of the table");
    lines
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), header.len(), "row: {l}");
            cols
        })
        .collect()
}

/// A hexadecimal column ("0x1A" or "1A").
pub fn hex(s: &str) -> u64 {
    let digits = s.trim().trim_start_matches("0x");
    u64::from_str_radix(digits, 16).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// A bit-range column, "high:low" or a single bit "b", as `(low, high)`.
pub fn bit_range(range: &str) -> (u32, u32) {
    let num = |s: &str| -> u32 {
        s.trim()
            .parse()
            .unwrap_or_else(|e| panic!("bad bit number {s:?}: {e}"))
    };
    match range.split_once(':') {
        Some((high, low)) => (num(low), num(high)),
        None => (num(range), num(range)),
    }
}

/// The mask of bits `low..=high` (`high` at most 63).
pub fn mask(low: u32, high: u32) -> u64 {
    assert!(low <= high && high < 64, "bit range {high}:{low}");
    (u64::MAX >> (63 - (high - low))) << low
}

/// The mask of a bit-range column (see [`bit_range`]).
pub fn range_mask(range: &str) -> u64 {
    let (low, high) = bit_range(range);
    mask(low, high)
}

/// A row of exit-qualifications.tsv that names one field of one decoder:
/// `PREFIX.KIND.FIELD` in the name column (e.g. `QUAL.CR_ACCESS.ACCESS_TYPE`).
pub struct FieldRow {
    /// The exit-reason column (numbers first, then a comment).
    pub reasons: String,
    /// Lowest bit of the field.
    pub low: u32,
    /// Highest bit of the field.
    pub high: u32,
    /// The decoder kind (`CR_ACCESS`...).
    pub kind: String,
    /// The field name (`ACCESS_TYPE`...), empty if the row names only a kind.
    pub field: String,
}

/// The rows of exit-qualifications.tsv whose name starts with `prefix` (e.g. `"QUAL."`).
pub fn field_rows(tsv: &'static str, prefix: &str) -> Vec<FieldRow> {
    table(
        tsv,
        &["exit-reason", "field", "name", "description", "notes"],
    )
    .into_iter()
    .filter_map(|cols| {
        let rest = cols[2].strip_prefix(prefix)?;
        let (kind, field) = rest.split_once('.').unwrap_or((rest, ""));
        let (low, high) = bit_range(cols[1]);
        Some(FieldRow {
            reasons: cols[0].to_string(),
            low,
            high,
            kind: kind.to_string(),
            field: field.to_string(),
        })
    })
    .collect()
}

/// Reads one accessor of one decoder from a raw value, in a comparable form.
pub type Reader<R> = fn(u64) -> R;

/// Every defined row maps to exactly one accessor: setting exactly the row's bits (all of
/// them, and each one alone) changes that accessor and no other of the same kind. Rows
/// for which `is_undefined(field)` change no accessor.
pub fn check_rows_map_to_accessors<R: PartialEq + Debug>(
    rows: &[FieldRow],
    prefix: &str,
    accessors: impl Fn(&str) -> Vec<(&'static str, Reader<R>)>,
    is_undefined: impl Fn(&str) -> bool,
) {
    for row in rows {
        let all = accessors(&row.kind);
        let m = mask(row.low, row.high);
        let context = format!(
            "{prefix}{}.{} {}:{}",
            row.kind, row.field, row.high, row.low
        );
        if is_undefined(&row.field) {
            for (name, read) in &all {
                assert_eq!(read(0), read(m), "{context} changes accessor {name}");
            }
            continue;
        }
        let own = all
            .iter()
            .find(|(name, _)| *name == row.field)
            .unwrap_or_else(|| panic!("{context}: no accessor"))
            .1;
        assert_ne!(own(0), own(m), "{context}: accessor does not see the bits");
        for bit in row.low..=row.high {
            assert_ne!(
                own(0),
                own(1 << bit),
                "{context}: accessor misses bit {bit}"
            );
        }
        for (name, read) in &all {
            if *name != row.field {
                assert_eq!(read(0), read(m), "{context} changes accessor {name}");
            }
        }
    }
}

/// Every accessor of a kind is backed by a row (no invented fields).
pub fn check_every_accessor_has_a_row<R>(
    rows: &[FieldRow],
    accessors: impl Fn(&str) -> Vec<(&'static str, Reader<R>)>,
) {
    let mut kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    kinds.dedup();
    for kind in kinds {
        for (name, _) in accessors(kind) {
            assert!(
                rows.iter().any(|r| r.kind == kind && r.field == name),
                "accessor {kind}.{name} has no tsv row"
            );
        }
    }
}
