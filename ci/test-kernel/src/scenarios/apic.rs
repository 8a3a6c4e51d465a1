//! Scenarios for APIC virtualization in `vmx-vcpu` (SDM Vol. 3C ch. 30): TPR shadow and the
//! TPR threshold, APIC-access exits, APIC-register virtualization, virtual-interrupt
//! delivery with EOI virtualization, x2APIC virtualization and posted interrupts (a real
//! notification IPI through the host's local APIC, processed by the processor in VMX
//! non-root operation, from this processor and from another one). Each asserts the exact
//! exits and the guest-visible state; a model without a feature skips with the capability
//! it lacks.

use alloc::format;
use alloc::string::String;
use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, Ordering};

use baremetal::{InterruptFrame, cpu, set_interrupt_handler, smp};
use vmx_defs::addr::GuestPhysAddr;
use vmx_defs::controls::{PinBasedControls, SecondaryProcBasedControls};
use vmx_defs::posted_interrupt::PostedInterruptDescriptor;
use vmx_defs::qualification::ApicAccessType;
use vmx_vcpu::apic::{
    ApicVirtualization, GuestInterruptStatus, PostOutcome, PostedInterruptDescriptorPage, page,
};
use vmx_vcpu::guest::DescriptorTableRegister;
use vmx_vcpu::{Vcpu, VcpuConfig, VmExit, VmxVcpu};

use crate::env::{Env, Outcome, Scenario};
use crate::hosts::KernelHost;
use crate::{check, check_eq, require, setup, skip};

use super::vmx_setup::{Cpu, NO_IDT, enable, long_mode_guest};

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "apic_tpr_shadow_threshold",
        run: tpr_shadow_threshold,
    },
    Scenario {
        name: "apic_access_exits",
        run: access_exits,
    },
    Scenario {
        name: "apic_register_virtualization",
        run: register_virtualization,
    },
    Scenario {
        name: "apic_virtual_interrupt_delivery",
        run: virtual_interrupt_delivery,
    },
    Scenario {
        name: "apic_x2apic_virtualization",
        run: x2apic_virtualization,
    },
    Scenario {
        name: "apic_posted_interrupts",
        run: posted_interrupts,
    },
    Scenario {
        name: "apic_posted_interrupts_smp",
        run: posted_interrupts_smp,
    },
];

global_asm!(
    ".pushsection .text.apic_guests,\"ax\",@progbits",
    ".code64",
    // CR8 through the TPR shadow: read (VMCALL), write 6 (VMCALL), write 3 (below the
    // threshold 4: exit 43 after the write), read back (VMCALL).
    ".global apic_guest_tpr",
    "apic_guest_tpr:",
    "mov rax, cr8",
    "vmcall",
    "mov rcx, 6",
    "mov cr8, rcx",
    "vmcall",
    "mov rcx, 3",
    "mov cr8, rcx",
    "mov rax, cr8",
    "vmcall",
    "ud2",
    // APIC-access page at RBX: TPR read (virtualized), VMCALL; version read (exit 44),
    // VMCALL; timer initial-count write (exit 44), VMCALL; TPR write 0x50 (virtualized),
    // VMCALL.
    ".global apic_guest_access",
    "apic_guest_access:",
    "mov eax, [rbx + 0x80]",
    "vmcall",
    "mov eax, [rbx + 0x30]",
    "vmcall",
    "mov dword ptr [rbx + 0x380], 0x77",
    "vmcall",
    "mov dword ptr [rbx + 0x80], 0x50",
    "vmcall",
    "ud2",
    // APIC-register virtualization, page at RBX: ID read (virtualized), VMCALL; LVT timer
    // write 0x10031 (APIC-write exit 56 after it), current-count read (exit 44), VMCALL.
    ".global apic_guest_regs",
    "apic_guest_regs:",
    "mov eax, [rbx + 0x20]",
    "vmcall",
    "mov dword ptr [rbx + 0x320], 0x10031",
    "mov eax, [rbx + 0x390]",
    "vmcall",
    "ud2",
    // Virtual-interrupt delivery: STI; NOP (the interrupt arrives after it); VMCALL; NOP;
    // VMCALL.
    ".global apic_guest_vid",
    "apic_guest_vid:",
    "sti",
    "nop",
    "vmcall",
    "nop",
    "vmcall",
    "ud2",
    // Handlers: R14 = 0x40 / R13 = 0x41, EOI through the APIC-access page at RBX, IRETQ.
    ".global apic_guest_handler_40",
    "apic_guest_handler_40:",
    "mov r14, 0x40",
    "mov dword ptr [rbx + 0xb0], 0",
    "iretq",
    ".global apic_guest_handler_41",
    "apic_guest_handler_41:",
    "mov r13, 0x41",
    "mov dword ptr [rbx + 0xb0], 0",
    "iretq",
    // x2APIC: RDMSR 808H (VTPR), VMCALL; WRMSR 808H = 0x60, VMCALL; RDMSR 802H (ID),
    // VMCALL.
    ".global apic_guest_x2apic",
    "apic_guest_x2apic:",
    "mov ecx, 0x808",
    "rdmsr",
    "vmcall",
    "mov ecx, 0x808",
    "mov eax, 0x60",
    "xor edx, edx",
    "wrmsr",
    "vmcall",
    "mov ecx, 0x802",
    "rdmsr",
    "vmcall",
    "ud2",
    // Posted interrupts, one processor: STI; three NOPs (see `posted_interrupts` for why
    // three); VMCALL; then NOP; VMCALL twice.
    ".global apic_guest_posted",
    "apic_guest_posted:",
    "sti",
    "nop",
    "nop",
    "nop",
    "vmcall",
    "nop",
    "vmcall",
    "nop",
    "vmcall",
    "ud2",
    // Posted interrupts, two processors: STI; store 1 at [RDI] (the guest runs); spin until
    // a handler counted (R12 != 0) or RCX rounds passed; VMCALL.
    ".global apic_guest_posted_wait",
    "apic_guest_posted_wait:",
    "sti",
    "mov dword ptr [rdi], 1",
    "2:",
    "test r12, r12",
    "jnz 3f",
    "pause",
    "dec rcx",
    "jnz 2b",
    "3:",
    "vmcall",
    "ud2",
    // Counting handlers: R12 += 1 for 0x50, R13 += 1 for 0x51; each shifts its vector into
    // R14 (the delivery order), EOI through the APIC-access page at RBX, IRETQ.
    ".global apic_guest_count_50",
    "apic_guest_count_50:",
    "inc r12",
    "shl r14, 8",
    "or r14, 0x50",
    "mov dword ptr [rbx + 0xb0], 0",
    "iretq",
    ".global apic_guest_count_51",
    "apic_guest_count_51:",
    "inc r13",
    "shl r14, 8",
    "or r14, 0x51",
    "mov dword ptr [rbx + 0xb0], 0",
    "iretq",
    ".popsection",
);

