//! The one `asm!` shape every status-reporting VMX instruction shares: the instruction,
//! then RFLAGS captured in the same block (SDM Vol. 3C §31.2: the outcome is in CF and ZF,
//! so nothing may run between the instruction and the capture).

/// Runs the instruction template(s) followed by `pushfq; pop {rflags}` in one `asm!` block
/// and evaluates to the captured RFLAGS (`u64`).
///
/// Operands follow the `;` exactly as in `asm!` (named operands, explicit registers, then
/// `options(...)`). The block never sets `nostack` (PUSHFQ/POP use the stack below RSP)
/// nor `preserves_flags` (the instruction writes the status flags). Memory is clobbered
/// unless the caller passes `options(readonly)`. The invocation must sit inside an
/// `unsafe` block whose `// SAFETY:` comment argues for the instruction.
macro_rules! asm_with_rflags {
    ($($template:literal),+ ; $($operands:tt)*) => {{
        let rflags: u64;
        ::core::arch::asm!(
            $($template,)+
            "pushfq",
            "pop {rflags}",
            rflags = lateout(reg) rflags,
            $($operands)*
        );
        rflags
    }};
}
