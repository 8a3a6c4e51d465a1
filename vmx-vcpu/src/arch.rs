//! The few privileged instructions this crate executes besides the VMX ones (CPUID, MSRs,
//! control registers, descriptor tables, XCR0). Private: callers go through `VmxCpu` and
//! `VmxVcpu`.

use core::arch::asm;

/// CPUID result registers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cpuid {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

pub(crate) fn cpuid(leaf: u32, subleaf: u32) -> Cpuid {
    // SAFETY: CPUID is available on every x86-64 processor and only writes registers.
    #[allow(unused_unsafe)]
    let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, subleaf) };
    Cpuid {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// The x2APIC ID of this logical processor (CPUID leaf 0BH, EDX) where CPUID reports
/// that leaf, else the initial APIC ID (CPUID.1:EBX\[31:24\]) (SDM Vol. 3A §11.4.6,
/// §11.12.8; Vol. 2A CPUID).
pub(crate) fn apic_id() -> u32 {
    if cpuid(0, 0).eax >= 0xB {
        let leaf = cpuid(0xB, 0);
        // A leaf 0BH whose level-type field (ECX[15:8]) is 0 is not implemented.
        if leaf.ecx & 0xFF00 != 0 {
            return leaf.edx;
        }
    }
    cpuid(1, 0).ebx >> 24
}

/// RDMSR.
///
/// # Safety
/// CPL 0 and `msr` exists (otherwise #GP).
pub(crate) unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller guarantees CPL 0 and an existing MSR; RDMSR only writes registers.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// WRMSR.
///
/// # Safety
/// CPL 0, `msr` exists and `value` is legal for it, and changing it does not break the
/// host's assumptions.
pub(crate) unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: the caller upholds the contract above.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags));
    }
}

macro_rules! cr_access {
    ($read:ident, $write:ident, $reg:literal) => {
        pub(crate) fn $read() -> u64 {
            let v: u64;
            // SAFETY: reading a control register at CPL 0 has no side effect (this crate
            // runs in the kernel; at CPL 3 it would #GP, which is not memory-unsafe).
            unsafe { asm!(concat!("mov {}, ", $reg), out(reg) v, options(nomem, nostack, preserves_flags)) };
            v
        }

        /// # Safety
        /// The new value must be legal and keep the host's memory model intact.
        pub(crate) unsafe fn $write(v: u64) {
            // SAFETY: the caller upholds the contract above.
            unsafe { asm!(concat!("mov ", $reg, ", {}"), in(reg) v, options(nostack, preserves_flags)) };
        }
    };
}

cr_access!(read_cr0, write_cr0, "cr0");
cr_access!(read_cr4, write_cr4, "cr4");

pub(crate) fn read_cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 at CPL 0 has no side effect.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Segment selectors of the running CPU.
pub(crate) fn selectors() -> [u16; 7] {
    let (cs, ss, ds, es, fs, gs, tr): (u16, u16, u16, u16, u16, u16, u16);
    // SAFETY: reading segment registers and STR only writes registers.
    unsafe {
        asm!(
            "mov {0:x}, cs", "mov {1:x}, ss", "mov {2:x}, ds", "mov {3:x}, es",
            "mov {4:x}, fs", "mov {5:x}, gs", "str {6:x}",
            out(reg) cs, out(reg) ss, out(reg) ds, out(reg) es, out(reg) fs, out(reg) gs, out(reg) tr,
            options(nomem, nostack, preserves_flags)
        );
    }
    [cs, ss, ds, es, fs, gs, tr]
}

/// A descriptor-table register (SGDT/SIDT image).
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
pub(crate) struct DescriptorTable {
    pub limit: u16,
    pub base: u64,
}

pub(crate) fn sgdt() -> DescriptorTable {
    let mut d = DescriptorTable::default();
    // SAFETY: SGDT writes 10 bytes to `d`, which is 10 bytes.
    unsafe { asm!("sgdt [{}]", in(reg) &raw mut d, options(nostack, preserves_flags)) };
    d
}

pub(crate) fn sidt() -> DescriptorTable {
    let mut d = DescriptorTable::default();
    // SAFETY: SIDT writes 10 bytes to `d`, which is 10 bytes.
    unsafe { asm!("sidt [{}]", in(reg) &raw mut d, options(nostack, preserves_flags)) };
    d
}

/// XGETBV(0).
///
/// # Safety
/// CR4.OSXSAVE must be 1 (else #UD).
pub(crate) unsafe fn xgetbv0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller guarantees CR4.OSXSAVE = 1.
    unsafe {
        asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// LGDT/LIDT with a [`DescriptorTable`] image.
///
/// # Safety
/// CPL 0; `d` describes a valid GDT (`lgdt`) or IDT (`lidt`) that stays mapped, whose
/// entries the running code relies on being what they are.
pub(crate) unsafe fn lgdt(d: &DescriptorTable) {
    // SAFETY: the caller upholds the contract; LGDT reads 10 bytes at `d`.
    unsafe { asm!("lgdt [{}]", in(reg) d, options(readonly, nostack, preserves_flags)) };
}

/// LIDT; see [`lgdt`].
///
/// # Safety
/// As for [`lgdt`], for the IDT.
pub(crate) unsafe fn lidt(d: &DescriptorTable) {
    // SAFETY: the caller upholds the contract; LIDT reads 10 bytes at `d`.
    unsafe { asm!("lidt [{}]", in(reg) d, options(readonly, nostack, preserves_flags)) };
}

/// SLDT: the LDTR selector.
pub(crate) fn sldt() -> u16 {
    let v: u16;
    // SAFETY: SLDT only writes a register.
    unsafe { asm!("sldt {0:x}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// LLDT.
///
/// # Safety
/// CPL 0; `selector` is 0 or names an LDT descriptor of the loaded GDT.
pub(crate) unsafe fn lldt(selector: u16) {
    // SAFETY: the caller upholds the contract.
    unsafe { asm!("lldt {0:x}", in(reg) selector, options(nostack, preserves_flags)) };
}

/// LTR (sets the busy bit of the TSS descriptor in the GDT).
///
/// # Safety
/// CPL 0; `selector` names an available 64-bit TSS descriptor of the loaded GDT.
pub(crate) unsafe fn ltr(selector: u16) {
    // SAFETY: the caller upholds the contract; LTR writes the descriptor's busy bit.
    unsafe { asm!("ltr {0:x}", in(reg) selector, options(nostack, preserves_flags)) };
}

/// LSL: the limit of the segment `selector` names, `None` when LSL refuses it (ZF = 0).
pub(crate) fn lsl(selector: u16) -> Option<u32> {
    let limit: u64;
    let ok: u8;
    // SAFETY: LSL only reads the descriptor table and writes registers and ZF.
    unsafe {
        asm!(
            "xor {l:e}, {l:e}",
            "lsl {l}, {s:r}",
            "setz {ok}",
            s = in(reg) u64::from(selector),
            l = out(reg) limit,
            ok = out(reg_byte) ok,
            options(readonly, nostack),
        );
    }
    (ok != 0).then_some(limit as u32)
}

/// MOV from DR7.
pub(crate) fn read_dr7() -> u64 {
    let v: u64;
    // SAFETY: reading DR7 at CPL 0 only writes a register.
    unsafe { asm!("mov {}, dr7", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// MOV to DR7.
///
/// # Safety
/// CPL 0; `v` is the host's own DR7 (valid: bits 63:32 clear), which arms the breakpoints
/// the host set up in DR0-DR3.
pub(crate) unsafe fn write_dr7(v: u64) {
    // SAFETY: the caller upholds the contract.
    unsafe { asm!("mov dr7, {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
}
