//! Scenarios for the `vmx-vcpu` crate: small guests (see `guests.rs`) run through the public
//! API, each asserting the exact exit and state the SDM specifies (Vol. 3C ch. 25-28).

#[path = "vcpu_exit_cost.rs"]
mod exit_cost;
#[path = "guests.rs"]
mod guests;

use alloc::format;

use baremetal::cpu;
use vmx_defs::controls::{PrimaryProcBasedControls, SecondaryProcBasedControls};
use vmx_defs::exception::ExceptionVector;
use vmx_defs::exit_reason::BasicExitReason;
use vmx_defs::guest_state::{ActivityState, SegmentAccessRights};
use vmx_defs::instruction_error::VmInstructionError;
use vmx_defs::instruction_info::Gpr;
use vmx_defs::interruption::InterruptionType;
use vmx_defs::vmcs::fields;
use vmx_insn::VmFail;
use vmx_vcpu::exit::{CrAccess, ExceptionExit, IoExit};
use vmx_vcpu::guest::{DescriptorTableRegister, GuestState};
use vmx_vcpu::{
    Completion, EntryInstruction, Event, Flow, IA32_CSTAR, IA32_KERNEL_GS_BASE, IA32_LSTAR,
    IA32_TSC_AUX, ISOLATION, InjectionOutcome, InjectionReport, PageControl, Vcpu, VcpuConfig,
    VmExit, VmxCpu, VmxError, VmxVcpu,
};

use crate::env::{Env, Outcome, Scenario};
use crate::hosts::KernelHost;
use crate::{check, check_eq, require, setup, skip};

use super::vmx_setup::{Cpu, NO_IDT, enable, long_mode_guest};
pub(super) use guests::addr;
use guests::*;

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "vcpu_enable_disable_twice",
        run: enable_disable,
    },
    Scenario {
        name: "vcpu_launch_vmcall",
        run: launch_vmcall,
    },
    Scenario {
        name: "vcpu_vmlaunch_launched_fails_4",
        run: vmlaunch_launched,
    },
    Scenario {
        name: "vcpu_vmresume_clear_fails_5",
        run: vmresume_clear,
    },
    Scenario {
        name: "vcpu_gprs_and_cr2_round_trip",
        run: gprs_round_trip,
    },
    Scenario {
        name: "vcpu_run_loop",
        run: run_loop_semantics,
    },
    Scenario {
        name: "vcpu_run_loop_other_vcpu",
        run: run_loop_other_vcpu,
    },
    Scenario {
        name: "vcpu_cpuid_exit",
        run: cpuid_exit,
    },
    Scenario {
        name: "vcpu_hlt_exit",
        run: hlt_exit,
    },
    Scenario {
        name: "vcpu_rdtsc_exit",
        run: rdtsc_exit,
    },
    Scenario {
        name: "vcpu_msr_bitmap_on",
        run: msr_bitmap_on,
    },
    Scenario {
        name: "vcpu_msr_bitmap_off",
        run: msr_bitmap_off,
    },
    Scenario {
        name: "vcpu_io_bitmaps",
        run: io_bitmaps,
    },
    Scenario {
        name: "vcpu_io_unconditional",
        run: io_unconditional,
    },
    Scenario {
        name: "vcpu_cr_shadowing",
        run: cr_shadowing,
    },
    Scenario {
        name: "vcpu_exception_ud",
        run: exception_ud,
    },
    Scenario {
        name: "vcpu_exception_pf_error_code",
        run: exception_pf,
    },
    Scenario {
        name: "vcpu_interrupt_if1",
        run: interrupt_if1,
    },
    Scenario {
        name: "vcpu_activity_state_hlt",
        run: activity_state_hlt,
    },
    Scenario {
        name: "vcpu_interrupt_window_if0",
        run: interrupt_window,
    },
    Scenario {
        name: "vcpu_nmi_and_nmi_window",
        run: nmi_window,
    },
    Scenario {
        name: "vcpu_reinjection_after_delivery_exit",
        run: reinjection,
    },
    Scenario {
        name: "vcpu_preemption_timer",
        run: preemption_timer,
    },
    Scenario {
        name: "vcpu_vpid_on",
        run: vpid_on,
    },
    Scenario {
        name: "vcpu_vpid_off",
        run: vpid_off,
    },
    Scenario {
        name: "vcpu_real_mode_unrestricted_guest",
        run: real_mode,
    },
    Scenario {
        name: "vcpu_protected_mode_unrestricted_guest",
        run: protected_mode,
    },
    Scenario {
        name: "vcpu_advance_rip_32bit_wraps_at_4g",
        run: advance_rip_32bit_wraps,
    },
    Scenario {
        name: "vcpu_advance_rip_64bit_crosses_4g",
        run: advance_rip_64bit_crosses,
    },
    Scenario {
        name: "vcpu_inject_exceptions_and_soft_int",
        run: inject_exceptions,
    },
    Scenario {
        name: "vcpu_disable_clears_leaked_vmcs",
        run: disable_clears_leaked,
    },
    Scenario {
        name: "vcpu_long_mode_under_ept",
        run: long_mode_ept,
    },
    Scenario {
        name: "vcpu_bad_guest_state_exit_33",
        run: bad_guest_state,
    },
    Scenario {
        name: "vcpu_triple_fault_exit_2",
        run: triple_fault,
    },
    Scenario {
        name: "vcpu_sse_state_isolated",
        run: sse_isolated,
    },
    Scenario {
        name: "vcpu_xsetbv_guest_values",
        run: xsetbv_guest_values,
    },
    Scenario {
        name: "vcpu_set_guest_msr_refuses_invalid",
        run: set_guest_msr_refuses_invalid,
    },
    Scenario {
        name: "vcpu_mov_to_cr3_completed",
        run: mov_to_cr3_completed,
    },
    Scenario {
        name: "vcpu_sse_state_isolated_fxsave",
        run: sse_isolated_fxsave,
    },
    Scenario {
        name: "vcpu_lazy_xstate",
        run: lazy_xstate,
    },
    Scenario {
        name: "vcpu_run_loop_vmfail_xstate",
        run: run_loop_vmfail_xstate,
    },
    Scenario {
        name: "vcpu_vmcs_dump",
        run: vmcs_dump,
    },
    Scenario {
        name: "vcpu_isolation_cr8_and_mov_dr_exit",
        run: isolation_cr8_and_mov_dr,
    },
    Scenario {
        name: "vcpu_page_controls_refused",
        run: page_controls_refused,
    },
    Scenario {
        name: "vcpu_completion_checked_against_exit",
        run: completion_checked,
    },
    Scenario {
        name: "vcpu_exit_cost",
        run: exit_cost::exit_cost,
    },
    Scenario {
        name: "vcpu_exit_cost_xstate",
        run: exit_cost::exit_cost_xstate,
    },
];

/// Builds a guest IDT (interrupt gates, selector = CS) in a fresh frame: vector 2 (NMI)
/// and 0x40 get handlers, `0x40` present only if `present_40`.
fn guest_idt(env: &mut Env, present_40: bool) -> Result<(u64, DescriptorTableRegister), Outcome> {
    let f = env
        .alloc_frame()
        .ok_or_else(|| Outcome::Fail("no IDT frame".into()))?;
    set_gate(f, 2, addr(vcpu_guest_nmi_handler), true);
    set_gate(f, 0x40, addr(vcpu_guest_irq_handler), present_40);
    Ok((
        f,
        DescriptorTableRegister {
            base: f,
            limit: 4095,
        },
    ))
}

fn set_gate(idt: u64, vector: u64, handler: u64, present: bool) {
    let cs = u64::from(cpu::selectors().cs);
    let p = if present { 1u64 << 47 } else { 0 };
    let low =
        (handler & 0xFFFF) | (cs << 16) | (0xE << 40) | p | (((handler >> 16) & 0xFFFF) << 48);
    let high = handler >> 32;
    let e = (idt + vector * 16) as *mut u64;
    // SAFETY: `idt` is a frame this scenario owns; vector < 256 keeps it in the frame.
    unsafe {
        e.write_volatile(low);
        e.add(1).write_volatile(high);
    }
}

/// The EPT the `vcpu` scenarios that need one share with their vCPU.
type SharedEpt = ept::Ept<KernelHost>;

/// A vCPU without EPT, on the kernel's page tables.
pub(super) fn new_vcpu<'c>(
    cpu: &'c Cpu,
    cfg: &VcpuConfig,
) -> Result<VmxVcpu<'c, KernelHost>, Outcome> {
    // SAFETY: the guests are the kernel's own test code on its page tables, trusted like the
    // kernel: the scenario accepts that they share its memory. The vCPU is dropped before
    // the scenario ends.
    unsafe { VmxVcpu::new_on_host_memory(cpu, cfg) }
        .map_err(|e| Outcome::Fail(format!("VmxVcpu::new_on_host_memory: {e}")))
}

