//! Bochs 3.0 built from source, for `--bochs 3.0` and the fourth suite run of `cargo ci test`.
//!
//! Bochs 2.7 (Debian 12's package) does not process posted interrupts and never raises MTF
//! exits after instructions; Bochs 2.8 and later do, and 3.0 adds the `sapphire_rapids` and
//! `arrow_lake` models. Debian's trixie suite has Bochs 3.0, but only as binaries for a newer
//! C library, so [`ensure_built`] builds it from trixie's source tarball:
//!
//! 1. a private apt configuration under `target/ci/apt-trixie/` (its own `sources.list` with
//!    one `deb-src` line, its own state and cache directories, the system's Debian archive
//!    keyrings) and `apt-get update` with it: nothing of the system's apt setup changes and
//!    no root is needed;
//! 2. `apt-get source --print-uris bochs/trixie` names the `.orig.tar.xz` and its SHA-256
//!    (the `.dsc` is not served, so `apt-get source` itself cannot unpack it): the tarball
//!    is downloaded with curl and its SHA-256 checked;
//! 3. unpacked, [`PATCHES`] applied (each must match exactly once), configured with
//!    [`CONFIGURE_OPTIONS`] (VMX level 2, x86-64, SMP, the AVX family, no GUI) and built with
//!    `make -jN` (N = the host's CPUs);
//! 4. the `bochs` binary and the BIOS images are kept in the per-machine cache ([`cache_dir`]: `~/.cache/vmx-rs/bochs-3.0/` by default) with a
//!    `build-info.txt`; a later call reuses them (nothing is downloaded or built again).
//!
//! The BIOS: Debian's dfsg tarball carries no prebuilt Bochs BIOS (only SeaBIOS 1.13.0,
//! which leaves IA32_FEATURE_CONTROL unlocked at 0), so the build keeps copies of the Bochs
//! BIOS and VGA BIOS of Debian 12's `bochsbios`/`vgabios` packages (what Bochs 2.7 boots;
//! measured to boot Bochs 3.0 the same way, IA32_FEATURE_CONTROL locked at 0x5).
//!
//! Measured on a 2-core machine: configure + `make -j2` about 2 minutes when idle, 5 min 39 s
//! with other builds running; the cached build is reused in under a second.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::bochs;
use crate::builder;

/// Debian's suite that has Bochs 3.0 (testing has moved on to 3.1).
pub const SUITE: &str = "trixie";
/// The source line of the private apt configuration.
pub const SOURCES_LIST: &str = "deb-src http://deb.debian.org/debian trixie main\n";
/// The upstream version built.
pub const VERSION: &str = "3.0";
/// The keyring the private apt configuration trusts (Debian's archive keys, trixie's
/// included, from the `debian-archive-keyring` package).
pub const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// The directory of further trusted keys.
pub const KEYRING_PARTS: &str = "/etc/apt/trusted.gpg.d";

/// `./configure` options: VMX level 2 (EPT, VPID, posted interrupts...), x86-64, the CPU
/// models' AVX/AVX-512/CET extensions, SMP, PCI, the internal debugger (the runs quit
/// through it at the magic breakpoint) and no GUI (`display_library: nogui`).
pub const CONFIGURE_OPTIONS: &[&str] = &[
    "--enable-x86-64",
    "--enable-vmx=2",
    "--enable-cpu-level=6",
    "--enable-smp",
    "--enable-avx",
    "--enable-evex",
    "--enable-cet",
    "--enable-pci",
    "--enable-all-optimizations",
    "--enable-debugger",
    "--with-nogui",
];

/// One source change applied before configuring: in `file`, `from` (which must occur
/// exactly once) becomes `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patch {
    /// Path inside the unpacked source tree.
    pub file: &'static str,
    /// The text replaced.
    pub from: &'static str,
    /// Its replacement.
    pub to: &'static str,
    /// Why (printed when applied, kept in build-info.txt).
    pub why: &'static str,
}

