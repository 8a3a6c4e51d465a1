//! The rules of MOV to and from debug registers (SDM Vol. 2B "MOV—Move to/from Debug
//! Registers"; Vol. 3A §17.2 "Debug Registers"), as pure functions: which register an
//! encoding names (DR4/DR5 alias DR6/DR7 when CR4.DE = 0), the exception the instruction
//! raises instead, and the value the register takes (reserved DR6/DR7 bits forced as the
//! processor forces them). Used by
//! [`Vcpu::complete_mov_dr`](crate::Vcpu::complete_mov_dr); nothing here touches hardware.

use core::fmt;

/// DR6 at power-up and the bits the processor keeps at 1: bits 11:4 and 31:16 (bit 11,
/// BLD, and bit 16, RTM, are active-low and read 1 when no bus-lock or RTM debug event is
/// reported, which this emulation never does; SDM Vol. 3A §17.2.3).
pub const DR6_FIXED_1: u64 = 0xFFFF_0FF0;
/// DR6 bits software can change: B0-B3 (3:0), BD (13), BS (14), BT (15) (SDM Vol. 3A
/// §17.2.3). Bit 12 and bits 63:32 read 0.
pub const DR6_WRITABLE: u64 = 0xE00F;
/// DR7 at power-up and its bit that reads 1: bit 10 (SDM Vol. 3A §17.2.4).
pub const DR7_FIXED_1: u64 = 0x400;
/// DR7 bits software can change: L0-G3 and LE/GE (9:0), GD (13), R/W and LEN fields
/// (31:16). Bits 11 (RTM, reported as unsupported), 12, 15:14 and 63:32 read 0 (SDM Vol. 3A
/// §17.2.4).
pub const DR7_WRITABLE: u64 = 0xFFFF_23FF;
/// DR7.GD, general-detect enable: a MOV DR raises #DB instead (SDM Vol. 3A §17.2.4).
pub const DR7_GD: u64 = 1 << 13;
/// DR6.BD, set when a general-detect #DB is raised (SDM Vol. 3A §17.2.3).
pub const DR6_BD: u64 = 1 << 13;

/// The guest's debug registers as the vCPU emulates them
/// ([`Vcpu::guest_debug_registers`](crate::Vcpu::guest_debug_registers)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuestDebugRegisters {
    /// DR0-DR3, breakpoint linear addresses.
    pub dr: [u64; 4],
    /// DR6, debug status.
    pub dr6: u64,
    /// DR7, debug control (the GUEST_DR7 field).
    pub dr7: u64,
}

/// The register a MOV DR encoding reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DebugRegister {
    /// DR0-DR3, a breakpoint address (the index, 0-3).
    Address(u8),
    /// DR6, debug status.
    Status,
    /// DR7, debug control.
    Control,
}

/// Why a MOV DR raises an exception instead of completing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DrError {
    /// DR4 or DR5 with CR4.DE = 1: #UD (SDM Vol. 2B MOV DR).
    ReservedRegister {
        /// 4 or 5.
        dr: u8,
    },
    /// DR7.GD = 1: #DB, general detect (SDM Vol. 3A §17.2.4). DR6.BD is set and DR7.GD
    /// cleared as the processor does when it raises it.
    GeneralDetect,
    /// MOV to DR6 or DR7 with bits 63:32 of the source set, in 64-bit mode: #GP(0) (SDM
    /// Vol. 2B MOV DR).
    HighBits {
        /// The register number used (4-7).
        dr: u8,
        /// The source value.
        value: u64,
    },
}

impl DrError {
    /// The exception vector the instruction raises: 6 (#UD), 1 (#DB) or 13 (#GP, error
    /// code 0) (SDM Vol. 3A §7.3 Table 7-1).
    pub const fn vector(&self) -> u8 {
        match self {
            Self::ReservedRegister { .. } => 6,
            Self::GeneralDetect => 1,
            Self::HighBits { .. } => 13,
        }
    }
}

impl fmt::Display for DrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedRegister { dr } => {
                write!(f, "DR{dr} is reserved while CR4.DE = 1 (#UD)")
            }
            Self::GeneralDetect => f.write_str("DR7.GD = 1: MOV DR raises #DB"),
            Self::HighBits { dr, value } => {
                write!(f, "MOV to DR{dr} of {value:#x} sets bits 63:32 (#GP)")
            }
        }
    }
}

impl core::error::Error for DrError {}

/// The register encoding `dr` (0-7, bits 2:0 of the exit qualification) names, with the
/// exception rules that do not depend on the direction, in the SDM's order: #UD for
/// DR4/DR5 with CR4.DE = 1, then #DB for DR7.GD = 1 (SDM Vol. 2B MOV DR "Operation"). DR4/DR5 alias DR6/DR7 when CR4.DE = 0 (SDM Vol. 3A §17.2.2).
pub const fn resolve(dr: u8, cr4_de: bool, dr7: u64) -> Result<DebugRegister, DrError> {
    let dr = dr & 7;
    if cr4_de && (dr == 4 || dr == 5) {
        return Err(DrError::ReservedRegister { dr });
    }
    if dr7 & DR7_GD != 0 {
        return Err(DrError::GeneralDetect);
    }
    Ok(match dr {
        0..=3 => DebugRegister::Address(dr),
        4 | 6 => DebugRegister::Status,
        _ => DebugRegister::Control,
    })
}

