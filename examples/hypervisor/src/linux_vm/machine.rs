//! The run loop: `vcpus` vCPUs time-sliced round-robin on this one physical CPU, the
//! VMX-preemption timer bounding each slice (SDM Vol. 3C §26.5.1), every device emulated by
//! [`Platform`].

use alloc::format;
use alloc::vec::Vec;

use baremetal::println;
use example_hypervisor::exit_stats::ExitStats;
use example_hypervisor::msr::MsrPolicy;
use example_hypervisor::platform::{CpuEffect, Platform, PlatformConfig};
use vmx_defs::guest_state::ActivityState;
use vmx_defs::vmcs::fields;
use vmx_vcpu::sipi::ApWait;
use vmx_vcpu::{Event, InjectionOutcome, VmxVcpu};

use super::console::{GuestConsole, poll_host_input};
use super::error::LinuxVmError;
use super::exits::{ExitAction, handle_exit};
use crate::hosts::FrameHost;
use example_hypervisor::linux::vm_config::{ConsoleMode, VmConfig};

/// The longest slice a vCPU runs before another gets the CPU, in TSC ticks.
pub const SLICE_TSC: u64 = 200_000;

/// Where a vCPU stands in the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Runs guest code.
    Runnable,
    /// Executed HLT (emulated: RIP is past it); waits for an interrupt or NMI.
    Halted,
    /// Waits for a SIPI (on the host, `ApWait::Host`).
    WaitForSipi,
}

/// One vCPU and its scheduling state.
pub struct Slot<'c> {
    /// The vCPU.
    pub vcpu: VmxVcpu<'c, FrameHost>,
    /// Its state.
    pub state: RunState,
}

/// How the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Every vCPU halted with interrupts disabled (Linux's power-off without ACPI).
    PoweredOff,
    /// The guest reset the machine (reset port or triple fault).
    Rebooted {
        /// By a triple fault.
        triple_fault: bool,
    },
    /// The TSC budget ran out.
    OutOfTime,
}

/// Everything the run shares between vCPUs.
pub struct Machine {
    /// The emulated platform.
    pub platform: Platform,
    /// Exits by reason.
    pub stats: ExitStats,
    /// The console.
    pub console: GuestConsole,
    /// MMIO accesses to absent devices.
    pub absent_mmio: u64,
    /// Interrupts injected and delivered.
    pub interrupts_delivered: u64,
    /// TSC ticks inside `Vcpu::run` (the guest, plus vmx-vcpu's entry and exit path).
    pub in_run_tsc: u64,
    /// The host's IA32_ARCH_CAPABILITIES (read once; `None` where CPUID.(7,0):EDX\[29\] = 0
    /// or the read faults), which the MSR policy shows the guest filtered.
    pub host_arch_capabilities: Option<u64>,
    /// The run's configuration.
    pub config: VmConfig,
    /// Each vCPU's emulated MSRs.
    pub msrs: Vec<MsrPolicy>,
    /// Host-physical base of guest RAM and its size (for instruction fetches).
    pub ram: (u64, u64),
}

impl Machine {
    /// A machine for `config` with RAM at `ram`.
    pub fn new(config: VmConfig, ram: (u64, u64)) -> Self {
        Self {
            platform: Platform::new(PlatformConfig {
                vcpus: config.vcpus,
                tsc_khz: config.tsc_khz,
            }),
            stats: ExitStats::new(),
            console: GuestConsole::new(config.console),
            absent_mmio: 0,
            interrupts_delivered: 0,
            in_run_tsc: 0,
            host_arch_capabilities: host_arch_capabilities(),
            msrs: (0..config.vcpus).map(|_| MsrPolicy::new()).collect(),
            config,
            ram,
        }
    }

