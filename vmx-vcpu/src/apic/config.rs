//! [`ApicVirtualization`]: which APIC-virtualization features a vCPU uses, and the
//! controls they take (SDM Vol. 3C §25.6.8 "Controls for APIC Virtualization", the
//! VM-entry checks of §27.2.1.1 that tie them together).

use core::fmt;

use vmx_defs::addr::GuestPhysAddr;
use vmx_defs::capabilities::VmxCapabilities;
use vmx_defs::controls::{PrimaryProcBasedControls, SecondaryProcBasedControls};

use crate::error::PageControl;

/// The APIC-virtualization features of a vCPU ([`VcpuConfig::apic`](crate::VcpuConfig::apic)).
/// The vCPU allocates every page they need from its host (the virtual-APIC page, the
/// APIC-access page), writes their addresses to the VMCS, and frees them when it drops:
/// no field is ever left at address 0.
///
/// Each feature is required: a processor without its control is
/// [`ApicError::Unsupported`], and combinations the VM-entry checks refuse (SDM Vol. 3C
/// §27.2.1.1) are [`ApicError::Conflict`]. Posted interrupts are attached after
/// creation ([`Vcpu::attach_posted_interrupts`](crate::Vcpu::attach_posted_interrupts))
/// because their descriptor is shared with other processors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApicVirtualization {
    /// "Use TPR shadow" is always on (every other feature needs it, §27.2.1.1): the guest's
    /// CR8 reads and writes use the VTPR of the virtual-APIC page (SDM §30.3) instead of
    /// exiting, and "CR8-load/store exiting" are no longer required for isolation.
    /// This is the TPR threshold (bits 3:0; §25.6.8): without virtual-interrupt delivery,
    /// a TPR write that makes VTPR\[7:4\] fall below it exits (reason 43).
    pub tpr_threshold: u8,
    /// "Virtualize APIC accesses" (secondary bit 0) with the APIC-access page at this
    /// guest-physical address (4-KByte aligned; §30.4). With EPT the hypervisor maps the
    /// address to [`Vcpu::apic_access_page`](crate::Vcpu::apic_access_page) (accesses
    /// through any other mapping are ordinary memory accesses, §30.4.6.1).
    pub apic_access: Option<GuestPhysAddr>,
    /// "APIC-register virtualization" (secondary bit 8; §30.4.2, §30.4.3): reads of most
    /// APIC registers come from the virtual-APIC page, writes of the trap-like registers
    /// exit after the write (reason 56).
    pub register_virtualization: bool,
    /// "Virtualize x2APIC mode" (secondary bit 4; §30.5): RDMSR/WRMSR of 800H-8FFH that
    /// the MSR bitmap passes through use the virtual-APIC page. The vCPU passes through
    /// the reads of the virtualized registers when `register_virtualization` is set, and
    /// the writes of TPR (808H), EOI (80BH) and SELF IPI (83FH) when
    /// `virtual_interrupt_delivery` is set; TPR (808H) reads and writes otherwise.
    /// Excludes `apic_access` (§27.2.1.1).
    pub x2apic_mode: bool,
    /// "Virtual-interrupt delivery" (secondary bit 9; §30.2): RVI/SVI, VIRR/VISR, EOI
    /// virtualization and the EOI-exit bitmaps. Needs "external-interrupt exiting", which
    /// every vCPU has ([`ISOLATION`](crate::ISOLATION)).
    pub virtual_interrupt_delivery: bool,
}

impl ApicVirtualization {
    /// TPR shadow only, threshold 0 (no TPR-below-threshold exit).
    pub const fn tpr_shadow() -> Self {
        Self {
            tpr_threshold: 0,
            apic_access: None,
            register_virtualization: false,
            x2apic_mode: false,
            virtual_interrupt_delivery: false,
        }
    }

    /// The processor-based controls this configuration sets (SDM Vol. 3C Tables 25-6,
    /// 25-7).
    pub const fn controls(&self) -> (PrimaryProcBasedControls, SecondaryProcBasedControls) {
        use SecondaryProcBasedControls as S;
        let mut s = S::empty();
        if self.apic_access.is_some() {
            s = s.union(S::VIRTUALIZE_APIC_ACCESSES);
        }
        if self.register_virtualization {
            s = s.union(S::APIC_REGISTER_VIRTUALIZATION);
        }
        if self.x2apic_mode {
            s = s.union(S::VIRTUALIZE_X2APIC_MODE);
        }
        if self.virtual_interrupt_delivery {
            s = s.union(S::VIRTUAL_INTERRUPT_DELIVERY);
        }
        (PrimaryProcBasedControls::USE_TPR_SHADOW, s)
    }

