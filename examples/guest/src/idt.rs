//! The guest's interrupt descriptor table (SDM Vol. 3A §7.10, §7.14.1 "64-Bit Mode IDT").
//!
//! The guest installs only the timer vector's gate: the example hypervisor intercepts every
//! exception (its exception bitmap is all ones) and reports it, so the guest needs no
//! exception handlers of its own.

use core::cell::UnsafeCell;

/// One 16-byte 64-bit interrupt gate.
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const MISSING: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        type_attributes: 0,
        offset_middle: 0,
        offset_high: 0,
        reserved: 0,
    };

    /// A present, DPL-0, 64-bit interrupt gate (type 0xE: IF cleared on entry) to `handler`.
    fn interrupt_gate(handler: u64, selector: u16) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector,
            ist: 0,
            type_attributes: 0x8E,
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

/// The table: 256 gates.
#[repr(C, align(16))]
struct Idt(UnsafeCell<[Gate; 256]>);

// SAFETY: the guest is single-threaded; the table is written only by `install`, before the
// gate can be used (interrupts are disabled while it is written).
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(UnsafeCell::new([Gate::MISSING; 256]));

/// The operand of LIDT.
#[repr(C, packed)]
struct IdtPointer {
    limit: u16,
    base: u64,
}

/// Installs `handler` (an assembly entry that ends with IRETQ) at `vector` and loads the IDT.
/// Call with interrupts disabled.
pub fn install(vector: u8, handler: u64) {
    let cs: u16;
    // SAFETY: reading CS has no side effect.
    unsafe {
        core::arch::asm!("mov {0:x}, cs", out(reg) cs, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: interrupts are disabled and the guest is single-threaded: nothing reads the
    // table while it is written.
    unsafe {
        let gates = &mut *IDT.0.get();
        if let Some(gate) = gates.get_mut(usize::from(vector)) {
            *gate = Gate::interrupt_gate(handler, cs);
        }
    }
    let pointer = IdtPointer {
        limit: (core::mem::size_of::<[Gate; 256]>() - 1) as u16,
        base: IDT.0.get() as u64,
    };
    // SAFETY: the IDT is a static that lives forever; its gates are either not present or
    // point at valid handlers.
    unsafe {
        core::arch::asm!("lidt [{0}]", in(reg) &raw const pointer, options(readonly, nostack, preserves_flags))
    };
}
