//! Moving a vCPU to another logical processor (SDM Vol. 3C §25.11.1 "Software Use of
//! Virtual-Machine Control Structures", §25.1 Figure 25-1, §29.4.3 "Maintaining
//! Consistency of TLBs and Paging-Structure Caches").
//!
//! A [`VmxVcpu`] borrows the [`VmxCpu`] of the processor it runs on. To move it, the SDM's
//! protocol is: VMCLEAR on the old processor (the VMCS data reaches memory, the region stops
//! being active there and its launch state becomes clear), then VMPTRLD on the new one,
//! rewrite the host-state fields that differ per processor, and enter with VMLAUNCH. The API
//! makes the steps impossible to skip or reorder:
//!
//! - [`VmxVcpu::unload`] consumes the vCPU on its processor, runs VMCLEAR there and returns a
//!   [`ParkedVcpu`] that holds no processor borrow and no EPT borrow. It is `Send`: the
//!   only way to a vCPU on another processor is through it.
//! - [`ParkedVcpu::load`] runs on the new processor, with that processor's [`VmxCpu`] and,
//!   for a vCPU that ran under EPT, a fresh [`EptUser`] of the same EPT (checked by EPTP):
//!   VMPTRLD, host state captured again and written (CR0/CR3/CR4, selectors, FS/GS/TR/GDTR/
//!   IDTR bases, SYSENTER, EFER/PAT where loaded, and the host values of the MSR-load list),
//!   the VPID invalidated on the new processor (stale translations of an earlier stay), and
//!   the EPT user starting unsynchronised so the next entry runs INVEPT there. The launch
//!   state is clear, so the next entry is VMLAUNCH.
//!
//! # What the host must provide
//! The vCPU's frames were allocated through the old processor's host value and are freed
//! through the new one's (or through the parked vCPU's copy): the host type must implement
//! [`SharedHost`], an `unsafe` promise that every value of the type manages the same
//! physical memory, usable from every processor.
//!
//! The old and new `VmxCpu` must come from processors with the same VMX capabilities (the
//! controls were computed once); a different VMCS revision makes VMPTRLD fail, which
//! [`ParkedVcpu::load`] reports with the vCPU handed back.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;

use ept::EptUser;
use vmx_defs::addr::HostPhysAddr;
use vmx_defs::ept::Eptp;
use vmx_defs::msr_entry::MsrEntry;

use super::{EXIT_WORK, F_MSR_HOST, Vcpu, VmxVcpu, cr_access};
use crate::arch;
use crate::config::Controls;
use crate::cpu::VmxCpu;
use crate::entry::RunBlock;
use crate::error::VmxError;
use crate::event::{Event, InjectionReport};
use crate::host::{Frames, VmxHost};
use crate::host_state::HostState;
use crate::injection::PendingEvents;
use crate::vmcs::Vmcs;
use crate::vpid::Vpid;
use crate::xstate::XStateInfo;

/// A host whose values all manage the same physical memory, from every logical processor:
/// what lets a vCPU's frames, allocated through one processor's [`VmxCpu`] host, be used
/// and freed through another's (SDM Vol. 3C §25.11.1 moves the VMCS region, not a copy).
///
/// # Safety
/// For any two values `a` and `b` of the type, on any processors: frames allocated with
/// `a.alloc_frames` may be passed to `b.free_frames` and `b.phys_to_virt` gives a valid
/// pointer to them; values may be cloned and sent to other processors. A zero-sized host
/// over one global frame allocator qualifies; a type whose values are distinct pools does
/// not.
pub unsafe trait SharedHost: VmxHost + Clone + Send + Sync {}

/// Why a vCPU could not be unloaded or loaded; the vCPU comes back in `vcpu`, unchanged in
/// what the guest sees.
pub struct MigrateError<V> {
    /// The vCPU, as it was before the attempt.
    pub vcpu: V,
    /// What failed.
    pub reason: MigrateFailure,
}

/// What failed in a move ([`MigrateError::reason`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrateFailure {
    /// A VMX instruction (VMCLEAR, VMPTRLD, VMWRITE, INVVPID), the host-state capture or the
    /// processor check failed.
    Vmx(VmxError),
    /// [`ParkedVcpu::load`] was given an EPT user whose EPTP is not the vCPU's, an EPT user
    /// for a vCPU on host-physical memory, or none for a vCPU under EPT.
    EptMismatch {
        /// The EPTP the vCPU's VMCS holds (`None`: no EPT).
        expected: Option<Eptp>,
        /// The EPTP of the user given (`None`: none given).
        given: Option<Eptp>,
    },
}

