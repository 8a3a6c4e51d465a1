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
//! a mailbox. Either way the AP calls [`Vcpu::start_at_sipi`].
//!
//! A fixed IPI reaches the other vCPU in the richest way the capability MSRs allow
//! ([`Delivery`]), and the guests' handlers EOI through their xAPIC page:
//! - posted interrupts (Bochs 3.0): the sender's processor posts the vector to the target
//!   vCPU's descriptor and sends the notification vector to the target's processor, which
//!   processes it in VMX non-root operation: the target takes no exit for it; its EOI is
//!   virtualized;
//! - virtual-interrupt delivery without posted-interrupt processing (Bochs 2.7
//!   `corei7_icelake_u`): the target's processor is kicked with a host IPI, exits
//!   (external interrupt) and requests the vector in its virtual APIC
//!   ([`Vcpu::post_interrupt`]); the processor delivers it after the entry, and the guest's
//!   EOI is virtualized (no exit);
//! - injection otherwise: the kick's exit injects [`Event::ExternalInterrupt`], and the
//!   guest's EOI exits (the xAPIC page is not in the EPT) and is emulated.
//!
//! With APIC virtualization each vCPU has an EPT of its own that maps the xAPIC base to its
//! APIC-access page; ICR high then exits as an APIC access (44, fault-like, emulated and
//! completed) and ICR low as an APIC write (56, trap-like, the value in the virtual-APIC
//! page), SDM Vol. 3C §30.4.3. Each mode's exits on both sides are counted exactly.
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
use vmx_defs::addr::GuestPhysAddr;
use vmx_defs::controls::{PinBasedControls, PrimaryExitControls};
use vmx_defs::guest_state::Interruptibility;
use vmx_defs::posted_interrupt::PostedInterruptDescriptor;
use vmx_defs::qualification::ApicAccessType;
use vmx_vcpu::apic::{
    ApicVirtualization, GuestInterruptStatus, PostOutcome, PostedInterruptDescriptorPage,
    PostedInterruptSender,
};
use vmx_vcpu::guest::{DescriptorTableRegister, GuestState, PAT_DEFAULT};
use vmx_vcpu::sipi::{ApState, ApWait, CR0_RESET, SipiAction, init_state};
use vmx_vcpu::{Event, Vcpu, VcpuConfig, VmExit, VmxVcpu};

use crate::env::{Env, Outcome};
use crate::hosts::KernelHost;
use crate::{check, check_eq, require, setup};

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
/// The host vector that notifies a processor of posted interrupts (never handled by the
/// kernel while a guest runs: processed in VMX non-root operation).
const NOTIFY: u8 = 0xF1;
/// Guest-physical (and guest-linear: no paging) base of the guests' xAPIC page.
const APIC_GPA: u64 = 0xFEE0_0000;
/// xAPIC register offsets (SDM Vol. 3A §12.4.1 Table 12-1).
const EOI: u16 = 0xB0;
const ICR_LO: u16 = 0x300;
const ICR_HI: u16 = 0x310;
/// Interrupt-request register of the host's xAPIC (SDM Vol. 3A Table 12-1).
const HOST_IRR: u32 = 0x200;
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
    "push eax",
    "lock inc dword ptr [0x9800]",
    // EOI through the xAPIC page (virtualized, or emulated after an EPT violation).
    "xor eax, eax",
    ".byte 0xA3",
    ".long 0xFEE000B0",
    "pop eax",
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
    "xor eax, eax",
    ".byte 0xA3",
    ".long 0xFEE000B0",
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

/// How a fixed IPI between the two vCPUs reaches its target, chosen from the capability
/// MSRs ([`Delivery::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Posted interrupts (SDM Vol. 3C §30.6): the sender's processor sets the vector in the
    /// target vCPU's posted-interrupt descriptor and sends the notification vector to the
    /// target's processor, which processes it in VMX non-root operation (PIR into VIRR, RVI
    /// raised) and delivers the virtual interrupt with no VM exit.
    Posted,
    /// Virtual-interrupt delivery (§30.2) without posted-interrupt processing: a host kick
    /// makes the target exit (external interrupt), its processor requests the vector in
    /// the virtual APIC ([`Vcpu::post_interrupt`]: VIRR, RVI) and the processor delivers
    /// it after the entry; the guest's EOI is virtualized (§30.1.4).
    VirtualInterrupt,
    /// Event injection (SDM Vol. 3C §27.6) after the kick's external-interrupt exit; the
    /// xAPIC page is left out of the EPT and every access is emulated.
    Injection,
}

