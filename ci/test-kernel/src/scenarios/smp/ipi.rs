//! `smp_guest_init_sipi_ipi`: a two-vCPU guest on two processors. The BSP guest (32-bit
//! protected mode) starts the AP guest with INIT-SIPI-SIPI written to its xAPIC ICR, the AP
//! starts in real mode at the SIPI vector (SDM Vol. 3A §10.4.4), switches to protected
//! mode, and the two send each other fixed IPIs, counted by their IDT handlers.
//!
//! The hypervisor emulates the xAPIC ICR (0xFEE00300/0xFEE00310, SDM Vol. 3A §12.6.1): the
//! APIC page is left out of the EPT, so each write exits as an EPT violation, decoded here
//! for the one form the guests use (`mov [moffs32], eax`, opcode A3). INIT to a vCPU that
//! waits for a SIPI only restarts its wait; SIPI: with the AP in the hardware wait-for-SIPI
//! state ([`ApWait::Hardware`]) the hypervisor sends a physical SIPI to the AP's processor,
//! which exits with reason 4 and the vector ([`VmExit::Sipi`]); in the host fallback
//! ([`ApWait::Host`]) the AP's processor, which never entered the vCPU, sees the vector in
//! a mailbox. Either way the AP calls [`Vcpu::start_at_sipi`]. A fixed IPI is queued for
//! the target vCPU and injected as an external interrupt ([`Event::ExternalInterrupt`]);
//! the target's processor is kicked with a host IPI so that a running vCPU takes an
//! external-interrupt exit and sees the injection.
//!
//! Every wait is bounded: the guests' spin loops give up after [`GUEST_SPIN_LIMIT`]
//! iterations with a VMCALL code naming the wait, the host's after [`HOST_WAIT_TICKS`]; a
//! failing side raises `abort` and the BSP side gets a hardware-waiting AP out of
//! wait-for-SIPI with a SIPI, so the pair always ends. The fallback runs first: under
//! Bochs 2.7 a SIPI VM exit leaves the processor with SMI masked, which its later exits
//! save as "blocking by SMI" ([`clear_smi_blocking`]).

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use alloc::format;
use alloc::string::String;

use baremetal::smp;
use vmx_defs::guest_state::Interruptibility;
use vmx_vcpu::guest::{DescriptorTableRegister, GuestState, PAT_DEFAULT};
use vmx_vcpu::sipi::{ApState, ApWait, CR0_RESET, SipiAction, init_state};
use vmx_vcpu::{Event, Vcpu, VcpuConfig, VmExit, VmxVcpu};

use crate::env::{Env, Outcome};
use crate::hosts::KernelHost;
use crate::{check_eq, require, setup};

use super::super::vmx_setup::enable;

/// Guest-physical address of the guest blob (code, tables, counters, stacks): SIPI vector 9.
const G: u64 = 0x9000;
const SIPI_VECTOR: u8 = (G >> 12) as u8;
/// IPIs each guest sends the other.
const ROUNDS: u32 = 5;
/// Iterations of each guest spin loop before the guest gives up and reports (a VMCALL
/// with a code naming the wait): about 4 instructions each, far more than a round takes.
const GUEST_SPIN_LIMIT: u32 = 20_000_000;
/// TSC ticks each host-side wait lasts at most (Bochs's TSC counts instructions).
const HOST_WAIT_TICKS: u64 = 300_000_000;
/// The host vector that kicks a processor out of its guest.
const KICK: u8 = 0xF0;
/// Offsets in the blob.
const GDT: usize = 0x400;
const GDTR: usize = 0x430;
const IDTR: usize = 0x438;
const IDT: usize = 0x500;
const IDT_VECTORS: usize = 0x42;
const CNT_BSP: usize = 0x800;
const CNT_AP: usize = 0x804;
const AP_ALIVE: usize = 0x808;

