//! The exit-cost scenario (issue 5 item 5): emulated instructions per CPUID exit round
//! trip (under Bochs RDTSC advances once per emulated instruction) through the public API,
//! beside two hand-written loops on the same guest: a minimal one, and one that does every
//! duty the API guarantees per exit.

use alloc::format;
use core::arch::global_asm;

use baremetal::cpu;
use vmx_defs::vmcs::fields;
use vmx_vcpu::xstate::XStateMode;
use vmx_vcpu::{Flow, VmExit};

use super::guests::vcpu_guest_cpuid_loop;
use super::{Cpu, enable, new_vcpu, run, simple};
use crate::check;
use crate::env::{Env, Outcome};

const COST_ROUNDS: u64 = 2000;

/// Runs `body` on a fresh vCPU for `vcpu_guest_cpuid_loop` whose HOST_RIP is `host_rip`
/// (the hand-written loop's own entry: it sets HOST_RIP/HOST_RSP itself); returns what
/// `body` returned and the vCPU's extended-state mode.
fn with_raw_vmcs<T>(
    c: &Cpu,
    cfg: &vmx_vcpu::VcpuConfig,
    host_rip: u64,
    body: impl FnOnce() -> T,
) -> Result<(T, XStateMode), Outcome> {
    let mut w = new_vcpu(c, cfg)?;
    // SAFETY: the hand-written loops set HOST_RIP/HOST_RSP to themselves before entering;
    // this write only makes the VMCS current for them.
    unsafe { w.write_field(fields::HOST_RIP, host_rip) }
        .map_err(|e| Outcome::Fail(format!("HOST_RIP: {e}")))?;
    let mode = w.xstate_mode();
    let r = body();
    drop(w);
    Ok((r, mode))
}

/// Emulated instructions per round trip: the RDTSC delta over `COST_ROUNDS`.
fn per_round(t0: u64) -> u64 {
    (cpu::rdtsc() - t0) / COST_ROUNDS
}

fn ratio(a: u64, b: u64) -> alloc::string::String {
    let x100 = a * 100 / b.max(1);
    format!("{}.{:02}x", x100 / 100, x100 % 100)
}