/// A vCPU attached to `ept`.
fn new_vcpu_ept<'c>(
    cpu: &'c Cpu,
    ept: &'c SharedEpt,
    cfg: &VcpuConfig,
) -> Result<VmxVcpu<'c, KernelHost>, Outcome> {
    let user = ept
        .attach()
        .map_err(|e| Outcome::Fail(format!("Ept::attach: {e}")))?;
    let v =
        VmxVcpu::new(cpu, user, cfg).map_err(|e| Outcome::Fail(format!("VmxVcpu::new: {e}")))?;
    if v.eptp() != Some(ept.eptp()) {
        return Err(Outcome::Fail(format!(
            "vCPU EPTP {:?}, table {:?}",
            v.eptp(),
            ept.eptp()
        )));
    }
    Ok(v)
}

pub(super) fn run(v: &mut Vcpu<'_, KernelHost>) -> Result<VmExit, Outcome> {
    v.run().map_err(|e| Outcome::Fail(format!("run: {e}")))
}

/// Runs and expects a VMCALL; returns the guest registers then and advances RIP.
pub(super) fn expect_vmcall(
    v: &mut Vcpu<'_, KernelHost>,
) -> Result<vmx_vcpu::regs::GuestRegisters, Outcome> {
    match run(v)? {
        VmExit::Vmcall(_) => {
            let r = *v.regs();
            v.advance_rip()
                .map_err(|e| Outcome::Fail(format!("advance_rip: {e}")))?;
            Ok(r)
        }
        other => Err(Outcome::Fail(format!("expected VMCALL, got {other:?}"))),
    }
}

fn simple(env: &mut Env, entry: unsafe extern "C" fn()) -> Result<VcpuConfig, Outcome> {
    Ok(VcpuConfig::new(long_mode_guest(env, entry, 0x2, NO_IDT)?))
}

fn has_feature(what: bool, name: &str) -> Result<(), Outcome> {
    if what {
        Ok(())
    } else {
        Err(Outcome::Skip(format!("{name} not supported by this model")))
    }
}

// ---------------------------------------------------------------- scenarios

fn enable_disable(_env: &mut Env) -> Outcome {
    let c = setup!(enable());
    // SAFETY: as in `enable`.
    let again = unsafe { VmxCpu::enable(KernelHost) };
    check!(
        matches!(again, Err(VmxError::AlreadyEnabled)),
        "second enable: {:?}",
        again.err()
    );
    check!(cpu::read_cr4() & (1 << 13) != 0, "CR4.VMXE not set");
    require!(c.disable(), "disable");
    check!(
        cpu::read_cr4() & (1 << 13) == 0,
        "CR4.VMXE still set after disable"
    );
    let c = setup!(enable());
    require!(c.disable(), "disable after re-enable");
    Outcome::Pass
}

fn launch_vmcall(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    check_eq!(v.vmcs().state(), vmx_vcpu::VmcsState::Current);
    let e = setup!(run(&mut v));
    let VmExit::Vmcall(args) = e else {
        return Outcome::Fail(format!("first exit {e:?}"));
    };
    check!(
        args.rax == 0x1234 && args.rbx == 0x5678,
        "vmcall args {args:?}"
    );
    check_eq!(v.vmcs().state(), vmx_vcpu::VmcsState::Launched);
    require!(v.advance_rip(), "advance");
    // Second round trip is a VMRESUME.
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax, 0x1234);
    check_eq!(c.active_vmcs_count(), 1);
    drop(v);
    check_eq!(c.active_vmcs_count(), 0);
    require!(c.disable(), "disable");
    Outcome::Pass
}

fn vmlaunch_launched(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    setup!(expect_vmcall(&mut v));
    let r = v.force_entry(EntryInstruction::Launch);
    check!(
        matches!(
            r,
            Err(VmxError::EntryFailed {
                instruction: EntryInstruction::Launch,
                fail: VmFail::Valid(VmInstructionError(4)),
                ..
            })
        ),
        "VMLAUNCH of a launched VMCS: {r:?}"
    );
    // Still usable.
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn vmresume_clear(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let r = v.force_entry(EntryInstruction::Resume);
    check!(
        matches!(
            r,
            Err(VmxError::EntryFailed {
                instruction: EntryInstruction::Resume,
                fail: VmFail::Valid(VmInstructionError(5)),
                ..
            })
        ),
        "VMRESUME of a clear VMCS: {r:?}"
    );
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn gprs_round_trip(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_gprs));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let init = vmx_vcpu::regs::GuestRegisters {
        rax: 0x1000,
        rcx: 0x1100,
        rdx: 0x1200,
        rbx: 0x1300,
        unused_rsp: 0,
        rbp: 0x1500,
        rsi: 0x1600,
        rdi: 0x1700,
        r8: 0x1800,
        r9: 0x1900,
        r10: 0x1A00,
        r11: 0x1B00,
        r12: 0x1C00,
        r13: 0x1D00,
        r14: 0x1E00,
        r15: 0x1F00,
        cr2: 0xDEAD_0000,
    };
    *v.regs_mut() = init;
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.r8, init.cr2);
    let pairs = [
        (r.rax, init.rax),
        (r.rcx, init.rcx),
        (r.rdx, init.rdx),
        (r.rbx, init.rbx),
        (r.rbp, init.rbp),
        (r.rsi, init.rsi),
        (r.rdi, init.rdi),
        (r.r9, init.r9),
        (r.r10, init.r10),
        (r.r11, init.r11),
        (r.r12, init.r12),
        (r.r13, init.r13),
        (r.r14, init.r14),
        (r.r15, init.r15),
    ];
    for (got, was) in pairs {
        check!(got == was + 1, "register {was:#x} came back as {got:#x}");
    }
    check_eq!(r.cr2, init.r15 + 1);
    check_eq!(require!(v.rsp(), "rsp"), cfg.guest.rsp);
    Outcome::Pass
}

fn run_loop_semantics(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let mut calls = 0u32;
    let mut nested = None;
    let mut unexpected = None;
    let r = v.run_loop(|v, exit| {
        calls += 1;
        if !matches!(exit, VmExit::Vmcall(_)) {
            unexpected = Some(exit);
            return Ok(Flow::Stop);
        }
        if calls == 2 {
            nested = Some(v.run());
        }
        v.advance_rip()?;
        Ok(if calls == 5 {
            Flow::Stop
        } else {
            Flow::Continue
        })
    });
    require!(r, "run_loop");
    check_eq!(unexpected, None);
    check_eq!(calls, 5);
    check!(
        matches!(nested, Some(Err(VmxError::Reentrant))),
        "nested run: {nested:?}"
    );
    // The vCPU is launched and usable with run() afterwards.
    check_eq!(v.vmcs().state(), vmx_vcpu::VmcsState::Launched);
    setup!(expect_vmcall(&mut v));
    // A handler error ends the loop with that error.
    let r = v.run_loop(|_, _| Err(VmxError::NoVpid));
    check!(matches!(r, Err(VmxError::NoVpid)), "handler error: {r:?}");
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

/// A `run_loop` handler that runs another vCPU (whose VMCS then becomes current) and then
/// completes its own exit: the loop's vCPU must notice that its VMCS is no longer current
/// (advance_rip and the next entry make it current again), and so must the other vCPU
/// after the loop, and a later `run_loop` on the loop's vCPU resumes it. Then
/// `clear_vmcs` (VMCLEAR) between loops: launch state clear, so the next entry is a
/// VMLAUNCH (a VMRESUME would fail with VM-instruction error 5).
fn run_loop_other_vcpu(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let mut w = setup!(new_vcpu(&c, &cfg));
    let rip0 = require!(v.rip(), "rip");
    let mut calls = 0u32;
    let mut other = alloc::vec::Vec::new();
    let mut unexpected = None;
    let r = v.run_loop(|v, exit| {
        calls += 1;
        if !matches!(exit, VmExit::Vmcall(_)) {
            unexpected = Some(exit);
            return Ok(Flow::Stop);
        }
        other.push(w.run().map(|e| matches!(e, VmExit::Vmcall(_))));
        w.advance_rip()?;
        v.advance_rip()?;
        Ok(if calls == 4 {
            Flow::Stop
        } else {
            Flow::Continue
        })
    });
    require!(r, "run_loop");
    check_eq!(unexpected, None);
    check_eq!(calls, 4);
    check!(
        other.len() == 4 && other.iter().all(|e| matches!(e, Ok(true))),
        "other vCPU: {other:?}"
    );
    // Each vCPU's guest RIP is its own: both ran four VMCALLs and were advanced past the
    // last one, each in its own VMCS.
    let after = require!(v.rip(), "rip v");
    check!(after != rip0, "v's RIP not advanced");
    check_eq!(require!(w.rip(), "rip w"), after);
    setup!(expect_vmcall(&mut w));
    setup!(expect_vmcall(&mut v));
    let r = v.run_loop(|v, _| {
        v.advance_rip()?;
        Ok(Flow::Stop)
    });
    require!(r, "run_loop after the other vCPU ran");
    check_eq!(v.vmcs().state(), vmx_vcpu::VmcsState::Launched);
    setup!(expect_vmcall(&mut w));
    require!(v.clear_vmcs(), "clear_vmcs");
    check_eq!(v.vmcs().state(), vmx_vcpu::VmcsState::Clear);
    let mut first = None;
    let r = v.run_loop(|v, exit| {
        first = Some(exit);
        if matches!(exit, VmExit::Vmcall(_)) {
            v.advance_rip()?;
        }
        Ok(Flow::Stop)
    });
    require!(r, "run_loop after clear_vmcs (VMLAUNCH)");
    check!(
        matches!(first, Some(VmExit::Vmcall(_))),
        "first exit after VMLAUNCH: {first:?}"
    );
    check_eq!(v.vmcs().state(), vmx_vcpu::VmcsState::Launched);
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn cpuid_exit(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_cpuid));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let e = setup!(run(&mut v));
    check_eq!(
        e,
        VmExit::Cpuid {
            leaf: 0x12,
            subleaf: 0x34
        }
    );
    require!(v.complete_cpuid(0x11, 0x22, 0x33, 0x44), "complete_cpuid");
    let r = setup!(expect_vmcall(&mut v));
    check!(
        (r.rax, r.rbx, r.rcx, r.rdx) == (0x11, 0x22, 0x33, 0x44),
        "guest saw {r:?}"
    );
    Outcome::Pass
}

