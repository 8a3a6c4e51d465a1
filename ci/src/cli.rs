//! The command line of `cargo ci` (clap, derive API). A usage error (unknown command or
//! option, a missing or malformed value, an unknown `--model`, a bad `--filter`) prints
//! clap's message and exits with status 2; `--help` and `help COMMAND` exit 0.

use clap::{Args, Parser, Subcommand};

use crate::filter::Filter;
use crate::models::{self, Model};

/// Default wall-clock limit of one Bochs run of the suite, in seconds.
pub const DEFAULT_SUITE_TIMEOUT_S: u64 = 180;

/// The synopsis of every command, shown by `--help` (kept in step with the options by a
/// unit test).
pub const SYNOPSIS: &str = "\
Commands and their options:
  cargo ci suite --model MODEL [--bochs 2.7|3.0] [--filter NAME,NAME...] [--timeout SECONDS]
  cargo ci test [--timeout SECONDS] [--jobs N]
  cargo ci run [--model MODEL | --qemu] [--timeout SECONDS] [--example-guest] [--stock | --kernel PATH] [--initrd PATH] [--cmdline TEXT] [--vcpus N] [--protocol bzimage|pvh] [--bare | --compare] [--interactive]
`cargo ci help COMMAND` describes each option.";

fn top_after_help() -> String {
    format!(
        "{SYNOPSIS}\n\nModels (--model):\n{}\n\nModels with --bochs 3.0 (built from source into \
         ~/.cache/vmx-rs/bochs-3.0/ on first use):\n{}\n\n`cargo ci test` runs the suite on {}.\n\
         Exit status: 0 when everything passed, 1 on a failure, 2 on a usage error.\n\
         Artifacts (disk image, bochsrc, logs): target/ci/<model>/ (Bochs 3.0: \
         target/ci/bochs3-<model>/).",
        models::help_list(),
        models::help_list_bochs_3(),
        models::suite_run_names().join(", ")
    )
}

fn models_after_help() -> String {
    format!("Models (--model):\n{}", models::help_list())
}

fn suite_after_help() -> String {
    format!(
        "Models (--model):\n{}\n\nModels with --bochs 3.0:\n{}",
        models::help_list(),
        models::help_list_bochs_3()
    )
}

/// `cargo ci`: builds the bare-metal images, boots them in Bochs and reports.
#[derive(Debug, Parser)]
#[command(
    name = "cargo ci",
    bin_name = "cargo ci",
    about = "Builds the bare-metal images, boots them in Bochs and reports.",
    after_help = top_after_help(),
    arg_required_else_help = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The in-emulator scenario suite on one Bochs CPU model; ends with
    /// `N passed, N failed, N skipped`.
    #[command(after_help = suite_after_help())]
    Suite(SuiteArgs),
    /// Host tests (`cargo test --workspace`), clippy of the bare-metal packages, the suite
    /// on three Bochs 2.7 models and Bochs 3.0's newest model in parallel and the example
    /// hypervisor; ends with one line summing everything.
    Test(TestArgs),
    /// The example hypervisor and its guest, in Bochs (default model corei7_icelake_u) or
    /// with --qemu in QEMU + KVM.
    #[command(after_help = models_after_help())]
    Run(RunArgs),
}

/// `--model` values: the known models only (of `cargo ci suite`: of either Bochs; [`parse`]
/// then checks the model against `--bochs`).
fn parse_model(s: &str) -> Result<&'static Model, models::UnknownModel> {
    models::find(s)
}

fn parse_suite_model(s: &str) -> Result<&'static Model, models::UnknownModel> {
    models::find_any(s)
}

/// The command line of this process; a usage error exits with status 2 (clap's message).
pub fn parse() -> Cli {
    parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// Parses `args` (the first is the program name) and checks what clap cannot: that the
/// suite's `--model` is one of the chosen `--bochs`'s models (a usage error otherwise).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory as _, Parser as _};
    let mut cli = Cli::try_parse_from(args)?;
    if let Command::Suite(a) = &mut cli.command {
        a.model = models::find_for(a.bochs, a.model.name).map_err(|e| {
            Cli::command().error(clap::error::ErrorKind::ValueValidation, e.to_string())
        })?;
    }
    Ok(cli)
}

