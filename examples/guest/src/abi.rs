//! Constants and pure functions both sides agree on.
//!
//! ## Guest-physical layout
//! The hypervisor gives the guest [`GUEST_RAM_SIZE`] bytes of RAM at guest-physical address 0,
//! backed by host frames through EPT. Inside it the hypervisor writes, before the first entry:
//! the guest's GDT and TSS at [`GUEST_GDT_GPA`] and its 4-level page tables at
//! [`GUEST_PAGE_TABLES_GPA`] (identity map of the first 4 GiB with 2-MiB pages, so that
//! guest-virtual = guest-physical, the MMIO page included). The guest's ELF image is linked at
//! 1 MiB ([`GUEST_IMAGE_BASE`]); the guest sets up its own stack and IDT.
//!
//! Everything above [`GUEST_RAM_SIZE`] has no EPT mapping: an access there is an EPT violation
//! (SDM Vol. 3C §29.3.3.2), which is how the hypervisor sees the guest touch
//! [`DEVICE_BASE`].

/// Guest RAM size in bytes, starting at guest-physical address 0.
pub const GUEST_RAM_SIZE: u64 = 4 << 20;
/// Guest-physical address of the GDT (and TSS) the hypervisor builds for the guest.
pub const GUEST_GDT_GPA: u64 = 0x1000;
/// Guest-physical address of the guest's PML4; the PDPT and four page directories follow it.
pub const GUEST_PAGE_TABLES_GPA: u64 = 0x2000;
/// Where the guest image is linked (its PT_LOAD segments start here).
pub const GUEST_IMAGE_BASE: u64 = 0x10_0000;

/// Guest code segment selector (64-bit code, DPL 0) in the hypervisor-built GDT.
pub const GUEST_CS: u16 = 0x08;
/// Guest data segment selector (DPL 0) in the hypervisor-built GDT.
pub const GUEST_DS: u16 = 0x10;
/// Guest TSS selector (a 16-byte 64-bit TSS descriptor) in the hypervisor-built GDT.
pub const GUEST_TR: u16 = 0x18;

/// The guest's serial port: a 16550 UART at the PC's COM1 I/O ports, emulated by the
/// hypervisor (every access is an I/O-instruction VM exit).
pub mod serial {
    /// Base I/O port (COM1).
    pub const BASE: u16 = 0x3F8;
    /// Number of consecutive ports the UART decodes.
    pub const PORT_COUNT: u16 = 8;
    /// Offset of the transmit holding register (write) / receive buffer (read); the divisor
    /// latch low byte when LCR.DLAB is set.
    pub const THR: u16 = 0;
    /// Offset of the interrupt enable register; the divisor latch high byte when LCR.DLAB
    /// is set.
    pub const IER: u16 = 1;
    /// Offset of the interrupt identification register (read) / FIFO control (write).
    pub const IIR_FCR: u16 = 2;
    /// Offset of the line control register.
    pub const LCR: u16 = 3;
    /// Offset of the modem control register.
    pub const MCR: u16 = 4;
    /// Offset of the line status register.
    pub const LSR: u16 = 5;
    /// Offset of the modem status register.
    pub const MSR: u16 = 6;
    /// Offset of the scratch register.
    pub const SCR: u16 = 7;
    /// LCR bit 7: divisor latch access.
    pub const LCR_DLAB: u8 = 1 << 7;
    /// LSR bit 5: the transmit holding register is empty.
    pub const LSR_THRE: u8 = 1 << 5;
    /// LSR bit 6: the transmitter is empty.
    pub const LSR_TEMT: u8 = 1 << 6;
}

/// CPUID leaf at which the hypervisor reports itself (the leaves 0x4000_0000-0x4FFF_FFFF are
/// reserved for hypervisor use, SDM Vol. 2A CPUID: "Invalid" for software on bare hardware).
pub const CPUID_HYPERVISOR_LEAF: u32 = 0x4000_0000;
/// Highest hypervisor leaf, returned in EAX of [`CPUID_HYPERVISOR_LEAF`].
pub const CPUID_HYPERVISOR_MAX_LEAF: u32 = 0x4000_0001;
/// The 12-byte hypervisor signature returned in EBX, ECX, EDX (4 bytes each, little endian)
/// of [`CPUID_HYPERVISOR_LEAF`].
pub const HYPERVISOR_SIGNATURE: [u8; 12] = *b"VmxRsExample";
/// CPUID.1:ECX bit 31, set by hypervisors to announce themselves.
pub const CPUID_1_ECX_HYPERVISOR: u32 = 1 << 31;

