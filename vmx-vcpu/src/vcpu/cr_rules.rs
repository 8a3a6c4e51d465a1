//! The rules of the instructions that write CR0, CR4 and CR8 (SDM Vol. 2B "MOV—Move to/from
//! Control Registers", "CLTS", "LMSW"; Vol. 3A §2.5 "Control Registers", §4.4.1 "PDPTE
//! Registers", §4.10.4.1 "Operations that Invalidate TLBs and Paging-Structure Caches",
//! §10.8.5 "Initializing IA-32e Mode"), as pure functions of the guest's state: what the
//! instruction loads, the #GP(0) it raises instead, and the mode changes it implies. The
//! vCPU's completion helpers ([`Vcpu::complete_cr_access`](crate::Vcpu::complete_cr_access))
//! apply the result to the VMCS; nothing here touches hardware, so every guest-controlled
//! input is tested on the host.
//!
//! Values are the ones the guest sees: with CR0/CR4 guest/host masks (SDM Vol. 3C §25.6.6)
//! the guest-visible value is the read shadow for host-owned bits and the guest-state field
//! for the others ([`visible`]); [`guest_field`] computes the field from a new visible value.

use core::fmt;

use vmx_defs::capabilities::FixedBits;
use vmx_defs::registers::{Cr0, Cr0Error, Cr0WriteContext, Cr4, Cr4Error, Efer};

/// The guest state a control-register write depends on (all guest-visible values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CrState {
    /// CR0 as the guest sees it.
    pub cr0: Cr0,
    /// CR4 as the guest sees it.
    pub cr4: Cr4,
    /// IA32_EFER.
    pub efer: Efer,
    /// CR3 (its bits 11:0 matter when CR4.PCIDE goes from 0 to 1).
    pub cr3: u64,
    /// CS.L: with IA32_EFER.LMA = 1, the guest runs in 64-bit mode (SDM Vol. 3A §5.2.1).
    pub cs_l: bool,
}

impl CrState {
    /// 64-bit mode: IA32_EFER.LMA = 1 and CS.L = 1 (SDM Vol. 3A §2.2.1). Outside it, MOV to
    /// and from control and debug registers uses 32-bit operands (SDM Vol. 2B MOV CR).
    pub const fn in_64bit_mode(&self) -> bool {
        self.efer.contains(Efer::LMA) && self.cs_l
    }

    /// The source operand as the instruction sees it: all 64 bits in 64-bit mode, bits
    /// 31:0 otherwise (SDM Vol. 2B MOV CR: "the upper 32 bits are ignored").
    pub const fn operand(&self, value: u64) -> u64 {
        if self.in_64bit_mode() {
            value
        } else {
            value & 0xFFFF_FFFF
        }
    }
}

/// What VMX lets the guest have in CR4 (SDM Vol. 3D §A.8; Vol. 3A §2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cr4Limits {
    /// Bits the guest may set: the processor's (IA32_VMX_CR4_FIXED1), or fewer when the
    /// VMM hides features.
    pub supported: Cr4,
    /// Bits the VMM cannot give the guest because it does not switch the state they enable
    /// (CR4.OSFXSR and CR4.OSXSAVE without extended-state switching, see
    /// [`XStateMode`](crate::xstate::XStateMode)): setting one is refused like an
    /// unsupported bit.
    pub not_switched: Cr4,
}

/// A checked write of CR0 or CR4: the new guest-visible value and the mode change it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CrUpdate {
    /// The new guest-visible value (goes to the read shadow; [`guest_field`] gives the
    /// guest-state field).
    pub visible: u64,
    /// IA32_EFER after the write: LMA set when CR0.PG goes 0 → 1 with EFER.LME = 1 (IA-32e
    /// mode activation), cleared when CR0.PG goes 1 → 0 with EFER.LMA = 1 (SDM Vol. 3A
    /// §10.8.5, §10.8.5.4). The "IA-32e mode guest" VM-entry control must equal its LMA
    /// (SDM Vol. 3C §27.3.1.1).
    pub efer: Efer,
    /// The write invalidates TLBs and paging-structure caches (SDM Vol. 3A §4.10.4.1):
    /// with VPIDs the VMM must invalidate the guest's VPID (more is always allowed).
    pub flush_tlb: bool,
}

