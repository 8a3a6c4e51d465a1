//! MSRs switched through the VM-entry MSR-load, VM-exit MSR-store and VM-exit MSR-load
//! lists (SDM Vol. 3C §25.7.2, §25.8.2, §27.4, §28.6), so that the guest's values of MSRs
//! it may change never reach the host and the other way round.

use vmx_defs::controls::SecondaryProcBasedControls;
use vmx_defs::msr_entry::MsrEntry;
use vmx_defs::vmcs::fields;

use crate::arch;
use crate::error::VmxError;
use crate::host::VmxHost;
use crate::msr_values::{MsrValueLimits, check_msr_value};

use super::{F_MSR_GUEST, F_MSR_HOST, MSR_LIST_CAPACITY, Vcpu, vmwrite};

pub use x86::msr::{IA32_CSTAR, IA32_FMASK, IA32_LSTAR, IA32_STAR, IA32_TSC_AUX};

/// IA32_KERNEL_GS_BASE (SDM Vol. 4 Table 2-2; `x86::msr::IA32_KERNEL_GSBASE`).
pub const IA32_KERNEL_GS_BASE: u32 = x86::msr::IA32_KERNEL_GSBASE;
/// IA32_XSS (supervisor state components for XSAVES/XRSTORS; SDM Vol. 1 §13.3, Vol. 4
/// Table 2-2). Not in the `x86` crate's list.
pub const IA32_XSS: u32 = 0xDA0;

