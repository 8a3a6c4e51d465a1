//! Checks on the guest PDPTEs (SDM Vol. 3C §27.3.1.6). A failure: VM-entry failure, exit
//! reason 33, qualification 2.

use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// Whether a PDPTE passes the checks of MOV to CR3 with PAE paging (SDM Vol. 3A §4.4.1): if
/// present, bits 2:1, 8:5 and 63:MAXPHYADDR are 0.
pub const fn pdpte_ok(pdpte: u64, width: u32) -> bool {
    pdpte & 1 == 0 || (pdpte & 0x1e6 == 0 && bits::within(pdpte, width))
}

/// SDM Vol. 3C §27.3.1.6: a VM entry to a guest with PAE paging (CR0.PG, CR4.PAE, "IA-32e
/// mode guest" 0) checks the PDPTEs: the four PDPTE fields with "enable EPT" 1, else the
/// PDPTEs at guest CR3 (when the context carries them).
pub fn guest_pdptes(c: &mut Checker<'_, '_>) {
    let cr0 = c.get(f::GUEST_CR0);
    let cr4 = c.get(f::GUEST_CR4);
    if cr0 & bits::CR0_PG == 0 || cr4 & bits::CR4_PAE == 0 || c.ia32e_guest() {
        return;
    }
    let width = c.ctx().phys_width();
    if c.ept() {
        for field in [
            f::GUEST_PDPTE0,
            f::GUEST_PDPTE1,
            f::GUEST_PDPTE2,
            f::GUEST_PDPTE3,
        ] {
            let fv = c.fv(field);
            if !pdpte_ok(fv.value, width) {
                c.fail(C::GuestPdpteReserved, &[fv]);
            }
        }
    } else if let Some(pdptes) = c.ctx().pdptes_in_memory {
        let cr3 = c.fv(f::GUEST_CR3);
        for pdpte in pdptes {
            if !pdpte_ok(pdpte, width) {
                c.fail(C::GuestPdpteReserved, &[cr3]);
            }
        }
    }
}

/// Every §27.3.1.6 check.
pub fn check_all(c: &mut Checker<'_, '_>) {
    guest_pdptes(c);
}
