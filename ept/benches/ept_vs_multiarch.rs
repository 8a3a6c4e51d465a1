//! Placeholder: benchmark added next.
fn main() {}
