//! [`EptPageTable`]: an EPT paging-structure hierarchy (SDM Vol. 3C §29.3.2).

mod accessed_dirty;
mod iter;
mod map;
mod query;
pub(crate) mod raw;
pub(crate) mod retired;
mod unmap;

use core::cell::Cell;

use vmx_defs::ept::{Eptp, EptpError};

use crate::addr::{GuestPhysAddr, HostPhysAddr, PageSize};
use crate::config::EptConfig;
use crate::entry::{EptAttributes, EptEntry, EptFlags};
use crate::error::{AddrKind, Capability, EptError, FlagsError};
use crate::memory::HostMemory;
use vmx_defs::ept::PageWalkLength;

pub use accessed_dirty::AccessedDirty;
pub use iter::Mappings;

use crate::entry::MEMORY_TYPE_SHIFT;
use raw::{ENTRIES, NON_LEAF_RIGHTS, PS, TablePtr, index, is_leaf, table_addr};
use retired::RetiredList;

/// One mapping: a page of guest-physical memory and the host-physical page it maps to,
/// with the leaf entry that maps it.
///
/// Two words (the page's guest-physical address with its size, and the leaf entry), so that
/// lookups return it cheaply; the accessors decode it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mapping {
    /// The guest-physical address of the page, with the page size encoded in bits 1:0
    /// (0: 4 KiB, 1: 2 MiB, 2: 1 GiB).
    base: u64,
    /// The leaf entry.
    entry: EptEntry,
}

impl Mapping {
    #[inline]
    const fn new(gpa: u64, level: u32, entry: u64) -> Self {
        let size_code = (level - 1) as u64 & 3;
        let shift = 12 + 9 * (size_code as u32);
        Self {
            base: (gpa & !((1u64 << shift) - 1)) | size_code,
            entry: EptEntry(entry),
        }
    }

    /// Guest-physical address of the page (aligned to its size).
    #[inline]
    pub const fn gpa(&self) -> GuestPhysAddr {
        GuestPhysAddr::new(self.base & !0xfff)
    }

    /// The page size.
    #[inline]
    pub const fn size(&self) -> PageSize {
        match self.base & 3 {
            0 => PageSize::Size4K,
            1 => PageSize::Size2M,
            _ => PageSize::Size1G,
        }
    }

    /// Host-physical address of the page (aligned to its size).
    #[inline]
    pub const fn hpa(&self) -> HostPhysAddr {
        self.entry.frame(self.size())
    }

    /// The leaf entry, as the processor left it (with its accessed and dirty flags).
    #[inline]
    pub const fn entry(&self) -> EptEntry {
        self.entry
    }

    /// The flags (accessed and dirty included) and memory type of the leaf.
    #[inline]
    pub const fn attributes(&self) -> EptAttributes {
        EptAttributes::of_entry(self.entry)
    }
}

/// The last page table (level 1) the table walked to, so that runs of operations on the
/// same 2-MiB region skip the walk. Invalidated whenever a paging structure is freed.
#[derive(Clone, Copy)]
struct LeafCache {
    /// `gpa >> 21` of the region, or `u64::MAX` when empty.
    tag: u64,
    /// The page table.
    pt: TablePtr,
}

const NO_TAG: u64 = u64::MAX;

