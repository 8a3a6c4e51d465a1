//! Thin wrappers over privileged x86-64 instructions (SDM Vol. 2), for the kernel and its
//! scenarios. Each is a single instruction; the `unsafe` ones can fault or change the
//! machine's state and say so in their `# Safety` section.

use core::arch::asm;

/// The four registers CPUID returns (SDM Vol. 2A "CPUID").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuidResult {
    /// EAX output.
    pub eax: u32,
    /// EBX output.
    pub ebx: u32,
    /// ECX output.
    pub ecx: u32,
    /// EDX output.
    pub edx: u32,
}

/// CPUID with the given leaf (EAX) and subleaf (ECX).
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    let (eax, ebx, ecx, edx): (u32, u32, u32, u32);
    // SAFETY: CPUID is available on every x86-64 CPU and only writes the four registers;
    // RBX (reserved by LLVM) is saved and restored around it.
    unsafe {
        asm!("mov {tmp:r}, rbx", "cpuid", "xchg {tmp:r}, rbx", tmp = out(reg) ebx,
             inout("eax") leaf => eax, inout("ecx") subleaf => ecx, out("edx") edx,
             options(nomem, nostack, preserves_flags));
    }
    CpuidResult { eax, ebx, ecx, edx }
}

/// RDMSR (SDM Vol. 2B). Use `baremetal::try_rdmsr` when the MSR may not exist.
///
/// # Safety
/// Raises #GP if `msr` does not exist or CPL != 0; reading some MSRs has side effects.
pub unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller guarantees the MSR exists and may be read.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// WRMSR (SDM Vol. 2B).
///
/// # Safety
/// Raises #GP on a reserved bit, a non-existent or read-only MSR; writing MSRs changes how
/// the CPU behaves (e.g. IA32_EFER).
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: the caller guarantees the write is legal and intended.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack, preserves_flags))
    };
}