core::arch::global_asm!(
    ".pushsection .text.smp_ipi_blob,\"ax\",@progbits",
    ".global smp_ipi_blob",
    ".global smp_ipi_blob_end",
    ".global smp_ipi_bsp32",
    ".global smp_ipi_isr40",
    ".global smp_ipi_isr41",
    "smp_ipi_blob:",
    // The AP, real mode at 0900:0000 (CS.base = 0x9000).
    ".code16",
    "cli",
    // lgdt dword cs:[0x430]
    ".byte 0x2E, 0x66, 0x0F, 0x01, 0x16",
    ".word 0x430",
    "mov eax, cr0",
    "or al, 1",
    "mov cr0, eax",
    // ljmpd 0x08:ap32
    ".byte 0x66, 0xEA",
    ".long 0x9000 + (3f - smp_ipi_blob)",
    ".word 0x08",
    ".code32",
    "3:",
    "mov ax, 0x10",
    "mov ds, ax",
    "mov es, ax",
    "mov ss, ax",
    "mov esp, 0x9F00",
    "lidt [0x9438]",
    "mov dword ptr [0x9808], 1",
    "sti",
    // Bounded wait for the 5 IPIs (ECX iterations), else VMCALL 0x53F1.
    "mov ecx, {limit}",
    "4:",
    "pause",
    "cmp dword ptr [0x9804], 5",
    "jae 13f",
    "dec ecx",
    "jnz 4b",
    "mov eax, 0x53F1",
    "vmcall",
    "jmp 5f",
    "13:",
    "mov eax, 0x5351",
    "vmcall",
    "5: hlt",
    "jmp 5b",
    // The BSP, 32-bit protected mode.
    "smp_ipi_bsp32:",
    "sti",
    "mov eax, 0x01000000",
    ".byte 0xA3",
    ".long 0xFEE00310",
    "mov eax, 0x00004500",
    ".byte 0xA3",
    ".long 0xFEE00300",
    "mov ecx, 20000",
    "6: loop 6b",
    "mov eax, 0x00004609",
    ".byte 0xA3",
    ".long 0xFEE00300",
    "mov ecx, 2000",
    "7: loop 7b",
    "mov eax, 0x00004609",
    ".byte 0xA3",
    ".long 0xFEE00300",
    // Bounded wait for the AP guest (ECX iterations), else VMCALL 0x53E1.
    "mov ecx, {limit}",
    "8:",
    "pause",
    "cmp dword ptr [0x9808], 1",
    "je 14f",
    "dec ecx",
    "jnz 8b",
    "mov eax, 0x53E1",
    "vmcall",
    "jmp 11f",
    "14:",
    "mov ebx, 1",
    "9:",
    "mov eax, 0x01000000",
    ".byte 0xA3",
    ".long 0xFEE00310",
    "mov eax, 0x00004041",
    ".byte 0xA3",
    ".long 0xFEE00300",
    // Bounded wait for the AP's answer (ECX iterations), else VMCALL 0x53E2.
    "mov ecx, {limit}",
    "10:",
    "pause",
    "cmp dword ptr [0x9800], ebx",
    "je 15f",
    "dec ecx",
    "jnz 10b",
    "mov eax, 0x53E2",
    "vmcall",
    "jmp 11f",
    "15:",
    "inc ebx",
    "cmp ebx, 6",
    "jne 9b",
    "mov eax, 0x5350",
    "vmcall",
    "11: hlt",
    "jmp 11b",
    // Vector 0x40 (on the BSP): count.
    "smp_ipi_isr40:",
    "lock inc dword ptr [0x9800]",
    "iretd",
    // Vector 0x41 (on the AP): count, answer with 0x40 to APIC ID 0.
    "smp_ipi_isr41:",
    "push eax",
    "lock inc dword ptr [0x9804]",
    "xor eax, eax",
    ".byte 0xA3",
    ".long 0xFEE00310",
    "mov eax, 0x00004040",
    ".byte 0xA3",
    ".long 0xFEE00300",
    "pop eax",
    "iretd",
    "smp_ipi_blob_end:",
    ".code64",
    ".popsection",
    limit = const GUEST_SPIN_LIMIT,
);

unsafe extern "C" {
    fn smp_ipi_blob();
    fn smp_ipi_blob_end();
    fn smp_ipi_bsp32();
    fn smp_ipi_isr40();
    fn smp_ipi_isr41();
}

fn off(f: unsafe extern "C" fn()) -> u64 {
    f as *const () as u64 - smp_ipi_blob as *const () as u64
}