unsafe extern "C" {
    fn apic_guest_tpr();
    fn apic_guest_access();
    fn apic_guest_regs();
    fn apic_guest_vid();
    fn apic_guest_handler_40();
    fn apic_guest_handler_41();
    fn apic_guest_x2apic();
    fn apic_guest_posted();
    fn apic_guest_posted_wait();
    fn apic_guest_count_50();
    fn apic_guest_count_51();
}

fn addr(f: unsafe extern "C" fn()) -> u64 {
    f as *const () as u64
}

fn config(
    env: &mut Env,
    entry: unsafe extern "C" fn(),
    apic: ApicVirtualization,
) -> Result<VcpuConfig, Outcome> {
    let mut c = VcpuConfig::new(long_mode_guest(env, entry, 0x2, NO_IDT)?);
    c.apic = Some(apic);
    Ok(c)
}

fn new_vcpu<'c>(cpu: &'c Cpu, cfg: &VcpuConfig) -> Result<VmxVcpu<'c, KernelHost>, Outcome> {
    // SAFETY: the guests are the kernel's own test code on its page tables, trusted like the
    // kernel: the scenario accepts that they share its memory. The vCPU is dropped before
    // the scenario ends.
    unsafe { VmxVcpu::new_on_host_memory(cpu, cfg) }
        .map_err(|e| Outcome::Fail(format!("VmxVcpu::new_on_host_memory: {e}")))
}

fn run(v: &mut Vcpu<'_, KernelHost>) -> Result<VmExit, Outcome> {
    v.run().map_err(|e| Outcome::Fail(format!("run: {e}")))
}

