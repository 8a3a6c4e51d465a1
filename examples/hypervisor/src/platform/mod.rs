//! The platform the Linux guest owns: every device it can reach through ports and the two
//! APIC MMIO windows, as pure models driven by the run loop (issue 12, part D).
//!
//! | file | device |
//! |---|---|
//! | [`lapic`] (+ [`lapic_timer`], [`vectors`]) | one xAPIC per vCPU (Intel SDM Vol. 3A ch. 12) |
//! | [`ioapic`] | the 24-pin I/O APIC at 0xFEC00000 |
//! | [`delivery`] | interrupt messages, destinations, logical matching |
//! | [`pit`] | the 8254 at 0x40-0x43 and port 0x61 |
//! | [`uart`] | the 16550A on COM1 (0x3F8, IRQ 4) |
//! | [`cmos`] | the MC146818 RTC and CMOS RAM at 0x70/0x71 |
//! | [`pci`] | configuration mechanism #1 with no devices (0xCF8/0xCFC) |
//! | [`reset`] | 0x64 pulse reset, 0xCF9, 0x92; no i8042 |
//!
//! There is no 8259 PIC: its ports are unmodelled like every other port, which read all
//! ones and ignore writes (what an ISA bus with nothing on it gives) and are counted in
//! [`Platform::unknown_port_accesses`].
//!
//! Interrupt routing follows the MP table of `linux::mptable`: ISA IRQ n reaches I/O APIC
//! pin n, except IRQ 0 (PIT channel 0), which reaches pin 2; the I/O APIC's messages reach
//! the local APICs by physical or logical destination (Intel SDM Vol. 3A §12.6.2).
//!
//! Injection contract: [`Platform::pending_interrupt`] is the vector to inject into a vCPU;
//! after a successful injection the run loop calls [`Platform::acknowledge`]; the guest's
//! EOI arrives as a [`Platform::lapic_write`] to offset 0xB0.

pub mod cmos;
pub mod delivery;
pub mod ioapic;
pub mod lapic;
pub mod lapic_timer;
pub mod pci;
pub mod pit;
pub mod reset;
pub mod uart;
pub mod vectors;

#[cfg(test)]
mod lapic_tests;
#[cfg(test)]
mod pit_tests;
#[cfg(test)]
mod platform_tests;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use cmos::Cmos;
use delivery::{DeliveryMode, Destination, Message, logical_match};
use ioapic::IoApic;
use lapic::{ApicBaseError, LapicAction, Lint, LocalApic};
use pci::PciHost;
use pit::Pit;
use reset::ResetControl;
use uart::Uart16550;

pub use reset::PowerEvent;

/// What the platform is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformConfig {
    /// Number of vCPUs (APIC IDs 0..vcpus, BSP 0); clamped to 1..=15 (the I/O APIC, ID
    /// `vcpus`, has a 4-bit ID).
    pub vcpus: u32,
    /// The TSC frequency in kHz (drives the PIT and the RTC).
    pub tsc_khz: u64,
}

/// Something a vCPU must do after an interrupt message reached its local APIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CpuEffect {
    /// INIT (Intel SDM Vol. 3A §12.6.1): the vCPU enters wait-for-SIPI; its local APIC has
    /// already been reset.
    Init {
        /// The vCPU index.
        cpu: usize,
    },
    /// A start-up IPI: the vCPU (in wait-for-SIPI) starts in real mode at
    /// `vector << 12` (Intel SDM Vol. 3A §9.4.4).
    Startup {
        /// The vCPU index.
        cpu: usize,
        /// The start page.
        vector: u8,
    },
    /// An NMI was made pending on this vCPU: wake it; the NMI itself is taken with
    /// [`Platform::take_nmi`] (so it is never injected twice).
    Nmi {
        /// The vCPU index.
        cpu: usize,
    },
}

/// The whole emulated machine apart from RAM and the vCPUs.
#[derive(Clone, Debug)]
pub struct Platform {
    lapics: Vec<LocalApic>,
    ioapic: IoApic,
    uart: Uart16550,
    uart_line: bool,
    pit: Pit,
    cmos: Cmos,
    pci: PciHost,
    reset: ResetControl,
    unknown: BTreeMap<u16, u64>,
}

fn access_bytes(size: u8) -> u16 {
    match size {
        1 => 1,
        2 => 2,
        _ => 4,
    }
}

fn size_mask(size: u8) -> u32 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}

/// The I/O APIC pin of ISA IRQ `irq` (MP table: IRQ 0 on pin 2, the others identity).
pub fn isa_irq_pin(irq: u8) -> usize {
    if irq == 0 { 2 } else { usize::from(irq) }
}

