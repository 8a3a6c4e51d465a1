//! What a malicious or buggy guest controls, fed to the crate's pure decoding and completion
//! code (issue 5: "no panic on anything a guest can do"). Each property names the guest
//! action it covers: exit reasons the crate does not know, entry failures with any reason,
//! I/O at any port and size, MOV to CR3, XSETBV of any value, RDMSR/WRMSR of any index,
//! instruction lengths at the ends of the address space, IDT-vectoring information of any
//! value, triple fault, INIT and SIPI.

use std::collections::HashMap;

use proptest::prelude::*;
use vmx_defs::exit_reason::{BasicExitReason, ExitReason};
use vmx_defs::instruction_info::Gpr;
use vmx_defs::qualification::{ExitQualification, SipiQualification};
use vmx_defs::vmcs::fields;
use vmx_vcpu::VmxError;
use vmx_vcpu::bitmap::{IoBitmaps, MsrAccess, MsrBitmap, MsrIntercept};
use vmx_vcpu::event::Event;
use vmx_vcpu::exit::*;
use vmx_vcpu::regs::GuestRegisters;
use vmx_vcpu::xstate::{check_xcr0, check_xsetbv};

/// A field source with fixed values (0 for any other field).
struct Fields(HashMap<u32, u64>);

impl ExitInfoSource for Fields {
    fn read_field(&mut self, encoding: u32) -> u64 {
        self.0.get(&encoding).copied().unwrap_or(0)
    }
}

const REASON: u32 = fields::EXIT_REASON.raw();
const QUAL: u32 = fields::EXIT_QUALIFICATION.raw();

fn decode(reason: u32, qualification: u64, regs: &GuestRegisters) -> VmExit {
    let mut f = Fields(HashMap::from([
        (REASON, u64::from(reason)),
        (QUAL, qualification),
    ]));
    decode_exit(&mut f, regs)
}

/// The basic reasons the decoder gives a variant of its own (SDM Vol. 3D Appendix C).
const KNOWN: &[u16] = &[
    0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
    29, 30, 31, 32, 36, 37, 39, 40, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 57, 58, 59, 61,
];

fn regs_from(v: &[u64]) -> GuestRegisters {
    GuestRegisters {
        rax: v[0],
        rcx: v[1],
        rdx: v[2],
        rbx: v[3],
        rbp: v[4],
        rsi: v[5],
        rdi: v[6],
        r8: v[7],
        r9: v[8],
        r10: v[9],
        r11: v[10],
        r12: v[11],
        r13: v[12],
        r14: v[13],
        r15: v[14],
        ..Default::default()
    }
}