/// Runs and expects a VMCALL; returns the guest registers then and advances RIP.
fn expect_vmcall(v: &mut Vcpu<'_, KernelHost>) -> Result<vmx_vcpu::regs::GuestRegisters, Outcome> {
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

fn secondary(cpu: &Cpu, bit: SecondaryProcBasedControls, name: &str) -> Result<(), Outcome> {
    let caps = cpu.capabilities();
    if caps.has_secondary_controls() && caps.secondary_proc().can_be_one(bit) {
        Ok(())
    } else {
        Err(Outcome::Skip(format!(
            "no {name} on this model (IA32_VMX_PROCBASED_CTLS2)"
        )))
    }
}

fn with_access() -> ApicVirtualization {
    let mut a = ApicVirtualization::tpr_shadow();
    // Without EPT the guest reaches the page through its linear address; the
    // guest-physical address only matters for an EPT mapping.
    a.apic_access = Some(GuestPhysAddr::new(0xFEE0_0000));
    a
}

/// TPR shadow (SDM Vol. 3C §30.3, §30.1.2): MOV from/to CR8 use VTPR without exiting; a
/// write that takes VTPR[7:4] below the threshold exits (43) after the write; VM entry
/// refuses a threshold above VTPR[7:4], so the vCPU refuses to set one.
fn tpr_shadow_threshold(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    if !c
        .capabilities()
        .primary_proc()
        .can_be_one(vmx_defs::controls::PrimaryProcBasedControls::USE_TPR_SHADOW)
    {
        skip!("no TPR shadow on this model");
    }
    let cfg = setup!(config(
        env,
        apic_guest_tpr,
        ApicVirtualization::tpr_shadow()
    ));
    let mut v = setup!(new_vcpu(&c, &cfg));
    check!(
        matches!(
            v.set_tpr_threshold(4),
            Err(vmx_vcpu::VmxError::Apic(
                vmx_vcpu::apic::ApicError::ThresholdAboveVtpr {
                    threshold: 4,
                    vtpr_class: 0
                }
            ))
        ),
        "threshold above VTPR accepted"
    );
    v.set_virtual_tpr(5);
    check_eq!(require!(v.apic_register(page::TPR), "apic_register"), 0x50);
    require!(v.set_tpr_threshold(4), "set_tpr_threshold");
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax, 5);
    let _ = setup!(expect_vmcall(&mut v));
    check_eq!(v.virtual_tpr(), 6);
    check_eq!(require!(v.apic_register(page::TPR), "apic_register"), 0x60);
    let e = setup!(run(&mut v));
    check_eq!(e, VmExit::TprBelowThreshold);
    check_eq!(v.virtual_tpr(), 3);
    // Trap-like: RIP is past the MOV to CR8; the host lowers the threshold and resumes.
    check!(
        v.advance_rip().is_err(),
        "advance_rip accepted after a trap-like exit"
    );
    require!(v.set_tpr_threshold(3), "set_tpr_threshold");
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax, 3);
    Outcome::Pass
}

/// Virtualize APIC accesses (SDM Vol. 3C §30.4) without APIC-register virtualization: the
/// TPR (080H) is read and written through the virtual-APIC page; other reads and writes
/// exit (44) with their offset and access type, and complete_apic_access skips them.
fn access_exits(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(secondary(
        &c,
        SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES,
        "virtualize APIC accesses"
    ));
    let cfg = setup!(config(env, apic_guest_access, with_access()));
    let mut v = setup!(new_vcpu(&c, &cfg));
    let page = require!(v.apic_access_page().ok_or("no page"), "apic_access_page").as_u64();
    check!(
        page != 0 && page % 4096 == 0,
        "APIC-access page at {page:#x}"
    );
    v.regs_mut().rbx = page;
    v.set_virtual_tpr(2);
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax & 0xFFFF_FFFF, 0x20);
    match setup!(run(&mut v)) {
        VmExit::ApicAccess(a) => {
            check_eq!(a.access, ApicAccessType::LinearRead);
            check_eq!(a.offset, Some(0x30));
            check!(a.by_instruction);
        }
        other => skip_or_fail_unexpected!(other),
    }
    v.regs_mut().rax = 0x1234;
    require!(v.complete_apic_access(), "complete_apic_access");
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax, 0x1234);
    match setup!(run(&mut v)) {
        VmExit::ApicAccess(a) => {
            check_eq!(a.access, ApicAccessType::LinearWrite);
            check_eq!(a.offset, Some(0x380));
        }
        other => skip_or_fail_unexpected!(other),
    }
    require!(v.complete_apic_access(), "complete_apic_access");
    check!(v.complete_apic_access().is_err(), "completed twice");
    let _ = setup!(expect_vmcall(&mut v));
    let _ = setup!(expect_vmcall(&mut v));
    check_eq!(v.virtual_tpr(), 5);
    check_eq!(require!(v.apic_register(page::TPR), "apic_register"), 0x50);
    Outcome::Pass
}

/// The exit did not come: a failure naming it.
macro_rules! skip_or_fail_unexpected {
    ($e:expr) => {
        return Outcome::Fail(format!("unexpected exit {:?}", $e))
    };
}
use skip_or_fail_unexpected;

/// APIC-register virtualization (SDM Vol. 3C §30.4.2, §30.4.3): the guest reads the
/// virtual APIC ID without exiting; a write to the LVT timer is done in the page and then
/// exits (56, trap-like, with the offset); the current count still exits (44).
fn register_virtualization(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(secondary(
        &c,
        SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES,
        "virtualize APIC accesses"
    ));
    setup!(secondary(
        &c,
        SecondaryProcBasedControls::APIC_REGISTER_VIRTUALIZATION,
        "APIC-register virtualization"
    ));
    let mut a = with_access();
    a.register_virtualization = true;
    let cfg = setup!(config(env, apic_guest_regs, a));
    let mut v = setup!(new_vcpu(&c, &cfg));
    v.regs_mut().rbx = require!(v.apic_access_page().ok_or("no page"), "apic_access_page").as_u64();
    require!(
        v.set_apic_register(page::ID, 0x0300_0000),
        "set_apic_register"
    );
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax & 0xFFFF_FFFF, 0x0300_0000);
    check_eq!(setup!(run(&mut v)), VmExit::ApicWrite { offset: 0x320 });
    check_eq!(
        require!(v.apic_register(page::LVT_TIMER), "apic_register"),
        0x10031
    );
    match setup!(run(&mut v)) {
        VmExit::ApicAccess(a) => {
            check_eq!(a.access, ApicAccessType::LinearRead);
            check_eq!(a.offset, Some(0x390));
        }
        other => skip_or_fail_unexpected!(other),
    }
    v.regs_mut().rax = 0;
    require!(v.complete_apic_access(), "complete_apic_access");
    let _ = setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

