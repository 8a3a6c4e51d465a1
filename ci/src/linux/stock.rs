//! Debian's stock kernel: the candidate of the metapackage `linux-image-amd64` names one
//! `linux-image-6.1.0-N-amd64` package; its `/boot/vmlinuz-*` (a bzImage, XZ payload) is
//! unpacked (only `./boot`, not the modules) and its uncompressed `vmlinux` extracted on the
//! host ([`super::bzimage::extract_vmlinux`]) for the PVH entry. Cached in
//! `<cache>/linux/stock-PACKAGE_VERSION/` as `bzImage` and `vmlinux`.

use std::path::PathBuf;

use super::{bzimage, cache_root, debian};

/// The metapackage that names the current stock kernel.
pub const METAPACKAGE: &str = "linux-image-amd64";

/// The stock kernel's files.
#[derive(Debug, Clone)]
pub struct StockKernel {
    /// The bzImage (`/boot/vmlinuz-*`).
    pub bzimage: PathBuf,
    /// The uncompressed ELF kernel.
    pub vmlinux: PathBuf,
    /// The package (`linux-image-6.1.0-N-amd64`) and its version.
    pub package: String,
}

/// The cached stock kernel, fetched and extracted first when absent.
pub fn ensure_fetched() -> Result<StockKernel, String> {
    let meta = debian::show(METAPACKAGE)?;
    let name = debian::dependency_with_prefix(&meta.depends, "linux-image-").ok_or_else(|| {
        format!(
            "{METAPACKAGE} {} depends on no linux-image-* package: {}",
            meta.version, meta.depends
        )
    })?;
    let info = debian::show(&name)?;
    let dir = cache_root().join(format!(
        "stock-{}_{}",
        info.name,
        info.version.replace(':', "%3a")
    ));
    let kernel = StockKernel {
        bzimage: dir.join("bzImage"),
        vmlinux: dir.join("vmlinux"),
        package: format!("{} {}", info.name, info.version),
    };
    if kernel.bzimage.is_file() && kernel.vmlinux.is_file() {
        return Ok(kernel);
    }
    let pkg = debian::unpacked(&info, Some("./boot"))?;
    let vmlinuz = debian::one_file(&pkg.join("boot"), "vmlinuz-")?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let image =
        std::fs::read(&vmlinuz).map_err(|e| format!("reading {}: {e}", vmlinuz.display()))?;
    eprintln!(
        "ci: extracting the stock kernel's vmlinux from {} (once)...",
        vmlinuz.display()
    );
    let entry = bzimage::extract_vmlinux(&image, &kernel.vmlinux)?;
    let tmp = super::beside(&kernel.bzimage, "part");
    std::fs::write(&tmp, &image).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &kernel.bzimage)
        .map_err(|e| format!("renaming to {}: {e}", kernel.bzimage.display()))?;
    eprintln!("ci: stock vmlinux ready, PVH entry {entry:#x}");
    Ok(kernel)
}
