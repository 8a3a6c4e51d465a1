//! `--filter`: which scenarios of the suite run. The kernel runs a scenario when its name
//! contains one of the comma-separated parts (ci/test-kernel/src/runner.rs); the filter
//! travels in the boot sector ([`crate::image::PARAM_FILTER`]).

use std::fmt;

use crate::image::PARAM_FILTER_LEN;
use crate::report::SuiteReport;

/// A checked `--filter` value: non-empty parts without whitespace (scenario names have
/// none), short enough for the boot sector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter(String);

/// Why a `--filter` value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterError {
    /// The value is empty.
    Empty,
    /// A comma-separated part is empty (`a,,b`, a leading or trailing comma).
    EmptyPart,
    /// A part contains whitespace, which no scenario name does.
    Whitespace {
        /// The part.
        part: String,
    },
    /// The value contains a NUL byte (the boot sector pads with NULs).
    Nul,
    /// The value is longer than the boot sector holds.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
}

/// The longest filter the boot sector holds (one byte stays NUL).
pub const MAX_LEN: usize = PARAM_FILTER_LEN - 1;

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Empty => write!(f, "the filter is empty (leave --filter out to run all)"),
            FilterError::EmptyPart => write!(f, "empty name between commas"),
            FilterError::Whitespace { part } => {
                write!(
                    f,
                    "{part:?} contains whitespace, which no scenario name does"
                )
            }
            FilterError::Nul => write!(f, "the filter contains a NUL byte"),
            FilterError::TooLong { len } => {
                write!(f, "the filter is {len} bytes long, at most {MAX_LEN} fit")
            }
        }
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    /// Checks a `--filter` value.
    pub fn parse(s: &str) -> Result<Self, FilterError> {
        if s.is_empty() {
            return Err(FilterError::Empty);
        }
        if s.contains('\0') {
            return Err(FilterError::Nul);
        }
        if s.len() > MAX_LEN {
            return Err(FilterError::TooLong { len: s.len() });
        }
        for part in s.split(',') {
            if part.is_empty() {
                return Err(FilterError::EmptyPart);
            }
            if part.contains(char::is_whitespace) {
                return Err(FilterError::Whitespace {
                    part: part.to_string(),
                });
            }
        }
        Ok(Self(s.to_string()))
    }

    /// The value as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A run whose `--filter` selected no scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoScenarioMatched {
    /// The filter.
    pub filter: Filter,
}

impl fmt::Display for NoScenarioMatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--filter {:?} matched no scenario (a scenario runs when its name contains one of \
             the comma-separated parts)",
            self.filter.as_str()
        )
    }
}

impl std::error::Error for NoScenarioMatched {}

/// Fails when the kernel completed its run under `filter` without reporting a single
/// scenario (passed, failed or skipped). An incomplete run is left to the run's own
/// diagnosis.
pub fn check_matched(filter: &Filter, report: &SuiteReport) -> Result<(), NoScenarioMatched> {
    let t = report.counted;
    if report.complete() && t.passed + t.failed + t.skipped == 0 {
        Err(NoScenarioMatched {
            filter: filter.clone(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_and_lists() {
        assert_eq!(Filter::parse("smoke").unwrap().as_str(), "smoke");
        assert_eq!(
            Filter::parse("smoke,insn_vmread").unwrap().to_string(),
            "smoke,insn_vmread"
        );
        assert!(Filter::parse(&"x".repeat(MAX_LEN)).is_ok());
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!(Filter::parse(""), Err(FilterError::Empty));
        for bad in [",", "a,", ",a", "a,,b"] {
            assert_eq!(Filter::parse(bad), Err(FilterError::EmptyPart), "{bad}");
        }
        assert_eq!(
            Filter::parse("a,b c"),
            Err(FilterError::Whitespace {
                part: "b c".to_string()
            })
        );
        assert_eq!(Filter::parse("a\0"), Err(FilterError::Nul));
        assert_eq!(
            Filter::parse(&"x".repeat(MAX_LEN + 1)),
            Err(FilterError::TooLong { len: MAX_LEN + 1 })
        );
    }

    fn report(lines: &[&str]) -> SuiteReport {
        SuiteReport::from_lines(lines.iter().copied())
    }

    #[test]
    fn a_filter_matching_nothing_fails() {
        let f = Filter::parse("no_such_scenario").unwrap();
        let r = report(&[
            "test-kernel: model corei7_icelake_u, 0 scenarios matching \"no_such_scenario\"",
            "0 passed, 0 failed, 0 skipped",
        ]);
        let e = check_matched(&f, &r).unwrap_err();
        assert_eq!(e.filter, f);
        assert!(
            e.to_string()
                .contains("\"no_such_scenario\" matched no scenario")
        );
    }

    #[test]
    fn a_filter_matching_something_passes() {
        let f = Filter::parse("smoke").unwrap();
        for lines in [
            &["run smoke_a", "ok smoke_a", "1 passed, 0 failed, 0 skipped"][..],
            &[
                "run smoke_a",
                "FAIL smoke_a: x",
                "0 passed, 1 failed, 0 skipped",
            ][..],
            &[
                "run smoke_a",
                "skipped smoke_a: y",
                "0 passed, 0 failed, 1 skipped",
            ][..],
        ] {
            assert_eq!(check_matched(&f, &report(lines)), Ok(()), "{lines:?}");
        }
        // A run that never reached its summary is judged by its own diagnosis.
        assert_eq!(check_matched(&f, &report(&["FATAL: early"])), Ok(()));
    }
}
