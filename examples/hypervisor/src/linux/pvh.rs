//! Planning a PVH boot of an uncompressed `vmlinux` (Xen `docs/misc/pvh.pandoc`, the
//! "PVH" direct boot ABI Linux implements in `arch/x86/platform/pvh/`): the `PT_LOAD`
//! segments at their physical addresses, `hvm_start_info` with the memory map and the initrd
//! module, and entry at the `XEN_ELFNOTE_PHYS32_ENTRY` address in 32-bit protected mode with
//! paging off, CS a flat 32-bit code segment, DS/ES/SS flat data, EBX = the start info
//! (SDM Vol. 3A §10.9 for protected mode without paging).

use alloc::vec;
use alloc::vec::Vec;

use super::boot_params::Ramdisk;
use super::e820::E820Entry;
use super::error::LinuxBootError;
use super::gdt::{self, CodeSize, GDT_LIMIT};
use super::layout::{CMDLINE_GPA, CMDLINE_MAX, GDT_GPA, INITRD_MAX_END, START_INFO_GPA};
use super::start_info;
use super::vmlinux::Vmlinux;
use super::{Chunk, ChunkSource, EntryState, KernelPlacement};

/// Parses the `vmlinux` and places its segments: the file bytes of each, then zeros up to
/// its memory size.
pub(crate) fn place(kernel: &[u8]) -> Result<KernelPlacement, LinuxBootError> {
    let vmlinux = Vmlinux::parse(kernel)?;
    let mut chunks = Vec::new();
    for segment in &vmlinux.segments {
        if segment.file_size > 0 {
            chunks.push(Chunk {
                gpa: segment.paddr,
                source: ChunkSource::Kernel {
                    offset: segment.offset,
                    len: segment.file_size,
                },
            });
        }
        let zeros = segment.mem_size - segment.file_size as u64;
        if zeros > 0 {
            chunks.push(Chunk {
                gpa: segment.paddr + segment.file_size as u64,
                source: ChunkSource::Zero(zeros),
            });
        }
    }
    Ok(KernelPlacement {
        chunks,
        range: vmlinux.range(),
        initrd_limit: INITRD_MAX_END,
        cmdline_max: CMDLINE_MAX - 1,
        entry: u64::from(vmlinux.pvh_entry),
    })
}

/// The boot structures (GDT page, start info page) and the 32-bit entry state.
pub(crate) fn boot_structures(
    entry: u32,
    ramdisk: Option<Ramdisk>,
    e820: &[E820Entry],
) -> (Vec<Chunk>, EntryState) {
    let chunks = vec![
        Chunk {
            gpa: GDT_GPA,
            source: ChunkSource::Bytes(gdt::page(CodeSize::Protected32)),
        },
        Chunk {
            gpa: START_INFO_GPA,
            source: ChunkSource::Bytes(start_info::build(
                START_INFO_GPA,
                CMDLINE_GPA,
                ramdisk,
                e820,
            )),
        },
    ];
    let state = EntryState::Protected32 {
        eip: entry,
        ebx: START_INFO_GPA as u32,
        gdt_base: GDT_GPA,
        gdt_limit: GDT_LIMIT,
    };
    (chunks, state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::vmlinux::test_vmlinux;

    #[test]
    fn segments_become_kernel_and_zero_chunks() {
        let file = test_vmlinux(
            &[(0x100_0000, &[7; 32], 0x2000), (0x200_0000, &[], 0x100)],
            Some(0x100_0010),
        );
        let p = place(&file).unwrap();
        assert_eq!(p.entry, 0x100_0010);
        assert_eq!(p.range, (0x100_0000, 0x200_0100));
        assert_eq!(p.chunks.len(), 3);
        assert_eq!(p.chunks[0].gpa, 0x100_0000);
        assert!(matches!(
            p.chunks[0].source,
            ChunkSource::Kernel { len: 32, .. }
        ));
        assert_eq!(p.chunks[1].gpa, 0x100_0020);
        assert_eq!(p.chunks[1].source, ChunkSource::Zero(0x2000 - 32));
        assert_eq!(p.chunks[2].gpa, 0x200_0000);
        assert_eq!(p.chunks[2].source, ChunkSource::Zero(0x100));
    }

    #[test]
    fn entry_state_points_at_the_start_info() {
        let (chunks, entry) = boot_structures(0x100_0010, None, &[]);
        assert_eq!(chunks[1].gpa, START_INFO_GPA);
        assert_eq!(
            entry,
            EntryState::Protected32 {
                eip: 0x100_0010,
                ebx: 0x7000,
                gdt_base: GDT_GPA,
                gdt_limit: GDT_LIMIT
            }
        );
    }
}
