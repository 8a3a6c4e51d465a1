//! Bare-metal builds only: links with `baremetal.ld` (exported by the `baremetal` crate) and
//! embeds the guest.
//!
//! The guest binary is built first by `cargo ci run`, which passes its path in the
//! `EXAMPLE_GUEST_ELF` environment variable; this script copies it to `OUT_DIR/guest.elf`,
//! which `src/hypervisor.rs` embeds with `include_bytes!`. Without the variable (e.g. a plain
//! `cargo clippy --target x86_64-unknown-none`) the embedded guest is empty and the
//! hypervisor says so when it runs. On the host nothing is done (the host binary only
//! explains how to run the example).

use std::env;
use std::path::PathBuf;

/// The environment variable naming the guest ELF.
const GUEST_ELF_VAR: &str = "EXAMPLE_GUEST_ELF";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={GUEST_ELF_VAR}");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Tbaremetal.ld");

    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        panic!("OUT_DIR is not set (cargo always sets it for build scripts)");
    };
    let target = out_dir.join("guest.elf");
    let Some(guest) = env::var_os(GUEST_ELF_VAR).map(PathBuf::from) else {
        println!(
            "cargo:warning={GUEST_ELF_VAR} is not set: building the example hypervisor without \
             a guest. Build and run both with `cargo ci run`."
        );
        if let Err(e) = std::fs::write(&target, []) {
            panic!("writing {} failed: {e}", target.display());
        }
        return;
    };
    println!("cargo:rerun-if-changed={}", guest.display());
    if let Err(e) = std::fs::copy(&guest, &target) {
        panic!("copying the guest ELF {} failed: {e}", guest.display());
    }
}