/// A control-register change that needs more than the new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrTransition {
    /// Under PAE paging (CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LMA = 0) a MOV to CR0 changing
    /// PG, CD or NW, or a MOV to CR4 changing PAE, PGE, PSE or SMEP, loads the four PDPTEs
    /// from guest memory (SDM Vol. 3A §4.4.1), which the VMCS then holds (SDM Vol. 3C
    /// §27.3.1.6 with EPT). This crate does not read guest memory.
    PaePdpteLoad,
    /// A change of CR0.PE or CR0.PG that the VMX fixed bits do not let the guest-state field
    /// take (IA32_VMX_CR0_FIXED0/1, SDM Vol. 3D §A.7; only "unrestricted guest" relaxes
    /// them, Vol. 3C §26.3): the guest would see a mode it is not running in.
    FixedBit {
        /// The CR0 bits concerned.
        bits: u64,
    },
}

impl fmt::Display for CrTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PaePdpteLoad => f.write_str("the write loads PAE PDPTEs from guest memory"),
            Self::FixedBit { bits } => write!(
                f,
                "CR0 bits {bits:#x} cannot change without unrestricted guest (VMX fixed bits)"
            ),
        }
    }
}

/// Why a control-register write cannot be completed as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrError {
    /// MOV to CR0 (or LMSW, CLTS) raises #GP(0) (SDM Vol. 2B MOV CR).
    Cr0(Cr0Error),
    /// MOV to CR4 sets a reserved or unsupported bit: #GP(0).
    Cr4(Cr4Error),
    /// MOV to CR4 sets PCIDE outside IA-32e mode: #GP(0) (SDM Vol. 2B MOV CR).
    PcideOutsideIa32e,
    /// MOV to CR4 sets PCIDE while CR3\[11:0\] ≠ 0: #GP(0) (SDM Vol. 2B MOV CR).
    PcideWithPcid {
        /// CR3\[11:0\].
        pcid: u16,
    },
    /// MOV to CR4 clears PAE in IA-32e mode: #GP(0) (SDM Vol. 2B MOV CR).
    PaeClearedInIa32e,
    /// MOV to CR4 changes LA57 in IA-32e mode: #GP(0) (SDM Vol. 2B MOV CR, Vol. 3A §4.1.1).
    La57ChangedInIa32e,
    /// MOV to CR4 sets CET while CR0.WP = 0: #GP(0) (SDM Vol. 3A §2.5).
    CetWithoutWp,
    /// MOV to CR4 sets OSFXSR or OSXSAVE, which this vCPU cannot give the guest (its
    /// extended state is not switched): #GP(0), as for an unsupported bit.
    ExtendedStateNotSwitched {
        /// The bits concerned.
        bits: u64,
    },
    /// MOV to CR8 with bits 63:4 set: #GP(0) (SDM Vol. 2B MOV CR, Vol. 3A §11.8.6.1).
    Cr8Reserved {
        /// The source value.
        value: u64,
    },
    /// The write is legal but needs what this crate does not emulate: nothing changed.
    NotEmulated(CrTransition),
}

impl CrError {
    /// Whether the guest's instruction raises #GP(0) (inject it and leave RIP); `false`
    /// for [`CrError::NotEmulated`], which the VMM must handle itself.
    pub const fn is_guest_fault(&self) -> bool {
        !matches!(self, Self::NotEmulated(_))
    }
}

