//! Differential test of `vmx-entry-check` against the processor (Bochs): from a valid VMCS
//! (a 64-bit guest, and a real-mode unrestricted guest where the model has it), every
//! targeted mutation (`mutations::targeted`, one per reachable check) and seeded random bit
//! flips in control, host-state and guest-state fields. For each mutation the checker
//! predicts the outcome (success, VMfailValid 7/8, entry failure 33/34) from a VMREAD
//! snapshot, the entry is tried, and the two are compared (SDM Vol. 3C §27.2-§27.4, §27.8).
//!
//! The guests run on a few frames of their own: a page of HLT (HLT exiting is on, so a
//! successful entry comes straight back), and for the 64-bit guest its four paging
//! structures mapping only that page; the EPT (where the model has one) maps only those
//! frames, so a mutated guest (another RIP, CR3, CS base) cannot reach host memory.
//!
//! Before each entry the scenario writes the mutation's index and the checks the checker
//! finds failing to Bochs's BIOS info port (0x402), one line each (`entry_check #N Name`,
//! first failure first, or `entry_check #N none`), and `entry_check end` after each guest:
//! Bochs logs those lines in the same ordered log as the VM-entry failure message it writes
//! for the entry, and the `ci` tool compares the two names (ci/src/entry_names.rs). Without
//! Bochs the port is unused and the writes go nowhere.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use baremetal::println;
use vmx_defs::vmcs::{FieldType, VmcsEncoding, fields as f};
use vmx_insn::VmFail;
use vmx_vcpu::guest::GuestState;
use vmx_vcpu::vmx_entry_check::mutations::{BitFlips, Mutation, targeted};
use vmx_vcpu::vmx_entry_check::{CheckId, Diagnosis, Outcome as Predicted, VmcsSnapshot};
use vmx_vcpu::{Vcpu, VcpuConfig, VmExit, VmxError, VmxVcpu};

use crate::env::{Env, Outcome, Scenario};
use crate::hosts::KernelHost;
use crate::setup;

use super::vmx_setup::{Cpu, NO_IDT, enable, long_mode_guest};

/// This area's scenarios.
pub const SCENARIOS: &[Scenario] = &[Scenario {
    name: "entry_check",
    run: entry_check,
}];

/// Print each mutation before its entry (to find one that upsets the host).
const TRACE: bool = false;

/// Seeded bit flips per guest (on top of the targeted mutations); twice as many for the
/// 64-bit guest on a model without a real-mode guest.
const FLIPS: usize = 200;

/// Checks whose disagreements with Bochs are documented, with the SDM text, in
/// vmx-entry-check/README.md "Where Bochs departs from the SDM".
const DOCUMENTED: &[&str] = &[
    "EntryToSmmOutsideSmm",
    "GuestDebugctlReserved",
    "GuestRipCanonical",
    "GuestPendingDebugReserved",
    "GuestPendingDebugBs",
    "GuestActivityEventInjection",
    "GuestInterruptibilityEventBlocked",
    "GuestRflagsIfForExternalInterrupt",
    "EventInjectionErrorCode",
    "HostCetWithoutWp",
];

/// Bochs's BIOS info port: each line written to it becomes an info line of Bochs's log
/// (`[BIOS  ] text`), at most 79 bytes.
const BOCHS_INFO_PORT: u16 = 0x402;

/// Writes `line` and a newline to [`BOCHS_INFO_PORT`].
fn log_marker(line: &str) {
    for b in line.bytes().take(79).chain(core::iter::once(b'\n')) {
        // SAFETY: port 0x402 is Bochs's BIOS message port (its `biosdev`), which only
        // buffers the byte and logs the line; nothing else decodes it on the machines the
        // suite runs on.
        unsafe { baremetal::cpu::outb(BOCHS_INFO_PORT, b) };
    }
}

