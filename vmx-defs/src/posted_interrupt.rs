//! The posted-interrupt descriptor (SDM Vol. 3C §30.6 "Posted-Interrupt Processing",
//! Table 30-1 "Format of Posted-Interrupt Descriptor").
//!
//! The descriptor is 64 bytes, 64-byte aligned, at the physical address in the VMCS
//! field "posted-interrupt descriptor address" (encoding 0x2016); the "process posted
//! interrupts" pin-based control (bit 7) makes the processor use it. The processor and
//! other agents (IOMMU, other CPUs sending IPIs) update it with locked read-modify-write
//! operations on its bytes, so this type is plain data: `vmx-vcpu` performs the atomic
//! updates on the byte layout given by the `*_OFFSET` constants and bit numbers here.
//!
//! The SDM defines the PIR (bits 255:0) and ON (bit 256) and leaves bits 511:257 "available
//! for software and other agents"; the Intel VT-d specification (§9.12 "Posted Interrupt
//! Descriptor") gives SN, NV and NDST their places in those bits, the layout VMMs and
//! IOMMUs share. Writing them never changes what the processor does with the descriptor.
//!
//! | bits | field | byte offset |
//! |---|---|---|
//! | 255:0 | posted-interrupt requests (PIR), one bit per vector | 0-31 |
//! | 256 | outstanding notification (ON) | bit 0 of byte 32 |
//! | 257 | suppress notification (SN) | bit 1 of byte 32 |
//! | 271:258 | reserved | bits 7:2 of byte 32, byte 33 |
//! | 279:272 | notification vector (NV) | 34 |
//! | 287:280 | reserved | 35 |
//! | 319:288 | notification destination (NDST), an x2APIC ID or xAPIC ID in bits 15:8 | 36-39 |
//! | 511:320 | reserved | 40-63 |

/// The posted-interrupt descriptor (SDM Vol. 3C §30.6, Table 30-1): 64 bytes, 64-byte
/// aligned, stored as eight little-endian 64-bit words (word `i` holds bits `64i+63:64i`).
///
/// ```
/// use vmx_defs::posted_interrupt::PostedInterruptDescriptor;
///
/// let mut pid = PostedInterruptDescriptor::new();
/// pid.set_notification_vector(0xf2);
/// pid.set_notification_destination(3);
/// pid.set_requested(0x31, true);
/// pid.set_outstanding_notification(true);
/// assert!(pid.requested(0x31));
/// assert_eq!(pid.pending_vectors().next(), Some(0x31));
/// assert_eq!(pid.words()[4], 0x0000_0003_00f2_0001);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C, align(64))]
pub struct PostedInterruptDescriptor {
    words: [u64; 8],
}

impl PostedInterruptDescriptor {
    /// Size of the descriptor in bytes.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const SIZE: usize = 64;
    /// Required alignment of the descriptor in bytes (bits 5:0 of the VMCS address field
    /// must be 0; SDM Vol. 3C §27.2.1.1).
    pub const ALIGN: usize = 64;
    /// Byte offset of the posted-interrupt requests (bits 255:0), 32 bytes.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const PIR_OFFSET: usize = 0;
    /// Length of the PIR in bytes.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const PIR_LEN: usize = 32;
    /// Byte offset of the byte holding ON (bit 0) and SN (bit 1): byte 32 (bits 263:256).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const CONTROL_OFFSET: usize = 32;
    /// Bit number of ON within the descriptor (256); bit 0 of byte [`Self::CONTROL_OFFSET`].
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const ON_BIT: u32 = 256;
    /// Bit number of SN within the descriptor (257); bit 1 of byte [`Self::CONTROL_OFFSET`].
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const SN_BIT: u32 = 257;
    /// Byte offset of the notification vector (bits 279:272).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const NV_OFFSET: usize = 34;
    /// Byte offset of the 32-bit notification destination (bits 319:288).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const NDST_OFFSET: usize = 36;

