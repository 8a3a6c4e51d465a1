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

/// Register block of the hand-written minimal loop: the 16 GPR slots in SDM order (RSP's
/// unused) and the iteration counter.
#[repr(C)]
#[derive(Default)]
pub struct MinimalBlock {
    /// RAX, RCX, RDX, RBX, (RSP), RBP, RSI, RDI, R8-R15.
    pub gprs: [u64; 16],
    /// Round trips left.
    pub count: u64,
}

macro_rules! load_guest_gprs {
    () => {
        concat!(
            "mov rax, r12\n",
            "mov rcx, [rax + 8]\n",
            "mov rdx, [rax + 16]\n",
            "mov rbx, [rax + 24]\n",
            "mov rbp, [rax + 40]\n",
            "mov rsi, [rax + 48]\n",
            "mov rdi, [rax + 56]\n",
            "mov r8, [rax + 64]\n",
            "mov r9, [rax + 72]\n",
            "mov r10, [rax + 80]\n",
            "mov r11, [rax + 88]\n",
            "mov r12, [rax + 96]\n",
            "mov r13, [rax + 104]\n",
            "mov r14, [rax + 112]\n",
            "mov r15, [rax + 120]\n",
            "mov rax, [rax]\n",
        )
    };
}

global_asm!(
    ".pushsection .text.vcpu_minimal_loop,\"ax\",@progbits",
    ".code64",
    // u64 vcpu_minimal_cpuid_loop(MinimalBlock *block): the hand-written baseline for the
    // exit-cost scenario. The current VMCS must hold a launch-state-clear guest running
    // `vcpu_guest_cpuid_loop`. Sets HOST_RSP/HOST_RIP to itself and VMLAUNCHes; on each
    // exit it saves the 15 guest GPRs, checks the reason is CPUID, writes the CPUID result
    // (EAX..EDX = 0) into the saved registers, advances GUEST_RIP by the exit instruction
    // length, reloads the GPRs and VMRESUMEs, until `block.count` exits were handled.
    // This is what any correct exit path must do at least (no CR2, extended state or
    // event handling). Returns 0, or the RFLAGS of a VMfail, or the exit reason with
    // bit 63 for an unexpected exit.
    ".global vcpu_minimal_cpuid_loop",
    "vcpu_minimal_cpuid_loop:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "pushfq",
    "cli",
    "push rdi",
    "mov eax, 0x6C14",
    "vmwrite rax, rsp",
    "lea rbx, [rip + 2f]",
    "mov eax, 0x6C16",
    "vmwrite rax, rbx",
    "mov r12, rdi",
    load_guest_gprs!(),
    "vmlaunch",
    "jmp 3f",
    "2:",
    "push rax",
    "mov rax, [rsp + 8]",
    "mov [rax + 8], rcx",
    "mov [rax + 16], rdx",
    "mov [rax + 24], rbx",
    "mov [rax + 40], rbp",
    "mov [rax + 48], rsi",
    "mov [rax + 56], rdi",
    "mov [rax + 64], r8",
    "mov [rax + 72], r9",
    "mov [rax + 80], r10",
    "mov [rax + 88], r11",
    "mov [rax + 96], r12",
    "mov [rax + 104], r13",
    "mov [rax + 112], r14",
    "mov [rax + 120], r15",
    "pop qword ptr [rax]",
    "mov r12, rax",
    "mov eax, 0x4402",
    "vmread rbx, rax",
    "cmp ebx, 10",
    "jne 4f",
    "xor eax, eax",
    "mov [r12], rax",
    "mov [r12 + 8], rax",
    "mov [r12 + 16], rax",
    "mov [r12 + 24], rax",
    "mov eax, 0x440C",
    "vmread rbx, rax",
    "mov eax, 0x681E",
    "vmread rcx, rax",
    "add rcx, rbx",
    "vmwrite rax, rcx",
    "dec qword ptr [r12 + 128]",
    "jz 5f",
    load_guest_gprs!(),
    "vmresume",
    "3:",
    "pushfq",
    "pop rax",
    "jmp 6f",
    "4:",
    "mov rax, rbx",
    "bts rax, 63",
    "jmp 6f",
    "5:",
    "xor eax, eax",
    "6:",
    "add rsp, 8",
    "popfq",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".popsection",
);

unsafe extern "C" {
    /// See the assembly above.
    pub fn vcpu_minimal_cpuid_loop(block: *mut MinimalBlock) -> u64;
}
