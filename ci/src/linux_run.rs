//! `cargo ci run` with Linux: the example hypervisor boots an unmodified Linux kernel.
//!
//! [`boot`] resolves the kernel (the small kernel built from `linux-source-6.1`, Debian's
//! stock kernel, or the user's), the initramfs and the command line, writes them as the
//! payload of the hypervisor's disk image (`ci/src/payload.rs`, read by
//! `baremetal::payload`), with a `config` blob that tells the hypervisor the protocol, the
//! number of vCPUs, the guest RAM, the TSC frequency and the mode, and boots Bochs:
//!
//! - [`Mode::Hypervisor`]: the example hypervisor runs Linux under VMX and forwards each
//!   line of the guest's console as `guest: <line>` on its own (port 0xE9) output; it ends
//!   the run itself when the guest powers off.
//! - [`Mode::Bare`]: the same loader copies the same boot plan to physical memory and jumps
//!   to the kernel without VMX (the baseline); Linux then drives Bochs's own devices and its
//!   console is Bochs's COM1 (`serial.txt`, followed here); the run is stopped once Linux
//!   has halted.
//! - interactive: COM1 is a TCP connection to this process, which bridges it to the
//!   terminal (raw mode) so that a person can type into the guest's shell.
//!
//! [`LinuxRun`] holds what the output says: the init marker, its kernel timestamp (the
//! kernel prints the marker that the init writes to `/dev/kmsg` with a `[seconds]` stamp
//! from the TSC, whose frequency both modes are told), the power-off, the exit statistics.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::bochs::{self, BochsConfig};
use crate::builder;
use crate::elf::Elf;
use crate::image::DiskImage;
use crate::linux::{self, KernelKind, LinuxArtifacts};
use crate::payload::Payload;

/// `cpu: ips=` of Linux runs: emulated time then runs at about wall-clock speed on these
/// machines (55-63 M emulated instructions per second), and the TSC (which counts emulated
/// instructions) ticks at this frequency.
pub const LINUX_IPS: u64 = 50_000_000;
/// Bochs's RAM for Linux runs (the hypervisor, the staged images and the guest's RAM).
pub const LINUX_BOCHS_MEMORY_MIB: u32 = 1024;
/// Wall-clock limit of each Linux boot in `cargo ci test` (at least).
pub const LINUX_TEST_TIMEOUT_S: u64 = 300;
/// Guest RAM for the small kernel.
pub const SMALL_RAM_MIB: u32 = 128;
/// Guest RAM for the stock kernel (its image alone spans 16-74 MiB).
pub const STOCK_RAM_MIB: u32 = 256;
pub use crate::linux::INIT_MARKER;
/// The init's line after the marker: the time-stamp counter then (`VMXRS-INIT-TSC <n>`).
pub const INIT_TSC: &str = "VMXRS-INIT-TSC ";
/// The hypervisor's line when it enters the kernel (followed by the TSC).
pub const ENTRY_TSC_HYPERVISOR: &str = "example hypervisor: linux: entering the kernel at TSC ";
/// The loader's line in bare mode before it jumps (`... at TSC <n>` ends it).
pub const ENTRY_TSC_BARE: &str = "example hypervisor: bare: jumping to ";
pub use crate::linux::INIT_DONE_PREFIX as INIT_DONE;
/// The hypervisor's success line.
pub const SUCCESS: &str = "example hypervisor: SUCCESS";
/// The hypervisor's failure line.
pub const FAILED: &str = "example hypervisor: FAILED";
/// Prefix of the guest's console lines in the hypervisor's output.
pub const GUEST_PREFIX: &str = "guest: ";
/// Kernel lines after which a bare run is over (Linux without ACPI halts on power-off).
const BARE_END: &[&str] = &[
    "reboot: System halted",
    "reboot: Power down",
    "Kernel panic",
];

/// The Linux boot protocol the loader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// The bzImage and the 64-bit boot protocol (Documentation/x86/boot.rst).
    Bzimage,
    /// The PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) of the uncompressed vmlinux.
    Pvh,
}

impl Protocol {
    /// The name in the payload's `config`.
    pub const fn config_name(self) -> &'static str {
        match self {
            Protocol::Bzimage => "bzimage",
            Protocol::Pvh => "pvh",
        }
    }
}

/// Which kernel to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelChoice {
    /// The small kernel the ci tool builds from linux-source-6.1.
    Small,
    /// Debian's stock linux-image-amd64 kernel.
    Stock,
    /// A kernel file of the user's (bzImage or ELF vmlinux).
    Custom(PathBuf),
}

/// With or without the hypervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Under the example hypervisor.
    Hypervisor,
    /// Without VMX, by the same loader (the baseline).
    Bare,
}

impl Mode {
    /// The name in the payload's `config`.
    pub const fn config_name(self) -> &'static str {
        match self {
            Mode::Hypervisor => "hypervisor",
            Mode::Bare => "bare",
        }
    }
}