/// The source changes: Bochs 3.0 reports the 1-setting of the "load IA32_SPEC_CTRL" VM-entry
/// control (bit 24, SDM Vol. 3C §25.8.1 Table 25-16 / Vol. 3D Appendix A.5) in
/// IA32_VMX_EXIT_CTLS2 (MSR 493H, the secondary VM-exit controls, whose bit 24 the SDM does
/// not define) instead of in IA32_VMX_ENTRY_CTLS / IA32_VMX_TRUE_ENTRY_CTLS; it nevertheless
/// implements the control and the guest IA32_SPEC_CTRL field (0x282E), which the SDM ties to
/// that VM-entry control (Vol. 3C §25.4.1, Vol. 3D Appendix B.2.3). The patch reports the
/// bit where the SDM puts it.
pub const PATCHES: &[Patch] = &[Patch {
    file: "cpu/vmcs.cc",
    from: "cap->vmx_vmexit_ctrl2_supported_bits |= VMX_VMENTRY_CTRL1_LOAD_GUEST_IA32_SPEC_CTRL;",
    to: "cap->vmx_vmentry_ctrl_supported_bits |= VMX_VMENTRY_CTRL1_LOAD_GUEST_IA32_SPEC_CTRL;",
    why: "report the \"load IA32_SPEC_CTRL\" VM-entry control (bit 24) in IA32_VMX_ENTRY_CTLS, \
          not in IA32_VMX_EXIT_CTLS2 (SDM Vol. 3D A.5, A.4.2)",
}];

/// A built Bochs 3.0 and the files its bochsrc names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The `bochs` binary.
    pub bochs: PathBuf,
    /// The BIOS image (`romimage:`).
    pub bios: PathBuf,
    /// The VGA BIOS image (`vgaromimage:`).
    pub vga_bios: PathBuf,
}

impl Install {
    /// The files of a build cached in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            bochs: dir.join("bochs"),
            bios: dir.join("BIOS-bochs-latest"),
            vga_bios: dir.join("VGABIOS-lgpl-latest"),
        }
    }

    /// Whether every file is there.
    pub fn present(&self) -> bool {
        [&self.bochs, &self.bios, &self.vga_bios]
            .iter()
            .all(|p| p.is_file())
    }
}

/// Where the build is cached: a per-machine cache that outlives checkouts (CI runs on a
/// fresh clone), `$VMX_RS_CACHE/bochs-3.0/`, else `$XDG_CACHE_HOME/vmx-rs/bochs-3.0/`, else
/// `$HOME/.cache/vmx-rs/bochs-3.0/`, and `target/ci/bochs-3.0/` when none of them is set.
pub fn cache_dir() -> PathBuf {
    let name = format!("bochs-{VERSION}");
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("VMX_RS_CACHE") {
        return d.join(name);
    }
    if let Some(d) = env("XDG_CACHE_HOME") {
        return d.join("vmx-rs").join(name);
    }
    if let Some(d) = env("HOME") {
        return d.join(".cache").join("vmx-rs").join(name);
    }
    builder::artifact_dir(&name)
}

