//! Scenarios for the `ept` crate, in the emulator: an [`EptPageTable`] built through the
//! crate's public API is the EPT of a guest run by `vmx-vcpu`, and each scenario asserts
//! the exact exit and state the SDM specifies (Vol. 3C §29.3: EPT violations and
//! misconfigurations, large pages, accessed and dirty flags, memory types; §29.4.3:
//! invalidation).
//!
//! Layout: guest-physical `[0, 1 GiB)` is mapped to the same host-physical addresses with
//! [`EptPageTable::map_region`] (read/write/execute, write-back), which covers the kernel
//! image, its page tables, GDT and every frame the scenario allocates (the emulator has
//! 256 MiB of RAM). The guest runs on the kernel's page tables, which map linear addresses
//! `[0, 4 GiB)` to the same physical addresses, so guest-linear = guest-physical.
//! Guest-physical addresses from [`ALIAS`] (1 GiB) up have no RAM behind them in that
//! identity map; scenarios map their test pages there, onto host frames of their own, so
//! that the guest reaching a host frame proves the translation.

#[path = "ept_guests.rs"]
mod ept_guests;

use alloc::format;
use alloc::vec::Vec;

use baremetal::cpu;
use ept::{
    Ept, EptAttributes, EptConfig, EptEntry, EptError, EptFlags, EptPageTable, FlagsError,
    GuestPhysAddr, HardwareInvept, HostPhysAddr, InveptDescriptor, InveptExecutor, PageSize,
    PageWalkLength,
};
use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::memory_type::MemoryType;
use vmx_defs::qualification::EptLinearAccess;
use vmx_defs::vmcs::fields;
use vmx_vcpu::{VcpuConfig, VmExit, VmxVcpu};

use crate::env::{Env, Outcome, Scenario};
use crate::hosts::KernelHost;
use crate::{check, check_eq, require, setup, skip};

use super::vmx_setup::{self, Cpu};
use ept_guests::{Op, ept_guest_loop};

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "ept_eptp_and_memory_types",
        run: eptp_and_memory_types,
    },
    Scenario {
        name: "ept_violation_read_not_present",
        run: violation_read_not_present,
    },
    Scenario {
        name: "ept_violation_read_execute_only",
        run: violation_read_execute_only,
    },
    Scenario {
        name: "ept_violation_write_read_only",
        run: violation_write_read_only,
    },
    Scenario {
        name: "ept_violation_fetch_not_executable",
        run: violation_fetch_not_executable,
    },
    Scenario {
        name: "ept_violation_guest_paging_gla_gpa",
        run: violation_guest_paging,
    },
    Scenario {
        name: "ept_misconfiguration_exit_49",
        run: misconfiguration,
    },
    Scenario {
        name: "ept_protect_then_invept",
        run: protect_then_invept,
    },
    Scenario {
        name: "ept_large_page_2m",
        run: large_page_2m,
    },
    Scenario {
        name: "ept_large_page_1g",
        run: large_page_1g,
    },
    Scenario {
        name: "ept_accessed_dirty",
        run: accessed_dirty,
    },
    Scenario {
        name: "ept_five_level_walk",
        run: five_level_walk,
    },
];

/// Guest-physical 1 GiB: the start of the window where scenarios map their test pages.
const ALIAS: u64 = 0x4000_0000;
/// Size of the identity-mapped guest-physical range.
const IDENTITY_LEN: u64 = 0x4000_0000;

type Table = EptPageTable<KernelHost>;
/// A table shared with the scenario's vCPU ([`Ept::attach`]); edits go through
/// [`Ept::edit`].
type Shared = Ept<KernelHost>;
type Vcpu<'c> = VmxVcpu<'c, KernelHost>;

// ---------------------------------------------------------------- helpers

/// Enters VMX operation; skips where the model has no VMX or no EPT.
fn enable() -> Result<Cpu, Outcome> {
    let c = vmx_setup::enable()?;
    if !c.capabilities().has_ept() {
        return Err(Outcome::Skip(
            "no EPT on this model (secondary control \"enable EPT\" not allowed)".into(),
        ));
    }
    Ok(c)
}

/// The EPT configuration for this processor: its IA32_VMX_EPT_VPID_CAP and MAXPHYADDR.
fn config(c: &Cpu) -> Result<EptConfig, Outcome> {
    EptConfig::new(
        c.capabilities().ept_vpid(),
        vmx_insn::physical_address_width().bits(),
    )
    .map_err(|e| Outcome::Fail(format!("EptConfig::new: {e}")))
}

/// A table with guest-physical `[0, 1 GiB)` mapped to itself, read/write/execute,
/// write-back, with the largest pages the configuration allows, shared ([`Ept::new`]).
fn identity_table(cfg: EptConfig) -> Result<Shared, Outcome> {
    let mut t: Table = EptPageTable::new(KernelHost, cfg)
        .map_err(|e| Outcome::Fail(format!("EptPageTable::new: {e}")))?;
    // SAFETY: the guests of this area are the kernel's own test code (`ept_guest_loop`),
    // trusted like the kernel: they touch only the addresses the scenario hands them, and
    // the scenario accepts that they share the kernel's memory. Every table (and vCPU) is
    // dropped before the scenario ends, and the runner leaves VMX operation after it.
    unsafe {
        t.map_region(
            GuestPhysAddr::new(0),
            HostPhysAddr::new(0),
            IDENTITY_LEN,
            EptAttributes::write_back(EptFlags::RWX),
        )
    }
    .map_err(|e| Outcome::Fail(format!("identity map_region: {e}")))?;
    let expect = if cfg.supports_page_size(PageSize::Size1G) {
        PageSize::Size1G
    } else if cfg.supports_page_size(PageSize::Size2M) {
        PageSize::Size2M
    } else {
        PageSize::Size4K
    };
    let got = t.page_size_at(GuestPhysAddr::new(0x20_0000));
    if got != Some(expect) {
        return Err(Outcome::Fail(format!(
            "map_region used {got:?} pages, expected {expect:?}"
        )));
    }
    Ok(Ept::new(t))
}

/// A vCPU attached to `ept`, running the guest, stopped at its first VMCALL (RIP
/// advanced). Checks that the VMCS holds the table's EPTP.
fn start<'c>(c: &'c Cpu, env: &mut Env, ept: &'c Shared) -> Result<Vcpu<'c>, Outcome> {
    start_with_cr3(c, env, ept, cpu::read_cr3())
}