/// One Linux boot.
#[derive(Debug, Clone)]
pub struct LinuxBoot {
    /// Bochs CPU model.
    pub model: String,
    /// The kernel.
    pub kernel: KernelChoice,
    /// The initramfs (None: the ci tool's).
    pub initrd: Option<PathBuf>,
    /// The command line (None: [`default_cmdline`]).
    pub cmdline: Option<String>,
    /// Virtual processors.
    pub vcpus: u32,
    /// The protocol (None: bzImage for the small kernel and bzImages, PVH for the stock
    /// kernel and ELF files).
    pub protocol: Option<Protocol>,
    /// Hypervisor or bare.
    pub mode: Mode,
    /// Terminal connected to the guest's console.
    pub interactive: bool,
    /// Add the options that make the bare and virtualized boots comparable (the TSC
    /// frequency on the command line, FSRM hidden by Linux itself, `quiet`), to both.
    pub comparable: bool,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Artifact directory.
    pub dir: PathBuf,
    /// Prefix streamed lines with this label (None: stream unlabelled).
    pub label: Option<String>,
    /// Interactive mode driven by this input instead of the terminal (`cargo ci test`).
    pub script: Option<String>,
}

impl LinuxBoot {
    /// A batch boot of the small kernel under the hypervisor on `model`.
    pub fn small(model: &str, vcpus: u32, timeout: Duration) -> Self {
        Self {
            model: model.to_string(),
            kernel: KernelChoice::Small,
            initrd: None,
            cmdline: None,
            vcpus,
            protocol: None,
            mode: Mode::Hypervisor,
            interactive: false,
            comparable: false,
            timeout,
            dir: builder::artifact_dir(&format!("linux-{model}")),
            label: None,
            script: None,
        }
    }
}

/// The command line without the user's: the console on the emulated COM1 (and the early
/// console, so that a failure before the serial driver shows), a panic reboots (which ends
/// the run), no crypto self-tests (6.8 s of emulated time on the stock kernel).
pub fn default_cmdline(kernel: &KernelChoice) -> String {
    match kernel {
        KernelChoice::Stock => linux::DEFAULT_CMDLINE_STOCK,
        KernelChoice::Small | KernelChoice::Custom(_) => linux::DEFAULT_CMDLINE_SMALL,
    }
    .to_string()
}

/// What the comparison adds to both boots: the TSC frequency (bare Linux would calibrate
/// it against the PIT, and its timestamps would not convert to instructions), FSRM cleared
/// by Linux itself (Bochs lacks IA32_MISC_ENABLE, see ../shared/bochs/NOTES.md; the
/// hypervisor hides it in CPUID anyway) and `quiet`: Bochs's real UART paces every byte at
/// the emulated baud rate (about 4,300 instructions a byte at 50 M ips) where the
/// hypervisor's is not paced, so a verbose console would favour the hypervisor.
pub fn comparable_options() -> String {
    format!("tsc_early_khz={} clearcpuid=580 quiet", LINUX_IPS / 1000)
}

/// A finished Linux boot.
#[derive(Debug, Clone)]
pub struct LinuxRun {
    /// The configuration that ran.
    pub boot: LinuxBoot,
    /// The kernel's version string (from the artifacts) or file name.
    pub kernel_name: String,
    /// The command line used.
    pub cmdline: String,
    /// The hypervisor's output lines (port 0xE9), guest lines included.
    pub host_lines: Vec<String>,
    /// The guest's console lines.
    pub guest_lines: Vec<String>,
    /// Wall time of the Bochs run.
    pub wall: Duration,
    /// Killed by the time limit.
    pub timed_out: bool,
}

impl LinuxRun {
    /// The kernel timestamp (µs) of the init marker line `[ s.us] VMXRS-INIT-MARKER`.
    pub fn marker_timestamp_us(&self) -> Option<u64> {
        self.guest_lines
            .iter()
            .find_map(|l| kmsg_timestamp_us(l, INIT_MARKER))
    }

    /// Emulated instructions from the TSC's start in Linux (tsc_early_init, in setup_arch)
    /// to the init marker: the marker's timestamp at [`LINUX_IPS`] (Bochs's TSC counts
    /// emulated instructions, the hypervisor's included).
    pub fn marker_instructions(&self) -> Option<u64> {
        self.marker_timestamp_us()
            .map(|us| (u128::from(us) * u128::from(LINUX_IPS) / 1_000_000) as u64)
    }

    /// The TSC at kernel entry, as the hypervisor (or, bare, the loader) printed it.
    pub fn entry_tsc(&self) -> Option<u64> {
        self.host_lines.iter().find_map(|l| {
            if let Some(rest) = l.strip_prefix(ENTRY_TSC_HYPERVISOR) {
                return rest.split_whitespace().next()?.parse().ok();
            }
            let rest = l.strip_prefix(ENTRY_TSC_BARE)?;
            rest.rsplit_once(" at TSC ")?.1.trim().parse().ok()
        })
    }

