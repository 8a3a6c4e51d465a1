//! The live posted-interrupt descriptor and the handle other processors post through
//! (SDM Vol. 3C §30.6 "Posted-Interrupt Processing", Table 30-1 for the layout).

use core::sync::atomic::{AtomicU64, Ordering};

use vmx_defs::addr::HostPhysAddr;
use vmx_defs::posted_interrupt::PostedInterruptDescriptor;

use super::config::ApicError;
use super::posted::PostOutcome;
use crate::error::{AllocWhat, VmxError};
use crate::host::{Frames, VmxHost};

/// Bit of ON in word 4 of the descriptor (bit 256, SDM Vol. 3C Table 30-1).
const ON: u64 = 1 << (PostedInterruptDescriptor::ON_BIT - 256);
/// Bit of SN in word 4 of the descriptor (bit 257).
const SN: u64 = 1 << (PostedInterruptDescriptor::SN_BIT - 256);

/// A posted-interrupt descriptor in a frame of its own (64-byte aligned as §27.2.1.1
/// requires), freed on drop. Create it before the vCPU, attach it with
/// [`Vcpu::attach_posted_interrupts`](crate::Vcpu::attach_posted_interrupts) (which
/// borrows it for the vCPU's lifetime) and hand [`PostedInterruptSender`]s to other
/// processors. Every access is atomic: the processor reads and clears PIR and ON with
/// locked operations while the guest runs (§30.6).
pub struct PostedInterruptDescriptorPage<'h, H: VmxHost> {
    frames: Frames<'h, H>,
}

// SAFETY: the only state is the frame, read and written through atomics only (`words`),
// and the host reference, used only to free the frame on drop; `H: Sync` makes sharing
// that reference across processors sound.
unsafe impl<H: VmxHost + Sync> Sync for PostedInterruptDescriptorPage<'_, H> {}
// SAFETY: as above; moving the owner moves only a reference to `H: Sync` and an address.
unsafe impl<H: VmxHost + Sync> Send for PostedInterruptDescriptorPage<'_, H> {}

impl<'h, H: VmxHost> PostedInterruptDescriptorPage<'h, H> {
    /// Allocates a zeroed descriptor (no request, ON = SN = 0) whose notifications go to
    /// `vector` at `destination` (the NDST format of §30.6: the xAPIC ID in bits 15:8, see
    /// [`PostedInterruptDescriptor::xapic_destination`], or the 32-bit x2APIC ID). The
    /// vector must be the one given to the vCPU it is attached to.
    pub fn new(host: &'h H, vector: u8, destination: u32) -> Result<Self, VmxError> {
        let frames = Frames::alloc(host, 1).ok_or(VmxError::OutOfMemory {
            what: AllocWhat::VcpuStructures,
        })?;
        let page = Self { frames };
        let mut d = PostedInterruptDescriptor::new();
        d.set_notification_vector(vector);
        d.set_notification_destination(destination);
        page.words()[4].store(d.words()[4], Ordering::Release);
        Ok(page)
    }

    /// The descriptor's eight 64-bit words.
    pub(crate) fn words(&self) -> &[AtomicU64; 8] {
        // SAFETY: the frame is ours for `'h` (at least as long as `self`), mapped, page
        // aligned (so 8-byte aligned) and 4096 bytes long; it is only ever accessed through
        // these atomics by this crate, and by the processor with locked operations.
        unsafe { self.frames.ptr().cast::<[AtomicU64; 8]>().as_ref() }
    }

    /// The descriptor's host-physical address (the VMCS field's value).
    pub fn paddr(&self) -> HostPhysAddr {
        self.frames.paddr()
    }

    /// A snapshot of the descriptor (each word read atomically).
    pub fn read(&self) -> PostedInterruptDescriptor {
        let w = self.words();
        PostedInterruptDescriptor::from_words(core::array::from_fn(|i| {
            w[i].load(Ordering::Acquire)
        }))
    }