/// As [`start`], with the guest on the page tables at `cr3`.
fn start_with_cr3<'c>(
    c: &'c Cpu,
    env: &mut Env,
    ept: &'c Shared,
    cr3: u64,
) -> Result<Vcpu<'c>, Outcome> {
    let mut g = vmx_setup::long_mode_guest(env, ept_guest_loop, 0x2, vmx_setup::NO_IDT)?;
    g.cr3 = cr3;
    let cfg = VcpuConfig::new(g);
    let users = ept.users();
    let user = ept
        .attach()
        .map_err(|e| Outcome::Fail(format!("Ept::attach: {e}")))?;
    if ept.users() != users + 1 || !user.needs_sync() {
        return Err(Outcome::Fail(format!(
            "attach: {} users (was {users}), needs_sync {}",
            ept.users(),
            user.needs_sync()
        )));
    }
    let mut v =
        VmxVcpu::new(c, user, &cfg).map_err(|e| Outcome::Fail(format!("VmxVcpu::new: {e}")))?;
    let eptp = v
        .read_field(fields::CTRL_EPT_POINTER)
        .map_err(|e| Outcome::Fail(format!("VMREAD EPTP: {e}")))?;
    if eptp != ept.eptp().raw() || v.eptp() != Some(ept.eptp()) {
        return Err(Outcome::Fail(format!(
            "VMCS EPTP {eptp:#x} (vCPU {:?}) != table EPTP {:#x}",
            v.eptp(),
            ept.eptp().raw()
        )));
    }
    let e = run(&mut v)?;
    done(&mut v, e)?;
    // The vCPU synchronised before its first entry: every generation so far is reached.
    if !ept.synced(ept.generation()) {
        return Err(Outcome::Fail(format!(
            "the vCPU ran without synchronising to generation {}",
            ept.generation()
        )));
    }
    Ok(v)
}

fn run(v: &mut Vcpu<'_>) -> Result<VmExit, Outcome> {
    v.run().map_err(|e| Outcome::Fail(format!("run: {e}")))
}

/// Asks the guest for one access and runs it until the next exit.
fn access(v: &mut Vcpu<'_>, op: Op, gla: u64, value: u64) -> Result<VmExit, Outcome> {
    let r = v.regs_mut();
    r.rcx = op as u64;
    r.rdi = gla;
    r.rsi = value;
    run(v)
}

/// Expects the VMCALL that ends a command; returns RAX and readies the next command.
fn done(v: &mut Vcpu<'_>, e: VmExit) -> Result<u64, Outcome> {
    let VmExit::Vmcall(_) = e else {
        return Err(Outcome::Fail(format!("expected VMCALL, got {e:?}")));
    };
    let rax = v.regs().rax;
    v.regs_mut().rcx = 0;
    v.advance_rip()
        .map_err(|e| Outcome::Fail(format!("advance_rip: {e}")))?;
    Ok(rax)
}

/// An access the EPT allows: returns RAX after it.
fn allowed(v: &mut Vcpu<'_>, op: Op, gla: u64, value: u64) -> Result<u64, Outcome> {
    let e = access(v, op, gla, value)?;
    done(v, e).map_err(|o| match o {
        Outcome::Fail(s) => Outcome::Fail(format!("{op:?} at {gla:#x}: {s}")),
        o => o,
    })
}

/// Resumes a guest stopped at an access the host has since allowed: returns RAX after it.
fn resume(v: &mut Vcpu<'_>) -> Result<u64, Outcome> {
    let e = run(v)?;
    done(v, e)
}

/// Abandons the access a guest stopped at (by moving RIP to the read instruction) and has
/// it read the quadword at `gla` instead: returns what it read.
fn read_instead(v: &mut Vcpu<'_>, gla: u64) -> Result<u64, Outcome> {
    v.set_rip(Op::Read.instruction())
        .map_err(|e| Outcome::Fail(format!("set_rip: {e}")))?;
    allowed(v, Op::Read, gla, 0)
}

/// The translation's permissions an EPT violation reports (qualification bits 5:3).
#[derive(Clone, Copy, Debug)]
struct Perms {
    r: bool,
    w: bool,
    x: bool,
}

const NONE: Perms = Perms {
    r: false,
    w: false,
    x: false,
};
const READ_ONLY: Perms = Perms {
    r: true,
    w: false,
    x: false,
};
const READ_WRITE: Perms = Perms {
    r: true,
    w: true,
    x: false,
};
const EXECUTE_ONLY: Perms = Perms {
    r: false,
    w: false,
    x: true,
};

/// An access the EPT forbids, to guest-linear = guest-physical `gla`: see [`violation_at`].
fn violation(v: &mut Vcpu<'_>, op: Op, gla: u64, value: u64, perms: Perms) -> Result<(), Outcome> {
    violation_at(
        v,
        op,
        gla,
        value,
        Expected {
            gpa: gla,
            access: op,
            perms,
            walk: EptLinearAccess::Translation,
        },
    )
}

/// What an EPT-violation exit should report.
struct Expected {
    /// The guest-physical address field.
    gpa: u64,
    /// The access type (bits 2:0): a guest paging-structure read is a read.
    access: Op,
    /// The permissions of the translation (bits 5:3).
    perms: Perms,
    /// Bit 8: the access was to the translation of the linear address, or to a guest
    /// paging-structure entry during the walk.
    walk: EptLinearAccess,
}