/// Marks mutation `index` in Bochs's log with the checks `d` finds failing.
/// [`Diagnosis::first`] (the failure that decides the outcome) comes first.
fn mark_entry(index: usize, d: &Diagnosis) {
    let Some(first) = d.first().map(|f| f.id) else {
        log_marker(&format!("entry_check #{index} none"));
        return;
    };
    log_marker(&format!("entry_check #{index} {}", first.name()));
    for fl in d.failures().filter(|f| f.id != first) {
        log_marker(&format!("entry_check #{index} {}", fl.id.name()));
    }
}

/// What an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// A VM exit with bit 31 clear (the guest ran).
    Entered,
    /// VMfailValid with this VM-instruction error.
    VmFail(u32),
    /// A VM-entry failure with this basic exit reason.
    EntryFailure(u32),
}

fn predicted_class(p: Option<Predicted>) -> Seen {
    match p {
        None => Seen::Entered,
        Some(Predicted::VmFailValid(e)) => Seen::VmFail(e),
        Some(Predicted::EntryFailure { reason, .. }) => Seen::EntryFailure(reason),
        Some(_) => Seen::VmFail(u32::MAX),
    }
}

/// Totals over one model.
#[derive(Default)]
struct Tally {
    tried: usize,
    /// Entries marked in Bochs's log (the next mutation's index).
    marked: usize,
    agree: usize,
    skipped: usize,
    hit: Vec<CheckId>,
    disagreements: Vec<String>,
    undocumented: usize,
}

/// Fields whose value the VM exit uses (host state, VM-exit controls and MSR areas): a
/// mutation of one is tried only when the checker predicts a VMfail, which loads nothing.
fn used_by_exit(field: VmcsEncoding) -> bool {
    matches!(field.field_type(), FieldType::HostState)
        || [
            f::CTRL_PRIMARY_VMEXIT_CONTROLS.encoding(),
            f::CTRL_SECONDARY_VMEXIT_CONTROLS.encoding(),
            f::CTRL_VMEXIT_MSR_STORE_COUNT.encoding(),
            f::CTRL_VMEXIT_MSR_LOAD_COUNT.encoding(),
            f::CTRL_VMEXIT_MSR_STORE_ADDRESS.encoding(),
            f::CTRL_VMEXIT_MSR_LOAD_ADDRESS.encoding(),
        ]
        .contains(&VmcsEncoding(field.raw() & !1))
}

/// Why a mutation the checker predicts to pass is not tried, if it is not: entering would
/// hand the guest memory or a state the scenario cannot bound.
fn unsafe_success(m: &VmcsSnapshot, base: &VmcsSnapshot, ept: bool) -> Option<&'static str> {
    let changed = |x: VmcsEncoding| m.get_raw(x) != base.get_raw(x);
    if changed(f::CTRL_EPT_POINTER.encoding()) {
        return Some("another EPT");
    }
    if !ept && changed(f::GUEST_CR3.encoding()) {
        return Some("other paging structures without EPT");
    }
    if m.get(f::GUEST_ACTIVITY_STATE).unwrap_or(0) != 0 {
        return Some("an inactive guest without a timer would never exit");
    }
    let count = m.get(f::CTRL_VMENTRY_MSR_LOAD_COUNT).unwrap_or(0);
    if count > 256 || (count > 0 && changed(f::CTRL_VMENTRY_MSR_LOAD_ADDRESS.encoding())) {
        return Some("an MSR-load area outside the vCPU's page");
    }
    // Entries past the vCPU's own are zero: loading MSR 0 succeeds or not by model (SDM
    // Vol. 4 lists which MSRs exist), which no VM-entry check of §27.4 decides.
    if count > base.get(f::CTRL_VMENTRY_MSR_LOAD_COUNT).unwrap_or(0) {
        return Some("MSR-load entries for MSR 0, whose existence is model-specific");
    }
    None
}

fn field_list(m: &Mutation) -> String {
    let mut s = String::new();
    for (field, value) in m.writes.iter().flatten() {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(&format!("{field} = {value:#x}"));
    }
    s
}

