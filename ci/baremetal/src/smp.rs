//! More than one processor: the local APIC (xAPIC MMIO), starting the application
//! processors with INIT-SIPI-SIPI, running functions on them, and a barrier.
//!
//! `start_aps` copies a real-mode trampoline to `TRAMPOLINE_ADDR` (below 1 MiB, page
//! aligned, so its SIPI vector is `TRAMPOLINE_ADDR >> 12`; SDM Vol. 3A §11.4.4.1 "Typical
//! BSP Initialization Sequence", §12.6.1 "Interrupt Command Register") and broadcasts INIT,
//! SIPI, SIPI to all processors but itself. Each application processor (AP) runs the
//! trampoline: flat 32-bit protected mode, PAE + IA32_EFER.LME + paging on the boot
//! processor's page tables (the same 4 GiB identity map, SDM Vol. 3A §10.8.5), 64-bit code,
//! then takes a number with `LOCK XADD` and the stack prepared for that number, and calls
//! Rust. There it loads a GDT and TSS of its own (`crate::gdt::init_ap`), the shared IDT,
//! software-enables its local APIC, reports in and waits for work with interrupts
//! disabled.
//!
//! Processors are numbered by arrival: 0 is the boot processor, 1.. the APs in the order
//! they reached Rust. `run_on` runs a closure on one of them and waits for it, so the
//! closure may borrow from the caller; `run_pair` runs one closure there and one here at
//! the same time. A closure runs inside `crate::catch_fault` on its processor (exception
//! catching is per processor), so an exception or panic there comes back as
//! [`Fault`](crate::Fault).

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Most logical processors the runtime drives (boot processor included).
pub const MAX_CPUS: usize = 8;
/// Physical address the AP trampoline is copied to (below 1 MiB, page aligned; free after
/// boot: the boot sector's buffer is at 0x10000, its stack below 0x7C00).
pub const TRAMPOLINE_ADDR: u64 = 0x8000;
/// The SIPI vector that starts an AP at [`TRAMPOLINE_ADDR`] (CS = vector << 8, IP = 0;
/// SDM Vol. 3A §11.4.4.1).
pub const SIPI_VECTOR: u8 = (TRAMPOLINE_ADDR >> 12) as u8;
/// Size of each AP's stack.
pub const AP_STACK_SIZE: usize = 128 * 1024;

/// Default physical base of the local APIC (SDM Vol. 3A §12.4.1).
pub const APIC_DEFAULT_BASE: u64 = 0xFEE0_0000;
/// IA32_APIC_BASE (SDM Vol. 3A §12.4.4).
pub const IA32_APIC_BASE: u32 = 0x1B;
/// Local APIC register offsets (SDM Vol. 3A Table 12-1).
pub mod reg {
    /// Local APIC ID.
    pub const ID: u32 = 0x20;
    /// End of interrupt.
    pub const EOI: u32 = 0xB0;
    /// Spurious-interrupt vector register (bit 8: APIC software enable).
    pub const SVR: u32 = 0xF0;
    /// Interrupt command register, bits 31:0.
    pub const ICR_LOW: u32 = 0x300;
    /// Interrupt command register, bits 63:32 (destination in bits 63:56).
    pub const ICR_HIGH: u32 = 0x310;
}

/// ICR bits (SDM Vol. 3A Figure 12-12).
pub mod icr {
    /// Delivery mode fixed.
    pub const FIXED: u32 = 0b000 << 8;
    /// Delivery mode NMI.
    pub const NMI: u32 = 0b100 << 8;
    /// Delivery mode INIT.
    pub const INIT: u32 = 0b101 << 8;
    /// Delivery mode start-up.
    pub const STARTUP: u32 = 0b110 << 8;
    /// Delivery status: send pending.
    pub const SEND_PENDING: u32 = 1 << 12;
    /// Level assert.
    pub const ASSERT: u32 = 1 << 14;
    /// Destination shorthand: all excluding self.
    pub const ALL_EXCLUDING_SELF: u32 = 0b11 << 18;
}