impl fmt::Display for MigrateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vmx(e) => write!(f, "{e}"),
            Self::EptMismatch { expected, given } => write!(
                f,
                "EPT user mismatch: vCPU runs on {expected:?}, given {given:?}"
            ),
        }
    }
}

impl<V> fmt::Debug for MigrateError<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrateError")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl<V> fmt::Display for MigrateError<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "moving a vCPU: {}", self.reason)
    }
}

/// A vCPU between processors: its VMCS region cleared (not active on any processor, launch
/// state clear), and everything else a [`VmxVcpu`] owns (frames, VPID, pending events,
/// emulated registers), with no [`VmxCpu`] and no EPT borrowed. Made by
/// [`VmxVcpu::unload`], turned back into a vCPU on a processor by [`ParkedVcpu::load`];
/// dropping it frees everything (SDM Vol. 3C §25.11.1).
///
/// A parked vCPU cannot run: it has no processor.
///
/// ```compile_fail
/// # use vmx_vcpu::{ParkedVcpu, SharedHost};
/// fn run_parked<H: SharedHost>(p: &mut ParkedVcpu<H>) {
///     let _ = p.run(); // no `run` (nor any `Vcpu` method) on a parked vCPU
/// }
/// ```
///
/// A loaded vCPU borrows its processor's `VmxCpu`, which cannot be sent to another
/// processor, so moving one without [`VmxVcpu::unload`] does not compile:
///
/// ```compile_fail
/// # use vmx_vcpu::{SharedHost, VmxVcpu};
/// fn needs_send<T: Send>(_: T) {}
/// fn send_loaded<H: SharedHost>(v: VmxVcpu<'_, H>) {
///     needs_send(v); // `VmxVcpu` is not `Send`
/// }
/// ```
pub struct ParkedVcpu<H: SharedHost> {
    state: Parked<H>,
}

/// The fields of a [`ParkedVcpu`] (a struct without `Drop`, so that `load` can move them).
struct Parked<H: SharedHost> {
    host: H,
    vmcs_region: HostPhysAddr,
    frames: (HostPhysAddr, usize),
    block: NonNull<RunBlock>,
    controls: Controls,
    vpid: Option<Vpid<'static>>,
    eptp: Option<Eptp>,
    pending: PendingEvents,
    in_flight: Option<Event>,
    last_injection: Option<InjectionReport>,
    msr_count: usize,
    xstate: XStateInfo,
    zero_length_injection: bool,
    cr0_fixed_mask: u64,
    cr4_fixed_mask: u64,
    cr0_owned: u64,
    cr4_owned: u64,
    exception_bitmap: u32,
    lazy_xstate: bool,
    exit_to_complete: u32,
    emulated: cr_access::EmulatedRegs,
    preflight: bool,
    ins_outs_info: bool,
    /// The MP start-up state (`sipi`).
    ap: super::sipi::ApState,
    from_cpu: Option<u32>,
}

// SAFETY: the parked vCPU exclusively owns its frames (the run block `block` points into
// them) and its VMCS region, which no processor has active; the host is `Send + Sync` and
// manages the same memory from every processor (`SharedHost`); the other fields are plain
// data or `Send` (the VPID token).
unsafe impl<H: SharedHost> Send for ParkedVcpu<H> {}

