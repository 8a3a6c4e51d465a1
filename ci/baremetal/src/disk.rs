//! ATA PIO reads from the primary channel's master disk: how the runtime gets the payload
//! (kernel, initrd, ...) that the `ci` tool appends to the boot disk into memory.
//!
//! Protocol (ATA/ATAPI-8 ACS, READ SECTORS EXT, opcode 24h; ATA8-APT PIO data-in): for each
//! batch of at most [`MAX_SECTORS_PER_COMMAND`] sectors the driver waits until BSY is
//! clear, selects the master with LBA addressing, sets nIEN in the Device Control register
//! (no interrupt is ever raised, so no handler is needed), writes the 48-bit LBA and the
//! count as two bytes each (high then low) and issues the command; then, for each sector,
//! it polls the status register until BSY clears with DRQ or ERR set, and moves the 256
//! data words with one `rep insw` (SDM Vol. 2A "INS/INSB/INSW/INSD", with the REP prefix:
//! "REP/REPE/REPZ/REPNE/REPNZ"). Every poll is bounded ([`SPIN_LIMIT`] status reads); a
//! device that stays busy, or a floating bus (status 0xFF: no drive), gives a typed
//! [`DiskError`].
//!
//! The channel is one shared device: `read_sectors` serialises callers with a lock, so
//! calls from several processors do not interleave their register writes.
//!
//! The pure parts (batching, register values, status decoding) build and are tested on the
//! host; the port I/O is compiled only for the bare-metal target.

use core::fmt;

/// Bytes per sector.
pub const SECTOR_SIZE: usize = 512;
/// Sectors one READ SECTORS EXT command transfers at most here (the command allows 65,536;
/// 256 keeps one batch's polling simple and matches the 28-bit command's maximum).
pub const MAX_SECTORS_PER_COMMAND: u16 = 256;
/// First LBA that LBA48 cannot address (2^48).
pub const LBA48_LIMIT: u64 = 1 << 48;
/// Status reads one wait may take before it reports [`DiskError::Timeout`].
pub const SPIN_LIMIT: u32 = 10_000_000;

/// Primary channel command block registers (I/O ports).
pub mod ports {
    /// Data register (16-bit PIO transfers).
    pub const DATA: u16 = 0x1F0;
    /// Error register (read).
    pub const ERROR: u16 = 0x1F1;
    /// Sector count register (written twice for LBA48: high byte, then low byte).
    pub const SECTOR_COUNT: u16 = 0x1F2;
    /// LBA bits 0-7 (then 24-31).
    pub const LBA_LOW: u16 = 0x1F3;
    /// LBA bits 8-15 (then 32-39).
    pub const LBA_MID: u16 = 0x1F4;
    /// LBA bits 16-23 (then 40-47).
    pub const LBA_HIGH: u16 = 0x1F5;
    /// Device register: bit 6 LBA, bit 4 device (0 = master).
    pub const DEVICE: u16 = 0x1F6;
    /// Status register (read; reading it clears a pending interrupt) / command (write).
    pub const STATUS_COMMAND: u16 = 0x1F7;
    /// Alternate status (read, no side effects) / Device Control (write).
    pub const CONTROL: u16 = 0x3F6;
}

/// Status register bits (ATA8-ACS "Normal outputs").
pub mod status {
    /// Error: the error register says why.
    pub const ERR: u8 = 1 << 0;
    /// Data request: the device is ready to transfer a data block.
    pub const DRQ: u8 = 1 << 3;
    /// Device fault.
    pub const DF: u8 = 1 << 5;
    /// Device ready.
    pub const DRDY: u8 = 1 << 6;
    /// Busy: every other bit is meaningless while set.
    pub const BSY: u8 = 1 << 7;
}

/// READ SECTORS EXT (ATA8-ACS, 24h).
pub const CMD_READ_SECTORS_EXT: u8 = 0x24;
/// Device register value: LBA addressing, master (bits 7 and 5 are obsolete, written 1).
pub const DEVICE_LBA_MASTER: u8 = 0xE0;
/// Device Control value: nIEN (bit 1) set, no interrupts.
pub const CONTROL_NIEN: u8 = 0x02;

/// What a wait was waiting for when it gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitPhase {
    /// BSY clear before writing the command registers.
    Idle,
    /// BSY clear with DRQ (or ERR) set before a sector's data.
    Data,
}