pub(super) fn exit_cost(env: &mut Env) -> Outcome {
    let c = match enable() {
        Ok(c) => c,
        Err(o) => return o,
    };
    let cfg = match simple(env, vcpu_guest_cpuid_loop) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut v = match new_vcpu(&c, &cfg) {
        Ok(v) => v,
        Err(o) => return o,
    };
    // Public API, run(): run -> VmExit::Cpuid -> complete_cpuid (4 registers, RIP).
    // Warm-up first (the first entry is VMLAUNCH and writes HOST_RSP).
    for _ in 0..10 {
        match run(&mut v) {
            Ok(VmExit::Cpuid { .. }) => {}
            Ok(e) => return Outcome::Fail(format!("warm-up exit {e:?}")),
            Err(o) => return o,
        }
        if let Err(e) = v.complete_cpuid(0, 0, 0, 0) {
            return Outcome::Fail(format!("complete_cpuid: {e}"));
        }
    }
    let t0 = cpu::rdtsc();
    for _ in 0..COST_ROUNDS {
        match v.run() {
            Ok(VmExit::Cpuid { leaf, .. }) => {
                if let Err(e) = v.complete_cpuid(leaf, 0, 0, 0) {
                    return Outcome::Fail(format!("complete_cpuid: {e}"));
                }
            }
            other => return Outcome::Fail(format!("unexpected {other:?}")),
        }
    }
    let api_run = per_round(t0);
    // Public API, run_loop: the same work per exit.
    let api = match run_loop_cost(&mut v) {
        Ok(c) => c,
        Err(o) => return o,
    };
    drop(v);
    // Hand-written minimal loop on a fresh VMCS (it VMLAUNCHes), warm-up run first.
    let minimal_rip = vcpu_minimal_cpuid_loop as *const () as u64;
    let run_minimal = |count| {
        let mut block = MinimalBlock {
            count,
            ..MinimalBlock::default()
        };
        let t0 = cpu::rdtsc();
        // SAFETY: the VMCS is current, clear and set up for `vcpu_guest_cpuid_loop`;
        // `block` outlives the call.
        let rc = unsafe { vcpu_minimal_cpuid_loop(&mut block) };
        (rc, t0)
    };
    let (warm, _) = match with_raw_vmcs(&c, &cfg, minimal_rip, || run_minimal(10)) {
        Ok(r) => r,
        Err(o) => return o,
    };
    check!(warm.0 == 0, "minimal loop warm-up: {:#x}", warm.0);
    let ((rc, t0), _) = match with_raw_vmcs(&c, &cfg, minimal_rip, || run_minimal(COST_ROUNDS)) {
        Ok(r) => r,
        Err(o) => return o,
    };
    let minimal = per_round(t0);
    check!(rc == 0, "minimal loop: {rc:#x}");
    // Hand-written loop with the API's duties, when the host's extended-state mode is the
    // one it implements (none to switch).
    let dutiful_rip = vcpu_dutiful_cpuid_loop as *const () as u64;
    let run_dutiful = |count| {
        let mut block = DutifulBlock {
            count,
            ..DutifulBlock::default()
        };
        let t0 = cpu::rdtsc();
        // SAFETY: as for the minimal loop.
        let rc = unsafe { vcpu_dutiful_cpuid_loop(&mut block) };
        (rc, t0)
    };
    let ((rc, t0), mode) = match with_raw_vmcs(&c, &cfg, dutiful_rip, || run_dutiful(COST_ROUNDS)) {
        Ok(r) => r,
        Err(o) => return o,
    };
    let dutiful = per_round(t0);
    let dutiful_text = if mode == XStateMode::None {
        check!(rc == 0, "loop with the API's duties: {rc:#x}");
        format!("{dutiful} ({} of it)", ratio(api, dutiful))
    } else {
        format!("not measured (extended-state mode {mode:?})")
    };
    Outcome::PassWith(format!(
        "CPUID round trip in emulated instructions: public API run_loop {api} (run() {api_run}); hand-written minimal loop {minimal} ({} of it); hand-written loop with the API's per-exit duties {dutiful_text}",
        ratio(api, minimal)
    ))
}

/// `run_loop` CPUID round trips on `v`, per round.
fn run_loop_cost(v: &mut super::VmxVcpu<'_, super::KernelHost>) -> Result<u64, Outcome> {
    let mut left = COST_ROUNDS;
    let mut bad = None;
    let t0 = cpu::rdtsc();
    let r = v.run_loop(|v, exit| {
        if let VmExit::Cpuid { leaf, .. } = exit {
            v.complete_cpuid(leaf, 0, 0, 0)?;
        } else {
            bad = Some(exit);
            return Ok(Flow::Stop);
        }
        left -= 1;
        Ok(if left == 0 {
            Flow::Stop
        } else {
            Flow::Continue
        })
    });
    let cost = per_round(t0);
    r.map_err(|e| Outcome::Fail(format!("run_loop: {e}")))?;
    if let Some(e) = bad {
        return Err(Outcome::Fail(format!("unexpected exit in run_loop: {e:?}")));
    }
    Ok(cost)
}

