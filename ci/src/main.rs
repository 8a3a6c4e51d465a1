//! `cargo ci`: builds the bare-metal test kernel, boots it in Bochs and reports.
//!
//! Commands (run through the `.cargo/config.toml` alias `ci = "run --quiet -p ci --"`):
//! - `cargo ci suite --model M [--filter A,B] [--timeout S]`: the in-emulator scenario
//!   suite on one Bochs CPU model (only scenarios whose name contains A or B with
//!   `--filter`); ends with `N passed, N failed, N skipped`.
//! - `cargo ci test [--timeout S] [--jobs N]`: host tests (`cargo test --workspace`),
//!   clippy of the bare-metal packages for `x86_64-unknown-none`, then the suite on
//!   [`MODELS`] in parallel; ends with one line summing everything.
//!
//! - `cargo ci run [--model M] [--qemu]`: the example hypervisor and its guest (see
//!   `run.rs`); `cargo ci test` also runs it and counts its checks.
//!
//! Exit status is non-zero on any failure. Artifacts: `target/ci/<model>/`.

mod bochs;
mod builder;
mod elf;
mod image;
#[cfg(test)]
mod proptests;
mod report;
mod run;
mod suite;

use std::io::{BufRead, BufReader};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use report::Tally;

/// The Bochs CPU models `cargo ci test` runs the suite on.
pub const MODELS: &[&str] = &[
    "corei7_icelake_u",
    "corei7_sandy_bridge_2600k",
    "core2_penryn_t9600",
];
/// Default wall-clock limit per Bochs run.
const DEFAULT_TIMEOUT_S: u64 = 180;
/// The suite kernel's package and binary.
const SUITE_PACKAGE: &str = "test-kernel";

const USAGE: &str = "usage:
  cargo ci suite --model MODEL [--filter NAME,NAME...] [--timeout SECONDS]
  cargo ci test [--timeout SECONDS] [--jobs N]
  cargo ci run [--model MODEL] [--qemu] [--timeout SECONDS]

--filter runs only the scenarios whose name contains one of the comma-separated strings.";

/// Parsed command-line options.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    model: Option<String>,
    filter: Option<String>,
    timeout: Option<u64>,
    jobs: Option<usize>,
    qemu: bool,
}

/// The options each command takes.
fn allowed_options(cmd: &str) -> &'static [&'static str] {
    match cmd {
        "suite" => &["--model", "--filter", "--timeout"],
        "test" => &["--timeout", "--jobs"],
        "run" => &["--model", "--qemu", "--timeout"],
        _ => &[],
    }
}

