//! Links the guest binary with `guest.ld` when building for the bare-metal target; nothing
//! for the host (there the binary only explains how to run the example).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=guest.ld");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let Some(dir) = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        println!("cargo:warning=CARGO_MANIFEST_DIR is not set; guest.ld not used");
        return;
    };
    println!(
        "cargo:rustc-link-arg-bins=-T{}",
        dir.join("guest.ld").display()
    );
}
