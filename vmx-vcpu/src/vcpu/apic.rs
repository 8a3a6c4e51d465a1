//! The vCPU side of APIC virtualization (SDM Vol. 3C ch. 30; the VMCS fields of §25.6.8
//! "Controls for APIC Virtualization" and §25.4.2 "guest interrupt status"): the pages the
//! vCPU owns (virtual-APIC page, APIC-access page), their VMCS fields, typed setters and
//! getters, [`Vcpu::post_interrupt`], posted interrupts and the APIC-access completion.

use core::sync::atomic::{AtomicU64, Ordering};

use vmx_defs::addr::HostPhysAddr;
use vmx_defs::controls::{PinBasedControls, PrimaryExitControls};
use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::posted_interrupt::PostedInterruptDescriptor;
use vmx_defs::qualification::{ApicAccessQualification, ApicAccessType};
use vmx_defs::vmcs::fields;

use crate::apic::page::{self, ApicRegisters, PAGE_SIZE, TPR};
use crate::apic::{
    ApicError, ApicVirtualization, GuestInterruptStatus, PostedInterruptDescriptorPage,
    VectorRegister, request, tpr_threshold_allows_entry,
};
use crate::bitmap::MsrAccess;
use crate::error::{AllocWhat, Completion, PageControl, VmxError};
use crate::host::{Frames, VmxHost};

use super::{NO_EXIT, Vcpu, vmread, vmwrite};

/// Frame of the virtual-APIC page in [`ApicPages::frames`].
const F_VAPIC: usize = 0;
/// Frame of the APIC-access page.
const F_ACCESS: usize = 1;

/// What a vCPU with [`VcpuConfig::apic`](crate::VcpuConfig::apic) owns: the virtual-APIC
/// page and the APIC-access page (one frame each, zeroed, freed after the VMCS that names
/// them is cleared), its configuration, the EOI-exit bitmap and the attached
/// posted-interrupt descriptor.
pub(super) struct ApicPages<'c, H: VmxHost> {
    frames: Frames<'c, H>,
    config: ApicVirtualization,
    eoi_exit: [u64; 4],
    posted: Option<&'c [AtomicU64; 8]>,
}

impl<'c, H: VmxHost> ApicPages<'c, H> {
    /// The 32-bit word at `offset` of the virtual-APIC page (bits 1:0 ignored).
    fn word(&self, offset: u16) -> *mut u32 {
        let off = usize::from(offset & 0xFFC);
        // SAFETY: off < 4096: the pointer stays inside the frame.
        unsafe { self.frames.ptr_of(F_VAPIC).as_ptr().add(off).cast::<u32>() }
    }
}

impl<H: VmxHost> ApicRegisters for ApicPages<'_, H> {
    fn read(&self, offset: u16) -> u32 {
        // SAFETY: the frame is ours, mapped and 4-byte aligned at `word`; the guest is not
        // running while the vCPU is borrowed, so the processor does not write it now.
        unsafe { self.word(offset).read_volatile() }
    }

    fn write(&mut self, offset: u16, value: u32) {
        // SAFETY: as for `read`.
        unsafe { self.word(offset).write_volatile(value) }
    }
}

