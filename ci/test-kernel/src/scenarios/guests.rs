//! Small guests for the `vcpu` scenarios, as 64-bit code in the kernel image. They run on
//! the kernel's own identity-mapped page tables (or under an identity EPT), ring 0, and
//! report to the host with VMCALL; the host advances RIP past each exit it handles.

use core::arch::global_asm;

global_asm!(
    ".pushsection .text.vcpu_guests,\"ax\",@progbits",
    ".code64",
    // VMCALL in a loop with RAX=0x1234, RBX=0x5678.
    ".global vcpu_guest_vmcall",
    "vcpu_guest_vmcall:",
    "mov rax, 0x1234",
    "mov rbx, 0x5678",
    "vmcall",
    "jmp vcpu_guest_vmcall",
    // CPUID leaf 0x12 subleaf 0x34, then VMCALL with the results.
    ".global vcpu_guest_cpuid",
    "vcpu_guest_cpuid:",
    "mov eax, 0x12",
    "mov ecx, 0x34",
    "cpuid",
    "vmcall",
    "ud2",
    // CPUID forever (exit-cost measurement).
    ".global vcpu_guest_cpuid_loop",
    "vcpu_guest_cpuid_loop:",
    "xor eax, eax",
    "cpuid",
    "jmp vcpu_guest_cpuid_loop",
    // HLT, then VMCALL.
    ".global vcpu_guest_hlt",
    "vcpu_guest_hlt:",
    "hlt",
    "vmcall",
    "ud2",
    // RDTSC, then VMCALL with EDX:EAX.
    ".global vcpu_guest_rdtsc",
    "vcpu_guest_rdtsc:",
    "rdtsc",
    "vmcall",
    "ud2",
    // RDMSR / WRMSR of IA32_KERNEL_GS_BASE, then RDMSR of 0x40000000 (outside both bitmap
    // ranges), each followed by VMCALL.
    ".global vcpu_guest_msr",
    "vcpu_guest_msr:",
    "mov ecx, 0xC0000102",
    "rdmsr",
    "vmcall",
    "mov ecx, 0xC0000102",
    "mov eax, 0x5555",
    "xor edx, edx",
    "wrmsr",
    "vmcall",
    "mov ecx, 0x40000000",
    "rdmsr",
    "vmcall",
    "ud2",
    // OUT 0x80 (bitmap A), IN from 0x8000 and OUT to 0xFFFF (bitmap B), then VMCALL.
    ".global vcpu_guest_io",
    "vcpu_guest_io:",
    "mov al, 0x5a",
    "out 0x80, al",
    "mov dx, 0x8000",
    "in al, dx",
    "mov dx, 0xffff",
    "mov al, 0xa5",
    "out dx, al",
    "vmcall",
    "ud2",
    // Reads CR0/CR4 (VMCALL), then sets CR0.TS and CR4.VMXE (owned bits), then VMCALL.
    ".global vcpu_guest_cr",
    "vcpu_guest_cr:",
    "mov rax, cr0",
    "mov rbx, cr4",
    "vmcall",
    "mov rcx, rax",
    "or rcx, 8",
    "mov cr0, rcx",
    "mov rdx, rbx",
    "or rdx, 0x2000",
    "mov cr4, rdx",
    "vmcall",
    "ud2",
    // UD2 (2 bytes), then VMCALL.
    ".global vcpu_guest_ud",
    "vcpu_guest_ud:",
    "ud2",
    "vmcall",
    "ud2",
    // A read and a write at 512 GiB (not mapped): two #PF (3-byte instructions), VMCALL.
    ".global vcpu_guest_pf",
    "vcpu_guest_pf:",
    "movabs rax, 0x8000000000",
    "mov rbx, [rax]",
    "mov [rax], rbx",
    "vmcall",
    "ud2",
    // VMCALL; STI; NOP; VMCALL (interrupt scenarios: R14 holds what the handler saw).
    ".global vcpu_guest_irq",
    "vcpu_guest_irq:",
    "vmcall",
    "sti",
    "nop",
    "vmcall",
    "ud2",
    // Interrupt handler: R14 = 0x40.
    ".global vcpu_guest_irq_handler",
    "vcpu_guest_irq_handler:",
    "mov r14, 0x40",
    "iretq",
    // NMI handler: R13 += 1, VMCALL (inside the handler), IRETQ.
    ".global vcpu_guest_nmi_handler",
    "vcpu_guest_nmi_handler:",
    "inc r13",
    "vmcall",
    "iretq",
    // #UD handler: R15 = 6.
    ".global vcpu_guest_ud_handler",
    "vcpu_guest_ud_handler:",
    "mov r15, 6",
    "iretq",
    // #GP handler: R12 = error code (popped).
    ".global vcpu_guest_gp_handler",
    "vcpu_guest_gp_handler:",
    "mov r12, [rsp]",
    "add rsp, 8",
    "iretq",
    // A 2-byte instruction (XCHG AX, AX), then VMCALL (injection scenarios).
    ".global vcpu_guest_soft",
    "vcpu_guest_soft:",
    "xchg ax, ax",
    "vmcall",
    "ud2",
    // R8 = CR2, every other GPR but RSP += 1, CR2 = R15, VMCALL (register round trip).
    ".global vcpu_guest_gprs",
    "vcpu_guest_gprs:",
    "mov r8, cr2",
    "inc rax",
    "inc rbx",
    "inc rcx",
    "inc rdx",
    "inc rsi",
    "inc rdi",
    "inc rbp",
    "inc r9",
    "inc r10",
    "inc r11",
    "inc r12",
    "inc r13",
    "inc r14",
    "inc r15",
    "mov cr2, r15",
    "vmcall",
    "ud2",
    // Spins forever (preemption timer).
    ".global vcpu_guest_spin",
    "vcpu_guest_spin:",
    "pause",
    "jmp vcpu_guest_spin",
    // MOVQ XMM0, RAX; VMCALL; MOVQ RBX, XMM0; VMCALL (extended-state isolation).
    ".global vcpu_guest_sse",
    "vcpu_guest_sse:",
    "movq xmm0, rax",
    "vmcall",
    "movq rbx, xmm0",
    "vmcall",
    "ud2",
    // MOV to CR3 of its own CR3 (exits under CR3-load exiting), then VMCALL.
    ".global vcpu_guest_cr3",
    "vcpu_guest_cr3:",
    "mov rax, cr3",
    "mov cr3, rax",
    "vmcall",
    "ud2",
    // XSETBV of XCR0 = 0 (bit 0 clear) and 4 (AVX without SSE), both invalid; XCR0 = 3
    // (x87 | SSE), valid; XCR1 = 1 (not writable); then VMCALL (guest-input audit).
    ".global vcpu_guest_xsetbv",
    "vcpu_guest_xsetbv:",
    "xor ecx, ecx",
    "xor edx, edx",
    "xor eax, eax",
    "xsetbv",
    "mov eax, 4",
    "xsetbv",
    "mov eax, 3",
    "xsetbv",
    "mov ecx, 1",
    "mov eax, 1",
    "xsetbv",
    "vmcall",
    "ud2",
    // MOV to CR8 of 0xF, MOV from CR8 into RBX, MOV from DR7 into RCX (each exits: the
    // isolation controls), then VMCALL.
    ".global vcpu_guest_cr8_dr",
    "vcpu_guest_cr8_dr:",
    "mov eax, 0xF",
    "mov cr8, rax",
    "mov rbx, cr8",
    "mov rcx, dr7",
    "vmcall",
    "ud2",
    ".popsection",
);

