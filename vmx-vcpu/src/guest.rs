//! The guest's start state (SDM Vol. 3C §25.4 "Guest-State Area"; checks in §27.3.1).

use vmx_defs::guest_state::{PrivilegeLevel, SegmentAccessRights};

/// One segment register as the VMCS holds it (selector, base, limit, access rights;
/// SDM §25.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Selector.
    pub selector: u16,
    /// Base address.
    pub base: u64,
    /// Limit in bytes (already scaled by the granularity bit).
    pub limit: u32,
    /// Access rights in VMCS format (bit 16 = unusable).
    pub access_rights: SegmentAccessRights,
}

impl Segment {
    /// TR as the processor leaves it after reset or INIT: selector 0, base 0, limit FFFFH,
    /// present (SDM Vol. 3A §10.1.1 Table 10-1), with the type a busy 32-bit TSS (11).
    ///
    /// Table 10-1 gives no type for TR ("Present, R/W"); VM entry needs a busy TSS, type 3
    /// or 11 (Vol. 3C §27.3.1.2), and only 11 lets the guest activate IA-32e mode before
    /// loading a TR of its own, as an application processor started by SIPI does (Linux's
    /// trampoline turns on CR0.PG with EFER.LME and loads TR later; Bochs raises #GP on
    /// that activation with a 16-bit TSS in TR, and its own reset state is type 11, as is
    /// KVM's). A real-mode guest never uses TR's type.
    pub const fn reset_tr() -> Self {
        Self {
            selector: 0,
            base: 0,
            limit: 0xFFFF,
            access_rights: SegmentAccessRights::tss_busy(),
        }
    }

    /// LDTR as the processor leaves it after reset or INIT: selector 0, base 0, limit FFFFH
    /// (SDM Vol. 3A §10.1.1 Table 10-1).
    pub const fn reset_ldtr() -> Self {
        Self {
            selector: 0,
            base: 0,
            limit: 0xFFFF,
            access_rights: SegmentAccessRights::ldtr(),
        }
    }

    /// An unusable segment (access-rights bit 16; SDM §25.4.1).
    pub const fn unusable() -> Self {
        Self {
            selector: 0,
            base: 0,
            limit: 0,
            access_rights: SegmentAccessRights::unusable(),
        }
    }

    /// A real-mode segment: base = selector × 16, limit 0xFFFF, accessed read/write
    /// (execute/read for CS) with S=1, P=1 (what unrestricted guest expects, §27.3.1.2).
    pub const fn real_mode(selector: u16, code: bool) -> Self {
        Self {
            selector,
            base: (selector as u64) << 4,
            limit: 0xFFFF,
            access_rights: if code {
                SegmentAccessRights::real_mode_code()
            } else {
                SegmentAccessRights::real_mode_data()
            },
        }
    }

    /// A flat 64-bit ring-0 code segment.
    pub const fn code64(selector: u16) -> Self {
        Self {
            selector,
            base: 0,
            limit: 0xFFFF_FFFF,
            access_rights: SegmentAccessRights::code64(PrivilegeLevel::Ring0),
        }
    }

    /// A flat 32-bit ring-0 code segment.
    pub const fn code32(selector: u16) -> Self {
        Self {
            selector,
            base: 0,
            limit: 0xFFFF_FFFF,
            access_rights: SegmentAccessRights::code32(PrivilegeLevel::Ring0),
        }
    }

    /// A flat ring-0 read/write data segment.
    pub const fn data(selector: u16) -> Self {
        Self {
            selector,
            base: 0,
            limit: 0xFFFF_FFFF,
            access_rights: SegmentAccessRights::data(PrivilegeLevel::Ring0),
        }
    }

    /// A busy 64-bit (or 32-bit) TSS at `base` with `limit`.
    pub const fn tss(selector: u16, base: u64, limit: u32) -> Self {
        Self {
            selector,
            base,
            limit,
            access_rights: SegmentAccessRights::tss_busy(),
        }
    }
}

/// GDTR or IDTR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DescriptorTableRegister {
    /// Base address.
    pub base: u64,
    /// Limit.
    pub limit: u16,
}

/// The guest's registers at the first VM entry.
///
/// CR0 and CR4 are the values the guest should see: the vCPU keeps them in the read shadows
/// and loads the values VMX requires (fixed bits, CR4.VMXE) into the guest fields, owning
/// the bits that differ through the guest/host masks (SDM §25.6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestState {
    /// CR0 as the guest sees it.
    pub cr0: u64,
    /// CR3.
    pub cr3: u64,
    /// CR4 as the guest sees it.
    pub cr4: u64,
    /// IA32_EFER (LMA must equal the "IA-32e mode guest" entry control, which the vCPU
    /// derives from it).
    pub efer: u64,
    /// IA32_PAT.
    pub pat: u64,
    /// CS.
    pub cs: Segment,
    /// SS.
    pub ss: Segment,
    /// DS.
    pub ds: Segment,
    /// ES.
    pub es: Segment,
    /// FS.
    pub fs: Segment,
    /// GS.
    pub gs: Segment,
    /// TR (must be usable, SDM §27.3.1.2).
    pub tr: Segment,
    /// LDTR.
    pub ldtr: Segment,
    /// GDTR.
    pub gdtr: DescriptorTableRegister,
    /// IDTR.
    pub idtr: DescriptorTableRegister,
    /// RIP.
    pub rip: u64,
    /// RSP.
    pub rsp: u64,
    /// RFLAGS (bit 1 is forced to 1).
    pub rflags: u64,
    /// DR7.
    pub dr7: u64,
}