fn not_enabled(c: PageControl) -> VmxError {
    VmxError::Apic(ApicError::NotEnabled(c))
}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// Allocates the pages of `config` and writes their fields (called once by the
    /// constructor, after the controls, before any entry).
    pub(super) fn setup_apic(&mut self, config: &ApicVirtualization) -> Result<(), VmxError> {
        let frames = Frames::alloc(self.cpu.host(), 2).ok_or(VmxError::OutOfMemory {
            what: AllocWhat::VcpuStructures,
        })?;
        frames.check_address_limit(self.cpu.capabilities().basic())?;
        vmwrite(
            fields::CTRL_VIRTUAL_APIC_ADDRESS,
            frames.paddr_of(F_VAPIC).as_u64(),
        )?;
        vmwrite(fields::CTRL_TPR_THRESHOLD, u32::from(config.tpr_threshold))?;
        if config.apic_access.is_some() {
            vmwrite(
                fields::CTRL_APIC_ACCESS_ADDRESS,
                frames.paddr_of(F_ACCESS).as_u64(),
            )?;
        }
        if config.virtual_interrupt_delivery {
            vmwrite(fields::GUEST_INTERRUPT_STATUS, 0)?;
            for f in [
                fields::CTRL_EOI_EXIT_BITMAP_0,
                fields::CTRL_EOI_EXIT_BITMAP_1,
                fields::CTRL_EOI_EXIT_BITMAP_2,
                fields::CTRL_EOI_EXIT_BITMAP_3,
            ] {
                vmwrite(f, 0)?;
            }
        }
        self.apic = Some(ApicPages {
            frames,
            config: *config,
            eoi_exit: [0; 4],
            posted: None,
        });
        if config.x2apic_mode {
            self.pass_through_x2apic(config);
        }
        Ok(())
    }

    /// Clears the MSR-bitmap bits of the x2APIC MSRs that "virtualize x2APIC mode" sends
    /// to the virtual-APIC page (SDM Vol. 3C §30.5): reads of 808H (TPR), or with
    /// APIC-register virtualization of every register [`page::read_is_virtualized`] lists
    /// that exists as a readable x2APIC MSR (SDM Vol. 3A §11.12.1.2 Table 11-6); writes of 808H, and with virtual-interrupt delivery
    /// of 80BH (EOI) and 83FH (SELF IPI). Every other x2APIC MSR stays intercepted: the
    /// processor would give it to the real APIC.
    fn pass_through_x2apic(&mut self, config: &ApicVirtualization) {
        // SAFETY: each MSR passed through below is one the processor virtualizes with
        // "virtualize x2APIC mode" = 1 (set: `config.x2apic_mode`) instead of reaching the
        // local APIC (SDM Vol. 3C §30.5); the control cannot be cleared but through the
        // unsafe `write_field`.
        let Some(bitmap) = (unsafe { self.msr_bitmap_mut() }) else {
            return;
        };
        for offset in (0..0x400u16).step_by(16) {
            let read = if config.register_virtualization {
                // x2APIC mode has no APR, DFR or ICR-high MSR and its EOI MSR is
                // write-only: those reads stay intercepted.
                page::read_is_virtualized(offset, 4, true)
                    && !matches!(offset, page::APR | page::EOI | page::DFR | page::ICR_HI)
            } else {
                offset == TPR
            };
            let write = offset == TPR
                || (config.virtual_interrupt_delivery
                    && (offset == page::EOI || offset == page::SELF_IPI));
            let msr = page::x2apic_msr(offset);
            if read {
                let _ = bitmap.set_intercept(msr, MsrAccess::Read, false);
            }
            if write {
                let _ = bitmap.set_intercept(msr, MsrAccess::Write, false);
            }
        }
    }

    fn apic_pages(&self) -> Result<&ApicPages<'c, H>, VmxError> {
        self.apic
            .as_ref()
            .ok_or(not_enabled(PageControl::TprShadow))
    }

    fn apic_pages_mut(&mut self) -> Result<&mut ApicPages<'c, H>, VmxError> {
        self.apic
            .as_mut()
            .ok_or(not_enabled(PageControl::TprShadow))
    }

    fn require_vid(&self) -> Result<(), VmxError> {
        match &self.apic {
            Some(a) if a.config.virtual_interrupt_delivery => Ok(()),
            _ => Err(not_enabled(PageControl::VirtualInterruptDelivery)),
        }
    }

    /// The APIC-virtualization configuration, `None` without a TPR shadow.
    pub fn apic_virtualization(&self) -> Option<&ApicVirtualization> {
        self.apic.as_ref().map(|a| &a.config)
    }

    /// Host-physical address of the vCPU's virtual-APIC page (CTRL_VIRTUAL_APIC_ADDRESS,
    /// SDM Vol. 3C §25.6.8), `None` without a TPR shadow.
    pub fn virtual_apic_page(&self) -> Option<HostPhysAddr> {
        self.apic.as_ref().map(|a| a.frames.paddr_of(F_VAPIC))
    }

    /// Host-physical address of the vCPU's APIC-access page (CTRL_APIC_ACCESS_ADDRESS,
    /// SDM Vol. 3C §25.6.8), `None` without "virtualize APIC accesses".
    ///
    /// With EPT, the processor treats an access as an APIC access when its guest-physical
    /// address translates to this host address (SDM Vol. 3C §30.4.6.1): the hypervisor maps
    /// [`ApicVirtualization::apic_access`] to it in the EPT, readable and writable (the
    /// `unsafe` `EptPageTable::map` contract: the page is the vCPU's and lives as long as
    /// the vCPU; unmap it before dropping the vCPU). Without EPT the guest's page tables
    /// must map the guest-linear APIC address to it.
    pub fn apic_access_page(&self) -> Option<HostPhysAddr> {
        self.apic
            .as_ref()
            .filter(|a| a.config.apic_access.is_some())
            .map(|a| a.frames.paddr_of(F_ACCESS))
    }

    /// Reads the 32-bit register at `offset` of the virtual-APIC page (SDM Vol. 3C §30.1;
    /// offsets in [`apic::page`](crate::apic::page)).
    pub fn apic_register(&self, offset: u16) -> Result<u32, VmxError> {
        if usize::from(offset) >= PAGE_SIZE {
            return Err(VmxError::Apic(ApicError::OffsetOutsidePage(offset)));
        }
        Ok(self.apic_pages()?.read(offset))
    }

    /// Writes the 32-bit register at `offset` of the virtual-APIC page (SDM Vol. 3C
    /// §30.1). The processor sees the value at the next entry; the VIRR/VISR bits it acts on
    /// are those of RVI/SVI ([`Vcpu::set_guest_interrupt_status`]), so prefer
    /// [`Vcpu::post_interrupt`] to request an interrupt. With a TPR shadow but neither
    /// "virtualize APIC accesses" nor virtual-interrupt delivery, lowering VTPR\[7:4\]
    /// below the TPR threshold makes the next VM entry fail (§27.2.1.1).
    pub fn set_apic_register(&mut self, offset: u16, value: u32) -> Result<(), VmxError> {
        if usize::from(offset) >= PAGE_SIZE {
            return Err(VmxError::Apic(ApicError::OffsetOutsidePage(offset)));
        }
        self.apic_pages_mut()?.write(offset, value);
        Ok(())
    }

    /// VTPR\[7:4\] when the vCPU has a TPR shadow (CR8 reads it, SDM Vol. 3C §30.3).
    pub(super) fn shadow_tpr(&self) -> Option<u8> {
        self.apic.as_ref().map(|a| (a.read(TPR) >> 4) as u8 & 0xF)
    }

    /// VTPR ← `class` << 4 when the vCPU has a TPR shadow (as a guest MOV to CR8 does,
    /// §30.3); false without one.
    pub(super) fn set_shadow_tpr(&mut self, class: u8) -> bool {
        match &mut self.apic {
            Some(a) => {
                a.write(TPR, u32::from(class & 0xF) << 4);
                true
            }
            None => false,
        }
    }

    /// The TPR threshold (bits 3:0 of CTRL_TPR_THRESHOLD, SDM Vol. 3C §25.6.8).
    pub fn tpr_threshold(&mut self) -> Result<u8, VmxError> {
        self.apic_pages()?;
        self.vmcs.load()?;
        Ok(vmread(fields::CTRL_TPR_THRESHOLD)? as u8 & 0xF)
    }

    /// Sets the TPR threshold (SDM Vol. 3C §25.6.8, §30.1.2): without virtual-interrupt
    /// delivery a guest TPR write that makes VTPR\[7:4\] fall below it exits
    /// ([`VmExit::TprBelowThreshold`](crate::VmExit::TprBelowThreshold)). Refused with
    /// [`ApicError::TprThreshold`] above 15 and, where VM entry checks it (neither
    /// "virtualize APIC accesses" nor virtual-interrupt delivery, §27.2.1.1), with
    /// [`ApicError::ThresholdAboveVtpr`] above VTPR\[7:4\].
    pub fn set_tpr_threshold(&mut self, threshold: u8) -> Result<(), VmxError> {
        let a = self.apic_pages()?;
        if threshold > 0xF {
            return Err(VmxError::Apic(ApicError::TprThreshold(threshold)));
        }
        let vtpr = a.read(TPR);
        if !tpr_threshold_allows_entry(
            u32::from(threshold),
            vtpr,
            a.config.apic_access.is_some(),
            a.config.virtual_interrupt_delivery,
        ) {
            return Err(VmxError::Apic(ApicError::ThresholdAboveVtpr {
                threshold,
                vtpr_class: (vtpr >> 4) as u8 & 0xF,
            }));
        }
        self.vmcs.load()?;
        vmwrite(fields::CTRL_TPR_THRESHOLD, u32::from(threshold))?;
        if let Some(a) = &mut self.apic {
            a.config.tpr_threshold = threshold;
        }
        Ok(())
    }

    /// RVI and SVI (the guest-interrupt-status field, SDM Vol. 3C §25.4.2, §30.1.1); needs
    /// virtual-interrupt delivery.
    pub fn guest_interrupt_status(&mut self) -> Result<GuestInterruptStatus, VmxError> {
        self.require_vid()?;
        self.vmcs.load()?;
        Ok(GuestInterruptStatus::from_raw(vmread(
            fields::GUEST_INTERRUPT_STATUS,
        )?))
    }

    /// Writes RVI and SVI (SDM Vol. 3C §30.1.1); the processor evaluates pending virtual
    /// interrupts at the next VM entry (§27.3.2.5, §30.2.1).
    pub fn set_guest_interrupt_status(
        &mut self,
        status: GuestInterruptStatus,
    ) -> Result<(), VmxError> {
        self.require_vid()?;
        self.vmcs.load()?;
        vmwrite(fields::GUEST_INTERRUPT_STATUS, status.raw())
    }

    /// The EOI-exit bitmap (vectors 64i..64i+63 in word i; SDM Vol. 3C §25.6.8).
    pub fn eoi_exit_bitmap(&self) -> Result<[u64; 4], VmxError> {
        self.require_vid()?;
        Ok(self.apic_pages()?.eoi_exit)
    }

    /// Sets whether EOI virtualization of `vector` exits
    /// ([`VmExit::VirtualizedEoi`](crate::VmExit::VirtualizedEoi), SDM Vol. 3C §30.1.4)
    /// or continues with the evaluation of pending virtual interrupts.
    pub fn set_eoi_exit(&mut self, vector: u8, exit: bool) -> Result<(), VmxError> {
        self.require_vid()?;
        let i = usize::from(vector >> 6);
        let word = {
            let a = self.apic_pages_mut()?;
            let w = &mut a.eoi_exit[i];
            if exit {
                *w |= 1 << (vector & 63);
            } else {
                *w &= !(1 << (vector & 63));
            }
            *w
        };
        self.vmcs.load()?;
        let field = [
            fields::CTRL_EOI_EXIT_BITMAP_0,
            fields::CTRL_EOI_EXIT_BITMAP_1,
            fields::CTRL_EOI_EXIT_BITMAP_2,
            fields::CTRL_EOI_EXIT_BITMAP_3,
        ][i];
        vmwrite(field, word)
    }

    /// Requests the virtual interrupt `vector` (SDM Vol. 3C §30.1.5 for the same steps in
    /// self-IPI virtualization): VIRR\[vector\] ← 1 and RVI ← max(RVI, vector). The
    /// processor evaluates pending virtual interrupts at the next VM entry (§27.3.2.5) and
    /// delivers it through the guest's IDT, without an exit, once RVI\[7:4\] > VPPR\[7:4\]
    /// and the guest is interruptible (§30.2.1-§30.2.2). Needs virtual-interrupt delivery;
    /// vectors 0-15 are [`VmxError::NotAnInterruptVector`] (never recognized).
    pub fn post_interrupt(&mut self, vector: u8) -> Result<(), VmxError> {
        if vector < 16 {
            return Err(VmxError::NotAnInterruptVector(vector));
        }
        let mut status = self.guest_interrupt_status()?;
        let a = self.apic_pages_mut()?;
        request(a, &mut status, vector, false);
        self.set_guest_interrupt_status(status)
    }

    /// Moves the requests of the attached posted-interrupt descriptor into the virtual APIC,
    /// as the processor does on a notification (SDM Vol. 3C §30.6): ON ← 0, VIRR |= PIR
    /// (PIR read and cleared atomically), RVI ← max(RVI, highest posted vector). For
    /// requests posted while the guest was not running with notifications suppressed.
    /// Returns how many vectors were moved.
    pub fn sync_posted_interrupts(&mut self) -> Result<u32, VmxError> {
        let words = self
            .apic_pages()?
            .posted
            .ok_or(not_enabled(PageControl::PostedInterrupts))?;
        let mut status = self.guest_interrupt_status()?;
        words[4].fetch_and(!1, Ordering::AcqRel);
        let mut moved = 0;
        let a = self.apic_pages_mut()?;
        for (i, w) in words[..4].iter().enumerate() {
            let bits = w.swap(0, Ordering::AcqRel);
            moved += bits.count_ones();
            for b in 0..64u32 {
                if bits & (1 << b) != 0 {
                    let v = (64 * i as u32 + b) as u8;
                    a.set_bit(VectorRegister::Irr, v, true);
                    status.rvi = status.rvi.max(v);
                }
            }
        }
        self.set_guest_interrupt_status(status)?;
        Ok(moved)
    }

    /// Turns on posted-interrupt processing with `descriptor` (SDM Vol. 3C §30.6,
    /// §25.6.1): writes the notification vector (taken from the descriptor's NV) and the
    /// descriptor's address, sets "acknowledge interrupt on exit" and "process posted
    /// interrupts" (checked against the capability MSRs: [`ApicError::Unsupported`]). Needs
    /// virtual-interrupt delivery (§27.2.1.1). The descriptor is borrowed for the vCPU's
    /// lifetime, so it outlives the VMCS that names it; hand
    /// [`PostedInterruptDescriptorPage::sender`]s to other processors. A descriptor that
    /// does not outlive the vCPU is rejected at compile time:
    ///
    /// ```compile_fail
    /// use vmx_vcpu::apic::PostedInterruptDescriptorPage;
    /// use vmx_vcpu::{Vcpu, VmxHost};
    /// fn short_lived<'c, H: VmxHost>(vcpu: &mut Vcpu<'c, H>, host: &'c H) {
    ///     let page = PostedInterruptDescriptorPage::new(host, 0xf2, 0).unwrap();
    ///     vcpu.attach_posted_interrupts(&page).unwrap(); // `page` dropped while borrowed
    /// }
    /// ```
    pub fn attach_posted_interrupts<H2: VmxHost>(
        &mut self,
        descriptor: &'c PostedInterruptDescriptorPage<'_, H2>,
    ) -> Result<(), VmxError> {
        self.require_vid()?;
        if self.apic_pages()?.posted.is_some() {
            return Err(VmxError::Apic(ApicError::AlreadyAttached));
        }
        let caps = self.cpu.capabilities();
        if !caps
            .pin_based()
            .can_be_one(PinBasedControls::PROCESS_POSTED_INTERRUPTS)
            || !caps
                .exit()
                .can_be_one(PrimaryExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT)
        {
            return Err(VmxError::Apic(ApicError::Unsupported(
                PageControl::PostedInterrupts,
            )));
        }
        descriptor
            .check_address(
                vmx_insn::physical_address_width().bits(),
                caps.basic().max_structure_address(),
            )
            .map_err(VmxError::Apic)?;
        let nv = PostedInterruptDescriptor::from_words([
            0,
            0,
            0,
            0,
            descriptor.words()[4].load(Ordering::Acquire),
            0,
            0,
            0,
        ])
        .notification_vector();
        self.vmcs.load()?;
        vmwrite(
            fields::CTRL_POSTED_INTERRUPT_NOTIFICATION_VECTOR,
            u16::from(nv),
        )?;
        vmwrite(
            fields::CTRL_POSTED_INTERRUPT_DESCRIPTOR_ADDRESS,
            descriptor.paddr().as_u64(),
        )?;
        self.controls.exit |= PrimaryExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT;
        self.controls.pin |= PinBasedControls::PROCESS_POSTED_INTERRUPTS;
        self.write_controls()?;
        if let Some(a) = &mut self.apic {
            a.posted = Some(descriptor.words());
        }
        Ok(())
    }

    /// Completes an APIC-access exit caused by an instruction's data read or write
    /// (access type 0 or 1, SDM Vol. 3C §30.4.1; the exit is fault-like and records the
    /// instruction length, §28.2.4) after the caller emulated the access: moves RIP past
    /// the instruction. Another access type is [`ApicError::NotAnInstructionAccess`]
    /// (nothing changed), another exit [`VmxError::NotCompletable`].
    pub fn complete_apic_access(&mut self) -> Result<(), VmxError> {
        let r = self.exit_to_complete;
        if r & NO_EXIT != 0
            || ExitReason(r).is_entry_failure()
            || ExitReason(r).basic() != BasicExitReason::APIC_ACCESS
        {
            return Err(VmxError::NotCompletable {
                completion: Completion::ApicAccess,
                last_exit: (r & NO_EXIT == 0).then(|| ExitReason(r).basic()),
            });
        }
        self.vmcs.load()?;
        let q = ApicAccessQualification::from_raw(vmread(fields::EXIT_QUALIFICATION)?);
        if !matches!(
            q.access_type(),
            ApicAccessType::LinearRead | ApicAccessType::LinearWrite
        ) {
            return Err(VmxError::Apic(ApicError::NotAnInstructionAccess));
        }
        self.exit_to_complete = NO_EXIT;
        self.skip_instruction()
    }
}
