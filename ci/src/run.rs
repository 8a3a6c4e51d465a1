//! `cargo ci run [--model M] [--qemu] [--timeout S]` ([`cmd_run`]): the example hypervisor
//! and its guest.
//!
//! Builds `examples/guest` for the bare-metal target, then `examples/hypervisor` with the
//! guest's path in `EXAMPLE_GUEST_ELF` (its build script embeds it), makes the disk image
//! and boots it in Bochs (default model [`DEFAULT_MODEL`]), streaming the output live. Then
//! checks the output for the markers the example prints ([`check_output`]) and prints a
//! short summary; the exit status is 0 when the hypervisor reported success and every check
//! held.
//!
//! `--qemu` boots the same image with QEMU + KVM instead, which needs an Intel host with
//! nested VMX enabled in `kvm_intel`: [`qemu_kvm_available`] checks and says what is missing.
//!
//! [`example_checks`] runs the example on [`DEFAULT_MODEL`] for `cargo ci test` and turns each
//! check into a counted result.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::bochs::RunResult;
use crate::builder;
use crate::report::Tally;
use crate::suite::{self, BootOptions};

/// The Bochs model `cargo ci run` uses without `--model`.
pub const DEFAULT_MODEL: &str = "corei7_icelake_u";
/// Default wall-clock limit of one `cargo ci run`.
pub const DEFAULT_TIMEOUT_S: u64 = 300;
/// The guest's package and binary.
pub const GUEST_PACKAGE: &str = "example-guest";
/// The hypervisor's package and binary.
pub const HYPERVISOR_PACKAGE: &str = "example-hypervisor";
/// The environment variable through which the hypervisor's build script finds the guest.
pub const GUEST_ELF_VAR: &str = "EXAMPLE_GUEST_ELF";

/// Markers printed by the example (examples/hypervisor/src/hypervisor.rs, and the guest's
/// lines that the hypervisor forwards with the [`GUEST_PREFIX`](marker::GUEST_PREFIX)).
pub mod marker {
    /// Prefix of every line the guest printed on its serial port.
    pub const GUEST_PREFIX: &str = "guest: ";
    /// The guest's first line.
    pub const GUEST_HELLO: &str = "guest: hello from the example guest";
    /// The guest's CPUID signature line (followed by the signature).
    pub const SIGNATURE_LINE: &str = "guest: cpuid 0x40000000:";
    /// The signature the hypervisor returns (example_guest::abi::HYPERVISOR_SIGNATURE).
    pub const SIGNATURE: &str = "\"VmxRsExample\"";
    /// The guest's timer line: `guest: timer: received N timer interrupts`.
    pub const TIMER_LINE: &str = "guest: timer: received ";
    /// Timer interrupts the guest waits for (example_guest::abi::TIMER_TICKS_WANTED).
    pub const TIMER_TICKS_WANTED: u64 = 5;
    /// The guest's MMIO line, with the device's expected answer for operand 0x12345678
    /// (bytes reversed, plus one: example_guest::abi::device_compute).
    pub const MMIO_LINE: &str =
        "guest: mmio: wrote operand 0x12345678, read back 0x12345678, device result 0x78563413";
    /// The hypervisor's count of injected timer interrupts: `... injected: N`.
    pub const INJECTED_LINE: &str = "example hypervisor: timer interrupts injected: ";
    /// Start of the exit statistics.
    pub const STATS_HEADER: &str = "example hypervisor: exit statistics";
    /// Exit reasons the example must have seen (names as vmx-defs prints them).
    pub const STATS_REASONS: &[&str] = &[
        "INTERRUPT_WINDOW",
        "CPUID",
        "HLT",
        "IO_INSTRUCTION",
        "VMCALL",
        "EPT_VIOLATION",
        "VMX_PREEMPTION_TIMER_EXPIRED",
    ];
    /// The hypervisor's last line on success.
    pub const SUCCESS: &str = "example hypervisor: SUCCESS";
    /// The hypervisor's line on failure (followed by the reason).
    pub const FAILED: &str = "example hypervisor: FAILED";
    /// Part of the failure line when the CPU has no EPT.
    pub const NEEDS_EPT: &str = "needs EPT";
}

