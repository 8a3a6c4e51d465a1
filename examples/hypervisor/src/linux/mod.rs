//! Planning the boot of an unmodified Linux kernel: pure data, tested on the host.
//!
//! [`plan`] reads the kernel (a bzImage for the 64-bit boot protocol, or an ELF `vmlinux`
//! for the PVH entry), lays out guest-physical memory ([`layout`]), and returns a
//! [`BootPlan`]: the chunks to copy into guest RAM (kernel, initrd, command line, boot
//! structures, MP table), the e820 memory map, and the vCPU's entry state. The run loop
//! copies the chunks with [`BootPlan::write_into`] and enters the guest with
//! [`guest_state`] (VMCS guest-state area, SDM Vol. 3C §25.4) and [`entry_registers`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`layout`] | guest-physical addresses of RAM, reserved areas and boot structures |
//! | [`e820`] | the memory map |
//! | [`setup_header`] | the bzImage setup header |
//! | [`boot_params`] | the bzImage zero page |
//! | [`bzimage`] | the bzImage 64-bit boot plan |
//! | [`gdt`], [`page_tables`] | the GDT/TSS page and identity page tables of the entry |
//! | [`vmlinux`] | ELF `vmlinux` segments and the PVH entry note |
//! | [`start_info`] | PVH `hvm_start_info`, module list, memory map |
//! | [`pvh`] | the PVH boot plan |
//! | [`mptable`] | the Intel MultiProcessor Specification table |
//! | [`state`] | the entry state as a VMCS guest state |
//! | [`console_lines`] | the guest's console as lines, and the init's marker and status lines |
//! | [`vm_config`] | the payload's `config` blob (protocol, vCPUs, RAM, TSC rate, mode, console) |

use alloc::vec::Vec;

pub mod boot_params;
mod bytes;
pub mod bzimage;
pub mod console_lines;
pub mod e820;
pub mod error;
pub mod gdt;
pub mod layout;
pub mod mptable;
pub mod page_tables;
mod plan;
pub mod pvh;
#[cfg(test)]
mod real_kernels;
pub mod setup_header;
pub mod start_info;
pub mod state;
pub mod vm_config;
pub mod vmlinux;

pub use e820::{E820Entry, E820Type};
pub use error::LinuxBootError;
pub use plan::plan;
pub use state::{entry_registers, guest_state};

/// Which boot protocol the kernel is started with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// A bzImage through the 64-bit boot protocol (Linux `Documentation/x86/boot.rst`).
    BzImage,
    /// An ELF `vmlinux` at its PVH entry point (Xen `docs/misc/pvh.pandoc`).
    Pvh,
}

/// What to boot and on what machine.
#[derive(Clone, Copy, Debug)]
pub struct BootConfig<'a> {
    /// The kernel image (bzImage or `vmlinux`, per `protocol`).
    pub kernel: &'a [u8],
    /// Length of the initrd (0: none); its bytes are given to [`BootPlan::write_into`].
    pub initrd_len: u64,
    /// The kernel command line (UTF-8, no NUL).
    pub cmdline: &'a str,
    /// Bytes of guest RAM, from guest-physical 0.
    pub ram_size: u64,
    /// Number of vCPUs the MP table describes (APIC IDs 0..vcpus).
    pub vcpus: u32,
    /// The boot protocol.
    pub protocol: Protocol,
    /// Whether to write the MP table (Intel MultiProcessor Specification 1.4).
    pub mp_table: bool,
}

/// Where the bytes of a [`Chunk`] come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkSource {
    /// `len` bytes of the kernel image from `offset`.
    Kernel {
        /// Offset in the kernel image.
        offset: usize,
        /// Length in bytes.
        len: usize,
    },
    /// The whole initrd ([`BootPlan::initrd_len`] bytes).
    Initrd,
    /// These bytes (boot structures, command line, MP table).
    Bytes(Vec<u8>),
    /// This many zero bytes (a segment's `.bss`).
    Zero(u64),
}

/// A piece of guest RAM content at a guest-physical address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Guest-physical address of the first byte.
    pub gpa: u64,
    /// The bytes.
    pub source: ChunkSource,
}

impl Chunk {
    /// Length in bytes, given the initrd's length.
    pub fn len(&self, initrd_len: u64) -> u64 {
        match &self.source {
            ChunkSource::Kernel { len, .. } => *len as u64,
            ChunkSource::Initrd => initrd_len,
            ChunkSource::Bytes(bytes) => bytes.len() as u64,
            ChunkSource::Zero(n) => *n,
        }
    }
}

/// The processor state at the kernel's entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryState {
    /// The bzImage 64-bit entry: 64-bit mode, paging on (identity page tables at `cr3`),
    /// RSI = the zero page (SDM Vol. 3A §10.8.5 for IA-32e mode).
    Long64 {
        /// Entry point: load address + 0x200.
        rip: u64,
        /// The zero page.
        rsi: u64,
        /// The PML4.
        cr3: u64,
        /// GDT base.
        gdt_base: u64,
        /// GDT limit.
        gdt_limit: u16,
    },
    /// The PVH entry: 32-bit protected mode, paging off, EBX = `hvm_start_info` (SDM Vol. 3A
    /// §10.9 for protected mode).
    Protected32 {
        /// Entry point from `XEN_ELFNOTE_PHYS32_ENTRY`.
        eip: u32,
        /// The start info.
        ebx: u32,
        /// GDT base.
        gdt_base: u64,
        /// GDT limit.
        gdt_limit: u16,
    },
}

/// Everything needed to start the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootPlan {
    /// What to copy into guest RAM; no two overlap, all inside the planned RAM.
    pub chunks: Vec<Chunk>,
    /// The boot vCPU's entry state.
    pub entry: EntryState,
    /// The memory map given to the kernel (sorted, non-overlapping).
    pub e820: Vec<E820Entry>,
    /// Where the initrd goes (0 when there is none).
    pub initrd_gpa: u64,
    /// The initrd's length (0 when there is none).
    pub initrd_len: u64,
    /// The memory the kernel occupies, start and end (exclusive), including what it needs
    /// during initialization.
    pub kernel_range: (u64, u64),
}

/// Where a protocol put the kernel, and the limits it imposes (internal to planning).
#[derive(Clone, Debug)]
pub(crate) struct KernelPlacement {
    /// The kernel's chunks.
    pub chunks: Vec<Chunk>,
    /// The kernel's memory, start and end (exclusive).
    pub range: (u64, u64),
    /// End (exclusive) the initrd must stay below.
    pub initrd_limit: u64,
    /// Longest command line without its NUL.
    pub cmdline_max: u64,
    /// Entry point.
    pub entry: u64,
}
