//! Placeholder, filled in by issue 12 work.
