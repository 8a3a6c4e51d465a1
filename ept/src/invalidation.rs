//! Invalidating cached EPT translations after changes (SDM Vol. 3C §29.4.3).

use core::fmt;
use core::marker::PhantomData;

use vmx_defs::invalidation::{InveptDescriptor, InveptType};

use vmx_defs::ept::Eptp;

use crate::config::EptConfig;
use crate::error::Capability;
use crate::memory::HostMemory;
use crate::table::EptPageTable;

/// Proof that a change may have left stale guest-physical or combined translations, or
/// cached upper-level entries naming a retired paging structure, in the processors' caches
/// (SDM Vol. 3C §29.4.3.1).
///
/// Consumed only by a flush: [`EptPageTable::flush`](crate::EptPageTable::flush) (INVEPT
/// through an [`InveptExecutor`]) or, for a table shared with vCPUs,
/// [`EptEdit::commit`](crate::EptEdit::commit) (every [`EptUser`](crate::EptUser)
/// invalidates before its next VM entry). The table also records the pending invalidation
/// itself ([`needs_flush`](crate::EptPageTable::needs_flush)), so a token lost by an early
/// return is still flushed by the next flush.
#[must_use = "stale EPT translations may stay cached and retired frames stay held: pass the token to EptPageTable::flush or EptEdit::commit"]
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
        let FlushToken { _private: () } = other;
        self
    }

    /// Consumes the token once the flush it stands for is arranged.
    pub(crate) fn consume(self) {
        let FlushToken { _private: () } = self;
    }
}

/// Executes INVEPT (SDM Vol. 3C §31.3 "INVEPT") for a flush that must cover *every*
/// logical processor. [`HardwareInvept`] runs the instruction on the calling processor;
/// tests implement this trait to observe invalidations without VMX.
///
/// # Safety
///
/// An implementation returns `Ok(())` from [`invept`](InveptExecutor::invept) only when,
/// at that moment, no logical processor retains guest-physical or combined mappings, nor
/// cached EPT paging-structure entries, derived from the EPTP that `descriptor` names
/// (single-context, type 1) or from any EPTP (all-context, type 2) that were created before
/// the call (SDM Vol. 3C §29.4.3.1, §31.3 "INVEPT"). On that answer the table gives the
/// paging structures it retired back to its host, which may hand them out for anything,
/// and callers of [`EptPageTable::map`](crate::EptPageTable::map) may reuse unmapped
/// memory. An implementation that cannot guarantee this returns an error.
pub unsafe trait InveptExecutor {
    /// What a failed INVEPT reports.
    type Error;

    /// Invalidates cached translations of `ty` for `descriptor` on every logical processor
    /// that may hold them (see the trait's safety contract).
    fn invept(&mut self, ty: InveptType, descriptor: &InveptDescriptor) -> Result<(), Self::Error>;
}

/// Runs INVEPT on the calling logical processor through [`vmx_insn::invept`], which checks
/// the type and EPTP against the processor's capabilities first (SDM Vol. 3C §31.3
/// "INVEPT"). Needs VMX root operation at CPL 0.
///
/// INVEPT affects only the processor that executes it, so this executor keeps the
/// [`InveptExecutor`] contract only for tables used on one logical processor: see
/// [`HardwareInvept::new`]. It is neither `Send` nor `Sync`. A table shared by vCPUs on
/// several processors goes through [`Ept`](crate::Ept) instead, whose users invalidate
/// on their own processor ([`EptUser::sync_this_cpu`](crate::EptUser::sync_this_cpu)).
///
/// ```compile_fail,E0133
/// // Constructing it is a promise about where the EPTP is used: `unsafe`.
/// let _invept = ept::HardwareInvept::new();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HardwareInvept {
    /// Not `Send`/`Sync`: the promise is about the logical processor that made the value.
    _this_cpu: PhantomData<*mut ()>,
}

impl HardwareInvept {
    /// An executor for the calling logical processor.
    ///
    /// # Safety
    ///
    /// For as long as the value is used, every EPTP flushed through it (every table passed
    /// to [`EptPageTable::flush`](crate::EptPageTable::flush) with it) is, and since its
    /// paging structures were first written was, used for VM entries on the calling
    /// logical processor only, and the value is used on that processor only (a kernel
    /// thread that may migrate must pin itself first). Then an INVEPT here reaches every
    /// processor that may cache the EPTP's translations (SDM Vol. 3C §29.4.3.1).
    pub const unsafe fn new() -> Self {
        Self {
            _this_cpu: PhantomData,
        }
    }
}

// SAFETY: `HardwareInvept::new`'s contract: the EPTP is and was used on this logical
// processor only, and INVEPT on it invalidates that processor's mappings for it (all
// contexts for type 2; SDM Vol. 3C §31.3 "INVEPT"), so on success none remains anywhere.
unsafe impl InveptExecutor for HardwareInvept {
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

impl<H: HostMemory> EptPageTable<H> {
    /// The INVEPT type this table flushes with: single-context (only this table's
    /// translations) where supported, else all-context (SDM Vol. 3C §29.4.3.1); `None` if
    /// the capabilities report neither.
    pub fn invept_type(&self) -> Option<InveptType> {
        invept_type_for(self.config())
    }

    /// Performs the invalidation `token` stands for: INVEPT of
    /// [`invept_type`](Self::invept_type) with this table's EPTP, if any change since the
    /// last flush needs one (SDM Vol. 3C §29.4.3.1, §31.3 "INVEPT"), then gives the retired
    /// paging structures back to the host. On error the invalidation stays pending and the
    /// retired frames stay held (the token is consumed either way:
    /// [`flush_pending`](Self::flush_pending) retries).
    pub fn flush<X: InveptExecutor>(
        &mut self,
        token: FlushToken,
        invept: &mut X,
    ) -> Result<(), FlushError<X::Error>> {
        token.consume();
        self.flush_pending(invept).map(|_| ())
    }

    /// Performs the pending invalidation, if any, and gives the retired paging structures
    /// back (SDM Vol. 3C §29.4.3.1); returns whether INVEPT ran. With a plain table used
    /// on one processor, a vCPU may call this before every VM entry so that no change is
    /// ever left unflushed.
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
        let descriptor = descriptor_for(ty, self.eptp());
        invept.invept(ty, &descriptor).map_err(FlushError::Invept)?;
        // SAFETY: the executor answered Ok: by the InveptExecutor contract no logical
        // processor retains translations derived from this EPTP (single-context) or any
        // (all-context), and nothing changed the table since the INVEPT started.
        unsafe { self.complete_flush() };
        Ok(true)
    }
}

/// Single-context INVEPT where the capabilities report it, else all-context, else `None`
/// (IA32_VMX_EPT_VPID_CAP bits 20, 25, 26; SDM Vol. 3D §A.10, Vol. 3C §29.4.3.1).
pub(crate) fn invept_type_for(config: &EptConfig) -> Option<InveptType> {
    let caps = config.capabilities();
    [InveptType::SingleContext, InveptType::AllContext]
        .into_iter()
        .find(|t| t.is_supported(caps))
}

/// The INVEPT descriptor for `ty`: the EPTP for single-context, zero for all-context
/// (SDM Vol. 3C §31.3 "INVEPT").
pub(crate) fn descriptor_for(ty: InveptType, eptp: Eptp) -> InveptDescriptor {
    match ty {
        InveptType::SingleContext => InveptDescriptor::new(eptp),
        InveptType::AllContext => InveptDescriptor::all_context(),
    }
}
