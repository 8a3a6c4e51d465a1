//! The Linux guest's RAM (one 2-MiB-aligned run of host frames at guest-physical 0) and its
//! EPTs: one per vCPU, each mapping the RAM with the largest pages alignment allows and the
//! xAPIC page at 0xFEE00000 to that vCPU's APIC-access page (SDM Vol. 3C §29.3, §30.4.6.1:
//! an access is virtualized only when it translates to *the vCPU's own* APIC-access
//! address, so vCPUs sharing one EPT would reach another vCPU's page as plain memory).
//! Nothing else is mapped: the I/O APIC page and every other address cause EPT violations.

use ept::{Ept, EptAttributes, EptFlags, GuestPhysAddr, HostPhysAddr};
use vmx_defs::addr::PageSize;
use vmx_defs::capabilities::VmxCapabilities;
use vmx_vcpu::mmio::GuestMemoryRead;

use super::blobs::FrameBuf;
use super::error::LinuxVmError;
use crate::hosts::FrameHost;

/// The xAPIC's guest-physical base (SDM Vol. 3A §12.4.1, IA32_APIC_BASE reset value).
pub const XAPIC_BASE: u64 = 0xFEE0_0000;

/// The guest's RAM.
pub struct GuestRam {
    buf: FrameBuf,
}

/// A read that leaves guest RAM.
#[derive(Clone, Copy, Debug)]
pub struct NotRam;

impl GuestRam {
    /// Allocates `bytes` (a multiple of 2 MiB) of zeroed RAM, 2-MiB aligned.
    pub fn new(bytes: u64) -> Result<Self, LinuxVmError> {
        let len = usize::try_from(bytes).map_err(|_| LinuxVmError::OutOfMemory {
            what: "guest RAM",
            bytes,
        })?;
        Ok(Self {
            buf: FrameBuf::alloc(len, 2 << 20, "guest RAM")?,
        })
    }

    /// Host-physical address of guest-physical 0.
    pub fn host_base(&self) -> u64 {
        self.buf.addr()
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.buf.len() as u64
    }

    /// The RAM, writable (only while no vCPU runs).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.buf.as_mut_slice()
    }

    /// Builds an EPT mapping the RAM (write-back, RWX) and nothing else.
    pub fn build_ept(&self, caps: &VmxCapabilities) -> Result<Ept<FrameHost>, LinuxVmError> {
        // SAFETY: the frames of `self` were allocated for this guest alone (`FrameBuf`): no
        // host object lives there; `GuestRam` outlives every vCPU (the run keeps it until
        // the vCPUs and EPTs are dropped), so the translations never outlive the frames.
        Ok(unsafe { crate::guest_ept::ram_only(self.host_base(), self.size(), caps) }?)
    }
}

/// Maps the xAPIC page of `ept` to `apic_access` (a vCPU's APIC-access page; only the
/// address matters, accesses to it exit, SDM Vol. 3C §30.4).
pub fn map_apic_access(
    ept: &Ept<FrameHost>,
    apic_access: HostPhysAddr,
) -> Result<(), LinuxVmError> {
    let rwx = EptFlags::READ | EptFlags::WRITE | EptFlags::EXECUTE;
    // SAFETY: the APIC-access page belongs to the vCPU that runs on this EPT and outlives
    // it (the vCPU is dropped before its EPT); guest accesses to it exit instead of
    // reaching it (§30.4), and any that did would see a page the vCPU allocated for this
    // purpose alone.
    unsafe {
        ept.edit().map(
            GuestPhysAddr::new(XAPIC_BASE),
            apic_access,
            PageSize::Size4K,
            EptAttributes::uncacheable(rwx),
        )
    }?;
    Ok(())
}

/// The guest's RAM as the MMIO instruction fetcher reads it.
pub struct RamView {
    /// Host-physical base.
    pub base: u64,
    /// Size.
    pub size: u64,
}

impl GuestMemoryRead for RamView {
    type Error = NotRam;

    fn read(&self, gpa: GuestPhysAddr, buf: &mut [u8]) -> Result<(), NotRam> {
        let a = gpa.as_u64();
        let end = a.checked_add(buf.len() as u64).ok_or(NotRam)?;
        if end > self.size {
            return Err(NotRam);
        }
        // SAFETY: [a, end) lies in the guest's RAM frames, identity mapped; no vCPU runs
        // while the hypervisor handles an exit (one physical CPU), so nothing writes them.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (self.base + a) as *const u8,
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        Ok(())
    }
}