/// Why `start_aps`, `run_on` or `send_ipi` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmpError {
    /// IA32_APIC_BASE says the local APIC is globally disabled (bit 11 clear).
    ApicDisabled,
    /// The local APIC is not below 4 GiB (outside the identity map).
    ApicAbove4G {
        /// Its physical base.
        base: u64,
    },
    /// The ICR kept its send-pending bit set.
    IpiNotSent,
    /// Fewer processors answered than asked for.
    TooFewAnswered {
        /// Processors asked for (boot processor included).
        wanted: usize,
        /// Processors running (boot processor included).
        running: usize,
    },
    /// More processors asked for than [`MAX_CPUS`].
    TooMany {
        /// Processors asked for.
        wanted: usize,
    },
    /// No processor with that number is running.
    NoSuchCpu {
        /// The number asked for.
        cpu: usize,
    },
    /// The number is the calling processor's own.
    IsSelf {
        /// The number asked for.
        cpu: usize,
    },
    /// No memory for an AP stack.
    OutOfMemory,
}

impl core::fmt::Display for SmpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ApicDisabled => write!(f, "the local APIC is globally disabled"),
            Self::ApicAbove4G { base } => write!(f, "local APIC base {base:#x} above 4 GiB"),
            Self::IpiNotSent => write!(f, "the ICR stayed send-pending"),
            Self::TooFewAnswered { wanted, running } => {
                write!(f, "{wanted} processors wanted, {running} running")
            }
            Self::TooMany { wanted } => write!(f, "{wanted} processors wanted, at most {MAX_CPUS}"),
            Self::NoSuchCpu { cpu } => write!(f, "no processor {cpu} is running"),
            Self::IsSelf { cpu } => write!(f, "processor {cpu} is the caller"),
            Self::OutOfMemory => write!(f, "no memory for an AP stack"),
        }
    }
}

/// Local APIC ID of the calling processor from CPUID leaf 1 EBX\[31:24\] (SDM Vol. 2A
/// CPUID, "Initial APIC ID").
pub fn apic_id() -> u8 {
    (crate::cpu::cpuid(1, 0).ebx >> 24) as u8
}

/// APIC ID + 1 of each numbered processor (0: the slot is unused). Slot 0 is the boot
/// processor, filled by [`start_aps`].
static APIC_OF: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Processors running (boot processor included once [`start_aps`] ran).
static RUNNING: AtomicUsize = AtomicUsize::new(1);

/// The number of the calling processor (0 for the boot processor, and for any processor
/// not started by `start_aps`).
pub fn current_cpu() -> usize {
    let id = u32::from(apic_id()) + 1;
    APIC_OF
        .iter()
        .position(|a| a.load(Ordering::Relaxed) == id)
        .unwrap_or(0)
}

/// Processors running: 1 before `start_aps`, then the boot processor plus every AP that
/// reported in.
pub fn cpu_count() -> usize {
    RUNNING.load(Ordering::Acquire)
}

/// The local APIC ID of processor `cpu`, if it is running.
pub fn apic_id_of(cpu: usize) -> Option<u8> {
    let v = APIC_OF.get(cpu)?.load(Ordering::Acquire);
    if v == 0 { None } else { Some((v - 1) as u8) }
}

#[cfg(target_os = "none")]
pub use imp::*;

#[cfg(target_os = "none")]
mod imp {
    use super::*;
    use crate::catch::{Fault, catch_fault};
    use crate::sync::SpinLock;
    use core::sync::atomic::AtomicBool;