fn set_gate(idt: u64, vector: u64, handler: u64) {
    let cs = u64::from(cpu::selectors().cs);
    let low = (handler & 0xFFFF)
        | (cs << 16)
        | (0xE << 40)
        | (1 << 47)
        | (((handler >> 16) & 0xFFFF) << 48);
    let e = (idt + vector * 16) as *mut u64;
    // SAFETY: `idt` is a frame this scenario owns; vector < 256 keeps it in the frame.
    unsafe {
        e.write_volatile(low);
        e.add(1).write_volatile(handler >> 32);
    }
}

/// Virtual-interrupt delivery (SDM Vol. 3C §30.2, §30.1.4): a posted virtual interrupt is
/// delivered through the guest's IDT without an exit once the guest sets IF; its EOI is
/// virtualized without exit (VISR, SVI, RVI back to 0); with the vector's EOI-exit bit set
/// the EOI exits (45) with the vector.
fn virtual_interrupt_delivery(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(secondary(
        &c,
        SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES,
        "virtualize APIC accesses"
    ));
    setup!(secondary(
        &c,
        SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY,
        "virtual-interrupt delivery"
    ));
    let idt = require!(env.alloc_frame().ok_or("no frame"), "IDT frame");
    set_gate(idt, 0x40, addr(apic_guest_handler_40));
    set_gate(idt, 0x41, addr(apic_guest_handler_41));
    let mut a = with_access();
    a.virtual_interrupt_delivery = true;
    let guest = setup!(long_mode_guest(
        env,
        apic_guest_vid,
        0x2,
        DescriptorTableRegister {
            base: idt,
            limit: 4095
        }
    ));
    let mut cfg = VcpuConfig::new(guest);
    cfg.apic = Some(a);
    let mut v = setup!(new_vcpu(&c, &cfg));
    v.regs_mut().rbx = require!(v.apic_access_page().ok_or("no page"), "apic_access_page").as_u64();
    check!(v.post_interrupt(3).is_err(), "vector 3 posted");
    require!(v.post_interrupt(0x40), "post_interrupt");
    check_eq!(
        require!(v.guest_interrupt_status(), "guest_interrupt_status"),
        GuestInterruptStatus { rvi: 0x40, svi: 0 }
    );
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.r14, 0x40);
    check_eq!(
        require!(v.guest_interrupt_status(), "guest_interrupt_status"),
        GuestInterruptStatus { rvi: 0, svi: 0 }
    );
    check_eq!(require!(v.apic_register(0x200 + 0x20), "VIRR"), 0);
    check_eq!(require!(v.apic_register(0x100 + 0x20), "VISR"), 0);
    // With the EOI-exit bit, the EOI exits (trap-like) after VISR is cleared.
    require!(v.set_eoi_exit(0x41, true), "set_eoi_exit");
    require!(v.post_interrupt(0x41), "post_interrupt");
    check_eq!(setup!(run(&mut v)), VmExit::VirtualizedEoi { vector: 0x41 });
    check_eq!(v.regs().r13, 0x41);
    check_eq!(
        require!(v.guest_interrupt_status(), "guest_interrupt_status"),
        GuestInterruptStatus { rvi: 0, svi: 0 }
    );
    let _ = setup!(expect_vmcall(&mut v));
    Outcome::Pass
}

/// Virtualize x2APIC mode (SDM Vol. 3C §30.5): RDMSR/WRMSR of 808H use VTPR without
/// exiting; with APIC-register virtualization RDMSR 802H reads the virtual ID, without it
/// RDMSR 802H stays intercepted by the MSR bitmap (exit 31).
fn x2apic_virtualization(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(secondary(
        &c,
        SecondaryProcBasedControls::VIRTUALIZE_X2APIC_MODE,
        "virtualize x2APIC mode"
    ));
    let caps = c.capabilities();
    let regs = caps
        .secondary_proc()
        .can_be_one(SecondaryProcBasedControls::APIC_REGISTER_VIRTUALIZATION);
    let mut a = ApicVirtualization::tpr_shadow();
    a.x2apic_mode = true;
    a.register_virtualization = regs;
    let cfg = setup!(config(env, apic_guest_x2apic, a));
    let mut v = setup!(new_vcpu(&c, &cfg));
    v.set_virtual_tpr(4);
    require!(v.set_apic_register(page::ID, 7), "set_apic_register");
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.rax & 0xFFFF_FFFF, 0x40);
    let _ = setup!(expect_vmcall(&mut v));
    check_eq!(require!(v.apic_register(page::TPR), "apic_register"), 0x60);
    if regs {
        let r = setup!(expect_vmcall(&mut v));
        check_eq!(r.rax & 0xFFFF_FFFF, 7);
    } else {
        check_eq!(setup!(run(&mut v)), VmExit::Rdmsr { msr: 0x802 });
        require!(v.complete_rdmsr(0), "complete_rdmsr");
        let _ = setup!(expect_vmcall(&mut v));
    }
    Outcome::Pass
}