    /// Checks the configuration against itself and the capability MSRs (SDM Vol. 3C
    /// §27.2.1.1; Vol. 3D §A.3.2-A.3.3): the TPR threshold fits in bits 3:0, the
    /// APIC-access address is page aligned, "virtualize x2APIC mode" and "virtualize APIC
    /// accesses" are not both set, the threshold passes VM entry against the zeroed VTPR
    /// ([`ApicError::ThresholdAboveVtpr`]; raise it later with
    /// [`Vcpu::set_tpr_threshold`](crate::Vcpu::set_tpr_threshold)), and the processor
    /// allows every control. Pure.
    pub fn check(&self, caps: &VmxCapabilities) -> Result<(), ApicError> {
        if self.tpr_threshold > 0xF {
            return Err(ApicError::TprThreshold(self.tpr_threshold));
        }
        if let Some(gpa) = self.apic_access
            && gpa.as_u64() % 4096 != 0
        {
            return Err(ApicError::UnalignedApicAccess(gpa.as_u64()));
        }
        // The virtual-APIC page starts zeroed (VTPR 0): where VM entry compares the
        // threshold with VTPR[7:4], only 0 passes until the caller raises VTPR.
        if !super::tpr_threshold_allows_entry(
            u32::from(self.tpr_threshold),
            0,
            self.apic_access.is_some(),
            self.virtual_interrupt_delivery,
        ) {
            return Err(ApicError::ThresholdAboveVtpr {
                threshold: self.tpr_threshold,
                vtpr_class: 0,
            });
        }
        if self.x2apic_mode && self.apic_access.is_some() {
            return Err(ApicError::Conflict(
                PageControl::VirtualizeX2apicMode,
                PageControl::VirtualizeApicAccesses,
            ));
        }
        if !caps
            .primary_proc()
            .can_be_one(PrimaryProcBasedControls::USE_TPR_SHADOW)
        {
            return Err(ApicError::Unsupported(PageControl::TprShadow));
        }
        let (_, s) = self.controls();
        let wanted: [(SecondaryProcBasedControls, PageControl); 4] = [
            (
                SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES,
                PageControl::VirtualizeApicAccesses,
            ),
            (
                SecondaryProcBasedControls::VIRTUALIZE_X2APIC_MODE,
                PageControl::VirtualizeX2apicMode,
            ),
            (
                SecondaryProcBasedControls::APIC_REGISTER_VIRTUALIZATION,
                PageControl::ApicRegisterVirtualization,
            ),
            (
                SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY,
                PageControl::VirtualInterruptDelivery,
            ),
        ];
        for (bit, name) in wanted {
            if s.contains(bit)
                && !(caps.has_secondary_controls() && caps.secondary_proc().can_be_one(bit))
            {
                return Err(ApicError::Unsupported(name));
            }
        }
        Ok(())
    }
}

/// Why an APIC-virtualization request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApicError {
    /// The processor does not allow this control to be 1 (SDM Vol. 3D §A.3).
    Unsupported(PageControl),
    /// These two controls cannot both be 1 (SDM Vol. 3C §27.2.1.1).
    Conflict(PageControl, PageControl),
    /// This feature is not configured on the vCPU.
    NotEnabled(PageControl),
    /// A TPR threshold with bits 7:4 set (§25.6.8: bits 31:4 must be 0 without
    /// virtual-interrupt delivery).
    TprThreshold(u8),
    /// A TPR threshold above VTPR\[7:4\] without "virtualize APIC accesses" and
    /// "virtual-interrupt delivery": VM entry would fail (§27.2.1.1).
    ThresholdAboveVtpr {
        /// The threshold asked for.
        threshold: u8,
        /// VTPR\[7:4\].
        vtpr_class: u8,
    },
    /// The APIC-access guest-physical address is not 4-KByte aligned (§25.6.8).
    UnalignedApicAccess(u64),
    /// An offset outside the 4-KByte virtual-APIC page.
    OffsetOutsidePage(u16),
    /// The last exit was not an APIC access by a linear data read or write during
    /// instruction execution, so there is no instruction to complete (§28.2.4).
    NotAnInstructionAccess,
    /// The posted-interrupt descriptor is above the physical-address width or 4 GiB
    /// limit of VMX structures (§27.2.1.1, Vol. 3D §A.1).
    DescriptorAddress(u64),
    /// Posted interrupts are already attached to this vCPU.
    AlreadyAttached,
    /// A vCPU with APIC virtualization cannot be unloaded for migration
    /// (`VmxVcpu::unload`): its pages and posted-interrupt descriptor stay with it.
    NotMigratable,
}

impl fmt::Display for ApicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(c) => write!(f, "the processor does not allow {c}"),
            Self::Conflict(a, b) => write!(f, "{a} and {b} cannot both be on"),
            Self::NotEnabled(c) => write!(f, "this vCPU was not configured with {c}"),
            Self::TprThreshold(t) => write!(f, "TPR threshold {t:#x} has bits above 3:0"),
            Self::ThresholdAboveVtpr {
                threshold,
                vtpr_class,
            } => write!(
                f,
                "TPR threshold {threshold} above VTPR[7:4] = {vtpr_class}: VM entry would fail"
            ),
            Self::UnalignedApicAccess(a) => {
                write!(f, "APIC-access address {a:#x} is not 4-KByte aligned")
            }
            Self::OffsetOutsidePage(o) => {
                write!(f, "offset {o:#x} is outside the virtual-APIC page")
            }
            Self::NotAnInstructionAccess => f.write_str(
                "the last exit is not an APIC access by an instruction's data read or write",
            ),
            Self::DescriptorAddress(a) => write!(
                f,
                "posted-interrupt descriptor at {a:#x} is beyond what VMX structures may use"
            ),
            Self::AlreadyAttached => f.write_str("posted interrupts are already attached"),
            Self::NotMigratable => {
                f.write_str("a vCPU with APIC virtualization cannot be unloaded for migration")
            }
        }
    }
}