/// Drops the event the last exit left for re-injection, then writes back every field of
/// `base` that differs from the VMCS now.
///
/// A mutation that injects an event the guest cannot take (a real-mode guest's stack is
/// outside its EPT) exits during event delivery: the IDT-vectoring information (SDM Vol. 3C
/// §28.2.4) then holds the event and the vCPU queues it for re-injection, which it would
/// write over the next mutation's VM-entry interruption-information field.
fn restore(v: &mut Vcpu<'_, KernelHost>, base: &VmcsSnapshot) -> Result<(), String> {
    v.clear_pending_events()
        .map_err(|e| format!("clear pending events: {e}"))?;
    let now = v.vmcs_snapshot().map_err(|e| format!("snapshot: {e}"))?;
    for (field, value) in base.iter() {
        // HOST_RSP is the vCPU's (its entry code rewrites it when the stack moves and
        // caches the value: writing an old one would make the next exit load a stale RSP).
        if field.is_read_only()
            || field == f::HOST_RSP.encoding()
            || now.get_raw(field) == Some(value)
        {
            continue;
        }
        // SAFETY: `value` is the baseline's own value of the field, read from this VMCS
        // before the first mutation: host state captured by the vCPU, its own pointers.
        unsafe { v.write_field_raw(field, value) }.map_err(|e| format!("restore {field}: {e}"))?;
    }
    Ok(())
}

/// Runs every mutation on `v` (its baseline entered once already).
fn differential(
    v: &mut Vcpu<'_, KernelHost>,
    guest: &str,
    ept: bool,
    seed: u64,
    flips: usize,
    t: &mut Tally,
) -> Result<(), String> {
    let base = v.vmcs_snapshot().map_err(|e| format!("snapshot: {e}"))?;
    let caps = *v.cpu().capabilities();
    let (list, n) = targeted(&base, &caps);
    let flips = BitFlips::new(&base, seed).take(flips);
    let all = list.into_iter().take(n).flatten().chain(flips);
    for m in all {
        restore(v, &base)?;
        // HOST_RSP and HOST_RIP belong to the vCPU's entry code (which caches HOST_RSP and
        // rewrites it only when its stack moves): never mutated.
        if m.writes.iter().flatten().any(|(x, _)| {
            let full = VmcsEncoding(x.raw() & !1);
            full == f::HOST_RSP.encoding() || full == f::HOST_RIP.encoding()
        }) {
            t.skipped += 1;
            continue;
        }
        let mut wrote = true;
        for (field, value) in m.writes.iter().flatten() {
            // SAFETY: host-state fields, VM-exit controls and the exit's MSR areas are
            // written here but the entry is tried only if the checker predicts a VMfail
            // (below, `used_by_exit`): a VM entry that fails its §27.2 checks loads no
            // guest state and no host state, so the host never runs on a wrong-but-valid
            // host state. Other fields only change what the guest runs with; the guest
            // reaches only its own frames (its EPT, or its own paging structures), and
            // mutations that would let it reach more are not entered (`unsafe_success`).
            // Every field is restored before the next mutation.
            if unsafe { v.write_field_raw(*field, *value) }.is_err() {
                wrote = false;
            }
        }
        let mutated = v.vmcs_snapshot().map_err(|e| format!("snapshot: {e}"))?;
        let d: Diagnosis = v.diagnose_entry().map_err(|e| format!("diagnose: {e}"))?;
        let predicted = predicted_class(d.outcome());
        if !wrote {
            t.skipped += 1;
            continue;
        }
        let exit_field = m.writes.iter().flatten().any(|(x, _)| used_by_exit(*x));
        if exit_field && !matches!(predicted, Seen::VmFail(_)) {
            t.skipped += 1;
            continue;
        }
        if predicted == Seen::Entered && unsafe_success(&mutated, &base, ept).is_some() {
            t.skipped += 1;
            continue;
        }
        let index = t.marked;
        t.marked += 1;
        mark_entry(index, &d);
        if TRACE {
            println!(
                "entry_check: trace #{index} [{}] predicted {predicted:?}",
                field_list(&m)
            );
        }
        let seen = match v.run() {
            Ok(VmExit::EntryFailure(e)) => Seen::EntryFailure(e.reason.raw() & 0xffff),
            Ok(_) => Seen::Entered,
            Err(VmxError::EntryFailed {
                fail: VmFail::Valid(e),
                ..
            }) => Seen::VmFail(e.0),
            Err(e) => return Err(format!("run after mutation [{}]: {e}", field_list(&m))),
        };
        if TRACE {
            println!("entry_check: trace -> {seen:?}");
        }
        t.tried += 1;
        for fl in d.failures() {
            if !t.hit.contains(&fl.id) {
                t.hit.push(fl.id);
            }
        }
        if seen == predicted {
            t.agree += 1;
        } else {
            let first = d.first().map_or("none", |x| x.id.name());
            let documented = DOCUMENTED.contains(&first);
            if !documented {
                t.undocumented += 1;
            }
            let line = format!(
                "entry_check: disagree #{index} ({guest}) check {first} [{}]: checker {predicted:?}, Bochs {seen:?}{}",
                field_list(&m),
                if documented { " (documented)" } else { "" }
            );
            println!("{line}");
            t.disagreements.push(line);
        }
    }
    log_marker("entry_check end");
    restore(v, &base)?;
    Ok(())
}