/// What the hypervisor shares between the two processors: one mailbox per vCPU (index 0
/// the BSP, 1 the AP; the guest's APIC IDs).
struct Shared {
    /// Fixed vectors 0x40-0x5F pending for each vCPU.
    irr: [AtomicU32; 2],
    /// The AP's wait: 0 running (or not yet waiting), 1 hardware, 2 host.
    ap_wait: AtomicU32,
    /// The AP's processor is about to enter (or is in) the wait-for-SIPI state.
    ap_in_wfs: AtomicBool,
    /// SIPI vector + 1 for the AP waiting on the host, 0 none.
    sipi: AtomicU32,
    /// INITs that reached a waiting AP (they only restart its wait).
    inits: AtomicU32,
    /// One side failed: the other stops waiting for it.
    abort: AtomicBool,
}

/// What one vCPU's loop counted.
#[derive(Default, Debug)]
struct Tally {
    init_exits: u32,
    sipi_exits: u32,
    icr_writes: u32,
    injected: u32,
    kicks: u32,
    /// VM exits that saved "blocking by SMI" outside SMM (cleared before the next entry).
    smi_cleared: u32,
}

/// Clears "blocking by SMI" (interruptibility bit 2) that a VM exit saved although the
/// processor is not in SMM, counting it in `t`.
///
/// The SDM says that VM exits ending outside SMM save bit 2 as 0 (Vol. 3C §28.3.4) and
/// that VM entry outside SMM fails when it is 1 (§27.3.1.5), so on hardware this never
/// triggers. Bochs 2.7 saves bit 2 whenever its SMI event is masked, and its
/// wait-for-SIPI state masks SMI (with INIT and NMI) until the SIPI's own handler unmasks
/// it; a SIPI VM exit leaves that handler before the unmask (`deliver_SIPI` in cpu/event.cc,
/// `VMexitSaveGuestState` in cpu/vmx.cc). So after the AP's SIPI exit every later exit of
/// that processor saves bit 2 and the next VMRESUME fails ("VMCS SMI blocked when not in
/// SMM mode"). Bochs 3.0 saves it as 0.
fn clear_smi_blocking(v: &mut Vcpu<'_, KernelHost>, t: &mut Tally) -> Result<(), String> {
    let intr = v
        .interruptibility()
        .map_err(|e| format!("interruptibility: {e}"))?;
    if intr.contains(Interruptibility::SMI) {
        v.set_interruptibility(intr.difference(Interruptibility::SMI))
            .map_err(|e| format!("set_interruptibility: {e}"))?;
        t.smi_cleared += 1;
    }
    Ok(())
}

fn kick_handler(_: &mut baremetal::InterruptFrame) {
    smp::apic_eoi();
}

/// Emulates a write of `value` to the xAPIC register at `gpa` by vCPU `me`.
fn apic_write(
    sh: &Shared,
    icr_high: &mut u32,
    gpa: u64,
    value: u32,
    me: usize,
) -> Result<(), String> {
    match gpa {
        0xFEE0_0310 => *icr_high = value,
        0xFEE0_0300 => {
            let dest = (*icr_high >> 24) as usize;
            if dest > 1 || dest == me {
                return Err(format!("ICR destination {dest} from vCPU {me}"));
            }
            let vector = value as u8;
            match (value >> 8) & 7 {
                0 => {
                    if !(0x40..0x60).contains(&vector) {
                        return Err(format!("fixed vector {vector:#x}"));
                    }
                    sh.irr[dest].fetch_or(1 << (vector - 0x40), Ordering::SeqCst);
                    // SAFETY: the target processor runs the other vCPU, with external-
                    // interrupt exiting (ack on exit), or has KICK's handler installed.
                    unsafe { smp::send_ipi(dest, KICK) }.map_err(|e| format!("kick: {e}"))?;
                }
                5 if dest == 1 => {
                    // INIT to the AP, which waits for a SIPI: the wait restarts (SDM Vol. 3A
                    // §10.4.2); nothing changes.
                    if sh.ap_wait.load(Ordering::SeqCst) == 0 {
                        return Err("INIT to a running AP (not part of this scenario)".into());
                    }
                    sh.inits.fetch_add(1, Ordering::SeqCst);
                }
                6 if dest == 1 => deliver_sipi(sh, vector)?,
                m => return Err(format!("delivery mode {m} to {dest}")),
            }
        }
        _ => return Err(format!("APIC write at {gpa:#x}")),
    }
    Ok(())
}

