//! Set-up shared by the `vcpu` and `ept` areas: entering VMX operation on the kernel's
//! host, and a 64-bit guest that runs kernel code on the kernel's own page tables and GDT.

use alloc::format;

use baremetal::cpu;
use vmx_vcpu::guest::{DescriptorTableRegister, GuestState, Segment};
use vmx_vcpu::{VmxCpu, VmxError};

use crate::env::{Env, Outcome};
use crate::hosts::KernelHost;

/// The processor in VMX operation, on the kernel's host.
pub type Cpu = VmxCpu<KernelHost>;

/// An empty IDT (base 0, limit 0), for guests that take no events.
pub const NO_IDT: DescriptorTableRegister = DescriptorTableRegister { base: 0, limit: 0 };

/// Enters VMX operation with [`VmxCpu::enable`]; skips where the model has no VMX.
pub fn enable() -> Result<Cpu, Outcome> {
    // SAFETY: CPL 0, one CPU, no other VMX user (the runner left VMX operation).
    match unsafe { VmxCpu::enable(KernelHost) } {
        Ok(c) => Ok(c),
        Err(VmxError::NoVmxSupport) => Err(Outcome::Skip("no VMX".into())),
        Err(e) => Err(Outcome::Fail(format!("VmxCpu::enable: {e}"))),
    }
}

/// A 64-bit guest on the kernel's page tables and GDT, entering at `entry` with a fresh
/// 16-KiB stack, RFLAGS `rflags` and IDT `idt`. CR0, EFER and the segment selectors are
/// the kernel's; CR4 is the kernel's without VMXE (bit 13): the guest does not use VMX.
pub fn long_mode_guest(
    env: &mut Env,
    entry: unsafe extern "C" fn(),
    rflags: u64,
    idt: DescriptorTableRegister,
) -> Result<GuestState, Outcome> {
    let stack = env
        .alloc_frames(4, 4096)
        .ok()
        .flatten()
        .ok_or_else(|| Outcome::Fail("no stack frames".into()))?;
    let sel = cpu::selectors();
    let gdtr = cpu::sgdt();
    let tr_base =
        cpu::gdt_descriptor_base(sel.tr).ok_or_else(|| Outcome::Fail("TR not in GDT".into()))?;
    let mut g = GuestState::long_mode(
        cpu::read_cr3(),
        entry as *const () as u64,
        stack + 4 * 4096,
        Segment::tss(sel.tr, tr_base, 0x67),
        DescriptorTableRegister {
            base: gdtr.base,
            limit: gdtr.limit,
        },
        idt,
    );
    g.cs = Segment::code64(sel.cs);
    g.ss = Segment::data(sel.ss);
    g.ds = Segment::data(sel.ds);
    g.es = Segment::data(sel.es);
    g.cr0 = cpu::read_cr0();
    g.cr4 = cpu::read_cr4() & !(1 << 13);
    // SAFETY: IA32_EFER exists on every 64-bit processor.
    g.efer = unsafe { cpu::rdmsr(0xC000_0080) };
    g.rflags = rflags;
    Ok(g)
}
