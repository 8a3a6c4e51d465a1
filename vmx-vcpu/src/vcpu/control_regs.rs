//! Completing a guest's MOV to CR3 that exited because CR3-load exiting is on (SDM Vol. 3C
//! §26.1.3; forced on by processors without the TRUE capability MSRs, Vol. 3D §A.3.2).

use vmx_defs::controls::{EntryControls, SecondaryProcBasedControls};
use vmx_defs::invalidation::{InvvpidDescriptor, InvvpidType};
use vmx_defs::vmcs::fields;

use crate::arch;
use crate::cr3::{Cr3Context, check_mov_to_cr3, cr3_invvpid_type};
use crate::error::{VcpuFeature, VmxError, VmxInstruction, insn};
use crate::host::VmxHost;

use super::{Vcpu, vmread, vmwrite};

/// CR0.PG (SDM Vol. 3A §2.5).
const CR0_PG: u64 = 1 << 31;
/// CR4.PAE (SDM Vol. 3A §2.5).
const CR4_PAE: u64 = 1 << 5;
/// CR4.PCIDE (SDM Vol. 3A §2.5).
const CR4_PCIDE: u64 = 1 << 17;
/// CPUID.(EAX=07H,ECX=1):EAX\[26\]: linear-address masking (SDM Vol. 2A CPUID).
const CPUID_7_1_EAX_LAM: u32 = 1 << 26;

impl<H: VmxHost> Vcpu<'_, H> {
    /// Performs the guest's MOV to CR3 of `value` (from a
    /// [`CrAccess::MovTo`](crate::exit::CrAccess::MovTo) exit with `cr == 3`) without
    /// advancing RIP:
    ///
    /// 1. Checks `value` with [`check_mov_to_cr3`] for the guest's mode (the "IA-32e mode
    ///    guest" entry control, which VM exits keep equal to IA32_EFER.LMA), CR4.PCIDE,
    ///    this processor's MAXPHYADDR and LAM support. A reserved bit set is
    ///    [`VmxError::InvalidCr3`]: nothing changes, inject #GP(0).
    /// 2. Writes the result to GUEST_CR3. With CR4.PCIDE = 1, source bit 63 is the
    ///    no-invalidate hint (SDM Vol. 3A §4.10.4.1) and is never written.
    /// 3. Unless the hint was given, performs the invalidation MOV to CR3 implies: with
    ///    VPID on, INVVPID for this vCPU's VPID of the first type the processor supports
    ///    among single-context-retaining-globals, single-context and all-context
    ///    ([`cr3_invvpid_type`]; none is [`VmxError::NoInvvpidType`], found before CR3
    ///    is written). With VPID off, every VM entry and exit already invalidates VPID 0's
    ///    mappings (SDM Vol. 3C §29.4.3.1), so nothing more is due.
    ///
    /// Needs EPT ([`VmxError::NotConfigured`] otherwise: without EPT, GUEST_CR3 holds the
    /// VMM's shadow tables, not a guest-physical address the guest may choose). A guest
    /// under PAE paging (CR0.PG = 1, CR4.PAE = 1, not IA-32e mode) is refused with
    /// [`VmxError::PaePdptesNotEmulated`]: its MOV to CR3 also loads the four PDPTEs, which VM
    /// entry takes from the VMCS with EPT on (SDM Vol. 3C §27.3.1.6) and this helper does
    /// not read from guest memory.
    pub fn load_guest_cr3(&mut self, value: u64) -> Result<(), VmxError> {
        if !self
            .controls
            .secondary
            .contains(SecondaryProcBasedControls::ENABLE_EPT)
        {
            // Without EPT, GUEST_CR3 is the VMM's shadow CR3, not the guest's.
            return Err(VmxError::NotConfigured(VcpuFeature::Ept));
        }
        self.vmcs.load()?;
        let cr0 = vmread(fields::GUEST_CR0)?;
        let cr4 = vmread(fields::GUEST_CR4)?;
        let entry = EntryControls::from_bits_retain(vmread(fields::CTRL_VMENTRY_CONTROLS)?);
        let ia32e = entry.contains(EntryControls::IA32E_MODE_GUEST);
        if !ia32e && cr0 & CR0_PG != 0 && cr4 & CR4_PAE != 0 {
            return Err(VmxError::PaePdptesNotEmulated);
        }
        let ctx = Cr3Context {
            ia32e,
            pcide: cr4 & CR4_PCIDE != 0,
            maxphyaddr: vmx_insn::physical_address_width().bits(),
            lam: arch::cpuid(0, 0).eax >= 7
                && arch::cpuid(7, 0).eax >= 1
                && arch::cpuid(7, 1).eax & CPUID_7_1_EAX_LAM != 0,
        };
        let load = check_mov_to_cr3(value, ctx)?;
        // The invalidation is chosen before CR3 changes, so that an error leaves it as is.
        let invalidation = match (load.invalidate, &self.vpid) {
            (true, Some(vpid)) => {
                let ty = cr3_invvpid_type(self.cpu.capabilities().ept_vpid())
                    .ok_or(VmxError::NoInvvpidType)?;
                // A vCPU's VPID is never 0, so the single-context descriptor exists; the
                // all-context invalidation is the safe superset either way.
                match InvvpidDescriptor::single_context(vpid.get()) {
                    Ok(desc) if ty != InvvpidType::AllContext => Some((ty, desc)),
                    _ => Some((InvvpidType::AllContext, InvvpidDescriptor::all_context())),
                }
            }
            _ => None,
        };
        vmwrite(fields::GUEST_CR3, load.cr3)?;
        if let Some((ty, desc)) = invalidation {
            vmx_insn::invvpid(ty, &desc).map_err(insn(VmxInstruction::Invvpid))?;
        }
        Ok(())
    }

    /// [`load_guest_cr3`](Self::load_guest_cr3), then advances RIP past the MOV (like the
    /// other `complete_*` helpers). On error nothing changes and RIP stays (inject #GP(0)
    /// for [`VmxError::InvalidCr3`]).
    pub fn complete_mov_to_cr3(&mut self, value: u64) -> Result<(), VmxError> {
        self.expect_exit(
            crate::error::Completion::MovToCr3,
            vmx_defs::exit_reason::BasicExitReason::CONTROL_REGISTER_ACCESS,
        )?;
        self.load_guest_cr3(value)?;
        self.advance_rip()
    }
}
