//! Pure arithmetic of the helpers that complete an emulated instruction (SDM Vol. 3C §28.2.4
//! "Information for VM Exits Due to Instruction Execution": the VM-exit instruction length;
//! Vol. 1 §3.5 "Instruction Pointer"; Vol. 2 IN). Kept free of VMCS access so that every
//! guest-controlled input can be tested on the host.

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
