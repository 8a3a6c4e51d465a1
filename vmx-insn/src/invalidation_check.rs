//! The operand checks of INVEPT and INVVPID as pure functions (SDM Vol. 3C §31.3
//! "INVEPT", "INVVPID"): each condition under which the processor would answer
//! VMfailValid 28 that software can see from the operands and the capability MSR.

use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::invalidation::{InveptDescriptor, InveptType, InvvpidDescriptor, InvvpidType};

use crate::address::{PhysAddrWidth, is_canonical};
use crate::error::InsnError;

/// The pure operand checks of `invept` (SDM Vol. 3C §31.3 "INVEPT"): `ty` is reported
/// in `caps` (bit 20 and bit 25 or 26), and for single-context the descriptor's EPTP
/// passes [`vmx_defs::ept::Eptp::check`] for `caps` and `width` (the processor's
/// single-context check is the VM-entry check on an EPTP, SDM Vol. 3C §27.2.1.1).
pub fn check_invept(
    ty: InveptType,
    descriptor: &InveptDescriptor,
    caps: EptVpidCap,
    width: PhysAddrWidth,
) -> Result<(), InsnError> {
    if !ty.is_supported(caps) {
        return Err(InsnError::UnsupportedInveptType { ty: ty.raw() });
    }
    if ty == InveptType::SingleContext {
        let eptp = descriptor.eptp();
        eptp.check(caps, width.bits())
            .map_err(|reason| InsnError::InvalidEptp {
                eptp: eptp.raw(),
                reason,
            })?;
    }
    Ok(())
}

