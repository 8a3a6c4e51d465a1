//! The payload's `config` blob: `key=value` lines (keys in /work/notes/linux.md, issue 12).

use core::fmt;

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

/// The kernel's boot protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolKind {
    /// bzImage boot protocol.
    BzImage,
    /// PVH entry of an ELF vmlinux.
    Pvh,
}

/// The parsed configuration.
#[derive(Clone, Copy, Debug)]
pub struct VmConfig {
    /// Boot protocol.
    pub protocol: ProtocolKind,
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
            protocol: ProtocolKind::BzImage,
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
                        "bzimage" => ProtocolKind::BzImage,
                        "pvh" => ProtocolKind::Pvh,
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