/// The CPUID round trip through `run_loop` with a host that uses SSE (CR4.OSFXSR, and
/// OSXSAVE where XSAVE exists), so that each exit switches x87/SSE(/AVX) state: eagerly
/// (every exit and entry), and in lazy mode (once per loop).
pub(super) fn exit_cost_xstate(env: &mut Env) -> Outcome {
    let c = match enable() {
        Ok(c) => c,
        Err(o) => return o,
    };
    let (_, mode) = super::enable_host_sse(env, true);
    let cfg = match simple(env, vcpu_guest_cpuid_loop) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut v = match new_vcpu(&c, &cfg) {
        Ok(v) => v,
        Err(o) => return o,
    };
    check!(v.xstate_mode() == mode, "mode {:?}", v.xstate_mode());
    let eager = match run_loop_cost(&mut v) {
        Ok(c) => c,
        Err(o) => return o,
    };
    // SAFETY: the handler (`run_loop_cost`) uses no x87/SSE instructions (soft-float
    // kernel, no assembly touching them).
    unsafe { v.set_lazy_xstate(true) };
    let lazy = match run_loop_cost(&mut v) {
        Ok(c) => c,
        Err(o) => return o,
    };
    Outcome::PassWith(format!(
        "CPUID round trip through run_loop with {mode:?} switching: {eager} emulated instructions eager, {lazy} lazy"
    ))
}

/// Register block of the hand-written minimal loop: the 16 GPR slots in SDM order (RSP's
/// unused) and the iteration counter.
#[repr(C)]
#[derive(Default)]
pub struct MinimalBlock {
    /// RAX, RCX, RDX, RBX, (RSP), RBP, RSI, RDI, R8-R15.
    pub gprs: [u64; 16],
    /// Round trips left.
    pub count: u64,
}

/// Entry of either hand-written loop (RDI = the block): saves the host's callee-saved
/// registers and RFLAGS, disables interrupts, pushes the block pointer, points HOST_RSP
/// (0x6C14) at it and HOST_RIP (0x6C16) at local label `2` (the exit path), and leaves the
/// block pointer in R12.
macro_rules! loop_prologue {
    () => {
        concat!(
            "push rbp\n",
            "push rbx\n",
            "push r12\n",
            "push r13\n",
            "push r14\n",
            "push r15\n",
            "pushfq\n",
            "cli\n",
            "push rdi\n",
            "mov eax, 0x6C14\n",
            "vmwrite rax, rsp\n",
            "lea rbx, [rip + 2f]\n",
            "mov eax, 0x6C16\n",
            "vmwrite rax, rbx\n",
            "mov r12, rdi\n",
        )
    };
}

/// Return of either hand-written loop (result in RAX): drops the block pointer, restores
/// what `loop_prologue!` saved and returns.
macro_rules! loop_epilogue {
    () => {
        concat!(
            "add rsp, 8\n",
            "popfq\n",
            "pop r15\n",
            "pop r14\n",
            "pop r13\n",
            "pop r12\n",
            "pop rbx\n",
            "pop rbp\n",
            "ret\n",
        )
    };
}

/// At a CPUID exit of either loop (R12 = the block): writes the CPUID result (EAX..EDX =
/// 0) into the saved RAX, RCX, RDX and RBX, and advances GUEST_RIP (0x681E) by the
/// VM-exit instruction length (0x440C). Leaves 0x681E in RAX.
macro_rules! emulate_cpuid {
    () => {
        concat!(
            "xor eax, eax\n",
            "mov [r12], rax\n",
            "mov [r12 + 8], rax\n",
            "mov [r12 + 16], rax\n",
            "mov [r12 + 24], rax\n",
            "mov eax, 0x440C\n",
            "vmread rbx, rax\n",
            "mov eax, 0x681E\n",
            "vmread rcx, rax\n",
            "add rcx, rbx\n",
            "vmwrite rax, rcx\n",
        )
    };
}

/// [`emulate_cpuid`] with the RIP duty of `VmxVcpu::advance_rip`: an instruction whose end
/// crosses a 4-GiB boundary (the sum's bits 63:32 differ from RIP's) needs the guest's
/// mode to know whether EIP wraps, which this baseline leaves to the unhandled-case exit
/// (local label `7`, bit 62) before writing RIP; otherwise the sum is written as is.
macro_rules! emulate_cpuid_mode_aware {
    () => {
        concat!(
            "xor eax, eax\n",
            "mov [r12], rax\n",
            "mov [r12 + 8], rax\n",
            "mov [r12 + 16], rax\n",
            "mov [r12 + 24], rax\n",
            "mov eax, 0x440C\n",
            "vmread rbx, rax\n",
            "mov eax, 0x681E\n",
            "vmread rcx, rax\n",
            "lea rdx, [rcx + rbx]\n",
            "xor rcx, rdx\n",
            "shr rcx, 32\n",
            "jnz 7f\n",
            "vmwrite rax, rdx\n",
        )
    };
}

