//! The made-up "example device" and the emulation of one MMIO access to it, through
//! `vmx-vcpu`'s public MMIO API ([`vmx_vcpu::mmio`]).
//!
//! The device (defined in [`example_guest::abi`]) is a page of 32-bit registers: an ID, an
//! operand and a result computed from the operand. Its page has no EPT mapping, so every
//! guest access is an EPT violation (SDM Vol. 3C §29.3.3.2) that gives the guest-physical
//! address and the direction but not the instruction (§28.2.4). The hypervisor:
//!
//! 1. reads and decodes the instruction at RIP with [`vmx_vcpu::mmio::fetch_and_decode`]
//!    (the guest's page tables walked through [`RamSlice`], its RAM as the hypervisor sees
//!    it) into an [`MmioAccess`];
//! 2. calls [`emulate`], which performs the access on the device and completes the
//!    instruction through an [`MmioCompleter`] (on the vCPU:
//!    `Vcpu::mmio_write_value`, `Vcpu::complete_mmio_read`, `Vcpu::complete_mmio_write`,
//!    which write the destination register and move RIP by the decoded length).
//!
//! The same steps serve an APIC-access exit by an instruction's linear data read or write
//! (SDM Vol. 3C §30.4.1), with the page offset from the exit qualification: [`perform`] runs
//! the instruction against any [`MmioDevice`] (e.g. an adapter over the platform's local
//! APIC) at an offset in its page.

use core::fmt;

use example_guest::abi::{
    DEVICE_BASE, DEVICE_ID, DEVICE_ID_VALUE, DEVICE_OPERAND, DEVICE_RESULT, DEVICE_SIZE,
    device_compute,
};
use vmx_vcpu::mmio::{GuestMemoryRead, MmioAccess, MmioOperation};
use vmx_vcpu::{GuestPhysAddr, Vcpu, VmxError, VmxHost};

/// The device's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExampleDevice {
    operand: u32,
    reads: u64,
    writes: u64,
}

impl ExampleDevice {
    /// A device in its reset state (operand 0).
    pub const fn new() -> Self {
        Self {
            operand: 0,
            reads: 0,
            writes: 0,
        }
    }

    /// Whether `gpa` is in the device's register page.
    pub const fn contains(gpa: u64) -> bool {
        gpa >= DEVICE_BASE && gpa - DEVICE_BASE < DEVICE_SIZE
    }

    /// The value of the 32-bit register at `offset` (a multiple of 4).
    fn register(&self, offset: u64) -> u32 {
        match offset {
            DEVICE_ID => DEVICE_ID_VALUE,
            DEVICE_OPERAND => self.operand,
            DEVICE_RESULT => device_compute(self.operand),
            _ => 0,
        }
    }

    /// Reads `size` bytes at `offset` in the page, little endian; bytes of unknown registers
    /// read 0. An access may span registers, as on a real bus.
    pub fn read(&mut self, offset: u64, size: u8) -> u64 {
        self.reads += 1;
        let mut value = 0;
        for i in 0..u64::from(size.min(8)) {
            let at = offset.wrapping_add(i);
            let byte = (self.register(at & !3) >> (8 * (at & 3))) & 0xFF;
            value |= u64::from(byte) << (8 * i);
        }
        value
    }

    /// Writes the low `size` bytes of `value` at `offset`; only the operand register is
    /// writable, other bytes are ignored.
    pub fn write(&mut self, offset: u64, size: u8, value: u64) {
        self.writes += 1;
        for i in 0..u64::from(size.min(8)) {
            let at = offset.wrapping_add(i);
            if at & !3 == DEVICE_OPERAND {
                let shift = 8 * (at & 3);
                let byte = ((value >> (8 * i)) & 0xFF) as u32;
                self.operand = (self.operand & !(0xFF << shift)) | (byte << shift);
            }
        }
    }

    /// How many reads and writes the device has seen.
    pub const fn access_counts(&self) -> (u64, u64) {
        (self.reads, self.writes)
    }
}

