//! Hostile guests (issue 9): each scenario runs a guest that tries to reach the host through
//! one feature of `vmx-vcpu` and asserts the exact exits, what the guest sees, and that the
//! host's own state (read on the host before and after) is untouched.

use alloc::format;
use alloc::vec::Vec;
use core::arch::global_asm;

use baremetal::cpu;
use vmx_defs::controls::PrimaryProcBasedControls as Pri;
use vmx_defs::exception::ExceptionVector;
use vmx_defs::instruction_info::Gpr;
use vmx_defs::interruption::InterruptionType;
use vmx_defs::qualification::MovDrDirection;
use vmx_defs::registers::{Xcr0, Xcr0Error};
use vmx_defs::vmcs::fields;
use vmx_vcpu::dr_rules::GuestDebugRegisters;
use vmx_vcpu::exit::{CrAccess, ExceptionExit};
use vmx_vcpu::guest::DescriptorTableRegister;
use vmx_vcpu::injection::Reflection;
use vmx_vcpu::{
    Event, ExecControl, Flow, ISOLATION, Vcpu, VcpuConfig, VmExit, VmxError, with_exec_control,
};

use crate::env::{Env, Outcome, Scenario};
use crate::hosts::KernelHost;
use crate::{check, check_eq, require, setup, skip};

use super::vcpu::{addr, expect_vmcall, host_xcr0, new_vcpu, run};
use super::vmx_setup::{enable, long_mode_guest};

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "hostile_xsetbv_mpx_rule",
        run: xsetbv_mpx_rule,
    },
    Scenario {
        name: "hostile_debug_and_cr8_isolation",
        run: debug_and_cr8_isolation,
    },
    Scenario {
        name: "hostile_np_during_int_n_reflected_once",
        run: np_during_int_n,
    },
    Scenario {
        name: "hostile_reset_clears_pending_events",
        run: reset_clears_pending,
    },
    Scenario {
        name: "hostile_exec_control_set_at_run_time_stays_set",
        run: exec_control_stays_set,
    },
];

global_asm!(
    ".pushsection .text.hostile_guests,\"ax\",@progbits",
    ".code64",
    // XSETBV of XCR0 = 0b1011 (x87, SSE, MPX BNDREGS without BNDCSR), then VMCALL.
    ".global hostile_guest_xsetbv",
    "hostile_guest_xsetbv:",
    "xor ecx, ecx",
    "xor edx, edx",
    "mov eax, 0xB",
    "xsetbv",
    "vmcall",
    "ud2",
    // #GP handler: R12 = error code, R13 += 1, RIP += 3 (past XSETBV), IRETQ.
    ".global hostile_gp_skip_xsetbv",
    "hostile_gp_skip_xsetbv:",
    "pop r12",
    "inc r13",
    "add qword ptr [rsp], 3",
    "iretq",
    // Writes CR8, DR0-DR3, DR6, DR7, IA32_DEBUGCTL; VMCALL; reads each back into
    // R8-R15; VMCALL.
    ".global hostile_guest_dbg",
    "hostile_guest_dbg:",
    "mov eax, 7",
    "mov cr8, rax",
    "mov eax, 0x1111000",
    "mov dr0, rax",
    "mov eax, 0x2222000",
    "mov dr1, rax",
    "mov eax, 0x3333000",
    "mov dr2, rax",
    "mov eax, 0x4444000",
    "mov dr3, rax",
    "mov eax, 0x400F",
    "mov dr6, rax",
    "mov eax, 0x33000400",
    "mov dr7, rax",
    "mov ecx, 0x1D9",
    "mov eax, 1",
    "xor edx, edx",
    "wrmsr",
    "vmcall",
    "mov r8, cr8",
    "mov r9, dr0",
    "mov r10, dr1",
    "mov r11, dr2",
    "mov r12, dr3",
    "mov r13, dr6",
    "mov r14, dr7",
    "mov ecx, 0x1D9",
    "rdmsr",
    "mov r15, rax",
    "vmcall",
    "ud2",
    // INT 0x41 (2 bytes), then VMCALL.
    ".global hostile_guest_int41",
    "hostile_guest_int41:",
    "int 0x41",
    "vmcall",
    "ud2",
    // #NP handler: R12 = error code, [RBX] += 1, marks gate 0x41 of the IDT at RSI
    // present (byte 5 of the 16-byte gate, bit 7), IRETQ (the INT 0x41 executes again).
    ".global hostile_np_handler",
    "hostile_np_handler:",
    "pop r12",
    "inc qword ptr [rbx]",
    "or byte ptr [rsi + 0x415], 0x80",
    "iretq",
    // Vector 0x41 handler: [RBX + 8] += 1.
    ".global hostile_int41_handler",
    "hostile_int41_handler:",
    "inc qword ptr [rbx + 8]",
    "iretq",
    // #DF handler: R12 = error code, [RBX + 16] += 1, VMCALL (an abort: never returns).
    ".global hostile_df_handler",
    "hostile_df_handler:",
    "pop r12",
    "inc qword ptr [rbx + 16]",
    "vmcall",
    "ud2",
    // NMI handler: R13 += 1, VMCALL (inside the handler), IRETQ.
    ".global hostile_nmi_vmcall",
    "hostile_nmi_vmcall:",
    "inc r13",
    "vmcall",
    "iretq",
    // VMCALL forever.
    ".global hostile_guest_vmcall",
    "hostile_guest_vmcall:",
    "vmcall",
    "jmp hostile_guest_vmcall",
    // The reset context: STI; NOP; NOP; VMCALL; VMCALL.
    ".global hostile_guest_reset_b",
    "hostile_guest_reset_b:",
    "sti",
    "nop",
    "nop",
    "vmcall",
    "vmcall",
    "ud2",
    // Counting handlers: NMI [RBX], 0x40 [RBX + 8], 0x41 [RBX + 16], #NP [RBX + 24].
    ".global hostile_count_nmi",
    "hostile_count_nmi:",
    "inc qword ptr [rbx]",
    "iretq",
    ".global hostile_count_40",
    "hostile_count_40:",
    "inc qword ptr [rbx + 8]",
    "iretq",
    ".global hostile_count_41",
    "hostile_count_41:",
    "inc qword ptr [rbx + 16]",
    "iretq",
    ".global hostile_count_np",
    "hostile_count_np:",
    "add rsp, 8",
    "inc qword ptr [rbx + 24]",
    "iretq",
    // RDTSC; VMCALL; STI; NOP; RDTSC; VMCALL; RDTSC; VMCALL.
    ".global hostile_guest_windows",
    "hostile_guest_windows:",
    "rdtsc",
    "vmcall",
    "sti",
    "nop",
    "rdtsc",
    "vmcall",
    "rdtsc",
    "vmcall",
    "ud2",
    // Interrupt handler: R14 = 0x40.
    ".global hostile_irq40",
    "hostile_irq40:",
    "mov r14, 0x40",
    "iretq",
    ".popsection",
);