/// Sends physical SIPIs with `vector` to the AP's processor until its vCPU has left the
/// hardware wait-for-SIPI state (`ap_wait` no longer 1). A SIPI that reaches the processor
/// before it entered the guest (still in VMX root operation) is dropped (SDM Vol. 3C
/// §25.2: SIPIs are blocked in VMX root operation), hence the repetition. Bounded: about
/// 50 tries, 2·10⁶ TSC ticks apart.
fn sipi_until_started(sh: &Shared, vector: u8) -> Result<(), String> {
    wait_for(
        || sh.ap_in_wfs.load(Ordering::SeqCst) || sh.ap_wait.load(Ordering::SeqCst) != 1,
        "the AP's processor to enter the wait-for-SIPI state",
    )?;
    let id = smp::apic_id_of(1).ok_or("no AP")?;
    for _ in 0..50 {
        if sh.ap_wait.load(Ordering::SeqCst) != 1 {
            return Ok(());
        }
        // SAFETY: a SIPI only starts a processor in the wait-for-SIPI state; the AP's
        // processor is in VMX operation, where it exits (reason 4) or ignores it.
        unsafe { smp::send_icr(id, smp::icr::STARTUP | smp::icr::ASSERT | u32::from(vector)) }
            .map_err(|e| format!("SIPI: {e}"))?;
        let start = baremetal::cpu::rdtsc();
        while baremetal::cpu::rdtsc().wrapping_sub(start) < 2_000_000 {
            if sh.ap_wait.load(Ordering::SeqCst) != 1 {
                return Ok(());
            }
            core::hint::spin_loop();
        }
    }
    Err("the AP's vCPU never left wait-for-SIPI (50 physical SIPIs, no SIPI exit)".into())
}

/// A SIPI for the AP: ignored unless it waits; in hardware a physical SIPI to its
/// processor ([`sipi_until_started`]); on the host, the mailbox.
fn deliver_sipi(sh: &Shared, vector: u8) -> Result<(), String> {
    match sh.ap_wait.load(Ordering::SeqCst) {
        1 => sipi_until_started(sh, vector),
        2 => {
            sh.sipi.store(u32::from(vector) + 1, Ordering::SeqCst);
            Ok(())
        }
        _ => Ok(()), // running: a SIPI is ignored
    }
}

/// The BSP side failed: tells the AP side to stop, and gets its vCPU out of a hardware
/// wait-for-SIPI (only a SIPI or INIT ends that state, SDM Vol. 3C §25.4.2) so that its
/// processor returns. Bounded.
fn release_ap(sh: &Shared) -> Option<String> {
    sh.abort.store(true, Ordering::SeqCst);
    if sh.ap_wait.load(Ordering::SeqCst) == 1 {
        return sipi_until_started(sh, SIPI_VECTOR).err();
    }
    None
}

/// Spins until `ready` holds, for at most [`HOST_WAIT_TICKS`] TSC ticks; gives up early
/// (saying so) once the other side failed.
fn wait_for_or_abort(sh: &Shared, ready: impl Fn() -> bool, what: &str) -> Result<(), String> {
    wait_for(|| ready() || sh.abort.load(Ordering::SeqCst), what)?;
    if ready() {
        Ok(())
    } else {
        Err(format!(
            "stopped waiting for {what}: the other processor's side failed"
        ))
    }
}

/// Spins until `ready` holds, for at most [`HOST_WAIT_TICKS`] TSC ticks.
fn wait_for(ready: impl Fn() -> bool, what: &str) -> Result<(), String> {
    let start = baremetal::cpu::rdtsc();
    while !ready() {
        if baremetal::cpu::rdtsc().wrapping_sub(start) > HOST_WAIT_TICKS {
            return Err(format!(
                "timed out ({HOST_WAIT_TICKS} TSC ticks) waiting for {what}"
            ));
        }
        core::hint::spin_loop();
    }
    Ok(())
}

