//! The MP table describing the guest's processors and interrupt routing (Intel
//! MultiProcessor Specification 1.4, chapter 4 "MP Configuration Table"): the MP floating
//! pointer structure ("_MP_", §4.1), then the configuration table ("PCMP", §4.2) with its
//! base entries (§4.3): processors, the ISA bus, the I/O APIC, I/O interrupt assignments and
//! local interrupt assignments. Linux finds the floating pointer by scanning the last KiB of
//! base memory, where [`MP_TABLE_GPA`](super::layout::MP_TABLE_GPA) puts it.
//!
//! The local APIC and I/O APIC themselves are those of the SDM Vol. 3A chapter 12
//! ("Advanced Programmable Interrupt Controller"): xAPIC version 0x14, LINT0 and LINT1 as in
//! §12.5.1.

use alloc::vec::Vec;

use super::bytes::{checksum, put, put_u16, put_u32};
use super::layout::{EBDA_END, EBDA_START, IO_APIC_BASE, LOCAL_APIC_BASE};

/// The largest number of processors described (the table must fit in the reserved KiB).
pub const MAX_VCPUS: u32 = 32;
/// MP specification revision 1.4.
pub const SPEC_REV: u8 = 4;
/// Size of the floating pointer structure.
pub const FLOATING_POINTER_SIZE: usize = 16;
/// Size of the configuration table header.
pub const HEADER_SIZE: usize = 44;
/// Size of a processor entry.
pub const PROCESSOR_ENTRY_SIZE: usize = 20;
/// Size of the bus, I/O APIC, I/O interrupt and local interrupt entries.
pub const SHORT_ENTRY_SIZE: usize = 8;
/// The local APIC version reported (integrated xAPIC, SDM Vol. 3A §12.4.8).
pub const LOCAL_APIC_VERSION: u8 = 0x14;
/// The I/O APIC version reported.
pub const IO_APIC_VERSION: u8 = 0x11;
/// The ISA IRQ of the 8259 cascade, which has no I/O APIC entry (pin 2 carries IRQ 0).
pub const CASCADE_IRQ: u8 = 2;
/// Entry types (§4.3).
pub mod entry_type {
    /// Processor.
    pub const PROCESSOR: u8 = 0;
    /// Bus.
    pub const BUS: u8 = 1;
    /// I/O APIC.
    pub const IO_APIC: u8 = 2;
    /// I/O interrupt assignment.
    pub const IO_INTERRUPT: u8 = 3;
    /// Local interrupt assignment.
    pub const LOCAL_INTERRUPT: u8 = 4;
}
/// Interrupt types of the interrupt assignment entries (§4.3.4, Table 4-9).
pub mod interrupt_type {
    /// A vectored interrupt (vector from the APIC redirection entry).
    pub const INT: u8 = 0;
    /// Non-maskable interrupt.
    pub const NMI: u8 = 1;
    /// An 8259-compatible external interrupt.
    pub const EXTINT: u8 = 3;
}
/// Processor entry CPU flags (§4.3.1).
const CPU_ENABLED: u8 = 1 << 0;
/// Processor entry CPU flags: the bootstrap processor.
const CPU_BSP: u8 = 1 << 1;
/// CPU signature reported: family 6 (stepping, model 0); Linux reads the real one by CPUID.
const CPU_SIGNATURE: u32 = 0x600;
/// Feature flags reported (CPUID.1:EDX): FPU (bit 0) and APIC (bit 9).
const CPU_FEATURES: u32 = (1 << 0) | (1 << 9);
/// Destination "all local APICs" of a local interrupt entry.
const ALL_LOCAL_APICS: u8 = 0xFF;

/// Bytes of the whole structure (floating pointer + configuration table) for `vcpus`.
pub const fn table_size(vcpus: u32) -> usize {
    FLOATING_POINTER_SIZE
        + HEADER_SIZE
        + PROCESSOR_ENTRY_SIZE * vcpus as usize
        + SHORT_ENTRY_SIZE * (1 + 1 + 16 + 2)
}

const _: () = assert!(table_size(MAX_VCPUS) <= (EBDA_END - EBDA_START) as usize);