/// Parses the options of command `cmd` (`--key value` or `--key=value`; `--qemu` is a
/// switch); an option `cmd` does not take is an error.
fn parse_options(cmd: &str, args: &[String]) -> Result<Options, String> {
    let allowed = allowed_options(cmd);
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        if !allowed.contains(&key) {
            return Err(format!("unknown option {key} for {cmd}"));
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or(format!("{key} needs a value"))
        };
        match key {
            "--model" => o.model = Some(value()?),
            "--filter" => o.filter = Some(value()?),
            "--qemu" if inline.is_none() => o.qemu = true,
            "--timeout" => {
                o.timeout = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--timeout takes whole seconds".to_string())?,
                )
            }
            "--jobs" => {
                let j: usize = value()?
                    .parse()
                    .map_err(|_| "--jobs takes a number".to_string())?;
                o.jobs = Some(j.max(1));
            }
            other => return Err(format!("{other} takes no value")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if matches!(cmd.as_str(), "help" | "--help" | "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let opts = match parse_options(cmd, rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ci: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd.as_str() {
        "suite" => cmd_suite(&opts),
        "test" => cmd_test(&opts),
        "run" => run::cmd_run(
            opts.model.as_deref(),
            opts.qemu,
            Duration::from_secs(opts.timeout.unwrap_or(run::DEFAULT_TIMEOUT_S)),
        ),
        other => Err(format!("unknown command {other}\n{USAGE}")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ci: {e}");
            ExitCode::FAILURE
        }
    }
}

fn timeout(opts: &Options) -> Duration {
    Duration::from_secs(opts.timeout.unwrap_or(DEFAULT_TIMEOUT_S))
}

fn prepare_suite() -> Result<std::path::PathBuf, String> {
    bochs::ensure_installed()?;
    builder::build_baremetal(SUITE_PACKAGE, SUITE_PACKAGE)
}

fn print_run(run: &suite::SuiteRun) {
    if !run.success() {
        for l in run.diagnosis() {
            println!("{l}");
        }
    }
    println!(
        "suite {}: {} ({:.1} s, artifacts in {})",
        run.model,
        run.report.tally(),
        run.run.wall.as_secs_f64(),
        run.dir.display()
    );
}

fn cmd_suite(opts: &Options) -> Result<bool, String> {
    let model = opts.model.clone().ok_or("suite needs --model MODEL")?;
    let elf = prepare_suite()?;
    let mut boot = suite::BootOptions::new(&model, timeout(opts));
    boot.filter = opts.filter.clone().unwrap_or_default();
    let run = suite::run_suite(&elf, &boot, false)?;
    print_run(&run);
    let t = run.report.tally();
    println!("{t}");
    Ok(run.success())
}

/// Runs `cargo test --workspace`, echoing its output and summing its `test result:` lines.
fn host_tests() -> Result<(Tally, bool), String> {
    let mut child = builder::cargo()
        .args(["test", "--workspace"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running cargo test: {e}"))?;
    let mut tally = Tally::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            if let Some(t) = report::parse_test_result(&line) {
                tally += t;
            }
        }
    }
    let ok = child
        .wait()
        .map_err(|e| format!("waiting for cargo test: {e}"))?
        .success();
    Ok((tally, ok))
}

fn baremetal_clippy() -> Result<bool, String> {
    builder::clippy_baremetal(&["baremetal", SUITE_PACKAGE], &[])
}

fn cmd_test(opts: &Options) -> Result<bool, String> {
    let start = Instant::now();
    // Before the long host tests: without Bochs (and no way to install it) there is no
    // point starting.
    bochs::ensure_installed()?;
    builder::ensure_target()?;
    let mut total = Tally::default();

    println!("== host tests: cargo test --workspace");
    let (host, host_ok) = host_tests()?;
    let mut host_tally = host;
    if !host_ok && host.failed == 0 {
        host_tally.failed += 1;
        println!("host tests: cargo test failed without a failing test (build error?)");
    }
    println!("host tests: {host_tally}");
    total += host_tally;

    println!(
        "== clippy -D warnings for {}: baremetal, {SUITE_PACKAGE}",
        builder::TARGET
    );
    let clippy_ok = baremetal_clippy()?;
    let clippy = Tally {
        passed: u64::from(clippy_ok),
        failed: u64::from(!clippy_ok),
        skipped: 0,
    };
    println!(
        "bare-metal clippy: {}",
        if clippy_ok { "clean" } else { "FAILED" }
    );
    total += clippy;

    println!("== in-emulator suite on {}", MODELS.join(", "));
    let elf = prepare_suite()?;
    let jobs = opts.jobs.unwrap_or(MODELS.len()).min(MODELS.len());
    let limit = timeout(opts);
    let mut runs: Vec<Result<suite::SuiteRun, String>> = Vec::new();
    for chunk in MODELS.chunks(jobs) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|m| {
                let elf = elf.clone();
                let o = suite::BootOptions::new(m, limit);
                std::thread::spawn(move || suite::run_suite(&elf, &o, true))
            })
            .collect();
        for h in handles {
            runs.push(
                h.join()
                    .unwrap_or_else(|_| Err("suite thread panicked".to_string())),
            );
        }
    }
    let mut all_ok = host_ok && clippy_ok;
    for (m, r) in MODELS.iter().zip(&runs) {
        match r {
            Ok(run) => {
                print_run(run);
                total += run.report.tally();
                all_ok &= run.success();
            }
            Err(e) => {
                println!("suite {m}: error: {e}");
                total.failed += 1;
                all_ok = false;
            }
        }
    }
    println!("== example hypervisor on {}", run::DEFAULT_MODEL);
    let (example, example_ok) = run::example_checks(limit);
    total += example;
    all_ok &= example_ok;
    println!("cargo ci test: {:.1} s", start.elapsed().as_secs_f64());
    println!("{total}");
    Ok(all_ok && total.failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options() {
        assert_eq!(
            parse_options("suite", &s(&["--model", "m", "--timeout=9"])).unwrap(),
            Options {
                model: Some("m".into()),
                filter: None,
                timeout: Some(9),
                jobs: None,
                qemu: false,
            }
        );
        assert_eq!(
            parse_options("test", &s(&["--jobs", "0"])).unwrap().jobs,
            Some(1)
        );
        assert_eq!(
            parse_options("suite", &s(&["--filter", "smoke,insn"]))
                .unwrap()
                .filter
                .as_deref(),
            Some("smoke,insn")
        );
        assert!(parse_options("suite", &s(&["--model"])).is_err());
        assert!(parse_options("test", &s(&["--timeout", "x"])).is_err());
        assert!(parse_options("suite", &s(&["--bogus"])).is_err());
    }

    #[test]
    fn run_options() {
        assert_eq!(
            parse_options("run", &s(&["--model", "m", "--qemu", "--timeout=9"])).unwrap(),
            Options {
                model: Some("m".into()),
                qemu: true,
                timeout: Some(9),
                ..Options::default()
            }
        );
        assert!(parse_options("run", &s(&["--qemu=1"])).is_err());
        assert!(parse_options("run", &s(&["--jobs", "2"])).is_err());
        assert!(parse_options("test", &s(&["--qemu"])).is_err());
        assert!(parse_options("test", &s(&["--filter", "x"])).is_err());
    }
}
