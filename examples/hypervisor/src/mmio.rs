//! The made-up "example device" and the emulation of one MMIO access to it.
//!
//! The device (defined in [`example_guest::abi`]) is a page of 32-bit registers: an ID, an
//! operand and a result computed from the operand. Its page has no EPT mapping, so every
//! guest access is an EPT violation (SDM Vol. 3C §29.3.3.2). [`emulate`] combines the
//! decoded instruction ([`crate::mov_decoder`]) with the access the processor reported and
//! performs it on the device; the caller then updates the guest's register (for a load) and
//! advances RIP by the instruction's length.

use core::fmt;

use example_guest::abi::{
    DEVICE_BASE, DEVICE_ID, DEVICE_ID_VALUE, DEVICE_OPERAND, DEVICE_RESULT, DEVICE_SIZE,
    device_compute,
};

use crate::mov_decoder::{DecodeError, MovInstruction, MovKind, RegisterOperand};

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

/// Why an MMIO access could not be emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioError {
    /// The guest-physical address is not in any emulated device.
    NoDevice {
        /// The address.
        gpa: u64,
    },
    /// The instruction at RIP is not a supported `MOV`.
    Decode(DecodeError),
    /// The processor reported a read but the instruction stores, or the reverse.
    DirectionMismatch {
        /// Whether the EPT violation was a write.
        reported_write: bool,
    },
}

impl fmt::Display for MmioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoDevice { gpa } => write!(f, "no device at guest-physical {gpa:#x}"),
            Self::Decode(e) => write!(f, "cannot decode the faulting instruction: {e}"),
            Self::DirectionMismatch { reported_write } => write!(
                f,
                "the EPT violation reports a {} but the instruction {}",
                if reported_write { "write" } else { "read" },
                if reported_write { "loads" } else { "stores" }
            ),
        }
    }
}

impl From<DecodeError> for MmioError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

/// What the caller must do to the guest after an emulated access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioCompletion {
    /// For a load: the register to write and the value read (the caller merges it with
    /// [`RegisterOperand::write`]).
    pub load: Option<(RegisterOperand, u64)>,
    /// How far to advance RIP.
    pub instruction_length: u8,
}

/// Emulates the access at `gpa` made by `instruction` (the decoded bytes at the guest's
/// RIP). `is_write` is what the EPT-violation qualification reports (bit 1, SDM Vol. 3C
/// Table 28-7); `register_value` reads the current value of a source register.
pub fn emulate(
    device: &mut ExampleDevice,
    gpa: u64,
    is_write: bool,
    instruction: &MovInstruction,
    register_value: impl FnOnce(RegisterOperand) -> u64,
) -> Result<MmioCompletion, MmioError> {
    if !ExampleDevice::contains(gpa) {
        return Err(MmioError::NoDevice { gpa });
    }
    if instruction.is_store() != is_write {
        return Err(MmioError::DirectionMismatch {
            reported_write: is_write,
        });
    }
    let offset = gpa - DEVICE_BASE;
    let load = match instruction.kind {
        MovKind::Load { destination } => Some((destination, device.read(offset, instruction.size))),
        MovKind::StoreRegister { source } => {
            let value = source.read(register_value(source));
            device.write(offset, instruction.size, value);
            None
        }
        MovKind::StoreImmediate { value } => {
            device.write(offset, instruction.size, value);
            None
        }
    };
    Ok(MmioCompletion {
        load,
        instruction_length: instruction.length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mov_decoder::{Gpr, RegisterPart, decode};
    use proptest::prelude::*;

    #[test]
    fn the_guest_sequence() {
        let mut device = ExampleDevice::new();
        // mov dword ptr [rax], ecx with ecx = 0x12345678, at the operand register.
        let store = decode(&[0x89, 0x08]).unwrap();
        let done = emulate(
            &mut device,
            DEVICE_BASE + DEVICE_OPERAND,
            true,
            &store,
            |r| {
                assert_eq!(r.gpr, Gpr::Rcx);
                0xFFFF_FFFF_1234_5678
            },
        )
        .unwrap();
        assert_eq!(
            done,
            MmioCompletion {
                load: None,
                instruction_length: 2
            }
        );
        // mov ebp, dword ptr [rax] at the result register.
        let load = decode(&[0x8B, 0x28]).unwrap();
        let done = emulate(
            &mut device,
            DEVICE_BASE + DEVICE_RESULT,
            false,
            &load,
            |_| 0,
        )
        .unwrap();
        let (register, value) = done.load.unwrap();
        assert_eq!(
            register,
            RegisterOperand {
                gpr: Gpr::Rbp,
                part: RegisterPart::Low32
            }
        );
        assert_eq!(value, u64::from(device_compute(0x1234_5678)));
        let done = emulate(&mut device, DEVICE_BASE + DEVICE_ID, false, &load, |_| 0).unwrap();
        assert_eq!(done.load.unwrap().1, u64::from(DEVICE_ID_VALUE));
        assert_eq!(device.access_counts(), (2, 1));
    }

    #[test]
    fn errors() {
        let mut device = ExampleDevice::new();
        let load = decode(&[0x8B, 0x28]).unwrap();
        assert_eq!(
            emulate(&mut device, DEVICE_BASE, true, &load, |_| 0),
            Err(MmioError::DirectionMismatch {
                reported_write: true
            })
        );
        assert_eq!(
            emulate(&mut device, 0x1000, false, &load, |_| 0),
            Err(MmioError::NoDevice { gpa: 0x1000 })
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
    }
}