/// Asks the guest for `op` at `gla` and checks the EPT-violation exit exactly (SDM Vol. 3C
/// Table 28-7): access type (bits 2:0), permissions of the translation (bits 5:3), guest
/// linear address valid (bit 7), translation or paging-structure access (bit 8), no NMI
/// unblocking (bit 12); the guest-physical and guest-linear address fields; and RIP at
/// the faulting instruction (at the target for a fetch).
fn violation_at(
    v: &mut Vcpu<'_>,
    op: Op,
    gla: u64,
    value: u64,
    want: Expected,
) -> Result<(), Outcome> {
    let e = access(v, op, gla, value)?;
    let VmExit::EptViolation(ev) = e else {
        return Err(Outcome::Fail(format!(
            "{op:?} at {gla:#x}: expected EPT violation, got {e:?}"
        )));
    };
    let q = ev.qualification;
    let access_bit = match want.access {
        Op::Read => 1,
        Op::Write => 2,
        Op::Fetch => 4,
    };
    let perms = want.perms;
    let translation = want.walk == EptLinearAccess::Translation;
    let expected = access_bit
        | u64::from(perms.r) << 3
        | u64::from(perms.w) << 4
        | u64::from(perms.x) << 5
        | 1 << 7
        | u64::from(translation) << 8;
    // Bits 11:9 hold advanced information only where IA32_VMX_EPT_VPID_CAP bit 22 says so.
    let low = q.raw() & 0x1ff;
    if low != expected {
        return Err(Outcome::Fail(format!(
            "{op:?} at {gla:#x}: qualification {:#x} (bits 8:0 {low:#x}), expected bits 8:0 {expected:#x} ({perms:?})",
            q.raw()
        )));
    }
    let decoded_ok = q.data_read() == (want.access == Op::Read)
        && q.data_write() == (want.access == Op::Write)
        && q.instruction_fetch() == (want.access == Op::Fetch)
        && q.readable() == perms.r
        && q.writable() == perms.w
        && q.executable() == perms.x
        && q.guest_linear_address_valid()
        && q.linear_access() == Some(want.walk)
        && !q.nmi_unblocking();
    if !decoded_ok {
        return Err(Outcome::Fail(format!(
            "decoded qualification disagrees with raw {:#x}: {q:?}",
            q.raw()
        )));
    }
    if ev.gpa != want.gpa || ev.gla != Some(gla) {
        return Err(Outcome::Fail(format!(
            "{op:?}: GPA {:#x} / GLA {:?}, expected GPA {:#x}, GLA {gla:#x}",
            ev.gpa, ev.gla, want.gpa
        )));
    }
    let rip = v.rip().map_err(|e| Outcome::Fail(format!("rip: {e}")))?;
    let expect_rip = if op == Op::Fetch {
        gla
    } else {
        op.instruction()
    };
    if rip != expect_rip {
        return Err(Outcome::Fail(format!(
            "{op:?}: RIP {rip:#x} at the violation, expected {expect_rip:#x}"
        )));
    }
    Ok(())
}

/// [`protect`] of the 4-KiB page at `gpa` to `flags`, write-back.
fn protect_page(ept: &Shared, gpa: u64, flags: EptFlags) -> Result<u64, Outcome> {
    protect(ept, gpa, 0x1000, EptAttributes::write_back(flags))
}

/// Changes the attributes of `[gpa, gpa + len)` in an edit of `ept` and commits the
/// invalidation the change owes, checking the pending-invalidation state: the edit owes
/// one, dropping the guard publishes it as a new generation (nothing left pending in the
/// table) that an attached vCPU has not reached yet. Returns that generation: every
/// attached vCPU performs the INVEPT before its next VM entry (SDM Vol. 3C §29.4.3.1).
fn protect(ept: &Shared, gpa: u64, len: u64, attrs: EptAttributes) -> Result<u64, Outcome> {
    let before = ept.generation();
    {
        let mut t = ept.edit();
        let token = t
            .protect(GuestPhysAddr::new(gpa), len, attrs)
            .map_err(|e| Outcome::Fail(format!("protect {gpa:#x}+{len:#x}: {e}")))?;
        if !t.needs_flush() {
            return Err(Outcome::Fail("protect left no pending invalidation".into()));
        }
        t.commit(token);
    }
    let generation = ept.generation();
    if generation <= before {
        return Err(Outcome::Fail(format!(
            "the edit published no new generation ({before} -> {generation})"
        )));
    }
    if ept.edit().needs_flush() {
        return Err(Outcome::Fail(
            "invalidation still pending in the table after the edit".into(),
        ));
    }
    if ept.users() > 0 && ept.synced(generation) {
        return Err(Outcome::Fail(format!(
            "generation {generation} reported synchronised before any vCPU ran"
        )));
    }
    Ok(generation)
}

/// Checks that every vCPU attached to `ept` has performed the invalidation of
/// `generation` (each does before its VM entry).
fn synced(ept: &Shared, generation: u64) -> Result<(), Outcome> {
    if ept.synced(generation) {
        Ok(())
    } else {
        Err(Outcome::Fail(format!(
            "a vCPU entered without synchronising to generation {generation}"
        )))
    }
}

fn map4k(ept: &Shared, gpa: u64, hpa: u64, attrs: EptAttributes) -> Result<(), Outcome> {
    // SAFETY: `hpa` is a frame the scenario allocated for the guest (or kernel memory the
    // scenario lets its trusted test guest reach, see `identity_table`); it stays
    // allocated until the scenario ends, after the vCPU and the table are gone.
    unsafe {
        ept.edit().map(
            GuestPhysAddr::new(gpa),
            HostPhysAddr::new(hpa),
            PageSize::Size4K,
            attrs,
        )
    }
    .map_err(|e| Outcome::Fail(format!("map {gpa:#x} -> {hpa:#x}: {e}")))
}

fn frame(env: &mut Env) -> Result<u64, Outcome> {
    env.alloc_frame()
        .ok_or_else(|| Outcome::Fail("out of frames".into()))
}

fn write64(pa: u64, value: u64) {
    // SAFETY: every caller passes an 8-byte-aligned address inside a frame the scenario
    // allocated (identity mapped RAM).
    unsafe { (pa as *mut u64).write_volatile(value) }
}

fn read64(pa: u64) -> u64 {
    // SAFETY: as for `write64`.
    unsafe { (pa as *const u64).read_volatile() }
}

/// The leaf entry mapping `gpa` in `table`, found by walking the structures from the root
/// as the processor does (SDM Vol. 3C §29.3.2): a pointer to it and its page size.
fn leaf_slot(table: &Table, gpa: u64) -> Option<(*mut u64, PageSize)> {
    let levels = match table.config().walk_length() {
        PageWalkLength::Four => 4u32,
        PageWalkLength::Five => 5,
    };
    let mut structure = table.root().as_u64();
    for level in (1..=levels).rev() {
        let idx = (gpa >> (12 + 9 * (level - 1))) & 511;
        let slot = (structure + idx * 8) as *mut u64;
        // SAFETY: `structure` is a paging-structure frame of `table` (the root or one a
        // present non-leaf entry references), identity mapped, and idx < 512.
        let e = EptEntry(unsafe { slot.read_volatile() });
        if !e.is_present(false) {
            return None;
        }
        if level == 1 || (level <= 3 && e.page_size_bit()) {
            return PageSize::from_level(level).map(|s| (slot, s));
        }
        structure = e.addr().as_u64();
    }
    None
}

// ---------------------------------------------------------------- scenarios