impl<'c, H: SharedHost> VmxVcpu<'c, H> {
    /// Takes the vCPU off its processor (SDM Vol. 3C §25.11.1): VMCLEAR of its VMCS on this
    /// processor (the data reaches memory, the region is no longer active here, the launch
    /// state is clear) and INVVPID of its VPID here, then gives up the processor borrow
    /// and the EPT user. On an error the vCPU comes back unchanged.
    #[allow(clippy::result_large_err)]
    pub fn unload(mut self) -> Result<ParkedVcpu<H>, MigrateError<Self>> {
        let v: &mut Vcpu<'c, H> = &mut self;
        // A vCPU with APIC virtualization stays on its processor: its posted-interrupt
        // descriptor is borrowed for the processor borrow's lifetime.
        let apic = match v.apic {
            Some(_) => Err(VmxError::Apic(crate::apic::ApicError::NotMigratable)),
            None => Ok(()),
        };
        let pre = v
            .cpu
            .check_current_cpu()
            .and(apic)
            .and_then(|()| v.invalidate_vpid())
            .and_then(|()| v.vmcs.clear());
        if let Err(e) = pre {
            return Err(MigrateError {
                vcpu: self,
                reason: MigrateFailure::Vmx(e),
            });
        }
        let from_cpu = self.inner.cpu.cpu_id();
        self.inner
            .cpu
            .forget_flag(Self::flag_addr(self.inner.block));
        let me = ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again: its one field moves out here.
        let inner = unsafe { core::ptr::read(&me.inner) };
        let Vcpu {
            cpu,
            vmcs,
            frames,
            apic: _,
            block,
            controls,
            vpid,
            ept,
            pending,
            in_flight,
            last_injection,
            exit_work: _,
            msr_count,
            xstate,
            zero_length_injection,
            cr0_fixed_mask,
            cr4_fixed_mask,
            cr0_owned,
            cr4_owned,
            exception_bitmap,
            lazy_xstate,
            exit_to_complete,
            host_debug: _,
            emulated,
            preflight,
            ins_outs_info,
            ap,
            _tail,
        } = inner;
        let host = cpu.host().clone();
        let eptp = ept.as_ref().map(EptUser::eptp);
        // The EPT user goes: while parked the vCPU cannot enter, and `load` needs a fresh
        // user (which starts unsynchronised) of the same EPT.
        drop(ept);
        // SAFETY: the VMCLEAR above succeeded, so the region is active on no processor.
        let vmcs_region = unsafe { vmcs.into_inactive_raw() };
        Ok(ParkedVcpu {
            state: Parked {
                host,
                vmcs_region,
                frames: frames.into_raw(),
                block,
                controls,
                vpid,
                eptp,
                pending,
                in_flight,
                last_injection,
                msr_count,
                xstate,
                zero_length_injection,
                cr0_fixed_mask,
                cr4_fixed_mask,
                cr0_owned,
                cr4_owned,
                exception_bitmap,
                lazy_xstate,
                exit_to_complete,
                emulated,
                preflight,
                ins_outs_info,
                ap,
                from_cpu,
            },
        })
    }
}

impl<H: SharedHost> ParkedVcpu<H> {
    /// The processor the vCPU was unloaded from, as its host identified it
    /// ([`VmxCpu::cpu_id`]).
    pub fn unloaded_from(&self) -> Option<u32> {
        self.state.from_cpu
    }

    /// The EPT pointer the vCPU runs on (`None`: host-physical memory); [`ParkedVcpu::load`]
    /// needs a user of the EPT with this pointer.
    pub fn eptp(&self) -> Option<Eptp> {
        self.state.eptp
    }

    /// The VPID number, if the vCPU has one.
    pub fn vpid(&self) -> Option<u16> {
        self.state.vpid.as_ref().map(Vpid::get)
    }

