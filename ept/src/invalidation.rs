//! Invalidating cached EPT translations after changes (SDM Vol. 3C §29.4.3).

use core::fmt;

use vmx_defs::invalidation::{InveptDescriptor, InveptType};

use crate::error::Capability;
use crate::host::EptHost;
use crate::table::EptPageTable;

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

    /// Combines two tokens of the same table into one: one INVEPT covers both changes
    /// (SDM Vol. 3C §29.4.3.1).
    pub fn merge(self, other: FlushToken) -> FlushToken {
        let _ = other;
        self
    }

    /// Acknowledges the token without flushing now: the table keeps the pending
    /// invalidation until [`EptPageTable::flush_pending`](crate::EptPageTable::flush_pending)
    /// or [`EptPageTable::flush`](crate::EptPageTable::flush) performs it.
    pub fn defer(self) {}
}

/// Executes INVEPT (SDM Vol. 3C §31.3 "INVEPT"). [`HardwareInvept`] runs the instruction;
/// tests implement this trait to observe invalidations without VMX.
pub trait InveptExecutor {
    /// What a failed INVEPT reports.
    type Error;

    /// Invalidates cached translations of `ty` for `descriptor`.
    fn invept(&mut self, ty: InveptType, descriptor: &InveptDescriptor) -> Result<(), Self::Error>;
}

/// Runs INVEPT on this processor through [`vmx_insn::invept`], which checks the type and
/// EPTP against the processor's capabilities first (SDM Vol. 3C §31.3 "INVEPT"). Needs
/// VMX root operation at CPL 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardwareInvept;

impl InveptExecutor for HardwareInvept {
    type Error = vmx_insn::InsnError;

    fn invept(&mut self, ty: InveptType, descriptor: &InveptDescriptor) -> Result<(), Self::Error> {
        vmx_insn::invept(ty, descriptor)
    }
}

/// A flush could not be performed; the invalidation stays pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushError<E> {
    /// The configuration reports no usable INVEPT type (IA32_VMX_EPT_VPID_CAP bit 20 with
    /// bit 25 or 26, SDM Vol. 3D §A.10).
    Unsupported(Capability),
    /// INVEPT failed.
    Invept(E),
}

impl<E: fmt::Debug> fmt::Display for FlushError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushError::Unsupported(c) => write!(f, "INVEPT unavailable: {c:?} missing"),
            FlushError::Invept(e) => write!(f, "INVEPT failed: {e:?}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for FlushError<E> {}

impl<H: EptHost> EptPageTable<H> {
    /// The INVEPT type this table flushes with: single-context (only this table's
    /// translations) where supported, else all-context (SDM Vol. 3C §29.4.3.1); `None` if
    /// the capabilities report neither.
    pub fn invept_type(&self) -> Option<InveptType> {
        let caps = self.config().capabilities();
        [InveptType::SingleContext, InveptType::AllContext]
            .into_iter()
            .find(|t| t.is_supported(caps))
    }

    /// Performs the invalidation `token` stands for: INVEPT of
    /// [`invept_type`](Self::invept_type) with this table's EPTP, if any change since the
    /// last flush needs one (SDM Vol. 3C §29.4.3.1, §31.3 "INVEPT"). On error the
    /// invalidation stays pending.
    pub fn flush<X: InveptExecutor>(
        &mut self,
        token: FlushToken,
        invept: &mut X,
    ) -> Result<(), FlushError<X::Error>> {
        token.defer();
        self.flush_pending(invept).map(|_| ())
    }

    /// Performs the pending invalidation, if any (SDM Vol. 3C §29.4.3.1); returns whether
    /// INVEPT ran. A vCPU calls this before VM entry so that no change is ever left
    /// unflushed.
    pub fn flush_pending<X: InveptExecutor>(
        &mut self,
        invept: &mut X,
    ) -> Result<bool, FlushError<X::Error>> {
        if !self.needs_flush() {
            return Ok(false);
        }
        let ty = self
            .invept_type()
            .ok_or(FlushError::Unsupported(Capability::Invept))?;
        let descriptor = match ty {
            InveptType::SingleContext => InveptDescriptor::new(self.eptp()),
            InveptType::AllContext => InveptDescriptor::all_context(),
        };
        invept.invept(ty, &descriptor).map_err(FlushError::Invept)?;
        self.clear_pending();
        Ok(true)
    }
}