/// The posted-interrupt notification vector of these scenarios. The kernel never handles
/// it: it arrives while a guest runs, or stays pending (RFLAGS.IF = 0) until the next VM
/// entry; [`drain_host_vectors`] clears what a failed run leaves behind.
const NOTIFICATION_VECTOR: u8 = 0xF2;
/// An ordinary host vector: an external interrupt that exits.
const OTHER_VECTOR: u8 = 0xF3;
/// In-service register of the host's xAPIC (SDM Vol. 3A §12.8.4, Table 12-1).
const HOST_ISR: u32 = 0x100;
/// Interrupt-request register of the host's xAPIC.
const HOST_IRR: u32 = 0x200;

/// Whether `vector`'s bit is set in the host xAPIC's 256-bit register at `base` (eight
/// 32-bit words 16 bytes apart, SDM Vol. 3A Figure 12-20).
fn host_apic_bit(base: u32, vector: u8) -> Result<bool, smp::SmpError> {
    let word = smp::apic_read(base + u32::from(vector / 32) * 0x10)?;
    Ok(word & (1 << (vector % 32)) != 0)
}

/// What the notification callback did: sends, the last NDST and NV, failed sends.
struct Notifier {
    sent: AtomicU32,
    destination: AtomicU32,
    vector: AtomicU32,
    failed: AtomicU32,
}

impl Notifier {
    const fn new() -> Self {
        Self {
            sent: AtomicU32::new(0),
            destination: AtomicU32::new(u32::MAX),
            vector: AtomicU32::new(u32::MAX),
            failed: AtomicU32::new(0),
        }
    }