/// The EPTP the crate computes is what the VMCS holds (memory type WB, 4-level walk, A/D
/// off by default); leaf memory types WB and UC land in bits 5:3 of the entries and the
/// guest reaches both pages; a table whose paging structures are UC is accepted by VM entry
/// where IA32_VMX_EPT_VPID_CAP allows it.
fn eptp_and_memory_types(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(config(&c));
    let ept = setup!(identity_table(cfg));
    let eptp = ept.eptp();
    check_eq!(eptp.memory_type(), MemoryType::WRITE_BACK);
    check_eq!(eptp.page_walk_length(), Some(PageWalkLength::Four));
    check!(!eptp.accessed_dirty(), "A/D enabled by default");
    check_eq!(eptp.root(), ept.edit().root().as_u64());
    check!(
        eptp.raw() & 0x7f == 6 | (3 << 3),
        "EPTP bits 6:0 {:#x}",
        eptp.raw() & 0x7f
    );
    let wb = setup!(frame(env));
    let uc = setup!(frame(env));
    write64(wb, 0x1111_0000_0000_00b6);
    write64(uc, 0x2222_0000_0000_0000);
    setup!(map4k(
        &ept,
        ALIAS + wb,
        wb,
        EptAttributes::write_back(EptFlags::RW)
    ));
    setup!(map4k(
        &ept,
        ALIAS + uc,
        uc,
        EptAttributes::uncacheable(EptFlags::RW)
    ));
    for (gpa, mt) in [
        (ALIAS + wb, MemoryType::WRITE_BACK),
        (ALIAS + uc, MemoryType::UNCACHEABLE),
    ] {
        let m = require!(ept.edit().query(GuestPhysAddr::new(gpa)), "query");
        check_eq!(m.attributes().memory_type, mt);
        let Some((slot, size)) = leaf_slot(&ept.edit(), gpa) else {
            return Outcome::Fail(format!("no leaf for {gpa:#x}"));
        };
        check_eq!(size, PageSize::Size4K);
        // SAFETY: `slot` points into a paging structure of the table, which is alive.
        let raw = unsafe { slot.read_volatile() };
        check!(
            (raw >> 3) & 7 == u64::from(mt.raw()),
            "leaf {raw:#x} for {gpa:#x}: memory type bits 5:3 are not {mt:?}"
        );
        check!(raw & 7 == 3, "leaf {raw:#x}: access bits not RW");
    }
    let mut v = setup!(start(&c, env, &ept));
    check_eq!(setup!(allowed(&mut v, Op::Read, ALIAS + wb, 0)), read64(wb));
    check_eq!(setup!(allowed(&mut v, Op::Read, ALIAS + uc, 0)), read64(uc));
    setup!(allowed(&mut v, Op::Write, ALIAS + uc, 0x77));
    check_eq!(read64(uc), 0x77);
    drop(v);

    let caps = cfg.capabilities();
    if !caps.contains(EptVpidCap::MEMORY_TYPE_UC) {
        check!(
            matches!(
                cfg.with_structure_memory_type(MemoryType::UNCACHEABLE),
                Err(EptError::CapabilityMissing(_))
            ),
            "UC paging structures accepted without capability bit 8"
        );
        return Outcome::PassWith("UC paging structures not offered by this model".into());
    }
    let uc_cfg = require!(
        cfg.with_structure_memory_type(MemoryType::UNCACHEABLE),
        "UC structure memory type"
    );
    let ept2 = setup!(identity_table(uc_cfg));
    check_eq!(ept2.eptp().memory_type(), MemoryType::UNCACHEABLE);
    check_eq!(ept2.eptp().raw() & 7, 0);
    let mut v2 = setup!(start(&c, env, &ept2));
    check_eq!(setup!(allowed(&mut v2, Op::Read, wb, 0)), read64(wb));
    Outcome::PassWith("EPTP WB and UC read back from the VMCS; leaf WB/UC in bits 5:3".into())
}

/// A read of a guest-physical page that is not mapped (R=W=X=0): EPT violation with a
/// data-read access and no permissions; mapping it (no invalidation needed: not-present
/// entries are not cached, SDM Vol. 3C §29.4.3.1) lets the read complete.
fn violation_read_not_present(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let ept = setup!(identity_table(setup!(config(&c))));
    let f = setup!(frame(env));
    write64(f + 0x128, 0x5eed_0000_1234_5678);
    let gpa = ALIAS + f + 0x128;
    check!(
        matches!(
            ept.edit().query(GuestPhysAddr::new(gpa)),
            Err(EptError::NotMapped { .. })
        ),
        "test page already mapped"
    );
    let mut v = setup!(start(&c, env, &ept));
    setup!(violation(&mut v, Op::Read, gpa, 0, NONE));
    setup!(map4k(
        &ept,
        ALIAS + f,
        f,
        EptAttributes::write_back(EptFlags::R)
    ));
    check!(
        !ept.edit().needs_flush(),
        "a new mapping asked for an invalidation"
    );
    check_eq!(
        require!(ept.edit().translate(GuestPhysAddr::new(gpa)), "translate").as_u64(),
        f + 0x128
    );
    check_eq!(setup!(resume(&mut v)), 0x5eed_0000_1234_5678);
    Outcome::Pass
}

/// A read of an execute-only page (where the model supports execute-only translations):
/// violation reporting X but not R; adding R and flushing lets the read complete.
fn violation_read_execute_only(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(config(&c));
    let ept = setup!(identity_table(cfg));
    let f = setup!(frame(env));
    let x_only = EptAttributes::write_back(EptFlags::EXECUTE);
    if !cfg.supports_execute_only() {
        // SAFETY: `f` is a frame this scenario allocated for the guest (see `map4k`).
        let refused = unsafe {
            ept.edit().map(
                GuestPhysAddr::new(ALIAS + f),
                HostPhysAddr::new(f),
                PageSize::Size4K,
                x_only,
            )
        };
        check!(
            matches!(refused, Err(EptError::CapabilityMissing(_))),
            "execute-only mapping accepted without capability bit 0"
        );
        skip!("no execute-only EPT translations on this model");
    }
    write64(f, 0xe0e0);
    setup!(map4k(&ept, ALIAS + f, f, x_only));
    let mut v = setup!(start(&c, env, &ept));
    setup!(violation(&mut v, Op::Read, ALIAS + f, 0, EXECUTE_ONLY));
    setup!(protect_page(&ept, ALIAS + f, EptFlags::RX));
    check_eq!(setup!(resume(&mut v)), 0xe0e0);
    Outcome::Pass
}