/// Why a disk read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiskError {
    /// The buffer's length is not a multiple of [`SECTOR_SIZE`].
    BufferNotSectorMultiple {
        /// Its length in bytes.
        len: usize,
    },
    /// The range reaches past the last LBA48 address ([`LBA48_LIMIT`]).
    OutOfRange {
        /// First LBA asked for.
        lba: u64,
        /// Sectors asked for.
        sectors: u64,
    },
    /// The status register reads 0xFF: nothing answers on the primary channel.
    NoDevice,
    /// The device stayed busy (or never raised DRQ) for [`SPIN_LIMIT`] status reads.
    Timeout {
        /// The sector being waited for.
        lba: u64,
        /// What the driver was waiting for.
        phase: WaitPhase,
        /// The last status read.
        status: u8,
    },
    /// The device reported an error (ERR) or a device fault (DF).
    Device {
        /// The sector being transferred.
        lba: u64,
        /// The status register.
        status: u8,
        /// The error register (ABRT bit 2, IDNF bit 4, UNC bit 6, ...).
        error: u8,
    },
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::BufferNotSectorMultiple { len } => {
                write!(f, "disk: buffer of {len} bytes is not a multiple of 512")
            }
            DiskError::OutOfRange { lba, sectors } => write!(
                f,
                "disk: {sectors} sectors at LBA {lba} reach past the LBA48 limit"
            ),
            DiskError::NoDevice => write!(f, "disk: no device on the primary ATA channel"),
            DiskError::Timeout { lba, phase, status } => write!(
                f,
                "disk: timeout waiting for {} at LBA {lba} (status {status:#04x})",
                match phase {
                    WaitPhase::Idle => "the device to be idle",
                    WaitPhase::Data => "data",
                }
            ),
            DiskError::Device { lba, status, error } => write!(
                f,
                "disk: device error at LBA {lba} (status {status:#04x}, error {error:#04x})"
            ),
        }
    }
}

/// One READ SECTORS EXT command: `count` sectors (1..=[`MAX_SECTORS_PER_COMMAND`]) from
/// `lba`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// First sector.
    pub lba: u64,
    /// Sectors, 1..=256.
    pub count: u16,
}

impl Batch {
    /// The register writes that set up the command, in order, as (port, value): device
    /// select, Device Control (nIEN), then the "previous" (high) and "current" (low) bytes
    /// of the count and the LBA (ATA8-ACS 48-bit addressing), then the command.
    pub fn register_writes(&self) -> [(u16, u8); 10] {
        // LBA48 count: 16 bits, 0 would mean 65,536; 256 is 0x0100.
        let b = self.lba.to_le_bytes();
        let [c0, c1] = self.count.to_le_bytes();
        [
            (ports::DEVICE, DEVICE_LBA_MASTER),
            (ports::CONTROL, CONTROL_NIEN),
            (ports::SECTOR_COUNT, c1),
            (ports::LBA_LOW, b[3]),
            (ports::LBA_MID, b[4]),
            (ports::LBA_HIGH, b[5]),
            (ports::SECTOR_COUNT, c0),
            (ports::LBA_LOW, b[0]),
            (ports::LBA_MID, b[1]),
            (ports::LBA_HIGH, b[2]),
        ]
    }
}

/// Splits `sectors` sectors from `lba` into commands of at most
/// [`MAX_SECTORS_PER_COMMAND`], after checking the range fits LBA48.
pub fn batches(lba: u64, sectors: u64) -> Result<impl Iterator<Item = Batch>, DiskError> {
    match lba.checked_add(sectors) {
        Some(end) if end <= LBA48_LIMIT => {}
        _ => return Err(DiskError::OutOfRange { lba, sectors }),
    }
    let per = u64::from(MAX_SECTORS_PER_COMMAND);
    Ok((0..sectors.div_ceil(per)).map(move |i| {
        let first = i * per;
        Batch {
            lba: lba + first,
            // At most 256: fits.
            count: (sectors - first).min(per) as u16,
        }
    }))
}

/// What one status read means to a waiter for `want` (0 for "idle", [`status::DRQ`] for
/// "data").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCheck {
    /// Keep polling.
    Busy,
    /// The wait is over.
    Ready,
    /// ERR or DF is set.
    Failed,
    /// 0xFF: floating bus, no device.
    Absent,
}