/// Turns the Bochs 2.7 bochsrc `text` into one for the Bochs 3.0 build `install`: its BIOS
/// paths, `display_library: nogui` (the build has no other display), and no `sound:` or
/// `speaker:` lines (the build has no sound devices; Bochs refuses their options). Every
/// other line is kept as is.
pub fn adapt_bochsrc(text: &str, install: &Install) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let key = line.split(':').next().unwrap_or("").trim();
        match key {
            "romimage" => out.push_str(&format!("romimage: file={}", install.bios.display())),
            "vgaromimage" => {
                out.push_str(&format!("vgaromimage: file={}", install.vga_bios.display()))
            }
            "display_library" => out.push_str("display_library: nogui"),
            "sound" | "speaker" => continue,
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Returns the cached Bochs 3.0 build, building it first when the cache ([`cache_dir`]) lacks
/// it (see the module docs; needs network access to deb.debian.org, curl, a C++ compiler
/// and make).
pub fn ensure_built() -> Result<Install, String> {
    let dir = cache_dir();
    let install = Install::in_dir(&dir);
    if install.present() {
        return Ok(install);
    }
    bochs::ensure_installed()?; // Debian's BIOS images, copied below.
    for tool in ["apt-get", "curl", "tar", "xz", "make", "g++", "sha256sum"] {
        if !bochs::on_path(tool) {
            return Err(format!(
                "building Bochs {VERSION} needs `{tool}` (apt-get install -y build-essential \
                 curl xz-utils)"
            ));
        }
    }
    let start = Instant::now();
    eprintln!(
        "== building Bochs {VERSION} from Debian {SUITE}'s source into {} (first use only)",
        dir.display()
    );
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tarball = fetch_source(&dir)?;
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).map_err(|e| format!("creating {}: {e}", src.display()))?;
    run_quiet(
        "unpacking the source",
        Command::new("tar")
            .arg("xf")
            .arg(&tarball)
            .arg("-C")
            .arg(&src)
            .arg("--strip-components=1"),
        &dir.join("unpack.log"),
    )?;
    for p in PATCHES {
        apply_patch(&src, p)?;
        eprintln!("   patched {}: {}", p.file, p.why);
    }
    let configure_start = Instant::now();
    run_quiet(
        "configure",
        Command::new("./configure")
            .args(CONFIGURE_OPTIONS)
            .current_dir(&src),
        &dir.join("configure.log"),
    )?;
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    run_quiet(
        &format!("make -j{jobs}"),
        Command::new("make")
            .arg(format!("-j{jobs}"))
            .current_dir(&src),
        &dir.join("make.log"),
    )?;
    let build_s = configure_start.elapsed().as_secs();
    copy(&src.join("bochs"), &install.bochs)?;
    copy(Path::new(bochs::BIOS), &install.bios)?;
    copy(Path::new(bochs::VGA_BIOS), &install.vga_bios)?;
    let info = format!(
        "Bochs {VERSION} from {} (Debian {SUITE}, SHA-256 checked)\nconfigure {}\n{}\n\
         configure + make -j{jobs}: {build_s} s; whole step {} s\nBIOS: copies of {} and {}\n",
        tarball.display(),
        CONFIGURE_OPTIONS.join(" "),
        PATCHES
            .iter()
            .map(|p| format!("patch {}: {}", p.file, p.why))
            .collect::<Vec<_>>()
            .join("\n"),
        start.elapsed().as_secs(),
        bochs::BIOS,
        bochs::VGA_BIOS
    );
    let _ = std::fs::write(dir.join("build-info.txt"), info);
    // The object files are some 100 MB; the tarball stays for a rebuild.
    let _ = std::fs::remove_dir_all(&src);
    eprintln!(
        "   Bochs {VERSION} built in {build_s} s (configure + make -j{jobs}), {} s in all",
        start.elapsed().as_secs()
    );
    if install.present() {
        Ok(install)
    } else {
        Err(format!(
            "the Bochs {VERSION} build left no {}",
            install.bochs.display()
        ))
    }
}

/// The `apt-get` options of the private configuration rooted at `apt_dir`.
pub fn apt_options(apt_dir: &Path) -> Vec<String> {
    let d = apt_dir.display();
    [
        format!("Dir::Etc::sourcelist={d}/sources.list"),
        "Dir::Etc::sourceparts=-".to_string(),
        format!("Dir::Etc::preferencesparts={d}/preferences.d"),
        format!("Dir::State={d}/state"),
        format!("Dir::State::status={d}/state/status"),
        format!("Dir::Cache={d}/cache"),
        format!("Dir::Etc::trusted={KEYRING}"),
        format!("Dir::Etc::trustedparts={KEYRING_PARTS}"),
        "Debug::NoLocking=1".to_string(),
        "APT::Sandbox::User=root".to_string(),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_string(), o])
    .collect()
}