/// A write to a read-only page: violation reporting R only; the memory is unchanged;
/// making the page writable and flushing lets the write complete.
fn violation_write_read_only(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let ept = setup!(identity_table(setup!(config(&c))));
    let f = setup!(frame(env));
    write64(f + 0x800, 0xaaaa);
    setup!(map4k(
        &ept,
        ALIAS + f,
        f,
        EptAttributes::write_back(EptFlags::R)
    ));
    let mut v = setup!(start(&c, env, &ept));
    check_eq!(
        setup!(allowed(&mut v, Op::Read, ALIAS + f + 0x800, 0)),
        0xaaaa
    );
    setup!(violation(
        &mut v,
        Op::Write,
        ALIAS + f + 0x800,
        0xbbbb,
        READ_ONLY
    ));
    check_eq!(read64(f + 0x800), 0xaaaa);
    setup!(protect_page(&ept, ALIAS + f, EptFlags::RW));
    setup!(resume(&mut v));
    check_eq!(read64(f + 0x800), 0xbbbb);
    Outcome::Pass
}

/// An instruction fetch from a read/write page without execute: violation reporting R
/// and W, RIP at the page; making it executable and flushing lets the RET there run.
fn violation_fetch_not_executable(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let ept = setup!(identity_table(setup!(config(&c))));
    let f = setup!(frame(env));
    // SAFETY: `f` is a frame this scenario owns.
    unsafe { (f as *mut u8).write_volatile(0xC3) };
    setup!(map4k(
        &ept,
        ALIAS + f,
        f,
        EptAttributes::write_back(EptFlags::RW)
    ));
    let mut v = setup!(start(&c, env, &ept));
    setup!(violation(&mut v, Op::Fetch, ALIAS + f, 0, READ_WRITE));
    setup!(protect_page(&ept, ALIAS + f, EptFlags::RWX));
    setup!(resume(&mut v));
    // And again, now allowed throughout.
    setup!(allowed(&mut v, Op::Fetch, ALIAS + f, 0));
    Outcome::Pass
}

/// Guest-linear 512 GiB: outside the kernel's page tables (PML4 entry 1), mapped by
/// [`violation_guest_paging`]'s own guest page tables.
const GUEST_LINEAR: u64 = 0x80_0000_0000;

/// An EPT violation where guest-linear and guest-physical addresses differ, and one raised
/// by the guest's own page walk (SDM Vol. 3C Table 28-7 bit 8 = 0).
///
/// The guest runs on a copy of the kernel's PML4 whose entry 1 maps the linear page
/// [`GUEST_LINEAR`] to guest-physical `ALIAS + f` (a read-only EPT mapping of host frame
/// `f`); accessed and dirty flags are preset in those guest entries so that the walk only
/// reads them. (1) A write to the linear page: violation with GLA = the linear address
/// and GPA = `ALIAS + f` + offset, bit 8 set. (2) The EPT mapping of the guest's page
/// table (inside the identity 1-GiB or 2-MiB page, which the crate splits) is removed and
/// flushed: a read now faults on the walk, with GPA = the guest PTE's address, a read
/// access, no permissions and bit 8 clear. Restoring the mapping lets the read complete.
fn violation_guest_paging(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let ept = setup!(identity_table(setup!(config(&c))));
    let f = setup!(frame(env));
    write64(f + 0x30, 0x1a2b);
    setup!(map4k(
        &ept,
        ALIAS + f,
        f,
        EptAttributes::write_back(EptFlags::R)
    ));
    // Guest page tables: PML4 (copy of the kernel's) -> PDPT -> PD -> PT.
    let pml4 = setup!(frame(env));
    let pdpt = setup!(frame(env));
    let pd = setup!(frame(env));
    let pt = setup!(frame(env));
    let kernel_pml4 = cpu::read_cr3() & !0xfff;
    for i in 0..512u64 {
        write64(pml4 + i * 8, read64(kernel_pml4 + i * 8));
    }
    check!(
        read64(pml4 + 8) == 0,
        "kernel PML4 entry 1 in use: {:#x}",
        read64(pml4 + 8)
    );
    // Present, writable, accessed; the PTE also dirty.
    const PWA: u64 = 1 | 2 | 0x20;
    write64(pml4 + 8, pdpt | PWA);
    write64(pdpt, pd | PWA);
    write64(pd, pt | PWA);
    write64(pt, (ALIAS + f) | PWA | 0x40);
    let mut v = setup!(start_with_cr3(&c, env, &ept, pml4));
    let gla = GUEST_LINEAR + 0x30;
    check_eq!(setup!(allowed(&mut v, Op::Read, gla, 0)), 0x1a2b);
    setup!(violation_at(
        &mut v,
        Op::Write,
        gla,
        0x3c4d,
        Expected {
            gpa: ALIAS + f + 0x30,
            access: Op::Write,
            perms: READ_ONLY,
            walk: EptLinearAccess::Translation,
        }
    ));
    check_eq!(read64(f + 0x30), 0x1a2b);
    check_eq!(setup!(read_instead(&mut v, gla)), 0x1a2b);

    // Take the guest's page table away from it.
    let before = ept.edit().page_size_at(GuestPhysAddr::new(pt));
    {
        let mut t = ept.edit();
        let token = require!(t.unmap(GuestPhysAddr::new(pt), 0x1000), "unmap guest PT");
        t.commit(token);
    }
    let unmapped = ept.generation();
    check!(
        !ept.synced(unmapped),
        "the unmap published no generation for the vCPU to reach"
    );
    check_eq!(ept.edit().page_size_at(GuestPhysAddr::new(pt)), None);
    let neighbour = pt ^ 0x1000;
    check_eq!(
        ept.edit().page_size_at(GuestPhysAddr::new(neighbour)),
        Some(PageSize::Size4K)
    );
    check_eq!(
        require!(
            ept.edit().translate(GuestPhysAddr::new(neighbour)),
            "translate"
        )
        .as_u64(),
        neighbour
    );
    setup!(violation_at(
        &mut v,
        Op::Read,
        gla,
        0,
        Expected {
            gpa: pt,
            access: Op::Read,
            perms: NONE,
            walk: EptLinearAccess::PagingStructure,
        }
    ));
    setup!(synced(&ept, unmapped));
    setup!(map4k(&ept, pt, pt, EptAttributes::write_back(EptFlags::RW)));
    check_eq!(setup!(resume(&mut v)), 0x1a2b);
    Outcome::PassWith(format!("guest PT split out of a {before:?} page"))
}

