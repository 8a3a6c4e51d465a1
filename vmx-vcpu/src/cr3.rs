//! Emulating a guest's MOV to CR3 when CR3-load exiting is on (it is forced on by
//! processors without the TRUE capability MSRs, SDM Vol. 3D §A.3.2): the checks the
//! instruction makes (SDM Vol. 2B MOV—Move to/from Control Registers; Vol. 3A §4.5, Table
//! 4-12/4-13), the value CR3 receives and whether the TLB invalidation of SDM Vol. 3A
//! §4.10.4.1 is due.

use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::invalidation::InvvpidType;

use crate::error::VmxError;

/// Bit 63 of a MOV-to-CR3 source with CR4.PCIDE = 1: "do not invalidate" (SDM Vol. 3A
/// §4.10.4.1). Never written into CR3.
pub const CR3_PCID_NO_FLUSH: u64 = 1 << 63;
/// CR3 bit 62, LAM_U48, and bit 61, LAM_U57 (linear-address masking, SDM Vol. 3A §4.4,
/// CPUID.(EAX=07H,ECX=1):EAX\[26\]); reserved without LAM.
pub const CR3_LAM_BITS: u64 = 3 << 61;

/// The guest state a MOV to CR3 depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cr3Context {
    /// IA32_EFER.LMA = 1 (the "IA-32e mode guest" VM-entry control): the operand is 64
    /// bits and bits 63:MAXPHYADDR are reserved. Outside IA-32e mode it is 32 bits.
    pub ia32e: bool,
    /// CR4.PCIDE (only settable in IA-32e mode): bits 11:0 are a PCID and source bit 63
    /// suppresses the invalidation.
    pub pcide: bool,
    /// The physical-address width (MAXPHYADDR, CPUID.80000008H:EAX\[7:0\]).
    pub maxphyaddr: u8,
    /// The processor supports LAM: CR3 bits 62:61 may be set.
    pub lam: bool,
}

/// What a MOV to CR3 does, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cr3Load {
    /// The value CR3 receives (bit 63 never set; bits 63:32 clear outside IA-32e mode).
    pub cr3: u64,
    /// Whether the instruction invalidates TLB entries and paging-structure caches (every
    /// case but CR4.PCIDE = 1 with source bit 63 set; SDM Vol. 3A §4.10.4.1). Entries for
    /// global pages are kept by the instruction; invalidating more is always allowed.
    pub invalidate: bool,
}

/// Checks a MOV-to-CR3 source `value` as the instruction does and says what it loads:
///
/// - Outside IA-32e mode the operand is 32 bits: bits 63:32 of the register are ignored.
/// - In IA-32e mode, with CR4.PCIDE = 1, bit 63 is the no-invalidate hint (SDM Vol. 3A
///   §4.10.4.1) and is not written to CR3; with CR4.PCIDE = 0 it is reserved like the
///   other bits 63:MAXPHYADDR (SDM Vol. 3A Table 4-12/4-13), except bits 62:61 when the
///   processor has LAM.
///
/// A reserved bit set is [`VmxError::InvalidCr3`]: the #GP(0) the instruction raises,
/// for the caller to inject (loaded into GUEST_CR3 it would fail the next VM entry, SDM
/// Vol. 3C §27.3.1.1).
pub const fn check_mov_to_cr3(value: u64, ctx: Cr3Context) -> Result<Cr3Load, VmxError> {
    if !ctx.ia32e {
        return Ok(Cr3Load {
            cr3: value & 0xFFFF_FFFF,
            invalidate: true,
        });
    }
    let hint = ctx.pcide && value & CR3_PCID_NO_FLUSH != 0;
    let cr3 = if ctx.pcide {
        value & !CR3_PCID_NO_FLUSH
    } else {
        value
    };
    let width = if ctx.maxphyaddr > 63 {
        63
    } else {
        ctx.maxphyaddr
    };
    let mut reserved = !((1u64 << width) - 1);
    if ctx.lam {
        reserved &= !CR3_LAM_BITS;
    }
    if cr3 & reserved != 0 {
        return Err(VmxError::InvalidCr3(value));
    }
    Ok(Cr3Load {
        cr3,
        invalidate: !hint,
    })
}

