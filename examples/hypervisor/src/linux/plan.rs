//! [`plan`] and [`BootPlan::write_into`]: choosing the protocol, checking sizes, placing the
//! initrd, and copying the chunks into guest RAM.

use alloc::vec::Vec;

use super::boot_params::Ramdisk;
use super::e820::{self, E820Entry};
use super::error::LinuxBootError;
use super::layout::{
    CMDLINE_GPA, HIGH_RAM_START, MAX_RAM_SIZE, MIN_RAM_SIZE, MP_TABLE_GPA, PAGE_SIZE,
};
use super::mptable::{self, MAX_VCPUS};
use super::{BootConfig, BootPlan, Chunk, ChunkSource, Protocol, bzimage, pvh};

fn check_machine(cfg: &BootConfig) -> Result<(), LinuxBootError> {
    if cfg.ram_size < MIN_RAM_SIZE {
        return Err(LinuxBootError::RamTooSmall {
            ram_size: cfg.ram_size,
            minimum: MIN_RAM_SIZE,
        });
    }
    if cfg.ram_size > MAX_RAM_SIZE {
        return Err(LinuxBootError::RamTooLarge {
            ram_size: cfg.ram_size,
            maximum: MAX_RAM_SIZE,
        });
    }
    if cfg.vcpus == 0 {
        return Err(LinuxBootError::NoVcpus);
    }
    if cfg.vcpus > MAX_VCPUS {
        return Err(LinuxBootError::TooManyVcpus {
            vcpus: cfg.vcpus,
            maximum: MAX_VCPUS,
        });
    }
    if let Some(at) = cfg.cmdline.bytes().position(|b| b == 0) {
        return Err(LinuxBootError::CmdlineHasNul { at });
    }
    Ok(())
}

/// The initrd's place: page-aligned, as high as possible below the RAM's end and `limit`,
/// above the kernel and 1 MiB.
fn place_initrd(
    len: u64,
    kernel_end: u64,
    limit: u64,
    ram_size: u64,
) -> Result<u64, LinuxBootError> {
    let lowest = kernel_end
        .max(HIGH_RAM_START)
        .checked_next_multiple_of(PAGE_SIZE)
        .unwrap_or(u64::MAX);
    let end = limit.min(ram_size);
    let error = LinuxBootError::InitrdDoesNotFit {
        len,
        lowest,
        limit: end,
    };
    let start = end.checked_sub(len).ok_or(error)? & !(PAGE_SIZE - 1);
    if start < lowest {
        return Err(error);
    }
    Ok(start)
}

/// Checks that no two chunks overlap and that each lies inside `ram_size` bytes.
fn check_chunks(chunks: &[Chunk], initrd_len: u64, ram_size: u64) -> Result<(), LinuxBootError> {
    let mut ranges: Vec<(u64, u64)> = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let len = chunk.len(initrd_len);
        let end = chunk.gpa.checked_add(len).filter(|end| *end <= ram_size);
        let Some(end) = end else {
            return Err(LinuxBootError::ChunkOutsideRam {
                gpa: chunk.gpa,
                len,
                ram_len: ram_size,
            });
        };
        if len > 0 {
            ranges.push((chunk.gpa, end));
        }
    }
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        if pair[0].1 > pair[1].0 {
            return Err(LinuxBootError::ChunksOverlap {
                first: pair[0],
                second: pair[1],
            });
        }
    }
    Ok(())
}

