//! The payload's `config` blob, written by `cargo ci` (ci/src/linux_run.rs): `key=value`
//! lines, `#` comments and blank lines ignored, unknown keys ignored (a newer ci may add
//! some). Keys: `protocol=bzimage|pvh`, `vcpus=1..=4`, `ram_mib=128..=3072`, `tsc_khz=N`
//! (Bochs `ips` / 1000), `mode=hypervisor|bare`, `console=batch|interactive`, `max_tsc=N` (or
//! `MeE`, e.g. `60e9`). The blob comes from the disk, so the parser is total: any bytes give
//! a configuration or a typed error.

use core::fmt;

use super::Protocol;

/// How the Linux payload is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Under VMX, every device emulated.
    Hypervisor,
    /// Without VMX, on the real (Bochs) devices: the baseline of the performance ratio.
    Bare,
}

/// Where the guest's console goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleMode {
    /// Complete lines, each printed as `guest: <line>`.
    Batch,
    /// Raw bytes both ways (COM1 of the host is the guest's terminal).
    Interactive,
}

/// The parsed configuration.
#[derive(Clone, Copy, Debug)]
pub struct VmConfig {
    /// Boot protocol.
    pub protocol: Protocol,
    /// Number of vCPUs (1..=4).
    pub vcpus: u32,
    /// Guest RAM in MiB (>= 128).
    pub ram_mib: u64,
    /// TSC frequency in kHz (Bochs `ips` / 1000).
    pub tsc_khz: u64,
    /// Hypervisor or bare.
    pub mode: Mode,
    /// Batch or interactive console.
    pub console: ConsoleMode,
    /// The run's budget in TSC ticks.
    pub max_tsc: u64,
}

/// A bad `config` blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not UTF-8.
    NotUtf8,
    /// A line without `=`.
    NoEquals,
    /// A value that is not a number where one is needed.
    NotANumber(&'static str),
    /// A value out of its range.
    OutOfRange(&'static str),
    /// An unknown value of an enumerated key.
    UnknownValue(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => write!(f, "payload config is not UTF-8"),
            Self::NoEquals => write!(f, "payload config has a line without '='"),
            Self::NotANumber(k) => write!(f, "payload config: {k} is not a number"),
            Self::OutOfRange(k) => write!(f, "payload config: {k} is out of range"),
            Self::UnknownValue(k) => write!(f, "payload config: unknown value of {k}"),
        }
    }
}

fn number(key: &'static str, v: &str) -> Result<u64, ConfigError> {
    let v = v.trim();
    // `60e9` style is accepted for max_tsc.
    if let Some((m, e)) = v.split_once(['e', 'E']) {
        let m: u64 = m.parse().map_err(|_| ConfigError::NotANumber(key))?;
        let e: u32 = e.parse().map_err(|_| ConfigError::NotANumber(key))?;
        return 10u64
            .checked_pow(e)
            .and_then(|p| p.checked_mul(m))
            .ok_or(ConfigError::OutOfRange(key));
    }
    v.parse().map_err(|_| ConfigError::NotANumber(key))
}