    core::arch::global_asm!(
        r#"
.section .rodata.baremetal_ap_trampoline, "a"
.global baremetal_ap_trampoline
.global baremetal_ap_trampoline_end
.code16
baremetal_ap_trampoline:
    /* offset 0: jump over the data to offset 80 */
    .byte 0xEB, 78
    .fill 6, 1, 0
    /* offset 8: GDT (null, 32-bit code 0x08, data 0x10, 64-bit code 0x18) */
    .quad 0
    .quad 0x00CF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00AF9A000000FFFF
    /* offset 40: its GDTR image */
    .word 31
    .long {tramp} + 8
    .word 0
    /* offset 48: CR3; 56: stack table; 64: Rust entry; 72: next number; 76: limit */
    .quad 0
    .quad 0
    .quad 0
    .long 1
    .long 0
    /* offset 80 */
    cli
    cld
    xor ax, ax
    mov ds, ax
    lgdt [{gdtr}]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    .byte 0x66, 0xEA
    .long {tramp} + (ap_32 - baremetal_ap_trampoline)
    .word 0x08
.code32
ap_32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov eax, dword ptr [{cr3}]
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x900
    wrmsr
    mov eax, cr0
    and eax, 0x9FFFFFFF
    or eax, 0x80010020
    mov cr0, eax
    .byte 0xEA
    .long {tramp} + (ap_64 - baremetal_ap_trampoline)
    .word 0x18
.code64
ap_64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov eax, 1
    lock xadd dword ptr [{next}], eax
    cmp eax, dword ptr [{limit}]
    jae 2f
    mov edi, eax
    mov rsi, qword ptr [{stacks}]
    mov rsp, qword ptr [rsi + 8 * rdi]
    xor ebp, ebp
    mov rax, qword ptr [{entry}]
    call rax
2:  cli
    hlt
    jmp 2b
baremetal_ap_trampoline_end:
"#,
        tramp = const TRAMPOLINE_ADDR,
        gdtr = const TRAMPOLINE_ADDR + 40,
        cr3 = const TRAMPOLINE_ADDR + OFF_CR3 as u64,
        stacks = const TRAMPOLINE_ADDR + OFF_STACKS as u64,
        entry = const TRAMPOLINE_ADDR + OFF_ENTRY as u64,
        next = const TRAMPOLINE_ADDR + OFF_NEXT as u64,
        limit = const TRAMPOLINE_ADDR + OFF_LIMIT as u64,
    );

    unsafe extern "C" {
        static baremetal_ap_trampoline: u8;
        static baremetal_ap_trampoline_end: u8;
    }

    /// Offsets of the trampoline's parameters (see the assembly): CR3, the stack table,
    /// the Rust entry, the next AP number and the first number without a stack.
    const OFF_CR3: usize = 48;
    const OFF_STACKS: usize = 56;
    const OFF_ENTRY: usize = 64;
    const OFF_NEXT: usize = 72;
    const OFF_LIMIT: usize = 76;

    /// Work posted to one AP: a type-erased call and its completion flag.
    struct Mailbox {
        job: AtomicUsize,
        done: AtomicBool,
    }

    static MAILBOX: [Mailbox; MAX_CPUS] = [const {
        Mailbox {
            job: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        }
    }; MAX_CPUS];

    /// Serializes [`start_aps`].
    static START: SpinLock<bool> = SpinLock::new(false);

    /// A job: the function that runs it on the AP and its data.
    struct Job {
        call: unsafe fn(*mut u8),
        data: *mut u8,
    }

    /// The local APIC's base address from IA32_APIC_BASE (identity mapped, uncached: the
    /// boot page tables map 3-4 GiB with PCD/PWT).
    pub fn apic_base() -> Result<u64, SmpError> {
        // SAFETY: IA32_APIC_BASE exists on every processor with a local APIC (all x86-64).
        let v = unsafe { crate::cpu::rdmsr(IA32_APIC_BASE) };
        if v & (1 << 11) == 0 {
            return Err(SmpError::ApicDisabled);
        }
        let base = v & 0x000F_FFFF_FFFF_F000;
        if base >= 1 << 32 {
            return Err(SmpError::ApicAbove4G { base });
        }
        Ok(base)
    }

    /// Reads a local APIC register of the calling processor.
    pub fn apic_read(offset: u32) -> Result<u32, SmpError> {
        let base = apic_base()?;
        // SAFETY: the xAPIC page is identity mapped and uncached; reads have no side
        // effects on the registers this module names.
        Ok(unsafe { ((base + u64::from(offset)) as *const u32).read_volatile() })
    }

    /// Writes a local APIC register of the calling processor.
    ///
    /// # Safety
    /// The write's effect (an IPI, masking, EOI) is what the caller intends.
    pub unsafe fn apic_write(offset: u32, value: u32) -> Result<(), SmpError> {
        let base = apic_base()?;
        // SAFETY: as for `apic_read`; the effect is the caller's.
        unsafe { ((base + u64::from(offset)) as *mut u32).write_volatile(value) };
        Ok(())
    }