unsafe extern "C" {
    fn hostile_guest_xsetbv();
    fn hostile_gp_skip_xsetbv();
    fn hostile_guest_dbg();
    fn hostile_guest_int41();
    fn hostile_np_handler();
    fn hostile_int41_handler();
    fn hostile_df_handler();
    fn hostile_nmi_vmcall();
    fn hostile_guest_vmcall();
    fn hostile_guest_reset_b();
    fn hostile_count_nmi();
    fn hostile_count_40();
    fn hostile_count_41();
    fn hostile_count_np();
    fn hostile_guest_windows();
    fn hostile_irq40();
}

/// IA32_DEBUGCTL (SDM Vol. 4 Table 2-2).
const IA32_DEBUGCTL: u32 = 0x1D9;
/// The IA32_DEBUGCTL bits this test hypervisor lets a guest set: LBR (0) and BTF (1).
const DEBUGCTL_ALLOWED: u64 = 0b11;

/// What a `run_loop` handler of these scenarios can end with (the loop's own errors come
/// in through `From<VmxError>`).
#[derive(Debug)]
enum HostileError {
    Vmx(VmxError),
    Unexpected(VmExit),
    TooManyExits(usize),
    Refused { msr: u32, value: u64 },
}

impl From<VmxError> for HostileError {
    fn from(e: VmxError) -> Self {
        Self::Vmx(e)
    }
}

impl core::fmt::Display for HostileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Vmx(e) => write!(f, "{e}"),
            Self::Unexpected(x) => write!(f, "unexpected exit {x:?}"),
            Self::TooManyExits(n) => write!(f, "{n} exits: the vCPU loops"),
            Self::Refused { msr, value } => write!(f, "WRMSR {msr:#x} <- {value:#x} refused"),
        }
    }
}

/// A fresh IDT frame with every gate not present.
fn empty_idt(env: &mut Env) -> Result<(u64, DescriptorTableRegister), Outcome> {
    let f = env
        .alloc_frame()
        .ok_or_else(|| Outcome::Fail("no IDT frame".into()))?;
    Ok((
        f,
        DescriptorTableRegister {
            base: f,
            limit: 4095,
        },
    ))
}

/// A 64-bit interrupt gate for `vector` to `handler` with code selector `cs`.
fn set_gate_sel(idt: u64, vector: u64, handler: u64, cs: u64, present: bool) {
    let p = if present { 1u64 << 47 } else { 0 };
    let low =
        (handler & 0xFFFF) | (cs << 16) | (0xE << 40) | p | (((handler >> 16) & 0xFFFF) << 48);
    let e = (idt + vector * 16) as *mut u64;
    // SAFETY: `idt` is a frame this scenario owns; vector < 256 keeps it in the frame.
    unsafe {
        e.write_volatile(low);
        e.add(1).write_volatile(handler >> 32);
    }
}

fn set_gate(idt: u64, vector: u64, handler: unsafe extern "C" fn()) {
    set_gate_sel(
        idt,
        vector,
        addr(handler),
        u64::from(cpu::selectors().cs),
        true,
    );
}

