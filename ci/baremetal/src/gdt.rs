//! The kernel's GDT and TSS (SDM Vol. 3A §3.4.5, §8.2.3 "TSS in 64-bit mode").
//!
//! | selector | descriptor |
//! |---|---|
//! | 0x00 | null |
//! | [`KERNEL_CS`] 0x08 | 64-bit code, DPL 0 |
//! | [`KERNEL_DS`] 0x10 | data, DPL 0 (also SS) |
//! | [`TSS_SELECTOR`] 0x18 | 64-bit available TSS (16-byte descriptor) |
//!
//! The TSS has an IST stack each for #DF ([`IST_DOUBLE_FAULT`]), NMI ([`IST_NMI`]) and #MC
//! ([`IST_MACHINE_CHECK`]); TR is loaded, so it is a valid VMCS host TR (non-null).

use core::arch::asm;
use core::cell::UnsafeCell;

/// Kernel code segment selector.
pub const KERNEL_CS: u16 = 0x08;
/// Kernel data/stack segment selector.
pub const KERNEL_DS: u16 = 0x10;
/// Task-state segment selector.
pub const TSS_SELECTOR: u16 = 0x18;
/// IST index used for #DF.
pub const IST_DOUBLE_FAULT: u8 = 1;
/// IST index used for NMI.
pub const IST_NMI: u8 = 2;
/// IST index used for #MC.
pub const IST_MACHINE_CHECK: u8 = 3;

const IST_STACK_SIZE: usize = 16 * 1024;

/// The 64-bit TSS layout (SDM Vol. 3A Figure 8-11).
#[repr(C, packed(4))]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

#[repr(C, align(16))]
struct IstStacks([[u8; IST_STACK_SIZE]; 3]);

#[repr(C, align(16))]
struct Gdt([u64; GDT_ENTRIES]);

const GDT_ENTRIES: usize = 5;

/// Interior-mutable static storage written once during [`init`].
struct Static<T>(UnsafeCell<T>);
// SAFETY: written only by `init` on the single boot CPU before anything reads it.
unsafe impl<T> Sync for Static<T> {}

static TSS: Static<Tss> = Static(UnsafeCell::new(Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: core::mem::size_of::<Tss>() as u16,
}));
static IST_STACKS: Static<IstStacks> = Static(UnsafeCell::new(IstStacks([[0; IST_STACK_SIZE]; 3])));
static GDT: Static<Gdt> = Static(UnsafeCell::new(Gdt([0; GDT_ENTRIES])));

