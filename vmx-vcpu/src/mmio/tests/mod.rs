//! Host tests of the MMIO emulation: the walker per paging mode and against a model, the
//! decoder on every supported form and on arbitrary bytes, the register effects.

extern crate std;

mod complete;
mod decode;
mod exit;
mod walk;

use std::collections::BTreeMap;

use vmx_defs::addr::GuestPhysAddr;

use super::walk::GuestMemoryRead;

/// Sparse guest-physical memory: 4-KiB pages created on write; reading a page never
/// written fails (outside "RAM").
#[derive(Default, Clone, Debug)]
pub(super) struct Memory {
    pages: BTreeMap<u64, [u8; 4096]>,
}

/// The test memory's read error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unmapped(pub u64);

impl core::fmt::Display for Unmapped {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x} is not RAM", self.0)
    }
}

impl Memory {
    pub(super) fn write(&mut self, gpa: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = gpa + i as u64;
            self.pages.entry(a & !0xFFF).or_insert([0; 4096])[(a & 0xFFF) as usize] = *b;
        }
    }

    pub(super) fn write_u64(&mut self, gpa: u64, value: u64) {
        self.write(gpa, &value.to_le_bytes());
    }

    pub(super) fn write_u32(&mut self, gpa: u64, value: u32) {
        self.write(gpa, &value.to_le_bytes());
    }
}

impl GuestMemoryRead for Memory {
    type Error = Unmapped;

    fn read(&self, gpa: GuestPhysAddr, buf: &mut [u8]) -> Result<(), Unmapped> {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = gpa.as_u64().wrapping_add(i as u64);
            let page = self.pages.get(&(a & !0xFFF)).ok_or(Unmapped(a))?;
            *b = page[(a & 0xFFF) as usize];
        }
        Ok(())
    }
}
