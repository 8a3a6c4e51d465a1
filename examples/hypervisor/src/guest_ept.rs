//! The guest's guest-physical space: an EPT that maps guest RAM and nothing else
//! (SDM Vol. 3C §29.3 "The Extended Page Table Mechanism").
//!
//! Guest-physical 0..[`GUEST_RAM_SIZE`](example_guest::abi::GUEST_RAM_SIZE) maps to the
//! host frames of [`GuestMemory`], readable, writable and executable, write-back. Every other
//! guest-physical address — the example device's page among them — has no mapping, so the
//! guest touching it causes an EPT violation that the hypervisor handles (`exits.rs`).
//!
//! The table is shared ([`Ept`]): the vCPU attaches to it and performs the invalidations
//! that later edits ([`Ept::edit`]) publish before each of its VM entries (SDM Vol. 3C
//! §29.4.3.1).

use ept::{Ept, EptAttributes, EptConfig, EptFlags, EptPageTable, GuestPhysAddr, HostPhysAddr};
use vmx_defs::capabilities::VmxCapabilities;

use crate::error::HypervisorError;
use crate::guest_memory::GuestMemory;
use crate::hosts::FrameHost;

/// The guest's EPT.
pub type GuestEpt = Ept<FrameHost>;

/// Builds the EPT for `memory` on a processor with `caps`.
pub fn build(memory: &GuestMemory, caps: &VmxCapabilities) -> Result<GuestEpt, HypervisorError> {
    // SAFETY: the frames of `memory` were allocated for the guest alone (`GuestMemory`): no
    // host object, paging structure or VMX structure lives there, and the hypervisor reads
    // and writes them only as guest memory. `GuestMemory` never gives them back (it has
    // no `Drop`), so they stay the guest's for as long as any translation to them exists.
    Ok(unsafe { ram_only(memory.host_base(), memory.size(), caps) }?)
}

/// An EPT that maps guest-physical `[0, size)` to the host frames at `host_base`,
/// readable, writable and executable, write-back (in the largest pages the alignment
/// allows), and nothing else; its EPTP (`Ept::eptp`) names the root, the walk length and the
/// paging structures' memory type (SDM Vol. 3C §25.6.11) as the table was configured for
/// `caps` and this processor's MAXPHYADDR (CPUID.80000008H:EAX\[7:0\], SDM Vol. 3A §4.1.4).
///
/// # Safety
///
/// `[host_base, host_base + size)` must be frames allocated for the guest alone: no host
/// object, paging structure or VMX structure lives there, the hypervisor accesses them only
/// as guest memory, and they stay allocated, and the guest's, for as long as the returned
/// EPT or any vCPU attached to it exists.
pub unsafe fn ram_only(
    host_base: u64,
    size: u64,
    caps: &VmxCapabilities,
) -> Result<GuestEpt, ept::EptError> {
    let width = vmx_insn::physical_address_width().bits();
    let config = EptConfig::new(caps.ept_vpid(), width)?;
    let mut table = EptPageTable::new(FrameHost, config)?;
    let rwx = EptFlags::READ | EptFlags::WRITE | EptFlags::EXECUTE;
    // SAFETY: the caller guarantees the frames are the guest's alone for the EPT's life.
    unsafe {
        table.map_region(
            GuestPhysAddr::new(0),
            HostPhysAddr::new(host_base),
            size,
            EptAttributes::write_back(rwx),
        )
    }?;
    Ok(Ept::new(table))
}
