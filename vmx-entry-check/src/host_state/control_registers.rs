//! Checks on the host control registers and MSRs (SDM Vol. 3C §27.2.2). A failure makes
//! VMLAUNCH/VMRESUME fail with VMfailValid, VM-instruction error 8.

use vmx_defs::controls::{PrimaryExitControls as Exit, SecondaryExitControls as Exit2};
use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;
use crate::msr_state;

/// SDM Vol. 3C §27.2.2: the host CR0 field satisfies IA32_VMX_CR0_FIXED0/1 (Vol. 3D §A.7).
pub fn host_cr0_fixed(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::HOST_CR0);
    if c.ctx().caps.cr0_fixed().check(fv.value).is_err() {
        c.fail(C::HostCr0Fixed, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.2: the host CR4 field satisfies IA32_VMX_CR4_FIXED0/1 (Vol. 3D §A.8).
pub fn host_cr4_fixed(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::HOST_CR4);
    if c.ctx().caps.cr4_fixed().check(fv.value).is_err() {
        c.fail(C::HostCr4Fixed, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.2: if host CR4.CET is 1, host CR0.WP is 1.
pub fn host_cet_needs_wp(c: &mut Checker<'_, '_>) {
    let cr4 = c.fv(f::HOST_CR4);
    let cr0 = c.fv(f::HOST_CR0);
    if cr4.value & bits::CR4_CET != 0 && cr0.value & bits::CR0_WP == 0 {
        c.fail(C::HostCetWithoutWp, &[cr4, cr0]);
    }
}

/// SDM Vol. 3C §27.2.2: the host CR3 field sets no bit beyond the physical-address width
/// (LAM bits 62:61 excepted where supported).
pub fn host_cr3_reserved(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::HOST_CR3);
    let lam = if c.ctx().cpu.lam { bits::CR3_LAM } else { 0 };
    if !bits::within(fv.value & !lam, c.ctx().phys_width()) {
        c.fail(C::HostCr3Reserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.2: the host IA32_SYSENTER_ESP field is canonical.
pub fn host_sysenter_esp_canonical(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::HOST_IA32_SYSENTER_ESP);
    if !bits::is_canonical(fv.value, c.ctx().linear_width()) {
        c.fail(C::HostSysenterEspCanonical, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.2: the host IA32_SYSENTER_EIP field is canonical.
pub fn host_sysenter_eip_canonical(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::HOST_IA32_SYSENTER_EIP);
    if !bits::is_canonical(fv.value, c.ctx().linear_width()) {
        c.fail(C::HostSysenterEipCanonical, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.2: with "load CET state" (VM-exit) 1, host IA32_S_CET is loadable and
/// SSP and the interrupt-SSP-table address are canonical, SSP 4-byte aligned.
pub fn host_cet_state(c: &mut Checker<'_, '_>) {
    if !c.exit().contains(Exit::LOAD_CET_STATE) {
        return;
    }
    let width = c.ctx().linear_width();
    let s_cet = c.fv(f::HOST_IA32_S_CET);
    let ssp = c.fv(f::HOST_SSP);
    let isst = c.fv(f::HOST_IA32_INTERRUPT_SSP_TABLE_ADDR);
    if !msr_state::s_cet_ok(s_cet.value, width)
        || ssp.value & 3 != 0
        || !bits::is_canonical(ssp.value, width)
        || !bits::is_canonical(isst.value, width)
    {
        c.fail(C::HostCetState, &[s_cet, ssp, isst]);
    }
}

/// SDM Vol. 3C §27.2.2: with "load IA32_PERF_GLOBAL_CTRL" (VM-exit) 1, the host field sets
/// no reserved bit (checked when the context gives the MSR's valid bits).
pub fn host_perf_global_ctrl(c: &mut Checker<'_, '_>) {
    let Some(valid) = c.ctx().msr_masks.perf_global_ctrl else {
        return;
    };
    if c.exit().contains(Exit::LOAD_IA32_PERF_GLOBAL_CTRL) {
        let fv = c.fv(f::HOST_IA32_PERF_GLOBAL_CTRL);
        if fv.value & !valid != 0 {
            c.fail(C::HostPerfGlobalCtrlReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.2: with "load IA32_PAT" (VM-exit) 1, every byte of the host PAT field
/// is a valid memory type (0, 1, 4, 5, 6, 7).
pub fn host_pat(c: &mut Checker<'_, '_>) {
    if c.exit().contains(Exit::LOAD_IA32_PAT) {
        let fv = c.fv(f::HOST_IA32_PAT);
        if !bits::is_valid_pat(fv.value) {
            c.fail(C::HostPat, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.2: with "load IA32_EFER" (VM-exit) 1, the host EFER field sets no
/// reserved bit.
pub fn host_efer_reserved(c: &mut Checker<'_, '_>) {
    if c.exit().contains(Exit::LOAD_IA32_EFER) {
        let fv = c.fv(f::HOST_IA32_EFER);
        if fv.value & !c.ctx().efer_valid() != 0 {
            c.fail(C::HostEferReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.2: with "load IA32_EFER" (VM-exit) 1, host EFER.LMA and EFER.LME each
/// equal "host address-space size".
pub fn host_efer_lma_lme(c: &mut Checker<'_, '_>) {
    if c.exit().contains(Exit::LOAD_IA32_EFER) {
        let host64 = c.host_64();
        let fv = c.fv(f::HOST_IA32_EFER);
        let lma = fv.value & bits::EFER_LMA != 0;
        let lme = fv.value & bits::EFER_LME != 0;
        if lma != host64 || lme != host64 {
            let e = c.fv(f::CTRL_PRIMARY_VMEXIT_CONTROLS);
            c.fail(C::HostEferLmaLme, &[fv, e]);
        }
    }
}

/// SDM Vol. 3C §27.2.2: with "load PKRS" (VM-exit) 1, bits 63:32 of the host IA32_PKRS
/// field are 0.
pub fn host_pkrs(c: &mut Checker<'_, '_>) {
    if c.exit().contains(Exit::LOAD_PKRS) {
        let fv = c.fv(f::HOST_IA32_PKRS);
        if fv.value >> 32 != 0 {
            c.fail(C::HostPkrsReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.2: with "load FRED" (secondary VM-exit) 1, the host FRED state is
/// loadable.
pub fn host_fred_state(c: &mut Checker<'_, '_>) {
    if !c.exit2().contains(Exit2::LOAD_FRED) {
        return;
    }
    let config = c.fv(f::HOST_IA32_FRED_CONFIG);
    let rsp = [
        c.get(f::HOST_IA32_FRED_RSP1),
        c.get(f::HOST_IA32_FRED_RSP2),
        c.get(f::HOST_IA32_FRED_RSP3),
    ];
    let ssp = [
        c.get(f::HOST_IA32_FRED_SSP1),
        c.get(f::HOST_IA32_FRED_SSP2),
        c.get(f::HOST_IA32_FRED_SSP3),
    ];
    if !msr_state::fred_ok(config.value, rsp, ssp, c.ctx().linear_width()) {
        c.fail(C::HostFredState, &[config]);
    }
}

/// SDM Vol. 3C §27.2.2: with "load IA32_SPEC_CTRL" (secondary VM-exit) 1, the host field
/// sets no reserved bit (checked when the context gives the MSR's valid bits).
pub fn host_spec_ctrl(c: &mut Checker<'_, '_>) {
    let Some(valid) = c.ctx().msr_masks.spec_ctrl else {
        return;
    };
    if c.exit2().contains(Exit2::LOAD_IA32_SPEC_CTRL) {
        let fv = c.fv(f::HOST_IA32_SPEC_CTRL);
        if fv.value & !valid != 0 {
            c.fail(C::HostSpecCtrlReserved, &[fv]);
        }
    }
}

/// Every §27.2.2 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    host_cr0_fixed(c);
    host_cr4_fixed(c);
    host_cet_needs_wp(c);
    host_cr3_reserved(c);
    host_sysenter_esp_canonical(c);
    host_sysenter_eip_canonical(c);
    host_cet_state(c);
    host_perf_global_ctrl(c);
    host_pat(c);
    host_efer_reserved(c);
    host_efer_lma_lme(c);
    host_pkrs(c);
    host_fred_state(c);
    host_spec_ctrl(c);
}
