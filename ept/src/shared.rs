//! [`Ept`]: an EPT page table shared with vCPUs running on other logical processors, and
//! the generation protocol that makes every pending invalidation happen before the next VM
//! entry of every vCPU (SDM Vol. 3C §29.4.3.1) and holds retired paging structures until
//! then.

use core::cell::{Cell, UnsafeCell};
use core::fmt;
use core::hint::spin_loop;
use core::ops::Deref;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use vmx_defs::ept::Eptp;
use vmx_defs::invalidation::InveptType;

use crate::addr::{GuestPhysAddr, HostPhysAddr, PageSize};
use crate::entry::{EptAttributes, EptFlags};
use crate::error::{Capability, EptError};
use crate::invalidation::{
    FlushError, FlushToken, InveptExecutor, descriptor_for, invept_type_for,
};
use crate::memory::HostMemory;
use crate::table::EptPageTable;
use crate::table::Mapping;
use crate::table::retired::RetiredList;

/// The number of [`EptUser`]s an [`Ept`] can have at once (one per vCPU).
pub const USER_SLOTS: usize = 64;

/// A slot value: no user.
const FREE: u64 = u64::MAX;
/// A slot value: attached, never synchronised. Generations start above it.
const NEVER: u64 = 0;
/// The generation of a table with no invalidation ever published.
const FIRST_GENERATION: u64 = 1;

/// [`Ept::attach`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttachError {
    /// All [`USER_SLOTS`] user slots are taken.
    AllSlotsTaken,
}

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachError::AllSlotsTaken => {
                write!(f, "all {USER_SLOTS} EPT user slots are taken")
            }
        }
    }
}

impl core::error::Error for AttachError {}

/// The part of an [`Ept`] its users touch without the lock: nothing generic, so that
/// [`EptUser`] is not generic over the host either.
#[derive(Debug)]
struct EptSync {
    /// The table's EPTP (fixed for the table's life: the root never changes).
    eptp: Eptp,
    /// Single-context INVEPT where supported, else all-context (SDM Vol. 3C §29.4.3.1).
    invept_type: Option<InveptType>,
    /// Bumped (under the lock) by every edit that leaves an invalidation pending.
    generation: AtomicU64,
    /// Per user: the generation it has invalidated up to, [`NEVER`], or [`FREE`].
    slots: [AtomicU64; USER_SLOTS],
}

impl EptSync {
    /// The smallest generation every attached user has invalidated up to; `u64::MAX`
    /// with no user attached.
    fn min_synced(&self) -> u64 {
        // SeqCst: pairs with the SeqCst attach CAS and generation load in `EptUser::sync_*`
        // (see `Ept::finish_edit`): either this scan sees a new user's slot, or that user's
        // first synchronisation sees the generation bumped before this scan.
        self.slots
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .min()
            .unwrap_or(FREE)
    }
}

/// What the lock protects.
struct Locked<H: HostMemory> {
    table: EptPageTable<H>,
    /// Frames retired by earlier edits, each tagged with the generation that must be
    /// synchronised by every user before it is given back; tags increase along the list.
    held: RetiredList,
}

/// An [`EptPageTable`] shared with the vCPUs that run on it, on any logical processors.
///
/// - Edits go through [`edit`](Ept::edit), a guard that holds a small spin lock,
///   dereferences to the table for lookups and forwards the changing operations. When the guard drops after changes that owe an
///   invalidation (SDM Vol. 3C §29.4.3.1), it bumps the *generation* and tags the paging
///   structures those changes retired with it.
/// - Each vCPU [`attach`](Ept::attach)es once and keeps the [`EptUser`]. Before every VM
///   entry it checks [`EptUser::needs_sync`] (one atomic load) and, when set, runs
///   [`EptUser::sync_this_cpu`]: INVEPT on its own processor, then publishes the
///   generation it has reached.
/// - A retired frame is given back to the host once every attached user has published
///   its generation (on the next edit, or by [`reclaim`](Ept::reclaim)). With no user
///   attached it is given back at once: a processor that ran the EPTP earlier holds only
///   stale entries that no future entry consumes, because every user invalidates before
///   its first VM entry (a new user starts as "never synchronised") and before its first
///   entry on any other processor ([`EptUser::migrated`]).
/// - An [`EptUser`] borrows the `Ept`, so the table cannot be dropped (or moved) while a
///   vCPU may still enter with its EPTP:
///
/// ```compile_fail,E0505
/// fn drop_while_attached<H: ept::HostMemory>(shared: ept::Ept<H>) {
///     let user = shared.attach().unwrap();
///     drop(shared); // error: `shared` is borrowed by `user`
///     let _ = user.needs_sync();
/// }
/// ```
///
/// Memory unmapped in an edit stays reachable by the guest until every user has
/// synchronised: read [`generation`](Ept::generation) after the edit and wait for
/// [`synced`](Ept::synced) (kicking the vCPUs out of the guest if need be) before reusing
/// it (see the `# Safety` of [`EptPageTable::map`]).
pub struct Ept<H: HostMemory> {
    lock: AtomicBool,
    locked: UnsafeCell<Locked<H>>,
    sync: EptSync,
}

