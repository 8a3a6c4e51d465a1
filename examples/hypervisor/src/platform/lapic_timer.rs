//! The local APIC timer: one-shot, periodic and TSC-deadline modes, the divide configuration
//! and the current count (Intel SDM Vol. 3A §12.5.4 "APIC Timer", §12.5.4.1 "TSC-Deadline
//! Mode"). The timer's input clock is the TSC itself (one timer tick per TSC tick before
//! division), so the integrator's CPUID leaf 0x15 must report a core crystal clock equal to
//! the TSC frequency (ratio 1:1) for Linux to compute the same rate.

/// LVT timer mode (LVT timer bits 18:17, Intel SDM Vol. 3A §12.5.4, Figure 12-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerMode {
    /// 00b: counts the initial count down once.
    OneShot,
    /// 01b: reloads the initial count when it reaches zero.
    Periodic,
    /// 10b: fires when the TSC reaches IA32_TSC_DEADLINE.
    TscDeadline,
}

impl TimerMode {
    /// Decodes LVT timer bits 18:17; 11b is reserved (`None`).
    pub fn decode(lvt_timer: u32) -> Option<TimerMode> {
        match (lvt_timer >> 17) & 3 {
            0 => Some(TimerMode::OneShot),
            1 => Some(TimerMode::Periodic),
            2 => Some(TimerMode::TscDeadline),
            _ => None,
        }
    }
}

/// The divide value of a divide configuration register (bits 0, 1, 3; Intel SDM Vol. 3A
/// §12.5.4, Figure 12-10): 1011b divides by 1, otherwise by 2^(value + 1).
pub fn divisor(divide_config: u32) -> u64 {
    let v = ((divide_config >> 1) & 4) | (divide_config & 3);
    if v == 7 { 1 } else { 2 << v }
}

/// The timer's counting state (Intel SDM Vol. 3A §12.5.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApicTimer {
    /// The initial-count register (0x380).
    pub initial: u32,
    /// The divide configuration register (0x3E0), bits 0, 1 and 3.
    pub divide: u32,
    /// TSC at which the current count equalled the initial count.
    start: u64,
    /// Counting (one-shot and periodic modes).
    armed: bool,
    /// IA32_TSC_DEADLINE (0: disarmed).
    deadline: u64,
}

impl ApicTimer {
    fn period(&self) -> u64 {
        u64::from(self.initial) * divisor(self.divide)
    }

    /// Writes the initial-count register at `now` (ignored in TSC-deadline mode; 0 stops
    /// the timer; Intel SDM Vol. 3A §12.5.4).
    pub fn write_initial(&mut self, mode: Option<TimerMode>, value: u32, now: u64) {
        if mode == Some(TimerMode::TscDeadline) {
            return;
        }
        self.initial = value;
        self.start = now;
        self.armed = value != 0;
    }

    /// Writes the divide configuration register at `now`; a running count keeps its value
    /// and continues at the new rate.
    pub fn write_divide(&mut self, mode: Option<TimerMode>, value: u32, now: u64) {
        let count = self.current_count(mode, now);
        self.divide = value & 0xB;
        if self.armed {
            let done = u64::from(self.initial - count) * divisor(self.divide);
            self.start = now.saturating_sub(done);
        }
    }

    /// The LVT timer mode changed from `old` to `new`: a change into or out of TSC-deadline
    /// mode disarms the timer (Intel SDM Vol. 3A §12.5.4.1).
    pub fn mode_changed(&mut self, old: Option<TimerMode>, new: Option<TimerMode>) {
        let deadline = Some(TimerMode::TscDeadline);
        if old != new && (old == deadline || new == deadline) {
            self.initial = 0;
            self.armed = false;
            self.deadline = 0;
        }
    }

    /// The current-count register (0x390) at `now`: 0 in TSC-deadline mode or when stopped.
    pub fn current_count(&self, mode: Option<TimerMode>, now: u64) -> u32 {
        if !self.armed || self.initial == 0 || mode == Some(TimerMode::TscDeadline) {
            return 0;
        }
        let period = self.period();
        let mut elapsed = now.saturating_sub(self.start);
        if mode == Some(TimerMode::Periodic) {
            elapsed %= period;
        } else if elapsed >= period {
            return 0;
        }
        // elapsed < period = initial * divisor, so the quotient is below `initial`.
        self.initial - (elapsed / divisor(self.divide)) as u32
    }

