//! Links the kernel with `baremetal.ld` (exported by the `baremetal` crate's build script)
//! when building for the bare-metal target; nothing for the host.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-Tbaremetal.ld");
    }
}
