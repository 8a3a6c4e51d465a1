//! Typed VMCS fields: the encoding plus, in the type, the field's width and whether
//! VMWRITE may write it (SDM Vol. 3C §25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS
//! Fields", Vol. 3D Appendix B "Field Encoding in VMCS").

use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;

use super::encoding::{AccessType, FieldType, FieldWidth, VmcsEncoding};
use crate::capabilities::VmxMisc;

mod sealed {
    /// Keeps [`super::Width`] and [`super::Access`] to the marker types of this module.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub trait Sealed {}
}

/// Width of a VMCS field in the type system (SDM Vol. 3C §25.11.2, encoding bits 14:13).
///
/// Implemented by [`W16`], [`W32`], [`W64`] and [`WNat`] only (sealed).
pub trait Width: sealed::Sealed + Copy + fmt::Debug + 'static {
    /// The Rust type of the field's value: `u16`, `u32`, `u64`, or `u64` for
    /// natural-width fields (this crate targets Intel 64 processors, SDM Vol. 3C §25.11.2).
    type Value: Copy;
    /// The width the encoding names.
    const WIDTH: FieldWidth;
}

/// Whether VMWRITE may write a VMCS field, in the type system (SDM Vol. 3C §25.11.2).
///
/// Implemented by [`ReadWrite`] and [`ReadOnly`] only (sealed).
pub trait Access: sealed::Sealed + Copy + fmt::Debug + 'static {
    /// `true` for [`ReadWrite`].
    const WRITABLE: bool;
}

/// A 16-bit field (encoding width 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §25.11.2.
pub enum W16 {}
/// A 32-bit field (encoding width 2), or the high access of a 64-bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §25.11.2.
pub enum W32 {}
/// A 64-bit field (encoding width 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §25.11.2.
pub enum W64 {}
/// A natural-width field (encoding width 3): 64 bits on Intel 64 processors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §25.11.2.
pub enum WNat {}

/// A field VMREAD and VMWRITE both accept: control, guest-state and host-state fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///
/// SDM Vol. 3C §25.11.2.
pub enum ReadWrite {}
/// A VM-exit information field ("read-only data", encoding type 1, SDM Vol. 3C §25.9):
/// VMREAD only, unless IA32_VMX_MISC bit 29 is 1 (see [`Field::as_writable_if_misc29`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadOnly {}

impl sealed::Sealed for W16 {}
impl sealed::Sealed for W32 {}
impl sealed::Sealed for W64 {}
impl sealed::Sealed for WNat {}
impl sealed::Sealed for ReadWrite {}
impl sealed::Sealed for ReadOnly {}

impl Width for W16 {
    type Value = u16;
    const WIDTH: FieldWidth = FieldWidth::Bits16;
}
impl Width for W32 {
    type Value = u32;
    const WIDTH: FieldWidth = FieldWidth::Bits32;
}
impl Width for W64 {
    type Value = u64;
    const WIDTH: FieldWidth = FieldWidth::Bits64;
}
impl Width for WNat {
    type Value = u64;
    const WIDTH: FieldWidth = FieldWidth::Natural;
}
impl Access for ReadWrite {
    const WRITABLE: bool = true;
}
impl Access for ReadOnly {
    const WRITABLE: bool = false;
}

/// A VMCS field with its width and access in the type: `vmx-insn`'s
/// `vmwrite<W: Width>(Field<W, ReadWrite>, W::Value)` accepts no read-only field, and
/// `vmread` returns `W::Value` (SDM Vol. 3C §25.11.2).
///
/// Only this crate creates fields (the constants in [`fields`](super::fields)), and each
/// constant's width and access are checked against its encoding at compile time, so a
/// `Field<W, A>` always agrees with its encoding: `W::WIDTH == encoding().width()` (or
/// [`W32`] for the high access of a 64-bit field) and `A` is [`ReadOnly`] exactly for
/// VM-exit information fields. For any other encoding, use the raw
/// `vmread_raw`/`vmwrite_raw` of `vmx-insn` with a [`VmcsEncoding`].
pub struct Field<W: Width, A: Access> {
    encoding: VmcsEncoding,
    marker: PhantomData<(W, A)>,
}