    /// IA32_TSC_DEADLINE as the guest reads it: 0 outside TSC-deadline mode.
    pub fn deadline(&self, mode: Option<TimerMode>) -> u64 {
        if mode == Some(TimerMode::TscDeadline) {
            self.deadline
        } else {
            0
        }
    }

    /// Writes IA32_TSC_DEADLINE (ignored outside TSC-deadline mode; 0 disarms).
    pub fn set_deadline(&mut self, mode: Option<TimerMode>, tsc: u64) {
        if mode == Some(TimerMode::TscDeadline) {
            self.deadline = tsc;
        }
    }

    /// The TSC at which the timer next reaches zero, if it is counting.
    pub fn next_fire(&self, mode: Option<TimerMode>) -> Option<u64> {
        match mode {
            Some(TimerMode::TscDeadline) => (self.deadline != 0).then_some(self.deadline),
            Some(_) if self.armed && self.initial != 0 => {
                Some(self.start.saturating_add(self.period()))
            }
            _ => None,
        }
    }

    /// Advances the timer to `now`; returns whether it reached zero (or its deadline) since
    /// the last call. Periodic expiries that were missed are coalesced into one.
    pub fn expire(&mut self, mode: Option<TimerMode>, now: u64) -> bool {
        let Some(at) = self.next_fire(mode) else {
            return false;
        };
        if now < at {
            return false;
        }
        match mode {
            Some(TimerMode::TscDeadline) => self.deadline = 0,
            Some(TimerMode::Periodic) => {
                let period = self.period();
                self.start += (now - self.start) / period * period;
            }
            _ => self.armed = false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divide_values() {
        let expect = [(0b0000, 2), (0b0001, 4), (0b0010, 8), (0b0011, 16)];
        for (v, d) in expect {
            assert_eq!(divisor(v), d);
        }
        assert_eq!(divisor(0b1000), 32);
        assert_eq!(divisor(0b1001), 64);
        assert_eq!(divisor(0b1010), 128);
        assert_eq!(divisor(0b1011), 1);
    }

    #[test]
    fn one_shot_counts_down_and_fires_once() {
        let m = Some(TimerMode::OneShot);
        let mut t = ApicTimer::default();
        t.write_divide(m, 0b0011, 0);
        t.write_initial(m, 100, 1000);
        assert_eq!(t.current_count(m, 1000), 100);
        assert_eq!(t.current_count(m, 1016), 99);
        assert_eq!(t.next_fire(m), Some(1000 + 1600));
        assert!(!t.expire(m, 2599));
        assert!(t.expire(m, 2600));
        assert_eq!(t.current_count(m, 2600), 0);
        assert!(!t.expire(m, 10_000));
        assert_eq!(t.next_fire(m), None);
    }

    #[test]
    fn periodic_reloads() {
        let m = Some(TimerMode::Periodic);
        let mut t = ApicTimer::default();
        t.write_divide(m, 0b1011, 0);
        t.write_initial(m, 10, 0);
        assert!(t.expire(m, 25));
        assert_eq!(t.next_fire(m), Some(30));
        assert_eq!(t.current_count(m, 27), 3);
        assert!(t.expire(m, 30));
        assert_eq!(t.next_fire(m), Some(40));
    }

    #[test]
    fn deadline_mode() {
        let d = Some(TimerMode::TscDeadline);
        let mut t = ApicTimer::default();
        t.set_deadline(Some(TimerMode::OneShot), 50);
        assert_eq!(t.deadline(d), 0);
        t.set_deadline(d, 50);
        t.write_initial(d, 5, 0);
        assert_eq!(t.initial, 0);
        assert_eq!(t.next_fire(d), Some(50));
        assert!(t.expire(d, 60));
        assert_eq!(t.deadline(d), 0);
        t.set_deadline(d, 70);
        t.mode_changed(d, Some(TimerMode::OneShot));
        assert_eq!(t.next_fire(d), None);
    }
}