impl fmt::Display for CrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cr0(e) => write!(f, "{e}"),
            Self::Cr4(e) => write!(f, "{e}"),
            Self::PcideOutsideIa32e => f.write_str("CR4.PCIDE can only be set in IA-32e mode"),
            Self::PcideWithPcid { pcid } => {
                write!(f, "CR4.PCIDE cannot be set while CR3[11:0] = {pcid:#x}")
            }
            Self::PaeClearedInIa32e => f.write_str("CR4.PAE cannot be cleared in IA-32e mode"),
            Self::La57ChangedInIa32e => f.write_str("CR4.LA57 cannot change in IA-32e mode"),
            Self::CetWithoutWp => f.write_str("CR4.CET cannot be set while CR0.WP = 0"),
            Self::ExtendedStateNotSwitched { bits } => write!(
                f,
                "CR4 bits {bits:#x} enable extended state this vCPU does not switch"
            ),
            Self::Cr8Reserved { value } => write!(f, "MOV to CR8 of {value:#x} sets bits 63:4"),
            Self::NotEmulated(t) => write!(f, "not emulated: {t}"),
        }
    }
}

impl core::error::Error for CrError {}

/// The guest-visible value of a register with guest/host mask `mask`: read-shadow bits
/// where the mask is 1, guest-state-field bits where it is 0 (SDM Vol. 3C §25.6.6).
pub const fn visible(field: u64, shadow: u64, mask: u64) -> u64 {
    (field & !mask) | (shadow & mask)
}

/// The guest-state field after the guest-visible value becomes `visible`: bits in
/// `host_owned` (owned by the VMM for its own purposes) keep their current `field` value,
/// the others take the guest's, then the VMX fixed bits are applied (SDM Vol. 3D §A.7-A.8).
pub const fn guest_field(visible: u64, field: u64, host_owned: u64, fixed: FixedBits) -> u64 {
    fixed.adjust((field & host_owned) | (visible & !host_owned))
}

/// The bits a [`FixedBits`] pair pins: 1 in FIXED0 or 0 in FIXED1.
pub const fn fixed_mask(fixed: FixedBits) -> u64 {
    fixed.fixed0() | !fixed.fixed1()
}

/// CR0 bits whose change under PAE paging loads the PDPTEs (SDM Vol. 3A §4.4.1).
const CR0_PDPTE_BITS: u64 = Cr0::PG.bits() | Cr0::CD.bits() | Cr0::NW.bits();
/// CR4 bits whose change under PAE paging loads the PDPTEs (SDM Vol. 3A §4.4.1).
const CR4_PDPTE_BITS: u64 = Cr4::PAE.bits() | Cr4::PGE.bits() | Cr4::PSE.bits() | Cr4::SMEP.bits();
/// CR0 bits whose change invalidates the TLBs (SDM Vol. 3A §4.10.4.1: PG; WP is included:
/// invalidating more is always allowed).
const CR0_FLUSH_BITS: u64 = Cr0::PG.bits() | Cr0::WP.bits() | Cr0::PE.bits();
/// CR4 bits whose change invalidates the TLBs (SDM Vol. 3A §4.10.4.1: PGE, PCIDE 1 → 0,
/// PAE, PSE, SMEP, SMAP, PKE, CET, LA57...; more is always allowed).
const CR4_FLUSH_BITS: u64 = Cr4::PSE.bits()
    | Cr4::PAE.bits()
    | Cr4::PGE.bits()
    | Cr4::PCIDE.bits()
    | Cr4::SMEP.bits()
    | Cr4::SMAP.bits()
    | Cr4::PKE.bits()
    | Cr4::PKS.bits()
    | Cr4::CET.bits()
    | Cr4::LA57.bits()
    | Cr4::LAM_SUP.bits()
    | Cr4::LASS.bits();

