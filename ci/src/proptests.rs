//! Totality of the decoders: arbitrary input never panics (proptest).

use proptest::prelude::*;

use crate::elf::Elf;
use crate::image::DiskImage;
use crate::report::{SuiteReport, parse_kernel_line, parse_summary, parse_test_result};

proptest! {
    #[test]
    fn elf_parse_is_total(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(elf) = Elf::parse(&data) {
            for s in &elf.segments {
                prop_assert!(s.data.len() as u64 == s.filesz);
            }
            let _ = DiskImage::from_elf(&elf, "m", "");
        }
    }

    #[test]
    fn elf_mutations_are_total(
        flips in proptest::collection::vec((0usize..800, any::<u8>()), 0..16),
        filesz in 0u64..2048,
        memsz in 0u64..0x10_0000,
        vaddr in prop_oneof![Just(0x10_0000u64), Just(0x7C00u64), any::<u64>()],
    ) {
        let mut boot = vec![0u8; 512];
        boot[510] = 0x55;
        boot[511] = 0xAA;
        let body = vec![0xAAu8; filesz as usize];
        let mut f = crate::elf::tests::build(0x10_0000, &[(0x7C00, &boot, 512), (vaddr, &body, memsz)]);
        for (i, b) in flips {
            let n = f.len();
            if let Some(x) = f.get_mut(i % n) {
                *x ^= b;
            }
        }
        if let Ok(elf) = Elf::parse(&f)
            && let Ok(img) = DiskImage::from_elf(&elf, "corei7_icelake_u", "smoke")
        {
            prop_assert_eq!(img.bytes.len() as u64 % (16 * 63 * 512), 0);
            prop_assert!(img.bytes.len() >= 512 * (1 + img.kernel_sectors as usize));
        }
    }

    #[test]
    fn kernel_line_parsing_is_total(line in ".{0,80}") {
        let _ = parse_kernel_line(&line);
        let _ = parse_summary(&line);
        let _ = parse_test_result(&line);
        let r = SuiteReport::from_lines([line.as_str()]);
        prop_assert!(r.tally().passed <= 1);
    }

    #[test]
    fn summary_roundtrip(p in any::<u32>(), f in any::<u32>(), s in any::<u32>()) {
        let t = crate::report::Tally { passed: p.into(), failed: f.into(), skipped: s.into() };
        prop_assert_eq!(parse_summary(&t.to_string()), Some(t));
    }
}