/// A guest-physical address outside guest RAM: the error of [`RamSlice`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutsideRam {
    /// The first guest-physical address read.
    pub gpa: u64,
    /// How many bytes were asked for.
    pub len: usize,
}

impl fmt::Display for OutsideRam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes at guest-physical {:#x} are not all guest RAM",
            self.len, self.gpa
        )
    }
}

/// Guest RAM as one slice whose index is the guest-physical address (the example maps its
/// guest's RAM at guest-physical 0 with EPT, so reading guest-physical memory is indexing
/// this slice; SDM Vol. 3C §29.3.1): the [`GuestMemoryRead`] the page walk and the
/// instruction fetch read through.
#[derive(Clone, Copy, Debug)]
pub struct RamSlice<'a>(pub &'a [u8]);

impl GuestMemoryRead for RamSlice<'_> {
    type Error = OutsideRam;

    fn read(&self, gpa: GuestPhysAddr, buf: &mut [u8]) -> Result<(), OutsideRam> {
        let error = OutsideRam {
            gpa: gpa.as_u64(),
            len: buf.len(),
        };
        let start = usize::try_from(gpa.as_u64()).map_err(|_| error)?;
        let end = start.checked_add(buf.len()).ok_or(error)?;
        let src = self.0.get(start..end).ok_or(error)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A failed walk of the guest's page tables while reading the instruction at RIP.
pub type WalkError = vmx_vcpu::mmio::WalkError<OutsideRam>;
/// A failed fetch or decode of the instruction at RIP.
pub type FetchError = vmx_vcpu::mmio::FetchError<OutsideRam>;

/// Completing an emulated MMIO instruction on the vCPU that executed it: implemented for
/// `vmx_vcpu::Vcpu` by the bare-metal hypervisor (with `Vcpu::mmio_write_value`,
/// `Vcpu::complete_mmio_read` and `Vcpu::complete_mmio_write`, which check the completion
/// against the last exit, SDM Vol. 3C §29.3.3.2, §30.4.1) and by host tests with the pure
/// [`vmx_vcpu::mmio::complete`] functions.
pub trait MmioCompleter {
    /// The value a MOV store or STOS writes (`access.width` bytes).
    fn write_value(&mut self, access: &MmioAccess) -> Result<u64, VmxError>;

    /// Completes an instruction that read `value`; returns what it writes back to the MMIO
    /// location (read-modify-write ALU instructions, XCHG).
    fn complete_read(&mut self, access: &MmioAccess, value: u64) -> Result<Option<u64>, VmxError>;

    /// Completes an instruction that only wrote.
    fn complete_write(&mut self, access: &MmioAccess) -> Result<(), VmxError>;
}

/// The vCPU's own completions (SDM Vol. 3C §29.3.3.2, §30.4.1): each is refused unless the
/// last exit is an EPT violation or an APIC-access exit by an instruction's linear data
/// access that is not yet completed.
impl<H: VmxHost> MmioCompleter for Vcpu<'_, H> {
    fn write_value(&mut self, access: &MmioAccess) -> Result<u64, VmxError> {
        self.mmio_write_value(access)
    }

    fn complete_read(&mut self, access: &MmioAccess, value: u64) -> Result<Option<u64>, VmxError> {
        self.complete_mmio_read(access, value)
    }

    fn complete_write(&mut self, access: &MmioAccess) -> Result<(), VmxError> {
        self.complete_mmio_write(access)
    }
}

/// Why an MMIO access could not be emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MmioError {
    /// The guest-physical address is not in any emulated device.
    NoDevice {
        /// The address.
        gpa: u64,
    },
    /// The instruction at RIP could not be read through the guest's page tables or is not
    /// one `vmx_vcpu::mmio` decodes into an access.
    Fetch(FetchError),
    /// The processor reported a read but the instruction only stores, or a write but the
    /// instruction only loads (the guest changed the instruction after it exited).
    DirectionMismatch {
        /// Whether the EPT violation was a write (qualification bit 1, SDM Vol. 3C Table
        /// 28-7).
        reported_write: bool,
    },
    /// A MOVS: the device is a register page, not memory to copy to or from.
    StringCopy,
    /// The vCPU refused the completion.
    Completion(VmxError),
}

