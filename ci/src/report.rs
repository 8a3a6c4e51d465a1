//! Parsing what the test kernel and `cargo test` print, and the tallies `cargo ci` reports.

use std::fmt;
use std::ops::AddAssign;

/// Passed / failed / skipped counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Passed.
    pub passed: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped (or ignored, for host tests).
    pub skipped: u64,
}

impl AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// One line of the kernel's output, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelLine<'a> {
    /// `run NAME`: the scenario starts.
    Run(&'a str),
    /// `ok NAME`.
    Ok(&'a str),
    /// `FAIL NAME: detail`.
    Fail(&'a str, &'a str),
    /// `skipped NAME: reason`.
    Skipped(&'a str, &'a str),
    /// `N passed, N failed, N skipped`.
    Summary(Tally),
    /// `FATAL: ...` from the runtime.
    Fatal(&'a str),
    /// Anything else.
    Other,
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(char::is_whitespace)
}

fn parse_count(s: &str, unit: &str) -> Option<u64> {
    s.trim().strip_suffix(unit)?.trim_end().parse().ok()
}

/// Parses `N passed, N failed, N skipped` (the skipped part optional), nothing else on the line.
pub fn parse_summary(line: &str) -> Option<Tally> {
    let mut parts = line.trim().split(", ");
    let passed = parse_count(parts.next()?, "passed")?;
    let failed = parse_count(parts.next()?, "failed")?;
    let skipped = match parts.next() {
        Some(p) => parse_count(p, "skipped")?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Tally {
        passed,
        failed,
        skipped,
    })
}

/// Classifies one line of kernel output.
pub fn parse_kernel_line(line: &str) -> KernelLine<'_> {
    let line = line.trim_end();
    if let Some(name) = line.strip_prefix("run ").filter(|n| is_name(n)) {
        return KernelLine::Run(name);
    }
    if let Some(name) = line
        .strip_prefix("ok ")
        .map(|rest| rest.split_once(": ").map_or(rest, |(name, _note)| name))
        .filter(|n| is_name(n))
    {
        return KernelLine::Ok(name);
    }
    if let Some(rest) = line.strip_prefix("FAIL ")
        && let Some((name, detail)) = rest.split_once(": ").filter(|(n, _)| is_name(n))
    {
        return KernelLine::Fail(name, detail);
    }
    if let Some(rest) = line.strip_prefix("skipped ")
        && let Some((name, reason)) = rest.split_once(": ").filter(|(n, _)| is_name(n))
    {
        return KernelLine::Skipped(name, reason);
    }
    if let Some(rest) = line.strip_prefix("FATAL: ") {
        return KernelLine::Fatal(rest);
    }
    if let Some(t) = parse_summary(line) {
        return KernelLine::Summary(t);
    }
    KernelLine::Other
}

/// What a whole suite run printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuiteReport {
    /// Counted from the `ok`/`FAIL`/`skipped` lines.
    pub counted: Tally,
    /// The kernel's own summary line, if it got that far.
    pub summary: Option<Tally>,
    /// `(name, detail)` of every failure.
    pub failures: Vec<(String, String)>,
    /// A scenario that started and never reported (hang or crash).
    pub unfinished: Option<String>,
    /// `FATAL` lines.
    pub fatal: Vec<String>,
    /// Scenario names that reported more than once (names must be unique).
    pub duplicates: Vec<String>,
}

impl SuiteReport {
    /// Builds the report from the kernel's output lines.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = SuiteReport::default();
        let mut seen = std::collections::HashSet::new();
        for line in lines {
            let parsed = parse_kernel_line(line);
            if let KernelLine::Ok(n) | KernelLine::Fail(n, _) | KernelLine::Skipped(n, _) = parsed
                && !seen.insert(n.to_string())
            {
                r.duplicates.push(n.to_string());
            }
            match parsed {
                KernelLine::Run(n) => r.unfinished = Some(n.to_string()),
                KernelLine::Ok(_) => {
                    r.counted.passed += 1;
                    r.unfinished = None;
                }
                KernelLine::Fail(n, d) => {
                    r.counted.failed += 1;
                    r.failures.push((n.to_string(), d.to_string()));
                    r.unfinished = None;
                }
                KernelLine::Skipped(..) => {
                    r.counted.skipped += 1;
                    r.unfinished = None;
                }
                KernelLine::Summary(t) => r.summary = Some(t),
                KernelLine::Fatal(f) => r.fatal.push(f.to_string()),
                KernelLine::Other => {}
            }
        }
        r
    }

    /// The tally to report: the counted lines, plus one failure when the run did not
    /// complete (no summary, a fatal error, or a summary that disagrees with the lines).
    pub fn tally(&self) -> Tally {
        let mut t = self.counted;
        if !self.complete() {
            t.failed += 1;
        }
        t
    }

    /// Whether the kernel reached its summary line, it matches the counted lines, and
    /// no scenario name repeated.
    pub fn complete(&self) -> bool {
        self.summary == Some(self.counted) && self.fatal.is_empty() && self.duplicates.is_empty()
    }
}