fn counter(base: u64, i: u64) -> u64 {
    // SAFETY: `base` is a zeroed frame the scenario owns; i < 512.
    unsafe { ((base + i * 8) as *const u64).read_volatile() }
}

fn read_cr8() -> u64 {
    let v: u64;
    // SAFETY: MOV from CR8 at CPL 0 only reads the task-priority register.
    unsafe { core::arch::asm!("mov {}, cr8", out(reg) v, options(nomem, nostack)) };
    v
}

/// The host's DR0-DR3, DR6, DR7.
fn read_drs() -> [u64; 6] {
    let (d0, d1, d2, d3, d6, d7): (u64, u64, u64, u64, u64, u64);
    // SAFETY: MOV from debug registers at CPL 0 only reads them (CR4.DE does not matter for
    // DR0-3/6/7).
    unsafe {
        core::arch::asm!(
            "mov {0}, dr0", "mov {1}, dr1", "mov {2}, dr2", "mov {3}, dr3",
            "mov {4}, dr6", "mov {5}, dr7",
            out(reg) d0, out(reg) d1, out(reg) d2, out(reg) d3, out(reg) d6, out(reg) d7,
            options(nomem, nostack),
        );
    }
    [d0, d1, d2, d3, d6, d7]
}

/// Sets the host's DR0-DR3 (breakpoint addresses; DR7 is left as it is).
fn write_dr0_3(v: [u64; 4]) {
    // SAFETY: CPL 0; the addresses arm nothing unless DR7 enables them, which the host's
    // DR7 (read and kept) does not in this kernel (checked by the caller).
    unsafe {
        core::arch::asm!(
            "mov dr0, {0}", "mov dr1, {1}", "mov dr2, {2}", "mov dr3, {3}",
            in(reg) v[0], in(reg) v[1], in(reg) v[2], in(reg) v[3],
            options(nomem, nostack),
        );
    }
}

/// Whether the primary controls field (read from the VMCS, not the cache) has `c`.
fn field_has(v: &mut Vcpu<'_, KernelHost>, c: Pri) -> Result<bool, Outcome> {
    let raw = v
        .read_field(fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS)
        .map_err(|e| Outcome::Fail(format!("read primary controls: {e}")))?;
    Ok(Pri::from_bits_retain(raw).contains(c))
}

// ---------------------------------------------------------------- 1. XSETBV

/// A guest XSETBV of XCR0 = 0b1011 (MPX BNDREGS without BNDCSR, SDM Vol. 1 §13.3): the
/// exit is `Xsetbv { index: 0, value: 0xB }`, `complete_xsetbv` refuses it with
/// `InvalidXcr0 { value: 0xB, rule }` leaving RIP and the guest's XCR0, the injected #GP(0) runs the
/// guest's handler once, and the host's XCR0 is unchanged. The rule that refuses it is the
/// MPX rule where CPUID.(0DH,0) reports MPX, else "unsupported bit 3".
fn xsetbv_mpx_rule(env: &mut Env) -> Outcome {
    if env.cpuid(1, 0).ecx & (1 << 26) == 0 {
        skip!(
            "no XSAVE on {} (XSETBV is #UD; the MPX rule is host-tested in vmx-defs)",
            env.model()
        );
    }
    // Before VMXON: `VmxCpu::disable` restores the CR4 of `enable` (SDM §31.3 VMXOFF leaves
    // CR4 alone; the crate documents the restore), and XGETBV after it needs OSXSAVE.
    let cr4 = cpu::read_cr4() | (1 << 9) | (1 << 10) | (1 << 18);
    // SAFETY: OSFXSR/OSXMMEXCPT/OSXSAVE only enable instructions; the runner restores CR4.
    unsafe { cpu::write_cr4(cr4) };
    let c = setup!(enable());
    let host = host_xcr0();
    let d = env.cpuid(0xD, 0);
    let supported = Xcr0::from_cpuid(d.eax, d.edx);
    let has_mpx = supported.contains(Xcr0::MPX);
    let rule = Xcr0::check(0xB, supported);
    if has_mpx {
        check_eq!(rule, Err(Xcr0Error::MpxPartial));
    } else {
        check_eq!(rule, Err(Xcr0Error::Unsupported { bits: 0x8 }));
    }
    let (idt_frame, idt) = setup!(empty_idt(env));
    set_gate(idt_frame, 13, hostile_gp_skip_xsetbv);
    let mut cfg = VcpuConfig::new(setup!(long_mode_guest(env, hostile_guest_xsetbv, 0x2, idt)));
    cfg.guest.cr4 = cr4 & !(1 << 13);
    let mut v = setup!(new_vcpu(&c, &cfg));
    check_eq!(v.xstate_mode(), vmx_vcpu::xstate::XStateMode::Xsave);
    let start = v.guest_xcr0();
    check_eq!(
        setup!(run(&mut v)),
        VmExit::Xsetbv {
            index: 0,
            value: 0xB
        }
    );
    let rip = require!(v.rip(), "rip");
    // The vCPU names the rule it refused by, the same as vmx-defs' check.
    check_eq!(
        v.complete_xsetbv(0, 0xB),
        Err(VmxError::InvalidXcr0 {
            value: 0xB,
            rule: match rule {
                Err(r) => r,
                Ok(_) => return Outcome::Fail("0xB accepted by Xcr0::check".into()),
            }
        })
    );
    check_eq!(require!(v.rip(), "rip"), rip);
    check_eq!(v.guest_xcr0(), start);
    check_eq!(host_xcr0(), host);
    require!(
        v.inject(Event::HardwareException {
            vector: 13,
            error_code: Some(0)
        }),
        "inject #GP(0)"
    );
    v.regs_mut().r12 = 0xDEAD;
    let r = setup!(expect_vmcall(&mut v));
    check!(
        r.r13 == 1 && r.r12 == 0,
        "guest #GP handler: runs {}, error code {:#x}",
        r.r13,
        r.r12
    );
    check_eq!(v.guest_xcr0(), start);
    check_eq!(host_xcr0(), host);
    check!(
        v.pending_events().is_empty(),
        "events left: {:?}",
        v.pending_events()
    );
    drop(v);
    require!(c.disable(), "disable");
    check_eq!(host_xcr0(), host);
    if !has_mpx {
        // The value was refused, but by the "unsupported" rule: say so on the scenario line.
        return Outcome::Skip(format!(
            "no MPX on {}: 0xB refused as unsupported bit 3 (#GP injected, host XCR0 {host:#x} \
             kept); the MPX rule itself is host-tested (vmx-defs registers tests)",
            env.model()
        ));
    }
    Outcome::Pass
}