/// The I/O APIC pin that ISA IRQ `irq` is routed to: IRQ 0 (the PIT) to pin 2, the others
/// to the pin of their number (pin 0 is the ExtINT input).
pub const fn isa_irq_pin(irq: u8) -> u8 {
    if irq == 0 { 2 } else { irq }
}

/// The floating pointer and configuration table for `vcpus` processors (1..=[`MAX_VCPUS`];
/// the caller checks), to be placed at `gpa` (16-byte aligned): the configuration table
/// follows the floating pointer.
pub fn build(gpa: u64, vcpus: u32) -> Vec<u8> {
    let vcpus = vcpus.min(MAX_VCPUS);
    let mut out = alloc::vec![0u8; table_size(vcpus)];
    let table = FLOATING_POINTER_SIZE;
    let mut at = table + HEADER_SIZE;
    let mut count: u16 = 0;
    let io_apic_id = vcpus as u8;

    for id in 0..vcpus {
        let flags = CPU_ENABLED | if id == 0 { CPU_BSP } else { 0 };
        put(
            &mut out,
            at,
            &[entry_type::PROCESSOR, id as u8, LOCAL_APIC_VERSION, flags],
        );
        put_u32(&mut out, at + 4, CPU_SIGNATURE);
        put_u32(&mut out, at + 8, CPU_FEATURES);
        at += PROCESSOR_ENTRY_SIZE;
        count += 1;
    }
    put(&mut out, at, &[entry_type::BUS, 0]);
    put(&mut out, at + 2, b"ISA   ");
    at += SHORT_ENTRY_SIZE;
    count += 1;
    put(
        &mut out,
        at,
        &[entry_type::IO_APIC, io_apic_id, IO_APIC_VERSION, 1],
    );
    put_u32(&mut out, at + 4, IO_APIC_BASE as u32);
    at += SHORT_ENTRY_SIZE;
    count += 1;
    // Flags 0: polarity and trigger mode conform to the bus (ISA: active high, edge).
    let mut io_interrupt = |out: &mut [u8], at: &mut usize, kind: u8, irq: u8, pin: u8| {
        put(
            out,
            *at,
            &[
                entry_type::IO_INTERRUPT,
                kind,
                0,
                0,
                0,
                irq,
                io_apic_id,
                pin,
            ],
        );
        *at += SHORT_ENTRY_SIZE;
        count += 1;
    };
    io_interrupt(&mut out, &mut at, interrupt_type::EXTINT, 0, 0);
    for irq in (0..16u8).filter(|irq| *irq != CASCADE_IRQ) {
        io_interrupt(
            &mut out,
            &mut at,
            interrupt_type::INT,
            irq,
            isa_irq_pin(irq),
        );
    }
    for (kind, lint) in [(interrupt_type::EXTINT, 0u8), (interrupt_type::NMI, 1)] {
        put(
            &mut out,
            at,
            &[
                entry_type::LOCAL_INTERRUPT,
                kind,
                0,
                0,
                0,
                0,
                ALL_LOCAL_APICS,
                lint,
            ],
        );
        at += SHORT_ENTRY_SIZE;
        count += 1;
    }

    // Configuration table header (§4.2, Table 4-2).
    let length = (at - table) as u16;
    put(&mut out, table, b"PCMP");
    put_u16(&mut out, table + 4, length);
    out[table + 6] = SPEC_REV;
    put(&mut out, table + 8, b"VMXRS   ");
    put(&mut out, table + 16, b"EXAMPLE-HV  ");
    put_u16(&mut out, table + 34, count);
    put_u32(&mut out, table + 36, LOCAL_APIC_BASE as u32);
    out[table + 7] = checksum(&out[table..at]);

    // Floating pointer structure (§4.1, Table 4-1): no default configuration, virtual wire
    // mode (no IMCR).
    put(&mut out, 0, b"_MP_");
    put_u32(&mut out, 4, (gpa + table as u64) as u32);
    out[8] = 1;
    out[9] = SPEC_REV;
    out[10] = checksum(&out[..FLOATING_POINTER_SIZE]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::bytes::{u16_at, u32_at};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn sum(bytes: &[u8]) -> u8 {
        bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b))
    }

    /// What a reader of the table (Linux's `smp_read_mpc`) takes from it.
    #[derive(Debug, Default)]
    struct Parsed {
        processors: Vec<(u8, u8)>,
        buses: Vec<[u8; 6]>,
        io_apics: Vec<(u8, u8, u32)>,
        io_interrupts: Vec<(u8, u8, u8, u8)>,
        local_interrupts: Vec<(u8, u8, u8)>,
    }

    /// Finds and checks the table at `gpa` the way the specification describes it.
    fn parse(bytes: &[u8], gpa: u64) -> Parsed {
        let fp = &bytes[..16];
        assert_eq!(&fp[..4], b"_MP_");
        assert_eq!(sum(fp), 0, "floating pointer checksum");
        assert_eq!(fp[8], 1);
        assert_eq!(fp[9], 4);
        assert_eq!(fp[11], 0, "a configuration table is present");
        let table = (u32_at(fp, 4).unwrap() as u64 - gpa) as usize;
        assert_eq!(&bytes[table..table + 4], b"PCMP");
        let len = u16_at(bytes, table + 4).unwrap() as usize;
        assert_eq!(
            sum(&bytes[table..table + len]),
            0,
            "configuration table checksum"
        );
        assert_eq!(bytes[table + 6], 4);
        assert_eq!(u32_at(bytes, table + 36), Some(0xFEE0_0000));
        let count = u16_at(bytes, table + 34).unwrap();
        let mut at = table + 44;
        let mut p = Parsed::default();
        for _ in 0..count {
            let e = &bytes[at..];
            match e[0] {
                0 => {
                    assert_eq!(e[2], 0x14);
                    p.processors.push((e[1], e[3]));
                    at += 20;
                    continue;
                }
                1 => p.buses.push(e[2..8].try_into().unwrap()),
                2 => p.io_apics.push((e[1], e[2], u32_at(e, 4).unwrap())),
                3 => p.io_interrupts.push((e[1], e[5], e[6], e[7])),
                4 => p.local_interrupts.push((e[1], e[6], e[7])),
                t => panic!("unknown entry type {t}"),
            }
            at += 8;
        }
        assert_eq!(at, table + len);
        p
    }

    #[test]
    fn two_vcpus_read_back() {
        let bytes = build(0x9_FC00, 2);
        let p = parse(&bytes, 0x9_FC00);
        assert_eq!(p.processors, [(0, 3), (1, 1)]);
        assert_eq!(p.buses, [*b"ISA   "]);
        assert_eq!(p.io_apics, [(2, 0x11, 0xFEC0_0000)]);
        assert_eq!(p.io_interrupts.len(), 16);
        assert_eq!(p.io_interrupts[0], (3, 0, 2, 0));
        assert!(p.io_interrupts.contains(&(0, 0, 2, 2)));
        assert!(p.io_interrupts.contains(&(0, 1, 2, 1)));
        assert!(p.io_interrupts.contains(&(0, 15, 2, 15)));
        assert!(!p.io_interrupts.iter().any(|e| e.0 == 0 && e.1 == 2));
        assert_eq!(p.local_interrupts, [(3, 0xFF, 0), (1, 0xFF, 1)]);
    }

    #[test]
    fn pins_are_distinct() {
        let mut pins: Vec<u8> = (0..16).filter(|i| *i != 2).map(isa_irq_pin).collect();
        pins.push(0);
        pins.sort_unstable();
        pins.dedup();
        assert_eq!(pins.len(), 16);
    }

    proptest! {
        #[test]
        fn every_size_checksums_and_fits(vcpus in 1..=MAX_VCPUS) {
            let bytes = build(0x9_FC00, vcpus);
            prop_assert!(bytes.len() <= 1024);
            let p = parse(&bytes, 0x9_FC00);
            prop_assert_eq!(p.processors.len(), vcpus as usize);
            for (i, (id, flags)) in p.processors.iter().enumerate() {
                prop_assert_eq!(usize::from(*id), i);
                prop_assert_eq!(*flags, if i == 0 { 3 } else { 1 });
            }
            prop_assert_eq!(p.io_apics[0].0 as u32, vcpus);
        }
    }
}
