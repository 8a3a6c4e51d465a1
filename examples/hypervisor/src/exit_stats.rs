//! Counting VM exits by basic exit reason (SDM Vol. 3C Appendix C), and what handling them
//! cost the host (TSC ticks, which under Bochs are emulated instructions).

use alloc::collections::BTreeMap;
use core::fmt;

use vmx_defs::exit_reason::BasicExitReason;

/// VM-exit counts per basic exit reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExitStats {
    counts: BTreeMap<u16, u64>,
    /// TSC ticks spent handling exits, per reason (only where [`ExitStats::record_cost`] was
    /// called).
    costs: BTreeMap<u16, u64>,
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

    /// Adds `ticks` of handling (from the exit to the handler's return) to `reason`.
    pub fn record_cost(&mut self, reason: BasicExitReason, ticks: u64) {
        let c = self.costs.entry(reason.number()).or_insert(0);
        *c = c.saturating_add(ticks);
    }

    /// TSC ticks recorded for handling exits of `reason`.
    pub fn cost(&self, reason: BasicExitReason) -> u64 {
        self.costs.get(&reason.number()).copied().unwrap_or(0)
    }

    /// TSC ticks recorded for handling all exits.
    pub fn total_cost(&self) -> u64 {
        self.costs.values().fold(0u64, |a, &c| a.saturating_add(c))
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
    /// One line per reason: `  NAME (number): count`, then the total; where handling costs
    /// were recorded, each line adds the handlers' TSC ticks in all and per exit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_costs = !self.costs.is_empty();
        for (reason, count) in self.iter() {
            let name = reason.name().unwrap_or("unknown reason");
            write!(f, "  {name:<36} ({:>2}): {count}", reason.number())?;
            if with_costs {
                let cost = self.cost(reason);
                write!(
                    f,
                    "  (handlers: {cost} ticks, {} per exit)",
                    cost / count.max(1)
                )?;
            }
            writeln!(f)?;
        }
        write!(f, "  {:<36}     : {}", "total", self.total())?;
        if with_costs {
            let cost = self.total_cost();
            write!(
                f,
                "  (handlers: {cost} ticks, {} per exit)",
                cost / self.total().max(1)
            )?;
        }
        Ok(())
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
        assert!(!text.contains("handlers"));
    }

    #[test]
    fn costs_are_summed_and_averaged() {
        let mut s = ExitStats::new();
        s.record(BasicExitReason::IO_INSTRUCTION);
        s.record(BasicExitReason::IO_INSTRUCTION);
        s.record_cost(BasicExitReason::IO_INSTRUCTION, 300);
        s.record_cost(BasicExitReason::IO_INSTRUCTION, 100);
        s.record(BasicExitReason::CPUID);
        assert_eq!(s.cost(BasicExitReason::IO_INSTRUCTION), 400);
        assert_eq!(s.total_cost(), 400);
        let text = s.to_string();
        assert!(
            text.contains("(handlers: 400 ticks, 200 per exit)"),
            "{text}"
        );
        assert!(text.contains("(handlers: 0 ticks, 0 per exit)"), "{text}");
        assert!(
            text.ends_with("(handlers: 400 ticks, 133 per exit)"),
            "{text}"
        );
        s.record_cost(BasicExitReason::CPUID, u64::MAX);
        assert_eq!(s.total_cost(), u64::MAX);
    }
}
