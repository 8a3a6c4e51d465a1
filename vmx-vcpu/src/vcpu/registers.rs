//! Guest register-state and non-register-state accessors kept in the VMCS: RIP, RSP, RFLAGS
//! (SDM Vol. 3C §25.4.1 "Guest Register State") and the activity state (§25.4.2 "Guest
//! Non-Register State"; supported states in IA32_VMX_MISC\[8:6\], Vol. 3D §A.6).

use vmx_defs::guest_state::ActivityState;
use vmx_defs::vmcs::fields;

use crate::error::VmxError;
use crate::host::VmxHost;

use super::{Vcpu, vmwrite};

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// Guest RIP.
    pub fn rip(&mut self) -> Result<u64, VmxError> {
        self.read_field(fields::GUEST_RIP)
    }

    /// Sets guest RIP.
    pub fn set_rip(&mut self, rip: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        vmwrite(fields::GUEST_RIP, rip)
    }

    /// Guest RSP.
    pub fn rsp(&mut self) -> Result<u64, VmxError> {
        self.read_field(fields::GUEST_RSP)
    }

    /// Sets guest RSP.
    pub fn set_rsp(&mut self, rsp: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        vmwrite(fields::GUEST_RSP, rsp)
    }

    /// Guest RFLAGS.
    pub fn rflags(&mut self) -> Result<u64, VmxError> {
        self.read_field(fields::GUEST_RFLAGS)
    }

    /// Sets guest RFLAGS (bit 1 forced to 1).
    pub fn set_rflags(&mut self, rflags: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        vmwrite(fields::GUEST_RFLAGS, rflags | 2)
    }

    /// The guest activity state (SDM §25.4.2): active, HLT, shutdown, wait-for-SIPI, or a
    /// value this crate does not know (kept as read).
    pub fn activity_state(&mut self) -> Result<ActivityState, VmxError> {
        self.read_field(fields::GUEST_ACTIVITY_STATE)
            .map(ActivityState::from_raw)
    }

    /// Sets the guest activity state the next VM entry loads (SDM §25.4.2, §27.7.4: e.g.
    /// HLT, so that the guest waits until an injected event wakes it). Checked against the
    /// states this processor supports (IA32_VMX_MISC bits 8:6; active is always supported):
    /// [`VmxError::UnsupportedActivityState`] otherwise, since VM entry would fail on it
    /// (§27.3.1.5). Event injection wakes a halted guest by itself.
    pub fn set_activity_state(&mut self, state: ActivityState) -> Result<(), VmxError> {
        if !state.is_supported(self.cpu.capabilities().misc().0) {
            return Err(VmxError::UnsupportedActivityState(state));
        }
        self.vmcs.load()?;
        vmwrite(fields::GUEST_ACTIVITY_STATE, state.raw())
    }
}