    /// Puts the vCPU on the calling processor, `cpu` (SDM Vol. 3C §25.11.1): VMPTRLD, the
    /// host-state fields and the MSR-load list's host values captured again here, INVVPID
    /// of its VPID here (§29.4.3.3), the EPT attached through `ept` (which must have the
    /// vCPU's EPTP; the new user is unsynchronised, so the next entry runs INVEPT here,
    /// §29.4.3.1). The next entry is VMLAUNCH (VMCLEAR left the launch state clear).
    ///
    /// On an error the parked vCPU comes back (with its VMCS cleared again if VMPTRLD had
    /// succeeded).
    ///
    /// # Panics
    /// If, after a failure past VMPTRLD, the VMCLEAR of the region this processor has just
    /// made current fails (the processor refusing a valid region it accepted a moment
    /// before; the region is then leaked, never freed, since it may still be in use).
    #[allow(clippy::result_large_err)]
    pub fn load<'c>(
        self,
        cpu: &'c VmxCpu<H>,
        ept: Option<EptUser<'c>>,
    ) -> Result<VmxVcpu<'c, H>, MigrateError<Self>> {
        let given = ept.as_ref().map(EptUser::eptp);
        if given != self.state.eptp {
            return Err(MigrateError {
                reason: MigrateFailure::EptMismatch {
                    expected: self.state.eptp,
                    given,
                },
                vcpu: self,
            });
        }
        if let Err(e) = cpu.check_current_cpu() {
            return Err(MigrateError {
                vcpu: self,
                reason: MigrateFailure::Vmx(e),
            });
        }
        let me = ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again; each field is read out once.
        let p = unsafe { core::ptr::read(&me.state) };
        let Parked {
            host: _,
            vmcs_region,
            frames,
            block,
            controls,
            vpid,
            eptp: _,
            pending,
            in_flight,
            last_injection,
            msr_count,
            xstate,
            zero_length_injection,
            cr0_fixed_mask,
            cr4_fixed_mask,
            cr0_owned,
            cr4_owned,
            exception_bitmap,
            lazy_xstate,
            exit_to_complete,
            emulated,
            preflight,
            ins_outs_info,
            ap,
            from_cpu,
        } = p;
        // SAFETY: the region and frames come from `unload` (`into_inactive_raw`,
        // `into_raw`), allocated through a host sharing `cpu.host()`'s memory (`SharedHost`),
        // and this parked vCPU was their only owner.
        let (vmcs, frames_owned) = unsafe {
            (
                Vmcs::from_inactive_raw(cpu, vmcs_region),
                Frames::from_raw(cpu.host(), frames.0, frames.1),
            )
        };
        let mut vcpu = VmxVcpu {
            inner: Vcpu {
                cpu,
                vmcs,
                frames: frames_owned,
                apic: None,
                block,
                controls,
                vpid,
                ept,
                pending,
                in_flight,
                last_injection,
                // The launch state is clear: the next exit records the launch.
                exit_work: EXIT_WORK,
                msr_count,
                xstate,
                zero_length_injection,
                cr0_fixed_mask,
                cr4_fixed_mask,
                cr0_owned,
                cr4_owned,
                exception_bitmap,
                lazy_xstate,
                exit_to_complete,
                host_debug: None,
                emulated,
                preflight,
                ins_outs_info,
                ap,
                _tail: [()],
            },
        };
        vcpu.inner
            .vmcs
            .set_current_flag(VmxVcpu::<H>::flag_addr(block));
        match vcpu.refresh_on_this_cpu() {
            Ok(()) => Ok(vcpu),
            Err(e) => match vcpu.unload() {
                Ok(mut parked) => {
                    parked.state.from_cpu = from_cpu;
                    Err(MigrateError {
                        vcpu: parked,
                        reason: MigrateFailure::Vmx(e),
                    })
                }
                // VMCLEAR of a region this CPU just loaded failed: the processor may still
                // use it, so it must not be freed; the vCPU stays loaded here and is
                // dropped (its drop leaks the region if VMCLEAR keeps failing).
                Err(err) => {
                    drop(err.vcpu);
                    ParkedVcpu::<H>::lost(e)
                }
            },
        }
    }

    /// Never returns: reached only when a VMCLEAR after a successful VMPTRLD fails.
    fn lost(e: VmxError) -> ! {
        panic!("VMCLEAR failed while handing a vCPU back: {e}")
    }
}

impl<'c, H: VmxHost> Vcpu<'c, H> {
    /// VMPTRLD on the calling processor and everything that differs per processor: the
    /// host-state fields, the host values of the MSR-load list (SDM Vol. 3C §25.7.2), and
    /// the VPID's cached translations (§29.4.3.3); the EPT user is marked migrated
    /// (§29.4.3.1).
    fn refresh_on_this_cpu(&mut self) -> Result<(), VmxError> {
        self.vmcs.load()?;
        // SAFETY: CPL 0 in 64-bit mode (the caller holds this processor's `VmxCpu`).
        let host = unsafe { HostState::capture() }?;
        self.write_host_state(&host)?;
        let list = self.frames.ptr_of(F_MSR_HOST).cast::<MsrEntry>();
        for i in 0..self.msr_count {
            // SAFETY: `i` < msr_count ≤ the list's capacity; the page is ours. The MSRs in
            // the list exist (they were read on the old processor of the same model).
            unsafe {
                let e = list.as_ptr().add(i);
                (*e).value = arch::rdmsr((*e).index);
            }
        }
        if let Some(ept) = &self.ept {
            ept.migrated();
        }
        self.invalidate_vpid()
    }
}

impl<H: SharedHost> Drop for ParkedVcpu<H> {
    fn drop(&mut self) {
        // SAFETY: the region is inactive on every processor (VMCLEAR in `unload`) and the
        // frames are no longer named by any current VMCS; both were allocated through a
        // host sharing `self.state.host`'s memory and are owned only by this parked vCPU.
        unsafe {
            self.state.host.free_frames(self.state.vmcs_region, 1);
            self.state
                .host
                .free_frames(self.state.frames.0, self.state.frames.1);
        }
    }
}

impl<H: SharedHost> fmt::Debug for ParkedVcpu<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParkedVcpu")
            .field("vmcs_region", &self.state.vmcs_region)
            .field("eptp", &self.state.eptp)
            .field("vpid", &self.vpid())
            .field("from_cpu", &self.state.from_cpu)
            .finish_non_exhaustive()
    }
}