/// Plans the boot of `cfg.kernel` by `cfg.protocol` on a machine of `cfg.ram_size` bytes
/// and `cfg.vcpus` processors. Checks: RAM between [`MIN_RAM_SIZE`] and [`MAX_RAM_SIZE`],
/// 1..=[`MAX_VCPUS`] vCPUs, the command line (no NUL, not longer than the kernel accepts),
/// the kernel image, the kernel inside the e820 RAM, the initrd between the kernel and its
/// limit, and no two chunks overlapping. Never panics, whatever the kernel bytes.
pub fn plan(cfg: &BootConfig) -> Result<BootPlan, LinuxBootError> {
    check_machine(cfg)?;
    let e820: Vec<E820Entry> = e820::memory_map(cfg.ram_size);
    let (placement, header) = match cfg.protocol {
        Protocol::BzImage => {
            let (header, placement) = bzimage::place(cfg.kernel)?;
            (placement, Some(header))
        }
        Protocol::Pvh => (pvh::place(cfg.kernel)?, None),
    };
    let (start, end) = placement.range;
    if !e820::is_ram(&e820, start, end) {
        return Err(LinuxBootError::KernelOutsideRam { start, end });
    }
    if cfg.cmdline.len() as u64 > placement.cmdline_max {
        return Err(LinuxBootError::CmdlineTooLong {
            len: cfg.cmdline.len(),
            maximum: placement.cmdline_max,
        });
    }
    let ramdisk = if cfg.initrd_len > 0 {
        let gpa = place_initrd(cfg.initrd_len, end, placement.initrd_limit, cfg.ram_size)?;
        Some(Ramdisk {
            gpa,
            len: cfg.initrd_len,
        })
    } else {
        None
    };

    let (structures, entry) = match header {
        Some(header) => {
            bzimage::boot_structures(cfg.kernel, &header, placement.entry, ramdisk, &e820)
        }
        None => pvh::boot_structures(placement.entry as u32, ramdisk, &e820),
    };
    let mut chunks = placement.chunks;
    chunks.extend(structures);
    let mut cmdline = Vec::with_capacity(cfg.cmdline.len() + 1);
    cmdline.extend_from_slice(cfg.cmdline.as_bytes());
    cmdline.push(0);
    chunks.push(Chunk {
        gpa: CMDLINE_GPA,
        source: ChunkSource::Bytes(cmdline),
    });
    if cfg.mp_table {
        chunks.push(Chunk {
            gpa: MP_TABLE_GPA,
            source: ChunkSource::Bytes(mptable::build(MP_TABLE_GPA, cfg.vcpus)),
        });
    }
    if let Some(ramdisk) = ramdisk {
        chunks.push(Chunk {
            gpa: ramdisk.gpa,
            source: ChunkSource::Initrd,
        });
    }
    check_chunks(&chunks, cfg.initrd_len, cfg.ram_size)?;
    Ok(BootPlan {
        chunks,
        entry,
        e820,
        initrd_gpa: ramdisk.map_or(0, |r| r.gpa),
        initrd_len: cfg.initrd_len,
        kernel_range: placement.range,
    })
}

