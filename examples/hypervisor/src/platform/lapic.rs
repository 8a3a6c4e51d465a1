//! A software xAPIC: the local APIC register set, interrupt acceptance, priorities, EOI,
//! the ICR and the local vector table (Intel SDM Vol. 3A chapter 12, "Advanced Programmable
//! Interrupt Controller (APIC)").

use super::delivery::{DeliveryMode, Destination, Message};
use super::lapic_timer::{ApicTimer, TimerMode};
use super::vectors::VectorSet;
use core::fmt;

/// The default IA32_APIC_BASE physical base, 0xFEE00000 (Intel SDM Vol. 3A §12.4.4).
pub const APIC_DEFAULT_BASE: u64 = 0xFEE0_0000;
/// IA32_APIC_BASE bit 8: this processor is the BSP (Intel SDM Vol. 3A §12.4.4, Figure 12-5).
pub const APIC_BASE_BSP: u64 = 1 << 8;
/// IA32_APIC_BASE bit 10: x2APIC mode enable (Intel SDM Vol. 3A §12.12.1).
pub const APIC_BASE_EXTD: u64 = 1 << 10;
/// IA32_APIC_BASE bit 11: APIC global enable (Intel SDM Vol. 3A §12.4.3).
pub const APIC_BASE_ENABLE: u64 = 1 << 11;
/// The local APIC version register of this model: version 0x14 (an integrated xAPIC),
/// maximum LVT entry 5 (timer, thermal, performance, LINT0, LINT1, error), no EOI-broadcast
/// suppression (Intel SDM Vol. 3A §12.4.8, Figure 12-7).
pub const APIC_VERSION: u32 = 0x0005_0014;

/// ESR bit 5: send illegal vector (Intel SDM Vol. 3A §12.5.3, Figure 12-9).
pub const ESR_SEND_ILLEGAL_VECTOR: u32 = 1 << 5;
/// ESR bit 6: receive illegal vector.
pub const ESR_RECEIVE_ILLEGAL_VECTOR: u32 = 1 << 6;
/// ESR bit 7: illegal register address.
pub const ESR_ILLEGAL_REGISTER: u32 = 1 << 7;

/// The xAPIC register offsets (Intel SDM Vol. 3A §12.4.1, Table 12-1).
pub mod reg {
    /// Local APIC ID.
    pub const ID: u32 = 0x20;
    /// Local APIC version.
    pub const VERSION: u32 = 0x30;
    /// Task priority register.
    pub const TPR: u32 = 0x80;
    /// Arbitration priority register.
    pub const APR: u32 = 0x90;
    /// Processor priority register.
    pub const PPR: u32 = 0xA0;
    /// EOI register.
    pub const EOI: u32 = 0xB0;
    /// Remote read register.
    pub const RRD: u32 = 0xC0;
    /// Logical destination register.
    pub const LDR: u32 = 0xD0;
    /// Destination format register.
    pub const DFR: u32 = 0xE0;
    /// Spurious interrupt vector register.
    pub const SVR: u32 = 0xF0;
    /// In-service register, 8 registers from here.
    pub const ISR: u32 = 0x100;
    /// Trigger mode register, 8 registers from here.
    pub const TMR: u32 = 0x180;
    /// Interrupt request register, 8 registers from here.
    pub const IRR: u32 = 0x200;
    /// Error status register.
    pub const ESR: u32 = 0x280;
    /// Interrupt command register, bits 31:0.
    pub const ICR_LOW: u32 = 0x300;
    /// Interrupt command register, bits 63:32.
    pub const ICR_HIGH: u32 = 0x310;
    /// LVT timer register (the LVT's six entries follow every 0x10 bytes).
    pub const LVT_TIMER: u32 = 0x320;
    /// LVT thermal sensor register.
    pub const LVT_THERMAL: u32 = 0x330;
    /// LVT performance monitoring counters register.
    pub const LVT_PERF: u32 = 0x340;
    /// LVT LINT0 register.
    pub const LVT_LINT0: u32 = 0x350;
    /// LVT LINT1 register.
    pub const LVT_LINT1: u32 = 0x360;
    /// LVT error register.
    pub const LVT_ERROR: u32 = 0x370;
    /// Timer initial count register.
    pub const TIMER_INITIAL: u32 = 0x380;
    /// Timer current count register.
    pub const TIMER_CURRENT: u32 = 0x390;
    /// Timer divide configuration register.
    pub const TIMER_DIVIDE: u32 = 0x3E0;
}