/// One named check of the example's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `example_...`, counted by `cargo ci test`.
    pub name: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// What was found (or missing).
    pub detail: String,
}

fn find<'a>(lines: &'a [String], prefix: &str) -> Option<&'a str> {
    lines
        .iter()
        .map(String::as_str)
        .find(|l| l.starts_with(prefix))
}

fn number_after(line: &str, prefix: &str) -> Option<u64> {
    line.strip_prefix(prefix)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn check(name: &'static str, found: Result<String, String>) -> Check {
    match found {
        Ok(detail) => Check {
            name,
            passed: true,
            detail,
        },
        Err(detail) => Check {
            name,
            passed: false,
            detail,
        },
    }
}

/// Checks the example's output lines (Bochs's stdout, prompts stripped).
pub fn check_output(lines: &[String]) -> Vec<Check> {
    use marker::*;
    let mut checks = Vec::new();

    checks.push(check(
        "example_guest_output",
        match find(lines, GUEST_HELLO) {
            Some(l) => Ok(format!(
                "{} guest lines, first: {l}",
                lines.iter().filter(|l| l.starts_with(GUEST_PREFIX)).count()
            )),
            None => Err(format!("no line starting with {GUEST_HELLO:?}")),
        },
    ));

    checks.push(check(
        "example_signature",
        match find(lines, SIGNATURE_LINE) {
            Some(l) if l.contains(SIGNATURE) => Ok(l.to_string()),
            Some(l) => Err(format!("signature {SIGNATURE} missing in: {l}")),
            None => Err(format!("no line starting with {SIGNATURE_LINE:?}")),
        },
    ));

    let received = find(lines, TIMER_LINE).and_then(|l| number_after(l, TIMER_LINE));
    let injected = find(lines, INJECTED_LINE).and_then(|l| number_after(l, INJECTED_LINE));
    checks.push(check(
        "example_timer_interrupts",
        match (received, injected) {
            (Some(r), Some(i)) if r >= TIMER_TICKS_WANTED && r == i => {
                Ok(format!("guest received {r}, hypervisor injected {i}"))
            }
            (r, i) => Err(format!(
                "guest received {r:?}, hypervisor injected {i:?} (want both equal, >= {TIMER_TICKS_WANTED})"
            )),
        },
    ));

    checks.push(check(
        "example_mmio",
        match find(lines, MMIO_LINE) {
            Some(l) => Ok(l.to_string()),
            None => Err(format!(
                "expected {MMIO_LINE:?}, got {:?}",
                find(lines, "guest: mmio: wrote")
            )),
        },
    ));

    let stats: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .skip_while(|l| !l.starts_with(STATS_HEADER))
        .take_while(|l| !l.starts_with(SUCCESS) && !l.starts_with(FAILED))
        .collect();
    let missing: Vec<&str> = STATS_REASONS
        .iter()
        .copied()
        .filter(|r| !stats.iter().any(|l| l.split_whitespace().next() == Some(r)))
        .collect();
    checks.push(check(
        "example_exit_statistics",
        if stats.is_empty() {
            Err(format!("no {STATS_HEADER:?} block"))
        } else if !missing.is_empty() {
            Err(format!("exit statistics lack {}", missing.join(", ")))
        } else {
            Ok(format!("{} lines", stats.len()))
        },
    ));

    checks.push(check(
        "example_success",
        if let Some(l) = find(lines, FAILED) {
            Err(l.to_string())
        } else if find(lines, SUCCESS).is_some() {
            Ok(SUCCESS.to_string())
        } else {
            Err(format!("no {SUCCESS:?} line"))
        },
    ));
    checks
}

/// Builds the guest, then the hypervisor embedding it; returns the hypervisor's ELF.
pub fn build_example() -> Result<PathBuf, String> {
    let guest = builder::build_baremetal(GUEST_PACKAGE, GUEST_PACKAGE)?;
    builder::build_baremetal_with(
        HYPERVISOR_PACKAGE,
        HYPERVISOR_PACKAGE,
        &[(GUEST_ELF_VAR, &guest)],
    )
}

/// A finished run of the example.
#[derive(Debug, Clone)]
pub struct ExampleRun {
    /// The Bochs model (or "qemu-kvm").
    pub model: String,
    /// The run's output and how it ended.
    pub run: RunResult,
    /// The output checks.
    pub checks: Vec<Check>,
    /// Artifact directory.
    pub dir: PathBuf,
}

impl ExampleRun {
    /// Whether the run ended in time and every check held.
    pub fn success(&self) -> bool {
        !self.run.timed_out && self.checks.iter().all(|c| c.passed)
    }

    /// Whether the hypervisor stopped because the CPU has no EPT.
    pub fn needs_ept(&self) -> bool {
        self.run
            .lines
            .iter()
            .any(|l| l.starts_with(marker::FAILED) && l.contains(marker::NEEDS_EPT))
    }

    /// Beyond the failed checks: a timeout, and the Bochs log lines that name a failed
    /// VM-entry check or a panic.
    pub fn diagnosis(&self) -> Vec<String> {
        let m = &self.model;
        let mut out = Vec::new();
        if self.run.timed_out {
            out.push(format!(
                "[{m}] killed by the time limit after {} s",
                self.run.wall.as_secs()
            ));
        }
        // Every EPT violation logs a line: the example makes them on purpose.
        out.extend(crate::bochs::log_report(
            m,
            &self.dir.join("bochs.log"),
            |l| l.contains("EPT violation"),
            20,
            0,
        ));
        out
    }
}

/// Boots the example's `elf` in Bochs with `opts`; `label` prefixes the streamed lines with
/// the model.
pub fn run_in_bochs(elf: &Path, opts: &BootOptions, label: bool) -> Result<ExampleRun, String> {
    let run = suite::boot_elf(elf, opts, suite::echo(&opts.model, label))?;
    let checks = check_output(&run.lines);
    Ok(ExampleRun {
        model: opts.model.clone(),
        run,
        checks,
        dir: opts.dir.clone(),
    })
}

/// Boot options for the example on `model`: artifacts in `target/ci/example-<model>` (apart
/// from the suite's).
pub fn boot_options(model: &str, timeout: Duration) -> BootOptions {
    let mut o = BootOptions::new(model, timeout);
    o.dir = builder::artifact_dir(&format!("example-{model}"));
    o
}

fn print_summary(run: &ExampleRun) {
    println!(
        "== summary ({}, {:.1} s)",
        run.model,
        run.run.wall.as_secs_f64()
    );
    for c in &run.checks {
        let verdict = if c.passed { "ok  " } else { "FAIL" };
        println!("{verdict} {}: {}", c.name, c.detail);
    }
}

/// `cargo ci run`.
pub fn cmd_run(model: Option<&str>, qemu: bool, timeout: Duration) -> Result<bool, String> {
    if qemu {
        if model.is_some() {
            return Err("--model applies to Bochs; with --qemu the host CPU is used".into());
        }
        return run_in_qemu(timeout);
    }
    let model = model.unwrap_or(DEFAULT_MODEL);
    crate::bochs::ensure_installed()?;
    let elf = build_example()?;
    println!("== booting the example hypervisor in Bochs (cpu model {model})");
    let run = run_in_bochs(&elf, &boot_options(model, timeout), false)?;
    if run.needs_ept() {
        println!(
            "ci run: the example hypervisor needs EPT, which Bochs model {model} does not \
             have; try a model with EPT, e.g. --model {DEFAULT_MODEL}"
        );
        return Ok(false);
    }
    print_summary(&run);
    for l in run.diagnosis() {
        println!("{l}");
    }
    let ok = run.success();
    println!(
        "example on {model}: {} (artifacts in {})",
        if ok { "success" } else { "FAILED" },
        run.dir.display()
    );
    Ok(ok)
}

/// Clippy (`-D warnings`) of the example's two packages for the bare-metal target, where
/// their bare-metal code is compiled (the host build sees only the `main` that explains how to
/// run them).
pub fn example_clippy(guest_elf: &Path) -> Result<bool, String> {
    builder::clippy_baremetal(
        &[GUEST_PACKAGE, HYPERVISOR_PACKAGE],
        &[(GUEST_ELF_VAR, guest_elf)],
    )
}

/// Runs the example on [`DEFAULT_MODEL`] for `cargo ci test`: each check is one counted
/// result, plus `example_baremetal_clippy`. Returns the tally and whether everything passed.
pub fn example_checks(timeout: Duration) -> (Tally, bool) {
    let mut tally = Tally::default();
    let guest = builder::baremetal_elf_path(GUEST_PACKAGE);
    let result = crate::bochs::ensure_installed()
        .and_then(|()| build_example())
        .and_then(|elf| run_in_bochs(&elf, &boot_options(DEFAULT_MODEL, timeout), true));
    match result {
        Ok(run) => {
            for c in &run.checks {
                if c.passed {
                    tally.passed += 1;
                    println!("ok {}", c.name);
                } else {
                    tally.failed += 1;
                    println!("FAIL {}: {}", c.name, c.detail);
                }
            }
            if run.run.timed_out {
                tally.failed += 1;
                println!(
                    "FAIL example_in_time: killed by the time limit after {} s",
                    run.run.wall.as_secs()
                );
            }
            if !run.success() {
                for l in run.diagnosis() {
                    println!("{l}");
                }
            }
            match example_clippy(&guest) {
                Ok(true) => {
                    tally.passed += 1;
                    println!("ok example_baremetal_clippy");
                }
                Ok(false) => {
                    tally.failed += 1;
                    println!("FAIL example_baremetal_clippy: clippy -D warnings failed (above)");
                }
                Err(e) => {
                    tally.failed += 1;
                    println!("FAIL example_baremetal_clippy: {e}");
                }
            }
            println!(
                "example on {DEFAULT_MODEL}: {tally} ({:.1} s)",
                run.run.wall.as_secs_f64()
            );
        }
        Err(e) => {
            tally.failed += 1;
            println!("FAIL example_build_and_boot: {e}");
        }
    }
    (tally, tally.failed == 0)
}

/// Why QEMU + KVM cannot run the example here, or `Ok` when it can.
///
/// VMX code runs under QEMU only with KVM on an Intel host whose `kvm_intel` module has
/// nested virtualization on (QEMU's TCG does not emulate VMX).
pub fn qemu_kvm_available() -> Result<(), String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let vendor = cpuinfo
        .lines()
        .find(|l| l.starts_with("vendor_id"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown");
    if vendor != "GenuineIntel" {
        return Err(format!(
            "the host CPU is {vendor}, not Intel: the example needs nested VMX, which only \
             KVM on an Intel host (kvm_intel) provides"
        ));
    }
    if !Path::new("/dev/kvm").exists() {
        return Err("/dev/kvm does not exist: KVM is not available on this machine".into());
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return Err("/dev/kvm exists but cannot be opened read-write (permissions?)".into());
    }
    let nested_path = "/sys/module/kvm_intel/parameters/nested";
    match std::fs::read_to_string(nested_path) {
        Ok(v) if matches!(v.trim(), "Y" | "y" | "1") => {}
        Ok(v) => {
            return Err(format!(
                "nested VMX is off ({nested_path} = {}); enable it with \
                 `modprobe -r kvm_intel && modprobe kvm_intel nested=1`",
                v.trim()
            ));
        }
        Err(_) => return Err(format!("{nested_path} is missing: kvm_intel is not loaded")),
    }
    if !crate::bochs::on_path("qemu-system-x86_64") {
        return Err("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)".into());
    }
    Ok(())
}

/// Boots the example with QEMU + KVM (`-cpu host`, so the guest sees the host's VMX),
/// the serial port on stdout, and QEMU's `isa-debug-exit` device to end the run.
fn run_in_qemu(timeout: Duration) -> Result<bool, String> {
    if let Err(why) = qemu_kvm_available() {
        println!("ci run --qemu: cannot run here: {why}");
        return Ok(false);
    }
    let elf_path = build_example()?;
    let (dir, disk, _) = suite::write_disk_image(
        &elf_path,
        "qemu-kvm",
        "",
        &builder::artifact_dir("example-qemu"),
    )?;
    println!("== booting the example hypervisor in QEMU + KVM (-cpu host)");
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args([
        "-enable-kvm",
        "-cpu",
        "host",
        "-m",
        "256",
        "-display",
        "none",
    ])
    .args(["-serial", "stdio", "-no-reboot"])
    .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
    .arg("-drive")
    .arg(format!("format=raw,file={}", disk.display()));
    let run = crate::bochs::run_with_timeout(&qemu, &dir, timeout, |l| println!("{l}"))?;
    let run = ExampleRun {
        model: "qemu-kvm".into(),
        checks: check_output(&run.lines),
        run,
        dir,
    };
    print_summary(&run);
    if !run.success() {
        println!(
            "QEMU's stderr: {}",
            run.dir.join("qemu-system-x86_64-stderr.txt").display()
        );
    }
    Ok(run.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    const GOOD: &str = "example hypervisor: started
guest: hello from the example guest (64-bit mode, running under VMX)
guest: cpuid 0x40000000: max leaf 0x40000001, hypervisor signature \"VmxRsExample\"
guest: timer: received 5 timer interrupts (5 halts)
guest: mmio: wrote operand 0x12345678, read back 0x12345678, device result 0x78563413
example hypervisor: timer interrupts injected: 5
example hypervisor: exit statistics:
  INTERRUPT_WINDOW             ( 7): 1
  CPUID                        (10): 2
  HLT                          (12): 5
  IO_INSTRUCTION               (30): 900
  VMCALL                       (18): 1
  EPT_VIOLATION                (48): 4
  VMX_PREEMPTION_TIMER_EXPIRED (52): 7
  total                            : 919
example hypervisor: SUCCESS";

    #[test]
    fn good_output_passes_every_check() {
        let checks = check_output(&lines(GOOD));
        assert_eq!(checks.len(), 6);
        for c in &checks {
            assert!(c.passed, "{}: {}", c.name, c.detail);
        }
    }

    #[test]
    fn each_marker_is_needed() {
        for (drop, name) in [
            ("guest: hello", "example_guest_output"),
            ("guest: cpuid", "example_signature"),
            ("guest: timer", "example_timer_interrupts"),
            ("guest: mmio", "example_mmio"),
            ("  VMCALL", "example_exit_statistics"),
            ("example hypervisor: SUCCESS", "example_success"),
        ] {
            let text: Vec<String> = lines(GOOD)
                .into_iter()
                .filter(|l| !l.starts_with(drop))
                .collect();
            let checks = check_output(&text);
            let failed: Vec<&str> = checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name)
                .collect();
            assert!(
                failed.contains(&name),
                "dropping {drop:?} failed {failed:?}"
            );
        }
    }

    #[test]
    fn injected_and_received_must_agree() {
        let text = GOOD.replace("injected: 5", "injected: 6");
        let checks = check_output(&lines(&text));
        assert!(
            !checks
                .iter()
                .find(|c| c.name == "example_timer_interrupts")
                .unwrap()
                .passed
        );
    }

    #[test]
    fn failure_line_fails_and_needs_ept_is_recognised() {
        let text = "example hypervisor: FAILED: this example needs EPT (extended page tables), which this processor's VMX does not have";
        let checks = check_output(&lines(text));
        assert!(checks.iter().all(|c| !c.passed));
        let run = ExampleRun {
            model: "m".into(),
            run: RunResult {
                exit_code: Some(0),
                timed_out: false,
                lines: lines(text),
                wall: Duration::ZERO,
            },
            checks,
            dir: PathBuf::new(),
        };
        assert!(run.needs_ept());
    }
}