// ---------------------------------------------------------------- 2. debug registers, CR8

/// Handles the exits of the debug-register guest: MOV CR8 (`complete_cr_access`), MOV DR
/// (`complete_mov_dr`), WRMSR/RDMSR of IA32_DEBUGCTL (GUEST_IA32_DEBUGCTL, switched by the
/// debug controls), until a VMCALL.
fn debug_phase(v: &mut Vcpu<'_, KernelHost>, seen: &mut Vec<VmExit>) -> Result<(), HostileError> {
    let start = seen.len();
    v.run_loop_with(
        |v: &mut Vcpu<'_, KernelHost>, exit: VmExit| -> Result<Flow, HostileError> {
            seen.push(exit);
            if seen.len() - start > 16 {
                return Err(HostileError::TooManyExits(seen.len() - start));
            }
            match exit {
                VmExit::CrAccess(a) => v.complete_cr_access(&a)?,
                VmExit::MovDr(q) => v.complete_mov_dr(&q)?,
                VmExit::Wrmsr {
                    msr: IA32_DEBUGCTL,
                    value,
                } => {
                    if value & !DEBUGCTL_ALLOWED != 0 {
                        return Err(HostileError::Refused {
                            msr: IA32_DEBUGCTL,
                            value,
                        });
                    }
                    // SAFETY: a guest-state field loaded into IA32_DEBUGCTL at entry only ("load
                    // debug controls", ISOLATION); VM exit clears the MSR for the host (SDM
                    // Vol. 3C §27.3.2.1, §28.5.1). LBR/BTF only.
                    unsafe { v.write_field(fields::GUEST_IA32_DEBUGCTL, value) }?;
                    v.advance_rip()?;
                }
                VmExit::Rdmsr { msr: IA32_DEBUGCTL } => {
                    let value = v.read_field(fields::GUEST_IA32_DEBUGCTL)?;
                    v.complete_rdmsr(value)?;
                }
                VmExit::Vmcall(_) => return Ok(Flow::Stop),
                other => return Err(HostileError::Unexpected(other)),
            }
            Ok(Flow::Continue)
        },
    )
}

fn is_mov_dr(e: &VmExit, dr: u8, dir: MovDrDirection, gpr: Gpr) -> bool {
    matches!(e, VmExit::MovDr(q) if q.dr_number() == dr && q.direction() == dir && q.gpr() == gpr)
}