const LVT_MASK: u32 = 1 << 16;
/// Writable bits of each LVT entry, timer first (Intel SDM Vol. 3A §12.5.1, Figure 12-8).
const LVT_WRITABLE: [u32; 6] = [
    0x0007_00FF, // timer: vector, mask, timer mode
    0x0001_07FF, // thermal: vector, delivery mode, mask
    0x0001_07FF, // performance counters
    0x0001_A7FF, // LINT0: vector, delivery mode, polarity, trigger mode, mask
    0x0001_A7FF, // LINT1
    0x0001_00FF, // error: vector, mask
];

/// A local interrupt pin (Intel SDM Vol. 3A §12.5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lint {
    /// LINT0 (ExtINT from the 8259 in the MP table: this platform has no 8259).
    Lint0,
    /// LINT1 (NMI in the MP table).
    Lint1,
}

/// A refused IA32_APIC_BASE write (the guest gets #GP; Intel SDM Vol. 3A §12.4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApicBaseError {
    /// A reserved bit (7:0, 9, or 63:52) is set.
    ReservedBits(u64),
    /// x2APIC mode (bit 10) was requested: this platform offers the xAPIC only.
    X2ApicUnsupported,
    /// The vCPU index names no local APIC.
    NoSuchCpu(usize),
}

impl fmt::Display for ApicBaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApicBaseError::ReservedBits(v) => {
                write!(f, "IA32_APIC_BASE write {v:#x} sets reserved bits")
            }
            ApicBaseError::X2ApicUnsupported => {
                write!(
                    f,
                    "IA32_APIC_BASE write enables x2APIC mode, which is not offered"
                )
            }
            ApicBaseError::NoSuchCpu(cpu) => write!(f, "no local APIC for vCPU {cpu}"),
        }
    }
}

/// What a register write asks of the rest of the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LapicAction {
    /// Nothing.
    None,
    /// An EOI retired this level-triggered vector: the I/O APIC must see the EOI message
    /// (Intel SDM Vol. 3A §12.8.5).
    LevelEoi(u8),
    /// An ICR write sends this interprocessor interrupt (Intel SDM Vol. 3A §12.6.1).
    Ipi(Message),
}

/// One local APIC in xAPIC mode (Intel SDM Vol. 3A chapter 12).
#[derive(Clone, Debug)]
pub struct LocalApic {
    id: u8,
    base: u64,
    tpr: u8,
    ldr: u32,
    dfr: u32,
    svr: u32,
    irr: VectorSet,
    isr: VectorSet,
    tmr: VectorSet,
    esr: u32,
    esr_pending: u32,
    icr_low: u32,
    icr_high: u32,
    lvt: [u32; 6],
    timer: ApicTimer,
    nmi_pending: bool,
}

impl LocalApic {
    /// A local APIC in its power-up state (Intel SDM Vol. 3A §12.4.7.1) with APIC ID `id`,
    /// globally enabled at 0xFEE00000, the BSP flag set when `bsp`.
    pub fn new(id: u8, bsp: bool) -> LocalApic {
        let base = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | if bsp { APIC_BASE_BSP } else { 0 };
        let mut apic = LocalApic {
            id,
            base,
            tpr: 0,
            ldr: 0,
            dfr: 0,
            svr: 0,
            irr: VectorSet::EMPTY,
            isr: VectorSet::EMPTY,
            tmr: VectorSet::EMPTY,
            esr: 0,
            esr_pending: 0,
            icr_low: 0,
            icr_high: 0,
            lvt: [LVT_MASK; 6],
            timer: ApicTimer::default(),
            nmi_pending: false,
        };
        apic.reset();
        apic
    }

