//! The guest general-purpose registers the VMCS does not hold (SDM Vol. 3C §25.4.1: RSP, RIP
//! and RFLAGS are in the VMCS guest-state area; the other 15 GPRs and CR2 are not and are
//! switched by software around VM entries and exits).

/// A general-purpose register by its SDM encoding number (0 = RAX, 1 = RCX, 2 = RDX,
/// 3 = RBX, 4 = RSP, 5 = RBP, 6 = RSI, 7 = RDI, 8-15 = R8-R15; SDM Vol. 3C §28.2.1 Tables
/// 28-3 and 28-4, §28.2.5; Vol. 2 §2.1.5 Table 2-2). The one type of `vmx-defs`, used by
/// every decoder that names a register.
pub use vmx_defs::instruction_info::Gpr;

/// The register with SDM encoding `encoding` (see [`Gpr`]), `None` above 15: the checked
/// counterpart of `Gpr::from_bits`, which keeps only the low four bits (SDM Vol. 3C
/// §28.2.5). Total.
#[inline]
pub const fn gpr_from_encoding(encoding: u8) -> Option<Gpr> {
    if encoding < 16 {
        Some(Gpr::from_bits(encoding))
    } else {
        None
    }
}

/// The 15 guest GPRs other than RSP, plus guest CR2, as saved at VM exit and loaded before
/// VM entry by the entry code. `repr(C)`: the assembly addresses the fields by offset.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuestRegisters {
    /// RAX.
    pub rax: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// RBX.
    pub rbx: u64,
    /// Unused slot keeping the SDM's register numbering (RSP is GUEST_RSP in the VMCS).
    pub unused_rsp: u64,
    /// RBP.
    pub rbp: u64,
    /// RSI.
    pub rsi: u64,
    /// RDI.
    pub rdi: u64,
    /// R8.
    pub r8: u64,
    /// R9.
    pub r9: u64,
    /// R10.
    pub r10: u64,
    /// R11.
    pub r11: u64,
    /// R12.
    pub r12: u64,
    /// R13.
    pub r13: u64,
    /// R14.
    pub r14: u64,
    /// R15.
    pub r15: u64,
    /// CR2 (not part of the VMCS; SDM §25.4.1).
    pub cr2: u64,
}

impl GuestRegisters {
    /// The value of `gpr`; `None` for RSP, which lives in the VMCS (GUEST_RSP, SDM Vol. 3C
    /// §25.4.1; `Vcpu::gpr` reads all sixteen).
    pub const fn get(&self, gpr: Gpr) -> Option<u64> {
        Some(match gpr {
            Gpr::Rax => self.rax,
            Gpr::Rcx => self.rcx,
            Gpr::Rdx => self.rdx,
            Gpr::Rbx => self.rbx,
            Gpr::Rsp => return None,
            Gpr::Rbp => self.rbp,
            Gpr::Rsi => self.rsi,
            Gpr::Rdi => self.rdi,
            Gpr::R8 => self.r8,
            Gpr::R9 => self.r9,
            Gpr::R10 => self.r10,
            Gpr::R11 => self.r11,
            Gpr::R12 => self.r12,
            Gpr::R13 => self.r13,
            Gpr::R14 => self.r14,
            Gpr::R15 => self.r15,
        })
    }

    /// Sets `gpr`; returns `false` and changes nothing for RSP, which lives in the VMCS
    /// (GUEST_RSP, SDM Vol. 3C §25.4.1; `Vcpu::set_gpr` writes all sixteen).
    pub fn set(&mut self, gpr: Gpr, value: u64) -> bool {
        let slot = match gpr {
            Gpr::Rax => &mut self.rax,
            Gpr::Rcx => &mut self.rcx,
            Gpr::Rdx => &mut self.rdx,
            Gpr::Rbx => &mut self.rbx,
            Gpr::Rsp => return false,
            Gpr::Rbp => &mut self.rbp,
            Gpr::Rsi => &mut self.rsi,
            Gpr::Rdi => &mut self.rdi,
            Gpr::R8 => &mut self.r8,
            Gpr::R9 => &mut self.r9,
            Gpr::R10 => &mut self.r10,
            Gpr::R11 => &mut self.r11,
            Gpr::R12 => &mut self.r12,
            Gpr::R13 => &mut self.r13,
            Gpr::R14 => &mut self.r14,
            Gpr::R15 => &mut self.r15,
        };
        *slot = value;
        true
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn encodings_follow_the_sdm_table() {
        for (n, gpr) in Gpr::ALL.iter().enumerate() {
            assert_eq!(gpr_from_encoding(n as u8), Some(*gpr));
            assert_eq!(gpr.number() as usize, n);
        }
        assert_eq!(gpr_from_encoding(4), Some(Gpr::Rsp));
        assert_eq!(gpr_from_encoding(16), None);
        assert_eq!(gpr_from_encoding(255), None);
    }

    proptest! {
        /// `set` then `get` gives the value back for the 15 block registers and touches no
        /// other register; RSP is refused and changes nothing.
        #[test]
        fn set_get_round_trip(n in 0u8..16, value in any::<u64>(), fill in any::<u64>()) {
            let gpr = Gpr::from_bits(n);
            let mut regs = GuestRegisters::default();
            for g in Gpr::ALL {
                regs.set(g, fill ^ u64::from(g.number()));
            }
            let before = regs;
            let stored = regs.set(gpr, value);
            prop_assert_eq!(stored, gpr != Gpr::Rsp);
            for g in Gpr::ALL {
                let expected = if g == Gpr::Rsp {
                    None
                } else if g == gpr {
                    Some(value)
                } else {
                    before.get(g)
                };
                prop_assert_eq!(regs.get(g), expected);
            }
            prop_assert_eq!(regs.cr2, before.cr2);
            prop_assert_eq!(regs.unused_rsp, before.unused_rsp);
        }
    }
}