    /// Sets the APIC software-enable bit (SVR bit 8) with spurious vector 0xFF, so the
    /// local APIC accepts fixed interrupts (SDM Vol. 3A §12.9).
    pub fn apic_software_enable() -> Result<(), SmpError> {
        let svr = apic_read(reg::SVR)?;
        // SAFETY: enabling the APIC only lets interrupts reach the (masked) processor.
        unsafe { apic_write(reg::SVR, svr | 0x1FF) }
    }

    /// Sends an EOI to the calling processor's local APIC (for a host handler of a fixed
    /// interrupt).
    pub fn apic_eoi() {
        // SAFETY: an EOI ends the in-service interrupt, which the caller is handling.
        let _ = unsafe { apic_write(reg::EOI, 0) };
    }

    fn wait_icr_idle() -> Result<(), SmpError> {
        let start = crate::cpu::rdtsc();
        while apic_read(reg::ICR_LOW)? & icr::SEND_PENDING != 0 {
            if crate::cpu::rdtsc().wrapping_sub(start) > 10_000_000 {
                return Err(SmpError::IpiNotSent);
            }
            core::hint::spin_loop();
        }
        Ok(())
    }

    /// Writes the ICR (high word first: the low write sends) and waits for the send.
    ///
    /// # Safety
    /// The IPI's effect on its targets is what the caller intends (an INIT resets them).
    pub unsafe fn send_icr(destination: u8, low: u32) -> Result<(), SmpError> {
        wait_icr_idle()?;
        // SAFETY: forwarded contract.
        unsafe {
            apic_write(reg::ICR_HIGH, u32::from(destination) << 24)?;
            apic_write(reg::ICR_LOW, low)?;
        }
        wait_icr_idle()
    }

    /// Sends a fixed interrupt with `vector` to processor `cpu` (physical destination mode).
    ///
    /// # Safety
    /// The target must handle `vector` (a handler installed with
    /// [`crate::set_interrupt_handler`] that sends an EOI) or have interrupts disabled
    /// while the interrupt stays pending, or run a guest that exits on it.
    pub unsafe fn send_ipi(cpu: usize, vector: u8) -> Result<(), SmpError> {
        let id = apic_id_of(cpu).ok_or(SmpError::NoSuchCpu { cpu })?;
        // SAFETY: forwarded contract.
        unsafe { send_icr(id, icr::FIXED | icr::ASSERT | u32::from(vector)) }
    }

    fn delay(ticks: u64) {
        let start = crate::cpu::rdtsc();
        while crate::cpu::rdtsc().wrapping_sub(start) < ticks {
            core::hint::spin_loop();
        }
    }

