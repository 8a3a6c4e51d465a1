//! Translating a guest-linear address through the guest's own paging structures (SDM Vol. 3A
//! ch. 4 "Paging": §4.3 32-bit paging, §4.4 PAE paging, §4.5 4-level and 5-level paging,
//! §4.6 access rights, §4.7 page-fault exceptions).
//!
//! The walk is pure: it reads paging-structure entries through a [`GuestMemoryRead`] and
//! sets no accessed or dirty flag (the processor set them when it translated the access
//! that exited). With EPT the entries are at guest-physical addresses, which the
//! hypervisor's [`GuestMemoryRead`] translates through its own EPT (SDM Vol. 3C §29.3.1):
//! the guest's paging and the EPT are separate translations, and the EPT is the host's
//! business.
//!
//! Checked: the present flags, reserved bits (physical-address bits at or above
//! MAXPHYADDR, XD without EFER.NXE, PS where no page can be mapped, the reserved bits of
//! large-page entries and PAE PDPTEs), R/W, U/S with the CPL, CR0.WP, CR4.SMEP, CR4.SMAP with
//! RFLAGS.AC, and XD with IA32_EFER.NXE. Not checked: protection keys (§4.6.2), shadow-stack
//! accesses (CET, §4.6.3) and HLAT (§4.5.1).

use core::fmt;

use vmx_defs::addr::GuestPhysAddr;

/// Reads guest-physical memory, e.g. guest RAM mapped in the hypervisor (with EPT, the
/// implementation translates guest-physical addresses through the EPT itself; SDM Vol. 3C
/// §29.3). Paging-structure entries are read as 4- or 8-byte little-endian values and
/// instruction bytes as up to 15 bytes that never cross a 4-KiB page.
pub trait GuestMemoryRead {
    /// Why a read failed (e.g. the address is not guest RAM).
    type Error;

    /// Fills `buf` with the guest-physical memory at `gpa`.
    fn read(&self, gpa: GuestPhysAddr, buf: &mut [u8]) -> Result<(), Self::Error>;
}

impl<T: GuestMemoryRead + ?Sized> GuestMemoryRead for &T {
    type Error = T::Error;

    fn read(&self, gpa: GuestPhysAddr, buf: &mut [u8]) -> Result<(), Self::Error> {
        (**self).read(gpa, buf)
    }
}

/// CR0.WP (SDM Vol. 3A §2.5).
pub const CR0_WP: u64 = 1 << 16;
/// CR0.PG.
pub const CR0_PG: u64 = 1 << 31;
/// CR4.PSE (SDM Vol. 3A §2.5).
pub const CR4_PSE: u64 = 1 << 4;
/// CR4.PAE.
pub const CR4_PAE: u64 = 1 << 5;
/// CR4.LA57.
pub const CR4_LA57: u64 = 1 << 12;
/// CR4.SMEP.
pub const CR4_SMEP: u64 = 1 << 20;
/// CR4.SMAP.
pub const CR4_SMAP: u64 = 1 << 21;
/// IA32_EFER.LME (SDM Vol. 3A §2.2.1).
pub const EFER_LME: u64 = 1 << 8;
/// IA32_EFER.LMA.
pub const EFER_LMA: u64 = 1 << 10;
/// IA32_EFER.NXE.
pub const EFER_NXE: u64 = 1 << 11;

/// The paging mode CR0.PG, CR4.PAE, IA32_EFER.LME and CR4.LA57 select (SDM Vol. 3A §4.1.1
/// Table 4-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PagingMode {
    /// CR0.PG = 0: linear addresses are physical addresses (32 bits).
    None,
    /// 32-bit paging (§4.3); 4-MiB pages when CR4.PSE = 1, with PSE-36 address bits.
    Bits32,
    /// PAE paging (§4.4): four PDPTEs, 2-MiB and 4-KiB pages.
    Pae,
    /// 4-level paging (§4.5): 48-bit linear addresses, 1-GiB, 2-MiB and 4-KiB pages.
    Level4,
    /// 5-level paging (§4.5): 57-bit linear addresses.
    Level5,
}