    /// The host's notification: a fixed IPI with `vector` to the xAPIC ID in NDST\[15:8\]
    /// (SDM Vol. 3C §30.6 for the NDST format, Vol. 3A §12.6.1 for the ICR).
    fn notify(&self, destination: u32, vector: u8) {
        self.destination.store(destination, Ordering::SeqCst);
        self.vector.store(u32::from(vector), Ordering::SeqCst);
        // SAFETY: the target is the processor that runs the vCPU with posted-interrupt
        // processing, with RFLAGS.IF = 0 in VMX root operation: the interrupt is processed
        // in non-root operation, or stays pending until `drain_host_vectors`.
        let r = unsafe {
            smp::send_icr(
                (destination >> 8) as u8,
                smp::icr::FIXED | smp::icr::ASSERT | u32::from(vector),
            )
        };
        if r.is_ok() {
            self.sent.fetch_add(1, Ordering::SeqCst);
        } else {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn sent(&self) -> u32 {
        self.sent.load(Ordering::SeqCst)
    }
}

fn eoi_handler(_: &mut InterruptFrame) {
    smp::apic_eoi();
}

/// Leaves `vectors` neither requested nor in service in this processor's local APIC,
/// whatever a scenario left (a notification never processed would otherwise reach a later
/// scenario's guest as an external-interrupt exit).
fn drain_host_vectors(vectors: &[u8]) {
    let pending = vectors
        .iter()
        .any(|&v| host_apic_bit(HOST_IRR, v) == Ok(true));
    if pending {
        for &v in vectors {
            set_interrupt_handler(v, Some(eoi_handler));
        }
        // SAFETY: every vector that can be pending here has a handler that sends the EOI;
        // the legacy PIC is masked by the runner, and RFLAGS.IF is cleared again at once.
        unsafe { core::arch::asm!("sti", "nop", "nop", "nop", "nop", "cli", options(nomem)) };
        for &v in vectors {
            set_interrupt_handler(v, None);
        }
    }
    for &v in vectors {
        for _ in 0..4 {
            if host_apic_bit(HOST_ISR, v) == Ok(true) {
                smp::apic_eoi();
            }
        }
    }
}

/// Posted-interrupt processing with virtual-interrupt delivery and the APIC-access page
/// (SDM Vol. 3C §27.2.1.1: "process posted interrupts" needs virtual-interrupt delivery).
fn posted_capable(c: &Cpu) -> Result<(), Outcome> {
    if !c
        .capabilities()
        .pin_based()
        .can_be_one(PinBasedControls::PROCESS_POSTED_INTERRUPTS)
    {
        return Err(Outcome::Skip(String::from(
            "no posted-interrupt processing on this model (Bochs 2.7 does not process posted interrupts)",
        )));
    }
    secondary(
        c,
        SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES,
        "virtualize APIC accesses",
    )?;
    secondary(
        c,
        SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY,
        "virtual-interrupt delivery",
    )?;
    smp::apic_software_enable().map_err(|e| Outcome::Fail(format!("apic_software_enable: {e}")))
}

/// A guest at `entry` with the counting handlers for 0x50 and 0x51 and virtual-interrupt
/// delivery through the APIC-access page.
fn posted_config(env: &mut Env, entry: unsafe extern "C" fn()) -> Result<VcpuConfig, Outcome> {
    let idt = env
        .alloc_frame()
        .ok_or_else(|| Outcome::Fail(String::from("no IDT frame")))?;
    set_gate(idt, 0x50, addr(apic_guest_count_50));
    set_gate(idt, 0x51, addr(apic_guest_count_51));
    let mut a = with_access();
    a.virtual_interrupt_delivery = true;
    let guest = long_mode_guest(
        env,
        entry,
        0x2,
        DescriptorTableRegister {
            base: idt,
            limit: 4095,
        },
    )?;
    let mut cfg = VcpuConfig::new(guest);
    cfg.apic = Some(a);
    Ok(cfg)
}

/// VIRR and VISR words holding vectors 0x40-0x5F (virtual-APIC page, SDM Vol. 3C §30.1.1).
const VIRR_50: u16 = 0x200 + 0x20;
const VISR_50: u16 = 0x100 + 0x20;

/// Posted-interrupt processing by the processor, one processor (SDM Vol. 3C §30.6): with
/// RFLAGS.IF = 0 in VMX root operation, a sender posts 0x50 and 0x51 (one notification: the
/// first post sets ON) and the notification callback sends a self-IPI with the notification
/// vector, which stays pending in the host's IRR. At VM entry the pending interrupt is
/// recognized in non-root operation ("external-interrupt exiting" is 1, so RFLAGS.IF does
/// not block it, §25.6.1 Table 25-5), acknowledged, found to be the notification vector:
/// ON cleared, the host APIC's EOI written, PIR ORed into VIRR and cleared, RVI raised, and
/// the virtual interrupts delivered through the guest's IDT (0x51 first, then 0x50 after its
/// virtual EOI) with no VM exit. Then another vector exits as an external interrupt (vector
/// saved, §28.2.2 with "acknowledge interrupt on exit"), and a post with SN set sends no
/// notification and is moved in software (`sync_posted_interrupts`). Bochs 2.7 does not
/// process posted interrupts: the scenario skips there.
///
/// Bochs 3.0 departs from the SDM in two ways this guest tolerates without relying on
/// them. (1) VM entry loads RFLAGS.IF = 0 without recomputing which interrupts are masked
/// (its `setEFlags` does so only when IF changes, and before it marks the processor as in
/// non-root operation), so the host's RFLAGS.IF = 0 keeps blocking the pending notification
/// until the guest's STI, although Table 25-5 says RFLAGS.IF does not affect interrupt
/// blocking when "external-interrupt exiting" is 1: the SDM has the notification processed
/// before the STI. (2) After posted-interrupt processing at an instruction boundary it
/// executes one more instruction before delivering the virtual interrupt that the
/// evaluation of step 7 made pending (§30.2.2 delivers a recognized virtual interrupt at
/// the next instruction boundary where nothing blocks it; no instruction intervenes). Hence three NOPs after the STI: under the SDM the
/// virtual interrupts are delivered after the first NOP (the STI's blocking ends there);
/// under Bochs the notification is processed there and they are delivered after the second
/// NOP; either way before the VMCALL, with no VM exit.
fn posted_interrupts(env: &mut Env) -> Outcome {
    let out = posted_one_cpu(env);
    drain_host_vectors(&[NOTIFICATION_VECTOR, OTHER_VECTOR]);
    out
}

fn posted_one_cpu(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(posted_capable(&c));
    let me = smp::apic_id();
    let ndst = PostedInterruptDescriptor::xapic_destination(me);
    let descriptor = require!(
        PostedInterruptDescriptorPage::new(c.host(), NOTIFICATION_VECTOR, ndst),
        "PostedInterruptDescriptorPage::new"
    );
    let cfg = setup!(posted_config(env, apic_guest_posted));
    let mut v = setup!(new_vcpu(&c, &cfg));
    v.regs_mut().rbx = require!(v.apic_access_page().ok_or("no page"), "apic_access_page").as_u64();
    require!(
        v.attach_posted_interrupts(&descriptor),
        "attach_posted_interrupts"
    );
    check!(
        cpu::rflags() & (1 << 9) == 0,
        "host RFLAGS.IF set: the self-IPI would be taken by the host"
    );
    let n = Notifier::new();
    let notify = |d: u32, vector: u8| n.notify(d, vector);
    let sender = descriptor.sender(&notify);

    // Posting: one notification, a real self-IPI left pending in the host's IRR.
    check_eq!(
        require!(sender.post(0x50), "post 0x50"),
        PostOutcome::Notify
    );
    check_eq!(
        require!(sender.post(0x51), "post 0x51"),
        PostOutcome::NoNotification
    );
    check_eq!(n.failed.load(Ordering::SeqCst), 0);
    check_eq!(n.sent(), 1);
    check_eq!(n.destination.load(Ordering::SeqCst), ndst);
    check_eq!(
        n.vector.load(Ordering::SeqCst),
        u32::from(NOTIFICATION_VECTOR)
    );
    let d = descriptor.read();
    check!(
        d.requested(0x50) && d.requested(0x51),
        "PIR {:x?} after posting 0x50 and 0x51",
        d.pir()
    );
    check!(d.outstanding_notification(), "ON clear after posting");
    check!(
        require!(host_apic_bit(HOST_IRR, NOTIFICATION_VECTOR), "host IRR"),
        "the notification IPI is not pending in the host's IRR"
    );
    check_eq!(
        require!(v.guest_interrupt_status(), "guest_interrupt_status"),
        GuestInterruptStatus { rvi: 0, svi: 0 }
    );

    // VM entry: processed as a posted interrupt, delivered to the guest, no exit until the
    // guest's first VMCALL.
    let r = setup!(expect_vmcall(&mut v));
    let d = descriptor.read();
    check_eq!(
        (r.r12, r.r13, r.r14, d.outstanding_notification(), d.pir()),
        (1, 1, 0x5150, false, [0u64; 4])
    );
    let d = descriptor.read();
    check!(
        !d.outstanding_notification(),
        "ON still set after processing"
    );
    check_eq!(d.pir(), [0u64; 4]);
    check_eq!(
        require!(v.guest_interrupt_status(), "guest_interrupt_status"),
        GuestInterruptStatus { rvi: 0, svi: 0 }
    );
    check_eq!(require!(v.apic_register(VIRR_50), "VIRR"), 0);
    check_eq!(require!(v.apic_register(VISR_50), "VISR"), 0);
    check!(
        !require!(host_apic_bit(HOST_IRR, NOTIFICATION_VECTOR), "host IRR"),
        "the notification is still requested in the host's IRR"
    );
    check!(
        !require!(host_apic_bit(HOST_ISR, NOTIFICATION_VECTOR), "host ISR"),
        "the notification is still in service in the host's ISR (no EOI by the processor)"
    );

    // Another vector is an ordinary external interrupt: it exits, acknowledged (in service
    // in the host's ISR until the host's EOI).
    // SAFETY: this processor runs the guest with external-interrupt exiting; RFLAGS.IF = 0
    // in root operation, and drain_host_vectors clears the vector if it stays pending.
    let ipi = unsafe {
        smp::send_icr(
            me,
            smp::icr::FIXED | smp::icr::ASSERT | u32::from(OTHER_VECTOR),
        )
    };
    require!(ipi, "self-IPI");
    check_eq!(
        setup!(run(&mut v)),
        VmExit::ExternalInterrupt {
            vector: Some(vmx_defs::exception::ExceptionVector(OTHER_VECTOR))
        }
    );
    check!(
        require!(host_apic_bit(HOST_ISR, OTHER_VECTOR), "host ISR"),
        "the exiting interrupt is not in service (acknowledge interrupt on exit)"
    );
    smp::apic_eoi();
    check!(
        !require!(host_apic_bit(HOST_ISR, OTHER_VECTOR), "host ISR"),
        "EOI left the vector in service"
    );
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.r12, 1);
    check_eq!(r.r14, 0x5150);

    // Suppressed notification: PIR set, no IPI; the host moves it in software.
    descriptor.set_suppress_notification(true);
    check_eq!(
        require!(sender.post(0x50), "post 0x50 with SN"),
        PostOutcome::NoNotification
    );
    check_eq!(n.sent(), 1);
    check!(
        !require!(host_apic_bit(HOST_IRR, NOTIFICATION_VECTOR), "host IRR"),
        "a notification was sent with SN set"
    );
    check_eq!(
        require!(v.sync_posted_interrupts(), "sync_posted_interrupts"),
        1
    );
    descriptor.set_suppress_notification(false);
    let d = descriptor.read();
    check!(!d.outstanding_notification(), "ON set after the sync");
    check_eq!(d.pir(), [0u64; 4]);
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.r12, 2);
    check_eq!(r.r14, 0x51_5050);
    Outcome::Pass
}