unsafe extern "C" {
    /// See the assembly above.
    pub fn vcpu_guest_vmcall();
    /// See the assembly above.
    pub fn vcpu_guest_cpuid();
    /// See the assembly above.
    pub fn vcpu_guest_cpuid_loop();
    /// See the assembly above.
    pub fn vcpu_guest_hlt();
    /// See the assembly above.
    pub fn vcpu_guest_rdtsc();
    /// See the assembly above.
    pub fn vcpu_guest_msr();
    /// See the assembly above.
    pub fn vcpu_guest_io();
    /// See the assembly above.
    pub fn vcpu_guest_cr();
    /// See the assembly above.
    pub fn vcpu_guest_ud();
    /// See the assembly above.
    pub fn vcpu_guest_pf();
    /// See the assembly above.
    pub fn vcpu_guest_irq();
    /// See the assembly above.
    pub fn vcpu_guest_irq_handler();
    /// See the assembly above.
    pub fn vcpu_guest_nmi_handler();
    /// See the assembly above.
    pub fn vcpu_guest_spin();
    /// See the assembly above.
    pub fn vcpu_guest_ud_handler();
    /// See the assembly above.
    pub fn vcpu_guest_gp_handler();
    /// See the assembly above.
    pub fn vcpu_guest_soft();
    /// See the assembly above.
    pub fn vcpu_guest_gprs();
    /// See the assembly above.
    pub fn vcpu_guest_sse();
    /// See the assembly above.
    pub fn vcpu_guest_xsetbv();
    /// See the assembly above.
    pub fn vcpu_guest_cr3();
    /// See the assembly above.
    pub fn vcpu_guest_cr8_dr();
}

/// The address of a guest entry point.
pub fn addr(f: unsafe extern "C" fn()) -> u64 {
    f as *const () as u64
}

/// Real-mode guest bytes (loaded at guest-physical 0x8000, CS=0x0800, IP=0):
/// `mov ax, 0x1234; vmcall; hlt`.
pub const REAL_MODE_CODE: [u8; 7] = [0xB8, 0x34, 0x12, 0x0F, 0x01, 0xC1, 0xF4];

/// 32-bit protected-mode guest bytes (loaded at guest-physical 0x8000, flat CS):
/// `mov eax, 0x1234; vmcall; hlt`.
pub const PROTECTED_MODE_CODE: [u8; 9] = [0xB8, 0x34, 0x12, 0x00, 0x00, 0x0F, 0x01, 0xC1, 0xF4];