/// The guest state that controls paging (SDM Vol. 3A §4.1), as the VMCS guest-state area
/// holds it (Vol. 3C §25.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PagingState {
    /// Guest CR0.
    pub cr0: u64,
    /// Guest CR3.
    pub cr3: u64,
    /// Guest CR4.
    pub cr4: u64,
    /// Guest IA32_EFER.
    pub efer: u64,
    /// The four PDPTEs of PAE paging as the processor holds them (with EPT, the VMCS guest
    /// PDPTE fields, SDM Vol. 3C §25.4.2, §27.3.2.4); `None` reads them from the 32-byte
    /// table CR3 points to (§4.4.1), which is what the processor loaded unless the guest
    /// changed that memory since its last load of CR3.
    pub pdptes: Option<[u64; 4]>,
    /// MAXPHYADDR (CPUID.80000008H:EAX\[7:0\], SDM Vol. 3A §4.1.4); values outside
    /// 32..=52 are taken as 52.
    pub maxphyaddr: u8,
}

impl PagingState {
    /// The paging mode (SDM Vol. 3A §4.1.1 Table 4-1). IA32_EFER.LMA distinguishes 4-level
    /// from PAE paging as the processor does (LMA = PG and LME).
    pub const fn mode(&self) -> PagingMode {
        if self.cr0 & CR0_PG == 0 {
            PagingMode::None
        } else if self.cr4 & CR4_PAE == 0 {
            PagingMode::Bits32
        } else if self.efer & EFER_LMA == 0 {
            PagingMode::Pae
        } else if self.cr4 & CR4_LA57 == 0 {
            PagingMode::Level4
        } else {
            PagingMode::Level5
        }
    }

    fn maxphyaddr(&self) -> u32 {
        match self.maxphyaddr {
            m @ 32..=52 => u32::from(m),
            _ => 52,
        }
    }
}

/// What kind of access a translation is for (SDM Vol. 3A §4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Execute,
}

/// One access to translate: its kind and the privilege it is made with (SDM Vol. 3A
/// §4.6: "supervisor-mode" when CPL < 3, "user-mode" when CPL = 3; implicit supervisor
/// accesses, e.g. to descriptor tables, are supervisor-mode at any CPL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// Read, write or fetch.
    pub kind: AccessKind,
    /// The current privilege level (CS.DPL / SS.DPL in the VMCS).
    pub cpl: u8,
    /// An implicit supervisor-mode access (§4.6): supervisor at any CPL, and never
    /// allowed to user-mode pages under SMAP whatever RFLAGS.AC.
    pub implicit_supervisor: bool,
    /// RFLAGS.AC, which lets explicit supervisor data accesses reach user-mode pages under
    /// CR4.SMAP (§4.6.1).
    pub rflags_ac: bool,
}

impl Access {
    /// An explicit access of `kind` at `cpl` with RFLAGS.AC = 0.
    pub const fn new(kind: AccessKind, cpl: u8) -> Self {
        Self {
            kind,
            cpl,
            implicit_supervisor: false,
            rflags_ac: false,
        }
    }

    const fn user(&self) -> bool {
        self.cpl == 3 && !self.implicit_supervisor
    }
}

/// A page-fault exception the access would raise (SDM Vol. 3A §4.7): CR2 and the error code
/// (Figure 4-12), for the hypervisor to inject (vector 14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageFault {
    /// The faulting linear address (the guest's CR2).
    pub address: u64,
    /// The error code: P (bit 0), W/R (1), U/S (2), RSVD (3), I/D (4).
    pub error_code: u32,
}

