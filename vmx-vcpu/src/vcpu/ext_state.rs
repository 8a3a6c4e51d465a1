//! The guest's extended state (x87, SSE, AVX...; SDM Vol. 1 ch. 13) around VM entries and
//! exits: the switching mode, lazy mode inside `run_loop`, the guest's XCR0. The switch
//! itself is in the entry assembly (`entry.rs`) and `xstate.rs`.

use crate::error::VmxError;
use crate::host::VmxHost;
use crate::xstate::{XStateMode, check_xcr0, put_guest_xstate};

use super::Vcpu;

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// How extended state is switched.
    pub fn xstate_mode(&self) -> XStateMode {
        self.xstate.mode
    }

    /// Lazy mode for [`Vcpu::run_loop`] (off by default): the guest's extended state is
    /// loaded at the loop's first entry and saved when the loop returns, instead of at every
    /// exit and entry, so an exit handled by the loop's handler costs no XSAVE/XRSTOR (or
    /// FXSAVE/FXRSTOR). XCR0 keeps the guest's value meanwhile. [`Vcpu::run`] and
    /// entries of other vCPUs on this CPU are unaffected: before one of them enters, the
    /// kept state is saved (as KVM does when it schedules out a vCPU with its FPU loaded).
    /// No effect with [`XStateMode::None`].
    ///
    /// # Safety
    /// While a lazy-mode `run_loop` runs, the guest's x87/SSE/AVX registers are live in the
    /// host: the handler, and anything that runs on this CPU until the loop returns
    /// (interrupt or NMI handlers included), must not execute x87, MMX, SSE, AVX or XSAVE-
    /// family instructions, or must call [`Vcpu::release_xstate`] first. Otherwise the
    /// host reads guest values or hands its own to the guest, breaking the isolation this
    /// crate otherwise guarantees. Code built for `x86_64-unknown-none` (soft-float, no SSE)
    /// meets this unless it uses such instructions in assembly.
    ///
    /// The same holds for the state components XSAVE switches with the rest (SDM Vol. 1
    /// §13.1): in particular PKRU (XCR0 bit 9), when the guest's XCR0 enables it, keeps the
    /// guest's value until the loop returns, so while CR4.PKE = 1 the host's data accesses to
    /// user-mode pages (SDM Vol. 3A §4.6.2) are checked against the guest's protection keys:
    /// the host must not rely on PKRU (nor execute RDPKRU/WRPKRU) meanwhile. IA32_XFD and
    /// IA32_XFD_ERR (SDM Vol. 1 §13.14) are not switched in any mode: the guest runs with the
    /// host's IA32_XFD, and the host must not arm XFD for a component in the guest's XCR0,
    /// or the XRSTOR of the guest's state in the entry path raises #NM in the host.
    pub unsafe fn set_lazy_xstate(&mut self, lazy: bool) {
        self.lazy_xstate = lazy;
    }

    /// Whether lazy mode is on ([`Vcpu::set_lazy_xstate`]).
    pub fn lazy_xstate(&self) -> bool {
        self.lazy_xstate
    }

    /// In a lazy-mode [`Vcpu::run_loop`] handler: saves the guest's extended state and
    /// restores the host's now, so that the host may use x87/SSE/AVX until the next entry
    /// (which loads the guest's state again). Does nothing when the state is not kept.
    pub fn release_xstate(&mut self) {
        let block = self.block_mut();
        if block.guest_loaded != 0 {
            // SAFETY: the block is this vCPU's; `guest_loaded` says its guest state is the
            // one in the registers (set by the entry code in this CPU's lazy loop).
            unsafe { put_guest_xstate(block) };
        }
    }

    /// Before this vCPU enters: a guest state another vCPU's lazy loop keeps on this CPU
    /// goes out first.
    #[inline]
    pub(super) fn take_xstate(&mut self) {
        let owner = self.cpu.xstate_owner();
        if owner != 0 && owner != self.block.as_ptr() as u64 {
            Self::release_foreign_xstate(owner);
        }
    }

    #[cold]
    #[inline(never)]
    fn release_foreign_xstate(owner: u64) {
        // SAFETY: `owner` is registered by a `run_loop` that is running on this CPU (we are
        // called from inside its handler) and clears it before it returns, so the block is
        // live; that loop touches its block only through raw pointers and not while its
        // handler runs.
        let block = unsafe { &mut *(owner as *mut crate::entry::RunBlock) };
        if block.guest_loaded != 0 {
            // SAFETY: as for `release_xstate`, for that vCPU's block.
            unsafe { put_guest_xstate(block) };
        }
    }

    /// Lets the guest load an XCR0 value with XSETBV (call from the [`VmExit::Xsetbv`](crate::VmExit::Xsetbv)
    /// handler, then advance RIP; inject #GP on error). The caller checks ECX = 0 first;
    /// [`complete_xsetbv`](Self::complete_xsetbv) does the index check, this and the RIP
    /// advance in one call. Checked against SDM Vol. 1 §13.3
    /// and the components the processor supports.
    pub fn set_guest_xcr0(&mut self, value: u64) -> Result<(), VmxError> {
        if self.xstate.mode != XStateMode::Xsave {
            // XCR0 is not switched for this vCPU: only x87 (and SSE) can be "loaded".
            check_xcr0(value, self.xstate.supported_xcr0 & 3)?;
            return Err(VmxError::InvalidXcr0 {
                value,
                rule: vmx_defs::registers::Xcr0Error::Unsupported { bits: value & !1 },
            });
        }
        check_xcr0(value, self.xstate.supported_xcr0)?;
        // A state kept loaded under the old value goes out first: the next entry loads it
        // again with the new one.
        self.release_xstate();
        let union = self.xstate.host_xcr0 | value | (self.xstate.supported_xcr0 & 3);
        let b = self.block_mut();
        b.guest_xcr0 = value;
        b.union_xcr0 = union;
        Ok(())
    }

    /// Completes the guest's XSETBV from its [`VmExit::Xsetbv`](crate::VmExit::Xsetbv) exit
    /// (`index` = ECX, `value` = EDX:EAX): checks it with
    /// [`check_xsetbv`](crate::xstate::check_xsetbv) (ECX = 0, the only XCR; a value SDM
    /// Vol. 1 §13.3 allows on this processor), makes `value` the guest's XCR0 and advances
    /// RIP. On [`VmxError::InvalidXcrIndex`] or [`VmxError::InvalidXcr0`] nothing changes
    /// and RIP stays: inject #GP(0), as XSETBV raises it (SDM Vol. 2B XSETBV).
    pub fn complete_xsetbv(&mut self, index: u32, value: u64) -> Result<(), VmxError> {
        self.expect_exit(
            crate::error::Completion::Xsetbv,
            vmx_defs::exit_reason::BasicExitReason::XSETBV,
        )?;
        if index != 0 {
            return Err(VmxError::InvalidXcrIndex(index));
        }
        self.set_guest_xcr0(value)?;
        self.advance_rip()
    }

    /// The guest's XCR0 (1 until it runs XSETBV; 0 when XSAVE is not switched).
    pub fn guest_xcr0(&self) -> u64 {
        self.block().guest_xcr0
    }
}