/// EPT misconfigurations (SDM Vol. 3C §29.3.3.1) exit with reason 49 and the
/// guest-physical address.
///
/// The crate refuses to build a misconfigured entry (write without read, reserved memory
/// type) through every mapping call, and offers no raw path on purpose, so the scenario
/// checks that refusal and then writes the leaf entry itself: it finds the entry by
/// walking the table from its root as the processor does, changes only bits the crate
/// does not track in leaves (bits 2:0 and 5:3), and restores the exact original value
/// afterwards. Because the crate cannot know of that change, the scenario invalidates
/// through the crate's INVEPT executor with the table's EPTP itself.
fn misconfiguration(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let ept = setup!(identity_table(setup!(config(&c))));
    let f = setup!(frame(env));
    write64(f + 0x40, 0x4949);
    let gpa = ALIAS + f;
    setup!(map4k(&ept, gpa, f, EptAttributes::write_back(EptFlags::RW)));
    let w_only = EptAttributes::write_back(EptFlags::WRITE);
    check_eq!(
        ept.edit()
            .protect(GuestPhysAddr::new(gpa), 0x1000, w_only)
            .err(),
        Some(EptError::InvalidFlags(FlagsError::WriteWithoutRead))
    );
    // SAFETY: `f` is a frame this scenario allocated for the guest (see `map4k`).
    let refused = unsafe {
        ept.edit().map(
            GuestPhysAddr::new(ALIAS + 0x2000_0000),
            HostPhysAddr::new(f),
            PageSize::Size4K,
            w_only,
        )
    };
    check_eq!(
        refused.err(),
        Some(EptError::InvalidFlags(FlagsError::WriteWithoutRead))
    );
    let reserved_mt = EptAttributes::new(EptFlags::RW, MemoryType::from_raw(2));
    check!(
        matches!(
            ept.edit()
                .protect(GuestPhysAddr::new(gpa), 0x1000, reserved_mt),
            Err(EptError::InvalidFlags(FlagsError::ReservedMemoryType(_)))
        ),
        "reserved memory type accepted"
    );
    let Some((slot, PageSize::Size4K)) = leaf_slot(&ept.edit(), gpa) else {
        return Outcome::Fail("no 4 KiB leaf for the test page".into());
    };
    // SAFETY: `slot` points into a live paging structure of the table.
    let original = unsafe { slot.read_volatile() };
    let ty = match ept.invept_type() {
        Some(ty) => ty,
        None => return Outcome::Fail("no INVEPT type".into()),
    };
    let desc = match ty {
        ept::InveptType::SingleContext => InveptDescriptor::new(ept.eptp()),
        _ => InveptDescriptor::all_context(),
    };
    // SAFETY: the kernel runs on one logical processor: the table's EPTP is used for VM
    // entries on this one only, and the executor is used here.
    let mut invept = unsafe { HardwareInvept::new() };
    let mut v = setup!(start(&c, env, &ept));
    let mut seen = Vec::new();
    for (what, bad) in [
        ("write without read", (original & !7) | 2),
        ("reserved memory type 2", (original & !(7 << 3)) | (2 << 3)),
    ] {
        // SAFETY: as above; the guest is stopped, and the entry is restored below.
        unsafe { slot.write_volatile(bad) };
        require!(invept.invept(ty, &desc), "INVEPT");
        let e = setup!(access(&mut v, Op::Read, gpa + 0x40, 0));
        let VmExit::EptMisconfiguration { gpa: reported } = e else {
            return Outcome::Fail(format!("{what}: expected exit 49, got {e:?}"));
        };
        check!(
            reported == gpa + 0x40,
            "{what}: GPA {reported:#x}, expected {:#x}",
            gpa + 0x40
        );
        let rip = require!(v.rip(), "rip");
        check_eq!(rip, Op::Read.instruction());
        // SAFETY: as above.
        unsafe { slot.write_volatile(original) };
        require!(invept.invept(ty, &desc), "INVEPT");
        check_eq!(setup!(resume(&mut v)), 0x4949);
        seen.push(what);
    }
    check_eq!(
        require!(ept.edit().query(GuestPhysAddr::new(gpa)), "query").attributes(),
        EptAttributes::write_back(EptFlags::RW)
    );
    Outcome::PassWith(format!("exit 49 for: {}", seen.join(", ")))
}

/// A permission change takes effect in the guest once the crate's flush token has been
/// flushed (INVEPT): the guest writes; the host write-protects and flushes; the next
/// write exits with a violation and leaves memory unchanged while reads still work;
/// restoring write access and flushing lets the write complete; later writes need no exit.
fn protect_then_invept(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let ept = setup!(identity_table(setup!(config(&c))));
    let f = setup!(frame(env));
    let gpa = ALIAS + f + 0x10;
    setup!(map4k(
        &ept,
        ALIAS + f,
        f,
        EptAttributes::write_back(EptFlags::RW)
    ));
    let mut v = setup!(start(&c, env, &ept));
    setup!(allowed(&mut v, Op::Write, gpa, 1));
    check_eq!(read64(f + 0x10), 1);
    setup!(protect_page(&ept, ALIAS + f, EptFlags::R));
    setup!(violation(&mut v, Op::Write, gpa, 2, READ_ONLY));
    check_eq!(read64(f + 0x10), 1);
    let ty = ept.invept_type();
    setup!(protect_page(&ept, ALIAS + f, EptFlags::RW));
    setup!(resume(&mut v));
    check_eq!(read64(f + 0x10), 2);
    // Write-protected again: reads still complete, the write exits.
    setup!(protect_page(&ept, ALIAS + f, EptFlags::R));
    check_eq!(setup!(allowed(&mut v, Op::Read, gpa, 0)), 2);
    setup!(violation(&mut v, Op::Write, gpa, 3, READ_ONLY));
    check_eq!(read64(f + 0x10), 2);
    setup!(protect_page(&ept, ALIAS + f, EptFlags::RW));
    setup!(resume(&mut v));
    check_eq!(read64(f + 0x10), 3);
    setup!(allowed(&mut v, Op::Write, gpa, 4));
    check_eq!(read64(f + 0x10), 4);
    check_eq!(setup!(allowed(&mut v, Op::Read, gpa, 0)), 4);
    Outcome::PassWith(format!("INVEPT type {ty:?}"))
}