/// Set by the two-processor guest once it runs (its first store after STI).
static GUEST_RUNNING: AtomicU32 = AtomicU32::new(0);
/// Rounds the two-processor guest waits for the posted interrupt (about four emulated
/// instructions each).
const GUEST_WAIT_ROUNDS: u64 = 20_000_000;
/// TSC ticks the AP waits for the guest to run (Bochs's TSC counts instructions).
const AP_WAIT_TICKS: u64 = 400_000_000;

/// On the AP: waits until the guest on the boot processor runs, then posts `vector`.
fn post_when_running(
    sender: vmx_vcpu::apic::PostedInterruptSender<'_>,
    vector: u8,
) -> Result<(PostOutcome, u8), String> {
    let start = cpu::rdtsc();
    while GUEST_RUNNING.load(Ordering::Acquire) == 0 {
        if cpu::rdtsc().wrapping_sub(start) > AP_WAIT_TICKS {
            return Err(String::from("the guest never signalled that it runs"));
        }
        core::hint::spin_loop();
    }
    let o = sender.post(vector).map_err(|e| format!("post: {e}"))?;
    Ok((o, smp::apic_id()))
}

/// Posted-interrupt processing with the notification sent by another processor while the
/// guest runs (SDM Vol. 3C §30.6): the guest on the boot processor sets RFLAGS.IF, says it
/// runs and spins; the AP posts 0x50 and sends the notification IPI to the boot processor's
/// NDST; the interrupt arrives in VMX non-root operation and is processed without a VM exit:
/// the guest's handler runs, the guest leaves its loop and its VMCALL is the only exit.
fn posted_interrupts_smp(env: &mut Env) -> Outcome {
    let out = posted_two_cpus(env);
    drain_host_vectors(&[NOTIFICATION_VECTOR]);
    out
}