impl PageFault {
    /// Error code bit 0: 0 for a non-present page, 1 for a protection violation.
    pub const P: u32 = 1 << 0;
    /// Error code bit 1: the access was a write.
    pub const W: u32 = 1 << 1;
    /// Error code bit 2: a user-mode access.
    pub const U: u32 = 1 << 2;
    /// Error code bit 3: a reserved bit was set in a paging-structure entry.
    pub const RSVD: u32 = 1 << 3;
    /// Error code bit 4: an instruction fetch (reported only with CR4.SMEP = 1 or with
    /// PAE/4-level/5-level paging and IA32_EFER.NXE = 1, §4.7).
    pub const I: u32 = 1 << 4;
}

/// Why a translation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalkError<E> {
    /// The access raises a page fault in the guest (SDM Vol. 3A §4.7).
    PageFault(PageFault),
    /// The linear address is not canonical for the paging mode (SDM Vol. 3A §3.3.7.1,
    /// §4.5): the access raises #GP(0) or #SS(0), not #PF.
    NonCanonical(u64),
    /// A PAE PDPTE that is present has reserved bits set (SDM Vol. 3A §4.4.1): the MOV to
    /// CR3 that loaded it would have raised #GP, so no page fault describes it.
    InvalidPdpte {
        /// Which PDPTE (bits 31:30 of the address).
        index: u8,
        /// Its value.
        value: u64,
    },
    /// Reading a paging-structure entry (or instruction bytes) failed.
    Memory {
        /// The guest-physical address read.
        gpa: GuestPhysAddr,
        /// The reader's error.
        error: E,
    },
}

impl<E: fmt::Display> fmt::Display for WalkError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PageFault(pf) => write!(
                f,
                "page fault at {:#x}, error code {:#x}",
                pf.address, pf.error_code
            ),
            Self::NonCanonical(a) => write!(f, "linear address {a:#x} is not canonical"),
            Self::InvalidPdpte { index, value } => {
                write!(f, "PDPTE{index} {value:#x} has reserved bits set")
            }
            Self::Memory { gpa, error } => {
                write!(f, "reading guest-physical {:#x}: {error}", gpa.as_u64())
            }
        }
    }
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The guest-physical address.
    pub gpa: GuestPhysAddr,
    /// The size of the page that maps it, in bytes (4 KiB, 4 MiB, 2 MiB, 1 GiB; 4 GiB
    /// without paging).
    pub page_size: u64,
}

const P: u64 = 1 << 0;
const RW: u64 = 1 << 1;
const US: u64 = 1 << 2;
const PS: u64 = 1 << 7;
const XD: u64 = 1 << 63;

/// The rights a walk collected: R/W and U/S are ANDed, XD ORed over every level that has
/// them (§4.6.1).
#[derive(Clone, Copy)]
struct Rights {
    writable: bool,
    user: bool,
    no_execute: bool,
}

