//! The `entry_check` scenario's names, compared with the check Bochs's log names.
//!
//! Before each VM entry it tries, the scenario writes to Bochs's BIOS info port (0x402) one
//! line per check the checker finds failing, first failure first: `entry_check #N Name`
//! (`entry_check #N none` when the checker predicts success), and `entry_check end` after
//! each guest's mutations. Bochs logs each such line as `[BIOS  ] ...` in its log, in the
//! same ordered stream as its own messages, so the VM-entry failure message Bochs logs next
//! (`[CPU0  ] VMFAIL: ...`, [`bochs_checks`]) belongs to mutation N.
//!
//! [`compare`] maps Bochs's message to the checker's names with
//! [`bochs_checks::lookup`]: the same check when the message
//! stands for one of the checks the checker finds failing, a different one otherwise; a
//! message with no counterpart (or unknown to the table) is unmapped. A different name is
//! accepted only when vmx-entry-check/README.md documents the pair (its "Names" table under
//! "Where Bochs departs from the SDM").

use std::fmt;

use crate::bochs_checks::{self, BochsCheck};
use crate::report::{KernelLine, SuiteReport, parse_kernel_line};

/// The scenario whose markers are read.
pub const SCENARIO: &str = "entry_check";

/// The README holding the documented name differences, read when the suite runs (the tool
/// runs inside the workspace; reading it at build time would tie the `ci` package to a file
/// outside it). Missing, it documents nothing, so every difference fails loudly.
fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../vmx-entry-check/README.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("warning: reading {path}: {e}; no name difference counts as documented");
        String::new()
    })
}
/// The heading of its table of documented name differences.
const NAMES_HEADING: &str = "### Names";

/// One mutation's entry: what the checker found and what Bochs logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The scenario's mutation index.
    pub index: u64,
    /// The checks the checker finds failing, its first failure first (empty: success).
    pub checker: Vec<String>,
    /// Bochs's first VM-entry failure message after the marker, if any.
    pub bochs: Option<String>,
}

/// The text of a Bochs log line after its `[COMPONENT] ` prefix, with the component
/// (`00000000000i[BIOS  ] text` gives `("BIOS", "text")`).
pub fn log_message(line: &str) -> Option<(&str, &str)> {
    let open = line.find('[')?;
    let rest = &line[open + 1..];
    let close = rest.find(']')?;
    let component = rest[..close].trim();
    let text = rest[close + 1..]
        .strip_prefix(' ')
        .unwrap_or(&rest[close + 1..]);
    Some((component, text.trim_end()))
}

/// A marker line's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker<'a> {
    /// `entry_check #N Name` or `entry_check #N none`.
    Check(u64, Option<&'a str>),
    /// `entry_check end`.
    End,
}

fn marker(text: &str) -> Option<Marker<'_>> {
    let rest = text.strip_prefix(SCENARIO)?.strip_prefix(' ')?;
    if rest == "end" {
        return Some(Marker::End);
    }
    let (n, name) = rest.strip_prefix('#')?.split_once(' ')?;
    let n = n.parse().ok()?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(Marker::Check(n, (name != "none").then_some(name)))
}

/// The scenario's entries, in log order, from Bochs's log text. A message outside any
/// mutation (before the first marker, after `entry_check end`) is ignored.
pub fn parse_log(log: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut open = false;
    for line in log.lines() {
        let Some((component, text)) = log_message(line) else {
            continue;
        };
        if component == "BIOS" {
            match marker(text) {
                Some(Marker::Check(n, name)) => {
                    match out.last_mut() {
                        Some(e) if open && e.index == n => {
                            e.checker.extend(name.map(str::to_string));
                        }
                        _ => out.push(Entry {
                            index: n,
                            checker: name.map(str::to_string).into_iter().collect(),
                            bochs: None,
                        }),
                    }
                    open = true;
                }
                Some(Marker::End) => open = false,
                None => {}
            }
            continue;
        }
        if open
            && component.starts_with("CPU")
            && bochs_checks::is_entry_failure_message(text)
            && let Some(e) = out.last_mut()
            && e.bochs.is_none()
        {
            e.bochs = Some(text.to_string());
        }
    }
    out
}