/// An EPT paging-structure hierarchy for one guest (SDM Vol. 3C §29.3).
///
/// Maps guest-physical to host-physical pages of 4 KiB, 2 MiB and 1 GiB (the larger sizes
/// when [`EptConfig`] allows them), with 4-level or 5-level walks. Structures come from the
/// [`HostMemory`] (one frame each, `alloc_frames(1)`).
///
/// Operations that can leave stale translations in the processor's caches (unmap, protect,
/// splitting a large page, clearing A/D flags) return a `#[must_use]`
/// [`FlushToken`](crate::FlushToken) and record a pending invalidation; see
/// [`EptPageTable::flush`] and the crate documentation.
///
/// A paging structure left empty by an unmap is unlinked at once but *retired*, not given
/// back: processors cache upper-level EPT entries (SDM Vol. 3C §29.4.2), so a stale walk may
/// still read it until an INVEPT covering every processor that may cache the EPTP has
/// completed (§29.4.3.1). [`flush`](EptPageTable::flush) gives the retired frames back
/// after a successful INVEPT; [`Ept`](crate::Ept) does it once every vCPU has synchronised.
/// Every frame, retired ones included, is given back on drop.
///
/// The table is `Send` when the host is, but not `Sync`: lookups through `&self` update a
/// one-entry walk cache.
pub struct EptPageTable<H: HostMemory> {
    host: H,
    config: EptConfig,
    root: HostPhysAddr,
    root_ptr: TablePtr,
    levels: u32,
    /// 48 or 57.
    gpa_width: u32,
    /// 2^MAXPHYADDR.
    hpa_limit: u64,
    /// Frames in use, the root included (retired frames not counted).
    frames: usize,
    /// Frames unlinked since the last completed invalidation.
    retired: RetiredList,
    /// An invalidation is owed for changes made since the last flush.
    pending_flush: bool,
    eptp: Eptp,
    cache: Cell<LeafCache>,
}

// SAFETY: the raw pointers inside (root_ptr, cache) point to frames this table exclusively
// owns (HostMemory contract); moving the table to another thread moves that ownership along,
// and the host moves with it (`H: Send`).
unsafe impl<H: HostMemory + Send> Send for EptPageTable<H> {}