impl Platform {
    /// The platform in its reset state.
    pub fn new(cfg: PlatformConfig) -> Platform {
        let vcpus = cfg.vcpus.clamp(1, 15) as u8;
        Platform {
            lapics: (0..vcpus).map(|id| LocalApic::new(id, id == 0)).collect(),
            ioapic: IoApic::new(vcpus),
            uart: Uart16550::new(),
            uart_line: false,
            pit: Pit::new(cfg.tsc_khz),
            cmos: Cmos::new(cfg.tsc_khz),
            pci: PciHost::default(),
            reset: ResetControl::default(),
            unknown: BTreeMap::new(),
        }
    }

    /// Number of vCPUs (local APICs).
    pub fn vcpus(&self) -> usize {
        self.lapics.len()
    }

    /// The local APIC of vCPU `cpu`.
    pub fn lapic(&self, cpu: usize) -> Option<&LocalApic> {
        self.lapics.get(cpu)
    }

    /// The I/O APIC.
    pub fn ioapic(&self) -> &IoApic {
        &self.ioapic
    }

    /// Unmodelled ports the guest read or wrote, with the number of accesses (keyed by the
    /// first port of each access).
    pub fn unknown_port_accesses(&self) -> &BTreeMap<u16, u64> {
        &self.unknown
    }

    fn byte_claimed(port: u16) -> bool {
        matches!(port, 0x40..=0x43 | 0x61 | 0x70 | 0x71 | 0x3F8..=0x3FF)
            || ResetControl::claims(port, 1)
    }

    fn read_byte(&mut self, port: u16, now: u64) -> u8 {
        match port {
            0x40..=0x43 | 0x61 => self.pit.read(port, now),
            0x70 | 0x71 => self.cmos.read(port, now),
            0x3F8..=0x3FF => {
                let v = self.uart.read(port - 0x3F8);
                self.sync_uart_irq();
                v
            }
            _ if ResetControl::claims(port, 1) => self.reset.read(port),
            _ => 0xFF,
        }
    }

    fn write_byte(&mut self, port: u16, value: u8, now: u64) -> Option<PowerEvent> {
        match port {
            0x40..=0x43 | 0x61 => self.pit.write(port, value, now),
            0x70 | 0x71 => self.cmos.write(port, value, now),
            0x3F8..=0x3FF => {
                self.uart.write(port - 0x3F8, value);
                self.sync_uart_irq();
            }
            _ if ResetControl::claims(port, 1) => return self.reset.write(port, value),
            _ => {}
        }
        None
    }

    fn count_unknown(&mut self, port: u16, size: u8) {
        let claimed = PciHost::claims(port, size)
            || (0..access_bytes(size)).any(|i| Self::byte_claimed(port.wrapping_add(i)));
        if !claimed {
            *self.unknown.entry(port).or_insert(0) += 1;
        }
    }

    /// An IN of `size` bytes (1, 2 or 4; anything else is taken as 4) from `port` at TSC
    /// `now`. Wider accesses to byte-wide devices are split into byte accesses at
    /// consecutive ports, as the ISA bus does.
    pub fn io_read(&mut self, port: u16, size: u8, now: u64) -> u32 {
        self.count_unknown(port, size);
        if PciHost::claims(port, size) {
            // CONFIG_ADDRESS reads back; CONFIG_DATA reads all ones (no device).
            return self.pci.read(port) & size_mask(size);
        }
        let mut value = 0u32;
        for i in 0..access_bytes(size) {
            value |= u32::from(self.read_byte(port.wrapping_add(i), now)) << (8 * i);
        }
        value
    }

    /// An OUT of `size` bytes (1, 2 or 4; anything else is taken as 4) of `value` to `port`
    /// at TSC `now`; returns a power event if the write resets the machine.
    pub fn io_write(&mut self, port: u16, size: u8, value: u32, now: u64) -> Option<PowerEvent> {
        self.count_unknown(port, size);
        if PciHost::claims(port, size) {
            self.pci.write(port, value & size_mask(size));
            return None;
        }
        let mut event = None;
        for i in 0..access_bytes(size) {
            let byte = (value >> (8 * i)) as u8;
            event = event.or(self.write_byte(port.wrapping_add(i), byte, now));
        }
        event
    }

    fn sync_uart_irq(&mut self) {
        let line = self.uart.irq_line();
        if line != self.uart_line {
            self.uart_line = line;
            self.set_isa_irq(uart::COM1_IRQ, line);
        }
    }

    /// Sets the level of ISA IRQ line `irq` (0-15) as the I/O APIC sees it (through the MP
    /// table's routing); returns the effects of the message this may send.
    pub fn set_isa_irq(&mut self, irq: u8, high: bool) -> Vec<CpuEffect> {
        match self.ioapic.set_line(isa_irq_pin(irq), high) {
            Some(message) => self.deliver(message, None),
            None => Vec::new(),
        }
    }