/// MOV to CR0 of `value` (SDM Vol. 2B MOV CR; Vol. 3A §2.5, §10.8.5), with `fixed` the CR0
/// fixed bits VMX imposes on the guest-state field (with "unrestricted guest" applied):
///
/// 1. The operand is 32 bits outside 64-bit mode; [`Cr0::check_mov`] refuses what the
///    instruction refuses ([`CrError::Cr0`]: #GP(0)).
/// 2. ET is hard-wired to 1 and the undefined bits 31:0 ignore writes (SDM Vol. 3A §2.5).
/// 3. CR0.PG 0 → 1 with EFER.LME = 1 activates IA-32e mode (EFER.LMA = 1); PG 1 → 0 with
///    LMA = 1 (in compatibility mode) deactivates it.
/// 4. Refused with [`CrError::NotEmulated`]: a PE/PG change the fixed bits forbid in the
///    guest field ([`CrTransition::FixedBit`]) and a PDPTE load under PAE paging
///    ([`CrTransition::PaePdpteLoad`]).
pub const fn mov_to_cr0(value: u64, state: CrState, fixed: FixedBits) -> Result<CrUpdate, CrError> {
    let ctx = Cr0WriteContext {
        current: state.cr0,
        cr4: state.cr4,
        efer: state.efer,
        in_64bit_mode: state.in_64bit_mode(),
    };
    if let Err(e) = Cr0::check_mov(state.operand(value), ctx) {
        return Err(CrError::Cr0(e));
    }
    let new = (state.operand(value) & Cr0::all().bits()) | Cr0::ET.bits();
    apply_cr0(new, state, fixed)
}

/// The checks after the #GP rules: mode changes, what is not emulated.
const fn apply_cr0(new: u64, state: CrState, fixed: FixedBits) -> Result<CrUpdate, CrError> {
    let old = state.cr0.bits();
    let changed = old ^ new;
    let fixed_change = changed & (Cr0::PE.bits() | Cr0::PG.bits()) & fixed_mask(fixed);
    if fixed_change != 0 {
        return Err(CrError::NotEmulated(CrTransition::FixedBit {
            bits: fixed_change,
        }));
    }
    let pg = Cr0::PG.bits();
    let mut efer = state.efer;
    if changed & pg != 0 {
        // IA-32e mode is active exactly while paging is on with LME = 1 (SDM Vol. 3A
        // §10.8.5): PG 0 → 1 makes LMA = LME, PG 1 → 0 clears it.
        efer = if new & pg != 0 && efer.contains(Efer::LME) {
            efer.union(Efer::LMA)
        } else {
            efer.difference(Efer::LMA)
        };
    }
    let pae_paging = new & pg != 0 && state.cr4.contains(Cr4::PAE) && !efer.contains(Efer::LMA);
    if pae_paging && changed & CR0_PDPTE_BITS != 0 {
        return Err(CrError::NotEmulated(CrTransition::PaePdpteLoad));
    }
    Ok(CrUpdate {
        visible: new,
        efer,
        flush_tlb: changed & CR0_FLUSH_BITS != 0,
    })
}

/// CLTS: clears CR0.TS (SDM Vol. 2A CLTS). Never faults once it exits (the CPL check comes
/// first, SDM Vol. 3C §26.1.1).
pub const fn clts(state: CrState, fixed: FixedBits) -> Result<CrUpdate, CrError> {
    apply_cr0(state.cr0.bits() & !Cr0::TS.bits(), state, fixed)
}

/// LMSW `source`: loads CR0 bits 3:0 (PE, MP, EM, TS) from the operand's bits 3:0 but never
/// clears PE (SDM Vol. 2A LMSW); the other bits of CR0 are unchanged.
pub const fn lmsw(source: u16, state: CrState, fixed: FixedBits) -> Result<CrUpdate, CrError> {
    let old = state.cr0.bits();
    let src = source as u64;
    let new = (old & !0xE) | (src & 0xE) | ((old | src) & 1);
    apply_cr0(new, state, fixed)
}

