//! The guest's guest-physical space: an EPT that maps guest RAM and nothing else
//! (SDM Vol. 3C §29.3 "The Extended Page Table Mechanism").
//!
//! Guest-physical 0..[`GUEST_RAM_SIZE`](example_guest::abi::GUEST_RAM_SIZE) maps to the
//! host frames of [`GuestMemory`], readable, writable and executable, write-back. Every other
//! guest-physical address — the example device's page among them — has no mapping, so the
//! guest touching it causes an EPT violation that the hypervisor handles (`exits.rs`).

use ept::{EptAttributes, EptConfig, EptFlags, EptPageTable, Eptp, GuestPhysAddr, HostPhysAddr};
use vmx_defs::capabilities::VmxCapabilities;

use crate::error::HypervisorError;
use crate::guest_memory::GuestMemory;
use crate::hosts::FrameHost;

/// The guest's EPT and the EPTP that names it in the VMCS.
pub struct GuestEpt {
    /// The paging structures (kept alive as long as the guest runs).
    pub table: EptPageTable<FrameHost>,
    /// The EPT pointer for the VMCS (SDM Vol. 3C §25.6.11).
    pub eptp: Eptp,
}

/// Builds the EPT for `memory` on a processor with `caps`.
pub fn build(memory: &GuestMemory, caps: &VmxCapabilities) -> Result<GuestEpt, HypervisorError> {
    // MAXPHYADDR (CPUID.80000008H:EAX[7:0], SDM Vol. 3A §4.1.4), as vmx-insn reads it.
    let width = vmx_insn::physical_address_width().bits();
    let config = EptConfig::new(caps.ept_vpid(), width)?;
    let mut table = EptPageTable::new(FrameHost, config)?;
    let rwx = EptFlags::READ | EptFlags::WRITE | EptFlags::EXECUTE;
    table.map_region(
        GuestPhysAddr::new(0),
        HostPhysAddr::new(memory.host_base()),
        memory.size(),
        EptAttributes::write_back(rwx),
    )?;
    // The EPTP names the root, the walk length and the paging structures' memory type
    // (SDM Vol. 3C §25.6.11), as the table was configured.
    let eptp = table.eptp();
    Ok(GuestEpt { table, eptp })
}