    /// An all-zero descriptor: no request, ON = SN = 0, vector 0, destination 0.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const fn new() -> Self {
        Self { words: [0; 8] }
    }

    /// The descriptor from its eight 64-bit words (word `i` holds bits `64i+63:64i`);
    /// total, every value is kept.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const fn from_words(words: [u64; 8]) -> Self {
        Self { words }
    }

    /// The eight 64-bit words.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const fn words(&self) -> [u64; 8] {
        self.words
    }

    /// The descriptor from its 64 bytes, little-endian as in memory (total).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        let mut words = [0u64; 8];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_le_bytes(b);
        }
        Self { words }
    }

    /// The 64 bytes as they lie in memory (little-endian).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut bytes = [0u8; 64];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(self.words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    /// Whether the PIR bit for `vector` is 1 (an interrupt with that vector is posted).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const fn requested(&self, vector: u8) -> bool {
        self.words[(vector / 64) as usize] & (1 << (vector % 64)) != 0
    }

    /// Sets or clears the PIR bit for `vector`.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn set_requested(&mut self, vector: u8, requested: bool) {
        let word = &mut self.words[(vector / 64) as usize];
        let bit = 1u64 << (vector % 64);
        if requested {
            *word |= bit;
        } else {
            *word &= !bit;
        }
    }

    /// The four 64-bit words of the PIR (bits 255:0; word `i` covers vectors
    /// `64i..64i+63`).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const fn pir(&self) -> [u64; 4] {
        [self.words[0], self.words[1], self.words[2], self.words[3]]
    }

    /// Replaces the PIR.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn set_pir(&mut self, pir: [u64; 4]) {
        self.words[..4].copy_from_slice(&pir);
    }

    /// The vectors whose PIR bit is 1, lowest first.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn pending_vectors(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(move |&v| self.requested(v))
    }

    /// Bit 256, outstanding notification (ON): a notification event is outstanding for
    /// one or more posted interrupts.
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub const fn outstanding_notification(&self) -> bool {
        self.words[4] & 1 != 0
    }

    /// Sets or clears ON (bit 256).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn set_outstanding_notification(&mut self, on: bool) {
        self.set_word4_bit(0, on);
    }

    /// Bit 257, suppress notification (SN): agents posting interrupts do not send
    /// notification events while it is 1 (a software-available bit of SDM Vol. 3C Table
    /// 30-1, defined by the VT-d specification §9.12).
    pub const fn suppress_notification(&self) -> bool {
        self.words[4] & 2 != 0
    }

    /// Sets or clears SN (bit 257).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn set_suppress_notification(&mut self, sn: bool) {
        self.set_word4_bit(1, sn);
    }

    /// Bits 279:272, the notification vector (NV) agents send to notify the CPU (VT-d
    /// §9.12; for the CPU's own IPIs, the VMCS "posted-interrupt notification vector"
    /// field, encoding 0x0002, is the one that counts; SDM Vol. 3C §30.6).
    pub const fn notification_vector(&self) -> u8 {
        (self.words[4] >> 16) as u8
    }

    /// Sets the notification vector (bits 279:272).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn set_notification_vector(&mut self, vector: u8) {
        self.words[4] = (self.words[4] & !(0xff << 16)) | (u64::from(vector) << 16);
    }

    /// Bits 319:288, the notification destination (NDST): the physical APIC ID of the
    /// CPU to notify (the x2APIC ID, or in xAPIC mode the 8-bit ID in bits 15:8; VT-d
    /// §9.12).
    pub const fn notification_destination(&self) -> u32 {
        (self.words[4] >> 32) as u32
    }

    /// Sets the notification destination (bits 319:288).
    ///
    /// SDM Vol. 3C §30.6, Table 30-1.
    pub fn set_notification_destination(&mut self, destination: u32) {
        self.words[4] = (self.words[4] & 0xffff_ffff) | (u64::from(destination) << 32);
    }

    /// The NDST value for an xAPIC-mode destination: the 8-bit APIC ID in bits 15:8
    /// (VT-d §9.12).
    pub const fn xapic_destination(apic_id: u8) -> u32 {
        (apic_id as u32) << 8
    }

    fn set_word4_bit(&mut self, bit: u32, value: bool) {
        if value {
            self.words[4] |= 1 << bit;
        } else {
            self.words[4] &= !(1 << bit);
        }
    }
}