// SAFETY: `locked` is only reached through the spin lock (`edit`, `reclaim`, `frames_held`),
// which gives one thread at a time exclusive access, with Acquire on taking it and Release
// on giving it back, so each holder sees the previous holder's writes. Through the guard a
// thread may use the host (`&H`, hence `H: Sync` as several threads use it over time) and
// may even move the whole table out with `mem::replace` (hence `H: Send`, as for
// `Mutex<T>: Sync` needing `T: Send`). Everything else (`sync`) is atomics and plain data.
unsafe impl<H: HostMemory + Send + Sync> Sync for Ept<H> {}

impl<H: HostMemory> Ept<H> {
    /// Shares `table`. A pending invalidation of the table is taken over (and, there being
    /// no user yet, its retired frames are given back: see the type's documentation).
    pub fn new(table: EptPageTable<H>) -> Self {
        let sync = EptSync {
            eptp: table.eptp(),
            invept_type: invept_type_for(table.config()),
            generation: AtomicU64::new(FIRST_GENERATION),
            slots: [const { AtomicU64::new(FREE) }; USER_SLOTS],
        };
        let mut ept = Self {
            lock: AtomicBool::new(false),
            locked: UnsafeCell::new(Locked {
                table,
                held: RetiredList::new(),
            }),
            sync,
        };
        let locked = ept.locked.get_mut();
        Self::finish_edit(&ept.sync, locked);
        ept
    }

    /// The EPT pointer for the VMCS (SDM Vol. 3C §25.6.11).
    pub fn eptp(&self) -> Eptp {
        self.sync.eptp
    }

    /// The INVEPT type users run: single-context where IA32_VMX_EPT_VPID_CAP reports it,
    /// else all-context (SDM Vol. 3C §29.4.3.1, Vol. 3D §A.10); `None` if neither.
    pub fn invept_type(&self) -> Option<InveptType> {
        self.sync.invept_type
    }

