//! Debian packages fetched and unpacked into `cargo ci`'s per-machine cache, without
//! installing anything: `apt-cache show` names the candidate version, its size and its
//! dependencies, `apt-get download NAME=VERSION` fetches the `.deb`, `dpkg-deb` unpacks it
//! (all of it, or only the members under one directory). Each unpacked package lives in
//! `<cache>/linux/pkgs/NAME_VERSION/` with a `.complete` stamp (the `.deb` is then deleted),
//! so a second call only asks `apt-cache` for the version (once per process: [`prefetch`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::{beside, cache_root, run_logged};

/// The fields of an `apt-cache show` stanza that `cargo ci` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// `Package:`.
    pub name: String,
    /// `Version:` (the candidate).
    pub version: String,
    /// `Size:` of the `.deb` in bytes (0 when absent).
    pub size: u64,
    /// `Depends:` as written (empty when absent).
    pub depends: String,
}

/// Reads every stanza of `apt-cache show` output (stanzas without `Package:` or
/// `Version:` are skipped).
pub fn parse_show_all(text: &str) -> Vec<PackageInfo> {
    text.split("\n\n").filter_map(parse_stanza).collect()
}

/// Reads the first stanza of `apt-cache show` output.
#[cfg(test)]
pub fn parse_show(text: &str) -> Option<PackageInfo> {
    text.split("\n\n").next().and_then(parse_stanza)
}

fn parse_stanza(stanza: &str) -> Option<PackageInfo> {
    let field = |key: &str| {
        stanza.lines().find_map(|l| {
            l.strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        })
    };
    Some(PackageInfo {
        name: field("Package")?,
        version: field("Version")?,
        size: field("Size").and_then(|s| s.parse().ok()).unwrap_or(0),
        depends: field("Depends").unwrap_or_default(),
    })
}

/// The first dependency of `depends` whose name starts with `prefix` (a metapackage such as
/// `linux-image-amd64` depends on exactly one `linux-image-6.1.0-N-amd64`).
pub fn dependency_with_prefix(depends: &str, prefix: &str) -> Option<String> {
    depends
        .split([',', '|'])
        .filter_map(|d| d.split_whitespace().next())
        .find(|name| name.starts_with(prefix))
        .map(str::to_string)
}

/// Whether this process runs as root (`id -u` prints 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Candidates already asked for in this process (`apt-cache` takes most of a second a
/// call on a machine with several suites in its sources).
static KNOWN: Mutex<BTreeMap<String, PackageInfo>> = Mutex::new(BTreeMap::new());

fn known(name: &str) -> Option<PackageInfo> {
    KNOWN.lock().ok()?.get(name).cloned()
}

/// Asks `apt-cache show --no-all-versions` about `names` at once and remembers the answers.
fn apt_cache_show(names: &[&str]) {
    let Ok(out) = Command::new("apt-cache")
        .args(["show", "--no-all-versions"])
        .args(names)
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    if let Ok(mut map) = KNOWN.lock() {
        for info in parse_show_all(&String::from_utf8_lossy(&out.stdout)) {
            map.entry(info.name.clone()).or_insert(info);
        }
    }
}

/// Looks the candidates of `names` up with one `apt-cache` call (those not known yet);
/// [`show`] then answers from memory. Unknown packages are left for [`show`] to report.
pub fn prefetch(names: &[&str]) {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| known(n).is_none())
        .collect();
    if !missing.is_empty() {
        apt_cache_show(&missing);
    }
}

/// The candidate of package `name`; when apt knows no such package, runs `apt-get update`
/// first if root, else says to.
pub fn show(name: &str) -> Result<PackageInfo, String> {
    prefetch(&[name]);
    if let Some(info) = known(name) {
        return Ok(info);
    }
    if !is_root() {
        return Err(format!(
            "apt knows no package {name}: run `sudo apt-get update` (Debian 12 bookworm's main \
             archive and its security updates must be in the sources)"
        ));
    }
    eprintln!("ci: apt knows no package {name}: running apt-get update...");
    let log = cache_root().join("apt-update.log");
    run_logged(
        "apt-get update",
        Command::new("apt-get").arg("update"),
        &log,
    )?;
    apt_cache_show(&[name]);
    known(name).ok_or_else(|| format!("apt knows no package {name}, even after apt-get update"))
}

fn mb(bytes: u64) -> u64 {
    bytes.div_ceil(1_000_000)
}

