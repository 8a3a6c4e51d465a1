//! What CPUID returns to the guest (SDM Vol. 2A, CPUID; Vol. 3C §26.1.2: CPUID always
//! causes a VM exit in VMX non-root operation).
//!
//! Leaves 0x4000_0000-0x4000_00FF are the hypervisor's: 0x4000_0000 returns the highest
//! hypervisor leaf and the signature, the others zeros. Every other leaf is the real
//! processor's answer, filtered so that the guest is not told about what it cannot use:
//! - leaf 1 ECX: VMX (bit 5) cleared (no nested VMX), hypervisor-present (bit 31) set;
//!   SMX (bit 6) cleared; x2APIC (bit 21) and TSC-deadline (bit 24) cleared (the guest has
//!   no interrupt controller); MONITOR/MWAIT (bit 3) cleared.
//! - leaf 1 EBX: the initial APIC ID (bits 31:24) zeroed, one logical processor.
//! - leaves 4 and 0xB/0x1F (topology): passed through.
//!
//! [`guest_view`] is the example guest's view. A Linux guest gets [`linux_view`], a
//! deliberate policy for the platform of `crate::platform` (see its documentation).

use example_guest::abi::{
    CPUID_1_ECX_HYPERVISOR, CPUID_HYPERVISOR_LEAF, CPUID_HYPERVISOR_MAX_LEAF, HYPERVISOR_SIGNATURE,
};

/// The four CPUID output registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidRegisters {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

const LEAF1_ECX_MONITOR: u32 = 1 << 3;
const LEAF1_ECX_VMX: u32 = 1 << 5;
const LEAF1_ECX_SMX: u32 = 1 << 6;
const LEAF1_ECX_X2APIC: u32 = 1 << 21;
const LEAF1_ECX_TSC_DEADLINE: u32 = 1 << 24;
/// Last leaf of the range reserved for hypervisors that this hypervisor answers itself.
const HYPERVISOR_RANGE_END: u32 = 0x4000_00FF;

/// Whether the hypervisor answers `leaf` itself (without asking the processor).
pub const fn is_hypervisor_leaf(leaf: u32) -> bool {
    leaf >= CPUID_HYPERVISOR_LEAF && leaf <= HYPERVISOR_RANGE_END
}

/// The signature leaf's answer.
pub fn signature() -> CpuidRegisters {
    let word = |i: usize| {
        let mut b = [0u8; 4];
        if let Some(s) = HYPERVISOR_SIGNATURE.get(i * 4..i * 4 + 4) {
            b.copy_from_slice(s);
        }
        u32::from_le_bytes(b)
    };
    CpuidRegisters {
        eax: CPUID_HYPERVISOR_MAX_LEAF,
        ebx: word(0),
        ecx: word(1),
        edx: word(2),
    }
}

/// The guest's answer for `leaf`, given the processor's answer `real` (ignored for the
/// hypervisor leaves).
pub fn guest_view(leaf: u32, real: CpuidRegisters) -> CpuidRegisters {
    if leaf == CPUID_HYPERVISOR_LEAF {
        return signature();
    }
    if is_hypervisor_leaf(leaf) {
        return CpuidRegisters::default();
    }
    let mut out = real;
    if leaf == 1 {
        out.ecx &= !(LEAF1_ECX_MONITOR
            | LEAF1_ECX_VMX
            | LEAF1_ECX_SMX
            | LEAF1_ECX_X2APIC
            | LEAF1_ECX_TSC_DEADLINE);
        out.ecx |= CPUID_1_ECX_HYPERVISOR;
        out.ebx &= 0x00FF_FFFF;
    }
    out
}

pub mod linux;
pub use linux::{
    CpuidPolicy, LINUX_HYPERVISOR_MAX_LEAF, LINUX_MAX_BASIC_LEAF, LINUX_MAX_EXTENDED_LEAF,
    linux_view,
};

impl From<baremetal::cpu::CpuidResult> for CpuidRegisters {
    fn from(r: baremetal::cpu::CpuidResult) -> Self {
        Self {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_spells_the_abi_signature() {
        let s = guest_view(CPUID_HYPERVISOR_LEAF, CpuidRegisters::default());
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&s.ebx.to_le_bytes());
        bytes[4..8].copy_from_slice(&s.ecx.to_le_bytes());
        bytes[8..].copy_from_slice(&s.edx.to_le_bytes());
        assert_eq!(bytes, HYPERVISOR_SIGNATURE);
        assert_eq!(s.eax, CPUID_HYPERVISOR_MAX_LEAF);
        assert_eq!(
            guest_view(
                0x4000_0001,
                CpuidRegisters {
                    eax: 7,
                    ..Default::default()
                }
            ),
            CpuidRegisters::default()
        );
    }

    #[test]
    fn leaf_one_is_filtered() {
        let real = CpuidRegisters {
            eax: 0x906EA,
            ebx: 0x0310_0800,
            ecx: !CPUID_1_ECX_HYPERVISOR,
            edx: 0xBFEB_FBFF,
        };
        let v = guest_view(1, real);
        assert_eq!(v.ecx & LEAF1_ECX_VMX, 0);
        assert_ne!(v.ecx & CPUID_1_ECX_HYPERVISOR, 0);
        assert_eq!(v.ebx >> 24, 0);
        assert_eq!((v.eax, v.edx), (real.eax, real.edx));
        assert_eq!(guest_view(0, real), real);
    }
}
