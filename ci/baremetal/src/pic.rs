//! The legacy 8259A interrupt controllers: remapped and masked at boot.
//!
//! The BIOS leaves the master PIC on vectors 8-15, which collide with CPU exceptions
//! (SDM Vol. 3A §7.2: vectors 0-31 are reserved for exceptions). At boot the runtime
//! reprograms both PICs to [`PIC1_VECTOR_BASE`] (IRQ 0-7) and [`PIC2_VECTOR_BASE`] (IRQ
//! 8-15) and masks every line, so nothing arrives unless a scenario unmasks an IRQ and
//! enables interrupts.

use crate::cpu::{inb, outb};

/// Vector of IRQ 0 (the PIT) after boot.
pub const PIC1_VECTOR_BASE: u8 = 0x20;
/// Vector of IRQ 8 after boot.
pub const PIC2_VECTOR_BASE: u8 = 0x28;

const PIC1_CMD: u16 = 0x20;
const PIC1_DATA: u16 = 0x21;
const PIC2_CMD: u16 = 0xA0;
const PIC2_DATA: u16 = 0xA1;

/// Reprograms both PICs (ICW1-ICW4: edge triggered, cascade on IRQ 2, 8086 mode) to the
/// vectors above and masks all 16 lines.
pub fn init() {
    // SAFETY: the standard 8259A initialization sequence on the PC's fixed ports.
    unsafe {
        outb(PIC1_CMD, 0x11);
        outb(PIC2_CMD, 0x11);
        outb(PIC1_DATA, PIC1_VECTOR_BASE);
        outb(PIC2_DATA, PIC2_VECTOR_BASE);
        outb(PIC1_DATA, 4);
        outb(PIC2_DATA, 2);
        outb(PIC1_DATA, 1);
        outb(PIC2_DATA, 1);
        outb(PIC1_DATA, 0xFF);
        outb(PIC2_DATA, 0xFF);
    }
}

/// Masks (`true`) or unmasks (`false`) one IRQ line (0-15; others are ignored).
pub fn set_masked(irq: u8, masked: bool) {
    let (port, bit) = match irq {
        0..=7 => (PIC1_DATA, irq),
        8..=15 => (PIC2_DATA, irq - 8),
        _ => return,
    };
    // SAFETY: read-modify-write of the PIC's interrupt mask register.
    unsafe {
        let m = inb(port);
        outb(
            port,
            if masked {
                m | (1 << bit)
            } else {
                m & !(1 << bit)
            },
        );
    }
}

/// Masks every line (the test runner does this after each scenario).
pub fn mask_all() {
    // SAFETY: OCW1 writes to the PICs' interrupt mask registers only stop IRQ delivery;
    // no memory is touched and masking cannot make a pending handler run.
    unsafe {
        outb(PIC1_DATA, 0xFF);
        outb(PIC2_DATA, 0xFF);
    }
}

/// Sends the non-specific end-of-interrupt for `irq` (to both PICs for IRQ 8-15).
pub fn end_of_interrupt(irq: u8) {
    // SAFETY: an OCW2 non-specific EOI only clears the highest in-service bit of each PIC
    // written (nothing when none is in service); no memory is touched.
    unsafe {
        if irq >= 8 {
            outb(PIC2_CMD, 0x20);
        }
        outb(PIC1_CMD, 0x20);
    }
}
