//! Entries of the VM-exit MSR-store, VM-exit MSR-load and VM-entry MSR-load areas (SDM
//! Vol. 3C §25.7.2 "VM-Exit Controls for MSRs", Table 25-15 "Format of an MSR Entry";
//! §25.8.2 "VM-Entry Controls for MSRs").

use core::mem::{align_of, size_of};

/// One 16-byte entry of an MSR load or store area (SDM Vol. 3C §25.7.2, Table 25-15):
/// bits 31:0 the MSR index, bits 63:32 reserved (must be 0), bits 127:64 the MSR data.
///
/// The areas must be 16-byte aligned (the VMCS address fields have bits 3:0 reserved,
/// §27.2.1.2); this type is aligned to 16 so an array of it satisfies that.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C, align(16))]
pub struct MsrEntry {
    /// Bits 31:0: the MSR index (the ECX value of RDMSR/WRMSR).
    pub index: u32,
    /// Bits 63:32: reserved, must be 0 (VM entry fails with exit reason 34 otherwise).
    pub reserved: u32,
    /// Bits 127:64: the value loaded into the MSR, or stored from it.
    pub value: u64,
}

const _: () = assert!(size_of::<MsrEntry>() == 16);
const _: () = assert!(align_of::<MsrEntry>() == 16);

impl MsrEntry {
    /// An entry for MSR `index` with `value` (reserved bits 0).
    ///
    /// SDM Vol. 3C §25.7.2.
    pub const fn new(index: u32, value: u64) -> Self {
        Self {
            index,
            reserved: 0,
            value,
        }
    }
}
