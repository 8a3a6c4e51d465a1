//! The initramfs: a newc cpio archive ([`super::cpio`]) around Debian's `busybox-static`,
//! uncompressed:
//!
//! - directories `bin`, `dev`, `proc`, `sys`, `tmp`;
//! - `bin/busybox` (the package's `/bin/busybox`) and a symbolic link to it for each of
//!   [`APPLETS`] (checked against `busybox --list`, run on the host: the binary is static);
//! - `init`, the script `ci/linux/init` ([`INIT`]);
//! - `bin/rdtsc`, built here from `ci/linux/rdtsc.c` ([`RDTSC_SOURCE`]) with the host's
//!   `gcc` (the kernel build needs it anyway): prints the time-stamp counter, which the init
//!   prints after its marker;
//! - device nodes `dev/console` (5:1), `dev/null` (1:3), `dev/zero` (1:5) and `dev/kmsg`
//!   (1:11), so that the init's first lines need no mounted devtmpfs (the kernel opens
//!   `/dev/console` for init's standard streams) and the workload runs even if mounting it
//!   fails.
//!
//! Cached as `<cache>/linux/initramfs-VERSION-HASH.cpio` (VERSION: busybox-static's, HASH:
//! of the archive built around an empty busybox, so any change of the layout, the applets or
//! the init script makes a new entry).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{cache_root, cpio, debian, kconfig};

/// The init script, kept in the repository.
pub const INIT: &str = include_str!("../../linux/init");
/// The source of `bin/rdtsc`, kept in the repository.
pub const RDTSC_SOURCE: &str = include_str!("../../linux/rdtsc.c");
/// The package whose `/bin/busybox` the archive carries.
pub const PACKAGE: &str = "busybox-static";
/// The applets linked in `/bin`: what the init runs, and a few for the interactive shell.
pub const APPLETS: &[&str] = &[
    "sh",
    "cat",
    "cttyhack",
    "dd",
    "dmesg",
    "echo",
    "free",
    "ls",
    "mkdir",
    "mount",
    "poweroff",
    "ps",
    "reboot",
    "setsid",
    "sha256sum",
    "sleep",
    "uname",
];

/// The archive's entries, in order, for a busybox binary `busybox` and an rdtsc binary
/// `rdtsc`.
pub fn archive(busybox: &[u8], rdtsc: &[u8]) -> Result<Vec<u8>, cpio::CpioError> {
    let mut w = cpio::Writer::new();
    for d in ["bin", "dev", "proc", "sys", "tmp"] {
        w.dir(d, if d == "tmp" { 0o1777 } else { 0o755 })?;
    }
    w.file("bin/busybox", 0o755, busybox)?;
    w.file("bin/rdtsc", 0o755, rdtsc)?;
    for applet in APPLETS {
        w.symlink(&format!("bin/{applet}"), "busybox")?;
    }
    w.char_dev("dev/console", 0o600, 5, 1)?;
    w.char_dev("dev/null", 0o666, 1, 3)?;
    w.char_dev("dev/zero", 0o666, 1, 5)?;
    w.char_dev("dev/kmsg", 0o644, 1, 11)?;
    w.file("init", 0o755, INIT.as_bytes())?;
    Ok(w.finish())
}

/// The applets of [`APPLETS`] that `busybox --list` does not name.
fn missing_applets(busybox: &Path) -> Result<Vec<&'static str>, String> {
    let out = Command::new(busybox)
        .arg("--list")
        .output()
        .map_err(|e| format!("running {} --list: {e}", busybox.display()))?;
    let list = String::from_utf8_lossy(&out.stdout);
    let have: Vec<&str> = list.lines().map(str::trim).collect();
    Ok(APPLETS
        .iter()
        .copied()
        .filter(|a| !have.contains(a))
        .collect())
}