    /// Runs until power-off, reset, the budget, or an error.
    pub fn run(&mut self, slots: &mut [Slot<'_>], entry_tsc: u64) -> Result<RunEnd, LinuxVmError> {
        let mut current = 0usize;
        let mut input = Vec::new();
        loop {
            let now = baremetal::cpu::rdtsc();
            if now.wrapping_sub(entry_tsc) > self.config.max_tsc {
                return Ok(RunEnd::OutOfTime);
            }
            self.platform.update(now);
            self.drain_console(now, &mut input);
            // Wake the halted vCPUs that have something to take.
            for (i, slot) in slots.iter_mut().enumerate() {
                if slot.state == RunState::Halted && self.wakes(i, &mut slot.vcpu)? {
                    slot.state = RunState::Runnable;
                }
            }
            let Some(next) = (0..slots.len())
                .map(|k| (current + k) % slots.len())
                .find(|&i| slots.get(i).is_some_and(|s| s.state == RunState::Runnable))
            else {
                // Nothing runnable: power-off when nothing can ever wake a vCPU again.
                if self.halted_for_good(slots)? {
                    return Ok(RunEnd::PoweredOff);
                }
                self.idle_until_deadline();
                continue;
            };
            current = next;
            let Some(slot) = slots.get_mut(current) else {
                continue;
            };
            let end = self.run_slice(current, slot, now)?;
            for effect in end.effects {
                self.apply_effect(slots, effect)?;
            }
            match end.action {
                SliceEnd::Continue => {}
                SliceEnd::Power(r) => return Ok(r),
            }
            current = (current + 1) % slots.len();
        }
    }

    /// Whether halted vCPU `i` has an interrupt it can take (RFLAGS.IF = 1) or an NMI.
    fn wakes(&mut self, i: usize, vcpu: &mut VmxVcpu<'_, FrameHost>) -> Result<bool, LinuxVmError> {
        if vcpu.pending_events().nmi_pending() {
            return Ok(true);
        }
        let if_set = vcpu.rflags()? & (1 << 9) != 0;
        self.platform.set_tpr(i, vcpu.virtual_tpr());
        Ok(if_set && self.platform.pending_interrupt(i).is_some())
    }

    /// Every vCPU waits for a SIPI or halted with RFLAGS.IF = 0 and nothing pending: no
    /// event can come any more (no vCPU runs to send one).
    fn halted_for_good(&mut self, slots: &mut [Slot<'_>]) -> Result<bool, LinuxVmError> {
        for slot in slots.iter_mut() {
            match slot.state {
                RunState::Runnable => return Ok(false),
                RunState::WaitForSipi => {}
                RunState::Halted => {
                    if slot.vcpu.rflags()? & (1 << 9) != 0 {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Nothing runnable: wait (PAUSE on the TSC) for the platform's next deadline, or a
    /// little while when it has none (the console may receive input).
    fn idle_until_deadline(&mut self) {
        let now = baremetal::cpu::rdtsc();
        let until = self
            .platform
            .next_deadline()
            .unwrap_or(now + SLICE_TSC)
            .min(now + 10 * SLICE_TSC);
        while baremetal::cpu::rdtsc() < until {
            core::hint::spin_loop();
            if self.config.console == ConsoleMode::Interactive {
                break;
            }
        }
    }

    fn drain_console(&mut self, now: u64, input: &mut Vec<u8>) {
        let out = self.platform.take_console_output();
        if !out.is_empty() {
            self.console.feed(&out, now);
        }
        if self.config.console == ConsoleMode::Interactive {
            input.clear();
            poll_host_input(input);
            if !input.is_empty() {
                self.platform.console_input(input);
            }
        }
    }

    /// Offers the vCPU its next event before an entry: an NMI, or the platform's highest
    /// pending interrupt when the vCPU holds no event of its own. An external interrupt is
    /// acknowledged in the platform (IRR -> ISR) only once `last_injection` reports it
    /// delivered; an interrupted delivery is re-injected by the vCPU first at the next
    /// entry (SDM Vol. 3C §27.6.1.1) and acknowledged when it completes, so none is lost or
    /// delivered twice.
    fn offer_events(
        &mut self,
        i: usize,
        vcpu: &mut VmxVcpu<'_, FrameHost>,
    ) -> Result<(), LinuxVmError> {
        if self.platform.take_nmi(i) {
            vcpu.inject(Event::Nmi)?;
        }
        self.platform.set_tpr(i, vcpu.virtual_tpr());
        let pending = vcpu.pending_events();
        if pending.reinjection().is_none()
            && pending.highest_interrupt().is_none()
            && let Some(v) = self.platform.pending_interrupt(i)
        {
            vcpu.inject(Event::ExternalInterrupt(v))?;
        }
        Ok(())
    }

    /// Runs vCPU `i` for up to one slice.
    fn run_slice(
        &mut self,
        i: usize,
        slot: &mut Slot<'_>,
        start: u64,
    ) -> Result<SliceResult, LinuxVmError> {
        let slice_end = start + SLICE_TSC;
        let mut effects = Vec::new();
        loop {
            let now = baremetal::cpu::rdtsc();
            self.platform.update(now);
            self.offer_events(i, &mut slot.vcpu)?;
            let deadline = self
                .platform
                .next_deadline()
                .unwrap_or(u64::MAX)
                .min(slice_end);
            let ticks = deadline.saturating_sub(now).max(1);
            slot.vcpu.set_preemption_timer(ticks)?;
            let entered = baremetal::cpu::rdtsc();
            let exit = slot.vcpu.run()?;
            self.in_run_tsc = self
                .in_run_tsc
                .saturating_add(baremetal::cpu::rdtsc().saturating_sub(entered));
            if let Some(report) = slot.vcpu.last_injection()
                && report.outcome == InjectionOutcome::Delivered
                && let Event::ExternalInterrupt(v) = report.event
            {
                self.platform.acknowledge(i, v);
                self.interrupts_delivered += 1;
            }
            self.stats.record(exit.reason());
            let now = baremetal::cpu::rdtsc();
            let action = handle_exit(self, i, &mut slot.vcpu, &exit, now, &mut effects)?;
            self.stats
                .record_cost(exit.reason(), baremetal::cpu::rdtsc().saturating_sub(now));
            match action {
                ExitAction::Continue => {}
                ExitAction::Halt => {
                    slot.state = RunState::Halted;
                    return Ok(SliceResult {
                        action: SliceEnd::Continue,
                        effects,
                    });
                }
                ExitAction::Yield => {
                    return Ok(SliceResult {
                        action: SliceEnd::Continue,
                        effects,
                    });
                }
                ExitAction::Reset { triple_fault } => {
                    return Ok(SliceResult {
                        action: SliceEnd::Power(RunEnd::Rebooted { triple_fault }),
                        effects,
                    });
                }
            }
            if !effects.is_empty() || baremetal::cpu::rdtsc() >= slice_end {
                return Ok(SliceResult {
                    action: SliceEnd::Continue,
                    effects,
                });
            }
        }
    }

    /// Applies an INIT, SIPI or NMI that a vCPU's APIC sent.
    fn apply_effect(
        &mut self,
        slots: &mut [Slot<'_>],
        effect: CpuEffect,
    ) -> Result<(), LinuxVmError> {
        match effect {
            CpuEffect::Init { cpu } => {
                if let Some(s) = slots.get_mut(cpu) {
                    s.vcpu.receive_init(ApWait::Host)?;
                    s.state = RunState::WaitForSipi;
                }
            }
            CpuEffect::Startup { cpu, vector } => {
                if let Some(s) = slots.get_mut(cpu)
                    && s.state == RunState::WaitForSipi
                {
                    s.vcpu
                        .start_at_sipi(vector)
                        .map_err(|e| LinuxVmError::Guest(format!("SIPI to vCPU {cpu}: {e}")))?;
                    s.state = RunState::Runnable;
                }
            }
            CpuEffect::Nmi { cpu } => {
                if let Some(s) = slots.get_mut(cpu) {
                    s.vcpu.inject(Event::Nmi)?;
                    if s.state == RunState::Halted {
                        s.state = RunState::Runnable;
                    }
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
        Ok(())
    }
}

enum SliceEnd {
    Continue,
    Power(RunEnd),
}

struct SliceResult {
    action: SliceEnd,
    effects: Vec<CpuEffect>,
}

/// Prints the vCPU's registers and VMCS (the FAILED guard).
pub fn dump(i: usize, vcpu: &mut VmxVcpu<'_, FrameHost>) {
    let rip = vcpu.read_field(fields::GUEST_RIP).unwrap_or(0);
    let act = vcpu.activity_state().unwrap_or(ActivityState::ACTIVE);
    println!(
        "example hypervisor: vCPU {i}: RIP {rip:#x}, activity {act:?}, registers {:x?}",
        vcpu.regs()
    );
    let mut out = baremetal::console::Console;
    let _ = vcpu.dump_vmcs(&mut out);
}

/// IA32_ARCH_CAPABILITIES of this processor, when CPUID.(7,0):EDX\[29\] enumerates it
/// (SDM Vol. 4 Table 2-2); a read that faults anyway is `None`.
fn host_arch_capabilities() -> Option<u64> {
    const ARCH_CAPABILITIES: u32 = 1 << 29;
    if baremetal::cpu::cpuid(0, 0).eax < 7
        || baremetal::cpu::cpuid(7, 0).edx & ARCH_CAPABILITIES == 0
    {
        return None;
    }
    baremetal::try_rdmsr(example_hypervisor::msr::IA32_ARCH_CAPABILITIES).ok()
}