    /// INIT: every register returns to its power-up value except the APIC ID
    /// (Intel SDM Vol. 3A §12.4.7.3); IA32_APIC_BASE is kept.
    pub fn reset(&mut self) {
        self.tpr = 0;
        self.ldr = 0;
        self.dfr = 0xFFFF_FFFF;
        self.svr = 0xFF;
        self.irr = VectorSet::EMPTY;
        self.isr = VectorSet::EMPTY;
        self.tmr = VectorSet::EMPTY;
        self.esr = 0;
        self.esr_pending = 0;
        self.icr_low = 0;
        self.icr_high = 0;
        self.lvt = [LVT_MASK; 6];
        self.timer = ApicTimer::default();
        self.nmi_pending = false;
    }

    /// The APIC ID (register 0x20 bits 31:24).
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The logical destination register.
    pub fn ldr(&self) -> u32 {
        self.ldr
    }

    /// The destination format register.
    pub fn dfr(&self) -> u32 {
        self.dfr
    }

    /// IA32_APIC_BASE (Intel SDM Vol. 3A §12.4.4).
    pub fn base_msr(&self) -> u64 {
        self.base
    }

    /// Writes IA32_APIC_BASE. The BSP flag is kept as built. Clearing the global enable bit
    /// turns the APIC off; it comes back in its power-up state (Intel SDM Vol. 3A §12.4.3).
    /// The base address is recorded; where the xAPIC page is mapped is the integrator's.
    pub fn set_base_msr(&mut self, value: u64) -> Result<(), ApicBaseError> {
        let reserved = 0xFF | (1 << 9) | (0xFFF << 52);
        if value & reserved != 0 {
            return Err(ApicBaseError::ReservedBits(value));
        }
        if value & APIC_BASE_EXTD != 0 {
            return Err(ApicBaseError::X2ApicUnsupported);
        }
        if (self.base ^ value) & APIC_BASE_ENABLE != 0 {
            self.reset();
        }
        self.base = (value & !APIC_BASE_BSP) | (self.base & APIC_BASE_BSP);
        Ok(())
    }

    /// Whether IA32_APIC_BASE enables the APIC (Intel SDM Vol. 3A §12.4.3).
    pub fn hardware_enabled(&self) -> bool {
        self.base & APIC_BASE_ENABLE != 0
    }

    /// Whether SVR bit 8 software-enables the APIC (Intel SDM Vol. 3A §12.4.7.2).
    pub fn software_enabled(&self) -> bool {
        self.svr & (1 << 8) != 0
    }

    /// Whether this APIC is the focus processor for `vector` in lowest-priority arbitration:
    /// focus processor checking is on (SVR bit 9 clear) and the vector is requested or in
    /// service (Intel SDM Vol. 3A §12.6.2.4, §12.9).
    pub fn is_focus_for(&self, vector: u8) -> bool {
        self.svr & (1 << 9) == 0 && (self.irr.contains(vector) || self.isr.contains(vector))
    }

    fn enabled(&self) -> bool {
        self.hardware_enabled() && self.software_enabled()
    }

    /// The task priority register.
    pub fn tpr(&self) -> u8 {
        self.tpr
    }

    /// Writes the task priority register (a MOV to CR8 writes `value << 4`).
    pub fn set_tpr(&mut self, tpr: u8) {
        self.tpr = tpr;
    }

    /// The processor priority (Intel SDM Vol. 3A §12.8.3.1): TPR if `TPR[7:4] >= ISRV[7:4]`,
    /// else `ISRV[7:4]:0000b`, ISRV being the highest in-service vector (0 if none).
    pub fn ppr(&self) -> u8 {
        ppr(self.tpr, self.isr.highest().unwrap_or(0))
    }