/// The INVVPID type that performs a MOV to CR3's invalidation for a VPID, by preference:
/// single-context-retaining-globals (exactly "all but global", across the VPID's PCIDs),
/// else single-context, else all-context (each invalidates a superset, which the
/// architecture allows); `None` when `caps` reports none of them (SDM Vol. 3C §29.4.3.3,
/// Vol. 3D §A.10).
pub const fn cr3_invvpid_type(caps: EptVpidCap) -> Option<InvvpidType> {
    if InvvpidType::SingleContextRetainingGlobals.is_supported(caps) {
        Some(InvvpidType::SingleContextRetainingGlobals)
    } else if InvvpidType::SingleContext.is_supported(caps) {
        Some(InvvpidType::SingleContext)
    } else if InvvpidType::AllContext.is_supported(caps) {
        Some(InvvpidType::AllContext)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LONG: Cr3Context = Cr3Context {
        ia32e: true,
        pcide: false,
        maxphyaddr: 46,
        lam: false,
    };
    const PCID: Cr3Context = Cr3Context {
        pcide: true,
        ..LONG
    };

    #[test]
    fn outside_ia32e_mode_operand_is_32_bits() {
        let ctx = Cr3Context {
            ia32e: false,
            ..LONG
        };
        assert_eq!(
            check_mov_to_cr3(0xFFFF_FFFF_1234_5000, ctx),
            Ok(Cr3Load {
                cr3: 0x1234_5000,
                invalidate: true
            })
        );
    }

    #[test]
    fn pcid_no_flush_hint() {
        assert_eq!(
            check_mov_to_cr3(CR3_PCID_NO_FLUSH | 0x1000 | 5, PCID),
            Ok(Cr3Load {
                cr3: 0x1005,
                invalidate: false
            })
        );
        assert_eq!(
            check_mov_to_cr3(0x1005, PCID),
            Ok(Cr3Load {
                cr3: 0x1005,
                invalidate: true
            })
        );
        // Without PCIDE, bit 63 is reserved.
        let v = CR3_PCID_NO_FLUSH | 0x1000;
        assert_eq!(check_mov_to_cr3(v, LONG), Err(VmxError::InvalidCr3(v)));
    }

    #[test]
    fn bits_above_maxphyaddr_reserved() {
        assert!(check_mov_to_cr3((1 << 46) - 0x1000, LONG).is_ok());
        assert_eq!(
            check_mov_to_cr3(1 << 46, LONG),
            Err(VmxError::InvalidCr3(1 << 46))
        );
        let lam = Cr3Context { lam: true, ..LONG };
        assert!(check_mov_to_cr3(CR3_LAM_BITS | 0x1000, lam).is_ok());
        assert_eq!(
            check_mov_to_cr3(CR3_LAM_BITS, LONG),
            Err(VmxError::InvalidCr3(CR3_LAM_BITS))
        );
    }

    #[test]
    fn invvpid_preference() {
        let all = EptVpidCap::INVVPID
            | EptVpidCap::INVVPID_SINGLE_CONTEXT
            | EptVpidCap::INVVPID_ALL_CONTEXT
            | EptVpidCap::INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS;
        assert_eq!(
            cr3_invvpid_type(all),
            Some(InvvpidType::SingleContextRetainingGlobals)
        );
        assert_eq!(
            cr3_invvpid_type(all - EptVpidCap::INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS),
            Some(InvvpidType::SingleContext)
        );
        assert_eq!(
            cr3_invvpid_type(EptVpidCap::INVVPID | EptVpidCap::INVVPID_ALL_CONTEXT),
            Some(InvvpidType::AllContext)
        );
        assert_eq!(cr3_invvpid_type(all - EptVpidCap::INVVPID), None);
    }

    proptest! {
        #[test]
        fn any_value_checked(value in any::<u64>(), ia32e in any::<bool>(), pcide in any::<bool>(),
                             maxphyaddr in 0u8..=255, lam in any::<bool>()) {
            let ctx = Cr3Context { ia32e, pcide, maxphyaddr, lam };
            match check_mov_to_cr3(value, ctx) {
                Ok(load) => {
                    prop_assert_eq!(load.cr3 & CR3_PCID_NO_FLUSH, 0);
                    if !ia32e {
                        prop_assert_eq!(load.cr3, value & 0xFFFF_FFFF);
                        prop_assert!(load.invalidate);
                    } else {
                        let w = u32::from(maxphyaddr.min(63));
                        let high = load.cr3 >> w;
                        let allowed = if lam { CR3_LAM_BITS >> w } else { 0 };
                        prop_assert_eq!(high & !allowed, 0);
                        prop_assert_eq!(load.invalidate, !(pcide && value >> 63 == 1));
                    }
                }
                Err(e) => {
                    prop_assert!(ia32e);
                    prop_assert_eq!(e, VmxError::InvalidCr3(value));
                }
            }
        }

        #[test]
        fn invvpid_type_is_supported(bits in any::<u64>()) {
            let caps = EptVpidCap::from_bits_retain(bits);
            if let Some(ty) = cr3_invvpid_type(caps) {
                prop_assert!(ty.is_supported(caps));
                prop_assert!(ty != InvvpidType::IndividualAddress);
            }
        }
    }
}