/// Translates the linear address `la` for `access` with the paging state `paging`.
///
/// Implements SDM Vol. 3A §4.3-§4.6 for every paging mode; a failure is the page fault the
/// access would raise (§4.7), a non-canonical address, an invalid PDPTE or a failed read.
/// Total: any state and address give a result.
pub fn translate<M: GuestMemoryRead + ?Sized>(
    memory: &M,
    paging: &PagingState,
    la: u64,
    access: Access,
) -> Result<Translation, WalkError<M::Error>> {
    let mode = paging.mode();
    let m = paging.maxphyaddr();
    // Bits 51:M of a 64-bit entry are reserved (§4.4.2, §4.5.4).
    let high_reserved = (((1u64 << 52) - 1) & !((1u64 << m) - 1)) & !XD;
    let nxe = paging.efer & EFER_NXE != 0;
    let xd_reserved = if nxe { 0 } else { XD };
    let fault = |code: u32| -> WalkError<M::Error> {
        WalkError::PageFault(PageFault {
            address: la,
            error_code: code | access_bits(paging, access, mode),
        })
    };
    let mut rights = Rights {
        writable: true,
        user: true,
        no_execute: false,
    };
    let (leaf, page_size) = match mode {
        PagingMode::None => {
            return Ok(Translation {
                gpa: GuestPhysAddr::new(la & 0xFFFF_FFFF),
                page_size: 1 << 32,
            });
        }
        PagingMode::Bits32 => {
            let la = la & 0xFFFF_FFFF;
            let pde_gpa = (paging.cr3 & 0xFFFF_F000) | ((la >> 22) << 2);
            let pde = read_entry(memory, pde_gpa, 4)?;
            if pde & P == 0 {
                return Err(fault(0));
            }
            collect(&mut rights, pde, false);
            if pde & PS != 0 && paging.cr4 & CR4_PSE != 0 {
                // PSE-36: bits 20:13 hold physical-address bits 39:32 up to MAXPHYADDR;
                // bit 21 and the bits above MAXPHYADDR are reserved (§4.3, Table 4-4).
                let width = m.min(40) - 32;
                let reserved = 0x3F_E000 & !((1u64 << (13 + width)) - 1);
                if pde & reserved != 0 {
                    return Err(fault(PageFault::P | PageFault::RSVD));
                }
                let base = (pde & 0xFFC0_0000) | (((pde >> 13) & 0xFF) << 32);
                (base | (la & 0x3F_FFFF), 1 << 22)
            } else {
                let pte_gpa = (pde & 0xFFFF_F000) | (((la >> 12) & 0x3FF) << 2);
                let pte = read_entry(memory, pte_gpa, 4)?;
                if pte & P == 0 {
                    return Err(fault(0));
                }
                collect(&mut rights, pte, false);
                ((pte & 0xFFFF_F000) | (la & 0xFFF), 1 << 12)
            }
        }
        PagingMode::Pae => {
            let la = la & 0xFFFF_FFFF;
            let index = (la >> 30) as usize;
            let pdpte = match paging.pdptes {
                Some(p) => p[index],
                None => read_entry(memory, (paging.cr3 & 0xFFFF_FFE0) + 8 * index as u64, 8)?,
            };
            if pdpte & P == 0 {
                return Err(fault(0));
            }
            // PDPTE bits 2:1, 8:5 and 63:M are reserved (§4.4.1 Table 4-8).
            if pdpte & (0x1E6 | high_reserved | XD) != 0 {
                return Err(WalkError::InvalidPdpte {
                    index: index as u8,
                    value: pdpte,
                });
            }
            let table = pdpte & addr_mask(m);
            walk_levels(
                memory,
                table,
                la,
                &[(21, true), (12, false)],
                high_reserved | xd_reserved,
                m,
                &mut rights,
                &fault,
            )?
        }
        PagingMode::Level4 | PagingMode::Level5 => {
            let bits = if mode == PagingMode::Level5 { 57 } else { 48 };
            let shift = 64 - bits;
            if (((la << shift) as i64) >> shift) as u64 != la {
                return Err(WalkError::NonCanonical(la));
            }
            let levels: &[(u32, bool)] = if mode == PagingMode::Level5 {
                &[
                    (48, false),
                    (39, false),
                    (30, true),
                    (21, true),
                    (12, false),
                ]
            } else {
                &[(39, false), (30, true), (21, true), (12, false)]
            };
            walk_levels(
                memory,
                paging.cr3 & addr_mask(m),
                la,
                levels,
                high_reserved | xd_reserved,
                m,
                &mut rights,
                &fault,
            )?
        }
    };
    check_rights(paging, access, rights, mode).map_err(|code| fault(PageFault::P | code))?;
    Ok(Translation {
        gpa: GuestPhysAddr::new(leaf),
        page_size,
    })
}

/// Bits M-1:12 (a table's or 4-KiB page's address in a 64-bit entry).
const fn addr_mask(m: u32) -> u64 {
    ((1u64 << m) - 1) & !0xFFF
}