fn hlt_exit(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_hlt));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let rip0 = require!(v.rip(), "rip");
    check_eq!(setup!(run(&mut v)), VmExit::Hlt);
    check_eq!(require!(v.rip(), "rip"), rip0);
    require!(v.advance_rip(), "advance");
    check_eq!(require!(v.rip(), "rip"), rip0 + 1);
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn rdtsc_exit(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let mut cfg = setup!(simple(env, vcpu_guest_rdtsc));
    cfg.rdtsc_exiting = true;
    let mut v = setup!(new_vcpu(&c, &cfg));
    check_eq!(setup!(run(&mut v)), VmExit::Rdtsc);
    {
        let r = v.regs_mut();
        r.rax = 0xCAFE;
        r.rdx = 0xBEEF;
    }
    require!(v.advance_rip(), "advance");
    let r = setup!(expect_vmcall(&mut v));
    check!(r.rax == 0xCAFE && r.rdx == 0xBEEF, "guest saw {r:?}");
    drop(v);
    // RDTSC not exiting, with a TSC offset of 2^40: the guest reads TSC + offset.
    let mut cfg = setup!(simple(env, vcpu_guest_rdtsc));
    cfg.rdtsc_exiting = false;
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.set_tsc_offset(1 << 40), "set_tsc_offset");
    let before = cpu::rdtsc();
    let r = setup!(expect_vmcall(&mut v));
    let guest_tsc = ((r.rdx & 0xFFFF_FFFF) << 32) | (r.rax & 0xFFFF_FFFF);
    check!(
        guest_tsc >= before + (1 << 40) && guest_tsc < cpu::rdtsc() + (1 << 40),
        "guest TSC {guest_tsc:#x} not host TSC {before:#x} + 2^40"
    );
    Outcome::Pass
}

fn host_kernel_gs_base() -> u64 {
    // SAFETY: IA32_KERNEL_GS_BASE exists on every 64-bit processor.
    unsafe { cpu::rdmsr(IA32_KERNEL_GS_BASE) }
}

fn msr_bitmap_on(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_msr));
    let host_kgs = host_kernel_gs_base();
    // Intercepted (deny by default).
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(
        v.set_guest_msr(IA32_KERNEL_GS_BASE, 0xABCD_0000),
        "set_guest_msr"
    );
    check_eq!(
        setup!(run(&mut v)),
        VmExit::Rdmsr {
            msr: IA32_KERNEL_GS_BASE
        }
    );
    require!(v.complete_rdmsr(0x1111_2222_3333_4444), "complete_rdmsr");
    let r = setup!(expect_vmcall(&mut v));
    check!(
        r.rax == 0x3333_4444 && r.rdx == 0x1111_2222,
        "intercepted RDMSR: {r:?}"
    );
    check_eq!(
        setup!(run(&mut v)),
        VmExit::Wrmsr {
            msr: IA32_KERNEL_GS_BASE,
            value: 0x5555
        }
    );
    require!(v.advance_rip(), "advance");
    setup!(expect_vmcall(&mut v));
    check_eq!(setup!(run(&mut v)), VmExit::Rdmsr { msr: 0x4000_0000 });
    drop(v);
    // Passed through: the guest reads and writes its own copy (switched by the MSR lists).
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(
        v.set_guest_msr(IA32_KERNEL_GS_BASE, 0xABCD_0000),
        "set_guest_msr"
    );
    // SAFETY: only KERNEL_GS_BASE is passed through, and the vCPU switches it.
    let Some(bm) = (unsafe { v.msr_bitmap_mut() }) else {
        return Outcome::Fail("no MSR bitmap".into());
    };
    check!(
        bm.pass_through(IA32_KERNEL_GS_BASE, true, true).is_ok(),
        "pass_through"
    );
    check!(
        bm.pass_through(0x4000_0000, true, true).is_err(),
        "0x40000000 accepted for pass-through"
    );
    let r = setup!(expect_vmcall(&mut v));
    check!(
        r.rax == 0xABCD_0000 && r.rdx == 0,
        "passed-through RDMSR: {r:?}"
    );
    setup!(expect_vmcall(&mut v));
    check_eq!(v.guest_msr(IA32_KERNEL_GS_BASE), Some(0x5555));
    // IA32_XSS is switched wherever XSAVES exists.
    let xsaves = env.cpuid(1, 0).ecx & (1 << 26) != 0 && env.cpuid(0xD, 1).eax & (1 << 3) != 0;
    check_eq!(v.guest_msr(vmx_vcpu::IA32_XSS).is_some(), xsaves);
    check_eq!(host_kernel_gs_base(), host_kgs);
    // Out of both ranges: always exits.
    check_eq!(setup!(run(&mut v)), VmExit::Rdmsr { msr: 0x4000_0000 });
    Outcome::Pass
}

fn msr_bitmap_off(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let mut cfg = setup!(simple(env, vcpu_guest_msr));
    cfg.msr_bitmap = false;
    let mut v = setup!(new_vcpu(&c, &cfg));
    check!(
        // SAFETY: nothing is changed.
        unsafe { v.msr_bitmap_mut() }.is_none(),
        "bitmap present with msr_bitmap = false"
    );
    check_eq!(
        setup!(run(&mut v)),
        VmExit::Rdmsr {
            msr: IA32_KERNEL_GS_BASE
        }
    );
    require!(v.complete_rdmsr(7), "complete_rdmsr");
    setup!(expect_vmcall(&mut v));
    check_eq!(
        setup!(run(&mut v)),
        VmExit::Wrmsr {
            msr: IA32_KERNEL_GS_BASE,
            value: 0x5555
        }
    );
    Outcome::Pass
}

fn expect_io(
    v: &mut Vcpu<'_, KernelHost>,
    port: u16,
    is_in: bool,
    value: Option<u32>,
) -> Result<IoExit, Outcome> {
    match run(v)? {
        VmExit::Io(io)
            if io.port == port
                && io.is_in == is_in
                && io.size == 1
                && !io.string
                && !io.rep
                && io.value == value =>
        {
            Ok(io)
        }
        other => Err(Outcome::Fail(format!(
            "expected I/O {port:#x} in={is_in} value={value:?}, got {other:?}"
        ))),
    }
}

fn io_bitmaps(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_io));
    let mut v = setup!(new_vcpu(&c, &cfg));
    // Everything intercepted.
    setup!(expect_io(&mut v, 0x80, false, Some(0x5a)));
    require!(v.advance_rip(), "advance");
    let io = setup!(expect_io(&mut v, 0x8000, true, None));
    require!(v.complete_io_in(&io, 0x77), "complete_io_in");
    setup!(expect_io(&mut v, 0xFFFF, false, Some(0xa5)));
    require!(v.advance_rip(), "advance");
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax & 0xFF, 0xa5);
    drop(v);
    // 0x80 (bitmap A) and 0xFFFF (bitmap B) passed through, 0x8000 (bitmap B) intercepted.
    let mut v = setup!(new_vcpu(&c, &cfg));
    // SAFETY: ports 0x80 (POST code) and 0xFFFF (nothing decodes it) are harmless.
    let Some(io) = (unsafe { v.io_bitmaps_mut() }) else {
        return Outcome::Fail("no I/O bitmaps".into());
    };
    io.pass_through(0x80);
    io.pass_through(0xFFFF);
    check!(
        io.is_intercepted(0x8000) && !io.is_intercepted(0x80),
        "bitmap state"
    );
    let e = setup!(expect_io(&mut v, 0x8000, true, None));
    require!(v.complete_io_in(&e, 0x66), "complete_io_in");
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn io_unconditional(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let mut cfg = setup!(simple(env, vcpu_guest_io));
    cfg.io_bitmaps = false;
    let mut v = setup!(new_vcpu(&c, &cfg));
    check!(
        // SAFETY: nothing is changed.
        unsafe { v.io_bitmaps_mut() }.is_none(),
        "bitmaps present with io_bitmaps = false"
    );
    setup!(expect_io(&mut v, 0x80, false, Some(0x5a)));
    require!(v.advance_rip(), "advance");
    let io = setup!(expect_io(&mut v, 0x8000, true, None));
    require!(v.complete_io_in(&io, 0), "complete_io_in");
    setup!(expect_io(&mut v, 0xFFFF, false, Some(0xa5)));
    require!(v.advance_rip(), "advance");
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn cr_shadowing(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_cr));
    let g = cfg.guest;
    let mut v = setup!(new_vcpu(&c, &cfg));
    // CR0.TS owned with shadow = guest CR0 (TS clear).
    require!(
        v.set_cr0_shadow(1 << 3, g.cr0 & !(1 << 3)),
        "set_cr0_shadow"
    );
    let r = setup!(expect_vmcall(&mut v));
    check!(
        r.rax == g.cr0 & !(1 << 3),
        "guest CR0 {:#x}, shadow {:#x}",
        r.rax,
        g.cr0
    );
    check!(
        r.rbx == g.cr4 && r.rbx & (1 << 13) == 0,
        "guest CR4 {:#x} (VMXE must be hidden)",
        r.rbx
    );
    let real_cr4 = require!(v.read_field(fields::GUEST_CR4), "GUEST_CR4");
    check!(real_cr4 & (1 << 13) != 0, "real guest CR4 lacks VMXE");
    let e = setup!(run(&mut v));
    check_eq!(
        e,
        VmExit::CrAccess(CrAccess::MovTo {
            cr: 0,
            gpr: Gpr::Rcx,
            value: (g.cr0 & !(1 << 3)) | 8
        })
    );
    require!(v.advance_rip(), "advance");
    let e = setup!(run(&mut v));
    check_eq!(
        e,
        VmExit::CrAccess(CrAccess::MovTo {
            cr: 4,
            gpr: Gpr::Rdx,
            value: g.cr4 | 0x2000
        })
    );
    require!(v.advance_rip(), "advance");
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

