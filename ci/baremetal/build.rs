//! Exposes `baremetal.ld` to the binaries that link against this crate.
//!
//! Only for the bare-metal target: a binary's own build script then passes
//! `-Tbaremetal.ld` (see `ci/test-kernel/build.rs`); the linker finds the script through
//! the search path added here.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=baremetal.ld");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        println!("cargo:warning=OUT_DIR is not set; baremetal.ld not exported");
        return;
    };
    let Some(src) =
        env::var_os("CARGO_MANIFEST_DIR").map(|d| PathBuf::from(d).join("baremetal.ld"))
    else {
        println!("cargo:warning=CARGO_MANIFEST_DIR is not set; baremetal.ld not exported");
        return;
    };
    if let Err(e) = std::fs::copy(&src, out.join("baremetal.ld")) {
        println!("cargo:warning=copying {} failed: {e}", src.display());
        return;
    }
    println!("cargo:rustc-link-search=native={}", out.display());
}