/// Walks 8-byte entries starting with the table at `table`: each level is (shift of its
/// index, whether PS = 1 maps a page there).
#[allow(clippy::too_many_arguments)]
fn walk_levels<M: GuestMemoryRead + ?Sized>(
    memory: &M,
    mut table: u64,
    la: u64,
    levels: &[(u32, bool)],
    reserved: u64,
    m: u32,
    rights: &mut Rights,
    fault: &dyn Fn(u32) -> WalkError<M::Error>,
) -> Result<(u64, u64), WalkError<M::Error>> {
    for &(shift, may_map) in levels {
        let entry_gpa = table | (((la >> shift) & 0x1FF) << 3);
        let entry = read_entry(memory, entry_gpa, 8)?;
        if entry & P == 0 {
            return Err(fault(0));
        }
        let is_leaf = shift == 12 || (may_map && entry & PS != 0);
        // PS is reserved where no page can be mapped (PML5E, PML4E); a large page's bits
        // between 12 and its offset, except PAT (bit 12), are reserved (§4.5.4 Tables).
        let mut rsvd = reserved;
        if !may_map && shift != 12 {
            rsvd |= PS;
        }
        if is_leaf && shift > 12 {
            rsvd |= ((1u64 << shift) - 1) & !0x1FFF;
        }
        if entry & rsvd != 0 {
            return Err(fault(PageFault::P | PageFault::RSVD));
        }
        collect(rights, entry, true);
        if is_leaf {
            let size = 1u64 << shift;
            let base = entry & addr_mask(m) & !(size - 1);
            return Ok((base | (la & (size - 1)), size));
        }
        table = entry & addr_mask(m);
    }
    // The last level (shift 12) is always a leaf.
    Err(fault(0))
}

fn read_entry<M: GuestMemoryRead + ?Sized>(
    memory: &M,
    gpa: u64,
    size: usize,
) -> Result<u64, WalkError<M::Error>> {
    let mut bytes = [0u8; 8];
    let gpa = GuestPhysAddr::new(gpa);
    memory
        .read(gpa, &mut bytes[..size])
        .map_err(|error| WalkError::Memory { gpa, error })?;
    Ok(u64::from_le_bytes(bytes))
}

fn collect(rights: &mut Rights, entry: u64, has_xd: bool) {
    rights.writable &= entry & RW != 0;
    rights.user &= entry & US != 0;
    rights.no_execute |= has_xd && entry & XD != 0;
}

/// The U/S, W/R and I/D bits of the error code for `access` (§4.7).
fn access_bits(paging: &PagingState, access: Access, mode: PagingMode) -> u32 {
    let mut code = 0;
    if access.user() {
        code |= PageFault::U;
    }
    match access.kind {
        AccessKind::Write => code |= PageFault::W,
        AccessKind::Execute => {
            let nx = paging.efer & EFER_NXE != 0 && mode != PagingMode::Bits32;
            if paging.cr4 & CR4_SMEP != 0 || nx {
                code |= PageFault::I;
            }
        }
        AccessKind::Read => {}
    }
    code
}

/// The access rights of SDM Vol. 3A §4.6.1 for a translation with `rights`: `Err(0)` is a
/// protection violation (the caller sets P).
fn check_rights(
    paging: &PagingState,
    access: Access,
    rights: Rights,
    mode: PagingMode,
) -> Result<(), u32> {
    let wp = paging.cr0 & CR0_WP != 0;
    let smep = paging.cr4 & CR4_SMEP != 0;
    let smap = paging.cr4 & CR4_SMAP != 0;
    let nx = paging.efer & EFER_NXE != 0 && mode != PagingMode::Bits32 && rights.no_execute;
    let allowed = if access.user() {
        rights.user
            && match access.kind {
                AccessKind::Read => true,
                AccessKind::Write => rights.writable,
                AccessKind::Execute => !nx,
            }
    } else {
        match access.kind {
            AccessKind::Read => {
                !(rights.user && smap && (access.implicit_supervisor || !access.rflags_ac))
            }
            AccessKind::Write => {
                !(rights.user && smap && (access.implicit_supervisor || !access.rflags_ac))
                    && (!wp || rights.writable)
            }
            AccessKind::Execute => !(nx || (rights.user && smep)),
        }
    };
    if allowed { Ok(()) } else { Err(0) }
}