    /// Sets or clears SN, "suppress notification": senders still set PIR bits but send no
    /// IPI while it is set (software convention of Table 30-1's bits 511:257; e.g. while
    /// the vCPU is not running).
    pub fn set_suppress_notification(&self, on: bool) {
        let w = &self.words()[4];
        if on {
            w.fetch_or(SN, Ordering::AcqRel);
        } else {
            w.fetch_and(!SN, Ordering::AcqRel);
        }
    }

    /// Checks that the descriptor lies where the VMCS may point (within the physical-address
    /// width `maxphyaddr`, below `limit`; §27.2.1.1, Vol. 3D §A.1).
    pub(crate) fn check_address(&self, maxphyaddr: u8, limit: u64) -> Result<(), ApicError> {
        let a = self.paddr().as_u64();
        if a + 63 > limit || (maxphyaddr < 64 && a >> maxphyaddr != 0) {
            return Err(ApicError::DescriptorAddress(a));
        }
        Ok(())
    }

    /// A handle that posts to this descriptor and notifies through `notify`.
    pub fn sender<'a>(&'a self, notify: &'a NotifyFn<'a>) -> PostedInterruptSender<'a> {
        PostedInterruptSender {
            words: self.words(),
            notify,
        }
    }
}

impl<H: VmxHost> core::fmt::Debug for PostedInterruptDescriptorPage<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostedInterruptDescriptorPage")
            .field("paddr", &self.paddr())
            .field("descriptor", &self.read())
            .finish()
    }
}

/// The host's way of sending the notification: an IPI with `vector` to the processor
/// `destination` (the descriptor's NDST; SDM Vol. 3A §11.6.1 for sending IPIs).
pub type NotifyFn<'a> = dyn Fn(u32, u8) + Sync + 'a;

/// A `Send + Sync` handle another processor uses to post interrupts to a vCPU (SDM Vol.
/// 3C §30.6): [`post`](Self::post) sets the PIR bit and, when it is the one that sets ON,
/// sends the notification through the host callback. It borrows the descriptor, which
/// therefore outlives every sender:
///
/// ```compile_fail
/// use vmx_vcpu::VmxHost;
/// use vmx_vcpu::apic::{NotifyFn, PostedInterruptDescriptorPage, PostedInterruptSender};
/// fn escape<'a, H: VmxHost>(host: &'a H, notify: &'a NotifyFn<'a>) -> PostedInterruptSender<'a> {
///     let page = PostedInterruptDescriptorPage::new(host, 0xf2, 0).unwrap();
///     page.sender(notify) // borrows `page`, freed at the end of the function
/// }
/// ```
#[derive(Clone, Copy)]
pub struct PostedInterruptSender<'a> {
    words: &'a [AtomicU64; 8],
    notify: &'a NotifyFn<'a>,
}

impl PostedInterruptSender<'_> {
    /// Posts `vector` (the protocol of [`post`](super::post), atomically): PIR\[vector\] ←
    /// 1 (locked OR), then ON ← 1 (locked OR) unless SN is set; when ON was clear, calls
    /// the notify callback with NDST and NV. Vectors 0-15 are refused
    /// ([`VmxError::NotAnInterruptVector`]): virtual interrupts with them are never
    /// recognized (RVI\[7:4\] > VPPR\[7:4\] fails, §30.2.1).
    pub fn post(&self, vector: u8) -> Result<PostOutcome, VmxError> {
        if vector < 16 {
            return Err(VmxError::NotAnInterruptVector(vector));
        }
        self.words[usize::from(vector >> 6)].fetch_or(1 << (vector & 63), Ordering::AcqRel);
        let control = &self.words[4];
        let mut old = control.load(Ordering::Acquire);
        loop {
            if old & (ON | SN) != 0 {
                return Ok(PostOutcome::NoNotification);
            }
            match control.compare_exchange_weak(old, old | ON, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        let d = PostedInterruptDescriptor::from_words([0, 0, 0, 0, old, 0, 0, 0]);
        (self.notify)(d.notification_destination(), d.notification_vector());
        Ok(PostOutcome::Notify)
    }
}

impl core::fmt::Debug for PostedInterruptSender<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostedInterruptSender")
            .field("descriptor", &(self.words as *const _))
            .finish_non_exhaustive()
    }
}