proptest! {
    /// An exit reason the crate does not decode (a newer processor's, or one it leaves to
    /// the caller: SMI, RSM, APIC access, ...) is `Other` with the full raw reason and the
    /// qualification as vmx-defs decodes it; never a panic, never a halt.
    #[test]
    fn unknown_exit_reason_is_other_with_raw_reason(
        basic in any::<u16>().prop_filter("unknown", |b| !KNOWN.contains(b)),
        flags in 0u32..0x8000,
        qualification in any::<u64>(),
    ) {
        let raw = (flags << 16) | u32::from(basic);
        let exit = decode(raw, qualification, &GuestRegisters::default());
        prop_assert_eq!(
            exit,
            VmExit::Other {
                reason: ExitReason(raw),
                qualification: ExitQualification::decode(basic, qualification),
            }
        );
        prop_assert_eq!(exit.reason(), BasicExitReason(basic));
    }

    /// A failed VM entry (bit 31) is `EntryFailure` with its raw reason and qualification
    /// whatever basic reason it carries, not only 33, 34 and 41, and never "reason 0".
    #[test]
    fn entry_failure_with_any_basic_reason_is_typed(
        basic in any::<u16>(),
        flags in 0u32..0x8000,
        qualification in any::<u64>(),
    ) {
        let raw = ExitReason::VM_ENTRY_FAILURE | (flags << 16) | u32::from(basic);
        let exit = decode(raw, qualification, &GuestRegisters::default());
        prop_assert_eq!(
            exit,
            VmExit::EntryFailure(EntryFailure { reason: ExitReason(raw), qualification, check: None })
        );
    }

    /// IN/OUT/INS/OUTS at any port (0x8000-0xFFFF included) with any qualification: the
    /// port is bits 31:16, a reserved size encoding is `Other`, and the OUT value is RAX cut
    /// to the access size.
    #[test]
    fn io_exit_any_port_and_size(qualification in any::<u64>(), rax in any::<u64>()) {
        let regs = GuestRegisters { rax, ..Default::default() };
        let exit = decode(30, qualification, &regs);
        match qualification & 7 {
            0 | 1 | 3 => {
                let VmExit::Io(io) = exit else { return Err(TestCaseError::fail(format!("{exit:?}"))) };
                let size = [1u8, 2, 0, 4][(qualification & 3) as usize];
                prop_assert_eq!(io.size, size);
                prop_assert_eq!(u64::from(io.port), (qualification >> 16) & 0xFFFF);
                prop_assert_eq!(io.is_in, qualification & 8 != 0);
                prop_assert_eq!(io.string, qualification & 0x10 != 0);
                prop_assert_eq!(io.rep, qualification & 0x20 != 0);
                let want = (!io.is_in && !io.string)
                    .then(|| (rax & ((1u64 << (8 * u32::from(size))) - 1)) as u32);
                prop_assert_eq!(io.value, want);
            }
            _ => prop_assert!(matches!(exit, VmExit::Other { .. }), "{:?}", exit),
        }
    }

    /// REP INS/OUTS with any registers, flags, linear address and instruction information
    /// (a guest controls them all): decoding and the completion arithmetic never panic,
    /// the step never runs more iterations than RCX (masked to the address size) allows,
    /// and the run bounded by the page stays inside the page.
    #[test]
    fn string_io_any_guest_values(
        qualification in any::<u64>(), info in any::<u32>(), gla in any::<u64>(),
        rflags in any::<u64>(), rsi in any::<u64>(), rdi in any::<u64>(), rcx in any::<u64>(),
        done in any::<u64>(),
    ) {
        let regs = GuestRegisters { rsi, rdi, rcx, ..Default::default() };
        let mut f = Fields(HashMap::from([
            (REASON, 30),
            (QUAL, qualification | 0x10),
            (fields::EXIT_INSTRUCTION_INFO.raw(), u64::from(info)),
            (fields::EXIT_GUEST_LINEAR_ADDRESS.raw(), gla),
            (fields::GUEST_RFLAGS.raw(), rflags),
        ]));
        let exit = decode_exit(&mut f, &regs);
        let VmExit::Io(io) = exit else { return Ok(()) };
        let s = io.string_io.expect("string I/O");
        prop_assert_eq!(s.linear_address, gla);
        prop_assert_eq!(s.decrement, rflags & (1 << 10) != 0);
        let index = if io.is_in { rdi } else { rsi };
        let Some(mask) = address_mask(s.address_size) else {
            prop_assert!(string_io_step(&s, io.size, io.rep, index, rcx, done).is_none());
            return Ok(());
        };
        let left = if io.rep { rcx & mask } else { 1 };
        let fit = s.iterations_in_page(index, io.size, left).expect("address size known");
        prop_assert!(fit <= left);
        if fit > 0 {
            let last = s.element_address(io.size, fit - 1);
            let (low, high) = if s.decrement { (last, gla) } else { (gla, last) };
            prop_assert_eq!(low / STRING_IO_PAGE, high / STRING_IO_PAGE);
        }
        let step = string_io_step(&s, io.size, io.rep, index, rcx, done).expect("known size");
        prop_assert_eq!(step.done, done.min(left));
        prop_assert_eq!(step.finished, step.done == left);
        // Bits above the address size: kept for 16 bits, cleared for 32.
        if mask == 0xFFFF {
            prop_assert_eq!(step.index >> 16, index >> 16);
        } else if mask == 0xFFFF_FFFF {
            prop_assert_eq!(step.index >> 32, 0);
        }
    }

    /// Completing an IN of any size with any value: AL/AX merge into RAX, EAX clears bits
    /// 63:32, and a size the decoder never produces still gives a defined value.
    #[test]
    fn in_completion_merges_by_size(rax in any::<u64>(), size in any::<u8>(), value in any::<u32>()) {
        let got = merge_in_value(rax, size, value);
        let want = match size {
            1 => (rax & !0xFF) | u64::from(value as u8),
            2 => (rax & !0xFFFF) | u64::from(value as u16),
            _ => u64::from(value),
        };
        prop_assert_eq!(got, want);
    }

    /// MOV to CR3 (and CR0/CR4/CR8) from any register decodes to `CrAccess::MovTo` with the
    /// register's value; RSP comes from the VMCS guest-RSP field. The host never acts on it.
    #[test]
    fn mov_to_cr_from_any_register(
        cr in prop_oneof![Just(0u64), Just(3), Just(4), Just(8), 0u64..16],
        gpr in 0u64..16,
        high in any::<u64>(),
        vals in proptest::collection::vec(any::<u64>(), 15),
        rsp in any::<u64>(),
    ) {
        // Access type 0 (MOV to CR); bits 63:32 and the reserved bits are guest-invisible
        // but must not matter.
        let qualification = (high << 32) & !0xFFFF_FFFF | cr | (gpr << 8);
        let regs = regs_from(&vals);
        let mut f = Fields(HashMap::from([
            (REASON, 28),
            (QUAL, qualification),
            (fields::GUEST_RSP.raw(), rsp),
        ]));
        let exit = decode_exit(&mut f, &regs);
        let VmExit::CrAccess(CrAccess::MovTo { cr: got_cr, gpr: got_gpr, value }) = exit else {
            return Err(TestCaseError::fail(format!("{exit:?}")));
        };
        prop_assert_eq!(u64::from(got_cr), cr);
        prop_assert_eq!(got_gpr as u64, gpr);
        let want = if got_gpr == Gpr::Rsp { rsp } else { regs.get(got_gpr).unwrap_or(0) };
        prop_assert_eq!(value, want);
    }

    /// XSETBV exits carry ECX and EDX:EAX (upper halves of RAX/RDX ignored).
    #[test]
    fn xsetbv_exit_carries_guest_values(rax in any::<u64>(), rcx in any::<u64>(), rdx in any::<u64>()) {
        let regs = GuestRegisters { rax, rcx, rdx, ..Default::default() };
        prop_assert_eq!(
            decode(55, 0, &regs),
            VmExit::Xsetbv { index: rcx as u32, value: (rdx << 32) | (rax & 0xFFFF_FFFF) }
        );
    }

    /// Any XCR0 value a guest passes to XSETBV is checked without panicking: accepted only
    /// under the SDM Vol. 1 §13.3 rules and within the supported components, otherwise
    /// `InvalidXcr0` naming the value (the caller injects #GP; the host never executes
    /// XSETBV with it).
    #[test]
    fn xsetbv_any_value_is_checked(value in any::<u64>(), supported in any::<u64>()) {
        let supported = supported | 3;
        // Reserved in XCR0 whatever the processor reports: bit 63, the supervisor components
        // (8, 10-16) and the bits the SDM does not define (20-62).
        let reserved: u64 = (1 << 63) | (1 << 8) | (0x7F << 10) | (((1u64 << 43) - 1) << 20);
        let ok = value & !supported == 0
            && value & reserved == 0
            && value & 1 != 0
            && (value >> 3) & 3 != 1
            && (value >> 3) & 3 != 2
            && (value & 4 == 0 || value & 2 != 0)
            && (value & 0xE0 == 0 || (value & 0xE4 == 0xE4))
            && (value >> 17) & 3 != 1
            && (value >> 17) & 3 != 2;
        match check_xcr0(value, supported) {
            Ok(()) => prop_assert!(ok, "{:#x} accepted", value),
            Err(e) => {
                prop_assert!(!ok, "{:#x} refused", value);
                prop_assert!(
                    matches!(e, VmxError::InvalidXcr0 { value: v, .. } if v == value),
                    "{:?}", e
                );
            }
        }
    }

    /// An XSETBV exit's ECX and EDX:EAX, whatever the guest put there, are checked without
    /// panicking: any ECX other than 0 is `InvalidXcrIndex(ecx)` (XSETBV's #GP(0) for an
    /// undefined XCR, SDM Vol. 2B), ECX = 0 is exactly `check_xcr0`.
    #[test]
    fn xsetbv_exit_index_and_value_checked(rax in any::<u64>(), rcx in any::<u64>(), rdx in any::<u64>(), supported in any::<u64>()) {
        let regs = GuestRegisters { rax, rcx, rdx, ..Default::default() };
        let VmExit::Xsetbv { index, value } = decode(55, 0, &regs) else {
            return Err(TestCaseError::fail("XSETBV did not decode as Xsetbv"));
        };
        let got = check_xsetbv(index, value, supported);
        if rcx as u32 != 0 {
            prop_assert_eq!(got, Err(VmxError::InvalidXcrIndex(rcx as u32)));
        } else {
            prop_assert_eq!(got, check_xcr0(value, supported));
        }
    }

    /// RDMSR/WRMSR of any index decode with ECX cut to 32 bits and EDX:EAX; a fresh
    /// (deny-by-default) bitmap makes every index exit both ways, and an index outside the
    /// bitmap ranges exits even with a pass-all bitmap.
    #[test]
    fn msr_any_index(rax in any::<u64>(), rcx in any::<u64>(), rdx in any::<u64>()) {
        let regs = GuestRegisters { rax, rcx, rdx, ..Default::default() };
        let msr = rcx as u32;
        prop_assert_eq!(decode(31, 0, &regs), VmExit::Rdmsr { msr });
        prop_assert_eq!(
            decode(32, 0, &regs),
            VmExit::Wrmsr { msr, value: (rdx << 32) | (rax & 0xFFFF_FFFF) }
        );
        let deny = MsrBitmap::new_intercept_all();
        let open = MsrBitmap::new_pass_all();
        for access in [MsrAccess::Read, MsrAccess::Write] {
            prop_assert!(deny.exits(msr, access));
            let in_range = msr <= 0x1FFF || (0xC000_0000..=0xC000_1FFF).contains(&msr);
            prop_assert_eq!(open.intercept(msr, access) == MsrIntercept::AlwaysExits, !in_range);
        }
    }

    /// The RIP after an exiting instruction of any length at any RIP: 64-bit mode wraps at
    /// 2^64; outside it the result stays below 4 GiB (VM entry requires bits 63:32 clear
    /// there), so a guest cannot make its own next entry fail through `advance_rip`.
    #[test]
    fn next_rip_stays_in_mode(rip in any::<u64>(), len in 0u64..16, cs_long in any::<bool>()) {
        let next = next_rip(rip, len, cs_long);
        if cs_long {
            prop_assert_eq!(next, rip.wrapping_add(len));
        } else {
            prop_assert_eq!(next, rip.wrapping_add(len) & 0xFFFF_FFFF);
            prop_assert!(next <= 0xFFFF_FFFF);
        }
        // `advance_rip` reads CS only when the mode can matter.
        let rip32 = rip & 0xFFFF_FFFF;
        if !crosses_4g(rip32, len as u32) {
            prop_assert_eq!(next_rip(rip32, len, false), rip32 + len);
        }
        // The 32-bit carry test is exactly "the sum's bits 63:32 differ from RIP's".
        prop_assert_eq!(
            crosses_4g(rip, len as u32),
            (rip ^ rip.wrapping_add(len)) >> 32 != 0
        );
        // Where `advance_rip` skips the mode test, the plain sum is right in both modes.
        if !crosses_4g(rip, len as u32) {
            prop_assert_eq!(next_rip(rip, len, true), rip.wrapping_add(len));
            if rip <= 0xFFFF_FFFF {
                prop_assert_eq!(next_rip(rip, len, false), rip + len);
            }
        }
    }

    /// IDT-vectoring information of any value (an exit during event delivery) decodes to an
    /// event to re-inject, or none when bit 31 is clear; never a panic, and the event
    /// re-encodes with the same type and vector.
    #[test]
    fn idt_vectoring_any_value(info in any::<u32>(), code in any::<u32>(), len in any::<u32>()) {
        let event = Event::from_interruption_info(info, code, len);
        prop_assert_eq!(event.is_some(), info & 0x8000_0000 != 0);
        if let Some(e) = event {
            let enc = e.encode();
            prop_assert_eq!((enc.info >> 8) & 7, (info >> 8) & 7);
            // NMI (type 2) is always vector 2 and INT1 (type 5) vector 1 (SDM §27.2.1.3);
            // the processor reports no other, and the event normalizes them.
            let vector = match (info >> 8) & 7 { 2 => 2, 5 => 1, _ => info & 0xFF };
            prop_assert_eq!(enc.info & 0xFF, vector);
            prop_assert_eq!(enc.info & 0x8000_0000, 0x8000_0000);
        }
    }

    /// The I/O bitmap covers every port, the top of bitmap B included, and an access that
    /// wraps past 0xFFFF exits even with every port passed through.
    #[test]
    fn io_bitmap_any_port_any_size(port in any::<u16>(), size in any::<u8>()) {
        let deny = IoBitmaps::new_intercept_all();
        let open = IoBitmaps::new_pass_all();
        prop_assert!(deny.access_exits(port, size));
        let last = u32::from(port) + u32::from(size.max(1)) - 1;
        prop_assert_eq!(open.access_exits(port, size), last > 0xFFFF);
    }
}