/// A 2-MiB page: the guest reads host memory across it at the offsets the table
/// translates; protecting one 4-KiB part splits the page and only that part refuses writes.
fn large_page_2m(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(config(&c));
    let ept = setup!(identity_table(cfg));
    if !cfg.supports_page_size(PageSize::Size2M) {
        skip!("no 2 MiB EPT pages on this model");
    }
    let block = match env.alloc_frames(512, 0x20_0000) {
        Ok(Some(b)) => b,
        other => return Outcome::Fail(format!("no 2 MiB block: {other:?}")),
    };
    let g = ALIAS + 0x60_0000;
    // SAFETY: `block` is 2 MiB of frames this scenario allocated for the guest; they stay
    // allocated until the scenario ends, after the vCPU and the table are gone.
    let mapped = unsafe {
        ept.edit().map(
            GuestPhysAddr::new(g),
            HostPhysAddr::new(block),
            PageSize::Size2M,
            EptAttributes::write_back(EptFlags::RW),
        )
    };
    require!(mapped, "map 2 MiB");
    let offsets = [0u64, 0x8, 0x11_008, 0x10_0000, 0x1f_fff8];
    for (i, off) in offsets.iter().enumerate() {
        write64(block + off, 0x2a00 + i as u64);
        let m = require!(ept.edit().query(GuestPhysAddr::new(g + off)), "query");
        check_eq!(m.size(), PageSize::Size2M);
        check_eq!(m.gpa().as_u64(), g);
        check_eq!(m.hpa().as_u64(), block);
        check_eq!(
            require!(
                ept.edit().translate(GuestPhysAddr::new(g + off)),
                "translate"
            )
            .as_u64(),
            block + off
        );
    }
    let frames_before = ept.edit().frames_used();
    let mut v = setup!(start(&c, env, &ept));
    for (i, off) in offsets.iter().enumerate() {
        let got = setup!(allowed(&mut v, Op::Read, g + off, 0));
        check!(
            got == 0x2a00 + i as u64,
            "guest read {got:#x} at {:#x}",
            g + off
        );
    }
    // Split: write-protect the 4 KiB at offset 0x5000.
    let part = g + 0x5000;
    setup!(protect_page(&ept, part, EptFlags::R));
    check_eq!(ept.edit().frames_used(), frames_before + 1);
    check_eq!(
        ept.edit().page_size_at(GuestPhysAddr::new(part)),
        Some(PageSize::Size4K)
    );
    check_eq!(
        ept.edit().page_size_at(GuestPhysAddr::new(g)),
        Some(PageSize::Size4K)
    );
    for off in [0x4ff8u64, 0x6000, 0x1f_fff8] {
        check_eq!(
            require!(
                ept.edit().translate(GuestPhysAddr::new(g + off)),
                "translate"
            )
            .as_u64(),
            block + off
        );
        setup!(allowed(&mut v, Op::Write, g + off, 0xbeef));
        check_eq!(read64(block + off), 0xbeef);
    }
    setup!(violation(&mut v, Op::Write, part + 0x18, 0xdead, READ_ONLY));
    check_eq!(read64(block + 0x5018), 0);
    setup!(protect_page(&ept, part, EptFlags::RW));
    setup!(resume(&mut v));
    check_eq!(read64(block + 0x5018), 0xdead);
    Outcome::Pass
}

/// A 1-GiB page (guest-physical 1 GiB -> host-physical 0): the guest reaches host frames
/// through it; protecting one 4-KiB part splits it (1 GiB -> 2 MiB -> 4 KiB) and only that
/// part refuses writes; the rest of the 1 GiB keeps its 2 MiB pages.
fn large_page_1g(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(config(&c));
    if !cfg.supports_page_size(PageSize::Size1G) {
        let ept = setup!(identity_table(cfg));
        // SAFETY: host-physical [0, 1 GiB) is what `identity_table` already lets the
        // kernel's trusted test guest reach (see there).
        let refused = unsafe {
            ept.edit().map(
                GuestPhysAddr::new(ALIAS),
                HostPhysAddr::new(0),
                PageSize::Size1G,
                EptAttributes::write_back(EptFlags::RW),
            )
        };
        check_eq!(
            refused.err(),
            Some(EptError::PageSizeUnsupported(PageSize::Size1G))
        );
        skip!("no 1 GiB EPT pages on this model (IA32_VMX_EPT_VPID_CAP bit 17 = 0)");
    }
    let ept = setup!(identity_table(cfg));
    // SAFETY: host-physical [0, 1 GiB) is what `identity_table` already lets the kernel's
    // trusted test guest reach (see there); this maps it a second time, at 1 GiB.
    let mapped = unsafe {
        ept.edit().map(
            GuestPhysAddr::new(ALIAS),
            HostPhysAddr::new(0),
            PageSize::Size1G,
            EptAttributes::write_back(EptFlags::RW),
        )
    };
    require!(mapped, "map 1 GiB");
    // Two frames in different 2 MiB regions.
    let a = setup!(frame(env));
    let b = match env.alloc_frames(1, 0x20_0000) {
        Ok(Some(b)) if b >> 21 != a >> 21 => b,
        other => return Outcome::Fail(format!("no frame in another 2 MiB region: {other:?}")),
    };
    write64(a + 8, 0xa1);
    write64(b + 8, 0xb1);
    for f in [a, b] {
        let m = require!(ept.edit().query(GuestPhysAddr::new(ALIAS + f + 8)), "query");
        check_eq!(m.size(), PageSize::Size1G);
        check_eq!(m.gpa().as_u64(), ALIAS);
        check_eq!(m.hpa().as_u64(), 0);
        check_eq!(
            require!(
                ept.edit().translate(GuestPhysAddr::new(ALIAS + f + 8)),
                "translate"
            )
            .as_u64(),
            f + 8
        );
    }
    let mut v = setup!(start(&c, env, &ept));
    check_eq!(setup!(allowed(&mut v, Op::Read, ALIAS + a + 8, 0)), 0xa1);
    check_eq!(setup!(allowed(&mut v, Op::Read, ALIAS + b + 8, 0)), 0xb1);
    let before = ept.edit().frames_used();
    setup!(protect_page(&ept, ALIAS + b, EptFlags::R));
    check_eq!(ept.edit().frames_used(), before + 2);
    check_eq!(
        ept.edit().page_size_at(GuestPhysAddr::new(ALIAS + b)),
        Some(PageSize::Size4K)
    );
    check_eq!(
        ept.edit().page_size_at(GuestPhysAddr::new(ALIAS + a)),
        Some(PageSize::Size2M)
    );
    check_eq!(
        require!(
            ept.edit().translate(GuestPhysAddr::new(ALIAS + b + 8)),
            "translate"
        )
        .as_u64(),
        b + 8
    );
    setup!(allowed(&mut v, Op::Write, ALIAS + a + 8, 0xa2));
    check_eq!(read64(a + 8), 0xa2);
    setup!(violation(&mut v, Op::Write, ALIAS + b + 8, 0xb2, READ_ONLY));
    check_eq!(read64(b + 8), 0xb1);
    check_eq!(setup!(read_instead(&mut v, ALIAS + b + 8)), 0xb1);
    setup!(protect_page(&ept, ALIAS + b, EptFlags::RW));
    setup!(allowed(&mut v, Op::Write, ALIAS + b + 8, 0xb2));
    check_eq!(read64(b + 8), 0xb2);
    Outcome::Pass
}

