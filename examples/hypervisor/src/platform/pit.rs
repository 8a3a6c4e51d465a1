//! The 8254 programmable interval timer: ports 0x40-0x43, counter modes 0-5, counter latch,
//! read-back, lobyte/hibyte access, BCD counting, and port 0x61 (gate 2, speaker data,
//! OUT2, refresh toggle). Counters run at 1.193182 MHz derived from the TSC (Intel 8254
//! datasheet, "Mode Definitions"; port 0x61 as in the PC/AT system control port B).

/// The PIT input clock in Hz.
pub const PIT_HZ: u64 = 1_193_182;

/// One counter of the 8254.
#[derive(Clone, Copy, Debug, Default)]
struct Counter {
    /// Control word bits 5:0 (access, mode, BCD).
    control: u8,
    /// The count register (reload value), as written.
    reload: u16,
    /// TSC at which the count was loaded (or counting restarted by the gate).
    load_tsc: u64,
    /// A count has been loaded since the last control word.
    loaded: bool,
    /// Counting is stopped (gate low in modes 0, 2, 3, 4) with this many ticks done.
    frozen: Option<u64>,
    /// Modes 1 and 5 wait for a gate trigger.
    triggered: bool,
    gate: bool,
    /// Low byte written, high byte awaited (lobyte/hibyte access).
    write_lsb_done: bool,
    write_lsb: u8,
    /// Low byte read, high byte next.
    read_lsb_done: bool,
    latched_count: Option<u16>,
    latched_status: Option<u8>,
}

impl Counter {
    fn access(&self) -> u8 {
        (self.control >> 4) & 3
    }
    fn mode(&self) -> u8 {
        let m = (self.control >> 1) & 7;
        // 110b and 111b are modes 2 and 3.
        if m >= 6 { m - 4 } else { m }
    }
    fn bcd(&self) -> bool {
        self.control & 1 != 0
    }
    /// The count N in ticks (0 means 65536, or 10000 in BCD).
    fn n(&self) -> u64 {
        let value = if self.bcd() {
            from_bcd(self.reload)
        } else {
            u64::from(self.reload)
        };
        match value {
            0 if self.bcd() => 10_000,
            0 => 65_536,
            v => v,
        }
    }
    fn counting(&self) -> bool {
        self.loaded && (!matches!(self.mode(), 1 | 5) || self.triggered)
    }
    /// Ticks counted since the load.
    fn ticks(&self, now_ticks: u64, load_ticks: u64) -> u64 {
        self.frozen
            .unwrap_or_else(|| now_ticks.saturating_sub(load_ticks))
    }
    /// (count, OUT) after `e` ticks of counting.
    fn state(&self, e: u64) -> (u64, bool) {
        let n = self.n();
        if !self.counting() {
            // Before a count is loaded OUT is low in mode 0 and high otherwise.
            return (n % 65_536, self.mode() != 0);
        }
        let wrap = if self.bcd() { 10_000 } else { 65_536 };
        match self.mode() {
            0 | 1 => ((n + wrap - e % wrap) % wrap, e >= n),
            2 => {
                let phase = e % n;
                (n - phase, phase != n - 1)
            }
            3 => {
                let phase = e % n;
                let high = n.div_ceil(2);
                if phase < high {
                    (n - 2 * phase, true)
                } else {
                    (n - 2 * (phase - high), false)
                }
            }
            _ => ((n + wrap - e % wrap) % wrap, e != n),
        }
    }
    /// Number of OUT rising edges after `e` ticks of counting.
    fn rising_edges(&self, e: u64) -> u64 {
        if !self.counting() {
            return 0;
        }
        let n = self.n();
        match self.mode() {
            0 | 1 => u64::from(e >= n),
            2 | 3 => e / n,
            _ => u64::from(e > n),
        }
    }
    /// Ticks at which rising edge number `k` (1-based) happens, if ever.
    fn edge_tick(&self, k: u64) -> Option<u64> {
        if !self.counting() || self.frozen.is_some() {
            return None;
        }
        let n = self.n();
        match self.mode() {
            0 | 1 => (k == 1).then_some(n),
            2 | 3 => k.checked_mul(n),
            _ => (k == 1).then_some(n + 1),
        }
    }
}

