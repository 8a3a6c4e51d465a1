//! Checks on the guest control registers, debug registers and MSRs (SDM Vol. 3C
//! §27.3.1.1). A failure: VM-entry failure, exit reason 33, qualification 0.

use vmx_defs::controls::EntryControls as Entry;
use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;
use crate::msr_state;

/// SDM Vol. 3C §27.3.1.1: the guest CR0 field satisfies IA32_VMX_CR0_FIXED0/1, PE and PG
/// may be 0 with "unrestricted guest".
pub fn guest_cr0_fixed(c: &mut Checker<'_, '_>) {
    let fixed = if c.unrestricted() {
        c.ctx().caps.cr0_fixed_unrestricted_guest()
    } else {
        c.ctx().caps.cr0_fixed()
    };
    let fv = c.fv(f::GUEST_CR0);
    if fixed.check(fv.value).is_err() {
        c.fail(C::GuestCr0Fixed, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.1: if guest CR0.PG is 1, CR0.PE is 1.
pub fn guest_cr0_pg_needs_pe(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_CR0);
    if fv.value & bits::CR0_PG != 0 && fv.value & bits::CR0_PE == 0 {
        c.fail(C::GuestCr0PgWithoutPe, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.1: the guest CR4 field satisfies IA32_VMX_CR4_FIXED0/1.
pub fn guest_cr4_fixed(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_CR4);
    if c.ctx().caps.cr4_fixed().check(fv.value).is_err() {
        c.fail(C::GuestCr4Fixed, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.1: if guest CR4.CET is 1, guest CR0.WP is 1.
pub fn guest_cet_needs_wp(c: &mut Checker<'_, '_>) {
    let cr4 = c.fv(f::GUEST_CR4);
    let cr0 = c.fv(f::GUEST_CR0);
    if cr4.value & bits::CR4_CET != 0 && cr0.value & bits::CR0_WP == 0 {
        c.fail(C::GuestCetWithoutWp, &[cr4, cr0]);
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load debug controls" 1, the guest IA32_DEBUGCTL field sets
/// no reserved bit.
pub fn guest_debugctl(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::LOAD_DEBUG_CONTROLS) {
        let fv = c.fv(f::GUEST_IA32_DEBUGCTL);
        if fv.value & !c.ctx().debugctl_valid() != 0 {
            c.fail(C::GuestDebugctlReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "IA-32e mode guest" 1, guest CR0.PG and CR4.PAE are 1.
pub fn guest_ia32e_needs_paging(c: &mut Checker<'_, '_>) {
    if c.ia32e_guest() {
        let cr0 = c.fv(f::GUEST_CR0);
        let cr4 = c.fv(f::GUEST_CR4);
        if cr0.value & bits::CR0_PG == 0 || cr4.value & bits::CR4_PAE == 0 {
            c.fail(C::GuestIa32eWithoutPaging, &[cr0, cr4]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "IA-32e mode guest" 0, guest CR4.PCIDE is 0.
pub fn guest_pcide_needs_ia32e(c: &mut Checker<'_, '_>) {
    if !c.ia32e_guest() {
        let fv = c.fv(f::GUEST_CR4);
        if fv.value & bits::CR4_PCIDE != 0 {
            c.fail(C::GuestPcideOutsideIa32e, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: the guest CR3 field sets no bit beyond the physical-address width
/// (LAM bits 62:61 excepted where supported).
pub fn guest_cr3_reserved(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_CR3);
    let lam = if c.ctx().cpu.lam { bits::CR3_LAM } else { 0 };
    if !bits::within(fv.value & !lam, c.ctx().phys_width()) {
        c.fail(C::GuestCr3Reserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load debug controls" 1, bits 63:32 of the guest DR7 are 0.
pub fn guest_dr7_high(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::LOAD_DEBUG_CONTROLS) {
        let fv = c.fv(f::GUEST_DR7);
        if fv.value >> 32 != 0 {
            c.fail(C::GuestDr7High, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: the guest IA32_SYSENTER_ESP field is canonical.
pub fn guest_sysenter_esp_canonical(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_IA32_SYSENTER_ESP);
    if !bits::is_canonical(fv.value, c.ctx().linear_width()) {
        c.fail(C::GuestSysenterEspCanonical, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.1: the guest IA32_SYSENTER_EIP field is canonical.
pub fn guest_sysenter_eip_canonical(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::GUEST_IA32_SYSENTER_EIP);
    if !bits::is_canonical(fv.value, c.ctx().linear_width()) {
        c.fail(C::GuestSysenterEipCanonical, &[fv]);
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load CET state" (VM-entry) 1, guest IA32_S_CET is loadable,
/// the interrupt-SSP-table address canonical, SSP 4-byte aligned, with bits 63:32 0 outside
/// IA-32e mode and canonical inside.
pub fn guest_cet_state(c: &mut Checker<'_, '_>) {
    if !c.entry().contains(Entry::LOAD_CET_STATE) {
        return;
    }
    let width = c.ctx().linear_width();
    let ia32e = c.ia32e_guest();
    let s_cet = c.fv(f::GUEST_IA32_S_CET);
    let ssp = c.fv(f::GUEST_SSP);
    let isst = c.fv(f::GUEST_IA32_INTERRUPT_SSP_TABLE_ADDR);
    let ssp_ok = ssp.value & 3 == 0
        && if ia32e {
            bits::is_canonical(ssp.value, width)
        } else {
            ssp.value >> 32 == 0
        };
    if !msr_state::s_cet_ok(s_cet.value, width) || !ssp_ok || !bits::is_canonical(isst.value, width)
    {
        c.fail(C::GuestCetState, &[s_cet, ssp, isst]);
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load IA32_PERF_GLOBAL_CTRL" (VM-entry) 1, the guest field
/// sets no reserved bit (checked when the context gives the MSR's valid bits).
pub fn guest_perf_global_ctrl(c: &mut Checker<'_, '_>) {
    let Some(valid) = c.ctx().msr_masks.perf_global_ctrl else {
        return;
    };
    if c.entry().contains(Entry::LOAD_IA32_PERF_GLOBAL_CTRL) {
        let fv = c.fv(f::GUEST_IA32_PERF_GLOBAL_CTRL);
        if fv.value & !valid != 0 {
            c.fail(C::GuestPerfGlobalCtrlReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load IA32_PAT" (VM-entry) 1, every byte of the guest PAT
/// field is 0, 1, 4, 5, 6 or 7.
pub fn guest_pat(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::LOAD_IA32_PAT) {
        let fv = c.fv(f::GUEST_IA32_PAT);
        if !bits::is_valid_pat(fv.value) {
            c.fail(C::GuestPat, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load IA32_EFER" (VM-entry) 1, the guest EFER sets no
/// reserved bit, LMA equals "IA-32e mode guest", and with CR0.PG 1 LMA equals LME (three
/// checks).
pub fn guest_efer(c: &mut Checker<'_, '_>) {
    if !c.entry().contains(Entry::LOAD_IA32_EFER) {
        return;
    }
    let efer = c.fv(f::GUEST_IA32_EFER);
    if efer.value & !c.ctx().efer_valid() != 0 {
        c.fail(C::GuestEferReserved, &[efer]);
    }
    let lma = efer.value & bits::EFER_LMA != 0;
    if lma != c.ia32e_guest() {
        let e = c.fv(f::CTRL_VMENTRY_CONTROLS);
        c.fail(C::GuestEferLma, &[efer, e]);
    }
    let cr0 = c.fv(f::GUEST_CR0);
    if cr0.value & bits::CR0_PG != 0 && lma != (efer.value & bits::EFER_LME != 0) {
        c.fail(C::GuestEferLmaLme, &[efer, cr0]);
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load IA32_BNDCFGS" 1, guest IA32_BNDCFGS bits 11:2 are 0
/// and bits 63:12 canonical.
pub fn guest_bndcfgs(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::LOAD_IA32_BNDCFGS) {
        let fv = c.fv(f::GUEST_IA32_BNDCFGS);
        if fv.value & 0xffc != 0 || !bits::is_canonical(fv.value & !0xfff, c.ctx().linear_width()) {
            c.fail(C::GuestBndcfgs, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load IA32_RTIT_CTL" 1, the guest field sets no reserved
/// bit (checked when the context gives the MSR's valid bits).
pub fn guest_rtit_ctl(c: &mut Checker<'_, '_>) {
    let Some(valid) = c.ctx().msr_masks.rtit_ctl else {
        return;
    };
    if c.entry().contains(Entry::LOAD_IA32_RTIT_CTL) {
        let fv = c.fv(f::GUEST_IA32_RTIT_CTL);
        if fv.value & !valid != 0 {
            c.fail(C::GuestRtitCtlReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load guest IA32_LBR_CTL" 1, the guest field sets no
/// reserved bit.
pub fn guest_lbr_ctl(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::LOAD_GUEST_IA32_LBR_CTL) {
        let fv = c.fv(f::GUEST_IA32_LBR_CTL);
        if fv.value & !bits::LBR_CTL_VALID != 0 {
            c.fail(C::GuestLbrCtlReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load PKRS" (VM-entry) 1, bits 63:32 of the guest IA32_PKRS
/// are 0.
pub fn guest_pkrs(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::LOAD_PKRS) {
        let fv = c.fv(f::GUEST_IA32_PKRS);
        if fv.value >> 32 != 0 {
            c.fail(C::GuestPkrsReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load UINV" 1, bits 15:8 of the guest UINV field are 0.
pub fn guest_uinv(c: &mut Checker<'_, '_>) {
    if c.entry().contains(Entry::LOAD_UINV) {
        let fv = c.fv(f::GUEST_UINV);
        if fv.value & 0xff00 != 0 {
            c.fail(C::GuestUinvReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load FRED" (VM-entry) 1, the guest FRED state is loadable.
pub fn guest_fred_state(c: &mut Checker<'_, '_>) {
    if !c.entry().contains(Entry::LOAD_FRED) {
        return;
    }
    let config = c.fv(f::GUEST_IA32_FRED_CONFIG);
    let rsp = [
        c.get(f::GUEST_IA32_FRED_RSP1),
        c.get(f::GUEST_IA32_FRED_RSP2),
        c.get(f::GUEST_IA32_FRED_RSP3),
    ];
    let ssp = [
        c.get(f::GUEST_IA32_FRED_SSP1),
        c.get(f::GUEST_IA32_FRED_SSP2),
        c.get(f::GUEST_IA32_FRED_SSP3),
    ];
    if !msr_state::fred_ok(config.value, rsp, ssp, c.ctx().linear_width()) {
        c.fail(C::GuestFredState, &[config]);
    }
}

/// SDM Vol. 3C §27.3.1.1: with "load IA32_SPEC_CTRL" (VM-entry) 1, the guest field sets no
/// reserved bit (checked when the context gives the MSR's valid bits).
pub fn guest_spec_ctrl(c: &mut Checker<'_, '_>) {
    let Some(valid) = c.ctx().msr_masks.spec_ctrl else {
        return;
    };
    if c.entry().contains(Entry::LOAD_IA32_SPEC_CTRL) {
        let fv = c.fv(f::GUEST_IA32_SPEC_CTRL);
        if fv.value & !valid != 0 {
            c.fail(C::GuestSpecCtrlReserved, &[fv]);
        }
    }
}

/// Every §27.3.1.1 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    guest_cr0_fixed(c);
    guest_cr0_pg_needs_pe(c);
    guest_cr4_fixed(c);
    guest_cet_needs_wp(c);
    guest_debugctl(c);
    guest_ia32e_needs_paging(c);
    guest_pcide_needs_ia32e(c);
    guest_cr3_reserved(c);
    guest_dr7_high(c);
    guest_sysenter_esp_canonical(c);
    guest_sysenter_eip_canonical(c);
    guest_cet_state(c);
    guest_perf_global_ctrl(c);
    guest_pat(c);
    guest_efer(c);
    guest_bndcfgs(c);
    guest_rtit_ctl(c);
    guest_lbr_ctl(c);
    guest_pkrs(c);
    guest_uinv(c);
    guest_fred_state(c);
    guest_spec_ctrl(c);
}
