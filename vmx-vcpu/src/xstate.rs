//! Keeping the guest's x87/SSE/AVX state apart from the host's (SDM Vol. 1 ch. 13 "Managing
//! State Using the XSAVE Feature Set"; Vol. 2 FXSAVE/XSAVE/XRSTOR; Vol. 3C §25.4 notes that
//! the VMCS does not hold this state).
//!
//! The mode is chosen from the host's CR4: OSXSAVE → XSAVE/XRSTOR with XCR0 switching;
//! else OSFXSR → FXSAVE/FXRSTOR; else none (a host that never enabled SSE cannot execute
//! SSE instructions, so the guest's registers stay intact across exits). The switch itself
//! is in the entry assembly (`entry.rs`).

use crate::arch;
use crate::entry::RunBlock;
use crate::error::VmxError;
use vmx_defs::registers::Xcr0;

/// How extended state is switched around VM entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XStateMode {
    /// Nothing is switched: the host runs with CR4.OSFXSR = 0 and does not use x87.
    None,
    /// FXSAVE/FXRSTOR of x87, MMX and SSE (host CR4.OSFXSR = 1, no XSAVE).
    Fxsave,
    /// XSAVE/XRSTOR with XCR0 switched (host CR4.OSXSAVE = 1).
    Xsave,
}

impl XStateMode {
    pub(crate) const fn code(self) -> u64 {
        match self {
            Self::None => 0,
            Self::Fxsave => 1,
            Self::Xsave => 2,
        }
    }
}

/// The extended-state set-up of the running CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XStateInfo {
    pub mode: XStateMode,
    /// Host XCR0 (Xsave mode).
    pub host_xcr0: u64,
    /// Components the processor supports in XCR0 (CPUID.(0DH,0):EDX:EAX).
    pub supported_xcr0: u64,
    /// Bytes of one save area (CPUID.(0DH,0):ECX for XSAVE; 512 for FXSAVE; 0 for none).
    pub area_size: usize,
}

const CR4_OSFXSR: u64 = 1 << 9;
const CR4_OSXSAVE: u64 = 1 << 18;

impl XStateInfo {
    /// Reads CR4, CPUID leaf 0DH and XCR0.
    pub(crate) fn detect() -> Self {
        let cr4 = arch::read_cr4();
        let has_xsave = arch::cpuid(1, 0).ecx & (1 << 26) != 0;
        if cr4 & CR4_OSXSAVE != 0 && has_xsave {
            let d = arch::cpuid(0xD, 0);
            // SAFETY: CR4.OSXSAVE is 1.
            let host_xcr0 = unsafe { arch::xgetbv0() };
            Self {
                mode: XStateMode::Xsave,
                host_xcr0,
                supported_xcr0: (u64::from(d.edx) << 32) | u64::from(d.eax),
                // ECX: size for every supported component; at least the 576-byte legacy
                // region and header.
                area_size: (d.ecx as usize).max(576),
            }
        } else if cr4 & CR4_OSFXSR != 0 {
            Self {
                mode: XStateMode::Fxsave,
                host_xcr0: 0,
                supported_xcr0: 0,
                area_size: 512,
            }
        } else {
            Self {
                mode: XStateMode::None,
                host_xcr0: 0,
                supported_xcr0: 0,
                area_size: 0,
            }
        }
    }
}

/// Checks an XCR0 value the guest wants against every rule XSETBV applies (SDM Vol. 2D
/// XSETBV, Vol. 1 §13.3) and what the processor supports, with
/// [`Xcr0::check`](vmx_defs::registers::Xcr0::check): bit 0 set, no reserved or unsupported
/// bit, AVX needs SSE, MPX bits 4:3 together, AVX-512 bits 7:5 together and with AVX, AMX
/// bits 18:17 together. A value it refuses would make the host's XSETBV in the entry path
/// raise #GP. Pure.
pub fn check_xcr0(value: u64, supported: u64) -> Result<(), VmxError> {
    match Xcr0::check(value, Xcr0::from_bits_retain(supported)) {
        Ok(_) => Ok(()),
        Err(rule) => Err(VmxError::InvalidXcr0 { value, rule }),
    }
}

