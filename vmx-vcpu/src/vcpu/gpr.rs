//! Any guest general-purpose register by its SDM number: the 15 kept in the run block and
//! RSP, which lives in the VMCS guest-state area (SDM Vol. 3C §25.4.1 "Guest Register
//! State"; register numbers in §28.2.1 Tables 28-3, 28-4 and §28.2.5).

use vmx_defs::vmcs::fields;

use crate::error::VmxError;
use crate::host::VmxHost;
use crate::regs::Gpr;

use super::{Vcpu, vmread, vmwrite};

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// The guest's value of `gpr`, as a decoded exit names it (a MOV CR or MOV DR operand,
    /// an instruction-information register): RSP is read from GUEST_RSP in the VMCS (made
    /// current first), the others from the saved registers.
    pub fn gpr(&mut self, gpr: Gpr) -> Result<u64, VmxError> {
        match self.block().regs.get(gpr) {
            Some(value) => Ok(value),
            None => {
                self.load_vmcs()?;
                vmread(fields::GUEST_RSP)
            }
        }
    }

    /// Sets the guest's `gpr` (e.g. the destination of an emulated MOV from CR, RDRAND or
    /// VMREAD): RSP through GUEST_RSP (the VMCS is made current first), the others in the
    /// saved registers, loaded at the next VM entry.
    pub fn set_gpr(&mut self, gpr: Gpr, value: u64) -> Result<(), VmxError> {
        if self.block_mut().regs.set(gpr, value) {
            return Ok(());
        }
        self.load_vmcs()?;
        vmwrite(fields::GUEST_RSP, value)
    }
}
