//! Bare mode: the same boot plan without VMX, the baseline of the performance ratio. The
//! chunks are copied to physical memory at their guest-physical addresses (the runtime
//! identity-maps the first 4 GiB) and the kernel entered as its boot protocol says, on the
//! real (Bochs) devices.
//!
//! The copy must not overwrite what it still runs on: the hypervisor's image (code, data,
//! and `.bss` with the stack and page tables, from 1 MiB to the start of the frame
//! allocator's range) and the staging buffers the blobs were read into, which were
//! allocated above the plan's highest address. Every chunk is checked against them first,
//! and the copy itself reads only a descriptor table in staging memory, never the heap
//! (which the kernel's chunks may overwrite).

use baremetal::println;
use example_hypervisor::linux::{BootPlan, ChunkSource, EntryState};

use super::blobs::FrameBuf;
use super::error::LinuxVmError;

/// Where the runtime links the hypervisor (ci/baremetal/baremetal.ld).
const IMAGE_START: u64 = 0x10_0000;

/// One copy the jump does: `len` bytes from `src` to `dst`, or zeroes when `src` is 0.
#[derive(Clone, Copy)]
#[repr(C)]
struct Copy {
    dst: u64,
    src: u64,
    len: u64,
}

/// The GDT of the 32-bit entry: null, 0x08 flat 32-bit code, 0x10 64-bit code, 0x18 flat
/// data (SDM Vol. 3A §3.4.5 descriptor format).
#[repr(C, align(16))]
struct Gdt([u64; 4]);

static PVH_GDT: Gdt = Gdt([
    0,
    0x00CF_9A00_0000_FFFF,
    0x00AF_9A00_0000_FFFF,
    0x00CF_9200_0000_FFFF,
]);