macro_rules! load_guest_gprs {
    () => {
        concat!(
            "mov rax, r12\n",
            "mov rcx, [rax + 8]\n",
            "mov rdx, [rax + 16]\n",
            "mov rbx, [rax + 24]\n",
            "mov rbp, [rax + 40]\n",
            "mov rsi, [rax + 48]\n",
            "mov rdi, [rax + 56]\n",
            "mov r8, [rax + 64]\n",
            "mov r9, [rax + 72]\n",
            "mov r10, [rax + 80]\n",
            "mov r11, [rax + 88]\n",
            "mov r12, [rax + 96]\n",
            "mov r13, [rax + 104]\n",
            "mov r14, [rax + 112]\n",
            "mov r15, [rax + 120]\n",
            "mov rax, [rax]\n",
        )
    };
}

/// At a VM exit of either loop: the block pointer is at `[rsp]`; stores the 15 guest GPRs
/// into its slots and leaves the block pointer in RAX.
macro_rules! save_guest_gprs {
    () => {
        concat!(
            "push rax\n",
            "mov rax, [rsp + 8]\n",
            "mov [rax + 8], rcx\n",
            "mov [rax + 16], rdx\n",
            "mov [rax + 24], rbx\n",
            "mov [rax + 40], rbp\n",
            "mov [rax + 48], rsi\n",
            "mov [rax + 56], rdi\n",
            "mov [rax + 64], r8\n",
            "mov [rax + 72], r9\n",
            "mov [rax + 80], r10\n",
            "mov [rax + 88], r11\n",
            "mov [rax + 96], r12\n",
            "mov [rax + 104], r13\n",
            "mov [rax + 112], r14\n",
            "mov [rax + 120], r15\n",
            "pop qword ptr [rax]\n",
        )
    };
}

global_asm!(
    ".pushsection .text.vcpu_minimal_loop,\"ax\",@progbits",
    ".code64",
    // u64 vcpu_minimal_cpuid_loop(MinimalBlock *block): the hand-written baseline for the
    // exit-cost scenario. The current VMCS must hold a launch-state-clear guest running
    // `vcpu_guest_cpuid_loop`. Sets HOST_RSP/HOST_RIP to itself and VMLAUNCHes; on each
    // exit it saves the 15 guest GPRs, checks the reason is CPUID, writes the CPUID result
    // (EAX..EDX = 0) into the saved registers, advances GUEST_RIP by the exit instruction
    // length, reloads the GPRs and VMRESUMEs, until `block.count` exits were handled.
    // This is what any correct exit path must do at least (no CR2, extended state or
    // event handling). Returns 0, or the RFLAGS of a VMfail, or the exit reason with
    // bit 63 for an unexpected exit.
    ".global vcpu_minimal_cpuid_loop",
    "vcpu_minimal_cpuid_loop:",
    loop_prologue!(),
    load_guest_gprs!(),
    "vmlaunch",
    "jmp 3f",
    "2:",
    save_guest_gprs!(),
    "mov r12, rax",
    "mov eax, 0x4402",
    "vmread rbx, rax",
    "cmp ebx, 10",
    "jne 4f",
    emulate_cpuid!(),
    "dec qword ptr [r12 + 128]",
    "jz 5f",
    load_guest_gprs!(),
    "vmresume",
    "3:",
    "pushfq",
    "pop rax",
    "jmp 6f",
    "4:",
    "mov rax, rbx",
    "bts rax, 63",
    "jmp 6f",
    "5:",
    "xor eax, eax",
    "6:",
    loop_epilogue!(),
    ".popsection",
);