    /// The arbitration priority (Intel SDM Vol. 3A §12.6.2.4, Figure 12-15).
    pub fn apr(&self) -> u8 {
        apr(
            self.tpr,
            self.isr.highest().unwrap_or(0),
            self.irr.highest().unwrap_or(0),
        )
    }

    /// The IRR.
    pub fn irr(&self) -> &VectorSet {
        &self.irr
    }

    /// The ISR.
    pub fn isr(&self) -> &VectorSet {
        &self.isr
    }

    /// The TMR.
    pub fn tmr(&self) -> &VectorSet {
        &self.tmr
    }

    fn timer_mode(&self) -> Option<TimerMode> {
        TimerMode::decode(self.lvt[0])
    }

    fn signal_error(&mut self, bit: u32) {
        self.esr_pending |= bit;
        let lvt = self.lvt[5];
        let vector = lvt as u8;
        if lvt & LVT_MASK == 0 && self.enabled() {
            if vector >= 16 {
                self.irr.insert(vector);
                self.tmr.remove(vector);
            } else {
                self.esr_pending |= ESR_RECEIVE_ILLEGAL_VECTOR;
            }
        }
    }

    /// Accepts a fixed or lowest-priority interrupt (Intel SDM Vol. 3A §12.8.4): sets its
    /// IRR bit and its TMR bit to `level_triggered`. A hardware- or software-disabled APIC
    /// accepts none (Intel SDM Vol. 3A §12.4.7.2); vectors 0-15 are illegal and set ESR bit
    /// 6 instead (§12.5.3). Returns whether the vector was accepted.
    pub fn accept(&mut self, vector: u8, level_triggered: bool) -> bool {
        if !self.enabled() {
            return false;
        }
        if vector < 16 {
            self.signal_error(ESR_RECEIVE_ILLEGAL_VECTOR);
            return false;
        }
        self.irr.insert(vector);
        self.tmr.set(vector, level_triggered);
        true
    }

    /// Accepts an NMI (also when software-disabled, Intel SDM Vol. 3A §12.4.7.2).
    pub fn accept_nmi(&mut self) {
        if self.hardware_enabled() {
            self.nmi_pending = true;
        }
    }

    /// Takes the pending NMI, if any.
    pub fn take_nmi(&mut self) -> bool {
        core::mem::take(&mut self.nmi_pending)
    }

    /// Whether an NMI is pending.
    pub fn nmi_pending(&self) -> bool {
        self.nmi_pending
    }

    /// The highest IRR vector whose priority class exceeds the PPR's, if the APIC is
    /// enabled (Intel SDM Vol. 3A §12.8.3.1).
    pub fn pending_interrupt(&self) -> Option<u8> {
        if !self.enabled() {
            return None;
        }
        let vector = self.irr.highest()?;
        (vector >> 4 > self.ppr() >> 4).then_some(vector)
    }

    /// The processor took `vector`: its IRR bit moves to the ISR (Intel SDM Vol. 3A
    /// §12.8.4). Nothing happens if it is not requested.
    pub fn acknowledge(&mut self, vector: u8) {
        if self.irr.contains(vector) {
            self.irr.remove(vector);
            self.isr.insert(vector);
        }
    }

    /// An EOI: clears the highest ISR bit; returns the vector when its TMR bit is set
    /// (Intel SDM Vol. 3A §12.8.5).
    pub fn eoi(&mut self) -> Option<u8> {
        let vector = self.isr.highest()?;
        self.isr.remove(vector);
        self.tmr.contains(vector).then_some(vector)
    }