impl BootPlan {
    /// Copies every chunk into `ram` (guest RAM, indexed by guest-physical address): kernel
    /// bytes from `kernel` (the image the plan was made from), the initrd from `initrd`
    /// (exactly [`initrd_len`](Self::initrd_len) bytes), the boot structures, and zeros.
    /// Bytes outside the chunks are left as they are (guest RAM starts zeroed). On an error
    /// the chunks before the failing one have been written.
    pub fn write_into(
        &self,
        ram: &mut [u8],
        kernel: &[u8],
        initrd: &[u8],
    ) -> Result<(), LinuxBootError> {
        if initrd.len() as u64 != self.initrd_len {
            return Err(LinuxBootError::InitrdLengthMismatch {
                planned: self.initrd_len,
                given: initrd.len() as u64,
            });
        }
        let ram_len = ram.len() as u64;
        for chunk in &self.chunks {
            let len = chunk.len(self.initrd_len);
            let outside = LinuxBootError::ChunkOutsideRam {
                gpa: chunk.gpa,
                len,
                ram_len,
            };
            let start = usize::try_from(chunk.gpa).map_err(|_| outside)?;
            let count = usize::try_from(len).map_err(|_| outside)?;
            let dest = start
                .checked_add(count)
                .and_then(|end| ram.get_mut(start..end))
                .ok_or(outside)?;
            match &chunk.source {
                ChunkSource::Kernel { offset, len } => {
                    let needed = offset.saturating_add(*len);
                    let bytes =
                        kernel
                            .get(*offset..needed)
                            .ok_or(LinuxBootError::KernelTooShort {
                                needed,
                                len: kernel.len(),
                            })?;
                    dest.copy_from_slice(bytes);
                }
                ChunkSource::Initrd => dest.copy_from_slice(initrd),
                ChunkSource::Bytes(bytes) => dest.copy_from_slice(bytes),
                ChunkSource::Zero(_) => dest.fill(0),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::EntryState;
    use crate::linux::boot_params::{E820_ENTRIES, E820_TABLE};
    use crate::linux::bytes::{u8_at, u32_at, u64_at};
    use crate::linux::layout::{BOOT_PARAMS_GPA, START_INFO_GPA};
    use crate::linux::setup_header::SetupHeaderError;
    use crate::linux::setup_header::{offset, test_image};
    use crate::linux::start_info::field;
    use crate::linux::vmlinux::{VmlinuxError, test_vmlinux};
    use alloc::vec;
    use proptest::prelude::*;

    const RAM: u64 = 64 << 20;

    fn config<'a>(kernel: &'a [u8], protocol: Protocol) -> BootConfig<'a> {
        BootConfig {
            kernel,
            initrd_len: 0x1_2345,
            cmdline: "console=ttyS0 quiet",
            ram_size: RAM,
            vcpus: 2,
            protocol,
            mp_table: true,
        }
    }

    fn cstr_at(ram: &[u8], gpa: u64) -> &[u8] {
        let rest = &ram[gpa as usize..];
        &rest[..rest.iter().position(|b| *b == 0).unwrap()]
    }

    #[test]
    fn bzimage_plan_written_into_ram() {
        let kernel = test_image(0x2000);
        let cfg = config(&kernel, Protocol::BzImage);
        let plan = plan(&cfg).unwrap();
        let initrd = vec![0x5Au8; cfg.initrd_len as usize];
        let mut ram = vec![0u8; RAM as usize];
        plan.write_into(&mut ram, &kernel, &initrd).unwrap();

        assert_eq!(
            plan.entry,
            EntryState::Long64 {
                rip: 0x100_0200,
                rsi: BOOT_PARAMS_GPA,
                cr3: 0x9000,
                gdt_base: 0x1000,
                gdt_limit: 0x2F
            }
        );
        assert_eq!(plan.kernel_range, (0x100_0000, 0x140_0000));
        assert_eq!(&ram[0x100_0000..0x100_2000], &kernel[1024..]);
        // The initrd: page aligned, at the top of RAM, above the kernel.
        assert_eq!(plan.initrd_gpa % 0x1000, 0);
        assert!(plan.initrd_gpa + cfg.initrd_len <= RAM);
        assert!(RAM - (plan.initrd_gpa + cfg.initrd_len) < 0x1000);
        assert!(plan.initrd_gpa >= plan.kernel_range.1);
        let i = plan.initrd_gpa as usize;
        assert_eq!(&ram[i..i + initrd.len()], &initrd[..]);
        // The zero page refers to the command line and the initrd.
        let bp = &ram[BOOT_PARAMS_GPA as usize..][..4096];
        let cmdline = u32_at(bp, offset::CMD_LINE_PTR).unwrap();
        assert_eq!(cstr_at(&ram, u64::from(cmdline)), cfg.cmdline.as_bytes());
        assert_eq!(
            u32_at(bp, offset::RAMDISK_IMAGE),
            Some(plan.initrd_gpa as u32)
        );
        assert_eq!(
            u32_at(bp, offset::RAMDISK_SIZE),
            Some(cfg.initrd_len as u32)
        );
        assert_eq!(u8_at(bp, E820_ENTRIES), Some(4));
        assert_eq!(u64_at(bp, E820_TABLE + 3 * 20 + 8), Some(RAM - 0x10_0000));
        // The MP table is where Linux scans.
        assert_eq!(&ram[0x9_FC00..0x9_FC04], b"_MP_");
        // Chunks are in RAM and disjoint.
        check_chunks(&plan.chunks, plan.initrd_len, RAM).unwrap();
    }

    #[test]
    fn pvh_plan_written_into_ram() {
        let kernel = test_vmlinux(
            &[
                (0x100_0000, &[0xAB; 64], 0x3000),
                (0x120_0000, &[0xCD; 16], 16),
            ],
            Some(0x100_0008),
        );
        let cfg = config(&kernel, Protocol::Pvh);
        let plan = plan(&cfg).unwrap();
        let initrd = vec![0x77u8; cfg.initrd_len as usize];
        let mut ram = vec![0xEEu8; RAM as usize];
        plan.write_into(&mut ram, &kernel, &initrd).unwrap();
        assert_eq!(
            plan.entry,
            EntryState::Protected32 {
                eip: 0x100_0008,
                ebx: START_INFO_GPA as u32,
                gdt_base: 0x1000,
                gdt_limit: 0x2F
            }
        );
        assert_eq!(&ram[0x100_0000..0x100_0040], &[0xAB; 64]);
        assert!(ram[0x100_0040..0x100_3000].iter().all(|b| *b == 0));
        assert_eq!(&ram[0x120_0000..0x120_0010], &[0xCD; 16]);
        let si = &ram[START_INFO_GPA as usize..][..4096];
        assert_eq!(u32_at(si, field::MAGIC), Some(0x336E_C578));
        assert_eq!(u32_at(si, field::NR_MODULES), Some(1));
        let modlist = u64_at(si, field::MODLIST_PADDR).unwrap() as usize;
        assert_eq!(u64_at(&ram, modlist), Some(plan.initrd_gpa));
        assert_eq!(u64_at(&ram, modlist + 8), Some(cfg.initrd_len));
        let cmdline = u64_at(si, field::CMDLINE_PADDR).unwrap();
        assert_eq!(cstr_at(&ram, cmdline), cfg.cmdline.as_bytes());
        assert_eq!(u32_at(si, field::MEMMAP_ENTRIES), Some(4));
    }

    #[test]
    fn no_initrd_and_no_mp_table() {
        let kernel = test_image(0x100);
        let cfg = BootConfig {
            initrd_len: 0,
            mp_table: false,
            ..config(&kernel, Protocol::BzImage)
        };
        let plan = plan(&cfg).unwrap();
        assert_eq!(plan.initrd_gpa, 0);
        assert!(!plan.chunks.iter().any(|c| c.source == ChunkSource::Initrd));
        assert!(!plan.chunks.iter().any(|c| c.gpa == MP_TABLE_GPA));
        let mut ram = vec![0u8; RAM as usize];
        plan.write_into(&mut ram, &kernel, &[]).unwrap();
        assert_eq!(&ram[0x9_FC00..0x9_FC04], &[0; 4]);
    }

    #[test]
    fn machine_errors() {
        let kernel = test_image(0x100);
        let base = config(&kernel, Protocol::BzImage);
        let e = |cfg: BootConfig| plan(&cfg).map(|_| ()).unwrap_err();
        assert_eq!(
            e(BootConfig {
                ram_size: 0x10_0000,
                ..base
            }),
            LinuxBootError::RamTooSmall {
                ram_size: 0x10_0000,
                minimum: MIN_RAM_SIZE
            }
        );
        assert_eq!(
            e(BootConfig {
                ram_size: 4 << 30,
                ..base
            }),
            LinuxBootError::RamTooLarge {
                ram_size: 4 << 30,
                maximum: MAX_RAM_SIZE
            }
        );
        assert_eq!(e(BootConfig { vcpus: 0, ..base }), LinuxBootError::NoVcpus);
        assert_eq!(
            e(BootConfig { vcpus: 33, ..base }),
            LinuxBootError::TooManyVcpus {
                vcpus: 33,
                maximum: 32
            }
        );
        assert_eq!(
            e(BootConfig {
                cmdline: "a\0b",
                ..base
            }),
            LinuxBootError::CmdlineHasNul { at: 1 }
        );
        let long = "x".repeat(2048);
        assert_eq!(
            e(BootConfig {
                cmdline: &long,
                ..base
            }),
            LinuxBootError::CmdlineTooLong {
                len: 2048,
                maximum: 2047
            }
        );
        assert_eq!(
            e(BootConfig {
                ram_size: 16 << 20,
                ..base
            }),
            LinuxBootError::KernelOutsideRam {
                start: 0x100_0000,
                end: 0x140_0000
            }
        );
        assert_eq!(
            e(BootConfig {
                ram_size: 0x140_0000 + 0x1000,
                initrd_len: 0x2000,
                ..base
            }),
            LinuxBootError::InitrdDoesNotFit {
                len: 0x2000,
                lowest: 0x140_0000,
                limit: 0x140_1000
            }
        );
        assert_eq!(
            e(BootConfig {
                initrd_len: u64::MAX,
                ..base
            }),
            LinuxBootError::InitrdDoesNotFit {
                len: u64::MAX,
                lowest: 0x140_0000,
                limit: RAM
            }
        );
        assert_eq!(
            e(BootConfig {
                kernel: &kernel[..0x100],
                ..base
            }),
            LinuxBootError::SetupHeader(SetupHeaderError::TooShort { len: 0x100 })
        );
        assert_eq!(
            e(BootConfig {
                protocol: Protocol::Pvh,
                ..base
            }),
            LinuxBootError::Vmlinux(VmlinuxError::NotElf)
        );
    }

    #[test]
    fn initrd_stays_below_its_limits() {
        let kernel = test_image(0x100);
        let cfg = BootConfig {
            ram_size: MAX_RAM_SIZE,
            ..config(&kernel, Protocol::BzImage)
        };
        let p = plan(&cfg).unwrap();
        assert!(p.initrd_gpa + cfg.initrd_len <= 0x3800_0000);
        assert!(0x3800_0000 - (p.initrd_gpa + cfg.initrd_len) < 0x1000);
        let mut low_max = test_image(0x100);
        crate::linux::bytes::put_u32(&mut low_max, offset::INITRD_ADDR_MAX, 0x1FFF_FFFF);
        let p = plan(&BootConfig {
            kernel: &low_max,
            ..cfg
        })
        .unwrap();
        assert!(p.initrd_gpa + cfg.initrd_len <= 0x2000_0000);
    }

    #[test]
    fn overlapping_chunks_are_rejected() {
        // A segment in low RAM over the start info.
        let kernel = test_vmlinux(&[(0x6000, &[1; 0x2000], 0x2000)], Some(0x6000));
        assert_eq!(
            plan(&config(&kernel, Protocol::Pvh)).map(|_| ()),
            Err(LinuxBootError::ChunksOverlap {
                first: (0x6000, 0x8000),
                second: (0x7000, 0x8000)
            })
        );
        // Two segments over each other.
        let kernel = test_vmlinux(
            &[
                (0x100_0000, &[1; 0x20], 0x20),
                (0x100_0010, &[2; 0x20], 0x20),
            ],
            Some(0x100_0000),
        );
        assert_eq!(
            plan(&config(&kernel, Protocol::Pvh)).map(|_| ()),
            Err(LinuxBootError::ChunksOverlap {
                first: (0x100_0000, 0x100_0020),
                second: (0x100_0010, 0x100_0030)
            })
        );
        // A segment in the reserved EBDA / BIOS area.
        let kernel = test_vmlinux(&[(0xF_0000, &[1; 0x20], 0x20)], Some(0xF_0000));
        assert_eq!(
            plan(&config(&kernel, Protocol::Pvh)).map(|_| ()),
            Err(LinuxBootError::KernelOutsideRam {
                start: 0xF_0000,
                end: 0xF_0020
            })
        );
    }

    #[test]
    fn write_into_errors() {
        let kernel = test_image(0x2000);
        let cfg = config(&kernel, Protocol::BzImage);
        let plan = plan(&cfg).unwrap();
        let initrd = vec![0u8; cfg.initrd_len as usize];
        let mut small = vec![0u8; 32 << 20];
        assert!(matches!(
            plan.write_into(&mut small, &kernel, &initrd),
            Err(LinuxBootError::ChunkOutsideRam { ram_len, .. }) if ram_len == 32 << 20
        ));
        let mut ram = vec![0u8; RAM as usize];
        assert_eq!(
            plan.write_into(&mut ram, &kernel[..0x1000], &initrd),
            Err(LinuxBootError::KernelTooShort {
                needed: 1024 + 0x2000,
                len: 0x1000
            })
        );
        assert_eq!(
            plan.write_into(&mut ram, &kernel, &initrd[1..]),
            Err(LinuxBootError::InitrdLengthMismatch {
                planned: cfg.initrd_len,
                given: cfg.initrd_len - 1
            })
        );
    }

    #[test]
    fn errors_display() {
        let e = LinuxBootError::KernelOutsideRam {
            start: 0x1000,
            end: 0x2000,
        };
        assert_eq!(
            alloc::format!("{e}"),
            "the kernel needs [0x1000, 0x2000), which is not guest RAM"
        );
        let e = LinuxBootError::Vmlinux(VmlinuxError::NoPvhEntry);
        assert!(alloc::format!("{e}").starts_with("PVH: "));
    }

    proptest! {
        #[test]
        fn plan_never_panics_on_arbitrary_kernels(
            kernel in proptest::collection::vec(any::<u8>(), 0..0x800),
            pvh in any::<bool>(),
            initrd_len in any::<u64>(),
            ram_size in any::<u64>(),
            vcpus in 0u32..40,
        ) {
            let cfg = BootConfig {
                kernel: &kernel,
                initrd_len,
                cmdline: "console=ttyS0",
                ram_size,
                vcpus,
                protocol: if pvh { Protocol::Pvh } else { Protocol::BzImage },
                mp_table: true,
            };
            if let Ok(plan) = plan(&cfg) {
                prop_assert!(check_chunks(&plan.chunks, plan.initrd_len, ram_size).is_ok());
            }
        }

        #[test]
        fn mutated_images_plan_consistently(
            index in 0usize..0x500,
            value in any::<u8>(),
            pvh in any::<bool>(),
            initrd_len in 0u64..0x100_0000,
        ) {
            let mut kernel = if pvh {
                test_vmlinux(&[(0x100_0000, &[1; 0x100], 0x1000)], Some(0x100_0000))
            } else {
                test_image(0x200)
            };
            if let Some(b) = kernel.get_mut(index) {
                *b = value;
            }
            let cfg = BootConfig {
                initrd_len,
                ..config(&kernel, if pvh { Protocol::Pvh } else { Protocol::BzImage })
            };
            if let Ok(plan) = plan(&cfg) {
                let mut ram = vec![0u8; RAM as usize];
                let initrd = vec![1u8; initrd_len as usize];
                prop_assert_eq!(plan.write_into(&mut ram, &kernel, &initrd), Ok(()));
            }
        }
    }
}
