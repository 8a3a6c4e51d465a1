//! Shared test data: the Bochs models' capabilities (tests/data/bochs_caps.tsv) and valid
//! baseline snapshots (a 64-bit guest and a real-mode unrestricted guest).
#![allow(dead_code)]

use vmx_defs::capabilities::{RawVmxMsrs, VmxCapabilities};
use vmx_defs::controls::{
    EntryControls as Entry, PinBasedControls as Pin, PrimaryExitControls as Exit,
    PrimaryProcBasedControls as Proc, SecondaryProcBasedControls as Sec,
};
use vmx_defs::vmcs::fields as f;
use vmx_entry_check::{CheckContext, VmcsSnapshot};

const DATA: &str = include_str!("../data/bochs_caps.tsv");

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex value in test data")
}

/// (model name, capabilities) for every model in the data file.
pub fn models() -> Vec<(String, VmxCapabilities)> {
    DATA.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("model"))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let v = |i: usize| hex(c[i]);
            let opt = |i: usize| Some(v(i));
            let raw = RawVmxMsrs {
                feature_control: 5,
                basic: v(1),
                pinbased_ctls: v(2) | 0x16,
                procbased_ctls: v(3) | 0x0401_e172,
                exit_ctls: v(5) | 0x36dff,
                entry_ctls: v(6) | 0x11ff,
                misc: v(7),
                cr0_fixed0: v(8),
                cr0_fixed1: v(9),
                cr4_fixed0: v(10),
                cr4_fixed1: v(11),
                vmcs_enum: v(12),
                procbased_ctls2: opt(4),
                ept_vpid_cap: opt(13),
                true_pinbased_ctls: opt(2),
                true_procbased_ctls: opt(3),
                true_exit_ctls: opt(5),
                true_entry_ctls: opt(6),
                vmfunc: opt(14),
                procbased_ctls3: None,
                exit_ctls2: None,
            };
            (c[0].to_string(), VmxCapabilities::from_raw(raw))
        })
        .collect()
}

pub fn ctx(caps: VmxCapabilities) -> CheckContext<'static> {
    CheckContext::new(caps, 39)
}

fn set_seg(s: &mut VmcsSnapshot, i: usize, sel: u64, base: u64, limit: u64, ar: u64) {
    let sels = [
        f::GUEST_ES_SELECTOR,
        f::GUEST_CS_SELECTOR,
        f::GUEST_SS_SELECTOR,
        f::GUEST_DS_SELECTOR,
        f::GUEST_FS_SELECTOR,
        f::GUEST_GS_SELECTOR,
        f::GUEST_LDTR_SELECTOR,
        f::GUEST_TR_SELECTOR,
    ];
    let bases = [
        f::GUEST_ES_BASE,
        f::GUEST_CS_BASE,
        f::GUEST_SS_BASE,
        f::GUEST_DS_BASE,
        f::GUEST_FS_BASE,
        f::GUEST_GS_BASE,
        f::GUEST_LDTR_BASE,
        f::GUEST_TR_BASE,
    ];
    let limits = [
        f::GUEST_ES_LIMIT,
        f::GUEST_CS_LIMIT,
        f::GUEST_SS_LIMIT,
        f::GUEST_DS_LIMIT,
        f::GUEST_FS_LIMIT,
        f::GUEST_GS_LIMIT,
        f::GUEST_LDTR_LIMIT,
        f::GUEST_TR_LIMIT,
    ];
    let ars = [
        f::GUEST_ES_ACCESS_RIGHTS,
        f::GUEST_CS_ACCESS_RIGHTS,
        f::GUEST_SS_ACCESS_RIGHTS,
        f::GUEST_DS_ACCESS_RIGHTS,
        f::GUEST_FS_ACCESS_RIGHTS,
        f::GUEST_GS_ACCESS_RIGHTS,
        f::GUEST_LDTR_ACCESS_RIGHTS,
        f::GUEST_TR_ACCESS_RIGHTS,
    ];
    s.set(sels[i], sel);
    s.set(bases[i], base);
    s.set(limits[i], limit);
    s.set(ars[i], ar);
}

