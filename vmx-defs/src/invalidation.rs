//! INVEPT and INVVPID operands (SDM Vol. 3C §31.3 "VMX Instructions": INVEPT, INVVPID;
//! §29.4.3 "Invalidating Cached Translation Information").
//!
//! Both instructions take a type in a register and a 128-bit descriptor in memory.

use crate::capabilities::EptVpidCap;
use crate::ept::Eptp;
use core::fmt;
use core::mem::size_of;

/// The INVEPT type (register operand; SDM Vol. 3C §31.3 INVEPT, §29.4.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum InveptType {
    /// 1: single-context: invalidates mappings tagged with the descriptor's EPTP.
    SingleContext = 1,
    /// 2: all-context: invalidates mappings of every EPTP.
    AllContext = 2,
}

impl InveptType {
    /// Decodes a register value; `None` for anything but 1 and 2 (INVEPT fails with
    /// VM-instruction error 28 on those).
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        match raw {
            1 => Some(Self::SingleContext),
            2 => Some(Self::AllContext),
            _ => None,
        }
    }

    /// The register value.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn raw(self) -> u64 {
        self as u64
    }

    /// Whether `caps` reports this type (IA32_VMX_EPT_VPID_CAP bits 25, 26; SDM Vol. 3D
    /// §A.10).
    pub const fn is_supported(self, caps: EptVpidCap) -> bool {
        caps.contains(EptVpidCap::INVEPT)
            && match self {
                Self::SingleContext => caps.contains(EptVpidCap::INVEPT_SINGLE_CONTEXT),
                Self::AllContext => caps.contains(EptVpidCap::INVEPT_ALL_CONTEXT),
            }
    }
}

/// The INVEPT descriptor (SDM Vol. 3C §31.3 INVEPT, Figure "INVEPT Descriptor"): bits
/// 63:0 the EPTP, bits 127:64 reserved (must be 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct InveptDescriptor {
    eptp: u64,
    reserved: u64,
}

const _: () = assert!(size_of::<InveptDescriptor>() == 16);

impl InveptDescriptor {
    /// A descriptor for single-context INVEPT of `eptp`.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn new(eptp: Eptp) -> Self {
        Self {
            eptp: eptp.raw(),
            reserved: 0,
        }
    }

    /// A descriptor for all-context INVEPT (the EPTP is not used; it is 0 here).
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn all_context() -> Self {
        Self {
            eptp: 0,
            reserved: 0,
        }
    }

    /// Bits 63:0: the EPTP.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn eptp(&self) -> Eptp {
        Eptp::from_raw(self.eptp)
    }

    /// The two quadwords as the processor reads them.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn raw(&self) -> [u64; 2] {
        [self.eptp, self.reserved]
    }
}

/// The INVVPID type (register operand; SDM Vol. 3C §31.3 INVVPID, §29.4.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum InvvpidType {
    /// 0: individual-address: mappings of one linear address for one VPID.
    IndividualAddress = 0,
    /// 1: single-context: all mappings tagged with one VPID.
    SingleContext = 1,
    /// 2: all-context: mappings of every VPID except 0.
    AllContext = 2,
    /// 3: single-context, retaining global translations.
    SingleContextRetainingGlobals = 3,
}

impl InvvpidType {
    /// Decodes a register value; `None` above 3 (INVVPID fails with VM-instruction error
    /// 28 on those).
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        match raw {
            0 => Some(Self::IndividualAddress),
            1 => Some(Self::SingleContext),
            2 => Some(Self::AllContext),
            3 => Some(Self::SingleContextRetainingGlobals),
            _ => None,
        }
    }

    /// The register value.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn raw(self) -> u64 {
        self as u64
    }

    /// Whether this type needs a VPID other than 0 in the descriptor (every type but
    /// all-context).
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn needs_vpid(self) -> bool {
        !matches!(self, Self::AllContext)
    }

    /// Whether `caps` reports this type (IA32_VMX_EPT_VPID_CAP bits 40-43; SDM Vol. 3D
    /// §A.10).
    pub const fn is_supported(self, caps: EptVpidCap) -> bool {
        caps.contains(EptVpidCap::INVVPID)
            && match self {
                Self::IndividualAddress => caps.contains(EptVpidCap::INVVPID_INDIVIDUAL_ADDRESS),
                Self::SingleContext => caps.contains(EptVpidCap::INVVPID_SINGLE_CONTEXT),
                Self::AllContext => caps.contains(EptVpidCap::INVVPID_ALL_CONTEXT),
                Self::SingleContextRetainingGlobals => {
                    caps.contains(EptVpidCap::INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS)
                }
            }
    }
}