/// Checks an XSETBV the guest executed (SDM Vol. 2B XSETBV): ECX (`index`) must be 0, the
/// only XCR defined ([`VmxError::InvalidXcrIndex`] otherwise), and `value` must pass
/// [`check_xcr0`] for `supported`. Either error is the #GP(0) the instruction raises on
/// hardware, for the caller to inject. Pure.
pub fn check_xsetbv(index: u32, value: u64, supported: u64) -> Result<(), VmxError> {
    if index != 0 {
        return Err(VmxError::InvalidXcrIndex(index));
    }
    check_xcr0(value, supported)
}

/// Writes the power-up x87 control word (0x37F) and MXCSR (0x1F80) into a zeroed FXSAVE or
/// XSAVE legacy region, so the guest starts with the reset values (SDM Vol. 1 §10.5.1).
/// For XSAVE areas, XSTATE_BV is left 0 so that XRSTOR loads the init state of every
/// component; the legacy values then only matter for FXRSTOR.
///
/// # Safety
/// `area` points to at least 512 writable bytes.
pub(crate) unsafe fn init_legacy_area(area: *mut u8) {
    // SAFETY: offsets 0 (FCW, 2 bytes) and 24 (MXCSR, 4 bytes) lie within 512 bytes.
    unsafe {
        area.cast::<u16>().write_unaligned(0x37F);
        area.add(24).cast::<u32>().write_unaligned(0x1F80);
    }
}

/// XSETBV of XCR0 = `value` when `value` differs from `loaded` (the value in XCR0 now).
///
/// # Safety
/// CR4.OSXSAVE = 1 and `value` is a valid XCR0 value for this processor (SDM Vol. 1 §13.3).
unsafe fn set_xcr0_from(loaded: u64, value: u64) {
    if loaded != value {
        // SAFETY: the caller guarantees XSETBV is enabled and the value valid; XSETBV only
        // changes which state components are enabled.
        unsafe {
            core::arch::asm!(
                "xsetbv",
                in("ecx") 0u32,
                in("eax") value as u32,
                in("edx") (value >> 32) as u32,
                options(nomem, nostack),
            );
        }
    }
}

/// Saves a guest extended state that lazy mode kept in the registers into the guest's area
/// and restores the host's: the exit code's "guest out, host in" step, done later (for
/// `Vcpu::release_xstate`, `set_guest_xcr0`, and another vCPU entering on this CPU).
///
/// # Safety
/// `block` was set up by `VmxVcpu::new` on this CPU (areas, XCR0 values and mode), and its
/// guest state is the one in the registers (`guest_loaded == 1`, with XCR0 = guest XCR0).
pub(crate) unsafe fn put_guest_xstate(block: &mut RunBlock) {
    match block.xmode {
        2 => {
            let union = block.union_xcr0;
            // SAFETY: XSAVE mode means CR4.OSXSAVE = 1 and every XCR0 value in the block
            // was checked (host's read from XCR0, guest's by `check_xcr0`); the areas are
            // 64-byte aligned frames of this vCPU sized by CPUID.(0DH,0):ECX.
            unsafe {
                set_xcr0_from(block.guest_xcr0, union);
                core::arch::asm!(
                    "xsave64 [{area}]",
                    area = in(reg) block.guest_area,
                    in("eax") union as u32,
                    in("edx") (union >> 32) as u32,
                    options(nostack),
                );
                core::arch::asm!(
                    "xrstor64 [{area}]",
                    area = in(reg) block.host_area,
                    in("eax") union as u32,
                    in("edx") (union >> 32) as u32,
                    options(nostack),
                );
                set_xcr0_from(union, block.host_xcr0);
            }
        }
        1 => {
            // SAFETY: FXSAVE mode means CR4.OSFXSR = 1; the areas are 512-byte (at least)
            // 16-byte aligned frames of this vCPU.
            unsafe {
                core::arch::asm!(
                    "fxsave64 [{g}]",
                    "fxrstor64 [{h}]",
                    g = in(reg) block.guest_area,
                    h = in(reg) block.host_area,
                    options(nostack),
                );
            }
        }
        _ => {}
    }
    block.guest_loaded = 0;
}