    /// A signal on a local interrupt pin, delivered as its LVT entry says (Intel SDM Vol.
    /// 3A §12.5.1): fixed sets the vector in the IRR, NMI makes an NMI pending; ExtINT (no
    /// 8259 here), SMI and reserved modes and a masked entry deliver nothing.
    pub fn lint(&mut self, pin: Lint) {
        let lvt = match pin {
            Lint::Lint0 => self.lvt[3],
            Lint::Lint1 => self.lvt[4],
        };
        if lvt & LVT_MASK != 0 {
            return;
        }
        match DeliveryMode::decode(lvt >> 8, false) {
            DeliveryMode::Fixed => {
                self.accept(lvt as u8, lvt & (1 << 15) != 0);
            }
            DeliveryMode::Nmi => self.accept_nmi(),
            _ => {}
        }
    }

    /// IA32_TSC_DEADLINE as the guest reads it (Intel SDM Vol. 3A §12.5.4.1).
    pub fn tsc_deadline(&self) -> u64 {
        self.timer.deadline(self.timer_mode())
    }

    /// Writes IA32_TSC_DEADLINE at TSC `now` (ignored unless the LVT timer is in
    /// TSC-deadline mode; a deadline already passed fires at once).
    pub fn set_tsc_deadline(&mut self, tsc: u64, now: u64) {
        self.timer.set_deadline(self.timer_mode(), tsc);
        self.update(now);
    }