fn from_bcd(v: u16) -> u64 {
    let d = |s: u16| u64::from((v >> s) & 0xF).min(9);
    d(12) * 1000 + d(8) * 100 + d(4) * 10 + d(0)
}

fn to_bcd(v: u64) -> u16 {
    let v = v % 10_000;
    ((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10)) as u16
}

/// The 8254 PIT with port 0x61 (8254 datasheet; PC/AT port B).
#[derive(Clone, Debug)]
pub struct Pit {
    tsc_hz: u64,
    counters: [Counter; 3],
    /// Port 0x61 bits 3:0 (gate 2, speaker data, parity and channel-check enables).
    port_b: u8,
    /// Channel-0 rising edges already reported by [`Pit::take_irq0_edges`].
    irq0_edges_seen: u64,
}

impl Pit {
    /// A PIT whose clock is derived from a TSC of `tsc_khz` kHz (0 is taken as 1 kHz).
    pub fn new(tsc_khz: u64) -> Pit {
        let mut counters = [Counter::default(); 3];
        counters[0].gate = true;
        counters[1].gate = true;
        Pit {
            tsc_hz: tsc_khz.max(1).saturating_mul(1000),
            counters,
            port_b: 0,
            irq0_edges_seen: 0,
        }
    }

    /// PIT ticks at TSC `tsc`.
    fn ticks_at(&self, tsc: u64) -> u64 {
        (u128::from(tsc) * u128::from(PIT_HZ) / u128::from(self.tsc_hz)) as u64
    }

    /// The first TSC at which the PIT has counted `ticks` ticks.
    fn tsc_at(&self, ticks: u64) -> u64 {
        let t = (u128::from(ticks) * u128::from(self.tsc_hz)).div_ceil(u128::from(PIT_HZ));
        u64::try_from(t).unwrap_or(u64::MAX)
    }

    fn elapsed(&self, ch: usize, now: u64) -> u64 {
        let c = &self.counters[ch];
        c.ticks(self.ticks_at(now), self.ticks_at(c.load_tsc))
    }

    /// OUT of counter `ch` (0-2) at TSC `now`.
    pub fn out(&self, ch: usize, now: u64) -> bool {
        let e = self.elapsed(ch, now);
        self.counters[ch].state(e).1
    }

    /// Reads port 0x40-0x42 (counter), 0x43 (reads nothing: 0xFF) or 0x61.
    pub fn read(&mut self, port: u16, now: u64) -> u8 {
        match port {
            0x40..=0x42 => self.read_counter(usize::from(port - 0x40), now),
            0x61 => {
                let refresh = (self.ticks_at(now) / 18) & 1 != 0;
                self.port_b
                    | if refresh { 0x10 } else { 0 }
                    | if self.out(2, now) { 0x20 } else { 0 }
            }
            _ => 0xFF,
        }
    }

    fn read_counter(&mut self, ch: usize, now: u64) -> u8 {
        if let Some(status) = self.counters[ch].latched_status.take() {
            return status;
        }
        let e = self.elapsed(ch, now);
        let c = &mut self.counters[ch];
        let count = match c.latched_count {
            Some(v) => v,
            None => {
                let v = c.state(e).0;
                if c.bcd() { to_bcd(v) } else { v as u16 }
            }
        };
        let (byte, done) = match c.access() {
            1 => (count as u8, true),
            2 => ((count >> 8) as u8, true),
            _ if !c.read_lsb_done => {
                c.read_lsb_done = true;
                (count as u8, false)
            }
            _ => {
                c.read_lsb_done = false;
                ((count >> 8) as u8, true)
            }
        };
        if done {
            c.latched_count = None;
        }
        byte
    }

    fn latch_count(&mut self, ch: usize, now: u64) {
        if self.counters[ch].latched_count.is_some() {
            return;
        }
        let e = self.elapsed(ch, now);
        let c = &mut self.counters[ch];
        let v = c.state(e).0;
        c.latched_count = Some(if c.bcd() { to_bcd(v) } else { v as u16 });
    }