/// `set_guest_msr` refuses what WRMSR would (gap 1): a non-canonical LSTAR, CSTAR or
/// KERNEL_GS_BASE (bit 56 set alone: non-canonical for 48- and 57-bit widths) and
/// TSC_AUX bits 63:32 give `InvalidMsrValue`, the guest's value stays, a canonical
/// kernel-half address is accepted, and the next entry succeeds (no reason 34).
fn set_guest_msr_refuses_invalid(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let bad = 0x0100_0000_0000_0000u64;
    for msr in [IA32_LSTAR, IA32_CSTAR, IA32_KERNEL_GS_BASE] {
        let before = v.guest_msr(msr);
        check!(before.is_some(), "MSR {msr:#x} not switched");
        check_eq!(
            v.set_guest_msr(msr, bad),
            Err(VmxError::InvalidMsrValue { msr, value: bad })
        );
        check_eq!(v.guest_msr(msr), before);
    }
    if v.guest_msr(IA32_TSC_AUX).is_some() {
        check_eq!(
            v.set_guest_msr(IA32_TSC_AUX, 1 << 32),
            Err(VmxError::InvalidMsrValue {
                msr: IA32_TSC_AUX,
                value: 1 << 32
            })
        );
    }
    require!(
        v.set_guest_msr(IA32_LSTAR, 0xFFFF_8000_0000_1000),
        "set_guest_msr(LSTAR, canonical)"
    );
    check_eq!(v.guest_msr(IA32_LSTAR), Some(0xFFFF_8000_0000_1000));
    setup!(expect_vmcall(&mut v));
    check_eq!(v.guest_msr(IA32_LSTAR), Some(0xFFFF_8000_0000_1000));
    Outcome::Pass
}

/// A guest's MOV to CR3 under CR3-load exiting with EPT (and VPID where available), gap 3:
/// `complete_mov_to_cr3` refuses a value with reserved bit 63 (CR4.PCIDE = 0) as
/// `InvalidCr3` leaving RIP and GUEST_CR3, then completes the guest's own value (GUEST_CR3
/// written, INVVPID done, RIP advanced: the guest reaches its VMCALL).
fn mov_to_cr3_completed(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let caps = c.capabilities();
    setup!(has_feature(caps.has_ept(), "EPT"));
    let mut cfg = setup!(simple(env, vcpu_guest_cr3));
    let cr3 = cfg.guest.cr3;
    check!(cfg.guest.cr4 & (1 << 17) == 0, "guest has CR4.PCIDE");
    cfg.required.primary |= PrimaryProcBasedControls::CR3_LOAD_EXITING;
    cfg.vpid = caps.has_vpid();
    let ept = setup!(identity_ept(env, None));
    let mut v = setup!(new_vcpu_ept(&c, &ept, &cfg));
    check_eq!(
        setup!(run(&mut v)),
        VmExit::CrAccess(CrAccess::MovTo {
            cr: 3,
            gpr: Gpr::Rax,
            value: cr3
        })
    );
    let rip = require!(v.rip(), "rip");
    let bad = cr3 | (1 << 63);
    check_eq!(v.complete_mov_to_cr3(bad), Err(VmxError::InvalidCr3(bad)));
    check_eq!(require!(v.rip(), "rip"), rip);
    check_eq!(require!(v.read_field(fields::GUEST_CR3), "GUEST_CR3"), cr3);
    require!(v.complete_mov_to_cr3(cr3), "complete_mov_to_cr3");
    check!(require!(v.rip(), "rip") > rip, "RIP not advanced");
    check_eq!(require!(v.read_field(fields::GUEST_CR3), "GUEST_CR3"), cr3);
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn exception_ud(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_ud));
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.set_exception_bitmap(1 << 6), "exception bitmap");
    let e = setup!(run(&mut v));
    let VmExit::Exception(ExceptionExit {
        vector: ExceptionVector::UD,
        interruption_type: InterruptionType::HardwareException,
        error_code: None,
        ..
    }) = e
    else {
        return Outcome::Fail(format!("expected #UD, got {e:?}"));
    };
    let rip = require!(v.rip(), "rip");
    check_eq!(rip, addr(vcpu_guest_ud));
    require!(v.set_rip(rip + 2), "set_rip");
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn exception_pf(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_pf));
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.set_exception_bitmap(1 << 14), "exception bitmap");
    for (ec, what) in [(0u32, "read"), (2, "write")] {
        let e = setup!(run(&mut v));
        match e {
            VmExit::Exception(ExceptionExit {
                vector: ExceptionVector::PF,
                error_code: Some(code),
                qualification,
                ..
            }) => {
                check!(
                    code == ec,
                    "{what} #PF error code {code:#x}, expected {ec:#x}"
                );
                check!(
                    qualification == 0x80_0000_0000,
                    "{what} #PF address {qualification:#x}"
                );
            }
            other => return Outcome::Fail(format!("expected {what} #PF, got {other:?}")),
        }
        let rip = require!(v.rip(), "rip");
        require!(v.set_rip(rip + 3), "set_rip");
    }
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn interrupt_if1(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (_, idt) = setup!(guest_idt(env, true));
    let cfg = VcpuConfig::new(setup!(long_mode_guest(env, vcpu_guest_irq, 0x202, idt)));
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.inject(Event::ExternalInterrupt(0x40)), "inject");
    let r = setup!(expect_vmcall(&mut v));
    check!(
        r.r14 == 0x40,
        "handler did not run before the first VMCALL: r14 = {:#x}",
        r.r14
    );
    check!(v.pending_events().is_empty(), "event still pending");
    check_eq!(
        v.last_injection(),
        Some(delivered(Event::ExternalInterrupt(0x40)))
    );
    // The next entry injects nothing: the report is cleared.
    setup!(expect_vmcall(&mut v));
    check_eq!(v.last_injection(), None);
    Outcome::Pass
}

fn delivered(event: Event) -> InjectionReport {
    InjectionReport {
        event,
        outcome: InjectionOutcome::Delivered,
    }
}

/// A guest put in the HLT activity state (typed setter, checked against IA32_VMX_MISC)
/// is woken by an injected interrupt (SDM Vol. 3C §25.4.2, §27.7.4); an undefined state is
/// refused with a typed error.
fn activity_state_hlt(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (_, idt) = setup!(guest_idt(env, true));
    let cfg = VcpuConfig::new(setup!(long_mode_guest(env, vcpu_guest_irq, 0x202, idt)));
    let mut v = setup!(new_vcpu(&c, &cfg));
    check_eq!(
        require!(v.activity_state(), "activity_state"),
        ActivityState::ACTIVE
    );
    check!(
        matches!(
            v.set_activity_state(ActivityState(7)),
            Err(VmxError::UnsupportedActivityState(ActivityState(7)))
        ),
        "undefined activity state accepted"
    );
    if !c.capabilities().has_activity_hlt() {
        check!(
            matches!(
                v.set_activity_state(ActivityState::HLT),
                Err(VmxError::UnsupportedActivityState(ActivityState::HLT))
            ),
            "HLT accepted without IA32_VMX_MISC[6]"
        );
        skip!("no HLT activity state");
    }
    require!(
        v.set_activity_state(ActivityState::HLT),
        "set_activity_state"
    );
    check_eq!(
        require!(v.activity_state(), "activity_state"),
        ActivityState::HLT
    );
    require!(v.inject(Event::ExternalInterrupt(0x40)), "inject");
    let r = setup!(expect_vmcall(&mut v));
    check!(r.r14 == 0x40, "halted guest not woken: r14 = {:#x}", r.r14);
    check_eq!(
        require!(v.activity_state(), "activity_state"),
        ActivityState::ACTIVE
    );
    check_eq!(
        v.last_injection(),
        Some(delivered(Event::ExternalInterrupt(0x40)))
    );
    Outcome::Pass
}