/// The MSRs VM entry refuses in its MSR-load list (SDM Vol. 3C §27.4: IA32_FS_BASE,
/// IA32_GS_BASE, IA32_SMM_MONITOR_CTL, IA32_SMBASE, and the x2APIC range 800H-8FFH).
const fn refused_in_msr_lists(msr: u32) -> bool {
    use x86::msr::{IA32_FS_BASE, IA32_GS_BASE, IA32_SMBASE, IA32_SMM_MONITOR_CTL};
    matches!(
        msr,
        IA32_FS_BASE | IA32_GS_BASE | IA32_SMM_MONITOR_CTL | IA32_SMBASE | 0x800..=0x8FF
    )
}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    pub(super) fn guest_list(&self) -> *mut MsrEntry {
        self.frames.ptr_of(F_MSR_GUEST).cast::<MsrEntry>().as_ptr()
    }

    pub(super) fn host_list(&self) -> *mut MsrEntry {
        self.frames.ptr_of(F_MSR_HOST).cast::<MsrEntry>().as_ptr()
    }

    pub(super) fn setup_msr_lists(&mut self) -> Result<(), VmxError> {
        vmwrite(
            fields::CTRL_VMENTRY_MSR_LOAD_ADDRESS,
            self.frames.paddr_of(F_MSR_GUEST).as_u64(),
        )?;
        vmwrite(
            fields::CTRL_VMEXIT_MSR_STORE_ADDRESS,
            self.frames.paddr_of(F_MSR_GUEST).as_u64(),
        )?;
        vmwrite(
            fields::CTRL_VMEXIT_MSR_LOAD_ADDRESS,
            self.frames.paddr_of(F_MSR_HOST).as_u64(),
        )?;
        for msr in [
            IA32_STAR,
            IA32_LSTAR,
            IA32_CSTAR,
            IA32_FMASK,
            IA32_KERNEL_GS_BASE,
        ] {
            // SAFETY: architectural MSRs of every 64-bit processor; 0 is their reset value.
            unsafe { self.add_switched_msr(msr, 0) }?;
        }
        if self
            .controls
            .secondary
            .contains(SecondaryProcBasedControls::ENABLE_RDTSCP)
            && arch::cpuid(0x8000_0001, 0).edx & (1 << 27) != 0
        {
            // SAFETY: CPUID.80000001H:EDX.RDTSCP says IA32_TSC_AUX exists.
            unsafe { self.add_switched_msr(IA32_TSC_AUX, 0) }?;
        }
        if arch::cpuid(1, 0).ecx & (1 << 26) != 0 && arch::cpuid(0xD, 1).eax & (1 << 3) != 0 {
            // SAFETY: CPUID.(EAX=0DH,ECX=1):EAX[3] (XSAVES) says IA32_XSS exists; 0 is its
            // reset value. XSS is the supervisor half of XCR0: switched like it.
            unsafe { self.add_switched_msr(IA32_XSS, 0) }?;
        }
        Ok(())
    }

    /// Adds `msr` to the MSR switch lists (SDM §25.7.2, §25.8.2, §27.4, §28.6): the guest
    /// value `guest_value` is loaded at every VM entry and stored back at every VM exit;
    /// the host's current value is loaded at every VM exit. The MSR stays intercepted in
    /// the bitmap until passed through.
    ///
    /// Refuses MSRs the lists may not hold: IA32_FS_BASE/GS_BASE (in the VMCS), x2APIC MSRs
    /// 800H-8FFH, IA32_SMM_MONITOR_CTL, IA32_SMBASE (SDM §27.4).
    ///
    /// # Safety
    /// `msr` must exist on this processor (its host value is read with RDMSR, which raises
    /// #GP otherwise), and loading `guest_value` into it at VM entry must be legal (else the
    /// entry fails with reason 34, which is safe) and must not affect the host once the
    /// host value is back (e.g. no MSR whose effect outlives the guest's time slice).
    pub unsafe fn add_switched_msr(&mut self, msr: u32, guest_value: u64) -> Result<(), VmxError> {
        if refused_in_msr_lists(msr) {
            return Err(VmxError::MsrNotListable(msr));
        }
        if let Some(i) = self.msr_slot(msr) {
            // SAFETY: `i` < msr_count; the page is ours.
            unsafe { (*self.guest_list().add(i)).value = guest_value };
            return Ok(());
        }
        let max =
            (self.cpu.capabilities().misc().max_msr_list_entries() as usize).min(MSR_LIST_CAPACITY);
        if self.msr_count >= max {
            return Err(VmxError::MsrListFull);
        }
        // SAFETY: CPL 0; the caller guarantees the MSR exists (the ones this crate adds
        // exist on every 64-bit processor, TSC_AUX is added only when CPUID reports it).
        let host_value = unsafe { arch::rdmsr(msr) };
        let i = self.msr_count;
        // SAFETY: `i` < capacity; both pages are ours.
        unsafe {
            self.guest_list()
                .add(i)
                .write(MsrEntry::new(msr, guest_value));
            self.host_list()
                .add(i)
                .write(MsrEntry::new(msr, host_value));
        }
        self.msr_count += 1;
        let n = self.msr_count as u32;
        self.vmcs.load()?;
        vmwrite(fields::CTRL_VMENTRY_MSR_LOAD_COUNT, n)?;
        vmwrite(fields::CTRL_VMEXIT_MSR_STORE_COUNT, n)?;
        vmwrite(fields::CTRL_VMEXIT_MSR_LOAD_COUNT, n)?;
        Ok(())
    }

    fn msr_slot(&self, msr: u32) -> Option<usize> {
        // SAFETY: indices below msr_count are initialized entries of our page.
        (0..self.msr_count).find(|&i| unsafe { (*self.guest_list().add(i)).index } == msr)
    }

    /// The guest's value of a switched MSR (as stored at the last VM exit).
    pub fn guest_msr(&self, msr: u32) -> Option<u64> {
        // SAFETY: slot index < msr_count.
        self.msr_slot(msr)
            .map(|i| unsafe { (*self.guest_list().add(i)).value })
    }

    /// Sets the guest's value of a switched MSR (e.g. when emulating its WRMSR);
    /// [`VmxError::MsrNotSwitched`] if it is not in the lists.
    ///
    /// The value is checked as WRMSR checks it ([`check_msr_value`] with this processor's
    /// [`MsrValueLimits::current`]: canonical LSTAR/CSTAR/KERNEL_GS_BASE, TSC_AUX bits
    /// 63:32 clear, only supported IA32_XSS bits): a refused value returns
    /// [`VmxError::InvalidMsrValue`] and leaves the guest's value unchanged, so the caller
    /// injects #GP(0) instead of the next VM entry failing with reason 34 (SDM Vol. 3C
    /// §27.4).
    pub fn set_guest_msr(&mut self, msr: u32, value: u64) -> Result<(), VmxError> {
        let i = self.msr_slot(msr).ok_or(VmxError::MsrNotSwitched(msr))?;
        check_msr_value(msr, value, MsrValueLimits::current())?;
        // SAFETY: slot index < msr_count.
        unsafe { (*self.guest_list().add(i)).value = value };
        Ok(())
    }

    /// Sets the guest value of a listed MSR without the WRMSR checks (for values the vCPU
    /// derived itself, e.g. IA32_EFER.LMA on IA-32e mode entry).
    pub(super) fn set_listed_msr(&mut self, msr: u32, value: u64) -> Result<(), VmxError> {
        let i = self.msr_slot(msr).ok_or(VmxError::MsrNotSwitched(msr))?;
        // SAFETY: slot index < msr_count.
        unsafe { (*self.guest_list().add(i)).value = value };
        Ok(())
    }
}