/// A documented name difference: Bochs's message pattern and the checker's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documented {
    /// A [`BochsCheck::pattern`].
    pub pattern: String,
    /// The checker's first failed check.
    pub checker: String,
}

/// The `| \`pattern\` | \`Check\` | ...` rows of the [`NAMES_HEADING`] table of `readme`.
pub fn documented_in(readme: &str) -> Vec<Documented> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with('#') {
            inside = line.trim() == NAMES_HEADING;
            continue;
        }
        if !inside {
            continue;
        }
        let cells: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        // "", pattern, check, ...
        let (Some(p), Some(c)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let (Some(p), Some(c)) = (
            p.strip_prefix('`').and_then(|p| p.strip_suffix('`')),
            c.strip_prefix('`').and_then(|c| c.strip_suffix('`')),
        ) else {
            continue;
        };
        out.push(Documented {
            pattern: p.to_string(),
            checker: c.to_string(),
        });
    }
    out
}

/// One mutation where Bochs names another check than the checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The mutation index.
    pub index: u64,
    /// The checker's first failed check.
    pub checker: String,
    /// Bochs's message.
    pub message: String,
    /// Its table row.
    pub row: &'static BochsCheck,
    /// Whether README documents the pair.
    pub documented: bool,
}

/// The comparison over one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameReport {
    /// Entries where Bochs logged a mapped message and the checker found a failure.
    pub compared: usize,
    /// Of those, Bochs's message stands for one of the checker's failed checks.
    pub same: usize,
    /// Of `same`, not the checker's first failure (Bochs checks in another order).
    pub same_not_first: usize,
    /// The others.
    pub different: Vec<Difference>,
    /// `(index, message)` of Bochs messages with no counterpart or unknown to the table.
    pub unmapped: Vec<(u64, String)>,
    /// Entries the scenario marked.
    pub marked: usize,
}

impl NameReport {
    /// Differences README does not document.
    pub fn undocumented(&self) -> usize {
        self.different.iter().filter(|d| !d.documented).count()
    }

    /// The lines to print for run `model`: the summary, one per different name, one per
    /// distinct unmapped message.
    pub fn lines(&self, model: &str) -> Vec<String> {
        let mut out = vec![format!("[{model}] {self}")];
        for d in &self.different {
            out.push(format!(
                "[{model}] entry_check name #{}: checker {}, Bochs {:?} (§{}: {}){}",
                d.index,
                d.checker,
                d.message,
                d.row.sdm,
                d.row.checks.join(" / "),
                if d.documented {
                    " (documented)"
                } else {
                    " UNDOCUMENTED"
                }
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, m) in &self.unmapped {
            if !seen.contains(&m.as_str()) {
                seen.push(m);
                out.push(format!("[{model}] entry_check unmapped #{i}: {m:?}"));
            }
        }
        out
    }
}

impl fmt::Display for NameReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entry_check names: {} compared, {} same, {} different, {} unmapped \
             ({} same but not the checker's first, {} undocumented, {} entries marked)",
            self.compared,
            self.same,
            self.different.len(),
            self.unmapped.len(),
            self.same_not_first,
            self.undocumented(),
            self.marked
        )
    }
}

/// Compares every entry of `entries` against `documented`.
pub fn compare(entries: &[Entry], documented: &[Documented]) -> NameReport {
    let mut r = NameReport {
        marked: entries.len(),
        ..NameReport::default()
    };
    for e in entries {
        let Some(message) = &e.bochs else { continue };
        let Some(row) = bochs_checks::lookup(message) else {
            r.unmapped.push((e.index, message.clone()));
            continue;
        };
        let Some(names) = row.mapped() else {
            r.unmapped.push((e.index, message.clone()));
            continue;
        };
        let Some(first) = e.checker.first() else {
            // The checker predicts success: the scenario reports the outcome itself.
            continue;
        };
        r.compared += 1;
        if names.contains(&first.as_str()) {
            r.same += 1;
        } else if e.checker.iter().any(|c| names.contains(&c.as_str())) {
            r.same += 1;
            r.same_not_first += 1;
        } else {
            r.different.push(Difference {
                index: e.index,
                checker: first.clone(),
                message: message.clone(),
                row,
                documented: documented
                    .iter()
                    .any(|d| d.pattern == row.pattern && d.checker == *first),
            });
        }
    }
    r
}