/// Triple fault, INIT and SIPI are typed exits the caller decides on (the host never
/// halts or panics for them); SIPI carries the vector from the qualification.
#[test]
fn shutdown_init_sipi_are_typed() {
    let regs = GuestRegisters::default();
    assert_eq!(decode(2, 0, &regs), VmExit::TripleFault);
    assert_eq!(decode(3, u64::MAX, &regs), VmExit::Init);
    for v in [0u64, 0x9A, 0xFF, 0x1_23] {
        assert_eq!(
            decode(4, v, &regs),
            VmExit::Sipi(SipiQualification::from_raw(v))
        );
        let VmExit::Sipi(q) = decode(4, v, &regs) else {
            unreachable!()
        };
        assert_eq!(q.vector(), (v & 0xFF) as u8);
    }
}

/// The I/O bitmap bits of all 65,536 ports, set one at a time, land in the right page and
/// byte (no index past the end of bitmap B for 0xFFFF, no panic for ports >= 0x2000).
#[test]
fn io_bitmap_every_port_has_its_own_bit() {
    let mut b = IoBitmaps::new_pass_all();
    for port in 0..=u16::MAX {
        b.set_intercept(port, true);
        assert!(b.is_intercepted(port));
        let (page, index) = if port < 0x8000 {
            (b.page_a(), usize::from(port))
        } else {
            (b.page_b(), usize::from(port - 0x8000))
        };
        assert_ne!(page[index / 8] & (1 << (index % 8)), 0, "port {port:#x}");
    }
    assert!(
        b.page_a()
            .iter()
            .chain(b.page_b().iter())
            .all(|&x| x == 0xFF)
    );
    b.set_range(0, 0x1_0000, false);
    assert!(b.page_a().iter().chain(b.page_b().iter()).all(|&x| x == 0));
    // A range running past 0xFFFF stops there.
    b.set_range(0xFFFE, u32::MAX, true);
    assert!(b.is_intercepted(0xFFFE) && b.is_intercepted(0xFFFF) && !b.is_intercepted(0));
}

/// MSRs the host depends on stay intercepted in a fresh bitmap, both directions: EFER,
/// PAT, IA32_XSS, the syscall MSRs, FS/GS/KERNEL_GS bases, SYSENTER, APIC base, feature
/// control, SPEC_CTRL, DEBUGCTL, TSC, the x2APIC range.
#[test]
fn host_msrs_intercepted_by_default() {
    let b = MsrBitmap::default();
    let host_msrs = [
        0x10,
        0x1B,
        0x3A,
        0x48,
        0x49,
        0x174,
        0x175,
        0x176,
        0x1D9,
        0x277,
        0xDA0,
        0x800,
        0x8FF,
        0xC000_0080,
        0xC000_0081,
        0xC000_0082,
        0xC000_0083,
        0xC000_0084,
        0xC000_0100,
        0xC000_0101,
        0xC000_0102,
        0xC000_0103,
    ];
    for msr in host_msrs {
        for access in [MsrAccess::Read, MsrAccess::Write] {
            assert_eq!(
                b.intercept(msr, access),
                MsrIntercept::Intercepted,
                "{msr:#x}"
            );
        }
    }
}
