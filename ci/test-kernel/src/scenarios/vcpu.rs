//! Scenarios for the `vmx-vcpu` crate (written by its owner).

use crate::env::Scenario;

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[];