fn interrupt_window(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (_, idt) = setup!(guest_idt(env, true));
    let cfg = VcpuConfig::new(setup!(long_mode_guest(env, vcpu_guest_irq, 0x2, idt)));
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.inject(Event::ExternalInterrupt(0x40)), "inject");
    let r = setup!(expect_vmcall(&mut v));
    check!(r.r14 == 0, "delivered while IF=0 (r14 = {:#x})", r.r14);
    check_eq!(v.last_injection(), None);
    check_eq!(setup!(run(&mut v)), VmExit::InterruptWindow);
    check_eq!(v.last_injection(), None);
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(
        v.last_injection(),
        Some(delivered(Event::ExternalInterrupt(0x40)))
    );
    check!(
        r.r14 == 0x40,
        "not delivered at the window: r14 = {:#x}",
        r.r14
    );
    Outcome::Pass
}

fn nmi_window(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    if !c.capabilities().has_virtual_nmis() {
        skip!("no virtual NMIs");
    }
    let (_, idt) = setup!(guest_idt(env, true));
    let cfg = VcpuConfig::new(setup!(long_mode_guest(env, vcpu_guest_vmcall, 0x2, idt)));
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.inject(Event::Nmi), "inject NMI");
    // First NMI delivered at entry: the handler's VMCALL (r13 = 1).
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.r13, 1);
    let intr = require!(
        v.read_field(fields::GUEST_INTERRUPTIBILITY_STATE),
        "interruptibility"
    );
    check!(
        intr & 8 != 0,
        "no virtual-NMI blocking inside the handler: {intr:#x}"
    );
    // A second NMI must wait for the IRET: NMI-window exit first.
    require!(v.inject(Event::Nmi), "inject NMI");
    check_eq!(setup!(run(&mut v)), VmExit::NmiWindow);
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.r13, 2);
    // After the second IRET the main code's VMCALL.
    let r = setup!(expect_vmcall(&mut v));
    check!(r.rax == 0x1234 && r.r13 == 2, "main code: {r:?}");
    Outcome::Pass
}

fn reinjection(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (idt_frame, idt) = setup!(guest_idt(env, false));
    let cfg = VcpuConfig::new(setup!(long_mode_guest(env, vcpu_guest_irq, 0x202, idt)));
    let mut v = setup!(new_vcpu(&c, &cfg));
    require!(v.set_exception_bitmap(1 << 11), "exception bitmap");
    require!(v.inject(Event::ExternalInterrupt(0x40)), "inject");
    // Delivery through a not-present gate: #NP (error code = IDT index | IDT | EXT) exits,
    // with the interrupt in the IDT-vectoring information.
    let e = setup!(run(&mut v));
    match e {
        VmExit::Exception(ExceptionExit {
            vector: ExceptionVector::NP,
            error_code: Some(code),
            ..
        }) => {
            check!(code == 0x40 * 8 + 3, "#NP error code {code:#x}");
        }
        other => return Outcome::Fail(format!("expected #NP, got {other:?}")),
    }
    check_eq!(
        v.pending_events().reinjection(),
        Some(Event::ExternalInterrupt(0x40))
    );
    check_eq!(
        v.last_injection(),
        Some(InjectionReport {
            event: Event::ExternalInterrupt(0x40),
            outcome: InjectionOutcome::Interrupted,
        })
    );
    check_eq!(e.reason(), BasicExitReason::EXCEPTION_OR_NMI);
    set_gate(idt_frame, 0x40, addr(vcpu_guest_irq_handler), true);
    let r = setup!(expect_vmcall(&mut v));
    check!(
        r.r14 == 0x40,
        "re-injected interrupt not delivered: r14 = {:#x}",
        r.r14
    );
    check_eq!(
        v.last_injection(),
        Some(delivered(Event::ExternalInterrupt(0x40)))
    );
    Outcome::Pass
}

fn preemption_timer(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    if !c.capabilities().has_preemption_timer() {
        skip!("no VMX-preemption timer");
    }
    let mut cfg = setup!(simple(env, vcpu_guest_spin));
    cfg.preemption_timer = true;
    let mut v = setup!(new_vcpu(&c, &cfg));
    let value = require!(v.set_preemption_timer(20_000), "set_preemption_timer");
    let rate = c.capabilities().misc().preemption_timer_rate();
    check_eq!(u64::from(value), 20_000u64 >> rate);
    let t0 = cpu::rdtsc();
    check_eq!(setup!(run(&mut v)), VmExit::PreemptionTimer);
    let dt = cpu::rdtsc() - t0;
    check!(dt >= 20_000 / 2, "timer fired after only {dt} ticks");
    Outcome::Pass
}

fn vpid_on(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(has_feature(c.capabilities().has_vpid(), "VPID"));
    let mut cfg = setup!(simple(env, vcpu_guest_vmcall));
    cfg.vpid = true;
    let mut v = setup!(new_vcpu(&c, &cfg));
    let Some(vpid) = v.vpid() else {
        return Outcome::Fail("no VPID".into());
    };
    check!(vpid != 0, "VPID 0");
    check_eq!(require!(v.read_field(fields::CTRL_VPID), "CTRL_VPID"), vpid);
    setup!(expect_vmcall(&mut v));
    setup!(expect_vmcall(&mut v));
    let mut w = setup!(new_vcpu(&c, &cfg));
    check!(w.vpid() != Some(vpid), "two vCPUs share {vpid}");
    setup!(expect_vmcall(&mut w));
    Outcome::Pass
}

fn vpid_off(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    check!(v.vpid().is_none(), "VPID allocated");
    check!(
        !v.controls()
            .secondary
            .contains(vmx_defs::controls::SecondaryProcBasedControls::ENABLE_VPID),
        "enable VPID set"
    );
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

/// An identity EPT over the first 4 GiB built with the `ept` crate, except guest-physical
/// 0x8000, which maps `code_frame` (when given), shared for the vCPU to attach to.
fn identity_ept(_env: &mut Env, code_frame: Option<u64>) -> Result<SharedEpt, Outcome> {
    let fail = |what: &str, e: ept::EptError| Outcome::Fail(format!("EPT {what}: {e}"));
    let caps = vmx_insn::ept_vpid_capabilities();
    let width = vmx_insn::physical_address_width().bits();
    let config = ept::EptConfig::new(caps, width).map_err(|e| fail("config", e))?;
    let mut t = ept::EptPageTable::new(KernelHost, config).map_err(|e| fail("new", e))?;
    let rwx = ept::EptAttributes::write_back(
        ept::EptFlags::READ | ept::EptFlags::WRITE | ept::EptFlags::EXECUTE,
    );
    let g = ept::GuestPhysAddr::new;
    let h = ept::HostPhysAddr::new;
    // SAFETY: the guests of these scenarios are the kernel's own test code (or code the
    // scenario copied into `code_frame`), trusted like the kernel: the scenario accepts
    // that they share its memory. The table is dropped before the scenario ends.
    unsafe {
        t.map_region(g(0), h(0), 0x8000, rwx)
            .map_err(|e| fail("map", e))?;
        t.map(
            g(0x8000),
            h(code_frame.unwrap_or(0x8000)),
            ept::PageSize::Size4K,
            rwx,
        )
        .map_err(|e| fail("map code", e))?;
        t.map_region(g(0x9000), h(0x9000), (4u64 << 30) - 0x9000, rwx)
            .map_err(|e| fail("map", e))?;
    }
    Ok(ept::Ept::new(t))
}

/// The set-up of a guest under unrestricted guest: skips where the model lacks it (or EPT),
/// copies `code` into a fresh frame mapped by [`identity_ept`] and returns the EPT (the
/// vCPU attaches to it: [`new_vcpu_ept`]) with a configuration for `guest`.
fn unrestricted_guest(
    env: &mut Env,
    c: &Cpu,
    code: &[u8],
    guest: GuestState,
) -> Result<(SharedEpt, VcpuConfig), Outcome> {
    let caps = c.capabilities();
    has_feature(
        caps.has_unrestricted_guest() && caps.has_ept(),
        "unrestricted guest",
    )?;
    if code.len() > 4096 {
        return Err(Outcome::Fail(format!("guest code of {} bytes", code.len())));
    }
    let frame = env
        .alloc_frame()
        .ok_or_else(|| Outcome::Fail("no frame".into()))?;
    // SAFETY: `frame` is a fresh, identity-mapped 4 KiB frame of ours and `code` fits in it.
    unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), frame as *mut u8, code.len()) };
    let cfg = VcpuConfig::new(guest);
    let table = identity_ept(env, Some(frame))?;
    Ok((table, cfg))
}