macro_rules! read_cr {
    ($(#[$m:meta])* $name:ident, $reg:literal) => {
        $(#[$m])*
        pub fn $name() -> u64 {
            let v: u64;
            // SAFETY: reading a control register at CPL 0 has no side effects.
            unsafe { asm!(concat!("mov {}, ", $reg), out(reg) v, options(nomem, nostack, preserves_flags)) };
            v
        }
    };
}

macro_rules! write_cr {
    ($(#[$m:meta])* $name:ident, $reg:literal) => {
        $(#[$m])*
        ///
        /// # Safety
        /// Raises #GP on reserved or inconsistent bits; changing paging, protection or
        /// VMX-related bits changes how every later instruction executes.
        pub unsafe fn $name(value: u64) {
            // SAFETY: the caller guarantees the new value is legal and intended.
            unsafe { asm!(concat!("mov ", $reg, ", {}"), in(reg) value, options(nostack, preserves_flags)) };
        }
    };
}

read_cr!(/// Reads CR0 (SDM Vol. 3A §2.5).
    read_cr0, "cr0");
read_cr!(/// Reads CR2, the last page-fault linear address (SDM Vol. 3A §2.5).
    read_cr2, "cr2");
read_cr!(/// Reads CR3 (SDM Vol. 3A §2.5).
    read_cr3, "cr3");
read_cr!(/// Reads CR4 (SDM Vol. 3A §2.5).
    read_cr4, "cr4");
write_cr!(/// Writes CR0 (SDM Vol. 3A §2.5).
    write_cr0, "cr0");
write_cr!(/// Writes CR3 (SDM Vol. 3A §2.5).
    write_cr3, "cr3");
write_cr!(/// Writes CR4 (SDM Vol. 3A §2.5).
    write_cr4, "cr4");

/// Reads RFLAGS (SDM Vol. 1 §3.4.3).
pub fn rflags() -> u64 {
    let v: u64;
    // SAFETY: PUSHFQ/POP only touch the stack slot they use.
    unsafe { asm!("pushfq", "pop {}", out(reg) v, options(nomem, preserves_flags)) };
    v
}

/// Clears RFLAGS.IF (CLI).
pub fn cli() {
    // SAFETY: masking maskable interrupts at CPL 0 cannot break memory safety.
    unsafe { asm!("cli", options(nomem, nostack)) };
}

/// Sets RFLAGS.IF (STI).
///
/// # Safety
/// Interrupts are delivered from the next instruction on: every vector that can arrive
/// needs a handler (see [`crate::set_interrupt_handler`]).
pub unsafe fn sti() {
    // SAFETY: the caller guarantees pending interrupts are handled.
    unsafe { asm!("sti", options(nomem, nostack)) };
}

/// HLT: waits for the next interrupt (forever with RFLAGS.IF clear).
pub fn hlt() {
    // SAFETY: HLT at CPL 0 only pauses the CPU.
    unsafe { asm!("hlt", options(nomem, nostack, preserves_flags)) };
}

/// RDTSC (SDM Vol. 2B). Under Bochs the TSC counts emulated instructions.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects (CR4.TSD is clear at CPL 0 anyway).
    unsafe { core::arch::x86_64::_rdtsc() }
}

macro_rules! port_io {
    ($read:ident, $write:ident, $ty:ty, $reg:tt, $unit:literal) => {
        #[doc = concat!("Reads a ", $unit, " from an I/O port (IN, SDM Vol. 2A).")]
        ///
        /// # Safety
        /// Reading some ports has device side effects.
        pub unsafe fn $read(port: u16) -> $ty {
            let v: $ty;
            // SAFETY: the caller guarantees the read is intended; IN writes only the
            // accumulator.
            unsafe {
                asm!(concat!("in ", $reg, ", dx"), in("dx") port, out($reg) v,
                     options(nomem, nostack, preserves_flags))
            };
            v
        }

        #[doc = concat!("Writes a ", $unit, " to an I/O port (OUT, SDM Vol. 2B).")]
        ///
        /// # Safety
        /// Writing ports programs devices.
        pub unsafe fn $write(port: u16, value: $ty) {
            // SAFETY: the caller guarantees the write is intended; OUT changes no register
            // or memory.
            unsafe {
                asm!(concat!("out dx, ", $reg), in("dx") port, in($reg) value,
                     options(nomem, nostack, preserves_flags))
            };
        }
    };
}

port_io!(inb, outb, u8, "al", "byte");
port_io!(inw, outw, u16, "ax", "word");
port_io!(inl, outl, u32, "eax", "doubleword");

/// The current segment selectors and the task register (SDM Vol. 3A §3.4.2, §8.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selectors {
    /// CS.
    pub cs: u16,
    /// SS.
    pub ss: u16,
    /// DS.
    pub ds: u16,
    /// ES.
    pub es: u16,
    /// FS.
    pub fs: u16,
    /// GS.
    pub gs: u16,
    /// TR (STR).
    pub tr: u16,
}

/// Reads every segment selector and TR.
pub fn selectors() -> Selectors {
    let (cs, ss, ds, es, fs, gs, tr): (u16, u16, u16, u16, u16, u16, u16);
    // SAFETY: moving selectors and STR only write the output registers.
    unsafe {
        asm!("mov {0:x}, cs", "mov {1:x}, ss", "mov {2:x}, ds", "mov {3:x}, es",
             "mov {4:x}, fs", "mov {5:x}, gs", "str {6:x}",
             out(reg) cs, out(reg) ss, out(reg) ds, out(reg) es, out(reg) fs, out(reg) gs,
             out(reg) tr, options(nomem, nostack, preserves_flags));
    }
    Selectors {
        cs,
        ss,
        ds,
        es,
        fs,
        gs,
        tr,
    }
}

/// A pseudo-descriptor as stored by SGDT/SIDT (SDM Vol. 3A §3.5.1, Figure 3-11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
pub struct DescriptorTablePointer {
    /// Limit (size in bytes minus one).
    pub limit: u16,
    /// Linear base address.
    pub base: u64,
}

/// SGDT: the current GDTR.
pub fn sgdt() -> DescriptorTablePointer {
    let mut p = DescriptorTablePointer::default();
    // SAFETY: SGDT writes 10 bytes to `p`, which is exactly that big.
    unsafe { asm!("sgdt [{}]", in(reg) &raw mut p, options(nostack, preserves_flags)) };
    p
}

/// SIDT: the current IDTR.
pub fn sidt() -> DescriptorTablePointer {
    let mut p = DescriptorTablePointer::default();
    // SAFETY: SIDT writes 10 bytes to `p`, which is exactly that big.
    unsafe { asm!("sidt [{}]", in(reg) &raw mut p, options(nostack, preserves_flags)) };
    p
}

/// Base address of the segment descriptor that `selector` names in the current GDT,
/// including the upper 32 bits of system descriptors (TSS); `None` for a null, LDT or
/// out-of-limit selector. Useful for the VMCS host TR/GDTR base fields.
pub fn gdt_descriptor_base(selector: u16) -> Option<u64> {
    let gdtr = sgdt();
    let index = usize::from(selector & !7);
    if index == 0 || selector & 4 != 0 || index + 7 > usize::from(gdtr.limit) {
        return None;
    }
    let base_ptr = gdtr.base as usize + index;
    // SAFETY: the GDT lies in identity-mapped memory and `index + 7` is within its limit.
    let low = unsafe { core::ptr::read_unaligned(base_ptr as *const u64) };
    let mut base = ((low >> 16) & 0xFF_FFFF) | (((low >> 56) & 0xFF) << 24);
    let system = (low >> 44) & 1 == 0;
    if system && index + 15 <= usize::from(gdtr.limit) {
        // SAFETY: within the GDT limit checked just above.
        let high = unsafe { core::ptr::read_unaligned((base_ptr + 8) as *const u64) };
        base |= (high & 0xFFFF_FFFF) << 32;
    }
    Some(base)
}