/// Decodes a status byte for a waiter (see [`StatusCheck`]).
pub fn check_status(value: u8, want: u8) -> StatusCheck {
    if value == 0xFF {
        StatusCheck::Absent
    } else if value & status::BSY != 0 {
        StatusCheck::Busy
    } else if value & (status::ERR | status::DF) != 0 {
        StatusCheck::Failed
    } else if value & want == want {
        StatusCheck::Ready
    } else {
        StatusCheck::Busy
    }
}

/// Reads `buf.len() / 512` sectors starting at `lba` from the primary master into `buf`
/// (ATA PIO, LBA48 READ SECTORS EXT, polled, interrupts disabled at the device; see the
/// module docs). An empty buffer reads nothing. Not for interrupt handlers: the channel
/// lock is a spin lock, so a handler interrupting a read on the same processor would wait
/// forever.
#[cfg(target_os = "none")]
pub fn read_sectors(lba: u64, buf: &mut [u8]) -> Result<(), DiskError> {
    if !buf.len().is_multiple_of(SECTOR_SIZE) {
        return Err(DiskError::BufferNotSectorMultiple { len: buf.len() });
    }
    let sectors = (buf.len() / SECTOR_SIZE) as u64;
    let plan = batches(lba, sectors)?;
    let _channel = CHANNEL.lock();
    let mut chunks = buf.chunks_exact_mut(SECTOR_SIZE);
    for batch in plan {
        wait(batch.lba, WaitPhase::Idle, 0)?;
        for (port, value) in batch.register_writes() {
            // SAFETY: programming the primary channel's task file; the channel lock is
            // held, so no other caller is between its own register writes.
            unsafe { crate::cpu::outb(port, value) };
        }
        // SAFETY: as above; this starts the read (no interrupt: nIEN is set).
        unsafe { crate::cpu::outb(ports::STATUS_COMMAND, CMD_READ_SECTORS_EXT) };
        // The 400 ns the device may take to raise BSY: four alternate-status reads.
        for _ in 0..4 {
            // SAFETY: the alternate status register has no read side effects.
            unsafe { crate::cpu::inb(ports::CONTROL) };
        }
        for i in 0..u64::from(batch.count) {
            let sector_lba = batch.lba + i;
            wait(sector_lba, WaitPhase::Data, status::DRQ)?;
            let Some(chunk) = chunks.next() else {
                // Unreachable: the batches cover exactly buf.len() / 512 sectors.
                break;
            };
            // SAFETY: `chunk` is 512 writable bytes owned by the caller for this call;
            // `rep insw` stores exactly 256 words there (RDI advances, DF is clear as the
            // ABI requires) and reads only the data port, which has DRQ set for one
            // sector. RDI and RCX are declared clobbered.
            unsafe {
                core::arch::asm!(
                    "rep insw",
                    in("dx") ports::DATA,
                    inout("rdi") chunk.as_mut_ptr() => _,
                    inout("rcx") SECTOR_SIZE / 2 => _,
                    options(nostack, preserves_flags)
                );
            }
        }
        // After the last block the device drops DRQ and reports a late error in ERR/DF.
        let last = batch.lba + u64::from(batch.count) - 1;
        wait(last, WaitPhase::Idle, 0)?;
    }
    Ok(())
}

/// Serialises users of the primary channel.
#[cfg(target_os = "none")]
static CHANNEL: crate::sync::SpinLock<()> = crate::sync::SpinLock::new(());