impl fmt::Display for MmioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDevice { gpa } => write!(f, "no device at guest-physical {gpa:#x}"),
            Self::Fetch(e) => write!(f, "the faulting instruction: {e}"),
            Self::DirectionMismatch { reported_write } => write!(
                f,
                "the EPT violation reports a {} but the instruction {}",
                if *reported_write { "write" } else { "read" },
                if *reported_write {
                    "only loads"
                } else {
                    "only stores"
                }
            ),
            Self::StringCopy => f.write_str("MOVS is not emulated on the example device"),
            Self::Completion(e) => write!(f, "completing the instruction: {e}"),
        }
    }
}

/// A device's register page as an emulated instruction sees it: reads and writes of `width`
/// bytes (1, 2, 4 or 8) at an offset in the page.
pub trait MmioDevice {
    /// Reads `width` bytes at `offset`.
    fn read(&mut self, offset: u64, width: u8) -> u64;
    /// Writes the low `width` bytes of `value` at `offset`.
    fn write(&mut self, offset: u64, width: u8, value: u64);
}

impl MmioDevice for ExampleDevice {
    fn read(&mut self, offset: u64, width: u8) -> u64 {
        ExampleDevice::read(self, offset, width)
    }

    fn write(&mut self, offset: u64, width: u8, value: u64) {
        ExampleDevice::write(self, offset, width, value)
    }
}

/// Emulates the decoded instruction `access` (from `vmx_vcpu::mmio::fetch_and_decode` at the
/// guest's RIP) that touched the example device at `gpa`: performs it on `device` and
/// completes it on `cpu` ([`perform`]). `reported_write` is what the EPT-violation
/// qualification reports (bit 1, SDM Vol. 3C Table 28-7).
pub fn emulate<C: MmioCompleter + ?Sized>(
    device: &mut ExampleDevice,
    gpa: u64,
    reported_write: bool,
    access: &MmioAccess,
    cpu: &mut C,
) -> Result<(), MmioError> {
    if !ExampleDevice::contains(gpa) {
        return Err(MmioError::NoDevice { gpa });
    }
    perform(device, gpa - DEVICE_BASE, reported_write, access, cpu)
}