impl Delivery {
    /// The richest mode the processor offers: virtual-interrupt delivery needs "use TPR
    /// shadow", "virtualize APIC accesses" (the guests' EOI and ICR are xAPIC MMIO) and
    /// "virtual-interrupt delivery" (SDM Vol. 3C §27.2.1.1, Vol. 3D §A.3.2-A.3.3); posted
    /// interrupts also "process posted interrupts" and "acknowledge interrupt on exit"
    /// (§A.3.1, §A.4.1).
    fn of(caps: &vmx_defs::capabilities::VmxCapabilities) -> Self {
        if apic_config().check(caps).is_err() {
            return Self::Injection;
        }
        if caps
            .pin_based()
            .can_be_one(PinBasedControls::PROCESS_POSTED_INTERRUPTS)
            && caps
                .exit()
                .can_be_one(PrimaryExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT)
        {
            Self::Posted
        } else {
            Self::VirtualInterrupt
        }
    }
}

impl Delivery {
    fn describe(self) -> &'static str {
        match self {
            Self::Posted => "posted interrupts (no exit on the target)",
            Self::VirtualInterrupt => {
                "virtual-interrupt delivery (kick exit, post_interrupt, virtual EOI)"
            }
            Self::Injection => "injection (kick exit, event injection, emulated EOI)",
        }
    }
}

/// The APIC virtualization of both vCPUs outside [`Delivery::Injection`]: the APIC-access
/// page at the xAPIC base (writes of EOI virtualized; ICR low written to the virtual-APIC
/// page, then an APIC-write exit; ICR high an APIC-access exit; SDM Vol. 3C §30.4.3) and
/// virtual-interrupt delivery.
fn apic_config() -> ApicVirtualization {
    let mut a = ApicVirtualization::tpr_shadow();
    a.apic_access = Some(GuestPhysAddr::new(APIC_GPA));
    a.virtual_interrupt_delivery = true;
    a
}