impl<H: HostMemory> EptPageTable<H> {
    /// An empty table: allocates the root (the EPT PML4 table, or the PML5 table for a
    /// 5-level walk).
    pub fn new(host: H, config: EptConfig) -> Result<Self, EptError> {
        let hpa_limit = 1u64 << config.phys_addr_width();
        let root = alloc_checked(&host, hpa_limit)?;
        let root_ptr = TablePtr(host.phys_to_virt(root).as_ptr().cast_const().cast());
        let levels = match config.walk_length() {
            PageWalkLength::Four => 4,
            PageWalkLength::Five => 5,
        };
        let eptp = match make_eptp(root, &config) {
            Ok(eptp) => eptp,
            Err(e) => {
                // SAFETY: allocated above with alloc_frames(1), never linked or named by an
                // EPTP, so no processor can have cached anything through it.
                unsafe { host.free_frames(root, 1) };
                return Err(EptError::Eptp(e));
            }
        };
        Ok(Self {
            host,
            config,
            root,
            root_ptr,
            levels,
            gpa_width: raw::level_shift(levels) + 9,
            hpa_limit,
            frames: 1,
            retired: RetiredList::new(),
            pending_flush: false,
            eptp,
            cache: Cell::new(LeafCache {
                tag: NO_TAG,
                pt: root_ptr,
            }),
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &EptConfig {
        &self.config
    }

    /// Host-physical address of the root structure (EPTP bits N-1:12).
    pub const fn root(&self) -> HostPhysAddr {
        self.root
    }

    /// Number of paging-structure frames in use, the root included (SDM Vol. 3C
    /// §29.3.2); retired frames are not counted.
    pub const fn frames_used(&self) -> usize {
        self.frames
    }

    /// Number of frames unlinked since the last completed invalidation and not yet given
    /// back: a processor may still reach them through cached upper-level entries until an
    /// INVEPT (SDM Vol. 3C §29.4.2, §29.4.3.1).
    pub const fn frames_retired(&self) -> usize {
        self.retired.len()
    }

    /// The number of guest-physical address bits the walk translates: 48 (4-level) or 57
    /// (5-level) (SDM Vol. 3C §29.3.2).
    pub const fn guest_address_width(&self) -> u32 {
        self.gpa_width
    }

    /// The host.
    pub const fn host(&self) -> &H {
        &self.host
    }

    /// Whether changes since the last flush still need an INVEPT.
    pub const fn needs_flush(&self) -> bool {
        self.pending_flush
    }

    /// Forgets the pending invalidation and hands over the frames retired since the last
    /// one, tagged with `generation`, to `into`: the caller now owns the duty to invalidate
    /// before giving them back.
    pub(crate) fn take_pending(&mut self, into: &mut RetiredList, generation: u64) {
        into.append(&self.host, &mut self.retired, generation);
        self.pending_flush = false;
    }

    /// Forgets the pending invalidation and gives back the retired frames.
    ///
    /// # Safety
    /// An invalidation of this table's EPTP that covers every logical processor that may
    /// have cached translations from it has completed after the last change.
    pub(crate) unsafe fn complete_flush(&mut self) {
        // SAFETY: the caller's contract: no processor retains translations through the
        // retired frames; they came from this table's host.
        unsafe { self.retired.release(&self.host, u64::MAX) };
        self.pending_flush = false;
    }

    /// The EPT pointer for the VMCS (SDM Vol. 3C §25.6.11): the root, the walk length, the
    /// paging-structure memory type, and the A/D and supervisor shadow-stack enables of
    /// the configuration.
    ///
    /// Loading it into a VMCS and entering the guest is the business of `unsafe` code that
    /// must keep the table alive and flushed for as long as a processor may use it;
    /// [`Ept`](crate::Ept) and [`EptUser`](crate::EptUser) do that bookkeeping.
    pub const fn eptp(&self) -> Eptp {
        self.eptp
    }

    // ----- internals shared by the operation files -----

    #[inline]
    fn table_ptr(&self, entry: u64) -> TablePtr {
        TablePtr(
            self.host
                .phys_to_virt(HostPhysAddr::new(table_addr(entry)))
                .as_ptr()
                .cast_const()
                .cast(),
        )
    }

    fn alloc_table(&mut self) -> Result<(u64, TablePtr), EptError> {
        let frame = alloc_checked(&self.host, self.hpa_limit)?;
        self.frames += 1;
        Ok((
            frame.as_u64(),
            TablePtr(self.host.phys_to_virt(frame).as_ptr().cast_const().cast()),
        ))
    }

    /// Retires the (empty) structure that `entry` referenced, just unlinked: it is given
    /// back only after the next completed invalidation (SDM Vol. 3C §29.4.3.1), and records
    /// that one is owed.
    fn retire_table(&mut self, entry: u64) {
        self.cache.set(LeafCache {
            tag: NO_TAG,
            ..self.cache.get()
        });
        self.retired
            .push(&self.host, HostPhysAddr::new(table_addr(entry)), 0);
        self.frames -= 1;
        self.pending_flush = true;
    }

    /// Checks a page-sized guest-physical address.
    #[inline]
    fn check_gpa(&self, gpa: GuestPhysAddr, size: PageSize) -> Result<u64, EptError> {
        let g = gpa.as_u64();
        if g & (size.bytes() - 1) != 0 {
            return Err(EptError::Misaligned {
                kind: AddrKind::GuestPhys,
                value: g,
                alignment: size.bytes(),
            });
        }
        if g >> self.gpa_width != 0 {
            return Err(EptError::BeyondWalkLength {
                gpa,
                width: self.gpa_width,
            });
        }
        Ok(g)
    }

    /// Checks a 4-KiB-aligned, non-empty range within the walk's reach; returns its bounds.
    fn check_range(&self, gpa: GuestPhysAddr, len: u64) -> Result<(u64, u64), EptError> {
        let start = self.check_gpa(gpa, PageSize::Size4K)?;
        if len & 0xfff != 0 {
            return Err(EptError::Misaligned {
                kind: AddrKind::Length,
                value: len,
                alignment: 0x1000,
            });
        }
        let end = match start.checked_add(len) {
            Some(end) if len != 0 => end,
            _ => return Err(EptError::InvalidRange { gpa, len }),
        };
        if end > 1u64 << self.gpa_width {
            return Err(EptError::BeyondWalkLength {
                gpa: GuestPhysAddr::new(1u64 << self.gpa_width),
                width: self.gpa_width,
            });
        }
        Ok((start, end))
    }

    /// Checks a host-physical address for a page of `size`.
    #[inline]
    fn check_hpa(&self, hpa: HostPhysAddr, size: PageSize) -> Result<u64, EptError> {
        let h = hpa.as_u64();
        if h & (size.bytes() - 1) != 0 {
            return Err(EptError::Misaligned {
                kind: AddrKind::HostPhys,
                value: h,
                alignment: size.bytes(),
            });
        }
        if h >= self.hpa_limit {
            return Err(EptError::BeyondPhysAddrWidth {
                hpa,
                width: u32::from(self.config.phys_addr_width()),
            });
        }
        Ok(h)
    }

    /// Validates mapping attributes and returns the leaf bits other than the address and
    /// the page-size bit (SDM Vol. 3C §29.3.3.1, EPT misconfigurations).
    #[inline]
    fn leaf_bits(&self, attrs: EptAttributes) -> Result<u64, EptError> {
        let f = attrs.flags;
        let undefined = f.bits() & !EptFlags::all().bits();
        if undefined != 0 {
            return Err(EptError::InvalidFlags(FlagsError::Undefined(undefined)));
        }
        if f.intersects(EptFlags::TABLE_MANAGED) {
            return Err(EptError::InvalidFlags(FlagsError::TableManaged(
                f & EptFlags::TABLE_MANAGED,
            )));
        }
        if !f.contains(EptFlags::READ) {
            if f.contains(EptFlags::WRITE) {
                return Err(EptError::InvalidFlags(FlagsError::WriteWithoutRead));
            }
            let exec = if self.config.mode_based_execute() {
                EptFlags::EXECUTE | EptFlags::USER_EXECUTE
            } else {
                EptFlags::EXECUTE
            };
            if !f.intersects(exec) {
                return Err(EptError::InvalidFlags(FlagsError::NoAccess));
            }
            if !self.config.supports_execute_only() {
                return Err(EptError::CapabilityMissing(Capability::ExecuteOnly));
            }
        }
        let mt = attrs.memory_type;
        if !mt.is_defined() {
            return Err(EptError::InvalidFlags(FlagsError::ReservedMemoryType(mt)));
        }
        Ok(f.bits() | (u64::from(mt.raw()) << MEMORY_TYPE_SHIFT))
    }

    /// Whether pages of `size` may be mapped; an error naming the capability otherwise.
    #[inline]
    fn check_size(&self, size: PageSize, leaf_bits: u64) -> Result<(), EptError> {
        if size == PageSize::Size4K {
            return Ok(());
        }
        if !self.config.supports_page_size(size) {
            return Err(EptError::PageSizeUnsupported(size));
        }
        if leaf_bits & EptFlags::SUB_PAGE_WRITE_PERMISSIONS.bits() != 0 {
            return Err(EptError::InvalidFlags(FlagsError::SubPageWriteOnLargePage));
        }
        Ok(())
    }

    /// Walks towards `gpa` without changing anything. Returns the structures visited
    /// (indexed by level), the level where the walk stopped and the entry there: 0 if not
    /// mapped, else a leaf.
    fn walk(&self, gpa: u64) -> Walk {
        let mut tables = [self.root_ptr; 6];
        let mut level = self.levels;
        let mut table = self.root_ptr;
        loop {
            if let Some(t) = tables.get_mut(level as usize) {
                *t = table;
            }
            let e = table.load(index(gpa, level));
            if e == 0 || is_leaf(e, level) {
                return Walk {
                    tables,
                    level,
                    entry: e,
                };
            }
            table = self.table_ptr(e);
            level -= 1;
        }
    }

    /// Frees the structure at `level` on the walk to `gpa`, which is empty, and every
    /// structure above it that this leaves empty (never the root).
    fn release_empty(&mut self, walk: &Walk, gpa: u64, level: u32) {
        let mut level = level;
        while level < self.levels {
            let parent = walk.table(level + 1);
            let pidx = index(gpa, level + 1);
            let pe = parent.load(pidx);
            if pe == 0 || is_leaf(pe, level + 1) {
                return;
            }
            parent.store(pidx, 0);
            self.retire_table(pe);
            if !parent.is_empty_after_clearing(pidx) {
                return;
            }
            level += 1;
        }
    }

    fn set_cache(&self, gpa: u64, pt: TablePtr) {
        self.cache.set(LeafCache { tag: gpa >> 21, pt });
    }

    /// Frees every structure below `table` (at `level`), not `table` itself.
    fn free_subtree(&mut self, table: TablePtr, level: u32) {
        if level == 1 {
            return;
        }
        for i in 0..ENTRIES {
            let e = table.load(i);
            if e != 0 && !is_leaf(e, level) {
                let child = self.table_ptr(e);
                self.free_subtree(child, level - 1);
                // SAFETY: a structure of this table (alloc_frames(1)), given back once, on
                // drop; no processor may use the EPTP any more (see `Drop`).
                unsafe { self.host.free_frames(HostPhysAddr::new(table_addr(e)), 1) };
                self.frames -= 1;
            }
        }
    }
}

/// Gives back every frame, retired ones included.
///
/// Whoever loaded the EPTP into a VMCS promised (in the `unsafe` code that did so) that no
/// logical processor enters with it again without an INVEPT first; translations that
/// processors still cache from it are then never used. [`Ept`](crate::Ept) keeps that promise
/// for its users: the table cannot be dropped while an [`EptUser`](crate::EptUser) exists,
/// and every user invalidates before its first VM entry.
impl<H: HostMemory> Drop for EptPageTable<H> {
    fn drop(&mut self) {
        self.free_subtree(self.root_ptr, self.levels);
        // SAFETY: see the impl's documentation; the retired frames came from this host.
        unsafe { self.retired.release(&self.host, u64::MAX) };
        // SAFETY: the root, allocated with alloc_frames(1) in `new`, given back once.
        unsafe { self.host.free_frames(self.root, 1) };
        self.frames -= 1;
    }
}

impl<H: HostMemory> core::fmt::Debug for EptPageTable<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EptPageTable")
            .field("root", &self.root)
            .field("levels", &self.levels)
            .field("frames", &self.frames)
            .field("retired", &self.retired.len())
            .field("pending_flush", &self.pending_flush)
            .finish_non_exhaustive()
    }
}

/// The result of [`EptPageTable::walk`].
struct Walk {
    tables: [TablePtr; 6],
    level: u32,
    entry: u64,
}

impl Walk {
    #[inline]
    fn table(&self, level: u32) -> TablePtr {
        match self.tables.get(level as usize) {
            Some(t) => *t,
            None => self.tables[0],
        }
    }
}

/// The EPTP for a table rooted at `root`, checked as VM entry checks it.
fn make_eptp(root: HostPhysAddr, config: &EptConfig) -> Result<Eptp, EptpError> {
    let caps = config.capabilities();
    let eptp = Eptp::new(
        root.as_u64(),
        config.walk_length(),
        config.structure_memory_type(),
        config.accessed_dirty(),
        caps,
        config.phys_addr_width(),
    )?;
    if config.supervisor_shadow_stack() {
        eptp.with_supervisor_shadow_stack(caps)
    } else {
        Ok(eptp)
    }
}

/// Allocates a frame and checks the host's promises that the table relies on for
/// correctness of the entries it writes.
fn alloc_checked<H: HostMemory>(host: &H, hpa_limit: u64) -> Result<HostPhysAddr, EptError> {
    let frame = host.alloc_frames(1).ok_or(EptError::OutOfMemory)?;
    if frame.as_u64() & 0xfff != 0 || frame.as_u64() >= hpa_limit {
        // SAFETY: just allocated with alloc_frames(1) and never used.
        unsafe { host.free_frames(frame, 1) };
        return Err(EptError::InvalidFrame(frame));
    }
    Ok(frame)
}

/// The non-leaf entry referencing the structure at `frame`.
#[inline]
const fn non_leaf(frame: u64) -> u64 {
    frame | NON_LEAF_RIGHTS
}

/// The page-size bit for a leaf of `size`.
#[inline]
const fn ps_bit(size: PageSize) -> u64 {
    match size {
        PageSize::Size4K => 0,
        _ => PS,
    }
}

/// The mapping a 4-KiB leaf entry `e` makes for `gpa`.
#[inline]
const fn mapping_of_4k(gpa: u64, e: u64) -> Mapping {
    Mapping {
        base: gpa & !0xfff,
        entry: EptEntry(e),
    }
}

/// The mapping a leaf entry `e` at `level` (1, 2 or 3) makes for `gpa`.
#[inline]
const fn mapping_of(gpa: u64, e: u64, level: u32) -> Mapping {
    Mapping::new(gpa, level, e)
}