/// A guest writes CR8, DR0-DR3, DR6, DR7 and IA32_DEBUGCTL, then reads each back after
/// another exit: it gets its own values (DR6 with its fixed bits), exactly one exit per
/// access, while the host's CR8, DR0-DR3, DR6, DR7 and IA32_DEBUGCTL, read on the host
/// before, between and after, never change.
fn debug_and_cr8_isolation(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let debugctl = |env: &mut Env| env.rdmsr(IA32_DEBUGCTL).ok();
    let saved = read_drs();
    check!(
        saved[5] & 0xFF == 0,
        "host DR7 {:#x} arms breakpoints",
        saved[5]
    );
    let host_dr = [0xAAA0_0000, 0xBBB0_0000, 0xCCC0_0000, 0xDDD0_0000];
    write_dr0_3(host_dr);
    let host_before = (read_cr8(), read_drs(), debugctl(env));
    let cfg = VcpuConfig::new(setup!(long_mode_guest(
        env,
        hostile_guest_dbg,
        0x2,
        super::vmx_setup::NO_IDT
    )));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let mut seen = Vec::new();
    let r1 = debug_phase(&mut v, &mut seen);
    let host_mid = (read_cr8(), read_drs(), debugctl(env));
    if let Err(e) = r1 {
        write_dr0_3([saved[0], saved[1], saved[2], saved[3]]);
        return Outcome::Fail(format!("write phase: {e} (exits {seen:?})"));
    }
    check_eq!(host_mid, host_before);
    let to = MovDrDirection::ToDr;
    check_eq!(seen.len(), 9);
    check_eq!(
        seen[0],
        VmExit::CrAccess(CrAccess::MovTo {
            cr: 8,
            gpr: Gpr::Rax,
            value: 7
        })
    );
    for (i, dr) in [0u8, 1, 2, 3, 6, 7].into_iter().enumerate() {
        check!(
            is_mov_dr(&seen[1 + i], dr, to, Gpr::Rax),
            "exit {}: {:?}",
            1 + i,
            seen[1 + i]
        );
    }
    check_eq!(
        seen[7],
        VmExit::Wrmsr {
            msr: IA32_DEBUGCTL,
            value: 1
        }
    );
    let guest_dr = GuestDebugRegisters {
        dr: [0x111_1000, 0x222_2000, 0x333_3000, 0x444_4000],
        dr6: 0xFFFF_4FFF,
        dr7: 0x3300_0400,
    };
    check_eq!(
        require!(v.guest_debug_registers(), "guest_debug_registers"),
        guest_dr
    );
    check_eq!(v.virtual_tpr(), 7);
    check_eq!(
        require!(
            v.read_field(fields::GUEST_IA32_DEBUGCTL),
            "GUEST_IA32_DEBUGCTL"
        ),
        1
    );
    require!(v.advance_rip(), "advance past VMCALL");
    let r2 = debug_phase(&mut v, &mut seen);
    let host_after = (read_cr8(), read_drs(), debugctl(env));
    write_dr0_3([saved[0], saved[1], saved[2], saved[3]]);
    if let Err(e) = r2 {
        return Outcome::Fail(format!("read phase: {e} (exits {seen:?})"));
    }
    check_eq!(host_after, host_before);
    check_eq!(seen.len(), 18);
    check_eq!(
        seen[9],
        VmExit::CrAccess(CrAccess::MovFrom {
            cr: 8,
            gpr: Gpr::R8
        })
    );
    let from = MovDrDirection::FromDr;
    let gprs = [Gpr::R9, Gpr::R10, Gpr::R11, Gpr::R12, Gpr::R13, Gpr::R14];
    for (i, dr) in [0u8, 1, 2, 3, 6, 7].into_iter().enumerate() {
        check!(
            is_mov_dr(&seen[10 + i], dr, from, gprs[i]),
            "exit {}: {:?}",
            10 + i,
            seen[10 + i]
        );
    }
    check_eq!(seen[16], VmExit::Rdmsr { msr: IA32_DEBUGCTL });
    let r = *v.regs();
    check_eq!(
        [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15],
        [
            7,
            0x111_1000,
            0x222_2000,
            0x333_3000,
            0x444_4000,
            0xFFFF_4FFF,
            0x3300_0400,
            1
        ]
    );
    drop(v);
    require!(c.disable(), "disable");
    Outcome::Pass
}

// ---------------------------------------------------------------- 3. #NP during INT n