/// The `.orig.tar.xz` of `apt-get source --print-uris` output: its URI, file name and
/// SHA-256, if a line names one of version [`VERSION`].
pub fn orig_tarball(print_uris: &str) -> Option<(String, String, String)> {
    print_uris.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        let uri = words.next()?.trim_matches('\'');
        let name = words.next()?;
        let _size = words.next()?;
        let sha = words.next()?.strip_prefix("SHA256:")?;
        (name.starts_with(&format!("bochs_{VERSION}+")) && name.ends_with(".orig.tar.xz"))
            .then(|| (uri.to_string(), name.to_string(), sha.to_string()))
    })
}

/// Downloads (or reuses) the checked source tarball into `dir`; its path.
fn fetch_source(dir: &Path) -> Result<PathBuf, String> {
    let apt_dir = builder::artifact_dir(&format!("apt-{SUITE}"));
    for sub in [
        "preferences.d",
        "state/lists/partial",
        "cache/archives/partial",
    ] {
        let p = apt_dir.join(sub);
        std::fs::create_dir_all(&p).map_err(|e| format!("creating {}: {e}", p.display()))?;
    }
    let write = |name: &str, text: &str| {
        let p = apt_dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("writing {}: {e}", p.display()))
    };
    write("sources.list", SOURCES_LIST)?;
    if !apt_dir.join("state/status").is_file() {
        write("state/status", "")?;
    }
    let opts = apt_options(&apt_dir);
    run_quiet(
        &format!(
            "apt-get update (private configuration in {})",
            apt_dir.display()
        ),
        Command::new("apt-get").args(&opts).arg("update"),
        &dir.join("apt-update.log"),
    )?;
    let out = Command::new("apt-get")
        .args(&opts)
        .args(["source", "--print-uris", &format!("bochs/{SUITE}")])
        .output()
        .map_err(|e| format!("running apt-get source --print-uris: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (uri, name, sha) = orig_tarball(&text).ok_or_else(|| {
        format!(
            "apt-get source --print-uris bochs/{SUITE} names no bochs_{VERSION} .orig.tar.xz:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let tarball = dir.join(&name);
    if sha256(&tarball).as_deref() != Some(sha.as_str()) {
        eprintln!("   downloading {uri}");
        run_quiet(
            "curl",
            Command::new("curl")
                .args(["-fsSL", "--retry", "3", "-o"])
                .arg(&tarball)
                .arg(&uri),
            &dir.join("download.log"),
        )?;
        let got = sha256(&tarball);
        if got.as_deref() != Some(sha.as_str()) {
            let _ = std::fs::remove_file(&tarball);
            return Err(format!(
                "{uri}: SHA-256 {} differs from the archive's {sha}",
                got.unwrap_or_else(|| "unreadable".into())
            ));
        }
    }
    Ok(tarball)
}

/// The SHA-256 of `path` (lowercase hex), if it can be read.
fn sha256(path: &Path) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    let out = Command::new("sha256sum").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().map(str::to_string)
}

/// Applies `patch` to the source tree `src`.
fn apply_patch(src: &Path, patch: &Patch) -> Result<(), String> {
    let path = src.join(patch.file);
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let patched = patch_text(&text, patch).map_err(|n| {
        format!(
            "{}: the text to patch occurs {n} times, not once: {:?}",
            path.display(),
            patch.from
        )
    })?;
    std::fs::write(&path, patched).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// `text` with `patch.from` replaced by `patch.to`, or how often `from` occurs when that is
/// not exactly once.
pub fn patch_text(text: &str, patch: &Patch) -> Result<String, usize> {
    match text.matches(patch.from).count() {
        1 => Ok(text.replacen(patch.from, patch.to, 1)),
        n => Err(n),
    }
}

/// Runs `cmd` with its output in `log`; fails naming the step and the log's tail.
fn run_quiet(step: &str, cmd: &mut Command, log: &Path) -> Result<(), String> {
    let start = Instant::now();
    eprintln!("   {step}");
    let out = cmd
        .output()
        .map_err(|e| format!("{step}: cannot run {:?}: {e}", cmd.get_program()))?;
    let mut text = out.stdout;
    text.extend_from_slice(&out.stderr);
    let _ = std::fs::write(log, &text);
    if out.status.success() {
        eprintln!("   done after {:.1} s", start.elapsed().as_secs_f64());
        return Ok(());
    }
    let all = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = all.lines().collect();
    let tail = lines.get(lines.len().saturating_sub(15)..).unwrap_or(&[]);
    Err(format!(
        "{step} failed ({}); full output in {}:\n{}",
        out.status,
        log.display(),
        tail.join("\n")
    ))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochsrc_is_adapted_for_the_nogui_build() {
        let install = Install::in_dir(Path::new("/c"));
        let text = "romimage: file=/usr/share/bochs/BIOS-bochs-latest\n\
                    vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest\n\
                    cpu: model=arrow_lake, count=2\n\
                    speaker: enabled=0\n\
                    sound: waveoutdrv=dummy\n\
                    display_library: rfb, options=\"timeout=0\"\n";
        assert_eq!(
            adapt_bochsrc(text, &install),
            "romimage: file=/c/BIOS-bochs-latest\n\
             vgaromimage: file=/c/VGABIOS-lgpl-latest\n\
             cpu: model=arrow_lake, count=2\n\
             display_library: nogui\n"
        );
    }

    #[test]
    fn the_orig_tarball_is_found_in_print_uris_output() {
        let out = "Need to get 3930 kB of source archives.\n\
            'http://deb.debian.org/debian/pool/main/b/bochs/bochs_3.0%2bdfsg-1.dsc' bochs_3.0+dfsg-1.dsc 2554 SHA256:6a4e\n\
            'http://deb.debian.org/debian/pool/main/b/bochs/bochs_3.0%2bdfsg.orig.tar.xz' bochs_3.0+dfsg.orig.tar.xz 3896488 SHA256:78f6c73d\n\
            'http://deb.debian.org/debian/pool/main/b/bochs/bochs_3.0%2bdfsg-1.debian.tar.xz' bochs_3.0+dfsg-1.debian.tar.xz 30720 SHA256:c68f\n";
        assert_eq!(
            orig_tarball(out),
            Some((
                "http://deb.debian.org/debian/pool/main/b/bochs/bochs_3.0%2bdfsg.orig.tar.xz"
                    .to_string(),
                "bochs_3.0+dfsg.orig.tar.xz".to_string(),
                "78f6c73d".to_string()
            ))
        );
        // Another version (testing's 3.1) is not taken for 3.0.
        let other = out.replace("3.0", "3.1");
        assert_eq!(orig_tarball(&other), None);
        assert_eq!(orig_tarball(""), None);
    }

    #[test]
    fn a_patch_applies_exactly_once_or_not_at_all() {
        let p = PATCHES[0];
        let text = format!("a\n  {}\nb\n", p.from);
        assert_eq!(patch_text(&text, &p), Ok(format!("a\n  {}\nb\n", p.to)));
        assert_eq!(patch_text("nothing", &p), Err(0));
        assert_eq!(patch_text(&format!("{0}{0}", p.from), &p), Err(2));
    }

    #[test]
    fn apt_options_keep_everything_private() {
        let opts = apt_options(Path::new("/t/apt"));
        assert_eq!(opts.len() % 2, 0);
        assert!(opts.iter().step_by(2).all(|o| o == "-o"));
        for needle in [
            "Dir::Etc::sourcelist=/t/apt/sources.list",
            "Dir::Etc::sourceparts=-",
            "Dir::State=/t/apt/state",
            "Dir::Cache=/t/apt/cache",
            "Dir::Etc::trusted=/usr/share/keyrings/debian-archive-keyring.gpg",
        ] {
            assert!(opts.iter().any(|o| o == needle), "{needle}");
        }
        assert!(SOURCES_LIST.starts_with("deb-src ") && SOURCES_LIST.contains(SUITE));
    }
}