/// Register block of the hand-written loop with the API's duties: the GPR slots and
/// counter of [`MinimalBlock`], then guest CR2, the extended-state mode (0: nothing to
/// switch, as `XStateMode::None`; anything else is refused) and a pending-event word (an
/// event to inject is refused).
#[repr(C)]
#[derive(Default)]
pub struct DutifulBlock {
    /// RAX, RCX, RDX, RBX, (RSP), RBP, RSI, RDI, R8-R15.
    pub gprs: [u64; 16],
    /// Round trips left.
    pub count: u64,
    /// Guest CR2.
    pub cr2: u64,
    /// Extended-state switching mode (only 0 is implemented here).
    pub xmode: u64,
    /// Non-zero when an event waits for injection (refused here).
    pub pending: u64,
}

global_asm!(
    ".pushsection .text.vcpu_dutiful_loop,\"ax\",@progbits",
    ".code64",
    // u64 vcpu_dutiful_cpuid_loop(DutifulBlock *block): the like-for-like baseline. The
    // minimal loop plus each duty `VmxVcpu::run_loop` guarantees per exit, written by hand:
    // host callee-saved registers and RFLAGS preserved across this Rust-callable function;
    // VMLAUNCH or VMRESUME chosen per entry; guest CR2 loaded before and saved after; the
    // extended-state mode checked in both directions (mode 0: the host does not use
    // x87/SSE, nothing to switch); a pending event checked before each entry; the
    // IDT-vectoring information read and tested at each exit (an interrupted delivery is
    // never lost); RIP advanced by the exit instruction length (with the 4-GiB crossing
    // test of `advance_rip`) and blocking by STI / MOV SS cleared as completing the
    // instruction does. Returns 0, the RFLAGS of a VMfail, the
    // exit reason with bit 63 for an unexpected exit, or bit 62 for a case this baseline
    // does not handle (an interrupted event delivery, a pending event, mode != 0).
    ".global vcpu_dutiful_cpuid_loop",
    "vcpu_dutiful_cpuid_loop:",
    loop_prologue!(),
    "xor r13d, r13d",
    // ---- entry ----
    "1:",
    "cmp qword ptr [r12 + 144], 0",
    "jne 7f",
    "cmp qword ptr [r12 + 152], 0",
    "jne 7f",
    "mov rax, [r12 + 136]",
    "mov cr2, rax",
    "test r13, r13",
    load_guest_gprs!(),
    "jnz 8f",
    "vmlaunch",
    "jmp 3f",
    "8:",
    "vmresume",
    "jmp 3f",
    // ---- exit ----
    "2:",
    save_guest_gprs!(),
    "mov rcx, cr2",
    "mov [rax + 136], rcx",
    "mov r12, rax",
    "mov eax, 0x4402",
    "vmread rbx, rax",
    "mov eax, 0x4408",
    "vmread rcx, rax",
    "test ecx, ecx",
    "js 7f",
    "cmp qword ptr [r12 + 144], 0",
    "jne 7f",
    "cmp ebx, 10",
    "jne 4f",
    emulate_cpuid_mode_aware!(),
    "mov eax, 0x4824",
    "vmread rcx, rax",
    "test cl, 3",
    "jz 9f",
    "and rcx, -4",
    "vmwrite rax, rcx",
    "9:",
    "mov r13d, 1",
    "dec qword ptr [r12 + 128]",
    "jnz 1b",
    "xor eax, eax",
    "jmp 6f",
    "3:",
    "pushfq",
    "pop rax",
    "jmp 6f",
    "4:",
    "mov rax, rbx",
    "bts rax, 63",
    "jmp 6f",
    "7:",
    "xor eax, eax",
    "bts rax, 62",
    "6:",
    loop_epilogue!(),
    ".popsection",
);

unsafe extern "C" {
    /// See the assembly above.
    fn vcpu_minimal_cpuid_loop(block: *mut MinimalBlock) -> u64;
    /// See the assembly above.
    fn vcpu_dutiful_cpuid_loop(block: *mut DutifulBlock) -> u64;
}
