//! Building bare-metal packages with cargo for `x86_64-unknown-none`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Instant;

/// The bare-metal target triple.
pub const TARGET: &str = "x86_64-unknown-none";
/// The cargo profile for bare-metal images (root Cargo.toml `[profile.kernel]`).
pub const PROFILE: &str = "kernel";

/// The workspace root (the parent of this package's directory).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Where `cargo ci` keeps the artifacts of one run kind (`target/ci/<name>`).
pub fn artifact_dir(name: &str) -> PathBuf {
    target_dir().join("ci").join(name)
}

/// A `cargo` command (the one running us, if known) in the workspace root.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut c = Command::new(program);
    c.current_dir(workspace_root());
    c
}

/// Makes sure the bare-metal target's standard library is installed (`rustup target add`).
pub fn ensure_target() -> Result<(), String> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(workspace_root())
        .output()
    else {
        // No rustup: the toolchain is managed otherwise; the build will tell.
        return Ok(());
    };
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("ci: rustup target add {TARGET}");
    let ok = Command::new("rustup")
        .args(["target", "add", TARGET])
        .current_dir(workspace_root())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err(format!("`rustup target add {TARGET}` failed"))
    }
}

/// The path of binary `bin` built for the bare-metal target with the kernel profile.
pub fn baremetal_elf_path(bin: &str) -> PathBuf {
    target_dir().join(TARGET).join(PROFILE).join(bin)
}

/// Builds binary `bin` of package `package` for the bare-metal target with the kernel
/// profile; returns the ELF's path.
pub fn build_baremetal(package: &str, bin: &str) -> Result<PathBuf, String> {
    build_baremetal_with(package, bin, &[])
}

/// [`build_baremetal`] with extra environment variables for the build (a build script that
/// embeds another image finds it through one).
pub fn build_baremetal_with(
    package: &str,
    bin: &str,
    env: &[(&str, &Path)],
) -> Result<PathBuf, String> {
    ensure_target()?;
    let progress = Progress::now();
    let mut build = progress.cargo("build");
    build
        .envs(env.iter().copied())
        .args(["-p", package, "--bin", bin])
        .args(["--target", TARGET, "--profile", PROFILE]);
    let status = run_step(
        &format!("building {package} ({PROFILE} profile, {TARGET})"),
        build,
        progress,
    )?;
    if !status.success() {
        return Err(format!("building {package} for {TARGET} failed"));
    }
    let elf = baremetal_elf_path(bin);
    if elf.is_file() {
        Ok(elf)
    } else {
        Err(format!("{} missing after the build", elf.display()))
    }
}

/// `cargo clippy -D warnings` of `packages` for the bare-metal target (where their
/// bare-metal code is compiled), with extra environment variables; whether it was clean.
pub fn clippy_baremetal(packages: &[&str], env: &[(&str, &Path)]) -> Result<bool, String> {
    ensure_target()?;
    let progress = Progress::now();
    let mut clippy = progress.cargo("clippy");
    clippy
        .envs(env.iter().copied())
        .args(["--target", TARGET])
        .args(packages.iter().flat_map(|p| ["-p", p]))
        .args(["--", "-D", "warnings"]);
    let status = run_step(
        &format!("clippy of {} ({TARGET})", packages.join(", ")),
        clippy,
        progress,
    )?;
    Ok(status.success())
}

/// How the progress of a cargo step is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Stderr is a terminal: cargo's own progress (its `Compiling` lines and bar) goes
    /// through.
    Cargo,
    /// Stderr is a file or a pipe: cargo runs `--quiet` and `cargo ci` prints one line when
    /// a step starts and one when it ends, with its time.
    Lines,
}

impl Progress {
    /// [`Progress::Cargo`] when stderr is a terminal, [`Progress::Lines`] otherwise.
    pub fn now() -> Self {
        if std::io::stderr().is_terminal() {
            Progress::Cargo
        } else {
            Progress::Lines
        }
    }

    /// `cargo SUBCOMMAND` (see [`cargo`]) for a step shown this way: followed by
    /// `--quiet` in [`Progress::Lines`], so that only `cargo ci`'s lines and cargo's errors
    /// show. (After the subcommand: `cargo clippy` does not pass a `--quiet` given before it
    /// on to the build it runs.)
    pub fn cargo(self, subcommand: &str) -> Command {
        let mut c = cargo();
        c.arg(subcommand);
        if self == Progress::Lines {
            c.arg("--quiet");
        }
        c
    }
}

/// Runs the cargo step `cmd` (e.g. `cargo build ...`), announcing it on stderr as
/// `== label` and showing its progress as `progress` says; its exit status.
pub fn run_step(label: &str, mut cmd: Command, progress: Progress) -> Result<ExitStatus, String> {
    eprintln!("== {label}");
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{label}: running cargo: {e}"))?;
    if progress == Progress::Lines {
        eprintln!(
            "   {} after {:.1} s",
            if status.success() { "done" } else { "FAILED" },
            start.elapsed().as_secs_f64()
        );
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn quiet_only_without_a_terminal() {
        assert_eq!(
            args(&Progress::Lines.cargo("clippy")),
            ["clippy", "--quiet"]
        );
        assert_eq!(args(&Progress::Cargo.cargo("build")), ["build"]);
        for p in [Progress::Lines, Progress::Cargo] {
            assert_eq!(
                p.cargo("build").get_current_dir(),
                Some(workspace_root().as_path())
            );
        }
    }

    #[test]
    fn a_step_reports_its_exit_status() {
        let ok = run_step("true", Command::new("true"), Progress::Lines).unwrap();
        assert!(ok.success());
        let bad = run_step("false", Command::new("false"), Progress::Cargo).unwrap();
        assert!(!bad.success());
        assert!(
            run_step(
                "missing",
                Command::new("/nonexistent/cargo"),
                Progress::Lines
            )
            .is_err()
        );
    }
}
