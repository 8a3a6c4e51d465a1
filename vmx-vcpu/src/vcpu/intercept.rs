//! Interception settings: MSR and I/O bitmaps (SDM Vol. 3C §25.6.4, §25.6.9), exception
//! bitmap (§25.6.3), CR0/CR4 guest/host masks and read shadows (§25.6.6), TSC offset
//! (§25.6.5), VMX-preemption timer (§26.5.1), guest XCR0.

use vmx_defs::controls::{PinBasedControls, PrimaryProcBasedControls};
use vmx_defs::vmcs::fields;

use crate::bitmap::{IoBitmaps, MsrBitmap};
use crate::error::{VcpuFeature, VmxError};
use crate::host::VmxHost;

use super::{F_IO_A, F_MSR_BITMAP, Vcpu, vmwrite};

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// The MSR bitmap, when "use MSR bitmaps" is on (SDM §25.6.9). Every MSR starts
    /// intercepted.
    ///
    /// # Safety
    /// Clearing a bit gives the guest the real MSR. The caller may only pass through MSRs
    /// whose guest values cannot affect the host: those the VMCS switches (FS/GS base,
    /// SYSENTER, EFER/PAT when loaded by the controls), those in this vCPU's MSR switch
    /// lists (STAR, LSTAR, CSTAR, FMASK, KERNEL_GS_BASE, TSC_AUX...), or ones it accepts to
    /// share (read-only pass-through of harmless MSRs).
    pub unsafe fn msr_bitmap_mut(&mut self) -> Option<&mut MsrBitmap> {
        if !self
            .controls
            .primary
            .contains(PrimaryProcBasedControls::USE_MSR_BITMAPS)
        {
            return None;
        }
        // SAFETY: frame F_MSR_BITMAP is ours and was initialized as an MsrBitmap; the
        // processor only reads it.
        Some(unsafe {
            self.frames
                .ptr_of(F_MSR_BITMAP)
                .cast::<MsrBitmap>()
                .as_mut()
        })
    }

    /// The I/O bitmaps A and B, when "use I/O bitmaps" is on (SDM §25.6.4). Every port
    /// starts intercepted.
    ///
    /// # Safety
    /// Clearing a bit gives the guest the real port. The caller may only pass through ports
    /// whose devices cannot be used to affect host memory or host state it relies on (e.g.
    /// not PCI configuration ports 0xCF8/0xCFC or DMA controllers).
    pub unsafe fn io_bitmaps_mut(&mut self) -> Option<&mut IoBitmaps> {
        if !self
            .controls
            .primary
            .contains(PrimaryProcBasedControls::USE_IO_BITMAPS)
        {
            return None;
        }
        // SAFETY: frames F_IO_A and F_IO_A+1 are ours, contiguous and initialized as
        // IoBitmaps; the processor only reads them.
        Some(unsafe { self.frames.ptr_of(F_IO_A).cast::<IoBitmaps>().as_mut() })
    }

    /// Sets the exception bitmap: bit n set makes exception vector n exit (SDM §25.6.3).
    pub fn set_exception_bitmap(&mut self, bitmap: u32) -> Result<(), VmxError> {
        self.vmcs.load()?;
        self.exception_bitmap = bitmap;
        vmwrite(fields::CTRL_EXCEPTION_BITMAP, bitmap)
    }

    /// The exception bitmap.
    pub fn exception_bitmap(&self) -> u32 {
        self.exception_bitmap
    }

    /// Makes the CR0 bits in `owned` host-owned: the guest reads them from the shadow
    /// (`shadow`), and a MOV to CR0 / LMSW / CLTS that would give them a value different
    /// from the shadow exits (SDM §25.6.6, §26.1.3). Bits VMX fixes are always owned.
    pub fn set_cr0_shadow(&mut self, owned: u64, shadow: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        self.cr0_owned = owned;
        vmwrite(
            fields::CTRL_CR0_GUEST_HOST_MASK,
            self.cr0_fixed_mask | owned,
        )?;
        vmwrite(fields::CTRL_CR0_READ_SHADOW, shadow)
    }

    /// As [`Vcpu::set_cr0_shadow`] for CR4. CR4.VMXE is always owned, and so are CR4.OSFXSR
    /// and CR4.OSXSAVE when this vCPU does not switch the extended state they enable
    /// ([`Vcpu::xstate_mode`]; their shadow bits are forced to 0, as their field bits).
    pub fn set_cr4_shadow(&mut self, owned: u64, shadow: u64) -> Result<(), VmxError> {
        self.vmcs.load()?;
        let xs = super::cr_access::xstate_cr4_owned(self.xstate.mode).bits();
        self.cr4_owned = owned;
        vmwrite(
            fields::CTRL_CR4_GUEST_HOST_MASK,
            self.cr4_fixed_mask | owned,
        )?;
        vmwrite(fields::CTRL_CR4_READ_SHADOW, shadow & !xs)
    }

    /// Sets the TSC offset added to the guest's RDTSC (SDM §25.6.5, §26.6.5).
    pub fn set_tsc_offset(&mut self, offset: i64) -> Result<(), VmxError> {
        if !self
            .controls
            .primary
            .contains(PrimaryProcBasedControls::USE_TSC_OFFSETTING)
        {
            return Err(VmxError::NotConfigured(VcpuFeature::TscOffsetting));
        }
        self.vmcs.load()?;
        vmwrite(fields::CTRL_TSC_OFFSET, offset as u64)
    }

    /// Arms the VMX-preemption timer to expire after about `tsc_ticks` TSC ticks of guest
    /// execution: the field counts down once every 2^X ticks, X = IA32_VMX_MISC\[4:0\]
    /// (SDM §26.5.1). When the processor allows "save VMX-preemption timer value" (used when
    /// available) the count continues across exits, else every VM entry restarts it from
    /// this value. After a [`VmExit::PreemptionTimer`](crate::VmExit::PreemptionTimer) the
    /// field is 0: arm it again before the next run. Returns the value written.
    pub fn set_preemption_timer(&mut self, tsc_ticks: u64) -> Result<u32, VmxError> {
        if !self
            .controls
            .pin
            .contains(PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER)
        {
            return Err(VmxError::NotConfigured(VcpuFeature::PreemptionTimer));
        }
        let rate = self.cpu.capabilities().misc().preemption_timer_rate();
        let value = u32::try_from(tsc_ticks >> rate).unwrap_or(u32::MAX);
        self.vmcs.load()?;
        vmwrite(fields::GUEST_VMX_PREEMPTION_TIMER_VALUE, value)?;
        Ok(value)
    }
}