    /// Starts the application processors so that `count` processors (the boot processor
    /// included) run, and returns how many run. Once started, APs stay running (waiting for
    /// work); later calls only check the count.
    ///
    /// INIT, then two SIPIs, broadcast to all processors but this one (SDM Vol. 3A
    /// §11.4.4.1); APs beyond `count - 1` halt in the trampoline.
    pub fn start_aps(count: usize) -> Result<usize, SmpError> {
        if count > MAX_CPUS {
            return Err(SmpError::TooMany { wanted: count });
        }
        let mut started = START.lock();
        if !*started {
            APIC_OF[0].store(u32::from(apic_id()) + 1, Ordering::Release);
            apic_software_enable()?;
            let want_aps = count.saturating_sub(1);
            // The stack table (index 0 unused: APs take 1..) and the stacks themselves,
            // leaked: APs run for good.
            let mut tops = alloc::vec::Vec::new();
            tops.push(0u64);
            for _ in 0..want_aps {
                let layout = core::alloc::Layout::from_size_align(AP_STACK_SIZE, 4096)
                    .map_err(|_| SmpError::OutOfMemory)?;
                // SAFETY: non-zero size.
                let p = unsafe { alloc::alloc::alloc(layout) };
                if p.is_null() {
                    return Err(SmpError::OutOfMemory);
                }
                tops.push(p as u64 + AP_STACK_SIZE as u64);
            }
            let tops: &'static [u64] = alloc::vec::Vec::leak(tops);
            let src = &raw const baremetal_ap_trampoline;
            let len = &raw const baremetal_ap_trampoline_end as usize - src as usize;
            let dst = TRAMPOLINE_ADDR as *mut u8;
            // SAFETY: 0x8000.. is free RAM below 1 MiB, identity mapped, used by nothing
            // after boot; the trampoline is far smaller than the page.
            unsafe {
                core::ptr::copy_nonoverlapping(src, dst, len);
                let put64 = |off: usize, v: u64| dst.add(off).cast::<u64>().write_volatile(v);
                put64(OFF_CR3, crate::cpu::read_cr3());
                put64(OFF_STACKS, tops.as_ptr() as u64);
                put64(OFF_ENTRY, ap_rust_entry as *const () as u64);
                dst.add(OFF_NEXT).cast::<u32>().write_volatile(1);
                dst.add(OFF_LIMIT)
                    .cast::<u32>()
                    .write_volatile(want_aps as u32 + 1);
            }
            *started = true;
            if want_aps > 0 {
                // SAFETY: INIT and SIPI to the other processors, which run only firmware
                // (halted) before the first call: this restarts them in the trampoline.
                unsafe {
                    send_icr(0, icr::INIT | icr::ASSERT | icr::ALL_EXCLUDING_SELF)?;
                    delay(100_000);
                    for _ in 0..2 {
                        send_icr(
                            0,
                            icr::STARTUP
                                | icr::ASSERT
                                | icr::ALL_EXCLUDING_SELF
                                | u32::from(SIPI_VECTOR),
                        )?;
                        delay(20_000);
                    }
                }
                let start = crate::cpu::rdtsc();
                while RUNNING.load(Ordering::Acquire) < count
                    && crate::cpu::rdtsc().wrapping_sub(start) < 200_000_000
                {
                    core::hint::spin_loop();
                }
            }
        }
        drop(started);
        let running = cpu_count();
        if running < count {
            return Err(SmpError::TooFewAnswered {
                wanted: count,
                running,
            });
        }
        Ok(running)
    }

    /// Rust entry of an AP, on its own stack, interrupts disabled.
    extern "C" fn ap_rust_entry(index: u32) -> ! {
        let me = index as usize;
        // SAFETY: once, on this AP, interrupts disabled.
        let mut gdt = unsafe { crate::gdt::init_ap() };
        crate::interrupts::reload();
        if let Some(slot) = APIC_OF.get(me) {
            slot.store(u32::from(apic_id()) + 1, Ordering::Release);
        }
        let _ = apic_software_enable();
        RUNNING.fetch_add(1, Ordering::AcqRel);
        let Some(mailbox) = MAILBOX.get(me) else {
            loop {
                crate::cpu::cli();
                crate::cpu::hlt();
            }
        };
        loop {
            let job = mailbox.job.load(Ordering::Acquire);
            if job == 0 {
                core::hint::spin_loop();
                continue;
            }
            // SAFETY: `job` is a `Job` posted by `post`, which waits for `done`.
            let job = unsafe { &*(job as *const Job) };
            // SAFETY: `call` matches `data` (both from `post`).
            unsafe { (job.call)(job.data) };
            after_job(&mut gdt);
            mailbox.job.store(0, Ordering::Relaxed);
            mailbox.done.store(true, Ordering::Release);
        }
    }

    /// What the test runner does on the boot processor after each scenario, for an AP:
    /// interrupts off, VMX left if a job left it on, descriptor tables reloaded.
    fn after_job(gdt: &mut crate::gdt::ApGdt) {
        crate::cpu::cli();
        const CR4_VMXE: u64 = 1 << 13;
        if crate::cpu::read_cr4() & CR4_VMXE != 0 {
            // SAFETY: VMXOFF leaves VMX root operation (a #UD outside it is caught); CR4.VMXE
            // may then be cleared.
            let _ = crate::catch::catch_exception(|| unsafe {
                core::arch::asm!("vmxoff", options(nostack));
            });
            // SAFETY: VMX operation is over on this processor.
            let _ = crate::catch::catch_exception(|| unsafe {
                crate::cpu::write_cr4(crate::cpu::read_cr4() & !CR4_VMXE);
            });
        }
        // SAFETY: this AP built `gdt` with `init_ap`.
        unsafe { gdt.reload() };
        crate::interrupts::reload();
    }