/// Parses a libtest `test result:` line: `test result: ok. 5 passed; 0 failed; 1 ignored; ...`.
pub fn parse_test_result(line: &str) -> Option<Tally> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut t = Tally::default();
    let mut seen = 0;
    for part in counts.split("; ") {
        let mut it = part.split_whitespace();
        let (Some(n), Some(what)) = (it.next(), it.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => {
                t.passed = n;
                seen += 1;
            }
            "failed" => {
                t.failed = n;
                seen += 1;
            }
            "ignored" => t.skipped = n,
            _ => {}
        }
    }
    (seen == 2).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_lines() {
        assert_eq!(parse_kernel_line("ok smoke_a"), KernelLine::Ok("smoke_a"));
        assert_eq!(
            parse_kernel_line("ok cost_a: 12 ticks"),
            KernelLine::Ok("cost_a")
        );
        assert_eq!(parse_kernel_line("run smoke_a"), KernelLine::Run("smoke_a"));
        assert_eq!(
            parse_kernel_line("FAIL x: a: b"),
            KernelLine::Fail("x", "a: b")
        );
        assert_eq!(
            parse_kernel_line("skipped y: no EPT"),
            KernelLine::Skipped("y", "no EPT")
        );
        assert_eq!(
            parse_kernel_line("FATAL: panic: z"),
            KernelLine::Fatal("panic: z")
        );
        assert_eq!(
            parse_kernel_line("3 passed, 1 failed, 2 skipped"),
            KernelLine::Summary(Tally {
                passed: 3,
                failed: 1,
                skipped: 2
            })
        );
        assert_eq!(parse_kernel_line("ok two words"), KernelLine::Other);
        assert_eq!(parse_kernel_line("FAIL nodetail"), KernelLine::Other);
        assert_eq!(
            parse_kernel_line("3 passed, 1 failed, x skipped"),
            KernelLine::Other
        );
        assert_eq!(parse_kernel_line("Next at t=0"), KernelLine::Other);
    }

    #[test]
    fn summary_optional_skipped() {
        assert_eq!(
            parse_summary("10 passed, 0 failed"),
            Some(Tally {
                passed: 10,
                failed: 0,
                skipped: 0
            })
        );
        assert_eq!(
            parse_summary("10 passed, 0 failed, 1 skipped, 2 more"),
            None
        );
        assert_eq!(parse_summary("passed, 0 failed"), None);
    }

    #[test]
    fn suite_report_complete_and_incomplete() {
        let lines = [
            "test-kernel: model x",
            "run a",
            "ok a",
            "run b",
            "FAIL b: bad",
            "run c",
            "skipped c: n/a",
            "1 passed, 1 failed, 1 skipped",
        ];
        let r = SuiteReport::from_lines(lines);
        assert!(r.complete());
        assert_eq!(
            r.tally(),
            Tally {
                passed: 1,
                failed: 1,
                skipped: 1
            }
        );
        assert_eq!(r.failures, vec![("b".to_string(), "bad".to_string())]);
        assert_eq!(r.unfinished, None);

        let r = SuiteReport::from_lines(["run a", "ok a", "run b"]);
        assert!(!r.complete());
        assert_eq!(r.unfinished.as_deref(), Some("b"));
        assert_eq!(
            r.tally(),
            Tally {
                passed: 1,
                failed: 1,
                skipped: 0
            }
        );

        let r = SuiteReport::from_lines(["ok a", "2 passed, 0 failed, 0 skipped"]);
        assert!(!r.complete());

        let r = SuiteReport::from_lines(["ok a", "ok a", "2 passed, 0 failed, 0 skipped"]);
        assert_eq!(r.duplicates, vec!["a".to_string()]);
        assert!(!r.complete());
    }

    #[test]
    fn libtest_lines() {
        assert_eq!(
            parse_test_result(
                "test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s"
            ),
            Some(Tally {
                passed: 12,
                failed: 0,
                skipped: 3
            })
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out"
            ),
            Some(Tally {
                passed: 1,
                failed: 2,
                skipped: 0
            })
        );
        assert_eq!(parse_test_result("running 3 tests"), None);
    }
}
