//! Invalidating cached EPT translations after changes (SDM Vol. 3C §29.4.3).

/// Proof that a change may have left stale guest-physical or combined translations in the
/// processor's caches (SDM Vol. 3C §29.4.3.1): pass it to
/// [`EptPageTable::flush`](crate::EptPageTable::flush) before the guest runs again.
///
/// The table also records the pending invalidation itself, so a vCPU that calls
/// [`EptPageTable::flush_pending`](crate::EptPageTable::flush_pending) before every VM entry
/// may [`defer`](FlushToken::defer) tokens instead.
#[must_use = "stale EPT translations may stay cached: pass the token to EptPageTable::flush, or defer() it to a flush_pending before the next VM entry"]
#[derive(Debug, PartialEq, Eq)]
pub struct FlushToken {
    _private: (),
}

impl FlushToken {
    pub(crate) const fn new() -> Self {
        Self { _private: () }
    }

    /// Combines two tokens of the same table into one.
    pub fn merge(self, other: FlushToken) -> FlushToken {
        let _ = other;
        self
    }

    /// Acknowledges the token without flushing now: the table keeps the pending
    /// invalidation until [`EptPageTable::flush_pending`](crate::EptPageTable::flush_pending)
    /// or [`EptPageTable::flush`](crate::EptPageTable::flush) performs it.
    pub fn defer(self) {}
}