/// Performs the decoded instruction `access` on `device` at `offset` in its page and
/// completes it on `cpu`: for an EPT violation (`reported_write` = qualification bit 1, SDM
/// Vol. 3C Table 28-7) or an APIC-access exit by a linear data access (offset = qualification
/// bits 11:0, `reported_write` = access type 1, §28.2.1 Table 28-6, §30.4.1; see
/// `vmx_vcpu::mmio::MmioExit`). Loads, stores, ALU instructions (read-modify-write
/// included: the result is written back to the device), XCHG and STOS are emulated; MOVS is
/// refused ([`MmioError::StringCopy`]), as is an instruction whose direction contradicts the
/// exit ([`MmioError::DirectionMismatch`]).
pub fn perform<D: MmioDevice + ?Sized, C: MmioCompleter + ?Sized>(
    device: &mut D,
    offset: u64,
    reported_write: bool,
    access: &MmioAccess,
    cpu: &mut C,
) -> Result<(), MmioError> {
    if matches!(access.operation, MmioOperation::Movs { .. }) {
        return Err(MmioError::StringCopy);
    }
    let mismatch = (reported_write && !access.writes()) || (!reported_write && !access.reads());
    if mismatch {
        return Err(MmioError::DirectionMismatch { reported_write });
    }
    if access.reads() {
        let value = device.read(offset, access.width);
        let back = cpu
            .complete_read(access, value)
            .map_err(MmioError::Completion)?;
        if let Some(back) = back {
            device.write(offset, access.width, back);
        }
    } else {
        let value = cpu.write_value(access).map_err(MmioError::Completion)?;
        device.write(offset, access.width, value);
        cpu.complete_write(access).map_err(MmioError::Completion)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vmx_vcpu::mmio::complete::{self, MmioRegisters};
    use vmx_vcpu::mmio::{Bitness, FetchState, PagingState, decode, fetch_and_decode};
    use vmx_vcpu::regs::Gpr;

    /// A vCPU model: registers, RIP, and the pure completion functions of vmx-vcpu.
    #[derive(Default)]
    struct Model {
        regs: MmioRegisters,
        rip: u64,
    }

    /// The model's refusal (as the vCPU's): the completion does not fit the instruction's
    /// direction.
    const WRONG_DIRECTION: VmxError = VmxError::NotCompletable {
        completion: vmx_vcpu::Completion::Mmio,
        last_exit: None,
    };

    impl MmioCompleter for Model {
        fn write_value(&mut self, access: &MmioAccess) -> Result<u64, VmxError> {
            complete::write_value(access, &self.regs).ok_or(WRONG_DIRECTION)
        }
        fn complete_read(
            &mut self,
            access: &MmioAccess,
            value: u64,
        ) -> Result<Option<u64>, VmxError> {
            let done =
                complete::complete_read(access, &mut self.regs, value).ok_or(WRONG_DIRECTION)?;
            if done.advance_rip {
                self.rip += u64::from(access.length);
            }
            Ok(done.write_back)
        }
        fn complete_write(&mut self, access: &MmioAccess) -> Result<(), VmxError> {
            let done = complete::complete_write(access, &mut self.regs).ok_or(WRONG_DIRECTION)?;
            if done.advance_rip {
                self.rip += u64::from(access.length);
            }
            Ok(())
        }
    }

    fn access(bytes: &[u8]) -> MmioAccess {
        decode(bytes, Bitness::Bits64).unwrap()
    }

    #[test]
    fn the_guest_sequence() {
        let mut device = ExampleDevice::new();
        let mut cpu = Model::default();
        // mov dword ptr [rax], ecx with ecx = 0x12345678, at the operand register.
        cpu.regs.gprs[Gpr::Rcx as usize] = 0xFFFF_FFFF_1234_5678;
        let store = access(&[0x89, 0x08]);
        emulate(
            &mut device,
            DEVICE_BASE + DEVICE_OPERAND,
            true,
            &store,
            &mut cpu,
        )
        .unwrap();
        assert_eq!(cpu.rip, 2);
        // mov ebp, dword ptr [rax] at the result register: 32-bit load zero-extends.
        cpu.regs.gprs[Gpr::Rbp as usize] = u64::MAX;
        let load = access(&[0x8B, 0x28]);
        emulate(
            &mut device,
            DEVICE_BASE + DEVICE_RESULT,
            false,
            &load,
            &mut cpu,
        )
        .unwrap();
        assert_eq!(
            cpu.regs.get(Gpr::Rbp),
            u64::from(device_compute(0x1234_5678))
        );
        emulate(&mut device, DEVICE_BASE + DEVICE_ID, false, &load, &mut cpu).unwrap();
        assert_eq!(cpu.regs.get(Gpr::Rbp), u64::from(DEVICE_ID_VALUE));
        assert_eq!(cpu.rip, 6);
        assert_eq!(device.access_counts(), (2, 1));
    }

    #[test]
    fn immediate_store_and_read_modify_write() {
        let mut device = ExampleDevice::new();
        let mut cpu = Model::default();
        // mov dword ptr [rax], 0x10 (C7 00 imm32).
        let store = access(&[0xC7, 0x00, 0x10, 0, 0, 0]);
        let gpa = DEVICE_BASE + DEVICE_OPERAND;
        emulate(&mut device, gpa, true, &store, &mut cpu).unwrap();
        assert_eq!(device.read(DEVICE_OPERAND, 4), 0x10);
        // or dword ptr [rax], 3 (83 08 03): read, OR, write back to the device.
        emulate(
            &mut device,
            gpa,
            true,
            &access(&[0x83, 0x08, 0x03]),
            &mut cpu,
        )
        .unwrap();
        assert_eq!(device.read(DEVICE_OPERAND, 4), 0x13);
        assert_eq!(cpu.rip, 6 + 3);
    }

    /// An xAPIC-like register page: 32-bit registers at 16-byte offsets.
    #[derive(Default)]
    struct Registers {
        regs: alloc::collections::BTreeMap<u64, u64>,
        writes: alloc::vec::Vec<(u64, u8, u64)>,
    }

    impl MmioDevice for Registers {
        fn read(&mut self, offset: u64, _width: u8) -> u64 {
            self.regs.get(&offset).copied().unwrap_or(0)
        }
        fn write(&mut self, offset: u64, width: u8, value: u64) {
            self.writes.push((offset, width, value));
            self.regs.insert(offset, value);
        }
    }

    #[test]
    fn perform_on_an_apic_like_page() {
        let mut apic = Registers::default();
        let mut cpu = Model::default();
        apic.regs.insert(0x20, 0x0300_0000);
        // mov eax, [rbx+0x20] (8B 43 20): APIC ID read, access type 0 at offset 0x20.
        perform(
            &mut apic,
            0x20,
            false,
            &access(&[0x8B, 0x43, 0x20]),
            &mut cpu,
        )
        .unwrap();
        assert_eq!(cpu.regs.get(Gpr::Rax), 0x0300_0000);
        // mov dword [rbx+0xB0], 0 (C7 83 B0 00 00 00 00 00 00 00): EOI write, type 1.
        let eoi = access(&[0xC7, 0x83, 0xB0, 0, 0, 0, 0, 0, 0, 0]);
        perform(&mut apic, 0xB0, true, &eoi, &mut cpu).unwrap();
        assert_eq!(apic.writes, [(0xB0, 4, 0)]);
        assert_eq!(cpu.rip, 3 + 10);
    }

    #[test]
    fn errors() {
        let mut device = ExampleDevice::new();
        let mut cpu = Model::default();
        let load = access(&[0x8B, 0x28]);
        assert_eq!(
            emulate(&mut device, DEVICE_BASE, true, &load, &mut cpu),
            Err(MmioError::DirectionMismatch {
                reported_write: true
            })
        );
        assert_eq!(
            emulate(
                &mut device,
                DEVICE_BASE,
                false,
                &access(&[0x89, 0x08]),
                &mut cpu
            ),
            Err(MmioError::DirectionMismatch {
                reported_write: false
            })
        );
        assert_eq!(
            emulate(&mut device, 0x1000, false, &load, &mut cpu),
            Err(MmioError::NoDevice { gpa: 0x1000 })
        );
        // movsd
        assert_eq!(
            emulate(&mut device, DEVICE_BASE, false, &access(&[0xA5]), &mut cpu),
            Err(MmioError::StringCopy)
        );
        assert_eq!(cpu.rip, 0);
        assert_eq!(device.access_counts(), (0, 0));
    }

    /// A vCPU whose last exit is not an MMIO exit: every completion is refused.
    struct Refusing;

    impl MmioCompleter for Refusing {
        fn write_value(&mut self, _: &MmioAccess) -> Result<u64, VmxError> {
            Err(WRONG_DIRECTION)
        }
        fn complete_read(&mut self, _: &MmioAccess, _: u64) -> Result<Option<u64>, VmxError> {
            Err(WRONG_DIRECTION)
        }
        fn complete_write(&mut self, _: &MmioAccess) -> Result<(), VmxError> {
            Err(WRONG_DIRECTION)
        }
    }

    #[test]
    fn refused_completions_are_reported_and_writes_not_performed() {
        let mut device = ExampleDevice::new();
        let gpa = DEVICE_BASE + DEVICE_OPERAND;
        assert_eq!(
            emulate(
                &mut device,
                gpa,
                true,
                &access(&[0x89, 0x08]),
                &mut Refusing
            ),
            Err(MmioError::Completion(WRONG_DIRECTION))
        );
        assert_eq!(
            emulate(
                &mut device,
                gpa,
                false,
                &access(&[0x8B, 0x28]),
                &mut Refusing
            ),
            Err(MmioError::Completion(WRONG_DIRECTION))
        );
        assert_eq!(device.access_counts(), (1, 0));
    }

    #[test]
    fn fetch_through_guest_page_tables_in_ram_slice() {
        // 4-level paging: PML4 at 0x1000, PDPT 0x2000, PD 0x3000 with a 2-MiB page at
        // 0x20_0000 mapping linear 0x4000_0000.
        let mut ram = alloc::vec![0u8; 0x40_0000];
        let put = |ram: &mut [u8], at: usize, v: u64| {
            ram[at..at + 8].copy_from_slice(&v.to_le_bytes());
        };
        put(&mut ram, 0x1000, 0x2000 | 3);
        put(&mut ram, 0x2000 + 8, 0x3000 | 3);
        put(&mut ram, 0x3000, 0x20_0000 | 0x83);
        ram[0x20_0100..0x20_0102].copy_from_slice(&[0x8B, 0x28]);
        let state = FetchState {
            paging: PagingState {
                cr0: (1 << 31) | 1,
                cr3: 0x1000,
                cr4: 1 << 5,
                efer: (1 << 8) | (1 << 10),
                pdptes: None,
                maxphyaddr: 39,
            },
            rip: 0x4000_0100,
            cs_base: 0,
            cs_access_rights: 0xA09B,
            cpl: 0,
        };
        let decoded = fetch_and_decode(&RamSlice(&ram), &state).unwrap();
        assert_eq!(decoded, access(&[0x8B, 0x28]));
        let outside = FetchState {
            paging: PagingState {
                cr3: 0x100_0000,
                ..state.paging
            },
            ..state
        };
        assert!(matches!(
            fetch_and_decode(&RamSlice(&ram), &outside),
            Err(FetchError::Walk(WalkError::Memory { .. }))
        ));
    }

    #[test]
    fn ram_slice_bounds() {
        let ram = [1u8, 2, 3, 4];
        let mut buf = [0u8; 2];
        RamSlice(&ram)
            .read(GuestPhysAddr::new(2), &mut buf)
            .unwrap();
        assert_eq!(buf, [3, 4]);
        assert_eq!(
            RamSlice(&ram).read(GuestPhysAddr::new(3), &mut buf),
            Err(OutsideRam { gpa: 3, len: 2 })
        );
        assert!(
            RamSlice(&ram)
                .read(GuestPhysAddr::new(u64::MAX), &mut buf)
                .is_err()
        );
    }

    #[test]
    fn byte_accesses_and_read_only_registers() {
        let mut device = ExampleDevice::new();
        device.write(DEVICE_OPERAND + 1, 1, 0xAB);
        assert_eq!(device.read(DEVICE_OPERAND, 4), 0xAB00);
        device.write(DEVICE_ID, 4, 0);
        assert_eq!(device.read(DEVICE_ID, 4), u64::from(DEVICE_ID_VALUE));
        assert_eq!(device.read(0x100, 4), 0);
    }

    proptest! {
        #[test]
        fn any_access_is_total(offset in any::<u64>(), size in any::<u8>(), value in any::<u64>()) {
            let mut device = ExampleDevice::new();
            device.write(offset, size, value);
            let _ = device.read(offset, size);
        }

        #[test]
        fn emulate_is_total(bytes in proptest::collection::vec(any::<u8>(), 1..16),
                            gpa in any::<u64>(), write in any::<bool>()) {
            let mut device = ExampleDevice::new();
            let mut cpu = Model::default();
            if let Ok(a) = decode(&bytes, Bitness::Bits64) {
                let r = emulate(&mut device, gpa, write, &a, &mut cpu);
                if r.is_ok() {
                    prop_assert!(cpu.rip <= 15);
                }
            }
        }
    }
}
