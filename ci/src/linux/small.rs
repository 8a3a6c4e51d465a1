//! The small kernel: Debian's `linux-source-6.1` built with `make tinyconfig` plus the
//! fragment `ci/linux/small.config` ([`FRAGMENT`]), merged with
//! `scripts/kconfig/merge_config.sh -m` and completed with `make olddefconfig`. Every option
//! of the fragment must hold in the final `.config` ([`super::kconfig::check`]); the build
//! fails naming those that do not. Kept: `arch/x86/boot/bzImage`, `vmlinux` and `.config`,
//! in `<cache>/linux/small-VERSION-HASH/` (HASH: of the fragment), the source tree is
//! removed after the build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{cache_root, debian, kconfig, run_logged};

/// The configuration fragment, kept in the repository.
pub const FRAGMENT: &str = include_str!("../../linux/small.config");
/// The source package.
pub const SOURCE_PACKAGE: &str = "linux-source-6.1";
/// The build tools beyond a C compiler, as Debian packages (`libelf-dev` for objtool).
pub const BUILD_PACKAGES: &[&str] = &["gcc", "make", "bc", "flex", "bison", "libelf-dev"];

/// The built files.
#[derive(Debug, Clone)]
pub struct SmallKernel {
    /// The bzImage.
    pub bzimage: PathBuf,
    /// The uncompressed ELF kernel.
    pub vmlinux: PathBuf,
    /// The source package version.
    pub source_version: String,
}

fn missing_tools() -> Vec<&'static str> {
    let on_path = |t: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
    };
    let mut missing = Vec::new();
    for (tool, package) in [
        ("gcc", "gcc"),
        ("make", "make"),
        ("bc", "bc"),
        ("flex", "flex"),
        ("bison", "bison"),
    ] {
        if !on_path(tool) {
            missing.push(package);
        }
    }
    if !Path::new("/usr/include/gelf.h").is_file() {
        missing.push("libelf-dev");
    }
    missing
}

/// Installs the missing build tools when root; else says which command to run.
fn ensure_tools() -> Result<(), String> {
    let missing = missing_tools();
    if missing.is_empty() {
        return Ok(());
    }
    let cmd = format!("apt-get install -y {}", BUILD_PACKAGES.join(" "));
    if !debian::is_root() {
        return Err(format!(
            "building the small kernel needs {}: run `sudo {cmd}`",
            missing.join(" ")
        ));
    }
    eprintln!("ci: installing the kernel build tools ({cmd})...");
    run_logged(
        &cmd,
        Command::new("apt-get")
            .args(["install", "-y"])
            .args(BUILD_PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        &cache_root().join("apt-install.log"),
    )
}

/// The cached small kernel, built first when absent.
pub fn ensure_built() -> Result<SmallKernel, String> {
    let info = debian::show(SOURCE_PACKAGE)?;
    let dir = cache_root().join(format!(
        "small-{}-{}",
        info.version.replace(':', "%3a"),
        kconfig::fnv1a_hex(FRAGMENT.as_bytes())
    ));
    let kernel = SmallKernel {
        bzimage: dir.join("bzImage"),
        vmlinux: dir.join("vmlinux"),
        source_version: info.version.clone(),
    };
    if kernel.bzimage.is_file() && kernel.vmlinux.is_file() {
        return Ok(kernel);
    }
    ensure_tools()?;
    let pkg = debian::unpacked(&info, None)?;
    let tarball = pkg.join("usr/src/linux-source-6.1.tar.xz");
    if !tarball.is_file() {
        return Err(format!("{SOURCE_PACKAGE} has no {}", tarball.display()));
    }
    let start = Instant::now();
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!(
        "ci: building the small kernel from {SOURCE_PACKAGE} {} (about {} minutes on {jobs} \
         cores, once)...",
        info.version,
        (6 / jobs).max(1)
    );
    let build = super::beside(&dir, &format!("build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&build).map_err(|e| format!("creating {}: {e}", build.display()))?;
    let log = build.join("build.log");
    run_logged(
        "unpacking the kernel source",
        Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(&build),
        &log,
    )?;
    let tree = build.join("linux-source-6.1");
    let fragment = build.join("small.config");
    std::fs::write(&fragment, FRAGMENT)
        .map_err(|e| format!("writing {}: {e}", fragment.display()))?;
    let make = |args: &[&str]| {
        let mut c = Command::new("make");
        c.arg("ARCH=x86_64").args(args).current_dir(&tree);
        c
    };
    run_logged("make tinyconfig", &mut make(&["tinyconfig"]), &log)?;
    run_logged(
        "merge_config.sh -m",
        Command::new("scripts/kconfig/merge_config.sh")
            .args(["-m", ".config"])
            .arg(&fragment)
            .env("ARCH", "x86_64")
            .current_dir(&tree),
        &log,
    )?;
    run_logged("make olddefconfig", &mut make(&["olddefconfig"]), &log)?;
    let config_path = tree.join(".config");
    let config = std::fs::read_to_string(&config_path)
        .map_err(|e| format!("reading {}: {e}", config_path.display()))?;
    let bad = kconfig::check(FRAGMENT, &config);
    if !bad.is_empty() {
        return Err(format!(
            "the small kernel's .config ({}) lacks options of ci/linux/small.config:\n  {}",
            config_path.display(),
            bad.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
    run_logged(
        &format!("make -j{jobs} bzImage"),
        &mut make(&[&format!("-j{jobs}"), "bzImage"]),
        &log,
    )?;
    let out = super::beside(&dir, &format!("out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    for (from, to) in [
        ("arch/x86/boot/bzImage", "bzImage"),
        ("vmlinux", "vmlinux"),
        (".config", "config"),
    ] {
        std::fs::copy(tree.join(from), out.join(to)).map_err(|e| format!("copying {from}: {e}"))?;
    }
    let _ = std::fs::copy(&log, out.join("build.log"));
    let secs = start.elapsed().as_secs();
    let _ = std::fs::write(
        out.join("build-info.txt"),
        format!(
            "{SOURCE_PACKAGE} {}: tinyconfig + ci/linux/small.config, make -j{jobs}: {secs} s\n",
            info.version
        ),
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&out, &dir).map_err(|e| format!("renaming to {}: {e}", dir.display()))?;
    let _ = std::fs::remove_dir_all(&build);
    eprintln!(
        "ci: small kernel built in {}m{:02}s ({})",
        secs / 60,
        secs % 60,
        dir.display()
    );
    Ok(kernel)
}