/// Why an INVVPID descriptor would make INVVPID fail with VM-instruction error 28 (SDM
/// Vol. 3C §31.3 INVVPID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvvpidError {
    /// VPID 0 (the VMM's own) is not allowed for this type.
    VpidZero {
        /// The type requested.
        ty: InvvpidType,
    },
    /// The linear address of an individual-address invalidation is not canonical.
    NonCanonicalAddress {
        /// The address given.
        address: u64,
        /// The linear-address width it was checked against.
        width: u8,
    },
    /// The linear-address width is neither 48 (4-level paging) nor 57 (5-level paging).
    InvalidAddressWidth {
        /// The width given.
        width: u8,
    },
}

impl fmt::Display for InvvpidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::VpidZero { ty } => write!(f, "INVVPID type {ty:?} needs a VPID other than 0"),
            Self::NonCanonicalAddress { address, width } => {
                write!(
                    f,
                    "linear address {address:#x} is not {width}-bit canonical"
                )
            }
            Self::InvalidAddressWidth { width } => {
                write!(f, "linear-address width {width} is neither 48 nor 57")
            }
        }
    }
}

impl core::error::Error for InvvpidError {}

/// Whether `address` is canonical for a `width`-bit linear-address space (bits 63:width-1
/// all equal; SDM Vol. 1 §3.3.7.1). `width` must be 1..=64.
const fn is_canonical(address: u64, width: u8) -> bool {
    let shift = 64 - width as u32;
    (((address << shift) as i64) >> shift) as u64 == address
}

/// The INVVPID descriptor (SDM Vol. 3C §31.3 INVVPID, Figure "INVVPID Descriptor"): bits
/// 15:0 the VPID, bits 63:16 reserved (must be 0), bits 127:64 the linear address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct InvvpidDescriptor {
    vpid: u64,
    linear_address: u64,
}

const _: () = assert!(size_of::<InvvpidDescriptor>() == 16);

impl InvvpidDescriptor {
    /// A descriptor for `ty`, checked as INVVPID checks it: a VPID other than 0 for every
    /// type but all-context, and for individual-address a `linear_address` canonical in a
    /// `linear_address_width`-bit space (48, or 57 with 5-level paging). The address is
    /// kept only for individual-address (other types ignore it; it is 0 there).
    ///
    /// SDM Vol. 3C §31.3.
    pub fn new(
        ty: InvvpidType,
        vpid: u16,
        linear_address: u64,
        linear_address_width: u8,
    ) -> Result<Self, InvvpidError> {
        if ty.needs_vpid() && vpid == 0 {
            return Err(InvvpidError::VpidZero { ty });
        }
        let mut address = 0;
        if ty == InvvpidType::IndividualAddress {
            if !matches!(linear_address_width, 48 | 57) {
                return Err(InvvpidError::InvalidAddressWidth {
                    width: linear_address_width,
                });
            }
            if !is_canonical(linear_address, linear_address_width) {
                return Err(InvvpidError::NonCanonicalAddress {
                    address: linear_address,
                    width: linear_address_width,
                });
            }
            address = linear_address;
        }
        Ok(Self {
            vpid: vpid as u64,
            linear_address: address,
        })
    }

    /// Individual-address invalidation of `linear_address` for `vpid` (see
    /// [`InvvpidDescriptor::new`]).
    ///
    /// SDM Vol. 3C §31.3.
    pub fn individual_address(
        vpid: u16,
        linear_address: u64,
        linear_address_width: u8,
    ) -> Result<Self, InvvpidError> {
        Self::new(
            InvvpidType::IndividualAddress,
            vpid,
            linear_address,
            linear_address_width,
        )
    }

    /// Single-context invalidation for `vpid` (not 0).
    ///
    /// SDM Vol. 3C §31.3.
    pub fn single_context(vpid: u16) -> Result<Self, InvvpidError> {
        Self::new(InvvpidType::SingleContext, vpid, 0, 48)
    }

    /// Single-context invalidation for `vpid` (not 0), retaining global translations.
    ///
    /// SDM Vol. 3C §31.3.
    pub fn single_context_retaining_globals(vpid: u16) -> Result<Self, InvvpidError> {
        Self::new(InvvpidType::SingleContextRetainingGlobals, vpid, 0, 48)
    }

    /// All-context invalidation (every VPID except 0; the descriptor is all zero).
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn all_context() -> Self {
        Self {
            vpid: 0,
            linear_address: 0,
        }
    }

