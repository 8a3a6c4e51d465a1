//! Checks on the host segment and descriptor-table registers (SDM Vol. 3C §27.2.3). A
//! failure makes VMLAUNCH/VMRESUME fail with VMfailValid, VM-instruction error 8.

use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// SDM Vol. 3C §27.2.3: the host ES, CS, SS, DS, FS, GS and TR selectors have RPL and TI 0.
pub fn host_selector_rpl_ti(c: &mut Checker<'_, '_>) {
    for field in [
        f::HOST_ES_SELECTOR,
        f::HOST_CS_SELECTOR,
        f::HOST_SS_SELECTOR,
        f::HOST_DS_SELECTOR,
        f::HOST_FS_SELECTOR,
        f::HOST_GS_SELECTOR,
        f::HOST_TR_SELECTOR,
    ] {
        let fv = c.fv(field);
        if fv.value & 7 != 0 {
            c.fail(C::HostSelectorRplTi, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.3: the host CS selector is not 0.
pub fn host_cs_selector_nonnull(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::HOST_CS_SELECTOR);
    if fv.value == 0 {
        c.fail(C::HostCsSelectorNull, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.3: the host TR selector is not 0.
pub fn host_tr_selector_nonnull(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::HOST_TR_SELECTOR);
    if fv.value == 0 {
        c.fail(C::HostTrSelectorNull, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.3: with "host address-space size" 0, the host SS selector is not 0.
pub fn host_ss_selector_nonnull(c: &mut Checker<'_, '_>) {
    if !c.host_64() {
        let fv = c.fv(f::HOST_SS_SELECTOR);
        if fv.value == 0 {
            c.fail(C::HostSsSelectorNull, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.3: on a processor that supports Intel 64, the host FS, GS, GDTR, IDTR
/// and TR bases are canonical.
pub fn host_bases_canonical(c: &mut Checker<'_, '_>) {
    let width = c.ctx().linear_width();
    for field in [
        f::HOST_FS_BASE,
        f::HOST_GS_BASE,
        f::HOST_GDTR_BASE,
        f::HOST_IDTR_BASE,
        f::HOST_TR_BASE,
    ] {
        let fv = c.fv(field);
        if !bits::is_canonical(fv.value, width) {
            c.fail(C::HostBaseCanonical, &[fv]);
        }
    }
}

/// Every §27.2.3 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    host_selector_rpl_ti(c);
    host_cs_selector_nonnull(c);
    host_tr_selector_nonnull(c);
    host_ss_selector_nonnull(c);
    host_bases_canonical(c);
}