/// The pure operand checks of `invvpid` (SDM Vol. 3C §31.3 "INVVPID"): `ty` is reported
/// in `caps` (bit 32 and one of bits 40-43), the VPID is not 0 unless `ty` is
/// all-context, and for individual-address the linear address is canonical for
/// `linear_bits` linear-address bits.
pub fn check_invvpid(
    ty: InvvpidType,
    descriptor: &InvvpidDescriptor,
    caps: EptVpidCap,
    linear_bits: u8,
) -> Result<(), InsnError> {
    if !ty.is_supported(caps) {
        return Err(InsnError::UnsupportedInvvpidType { ty: ty.raw() });
    }
    if ty.needs_vpid() && descriptor.vpid() == 0 {
        return Err(InsnError::ZeroVpid { ty: ty.raw() });
    }
    let addr = descriptor.linear_address();
    if ty == InvvpidType::IndividualAddress && !is_canonical(addr, linear_bits) {
        return Err(InsnError::NonCanonicalAddress { addr });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use vmx_defs::ept::{Eptp, EptpError};

    use super::*;

    /// IA32_VMX_EPT_VPID_CAP of Bochs's corei7_icelake_u model.
    const ICELAKE: EptVpidCap = EptVpidCap::from_bits_retain(0x0000_0f01_0633_4141);
    /// corei7_sandy_bridge_2600k: no A/D flags, no 1-GByte pages.
    const SANDY: EptVpidCap = EptVpidCap::from_bits_retain(0x0000_0f01_0611_4141);

    fn width(bits: u8) -> PhysAddrWidth {
        match PhysAddrWidth::new(bits) {
            Ok(w) => w,
            Err(e) => panic!("{e}"),
        }
    }

    fn desc(vpid: u16, addr: u64) -> InvvpidDescriptor {
        match InvvpidDescriptor::new(InvvpidType::IndividualAddress, vpid, addr, 57) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn invept_types_follow_caps() {
        let all = InveptDescriptor::all_context();
        assert_eq!(
            check_invept(InveptType::AllContext, &all, ICELAKE, width(39)),
            Ok(())
        );
        assert_eq!(
            check_invept(InveptType::AllContext, &all, EptVpidCap::empty(), width(39)),
            Err(InsnError::UnsupportedInveptType { ty: 2 })
        );
        // Type bit without the INVEPT bit 20 is not support.
        let no_invept = ICELAKE.difference(EptVpidCap::INVEPT);
        assert_eq!(
            check_invept(InveptType::AllContext, &all, no_invept, width(39)),
            Err(InsnError::UnsupportedInveptType { ty: 2 })
        );
        let single_only = ICELAKE.difference(EptVpidCap::INVEPT_ALL_CONTEXT);
        assert_eq!(
            check_invept(InveptType::AllContext, &all, single_only, width(39)),
            Err(InsnError::UnsupportedInveptType { ty: 2 })
        );
    }

    #[test]
    fn invept_single_context_checks_the_eptp() {
        // WB (6), 4 levels (3 << 3), root 0x5000.
        let good = InveptDescriptor::new(Eptp::from_raw(0x5000 | 3 << 3 | 6));
        assert_eq!(
            check_invept(InveptType::SingleContext, &good, ICELAKE, width(39)),
            Ok(())
        );
        // The all-context descriptor holds EPTP 0: memory type UC, walk length 1.
        let zero = InveptDescriptor::all_context();
        assert!(matches!(
            check_invept(InveptType::SingleContext, &zero, ICELAKE, width(39)),
            Err(InsnError::InvalidEptp { eptp: 0, .. })
        ));
        // A/D requested on a processor without them.
        let ad = InveptDescriptor::new(Eptp::from_raw(0x5000 | 1 << 6 | 3 << 3 | 6));
        assert_eq!(
            check_invept(InveptType::SingleContext, &ad, ICELAKE, width(39)),
            Ok(())
        );
        assert_eq!(
            check_invept(InveptType::SingleContext, &ad, SANDY, width(39)),
            Err(InsnError::InvalidEptp {
                eptp: 0x505e,
                reason: EptpError::AccessedDirtyUnsupported
            })
        );
        // Root beyond the physical-address width.
        let wide = InveptDescriptor::new(Eptp::from_raw(1 << 40 | 3 << 3 | 6));
        assert!(matches!(
            check_invept(InveptType::SingleContext, &wide, ICELAKE, width(39)),
            Err(InsnError::InvalidEptp {
                reason: EptpError::RootBeyondPhysicalWidth { .. },
                ..
            })
        ));
        // All-context ignores the EPTP.
        assert_eq!(
            check_invept(InveptType::AllContext, &wide, ICELAKE, width(39)),
            Ok(())
        );
    }

    #[test]
    fn invvpid_types_follow_caps() {
        let all = InvvpidDescriptor::all_context();
        for ty in [
            InvvpidType::IndividualAddress,
            InvvpidType::SingleContext,
            InvvpidType::AllContext,
            InvvpidType::SingleContextRetainingGlobals,
        ] {
            assert_eq!(
                check_invvpid(ty, &desc(1, 0x1000), EptVpidCap::empty(), 48),
                Err(InsnError::UnsupportedInvvpidType { ty: ty.raw() })
            );
            assert_eq!(
                check_invvpid(
                    ty,
                    &desc(1, 0x1000),
                    ICELAKE.difference(EptVpidCap::INVVPID),
                    48
                ),
                Err(InsnError::UnsupportedInvvpidType { ty: ty.raw() })
            );
            assert_eq!(check_invvpid(ty, &desc(1, 0x1000), ICELAKE, 48), Ok(()));
            let expected = if ty == InvvpidType::AllContext {
                Ok(())
            } else {
                Err(InsnError::ZeroVpid { ty: ty.raw() })
            };
            assert_eq!(check_invvpid(ty, &all, ICELAKE, 48), expected);
        }
    }

    #[test]
    fn invvpid_individual_address_must_be_canonical() {
        // Built for a 57-bit processor, used on a 48-bit one.
        let d = desc(7, 0x0080_0000_0000_0000);
        assert_eq!(
            check_invvpid(InvvpidType::IndividualAddress, &d, ICELAKE, 48),
            Err(InsnError::NonCanonicalAddress {
                addr: 0x0080_0000_0000_0000
            })
        );
        assert_eq!(
            check_invvpid(InvvpidType::IndividualAddress, &d, ICELAKE, 57),
            Ok(())
        );
        // Other types ignore the address.
        assert_eq!(
            check_invvpid(InvvpidType::SingleContext, &d, ICELAKE, 48),
            Ok(())
        );
        let kernel = desc(7, 0xffff_8000_0000_1000);
        assert_eq!(
            check_invvpid(InvvpidType::IndividualAddress, &kernel, ICELAKE, 48),
            Ok(())
        );
    }
}