    struct Call<F, R> {
        f: Option<F>,
        out: Option<Result<R, Fault>>,
    }

    unsafe fn call_job<F: FnOnce() -> R, R>(data: *mut u8) {
        // SAFETY: `data` is the `Call<F, R>` of the waiting `post`.
        let call = unsafe { &mut *data.cast::<Call<F, R>>() };
        if let Some(f) = call.f.take() {
            call.out = Some(catch_fault(f));
        }
    }

    fn check_target(cpu: usize) -> Result<&'static Mailbox, SmpError> {
        if cpu == current_cpu() {
            return Err(SmpError::IsSelf { cpu });
        }
        if cpu == 0 || apic_id_of(cpu).is_none() {
            return Err(SmpError::NoSuchCpu { cpu });
        }
        MAILBOX.get(cpu).ok_or(SmpError::NoSuchCpu { cpu })
    }

    /// The two results of [`run_pair`]: the remote closure's and the local one's.
    pub type PairResult<R, S> = (Result<R, Fault>, Result<S, Fault>);

    /// Runs `remote` on processor `cpu` and `local` on this one at the same time, and waits
    /// for both. Each runs inside [`catch_fault`] on its processor, so a fault in either is
    /// reported and the wait always happens before the borrowed data goes away.
    pub fn run_pair<F, R, G, S>(
        cpu: usize,
        remote: F,
        local: G,
    ) -> Result<PairResult<R, S>, SmpError>
    where
        F: FnOnce() -> R + Send,
        R: Send,
        G: FnOnce() -> S,
    {
        let mailbox = check_target(cpu)?;
        let mut call: Call<F, R> = Call {
            f: Some(remote),
            out: None,
        };
        let job = Job {
            call: call_job::<F, R>,
            data: (&raw mut call).cast(),
        };
        mailbox.done.store(false, Ordering::Relaxed);
        mailbox
            .job
            .store(&raw const job as usize, Ordering::Release);
        // The wait below must happen before `call` and `job` go away: `local` runs inside a
        // catch so that a fault in it cannot jump to an outer catch past the wait.
        let here = catch_fault(local);
        while !mailbox.done.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        let out = call
            .out
            .take()
            .unwrap_or(Err(Fault::Exception(crate::ExceptionInfo {
                vector: 255,
                error_code: 0,
                rip: 0,
                cr2: 0,
            })));
        Ok((out, here))
    }

    /// Runs `f` on processor `cpu` and waits for it (so `f` may borrow from the caller).
    #[allow(clippy::result_large_err)]
    pub fn run_on<F, R>(cpu: usize, f: F) -> Result<Result<R, Fault>, SmpError>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        run_pair(cpu, f, || ()).map(|(r, _)| r)
    }
}

/// A reusable spinning barrier for `n` processors (sense reversing).
pub struct Barrier {
    n: usize,
    arrived: AtomicUsize,
    phase: AtomicU64,
}

impl Barrier {
    /// A barrier for `n` participants.
    pub const fn new(n: usize) -> Self {
        Self {
            n,
            arrived: AtomicUsize::new(0),
            phase: AtomicU64::new(0),
        }
    }

    /// Waits until `n` participants have called `wait` in this round.
    pub fn wait(&self) {
        let phase = self.phase.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.arrived.store(0, Ordering::Relaxed);
            self.phase.fetch_add(1, Ordering::AcqRel);
        } else {
            while self.phase.load(Ordering::Acquire) == phase {
                core::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn barrier_of_one_never_waits() {
        let b = Barrier::new(1);
        b.wait();
        b.wait();
        assert_eq!(b.phase.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn sipi_vector_names_the_trampoline_page() {
        assert_eq!(u64::from(SIPI_VECTOR) << 12, TRAMPOLINE_ADDR);
        const { assert!(TRAMPOLINE_ADDR < 1 << 20) };
    }

    #[test]
    fn barrier_releases_threads() {
        let b = std::sync::Arc::new(Barrier::new(3));
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        b.wait();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(b.phase.load(Ordering::Relaxed), 100);
    }
}
