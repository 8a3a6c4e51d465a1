//! Typed architectural registers a VMM reads and writes on behalf of a guest: [`Cr0`],
//! [`Cr4`], [`Efer`] and [`Xcr0`], each with the checks the processor applies when software
//! writes it (SDM Vol. 3A §2.2.1, §2.5, §2.6; Vol. 1 §13.3; Vol. 2 MOV to CR, XSETBV).
//!
//! A VMM uses them to decide whether a guest's MOV to CR0, MOV to CR4 or XSETBV would
//! raise #GP on hardware (and inject #GP instead of loading the value), and to build the
//! guest-state CR0/CR4/EFER fields. Every type keeps unknown bits (`from_bits_retain`), so
//! a raw value round-trips exactly; `all()` is the set of bits the SDM defines.

mod cr0;
mod cr4;
mod efer;
mod xcr0;

pub use cr0::{Cr0, Cr0Error, Cr0WriteContext};
pub use cr4::{Cr4, Cr4Error};
pub use efer::Efer;
pub use xcr0::{Xcr0, Xcr0Error};