/// The comparison for a run whose Bochs log is `log`, `None` when the scenario marked no
/// entry (it did not run).
pub fn from_log(log: &str) -> Option<NameReport> {
    let entries = parse_log(log);
    (!entries.is_empty()).then(|| compare(&entries, &documented_in(&readme())))
}

/// Marks the scenario failed in `report` when `names` has undocumented differences: its
/// `ok` becomes a failure in the counted lines and in the kernel's summary alike (so the
/// run stays complete). Returns whether it changed anything.
pub fn apply(names: &NameReport, lines: &[String], report: &mut SuiteReport) -> bool {
    let n = names.undocumented();
    if n == 0 {
        return false;
    }
    let passed = lines
        .iter()
        .any(|l| matches!(parse_kernel_line(l), KernelLine::Ok(s) if s == SCENARIO));
    if !passed {
        return false;
    }
    report.counted.passed = report.counted.passed.saturating_sub(1);
    report.counted.failed += 1;
    if let Some(s) = &mut report.summary {
        s.passed = s.passed.saturating_sub(1);
        s.failed += 1;
    }
    report.failures.push((
        SCENARIO.to_string(),
        format!(
            "{n} names differ from Bochs's and are not documented in vmx-entry-check/README.md"
        ),
    ));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
00000000000i[BIOS  ] $Revision: 14314 $
00000000001e[CPU0  ] VMFAIL: VMCS host state invalid CR0 0x00000011
00000001000i[BIOS  ] entry_check #0 HostCr0Fixed
00000001001e[CPU0  ] VMFAIL: VMCS host state invalid CR0 0x00000011
00000001002i[BIOS  ] entry_check #1 GuestCr0Fixed
00000001003i[BIOS  ] entry_check #1 GuestSegmentPresent
00000001004e[CPU0  ] VMENTER FAIL: VMCS guest DS not present
00000001005e[CPU0  ] VMEXIT: Guest State Checks Failed
00000001006i[BIOS  ] entry_check #2 none
00000001007e[CPU0  ] VMFAIL: VMCS EXEC CTRL: TSC multiplier should be non zero
00000001008i[BIOS  ] entry_check #3 EntryToSmmOutsideSmm
00000001009e[CPU0  ] VMENTER FAIL: VMCS SMM guest should block SMI
00000001010e[CPU0  ] VMENTER FAIL: VMCS guest interruptibility state broken
00000001011i[BIOS  ] entry_check #4 GuestDebugctlReserved
00000001012i[BIOS  ] entry_check #5 HostCr4Fixed
00000001013e[CPU0  ] VMFAIL: VMCS host SS selector 0
00000001014i[BIOS  ] entry_check end
00000001015e[CPU0  ] VMFAIL: VMCS host CS selector 0
";

    #[test]
    fn log_lines() {
        assert_eq!(
            log_message("00000001000i[BIOS  ] entry_check #0 X"),
            Some(("BIOS", "entry_check #0 X"))
        );
        assert_eq!(
            log_message("00000001001e[CPU0  ] VMFAIL: a"),
            Some(("CPU0", "VMFAIL: a"))
        );
        assert_eq!(log_message("no brackets"), None);
        assert_eq!(
            marker("entry_check #12 GuestCr0Fixed"),
            Some(Marker::Check(12, Some("GuestCr0Fixed")))
        );
        assert_eq!(
            marker("entry_check #12 none"),
            Some(Marker::Check(12, None))
        );
        assert_eq!(marker("entry_check end"), Some(Marker::End));
        for bad in [
            "entry_check #x A",
            "entry_check #1",
            "entry_check #1 a b",
            "other #1 A",
            "entry_check  end",
        ] {
            assert_eq!(marker(bad), None, "{bad}");
        }
    }

    #[test]
    fn entries_take_the_first_message_after_their_marker() {
        let e = parse_log(LOG);
        let got: Vec<(u64, Vec<&str>, Option<&str>)> = e
            .iter()
            .map(|e| {
                (
                    e.index,
                    e.checker.iter().map(String::as_str).collect(),
                    e.bochs.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    0,
                    vec!["HostCr0Fixed"],
                    Some("VMFAIL: VMCS host state invalid CR0 0x00000011")
                ),
                (
                    1,
                    vec!["GuestCr0Fixed", "GuestSegmentPresent"],
                    Some("VMENTER FAIL: VMCS guest DS not present")
                ),
                (
                    2,
                    vec![],
                    Some("VMFAIL: VMCS EXEC CTRL: TSC multiplier should be non zero")
                ),
                (
                    3,
                    vec!["EntryToSmmOutsideSmm"],
                    Some("VMENTER FAIL: VMCS SMM guest should block SMI")
                ),
                (4, vec!["GuestDebugctlReserved"], None),
                (
                    5,
                    vec!["HostCr4Fixed"],
                    Some("VMFAIL: VMCS host SS selector 0")
                ),
            ]
        );
    }

    #[test]
    fn comparison_counts() {
        let doc = vec![Documented {
            pattern: "VMENTER FAIL: VMCS SMM guest should block SMI".into(),
            checker: "EntryToSmmOutsideSmm".into(),
        }];
        let r = compare(&parse_log(LOG), &doc);
        assert_eq!(r.marked, 6);
        assert_eq!(r.compared, 4);
        assert_eq!(r.same, 2);
        assert_eq!(r.same_not_first, 1);
        assert_eq!(
            r.unmapped,
            vec![(
                2,
                "VMFAIL: VMCS EXEC CTRL: TSC multiplier should be non zero".to_string()
            )]
        );
        let d: Vec<(u64, &str, bool)> = r
            .different
            .iter()
            .map(|d| (d.index, d.checker.as_str(), d.documented))
            .collect();
        assert_eq!(
            d,
            vec![
                (3, "EntryToSmmOutsideSmm", true),
                (5, "HostCr4Fixed", false)
            ]
        );
        assert_eq!(r.undocumented(), 1);
        let lines = r.lines("m");
        assert_eq!(
            lines[0],
            "[m] entry_check names: 4 compared, 2 same, 2 different, 1 unmapped (1 same but not \
             the checker's first, 1 undocumented, 6 entries marked)"
        );
        assert!(
            lines[2].contains("#5: checker HostCr4Fixed") && lines[2].ends_with("UNDOCUMENTED"),
            "{lines:?}"
        );
        assert!(lines[3].contains("unmapped #2"), "{lines:?}");
        assert_eq!(from_log("00000000000i[BIOS  ] nothing\n"), None);
    }

    #[test]
    fn readme_table_parses_and_names_exist() {
        let doc = documented_in(&readme());
        for d in &doc {
            let row = bochs_checks::BOCHS_CHECKS
                .iter()
                .find(|r| r.pattern == d.pattern)
                .unwrap_or_else(|| panic!("README names {:?}, no table row", d.pattern));
            assert!(
                !row.checks.contains(&d.checker.as_str()),
                "{d:?} is no difference"
            );
        }
        let text = "# x\n### Names\n| Bochs | Check | SDM |\n|---|---|---|\n| `A: b` | `C` | 27 |\n## Next\n| `D` | `E` |\n";
        assert_eq!(
            documented_in(text),
            vec![Documented {
                pattern: "A: b".into(),
                checker: "C".into()
            }]
        );
    }

    #[test]
    fn undocumented_differences_fail_the_scenario() {
        let lines: Vec<String> = [
            "run entry_check",
            "ok entry_check: 3 agree",
            "1 passed, 0 failed, 0 skipped",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut report = SuiteReport::from_lines(lines.iter().map(String::as_str));
        let names = compare(&parse_log(LOG), &[]);
        assert!(apply(&names, &lines, &mut report));
        assert_eq!((report.counted.passed, report.counted.failed), (0, 1));
        assert!(report.complete());
        assert_eq!(report.failures[0].0, "entry_check");
        let mut clean = SuiteReport::from_lines(lines.iter().map(String::as_str));
        assert!(!apply(&NameReport::default(), &lines, &mut clean));
        assert_eq!(clean.counted.passed, 1);
    }
}