/// What a guest's VMCALL code says: its normal end, or the wait it gave up on.
fn guest_end(me: usize, rax: u64, frame: u64) -> Result<u64, String> {
    // SAFETY: the blob frame is ours; the guest that wrote it has stopped at its VMCALL.
    let count = |o: usize| unsafe { ((frame + o as u64) as *const u32).read_volatile() };
    match (me, rax & 0xFFFF_FFFF) {
        (0, 0x5350) | (1, 0x5351) => Ok(rax),
        (0, 0x53E1) => Err("BSP guest: the AP guest never came alive (no SIPI start)".into()),
        (0, 0x53E2) => Err(format!(
            "BSP guest: no answer IPI 0x40 from the AP guest ({} of {ROUNDS} counted)",
            count(CNT_BSP)
        )),
        (1, 0x53F1) => Err(format!(
            "AP guest: fewer than {ROUNDS} IPIs 0x41 arrived ({} counted)",
            count(CNT_AP)
        )),
        (_, code) => Err(format!("vCPU {me}: VMCALL with RAX {code:#x}")),
    }
}

/// Runs vCPU `me` to its VMCALL, emulating its APIC writes and injecting its IPIs.
fn run_guest(
    v: &mut Vcpu<'_, KernelHost>,
    sh: &Shared,
    frame: u64,
    me: usize,
    t: &mut Tally,
) -> Result<u64, String> {
    let mut icr_high = 0u32;
    loop {
        let pending = sh.irr[me].swap(0, Ordering::SeqCst);
        for bit in 0..32 {
            if pending & (1 << bit) != 0 {
                v.inject(Event::ExternalInterrupt(0x40 + bit))
                    .map_err(|e| format!("inject: {e}"))?;
                t.injected += 1;
            }
        }
        let exit = v.run().map_err(|e| format!("run: {e}"))?;
        if !matches!(exit, VmExit::EntryFailure(_)) {
            clear_smi_blocking(v, t)?;
        }
        match exit {
            VmExit::ExternalInterrupt { vector } => {
                if vector.is_some() {
                    smp::apic_eoi();
                }
                t.kicks += 1;
            }
            VmExit::InterruptWindow => {}
            VmExit::EptViolation(e) => {
                let rip = v.rip().map_err(|e| format!("rip: {e}"))?;
                if !(G..G + 0xFF0).contains(&rip) {
                    return Err(format!("EPT violation at {:#x}, RIP {rip:#x}", e.gpa));
                }
                // SAFETY: the blob frame is ours and identity mapped; RIP is inside it.
                let code = unsafe { ((frame + rip - G) as *const [u8; 5]).read_unaligned() };
                let moffs = u32::from_le_bytes([code[1], code[2], code[3], code[4]]);
                if code[0] != 0xA3 || u64::from(moffs) != e.gpa {
                    return Err(format!("APIC access {code:x?} at {rip:#x}"));
                }
                let value = v.regs().rax as u32;
                apic_write(sh, &mut icr_high, e.gpa, value, me)?;
                t.icr_writes += 1;
                v.set_rip(rip + 5).map_err(|e| format!("set_rip: {e}"))?;
            }
            VmExit::Vmcall(_) => return guest_end(me, v.regs().rax, frame),
            VmExit::Init => t.init_exits += 1,
            VmExit::EntryFailure(f) => {
                let intr = v.interruptibility().map(|i| i.bits());
                let act = v.activity_state();
                return Err(format!(
                    "vCPU {me}: VM entry failed: {f:?}; interruptibility {intr:x?}, \
                     activity {act:?}"
                ));
            }
            other => return Err(format!("vCPU {me}: unexpected exit {other:?}")),
        }
    }
}

/// The AP's processor: VMX on, the AP vCPU created waiting for a SIPI (`wait`), started by
/// the SIPI (exit 4 or the mailbox), run to its VMCALL. On failure the BSP side is told
/// (`abort`) so that it stops waiting.
fn ap_side(
    ept: &ept::Ept<KernelHost>,
    sh: &Shared,
    frame: u64,
    wait: ApWait,
) -> Result<(Tally, ApWait, u64, u8), String> {
    let r = ap_side_inner(ept, sh, frame, wait);
    if r.is_err() {
        sh.abort.store(true, Ordering::SeqCst);
    }
    r
}