/// Options of `cargo ci suite`.
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// The Bochs CPU model to boot (lists below: one per Bochs).
    #[arg(long, value_name = "MODEL", value_parser = parse_suite_model)]
    pub model: &'static Model,
    /// Which Bochs: Debian's 2.7 package, or 3.0 built from Debian's source tarball into
    /// ~/.cache/vmx-rs/bochs-3.0/ on first use (a few minutes; reused afterwards).
    #[arg(long, value_name = "VERSION", value_enum, default_value = "2.7")]
    pub bochs: models::Emulator,
    /// Run only the scenarios whose name contains one of these comma-separated strings;
    /// a filter that matches no scenario fails the run.
    #[arg(long, value_name = "NAME,NAME...", value_parser = Filter::parse)]
    pub filter: Option<Filter>,
    /// Wall-clock limit of the Bochs run.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = DEFAULT_SUITE_TIMEOUT_S,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub timeout: u64,
}

/// Options of `cargo ci test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Wall-clock limit of each Bochs run.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = DEFAULT_SUITE_TIMEOUT_S,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub timeout: u64,
    /// How many suite runs go in parallel (default: one per model).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
}

/// Options of `cargo ci run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The Bochs CPU model to boot (default corei7_icelake_u; list below).
    #[arg(long, value_name = "MODEL", value_parser = parse_model, conflicts_with = "qemu")]
    pub model: Option<&'static Model>,
    /// Boot in QEMU + KVM with the host's CPU instead of Bochs (needs an Intel host with
    /// nested VMX).
    #[arg(long)]
    pub qemu: bool,
    /// Wall-clock limit of the run.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::run::DEFAULT_TIMEOUT_S,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub timeout: u64,
    /// Run the small example guest (examples/guest) instead of Linux.
    #[arg(long, conflicts_with_all = ["stock", "kernel", "initrd", "cmdline", "vcpus", "protocol", "bare", "interactive", "compare"])]
    pub example_guest: bool,
    /// Boot Debian's stock kernel (linux-image-amd64, through its PVH entry by default)
    /// instead of the small kernel built from linux-source-6.1.
    #[arg(long, conflicts_with = "kernel")]
    pub stock: bool,
    /// Boot this kernel: a bzImage, or an ELF vmlinux with a PVH entry note.
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<std::path::PathBuf>,
    /// Use this initramfs (newc cpio, optionally compressed) instead of the ci tool's.
    #[arg(long, value_name = "PATH")]
    pub initrd: Option<std::path::PathBuf>,
    /// The kernel command line (default: the console on ttyS0 and the options this
    /// platform needs).
    #[arg(long, value_name = "TEXT")]
    pub cmdline: Option<String>,
    /// Virtual processors (1-4); the others are started by the guest with INIT/SIPI.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4))]
    pub vcpus: u32,
    /// Linux boot protocol: the bzImage's 64-bit boot protocol or the PVH entry of the
    /// uncompressed vmlinux (default: bzimage for the small kernel, pvh for --stock).
    #[arg(long, value_enum)]
    pub protocol: Option<crate::linux_run::Protocol>,
    /// Boot the same kernel without VMX (the baseline of the performance ratio).
    #[arg(long, conflicts_with_all = ["compare", "interactive"])]
    pub bare: bool,
    /// Boot bare, then under the hypervisor, and print the ratio of emulated instructions.
    #[arg(long, conflicts_with = "interactive")]
    pub compare: bool,
    /// Connect this terminal to the guest's console (type into the busybox shell; the
    /// guest powers off when the shell exits).
    #[arg(long)]
    pub interactive: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        parse_from(std::iter::once("cargo ci").chain(args.iter().copied()))
    }

    fn usage_error(args: &[&str]) -> clap::Error {
        let e = parse(args).expect_err("a usage error");
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        e
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn suite_options() {
        let Command::Suite(a) = parse(&["suite", "--model", "tigerlake", "--timeout=9"])
            .unwrap()
            .command
        else {
            panic!("not suite")
        };
        assert_eq!(a.model.name, "tigerlake");
        assert_eq!(a.timeout, 9);
        assert_eq!(a.filter, None);
        assert_eq!(a.bochs, models::Emulator::Bochs27);
        let Command::Suite(a) = parse(&["suite", "--bochs", "3.0", "--model", "arrow_lake"])
            .unwrap()
            .command
        else {
            panic!("not suite")
        };
        assert_eq!(
            (a.bochs, a.model.name),
            (models::Emulator::Bochs30, "arrow_lake")
        );
        // The same name in both lists resolves to the chosen Bochs's entry.
        let Command::Suite(a) = parse(&["suite", "--model=tigerlake", "--bochs=3.0"])
            .unwrap()
            .command
        else {
            panic!("not suite")
        };
        assert_eq!(a.model, models::find_for(a.bochs, "tigerlake").unwrap());
        let Command::Suite(a) = parse(&["suite", "--filter", "smoke,insn", "--model=tigerlake"])
            .unwrap()
            .command
        else {
            panic!("not suite")
        };
        assert_eq!(a.filter.unwrap().as_str(), "smoke,insn");
        assert_eq!(a.timeout, DEFAULT_SUITE_TIMEOUT_S);
    }

    #[test]
    fn test_and_run_options() {
        let Command::Test(a) = parse(&["test", "--jobs", "2"]).unwrap().command else {
            panic!("not test")
        };
        assert_eq!((a.jobs, a.timeout), (Some(2), DEFAULT_SUITE_TIMEOUT_S));
        let Command::Run(a) = parse(&["run", "--qemu", "--timeout=9"]).unwrap().command else {
            panic!("not run")
        };
        assert!(a.qemu && a.model.is_none() && a.timeout == 9);
        let Command::Run(a) = parse(&["run", "--model", "core2_penryn_t9600"])
            .unwrap()
            .command
        else {
            panic!("not run")
        };
        assert_eq!(a.model.map(|m| m.name), Some("core2_penryn_t9600"));
        assert_eq!(a.timeout, crate::run::DEFAULT_TIMEOUT_S);
    }

    #[test]
    fn unknown_model_is_named_with_the_known_models() {
        for args in [
            &["suite", "--model", "pentium_mmx"][..],
            &["run", "--model=pentium_mmx"][..],
        ] {
            let e = usage_error(args);
            assert_eq!(e.kind(), ErrorKind::ValueValidation);
            let text = e.to_string();
            assert!(text.contains("unknown model \"pentium_mmx\""), "{text}");
            for m in models::KNOWN {
                assert!(text.contains(m.name), "{text} lacks {}", m.name);
            }
        }
    }

    #[test]
    fn usage_errors_exit_with_status_2() {
        let cases: &[(&[&str], ErrorKind)] = &[
            (&[], ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand),
            (&["bogus"], ErrorKind::InvalidSubcommand),
            (&["suite"], ErrorKind::MissingRequiredArgument),
            (&["suite", "--model"], ErrorKind::InvalidValue),
            (
                &["suite", "--model", "tigerlake", "--bogus"],
                ErrorKind::UnknownArgument,
            ),
            (
                &["suite", "--model", "tigerlake", "--jobs", "2"],
                ErrorKind::UnknownArgument,
            ),
            (
                &["suite", "--model", "tigerlake", "--timeout", "x"],
                ErrorKind::ValueValidation,
            ),
            (
                &["suite", "--model", "tigerlake", "--timeout", "0"],
                ErrorKind::ValueValidation,
            ),
            (
                &["suite", "--model", "tigerlake", "--filter", "a,,b"],
                ErrorKind::ValueValidation,
            ),
            (
                &["suite", "--model", "tigerlake", "--filter", ""],
                ErrorKind::ValueValidation,
            ),
            (&["test", "--jobs", "0"], ErrorKind::ValueValidation),
            (
                &["suite", "--model", "arrow_lake"],
                ErrorKind::ValueValidation,
            ),
            (
                &["suite", "--model", "core2_penryn_t9600", "--bochs", "3.0"],
                ErrorKind::ValueValidation,
            ),
            (
                &["suite", "--model", "tigerlake", "--bochs", "2.8"],
                ErrorKind::InvalidValue,
            ),
            (&["test", "--bochs", "3.0"], ErrorKind::UnknownArgument),
            (&["test", "--qemu"], ErrorKind::UnknownArgument),
            (&["test", "--filter", "x"], ErrorKind::UnknownArgument),
            (&["run", "--qemu=1"], ErrorKind::TooManyValues),
            (&["run", "--jobs", "2"], ErrorKind::UnknownArgument),
            (
                &["run", "--qemu", "--model", "tigerlake"],
                ErrorKind::ArgumentConflict,
            ),
        ];
        for (args, kind) in cases {
            let e = usage_error(args);
            assert_eq!(e.kind(), *kind, "{args:?}: {e}");
        }
    }

    #[test]
    fn a_bad_filter_says_why() {
        let e = usage_error(&["suite", "--model", "tigerlake", "--filter", "a b"]);
        assert!(e.to_string().contains("whitespace"), "{e}");
    }

    #[test]
    fn help_lists_commands_models_and_options() {
        let e = parse(&["--help"]).expect_err("help is reported as an error kind");
        assert_eq!(e.kind(), ErrorKind::DisplayHelp);
        assert_eq!(e.exit_code(), 0);
        let help = e.render().to_string();
        for cmd in ["suite", "test", "run"] {
            assert!(help.contains(&format!("cargo ci {cmd}")), "{help}");
        }
        for m in models::KNOWN {
            assert!(help.contains(m.name), "{help} lacks {}", m.name);
        }
        for m in models::KNOWN_BOCHS_3 {
            assert!(help.contains(m.name), "{help} lacks {}", m.name);
        }
        assert!(help.contains("bochs3/arrow_lake"), "{help}");
        for opt in [
            "--model",
            "--filter",
            "--timeout",
            "--jobs",
            "--qemu",
            "--bochs",
        ] {
            assert!(help.contains(opt), "{help} lacks {opt}");
        }
        for args in [&["help", "suite"][..], &["suite", "--help"][..]] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 0);
            let help = e.render().to_string();
            assert!(help.contains("--filter <NAME,NAME...>"), "{help}");
            assert!(help.contains("corei7_sandy_bridge_2600k"), "{help}");
            assert!(help.contains("sapphire_rapids"), "{help}");
        }
    }

    /// Every option of every command appears on its synopsis line, and the synopsis names
    /// no option the command lacks.
    #[test]
    fn synopsis_matches_the_options() {
        let cli = Cli::command();
        for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
            let line = SYNOPSIS
                .lines()
                .find(|l| {
                    l.trim_start()
                        .starts_with(&format!("cargo ci {} ", sub.get_name()))
                })
                .unwrap_or_else(|| panic!("no synopsis for {}", sub.get_name()));
            let longs: Vec<&str> = sub
                .get_arguments()
                .filter_map(|a| a.get_long())
                .filter(|l| *l != "help")
                .collect();
            for l in &longs {
                assert!(line.contains(&format!("--{l}")), "{line} lacks --{l}");
            }
            for word in line.split(['[', ']', ' ', '|']) {
                if let Some(opt) = word.strip_prefix("--") {
                    assert!(longs.contains(&opt), "{} has no --{opt}", sub.get_name());
                }
            }
        }
    }
}
