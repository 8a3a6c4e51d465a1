//! Booting a bare-metal ELF in Bochs and running the test kernel's scenario suite.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bochs::{self, BochsConfig, RunResult};
use crate::bochs3;
use crate::elf::Elf;
use crate::entry_names;
use crate::image::DiskImage;
use crate::models::Emulator;
use crate::report::SuiteReport;

/// Emulated instructions per emulated second: low, so the BIOS's timed waits pass quickly.
pub const DEFAULT_IPS: u64 = 4_000_000;
/// Guest RAM.
pub const DEFAULT_MEMORY_MIB: u32 = 256;

/// How to boot an image.
#[derive(Debug, Clone)]
pub struct BootOptions {
    /// Which Bochs.
    pub emulator: Emulator,
    /// Bochs CPU model.
    pub model: String,
    /// Wall-clock limit for the whole Bochs run.
    pub timeout: Duration,
    /// `cpu: ips=`.
    pub ips: u64,
    /// Guest RAM in MiB.
    pub memory_mib: u32,
    /// Artifact directory (image, bochsrc, logs).
    pub dir: PathBuf,
    /// Scenario filter passed to the kernel (comma-separated name substrings; "" = all).
    pub filter: String,
}

impl BootOptions {
    /// Defaults for `model` on Bochs 2.7, artifacts under `target/ci/<model>`.
    pub fn new(model: &str, timeout: Duration) -> Self {
        Self::on(Emulator::Bochs27, model, timeout)
    }

    /// Defaults for `model` on `emulator`; artifacts under `target/ci/<model>` (Bochs 2.7)
    /// or `target/ci/bochs3-<model>` (Bochs 3.0).
    pub fn on(emulator: Emulator, model: &str, timeout: Duration) -> Self {
        let dir = match emulator {
            Emulator::Bochs27 => crate::builder::artifact_dir(model),
            Emulator::Bochs30 => crate::builder::artifact_dir(&format!("bochs3-{model}")),
        };
        Self {
            emulator,
            model: model.to_string(),
            timeout,
            ips: DEFAULT_IPS,
            memory_mib: DEFAULT_MEMORY_MIB,
            dir,
            filter: String::new(),
        }
    }

    /// The run's name: the model parameter the kernel gets ([`Emulator::boot_model`]),
    /// also the label of its output lines.
    pub fn label(&self) -> String {
        self.emulator.boot_model(&self.model)
    }
}

