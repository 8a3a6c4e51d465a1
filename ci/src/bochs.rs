//! Running a disk image in Bochs 2.7: the bochsrc, the debugger rc file, installing Bochs
//! when missing, and a run under a wall-clock timeout that streams the guest's output.
//!
//! Facts used (measured, see shared/bochs/NOTES.md): Debian's Bochs has no `nogui`
//! display, so `display_library: rfb, options="timeout=0"` (Bochs tries ports 5900-5949
//! in turn, so parallel runs do not collide); the internal debugger stops at t=0, so the
//! rc file says `c` then `quit`; `magic_break: enabled=1` makes the kernel's final
//! `xchg bx, bx` stop into the debugger, which quits with exit code 0; port 0xE9 bytes go
//! to Bochs's stdout unpaced, which is what we stream and parse.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The BIOS image of Debian's `bochsbios` package.
pub const BIOS: &str = "/usr/share/bochs/BIOS-bochs-latest";
/// The VGA BIOS of Debian's `vgabios` package.
pub const VGA_BIOS: &str = "/usr/share/bochs/VGABIOS-lgpl-latest";
/// What installs Bochs on Debian/Ubuntu.
pub const INSTALL_COMMAND: &str = "apt-get update && apt-get install -y bochs bochsbios vgabios";

/// Everything a bochsrc needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BochsConfig {
    /// `cpu: model=`.
    pub model: String,
    /// Emulated instructions per emulated second (`cpu: ips=`). Low values make the
    /// BIOS's timed waits short in wall time; the TSC counts instructions regardless.
    pub ips: u64,
    /// Guest RAM in MiB.
    pub memory_mib: u32,
    /// The raw disk image.
    pub disk: PathBuf,
    /// Its cylinders (16 heads, 63 sectors per track).
    pub cylinders: u64,
    /// Bochs's own log file.
    pub log: PathBuf,
    /// Where COM1's bytes go.
    pub serial: PathBuf,
}

impl BochsConfig {
    /// The bochsrc text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Written by `cargo ci`; see ci/src/bochs.rs.");
        let _ = writeln!(s, "romimage: file={BIOS}");
        let _ = writeln!(s, "vgaromimage: file={VGA_BIOS}");
        let _ = writeln!(
            s,
            "cpu: model={}, count=2, ips={}, reset_on_triple_fault=0, ignore_bad_msrs=0",
            self.model, self.ips
        );
        let _ = writeln!(
            s,
            "memory: guest={}, host={}",
            self.memory_mib, self.memory_mib
        );
        let _ = writeln!(
            s,
            "ata0-master: type=disk, path=\"{}\", mode=flat, cylinders={}, heads=16, spt=63",
            self.disk.display(),
            self.cylinders
        );
        let _ = writeln!(s, "boot: disk");
        let _ = writeln!(s, "log: {}", self.log.display());
        let _ = writeln!(s, "panic: action=fatal");
        let _ = writeln!(s, "error: action=report");
        let _ = writeln!(s, "info: action=report");
        let _ = writeln!(s, "debug: action=ignore");
        let _ = writeln!(
            s,
            "com1: enabled=1, mode=file, dev={}",
            self.serial.display()
        );
        let _ = writeln!(s, "port_e9_hack: enabled=1");
        let _ = writeln!(s, "magic_break: enabled=1");
        let _ = writeln!(s, "clock: sync=none, time0=local");
        let _ = writeln!(s, "speaker: enabled=0");
        let _ = writeln!(
            s,
            "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy"
        );
        let _ = writeln!(s, "mouse: enabled=0");
        let _ = writeln!(s, "display_library: rfb, options=\"timeout=0\"");
        s
    }
}

/// The debugger commands: continue from t=0, quit at the magic breakpoint.
pub const DEBUGGER_RC: &str = "c\nquit\n";

