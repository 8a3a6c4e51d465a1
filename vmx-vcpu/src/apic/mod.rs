//! APIC virtualization (SDM Vol. 3C ch. 30 "APIC Virtualization and Virtual Interrupts";
//! the controls in §25.6.8 "Controls for APIC Virtualization").
//!
//! Pure parts, host-tested:
//! - `page`: the virtual-APIC page layout ([`ApicRegisters`], [`VirtualApicPage`], the
//!   register offsets, which reads are virtualized, the x2APIC MSR mapping);
//! - `delivery`: the processor's rules for TPR, PPR and EOI virtualization and the
//!   evaluation and delivery of pending virtual interrupts (RVI/SVI, VIRR/VISR);
//! - `posted`: posted-interrupt processing and the sender's protocol.
//!
//! The vCPU side (the pages, the VMCS fields, [`Vcpu::post_interrupt`](crate::Vcpu::post_interrupt),
//! [`PostedInterruptSender`]) is configured by [`ApicVirtualization`] in
//! [`VcpuConfig::apic`](crate::VcpuConfig::apic).

mod config;
mod delivery;
pub mod page;
mod posted;
mod sender;

pub use config::{ApicError, ApicVirtualization};
pub use delivery::{
    EoiOutcome, GuestInterruptStatus, TprMode, TprOutcome, deliver, is_recognized, request,
    tpr_threshold_allows_entry, update_ppr, virtualize_eoi, write_tpr,
};
pub use page::{ApicRegisters, VectorRegister, VirtualApicPage};
pub use posted::{NotificationOutcome, PostOutcome, post, process_notification};
pub use sender::{NotifyFn, PostedInterruptDescriptorPage, PostedInterruptSender};

#[cfg(test)]
mod tests;