    /// Signals local interrupt pin `pin` of vCPU `cpu` (delivered as its LVT entry says).
    pub fn raise_lint(&mut self, cpu: usize, pin: Lint) {
        if let Some(apic) = self.lapics.get_mut(cpu) {
            apic.lint(pin);
        }
    }

    fn targets(&self, destination: Destination, source: Option<usize>) -> Vec<usize> {
        let all = 0..self.lapics.len();
        let on = |i: &usize| self.lapics[*i].hardware_enabled();
        match destination {
            Destination::Physical(0xFF) | Destination::AllIncludingSelf => all.filter(on).collect(),
            Destination::Physical(id) => all
                .filter(|i| self.lapics[*i].id() == id)
                .filter(on)
                .collect(),
            Destination::Logical(mda) => all
                .filter(|i| logical_match(self.lapics[*i].ldr(), self.lapics[*i].dfr(), mda))
                .filter(on)
                .collect(),
            Destination::SelfOnly => source.into_iter().filter(on).collect(),
            Destination::AllExcludingSelf => {
                all.filter(|i| Some(*i) != source).filter(on).collect()
            }
        }
    }

    /// Delivers an interrupt message from the I/O APIC (`source` None) or from the local
    /// APIC of vCPU `source` (Intel SDM Vol. 3A §12.6). Lowest-priority messages go to the
    /// software-enabled target that is the focus processor for the vector (it has the vector
    /// requested or in service, with focus checking on) or else to the one with the lowest
    /// arbitration priority, the lowest index on a tie (§12.6.2.4).
    fn deliver(&mut self, message: Message, source: Option<usize>) -> Vec<CpuEffect> {
        let targets = self.targets(message.destination, source);
        let mut effects = Vec::new();
        match message.mode {
            DeliveryMode::Fixed => {
                for cpu in targets {
                    self.lapics[cpu].accept(message.vector, message.level_triggered);
                }
            }
            DeliveryMode::LowestPriority => {
                let enabled: Vec<usize> = targets
                    .into_iter()
                    .filter(|&c| self.lapics[c].software_enabled())
                    .collect();
                let focus = enabled
                    .iter()
                    .copied()
                    .find(|&c| self.lapics[c].is_focus_for(message.vector));
                let chosen = focus.or_else(|| {
                    enabled
                        .into_iter()
                        .min_by_key(|&c| (self.lapics[c].apr(), c))
                });
                if let Some(cpu) = chosen {
                    self.lapics[cpu].accept(message.vector, message.level_triggered);
                }
            }
            DeliveryMode::Nmi => {
                for cpu in targets {
                    self.lapics[cpu].accept_nmi();
                    effects.push(CpuEffect::Nmi { cpu });
                }
            }
            DeliveryMode::Init => {
                for cpu in targets {
                    self.lapics[cpu].reset();
                    effects.push(CpuEffect::Init { cpu });
                }
            }
            DeliveryMode::StartUp => {
                for cpu in targets {
                    effects.push(CpuEffect::Startup {
                        cpu,
                        vector: message.vector,
                    });
                }
            }
            _ => {}
        }
        effects
    }

    fn level_eoi(&mut self, vector: u8) -> Vec<CpuEffect> {
        let mut effects = Vec::new();
        for message in self.ioapic.eoi(vector) {
            effects.extend(self.deliver(message, None));
        }
        effects
    }

    /// Reads the xAPIC register at `offset` of vCPU `cpu` at TSC `now`; all ones for a vCPU
    /// that does not exist or whose APIC is globally disabled.
    pub fn lapic_read(&mut self, cpu: usize, offset: u32, now: u64) -> u32 {
        match self.lapics.get_mut(cpu) {
            Some(apic) if apic.hardware_enabled() => {
                apic.update(now);
                apic.read(offset, now)
            }
            _ => 0xFFFF_FFFF,
        }
    }

    /// Writes the xAPIC register at `offset` of vCPU `cpu` at TSC `now`; returns what the
    /// other vCPUs must do (an ICR write may send INIT, SIPI or NMI).
    pub fn lapic_write(&mut self, cpu: usize, offset: u32, value: u32, now: u64) -> Vec<CpuEffect> {
        let action = match self.lapics.get_mut(cpu) {
            Some(apic) if apic.hardware_enabled() => {
                apic.update(now);
                apic.write(offset, value, now)
            }
            _ => return Vec::new(),
        };
        match action {
            LapicAction::LevelEoi(vector) => self.level_eoi(vector),
            LapicAction::Ipi(message) => self.deliver(message, Some(cpu)),
            _ => Vec::new(),
        }
    }

