//! Pure arithmetic of the helpers that complete an emulated instruction (SDM Vol. 3C §28.2.4
//! "Information for VM Exits Due to Instruction Execution": the VM-exit instruction length;
//! Vol. 1 §3.5 "Instruction Pointer"; Vol. 2 IN). Kept free of VMCS access so that every
//! guest-controlled input can be tested on the host.

use vmx_defs::exit_reason::ExitReason;

/// Bit 13 of a segment's access rights: L, "64-bit code segment" (SDM Vol. 3A §3.4.5,
/// Vol. 3C §25.4.1 for the VMCS format of access rights).
pub const CS_ACCESS_RIGHTS_L: u64 = 1 << 13;

/// The guest RIP after the instruction at `rip` of `len` bytes (the VM-exit instruction
/// length) completes.
///
/// In 64-bit mode (`cs_long`: CS.L = 1, which VM entry allows only for an IA-32e mode
/// guest, SDM §27.3.1.2) the sum wraps at 2^64. Outside 64-bit mode the instruction
/// pointer is EIP (SDM Vol. 1 §3.5): the sum wraps at 2^32, as the processor does for an
/// instruction that ends at 4 GiB in a flat segment. Without that truncation a guest that
/// executes an exiting instruction (CPUID, from any CPL) at the top of its 32-bit address
/// space would be given a RIP with bits 63:32 set, which VM entry refuses for a guest not
/// in 64-bit mode (SDM §27.3.1.4), ending the guest with an entry failure. Total.
#[inline]
pub const fn next_rip(rip: u64, len: u64, cs_long: bool) -> u64 {
    let next = rip.wrapping_add(len);
    if cs_long { next } else { next & 0xFFFF_FFFF }
}

/// Whether [`next_rip`] may depend on the mode: adding `len` (the 32-bit VM-exit
/// instruction length) to `rip` carries out of bits 31:0, i.e. the instruction ends at or
/// past a 4-GiB boundary. Outside 64-bit mode RIP is below 4 GiB (VM entry requires bits
/// 63:32 clear, SDM §27.3.1.4), so when this is false the plain sum is right in every mode;
/// the exit path reads CS only when it is true, and the common exit pays one 32-bit add
/// and one branch on its carry. Total.
#[inline(always)]
pub const fn crosses_4g(rip: u64, len: u32) -> bool {
    (rip as u32).overflowing_add(len).1
}

/// RAX after a non-string IN of `size` bytes read `value` (SDM Vol. 2 IN): AL and AX are
/// merged into the old RAX, a 4-byte IN writes EAX and clears bits 63:32 (a 32-bit register
/// write, SDM Vol. 1 §3.4.1.1). A size other than 1 or 2 is treated as 4. Total.
#[inline]
pub const fn merge_in_value(rax: u64, size: u8, value: u32) -> u64 {
    match size {
        1 => (rax & !0xFF) | (value & 0xFF) as u64,
        2 => (rax & !0xFFFF) | (value & 0xFFFF) as u64,
        _ => value as u64,
    }
}

/// Basic exit reasons (bit n = reason n) of the exits caused by executing an instruction
/// that record the VM-exit instruction length (SDM Vol. 3C §28.2.4 "Information for VM Exits
/// Due to Instruction Execution"): CPUID 10, GETSEC 11, HLT 12, INVD 13, INVLPG 14, RDPMC 15,
/// RDTSC 16, VMCALL 18, VMCLEAR-VMXON 19-27, MOV CR 28, MOV DR 29, I/O 30, RDMSR 31, WRMSR 32,
/// MWAIT 36, MONITOR 39, PAUSE 40, descriptor-table accesses 46-47, INVEPT 50, RDTSCP 51,
/// INVVPID 53, WBINVD 54, XSETBV 55, RDRAND 57, INVPCID 58, ENCLS 60, RDSEED 61, XSAVES 63,
/// XRSTORS 64, PCONFIG 65, UMWAIT 67, TPAUSE 68, LOADIWKEY 69, ENCLV 70.
const INSTRUCTION_LENGTH_REASONS: u128 = {
    let reasons: [u32; 43] = [
        10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 36,
        39, 40, 46, 47, 50, 51, 53, 54, 55, 57, 58, 60, 61, 63, 64, 65, 67, 68, 69, 70,
    ];
    let mut mask = 0u128;
    let mut i = 0;
    while i < reasons.len() {
        mask |= 1 << reasons[i];
        i += 1;
    }
    mask
};

/// Whether an exit with this exit-reason word was caused by executing an instruction and
/// records its length (SDM Vol. 3C §28.2.4), so that completing the instruction means
/// moving RIP past it. False for a failed VM entry (bit 31), for exits caused by events
/// (exceptions, interrupts, NMIs, windows, timers, EPT violations, APIC accesses...) and for
/// unknown reasons. Total.
#[inline]
pub const fn records_instruction_length(reason: ExitReason) -> bool {
    let basic = reason.0 & 0xFFFF;
    !reason.is_entry_failure() && basic < 128 && INSTRUCTION_LENGTH_REASONS & (1 << basic) != 0
}
