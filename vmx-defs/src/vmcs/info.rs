//! The table of all VMCS fields, for lookups by encoding, dumps and logs (SDM Vol. 3D
//! Appendix B "Field Encoding in VMCS").

use super::encoding::{FieldType, FieldWidth, VmcsEncoding};
use super::requirement::FieldRequirement;
use crate::capabilities::VmxCapabilities;

/// One VMCS field: encoding, name and when it exists (SDM Vol. 3D Appendix B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    /// The full-access encoding (bit 0 clear).
    pub encoding: VmcsEncoding,
    /// The name, as the constant in [`fields`](super::fields) (e.g. `"GUEST_RIP"`).
    pub name: &'static str,
    /// When a processor supports the field (SDM Vol. 3C §25.11.2 and the section that
    /// defines the field).
    pub requirement: FieldRequirement,
}

impl FieldInfo {
    /// The width from the encoding.
    ///
    /// SDM Vol. 3D Appendix B.
    pub const fn width(&self) -> FieldWidth {
        self.encoding.width()
    }

    /// The type (control, VM-exit information, guest state, host state) from the encoding.
    ///
    /// SDM Vol. 3D Appendix B.
    pub const fn field_type(&self) -> FieldType {
        self.encoding.field_type()
    }

    /// Whether the field is a VM-exit information field (read-only unless IA32_VMX_MISC
    /// bit 29 is 1).
    ///
    /// SDM Vol. 3D Appendix B.
    pub const fn is_read_only(&self) -> bool {
        self.encoding.is_read_only()
    }

    /// Whether a processor with these capabilities supports the field
    /// ([`FieldRequirement::is_met`]).
    ///
    /// SDM Vol. 3D Appendix B.
    pub fn exists_on(&self, caps: &VmxCapabilities) -> bool {
        self.requirement.is_met(caps)
    }
}

/// Every VMCS field this crate knows, sorted by encoding (strictly increasing; checked at
/// compile time), one entry per constant of [`fields`](super::fields).
pub static ALL_FIELDS: &[FieldInfo] = super::fields::ALL;

/// The field whose full-access encoding is `raw`, or `None` (unknown, ill-formed, or a
/// high access: look up `raw & !1` for those). Total: any `u32` is accepted.
///
/// SDM Vol. 3D Appendix B.
pub fn lookup(raw: u32) -> Option<&'static FieldInfo> {
    ALL_FIELDS
        .binary_search_by_key(&raw, |info| info.encoding.0)
        .ok()
        .and_then(|index| ALL_FIELDS.get(index))
}

/// Whether `fields` is sorted by strictly increasing encoding (no duplicates).
const fn strictly_increasing(fields: &[FieldInfo]) -> bool {
    let mut i = 1;
    while i < fields.len() {
        if fields[i - 1].encoding.0 >= fields[i].encoding.0 {
            return false;
        }
        i += 1;
    }
    true
}

const _: () = assert!(
    strictly_increasing(super::fields::ALL),
    "the VMCS field list must be sorted by encoding without duplicates"
);