/// Compiles [`RDTSC_SOURCE`] with the host's gcc (static, no libc) and returns the binary.
fn build_rdtsc() -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir().join(format!("vmx-rs-rdtsc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let src = dir.join("rdtsc.c");
    let out = dir.join("rdtsc");
    std::fs::write(&src, RDTSC_SOURCE).map_err(|e| format!("writing {}: {e}", src.display()))?;
    let status = Command::new("gcc")
        .args([
            "-static",
            "-nostdlib",
            "-O2",
            "-fno-stack-protector",
            "-no-pie",
            "-o",
        ])
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(|e| format!("running gcc (apt-get install -y gcc): {e}"))?;
    if !status.success() {
        return Err(format!("gcc failed to build {}: {status}", src.display()));
    }
    let bytes = std::fs::read(&out).map_err(|e| format!("reading {}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(bytes)
}

/// The cached initramfs, written first when absent.
pub fn ensure_built() -> Result<PathBuf, String> {
    let info = debian::show(PACKAGE)?;
    let key = archive(&[], RDTSC_SOURCE.as_bytes()).map_err(|e| e.to_string())?;
    let path = cache_root().join(format!(
        "initramfs-{}-{}.cpio",
        info.version.replace(':', "%3a"),
        kconfig::fnv1a_hex(&key)
    ));
    if path.is_file() {
        return Ok(path);
    }
    let pkg = debian::unpacked(&info, None)?;
    let busybox_path = pkg.join("bin/busybox");
    let missing = missing_applets(&busybox_path)?;
    if !missing.is_empty() {
        return Err(format!(
            "{PACKAGE} {}'s busybox lacks the applets {}",
            info.version,
            missing.join(" ")
        ));
    }
    let busybox = std::fs::read(&busybox_path)
        .map_err(|e| format!("reading {}: {e}", busybox_path.display()))?;
    let rdtsc = build_rdtsc()?;
    let bytes = archive(&busybox, &rdtsc).map_err(|e| e.to_string())?;
    // Read back what the kernel will unpack: every entry parses and /init is there.
    let entries =
        cpio::parse(&bytes).map_err(|e| format!("the initramfs does not parse back: {e}"))?;
    let has_init = entries.iter().any(|e| {
        e.name == "init" && e.mode & cpio::S_IFMT == cpio::S_IFREG && e.data == INIT.as_bytes()
    });
    if !has_init {
        return Err("the initramfs has no /init after writing it".to_string());
    }
    let tmp = super::beside(&path, &format!("part-{}", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("renaming to {}: {e}", path.display()))?;
    eprintln!(
        "ci: initramfs written ({} KiB, busybox-static {}): {}",
        bytes.len() / 1024,
        info.version,
        path.display()
    );
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::cpio::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, parse};

    #[test]
    fn layout() {
        let a = archive(b"\x7fELF-busybox", b"\x7fELF-rdtsc").unwrap();
        let e = parse(&a).unwrap();
        let find = |n: &str| e.iter().find(|x| x.name == n).unwrap();
        for d in ["bin", "dev", "proc", "sys", "tmp"] {
            assert_eq!(find(d).mode & S_IFMT, S_IFDIR, "{d}");
        }
        assert_eq!(find("tmp").mode & 0o7777, 0o1777);
        assert_eq!(find("bin/busybox").data, b"\x7fELF-busybox");
        assert_eq!(find("bin/busybox").mode, S_IFREG | 0o755);
        assert_eq!(find("bin/rdtsc").data, b"\x7fELF-rdtsc");
        assert_eq!(find("bin/rdtsc").mode, S_IFREG | 0o755);
        for applet in APPLETS {
            let l = find(&format!("bin/{applet}"));
            assert_eq!(l.mode & S_IFMT, S_IFLNK);
            assert_eq!(l.data, b"busybox");
        }
        assert_eq!(find("dev/console").mode & S_IFMT, S_IFCHR);
        assert_eq!(find("dev/console").rdev, (5, 1));
        assert_eq!(find("dev/null").rdev, (1, 3));
        assert_eq!(find("dev/zero").rdev, (1, 5));
        assert_eq!(find("dev/kmsg").rdev, (1, 11));
        let init = find("init");
        assert_eq!(init.mode, S_IFREG | 0o755);
        assert_eq!(init.data, INIT.as_bytes());
        // Every parent comes before its contents.
        for (i, x) in e.iter().enumerate() {
            if let Some((parent, _)) = x.name.rsplit_once('/') {
                assert!(e[..i].iter().any(|p| p.name == parent), "{}", x.name);
            }
        }
    }

    #[test]
    fn init_follows_the_contract() {
        assert!(INIT.starts_with("#!/bin/sh\n"));
        let code: Vec<&str> = INIT
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        // The marker is the first thing printed, then written to the kernel log.
        let first_echo = code.iter().position(|l| l.starts_with("echo")).unwrap();
        assert_eq!(code[first_echo], "echo VMXRS-INIT-MARKER");
        // At KERN_CRIT, so that `quiet` does not hide it.
        assert_eq!(
            code[first_echo + 1],
            "echo \"<2>VMXRS-INIT-MARKER\" >/dev/kmsg"
        );
        let at = |s: &str| {
            code.iter()
                .position(|l| l.contains(s))
                .unwrap_or_else(|| panic!("{s}"))
        };
        assert!(at("cat /proc/cpuinfo") < at("cat /proc/interrupts"));
        assert!(at("cat /proc/interrupts") < at("step workload"));
        assert!(at("step workload") < at("step sleep 1"));
        assert!(at("step sleep 1") < at("VMXRS-INIT-DONE status=$status"));
        assert!(at("dd if=/dev/zero bs=1M count=4 | sha256sum") > 0);
        assert!(at("vmxrs.interactive") < at("setsid cttyhack sh"));
        assert_eq!(code.last(), Some(&"poweroff -f"));
        // Every command the script runs is a linked applet (or a shell builtin).
        for cmd in [
            "mount",
            "cat",
            "dd",
            "sha256sum",
            "sleep",
            "setsid",
            "cttyhack",
            "poweroff",
        ] {
            assert!(APPLETS.contains(&cmd), "{cmd}");
        }
    }
}