/// INT 0x41 through a not-present gate with #NP intercepted: the exit is #NP (error code
/// 0x41 * 8 + 2: IDT, not EXT) with the software interrupt in IDT-vectoring information;
/// `reflect_exception(#NP)` delivers the #NP and drops the INT n (Table 6-5 / §28.2.4); the
/// guest's #NP handler runs once, the INT re-executes once, and the next exit is the
/// VMCALL. Then a #GP during the delivery of a #NP (gate 11 with a selector beyond the GDT
/// limit) is reflected as #DF(0), which the guest's #DF handler takes.
fn np_during_int_n(env: &mut Env) -> Outcome {
    // The kernel's GDT limit, read before any VM exit sets GDTR.limit to 0xFFFF.
    let gdt_limit = cpu::sgdt().limit;
    let c = setup!(enable());
    let counters = require!(env.alloc_frame().ok_or("no frame"), "counter frame");
    let (idt_frame, idt) = setup!(empty_idt(env));
    set_gate(idt_frame, 11, hostile_np_handler);
    set_gate_sel(
        idt_frame,
        0x41,
        addr(hostile_int41_handler),
        u64::from(cpu::selectors().cs),
        false,
    );
    let cfg = VcpuConfig::new(setup!(long_mode_guest(env, hostile_guest_int41, 0x2, idt)));
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.set_exception_bitmap(1 << 11), "exception bitmap");
    v.regs_mut().rbx = counters;
    v.regs_mut().rsi = idt_frame;
    let np_code = 0x41 * 8 + 2;
    let e = setup!(run(&mut v));
    check_eq!(
        e,
        VmExit::Exception(ExceptionExit {
            vector: ExceptionVector::NP,
            interruption_type: InterruptionType::HardwareException,
            error_code: Some(np_code),
            qualification: 0,
            nmi_unblocking_iret: false,
            instruction_len: 0,
        })
    );
    let info = require!(
        v.read_field(fields::EXIT_IDT_VECTORING_INFO),
        "IDT-vectoring"
    );
    // Valid, type 4 (software interrupt), vector 0x41, no error code.
    check_eq!(info, 0x8000_0000 | (4 << 8) | 0x41);
    let soft = Event::SoftwareInterrupt {
        vector: 0x41,
        instruction_len: 2,
    };
    check_eq!(v.pending_events().reinjection(), Some(soft));
    let np = Event::HardwareException {
        vector: 11,
        error_code: Some(np_code),
    };
    check_eq!(
        require!(v.reflect_exception(np), "reflect_exception(#NP)"),
        Reflection::Deliver {
            event: np,
            requeue: None
        }
    );
    // The reflected #NP is first in line, in place of the INT n (not re-injected).
    check_eq!(v.pending_events().reinjection(), Some(np));
    let mut exits = Vec::new();
    let mut regs = None;
    for _ in 0..8 {
        let e = setup!(run(&mut v));
        exits.push(e);
        if let VmExit::Vmcall(_) = e {
            regs = Some(*v.regs());
            break;
        }
    }
    let (1, Some(r)) = (exits.len(), regs) else {
        return Outcome::Fail(format!("exits after the reflection: {exits:?}"));
    };
    check_eq!(r.r12, u64::from(np_code));
    check_eq!((counter(counters, 0), counter(counters, 1)), (1, 1));
    check!(
        v.pending_events().is_empty(),
        "pending: {:?}",
        v.pending_events()
    );
    drop(v);

    // #GP while delivering #NP: contributory + contributory = #DF.
    check!(gdt_limit < 0xFFF8, "GDT limit {gdt_limit:#x}");
    let counters2 = require!(env.alloc_frame().ok_or("no frame"), "counter frame");
    let (idt2_frame, idt2) = setup!(empty_idt(env));
    set_gate_sel(idt2_frame, 11, addr(hostile_np_handler), 0xFFF8, true);
    set_gate(idt2_frame, 8, hostile_df_handler);
    let cs = u64::from(cpu::selectors().cs);
    set_gate_sel(idt2_frame, 0x41, addr(hostile_int41_handler), cs, false);
    let mut cfg = VcpuConfig::new(setup!(long_mode_guest(env, hostile_guest_int41, 0x2, idt2)));
    cfg.guest.gdtr.limit = gdt_limit;
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(
        v.set_exception_bitmap((1 << 11) | (1 << 13)),
        "exception bitmap"
    );
    v.regs_mut().rbx = counters2;
    v.regs_mut().rsi = idt2_frame;
    let e = setup!(run(&mut v));
    check!(
        matches!(e, VmExit::Exception(ExceptionExit { vector: ExceptionVector::NP, error_code: Some(c), .. }) if c == np_code),
        "first exit {e:?}"
    );
    check_eq!(
        require!(v.reflect_exception(np), "reflect_exception(#NP)"),
        Reflection::Deliver {
            event: np,
            requeue: None
        }
    );
    let e = setup!(run(&mut v));
    let gp_code = match e {
        VmExit::Exception(ExceptionExit {
            vector: ExceptionVector::GP,
            interruption_type: InterruptionType::HardwareException,
            error_code: Some(code),
            ..
        }) => code,
        other => return Outcome::Fail(format!("expected #GP delivering #NP, got {other:?}")),
    };
    // The selector, EXT set (the #NP being delivered is external to the program).
    check_eq!(gp_code, 0xFFF8 | 1);
    check_eq!(v.pending_events().reinjection(), Some(np));
    let gp = Event::HardwareException {
        vector: 13,
        error_code: Some(gp_code),
    };
    let df = Event::HardwareException {
        vector: 8,
        error_code: Some(0),
    };
    check_eq!(
        require!(v.reflect_exception(gp), "reflect_exception(#GP)"),
        Reflection::Deliver {
            event: df,
            requeue: None
        }
    );
    v.regs_mut().r12 = 0xDEAD;
    let e = setup!(run(&mut v));
    check!(
        matches!(e, VmExit::Vmcall(_)),
        "expected the #DF handler's VMCALL, got {e:?}"
    );
    check_eq!(v.regs().r12, 0);
    check_eq!(
        (
            counter(counters2, 0),
            counter(counters2, 1),
            counter(counters2, 2)
        ),
        (0, 0, 1)
    );
    drop(v);
    require!(c.disable(), "disable");
    Outcome::Pass
}

// ---------------------------------------------------------------- 4. reset

