//! Scenarios for APIC virtualization in `vmx-vcpu` (SDM Vol. 3C ch. 30): TPR shadow and the
//! TPR threshold, APIC-access exits, APIC-register virtualization, virtual-interrupt
//! delivery with EOI virtualization, x2APIC virtualization and posted interrupts. Each
//! asserts the exact exits and the guest-visible state; a model without a feature skips
//! with the capability it lacks.

use alloc::format;
use core::arch::global_asm;

use baremetal::cpu;
use vmx_defs::addr::GuestPhysAddr;
use vmx_defs::controls::{PinBasedControls, SecondaryProcBasedControls};
use vmx_defs::qualification::ApicAccessType;
use vmx_vcpu::apic::{
    ApicVirtualization, GuestInterruptStatus, PostedInterruptDescriptorPage, page,
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

/// Posted interrupts (SDM Vol. 3C §30.6): a sender posts to the descriptor (PIR, ON, one
/// notification through the host callback); the requests reach the guest's virtual APIC.
/// Bochs 2.7 does not process posted interrupts (no "process posted interrupts" in
/// IA32_VMX_PINBASED_CTLS): the scenario skips there.
fn posted_interrupts(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    if !c
        .capabilities()
        .pin_based()
        .can_be_one(PinBasedControls::PROCESS_POSTED_INTERRUPTS)
    {
        skip!(
            "no posted-interrupt processing on this model (Bochs 2.7 does not process posted interrupts)"
        );
    }
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
    let descriptor = require!(
        PostedInterruptDescriptorPage::new(c.host(), 0xF2, 0),
        "PostedInterruptDescriptorPage::new"
    );
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
    require!(
        v.attach_posted_interrupts(&descriptor),
        "attach_posted_interrupts"
    );
    let notified = core::sync::atomic::AtomicU32::new(0);
    let notify = |_: u32, vector: u8| {
        notified.store(u32::from(vector), core::sync::atomic::Ordering::SeqCst);
    };
    let sender = descriptor.sender(&notify);
    require!(sender.post(0x40), "post");
    require!(sender.post(0x40), "post");
    check_eq!(notified.load(core::sync::atomic::Ordering::SeqCst), 0xF2);
    check!(descriptor.read().requested(0x40), "PIR bit not set");
    check_eq!(
        require!(v.sync_posted_interrupts(), "sync_posted_interrupts"),
        1
    );
    check!(
        !descriptor.read().outstanding_notification(),
        "ON still set"
    );
    let r = setup!(expect_vmcall(&mut v));
    check_eq!(r.r14, 0x40);
    Outcome::Pass
}