fn ap_side_inner(
    ept: &ept::Ept<KernelHost>,
    sh: &Shared,
    frame: u64,
    wait: ApWait,
) -> Result<(Tally, ApWait, u64, u8), String> {
    let cpu = enable().map_err(|o| format!("enable on the AP: {o:?}"))?;
    let mut cfg = VcpuConfig::new(init_state(CR0_RESET, PAT_DEFAULT));
    cfg.acknowledge_interrupt_on_exit = true;
    let user = ept.attach().map_err(|e| format!("attach: {e}"))?;
    let mut v = VmxVcpu::new(&cpu, user, &cfg).map_err(|e| format!("AP vCPU: {e}"))?;
    let mut t = Tally::default();
    let chosen = v.receive_init(wait).map_err(|e| format!("INIT: {e}"))?;
    if v.ap_state() != ApState::WaitingForSipi(chosen) {
        return Err(format!("after INIT: {:?}", v.ap_state()));
    }
    sh.ap_wait.store(
        if chosen == ApWait::Hardware { 1 } else { 2 },
        Ordering::SeqCst,
    );
    let vector = match chosen {
        ApWait::Hardware => {
            sh.ap_in_wfs.store(true, Ordering::SeqCst);
            // Only a SIPI (or INIT) ends this entry; the BSP side sends one even when it
            // fails (`release_ap`), so the wait is bounded by its own.
            let exit = v.run().map_err(|e| format!("run in wait-for-SIPI: {e}"));
            sh.ap_in_wfs.store(false, Ordering::SeqCst);
            match exit? {
                VmExit::Sipi(q) => {
                    t.sipi_exits += 1;
                    q.vector()
                }
                VmExit::EntryFailure(f) => {
                    return Err(format!("entry in wait-for-SIPI failed: {f:?}"));
                }
                other => return Err(format!("in wait-for-SIPI: exit {other:?}")),
            }
        }
        _ => {
            if v.ap_state().may_enter() {
                return Err("a host-waiting AP may be entered".into());
            }
            wait_for_or_abort(
                sh,
                || sh.sipi.load(Ordering::SeqCst) != 0,
                "a SIPI in the AP's mailbox",
            )?;
            (sh.sipi.load(Ordering::SeqCst) - 1) as u8
        }
    };
    if sh.abort.load(Ordering::SeqCst) {
        sh.ap_wait.store(0, Ordering::SeqCst);
        return Err("stopped after the SIPI: the BSP side failed".into());
    }
    if v.ap_state().on_sipi() != SipiAction::Start {
        return Err("a waiting AP would ignore the SIPI".into());
    }
    let started = v.start_at_sipi(vector);
    sh.ap_wait.store(0, Ordering::SeqCst);
    started.map_err(|e| format!("start_at_sipi: {e}"))?;
    let rax = run_guest(&mut v, sh, frame, 1, &mut t)?;
    drop(v);
    cpu.disable().map_err(|e| format!("disable: {e}"))?;
    Ok((t, chosen, rax, vector))
}

/// The BSP's processor: its vCPU run to its VMCALL; on failure the AP side is released
/// ([`release_ap`]) so that the pair always ends.
fn bsp_side(ept: &ept::Ept<KernelHost>, sh: &Shared, frame: u64) -> Result<(Tally, u64), String> {
    let r = bsp_side_inner(ept, sh, frame);
    match r {
        Err(e) => match release_ap(sh) {
            Some(e2) => Err(format!("{e}; releasing the AP: {e2}")),
            None => Err(e),
        },
        ok => ok,
    }
}

fn bsp_side_inner(
    ept: &ept::Ept<KernelHost>,
    sh: &Shared,
    frame: u64,
) -> Result<(Tally, u64), String> {
    let cpu = enable().map_err(|o| format!("enable on the BSP: {o:?}"))?;
    let mut g = GuestState::protected_mode((G + off(smp_ipi_bsp32)) as u32, (G + 0xE00) as u32);
    g.gdtr = DescriptorTableRegister {
        base: G + GDT as u64,
        limit: 0x1F,
    };
    g.idtr = DescriptorTableRegister {
        base: G + IDT as u64,
        limit: (IDT_VECTORS * 8 - 1) as u16,
    };
    let mut cfg = VcpuConfig::new(g);
    cfg.acknowledge_interrupt_on_exit = true;
    let user = ept.attach().map_err(|e| format!("attach: {e}"))?;
    let mut v = VmxVcpu::new(&cpu, user, &cfg).map_err(|e| format!("BSP vCPU: {e}"))?;
    let mut t = Tally::default();
    // The AP's vCPU waits for a SIPI before the BSP's guest sends it anything.
    wait_for_or_abort(
        sh,
        || sh.ap_wait.load(Ordering::SeqCst) != 0,
        "the AP's vCPU to wait for a SIPI",
    )?;
    let rax = run_guest(&mut v, sh, frame, 0, &mut t)?;
    drop(v);
    cpu.disable().map_err(|e| format!("disable: {e}"))?;
    Ok((t, rax))
}

