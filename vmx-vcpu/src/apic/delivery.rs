//! The processor's virtual-interrupt rules (SDM Vol. 3C ch. 30 "APIC Virtualization and
//! Virtual Interrupts"), as pure functions of a virtual-APIC page ([`ApicRegisters`]) and
//! the guest interrupt status ([`GuestInterruptStatus`], RVI and SVI):
//!
//! - PPR virtualization (§30.1.3), TPR virtualization (§30.1.2), EOI virtualization
//!   (§30.1.4), self-IPI virtualization (§30.1.5);
//! - evaluation and delivery of pending virtual interrupts (§30.2.1, §30.2.2);
//! - the VM-entry check of the TPR threshold against VTPR (§27.2.1.1).
//!
//! The processor performs these itself; the model is what the vCPU's
//! [`post_interrupt`](crate::Vcpu::post_interrupt) and the host tests rely on, and what a
//! hypervisor uses to emulate the virtual APIC where the processor exits instead.

use super::page::{ApicRegisters, PPR, TPR, VectorRegister};

/// The guest-interrupt-status field (SDM Vol. 3C §25.4.2, §30.1.1): RVI, the requesting
/// virtual interrupt (bits 7:0), and SVI, the servicing virtual interrupt (bits 15:8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct GuestInterruptStatus {
    /// Requesting virtual interrupt: the vector of the highest-priority virtual interrupt
    /// requested (0 for none).
    pub rvi: u8,
    /// Servicing virtual interrupt: the vector of the highest-priority virtual interrupt in
    /// service (0 for none).
    pub svi: u8,
}

impl GuestInterruptStatus {
    /// From the 16-bit field (total).
    pub const fn from_raw(raw: u16) -> Self {
        Self {
            rvi: raw as u8,
            svi: (raw >> 8) as u8,
        }
    }

    /// The 16-bit field.
    pub const fn raw(self) -> u16 {
        self.rvi as u16 | (self.svi as u16) << 8
    }
}

/// Which control governs a TPR write (SDM Vol. 3C §30.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TprMode {
    /// "virtual-interrupt delivery" = 0: compare VTPR\[7:4\] with the TPR threshold
    /// (bits 3:0).
    Threshold(u8),
    /// "virtual-interrupt delivery" = 1: PPR virtualization, then evaluation of pending
    /// virtual interrupts.
    VirtualInterruptDelivery,
}

/// What a virtualized TPR write led to (SDM Vol. 3C §30.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TprOutcome {
    /// VTPR\[7:4\] fell below the threshold: VM exit 43 "TPR below threshold"
    /// (trap-like: after the write).
    BelowThreshold,
    /// No exit (with the threshold compared, or with virtual-interrupt delivery where
    /// `recognized` tells whether a virtual interrupt is now recognized).
    Continue {
        /// A pending virtual interrupt is recognized (§30.2.1); always false in
        /// [`TprMode::Threshold`].
        recognized: bool,
    },
}

/// What EOI virtualization led to (SDM Vol. 3C §30.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EoiOutcome {
    /// The vector's bit in the EOI-exit bitmap is set: VM exit 45 "virtualized EOI" with
    /// this vector as exit qualification (trap-like).
    Exit(u8),
    /// Pending virtual interrupts were evaluated.
    Continue {
        /// A pending virtual interrupt is recognized (§30.2.1).
        recognized: bool,
    },
}

/// PPR virtualization (SDM Vol. 3C §30.1.3): VPPR ← VTPR when VTPR\[7:4\] ≥ SVI\[7:4\],
/// else SVI & F0H; bits 31:8 of VPPR cleared. Returns the new VPPR.
pub fn update_ppr(regs: &mut impl ApicRegisters, status: GuestInterruptStatus) -> u8 {
    let vtpr = regs.read(TPR) as u8;
    let vppr = if vtpr >> 4 >= status.svi >> 4 {
        vtpr
    } else {
        status.svi & 0xF0
    };
    regs.write(PPR, u32::from(vppr));
    vppr
}

/// Evaluation of pending virtual interrupts (SDM Vol. 3C §30.2.1): one is recognized when
/// "interrupt-window exiting" is 0 and RVI\[7:4\] > VPPR\[7:4\].
pub fn is_recognized(
    regs: &impl ApicRegisters,
    status: GuestInterruptStatus,
    interrupt_window_exiting: bool,
) -> bool {
    let vppr = regs.read(PPR) as u8;
    !interrupt_window_exiting && status.rvi >> 4 > vppr >> 4
}

