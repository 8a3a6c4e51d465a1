//! `cargo ci`: builds the bare-metal test kernel, boots it in Bochs and reports.
//!
//! Commands (run through the `.cargo/config.toml` alias `ci = "run --quiet -p ci --"`;
//! parsed in [`cli`]):
//! - `cargo ci suite --model M [--bochs 2.7|3.0] [--filter A,B] [--timeout S]`: the
//!   in-emulator scenario suite on one Bochs CPU model (only scenarios whose name contains
//!   A or B with `--filter`; a filter that matches no scenario fails); ends with
//!   `N passed, N failed, N skipped`. `--bochs 3.0` boots the Bochs 3.0 that [`bochs3`]
//!   builds from source on first use.
//! - `cargo ci test [--timeout S] [--jobs N]`: host tests (`cargo test --workspace`),
//!   clippy of the bare-metal packages for `x86_64-unknown-none`, then the suite runs of
//!   [`models::SUITE_RUNS`] (three Bochs 2.7 models, Bochs 3.0's newest) in parallel; ends
//!   with one line summing everything.
//! - `cargo ci run [--model M | --qemu] [--timeout S]`: the example hypervisor and its guest
//!   (see `run.rs`); `cargo ci test` also runs it and counts its checks.
//!
//! `--model` takes the names in [`models::KNOWN`] (with `--bochs 3.0`:
//! [`models::KNOWN_BOCHS_3`]). Exit status: 0 when everything passed,
//! 1 on a failure, 2 on a usage error. Artifacts: `target/ci/<model>/`.

mod bochs;
mod bochs3;
mod bochs_checks;
mod builder;
mod cli;
mod elf;
mod entry_names;
mod filter;
mod image;
mod linux;
mod linux_run;
mod models;
mod payload;
#[cfg(test)]
mod proptests;
mod report;
mod run;
mod suite;

use std::io::{BufRead, BufReader};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use cli::{Command, SuiteArgs, TestArgs};
use models::{Emulator, SUITE_RUNS};
use report::Tally;

/// The suite kernel's package and binary.
const SUITE_PACKAGE: &str = "test-kernel";

fn main() -> ExitCode {
    // Usage errors exit here with status 2 (clap's message on stderr); --help with 0.
    let cli = cli::parse();
    let result = match cli.command {
        Command::Suite(a) => cmd_suite(&a),
        Command::Test(a) => cmd_test(&a),
        Command::Run(a) if a.example_guest || a.qemu => run::cmd_run(
            a.model.map(|m| m.name),
            a.qemu,
            Duration::from_secs(a.timeout),
        ),
        Command::Run(a) => {
            let model = a.model.map_or(run::DEFAULT_MODEL, |m| m.name);
            let mut boot =
                linux_run::LinuxBoot::small(model, a.vcpus, Duration::from_secs(a.timeout));
            boot.kernel = match (&a.kernel, a.stock) {
                (Some(path), _) => linux_run::KernelChoice::Custom(path.clone()),
                (None, true) => linux_run::KernelChoice::Stock,
                (None, false) => linux_run::KernelChoice::Small,
            };
            boot.initrd = a.initrd.clone();
            boot.cmdline = a.cmdline.clone();
            boot.protocol = a.protocol;
            boot.interactive = a.interactive;
            if a.bare {
                boot.mode = linux_run::Mode::Bare;
                boot.dir = builder::artifact_dir(&format!("linux-bare-{model}"));
            }
            linux_run::cmd_run_linux(boot, a.compare)
        }
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
    if let Some(names) = &run.names {
        for l in names.lines(&run.model) {
            println!("{l}");
        }
    }
}

fn cmd_suite(args: &SuiteArgs) -> Result<bool, String> {
    let elf = prepare_suite()?;
    let mut boot = suite::BootOptions::on(
        args.bochs,
        args.model.name,
        Duration::from_secs(args.timeout),
    );
    if let Some(f) = &args.filter {
        boot.filter = f.as_str().to_string();
    }
    if args.bochs == Emulator::Bochs30 {
        bochs3::ensure_built()?;
    }
    println!(
        "== booting the test kernel in Bochs {} (cpu model {})",
        args.bochs.version(),
        args.model.name
    );
    let run = suite::run_suite(&elf, &boot, false)?;
    if let Some(f) = &args.filter {
        filter::check_matched(f, &run.report).map_err(|e| e.to_string())?;
    }
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

fn cmd_test(args: &TestArgs) -> Result<bool, String> {
    let start = Instant::now();
    // Before the long host tests: without Bochs (and no way to install it) there is no
    // point starting.
    bochs::ensure_installed()?;
    builder::ensure_target()?;
    // Bochs 3.0 (the fourth suite run) is built before anything else on first use, so a
    // missing tool or network fails early; the build is cached in ~/.cache/vmx-rs/bochs-3.0/.
    if SUITE_RUNS.iter().any(|(e, _)| *e == Emulator::Bochs30) {
        bochs3::ensure_built()?;
    }
    let mut total = Tally::default();
    // The kernels and the initramfs (downloads and a kernel build on a cold machine, cached
    // afterwards) before anything long, so that a missing tool fails early.
    for kind in [linux::KernelKind::Small, linux::KernelKind::Stock] {
        linux::artifacts(kind)?;
    }

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

    let names = models::suite_run_names();
    println!("== in-emulator suite on {}", names.join(", "));
    let elf = prepare_suite()?;
    let jobs = args
        .jobs
        .map_or(SUITE_RUNS.len(), |j| {
            usize::try_from(j).unwrap_or(usize::MAX)
        })
        .clamp(1, SUITE_RUNS.len());
    let limit = Duration::from_secs(args.timeout);
    let mut runs: Vec<Result<suite::SuiteRun, String>> = Vec::new();
    for chunk in SUITE_RUNS.chunks(jobs) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|(e, m)| {
                let elf = elf.clone();
                let o = suite::BootOptions::on(*e, m, limit);
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
    for (m, r) in names.iter().zip(&runs) {
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
    println!("== Linux under the example hypervisor");
    let (linux, linux_ok) = linux_run::linux_checks(Duration::from_secs(
        limit.as_secs().max(linux_run::LINUX_TEST_TIMEOUT_S),
    ));
    println!("linux: {linux}");
    total += linux;
    all_ok &= linux_ok;
    println!("cargo ci test: {:.1} s", start.elapsed().as_secs_f64());
    println!("{total}");
    Ok(all_ok && total.failed == 0)
}