    /// Locks the table for changes (spinning while another thread holds it).
    pub fn edit(&self) -> EptEdit<'_, H> {
        loop {
            if let Some(edit) = self.try_edit() {
                return edit;
            }
            while self.lock.load(Ordering::Relaxed) {
                spin_loop();
            }
        }
    }

    /// Locks the table for changes if no other thread holds it.
    pub fn try_edit(&self) -> Option<EptEdit<'_, H>> {
        // Acquire: everything the previous holder wrote (table, held list) is visible.
        self.lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        Some(EptEdit {
            ept: self,
            touched: true,
        })
    }

    /// Takes a user slot for a vCPU (at most [`USER_SLOTS`] at once). The user starts as
    /// never synchronised: its [`needs_sync`](EptUser::needs_sync) is true until its first
    /// [`sync_this_cpu`](EptUser::sync_this_cpu), and it holds every frame retired from
    /// now on until then.
    pub fn attach(&self) -> Result<EptUser<'_>, AttachError> {
        for (index, slot) in self.sync.slots.iter().enumerate() {
            // SeqCst: see `EptSync::min_synced`.
            if slot
                .compare_exchange(FREE, NEVER, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                return Ok(EptUser {
                    sync: &self.sync,
                    slot: index,
                    synced: Cell::new(NEVER),
                });
            }
        }
        Err(AttachError::AllSlotsTaken)
    }

    /// The current generation: after an edit that owed an invalidation, the generation
    /// every user must reach before memory unmapped by it may be reused.
    pub fn generation(&self) -> u64 {
        self.sync.generation.load(Ordering::Acquire)
    }

    /// Whether every attached user has invalidated up to `generation` (true with no user
    /// attached: every future user invalidates before its first VM entry).
    pub fn synced(&self, generation: u64) -> bool {
        self.sync.min_synced() >= generation
    }

    /// Number of users attached now.
    pub fn users(&self) -> usize {
        self.sync
            .slots
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) != FREE)
            .count()
    }

    /// Gives back the retired frames that every attached user has synchronised past;
    /// returns how many. Takes the lock.
    pub fn reclaim(&self) -> usize {
        let mut edit = self.edit();
        // SAFETY: the guard gives exclusive access to `locked` until it drops.
        let locked = unsafe { &mut *edit.ept.locked.get() };
        let n = Self::release_synced(&self.sync, locked);
        edit.touched = false;
        n
    }

    /// Retired frames held for users that have not synchronised yet. Takes the lock.
    pub fn frames_held(&self) -> usize {
        let edit = self.edit();
        // SAFETY: the guard gives exclusive access to `locked` until it drops.
        unsafe { &*edit.ept.locked.get() }.held.len()
    }

    /// After an edit, with the lock held: publishes a pending invalidation as a new
    /// generation, then gives back what every user has synchronised past.
    fn finish_edit(sync: &EptSync, locked: &mut Locked<H>) {
        if locked.table.needs_flush() {
            // Only lock holders write the generation, so this load sees the latest value.
            let next = sync.generation.load(Ordering::Relaxed) + 1;
            locked.table.take_pending(&mut locked.held, next);
            // SeqCst (a release store): a user that loads `next` (Acquire or stronger)
            // also sees the table writes of this edit, so the INVEPT it then runs happens
            // after the retired structures were unlinked and its processor's later walks
            // cannot reach them again. Being SeqCst it also orders before the slot scan
            // below against a concurrent `attach` (see `EptSync::min_synced`).
            sync.generation.store(next, Ordering::SeqCst);
        }
        Self::release_synced(sync, locked);
    }

    /// Gives back every held frame tagged with a generation all users have reached.
    fn release_synced(sync: &EptSync, locked: &mut Locked<H>) -> usize {
        let up_to = sync.min_synced();
        // SAFETY: every frame tagged `g <= up_to` was unlinked before generation `g` was
        // published. Each attached user published `>= g` only after an INVEPT on its
        // processor (or one covering all processors) that started after it loaded `g`,
        // hence after the unlink; a slot read as FREE belongs to no user, and a user that
        // attaches later invalidates before its first entry, seeing `g` (SeqCst order).
        // A processor that ran the EPTP for a user that detached or moved keeps only stale
        // entries, and no user enters there again without an INVEPT first (`EptUser`'s
        // contract). The frames came from the table's host.
        unsafe { locked.held.release(locked.table.host(), up_to) }
    }
}

impl<H: HostMemory> Drop for Ept<H> {
    fn drop(&mut self) {
        let locked = self.locked.get_mut();
        // SAFETY: no `EptUser` exists (each borrows `self`), so no processor will enter
        // with this EPTP again without first invalidating (see `release_synced`); the
        // frames came from the table's host.
        unsafe { locked.held.release(locked.table.host(), u64::MAX) };
    }
}

impl<H: HostMemory> fmt::Debug for Ept<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ept")
            .field("eptp", &self.sync.eptp)
            .field("generation", &self.generation())
            .field("users", &self.users())
            .finish_non_exhaustive()
    }
}

/// Exclusive access to the table of an [`Ept`] ([`Ept::edit`]): dereferences to the
/// [`EptPageTable`] for lookups and forwards the changing operations.
///
/// It deliberately does not implement `DerefMut`: with a `&mut EptPageTable`, safe code
/// could `mem::replace` (or swap) the whole table while vCPUs still enter with its EPTP,
/// dropping paging structures they walk:
///
/// ```compile_fail,E0594
/// fn swap_out<H: ept::HostMemory>(shared: &ept::Ept<H>, other: ept::EptPageTable<H>) {
///     let mut edit = shared.edit();
///     *edit = other; // error: the guard gives no `&mut EptPageTable`
/// }
/// ```
///
/// On drop, an invalidation the edit left pending is published as a new generation that
/// every [`EptUser`] must synchronise to before its next VM entry (SDM Vol. 3C
/// §29.4.3.1); frames the edit retired are held until then.
pub struct EptEdit<'a, H: HostMemory> {
    ept: &'a Ept<H>,
    /// Whether the drop must publish and reclaim (false for `reclaim`, which did).
    touched: bool,
}