/// A GDTR image (limit, base).
#[repr(C, packed)]
struct Gdtr {
    limit: u16,
    base: u64,
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Copies `plan` and jumps to it; returns only with an error.
pub fn run(
    plan: &BootPlan,
    kernel: &FrameBuf,
    initrd: Option<&FrameBuf>,
) -> Result<(), LinuxVmError> {
    let highest = plan
        .chunks
        .iter()
        .map(|c| c.gpa + chunk_len(&c.source, initrd))
        .max()
        .unwrap_or(0);
    // Staging for the byte chunks and the descriptor table, above the plan.
    let bytes_total: usize = plan
        .chunks
        .iter()
        .map(|c| match &c.source {
            ChunkSource::Bytes(b) => b.len().next_multiple_of(16),
            _ => 0,
        })
        .sum();
    let table_len = plan.chunks.len() * core::mem::size_of::<Copy>();
    let mut staging = FrameBuf::alloc(
        PAGE_TABLES_LEN + bytes_total + table_len + 16,
        highest.next_power_of_two().max(2 << 20),
        "bare-mode staging",
    )?;
    let image_end = baremetal::frames::managed_range().0;
    let protected: [(u64, u64, &'static str); 4] = [
        (
            IMAGE_START,
            image_end,
            "the hypervisor's image, stack and page tables",
        ),
        (
            kernel.addr(),
            kernel.addr() + kernel.len() as u64,
            "the staged kernel",
        ),
        (
            initrd.map_or(0, FrameBuf::addr),
            initrd.map_or(0, |b| b.addr() + b.len() as u64),
            "the staged initrd",
        ),
        (
            staging.addr(),
            staging.addr() + staging.len() as u64,
            "the staging buffer",
        ),
    ];
    for c in &plan.chunks {
        let end = c.gpa + chunk_len(&c.source, initrd);
        for (s, e, what) in protected {
            if overlaps((c.gpa, end), (s, e)) {
                return Err(LinuxVmError::BareOverlap {
                    gpa: c.gpa,
                    end,
                    what,
                });
            }
        }
    }
    // Fill the staging buffer: identity page tables, the byte chunks, the descriptor table.
    let base = staging.addr();
    let buf = staging.as_mut_slice();
    let page_tables = base;
    write_identity_tables(buf, base);
    let mut at = PAGE_TABLES_LEN;
    let mut table = alloc::vec::Vec::with_capacity(plan.chunks.len());
    for c in &plan.chunks {
        let copy = match &c.source {
            ChunkSource::Kernel { offset, len } => Copy {
                dst: c.gpa,
                src: kernel.addr() + *offset as u64,
                len: *len as u64,
            },
            ChunkSource::Initrd => Copy {
                dst: c.gpa,
                src: initrd.map_or(0, FrameBuf::addr),
                len: initrd.map_or(0, |b| b.len() as u64),
            },
            ChunkSource::Bytes(b) => {
                if let Some(d) = buf.get_mut(at..at + b.len()) {
                    d.copy_from_slice(b);
                }
                let copy = Copy {
                    dst: c.gpa,
                    src: base + at as u64,
                    len: b.len() as u64,
                };
                at += b.len().next_multiple_of(16);
                copy
            }
            ChunkSource::Zero(len) => Copy {
                dst: c.gpa,
                src: 0,
                len: *len,
            },
            #[allow(unreachable_patterns)]
            _ => {
                return Err(LinuxVmError::Plan(alloc::string::String::from(
                    "a chunk source bare mode does not know",
                )));
            }
        };
        table.push(copy);
    }
    let table_at = at;
    for (k, copy) in table.iter().enumerate() {
        let o = table_at + k * core::mem::size_of::<Copy>();
        for (w, v) in [copy.dst, copy.src, copy.len].iter().enumerate() {
            if let Some(d) = buf.get_mut(o + w * 8..o + w * 8 + 8) {
                d.copy_from_slice(&v.to_le_bytes());
            }
        }
    }
    let entry = plan.entry;
    let count = table.len();
    let table_addr = base + table_at as u64;
    drop(table);
    let tsc = baremetal::cpu::rdtsc();
    println!("example hypervisor: bare: jumping to {entry:?} at TSC {tsc}");
    baremetal::console::flush();
    baremetal::cpu::cli();
    // From here on nothing on the heap is used: the copies read staging memory only.
    // SAFETY: the staging tables map the first 4 GiB 1:1 as the runtime's do (write-back),
    // so every address in use keeps its meaning; they live in staging memory, which no
    // chunk overwrites (the runtime's own page-table frames may: it splits pages from the
    // frame allocator, e.g. for the stack guard).
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) page_tables, options(nostack)) };
    // SAFETY: every destination was checked against the running image, the stack, the page
    // tables and the staging buffers; interrupts are off; this CPU never comes back.
    unsafe { copy_all(table_addr, count) };
    // SAFETY: as above; the plan's entry state is what its boot protocol needs.
    unsafe { jump(&entry) }
}

/// Bytes of the staging page tables: PML4, PDPT and four page directories.
const PAGE_TABLES_LEN: usize = 6 * 4096;

/// Writes 4-level identity page tables for the first 4 GiB (2-MiB pages, present, writable;
/// SDM Vol. 3A §4.5) into the first [`PAGE_TABLES_LEN`] bytes of `buf`, which lies at
/// physical `base` (4-KiB aligned).
fn write_identity_tables(buf: &mut [u8], base: u64) {
    const P_RW: u64 = 0b11;
    const PS: u64 = 1 << 7;
    let mut put = |offset: usize, value: u64| {
        if let Some(d) = buf.get_mut(offset..offset + 8) {
            d.copy_from_slice(&value.to_le_bytes());
        }
    };
    put(0, (base + 4096) | P_RW);
    for gib in 0..4u64 {
        put(4096 + gib as usize * 8, (base + 8192 + gib * 4096) | P_RW);
        for e in 0..512u64 {
            let pa = (gib << 30) | (e << 21);
            put(8192 + (gib * 4096 + e * 8) as usize, pa | P_RW | PS);
        }
    }
}

fn chunk_len(source: &ChunkSource, initrd: Option<&FrameBuf>) -> u64 {
    match source {
        ChunkSource::Kernel { len, .. } => *len as u64,
        ChunkSource::Initrd => initrd.map_or(0, |b| b.len() as u64),
        ChunkSource::Bytes(b) => b.len() as u64,
        ChunkSource::Zero(len) => *len,
        #[allow(unreachable_patterns)]
        _ => 0,
    }
}