/// Builds and loads the GDT, reloads every segment register and loads TR.
///
/// # Safety
/// Call once, at boot, on the boot CPU, before interrupts are enabled.
pub unsafe fn init() {
    let stacks = IST_STACKS.0.get() as u64;
    let tss = TSS.0.get();
    // SAFETY: single-threaded boot; nothing else references the TSS yet.
    unsafe {
        for i in 0..3 {
            (*tss).ist[i] = stacks + ((i as u64 + 1) * IST_STACK_SIZE as u64);
        }
    }
    let base = tss as u64;
    let limit = (core::mem::size_of::<Tss>() - 1) as u64;
    let tss_low = (limit & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x89 << 40) // present, DPL 0, type 9 (available 64-bit TSS)
        | (((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    let tss_high = base >> 32;
    let gdt = GDT.0.get();
    // SAFETY: single-threaded boot; the GDT is not loaded yet.
    unsafe {
        (*gdt).0 = [
            0,
            0x00AF_9B00_0000_FFFF, // code: present, DPL 0, L=1, accessed
            0x00CF_9300_0000_FFFF, // data: present, DPL 0, writable, accessed
            tss_low,
            tss_high,
        ];
    }
    // SAFETY: the GDT is built; TR is not loaded yet.
    unsafe { load(true) };
}

/// Loads GDTR with the kernel's GDT, reloads CS (far return), DS/ES/SS with
/// [`KERNEL_DS`], FS/GS with null, and, with `load_tr`, TR with [`TSS_SELECTOR`].
///
/// # Safety
/// The GDT must have been built by [`init`]; loading TR requires its descriptor to be
/// "available" (not busy).
unsafe fn load(load_tr: bool) {
    // SAFETY: forwarded contract; the boot GDT is static.
    unsafe { load_table(GDT.0.get(), load_tr) }
}

/// [`load`] for any GDT with the kernel's layout.
///
/// # Safety
/// As for [`load`]; `gdt` stays valid for as long as it is loaded.
unsafe fn load_table(gdt: *const Gdt, load_tr: bool) {
    let ptr = crate::cpu::DescriptorTablePointer {
        limit: (GDT_ENTRIES * 8 - 1) as u16,
        base: gdt as u64,
    };
    // SAFETY: the GDT is valid and static; CS is reloaded by a far return to the next
    // instruction, the data segments with KERNEL_DS.
    unsafe {
        asm!(
            "lgdt [{ptr}]",
            "push {cs}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {ds:x}",
            "mov es, {ds:x}",
            "mov ss, {ds:x}",
            "mov fs, {zero:x}",
            "mov gs, {zero:x}",
            ptr = in(reg) &raw const ptr,
            cs = const KERNEL_CS as u64,
            tmp = out(reg) _,
            ds = in(reg) u64::from(KERNEL_DS),
            zero = in(reg) 0u64,
        );
    }
    if load_tr {
        // SAFETY: the TSS descriptor is available (the caller's contract).
        unsafe { asm!("ltr {tr:x}", tr = in(reg) u64::from(TSS_SELECTOR), options(nostack)) };
    }
}

/// One application processor's GDT, TSS and IST stacks (built by [`init_ap`]): every
/// logical processor needs its own TSS, because LTR marks the descriptor busy and the IST
/// stacks must not be shared (SDM Vol. 3A §8.2.3, §9.4.4 "Multiple-processor systems").
#[cfg(target_os = "none")]
pub struct ApGdt {
    gdt: &'static mut Gdt,
}

#[cfg(target_os = "none")]
impl ApGdt {
    /// Loads this GDT again (as [`reload`] does for the boot processor): GDTR, every segment
    /// register and TR, after the TSS descriptor's busy bit is cleared.
    ///
    /// # Safety
    /// Only on the processor that called [`init_ap`] for it.
    pub unsafe fn reload(&mut self) {
        self.gdt.0[usize::from(TSS_SELECTOR / 8)] &= !(0x2 << 40);
        // SAFETY: the GDT is built and its TSS descriptor available; the caller runs on the
        // processor that owns it.
        unsafe { load_table(&raw const *self.gdt, true) };
    }
}

/// Builds a GDT with the same code and data descriptors as the boot processor's and a TSS
/// of its own (with its own IST stacks, leaked from the heap), and loads it on the calling
/// processor (GDTR, segment registers, TR).
///
/// # Safety
/// Once per application processor, on that processor, with interrupts disabled.
#[cfg(target_os = "none")]
pub unsafe fn init_ap() -> ApGdt {
    use alloc::boxed::Box;
    let layout = core::alloc::Layout::new::<IstStacks>();
    // SAFETY: the layout has a non-zero size; zeroed bytes are a valid `IstStacks`.
    let raw = unsafe { alloc::alloc::alloc_zeroed(layout) }.cast::<IstStacks>();
    if raw.is_null() {
        alloc::alloc::handle_alloc_error(layout);
    }
    // SAFETY: freshly allocated, zeroed, never freed: the stacks live for good.
    let stacks: &'static mut IstStacks = unsafe { &mut *raw };
    let tss: &'static mut Tss = Box::leak(Box::new(Tss {
        reserved0: 0,
        rsp: [0; 3],
        reserved1: 0,
        ist: [0; 7],
        reserved2: 0,
        reserved3: 0,
        iomap_base: core::mem::size_of::<Tss>() as u16,
    }));
    let stacks_base = &raw const *stacks as u64;
    for i in 0..3 {
        tss.ist[i] = stacks_base + ((i as u64 + 1) * IST_STACK_SIZE as u64);
    }
    let (tss_low, tss_high) = tss_descriptor(&raw const *tss as u64);
    let gdt: &'static mut Gdt = Box::leak(Box::new(Gdt([
        0,
        0x00AF_9B00_0000_FFFF,
        0x00CF_9300_0000_FFFF,
        tss_low,
        tss_high,
    ])));
    // SAFETY: the GDT is built, its TSS descriptor available (never loaded before).
    unsafe { load_table(&raw const *gdt, true) };
    ApGdt { gdt }
}

/// The two halves of a 64-bit available-TSS descriptor for `base` (SDM Vol. 3A Figure 8-4).
#[cfg(target_os = "none")]
fn tss_descriptor(base: u64) -> (u64, u64) {
    let limit = (core::mem::size_of::<Tss>() - 1) as u64;
    let low = (limit & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x89 << 40)
        | (((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    (low, base >> 32)
}

/// Restores the boot GDT state after code that may have changed it (the test runner calls
/// this after every scenario; a VM exit, for instance, sets the GDTR limit to 0xFFFF and
/// loads TR from the VMCS host fields): GDTR, every segment register, and TR (the TSS
/// descriptor's busy bit is cleared first so that LTR accepts it).
pub fn reload() {
    let gdt = GDT.0.get();
    // SAFETY: single CPU, interrupts are not expected to use the TSS descriptor between
    // here and LTR; clearing the busy bit (type 0xB -> 0x9) is what LTR requires.
    unsafe { (*gdt).0[usize::from(TSS_SELECTOR / 8)] &= !(0x2 << 40) };
    // SAFETY: `init` ran at boot (the runtime entry calls it before anything else) and the
    // TSS descriptor is available again.
    unsafe { load(true) };
}
