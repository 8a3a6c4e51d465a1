//! Driving the made-up MMIO device at [`abi::DEVICE_BASE`](example_guest::abi::DEVICE_BASE).
//!
//! The device's page has no EPT mapping: each access below is an EPT violation that the
//! hypervisor emulates by decoding the faulting `MOV`. The accesses are written in assembly
//! so that the instruction forms are known: `mov dword ptr [reg], reg32` and
//! `mov reg32, dword ptr [reg]`.

use example_guest::abi::{self, check};

/// Reads the 32-bit device register at `offset`.
fn read_register(offset: u64) -> u32 {
    let address = abi::DEVICE_BASE + offset;
    let value: u32;
    // SAFETY: the device page is mapped by the guest page tables; the access is emulated by
    // the hypervisor and touches no guest RAM.
    unsafe {
        core::arch::asm!("mov {0:e}, dword ptr [{1}]", out(reg) value, in(reg) address, options(nostack, preserves_flags));
    }
    value
}

/// Writes the 32-bit device register at `offset`.
fn write_register(offset: u64, value: u32) {
    let address = abi::DEVICE_BASE + offset;
    // SAFETY: as in `read_register`.
    unsafe {
        core::arch::asm!("mov dword ptr [{1}], {0:e}", in(reg) value, in(reg) address, options(nostack, preserves_flags));
    }
}

/// Reads the ID, writes an operand, reads it back and reads the result; prints them and
/// returns the [`check`] flags that failed.
pub fn exercise() -> u64 {
    let mut failed = 0;

    let id = read_register(abi::DEVICE_ID);
    println!(
        "mmio: device id at {:#x} = {id:#010x}",
        abi::DEVICE_BASE + abi::DEVICE_ID
    );
    if id != abi::DEVICE_ID_VALUE {
        failed |= check::DEVICE_ID;
    }

    let operand = 0x1234_5678;
    write_register(abi::DEVICE_OPERAND, operand);
    let read_back = read_register(abi::DEVICE_OPERAND);
    let result = read_register(abi::DEVICE_RESULT);
    println!(
        "mmio: wrote operand {operand:#010x}, read back {read_back:#010x}, device result {result:#010x}"
    );
    if read_back != operand {
        failed |= check::DEVICE_OPERAND;
    }
    if result != abi::device_compute(operand) {
        failed |= check::DEVICE_RESULT;
    }
    failed
}