    /// The TSC at which the timer next fires, if armed.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timer.next_fire(self.timer_mode())
    }

    /// Runs the timer up to `now`: an expiry sets the LVT timer vector in the IRR unless
    /// the entry is masked (Intel SDM Vol. 3A §12.5.4).
    pub fn update(&mut self, now: u64) {
        let mode = self.timer_mode();
        if self.timer.expire(mode, now) {
            let lvt = self.lvt[0];
            if lvt & LVT_MASK == 0 {
                self.accept(lvt as u8, false);
            }
        }
    }

    /// Reads the register at xAPIC offset `offset` at TSC `now` (Intel SDM Vol. 3A §12.4.1,
    /// Table 12-1). Write-only and reserved registers read 0; a reserved offset sets ESR
    /// bit 7. Offsets not 16-byte aligned read 0.
    pub fn read(&mut self, offset: u32, now: u64) -> u32 {
        if offset & 0xF != 0 {
            return 0;
        }
        match offset {
            reg::ID => u32::from(self.id) << 24,
            reg::VERSION => APIC_VERSION,
            reg::TPR => u32::from(self.tpr),
            reg::APR => u32::from(self.apr()),
            reg::PPR => u32::from(self.ppr()),
            reg::EOI | reg::RRD => 0,
            reg::LDR => self.ldr,
            reg::DFR => self.dfr,
            reg::SVR => self.svr,
            0x100..=0x170 => self.isr.register(((offset - reg::ISR) >> 4) as usize),
            0x180..=0x1F0 => self.tmr.register(((offset - reg::TMR) >> 4) as usize),
            0x200..=0x270 => self.irr.register(((offset - reg::IRR) >> 4) as usize),
            reg::ESR => self.esr,
            reg::ICR_LOW => self.icr_low,
            reg::ICR_HIGH => self.icr_high,
            0x320..=0x370 => self.lvt[((offset - reg::LVT_TIMER) >> 4) as usize],
            reg::TIMER_INITIAL => self.timer.initial,
            reg::TIMER_CURRENT => self.timer.current_count(self.timer_mode(), now),
            reg::TIMER_DIVIDE => self.timer.divide,
            _ => {
                self.signal_error(ESR_ILLEGAL_REGISTER);
                0
            }
        }
    }

    /// Writes the register at xAPIC offset `offset` at TSC `now` (Intel SDM Vol. 3A
    /// §12.4.1, Table 12-1). Read-only registers ignore writes; a reserved offset sets ESR
    /// bit 7; offsets not 16-byte aligned are ignored.
    pub fn write(&mut self, offset: u32, value: u32, now: u64) -> LapicAction {
        if offset & 0xF != 0 {
            return LapicAction::None;
        }
        match offset {
            reg::ID => self.id = (value >> 24) as u8,
            reg::TPR => self.tpr = value as u8,
            reg::EOI => {
                if let Some(vector) = self.eoi() {
                    return LapicAction::LevelEoi(vector);
                }
            }
            reg::LDR => self.ldr = value & 0xFF00_0000,
            reg::DFR => self.dfr = value | 0x0FFF_FFFF,
            reg::SVR => {
                self.svr = value & 0x3FF;
                if !self.software_enabled() {
                    for lvt in &mut self.lvt {
                        *lvt |= LVT_MASK;
                    }
                }
            }
            reg::ESR => self.esr = core::mem::take(&mut self.esr_pending),
            reg::ICR_LOW => {
                self.icr_low = value & 0x000C_CFFF;
                return self.send_ipi();
            }
            reg::ICR_HIGH => self.icr_high = value & 0xFF00_0000,
            0x320..=0x370 => {
                let index = ((offset - reg::LVT_TIMER) >> 4) as usize;
                let old_mode = self.timer_mode();
                let mut new =
                    (value & LVT_WRITABLE[index]) | (self.lvt[index] & !LVT_WRITABLE[index]);
                if index == 0 && TimerMode::decode(new).is_none() {
                    // 11b is reserved: keep the previous mode.
                    new = (new & !(3 << 17)) | (self.lvt[0] & (3 << 17));
                }
                if !self.software_enabled() {
                    new |= LVT_MASK;
                }
                self.lvt[index] = new;
                if index == 0 {
                    self.timer.mode_changed(old_mode, self.timer_mode());
                }
            }
            reg::TIMER_INITIAL => self.timer.write_initial(self.timer_mode(), value, now),
            reg::TIMER_DIVIDE => self.timer.write_divide(self.timer_mode(), value, now),
            reg::VERSION | reg::APR | reg::PPR | reg::RRD | reg::TIMER_CURRENT => {}
            0x100..=0x270 => {}
            _ => self.signal_error(ESR_ILLEGAL_REGISTER),
        }
        LapicAction::None
    }

    /// Decodes the ICR into a message (Intel SDM Vol. 3A §12.6.1). The delivery-status bit
    /// always reads idle: the message is delivered before the write returns.
    fn send_ipi(&mut self) -> LapicAction {
        let low = self.icr_low;
        let vector = low as u8;
        let mode = DeliveryMode::decode(low >> 8, false);
        let assert = low & (1 << 14) != 0;
        let level_triggered = low & (1 << 15) != 0;
        let dest = (self.icr_high >> 24) as u8;
        let destination = match (low >> 18) & 3 {
            0 if low & (1 << 11) != 0 => Destination::Logical(dest),
            0 => Destination::Physical(dest),
            1 => Destination::SelfOnly,
            2 => Destination::AllIncludingSelf,
            _ => Destination::AllExcludingSelf,
        };
        match mode {
            DeliveryMode::Fixed | DeliveryMode::LowestPriority if vector < 16 => {
                self.signal_error(ESR_SEND_ILLEGAL_VECTOR);
                LapicAction::None
            }
            // INIT level de-assert only synchronizes arbitration IDs.
            DeliveryMode::Init if level_triggered && !assert => LapicAction::None,
            _ => LapicAction::Ipi(Message {
                vector,
                mode,
                destination,
                level_triggered,
                assert,
            }),
        }
    }
}

/// PPR from TPR and the highest in-service vector (Intel SDM Vol. 3A §12.8.3.1).
pub fn ppr(tpr: u8, isrv: u8) -> u8 {
    if tpr >> 4 >= isrv >> 4 {
        tpr
    } else {
        isrv & 0xF0
    }
}

/// APR from TPR and the highest in-service and requested vectors (Intel SDM Vol. 3A
/// §12.6.2.4, Figure 12-15).
pub fn apr(tpr: u8, isrv: u8, irrv: u8) -> u8 {
    if tpr >> 4 >= irrv >> 4 && tpr >> 4 > isrv >> 4 {
        tpr
    } else {
        (tpr & 0xF0).max(isrv & 0xF0).max(irrv & 0xF0)
    }
}
