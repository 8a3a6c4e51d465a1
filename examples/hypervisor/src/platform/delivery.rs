//! Interrupt messages between the I/O APIC and the local APICs and between local APICs
//! (IPIs): delivery modes, destination modes and logical-destination matching (Intel SDM
//! Vol. 3A §12.6.1 "Interrupt Command Register", §12.6.2 "Determining IPI Destination").

/// The delivery mode of an interrupt message (ICR bits 10:8, I/O APIC redirection entry bits
/// 10:8; Intel SDM Vol. 3A §12.6.1, Figure 12-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryMode {
    /// 000b: the vector goes to every destination.
    Fixed,
    /// 001b: the vector goes to the destination running at the lowest priority
    /// (Intel SDM Vol. 3A §12.6.2.4).
    LowestPriority,
    /// 010b: an SMI (this platform has no SMM: dropped).
    Smi,
    /// 100b: an NMI; the vector is ignored.
    Nmi,
    /// 101b: INIT.
    Init,
    /// 110b: start-up IPI (SIPI); the vector is the start page.
    StartUp,
    /// 111b from the I/O APIC: an 8259-compatible interrupt (this platform has no 8259:
    /// dropped).
    ExtInt,
    /// 011b, and 111b in the ICR: reserved (Intel SDM Vol. 3A §12.6.1): dropped.
    Reserved,
}

impl DeliveryMode {
    /// Decodes bits 10:8 of an ICR or redirection entry (`from_ioapic` picks the meaning of
    /// 111b: ExtINT for the I/O APIC, reserved for the ICR).
    pub fn decode(bits: u32, from_ioapic: bool) -> DeliveryMode {
        match bits & 7 {
            0 => DeliveryMode::Fixed,
            1 => DeliveryMode::LowestPriority,
            2 => DeliveryMode::Smi,
            4 => DeliveryMode::Nmi,
            5 => DeliveryMode::Init,
            6 => DeliveryMode::StartUp,
            7 if from_ioapic => DeliveryMode::ExtInt,
            _ => DeliveryMode::Reserved,
        }
    }
}

/// Who an interrupt message is for (Intel SDM Vol. 3A §12.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Physical destination mode: the local APIC whose ID is the value; 0xFF is every APIC
    /// (xAPIC broadcast, Intel SDM Vol. 3A §12.6.2.1).
    Physical(u8),
    /// Logical destination mode: an 8-bit message destination address matched against each
    /// APIC's LDR under its DFR model (Intel SDM Vol. 3A §12.6.2.2).
    Logical(u8),
    /// Destination shorthand 01b: the sending APIC only.
    SelfOnly,
    /// Destination shorthand 10b: every APIC, the sender included.
    AllIncludingSelf,
    /// Destination shorthand 11b: every APIC but the sender.
    AllExcludingSelf,
}

/// One interrupt message (Intel SDM Vol. 3A §12.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// The vector (for SIPI: the start page).
    pub vector: u8,
    /// The delivery mode.
    pub mode: DeliveryMode,
    /// The destination.
    pub destination: Destination,
    /// Level-triggered (the receiving APIC sets its TMR bit and sends an EOI message to
    /// the I/O APIC when the vector is retired).
    pub level_triggered: bool,
    /// The level bit (ICR bit 14): an INIT with this bit clear and level-triggered is an
    /// INIT level de-assert, which only synchronizes arbitration IDs (Intel SDM Vol. 3A
    /// §12.6.1).
    pub assert: bool,
}

/// Whether an APIC with logical destination register `ldr` under destination format `dfr`
/// accepts logical message destination `mda` (Intel SDM Vol. 3A §12.6.2.2: flat model,
/// DFR bits 31:28 = 1111b: `LDR[31:24] & MDA != 0`; cluster model, 0000b: the high nibbles
/// are equal and the low nibbles share a bit; 0xFF is every APIC in both models).
pub fn logical_match(ldr: u32, dfr: u32, mda: u8) -> bool {
    let logical_id = (ldr >> 24) as u8;
    if mda == 0xFF {
        return true;
    }
    if dfr >> 28 == 0xF {
        logical_id & mda != 0
    } else {
        (logical_id >> 4) == (mda >> 4) && (logical_id & mda & 0x0F) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_cluster() {
        let flat = 0xFFFF_FFFF;
        assert!(logical_match(0x0100_0000, flat, 0x01));
        assert!(logical_match(0x0200_0000, flat, 0x03));
        assert!(!logical_match(0x0400_0000, flat, 0x03));
        assert!(logical_match(0, flat, 0xFF));
        let cluster = 0x0FFF_FFFF;
        assert!(logical_match(0x2100_0000, cluster, 0x23));
        assert!(!logical_match(0x2100_0000, cluster, 0x13));
        assert!(!logical_match(0x2400_0000, cluster, 0x23));
    }

    #[test]
    fn decode_modes() {
        assert_eq!(DeliveryMode::decode(7, true), DeliveryMode::ExtInt);
        assert_eq!(DeliveryMode::decode(7, false), DeliveryMode::Reserved);
        assert_eq!(DeliveryMode::decode(3, true), DeliveryMode::Reserved);
        assert_eq!(DeliveryMode::decode(0x506 >> 8, false), DeliveryMode::Init);
    }
}
