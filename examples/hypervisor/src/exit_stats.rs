//! Counting VM exits by basic exit reason (SDM Vol. 3C Appendix C).

use alloc::collections::BTreeMap;
use core::fmt;

use vmx_defs::exit_reason::BasicExitReason;

/// VM-exit counts per basic exit reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExitStats {
    counts: BTreeMap<u16, u64>,
}

impl ExitStats {
    /// No exits yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one exit.
    pub fn record(&mut self, reason: BasicExitReason) {
        *self.counts.entry(reason.number()).or_insert(0) += 1;
    }

    /// Exits counted for `reason`.
    pub fn count(&self, reason: BasicExitReason) -> u64 {
        self.counts.get(&reason.number()).copied().unwrap_or(0)
    }

    /// All exits counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// `(reason, count)` by ascending reason number.
    pub fn iter(&self) -> impl Iterator<Item = (BasicExitReason, u64)> + '_ {
        self.counts.iter().map(|(&n, &c)| (BasicExitReason(n), c))
    }
}

impl fmt::Display for ExitStats {
    /// One line per reason: `  NAME (number): count`, then the total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (reason, count) in self.iter() {
            let name = reason.name().unwrap_or("unknown reason");
            writeln!(f, "  {name:<36} ({:>2}): {count}", reason.number())?;
        }
        write!(f, "  {:<36}     : {}", "total", self.total())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn counts_and_prints_by_name() {
        let mut s = ExitStats::new();
        s.record(BasicExitReason::IO_INSTRUCTION);
        s.record(BasicExitReason::IO_INSTRUCTION);
        s.record(BasicExitReason::CPUID);
        s.record(BasicExitReason(999));
        assert_eq!(s.count(BasicExitReason::IO_INSTRUCTION), 2);
        assert_eq!(s.total(), 4);
        let text = s.to_string();
        assert!(text.contains("CPUID"));
        assert!(text.contains("IO_INSTRUCTION"));
        assert!(text.contains("unknown reason"));
        assert!(text.lines().next().unwrap().contains("CPUID")); // 10 before 30
    }
}
