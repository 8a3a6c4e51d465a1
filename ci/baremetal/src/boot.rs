//! From the BIOS to Rust: the boot sector, the 32-bit entry and the switch to long mode.
//!
//! 1. The BIOS loads sector 0 (section `.boot`, linked at 0x7C00) and jumps to it in real
//!    mode. The boot sector enables A20 (fast A20, port 0x92), reads the kernel from LBA 1
//!    on in chunks of [`CHUNK_SECTORS`] with INT 13h AH=42h into a buffer at 0x10000 and
//!    copies each chunk above 1 MiB in "unreal" mode (DS/ES with 4 GiB limits; SDM Vol. 3A
//!    §3.4.3 segment descriptor caches keep the limit after the return to real mode). The
//!    number of sectors is the `u32` at [`BOOT_PARAM_SECTORS`], written by the `ci` tool.
//! 2. It enters flat 32-bit protected mode (SDM Vol. 3A §10.9.1) and jumps to `_start32`,
//!    the first code at 1 MiB.
//! 3. `_start32` zeroes `.bss`, builds identity-mapped page tables for the first 4 GiB with
//!    2 MiB pages (the top GiB uncached: local APIC, I/O APIC and other MMIO), enables PAE,
//!    sets IA32_EFER.LME and NXE, enables paging with CR0.WP and CR0.NE set and
//!    CR0.CD/NW clear (SDM Vol. 3A §10.8.5 "Initializing IA-32e
//!    mode") and far-returns to 64-bit code, which loads a stack and calls
//!    `baremetal_rust_entry` (in `entry.rs`), which calls the binary's `entry!` main.

/// Physical address of the boot sector.
pub const BOOT_SECTOR_ADDR: u64 = 0x7C00;
/// Offset in the boot sector of the scenario-filter parameter (NUL padded), written by
/// the `ci` tool (`--filter`).
pub const BOOT_PARAM_FILTER: usize = 0x178;
/// Length of the scenario-filter parameter.
pub const BOOT_PARAM_FILTER_LEN: usize = 96;
/// Offset in the boot sector of the model-name parameter (NUL padded), written by the
/// `ci` tool.
pub const BOOT_PARAM_MODEL: usize = 0x1D8;
/// Length of the model-name parameter.
pub const BOOT_PARAM_MODEL_LEN: usize = 32;
/// Offset in the boot sector of the `u32` kernel sector count, written by the `ci` tool.
pub const BOOT_PARAM_SECTORS: usize = 0x1F8;
/// Sectors read per INT 13h call.
pub const CHUNK_SECTORS: u32 = 64;

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
.section .boot, "awx"
.code16
.global _boot_sector
_boot_sector:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    cld
    mov byte ptr [boot_drive], dl

    /* fast A20 */
    in al, 0x92
    or al, 2
    and al, 0xFE
    out 0x92, al

2:  /* load loop: remaining sectors at the parameter slot */
    mov eax, dword ptr [boot_param_sectors]
    test eax, eax
    jz 5f
    mov ecx, {chunk}
    cmp eax, ecx
    jae 3f
    mov ecx, eax
3:  mov word ptr [dap_count], cx
    mov word ptr [dap_off], 0
    mov word ptr [dap_seg], 0x1000
    mov si, offset dap
    mov dl, byte ptr [boot_drive]
    mov ah, 0x42
    int 0x13
    jc 9f

    /* unreal mode: DS and ES get 4 GiB limits */
    cli
    lgdt [boot_gdt_desc]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov bx, 0x10
    mov ds, bx
    mov es, bx
    and al, 0xFE
    mov cr0, eax
    xor bx, bx
    mov ds, bx
    mov es, bx

    movzx ecx, word ptr [dap_count]
    mov ebx, ecx
    shl ecx, 9
    mov esi, 0x10000
    mov edi, dword ptr [boot_dest]
    add dword ptr [boot_dest], ecx
    .byte 0x67, 0xF3, 0xA4          /* addr32 rep movsb */
    add dword ptr [dap_lba], ebx
    sub dword ptr [boot_param_sectors], ebx
    jmp 2b

5:  /* flat 32-bit protected mode */
    cli
    lgdt [boot_gdt_desc]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    .byte 0x66, 0xEA                /* jmp far ptr16:32 */
    .long 6f
    .word 0x08

9:  /* disk error: report on port 0xE9 and ask Bochs to shut down */
    mov si, offset boot_err_msg
    mov cx, 16
    mov dx, 0xE9
    rep outsb
    mov si, offset boot_shutdown
    mov cx, 8
    mov dx, 0x8900
    rep outsb
10: hlt
    jmp 10b

.code32
6:  mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, 0x7C00
    mov eax, offset _start32
    jmp eax

