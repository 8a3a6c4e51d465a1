//! The scenario list: one file per area, each exporting `pub const SCENARIOS: &[Scenario]`.
//!
//! To add an area: create `scenarios/<area>.rs` with
//! `pub const SCENARIOS: &[Scenario] = &[Scenario { name: "...", run: my_fn }, ...];`
//! and add `<area>,` to the `areas!` list below. Scenarios run in list order.

use crate::env::Scenario;

mod vmx_setup;

macro_rules! areas {
    ($($area:ident,)*) => {
        $(mod $area;)*

        /// Every scenario, in order.
        pub fn all() -> impl Iterator<Item = &'static Scenario> + Clone {
            [$($area::SCENARIOS,)*].into_iter().flatten()
        }
    };
}

areas! {
    runtime,
    smoke,
    insn,
    vcpu,
    ept,
}