/// MOV to CR4 of `value` (SDM Vol. 2B MOV CR; Vol. 3A §2.5, §4.4.1, §4.10.4.1): the
/// operand is 32 bits outside 64-bit mode; reserved and unsupported bits
/// ([`Cr4::check_reserved`] against `limits.supported`), `limits.not_switched` bits, PCIDE
/// set outside IA-32e mode or with CR3\[11:0\] ≠ 0, PAE cleared or LA57 changed in IA-32e
/// mode, CET set with CR0.WP = 0 are #GP(0) ([`CrError`]); a PDPTE load under PAE paging is
/// [`CrError::NotEmulated`].
pub const fn mov_to_cr4(
    value: u64,
    state: CrState,
    limits: Cr4Limits,
) -> Result<CrUpdate, CrError> {
    let new = state.operand(value);
    if let Err(e) = Cr4::check_reserved(new, limits.supported) {
        return Err(CrError::Cr4(e));
    }
    let not_switched = new & limits.not_switched.bits();
    if not_switched != 0 {
        return Err(CrError::ExtendedStateNotSwitched { bits: not_switched });
    }
    let old = state.cr4.bits();
    let changed = old ^ new;
    let lma = state.efer.contains(Efer::LMA);
    let pcide = Cr4::PCIDE.bits();
    if new & pcide != 0 && old & pcide == 0 {
        if !lma {
            return Err(CrError::PcideOutsideIa32e);
        }
        if state.cr3 & 0xFFF != 0 {
            return Err(CrError::PcideWithPcid {
                pcid: (state.cr3 & 0xFFF) as u16,
            });
        }
    }
    if lma && new & Cr4::PAE.bits() == 0 {
        return Err(CrError::PaeClearedInIa32e);
    }
    if lma && changed & Cr4::LA57.bits() != 0 {
        return Err(CrError::La57ChangedInIa32e);
    }
    if new & Cr4::CET.bits() != 0 && !state.cr0.contains(Cr0::WP) {
        return Err(CrError::CetWithoutWp);
    }
    let pae_paging = state.cr0.contains(Cr0::PG) && new & Cr4::PAE.bits() != 0 && !lma;
    if pae_paging && changed & CR4_PDPTE_BITS != 0 {
        return Err(CrError::NotEmulated(CrTransition::PaePdpteLoad));
    }
    Ok(CrUpdate {
        visible: new,
        efer: state.efer,
        flush_tlb: changed & CR4_FLUSH_BITS != 0,
    })
}

/// MOV to CR8 of `value`: the task-priority class, bits 3:0; bits 63:4 set is #GP(0) (SDM
/// Vol. 2B MOV CR, Vol. 3A §11.8.6.1). CR8 exists in 64-bit mode only.
pub const fn mov_to_cr8(value: u64) -> Result<u8, CrError> {
    if value >> 4 != 0 {
        Err(CrError::Cr8Reserved { value })
    } else {
        Ok(value as u8)
    }
}

