//! The contract between the example guest and the example hypervisor.
//!
//! This library is shared by both packages so that the two sides of every interface (the
//! serial port, the CPUID signature leaf, the timer vector, the made-up MMIO device and the
//! hypercalls) are defined once. The guest program itself is the `example-guest` binary
//! (`src/main.rs`), built for `x86_64-unknown-none` and loaded by `examples/hypervisor`.
#![no_std]

pub mod abi;