    /// The TSC the init printed right after its marker.
    pub fn init_tsc(&self) -> Option<u64> {
        self.guest_lines.iter().find_map(|l| {
            let at = l.find(INIT_TSC)?;
            l[at + INIT_TSC.len()..].trim().parse().ok()
        })
    }

    /// Emulated instructions from kernel entry to the init (its TSC line): Bochs's TSC
    /// counts emulated instructions, the hypervisor's included.
    pub fn entry_to_init_instructions(&self) -> Option<u64> {
        self.init_tsc()?.checked_sub(self.entry_tsc()?)
    }

    /// Whether the init printed its marker.
    pub fn saw_marker(&self) -> bool {
        self.guest_lines
            .iter()
            .any(|l| l.trim_end() == INIT_MARKER || l.ends_with(INIT_MARKER))
    }

    /// The init's final status.
    pub fn init_status(&self) -> Option<i64> {
        self.guest_lines.iter().find_map(|l| {
            let at = l.find(INIT_DONE)?;
            l[at + INIT_DONE.len()..].trim().parse().ok()
        })
    }

    /// The processors `/proc/cpuinfo` listed.
    pub fn cpuinfo_processors(&self) -> usize {
        self.guest_lines
            .iter()
            .filter(|l| {
                l.starts_with("processor")
                    && l.split(':').next().is_some_and(|k| k.trim() == "processor")
            })
            .count()
    }

    /// Whether the hypervisor (or, bare, the kernel) reported a clean end.
    pub fn success(&self) -> bool {
        if self.timed_out || !self.saw_marker() || self.init_status() != Some(0) {
            return false;
        }
        match self.boot.mode {
            Mode::Hypervisor => self.host_lines.iter().any(|l| l == SUCCESS),
            Mode::Bare => self
                .guest_lines
                .iter()
                .any(|l| l.contains("reboot: System halted") || l.contains("reboot: Power down")),
        }
    }

    /// The hypervisor's failure line, if any.
    pub fn failure(&self) -> Option<&str> {
        self.host_lines
            .iter()
            .find(|l| l.starts_with(FAILED))
            .map(String::as_str)
    }

    /// The exit-statistics block the hypervisor printed (from its header to the end).
    pub fn exit_statistics(&self) -> Vec<&str> {
        let start = self
            .host_lines
            .iter()
            .position(|l| l.starts_with("example hypervisor: exit statistics"));
        match start {
            Some(i) => self.host_lines[i..]
                .iter()
                .filter(|l| !l.starts_with(GUEST_PREFIX))
                .map(String::as_str)
                .collect(),
            None => Vec::new(),
        }
    }
}

/// The `[ seconds.micros]` stamp of a kernel log line that ends with `text`, in µs.
pub fn kmsg_timestamp_us(line: &str, text: &str) -> Option<u64> {
    let line = line.trim_end();
    if !line.ends_with(text) {
        return None;
    }
    let open = line.find('[')?;
    let close = open + line[open..].find(']')?;
    let stamp = line[open + 1..close].trim();
    let (secs, micros) = stamp.split_once('.')?;
    let secs: u64 = secs.trim().parse().ok()?;
    if micros.len() != 6 {
        return None;
    }
    let micros: u64 = micros.parse().ok()?;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// The kernel bytes, initramfs bytes, protocol and a name, as `boot` asks.
fn resolve(boot: &LinuxBoot) -> Result<(Vec<u8>, Vec<u8>, Protocol, String), String> {
    let artifacts = |kind| -> Result<LinuxArtifacts, String> { linux::artifacts(kind) };
    let (kernel, protocol, name, default_initrd) = match &boot.kernel {
        KernelChoice::Small | KernelChoice::Stock => {
            let (kind, default) = if boot.kernel == KernelChoice::Small {
                (KernelKind::Small, Protocol::Bzimage)
            } else {
                (KernelKind::Stock, Protocol::Pvh)
            };
            let a = artifacts(kind)?;
            let protocol = boot.protocol.unwrap_or(default);
            let path = match protocol {
                Protocol::Bzimage => &a.bzimage,
                Protocol::Pvh => &a.vmlinux,
            };
            (
                read(path)?,
                protocol,
                a.version.clone(),
                Some(a.initrd.clone()),
            )
        }
        KernelChoice::Custom(path) => {
            let bytes = read(path)?;
            let detected = if is_elf(&bytes) {
                Protocol::Pvh
            } else {
                Protocol::Bzimage
            };
            let protocol = boot.protocol.unwrap_or(detected);
            if protocol != detected {
                return Err(format!(
                    "{}: --protocol {} needs {}, this file is {}",
                    path.display(),
                    protocol.config_name(),
                    if protocol == Protocol::Pvh {
                        "an ELF vmlinux"
                    } else {
                        "a bzImage"
                    },
                    if detected == Protocol::Pvh {
                        "an ELF"
                    } else {
                        "not an ELF (a bzImage?)"
                    }
                ));
            }
            (bytes, protocol, path.display().to_string(), None)
        }
    };
    let initrd_path = match (&boot.initrd, default_initrd) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p,
        (None, None) => linux::initramfs()?,
    };
    Ok((kernel, read(&initrd_path)?, protocol, name))
}

