//! The host's extended-state set-up for Linux guests: vmx-vcpu switches the guest's x87,
//! SSE and AVX state only in the way the host has it enabled when a vCPU is created
//! (FXSAVE with CR4.OSFXSR, XSAVE with CR4.OSXSAVE; SDM Vol. 1 §13.1, Vol. 3A §2.5), and
//! refuses a guest CR4 write that enables state it does not switch. Linux enables
//! OSFXSR/OSXMMEXCPT and, where XSAVE exists, OSXSAVE, so the host turns them on first.
//! The hypervisor itself is built for soft float and never touches these registers.

/// CR4.OSFXSR (bit 9), CR4.OSXMMEXCPT (bit 10), CR4.OSXSAVE (bit 18).
const CR4_OSFXSR: u64 = 1 << 9;
const CR4_OSXMMEXCPT: u64 = 1 << 10;
const CR4_OSXSAVE: u64 = 1 << 18;
/// XCR0 components the guest may enable through this host: x87, SSE, AVX (bits 0-2).
const XCR0_X87_SSE_AVX: u64 = 0b111;

/// Enables FXSAVE (and XSAVE with x87/SSE/AVX where the processor has it) on this CPU.
/// Returns the XCR0 set (0 without XSAVE).
pub fn enable() -> u64 {
    let has_xsave = baremetal::cpu::cpuid(1, 0).ecx & (1 << 26) != 0;
    let mut cr4 = baremetal::cpu::read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if has_xsave {
        cr4 |= CR4_OSXSAVE;
    }
    // SAFETY: these CR4 bits only allow the x87/SSE/XSAVE instructions, which this
    // soft-float program does not execute; no other bit changes.
    unsafe { baremetal::cpu::write_cr4(cr4) };
    if !has_xsave {
        return 0;
    }
    let d = baremetal::cpu::cpuid(0xD, 0);
    let supported = (u64::from(d.edx) << 32) | u64::from(d.eax);
    let xcr0 = supported & XCR0_X87_SSE_AVX;
    // SAFETY: CR4.OSXSAVE is 1 and XCR0 holds only supported components including x87 and
    // (with AVX) SSE, a valid combination (SDM Vol. 1 §13.3); the host uses none of them.
    unsafe {
        core::arch::asm!(
            "xsetbv",
            in("ecx") 0u32,
            in("eax") xcr0 as u32,
            in("edx") (xcr0 >> 32) as u32,
            options(nomem, nostack, preserves_flags)
        )
    };
    xcr0
}
