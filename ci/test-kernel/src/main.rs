//! The in-emulator scenario suite.
//!
//! A bare-metal kernel (`x86_64-unknown-none`) that runs every scenario of
//! `src/scenarios/` in turn and prints one line per scenario (`ok NAME`, `FAIL NAME: detail`,
//! `skipped NAME: reason`), then `N passed, N failed, N skipped`, then ends the emulator.
//! Built and booted in Bochs by `cargo ci suite --model M` (see ci/test-kernel/README.md).
//! On the host this binary only explains that.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod env;
#[cfg(target_os = "none")]
mod hosts;
#[cfg(target_os = "none")]
mod runner;
#[cfg(target_os = "none")]
mod scenarios;

#[cfg(target_os = "none")]
baremetal::entry!(runner::main);

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "test-kernel is a bare-metal kernel for x86_64-unknown-none; \
         build and run it in Bochs with `cargo ci suite --model corei7_icelake_u` \
         (or every model with `cargo ci test`)."
    );
    std::process::exit(2);
}