/// Polls the status register until [`check_status`] says ready, at most [`SPIN_LIMIT`]
/// times.
#[cfg(target_os = "none")]
fn wait(lba: u64, phase: WaitPhase, want: u8) -> Result<(), DiskError> {
    let mut last = 0;
    for _ in 0..SPIN_LIMIT {
        // SAFETY: reading the status register only acknowledges a pending interrupt,
        // which nIEN keeps from being raised.
        last = unsafe { crate::cpu::inb(ports::STATUS_COMMAND) };
        match check_status(last, want) {
            StatusCheck::Ready => return Ok(()),
            StatusCheck::Busy => core::hint::spin_loop(),
            StatusCheck::Absent => return Err(DiskError::NoDevice),
            StatusCheck::Failed => {
                // SAFETY: the error register has no read side effects.
                let error = unsafe { crate::cpu::inb(ports::ERROR) };
                return Err(DiskError::Device {
                    lba,
                    status: last,
                    error,
                });
            }
        }
    }
    Err(DiskError::Timeout {
        lba,
        phase,
        status: last,
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;
    use std::vec::Vec;

    #[test]
    fn register_writes_split_lba_and_count() {
        let b = Batch {
            lba: 0x0000_BEEF_CAFE_F00D,
            count: 5,
        };
        assert_eq!(
            b.register_writes(),
            [
                (0x1F6, 0xE0),
                (0x3F6, 0x02),
                (0x1F2, 0),
                (0x1F3, 0xCA),
                (0x1F4, 0xEF),
                (0x1F5, 0xBE),
                (0x1F2, 5),
                (0x1F3, 0x0D),
                (0x1F4, 0xF0),
                (0x1F5, 0xFE),
            ]
        );
        // 256 sectors is 0x0100 (a 16-bit count of 0 would mean 65,536).
        let w = Batch { lba: 1, count: 256 }.register_writes();
        assert_eq!((w[2], w[6]), ((0x1F2, 1), (0x1F2, 0)));
    }

    #[test]
    fn batches_cover_exactly() {
        let v: Vec<Batch> = batches(10, 600).unwrap().collect();
        assert_eq!(
            v,
            [
                Batch {
                    lba: 10,
                    count: 256
                },
                Batch {
                    lba: 266,
                    count: 256
                },
                Batch {
                    lba: 522,
                    count: 88
                },
            ]
        );
        assert_eq!(batches(7, 0).unwrap().count(), 0);
        assert!(matches!(
            batches(LBA48_LIMIT - 1, 2),
            Err(DiskError::OutOfRange { .. })
        ));
        assert!(matches!(
            batches(u64::MAX, 2),
            Err(DiskError::OutOfRange { .. })
        ));
        assert_eq!(batches(LBA48_LIMIT - 1, 1).unwrap().count(), 1);
    }

    #[test]
    fn status_decoding() {
        assert_eq!(check_status(0xFF, 0), StatusCheck::Absent);
        assert_eq!(check_status(0x80, 0), StatusCheck::Busy);
        assert_eq!(check_status(0x80 | 0x01, 0), StatusCheck::Busy);
        assert_eq!(check_status(0x50, 0), StatusCheck::Ready);
        assert_eq!(check_status(0x50, status::DRQ), StatusCheck::Busy);
        assert_eq!(check_status(0x58, status::DRQ), StatusCheck::Ready);
        assert_eq!(check_status(0x51, status::DRQ), StatusCheck::Failed);
        assert_eq!(check_status(0x60, 0), StatusCheck::Failed);
    }

    #[test]
    fn errors_display() {
        let e = DiskError::Device {
            lba: 3,
            status: 0x51,
            error: 0x04,
        };
        assert_eq!(
            e.to_string(),
            "disk: device error at LBA 3 (status 0x51, error 0x04)"
        );
        assert!(
            DiskError::BufferNotSectorMultiple { len: 5 }
                .to_string()
                .contains("5 bytes")
        );
        assert!(
            DiskError::Timeout {
                lba: 9,
                phase: WaitPhase::Data,
                status: 0x80
            }
            .to_string()
            .contains("data at LBA 9")
        );
    }

    proptest! {
        #[test]
        fn batches_partition_the_range(lba in 0u64..LBA48_LIMIT, sectors in 0u64..5000) {
            match batches(lba, sectors) {
                Ok(it) => {
                    let mut next = lba;
                    for b in it {
                        prop_assert_eq!(b.lba, next);
                        prop_assert!(b.count >= 1 && b.count <= MAX_SECTORS_PER_COMMAND);
                        next += u64::from(b.count);
                    }
                    prop_assert_eq!(next, lba + sectors);
                    prop_assert!(next <= LBA48_LIMIT);
                }
                Err(e) => prop_assert!(lba + sectors > LBA48_LIMIT, "{}", e),
            }
        }

        #[test]
        fn register_writes_round_trip(lba in 0u64..LBA48_LIMIT, count in 1u16..=256) {
            let w = Batch { lba, count }.register_writes();
            let bytes = [w[7].1, w[8].1, w[9].1, w[3].1, w[4].1, w[5].1, 0, 0];
            prop_assert_eq!(u64::from_le_bytes(bytes), lba);
            let c = u16::from_le_bytes([w[6].1, w[2].1]);
            prop_assert_eq!(c, count);
        }
    }
}