unsafe extern "C" {
    /// The `vcpu` area's HLT guest (guests.rs); only its address is used, as the start
    /// RIP before the scenario points RIP at its own frame.
    fn vcpu_guest_hlt();
}

/// A frame of HLT instructions.
fn hlt_frame(env: &mut Env) -> Result<u64, Outcome> {
    let frame = env
        .alloc_frame()
        .ok_or_else(|| Outcome::Fail("no frame".into()))?;
    // SAFETY: a fresh identity-mapped frame of ours.
    unsafe { core::ptr::write_bytes(frame as *mut u8, 0xF4, 4096) };
    Ok(frame)
}

/// An EPT mapping each (guest-physical, frame) pair (read, write, execute).
fn small_ept(frames: &[(u64, u64)]) -> Result<ept::Ept<KernelHost>, Outcome> {
    let fail = |what: &str, e: ept::EptError| Outcome::Fail(format!("EPT {what}: {e}"));
    let caps = vmx_insn::ept_vpid_capabilities();
    let width = vmx_insn::physical_address_width().bits();
    let config = ept::EptConfig::new(caps, width).map_err(|e| fail("config", e))?;
    let mut t = ept::EptPageTable::new(KernelHost, config).map_err(|e| fail("new", e))?;
    let rwx = ept::EptAttributes::write_back(
        ept::EptFlags::READ | ept::EptFlags::WRITE | ept::EptFlags::EXECUTE,
    );
    for &(gpa, frame) in frames {
        // SAFETY: the frames are the scenario's own, holding only the guest's code and
        // paging structures; the table is dropped before the scenario ends.
        unsafe {
            t.map(
                ept::GuestPhysAddr::new(gpa),
                ept::HostPhysAddr::new(frame),
                ept::PageSize::Size4K,
                rwx,
            )
        }
        .map_err(|e| fail("map", e))?;
    }
    Ok(ept::Ept::new(t))
}

fn vcpu_on<'c>(
    c: &'c Cpu,
    ept: Option<&'c ept::Ept<KernelHost>>,
    cfg: &VcpuConfig,
) -> Result<VmxVcpu<'c, KernelHost>, Outcome> {
    match ept {
        Some(e) => {
            let user = e
                .attach()
                .map_err(|e| Outcome::Fail(format!("attach: {e}")))?;
            VmxVcpu::new(c, user, cfg).map_err(|e| Outcome::Fail(format!("VmxVcpu::new: {e}")))
        }
        // SAFETY: the guest's paging structures map only its HLT frame.
        None => unsafe { VmxVcpu::new_on_host_memory(c, cfg) }
            .map_err(|e| Outcome::Fail(format!("VmxVcpu::new_on_host_memory: {e}"))),
    }
}