fn common(caps: &VmxCapabilities, unrestricted: bool) -> VmcsSnapshot {
    let mut s = VmcsSnapshot::new();
    let pin = caps.adjust_pin_based(Pin::empty(), Pin::empty()).unwrap();
    let proc = caps
        .adjust_primary_proc(Proc::USE_MSR_BITMAPS, Proc::ACTIVATE_SECONDARY_CONTROLS)
        .unwrap();
    let mut wanted = Sec::ENABLE_EPT | Sec::ENABLE_VPID;
    if unrestricted {
        wanted |= Sec::UNRESTRICTED_GUEST;
    }
    let sec = caps.adjust_secondary_proc(Sec::empty(), wanted).unwrap();
    let exit = caps
        .adjust_exit(
            Exit::HOST_ADDRESS_SPACE_SIZE,
            Exit::LOAD_IA32_EFER | Exit::LOAD_IA32_PAT,
        )
        .unwrap();
    s.set(f::CTRL_PIN_BASED_EXEC_CONTROLS, u64::from(pin.bits()));
    s.set(
        f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS,
        u64::from(proc.bits()),
    );
    s.set(
        f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS,
        u64::from(sec.bits()),
    );
    s.set(f::CTRL_PRIMARY_VMEXIT_CONTROLS, u64::from(exit.bits()));
    for field in [
        f::CTRL_EXCEPTION_BITMAP,
        f::CTRL_CR3_TARGET_COUNT,
        f::CTRL_VMEXIT_MSR_STORE_COUNT,
        f::CTRL_VMEXIT_MSR_LOAD_COUNT,
        f::CTRL_VMENTRY_MSR_LOAD_COUNT,
        f::CTRL_VMENTRY_INTERRUPTION_INFO,
        f::CTRL_VMENTRY_EXCEPTION_ERROR_CODE,
        f::CTRL_VMENTRY_INSTRUCTION_LENGTH,
        f::CTRL_TPR_THRESHOLD,
    ] {
        s.set(field, 0);
    }
    for field in [
        f::CTRL_VMEXIT_MSR_STORE_ADDRESS,
        f::CTRL_VMEXIT_MSR_LOAD_ADDRESS,
        f::CTRL_VMENTRY_MSR_LOAD_ADDRESS,
        f::CTRL_IO_BITMAP_A_ADDRESS,
        f::CTRL_IO_BITMAP_B_ADDRESS,
        f::CTRL_VIRTUAL_APIC_ADDRESS,
    ] {
        s.set(field, 0);
    }
    s.set(f::CTRL_MSR_BITMAP_ADDRESS, 0x3000);
    s.set(f::CTRL_EPT_POINTER, 0x10000 | 6 | 3 << 3);
    s.set(f::CTRL_VPID, 1);
    // Host state: a 64-bit host.
    s.set(f::HOST_CR0, 0x8005_0033);
    s.set(f::HOST_CR3, 0x1000);
    s.set(f::HOST_CR4, 0x2020);
    s.set(f::HOST_CS_SELECTOR, 0x8);
    for sel in [
        f::HOST_SS_SELECTOR,
        f::HOST_DS_SELECTOR,
        f::HOST_ES_SELECTOR,
        f::HOST_FS_SELECTOR,
        f::HOST_GS_SELECTOR,
    ] {
        s.set(sel, 0x10);
    }
    s.set(f::HOST_TR_SELECTOR, 0x18);
    for base in [
        f::HOST_FS_BASE,
        f::HOST_GS_BASE,
        f::HOST_TR_BASE,
        f::HOST_GDTR_BASE,
        f::HOST_IDTR_BASE,
        f::HOST_IA32_SYSENTER_ESP,
        f::HOST_IA32_SYSENTER_EIP,
        f::HOST_RSP,
    ] {
        s.set(base, 0);
    }
    s.set(f::HOST_IA32_SYSENTER_CS, 0);
    s.set(f::HOST_RIP, 0xffff_8000_0000_1000);
    s.set(f::HOST_IA32_EFER, 0xd01);
    s.set(f::HOST_IA32_PAT, 0x0007_0406_0007_0406);
    // Guest non-register state and MSRs common to both guests.
    s.set(f::GUEST_RFLAGS, 0x202);
    s.set(f::GUEST_RSP, 0);
    s.set(f::GUEST_DR7, 0x400);
    s.set(f::GUEST_IA32_DEBUGCTL, 0);
    s.set(f::GUEST_IA32_PAT, 0x0007_0406_0007_0406);
    s.set(f::GUEST_IA32_SYSENTER_CS, 0);
    s.set(f::GUEST_IA32_SYSENTER_ESP, 0);
    s.set(f::GUEST_IA32_SYSENTER_EIP, 0);
    s.set(f::GUEST_ACTIVITY_STATE, 0);
    s.set(f::GUEST_INTERRUPTIBILITY_STATE, 0);
    s.set(f::GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
    s.set(f::GUEST_VMCS_LINK_POINTER, u64::MAX);
    s.set(f::GUEST_GDTR_BASE, 0x5000);
    s.set(f::GUEST_GDTR_LIMIT, 0x27);
    s.set(f::GUEST_IDTR_BASE, 0);
    s.set(f::GUEST_IDTR_LIMIT, 0xfff);
    set_seg(&mut s, 6, 0, 0, 0, 0x1_0000);
    for pdpte in [
        f::GUEST_PDPTE0,
        f::GUEST_PDPTE1,
        f::GUEST_PDPTE2,
        f::GUEST_PDPTE3,
    ] {
        s.set(pdpte, 0);
    }
    s
}

/// The entry controls for a guest, with "IA-32e mode guest" as given.
fn entry(caps: &VmxCapabilities, ia32e: bool) -> u64 {
    let req = if ia32e {
        Entry::IA32E_MODE_GUEST
    } else {
        Entry::empty()
    };
    u64::from(
        caps.adjust_entry(
            req,
            Entry::LOAD_IA32_EFER | Entry::LOAD_IA32_PAT | Entry::LOAD_DEBUG_CONTROLS,
        )
        .unwrap()
        .bits(),
    )
}

/// A valid snapshot for a 64-bit guest (paging, long mode, flat segments).
pub fn baseline_64(caps: &VmxCapabilities) -> VmcsSnapshot {
    let mut s = common(caps, false);
    s.set(f::CTRL_VMENTRY_CONTROLS, entry(caps, true));
    s.set(f::GUEST_CR0, 0x8001_0031);
    s.set(f::GUEST_CR3, 0x2000);
    s.set(f::GUEST_CR4, 0x2020);
    s.set(f::GUEST_IA32_EFER, 0x500);
    s.set(f::GUEST_RIP, 0x1000);
    set_seg(&mut s, 1, 0x8, 0, 0xffff_ffff, 0xa09b);
    for i in [0, 2, 3, 4, 5] {
        set_seg(&mut s, i, 0x10, 0, 0xffff_ffff, 0xc093);
    }
    set_seg(&mut s, 7, 0x18, 0x6000, 0x67, 0x8b);
    s
}

/// Whether the model can run a real-mode guest (unrestricted guest and EPT).
pub fn has_unrestricted(caps: &VmxCapabilities) -> bool {
    caps.secondary_proc()
        .can_be_one(Sec::UNRESTRICTED_GUEST | Sec::ENABLE_EPT)
}

/// A valid snapshot for a real-mode guest under "unrestricted guest" (CS:IP F000:FFF0).
pub fn baseline_real_mode(caps: &VmxCapabilities) -> VmcsSnapshot {
    let mut s = common(caps, true);
    s.set(f::CTRL_VMENTRY_CONTROLS, entry(caps, false));
    s.set(f::GUEST_CR0, 0x30);
    s.set(f::GUEST_CR3, 0);
    s.set(f::GUEST_CR4, 0x2000);
    s.set(f::GUEST_IA32_EFER, 0);
    s.set(f::GUEST_RIP, 0xfff0);
    set_seg(&mut s, 1, 0xf000, 0xf_0000, 0xffff, 0x9b);
    for i in [0, 2, 3, 4, 5] {
        set_seg(&mut s, i, 0, 0, 0xffff, 0x93);
    }
    set_seg(&mut s, 7, 0, 0, 0xffff, 0x8b);
    s
}

/// Every (model, baseline name, snapshot) pair.
pub fn baselines() -> Vec<(String, &'static str, VmxCapabilities, VmcsSnapshot)> {
    let mut out = Vec::new();
    for (name, caps) in models() {
        out.push((name.clone(), "64-bit", caps, baseline_64(&caps)));
        if has_unrestricted(&caps) {
            out.push((name, "real-mode", caps, baseline_real_mode(&caps)));
        }
    }
    out
}