/// The command line `boot` uses.
pub fn cmdline_for(boot: &LinuxBoot) -> String {
    let mut cmdline = boot
        .cmdline
        .clone()
        .unwrap_or_else(|| default_cmdline(&boot.kernel));
    if boot.comparable {
        cmdline.push(' ');
        cmdline.push_str(&comparable_options());
    }
    if boot.interactive {
        cmdline.push(' ');
        cmdline.push_str(linux::INTERACTIVE_WORD);
    }
    cmdline
}

/// The payload's `config` text.
pub fn config_text(boot: &LinuxBoot, protocol: Protocol) -> String {
    let ram = if boot.kernel == KernelChoice::Small {
        SMALL_RAM_MIB
    } else {
        STOCK_RAM_MIB
    };
    format!(
        "protocol={}\nvcpus={}\nram_mib={ram}\ntsc_khz={}\nmode={}\nconsole={}\n",
        protocol.config_name(),
        boot.vcpus,
        LINUX_IPS / 1000,
        boot.mode.config_name(),
        if boot.interactive {
            "interactive"
        } else {
            "batch"
        }
    )
}

/// Writes the disk image with the hypervisor `elf` and the Linux payload into `dir`.
fn write_image(
    elf_path: &Path,
    boot: &LinuxBoot,
    payload: &Payload,
) -> Result<(PathBuf, PathBuf, u64), String> {
    let bytes = read(elf_path)?;
    let elf = Elf::parse(&bytes).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let image = DiskImage::from_elf_with_payload(&elf, &boot.model, "", payload)
        .map_err(|e| format!("{}: {e}", elf_path.display()))?;
    std::fs::create_dir_all(&boot.dir)
        .map_err(|e| format!("creating {}: {e}", boot.dir.display()))?;
    let dir = boot
        .dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", boot.dir.display()))?;
    let disk = dir.join("disk.img");
    let _ = std::fs::remove_file(dir.join("disk.img.lock"));
    std::fs::write(&disk, &image.bytes).map_err(|e| format!("writing {}: {e}", disk.display()))?;
    Ok((dir, disk, image.cylinders))
}

/// What the run loop hears.
enum Event {
    /// A line of Bochs's stdout (the hypervisor's port 0xE9 output).
    Host(String),
    /// A line of COM1 (bare mode: Linux's console).
    Serial(String),
    /// Bochs's stdout closed.
    HostClosed,
}

fn spawn_reader(out: impl Read + Send + 'static, tx: mpsc::Sender<Event>) {
    std::thread::spawn(move || {
        bochs::for_each_line(out, |line| tx.send(Event::Host(line)).is_ok());
        let _ = tx.send(Event::HostClosed);
    });
}

