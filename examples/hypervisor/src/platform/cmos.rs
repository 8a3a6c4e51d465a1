//! The MC146818 real-time clock and CMOS RAM at ports 0x70 (index, bit 7 masks NMI) and
//! 0x71 (data): time and date registers in BCD or binary and 24- or 12-hour format as
//! status register B says, status A with UIP clear, status D with VRT set, 128 bytes of
//! RAM (MC146818 datasheet, "Address Map" and "Registers"). The clock starts at a fixed
//! date, [`RTC_EPOCH`], at TSC 0 and advances with the TSC.

/// The date and time the clock shows at TSC 0: 2026-01-01 00:00:00 (a Thursday).
pub const RTC_EPOCH: (i64, u32, u32) = (2026, 1, 1);

const REG_A: usize = 0x0A;
const REG_B: usize = 0x0B;
const REG_C: usize = 0x0C;
const REG_D: usize = 0x0D;
/// The century byte (the IBM PC/AT CMOS layout).
const CENTURY: usize = 0x32;
const B_BINARY: u8 = 0x04;
const B_24H: u8 = 0x02;

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of day `z` after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The MC146818 RTC with its CMOS RAM.
#[derive(Clone, Debug)]
pub struct Cmos {
    index: u8,
    ram: [u8; 128],
    tsc_hz: u64,
    /// Seconds since 1970 at TSC 0 (the guest may set the clock).
    base_seconds: i64,
}

impl Cmos {
    /// The RTC for a TSC of `tsc_khz` kHz (0 is taken as 1 kHz).
    pub fn new(tsc_khz: u64) -> Cmos {
        let mut ram = [0u8; 128];
        ram[REG_A] = 0x26;
        ram[REG_B] = B_24H;
        ram[REG_D] = 0x80;
        let (y, m, d) = RTC_EPOCH;
        Cmos {
            index: 0,
            ram,
            tsc_hz: tsc_khz.max(1).saturating_mul(1000),
            base_seconds: days_from_civil(y, m, d) * 86_400,
        }
    }

    /// Whether the last index write set bit 7 (NMI disabled on the PC).
    pub fn nmi_masked(&self) -> bool {
        self.index & 0x80 != 0
    }

    fn seconds(&self, now: u64) -> i64 {
        self.base_seconds + (now / self.tsc_hz) as i64
    }

    fn encode(&self, v: u32) -> u8 {
        if self.ram[REG_B] & B_BINARY != 0 {
            v as u8
        } else {
            ((v / 10) << 4 | (v % 10)) as u8
        }
    }

    fn decode(&self, v: u8) -> u32 {
        if self.ram[REG_B] & B_BINARY != 0 {
            u32::from(v)
        } else {
            u32::from(v >> 4) * 10 + u32::from(v & 0xF)
        }
    }

    /// Time fields at `now`: (sec, min, hour, weekday 1-7 Sunday=1, day, month, year, century).
    fn fields(&self, now: u64) -> [u32; 8] {
        let s = self.seconds(now);
        let days = s.div_euclid(86_400);
        let rem = s.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        // 1970-01-01 was a Thursday (weekday 5 with Sunday = 1).
        let weekday = ((days + 4).rem_euclid(7) + 1) as u32;
        let y = y.rem_euclid(10_000) as u32;
        [
            rem % 60,
            rem / 60 % 60,
            rem / 3600,
            weekday,
            d,
            m,
            y % 100,
            y / 100,
        ]
    }

    fn read_register(&self, index: usize, now: u64) -> u8 {
        let f = self.fields(now);
        match index {
            0x00 => self.encode(f[0]),
            0x02 => self.encode(f[1]),
            0x04 => {
                if self.ram[REG_B] & B_24H != 0 {
                    self.encode(f[2])
                } else {
                    let h = f[2] % 12;
                    let pm = if f[2] >= 12 { 0x80 } else { 0 };
                    self.encode(if h == 0 { 12 } else { h }) | pm
                }
            }
            0x06 => self.encode(f[3]),
            0x07 => self.encode(f[4]),
            0x08 => self.encode(f[5]),
            0x09 => self.encode(f[6]),
            CENTURY => self.encode(f[7]),
            REG_A => self.ram[REG_A] & 0x7F,
            REG_D => 0x80,
            i => self.ram[i & 0x7F],
        }
    }