/// Whether an executable named `name` is on PATH.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes sure `bochs` and its BIOS images are installed: installs them with apt-get when
/// running as root, otherwise fails naming the command to run.
pub fn ensure_installed() -> Result<(), String> {
    let present = || on_path("bochs") && Path::new(BIOS).is_file() && Path::new(VGA_BIOS).is_file();
    if present() {
        return Ok(());
    }
    if !is_root() {
        return Err(format!(
            "bochs is not installed; run as root: {INSTALL_COMMAND}"
        ));
    }
    eprintln!("ci: installing bochs: {INSTALL_COMMAND}");
    let ok = Command::new("sh")
        .args([
            "-c",
            &format!("DEBIAN_FRONTEND=noninteractive {INSTALL_COMMAND}"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    if ok && present() {
        Ok(())
    } else {
        Err(format!(
            "installing bochs failed: `{INSTALL_COMMAND}` did not leave bochs, {BIOS} and \
             {VGA_BIOS} in place"
        ))
    }
}

/// How a Bochs run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// Bochs's exit code (`None` if killed by a signal).
    pub exit_code: Option<i32>,
    /// The wall-clock limit was hit and Bochs was killed.
    pub timed_out: bool,
    /// Bochs's stdout, split into lines (debugger prompts removed).
    pub lines: Vec<String>,
    /// Wall time of the run.
    pub wall: Duration,
}

/// Removes the debugger prompt (`<bochs:N> `) that may precede guest output on a line.
pub fn strip_prompt(line: &str) -> &str {
    let mut s = line;
    while let Some(rest) = s.strip_prefix("<bochs:") {
        match rest.find("> ") {
            Some(i) if rest[..i].bytes().all(|b| b.is_ascii_digit()) => s = &rest[i + 2..],
            _ => break,
        }
    }
    s
}

/// Runs `bochs -q -f <bochsrc> -rc <rc>` in `dir` with stdin at /dev/null under
/// [`run_with_timeout`], calling `on_line` for every stdout line as it arrives.
pub fn run(
    dir: &Path,
    bochsrc: &Path,
    rc: &Path,
    limit: Duration,
    on_line: impl FnMut(&str),
) -> Result<RunResult, String> {
    let mut bochs = Command::new("bochs");
    bochs.arg("-q").arg("-f").arg(bochsrc).arg("-rc").arg(rc);
    run_with_timeout(&bochs, dir, limit, on_line)
}

/// Runs `emulator` (program and arguments) in `dir` under `timeout -k 5 <limit>`: SIGTERM
/// at the limit, SIGKILL 5 s later if it is still running, exit code 124 or 137 then.
/// Stdin is /dev/null; `on_line` gets every stdout line (debugger prompts stripped) as it
/// arrives; stderr is kept in `dir/<program>-stderr.txt`.
pub fn run_with_timeout(
    emulator: &Command,
    dir: &Path,
    limit: Duration,
    mut on_line: impl FnMut(&str),
) -> Result<RunResult, String> {
    let program = emulator.get_program().to_string_lossy().into_owned();
    let start = Instant::now();
    let mut child = Command::new("timeout")
        .args(["-k", "5"])
        .arg(limit.as_secs().max(1).to_string())
        .arg(emulator.get_program())
        .args(emulator.get_args())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {program} under timeout: {e}"))?;
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_end(&mut buf);
        }
        buf
    });
    let mut lines = Vec::new();
    if let Some(out) = child.stdout.take() {
        for_each_line(out, |line| {
            on_line(&line);
            lines.push(line);
            true
        });
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    let stderr_bytes = err_thread.join().unwrap_or_default();
    let base = Path::new(&program)
        .file_name()
        .map_or_else(|| program.clone(), |n| n.to_string_lossy().into_owned());
    let _ = std::fs::write(dir.join(format!("{base}-stderr.txt")), stderr_bytes);
    let code = status.code();
    let wall = start.elapsed();
    Ok(RunResult {
        exit_code: code,
        timed_out: timed_out(code, wall, limit),
        lines,
        wall,
    })
}

/// Reads `out` line by line (lossy UTF-8, line ends and debugger prompts stripped) and
/// passes each line to `f` until the stream ends or `f` returns `false`.
pub fn for_each_line(out: impl Read, mut f: impl FnMut(String) -> bool) {
    let mut reader = BufReader::new(out);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&raw);
                if !f(strip_prompt(text.trim_end_matches(['\n', '\r'])).to_string()) {
                    return;
                }
            }
        }
    }
}

/// Whether a run under `timeout -k 5 <limit>` that ended with `code` after `wall` was
/// stopped by the limit: `timeout` exits 124 after SIGTERM worked, 137 (or dies of the
/// SIGKILL itself, no code) when the emulator ignored SIGTERM for 5 s.
pub fn timed_out(code: Option<i32>, wall: Duration, limit: Duration) -> bool {
    matches!(code, Some(124) | Some(137)) || (code.is_none() && wall >= limit)
}