/// Copies the blob into `frame` and writes its GDT, GDTR, IDT and IDTR.
fn fill_blob(frame: u64) -> Result<(), Outcome> {
    let len = off(smp_ipi_blob_end) as usize;
    if len > GDT {
        return Err(Outcome::Fail(format!("guest blob of {len} bytes")));
    }
    let gate = |handler: u64| -> u64 {
        let a = G + handler;
        (a & 0xFFFF) | (0x08 << 16) | (0x8E00 << 32) | ((a >> 16) << 48)
    };
    // SAFETY: `frame` is a fresh identity-mapped 4-KiB frame of ours; every write is inside.
    unsafe {
        let p = frame as *mut u8;
        core::ptr::write_bytes(p, 0, 4096);
        core::ptr::copy_nonoverlapping(smp_ipi_blob as *const u8, p, len);
        let q = |o: usize| p.add(o).cast::<u64>();
        q(GDT + 8).write_unaligned(0x00CF_9A00_0000_FFFF);
        q(GDT + 16).write_unaligned(0x00CF_9200_0000_FFFF);
        p.add(GDTR).cast::<u16>().write_unaligned(0x1F);
        p.add(GDTR + 2)
            .cast::<u32>()
            .write_unaligned((G + GDT as u64) as u32);
        p.add(IDTR)
            .cast::<u16>()
            .write_unaligned((IDT_VECTORS * 8 - 1) as u16);
        p.add(IDTR + 2)
            .cast::<u32>()
            .write_unaligned((G + IDT as u64) as u32);
        q(IDT + 0x40 * 8).write_unaligned(gate(off(smp_ipi_isr40)));
        q(IDT + 0x41 * 8).write_unaligned(gate(off(smp_ipi_isr41)));
    }
    Ok(())
}

/// An EPT mapping the low 4 GiB identically except the blob at [`G`] (→ `frame`) and the
/// xAPIC page (not mapped: accesses exit).
fn build_ept(frame: u64) -> Result<ept::Ept<KernelHost>, Outcome> {
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
    let apic = 0xFEE0_0000u64;
    // SAFETY: the guests are the scenario's own code, trusted like the kernel; the table is
    // dropped before the scenario ends.
    unsafe {
        t.map_region(g(0), h(0), G, rwx)
            .map_err(|e| fail("map", e))?;
        t.map(g(G), h(frame), ept::PageSize::Size4K, rwx)
            .map_err(|e| fail("map blob", e))?;
        t.map_region(g(G + 0x1000), h(G + 0x1000), apic - G - 0x1000, rwx)
            .map_err(|e| fail("map", e))?;
        t.map_region(
            g(apic + 0x1000),
            h(apic + 0x1000),
            (4u64 << 30) - apic - 0x1000,
            rwx,
        )
        .map_err(|e| fail("map", e))?;
    }
    Ok(ept::Ept::new(t))
}