    fn write_register(&mut self, index: usize, value: u8, now: u64) {
        let mut f = self.fields(now);
        let field = match index {
            0x00 => 0,
            0x02 => 1,
            0x04 => 2,
            0x07 => 4,
            0x08 => 5,
            0x09 => 6,
            CENTURY => 7,
            REG_C | REG_D => return,
            REG_A => {
                self.ram[REG_A] = value & 0x7F;
                return;
            }
            i => {
                self.ram[i & 0x7F] = value;
                return;
            }
        };
        let mut v = self.decode(value & if field == 2 { 0x7F } else { 0xFF });
        if field == 2 && self.ram[REG_B] & B_24H == 0 {
            v = v % 12 + if value & 0x80 != 0 { 12 } else { 0 };
        }
        f[field] = v;
        let year = i64::from(f[7]) * 100 + i64::from(f[6]);
        let month = f[5].clamp(1, 12);
        let day = f[4].clamp(1, 31);
        let secs = days_from_civil(year, month, day) * 86_400
            + i64::from(f[2].min(23)) * 3600
            + i64::from(f[1].min(59)) * 60
            + i64::from(f[0].min(59));
        self.base_seconds = secs - (now / self.tsc_hz) as i64;
    }

    /// Reads port 0x70 (all ones: the index is write-only) or 0x71.
    pub fn read(&mut self, port: u16, now: u64) -> u8 {
        match port {
            0x71 => self.read_register(usize::from(self.index & 0x7F), now),
            _ => 0xFF,
        }
    }

    /// Writes port 0x70 (index and NMI mask) or 0x71 (data).
    pub fn write(&mut self, port: u16, value: u8, now: u64) {
        match port {
            0x70 => self.index = value,
            0x71 => self.write_register(usize::from(self.index & 0x7F), value, now),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rd(c: &mut Cmos, i: u8, now: u64) -> u8 {
        c.write(0x70, i, now);
        c.read(0x71, now)
    }

    #[test]
    fn fixed_date_in_bcd() {
        let mut c = Cmos::new(1000); // 1 MHz TSC
        assert_eq!(rd(&mut c, 0x09, 0), 0x26);
        assert_eq!(rd(&mut c, 0x32, 0), 0x20);
        assert_eq!(rd(&mut c, 0x08, 0), 0x01);
        assert_eq!(rd(&mut c, 0x07, 0), 0x01);
        assert_eq!(rd(&mut c, 0x06, 0), 0x05, "Thursday");
        let t = 3_725 * 1_000_000; // 01:02:05
        assert_eq!(rd(&mut c, 0x04, t), 0x01);
        assert_eq!(rd(&mut c, 0x02, t), 0x02);
        assert_eq!(rd(&mut c, 0x00, t), 0x05);
        assert_eq!(rd(&mut c, 0x0A, 0) & 0x80, 0);
        assert_eq!(rd(&mut c, 0x0B, 0), 0x02);
        assert_eq!(rd(&mut c, 0x0D, 0), 0x80);
        assert!(!c.nmi_masked());
        c.write(0x70, 0x80 | 0x0D, 0);
        assert!(c.nmi_masked());
        assert_eq!(c.read(0x71, 0), 0x80);
    }

    #[test]
    fn binary_12h_ram_and_set() {
        let mut c = Cmos::new(1000);
        c.write(0x70, 0x0B, 0);
        c.write(0x71, B_BINARY, 0);
        let t = 13 * 3600 * 1_000_000;
        assert_eq!(rd(&mut c, 0x04, t), 0x81, "1 PM");
        c.write(0x70, 0x40, 0);
        c.write(0x71, 0xAB, 0);
        assert_eq!(rd(&mut c, 0x40, 0), 0xAB);
        c.write(0x70, 0x0B, 0);
        c.write(0x71, B_24H, 0);
        c.write(0x70, 0x09, 0);
        c.write(0x71, 0x30, 0);
        assert_eq!(rd(&mut c, 0x09, 0), 0x30);
        assert_eq!(rd(&mut c, 0x08, 0), 0x01);
    }

    #[test]
    fn calendar_round_trip() {
        for z in [-1, 0, 365, 11_016, 20_454, 60_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