/// The `.deb` of `info` in `<cache>/linux/debs/`, downloaded with `apt-get download` when
/// absent.
pub fn fetch(info: &PackageInfo) -> Result<PathBuf, String> {
    let debs = cache_root().join("debs");
    let prefix = format!("{}_", info.name);
    let version_tag = info.version.replace(':', "%3a");
    let find = |dir: &Path| -> Option<PathBuf> {
        std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&prefix)
                        && n.ends_with(".deb")
                        && n[prefix.len()..].starts_with(&format!("{version_tag}_"))
                })
            })
    };
    if let Some(deb) = find(&debs) {
        return Ok(deb);
    }
    eprintln!(
        "ci: fetching {} {} ({} MB, once)...",
        info.name,
        info.version,
        mb(info.size)
    );
    let tmp = debs.join(format!("partial-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let log = debs.join(format!("{}.download.log", info.name));
    run_logged(
        &format!("apt-get download {}={}", info.name, info.version),
        Command::new("apt-get")
            .args(["-o", "APT::Sandbox::User=root", "download"])
            .arg(format!("{}={}", info.name, info.version))
            .current_dir(&tmp),
        &log,
    )?;
    let got = find(&tmp).ok_or_else(|| {
        format!(
            "apt-get download {} left no .deb in {}",
            info.name,
            tmp.display()
        )
    })?;
    let deb = debs.join(got.file_name().unwrap_or_default());
    std::fs::rename(&got, &deb).map_err(|e| format!("moving {}: {e}", got.display()))?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(deb)
}

/// Unpacks `deb` into `dest` (which must not exist yet): everything with `dpkg-deb -x`, or
/// only the members under `only` (such as `./boot`) with `dpkg-deb --fsys-tarfile | tar`.
pub fn unpack(deb: &Path, dest: &Path, only: Option<&str>) -> Result<(), String> {
    std::fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let Some(member) = only else {
        let log = beside(dest, "unpack.log");
        return run_logged(
            &format!("dpkg-deb -x {}", deb.display()),
            Command::new("dpkg-deb").arg("-x").arg(deb).arg(dest),
            &log,
        );
    };
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running dpkg-deb: {e}"))?;
    let stdout = dpkg
        .stdout
        .take()
        .ok_or_else(|| "dpkg-deb: no stdout".to_string())?;
    let tar = Command::new("tar")
        .arg("-xf")
        .arg("-")
        .arg("-C")
        .arg(dest)
        .arg(member)
        .stdin(stdout)
        .status()
        .map_err(|e| format!("running tar: {e}"))?;
    let dpkg = dpkg
        .wait()
        .map_err(|e| format!("waiting for dpkg-deb: {e}"))?;
    if !tar.success() || !dpkg.success() {
        return Err(format!(
            "dpkg-deb --fsys-tarfile {} | tar -x {member}: dpkg-deb {dpkg}, tar {tar}",
            deb.display()
        ));
    }
    Ok(())
}

/// The unpacked contents of package `info` (only the `only` directory when given), fetched
/// and unpacked into `<cache>/linux/pkgs/NAME_VERSION/` on first use.
pub fn unpacked(info: &PackageInfo, only: Option<&str>) -> Result<PathBuf, String> {
    let dir = cache_root().join("pkgs").join(format!(
        "{}_{}",
        info.name,
        info.version.replace(':', "%3a")
    ));
    let stamp = dir.join(".complete");
    if stamp.is_file() {
        return Ok(dir);
    }
    let deb = fetch(info)?;
    let tmp = beside(&dir, &format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    unpack(&deb, &tmp, only)?;
    std::fs::write(tmp.join(".complete"), format!("{}\n", deb.display()))
        .map_err(|e| format!("writing the stamp in {}: {e}", tmp.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|e| format!("renaming to {}: {e}", dir.display()))?;
    // The unpacked tree is the cache entry; the .deb (140 MB for linux-source-6.1) is not
    // needed again.
    let _ = std::fs::remove_file(&deb);
    Ok(dir)
}

/// The one file in `dir` whose name starts with `prefix` (e.g. `vmlinuz-` in `boot/`).
pub fn one_file(dir: &Path, prefix: &str) -> Result<PathBuf, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(format!(
            "{n} files named {prefix}* in {} (one expected)",
            dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = "Package: linux-image-amd64\nSource: linux-signed-amd64 (6.1.192+3)\n\
Version: 6.1.192-3\nInstalled-Size: 13\n\
Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)\nSize: 1480\n\
Description: Linux for 64-bit PCs (meta-package)\n\nPackage: linux-image-amd64\n\
Version: 6.1.176-1\n";

    #[test]
    fn reads_the_candidate_stanza() {
        let info = parse_show(SHOW).unwrap();
        assert_eq!(info.name, "linux-image-amd64");
        assert_eq!(info.version, "6.1.192-3");
        assert_eq!(info.size, 1480);
        assert_eq!(
            dependency_with_prefix(&info.depends, "linux-image-").as_deref(),
            Some("linux-image-6.1.0-57-amd64")
        );
        assert_eq!(parse_show("Package: x\n"), None);
        let all = parse_show_all(SHOW);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].version, "6.1.176-1");
        assert_eq!(all[1].depends, "");
        assert_eq!(all[1].size, 0);
        assert_eq!(parse_show(""), None);
    }

    #[test]
    fn dependency_lists() {
        let d = "libc6 (>= 2.34), kmod | linux-initramfs-tool, linux-image-6.1.0-9-amd64";
        assert_eq!(
            dependency_with_prefix(d, "linux-image-").as_deref(),
            Some("linux-image-6.1.0-9-amd64")
        );
        assert_eq!(
            dependency_with_prefix(d, "linux-initramfs").as_deref(),
            Some("linux-initramfs-tool")
        );
        assert_eq!(dependency_with_prefix(d, "zzz"), None);
        assert_eq!(dependency_with_prefix("", "linux-"), None);
    }
}
