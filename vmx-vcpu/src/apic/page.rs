//! The virtual-APIC page: a 4-KByte page holding the virtual APIC's registers at the
//! offsets of the local APIC's xAPIC register page (SDM Vol. 3C §30.1 "Virtual APIC
//! State"; offsets from Vol. 3A §11.4.1 Table 11-1 "Local APIC Register Address Map").
//!
//! [`ApicRegisters`] is the access to such a page: the vCPU implements it with volatile
//! reads and writes of its own page, host tests with [`VirtualApicPage`], a plain array.
//! The 256-bit registers (VIRR, VISR, VTMR) are eight 32-bit words 16 bytes apart
//! ([`VectorRegister`]).

/// Size of the virtual-APIC page and of the APIC-access page (SDM Vol. 3C §30.1, §30.4).
pub const PAGE_SIZE: usize = 4096;

/// Offset of the virtual APIC ID register (VAPIC_ID; SDM Vol. 3A Table 11-1).
pub const ID: u16 = 0x020;
/// Offset of the virtual APIC version register (SDM Vol. 3A Table 11-1).
pub const VERSION: u16 = 0x030;
/// Offset of the virtual task-priority register VTPR (SDM Vol. 3C §30.1.1).
pub const TPR: u16 = 0x080;
/// Offset of the virtual arbitration-priority register (SDM Vol. 3A Table 11-1).
pub const APR: u16 = 0x090;
/// Offset of the virtual processor-priority register VPPR (SDM Vol. 3C §30.1.2).
pub const PPR: u16 = 0x0A0;
/// Offset of the virtual EOI register VEOI (SDM Vol. 3C §30.1.3).
pub const EOI: u16 = 0x0B0;
/// Offset of the remote-read register (SDM Vol. 3A Table 11-1).
pub const RRD: u16 = 0x0C0;
/// Offset of the virtual logical destination register (SDM Vol. 3A Table 11-1).
pub const LDR: u16 = 0x0D0;
/// Offset of the virtual destination format register (SDM Vol. 3A Table 11-1).
pub const DFR: u16 = 0x0E0;
/// Offset of the virtual spurious-interrupt vector register (SDM Vol. 3A Table 11-1).
pub const SVR: u16 = 0x0F0;
/// Offset of the virtual in-service register VISR, bits 31:0 (SDM Vol. 3C §30.1.4).
pub const ISR: u16 = 0x100;
/// Offset of the virtual trigger-mode register VTMR, bits 31:0 (SDM Vol. 3A Table 11-1).
pub const TMR: u16 = 0x180;
/// Offset of the virtual interrupt-request register VIRR, bits 31:0 (SDM Vol. 3C §30.1.5).
pub const IRR: u16 = 0x200;
/// Offset of the virtual error-status register (SDM Vol. 3A Table 11-1).
pub const ESR: u16 = 0x280;
/// Offset of the virtual LVT CMCI register (SDM Vol. 3A Table 11-1).
pub const LVT_CMCI: u16 = 0x2F0;
/// Offset of the virtual interrupt-command register, bits 31:0 VICR_LO (SDM Vol. 3C
/// §30.1.6).
pub const ICR_LO: u16 = 0x300;
/// Offset of the virtual interrupt-command register, bits 63:32 VICR_HI (SDM Vol. 3C
/// §30.1.6).
pub const ICR_HI: u16 = 0x310;
/// Offset of the virtual LVT timer register (SDM Vol. 3A Table 11-1).
pub const LVT_TIMER: u16 = 0x320;
/// Offset of the virtual LVT thermal-sensor register (SDM Vol. 3A Table 11-1).
pub const LVT_THERMAL: u16 = 0x330;
/// Offset of the virtual LVT performance-monitoring register (SDM Vol. 3A Table 11-1).
pub const LVT_PERFMON: u16 = 0x340;
/// Offset of the virtual LVT LINT0 register (SDM Vol. 3A Table 11-1).
pub const LVT_LINT0: u16 = 0x350;
/// Offset of the virtual LVT LINT1 register (SDM Vol. 3A Table 11-1).
pub const LVT_LINT1: u16 = 0x360;
/// Offset of the virtual LVT error register (SDM Vol. 3A Table 11-1).
pub const LVT_ERROR: u16 = 0x370;
/// Offset of the virtual timer initial-count register (SDM Vol. 3A Table 11-1).
pub const TIMER_INITIAL_COUNT: u16 = 0x380;
/// Offset of the virtual timer current-count register (SDM Vol. 3A Table 11-1).
pub const TIMER_CURRENT_COUNT: u16 = 0x390;
/// Offset of the virtual timer divide-configuration register (SDM Vol. 3A Table 11-1).
pub const TIMER_DIVIDE_CONFIG: u16 = 0x3E0;
/// Offset of the virtual SELF IPI register (x2APIC MSR 83FH; SDM Vol. 3C §30.1.7).
pub const SELF_IPI: u16 = 0x3F0;