/// TR's access rights for a guest entering IA-32e mode: a busy 16-bit TSS (system
/// descriptor, type 3, what
/// INIT and reset leave in TR, SDM Vol. 3A §10.1 Table 10-1) becomes a busy 64-bit TSS
/// (type 11); any other value is returned unchanged.
///
/// The processor does not change TR's cached type when IA-32e mode is activated (SDM Vol.
/// 3A §10.8.5), but VM entry into an IA-32e guest requires TR type 11 (Vol. 3C §27.3.1.2),
/// so a hypervisor that emulates the activation fixes the type, which the guest cannot
/// observe (IA-32e interrupt delivery reads RSP0/IST from the TSS at TR's base whatever the
/// cached type, and there are no task switches in IA-32e mode, Vol. 3A §8.7). An AP started
/// by SIPI that turns on paging with EFER.LME before loading a TR of its own (Linux's
/// trampoline does) needs it.
pub const fn tr_access_rights_for_ia32e(access_rights: u32) -> u32 {
    const TYPE_MASK: u32 = 0xF;
    /// Type (3:0) and S (4, 0 = system descriptor).
    const TYPE_AND_S: u32 = 0x1F;
    const BUSY_16: u32 = 3;
    const BUSY_64: u32 = 11;
    if access_rights & TYPE_AND_S == BUSY_16 {
        (access_rights & !TYPE_MASK) | BUSY_64
    } else {
        access_rights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vmx_defs::capabilities::FixedRegister;

    /// Bochs' CR0 fixed bits (PG, NE, PE fixed to 1) and their unrestricted-guest relaxation.
    const FIXED: FixedBits = FixedBits::new(FixedRegister::Cr0, 0x8000_0021, 0xFFFF_FFFF);
    const FIXED_UG: FixedBits = FixedBits::new(FixedRegister::Cr0, 0x20, 0xFFFF_FFFF);

    fn long_state() -> CrState {
        CrState {
            cr0: Cr0::PE | Cr0::ET | Cr0::NE | Cr0::WP | Cr0::PG,
            cr4: Cr4::PAE,
            efer: Efer::LME | Efer::LMA,
            cr3: 0x1000,
            cs_l: true,
        }
    }

    fn unpaged_state() -> CrState {
        CrState {
            cr0: Cr0::PE | Cr0::ET,
            cr4: Cr4::empty(),
            efer: Efer::empty(),
            cr3: 0x1000,
            cs_l: false,
        }
    }

    const LIMITS: Cr4Limits = Cr4Limits {
        supported: Cr4::from_bits_retain(0x3727FF),
        not_switched: Cr4::empty(),
    };

    #[test]
    fn tr_becomes_a_64_bit_tss_on_ia32e_activation() {
        // Present busy 16-bit TSS (0x83) -> busy 64-bit TSS (0x8B); granularity etc. kept.
        assert_eq!(tr_access_rights_for_ia32e(0x83), 0x8B);
        assert_eq!(tr_access_rights_for_ia32e(0x8083), 0x808B);
        for unchanged in [0x8B, 0x1_0000, 0x0, 0x89, 0x93] {
            assert_eq!(tr_access_rights_for_ia32e(unchanged), unchanged);
        }
    }

    #[test]
    fn ia32e_activation_and_exit() {
        let mut s = unpaged_state();
        s.efer = Efer::LME;
        s.cr4 = Cr4::PAE;
        let u = mov_to_cr0(0x8000_0011, s, FIXED_UG).unwrap();
        assert!(u.efer.contains(Efer::LMA));
        assert!(u.flush_tlb);
        // Without PAE: #GP.
        s.cr4 = Cr4::empty();
        assert_eq!(
            mov_to_cr0(0x8000_0011, s, FIXED_UG),
            Err(CrError::Cr0(Cr0Error::LongModeWithoutPae))
        );
        // Leaving from compatibility mode clears LMA; from 64-bit mode it is #GP.
        let mut l = long_state();
        l.cs_l = false;
        let u = mov_to_cr0(0x11, l, FIXED_UG).unwrap();
        assert!(!u.efer.contains(Efer::LMA));
        assert_eq!(
            mov_to_cr0(0x11, long_state(), FIXED_UG),
            Err(CrError::Cr0(Cr0Error::PagingClearedIn64BitMode))
        );
    }

    #[test]
    fn fixed_pe_pg_refused_without_unrestricted_guest() {
        let l = long_state();
        let mut c = l;
        c.cs_l = false;
        assert_eq!(
            mov_to_cr0(0x11, c, FIXED),
            Err(CrError::NotEmulated(CrTransition::FixedBit {
                bits: 1 << 31
            }))
        );
        // A TS flip is fine.
        let u = mov_to_cr0(l.cr0.bits() | 8, l, FIXED).unwrap();
        assert_eq!(u.visible, l.cr0.bits() | 8);
        assert!(!u.flush_tlb);
    }

    #[test]
    fn pae_pdpte_load_refused() {
        let mut s = unpaged_state();
        s.cr4 = Cr4::PAE;
        assert_eq!(
            mov_to_cr0(0x8000_0011, s, FIXED_UG),
            Err(CrError::NotEmulated(CrTransition::PaePdpteLoad))
        );
        s.cr0 |= Cr0::PG;
        assert_eq!(
            mov_to_cr4((Cr4::PAE | Cr4::PGE).bits(), s, LIMITS),
            Err(CrError::NotEmulated(CrTransition::PaePdpteLoad))
        );
        // CR0.TS under PAE paging loads nothing.
        assert!(mov_to_cr0(s.cr0.bits() | 8, s, FIXED_UG).is_ok());
    }

    #[test]
    fn cr4_rules() {
        let l = long_state();
        assert_eq!(mov_to_cr4(0, l, LIMITS), Err(CrError::PaeClearedInIa32e));
        assert!(mov_to_cr4((Cr4::PAE | Cr4::PCIDE).bits(), l, LIMITS).is_ok());
        let mut p = l;
        p.cr3 = 0x1005;
        assert_eq!(
            mov_to_cr4((Cr4::PAE | Cr4::PCIDE).bits(), p, LIMITS),
            Err(CrError::PcideWithPcid { pcid: 5 })
        );
        assert_eq!(
            mov_to_cr4(Cr4::PCIDE.bits(), unpaged_state(), LIMITS),
            Err(CrError::PcideOutsideIa32e)
        );
        assert_eq!(
            mov_to_cr4(1 << 15, l, LIMITS),
            Err(CrError::Cr4(Cr4Error::Reserved { bits: 1 << 15 }))
        );
        let none = Cr4Limits {
            not_switched: Cr4::OSFXSR | Cr4::OSXSAVE,
            ..LIMITS
        };
        assert_eq!(
            mov_to_cr4((Cr4::PAE | Cr4::OSFXSR).bits(), l, none),
            Err(CrError::ExtendedStateNotSwitched { bits: 1 << 9 })
        );
        // Bits 63:32 are ignored outside 64-bit mode.
        let s = unpaged_state();
        assert_eq!(mov_to_cr4(1 << 40, s, LIMITS).unwrap().visible, 0);
    }

    #[test]
    fn lmsw_and_clts() {
        let s = long_state();
        let u = lmsw(0xFFF0, s, FIXED).unwrap();
        assert_eq!(u.visible, s.cr0.bits(), "bits 15:4 ignored, PE kept");
        let u = lmsw(0xE, s, FIXED).unwrap();
        assert_eq!(u.visible, s.cr0.bits() | 0xE);
        let mut t = s;
        t.cr0 |= Cr0::TS;
        assert_eq!(clts(t, FIXED).unwrap().visible, s.cr0.bits());
        assert_eq!(mov_to_cr8(15), Ok(15));
        assert_eq!(mov_to_cr8(16), Err(CrError::Cr8Reserved { value: 16 }));
    }

    #[test]
    fn field_and_visible() {
        // Host owns TS (bit 3): the field keeps it, the guest's other bits go through, the
        // fixed bits are applied.
        let f = guest_field(0x11, 0x8000_0029, 0x8, FIXED);
        assert_eq!(f, 0x8000_0039);
        assert_eq!(visible(f, 0x11, 0x8000_0029), 0x11 | 0x10);
    }

    fn arb_state() -> impl Strategy<Value = CrState> {
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<bool>(),
        )
            .prop_map(|(cr0, cr4, efer, cr3, cs_l)| CrState {
                cr0: Cr0::from_bits_retain(cr0 & 0xFFFF_FFFF),
                cr4: Cr4::from_bits_retain(cr4),
                efer: Efer::from_bits_retain(efer),
                cr3,
                cs_l,
            })
    }

    proptest! {
        /// Never panics; agrees with a direct reading of the SDM rules.
        #[test]
        fn cr0_model(value in any::<u64>(), s in arb_state(), ug in any::<bool>()) {
            let fixed = if ug { FIXED_UG } else { FIXED };
            let r = mov_to_cr0(value, s, fixed);
            let op = if s.efer.contains(Efer::LMA) && s.cs_l { value } else { value & 0xFFFF_FFFF };
            let pe = op & 1 != 0;
            let pg = op >> 31 & 1 != 0;
            let gp = op >> 32 != 0
                || (pg && !pe)
                || (op >> 29 & 1 != 0 && op >> 30 & 1 == 0)
                || (op >> 16 & 1 == 0 && s.cr4.contains(Cr4::CET))
                || (s.cr0.contains(Cr0::PG) && !pg
                    && (s.in_64bit_mode() || s.cr4.contains(Cr4::PCIDE)))
                || (!s.cr0.contains(Cr0::PG) && pg && s.efer.contains(Efer::LME)
                    && !s.cr4.contains(Cr4::PAE));
            match r {
                Err(CrError::Cr0(_)) => prop_assert!(gp),
                Err(CrError::NotEmulated(_)) => prop_assert!(!gp),
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
                Ok(u) => {
                    prop_assert!(!gp);
                    prop_assert_eq!(u.visible, (op & Cr0::all().bits()) | 0x10);
                    let lma = if !s.cr0.contains(Cr0::PG) && pg { s.efer.contains(Efer::LME) }
                        else if s.cr0.contains(Cr0::PG) && !pg { false }
                        else { s.efer.contains(Efer::LMA) };
                    prop_assert_eq!(u.efer.contains(Efer::LMA), lma);
                    if !ug {
                        prop_assert_eq!((u.visible ^ s.cr0.bits()) & 0x8000_0001, 0);
                    }
                }
            }
        }

        #[test]
        fn cr4_model(value in any::<u64>(), s in arb_state(), ns in any::<bool>()) {
            let limits = Cr4Limits {
                not_switched: if ns { Cr4::OSFXSR | Cr4::OSXSAVE } else { Cr4::empty() },
                ..LIMITS
            };
            let op = s.operand(value);
            let lma = s.efer.contains(Efer::LMA);
            let gp = op & !LIMITS.supported.bits() != 0
                || (ns && op & (1 << 9 | 1 << 18) != 0)
                || (op & 1 << 17 != 0 && !s.cr4.contains(Cr4::PCIDE) && (!lma || s.cr3 & 0xFFF != 0))
                || (lma && op & 1 << 5 == 0)
                || (lma && (op ^ s.cr4.bits()) & 1 << 12 != 0)
                || (op & 1 << 23 != 0 && !s.cr0.contains(Cr0::WP));
            match mov_to_cr4(value, s, limits) {
                Ok(u) => {
                    prop_assert!(!gp);
                    prop_assert_eq!(u.visible, op);
                    prop_assert_eq!(u.efer, s.efer);
                }
                Err(CrError::NotEmulated(t)) => {
                    prop_assert!(!gp);
                    prop_assert_eq!(t, CrTransition::PaePdpteLoad);
                }
                Err(e) => prop_assert!(gp && e.is_guest_fault(), "{e:?}"),
            }
        }

        #[test]
        fn lmsw_never_clears_pe(src in any::<u16>(), s in arb_state()) {
            if let Ok(u) = lmsw(src, s, FIXED_UG) {
                prop_assert_eq!(u.visible & !0xF, s.cr0.bits() & !0xF);
                prop_assert_eq!(u.visible & 0xE, u64::from(src) & 0xE);
                prop_assert_eq!(u.visible & 1, (s.cr0.bits() | u64::from(src)) & 1);
            }
        }

        #[test]
        fn cr8_model(value in any::<u64>()) {
            prop_assert_eq!(mov_to_cr8(value).is_ok(), value < 16);
        }

        #[test]
        fn guest_field_respects_fixed_and_owned(v in any::<u64>(), f in any::<u64>(), o in any::<u64>()) {
            let g = guest_field(v, f, o, FIXED);
            prop_assert!(FIXED.check(g).is_ok());
            prop_assert_eq!(g & o & !fixed_mask(FIXED), f & o & !fixed_mask(FIXED));
            prop_assert_eq!(g & !o & !fixed_mask(FIXED), v & !o & !fixed_mask(FIXED));
        }
    }
}