fn real_mode(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (ept, cfg) = setup!(unrestricted_guest(
        env,
        &c,
        &REAL_MODE_CODE,
        GuestState::real_mode(0x0800, 0, 0, 0x7000)
    ));
    let mut v = setup!(new_vcpu_ept(&c, &ept, &cfg));
    let e = setup!(run(&mut v));
    let VmExit::Vmcall(args) = e else {
        return Outcome::Fail(format!("expected VMCALL, got {e:?}"));
    };
    check_eq!(args.rax & 0xFFFF, 0x1234);
    check_eq!(require!(v.rip(), "rip"), 3);
    check_eq!(
        require!(v.read_field(fields::GUEST_CS_BASE), "CS base"),
        0x8000
    );
    require!(v.advance_rip(), "advance");
    check_eq!(setup!(run(&mut v)), VmExit::Hlt);
    Outcome::Pass
}

fn protected_mode(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (ept, cfg) = setup!(unrestricted_guest(
        env,
        &c,
        &PROTECTED_MODE_CODE,
        GuestState::protected_mode(0x8000, 0x7000)
    ));
    let mut v = setup!(new_vcpu_ept(&c, &ept, &cfg));
    let e = setup!(run(&mut v));
    let VmExit::Vmcall(args) = e else {
        return Outcome::Fail(format!("expected VMCALL, got {e:?}"));
    };
    check_eq!(args.rax, 0x1234);
    check_eq!(require!(v.rip(), "rip"), 0x8005);
    require!(v.advance_rip(), "advance");
    check_eq!(setup!(run(&mut v)), VmExit::Hlt);
    Outcome::Pass
}

/// `advance_rip` outside 64-bit mode (guest-input audit): after the protected-mode guest's
/// VMCALL exit (3 bytes), with RIP moved to 0xFFFFFFFE the new RIP wraps to 1 as EIP does,
/// instead of 0x1_00000001, which VM entry refuses for a guest not in 64-bit mode (SDM Vol.
/// 3C §27.3.1.4). RIP is then put back and the guest runs on to its HLT, so the entry
/// after the completion helpers is checked too.
fn advance_rip_32bit_wraps(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (ept, cfg) = setup!(unrestricted_guest(
        env,
        &c,
        &PROTECTED_MODE_CODE,
        GuestState::protected_mode(0x8000, 0x7000)
    ));
    let mut v = setup!(new_vcpu_ept(&c, &ept, &cfg));
    let e = setup!(run(&mut v));
    check!(matches!(e, VmExit::Vmcall(_)), "expected VMCALL, got {e:?}");
    check_eq!(require!(v.rip(), "rip"), 0x8005);
    require!(v.set_rip(0xFFFF_FFFE), "set_rip");
    require!(v.advance_rip(), "advance at 4 GiB");
    check_eq!(require!(v.rip(), "rip"), 1);
    // The exit is completed: a second advance is refused and leaves RIP alone.
    check_eq!(
        v.advance_rip(),
        Err(VmxError::NotCompletable {
            completion: Completion::AdvanceRip,
            last_exit: None
        })
    );
    check_eq!(require!(v.rip(), "rip"), 1);
    // Put RIP where the completion would have left it (past the 3-byte VMCALL at 0x8005).
    require!(v.set_rip(0x8008), "set_rip");
    check_eq!(setup!(run(&mut v)), VmExit::Hlt);
    Outcome::Pass
}

/// `advance_rip` in 64-bit mode (guest-input audit): an instruction crossing 4 GiB leaves
/// RIP at the full 64-bit sum (CS.L = 1: no EIP wrap), and the guest runs on.
fn advance_rip_64bit_crosses(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_cpuid));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let e = setup!(run(&mut v));
    check!(
        matches!(e, VmExit::Cpuid { .. }),
        "expected CPUID, got {e:?}"
    );
    let rip = require!(v.rip(), "rip");
    require!(v.set_rip(0xFFFF_FFFF), "set_rip");
    require!(v.advance_rip(), "advance across 4 GiB");
    check_eq!(require!(v.rip(), "rip"), 0x1_0000_0001);
    // The CPUID exit is completed by the advance: completing it again is refused, with
    // the registers and RIP left alone.
    v.regs_mut().rax = 0xAA;
    check_eq!(
        v.complete_cpuid(1, 2, 3, 4),
        Err(VmxError::NotCompletable {
            completion: Completion::Cpuid,
            last_exit: None
        })
    );
    check_eq!(v.regs().rax, 0xAA);
    check_eq!(require!(v.rip(), "rip"), 0x1_0000_0001);
    // Complete it by hand: the results, and RIP past the 2-byte CPUID.
    {
        let r = v.regs_mut();
        (r.rax, r.rbx, r.rcx, r.rdx) = (1, 2, 3, 4);
    }
    require!(v.set_rip(rip + 2), "set_rip");
    let r = setup!(expect_vmcall(&mut v));
    check!((r.rax, r.rdx) == (1, 4), "guest saw {r:?}");
    Outcome::Pass
}

fn inject_exceptions(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (idt_frame, idt) = setup!(guest_idt(env, true));
    set_gate(idt_frame, 6, addr(vcpu_guest_ud_handler), true);
    set_gate(idt_frame, 13, addr(vcpu_guest_gp_handler), true);
    let cfg = VcpuConfig::new(setup!(long_mode_guest(env, vcpu_guest_soft, 0x2, idt)));
    let entry = cfg.guest.rip;
    let mut v = setup!(new_vcpu(&c, &cfg));
    // INT 0x40 "executed" by the 2-byte instruction at RIP: the handler returns past it.
    require!(
        v.inject(Event::SoftwareInterrupt {
            vector: 0x40,
            instruction_len: 2
        }),
        "inject INT n"
    );
    let r = setup!(expect_vmcall(&mut v));
    check!(r.r14 == 0x40, "INT 0x40 handler did not run: {r:?}");
    // #UD (fault, no error code): the handler returns to the same instruction.
    require!(v.set_rip(entry), "set_rip");
    require!(v.inject(Event::exception(6, None)), "inject #UD");
    let r = setup!(expect_vmcall(&mut v));
    check!(r.r15 == 6, "#UD handler did not run: {r:?}");
    // #GP with error code 0x28: the handler pops it into R12.
    require!(v.set_rip(entry), "set_rip");
    require!(v.inject(Event::exception(13, Some(0x28))), "inject #GP");
    let r = setup!(expect_vmcall(&mut v));
    check!(r.r12 == 0x28, "#GP error code {:#x}", r.r12);
    // An error code on a vector without one (#UD) is refused before anything runs, unless
    // IA32_VMX_BASIC bit 56 relaxes that VM-entry check (SDM Vol. 3C §27.2.1.3, Vol. 3D
    // §A.1): then the processor delivers it, so it is accepted (and not entered here).
    let bad = v.inject(Event::HardwareException {
        vector: 6,
        error_code: Some(1),
    });
    if c.capabilities().basic().no_hw_error_code_check() {
        check!(
            bad.is_ok(),
            "IA32_VMX_BASIC bit 56 set, yet #UD with an error code refused: {bad:?}"
        );
    } else {
        check!(bad.is_err(), "bad event accepted");
    }
    Outcome::Pass
}

fn disable_clears_leaked(_env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let mut vmcs = require!(vmx_vcpu::Vmcs::new(&c), "Vmcs::new");
    require!(vmcs.load(), "load");
    check_eq!(vmcs.state(), vmx_vcpu::VmcsState::Current);
    check_eq!(c.active_vmcs_count(), 1);
    let paddr = vmcs.paddr();
    // Leak it while active: VmxCpu still knows and VMCLEARs it on disable.
    core::mem::forget(vmcs);
    check_eq!(c.active_vmcs_count(), 1);
    require!(c.disable(), "disable");
    // The region was written back by VMCLEAR: its launch state is clear, so it can be
    // made current again after re-enabling.
    let c = setup!(enable());
    // SAFETY: the leaked region is still allocated (leaked) and tagged.
    let r = unsafe { vmx_insn::vmptrld(paddr) };
    check!(r.is_ok(), "VMPTRLD of the cleared region: {r:?}");
    // SAFETY: as above.
    let r = unsafe { vmx_insn::vmclear(paddr) };
    check!(r.is_ok(), "VMCLEAR: {r:?}");
    require!(c.disable(), "disable");
    Outcome::Pass
}

fn long_mode_ept(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(has_feature(c.capabilities().has_ept(), "EPT"));
    let cfg = setup!(simple(env, vcpu_guest_cpuid));
    let ept = setup!(identity_ept(env, None));
    let mut v = setup!(new_vcpu_ept(&c, &ept, &cfg));
    check_eq!(
        setup!(run(&mut v)),
        VmExit::Cpuid {
            leaf: 0x12,
            subleaf: 0x34
        }
    );
    require!(v.complete_cpuid(1, 2, 3, 4), "complete_cpuid");
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rdx, 4);
    Outcome::Pass
}

