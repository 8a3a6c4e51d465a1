//! Checks on the host state that VM exits load (SDM Vol. 3C §27.2.3, "Checks on Host Segment
//! and Descriptor-Table Registers"), kept pure so that they can be tested on the host.

use core::fmt;

/// A host segment register named in an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostSegment {
    /// CS.
    Cs,
    /// SS.
    Ss,
    /// DS.
    Ds,
    /// ES.
    Es,
    /// FS.
    Fs,
    /// GS.
    Gs,
    /// TR.
    Tr,
}

impl fmt::Display for HostSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cs => "CS",
            Self::Ss => "SS",
            Self::Ds => "DS",
            Self::Es => "ES",
            Self::Fs => "FS",
            Self::Gs => "GS",
            Self::Tr => "TR",
        })
    }
}

/// A host base address or address-valued MSR that must be canonical (SDM §27.2.2-27.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostBase {
    /// FS base (IA32_FS_BASE).
    Fs,
    /// GS base (IA32_GS_BASE).
    Gs,
    /// TR base (from the TSS descriptor).
    Tr,
    /// GDTR base.
    Gdtr,
    /// IDTR base.
    Idtr,
    /// IA32_SYSENTER_ESP.
    SysenterEsp,
    /// IA32_SYSENTER_EIP.
    SysenterEip,
}

impl fmt::Display for HostBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fs => "FS",
            Self::Gs => "GS",
            Self::Tr => "TR",
            Self::Gdtr => "GDTR",
            Self::Idtr => "IDTR",
            Self::SysenterEsp => "SYSENTER_ESP",
            Self::SysenterEip => "SYSENTER_EIP",
        })
    }
}

/// Why the running CPU's state cannot serve as VMCS host state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostStateError {
    /// A selector has RPL or TI set; VM exits can only load selectors with both 0
    /// (SDM §27.2.3). The host must run with RPL-0 GDT selectors.
    SelectorRplTi {
        /// The register.
        segment: HostSegment,
        /// The selector found.
        selector: u16,
    },
    /// CS or TR is 0 (SDM §27.2.3): the host needs its own GDT with a code segment and a
    /// TSS loaded with LTR.
    NullSelector {
        /// The register.
        segment: HostSegment,
    },
    /// A base address is not canonical (SDM §27.2.3, 64-bit host).
    NonCanonicalBase {
        /// What the base belongs to.
        what: HostBase,
        /// The value found.
        value: u64,
    },
    /// The TR selector points outside the GDT.
    TrOutsideGdt {
        /// The TR selector.
        selector: u16,
        /// The GDT limit.
        gdt_limit: u16,
    },
}

impl fmt::Display for HostStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SelectorRplTi { segment, selector } => write!(
                f,
                "host {segment} selector {selector:#x} has RPL or TI set (VM exits need RPL=0, TI=0)"
            ),
            Self::NullSelector { segment } => write!(
                f,
                "host {segment} selector is 0 (load a GDT code segment and a TSS with LTR)"
            ),
            Self::NonCanonicalBase { what, value } => {
                write!(f, "host {what} base {value:#x} is not canonical")
            }
            Self::TrOutsideGdt {
                selector,
                gdt_limit,
            } => write!(
                f,
                "host TR selector {selector:#x} lies outside the GDT (limit {gdt_limit:#x})"
            ),
        }
    }
}

/// Whether `addr` is canonical for 48-bit linear addresses.
///
/// 57-bit (LA57) hosts are accepted too when bits 63:57 are a sign extension of bit 56 and
/// `la57` is set.
pub const fn is_canonical(addr: u64, la57: bool) -> bool {
    vmx_insn::is_canonical(addr, if la57 { 57 } else { 48 })
}

/// The selectors the host runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostSelectors {
    /// CS.
    pub cs: u16,
    /// SS.
    pub ss: u16,
    /// DS.
    pub ds: u16,
    /// ES.
    pub es: u16,
    /// FS.
    pub fs: u16,
    /// GS.
    pub gs: u16,
    /// TR.
    pub tr: u16,
}

/// Checks the host selectors (SDM §27.2.3): RPL and TI 0 everywhere; CS and TR not 0.
/// SS, DS, ES, FS and GS may be 0 (64-bit host).
pub fn check_host_selectors(s: &HostSelectors) -> Result<(), HostStateError> {
    let all = [
        (HostSegment::Cs, s.cs),
        (HostSegment::Ss, s.ss),
        (HostSegment::Ds, s.ds),
        (HostSegment::Es, s.es),
        (HostSegment::Fs, s.fs),
        (HostSegment::Gs, s.gs),
        (HostSegment::Tr, s.tr),
    ];
    for (segment, selector) in all {
        if selector & 0b111 != 0 {
            return Err(HostStateError::SelectorRplTi { segment, selector });
        }
    }
    if s.cs == 0 {
        return Err(HostStateError::NullSelector {
            segment: HostSegment::Cs,
        });
    }
    if s.tr == 0 {
        return Err(HostStateError::NullSelector {
            segment: HostSegment::Tr,
        });
    }
    Ok(())
}

/// The base address of the 64-bit TSS descriptor (a 16-byte system descriptor, SDM Vol. 3A
/// §8.2.3) whose two quadwords are `low` and `high`.
pub const fn tss_descriptor_base(low: u64, high: u64) -> u64 {
    ((low >> 16) & 0xFF_FFFF) | (((low >> 56) & 0xFF) << 24) | ((high & 0xFFFF_FFFF) << 32)
}