/// One run with the AP waiting as `wait` asks; checks the counts and exits.
fn one_run(env: &mut Env, wait: ApWait, misc_wfs: bool) -> Outcome {
    let frame = require!(env.alloc_frame().ok_or("no frame"), "frame");
    setup!(fill_blob(frame));
    let ept = setup!(build_ept(frame));
    let sh = Shared {
        irr: [AtomicU32::new(0), AtomicU32::new(0)],
        ap_wait: AtomicU32::new(0),
        ap_in_wfs: AtomicBool::new(false),
        sipi: AtomicU32::new(0),
        inits: AtomicU32::new(0),
        abort: AtomicBool::new(false),
    };
    let (remote, local) = require!(
        smp::run_pair(
            1,
            || ap_side(&ept, &sh, frame, wait),
            || bsp_side(&ept, &sh, frame)
        ),
        "run_pair"
    );
    let remote = remote
        .map_err(|f| format!("AP closure: {f}"))
        .and_then(|r| r);
    let local = local
        .map_err(|f| format!("BSP closure: {f}"))
        .and_then(|r| r);
    let ((ap, chosen, ap_rax, vector), (bsp, bsp_rax)) = match (remote, local) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Ok(_)) => return Outcome::Fail(format!("AP side: {a}")),
        (Ok(_), Err(b)) => return Outcome::Fail(format!("BSP side: {b}")),
        (Err(a), Err(b)) => return Outcome::Fail(format!("AP side: {a}; BSP side: {b}")),
    };
    let expect = if wait == ApWait::Hardware && misc_wfs {
        ApWait::Hardware
    } else {
        ApWait::Host
    };
    check_eq!(chosen, expect);
    check_eq!(vector, SIPI_VECTOR);
    check_eq!(ap_rax & 0xFFFF_FFFF, 0x5351);
    check_eq!(bsp_rax & 0xFFFF_FFFF, 0x5350);
    // SAFETY: the blob frame is ours; both guests have stopped.
    let count = |o: usize| unsafe { ((frame + o as u64) as *const u32).read_volatile() };
    check_eq!(count(CNT_BSP), ROUNDS);
    check_eq!(count(CNT_AP), ROUNDS);
    check_eq!(count(AP_ALIVE), 1);
    check_eq!(ap.sipi_exits, u32::from(chosen == ApWait::Hardware));
    check_eq!(ap.init_exits, 0);
    check_eq!(bsp.init_exits, 0);
    check_eq!(bsp.sipi_exits, 0);
    // Only the AP's processor went through wait-for-SIPI (see `clear_smi_blocking`).
    check_eq!(bsp.smi_cleared, 0);
    if ap.smi_cleared != 0 {
        baremetal::println!(
            "smp_guest_init_sipi_ipi ({wait:?}): {} VM exits of the AP saved blocking by SMI \
             outside SMM (Bochs 2.7 after a SIPI exit; SDM Vol. 3C 28.3.4 says 0): cleared",
            ap.smi_cleared
        );
    }
    check_eq!(sh.inits.load(Ordering::SeqCst), 1);
    // BSP: ICR high + INIT, two SIPIs, then high + low per round; AP: high + low per IPI.
    check_eq!(bsp.icr_writes, 4 + 2 * ROUNDS);
    check_eq!(ap.icr_writes, 2 * ROUNDS);
    check_eq!(ap.injected, ROUNDS);
    check_eq!(bsp.injected, ROUNDS);
    drop(ept);
    require!(env.free_frame(frame), "free frame");
    Outcome::Pass
}

/// The scenario: with the AP waiting on the host (the fallback), then in hardware (where
/// the model has wait-for-SIPI; else the fallback again). Every wait, in the guests and on
/// the host, is bounded and fails naming what did not happen.
pub fn init_sipi_ipi(env: &mut Env) -> Outcome {
    setup!(super::two_cpus());
    let cpu = setup!(enable());
    let caps = cpu.capabilities();
    let ug = caps.has_unrestricted_guest() && caps.has_ept();
    let misc_wfs = caps.misc().0 & (1 << 8) != 0;
    require!(cpu.disable(), "disable");
    if !ug {
        return Outcome::Skip(
            "unrestricted guest (with EPT) not supported by this model: the AP's SIPI start \
             is real mode"
                .into(),
        );
    }
    let prev = baremetal::set_interrupt_handler(KICK, Some(kick_handler));
    // The host fallback first: under Bochs 2.7 the AP's processor keeps SMI (and NMI)
    // masked after a SIPI VM exit (see `clear_smi_blocking`), for good.
    let host = one_run(env, ApWait::Host, misc_wfs);
    let hw = one_run(env, ApWait::Hardware, misc_wfs);
    baremetal::set_interrupt_handler(KICK, prev);
    let hw_name = if misc_wfs {
        "wait-for-SIPI"
    } else {
        "wait-for-SIPI asked (host fallback chosen)"
    };
    match (host, hw) {
        (Outcome::Pass, Outcome::Pass) => Outcome::Pass,
        (Outcome::Fail(a), Outcome::Fail(b)) => {
            Outcome::Fail(format!("host fallback: {a}; {hw_name}: {b}"))
        }
        (Outcome::Pass, o) => prefix(hw_name, o),
        (o, _) => prefix("host fallback", o),
    }
}

fn prefix(what: &str, o: Outcome) -> Outcome {
    match o {
        Outcome::Fail(m) => Outcome::Fail(format!("{what}: {m}")),
        other => other,
    }
}
