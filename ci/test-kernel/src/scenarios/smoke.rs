//! Smoke scenarios: the CPU model offers VMX the way the SDM says software finds it.

use baremetal::catch_exception;

use crate::env::{Env, Outcome, Scenario};
use crate::{check, check_eq, require, skip};

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "smoke_model_is_known",
        run: model_is_known,
    },
    Scenario {
        name: "smoke_cpuid_reports_vmx",
        run: cpuid_reports_vmx,
    },
    Scenario {
        name: "smoke_feature_control_locked_vmx_outside_smx",
        run: feature_control,
    },
    Scenario {
        name: "smoke_ud2_caught_at_its_rip",
        run: ud2_caught,
    },
    Scenario {
        name: "smoke_missing_msr_raises_gp",
        run: missing_msr_gp,
    },
    Scenario {
        name: "smoke_vmx_basic_revision_id",
        run: vmx_basic_revision,
    },
];

const IA32_FEATURE_CONTROL: u32 = 0x3A;
const IA32_VMX_BASIC: u32 = 0x480;

/// IA32_VMX_BASIC per Bochs 2.7 model, read on these machines (shared/bochs/models.tsv), and
/// per Bochs 3.0 model (the `ci` tool writes `bochs3/MODEL` into the boot sector for
/// `--bochs 3.0`; read with `cargo ci suite --bochs 3.0`). Bochs 3.0 sets bit 56 (no
/// error-code consistency check on injected hardware exceptions, SDM Vol. 3D §A.1) on
/// tigerlake, sapphire_rapids and arrow_lake, not on corei7_icelake_u.
const VMX_BASIC_BY_MODEL: &[(&str, u64)] = &[
    ("corei7_icelake_u", 0x00d8_1000_0000_0004),
    ("tigerlake", 0x01d8_1000_0000_0004),
    ("corei7_skylake_x", 0x00d8_1000_0000_002b),
    ("corei3_cnl", 0x00d8_1000_0000_002b),
    ("broadwell_ult", 0x00d8_1000_0000_002b),
    ("corei7_haswell_4770", 0x00d8_1000_0000_002b),
    ("corei7_sandy_bridge_2600k", 0x00d8_1000_0000_002b),
    ("core2_penryn_t9600", 0x00d8_1000_0000_002b),
    ("bochs3/arrow_lake", 0x01d8_1000_0000_0004),
    ("bochs3/sapphire_rapids", 0x01d8_1000_0000_0004),
    ("bochs3/tigerlake", 0x01d8_1000_0000_0004),
    ("bochs3/corei7_icelake_u", 0x00d8_1000_0000_0004),
];

/// The `ci` tool wrote the Bochs model name into the boot sector, and it is one whose
/// capability MSRs are known (shared/bochs/models.tsv).
fn model_is_known(env: &mut Env) -> Outcome {
    if env.model().is_empty() {
        skip!("no model name in the boot sector (not booted by `cargo ci`)");
    }
    check!(
        VMX_BASIC_BY_MODEL.iter().any(|(m, _)| *m == env.model()),
        "model {:?} is not in the models.tsv table",
        env.model()
    );
    Outcome::Pass
}

/// SDM Vol. 3C §25.6 "Discovering support for VMX": CPUID.1:ECX.VMX[bit 5] = 1.
fn cpuid_reports_vmx(env: &mut Env) -> Outcome {
    let r = env.cpuid(1, 0);
    check!(
        r.ecx & (1 << 5) != 0,
        "CPUID.1:ECX = {:#x}: VMX bit 5 clear",
        r.ecx
    );
    Outcome::Pass
}

/// SDM Vol. 3C §25.7 "Enabling and entering VMX operation": the Bochs BIOS locks
/// IA32_FEATURE_CONTROL with VMXON outside SMX enabled: bit 0 (lock) | bit 2 = 0x5.
fn feature_control(env: &mut Env) -> Outcome {
    let v = require!(
        env.rdmsr(IA32_FEATURE_CONTROL),
        "RDMSR IA32_FEATURE_CONTROL"
    );
    check!(
        v == 0x5,
        "IA32_FEATURE_CONTROL = {v:#x}, expected 0x5 (locked, VMX outside SMX)"
    );
    Outcome::Pass
}

/// UD2 raises #UD (vector 6, no error code) with RIP at the UD2 itself (a fault).
fn ud2_caught(_env: &mut Env) -> Outcome {
    let mut ud2_rip: u64 = 0;
    let slot = &raw mut ud2_rip;
    // SAFETY: stores the address of the following UD2 into `ud2_rip`, then executes it; the
    // resulting #UD is caught and abandons the closure.
    let r = catch_exception(|| unsafe {
        core::arch::asm!(
            "lea {tmp}, [rip + 2f]",
            "mov [{slot}], {tmp}",
            "2: ud2",
            tmp = out(reg) _,
            slot = in(reg) slot,
            options(nostack)
        )
    });
    // SAFETY: `slot` points at the local above; the asm wrote it behind the compiler's back.
    let expected = unsafe { core::ptr::read_volatile(slot) };
    let Err(e) = r else {
        return Outcome::Fail("UD2 completed without an exception".into());
    };
    check_eq!(e.vector, 6);
    check_eq!(e.error_code, 0);
    check!(
        e.rip == expected,
        "#UD at RIP {:#x}, UD2 is at {expected:#x}",
        e.rip
    );
    Outcome::Pass
}

/// SDM Vol. 2B RDMSR: "If ... ECX does not specify a valid MSR ... #GP(0)".
/// 0x4000_0000 is in the range reserved for hypervisors; Bochs implements nothing there.
fn missing_msr_gp(env: &mut Env) -> Outcome {
    match env.rdmsr(0x4000_0000) {
        Ok(v) => Outcome::Fail(alloc::format!(
            "RDMSR 0x40000000 returned {v:#x} instead of #GP"
        )),
        Err(e) => {
            check_eq!(e.vector, 13);
            check_eq!(e.error_code, 0);
            Outcome::Pass
        }
    }
}

/// SDM Vol. 3D Appendix A.1: IA32_VMX_BASIC bits 30:0 are the VMCS revision identifier,
/// bit 31 is 0; bits 44:32 the VMCS region size (0 < size <= 4096).
fn vmx_basic_revision(env: &mut Env) -> Outcome {
    let v = require!(env.rdmsr(IA32_VMX_BASIC), "RDMSR IA32_VMX_BASIC");
    check!(v & (1 << 31) == 0, "IA32_VMX_BASIC = {v:#x}: bit 31 set");
    let revision = v & 0x7FFF_FFFF;
    check!(revision != 0, "IA32_VMX_BASIC = {v:#x}: revision id 0");
    let size = (v >> 32) & 0x1FFF;
    check!(
        size > 0 && size <= 4096,
        "IA32_VMX_BASIC = {v:#x}: VMCS size {size}"
    );
    if let Some((_, expected)) = VMX_BASIC_BY_MODEL.iter().find(|(m, _)| *m == env.model()) {
        check!(
            v == *expected,
            "IA32_VMX_BASIC = {v:#x}, models.tsv says {expected:#x} for {}",
            env.model()
        );
    }
    Outcome::Pass
}