/// Enters once (with the pre-flight check on): the baseline must pass the checker and run.
fn baseline(v: &mut Vcpu<'_, KernelHost>, guest: &str) -> Result<(), Outcome> {
    let d = v
        .diagnose_entry()
        .map_err(|e| Outcome::Fail(format!("{guest}: diagnose: {e}")))?;
    if !d.passed() {
        return Err(Outcome::Fail(format!("{guest}: baseline fails: {d}")));
    }
    match v.run() {
        Ok(VmExit::Hlt) => Ok(()),
        other => Err(Outcome::Fail(format!("{guest}: baseline entry: {other:?}"))),
    }
}

fn long_mode(env: &mut Env, c: &Cpu, flips: usize, t: &mut Tally) -> Result<(), Outcome> {
    let code = hlt_frame(env)?;
    let mut tables = [0u64; 4];
    for x in &mut tables {
        *x = env
            .alloc_frame()
            .ok_or_else(|| Outcome::Fail("no frame".into()))?;
    }
    // PML4 -> PDPT -> PD -> PT -> the HLT frame, at linear address = its physical address.
    let next = [tables[1], tables[2], tables[3], code];
    for level in 0..4 {
        let index = (code >> (39 - 9 * level)) & 511;
        // SAFETY: the table frames are fresh and ours; index < 512.
        unsafe { ((tables[level] + index * 8) as *mut u64).write_volatile(next[level] | 3) };
    }
    let mut g: GuestState = long_mode_guest(env, vcpu_guest_hlt, 0x2, NO_IDT)?;
    g.cr3 = tables[0];
    g.rip = code;
    // Without PCIDs (CR3 bits 11:0 are then flags, all 0 here).
    g.cr4 &= !(1 << 17);
    let caps = c.capabilities();
    let with_ept = caps.has_ept();
    let e = if with_ept {
        let mut frames: Vec<(u64, u64)> = tables.iter().map(|&x| (x, x)).collect();
        frames.push((code, code));
        Some(small_ept(&frames)?)
    } else {
        None
    };
    let mut cfg = VcpuConfig::new(g);
    cfg.preflight_check = true;
    let mut v = vcpu_on(c, e.as_ref(), &cfg)?;
    baseline(&mut v, "64-bit")?;
    differential(&mut v, "64-bit", with_ept, 0x5eed_0001, flips, t).map_err(Outcome::Fail)?;
    drop(v);
    Ok(())
}

fn real_mode(env: &mut Env, c: &Cpu, t: &mut Tally) -> Result<bool, Outcome> {
    let caps = c.capabilities();
    if !(caps.has_unrestricted_guest() && caps.has_ept()) {
        return Ok(false);
    }
    let code = hlt_frame(env)?;
    // The HLT frame at guest-physical 0x8000: CS 0x0800, IP 0.
    let e = small_ept(&[(0x8000, code)])?;
    let mut cfg = VcpuConfig::new(GuestState::real_mode(0x0800, 0, 0, 0x7000));
    cfg.preflight_check = true;
    let mut v = vcpu_on(c, Some(&e), &cfg)?;
    baseline(&mut v, "real mode")?;
    differential(&mut v, "real mode", true, 0x5eed_0002, FLIPS, t).map_err(Outcome::Fail)?;
    drop(v);
    Ok(true)
}

fn entry_check(env: &mut Env) -> Outcome {
    let c = setup!(enable());
    let mut t = Tally::default();
    let caps = c.capabilities();
    let has_real = caps.has_unrestricted_guest() && caps.has_ept();
    setup!(long_mode(
        env,
        &c,
        if has_real { FLIPS } else { 2 * FLIPS },
        &mut t
    ));
    let real = setup!(real_mode(env, &c, &mut t));
    let summary = format!(
        "{} mutations, {} checks hit, {} agree, {} disagree ({} undocumented), {} not entered; guests: 64-bit{}",
        t.tried,
        t.hit.len(),
        t.agree,
        t.disagreements.len(),
        t.undocumented,
        t.skipped,
        if real { ", real mode" } else { "" }
    );
    println!("entry_check: {summary}");
    if t.undocumented > 0 {
        return Outcome::Fail(format!("undocumented disagreements: {summary}"));
    }
    if t.tried < 300 {
        return Outcome::Fail(format!("fewer than 300 mutations tried: {summary}"));
    }
    Outcome::PassWith(summary)
}