/// Performs the `count` copies of the table at `table`.
///
/// # Safety
/// Every destination must be memory nothing of the running program uses any more.
#[inline(never)]
unsafe fn copy_all(table: u64, count: usize) {
    for k in 0..count {
        let d = (table + (k * 24) as u64) as *const u64;
        // SAFETY: the table lies in staging memory, 24 bytes per entry (caller).
        let (dst, src, len) = unsafe { (d.read(), d.add(1).read(), d.add(2).read()) };
        // SAFETY: destinations checked by the caller; sources are staging memory.
        unsafe {
            if src == 0 {
                core::ptr::write_bytes(dst as *mut u8, 0, len as usize);
            } else {
                core::ptr::copy(src as *const u8, dst as *mut u8, len as usize);
            }
        }
    }
}

/// Enters the kernel.
///
/// # Safety
/// The plan's memory must be in place; never returns.
unsafe fn jump(entry: &EntryState) -> ! {
    match *entry {
        EntryState::Long64 {
            rip,
            rsi,
            cr3,
            gdt_base,
            gdt_limit,
        } => {
            let gdtr = Gdtr {
                limit: gdt_limit,
                base: gdt_base,
            };
            // SAFETY: Linux's 64-bit boot protocol (Documentation/arch/x86/boot.rst): the
            // plan's GDT with __BOOT_CS 0x10 and __BOOT_DS 0x18, its identity page tables
            // (which also map this code, below 4 GiB), RSI = boot_params, interrupts off.
            unsafe {
                core::arch::asm!(
                    "lgdt [rdx]",
                    "mov cr3, rcx",
                    "push 0x10",
                    "lea rax, [rip + 2f]",
                    "push rax",
                    "retfq",
                    "2:",
                    "mov eax, 0x18",
                    "mov ds, eax",
                    "mov es, eax",
                    "mov ss, eax",
                    "mov fs, eax",
                    "mov gs, eax",
                    "jmp rdi",
                    in("rdx") &gdtr,
                    in("rcx") cr3,
                    in("rdi") rip,
                    in("rsi") rsi,
                    options(noreturn)
                )
            }
        }
        EntryState::Protected32 { eip, ebx, .. } => {
            let gdtr = Gdtr {
                limit: (core::mem::size_of::<Gdt>() - 1) as u16,
                base: &PVH_GDT as *const Gdt as u64,
            };
            // SAFETY: the PVH entry (xen/include/public/arch-x86/hvm/start_info.h): 32-bit
            // protected mode, paging off, flat CS/DS/ES/SS, EBX = start_info. This code runs
            // identity mapped below 4 GiB, so turning paging off keeps executing it; CR4.PCIDE
            // is cleared first (clearing CR0.PG with it set is #GP, SDM Vol. 2A MOV CR),
            // then EFER.LME once paging is off (SDM Vol. 3A §10.8.5.4).
            unsafe {
                core::arch::asm!(
                    "lgdt [rdx]",
                    "mov rax, cr4",
                    "and rax, ~0x20000",
                    "mov cr4, rax",
                    "push 0x08",
                    "lea rax, [rip + 2f]",
                    "push rax",
                    "retfq",
                    ".code32",
                    "2:",
                    "mov eax, 0x18",
                    "mov ds, eax",
                    "mov es, eax",
                    "mov ss, eax",
                    "mov fs, eax",
                    "mov gs, eax",
                    "mov eax, cr0",
                    "and eax, 0x7FFFFFFF",
                    "mov cr0, eax",
                    "mov ecx, 0xC0000080",
                    "rdmsr",
                    "and eax, 0xFFFFFEFF",
                    "wrmsr",
                    "mov eax, cr4",
                    "and eax, 0xFFFFFFDF",
                    "mov cr4, eax",
                    "mov ebx, esi",
                    "jmp edi",
                    ".code64",
                    in("rdx") &gdtr,
                    in("edi") eip,
                    in("esi") ebx,
                    options(noreturn)
                )
            }
        }
        #[allow(unreachable_patterns)]
        _ => loop {
            baremetal::cpu::hlt();
        },
    }
}