impl<H: HostMemory> EptEdit<'_, H> {
    /// Consumes `token`: the invalidation it stands for is published when this guard
    /// drops, and every user performs it before its next VM entry
    /// ([`EptUser::sync_this_cpu`]; SDM Vol. 3C §29.4.3.1).
    pub fn commit(&mut self, token: FlushToken) {
        token.consume();
    }

    /// Retired frames held for users that have not synchronised yet.
    pub fn frames_held(&self) -> usize {
        // SAFETY: this guard holds the lock, so nothing else accesses `locked`.
        unsafe { &*self.ept.locked.get() }.held.len()
    }

    fn table_mut(&mut self) -> &mut EptPageTable<H> {
        // SAFETY: this guard holds the lock, so nothing else accesses `locked`, and `&mut
        // self` makes this the only reference derived from the guard. The reference never
        // leaves this module, so the table cannot be replaced.
        unsafe { &mut (*self.ept.locked.get()).table }
    }

    /// [`EptPageTable::map`] (SDM Vol. 3C §29.3.2).
    ///
    /// # Safety
    /// As for [`EptPageTable::map`]; the invalidation of a later unmap has completed on
    /// every processor once [`Ept::synced`] holds for the generation read after that edit.
    pub unsafe fn map(
        &mut self,
        gpa: GuestPhysAddr,
        hpa: HostPhysAddr,
        size: PageSize,
        attributes: EptAttributes,
    ) -> Result<(), EptError> {
        // SAFETY: the caller's contract, forwarded.
        unsafe { self.table_mut().map(gpa, hpa, size, attributes) }
    }

    /// [`EptPageTable::map_region`] (SDM Vol. 3C §29.3.2).
    ///
    /// # Safety
    /// As for [`EptPageTable::map_region`]; see [`EptEdit::map`].
    pub unsafe fn map_region(
        &mut self,
        gpa: GuestPhysAddr,
        hpa: HostPhysAddr,
        len: u64,
        attributes: EptAttributes,
    ) -> Result<(), EptError> {
        // SAFETY: the caller's contract, forwarded.
        unsafe { self.table_mut().map_region(gpa, hpa, len, attributes) }
    }

    /// [`EptPageTable::unmap`] (SDM Vol. 3C §29.4.3.1): pass the token to
    /// [`commit`](EptEdit::commit).
    pub fn unmap(&mut self, gpa: GuestPhysAddr, len: u64) -> Result<FlushToken, EptError> {
        self.table_mut().unmap(gpa, len)
    }

    /// [`EptPageTable::protect`] (SDM Vol. 3C §29.4.3.1): pass the token to
    /// [`commit`](EptEdit::commit).
    pub fn protect(
        &mut self,
        gpa: GuestPhysAddr,
        len: u64,
        attributes: EptAttributes,
    ) -> Result<FlushToken, EptError> {
        self.table_mut().protect(gpa, len, attributes)
    }

    /// [`EptPageTable::clear_accessed_dirty`] (SDM Vol. 3C §29.3.5): pass the token to
    /// [`commit`](EptEdit::commit).
    pub fn clear_accessed_dirty(
        &mut self,
        gpa: GuestPhysAddr,
        len: u64,
        which: EptFlags,
        visit: impl FnMut(Mapping),
    ) -> Result<FlushToken, EptError> {
        self.table_mut()
            .clear_accessed_dirty(gpa, len, which, visit)
    }
}

impl<H: HostMemory> Deref for EptEdit<'_, H> {
    type Target = EptPageTable<H>;

    fn deref(&self) -> &EptPageTable<H> {
        // SAFETY: this guard holds the lock, so nothing else accesses `locked`.
        unsafe { &(*self.ept.locked.get()).table }
    }
}

impl<H: HostMemory> Drop for EptEdit<'_, H> {
    fn drop(&mut self) {
        if self.touched {
            // SAFETY: this guard holds the lock, so nothing else accesses `locked`.
            let locked = unsafe { &mut *self.ept.locked.get() };
            Ept::finish_edit(&self.ept.sync, locked);
        }
        // Release: the next holder sees the table and the held list as left here.
        self.ept.lock.store(false, Ordering::Release);
    }
}

impl<H: HostMemory> fmt::Debug for EptEdit<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EptEdit").field(&**self).finish()
    }
}

/// One vCPU's attachment to an [`Ept`] ([`Ept::attach`]): the EPTP it enters with and the
/// generation it has invalidated up to. Not generic over the host, so a vCPU can store it;
/// borrows the `Ept`, which therefore outlives it. `Send` (a vCPU may move between
/// threads), not `Sync`. Dropping it frees its slot and the frames it held back.
///
/// # The VM-entry protocol
///
/// Before every VM entry with [`eptp`](EptUser::eptp), on the logical processor that will
/// enter: if [`needs_sync`](EptUser::needs_sync) is true, or the previous entry with this
/// user was on another logical processor (call [`migrated`](EptUser::migrated) when the
/// vCPU moves), run [`sync_this_cpu`](EptUser::sync_this_cpu). The `unsafe` code that
/// loads the EPTP into a VMCS and enters the guest keeps this protocol.
pub struct EptUser<'e> {
    sync: &'e EptSync,
    slot: usize,
    /// The generation this user has published (a copy of its slot, which only it writes).
    synced: Cell<u64>,
}

