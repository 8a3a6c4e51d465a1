//! Guest register-state and non-register-state accessors kept in the VMCS: RIP, RSP, RFLAGS
//! (SDM Vol. 3C §25.4.1 "Guest Register State") and the activity state (§25.4.2 "Guest
//! Non-Register State"; supported states in IA32_VMX_MISC\[8:6\], Vol. 3D §A.6).

use vmx_defs::guest_state::ActivityState;
use vmx_defs::vmcs::fields;

use crate::error::VmxError;
use crate::host::VmxHost;

use super::{Vcpu, vmread, vmwrite};

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

use vmx_defs::controls::EntryControls;
use vmx_defs::guest_state::{Interruptibility, PrivilegeLevel, SegmentAccessRights};
use vmx_defs::registers::{Cr0, Cr4, Efer};
use vmx_defs::vmcs::{ReadWrite, W16, W32, WNat};

use crate::guest::{Segment, SegmentReg};

/// The four VMCS fields of a segment register (SDM Vol. 3C Appendix B).
type SegmentFields = (
    vmx_defs::vmcs::Field<W16, ReadWrite>,
    vmx_defs::vmcs::Field<WNat, ReadWrite>,
    vmx_defs::vmcs::Field<W32, ReadWrite>,
    vmx_defs::vmcs::Field<W32, ReadWrite>,
);

const fn segment_fields(reg: SegmentReg) -> SegmentFields {
    use fields::*;
    match reg {
        SegmentReg::Es => (
            GUEST_ES_SELECTOR,
            GUEST_ES_BASE,
            GUEST_ES_LIMIT,
            GUEST_ES_ACCESS_RIGHTS,
        ),
        SegmentReg::Cs => (
            GUEST_CS_SELECTOR,
            GUEST_CS_BASE,
            GUEST_CS_LIMIT,
            GUEST_CS_ACCESS_RIGHTS,
        ),
        SegmentReg::Ss => (
            GUEST_SS_SELECTOR,
            GUEST_SS_BASE,
            GUEST_SS_LIMIT,
            GUEST_SS_ACCESS_RIGHTS,
        ),
        SegmentReg::Ds => (
            GUEST_DS_SELECTOR,
            GUEST_DS_BASE,
            GUEST_DS_LIMIT,
            GUEST_DS_ACCESS_RIGHTS,
        ),
        SegmentReg::Fs => (
            GUEST_FS_SELECTOR,
            GUEST_FS_BASE,
            GUEST_FS_LIMIT,
            GUEST_FS_ACCESS_RIGHTS,
        ),
        SegmentReg::Gs => (
            GUEST_GS_SELECTOR,
            GUEST_GS_BASE,
            GUEST_GS_LIMIT,
            GUEST_GS_ACCESS_RIGHTS,
        ),
        SegmentReg::Ldtr => (
            GUEST_LDTR_SELECTOR,
            GUEST_LDTR_BASE,
            GUEST_LDTR_LIMIT,
            GUEST_LDTR_ACCESS_RIGHTS,
        ),
        SegmentReg::Tr => (
            GUEST_TR_SELECTOR,
            GUEST_TR_BASE,
            GUEST_TR_LIMIT,
            GUEST_TR_ACCESS_RIGHTS,
        ),
    }
}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// The guest's current privilege level: SS.DPL, which VM entry requires to equal CPL
    /// and the processor keeps so (SDM Vol. 3C §25.4.1, §27.3.1.2).
    pub fn cpl(&mut self) -> Result<PrivilegeLevel, VmxError> {
        self.read_field(fields::GUEST_SS_ACCESS_RIGHTS)
            .map(|ar| SegmentAccessRights::from_raw(ar).dpl())
    }

    /// A guest segment register: selector, base, limit, access rights (SDM Vol. 3C
    /// §25.4.1).
    pub fn segment(&mut self, reg: SegmentReg) -> Result<Segment, VmxError> {
        let (sel, base, limit, ar) = segment_fields(reg);
        self.vmcs.load()?;
        Ok(Segment {
            selector: vmread(sel)?,
            base: vmread(base)?,
            limit: vmread(limit)?,
            access_rights: SegmentAccessRights::from_raw(vmread(ar)?),
        })
    }

    /// Sets a guest segment register (e.g. when emulating a far transfer or a task
    /// switch). VM entry checks the result (SDM Vol. 3C §27.3.1.2).
    pub fn set_segment(&mut self, reg: SegmentReg, segment: &Segment) -> Result<(), VmxError> {
        let (sel, base, limit, ar) = segment_fields(reg);
        self.vmcs.load()?;
        vmwrite(sel, segment.selector)?;
        vmwrite(base, segment.base)?;
        vmwrite(limit, segment.limit)?;
        vmwrite(ar, segment.access_rights.raw())
    }

    /// CR0 as the guest sees it: the read shadow for host-owned bits, the guest-state field
    /// for the others (SDM Vol. 3C §25.6.6).
    pub fn guest_cr0(&mut self) -> Result<Cr0, VmxError> {
        self.vmcs.load()?;
        let mask = vmread(fields::CTRL_CR0_GUEST_HOST_MASK)?;
        let shadow = vmread(fields::CTRL_CR0_READ_SHADOW)?;
        let field = vmread(fields::GUEST_CR0)?;
        Ok(Cr0::from_bits_retain(crate::cr_rules::visible(
            field, shadow, mask,
        )))
    }

    /// CR4 as the guest sees it (shadow applied, as [`Vcpu::guest_cr0`]; CR4.VMXE reads as
    /// the guest last wrote it).
    pub fn guest_cr4(&mut self) -> Result<Cr4, VmxError> {
        self.vmcs.load()?;
        let mask = vmread(fields::CTRL_CR4_GUEST_HOST_MASK)?;
        let shadow = vmread(fields::CTRL_CR4_READ_SHADOW)?;
        let field = vmread(fields::GUEST_CR4)?;
        Ok(Cr4::from_bits_retain(crate::cr_rules::visible(
            field, shadow, mask,
        )))
    }

    /// The guest's IA32_EFER: the GUEST_IA32_EFER field where the "load/save IA32_EFER"
    /// controls switch it, else its entry in the MSR lists (stored at every VM exit; SDM
    /// Vol. 3C §25.4.1, §28.4), kept there by [`Vcpu::write_guest_state`].
    pub fn guest_efer(&mut self) -> Result<Efer, VmxError> {
        if self.controls.entry.contains(EntryControls::LOAD_IA32_EFER) {
            return self
                .read_field(fields::GUEST_IA32_EFER)
                .map(Efer::from_bits_retain);
        }
        self.guest_msr(Efer::MSR)
            .map(Efer::from_bits_retain)
            .ok_or(VmxError::MsrNotSwitched(Efer::MSR))
    }

    /// The guest's interruptibility state: blocking by STI, MOV SS, SMI, NMI (SDM Vol. 3C
    /// §25.4.2 Table 25-3).
    pub fn interruptibility(&mut self) -> Result<Interruptibility, VmxError> {
        self.read_field(fields::GUEST_INTERRUPTIBILITY_STATE)
            .map(Interruptibility::from_bits_retain)
    }

    /// Sets the guest's interruptibility state (reserved bits 31:5 are dropped: VM entry
    /// refuses them, SDM Vol. 3C §27.3.1.5).
    pub fn set_interruptibility(&mut self, state: Interruptibility) -> Result<(), VmxError> {
        self.vmcs.load()?;
        vmwrite(
            fields::GUEST_INTERRUPTIBILITY_STATE,
            state.bits() & Interruptibility::all().bits(),
        )
    }
}