/// Context A (IF = 1) gets external interrupt 0x41 through a not-present gate: #NP exits
/// with the interrupt in IDT-vectoring information (the re-injection); then interrupt 0x40
/// and an NMI are queued. `write_guest_state` to context B (its IDT counts every one of
/// those vectors, IF = 1 after its STI) then runs B's first instructions with none of them
/// delivered and no window exit.
fn reset_clears_pending(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (idt_a_frame, idt_a) = setup!(empty_idt(env));
    set_gate(idt_a_frame, 2, hostile_nmi_vmcall);
    // A valid gate, not present (an all-zero entry would give #GP instead of #NP).
    let cs = u64::from(cpu::selectors().cs);
    set_gate_sel(idt_a_frame, 0x41, addr(hostile_count_41), cs, false);
    let cfg_a = VcpuConfig::new(setup!(long_mode_guest(
        env,
        hostile_guest_vmcall,
        0x202,
        idt_a
    )));
    let mut v = setup!(new_vcpu(&c, &cfg_a));
    require!(v.set_exception_bitmap(1 << 11), "exception bitmap");
    require!(v.inject(Event::ExternalInterrupt(0x41)), "inject 0x41");
    let e = setup!(run(&mut v));
    check!(
        matches!(e, VmExit::Exception(ExceptionExit { vector: ExceptionVector::NP, error_code: Some(code), .. }) if code == 0x41 * 8 + 3),
        "expected #NP delivering 0x41, got {e:?}"
    );
    check_eq!(
        v.pending_events().reinjection(),
        Some(Event::ExternalInterrupt(0x41))
    );
    require!(v.inject(Event::ExternalInterrupt(0x40)), "inject 0x40");
    require!(v.inject(Event::Nmi), "inject NMI");
    check_eq!(v.pending_events().highest_interrupt(), Some(0x40));
    check!(v.pending_events().nmi_pending(), "NMI not pending");

    let counters = require!(env.alloc_frame().ok_or("no frame"), "counter frame");
    let (idt_b_frame, idt_b) = setup!(empty_idt(env));
    set_gate(idt_b_frame, 2, hostile_count_nmi);
    set_gate(idt_b_frame, 0x40, hostile_count_40);
    set_gate(idt_b_frame, 0x41, hostile_count_41);
    set_gate(idt_b_frame, 11, hostile_count_np);
    let b = setup!(long_mode_guest(env, hostile_guest_reset_b, 0x2, idt_b));
    require!(v.write_guest_state(&b), "write_guest_state");
    v.regs_mut().rbx = counters;
    check!(
        v.pending_events().is_empty(),
        "pending after reset: {:?}",
        v.pending_events()
    );
    check_eq!(v.last_injection(), None);
    check_eq!(
        require!(
            v.read_field(fields::CTRL_VMENTRY_INTERRUPTION_INFO),
            "entry info"
        ),
        0
    );
    let e = setup!(run(&mut v));
    check!(matches!(e, VmExit::Vmcall(_)), "first exit of B: {e:?}");
    check_eq!(require!(v.rip(), "rip"), addr(hostile_guest_reset_b) + 3);
    check_eq!(v.last_injection(), None);
    require!(v.advance_rip(), "advance");
    let e = setup!(run(&mut v));
    check!(matches!(e, VmExit::Vmcall(_)), "second exit of B: {e:?}");
    check_eq!(require!(v.rip(), "rip"), addr(hostile_guest_reset_b) + 6);
    check_eq!(
        [
            counter(counters, 0),
            counter(counters, 1),
            counter(counters, 2),
            counter(counters, 3)
        ],
        [0, 0, 0, 0]
    );
    check!(
        !setup!(field_has(&mut v, Pri::INTERRUPT_WINDOW_EXITING)),
        "interrupt window left on"
    );
    check!(
        !setup!(field_has(&mut v, Pri::NMI_WINDOW_EXITING)),
        "NMI window left on"
    );
    drop(v);
    require!(c.disable(), "disable");
    Outcome::Pass
}

// ---------------------------------------------------------------- 5. run-time controls