impl VmConfig {
    /// Parses the blob; unknown keys are ignored (later parts may add some).
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        let text = core::str::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8)?;
        let mut c = VmConfig {
            protocol: Protocol::BzImage,
            vcpus: 1,
            ram_mib: 256,
            tsc_khz: 4_000,
            mode: Mode::Hypervisor,
            console: ConsoleMode::Batch,
            max_tsc: 60_000_000_000,
        };
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or(ConfigError::NoEquals)?;
            let v = v.trim();
            match k.trim() {
                "protocol" => {
                    c.protocol = match v {
                        "bzimage" => Protocol::BzImage,
                        "pvh" => Protocol::Pvh,
                        _ => return Err(ConfigError::UnknownValue("protocol")),
                    }
                }
                "vcpus" => {
                    let n = number("vcpus", v)?;
                    if !(1..=4).contains(&n) {
                        return Err(ConfigError::OutOfRange("vcpus"));
                    }
                    c.vcpus = n as u32;
                }
                "ram_mib" => {
                    let n = number("ram_mib", v)?;
                    if !(128..=3072).contains(&n) {
                        return Err(ConfigError::OutOfRange("ram_mib"));
                    }
                    c.ram_mib = n;
                }
                "tsc_khz" => {
                    let n = number("tsc_khz", v)?;
                    if n == 0 {
                        return Err(ConfigError::OutOfRange("tsc_khz"));
                    }
                    c.tsc_khz = n;
                }
                "mode" => {
                    c.mode = match v {
                        "hypervisor" => Mode::Hypervisor,
                        "bare" => Mode::Bare,
                        _ => return Err(ConfigError::UnknownValue("mode")),
                    }
                }
                "console" => {
                    c.console = match v {
                        "batch" => ConsoleMode::Batch,
                        "interactive" => ConsoleMode::Interactive,
                        _ => return Err(ConfigError::UnknownValue("console")),
                    }
                }
                "max_tsc" => c.max_tsc = number("max_tsc", v)?,
                _ => {}
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_cargo_ci_writes() {
        let c = VmConfig::parse(
            b"protocol=pvh\nvcpus=2\nram_mib=256\ntsc_khz=50000\nmode=bare\nconsole=interactive\n",
        )
        .unwrap();
        assert_eq!(c.protocol, Protocol::Pvh);
        assert_eq!((c.vcpus, c.ram_mib, c.tsc_khz), (2, 256, 50_000));
        assert_eq!(c.mode, Mode::Bare);
        assert_eq!(c.console, ConsoleMode::Interactive);
        assert_eq!(c.max_tsc, 60_000_000_000);
    }

    #[test]
    fn defaults_comments_unknown_keys_and_exponents() {
        let c = VmConfig::parse(b"# comment\n\n future = 1 \nmax_tsc = 7e3\n").unwrap();
        assert_eq!(c.protocol, Protocol::BzImage);
        assert_eq!(
            (c.vcpus, c.mode, c.console),
            (1, Mode::Hypervisor, ConsoleMode::Batch)
        );
        assert_eq!(c.max_tsc, 7_000);
    }

    #[test]
    fn each_error() {
        let e = |b: &[u8]| VmConfig::parse(b).unwrap_err();
        assert_eq!(e(b"\xff"), ConfigError::NotUtf8);
        assert_eq!(e(b"vcpus"), ConfigError::NoEquals);
        assert_eq!(e(b"vcpus=two"), ConfigError::NotANumber("vcpus"));
        assert_eq!(e(b"vcpus=0"), ConfigError::OutOfRange("vcpus"));
        assert_eq!(e(b"vcpus=5"), ConfigError::OutOfRange("vcpus"));
        assert_eq!(e(b"ram_mib=64"), ConfigError::OutOfRange("ram_mib"));
        assert_eq!(e(b"tsc_khz=0"), ConfigError::OutOfRange("tsc_khz"));
        assert_eq!(e(b"max_tsc=9e30"), ConfigError::OutOfRange("max_tsc"));
        assert_eq!(e(b"max_tsc=1ex"), ConfigError::NotANumber("max_tsc"));
        assert_eq!(e(b"protocol=elf"), ConfigError::UnknownValue("protocol"));
        assert_eq!(e(b"mode=nested"), ConfigError::UnknownValue("mode"));
        assert_eq!(e(b"console=tty"), ConfigError::UnknownValue("console"));
        assert!(!e(b"console=tty").to_string().is_empty());
    }

    proptest! {
        /// Total: any bytes give a configuration or an error, never a panic, and what
        /// parses is within the documented ranges.
        #[test]
        fn parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(c) = VmConfig::parse(&bytes) {
                prop_assert!((1..=4).contains(&c.vcpus));
                prop_assert!((128..=3072).contains(&c.ram_mib));
                prop_assert!(c.tsc_khz > 0);
            }
        }

        #[test]
        fn parse_is_total_on_key_value_text(
            lines in proptest::collection::vec(("[a-z_]{1,9}", "[0-9a-z.eE-]{0,12}"), 0..8)
        ) {
            let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
            let _ = VmConfig::parse(text.as_bytes());
        }
    }
}