/// Virtual-interrupt delivery (SDM Vol. 3C §30.2.2) of the recognized interrupt: vector
/// ← RVI; VISR\[vector\] ← 1; SVI ← vector; PPR virtualization; VIRR\[vector\] ← 0; RVI ←
/// the highest vector left in VIRR (0 if none). Returns the vector, which the processor
/// then delivers through the guest's IDT. The caller checks [`is_recognized`] and the
/// guest's interruptibility (RFLAGS.IF, blocking by STI/MOV SS) first.
pub fn deliver(regs: &mut impl ApicRegisters, status: &mut GuestInterruptStatus) -> u8 {
    let vector = status.rvi;
    regs.set_bit(VectorRegister::Isr, vector, true);
    status.svi = vector;
    update_ppr(regs, *status);
    regs.set_bit(VectorRegister::Irr, vector, false);
    status.rvi = regs.highest(VectorRegister::Irr).unwrap_or(0);
    vector
}

/// Requests a virtual interrupt, as self-IPI virtualization does (SDM Vol. 3C §30.1.5)
/// and as software may while the guest is not running: VIRR\[vector\] ← 1; RVI ←
/// max(RVI, vector); then evaluation of pending virtual interrupts (returned).
pub fn request(
    regs: &mut impl ApicRegisters,
    status: &mut GuestInterruptStatus,
    vector: u8,
    interrupt_window_exiting: bool,
) -> bool {
    regs.set_bit(VectorRegister::Irr, vector, true);
    status.rvi = status.rvi.max(vector);
    is_recognized(regs, *status, interrupt_window_exiting)
}

/// EOI virtualization (SDM Vol. 3C §30.1.4): vector ← SVI; VISR\[vector\] ← 0; SVI ← the
/// highest vector left in VISR (0 if none); PPR virtualization; then a VM exit when the
/// vector's bit of the EOI-exit bitmap (`eoi_exit_bitmap`, vectors 64i..64i+63 in word
/// `i`) is set, else evaluation of pending virtual interrupts.
pub fn virtualize_eoi(
    regs: &mut impl ApicRegisters,
    status: &mut GuestInterruptStatus,
    eoi_exit_bitmap: &[u64; 4],
    interrupt_window_exiting: bool,
) -> EoiOutcome {
    let vector = status.svi;
    regs.set_bit(VectorRegister::Isr, vector, false);
    status.svi = regs.highest(VectorRegister::Isr).unwrap_or(0);
    update_ppr(regs, *status);
    if eoi_exit_bitmap[usize::from(vector >> 6)] & (1 << (vector & 63)) != 0 {
        EoiOutcome::Exit(vector)
    } else {
        EoiOutcome::Continue {
            recognized: is_recognized(regs, *status, interrupt_window_exiting),
        }
    }
}

/// TPR virtualization after the guest wrote `vtpr` to the VTPR (MOV to CR8 writes
/// `value << 4`, SDM Vol. 3C §30.3; a write to offset 080H or x2APIC MSR 808H writes the
/// value; §30.1.2): with [`TprMode::Threshold`] a VM exit when VTPR\[7:4\] < threshold
/// bits 3:0; with [`TprMode::VirtualInterruptDelivery`] PPR virtualization and
/// evaluation of pending virtual interrupts.
pub fn write_tpr(
    regs: &mut impl ApicRegisters,
    status: GuestInterruptStatus,
    vtpr: u32,
    mode: TprMode,
    interrupt_window_exiting: bool,
) -> TprOutcome {
    regs.write(TPR, vtpr);
    match mode {
        TprMode::Threshold(threshold) => {
            if (vtpr as u8) >> 4 < threshold & 0xF {
                TprOutcome::BelowThreshold
            } else {
                TprOutcome::Continue { recognized: false }
            }
        }
        TprMode::VirtualInterruptDelivery => {
            update_ppr(regs, status);
            TprOutcome::Continue {
                recognized: is_recognized(regs, status, interrupt_window_exiting),
            }
        }
    }
}

/// The VM-entry check of the TPR threshold (SDM Vol. 3C §27.2.1.1): with "use TPR shadow"
/// = 1 and both "virtualize APIC accesses" and "virtual-interrupt delivery" = 0, bits 3:0
/// of the TPR threshold must not exceed VTPR\[7:4\] (and bits 31:4 of the threshold must be
/// 0 whenever VID = 0). True when entry passes this check.
pub const fn tpr_threshold_allows_entry(
    threshold: u32,
    vtpr: u32,
    virtualize_apic_accesses: bool,
    virtual_interrupt_delivery: bool,
) -> bool {
    if virtual_interrupt_delivery {
        return true;
    }
    if threshold & !0xF != 0 {
        return false;
    }
    virtualize_apic_accesses || threshold <= (vtpr >> 4) & 0xF
}