/// A 256-bit register of the virtual APIC (one bit per vector): VISR, VTMR or VIRR. Bit
/// `v` is bit `v & 31` of the 32-bit word at offset `base + 16 * (v >> 5)` (SDM Vol. 3C
/// §30.1.4, §30.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VectorRegister {
    /// VISR (offset 100H).
    Isr,
    /// VTMR (offset 180H).
    Tmr,
    /// VIRR (offset 200H).
    Irr,
}

impl VectorRegister {
    /// Offset of the word holding bits 31:0.
    pub const fn base(self) -> u16 {
        match self {
            Self::Isr => ISR,
            Self::Tmr => TMR,
            Self::Irr => IRR,
        }
    }

    /// Offset of the word holding `vector`'s bit, and the bit's mask in it.
    pub const fn locate(self, vector: u8) -> (u16, u32) {
        (self.base() + 16 * (vector as u16 >> 5), 1 << (vector & 31))
    }
}

/// Access to the 32-bit registers of a virtual-APIC page (SDM Vol. 3C §30.1). `offset`
/// is a byte offset in the page; implementations read and write the aligned 32-bit word
/// holding it (bits 1:0 ignored, offsets past the page wrap into it), so every call is
/// total.
pub trait ApicRegisters {
    /// The 32-bit word at `offset & 0xFFC`.
    fn read(&self, offset: u16) -> u32;
    /// Writes the 32-bit word at `offset & 0xFFC`.
    fn write(&mut self, offset: u16, value: u32);

    /// Whether `vector`'s bit is set in `reg`.
    fn bit(&self, reg: VectorRegister, vector: u8) -> bool {
        let (off, mask) = reg.locate(vector);
        self.read(off) & mask != 0
    }

    /// Sets or clears `vector`'s bit in `reg`.
    fn set_bit(&mut self, reg: VectorRegister, vector: u8, on: bool) {
        let (off, mask) = reg.locate(vector);
        let v = self.read(off);
        self.write(off, if on { v | mask } else { v & !mask });
    }

    /// The highest vector whose bit is set in `reg`, `None` when none is (the "highest
    /// index of a bit set" of SDM Vol. 3C §30.1.4-§30.1.5, §30.2.2).
    fn highest(&self, reg: VectorRegister) -> Option<u8> {
        (0..8u16).rev().find_map(|i| {
            let w = self.read(reg.base() + 16 * i);
            (w != 0).then(|| (i * 32 + 31 - w.leading_zeros() as u16) as u8)
        })
    }
}

/// A virtual-APIC page in ordinary memory, as 1024 32-bit words: the host-side stand-in
/// for the vCPU's page (SDM Vol. 3C §30.1), used by the model and by tests.
#[derive(Clone, PartialEq, Eq)]
pub struct VirtualApicPage(pub [u32; PAGE_SIZE / 4]);

impl VirtualApicPage {
    /// An all-zero page (the state of a freshly allocated virtual-APIC page).
    pub const fn new() -> Self {
        Self([0; PAGE_SIZE / 4])
    }
}

impl Default for VirtualApicPage {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for VirtualApicPage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VirtualApicPage")
            .field("tpr", &self.read(TPR))
            .field("ppr", &self.read(PPR))
            .finish_non_exhaustive()
    }
}

impl ApicRegisters for VirtualApicPage {
    fn read(&self, offset: u16) -> u32 {
        self.0[usize::from(offset & 0xFFC) / 4]
    }

    fn write(&mut self, offset: u16, value: u32) {
        self.0[usize::from(offset & 0xFFC) / 4] = value;
    }
}