fn bad_guest_state(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    // An unusable TR is invalid guest state (SDM §27.3.1.2).
    require!(
        // SAFETY: a guest-state field; it cannot affect the host.
        unsafe {
            v.write_field(
                fields::GUEST_TR_ACCESS_RIGHTS,
                SegmentAccessRights::unusable().raw(),
            )
        },
        "write TR AR"
    );
    let e = setup!(run(&mut v));
    match e {
        VmExit::EntryFailure(f) => {
            check!(
                f.reason.is_entry_failure(),
                "bit 31 clear: {:#x}",
                f.reason.raw()
            );
            check_eq!(
                f.reason.basic(),
                BasicExitReason::VM_ENTRY_FAILURE_INVALID_GUEST_STATE
            );
        }
        other => return Outcome::Fail(format!("expected entry failure 33, got {other:?}")),
    }
    check!(!v.vmcs().is_launched(), "launched after a failed VMLAUNCH");
    // Fix it: the same vCPU runs.
    require!(
        // SAFETY: as above.
        unsafe {
            v.write_field(
                fields::GUEST_TR_ACCESS_RIGHTS,
                SegmentAccessRights::tss_busy().raw(),
            )
        },
        "write TR AR"
    );
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn triple_fault(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    // UD2 with an empty IDT: #UD -> #GP -> #DF -> triple fault.
    let cfg = setup!(simple(env, vcpu_guest_ud));
    let mut v = setup!(new_vcpu(&c, &cfg));
    check_eq!(setup!(run(&mut v)), VmExit::TripleFault);
    // The host goes on: a new vCPU runs.
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut w = setup!(new_vcpu(&c, &cfg));
    setup!(expect_vmcall(&mut w));
    Outcome::Pass
}

fn read_xmm0() -> u64 {
    let v: u64;
    // SAFETY: MOVQ from XMM0 only writes a GPR; CR4.OSFXSR is set by the scenario.
    unsafe { core::arch::asm!("movq {}, xmm0", out(reg) v, options(nomem, nostack)) };
    v
}

fn write_xmm0(v: u64) {
    // SAFETY: the kernel is built without SSE, so no compiled code keeps values in XMM0.
    unsafe { core::arch::asm!("movq xmm0, {}", in(reg) v, options(nomem, nostack)) };
}

/// XCR0 of the running CPU. Callers run it only with CR4.OSXSAVE = 1 (here after
/// `enable_host_sse` chose XSAVE mode; `hostile` after setting it).
pub(super) fn host_xcr0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: callers run it only with CR4.OSXSAVE = 1 (see above); XGETBV of XCR0 only
    // reads it.
    unsafe {
        core::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi,
            options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// A guest's XSETBV of invalid and valid values (guest-input audit; issue 5: XSETBV must
/// never panic or reach the host's XCR0). Each exit is `VmExit::Xsetbv`; invalid XCR0
/// values give `InvalidXcr0` (the caller's #GP decision; this guest has no IDT, so the
/// scenario skips the instruction instead of injecting), the valid one becomes the guest's
/// XCR0 (`complete_xsetbv`, RIP advanced), an index other than 0 is `InvalidXcrIndex` from
/// `complete_xsetbv` with RIP left for the #GP; the host's XCR0 never changes.
fn xsetbv_guest_values(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (cr4, mode) = enable_host_sse(env, true);
    if mode != vmx_vcpu::xstate::XStateMode::Xsave {
        skip!("no XSAVE on this model");
    }
    let host = host_xcr0();
    let mut cfg = setup!(simple(env, vcpu_guest_xsetbv));
    cfg.guest.cr4 = cr4 & !(1 << 13);
    let mut v = setup!(new_vcpu(&c, &cfg));
    let start = v.guest_xcr0();
    for value in [0u64, 4] {
        check_eq!(setup!(run(&mut v)), VmExit::Xsetbv { index: 0, value });
        check!(
            matches!(v.set_guest_xcr0(value), Err(VmxError::InvalidXcr0 { value: x, .. }) if x == value),
            "XCR0 {value:#x} accepted"
        );
        check_eq!(v.guest_xcr0(), start);
        check_eq!(host_xcr0(), host);
        require!(v.advance_rip(), "advance_rip");
    }
    check_eq!(setup!(run(&mut v)), VmExit::Xsetbv { index: 0, value: 3 });
    require!(v.complete_xsetbv(0, 3), "complete_xsetbv(0, 3)");
    check_eq!(v.guest_xcr0(), 3);
    check_eq!(setup!(run(&mut v)), VmExit::Xsetbv { index: 1, value: 1 });
    check_eq!(v.complete_xsetbv(1, 1), Err(VmxError::InvalidXcrIndex(1)));
    check_eq!(v.guest_xcr0(), 3);
    require!(v.advance_rip(), "advance_rip");
    setup!(expect_vmcall(&mut v));
    check_eq!(host_xcr0(), host);
    Outcome::Pass
}

fn sse_isolated(env: &mut Env) -> Outcome {
    sse_isolated_with(env, true)
}

fn sse_isolated_fxsave(env: &mut Env) -> Outcome {
    sse_isolated_with(env, false)
}

/// Lets the host use SSE (the runner restores CR4 afterwards): CR4.OSFXSR/OSXMMEXCPT, and
/// with `allow_xsave` CR4.OSXSAVE where XSAVE exists. Returns CR4 and the extended-state
/// mode a vCPU created now must report.
fn enable_host_sse(env: &mut Env, allow_xsave: bool) -> (u64, vmx_vcpu::xstate::XStateMode) {
    let mut cr4 = cpu::read_cr4() | (1 << 9) | (1 << 10);
    let xsave = allow_xsave && env.cpuid(1, 0).ecx & (1 << 26) != 0;
    if xsave {
        cr4 |= 1 << 18;
    }
    // SAFETY: OSFXSR/OSXMMEXCPT/OSXSAVE only enable instructions.
    unsafe { cpu::write_cr4(cr4) };
    let mode = if xsave {
        vmx_vcpu::xstate::XStateMode::Xsave
    } else {
        vmx_vcpu::xstate::XStateMode::Fxsave
    };
    (cr4, mode)
}

fn sse_isolated_with(env: &mut Env, allow_xsave: bool) -> Outcome {
    let c = setup!(enable());
    let (cr4, want) = enable_host_sse(env, allow_xsave);
    let mut cfg = setup!(simple(env, vcpu_guest_sse));
    cfg.guest.cr4 = cr4 & !(1 << 13);
    let mut v = setup!(new_vcpu(&c, &cfg));
    check_eq!(v.xstate_mode(), want);
    write_xmm0(0x1111);
    v.regs_mut().rax = 0xA5A5_5A5A_0123_4567;
    setup!(expect_vmcall(&mut v));
    check_eq!(read_xmm0(), 0x1111);
    write_xmm0(0x2222);
    let r = setup!(expect_vmcall(&mut v));
    check!(
        r.rbx == 0xA5A5_5A5A_0123_4567,
        "guest XMM0 lost: {:#x}",
        r.rbx
    );
    check_eq!(read_xmm0(), 0x2222);
    Outcome::PassWith(format!("{:?} switching", want))
}

/// Lazy extended-state mode in `run_loop`: the guest's XMM0 stays loaded while the handler
/// runs; `release_xstate` (or another vCPU entering on this CPU) gives the host its own
/// state back mid-loop; the guest's value survives, and the host's comes back when the loop
/// returns.
fn lazy_xstate(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (cr4, want) = enable_host_sse(env, true);
    for nested in [false, true] {
        let mut cfg = setup!(simple(env, vcpu_guest_sse));
        cfg.guest.cr4 = cr4 & !(1 << 13);
        let mut v = setup!(new_vcpu(&c, &cfg));
        check_eq!(v.xstate_mode(), want);
        let other_cfg = setup!(simple(env, vcpu_guest_vmcall));
        let mut other = setup!(new_vcpu(&c, &other_cfg));
        // SAFETY: the handler touches XMM0 only through `read_xmm0`/`write_xmm0`: first to
        // observe the kept guest state, then after the state is released; the kernel is
        // soft-float.
        unsafe { v.set_lazy_xstate(true) };
        const GUEST: u64 = 0xA5A5_5A5A_0123_4567;
        write_xmm0(0x1111);
        v.regs_mut().rax = GUEST;
        let mut seen = [0u64; 3];
        let mut exits = 0;
        let mut unexpected = None;
        let r = v.run_loop(|v, exit| {
            if !matches!(exit, VmExit::Vmcall(_)) {
                unexpected = Some(("this vCPU", exit));
                return Ok(Flow::Stop);
            }
            exits += 1;
            v.advance_rip()?;
            if exits > 1 {
                seen[2] = v.regs().rbx;
                return Ok(Flow::Stop);
            }
            // Lazy: the guest's XMM0 is what the registers hold now.
            seen[0] = read_xmm0();
            if nested {
                // Another vCPU entering on this CPU saves the kept state first.
                let exit = other.run()?;
                if !matches!(exit, VmExit::Vmcall(_)) {
                    unexpected = Some(("other vCPU", exit));
                    return Ok(Flow::Stop);
                }
            } else {
                v.release_xstate();
            }
            seen[1] = read_xmm0();
            write_xmm0(0x2222);
            Ok(Flow::Continue)
        });
        require!(r, "run_loop");
        check_eq!(unexpected, None);
        check_eq!(exits, 2);
        check!(
            seen[0] == GUEST,
            "guest XMM0 not kept loaded: {:#x}",
            seen[0]
        );
        check!(
            seen[1] == 0x1111,
            "host XMM0 after release (nested {nested}): {:#x}",
            seen[1]
        );
        check!(
            seen[2] == GUEST,
            "guest XMM0 lost across release (nested {nested}): {:#x}",
            seen[2]
        );
        check_eq!(read_xmm0(), 0x2222);
    }
    Outcome::PassWith(format!("{:?} switching", want))
}

/// A VMfail in the middle of a `run_loop` (pin-based controls cleared by the handler, so
/// VMRESUME fails with VM-instruction error 7) with a host that uses SSE, eager and lazy:
/// the loop ends with the typed error, the host's x87/SSE state is back, and the vCPU runs
/// again once the control is restored.
fn run_loop_vmfail_xstate(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let (_, want) = enable_host_sse(env, true);
    for lazy in [false, true] {
        let cfg = setup!(simple(env, vcpu_guest_vmcall));
        let mut v = setup!(new_vcpu(&c, &cfg));
        check_eq!(v.xstate_mode(), want);
        // SAFETY: the handler uses no x87/SSE instructions (soft-float kernel).
        unsafe { v.set_lazy_xstate(lazy) };
        let pin = require!(v.read_field(fields::CTRL_PIN_BASED_EXEC_CONTROLS), "pin");
        write_xmm0(0x3333);
        let mut exits = 0;
        let r = v.run_loop(|v, _| {
            exits += 1;
            v.advance_rip()?;
            if exits == 2 {
                // SAFETY: an invalid control only makes the next VM entry fail (VMfail).
                unsafe { v.write_field(fields::CTRL_PIN_BASED_EXEC_CONTROLS, 0) }?;
            }
            Ok(Flow::Continue)
        });
        check!(
            matches!(
                r,
                Err(VmxError::EntryFailed {
                    instruction: EntryInstruction::Resume,
                    fail: VmFail::Valid(VmInstructionError(7)),
                    ..
                })
            ),
            "lazy {lazy}: {r:?}"
        );
        check_eq!(exits, 2);
        check!(
            read_xmm0() == 0x3333,
            "host XMM0 after the VMfail (lazy {lazy}): {:#x}",
            read_xmm0()
        );
        // SAFETY: restores the value read above.
        let restored = unsafe { v.write_field(fields::CTRL_PIN_BASED_EXEC_CONTROLS, pin) };
        require!(restored, "restore");
        setup!(expect_vmcall(&mut v));
        check_eq!(read_xmm0(), 0x3333);
    }
    Outcome::PassWith(format!("{:?} switching", want))
}

struct Sink(usize, bool);

impl core::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.matches('\n').count();
        if s.contains("GUEST_RIP") {
            self.1 = true;
        }
        Ok(())
    }
}