impl<W: Width, A: Access> Field<W, A> {
    /// Creates the typed field for `raw`. Private to the crate so that a read-write field
    /// cannot be forged for a read-only encoding.
    pub(crate) const fn new(raw: u32) -> Self {
        Self {
            encoding: VmcsEncoding(raw),
            marker: PhantomData,
        }
    }

    /// Whether `raw` is a well-formed full-access encoding whose width is `W` and whose
    /// type is read-only exactly when `A` is [`ReadOnly`]: the compile-time check of the
    /// field list.
    pub(crate) const fn agrees_with(raw: u32) -> bool {
        let encoding = VmcsEncoding(raw);
        encoding.is_valid()
            && matches!(encoding.access_type(), AccessType::Full)
            && encoding.width().bits() == W::WIDTH.bits()
            && (matches!(encoding.field_type(), FieldType::VmExitInformation) != A::WRITABLE)
    }

    /// The field's encoding.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn encoding(self) -> VmcsEncoding {
        self.encoding
    }

    /// The field's raw 32-bit encoding, the operand of VMREAD/VMWRITE.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn raw(self) -> u32 {
        self.encoding.0
    }

    /// The width of the field (the same as `W::WIDTH`, except [`W32`] for a high access).
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn width(self) -> FieldWidth {
        W::WIDTH
    }

    /// Whether VMWRITE may write the field without IA32_VMX_MISC bit 29.
    ///
    /// SDM Vol. 3C §25.11.2.
    pub const fn is_writable(self) -> bool {
        A::WRITABLE
    }
}

impl<A: Access> Field<W64, A> {
    /// The high access of this 64-bit field: bits 63:32 as a 32-bit value (encoding bit 0
    /// set; SDM Vol. 3C §25.11.2). Needed only by 32-bit software or to touch one half.
    pub const fn high(self) -> Field<W32, A> {
        Field {
            encoding: VmcsEncoding(self.encoding.0 | 1),
            marker: PhantomData,
        }
    }
}

impl<W: Width> Field<W, ReadOnly> {
    /// Escape hatch: the same VM-exit information field, typed as writable, if the
    /// processor allows it.
    ///
    /// VMWRITE to a VM-exit information field fails (VM-instruction error 13, "VMWRITE to
    /// read-only VMCS component") unless IA32_VMX_MISC bit 29 is 1: "software can use
    /// VMWRITE to write to any supported field in the VMCS" (SDM Vol. 3D §A.6; SDM Vol. 3C
    /// §25.11.2). Pass IA32_VMX_MISC as read on this processor
    /// ([`VmxCapabilities::misc`](crate::capabilities::VmxCapabilities::misc)); the result is
    /// `None` when bit 29 is 0. Nested hypervisors use this to write VM-exit information
    /// into a shadow VMCS. Without the capability value at hand, `vmx-insn`'s raw
    /// `vmwrite_raw` takes any encoding and reports the processor's VMfail.
    pub const fn as_writable_if_misc29(self, misc: VmxMisc) -> Option<Field<W, ReadWrite>> {
        if misc.vmwrite_any_field() {
            Some(Field {
                encoding: self.encoding,
                marker: PhantomData,
            })
        } else {
            None
        }
    }
}

impl<W: Width, A: Access> Clone for Field<W, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<W: Width, A: Access> Copy for Field<W, A> {}

impl<W: Width, A: Access> PartialEq for Field<W, A> {
    fn eq(&self, other: &Self) -> bool {
        self.encoding == other.encoding
    }
}

impl<W: Width, A: Access> Eq for Field<W, A> {}

impl<W: Width, A: Access> Hash for Field<W, A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.encoding.hash(state);
    }
}

impl<W: Width, A: Access> fmt::Debug for Field<W, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field({} = {:#06x})", self.encoding, self.encoding.0)
    }
}

impl<W: Width, A: Access> fmt::Display for Field<W, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.encoding, f)
    }
}

impl<W: Width, A: Access> From<Field<W, A>> for VmcsEncoding {
    fn from(field: Field<W, A>) -> Self {
        field.encoding
    }
}