/// What the hypervisor shares between the two processors: one mailbox per vCPU (index 0
/// the BSP, 1 the AP; the guest's APIC IDs).
struct Shared<'a> {
    /// How fixed IPIs are delivered.
    mode: Delivery,
    /// [`Delivery::Posted`]: the handles that post to each vCPU's descriptor.
    senders: [Option<PostedInterruptSender<'a>>; 2],
    /// Fixed vectors 0x40-0x5F pending for each vCPU (kick, then inject or post).
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
    /// Vectors requested in this vCPU's virtual APIC by its own processor (`post_interrupt`).
    requested: u32,
    /// Vectors this side posted to the other vCPU's descriptor, and how many of those posts
    /// sent the notification.
    posted: u32,
    notified: u32,
    /// External-interrupt exits: the kick, the notification vector, anything else.
    kicks: u32,
    notify_exits: u32,
    other_interrupts: u32,
    /// Every VM exit of the run.
    exits: u32,
    /// APIC-access exits (44) and APIC-write exits (56) it emulated ICR writes from.
    access_exits: u32,
    write_exits: u32,
    /// EOI writes that exited (emulated: injection only).
    eoi_exits: u32,
    interrupt_windows: u32,
    /// RVI and SVI after the guest's VMCALL (virtual-interrupt delivery only).
    final_status: Option<GuestInterruptStatus>,
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

/// Emulates a write of `value` to the xAPIC register at `offset` by vCPU `me`: ICR high
/// is kept, ICR low sends (a fixed IPI as [`Shared::mode`] says, INIT, SIPI), EOI (only
/// here when it exited: injection, where the hypervisor keeps no in-service state) is
/// counted.
fn apic_write(
    sh: &Shared<'_>,
    icr_high: &mut u32,
    offset: u16,
    value: u32,
    me: usize,
    t: &mut Tally,
) -> Result<(), String> {
    match offset {
        EOI => {
            t.eoi_exits += 1;
            return Ok(());
        }
        ICR_HI => *icr_high = value,
        ICR_LO => {
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
                    fixed_ipi(sh, dest, vector, t)?;
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
        _ => return Err(format!("APIC write at offset {offset:#x}")),
    }
    t.icr_writes += 1;
    Ok(())
}

/// A fixed IPI with `vector` to vCPU `dest`: posted to its descriptor (the sender notifies
/// its processor), or queued and its processor kicked so that it exits (external
/// interrupt, acknowledged on exit) and injects or requests it before the next entry.
fn fixed_ipi(sh: &Shared<'_>, dest: usize, vector: u8, t: &mut Tally) -> Result<(), String> {
    if sh.mode == Delivery::Posted {
        let sender = sh.senders[dest].ok_or("posted mode without a sender")?;
        let o = sender.post(vector).map_err(|e| format!("post: {e}"))?;
        t.posted += 1;
        t.notified += u32::from(o == PostOutcome::Notify);
        return Ok(());
    }
    sh.irr[dest].fetch_or(1 << (vector - 0x40), Ordering::SeqCst);
    // SAFETY: the target processor runs the other vCPU, with external-interrupt exiting
    // (ack on exit), or has KICK's handler installed.
    unsafe { smp::send_ipi(dest, KICK) }.map_err(|e| format!("kick: {e}"))
}

/// The notification callback of the posted-interrupt senders: a fixed IPI with `vector` to
/// the xAPIC ID in NDST\[15:8\] (SDM Vol. 3C §30.6, Vol. 3A §12.6.1); failures counted.
fn notify(failed: &AtomicU32, destination: u32, vector: u8) {
    // SAFETY: the destination runs the vCPU whose descriptor names it, with posted-interrupt
    // processing: the notification is processed in VMX non-root operation, or stays
    // pending (RFLAGS.IF = 0 in VMX root operation) until the next entry processes it, or
    // reaches NOTIFY's handler ([`drain_notification`]).
    let r = unsafe {
        smp::send_icr(
            (destination >> 8) as u8,
            smp::icr::FIXED | smp::icr::ASSERT | u32::from(vector),
        )
    };
    if r.is_err() {
        failed.fetch_add(1, Ordering::SeqCst);
    }
}

/// Takes a notification this processor's local APIC still requests (one no entry
/// processed: a failed run) through NOTIFY's handler, so that no later scenario's guest
/// sees it.
fn drain_notification() {
    let word = smp::apic_read(HOST_IRR + u32::from(NOTIFY / 32) * 0x10).unwrap_or(0);
    if word & (1 << (NOTIFY % 32)) != 0 {
        // SAFETY: NOTIFY and KICK have handlers that send the EOI (installed by
        // `init_sipi_ipi`); RFLAGS.IF is cleared again at once.
        unsafe { core::arch::asm!("sti", "nop", "nop", "cli", options(nomem)) };
    }
}

/// Sends physical SIPIs with `vector` to the AP's processor until its vCPU has left the
/// hardware wait-for-SIPI state (`ap_wait` no longer 1). A SIPI that reaches the processor
/// before it entered the guest (still in VMX root operation) is dropped (SDM Vol. 3C
/// §25.2: SIPIs are blocked in VMX root operation), hence the repetition. Bounded: about
/// 50 tries, 2·10⁶ TSC ticks apart.
fn sipi_until_started(sh: &Shared<'_>, vector: u8) -> Result<(), String> {
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
fn deliver_sipi(sh: &Shared<'_>, vector: u8) -> Result<(), String> {
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
fn release_ap(sh: &Shared<'_>) -> Option<String> {
    sh.abort.store(true, Ordering::SeqCst);
    if sh.ap_wait.load(Ordering::SeqCst) == 1 {
        return sipi_until_started(sh, SIPI_VECTOR).err();
    }
    None
}

/// Spins until `ready` holds, for at most [`HOST_WAIT_TICKS`] TSC ticks; gives up early
/// (saying so) once the other side failed.
fn wait_for_or_abort(sh: &Shared<'_>, ready: impl Fn() -> bool, what: &str) -> Result<(), String> {
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

/// The 32-bit value of the guest's `mov [moffs32], eax` (opcode A3) at RIP that wrote
/// the xAPIC register at `gpa`, the one form the guests use.
fn decoded_write(v: &mut Vcpu<'_, KernelHost>, frame: u64, gpa: u64) -> Result<(u64, u32), String> {
    let rip = v.rip().map_err(|e| format!("rip: {e}"))?;
    if !(G..G + 0xFF0).contains(&rip) {
        return Err(format!("APIC access at {gpa:#x}, RIP {rip:#x}"));
    }
    // SAFETY: the blob frame is ours and identity mapped; RIP is inside it.
    let code = unsafe { ((frame + rip - G) as *const [u8; 5]).read_unaligned() };
    let moffs = u32::from_le_bytes([code[1], code[2], code[3], code[4]]);
    if code[0] != 0xA3 || u64::from(moffs) != gpa {
        return Err(format!("APIC access {code:x?} at {rip:#x}"));
    }
    Ok((rip, v.regs().rax as u32))
}

/// Runs vCPU `me` to its VMCALL, emulating its APIC writes and delivering the IPIs queued
/// for it (inject or request in the virtual APIC; posted ones need nothing from it).
fn run_guest(
    v: &mut Vcpu<'_, KernelHost>,
    sh: &Shared<'_>,
    frame: u64,
    me: usize,
    t: &mut Tally,
) -> Result<u64, String> {
    let mut icr_high = 0u32;
    loop {
        let pending = sh.irr[me].swap(0, Ordering::SeqCst);
        for bit in 0..32 {
            if pending & (1 << bit) == 0 {
                continue;
            }
            if sh.mode == Delivery::VirtualInterrupt {
                v.post_interrupt(0x40 + bit)
                    .map_err(|e| format!("post_interrupt: {e}"))?;
                t.requested += 1;
            } else {
                v.inject(Event::ExternalInterrupt(0x40 + bit))
                    .map_err(|e| format!("inject: {e}"))?;
                t.injected += 1;
            }
        }
        let exit = v.run().map_err(|e| format!("run: {e}"))?;
        if !matches!(exit, VmExit::EntryFailure(_)) {
            clear_smi_blocking(v, t)?;
            t.exits += 1;
        }
        match exit {
            VmExit::ExternalInterrupt { vector } => {
                if vector.is_some() {
                    smp::apic_eoi();
                }
                match vector.map(|v| v.0) {
                    Some(KICK) => t.kicks += 1,
                    Some(NOTIFY) => t.notify_exits += 1,
                    _ => t.other_interrupts += 1,
                }
            }
            VmExit::InterruptWindow => t.interrupt_windows += 1,
            VmExit::EptViolation(e) => {
                if !(APIC_GPA..APIC_GPA + 0x1000).contains(&e.gpa) {
                    return Err(format!("EPT violation at {:#x}", e.gpa));
                }
                let (rip, value) = decoded_write(v, frame, e.gpa)?;
                apic_write(sh, &mut icr_high, (e.gpa - APIC_GPA) as u16, value, me, t)?;
                v.set_rip(rip + 5).map_err(|e| format!("set_rip: {e}"))?;
            }
            VmExit::ApicAccess(a) => {
                let (Some(offset), ApicAccessType::LinearWrite) = (a.offset, a.access) else {
                    return Err(format!("vCPU {me}: APIC access {a:?}"));
                };
                let (_, value) = decoded_write(v, frame, APIC_GPA + u64::from(offset))?;
                t.access_exits += 1;
                apic_write(sh, &mut icr_high, offset, value, me, t)?;
                v.complete_apic_access()
                    .map_err(|e| format!("complete_apic_access: {e}"))?;
            }
            VmExit::ApicWrite { offset } => {
                // Trap-like: the value is in the virtual-APIC page, RIP is past the write.
                let value = v
                    .apic_register(offset)
                    .map_err(|e| format!("apic_register: {e}"))?;
                t.write_exits += 1;
                apic_write(sh, &mut icr_high, offset, value, me, t)?;
            }
            VmExit::Vmcall(_) => {
                if sh.mode != Delivery::Injection {
                    t.final_status = Some(
                        v.guest_interrupt_status()
                            .map_err(|e| format!("guest_interrupt_status: {e}"))?,
                    );
                }
                return guest_end(me, v.regs().rax, frame);
            }
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

/// Creates vCPU `me` with the APIC virtualization of `sh.mode`: the EPT maps the xAPIC
/// base to its APIC-access page (SDM Vol. 3C §30.4.6.1: with EPT an access is an APIC
/// access when its guest-physical address translates to that page, so each vCPU has an EPT
/// of its own), and its posted-interrupt descriptor is attached.
fn new_vcpu<'c>(
    cpu: &'c super::super::vmx_setup::Cpu,
    ept: &'c ept::Ept<KernelHost>,
    mut cfg: VcpuConfig,
    sh: &Shared<'_>,
    descriptor: Option<&'c PostedInterruptDescriptorPage<'static, KernelHost>>,
    me: usize,
) -> Result<VmxVcpu<'c, KernelHost>, String> {
    cfg.acknowledge_interrupt_on_exit = true;
    if sh.mode != Delivery::Injection {
        cfg.apic = Some(apic_config());
    }
    let user = ept.attach().map_err(|e| format!("attach: {e}"))?;
    let mut v = VmxVcpu::new(cpu, user, &cfg).map_err(|e| format!("vCPU {me}: {e}"))?;
    if let Some(page) = v.apic_access_page() {
        let rw = ept::EptAttributes::write_back(ept::EptFlags::READ | ept::EptFlags::WRITE);
        // SAFETY: the page is the vCPU's, alive until `unmap_apic_access` runs before the
        // vCPU drops; the guest reaching it is what APIC virtualization is for.
        unsafe {
            ept.edit().map(
                ept::GuestPhysAddr::new(APIC_GPA),
                ept::HostPhysAddr::new(page.as_u64()),
                ept::PageSize::Size4K,
                rw,
            )
        }
        .map_err(|e| format!("EPT map of the APIC-access page: {e}"))?;
    }
    if sh.mode == Delivery::Posted {
        let d = descriptor.ok_or("posted mode without a descriptor")?;
        v.attach_posted_interrupts(d)
            .map_err(|e| format!("attach_posted_interrupts: {e}"))?;
    }
    Ok(v)
}

/// Takes the APIC-access page out of the EPT (before its vCPU drops it).
fn unmap_apic_access(ept: &ept::Ept<KernelHost>) -> Result<(), String> {
    let mut edit = ept.edit();
    let token = edit
        .unmap(ept::GuestPhysAddr::new(APIC_GPA), 0x1000)
        .map_err(|e| format!("EPT unmap of the APIC-access page: {e}"))?;
    edit.commit(token);
    Ok(())
}

/// The AP's processor: VMX on, the AP vCPU created waiting for a SIPI (`wait`), started by
/// the SIPI (exit 4 or the mailbox), run to its VMCALL. On failure the BSP side is told
/// (`abort`) so that it stops waiting.
fn ap_side(
    ept: &ept::Ept<KernelHost>,
    sh: &Shared<'_>,
    frame: u64,
    wait: ApWait,
    descriptor: Option<&PostedInterruptDescriptorPage<'static, KernelHost>>,
) -> Result<(Tally, ApWait, u64, u8), String> {
    let r = ap_side_inner(ept, sh, frame, wait, descriptor);
    drain_notification();
    if r.is_err() {
        sh.abort.store(true, Ordering::SeqCst);
    }
    r
}

fn ap_side_inner(
    ept: &ept::Ept<KernelHost>,
    sh: &Shared<'_>,
    frame: u64,
    wait: ApWait,
    descriptor: Option<&PostedInterruptDescriptorPage<'static, KernelHost>>,
) -> Result<(Tally, ApWait, u64, u8), String> {
    let cpu = enable().map_err(|o| format!("enable on the AP: {o:?}"))?;
    let cfg = VcpuConfig::new(init_state(CR0_RESET, PAT_DEFAULT));
    let mut v = new_vcpu(&cpu, ept, cfg, sh, descriptor, 1)?;
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
    let rax = run_guest(&mut v, sh, frame, 1, &mut t);
    if v.apic_access_page().is_some() {
        unmap_apic_access(ept)?;
    }
    let rax = rax?;
    drop(v);
    cpu.disable().map_err(|e| format!("disable: {e}"))?;
    Ok((t, chosen, rax, vector))
}

/// The BSP's processor: its vCPU run to its VMCALL; on failure the AP side is released
/// ([`release_ap`]) so that the pair always ends.
fn bsp_side(
    ept: &ept::Ept<KernelHost>,
    sh: &Shared<'_>,
    frame: u64,
    descriptor: Option<&PostedInterruptDescriptorPage<'static, KernelHost>>,
) -> Result<(Tally, u64), String> {
    let r = bsp_side_inner(ept, sh, frame, descriptor);
    drain_notification();
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
    sh: &Shared<'_>,
    frame: u64,
    descriptor: Option<&PostedInterruptDescriptorPage<'static, KernelHost>>,
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
    let mut v = new_vcpu(&cpu, ept, VcpuConfig::new(g), sh, descriptor, 0)?;
    let mut t = Tally::default();
    // The AP's vCPU waits for a SIPI before the BSP's guest sends it anything.
    wait_for_or_abort(
        sh,
        || sh.ap_wait.load(Ordering::SeqCst) != 0,
        "the AP's vCPU to wait for a SIPI",
    )?;
    let rax = run_guest(&mut v, sh, frame, 0, &mut t);
    if v.apic_access_page().is_some() {
        unmap_apic_access(ept)?;
    }
    let rax = rax?;
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
/// xAPIC page (not mapped: accesses exit; with APIC virtualization [`new_vcpu`] maps it to
/// the vCPU's APIC-access page).
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

/// The posted-interrupt descriptor of the vCPU on processor `cpu`, notifications to that
/// processor's xAPIC ID (SDM Vol. 3C §30.6 NDST format).
fn descriptor_for(
    cpu: usize,
) -> Result<PostedInterruptDescriptorPage<'static, KernelHost>, String> {
    let id = smp::apic_id_of(cpu).ok_or("no APIC ID for the processor")?;
    PostedInterruptDescriptorPage::new(
        &KernelHost,
        NOTIFY,
        PostedInterruptDescriptor::xapic_destination(id),
    )
    .map_err(|e| format!("PostedInterruptDescriptorPage::new: {e}"))
}

/// One run with the AP waiting as `wait` asks and IPIs delivered as `mode` says; checks the
/// counts and exits.
fn one_run(env: &mut Env, wait: ApWait, misc_wfs: bool, mode: Delivery) -> Outcome {
    let frame = require!(env.alloc_frame().ok_or("no frame"), "frame");
    setup!(fill_blob(frame));
    // One EPT per vCPU: each maps the xAPIC base to its own vCPU's APIC-access page.
    let ept_bsp = setup!(build_ept(frame));
    let ept_ap = setup!(build_ept(frame));
    let descriptors = if mode == Delivery::Posted {
        [
            Some(require!(descriptor_for(0), "descriptor")),
            Some(require!(descriptor_for(1), "descriptor")),
        ]
    } else {
        [None, None]
    };
    let failed = AtomicU32::new(0);
    let notify_fn = |d: u32, vector: u8| notify(&failed, d, vector);
    let sh = Shared {
        mode,
        senders: [
            descriptors[0].as_ref().map(|d| d.sender(&notify_fn)),
            descriptors[1].as_ref().map(|d| d.sender(&notify_fn)),
        ],
        irr: [AtomicU32::new(0), AtomicU32::new(0)],
        ap_wait: AtomicU32::new(0),
        ap_in_wfs: AtomicBool::new(false),
        sipi: AtomicU32::new(0),
        inits: AtomicU32::new(0),
        abort: AtomicBool::new(false),
    };
    let (d_bsp, d_ap) = (descriptors[0].as_ref(), descriptors[1].as_ref());
    let (remote, local) = require!(
        smp::run_pair(
            1,
            || ap_side(&ept_ap, &sh, frame, wait, d_ap),
            || bsp_side(&ept_bsp, &sh, frame, d_bsp)
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
    if let Err(e) = check_delivery(mode, &bsp, &ap, failed.load(Ordering::SeqCst)) {
        return Outcome::Fail(format!("{mode:?}: {e}"));
    }
    for (who, d) in [("BSP", &descriptors[0]), ("AP", &descriptors[1])] {
        if let Some(d) = d {
            let r = d.read();
            check!(
                !r.outstanding_notification() && r.pir() == [0u64; 4],
                "{who}'s descriptor not processed: {r:?}"
            );
        }
    }
    drop(descriptors);
    drop(ept_ap);
    drop(ept_bsp);
    require!(env.free_frame(frame), "free frame");
    Outcome::Pass
}

/// The exits each side took and what it did for the IPIs it received (`t`, ROUNDS of
/// them) and sent, per delivery mode; `failed` notification sends.
fn check_delivery(mode: Delivery, bsp: &Tally, ap: &Tally, failed: u32) -> Result<(), String> {
    let eq = |what: &str, who: &str, got: u32, want: u32| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{who} {what}: {got}, expected {want}"))
        }
    };
    eq("failed notification sends", "", failed, 0)?;
    // ICR high / ICR low writes: BSP INIT + 2 SIPIs (one high) and a pair per round.
    for (who, t, high, low) in [
        ("BSP", bsp, 1 + ROUNDS, 3 + ROUNDS),
        ("AP", ap, ROUNDS, ROUNDS),
    ] {
        eq("other external interrupts", who, t.other_interrupts, 0)?;
        eq("init exits", who, t.init_exits, 0)?;
        let (kicks, injected, requested, eoi, posted) = match mode {
            Delivery::Posted => (0, 0, 0, 0, ROUNDS),
            Delivery::VirtualInterrupt => (ROUNDS, 0, ROUNDS, 0, 0),
            Delivery::Injection => (ROUNDS, ROUNDS, 0, ROUNDS, 0),
        };
        eq("kick exits", who, t.kicks, kicks)?;
        eq("notification exits", who, t.notify_exits, 0)?;
        eq("injections", who, t.injected, injected)?;
        eq("post_interrupt requests", who, t.requested, requested)?;
        eq("EOI exits", who, t.eoi_exits, eoi)?;
        eq("posts sent", who, t.posted, posted)?;
        eq("notifications sent", who, t.notified, posted)?;
        let (access, write) = if mode == Delivery::Injection {
            (0, 0)
        } else {
            (high, low)
        };
        eq("APIC-access exits", who, t.access_exits, access)?;
        eq("APIC-write exits", who, t.write_exits, write)?;
        // The VMCALL (the AP's SIPI exit comes before `run_guest` counts).
        let vmcall = 1;
        if mode == Delivery::Injection {
            // As before: interrupt-window exits where an injection had to wait.
            eq(
                "exits",
                who,
                t.exits,
                high + low + eoi + kicks + t.interrupt_windows + vmcall,
            )?;
        } else {
            eq("interrupt-window exits", who, t.interrupt_windows, 0)?;
            eq("exits", who, t.exits, high + low + kicks + vmcall)?;
            // Every virtual interrupt delivered and EOIed by the guest (VISR, VIRR empty).
            match t.final_status {
                Some(GuestInterruptStatus { rvi: 0, svi: 0 }) => {}
                s => return Err(format!("{who} guest interrupt status at the end: {s:?}")),
            }
        }
    }
    Ok(())
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
    let mode = Delivery::of(caps);
    require!(cpu.disable(), "disable");
    if !ug {
        return Outcome::Skip(
            "unrestricted guest (with EPT) not supported by this model: the AP's SIPI start \
             is real mode"
                .into(),
        );
    }
    baremetal::println!("smp_guest_init_sipi_ipi: fixed IPIs by {}", mode.describe());
    let prev = baremetal::set_interrupt_handler(KICK, Some(kick_handler));
    let prev_notify = baremetal::set_interrupt_handler(NOTIFY, Some(kick_handler));
    // The host fallback first: under Bochs 2.7 the AP's processor keeps SMI (and NMI)
    // masked after a SIPI VM exit (see `clear_smi_blocking`), for good.
    let host = one_run(env, ApWait::Host, misc_wfs, mode);
    let hw = one_run(env, ApWait::Hardware, misc_wfs, mode);
    baremetal::set_interrupt_handler(NOTIFY, prev_notify);
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