fn vmcs_dump(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_vmcall));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let mut sink = Sink(0, false);
    require!(v.dump_vmcs(&mut sink), "dump");
    let expected = vmx_defs::vmcs::ALL_FIELDS
        .iter()
        .filter(|f| f.exists_on(c.capabilities()))
        .count();
    check!(
        sink.0 == expected && sink.1,
        "dump printed {} lines for {expected} fields",
        sink.0
    );
    Outcome::Pass
}

fn read_host_cr8() -> u64 {
    let v: u64;
    // SAFETY: MOV from CR8 at CPL 0 only reads the task-priority register.
    unsafe { core::arch::asm!("mov {}, cr8", out(reg) v, options(nomem, nostack)) };
    v
}

/// The isolation controls are on for every vCPU whatever the configuration asks
/// (`vmx_vcpu::ISOLATION`: external-interrupt and NMI exiting, CR8-load/store and MOV-DR
/// exiting, save/load debug controls, 64-bit host), so a guest's MOV to and from CR8 and
/// its MOV from DR7 exit (SDM Vol. 3C §26.1.3) with the access decoded; the host emulates
/// them (its own CR8 never changes) and the guest sees the emulated values.
fn isolation_cr8_and_mov_dr(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_cr8_dr));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let ctl = *v.controls();
    check!(
        ctl.pin.contains(ISOLATION.pin)
            && ctl.primary.contains(ISOLATION.primary)
            && ctl.exit.contains(ISOLATION.exit)
            && ctl.entry.contains(ISOLATION.entry),
        "isolation controls missing: {ctl:?}"
    );
    let host_cr8 = read_host_cr8();
    check_eq!(
        setup!(run(&mut v)),
        VmExit::CrAccess(CrAccess::MovTo {
            cr: 8,
            gpr: Gpr::Rax,
            value: 0xF
        })
    );
    check_eq!(read_host_cr8(), host_cr8);
    require!(v.advance_rip(), "advance past MOV to CR8");
    check_eq!(
        setup!(run(&mut v)),
        VmExit::CrAccess(CrAccess::MovFrom {
            cr: 8,
            gpr: Gpr::Rbx
        })
    );
    v.regs_mut().rbx = 0xF;
    require!(v.advance_rip(), "advance past MOV from CR8");
    let e = setup!(run(&mut v));
    check_eq!(e.reason(), BasicExitReason::MOV_DR);
    v.regs_mut().rcx = 0x400;
    require!(v.advance_rip(), "advance past MOV from DR7");
    let r = setup!(expect_vmcall(&mut v));
    check!(r.rbx == 0xF && r.rcx == 0x400, "guest saw {r:?}");
    check_eq!(read_host_cr8(), host_cr8);
    Outcome::Pass
}

/// Controls whose VMCS fields name a page the crate does not manage are refused with the
/// typed error before anything is allocated, required or optional, on every model (SDM
/// Vol. 3C §25.6: entering with such a field left 0 would use host page 0).
fn page_controls_refused(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let base = setup!(simple(env, vcpu_guest_vmcall));
    let mut tpr = base;
    tpr.required.primary |= PrimaryProcBasedControls::USE_TPR_SHADOW;
    let mut apic = base;
    apic.optional.secondary |= SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES;
    for (cfg, want) in [
        (&tpr, PageControl::TprShadow),
        (&apic, PageControl::VirtualizeApicAccesses),
    ] {
        // SAFETY: as in `new_vcpu`.
        let r = unsafe { VmxVcpu::new_on_host_memory(&c, cfg) };
        check!(
            matches!(r, Err(VmxError::ControlNeedsPage(got)) if got == want),
            "{want:?}: {:?}",
            r.err()
        );
        check_eq!(c.active_vmcs_count(), 0);
    }
    // The same configuration without them runs.
    let mut v = setup!(new_vcpu(&c, &base));
    setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

/// Completions are checked against the last exit: `advance_rip` before any exit and after
/// an exception exit (no instruction length recorded), and `complete_rdmsr` after a CPUID
/// exit, are refused with `NotCompletable` naming the exit, leaving RIP and the registers
/// alone; the right completion then works, once.
fn completion_checked(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(simple(env, vcpu_guest_ud));
    let mut v = setup!(new_vcpu(&c, &cfg));
    check_eq!(
        v.advance_rip(),
        Err(VmxError::NotCompletable {
            completion: Completion::AdvanceRip,
            last_exit: None
        })
    );
    require!(v.set_exception_bitmap(1 << 6), "exception bitmap");
    let e = setup!(run(&mut v));
    check_eq!(e.reason(), BasicExitReason::EXCEPTION_OR_NMI);
    let rip = require!(v.rip(), "rip");
    check_eq!(
        v.advance_rip(),
        Err(VmxError::NotCompletable {
            completion: Completion::AdvanceRip,
            last_exit: Some(BasicExitReason::EXCEPTION_OR_NMI)
        })
    );
    check_eq!(require!(v.rip(), "rip"), rip);
    drop(v);

    let cfg = setup!(simple(env, vcpu_guest_cpuid));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let e = setup!(run(&mut v));
    check!(
        matches!(e, VmExit::Cpuid { .. }),
        "expected CPUID, got {e:?}"
    );
    let rip = require!(v.rip(), "rip");
    v.regs_mut().rax = 0xAA;
    check_eq!(
        v.complete_rdmsr(0x1234),
        Err(VmxError::NotCompletable {
            completion: Completion::Rdmsr,
            last_exit: Some(BasicExitReason::CPUID)
        })
    );
    check_eq!(v.regs().rax, 0xAA);
    check_eq!(require!(v.rip(), "rip"), rip);
    require!(v.complete_cpuid(5, 6, 7, 8), "complete_cpuid");
    check_eq!(require!(v.rip(), "rip"), rip + 2);
    check!(
        matches!(
            v.complete_cpuid(5, 6, 7, 8),
            Err(VmxError::NotCompletable { .. })
        ),
        "CPUID completed twice"
    );
    check_eq!(require!(v.rip(), "rip"), rip + 2);
    let r = setup!(expect_vmcall(&mut v));
    check!((r.rax, r.rdx) == (5, 8), "guest saw {r:?}");
    Outcome::Pass
}