pub use vmx_defs::capabilities::{CR0_NE, CR0_PE, CR0_PG};
/// CR0.ET.
pub const CR0_ET: u64 = 1 << 4;
/// CR4.PAE.
pub const CR4_PAE: u64 = 1 << 5;
/// IA32_EFER.LME.
pub const EFER_LME: u64 = 1 << 8;
/// IA32_EFER.LMA.
pub const EFER_LMA: u64 = 1 << 10;
/// The power-up PAT value (SDM Vol. 3A §12.12.4).
pub const PAT_DEFAULT: u64 = 0x0007_0406_0007_0406;

impl GuestState {
    /// Real-address mode at `cs:ip` with SS:SP = `ss:sp` (needs "unrestricted guest" and
    /// EPT; SDM §27.3.1.1). CR0 = ET (0x10), like after reset, apart from CS.
    pub const fn real_mode(cs: u16, ip: u16, ss: u16, sp: u16) -> Self {
        Self {
            cr0: CR0_ET,
            cr3: 0,
            cr4: 0,
            efer: 0,
            pat: PAT_DEFAULT,
            cs: Segment::real_mode(cs, true),
            ss: Segment::real_mode(ss, false),
            ds: Segment::real_mode(0, false),
            es: Segment::real_mode(0, false),
            fs: Segment::real_mode(0, false),
            gs: Segment::real_mode(0, false),
            tr: Segment::reset_tr(),
            ldtr: Segment::reset_ldtr(),
            gdtr: DescriptorTableRegister {
                base: 0,
                limit: 0xFFFF,
            },
            idtr: DescriptorTableRegister {
                base: 0,
                limit: 0x3FF,
            },
            rip: ip as u64,
            rsp: sp as u64,
            rflags: 0x2,
            dr7: 0x400,
        }
    }

    /// 32-bit protected mode without paging, ring 0, flat 4-GiB segments (CS selector
    /// 0x08, data 0x10), at `eip` with ESP = `esp`. CR0 = PE|ET|NE. Paging is off, so the
    /// vCPU needs "unrestricted guest" (and EPT); set CR0.PG and CR3 (and CR4.PAE) in the
    /// returned state for a paged protected-mode guest, which does not.
    pub const fn protected_mode(eip: u32, esp: u32) -> Self {
        Self {
            cr0: CR0_PE | CR0_ET | CR0_NE,
            cr3: 0,
            cr4: 0,
            efer: 0,
            pat: PAT_DEFAULT,
            cs: Segment::code32(0x08),
            ss: Segment::data(0x10),
            ds: Segment::data(0x10),
            es: Segment::data(0x10),
            fs: Segment::data(0x10),
            gs: Segment::data(0x10),
            tr: Segment {
                selector: 0x18,
                base: 0,
                limit: 0x67,
                access_rights: SegmentAccessRights::tss_busy(),
            },
            ldtr: Segment {
                selector: 0,
                base: 0,
                limit: 0,
                access_rights: SegmentAccessRights::unusable(),
            },
            gdtr: DescriptorTableRegister {
                base: 0,
                limit: 0xFFFF,
            },
            idtr: DescriptorTableRegister { base: 0, limit: 0 },
            rip: eip as u64,
            rsp: esp as u64,
            rflags: 0x2,
            dr7: 0x400,
        }
    }

    /// 64-bit mode, ring 0, flat segments: CR0 = PE|ET|NE|WP|PG, CR4 = PAE, EFER = LME|LMA,
    /// CR3 = `cr3`, CS selector 0x08, SS/DS/ES selector 0x10 (FS/GS null-selector flat
    /// data), TR, GDTR and IDTR from the arguments. Change the public fields for other
    /// selectors or EFER bits (e.g. NXE).
    pub const fn long_mode(
        cr3: u64,
        rip: u64,
        rsp: u64,
        tr: Segment,
        gdtr: DescriptorTableRegister,
        idtr: DescriptorTableRegister,
    ) -> Self {
        Self {
            cr0: CR0_PE | CR0_ET | CR0_NE | (1 << 16) | CR0_PG,
            cr3,
            cr4: CR4_PAE,
            efer: EFER_LME | EFER_LMA,
            pat: PAT_DEFAULT,
            cs: Segment::code64(0x08),
            ss: Segment::data(0x10),
            ds: Segment::data(0x10),
            es: Segment::data(0x10),
            fs: Segment::data(0),
            gs: Segment::data(0),
            tr,
            ldtr: Segment {
                selector: 0,
                base: 0,
                limit: 0,
                access_rights: SegmentAccessRights::unusable(),
            },
            gdtr,
            idtr,
            rip,
            rsp,
            rflags: 0x2,
            dr7: 0x400,
        }
    }

    /// Whether the state is IA-32e mode (EFER.LMA).
    pub const fn is_long_mode(&self) -> bool {
        self.efer & EFER_LMA != 0
    }

    /// Whether paging or protection is off, which needs "unrestricted guest".
    pub const fn needs_unrestricted_guest(&self) -> bool {
        self.cr0 & CR0_PE == 0 || self.cr0 & CR0_PG == 0
    }
}

/// A segment register of the guest-state area (SDM Vol. 3C §25.4.1: ES, CS, SS, DS, FS,
/// GS, LDTR, TR, each with selector, base, limit and access rights).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentReg {
    /// ES.
    Es,
    /// CS.
    Cs,
    /// SS.
    Ss,
    /// DS.
    Ds,
    /// FS.
    Fs,
    /// GS.
    Gs,
    /// LDTR.
    Ldtr,
    /// TR.
    Tr,
}

impl SegmentReg {
    /// Every segment register, in VMCS encoding order.
    pub const ALL: [SegmentReg; 8] = [
        Self::Es,
        Self::Cs,
        Self::Ss,
        Self::Ds,
        Self::Fs,
        Self::Gs,
        Self::Ldtr,
        Self::Tr,
    ];
}
