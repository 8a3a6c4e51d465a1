//! Checks of VM-entry MSR loading (SDM Vol. 3C §27.4), on the MSR-load area the context
//! carries. The first failing entry ends loading: VM-entry failure, exit reason 34, the
//! qualification being that entry's 1-based number.

use vmx_defs::msr_entry::MsrEntry;
use vmx_defs::vmcs::fields as f;

use crate::bits;
use crate::check_id::CheckId as C;
use crate::checker::Checker;
use crate::context::CheckContext;

/// IA32_SMM_MONITOR_CTL, writable only in SMM.
const IA32_SMM_MONITOR_CTL: u32 = 0x9b;

/// Which §27.4 check entry `e` fails, if any (SDM Vol. 3C §27.4): FS/GS base, x2APIC range,
/// SMM-only MSR outside SMM, reserved bits 63:32, or a value WRMSR would refuse (for the
/// MSRs whose rules this crate knows: EFER, PAT, SYSENTER_ESP/EIP, LSTAR, CSTAR,
/// KERNEL_GS_BASE, TSC_AUX, XSS, DEBUGCTL, PKRS, S_CET, PL0-3_SSP, INTERRUPT_SSP_TABLE).
pub fn msr_entry_failure(ctx: &CheckContext<'_>, e: &MsrEntry) -> Option<C> {
    let width = ctx.linear_width();
    if matches!(e.index, 0xc000_0100 | 0xc000_0101) {
        return Some(C::MsrLoadFsGsBase);
    }
    if e.index >> 8 == 0x8 {
        return Some(C::MsrLoadX2apic);
    }
    if e.index == IA32_SMM_MONITOR_CTL && !ctx.in_smm {
        return Some(C::MsrLoadSmmOnly);
    }
    if e.reserved != 0 {
        return Some(C::MsrLoadReservedBits);
    }
    let v = e.value;
    let ok = match e.index {
        0xc000_0080 => v & !ctx.efer_valid() == 0,
        0x277 => bits::is_valid_pat(v),
        0x175 | 0x176 | 0xc000_0082 | 0xc000_0083 | 0xc000_0102 | 0x6a8 => {
            bits::is_canonical(v, width)
        }
        0xc000_0103 => v >> 32 == 0,
        0xda0 => v & !ctx.cpu.supported_xss == 0,
        0x1d9 => v & !ctx.debugctl_valid() == 0,
        0x6e1 => v >> 32 == 0,
        0x6a2 => crate::msr_state::s_cet_ok(v, width),
        0x6a4..=0x6a7 => v & 3 == 0 && bits::is_canonical(v, width),
        _ => true,
    };
    (!ok).then_some(C::MsrLoadValueFaults)
}

/// SDM Vol. 3C §27.4: the entries of the VM-entry MSR-load area, up to the VM-entry
/// MSR-load count, are processed in order; the first that fails is reported with its
/// 1-based number (exit reason 34). Runs only when the context carries the area.
pub fn msr_load_entries(c: &mut Checker<'_, '_>) {
    let count = c.get(f::CTRL_VMENTRY_MSR_LOAD_COUNT);
    let Some(area) = c.ctx().msr_load else {
        return;
    };
    let ctx = c.ctx();
    for (i, e) in area.iter().enumerate().take(count as usize) {
        if let Some(id) = msr_entry_failure(ctx, e) {
            let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
            c.fail_msr(id, number, e.index, e.value);
            return;
        }
    }
}

/// Every §27.4 check.
pub fn check_all(c: &mut Checker<'_, '_>) {
    msr_load_entries(c);
}