    /// Reads the I/O APIC MMIO window at `offset` (0x00 IOREGSEL, 0x10 IOWIN).
    pub fn ioapic_read(&mut self, offset: u32) -> u32 {
        self.ioapic.mmio_read(offset)
    }

    /// Writes the I/O APIC MMIO window at `offset`; returns the effects of a message the
    /// write releases.
    pub fn ioapic_write(&mut self, offset: u32, value: u32) -> Vec<CpuEffect> {
        match self.ioapic.mmio_write(offset, value) {
            Some(message) => self.deliver(message, None),
            None => Vec::new(),
        }
    }

    /// Writes IA32_TSC_DEADLINE of vCPU `cpu` at TSC `now`.
    pub fn set_tsc_deadline(&mut self, cpu: usize, tsc: u64, now: u64) {
        if let Some(apic) = self.lapics.get_mut(cpu) {
            apic.set_tsc_deadline(tsc, now);
        }
    }

    /// IA32_TSC_DEADLINE of vCPU `cpu` (0 if absent).
    pub fn tsc_deadline(&self, cpu: usize) -> u64 {
        self.lapics.get(cpu).map_or(0, LocalApic::tsc_deadline)
    }

    /// IA32_APIC_BASE of vCPU `cpu` (0 if absent).
    pub fn apic_base_msr(&self, cpu: usize) -> u64 {
        self.lapics.get(cpu).map_or(0, LocalApic::base_msr)
    }

    /// Writes IA32_APIC_BASE of vCPU `cpu`; an error means #GP for the guest.
    pub fn set_apic_base_msr(&mut self, cpu: usize, value: u64) -> Result<(), ApicBaseError> {
        match self.lapics.get_mut(cpu) {
            Some(apic) => apic.set_base_msr(value),
            None => Err(ApicBaseError::NoSuchCpu(cpu)),
        }
    }

    /// Sets the TPR of vCPU `cpu` (the full 8-bit TPR; CR8 is `TPR[7:4]`).
    pub fn set_tpr(&mut self, cpu: usize, tpr: u8) {
        if let Some(apic) = self.lapics.get_mut(cpu) {
            apic.set_tpr(tpr);
        }
    }

    /// The TPR of vCPU `cpu` (0 if absent).
    pub fn tpr(&self, cpu: usize) -> u8 {
        self.lapics.get(cpu).map_or(0, LocalApic::tpr)
    }

    /// Runs every timer up to TSC `now`: local APIC timers set their vectors, PIT channel 0
    /// rising edges pulse ISA IRQ 0 (several missed edges coalesce into one).
    pub fn update(&mut self, now: u64) {
        for apic in &mut self.lapics {
            apic.update(now);
        }
        if self.pit.take_irq0_edges(now) > 0 {
            self.set_isa_irq(0, true);
            self.set_isa_irq(0, false);
        }
        self.sync_uart_irq();
    }

    /// The earliest TSC at which [`Platform::update`] has work: a local APIC timer, or a
    /// PIT channel 0 edge while its I/O APIC pin is unmasked.
    pub fn next_deadline(&self) -> Option<u64> {
        let apics = self.lapics.iter().filter_map(LocalApic::next_deadline);
        let pit = if self.ioapic.masked(isa_irq_pin(0)) {
            None
        } else {
            self.pit.next_irq0()
        };
        apics.chain(pit).min()
    }

    /// The vector to inject into vCPU `cpu`: the highest requested vector whose priority
    /// class exceeds the PPR, if its APIC is enabled (Intel SDM Vol. 3A §12.8.3.1).
    pub fn pending_interrupt(&self, cpu: usize) -> Option<u8> {
        self.lapics.get(cpu)?.pending_interrupt()
    }

    /// vCPU `cpu` took `vector`: IRR to ISR (Intel SDM Vol. 3A §12.8.4).
    pub fn acknowledge(&mut self, cpu: usize, vector: u8) {
        if let Some(apic) = self.lapics.get_mut(cpu) {
            apic.acknowledge(vector);
        }
    }

    /// Takes the NMI pending on vCPU `cpu`, if any.
    pub fn take_nmi(&mut self, cpu: usize) -> bool {
        self.lapics.get_mut(cpu).is_some_and(LocalApic::take_nmi)
    }

    /// Takes the bytes the guest sent on COM1.
    pub fn take_console_output(&mut self) -> Vec<u8> {
        self.uart.take_output()
    }

    /// Bytes typed on the host console, for COM1's receiver (raises its interrupt as
    /// programmed).
    pub fn console_input(&mut self, bytes: &[u8]) {
        self.uart.console_input(bytes);
        self.sync_uart_irq();
    }
}