/// Reads the ELF at `elf_path`, makes its disk image (boot parameters `model` and
/// `filter`) and writes it to `dir/disk.img`, creating `dir`. Returns the canonical `dir`,
/// the image's path and its cylinders.
pub fn write_disk_image(
    elf_path: &Path,
    model: &str,
    filter: &str,
    dir: &Path,
) -> Result<(PathBuf, PathBuf, u64), String> {
    let bytes =
        std::fs::read(elf_path).map_err(|e| format!("reading {}: {e}", elf_path.display()))?;
    let elf = Elf::parse(&bytes).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let image = DiskImage::from_elf(&elf, model, filter)
        .map_err(|e| format!("{}: {e}", elf_path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let disk = dir.join("disk.img");
    // Bochs locks the image with `<image>.lock`; a killed run leaves it behind.
    let _ = std::fs::remove_file(dir.join("disk.img.lock"));
    std::fs::write(&disk, &image.bytes).map_err(|e| format!("writing {}: {e}", disk.display()))?;
    Ok((dir, disk, image.cylinders))
}

/// Makes the disk image and bochsrc for `elf` in `opts.dir` and runs Bochs, passing each
/// output line to `on_line`. Reusable for any `baremetal` binary.
pub fn boot_elf(
    elf_path: &Path,
    opts: &BootOptions,
    on_line: impl FnMut(&str),
) -> Result<RunResult, String> {
    // Bochs 3.0's build first: it may take minutes, and failing needs no image.
    let bochs3 = match opts.emulator {
        Emulator::Bochs27 => None,
        Emulator::Bochs30 => Some(bochs3::ensure_built()?),
    };
    let (dir, disk, cylinders) =
        write_disk_image(elf_path, &opts.label(), &opts.filter, &opts.dir)?;
    let log = dir.join("bochs.log");
    let serial = dir.join("serial.txt");
    for stale in [&log, &serial] {
        let _ = std::fs::remove_file(stale);
    }
    let config = BochsConfig {
        model: opts.model.clone(),
        ips: opts.ips,
        memory_mib: opts.memory_mib,
        disk,
        cylinders,
        log,
        serial,
    };
    let rc_path = dir.join("bochsrc.txt");
    let rc_text = match &bochs3 {
        None => config.render(),
        Some(install) => bochs3::adapt_bochsrc(&config.render(), install),
    };
    std::fs::write(&rc_path, rc_text).map_err(|e| format!("writing {}: {e}", rc_path.display()))?;
    let dbg_path = dir.join("debugger.rc");
    std::fs::write(&dbg_path, bochs::DEBUGGER_RC)
        .map_err(|e| format!("writing {}: {e}", dbg_path.display()))?;
    let result = match &bochs3 {
        None => bochs::run(&dir, &rc_path, &dbg_path, opts.timeout, on_line)?,
        Some(install) => {
            let mut cmd = std::process::Command::new(&install.bochs);
            cmd.arg("-q")
                .arg("-f")
                .arg(&rc_path)
                .arg("-rc")
                .arg(&dbg_path);
            bochs::run_with_timeout(&cmd, &dir, opts.timeout, on_line)?
        }
    };
    let _ = std::fs::write(dir.join("stdout.txt"), result.lines.join("\n"));
    Ok(result)
}

/// A finished suite run on one model.
#[derive(Debug, Clone)]
pub struct SuiteRun {
    /// The run's name ([`BootOptions::label`]): the model, `bochs3/` before it on Bochs 3.0.
    pub model: String,
    /// What Bochs did.
    pub run: RunResult,
    /// What the kernel reported.
    pub report: SuiteReport,
    /// Artifact directory.
    pub dir: PathBuf,
    /// The `entry_check` scenario's names against Bochs's log ([`entry_names`]), when it ran.
    pub names: Option<entry_names::NameReport>,
}

impl SuiteRun {
    /// Whether every scenario passed or was skipped and the run completed.
    pub fn success(&self) -> bool {
        !self.run.timed_out && self.report.complete() && self.report.counted.failed == 0
    }

    /// Explains a failed run: failures, the unfinished scenario, the Bochs log lines
    /// naming failed VMX checks or panics, and the tail of the log.
    pub fn diagnosis(&self) -> Vec<String> {
        let mut out = Vec::new();
        let m = &self.model;
        for (n, d) in &self.report.failures {
            out.push(format!("[{m}] FAIL {n}: {d}"));
        }
        for f in &self.report.fatal {
            out.push(format!("[{m}] FATAL: {f}"));
        }
        for n in &self.report.duplicates {
            out.push(format!(
                "[{m}] scenario name {n} reported more than once (names must be unique)"
            ));
        }
        if self.run.timed_out {
            out.push(format!(
                "[{m}] bochs killed by the time limit after {} s",
                self.run.wall.as_secs()
            ));
        }
        if let Some(n) = &self.report.unfinished {
            out.push(format!(
                "[{m}] scenario {n} started and never reported (hang, reset or crash)"
            ));
        }
        if self.report.summary.is_none() {
            out.push(format!(
                "[{m}] no summary line from the kernel (bochs exit code {:?})",
                self.run.exit_code
            ));
        } else if self.report.summary != Some(self.report.counted) {
            out.push(format!(
                "[{m}] the kernel's summary disagrees with its result lines"
            ));
        }
        out.extend(bochs::log_report(
            m,
            &self.dir.join("bochs.log"),
            |_| false,
            usize::MAX,
            15,
        ));
        out
    }
}

/// Runs the suite kernel `elf` on `opts.model`; `label` prefixes the streamed lines.
pub fn run_suite(elf: &Path, opts: &BootOptions, label: bool) -> Result<SuiteRun, String> {
    let run = boot_elf(elf, opts, echo(&opts.label(), label))?;
    let mut report = SuiteReport::from_lines(run.lines.iter().map(String::as_str));
    // An undocumented name difference fails `entry_check` (see entry_names.rs).
    let names = std::fs::read_to_string(opts.dir.join("bochs.log"))
        .ok()
        .and_then(|log| entry_names::from_log(&log));
    if let Some(n) = &names {
        entry_names::apply(n, &run.lines, &mut report);
    }
    Ok(SuiteRun {
        model: opts.label(),
        run,
        report,
        dir: opts.dir.clone(),
        names,
    })
}

/// The streaming printer of a run's output: drops empty lines and [`is_bochs_noise`], and
/// with `label` prefixes each line with `[model]`, so that the lines of runs in parallel
/// stay attributable (each line is printed whole).
pub fn echo(model: &str, label: bool) -> impl FnMut(&str) + use<> {
    let prefix = if label {
        format!("[{model}] ")
    } else {
        String::new()
    };
    move |line| {
        if !line.is_empty() && !is_bochs_noise(line) {
            println!("{prefix}{line}");
        }
    }
}

/// Bochs's banner and the debugger's own lines (kept in `stdout.txt`, not echoed).
pub fn is_bochs_noise(line: &str) -> bool {
    line.starts_with("=====")
        || line.starts_with("Next at t=")
        || line.starts_with("(0)")
        || [
            "Bochs x86 Emulator",
            "Built from SVN",
            "Built from GitHub",
            "Timestamp:",
            "magic breakpoint mask:",
        ]
        .iter()
        .any(|p| line.trim_start().starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_named_and_kept_apart_per_bochs() {
        let t = Duration::from_secs(1);
        let old = BootOptions::new("tigerlake", t);
        let new = BootOptions::on(Emulator::Bochs30, "tigerlake", t);
        assert_eq!(
            (old.label(), new.label()),
            ("tigerlake".into(), "bochs3/tigerlake".into())
        );
        assert_eq!(new.model, "tigerlake");
        assert!(old.dir.ends_with("ci/tigerlake"));
        assert!(new.dir.ends_with("ci/bochs3-tigerlake"));
    }

    #[test]
    fn noise_filter() {
        assert!(is_bochs_noise("Next at t=0"));
        assert!(is_bochs_noise("(0) Magic breakpoint"));
        assert!(is_bochs_noise(
            "                        Bochs x86 Emulator 2.7"
        ));
        assert!(is_bochs_noise(
            "            Built from GitHub snapshot on February 16, 2025"
        ));
        assert!(is_bochs_noise("magic breakpoint mask: 0x8 bx "));
        assert!(!is_bochs_noise("ok smoke_a"));
        assert!(!is_bochs_noise("FAIL x: y"));
    }
}
