//! The Linux guest's artifacts for `cargo ci run`/`test` (issue 12, part A): two kernels
//! from Debian's archive (unmodified source and binaries) and a busybox initramfs, fetched,
//! built and cached per machine without installing anything into the system.
//!
//! - [`KernelKind::Small`]: `linux-source-6.1` built with `tinyconfig` + `ci/linux/small.config`
//!   ([`small`]); about 1.1 MB, reaches `/init` in seconds under Bochs.
//! - [`KernelKind::Stock`]: Debian's `linux-image-amd64` kernel ([`stock`]); its XZ payload is
//!   decompressed on the host into a `vmlinux` for the PVH entry ([`bzimage`]).
//! - [`initramfs()`]: a newc cpio ([`cpio`]) with `busybox-static` and `ci/linux/init`
//!   ([`initramfs`](mod@initramfs)), which follows the "Init contract": `VMXRS-INIT-MARKER`,
//!   `/proc/cpuinfo`, `/proc/interrupts`, a workload, `VMXRS-INIT-DONE status=<n>`,
//!   `poweroff -f`; `vmxrs.interactive` on the command line starts a shell instead.
//!
//! The cache ([`cache_root`]): `$VMX_RS_CACHE/linux/`, else `$XDG_CACHE_HOME/vmx-rs/linux/`,
//! else `$HOME/.cache/vmx-rs/linux/` (the rule of `bochs3::cache_dir`). Entries are keyed on
//! the Debian package versions and on hashes of the fragment and of the init script, and
//! written under temporary names then renamed, so a warm call only asks `apt-cache` for the
//! candidate versions. [`artifacts`] and [`initramfs()`] hold the cache's lock
//! ([`lock::CacheLock`]) while they work, so parallel callers (threads or processes) wait for
//! one build instead of repeating it.
//!
//! Needs `apt-get`/`apt-cache`/`dpkg-deb` (Debian 12 sources), `tar`, `xz`, and for the
//! small kernel `gcc make bc flex bison libelf-dev` (installed with `apt-get install -y`
//! when running as root; otherwise the error names the command).

// Until `cargo ci run`/`test` use this module (the integrator's part), only the tests do.

pub mod bzimage;
pub mod cpio;
pub mod debian;
pub mod initramfs;
pub mod kconfig;
pub mod lock;
pub mod small;
pub mod stock;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A kernel command line for the small kernel: the console on COM1 (and the early console,
/// so that a failure before the 8250 driver is visible), reboot at once on a panic (the run
/// ends), no crypto self-tests.
pub const DEFAULT_CMDLINE_SMALL: &str =
    "console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 panic=-1 cryptomgr.notests";
/// The stock kernel's command line: the same; KASLR and the rest of the kernel's defaults
/// stay as Debian ships them.
pub const DEFAULT_CMDLINE_STOCK: &str =
    "console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 panic=-1 cryptomgr.notests";
/// The command-line word that makes the init start a shell on the console.
pub const INTERACTIVE_WORD: &str = "vmxrs.interactive";
/// The init's first console line.
pub const INIT_MARKER: &str = "VMXRS-INIT-MARKER";
/// The prefix of the init's last line (`VMXRS-INIT-DONE status=<n>`).
pub const INIT_DONE_PREFIX: &str = "VMXRS-INIT-DONE status=";

/// Which kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KernelKind {
    /// Built from `linux-source-6.1` with `ci/linux/small.config`.
    Small,
    /// Debian's `linux-image-amd64`.
    Stock,
}

/// The files of one kernel and the initramfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxArtifacts {
    /// The bzImage (boot protocol 2.15).
    pub bzimage: PathBuf,
    /// The uncompressed ELF kernel, with the PVH entry note.
    pub vmlinux: PathBuf,
    /// The initramfs (newc cpio, uncompressed).
    pub initrd: PathBuf,
    /// The bzImage's `kernel_version` string (e.g. `6.1.0-57-amd64 (debian-kernel@...) #1
    /// SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (...)`).
    pub version: String,
    /// The PVH entry point (physical address) of `vmlinux`'s `XEN_ELFNOTE_PHYS32_ENTRY`.
    pub pvh_entry: u64,
    /// The Debian package the kernel comes from, with its version (`linux-source-6.1
    /// 6.1.192-3`, `linux-image-6.1.0-57-amd64 6.1.192-3`).
    pub package: String,
}

/// The per-machine cache directory of the Linux artifacts (see the module docs; created on
/// use). `target/ci/linux/` when no variable is set.
pub fn cache_root() -> PathBuf {
    cache_root_from(|k| std::env::var_os(k))
        .unwrap_or_else(|| crate::builder::artifact_dir("linux"))
}

/// [`cache_root`]'s rule over the environment `env`; `None` when no variable is set.
fn cache_root_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("VMX_RS_CACHE") {
        return Some(d.join("linux"));
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return Some(d.join("vmx-rs").join("linux"));
    }
    var("HOME").map(|d| d.join(".cache").join("vmx-rs").join("linux"))
}