/// The lines of Bochs's log at `log_path` that explain a failure of the run on `model`
/// ([`interesting_log_lines`] not matching `ignore`, at most `keep`), then its last
/// `tail` lines; each prefixed with `[model]`. Empty when the log cannot be read.
pub fn log_report(
    model: &str,
    log_path: &Path,
    ignore: impl Fn(&str) -> bool,
    keep: usize,
    tail: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(log) = std::fs::read_to_string(log_path) else {
        return out;
    };
    let lines: Vec<&str> = interesting_log_lines(&log)
        .into_iter()
        .filter(|l| !ignore(l))
        .collect();
    if !lines.is_empty() {
        out.push(format!(
            "[{model}] bochs log lines about VMX checks / panics ({}):",
            log_path.display()
        ));
        let last = lines.get(lines.len().saturating_sub(keep)..).unwrap_or(&[]);
        out.extend(last.iter().map(|l| format!("[{model}]   {l}")));
    }
    if tail > 0 {
        let all: Vec<&str> = log.lines().collect();
        let last = all.get(all.len().saturating_sub(tail)..).unwrap_or(&[]);
        out.push(format!("[{model}] tail of {}:", log_path.display()));
        out.extend(last.iter().map(|l| format!("[{model}]   {l}")));
    }
    out
}

/// Log lines that explain a failure: failed VM-entry checks, aborts, panics, and
/// the kernel-side fatal errors.
pub fn interesting_log_lines(log: &str) -> Vec<&str> {
    const MARKERS: &[&str] = &[
        "VMFAIL",
        "VMENTER FAIL",
        "VMABORT",
        "VMEXIT",
        "PANIC",
        "panic",
        "triple fault",
        "FATAL",
    ];
    let mut out: Vec<&str> = log
        .lines()
        .filter(|l| MARKERS.iter().any(|m| l.contains(m)))
        .collect();
    // VMEXIT lines can be one per exit: keep the last ones.
    if out.len() > 60 {
        out.drain(..out.len() - 60);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochsrc_has_the_needed_lines() {
        let c = BochsConfig {
            model: "corei7_icelake_u".into(),
            ips: 4_000_000,
            memory_mib: 256,
            disk: "/t/disk.img".into(),
            cylinders: 3,
            log: "/t/bochs.log".into(),
            serial: "/t/serial.txt".into(),
        };
        let rc = c.render();
        for needle in [
            "cpu: model=corei7_icelake_u, count=2, ips=4000000, reset_on_triple_fault=0, ignore_bad_msrs=0\n",
            "memory: guest=256, host=256\n",
            "ata0-master: type=disk, path=\"/t/disk.img\", mode=flat, cylinders=3, heads=16, spt=63\n",
            "boot: disk\n",
            "com1: enabled=1, mode=file, dev=/t/serial.txt\n",
            "port_e9_hack: enabled=1\n",
            "magic_break: enabled=1\n",
            "display_library: rfb, options=\"timeout=0\"\n",
            "panic: action=fatal\n",
            "clock: sync=none",
            "speaker: enabled=0\n",
            "log: /t/bochs.log\n",
        ] {
            assert!(rc.contains(needle), "missing {needle:?} in\n{rc}");
        }
    }

    #[test]
    fn timeouts_are_recognised() {
        let limit = Duration::from_secs(2);
        let after = Duration::from_secs(7);
        assert!(timed_out(Some(124), limit, limit));
        assert!(timed_out(Some(137), after, limit));
        assert!(timed_out(None, after, limit));
        assert!(!timed_out(None, Duration::from_secs(1), limit));
        assert!(!timed_out(Some(0), after, limit));
        assert!(!timed_out(Some(1), Duration::ZERO, limit));
    }

    #[test]
    fn prompts_are_stripped() {
        assert_eq!(strip_prompt("<bochs:1> ok foo"), "ok foo");
        assert_eq!(strip_prompt("<bochs:1> <bochs:2> x"), "x");
        assert_eq!(strip_prompt("<bochs:x> y"), "<bochs:x> y");
        assert_eq!(strip_prompt("plain"), "plain");
        assert_eq!(strip_prompt("<bochs:12"), "<bochs:12");
    }

    #[test]
    fn log_filter_keeps_vmx_failures() {
        let log = "00000i[CPU0] ok\n00001e[CPU0] VMFAIL: VMCS EXEC CTRL: bad\n00002i[CPU0] VMENTER FAIL: guest CS\nx\n";
        assert_eq!(
            interesting_log_lines(log),
            vec![
                "00001e[CPU0] VMFAIL: VMCS EXEC CTRL: bad",
                "00002i[CPU0] VMENTER FAIL: guest CS"
            ]
        );
    }
}