/// Follows `path` (a file Bochs appends COM1's bytes to) and sends its complete lines.
fn spawn_serial_follower(path: PathBuf, tx: mpsc::Sender<Event>, stop: mpsc::Receiver<()>) {
    std::thread::spawn(move || {
        let mut offset = 0usize;
        let mut partial = Vec::new();
        loop {
            let done = stop.try_recv().is_ok();
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.len() > offset {
                for &b in &bytes[offset..] {
                    if b == b'\n' {
                        let text = String::from_utf8_lossy(&partial);
                        let line = text.trim_end_matches('\r').to_string();
                        partial.clear();
                        if tx.send(Event::Serial(line)).is_err() {
                            return;
                        }
                    } else {
                        partial.push(b);
                    }
                }
                offset = bytes.len();
            }
            if done {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

fn terminate(child: &Child) {
    // `timeout` forwards SIGTERM to Bochs.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
}

fn stty(args: &[&str]) {
    if let Ok(tty) = std::fs::File::open("/dev/tty") {
        let _ = Command::new("stty").args(args).stdin(tty).status();
    }
}

/// Bridges the terminal and COM1 (a TCP connection from Bochs) until Bochs closes it.
fn bridge_terminal(stream: TcpStream) {
    let mut from_guest = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ci run: console connection: {e}");
            return;
        }
    };
    let mut to_guest = stream;
    stty(&["raw", "-echo"]);
    let out = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut stdout = std::io::stdout();
        while let Ok(n) = from_guest.read(&mut buf) {
            if n == 0 {
                break;
            }
            let _ = stdout.write_all(&buf[..n]);
            let _ = stdout.flush();
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || to_guest.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let _ = out.join();
    stty(&["sane"]);
}

/// The line the init prints before it starts the interactive shell (ci/linux/init).
const SHELL_BANNER: &str = "vmxrs: interactive shell";

/// Drives COM1 (a TCP connection from Bochs) with `script` instead of a terminal: once the
/// init's shell banner and then a `# ` prompt arrived, sends the script; returns every line
/// received (printed with `label`) until Bochs closes the connection.
fn scripted_console(stream: TcpStream, script: &str, label: &str) -> Vec<String> {
    let mut to_guest = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => return vec![format!("console connection: {e}")],
    };
    let mut from_guest = stream;
    let mut text = String::new();
    let mut sent = false;
    let mut buf = [0u8; 4096];
    while let Ok(n) = from_guest.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if !sent
            && let Some(at) = text.find(SHELL_BANNER)
            && text[at..].contains("# ")
        {
            sent = to_guest.write_all(script.as_bytes()).is_ok();
        }
    }
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    for l in &lines {
        println!("[{label}] console: {l}");
    }
    lines
}

/// Boots `boot` and collects its output; streams lines as they arrive.
pub fn boot(boot: &LinuxBoot) -> Result<LinuxRun, String> {
    bochs::ensure_installed()?;
    let (kernel, initrd, protocol, kernel_name) = resolve(boot)?;
    let cmdline = cmdline_for(boot);
    let mut payload = Payload::new();
    payload.add("config", config_text(boot, protocol).into_bytes());
    payload.add("cmdline", cmdline.clone().into_bytes());
    payload.add("kernel", kernel);
    payload.add("initrd", initrd);
    let elf = crate::run::build_example()?;
    let (dir, disk, cylinders) = write_image(&elf, boot, &payload)?;
    let log = dir.join("bochs.log");
    let serial = dir.join("serial.txt");
    for stale in [&log, &serial] {
        let _ = std::fs::remove_file(stale);
    }
    let listener = if boot.interactive {
        Some(TcpListener::bind("127.0.0.1:0").map_err(|e| format!("console socket: {e}"))?)
    } else {
        None
    };
    let config = BochsConfig {
        model: boot.model.clone(),
        ips: LINUX_IPS,
        memory_mib: LINUX_BOCHS_MEMORY_MIB,
        disk,
        cylinders,
        log,
        serial: serial.clone(),
    };
    let mut rc_text = config.render();
    if boot.mode == Mode::Bare {
        // Linux drives Bochs's processors itself: as many as it would get vCPUs. Bochs
        // lacks IA32_MISC_ENABLE, which Linux's verify_cpu reads on every Intel family-6
        // processor: bare Linux needs Bochs to ignore unknown MSRs (reads 0), as it does
        // by default (the suite's bochsrc turns that off to see VMX code's MSR faults).
        rc_text = rc_text
            .replace(", count=2,", &format!(", count={},", boot.vcpus))
            .replace("ignore_bad_msrs=0", "ignore_bad_msrs=1");
    }
    if let Some(l) = &listener {
        let port = l
            .local_addr()
            .map_err(|e| format!("console socket: {e}"))?
            .port();
        rc_text = rc_text
            .lines()
            .map(|line| {
                if line.starts_with("com1:") {
                    format!("com1: enabled=1, mode=socket-client, dev=127.0.0.1:{port}")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
    }
    let rc_path = dir.join("bochsrc.txt");
    std::fs::write(&rc_path, rc_text).map_err(|e| format!("writing {}: {e}", rc_path.display()))?;
    let dbg_path = dir.join("debugger.rc");
    std::fs::write(&dbg_path, bochs::DEBUGGER_RC)
        .map_err(|e| format!("writing {}: {e}", dbg_path.display()))?;

    let start = Instant::now();
    let mut child = Command::new("timeout")
        .args(["-k", "5"])
        .arg(boot.timeout.as_secs().max(1).to_string())
        .arg("bochs")
        .arg("-q")
        .arg("-f")
        .arg(&rc_path)
        .arg("-rc")
        .arg(&dbg_path)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("bochs-stderr.txt"))
                .map_err(|e| format!("creating bochs-stderr.txt: {e}"))?,
        ))
        .spawn()
        .map_err(|e| format!("starting bochs under timeout: {e}"))?;
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        spawn_reader(out, tx.clone());
    }
    let (stop_tx, stop_rx) = mpsc::channel();
    let mut host_lines = Vec::new();
    let mut guest_lines = Vec::new();
    if let Some(listener) = listener {
        // Bochs connects when it starts; then the terminal is the guest's console until
        // Bochs closes the connection. The hypervisor's own lines also reach port 0xE9.
        let _ = listener.set_nonblocking(false);
        match (listener.accept(), &boot.script) {
            (Ok((stream, _)), None) => bridge_terminal(stream),
            (Ok((stream, _)), Some(script)) => {
                let label = boot.label.as_deref().unwrap_or("interactive");
                guest_lines = scripted_console(stream, script, label);
            }
            (Err(e), _) => eprintln!("ci run: Bochs did not connect the console: {e}"),
        }
        drop(tx);
        while let Ok(ev) = rx.recv() {
            if let Event::Host(line) = ev {
                host_lines.push(line);
            }
        }
    } else {
        if boot.mode == Mode::Bare {
            spawn_serial_follower(serial.clone(), tx.clone(), stop_rx);
        }
        drop(tx);
        let label = boot
            .label
            .as_deref()
            .map(|l| format!("[{l}] "))
            .unwrap_or_default();
        let mut ending: Option<Instant> = None;
        loop {
            let ev = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(ev) => Some(ev),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match ev {
                Some(Event::Host(line)) => {
                    println!("{label}{line}");
                    if let Some(g) = line.strip_prefix(GUEST_PREFIX) {
                        guest_lines.push(g.to_string());
                    }
                    host_lines.push(line);
                }
                Some(Event::Serial(line)) => {
                    println!("{label}bare: {line}");
                    if BARE_END.iter().any(|e| line.contains(e)) && ending.is_none() {
                        ending = Some(Instant::now());
                    }
                    guest_lines.push(line);
                }
                Some(Event::HostClosed) => {
                    let _ = stop_tx.send(());
                }
                None => {}
            }
            // A halted bare Linux never ends the run itself: stop it a moment later.
            if ending.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
                terminate(&child);
                ending = Some(Instant::now() + Duration::from_secs(3600));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for bochs: {e}"))?;
    let wall = start.elapsed();
    let code = status.code();
    let killed_by_us = boot.mode == Mode::Bare
        && guest_lines
            .iter()
            .any(|l| BARE_END.iter().any(|e| l.contains(e)));
    Ok(LinuxRun {
        boot: boot.clone(),
        kernel_name,
        cmdline,
        host_lines,
        guest_lines,
        wall,
        timed_out: !killed_by_us && bochs::timed_out(code, wall, boot.timeout),
    })
}

/// Prints the summary of `run`.
pub fn print_summary(run: &LinuxRun) {
    println!(
        "== linux on {} ({}, {}, {} vCPU{}, {:.1} s wall)",
        run.boot.model,
        run.kernel_name,
        run.boot.mode.config_name(),
        run.boot.vcpus,
        if run.boot.vcpus == 1 { "" } else { "s" },
        run.wall.as_secs_f64()
    );
    println!("command line: {}", run.cmdline);
    let verdict = |ok: bool| if ok { "ok  " } else { "FAIL" };
    println!("{} init marker {INIT_MARKER}", verdict(run.saw_marker()));
    if let Some(n) = run.entry_to_init_instructions() {
        println!("     kernel entry to init: {n} emulated instructions (TSC)");
    }
    if let (Some(us), Some(n)) = (run.marker_timestamp_us(), run.marker_instructions()) {
        println!(
            "     marker at kernel time {}.{:06} s = {n} emulated instructions",
            us / 1_000_000,
            us % 1_000_000
        );
    }
    println!(
        "{} /proc/cpuinfo lists {} processor(s), {} expected",
        verdict(run.cpuinfo_processors() == run.boot.vcpus as usize),
        run.cpuinfo_processors(),
        run.boot.vcpus
    );
    println!(
        "{} init status {:?}",
        verdict(run.init_status() == Some(0)),
        run.init_status()
    );
    if run.timed_out {
        println!(
            "FAIL killed by the time limit after {} s",
            run.wall.as_secs()
        );
    }
    if let Some(f) = run.failure() {
        println!("FAIL {f}");
    }
    if run.boot.mode == Mode::Hypervisor {
        for l in run.exit_statistics() {
            println!("{l}");
        }
    }
}

/// `cargo ci run` for Linux: one boot, or (`compare`) the bare baseline and the
/// virtualized boot with the ratio.
pub fn cmd_run_linux(mut boot: LinuxBoot, compare: bool) -> Result<bool, String> {
    if compare {
        boot.comparable = true;
        let mut bare = boot.clone();
        bare.mode = Mode::Bare;
        bare.dir = builder::artifact_dir(&format!("linux-bare-{}", boot.model));
        println!("== bare baseline: the same kernel and command line without VMX");
        let b = self::boot(&bare)?;
        print_summary(&b);
        println!("== under the example hypervisor");
        let v = self::boot(&boot)?;
        print_summary(&v);
        print_ratio(&b, &v);
        return Ok(b.success() && v.success());
    }
    let run = self::boot(&boot)?;
    if !boot.interactive {
        print_summary(&run);
    }
    Ok(run.success() || (boot.interactive && run.failure().is_none() && !run.timed_out))
}

/// The ratio line of a comparison, or why there is none: emulated instructions from kernel
/// entry to the init (TSC lines), then from Linux's TSC clock start (tsc_early_init) to the
/// marker (kernel timestamps).
pub fn ratio_line(bare: &LinuxRun, virt: &LinuxRun) -> String {
    let what = format!(
        "{}, {} vCPU, {}",
        virt.kernel_name, virt.boot.vcpus, virt.boot.model
    );
    let entry = match (
        bare.entry_to_init_instructions(),
        virt.entry_to_init_instructions(),
    ) {
        (Some(b), Some(v)) if b > 0 => format!(
            "ratio {:.3} from kernel entry to init: {v} emulated instructions under the hypervisor, {b} bare",
            v as f64 / b as f64
        ),
        _ => "ratio from kernel entry: unavailable (a TSC line is missing)".to_string(),
    };
    let clock = match (bare.marker_instructions(), virt.marker_instructions()) {
        (Some(b), Some(v)) if b > 0 => format!(
            "; {:.3} from Linux's TSC clock start to the marker ({v} / {b})",
            v as f64 / b as f64
        ),
        _ => String::new(),
    };
    format!("{entry}{clock} ({what})")
}

fn print_ratio(bare: &LinuxRun, virt: &LinuxRun) {
    println!("{}", ratio_line(bare, virt));
}

/// One Linux configuration of `cargo ci test`.
struct TestBoot {
    name: String,
    boot: LinuxBoot,
    /// Also boot it bare and report the ratio.
    baseline: bool,
}

fn test_boots(timeout: Duration) -> Vec<TestBoot> {
    let mut out = Vec::new();
    for model in ["corei7_icelake_u", "corei7_sandy_bridge_2600k"] {
        for vcpus in [1, 2] {
            let mut boot = LinuxBoot::small(model, vcpus, timeout);
            boot.dir = builder::artifact_dir(&format!("linux-small-{vcpus}-{model}"));
            boot.label = Some(format!("small/{vcpus}/{model}"));
            // The sandy bridge 1-vCPU boot is also the comparison with the bare baseline.
            let baseline = model == "corei7_sandy_bridge_2600k" && vcpus == 1;
            boot.comparable = baseline;
            out.push(TestBoot {
                name: format!("linux_small_{vcpus}vcpu_{model}"),
                boot,
                baseline,
            });
        }
    }
    let model = "corei7_sandy_bridge_2600k";
    let mut boot = LinuxBoot::small(model, 1, timeout);
    boot.kernel = KernelChoice::Stock;
    boot.comparable = true;
    boot.dir = builder::artifact_dir(&format!("linux-stock-1-{model}"));
    boot.label = Some(format!("stock/1/{model}"));
    out.push(TestBoot {
        name: format!("linux_stock_pvh_1vcpu_{model}"),
        boot,
        baseline: true,
    });
    out
}

/// The Linux boots of `cargo ci test`: the small kernel with one and two vCPUs on
/// corei7_icelake_u and corei7_sandy_bridge_2600k, the stock kernel (PVH) on sandy bridge;
/// each a counted result (marker, status 0, /proc/cpuinfo, hypervisor success), and the
/// interactive console driven by a script on corei7_icelake_u. The small
/// and stock 1-vCPU sandy bridge boots are compared with their bare baselines (ratios
/// printed, not asserted: performance is measured, never a test verdict).
pub fn linux_checks(timeout: Duration) -> (crate::report::Tally, bool) {
    let mut tally = crate::report::Tally::default();
    let mut ratios = Vec::new();
    for t in test_boots(timeout) {
        let started = Instant::now();
        let result = self::boot(&t.boot);
        match result {
            Ok(run) if run.success() && run.cpuinfo_processors() == t.boot.vcpus as usize => {
                tally.passed += 1;
                println!("ok {} ({:.1} s)", t.name, started.elapsed().as_secs_f64());
                if t.baseline {
                    let mut bare = t.boot.clone();
                    bare.mode = Mode::Bare;
                    bare.dir = builder::artifact_dir(&format!("linux-bare-{}", t.name));
                    bare.label = t.boot.label.as_ref().map(|l| format!("{l}/bare"));
                    match self::boot(&bare) {
                        Ok(b) if b.success() => {
                            tally.passed += 1;
                            println!("ok {}_bare_baseline", t.name);
                            ratios.push(ratio_line(&b, &run));
                        }
                        Ok(b) => {
                            tally.failed += 1;
                            print_summary(&b);
                            println!(
                                "FAIL {}_bare_baseline: the bare boot did not reach a clean halt",
                                t.name
                            );
                        }
                        Err(e) => {
                            tally.failed += 1;
                            println!("FAIL {}_bare_baseline: {e}", t.name);
                        }
                    }
                }
                for l in run.exit_statistics() {
                    println!("[{}] {l}", t.name);
                }
            }
            Ok(run) => {
                tally.failed += 1;
                print_summary(&run);
                println!("FAIL {} (artifacts in {})", t.name, t.boot.dir.display());
            }
            Err(e) => {
                tally.failed += 1;
                println!("FAIL {}: {e}", t.name);
            }
        }
    }
    // The interactive console, driven by a script: the shell evaluates what it is sent
    // (the echo of the command line shows `$((6*7))`, only the shell's output shows 42) and
    // the guest powers off when it exits.
    let model = "corei7_icelake_u";
    let mut boot = LinuxBoot::small(model, 1, timeout);
    boot.interactive = true;
    boot.script = Some("echo vmxrs-$((6*7))\nexit\n".to_string());
    boot.dir = builder::artifact_dir(&format!("linux-interactive-{model}"));
    boot.label = Some(format!("interactive/{model}"));
    let name = format!("linux_interactive_shell_{model}");
    match self::boot(&boot) {
        Ok(run) if run.success() && run.guest_lines.iter().any(|l| l.trim() == "vmxrs-42") => {
            tally.passed += 1;
            println!("ok {name} ({:.1} s)", run.wall.as_secs_f64());
        }
        Ok(run) => {
            tally.failed += 1;
            print_summary(&run);
            println!(
                "FAIL {name}: no clean power-off after the shell printed vmxrs-42 (artifacts in {})",
                boot.dir.display()
            );
        }
        Err(e) => {
            tally.failed += 1;
            println!("FAIL {name}: {e}");
        }
    }
    for r in &ratios {
        println!("linux {r}");
    }
    (tally, tally.failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scripted interactive boot alone (needs Bochs and the cached kernel; `cargo ci
    /// test` runs it as `linux_interactive_shell_corei7_icelake_u`).
    #[test]
    #[ignore = "boots Bochs (minutes); part of cargo ci test"]
    fn scripted_interactive_shell() {
        let mut boot = LinuxBoot::small("corei7_icelake_u", 1, Duration::from_secs(300));
        boot.interactive = true;
        boot.script = Some("echo vmxrs-$((6*7))\nexit\n".to_string());
        boot.dir = builder::artifact_dir("linux-interactive-test");
        let run = self::boot(&boot).unwrap();
        assert!(
            run.guest_lines.iter().any(|l| l.trim() == "vmxrs-42"),
            "{:?}",
            run.guest_lines
        );
        assert!(run.success(), "{:?}", run.host_lines);
    }

    #[test]
    fn kmsg_stamps_parse() {
        assert_eq!(
            kmsg_timestamp_us("[    2.345678] VMXRS-INIT-MARKER", INIT_MARKER),
            Some(2_345_678)
        );
        assert_eq!(
            kmsg_timestamp_us("[12345.000001] VMXRS-INIT-MARKER\r", INIT_MARKER),
            Some(12_345_000_001)
        );
        assert_eq!(kmsg_timestamp_us("VMXRS-INIT-MARKER", INIT_MARKER), None);
        assert_eq!(
            kmsg_timestamp_us("[ 1.2] VMXRS-INIT-MARKER", INIT_MARKER),
            None
        );
        assert_eq!(kmsg_timestamp_us("[    2.345678] other", INIT_MARKER), None);
    }

    fn run_with(lines: &[&str], host: &[&str], mode: Mode) -> LinuxRun {
        let mut b = LinuxBoot::small("corei7_icelake_u", 2, Duration::from_secs(1));
        b.mode = mode;
        LinuxRun {
            boot: b,
            kernel_name: "k".into(),
            cmdline: String::new(),
            host_lines: host.iter().map(|s| s.to_string()).collect(),
            guest_lines: lines.iter().map(|s| s.to_string()).collect(),
            wall: Duration::from_secs(1),
            timed_out: false,
        }
    }

    #[test]
    fn run_verdicts() {
        let guest = [
            "VMXRS-INIT-MARKER",
            "[    1.500000] VMXRS-INIT-MARKER",
            "processor\t: 0",
            "processor\t: 1",
            "VMXRS-INIT-TSC 1000",
            "VMXRS-INIT-DONE status=0",
        ];
        let host = [
            ENTRY_TSC_HYPERVISOR.to_string() + "100",
            SUCCESS.to_string(),
        ];
        let host: Vec<&str> = host.iter().map(String::as_str).collect();
        let r = run_with(&guest, &host, Mode::Hypervisor);
        assert!(r.success());
        assert_eq!(r.cpuinfo_processors(), 2);
        assert_eq!(r.marker_instructions(), Some(75_000_000));
        assert_eq!(r.entry_to_init_instructions(), Some(900));
        assert!(!run_with(&guest, &["example hypervisor: FAILED: x"], Mode::Hypervisor).success());
        let mut bare = guest.to_vec();
        bare.push("[    2.000000] reboot: System halted");
        let bare_run = run_with(
            &bare,
            &["example hypervisor: bare: jumping to Long64 { rip: 1 } at TSC 400"],
            Mode::Bare,
        );
        assert!(bare_run.success());
        assert_eq!(bare_run.entry_to_init_instructions(), Some(600));
        assert!(!run_with(&guest, &[], Mode::Bare).success());
        let failed = ["VMXRS-INIT-MARKER", "VMXRS-INIT-DONE status=3"];
        assert!(!run_with(&failed, &[SUCCESS], Mode::Hypervisor).success());
    }

    #[test]
    fn config_and_cmdline() {
        let mut b = LinuxBoot::small("m", 2, Duration::from_secs(1));
        let c = config_text(&b, Protocol::Bzimage);
        assert!(
            c.contains("protocol=bzimage\n")
                && c.contains("vcpus=2\n")
                && c.contains("ram_mib=128\n")
        );
        assert!(
            c.contains("tsc_khz=50000\n")
                && c.contains("mode=hypervisor\n")
                && c.contains("console=batch\n")
        );
        b.comparable = true;
        b.interactive = true;
        let cl = cmdline_for(&b);
        assert!(cl.starts_with("console=ttyS0"));
        assert!(cl.contains("tsc_early_khz=50000") && cl.ends_with(" vmxrs.interactive"));
    }
}