/// With EPT accessed and dirty flags enabled (EPTP bit 6), the guest's read sets the
/// accessed flag of the leaf and its write the dirty flag (SDM Vol. 3C §29.3.5); the crate
/// reads them, clears them (reporting what it cleared) and, after the flush, the processor
/// sets them again on the next access.
fn accessed_dirty(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(config(&c));
    if !cfg.capabilities().contains(EptVpidCap::ACCESSED_DIRTY) {
        check!(
            matches!(
                cfg.with_accessed_dirty(true),
                Err(EptError::CapabilityMissing(_))
            ),
            "A/D accepted without capability bit 21"
        );
        skip!("no EPT accessed/dirty flags on this model (IA32_VMX_EPT_VPID_CAP bit 21 = 0)");
    }
    let ad_cfg = require!(cfg.with_accessed_dirty(true), "with_accessed_dirty");
    let ept = setup!(identity_table(ad_cfg));
    check!(ept.eptp().accessed_dirty(), "EPTP bit 6 clear");
    check!(ept.eptp().raw() & (1 << 6) != 0, "EPTP bit 6 clear");
    let p = setup!(frame(env));
    let q = setup!(frame(env));
    let rw = EptAttributes::write_back(EptFlags::RW);
    setup!(map4k(&ept, ALIAS + p, p, rw));
    setup!(map4k(&ept, ALIAS + q, q, rw));
    let state = |f: u64| {
        ept.edit()
            .accessed_dirty(GuestPhysAddr::new(ALIAS + f))
            .map(|x| (x.accessed, x.dirty))
    };
    check_eq!(state(p), Ok((false, false)));
    let mut v = setup!(start(&c, env, &ept));
    check_eq!(state(p), Ok((false, false)));
    setup!(allowed(&mut v, Op::Read, ALIAS + p, 0));
    check_eq!(state(p), Ok((true, false)));
    check_eq!(state(q), Ok((false, false)));
    setup!(allowed(&mut v, Op::Write, ALIAS + p, 5));
    check_eq!(state(p), Ok((true, true)));
    check_eq!(state(q), Ok((false, false)));

    let mut visited = Vec::new();
    let cleared_at = {
        let mut t = ept.edit();
        let token = require!(
            t.clear_accessed_dirty(
                GuestPhysAddr::new(ALIAS + p),
                0x1000,
                EptFlags::ACCESSED_DIRTY,
                |m| visited.push(m)
            ),
            "clear_accessed_dirty"
        );
        check!(t.needs_flush(), "clearing A/D left no pending invalidation");
        t.commit(token);
        ept.generation()
    };
    check!(
        ept.generation() > cleared_at && !ept.synced(ept.generation()),
        "clearing A/D published no generation for the vCPU to reach"
    );
    check_eq!(visited.len(), 1);
    check_eq!(visited[0].gpa().as_u64(), ALIAS + p);
    check!(
        visited[0]
            .attributes()
            .flags
            .contains(EptFlags::ACCESSED_DIRTY),
        "visit saw {:?}",
        visited[0].attributes().flags
    );
    check_eq!(state(p), Ok((false, false)));

    let cleared = ept.generation();
    setup!(allowed(&mut v, Op::Write, ALIAS + q, 6));
    setup!(synced(&ept, cleared));
    check_eq!(state(q), Ok((true, true)));
    check_eq!(state(p), Ok((false, false)));
    setup!(allowed(&mut v, Op::Read, ALIAS + p, 0));
    check_eq!(state(p), Ok((true, false)));

    // Clearing only the dirty flag keeps accessed.
    {
        let mut t = ept.edit();
        let token = require!(
            t.clear_accessed_dirty(
                GuestPhysAddr::new(ALIAS + q),
                0x1000,
                EptFlags::DIRTY,
                |_| {}
            ),
            "clear dirty"
        );
        t.commit(token);
    }
    let cleared = ept.generation();
    check_eq!(state(q), Ok((true, false)));
    setup!(allowed(&mut v, Op::Write, ALIAS + q, 7));
    setup!(synced(&ept, cleared));
    check_eq!(state(q), Ok((true, true)));
    check_eq!(read64(q), 7);
    Outcome::Pass
}

/// A 5-level EPT walk where the model offers one: the guest runs under a 5-level table.
fn five_level_walk(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let cfg = setup!(config(&c));
    if !cfg.capabilities().contains(EptVpidCap::PAGE_WALK_5) {
        check_eq!(
            cfg.with_walk_length(PageWalkLength::Five).err(),
            Some(EptError::CapabilityMissing(ept::Capability::PageWalk5))
        );
        skip!("no 5-level EPT on this model (IA32_VMX_EPT_VPID_CAP bit 7 = 0)");
    }
    let five = require!(cfg.with_walk_length(PageWalkLength::Five), "5-level config");
    let ept = setup!(identity_table(five));
    check_eq!(ept.edit().guest_address_width(), 57);
    check_eq!(ept.eptp().page_walk_length(), Some(PageWalkLength::Five));
    let f = setup!(frame(env));
    write64(f, 0x55);
    setup!(map4k(
        &ept,
        ALIAS + f,
        f,
        EptAttributes::write_back(EptFlags::RW)
    ));
    let mut v = setup!(start(&c, env, &ept));
    check_eq!(setup!(allowed(&mut v, Op::Read, ALIAS + f, 0)), 0x55);
    Outcome::Pass
}