    fn set_gate(&mut self, ch: usize, gate: bool, now: u64) {
        let e = self.elapsed(ch, now);
        let resume_load = self.counters[ch]
            .frozen
            .map(|done| now.saturating_sub(self.tsc_at(done)));
        let c = &mut self.counters[ch];
        let rising = gate && !c.gate;
        c.gate = gate;
        match c.mode() {
            0 | 4 => {
                if gate {
                    if let (Some(_), Some(load)) = (c.frozen.take(), resume_load) {
                        c.load_tsc = load;
                    }
                } else if c.frozen.is_none() {
                    c.frozen = Some(e);
                }
            }
            _ => {
                if !gate && matches!(c.mode(), 2 | 3) {
                    c.frozen = Some(0);
                } else if rising {
                    c.frozen = None;
                    c.triggered = true;
                    c.load_tsc = now;
                }
            }
        }
        if ch == 0 {
            self.irq0_edges_seen = 0;
        }
    }

    /// Writes port 0x40-0x42 (count), 0x43 (control word) or 0x61 (bits 3:0).
    pub fn write(&mut self, port: u16, value: u8, now: u64) {
        match port {
            0x40..=0x42 => self.write_counter(usize::from(port - 0x40), value, now),
            0x43 => self.write_control(value, now),
            0x61 => {
                self.port_b = value & 0x0F;
                self.set_gate(2, value & 1 != 0, now);
            }
            _ => {}
        }
    }

    fn write_counter(&mut self, ch: usize, value: u8, now: u64) {
        let c = &mut self.counters[ch];
        let complete = match c.access() {
            1 => {
                c.reload = u16::from(value);
                true
            }
            2 => {
                c.reload = u16::from(value) << 8;
                true
            }
            _ if !c.write_lsb_done => {
                c.write_lsb_done = true;
                c.write_lsb = value;
                false
            }
            _ => {
                c.write_lsb_done = false;
                c.reload = u16::from(c.write_lsb) | u16::from(value) << 8;
                true
            }
        };
        if complete {
            c.loaded = true;
            c.load_tsc = now;
            c.frozen = None;
            c.triggered = false;
            if !c.gate && matches!(c.mode(), 0 | 2 | 3 | 4) {
                c.frozen = Some(0);
            }
            if ch == 0 {
                self.irq0_edges_seen = 0;
            }
        }
    }

    fn write_control(&mut self, value: u8, now: u64) {
        let select = value >> 6;
        if select == 3 {
            // Read-back command: bit 5 clear latches counts, bit 4 clear latches status.
            for ch in 0..3 {
                if value & (2 << ch) == 0 {
                    continue;
                }
                if value & 0x10 == 0 && self.counters[ch].latched_status.is_none() {
                    let out = self.out(ch, now);
                    let c = &mut self.counters[ch];
                    let null = !c.loaded;
                    c.latched_status = Some(
                        (c.control & 0x3F)
                            | if out { 0x80 } else { 0 }
                            | if null { 0x40 } else { 0 },
                    );
                }
                if value & 0x20 == 0 {
                    self.latch_count(ch, now);
                }
            }
            return;
        }
        let ch = usize::from(select);
        if value & 0x30 == 0 {
            self.latch_count(ch, now);
            return;
        }
        let gate = self.counters[ch].gate;
        self.counters[ch] = Counter {
            control: value & 0x3F,
            gate,
            ..Counter::default()
        };
        if ch == 0 {
            self.irq0_edges_seen = 0;
        }
    }

    /// Number of channel-0 OUT rising edges (ISA IRQ 0) since the last call.
    pub fn take_irq0_edges(&mut self, now: u64) -> u64 {
        let e = self.elapsed(0, now);
        let edges = self.counters[0].rising_edges(e);
        let new = edges.saturating_sub(self.irq0_edges_seen);
        self.irq0_edges_seen = edges;
        new
    }

    /// The TSC of the next channel-0 OUT rising edge not yet taken, if one will come.
    pub fn next_irq0(&self) -> Option<u64> {
        let c = &self.counters[0];
        let tick = c.edge_tick(self.irq0_edges_seen + 1)?;
        let load = self.ticks_at(c.load_tsc);
        // The edge is due when ticks_at(now) - ticks_at(load) reaches `tick`.
        Some(self.tsc_at(load.saturating_add(tick)).max(c.load_tsc))
    }
}
