//! The guest-physical layout of a Linux guest: where the RAM is, what is reserved, and where
//! the boot structures go.
//!
//! The low megabyte follows the PC convention Linux expects (the "Intel MultiProcessor
//! Specification" 1.4 §4 places the MP floating pointer in the last KiB of base memory or in
//! the BIOS area 0xF0000-0xFFFFF; Linux's `Documentation/x86/boot.rst` keeps the boot
//! structures below the EBDA). Page-table and segment formats are those of the SDM Vol. 3A
//! §3.4.5 (descriptors) and §5.5 (4-level paging).

/// End of the conventional RAM below 640 KiB that the e820 map reports (exclusive): the last
/// KiB of base memory, [`EBDA_START`]..[`EBDA_END`], is reserved and holds the MP table.
pub const LOW_RAM_END: u64 = 0x9_FC00;
/// Start of the reserved "extended BIOS data area" KiB that holds the MP table.
pub const EBDA_START: u64 = 0x9_FC00;
/// End (exclusive) of the reserved EBDA KiB.
pub const EBDA_END: u64 = 0xA_0000;
/// Start of the reserved system BIOS area (the second place Linux scans for the MP table).
pub const BIOS_START: u64 = 0xF_0000;
/// End (exclusive) of the reserved system BIOS area.
pub const BIOS_END: u64 = 0x10_0000;
/// Start of the RAM above 1 MiB.
pub const HIGH_RAM_START: u64 = 0x10_0000;
/// The largest RAM size planned: RAM stays below the 32-bit device hole (I/O APIC at
/// [`IO_APIC_BASE`], local APIC at [`LOCAL_APIC_BASE`]).
pub const MAX_RAM_SIZE: u64 = 0xC000_0000;
/// The smallest RAM size planned (the low megabyte plus room for a kernel).
pub const MIN_RAM_SIZE: u64 = 0x20_0000;

/// The GDT (SDM Vol. 3A §3.5.1).
pub const GDT_GPA: u64 = 0x1000;
/// The TSS that TR points at (SDM Vol. 3A §9.2.1; §9.7 for the 64-bit format), inside the
/// GDT's page.
pub const TSS_GPA: u64 = 0x1080;
/// The TSS's limit (104 bytes minus one, SDM Vol. 3A §9.7).
pub const TSS_LIMIT: u32 = 0x67;
/// Code segment selector of the entry state: `__BOOT_CS` of the 64-bit boot protocol.
pub const BOOT_CS: u16 = 0x10;
/// Data segment selector of the entry state: `__BOOT_DS` of the 64-bit boot protocol.
pub const BOOT_DS: u16 = 0x18;
/// TSS selector of the entry state.
pub const BOOT_TR: u16 = 0x20;
/// The initial stack pointer (the stack grows down towards the GDT page; Linux switches to
/// its own stack in its first instructions).
pub const STACK_TOP: u64 = 0x7000;
/// The bzImage zero page (`struct boot_params`), 4 KiB.
pub const BOOT_PARAMS_GPA: u64 = 0x7000;
/// The PVH `hvm_start_info`, followed by the module list and the memory map.
pub const START_INFO_GPA: u64 = 0x7000;
/// The identity page tables of the 64-bit entry: PML4, PDPT, then four page directories of
/// 2-MiB pages mapping the first 4 GiB (SDM Vol. 3A §5.5.4), six pages in all.
pub const PAGE_TABLES_GPA: u64 = 0x9000;
/// Number of 4-KiB pages of the identity page tables.
pub const PAGE_TABLE_PAGES: u64 = 6;
/// The kernel command line (NUL-terminated).
pub const CMDLINE_GPA: u64 = 0x2_0000;
/// Room for the command line including its NUL.
pub const CMDLINE_MAX: u64 = 0x1_0000;
/// Where the MP floating pointer structure goes (followed by the configuration table).
pub const MP_TABLE_GPA: u64 = EBDA_START;
/// End (exclusive) of the region the initrd may occupy: Linux's default `initrd_addr_max`
/// is 0x37FFFFFF.
pub const INITRD_MAX_END: u64 = 0x3800_0000;
/// Where a non-relocatable bzImage's protected-mode kernel is loaded.
pub const NON_RELOCATABLE_LOAD: u64 = 0x10_0000;
/// The I/O APIC's MMIO base.
pub const IO_APIC_BASE: u64 = 0xFEC0_0000;
/// The local APICs' MMIO base (SDM Vol. 3A §12.4.1, the IA32_APIC_BASE default).
pub const LOCAL_APIC_BASE: u64 = 0xFEE0_0000;
/// Guest page size used for alignment.
pub const PAGE_SIZE: u64 = 0x1000;
