//! Why a VM entry fails: [`Vcpu::diagnose_entry`] runs the software VM-entry checker
//! (`vmx-entry-check`: every check of SDM Vol. 3C §27.2, §27.3.1 and §27.4) on a VMREAD
//! snapshot of this vCPU's VMCS. Used on the failure paths only (VMfailValid 7/8, exit
//! reasons 33/34) and, when [`VcpuConfig::preflight_check`](crate::VcpuConfig) is on,
//! before the first VMLAUNCH.

use vmx_defs::msr_entry::MsrEntry;
use vmx_defs::vmcs::{ALL_FIELDS, VmcsEncoding};
use vmx_entry_check::{CheckContext, CpuFeatures, Diagnosis, VmcsSnapshot};

use crate::arch::cpuid;
use crate::error::{EntryCheck, VmxError, VmxInstruction, insn};
use crate::host::VmxHost;

use super::{MSR_LIST_CAPACITY, Vcpu};

/// The CPUID facts the checks depend on (SDM Vol. 2A CPUID; Vol. 3C §27.2-§27.4).
fn cpu_features() -> CpuFeatures {
    let max = cpuid(0, 0).eax;
    let (l7, l7_1) = if max >= 7 {
        (cpuid(7, 0), cpuid(7, 1))
    } else {
        Default::default()
    };
    let l0d_1 = if max >= 0xD {
        cpuid(0xD, 1)
    } else {
        Default::default()
    };
    let l0d_0 = if max >= 0xD {
        cpuid(0xD, 0)
    } else {
        Default::default()
    };
    CpuFeatures {
        la57: l7.ecx & (1 << 16) != 0,
        lam: l7_1.eax & (1 << 26) != 0,
        rtm: l7.ebx & (1 << 11) != 0,
        sgx: l7.ebx & (1 << 2) != 0,
        supported_xss: u64::from(l0d_1.ecx) | (u64::from(l0d_1.edx) << 32),
        supported_xcr0: u64::from(l0d_0.eax) | (u64::from(l0d_0.edx) << 32),
    }
}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// A snapshot of every VMCS field that exists on this processor
    /// ([`FieldInfo::exists_on`](vmx_defs::vmcs::FieldInfo::exists_on)), read with VMREAD
    /// (SDM Vol. 3C §25.11.2, §31.3); a field whose VMREAD fails is left absent. Makes the
    /// VMCS current first.
    pub fn vmcs_snapshot(&mut self) -> Result<VmcsSnapshot, VmxError> {
        self.vmcs.load()?;
        let caps = self.cpu.capabilities();
        let mut snapshot = VmcsSnapshot::new();
        for info in ALL_FIELDS.iter().filter(|i| i.exists_on(caps)) {
            if let Ok(value) = vmx_insn::vmread_raw(info.encoding.raw()) {
                snapshot.set_raw(info.encoding, value);
            }
        }
        Ok(snapshot)
    }

    /// Runs every VM-entry check of SDM Vol. 3C §27.2 (controls, host state), §27.3.1
    /// (guest state) and §27.4 (this vCPU's VM-entry MSR-load list) on the current
    /// contents of the VMCS, and says which fail and what the processor reports first.
    ///
    /// The context: the capability MSRs of [`VmxCpu`](crate::VmxCpu), MAXPHYADDR, the
    /// CPUID facts (5-level paging, LAM, RTM, SGX, supported XSS/XCR0 bits), this VMCS's
    /// address (for the link-pointer check) and the MSR-load page this vCPU owns (every
    /// entry of it, so that a changed count is checked against the page's contents).
    /// Memory the vCPU does not own (the VMCS the link pointer names, the PDPTEs of a PAE
    /// guest on host memory) is not read: those checks run on the fields only.
    pub fn diagnose_entry(&mut self) -> Result<Diagnosis, VmxError> {
        let snapshot = self.vmcs_snapshot()?;
        let list = self.guest_list();
        // SAFETY: the guest MSR-load list is a page of this vCPU's frames holding
        // MSR_LIST_CAPACITY 16-byte entries, zeroed at allocation (so every entry is
        // initialized), and only this vCPU writes it, through `&mut self`, which this
        // borrow holds until the checker returns.
        let entries: &[MsrEntry] = unsafe { core::slice::from_raw_parts(list, MSR_LIST_CAPACITY) };
        let mut ctx = CheckContext::new(
            *self.cpu.capabilities(),
            vmx_insn::physical_address_width().bits() as u8,
        );
        ctx.cpu = cpu_features();
        ctx.current_vmcs = Some(self.vmcs.paddr().as_u64());
        ctx.msr_load = Some(entries);
        Ok(vmx_entry_check::check(&snapshot, &ctx))
    }

    /// VMWRITE of any read-write field by encoding (SDM Vol. 3C §31.3 VMWRITE), for tools
    /// that restore a [`VmcsSnapshot`] or replay raw field values; makes the VMCS current
    /// first. A read-only field (VM-exit information) is refused by the processor unless
    /// IA32_VMX_MISC\[29\] is 1. A control field the vCPU caches is re-read, as with
    /// [`Vcpu::write_field`].
    ///
    /// # Safety
    /// As for [`Vcpu::write_field`]: until the value is replaced, every VM entry and exit
    /// through this VMCS must stay memory-safe with it: host-state fields must describe this
    /// host (or make the entry fail its §27.2 checks, so that no host state is loaded),
    /// physical addresses must name memory that the vCPU or the caller owns for as long as
    /// they stay written and that the processor may read or write as the field says, and the
    /// value must not contradict what this vCPU manages (bitmap and list addresses,
    /// HOST_RIP, HOST_RSP, the VPID, the EPT pointer).
    pub unsafe fn write_field_raw(
        &mut self,
        field: VmcsEncoding,
        value: u64,
    ) -> Result<(), VmxError> {
        self.vmcs.load()?;
        // SAFETY: forwarded contract; the VMCS is current (`load`).
        unsafe { vmx_insn::vmwrite_raw(field.raw(), value) }
            .map_err(insn(VmxInstruction::Vmwrite))?;
        self.sync_cached_controls(field.raw())
    }

    /// The first failing check and the number of failures, for the errors of the failure
    /// paths; `None` when the checker finds nothing or the VMCS cannot be read.
    #[cold]
    #[inline(never)]
    pub(super) fn entry_check_summary(&mut self) -> Option<EntryCheck> {
        let d = self.diagnose_entry().ok()?;
        EntryCheck::of(&d)
    }

    /// The pre-flight check before a VMLAUNCH ([`VcpuConfig::preflight_check`]): refuses
    /// with [`VmxError::PreflightFailed`] naming the first failing check.
    ///
    /// [`VcpuConfig::preflight_check`]: crate::VcpuConfig::preflight_check
    #[cold]
    #[inline(never)]
    pub(super) fn preflight(&mut self) -> Result<(), VmxError> {
        let d = self.diagnose_entry()?;
        match EntryCheck::of(&d) {
            Some(c) => Err(VmxError::PreflightFailed(c)),
            None => Ok(()),
        }
    }
}