/// The interrupt vector of the timer the hypervisor injects (driven by the VMX-preemption
/// timer, SDM Vol. 3C §26.5.1), the first vector free of exceptions (SDM Vol. 3A §7.2).
pub const TIMER_VECTOR: u8 = 0x20;
/// How many timer interrupts the guest waits for.
pub const TIMER_TICKS_WANTED: u64 = 5;

/// The made-up "example device": one 4-KiB page of 32-bit registers at [`DEVICE_BASE`].
///
/// - [`DEVICE_ID`] (read-only) reads [`DEVICE_ID_VALUE`];
/// - [`DEVICE_OPERAND`] (read-write) holds a value;
/// - [`DEVICE_RESULT`] (read-only) reads [`device_compute`] of the operand.
///
/// Writes to read-only registers and accesses to other offsets are ignored (reads return 0).
pub const DEVICE_BASE: u64 = 0xFEB0_0000;
/// Size of the device's register page.
pub const DEVICE_SIZE: u64 = 0x1000;
/// Offset of the identification register.
pub const DEVICE_ID: u64 = 0x0;
/// Offset of the operand register.
pub const DEVICE_OPERAND: u64 = 0x4;
/// Offset of the result register.
pub const DEVICE_RESULT: u64 = 0x8;
/// Value of the identification register ("VMXD" in little-endian bytes).
pub const DEVICE_ID_VALUE: u32 = u32::from_le_bytes(*b"VMXD");

/// What the device computes from its operand: the operand with its bytes reversed, plus one.
pub const fn device_compute(operand: u32) -> u32 {
    operand.swap_bytes().wrapping_add(1)
}

/// Hypercalls: `VMCALL` with the number in RAX and the argument in RDI (SDM Vol. 3C §26.1.3:
/// VMCALL in VMX non-root operation always causes a VM exit). The hypervisor returns its
/// answer in RAX.
pub mod hypercall {
    /// The guest has finished; RDI holds its result: 0 when every self-check passed, else
    /// the bit mask of [`super::check`] flags that failed.
    pub const DONE: u64 = 1;
    /// The guest panicked; it printed the message on its serial port first. RDI is unused.
    pub const PANIC: u64 = 2;
    /// Answer in RAX: the hypercall was handled.
    pub const OK: u64 = 0;
    /// Answer in RAX: the hypercall number is not known.
    pub const UNKNOWN: u64 = u64::MAX;
}

/// The guest's self-checks, one bit each in the [`hypercall::DONE`] result.
pub mod check {
    /// CPUID 0x4000_0000 did not return [`super::HYPERVISOR_SIGNATURE`].
    pub const SIGNATURE: u64 = 1 << 0;
    /// CPUID.1:ECX did not have the hypervisor bit set.
    pub const HYPERVISOR_BIT: u64 = 1 << 1;
    /// Fewer timer interrupts than [`super::TIMER_TICKS_WANTED`] arrived.
    pub const TIMER: u64 = 1 << 2;
    /// The device's identification register read something else than
    /// [`super::DEVICE_ID_VALUE`].
    pub const DEVICE_ID: u64 = 1 << 3;
    /// The device's operand register did not read back the value written.
    pub const DEVICE_OPERAND: u64 = 1 << 4;
    /// The device's result register did not read [`super::device_compute`] of the operand.
    pub const DEVICE_RESULT: u64 = 1 << 5;
}

// The layout is checked when the crate compiles.
const _: () = {
    assert!(
        DEVICE_BASE >= GUEST_RAM_SIZE,
        "the device page must not be guest RAM"
    );
    assert!(
        DEVICE_BASE.is_multiple_of(DEVICE_SIZE),
        "the device page must be page aligned"
    );
    assert!(
        DEVICE_RESULT + 4 <= DEVICE_SIZE,
        "device registers must fit in its page"
    );
    // PML4 + PDPT + 4 page directories below the image; GDT below the page tables.
    assert!(GUEST_PAGE_TABLES_GPA + 6 * 4096 <= GUEST_IMAGE_BASE);
    assert!(GUEST_GDT_GPA + 4096 <= GUEST_PAGE_TABLES_GPA);
    assert!(GUEST_IMAGE_BASE < GUEST_RAM_SIZE);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_computes_byte_swap_plus_one() {
        assert_eq!(device_compute(0x1234_5678), 0x7856_3413);
        assert_eq!(device_compute(0xFFFF_FFFF), 0);
    }

    #[test]
    fn signature_is_printable_ascii() {
        assert!(HYPERVISOR_SIGNATURE.iter().all(|b| b.is_ascii_graphic()));
    }
}