impl EptUser<'_> {
    /// The EPT pointer to enter with (SDM Vol. 3C §25.6.11).
    #[inline]
    pub fn eptp(&self) -> Eptp {
        self.sync.eptp
    }

    /// Whether an invalidation was published after this user's last synchronisation (or
    /// it never synchronised): then it must run [`sync_this_cpu`](EptUser::sync_this_cpu)
    /// before its next VM entry. One atomic load and a compare, for the VM-entry path.
    #[inline]
    pub fn needs_sync(&self) -> bool {
        // Acquire: pairs with the edit's SeqCst store of the generation; a value it reads
        // is never larger than what a later `sync_*` reads, and a stale (smaller) value
        // only delays this user, whose published generation keeps holding the frames.
        self.sync.generation.load(Ordering::Acquire) != self.synced.get()
    }

    /// The generation this user has invalidated up to (0: never).
    pub fn synced_generation(&self) -> u64 {
        self.synced.get()
    }

    /// Marks this user as not synchronised, for a vCPU that moves to another logical
    /// processor, which may hold stale translations of the EPTP from an earlier stay:
    /// [`needs_sync`](EptUser::needs_sync) is then true and the user holds every retired
    /// frame until its next synchronisation.
    pub fn migrated(&self) {
        self.publish(NEVER);
    }

    /// Runs INVEPT for this EPTP on the calling logical processor (single-context where
    /// supported, else all-context; SDM Vol. 3C §29.4.3.1, §31.3 "INVEPT") through
    /// [`vmx_insn::invept`], then publishes the generation read before it.
    ///
    /// # Safety
    ///
    /// The caller is this user's vCPU, about to enter the guest on the calling logical
    /// processor with this EPTP, and keeps, until this user is dropped, the protocol in
    /// the type's documentation: it enters only on the logical processor where it last
    /// ran this function (calling it again, or [`migrated`](EptUser::migrated) and then
    /// this, before entering on another). Then the INVEPT here clears every translation
    /// this user's future entries could use, and frames retired before it can be given
    /// back. The calling processor is in VMX root operation at CPL 0.
    pub unsafe fn sync_this_cpu(&self) -> Result<(), FlushError<vmx_insn::InsnError>> {
        self.sync_by(vmx_insn::invept)
    }

    /// Like [`sync_this_cpu`](EptUser::sync_this_cpu), with an executor whose
    /// [`InveptExecutor`] contract already covers every logical processor, so no promise
    /// about the caller is needed.
    pub fn sync<X: InveptExecutor>(&self, invept: &mut X) -> Result<(), FlushError<X::Error>> {
        self.sync_by(|ty, d| invept.invept(ty, d))
    }

    fn sync_by<E>(
        &self,
        run: impl FnOnce(InveptType, &vmx_defs::invalidation::InveptDescriptor) -> Result<(), E>,
    ) -> Result<(), FlushError<E>> {
        // SeqCst (at least Acquire): the table writes of every edit up to `generation` are
        // visible before the INVEPT below, so the processor's walks after it see the
        // retired structures unlinked. SeqCst pairs with the editor's slot scan for a user
        // that just attached (see `EptSync::min_synced`).
        let generation = self.sync.generation.load(Ordering::SeqCst);
        let ty = self
            .sync
            .invept_type
            .ok_or(FlushError::Unsupported(Capability::Invept))?;
        run(ty, &descriptor_for(ty, self.sync.eptp)).map_err(FlushError::Invept)?;
        self.publish(generation);
        Ok(())
    }

    fn publish(&self, generation: u64) {
        // Release: an editor that reads this value (and then gives frames back) sees the
        // INVEPT that preceded it as done.
        self.sync.slots[self.slot].store(generation, Ordering::Release);
        self.synced.set(generation);
    }
}

impl Drop for EptUser<'_> {
    fn drop(&mut self) {
        // Release: the vCPU's last entry happened before the slot is seen free.
        self.sync.slots[self.slot].store(FREE, Ordering::Release);
    }
}

impl fmt::Debug for EptUser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EptUser")
            .field("slot", &self.slot)
            .field("eptp", &self.sync.eptp)
            .field("synced", &self.synced.get())
            .finish()
    }
}
