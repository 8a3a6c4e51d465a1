//! Checks related to address-space size (SDM Vol. 3C §27.2.4). A failure makes
//! VMLAUNCH/VMRESUME fail with VMfailValid, VM-instruction error 8.

use vmx_defs::controls::PrimaryExitControls as Exit;
use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// SDM Vol. 3C §27.2.4: "host address-space size" is 1 exactly when the processor is in
/// IA-32e mode (IA32_EFER.LMA) at VM entry.
pub fn host_address_space_size(c: &mut Checker<'_, '_>) {
    if c.host_64() != c.ctx().host_ia32e {
        let fv = c.fv(f::CTRL_PRIMARY_VMEXIT_CONTROLS);
        c.fail(C::HostAddressSpaceSizeMismatch, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.4: outside IA-32e mode, "IA-32e mode guest" is 0.
pub fn ia32e_guest_needs_ia32e_host(c: &mut Checker<'_, '_>) {
    if !c.ctx().host_ia32e && c.ia32e_guest() {
        let fv = c.fv(f::CTRL_VMENTRY_CONTROLS);
        c.fail(C::Ia32eGuestOutsideIa32eHost, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.4: with "host address-space size" 0, host CR4.PCIDE is 0.
pub fn host_pcide_needs_ia32e(c: &mut Checker<'_, '_>) {
    if !c.host_64() {
        let fv = c.fv(f::HOST_CR4);
        if fv.value & bits::CR4_PCIDE != 0 {
            c.fail(C::HostPcideWithoutIa32e, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.4: with "host address-space size" 0, bits 63:32 of the host RIP are 0.
pub fn host_rip_high(c: &mut Checker<'_, '_>) {
    if !c.host_64() {
        let fv = c.fv(f::HOST_RIP);
        if fv.value >> 32 != 0 {
            c.fail(C::HostRipHigh, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.4: with "host address-space size" 0 and "load CET state" 1, bits
/// 63:32 of the host SSP are 0.
pub fn host_ssp_high(c: &mut Checker<'_, '_>) {
    if !c.host_64() && c.exit().contains(Exit::LOAD_CET_STATE) {
        let fv = c.fv(f::HOST_SSP);
        if fv.value >> 32 != 0 {
            c.fail(C::HostSspHigh, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.4: with "host address-space size" 1, host CR4.PAE is 1.
pub fn host_pae_for_ia32e(c: &mut Checker<'_, '_>) {
    if c.host_64() {
        let fv = c.fv(f::HOST_CR4);
        if fv.value & bits::CR4_PAE == 0 {
            c.fail(C::HostPaeWithoutPaging64, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.4: with "host address-space size" 1, the host RIP is canonical (57-bit
/// if host CR4.LA57 is 1).
pub fn host_rip_canonical(c: &mut Checker<'_, '_>) {
    if c.host_64() {
        let cr4 = c.get(f::HOST_CR4);
        let width = if cr4 & bits::CR4_LA57 != 0 { 57 } else { 48 };
        let fv = c.fv(f::HOST_RIP);
        if !bits::is_canonical(fv.value, width) {
            c.fail(C::HostRipCanonical, &[fv]);
        }
    }
}

/// Every §27.2.4 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    host_address_space_size(c);
    ia32e_guest_needs_ia32e_host(c);
    host_pcide_needs_ia32e(c);
    host_rip_high(c);
    host_ssp_high(c);
    host_pae_for_ia32e(c);
    host_rip_canonical(c);
}