/// RDTSC exiting turned on and HLT exiting off after creation (MTF toggled where allowed),
/// and RDPMC exiting set by a raw `write_field` of the primary controls: through an
/// interrupt window (interrupt injected while IF = 0) and an NMI window, every one stays
/// in the VMCS field and RDTSC keeps exiting; turning RDTSC exiting off keeps the raw
/// RDPMC bit. The ISOLATION controls are in the fields at the end, and the host's CR8 is
/// unchanged.
fn exec_control_stays_set(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let caps = c.capabilities();
    let vnmi = caps.has_virtual_nmis() && caps.has_nmi_window_exiting();
    let host_cr8 = read_cr8();
    let (idt_frame, idt) = setup!(empty_idt(env));
    set_gate(idt_frame, 2, hostile_nmi_vmcall);
    set_gate(idt_frame, 0x40, hostile_irq40);
    let cfg = VcpuConfig::new(setup!(long_mode_guest(
        env,
        hostile_guest_windows,
        0x2,
        idt
    )));
    let mut v = setup!(new_vcpu(&c, &cfg));
    check!(
        !v.exec_control(ExecControl::RdtscExiting),
        "RDTSC exiting on at creation"
    );
    require!(
        v.set_exec_control(ExecControl::RdtscExiting, true),
        "RDTSC exiting on"
    );
    require!(
        v.set_exec_control(ExecControl::HltExiting, false),
        "HLT exiting off"
    );
    match v.set_exec_control(ExecControl::MonitorTrapFlag, true) {
        Ok(()) => {
            check!(
                setup!(field_has(&mut v, Pri::MONITOR_TRAP_FLAG)),
                "MTF not in the field"
            );
            require!(
                v.set_exec_control(ExecControl::MonitorTrapFlag, false),
                "MTF off"
            );
            check!(
                !setup!(field_has(&mut v, Pri::MONITOR_TRAP_FLAG)),
                "MTF still in the field"
            );
        }
        Err(VmxError::ControlNotAllowed { .. }) => {
            check!(!caps.has_mtf(), "MTF refused although allowed");
        }
        Err(e) => return Outcome::Fail(format!("MTF: {e}")),
    }
    let rdpmc = with_exec_control(caps, *v.controls(), ExecControl::RdpmcExiting, true).is_ok();
    check_eq!(setup!(run(&mut v)), VmExit::Rdtsc);
    v.regs_mut().rax = 0x1111;
    v.regs_mut().rdx = 0x2222;
    require!(v.advance_rip(), "advance RDTSC");
    let r = setup!(expect_vmcall(&mut v));
    check!(
        (r.rax, r.rdx) == (0x1111, 0x2222),
        "guest saw TSC {:#x}:{:#x}",
        r.rdx,
        r.rax
    );
    require!(
        v.inject(Event::ExternalInterrupt(0x40)),
        "inject 0x40 with IF = 0"
    );
    if rdpmc {
        let raw = require!(
            v.read_field(fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS),
            "primary controls"
        );
        let value = raw | Pri::RDPMC_EXITING.bits();
        // SAFETY: adds RDPMC exiting (allowed, checked above), an exit condition only; every
        // other bit, ISOLATION's included, is the field's own.
        let written =
            unsafe { v.write_field(fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS, value) };
        require!(written, "raw write of the primary controls");
        check!(
            v.exec_control(ExecControl::RdpmcExiting),
            "raw write not seen by the vCPU"
        );
    }
    let want = |v: &mut Vcpu<'_, KernelHost>, window: Pri, on: bool| -> Result<(), Outcome> {
        let raw = Pri::from_bits_retain(
            v.read_field(fields::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS)
                .map_err(|e| Outcome::Fail(format!("read: {e}")))?,
        );
        let ok = raw.contains(Pri::RDTSC_EXITING)
            && !raw.contains(Pri::HLT_EXITING)
            && (!rdpmc || raw.contains(Pri::RDPMC_EXITING))
            && raw.contains(window) == on
            && raw.contains(ISOLATION.primary);
        if ok {
            Ok(())
        } else {
            Err(Outcome::Fail(format!(
                "primary controls {raw:?} (window {window:?} expected {on})"
            )))
        }
    };
    check_eq!(setup!(run(&mut v)), VmExit::InterruptWindow);
    setup!(want(&mut v, Pri::INTERRUPT_WINDOW_EXITING, true));
    check_eq!(setup!(run(&mut v)), VmExit::Rdtsc);
    setup!(want(&mut v, Pri::INTERRUPT_WINDOW_EXITING, false));
    check_eq!(v.regs().r14, 0x40);
    v.regs_mut().rax = 0x3333;
    v.regs_mut().rdx = 0x4444;
    require!(v.advance_rip(), "advance RDTSC");
    if vnmi {
        require!(v.inject(Event::Nmi), "inject NMI");
        let r = setup!(expect_vmcall(&mut v));
        check_eq!(r.r13, 1);
        require!(v.inject(Event::Nmi), "inject NMI while blocked");
        check_eq!(setup!(run(&mut v)), VmExit::NmiWindow);
        setup!(want(&mut v, Pri::NMI_WINDOW_EXITING, true));
        let r = setup!(expect_vmcall(&mut v));
        check_eq!(r.r13, 2);
    }
    let r = setup!(expect_vmcall(&mut v));
    check!(
        (r.rax, r.rdx, r.r14) == (0x3333, 0x4444, 0x40),
        "main code saw {r:?}"
    );
    setup!(want(&mut v, Pri::NMI_WINDOW_EXITING, false));
    require!(
        v.set_exec_control(ExecControl::RdtscExiting, false),
        "RDTSC exiting off"
    );
    check!(
        !setup!(field_has(&mut v, Pri::RDTSC_EXITING)),
        "RDTSC exiting still on"
    );
    check!(
        !rdpmc || setup!(field_has(&mut v, Pri::RDPMC_EXITING)),
        "raw RDPMC exiting undone"
    );
    let r = setup!(expect_vmcall(&mut v));
    check!((r.rax, r.rdx) != (0x3333, 0x4444), "RDTSC still emulated");
    let pin = require!(
        v.read_field(fields::CTRL_PIN_BASED_EXEC_CONTROLS),
        "pin controls"
    );
    check!(
        pin & ISOLATION.pin.bits() == ISOLATION.pin.bits(),
        "pin controls {pin:#x}"
    );
    check_eq!(read_cr8(), host_cr8);
    drop(v);
    require!(c.disable(), "disable");
    if !vnmi {
        skip!(
            "no virtual NMIs on {}: interrupt-window part passed, NMI-window part not run",
            env.model()
        );
    }
    Outcome::Pass
}