/// `path` with `.suffix` appended to its file name (a temporary or log name next to it;
/// unlike `Path::with_extension`, a version such as `6.1.192-3` in the name stays whole).
pub(crate) fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// Runs `cmd` with its output appended to `log`; on failure, the error names the step, the
/// status, the log and its last lines.
pub(crate) fn run_logged(step: &str, cmd: &mut Command, log: &Path) -> Result<(), String> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("opening {}: {e}", log.display()))?;
    let _ = writeln!(file, "== {step}");
    let err_file = file
        .try_clone()
        .map_err(|e| format!("opening {}: {e}", log.display()))?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .status()
        .map_err(|e| format!("{step}: cannot run {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines.get(lines.len().saturating_sub(15)..).unwrap_or(&[]);
    Err(format!(
        "{step} failed ({status}); output in {}:\n{}",
        log.display(),
        tail.join("\n")
    ))
}

/// The kernel `kind` and the initramfs, fetched and built first when the cache lacks them.
pub fn artifacts(kind: KernelKind) -> Result<LinuxArtifacts, String> {
    let _lock = lock::CacheLock::acquire(&cache_root())?;
    debian::prefetch(&[
        small::SOURCE_PACKAGE,
        stock::METAPACKAGE,
        initramfs::PACKAGE,
    ]);
    let (bzimage, vmlinux, package) = match kind {
        KernelKind::Small => {
            let k = small::ensure_built()?;
            let package = format!("{} {}", small::SOURCE_PACKAGE, k.source_version);
            (k.bzimage, k.vmlinux, package)
        }
        KernelKind::Stock => {
            let k = stock::ensure_fetched()?;
            (k.bzimage, k.vmlinux, k.package)
        }
    };
    let initrd = initramfs::ensure_built()?;
    let image =
        std::fs::read(&bzimage).map_err(|e| format!("reading {}: {e}", bzimage.display()))?;
    let version =
        bzimage::kernel_version(&image).map_err(|e| format!("{}: {e}", bzimage.display()))?;
    let elf = std::fs::read(&vmlinux).map_err(|e| format!("reading {}: {e}", vmlinux.display()))?;
    let pvh_entry = bzimage::pvh_entry(&elf).map_err(|e| format!("{}: {e}", vmlinux.display()))?;
    Ok(LinuxArtifacts {
        bzimage,
        vmlinux,
        initrd,
        version,
        pvh_entry,
        package,
    })
}

/// The initramfs, written first when the cache lacks it.
pub fn initramfs() -> Result<PathBuf, String> {
    let _lock = lock::CacheLock::acquire(&cache_root())?;
    initramfs::ensure_built()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// End to end (network, minutes on a cold cache): `cargo test -p ci linux::tests::end_to_end
    /// -- --ignored --nocapture`.
    #[test]
    #[ignore = "fetches Debian packages and builds a kernel"]
    fn end_to_end() {
        for kind in [KernelKind::Small, KernelKind::Stock] {
            let start = Instant::now();
            let a = artifacts(kind).unwrap();
            let size = |p: &Path| std::fs::metadata(p).unwrap().len();
            eprintln!(
                "{kind:?}: {:.1} s\n  bzImage {} ({} bytes)\n  vmlinux {} ({} bytes), PVH entry \
                 {:#x}\n  initrd {} ({} bytes)\n  version {}",
                start.elapsed().as_secs_f64(),
                a.bzimage.display(),
                size(&a.bzimage),
                a.vmlinux.display(),
                size(&a.vmlinux),
                a.pvh_entry,
                a.initrd.display(),
                size(&a.initrd),
                a.version
            );
            assert!(a.pvh_entry > 0x10_0000 && a.pvh_entry < 0x1_0000_0000);
            let e = cpio::parse(&std::fs::read(&a.initrd).unwrap()).unwrap();
            assert!(e.iter().any(|x| x.name == "init"));
            let warm = Instant::now();
            assert_eq!(artifacts(kind).unwrap(), a);
            eprintln!("{kind:?} warm: {:.2} s", warm.elapsed().as_secs_f64());
        }
    }

    #[test]
    fn cache_root_follows_the_variables() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let all: &'static [(&str, &str)] = &[
            ("VMX_RS_CACHE", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(cache_root_from(env(all)), Some(PathBuf::from("/c/linux")));
        let no_vmx: &'static [(&str, &str)] = &[
            ("VMX_RS_CACHE", ""),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(
            cache_root_from(env(no_vmx)),
            Some(PathBuf::from("/x/vmx-rs/linux"))
        );
        assert_eq!(
            cache_root_from(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/vmx-rs/linux"))
        );
        assert_eq!(cache_root_from(env(&[])), None);
    }

    #[test]
    fn beside_keeps_versions_whole() {
        assert_eq!(
            beside(Path::new("/c/small-6.1.192-3-ab"), "build-7"),
            PathBuf::from("/c/small-6.1.192-3-ab.build-7")
        );
        assert_eq!(
            beside(Path::new("x/vmlinux"), "part"),
            PathBuf::from("x/vmlinux.part")
        );
    }

    #[test]
    fn command_lines() {
        for c in [DEFAULT_CMDLINE_SMALL, DEFAULT_CMDLINE_STOCK] {
            assert!(c.contains("console=ttyS0,115200"));
            assert!(!c.contains(INTERACTIVE_WORD));
            assert!(!c.contains('\0'));
        }
        assert!(initramfs::INIT.contains(INIT_MARKER));
        assert!(initramfs::INIT.contains(INIT_DONE_PREFIX));
        assert!(initramfs::INIT.contains(INTERACTIVE_WORD));
    }
}