/// Whether a guest read of `size` bytes at `offset` in the APIC-access page is satisfied
/// from the virtual-APIC page instead of causing an APIC-access VM exit (SDM Vol. 3C
/// §30.4.2 "Virtualizing Reads from the APIC-Access Page"), with "use TPR shadow" = 1:
///
/// - the access must lie within bits 31:0 of a 16-byte-aligned register (`offset & 0xF` +
///   `size` ≤ 4), else it exits;
/// - without APIC-register virtualization only the VTPR (080H) is read;
/// - with it, the registers the processor keeps in the page: ID, version, TPR, APR (sic:
///   read as 0 where unsupported), PPR, EOI, LDR, DFR, SVR, ISR, TMR, IRR, ESR, LVT CMCI,
///   ICR, the other LVT entries, the timer initial count and divide configuration. The
///   timer current count (390H), remote read (0C0H) and the unused offsets exit. Total.
pub const fn read_is_virtualized(offset: u16, size: u8, register_virtualization: bool) -> bool {
    let within = (offset & 0xF) as u32 + size as u32;
    if size == 0 || within > 4 || offset >= PAGE_SIZE as u16 {
        return false;
    }
    let reg = offset & 0xFF0;
    if !register_virtualization {
        return reg == TPR;
    }
    matches!(
        reg,
        ID | VERSION
            | TPR
            | APR
            | PPR
            | EOI
            | LDR
            | DFR
            | SVR
            | 0x100..=0x170
            | 0x180..=0x1F0
            | 0x200..=0x270
            | ESR
            | LVT_CMCI
            | ICR_LO
            | ICR_HI
            | LVT_TIMER
            | LVT_THERMAL
            | LVT_PERFMON
            | LVT_LINT0
            | LVT_LINT1
            | LVT_ERROR
            | TIMER_INITIAL_COUNT
            | TIMER_DIVIDE_CONFIG
    )
}

/// The x2APIC MSR (800H-8FFH) of the register at `offset` in the xAPIC page: 800H +
/// offset / 16 (SDM Vol. 3A §11.12.1.2 Table 11-6; Vol. 3C §30.5 for the virtual-APIC
/// page being indexed the same way in x2APIC mode).
pub const fn x2apic_msr(offset: u16) -> u32 {
    0x800 + (offset as u32 & 0xFF0) / 16
}

/// The offset in the virtual-APIC page of x2APIC MSR `msr` (800H-8FFH), `None` outside
/// the range (SDM Vol. 3C §30.5). Total.
pub const fn x2apic_offset(msr: u32) -> Option<u16> {
    if msr >= 0x800 && msr <= 0x8FF {
        Some(((msr - 0x800) * 16) as u16)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn offsets_match_table_11_1() {
        assert_eq!(VectorRegister::Isr.locate(0), (0x100, 1));
        assert_eq!(VectorRegister::Irr.locate(0x31), (0x210, 1 << 17));
        assert_eq!(VectorRegister::Tmr.locate(0xFF), (0x1F0, 1 << 31));
        assert_eq!(x2apic_msr(TPR), 0x808);
        assert_eq!(x2apic_msr(EOI), 0x80B);
        assert_eq!(x2apic_msr(SELF_IPI), 0x83F);
        assert_eq!(x2apic_offset(0x830), Some(ICR_LO));
        assert_eq!(x2apic_offset(0x7FF), None);
        assert_eq!(x2apic_offset(0x900), None);
    }

    #[test]
    fn reads_virtualized_as_listed() {
        assert!(read_is_virtualized(TPR, 4, false));
        assert!(!read_is_virtualized(PPR, 4, false));
        assert!(read_is_virtualized(PPR, 4, true));
        assert!(read_is_virtualized(0x212, 2, true));
        assert!(!read_is_virtualized(0x213, 2, true), "crosses bit 31");
        assert!(
            !read_is_virtualized(TPR + 4, 4, true),
            "bits 63:32 of the register"
        );
        assert!(!read_is_virtualized(TIMER_CURRENT_COUNT, 4, true));
        assert!(!read_is_virtualized(RRD, 4, true));
        assert!(!read_is_virtualized(SELF_IPI, 4, true));
        assert!(!read_is_virtualized(TPR, 0, true));
    }

    proptest! {
        #[test]
        fn bits_round_trip(ops in proptest::collection::vec((0u8..3, any::<u8>(), any::<bool>()), 0..64)) {
            let mut page = VirtualApicPage::new();
            let mut model = [[false; 256]; 3];
            let regs = [VectorRegister::Isr, VectorRegister::Tmr, VectorRegister::Irr];
            for (r, v, on) in ops {
                page.set_bit(regs[r as usize], v, on);
                model[r as usize][v as usize] = on;
            }
            for (i, reg) in regs.iter().enumerate() {
                for v in 0..=255u8 {
                    prop_assert_eq!(page.bit(*reg, v), model[i][v as usize]);
                }
                let highest = (0..=255u8).rev().find(|v| model[i][*v as usize]);
                prop_assert_eq!(page.highest(*reg), highest);
            }
        }

        #[test]
        fn offset_translation_total(msr in any::<u32>(), offset in any::<u16>(), size in any::<u8>(), rv in any::<bool>()) {
            if let Some(off) = x2apic_offset(msr) {
                prop_assert_eq!(x2apic_msr(off), msr);
            }
            let _ = read_is_virtualized(offset, size, rv);
            let mut page = VirtualApicPage::new();
            page.write(offset, 7);
            prop_assert_eq!(page.read(offset), 7);
        }
    }
}