    /// Bits 15:0: the VPID.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn vpid(&self) -> u16 {
        self.vpid as u16
    }

    /// Bits 127:64: the linear address.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn linear_address(&self) -> u64 {
        self.linear_address
    }

    /// The two quadwords as the processor reads them.
    ///
    /// SDM Vol. 3C §31.3.
    pub const fn raw(&self) -> [u64; 2] {
        [self.vpid, self.linear_address]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn types_round_trip() {
        for raw in 0..8u64 {
            if let Some(t) = InveptType::from_raw(raw) {
                assert_eq!(t.raw(), raw);
            }
            if let Some(t) = InvvpidType::from_raw(raw) {
                assert_eq!(t.raw(), raw);
            }
        }
        assert_eq!(InveptType::from_raw(0), None);
        assert_eq!(InveptType::from_raw(3), None);
        assert_eq!(InvvpidType::from_raw(4), None);
    }

    #[test]
    fn support_follows_capabilities() {
        // corei7_icelake_u (../shared/bochs/models.tsv).
        let caps = EptVpidCap::from_bits_retain(0x0000_0f01_0633_4141);
        assert!(InveptType::SingleContext.is_supported(caps));
        assert!(InveptType::AllContext.is_supported(caps));
        for t in 0..4 {
            let t = InvvpidType::from_raw(t).unwrap();
            assert!(t.is_supported(caps));
            assert!(!t.is_supported(EptVpidCap::empty()));
        }
        assert!(!InveptType::AllContext.is_supported(EptVpidCap::INVEPT_ALL_CONTEXT));
    }

    #[test]
    fn descriptors() {
        let eptp = Eptp::from_raw(0x1234_501e);
        assert_eq!(InveptDescriptor::new(eptp).raw(), [0x1234_501e, 0]);
        assert_eq!(InveptDescriptor::new(eptp).eptp(), eptp);
        assert_eq!(InveptDescriptor::all_context().raw(), [0, 0]);
        let d = InvvpidDescriptor::individual_address(7, 0xffff_8000_0000_1000, 48).unwrap();
        assert_eq!(d.raw(), [7, 0xffff_8000_0000_1000]);
        assert_eq!((d.vpid(), d.linear_address()), (7, 0xffff_8000_0000_1000));
        assert_eq!(InvvpidDescriptor::single_context(1).unwrap().raw(), [1, 0]);
        assert_eq!(
            InvvpidDescriptor::single_context_retaining_globals(0xffff)
                .unwrap()
                .raw(),
            [0xffff, 0]
        );
        assert_eq!(InvvpidDescriptor::all_context().raw(), [0, 0]);
        assert_eq!(
            InvvpidDescriptor::new(InvvpidType::AllContext, 0, 0xdead, 48)
                .unwrap()
                .raw(),
            [0, 0]
        );
    }

    #[test]
    fn invvpid_rejects_each_forbidden_combination() {
        for t in [
            InvvpidType::IndividualAddress,
            InvvpidType::SingleContext,
            InvvpidType::SingleContextRetainingGlobals,
        ] {
            assert_eq!(
                InvvpidDescriptor::new(t, 0, 0, 48),
                Err(InvvpidError::VpidZero { ty: t })
            );
        }
        assert_eq!(
            InvvpidDescriptor::individual_address(1, 0x0000_8000_0000_0000, 48),
            Err(InvvpidError::NonCanonicalAddress {
                address: 0x0000_8000_0000_0000,
                width: 48
            })
        );
        assert!(InvvpidDescriptor::individual_address(1, 0x0000_8000_0000_0000, 57).is_ok());
        assert_eq!(
            InvvpidDescriptor::individual_address(1, 0x0100_0000_0000_0000, 57),
            Err(InvvpidError::NonCanonicalAddress {
                address: 0x0100_0000_0000_0000,
                width: 57
            })
        );
        for width in [0u8, 32, 47, 64, 255] {
            assert_eq!(
                InvvpidDescriptor::individual_address(1, 0, width),
                Err(InvvpidError::InvalidAddressWidth { width })
            );
        }
    }

    proptest! {
        #[test]
        fn descriptor_constructors_are_total(ty in 0u64..4, vpid in any::<u16>(), addr in any::<u64>(), width in any::<u8>()) {
            let Some(ty) = InvvpidType::from_raw(ty) else { return Ok(()) };
            if let Ok(d) = InvvpidDescriptor::new(ty, vpid, addr, width) {
                prop_assert_eq!(d.vpid(), vpid);
                prop_assert!(vpid != 0 || !ty.needs_vpid());
                prop_assert_eq!(d.raw()[0] >> 16, 0);
                if ty == InvvpidType::IndividualAddress {
                    prop_assert_eq!(d.linear_address(), addr);
                    let top = addr >> (width - 1);
                    prop_assert!(top == 0 || top == u64::MAX >> (width - 1));
                }
            }
        }

        #[test]
        fn type_decoders_are_total(raw in any::<u64>()) {
            prop_assert_eq!(InveptType::from_raw(raw).is_some(), raw == 1 || raw == 2);
            prop_assert_eq!(InvvpidType::from_raw(raw).is_some(), raw <= 3);
        }
    }
}
