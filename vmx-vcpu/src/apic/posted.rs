//! Posted interrupts (SDM Vol. 3C §30.6 "Posted-Interrupt Processing"): what the sender
//! does to the descriptor ([`post`]) and what the processor does when the notification
//! vector arrives in VMX non-root operation ([`process_notification`]), on the typed
//! descriptor of vmx-defs ([`PostedInterruptDescriptor`]).

use vmx_defs::posted_interrupt::PostedInterruptDescriptor;

use super::delivery::{GuestInterruptStatus, is_recognized};
use super::page::{ApicRegisters, VectorRegister};

/// What posting a vector told the sender to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostOutcome {
    /// ON was clear and SN clear: ON is now set and the sender sends the notification
    /// vector to the notification destination.
    Notify,
    /// ON was already set (a notification is outstanding, it will carry this request
    /// too) or SN is set (notifications suppressed): no IPI.
    NoNotification,
}

/// Posts `vector` (SDM Vol. 3C §30.6; the sender's protocol): PIR\[vector\] ← 1, then, when
/// ON and SN are clear, ON ← 1 and [`PostOutcome::Notify`]. The vCPU's
/// [`PostedInterruptSender`](crate::apic::PostedInterruptSender) does the same with
/// atomic operations on the live descriptor.
pub fn post(pid: &mut PostedInterruptDescriptor, vector: u8) -> PostOutcome {
    pid.set_requested(vector, true);
    if pid.outstanding_notification() || pid.suppress_notification() {
        return PostOutcome::NoNotification;
    }
    pid.set_outstanding_notification(true);
    PostOutcome::Notify
}

/// What the processor did with an external interrupt that arrived in VMX non-root
/// operation with "process posted interrupts" = 1 (SDM Vol. 3C §30.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationOutcome {
    /// The vector is not the notification vector: an ordinary VM exit for an external
    /// interrupt (reason 1, with the vector acknowledged).
    ExternalInterruptExit,
    /// The notification was processed: ON cleared, the PIR moved into VIRR, RVI raised,
    /// pending virtual interrupts evaluated.
    Processed {
        /// A pending virtual interrupt is recognized (§30.2.1).
        recognized: bool,
    },
}

/// Posted-interrupt processing of an interrupt with `vector` (SDM Vol. 3C §30.6 steps):
/// when `vector` is the notification vector, ON ← 0; (EOI to the local APIC, not
/// modelled); VIRR ← VIRR | PIR and PIR ← 0; RVI ← max(RVI, highest vector of the old
/// PIR); evaluation of pending virtual interrupts. Otherwise a VM exit.
pub fn process_notification(
    regs: &mut impl ApicRegisters,
    status: &mut GuestInterruptStatus,
    pid: &mut PostedInterruptDescriptor,
    vector: u8,
    notification_vector: u8,
    interrupt_window_exiting: bool,
) -> NotificationOutcome {
    if vector != notification_vector {
        return NotificationOutcome::ExternalInterruptExit;
    }
    pid.set_outstanding_notification(false);
    let pir = pid.pir();
    pid.set_pir([0; 4]);
    let mut highest = None;
    for (i, word) in pir.iter().enumerate() {
        for half in 0..2u16 {
            let bits = (word >> (32 * half)) as u32;
            if bits == 0 {
                continue;
            }
            let offset = VectorRegister::Irr.base() + 16 * (2 * i as u16 + half);
            regs.write(offset, regs.read(offset) | bits);
            highest =
                Some((64 * i as u32 + 32 * u32::from(half) + 31 - bits.leading_zeros()) as u8);
        }
    }
    if let Some(h) = highest {
        status.rvi = status.rvi.max(h);
    }
    NotificationOutcome::Processed {
        recognized: is_recognized(regs, *status, interrupt_window_exiting),
    }
}
