//! VMCS fields: encodings, typed field constants, the table of all fields and when each
//! exists (SDM Vol. 3C §25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS Fields", Vol. 3D Appendix B
//! "Field Encoding in VMCS").
//!
//! - [`VmcsEncoding`]: any 32-bit encoding, decoded into [`AccessType`], index,
//!   [`FieldType`] and [`FieldWidth`]; `Display` prints the field name when known.
//! - [`Field<W, A>`](Field): a field typed by its width ([`W16`], [`W32`], [`W64`],
//!   [`WNat`]) and access ([`ReadWrite`], [`ReadOnly`]), so that `vmx-insn` can refuse
//!   VMWRITE to a read-only field at compile time.
//! - [`fields`]: one constant per field (`fields::GUEST_RIP`...).
//! - [`ALL_FIELDS`] and [`lookup`]: the same fields as data ([`FieldInfo`]), with
//!   [`FieldRequirement`] saying when a processor supports each.

mod encoding;
mod field;
pub mod fields;
mod info;
mod requirement;

pub use encoding::{AccessType, ComposeError, EncodingError, FieldType, FieldWidth, VmcsEncoding};
pub use field::{Access, Field, ReadOnly, ReadWrite, W16, W32, W64, WNat, Width};
pub use info::{ALL_FIELDS, FieldInfo, lookup};
pub use requirement::{CpuidFeature, FieldRequirement};
