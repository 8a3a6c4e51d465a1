//! The scenario list: one file per area, each exporting `pub const SCENARIOS: &[Scenario]`.
//!
//! To add an area: create `scenarios/<area>.rs` with
//! `pub const SCENARIOS: &[Scenario] = &[Scenario { name: "...", run: my_fn }, ...];`
//! and add `mod <area>;` plus `<area>::SCENARIOS` to the list in `all` below. Scenarios run in list order.

use crate::env::Scenario;

mod vmx_setup;

mod apic;
mod entry_check;
mod ept;
mod hostile;
mod insn;
mod runtime;
mod smoke;
mod smp;
mod vcpu;

/// Every scenario, in order (declared as plain modules above so that rustfmt and every
/// other tool sees the area files).
pub fn all() -> impl Iterator<Item = &'static Scenario> + Clone {
    [
        runtime::SCENARIOS,
        smoke::SCENARIOS,
        insn::SCENARIOS,
        vcpu::SCENARIOS,
        ept::SCENARIOS,
        hostile::SCENARIOS,
        smp::SCENARIOS,
        apic::SCENARIOS,
        entry_check::SCENARIOS,
    ]
    .into_iter()
    .flatten()
}