.align 8
boot_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF        /* 0x08: 32-bit code, flat */
    .quad 0x00CF92000000FFFF        /* 0x10: data, flat */
    .quad 0x00AF9A000000FFFF        /* 0x18: 64-bit code */
boot_gdt_desc:
    .word 31
    .long boot_gdt
.align 4
dap:
    .byte 16, 0
dap_count:
    .word 0
dap_off:
    .word 0
dap_seg:
    .word 0
dap_lba:
    .quad 1
boot_dest:
    .long 0x100000
boot_drive:
    .byte 0
boot_err_msg:
    .ascii "\nboot: disk err\n"
boot_shutdown:
    .ascii "Shutdown"

.org {filter}
boot_param_filter:
    .fill {filter_len}, 1, 0
.org {model}
boot_param_model:
    .fill {model_len}, 1, 0
.org {sectors}
boot_param_sectors:
    .long 0
    .word 0
    .word 0xAA55

.section .text.start32, "ax"
.code32
.global _start32
_start32:
    cld
    /* zero .bss (page tables and stacks live there) */
    mov edi, offset __bss_start
    mov ecx, offset __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb

    /* PML4[0] -> PDPT */
    mov eax, offset boot_pdpt
    or eax, 3
    mov dword ptr [boot_pml4], eax
    /* PDPT[0..4] -> the four page directories */
    mov eax, offset boot_pd
    or eax, 3
    mov edi, offset boot_pdpt
    mov ecx, 4
20: mov dword ptr [edi], eax
    add eax, 4096
    add edi, 8
    dec ecx
    jnz 20b
    /* 2048 PDEs of 2 MiB: present, writable, PS; PCD|PWT from 3 GiB up */
    mov edi, offset boot_pd
    xor ecx, ecx
21: mov eax, ecx
    shl eax, 21
    or eax, 0x83
    cmp ecx, 1536
    jb 22f
    or eax, 0x18
22: mov dword ptr [edi], eax
    mov eax, ecx
    shr eax, 11
    mov dword ptr [edi + 4], eax
    add edi, 8
    inc ecx
    cmp ecx, 2048
    jb 21b

    /* CR4.PAE, CR3, EFER.LME|NXE, CR0.PG|WP */
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x900
    wrmsr
    /* CR0: PG, WP, NE set; CD, NW clear (caches on) */
    mov eax, cr0
    and eax, 0x9FFFFFFF
    or eax, 0x80010020
    mov cr0, eax
    push 0x18
    mov eax, offset _start64
    push eax
    retf

.code64
_start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    lea rsp, [rip + boot_stack_top]
    xor ebp, ebp
    call baremetal_rust_entry
23: cli
    hlt
    jmp 23b

.section .bss.boot_tables, "aw", @nobits
.align 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
.global boot_pd
boot_pd:
    .skip 4096 * 4
.align 4096
.global boot_stack_guard
boot_stack_guard:
    .skip 4096
boot_stack:
    .skip {stack}
boot_stack_top:
"#,
    chunk = const CHUNK_SECTORS,
    filter = const BOOT_PARAM_FILTER,
    filter_len = const BOOT_PARAM_FILTER_LEN,
    model = const BOOT_PARAM_MODEL,
    model_len = const BOOT_PARAM_MODEL_LEN,
    sectors = const BOOT_PARAM_SECTORS,
    stack = const BOOT_STACK_SIZE,
);

/// Size of the stack the kernel's Rust code starts on.
pub const BOOT_STACK_SIZE: usize = 256 * 1024;

/// A NUL-padded string parameter of the boot sector ("" if absent or not UTF-8).
#[cfg(target_os = "none")]
fn boot_param(offset: usize, len: usize) -> &'static str {
    // SAFETY: the boot sector stays mapped (identity map of the first 4 GiB) and nothing
    // writes to 0x7C00..0x7E00 after boot; the bytes are plain data inside the sector.
    let bytes: &'static [u8] = unsafe {
        core::slice::from_raw_parts((BOOT_SECTOR_ADDR as usize + offset) as *const u8, len)
    };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(len);
    bytes
        .get(..end)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// The Bochs CPU model the `ci` tool wrote into the boot sector ("" if none).
#[cfg(target_os = "none")]
pub fn model_name() -> &'static str {
    boot_param(BOOT_PARAM_MODEL, BOOT_PARAM_MODEL_LEN)
}

/// The scenario filter the `ci` tool wrote into the boot sector ("" if none): a
/// comma-separated list of substrings of scenario names.
#[cfg(target_os = "none")]
pub fn filter() -> &'static str {
    boot_param(BOOT_PARAM_FILTER, BOOT_PARAM_FILTER_LEN)
}