/// The value DR6 holds after a write of `value` (its fixed bits forced).
pub const fn dr6_value(value: u64) -> u64 {
    (value & DR6_WRITABLE) | DR6_FIXED_1
}

/// The value DR7 holds after a write of `value` (its fixed bits forced).
pub const fn dr7_value(value: u64) -> u64 {
    (value & DR7_WRITABLE) | DR7_FIXED_1
}

/// MOV to DR`dr` of `value`: [`resolve`], then outside 64-bit mode the operand is 32 bits;
/// DR6/DR7 with bits 63:32 set is [`DrError::HighBits`]; the result is the register and the
/// value it takes ([`dr6_value`], [`dr7_value`]; DR0-DR3 take any value).
pub const fn mov_to_dr(
    dr: u8,
    value: u64,
    cr4_de: bool,
    dr7: u64,
    in_64bit_mode: bool,
) -> Result<(DebugRegister, u64), DrError> {
    let reg = match resolve(dr, cr4_de, dr7) {
        Ok(r) => r,
        Err(e) => return Err(e),
    };
    let value = if in_64bit_mode {
        value
    } else {
        value & 0xFFFF_FFFF
    };
    match reg {
        DebugRegister::Address(_) => Ok((reg, value)),
        DebugRegister::Status | DebugRegister::Control if value >> 32 != 0 => {
            Err(DrError::HighBits { dr: dr & 7, value })
        }
        DebugRegister::Status => Ok((reg, dr6_value(value))),
        DebugRegister::Control => Ok((reg, dr7_value(value))),
    }
}

/// What a general-detect #DB does to DR6 and DR7 before it is delivered: DR6.BD set, DR7.GD
/// cleared (so that the handler can use the debug registers; SDM Vol. 3A §17.2.4).
pub const fn general_detect(dr6: u64, dr7: u64) -> (u64, u64) {
    (dr6_value(dr6 | DR6_BD), dr7 & !DR7_GD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn aliasing_and_faults() {
        assert_eq!(resolve(4, false, 0x400), Ok(DebugRegister::Status));
        assert_eq!(resolve(5, false, 0x400), Ok(DebugRegister::Control));
        assert_eq!(
            resolve(5, true, 0x400),
            Err(DrError::ReservedRegister { dr: 5 })
        );
        assert_eq!(
            resolve(0, false, 0x400 | DR7_GD),
            Err(DrError::GeneralDetect)
        );
        assert_eq!(
            mov_to_dr(7, 1 << 32, false, 0x400, true),
            Err(DrError::HighBits {
                dr: 7,
                value: 1 << 32
            })
        );
        // Outside 64-bit mode the operand is 32 bits.
        assert_eq!(
            mov_to_dr(7, 1 << 32 | 1, false, 0x400, false),
            Ok((DebugRegister::Control, 0x401))
        );
        assert_eq!(
            mov_to_dr(6, 0, false, 0x400, true),
            Ok((DebugRegister::Status, DR6_FIXED_1))
        );
        assert_eq!(
            mov_to_dr(2, u64::MAX, false, 0x400, true),
            Ok((DebugRegister::Address(2), u64::MAX))
        );
        assert_eq!(general_detect(DR6_FIXED_1, 0x2400), (0xFFFF_2FF0, 0x400));
        assert_eq!(DrError::GeneralDetect.vector(), 1);
    }

    proptest! {
        #[test]
        fn model(dr in 0u8..=255, value in any::<u64>(), de in any::<bool>(),
                 dr7 in any::<u64>(), long in any::<bool>()) {
            let n = dr & 7;
            let r = mov_to_dr(dr, value, de, dr7, long);
            if de && (n == 4 || n == 5) {
                prop_assert_eq!(r, Err(DrError::ReservedRegister { dr: n }));
            } else if dr7 >> 13 & 1 == 1 {
                prop_assert_eq!(r, Err(DrError::GeneralDetect));
            } else {
                let v = if long { value } else { value as u32 as u64 };
                match n {
                    0..=3 => prop_assert_eq!(r, Ok((DebugRegister::Address(n), v))),
                    _ if v >> 32 != 0 => {
                        let high = matches!(r, Err(DrError::HighBits { .. }));
                        prop_assert!(high);
                    }
                    4 | 6 => {
                        let (reg, x) = r.unwrap();
                        prop_assert_eq!(reg, DebugRegister::Status);
                        prop_assert_eq!(x >> 32, 0);
                        prop_assert_eq!(x & 0xFFFF_0FF0, 0xFFFF_0FF0);
                        prop_assert_eq!(x & 1 << 12, 0);
                        prop_assert_eq!(x & 0xE00F, v & 0xE00F);
                    }
                    _ => {
                        let (reg, x) = r.unwrap();
                        prop_assert_eq!(reg, DebugRegister::Control);
                        prop_assert_eq!(x >> 32, 0);
                        prop_assert_eq!(x & 0x400, 0x400);
                        prop_assert_eq!(x & (1 << 11 | 1 << 12 | 3 << 14), 0);
                        prop_assert_eq!(x & 0xFFFF_23FF, v & 0xFFFF_23FF);
                    }
                }
            }
        }
    }
}