fn posted_two_cpus(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    setup!(posted_capable(&c));
    match smp::start_aps(2) {
        Ok(_) => {}
        Err(smp::SmpError::TooFewAnswered { running, .. }) => {
            skip!("{running} processor(s) (bochsrc cpu: count): no second processor to post")
        }
        Err(e) => return Outcome::Fail(format!("start_aps(2): {e}")),
    }
    let me = smp::apic_id();
    let ndst = PostedInterruptDescriptor::xapic_destination(me);
    let descriptor = require!(
        PostedInterruptDescriptorPage::new(c.host(), NOTIFICATION_VECTOR, ndst),
        "PostedInterruptDescriptorPage::new"
    );
    let cfg = setup!(posted_config(env, apic_guest_posted_wait));
    let mut v = setup!(new_vcpu(&c, &cfg));
    GUEST_RUNNING.store(0, Ordering::Release);
    {
        let regs = v.regs_mut();
        regs.rdi = &raw const GUEST_RUNNING as u64;
        regs.rcx = GUEST_WAIT_ROUNDS;
    }
    v.regs_mut().rbx = require!(v.apic_access_page().ok_or("no page"), "apic_access_page").as_u64();
    require!(
        v.attach_posted_interrupts(&descriptor),
        "attach_posted_interrupts"
    );
    let n = Notifier::new();
    let notify = |d: u32, vector: u8| n.notify(d, vector);
    let sender = descriptor.sender(&notify);
    let (remote, local) = require!(
        smp::run_pair(1, move || post_when_running(sender, 0x50), || v.run()),
        "run_pair"
    );
    let (posted, ap) = require!(require!(remote, "AP closure"), "AP");
    let exit = require!(require!(local, "BSP closure"), "run");
    check!(ap != me, "the post ran on APIC ID {ap}, the vCPU's own");
    check_eq!(posted, PostOutcome::Notify);
    check_eq!(n.failed.load(Ordering::SeqCst), 0);
    check_eq!(n.sent(), 1);
    check_eq!(n.destination.load(Ordering::SeqCst), ndst);
    check!(
        matches!(exit, VmExit::Vmcall(_)),
        "expected only the guest's VMCALL, got {exit:?}"
    );
    let r = *v.regs();
    check!(
        r.rcx != 0,
        "the guest waited {GUEST_WAIT_ROUNDS} rounds for the interrupt"
    );
    check_eq!(r.r12, 1);
    check_eq!(r.r14, 0x50);
    let d = descriptor.read();
    check!(
        !d.outstanding_notification(),
        "ON still set after processing"
    );
    check_eq!(d.pir(), [0u64; 4]);
    check_eq!(
        require!(v.guest_interrupt_status(), "guest_interrupt_status"),
        GuestInterruptStatus { rvi: 0, svi: 0 }
    );
    check_eq!(require!(v.apic_register(VIRR_50), "VIRR"), 0);
    check!(
        !require!(host_apic_bit(HOST_IRR, NOTIFICATION_VECTOR), "host IRR"),
        "the notification is still requested in the host's IRR"
    );
    check!(
        !require!(host_apic_bit(HOST_ISR, NOTIFICATION_VECTOR), "host ISR"),
        "the notification is still in service in the host's ISR"
    );
    Outcome::Pass
}
