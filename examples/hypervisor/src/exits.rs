//! Running the guest and handling its VM exits.
//!
//! | exit | handling |
//! |---|---|
//! | I/O instruction on COM1 | the UART model (`example_hypervisor::uart`); each complete guest line is printed as `guest: ...` |
//! | CPUID | `example_hypervisor::cpuid::guest_view`: the signature leaf, filtered real leaves |
//! | VMX-preemption timer | a timer tick: the timer is armed again and the timer vector queued for injection; `vmx-vcpu` injects it when the guest can take it, else requests an interrupt-window exit, and `last_injection()` says when it was delivered |
//! | interrupt window | nothing: the guest can now take the pending tick, which the next entry injects |
//! | HLT | the guest waits for an interrupt: with a tick pending it is injected at once, else the guest is put in the HLT activity state until the timer fires |
//! | EPT violation on the device page | MMIO emulation with `vmx_vcpu::mmio`: walk the guest's page tables and decode the instruction at RIP (`fetch_and_decode`), perform the access on the device and complete it on the vCPU (`example_hypervisor::mmio::emulate`: `complete_mmio_read`/`complete_mmio_write`) |
//! | VMCALL | `DONE` ends the run with the guest's result; `PANIC` ends it with failure |
//! | XSETBV | a valid XCR0 becomes the guest's (`Vcpu::complete_xsetbv`, which also refuses ECX != 0; vmx-vcpu switches XCR0 around the guest) and RIP advances; another index or an invalid value gets #GP(0), as the processor raises it |
//! | anything else | printed decoded, and the run fails |

use alloc::string::String;

use baremetal::println;
use example_guest::abi::{self, hypercall};
use example_hypervisor::cpuid::{self, CpuidRegisters};
use example_hypervisor::exit_stats::ExitStats;
use example_hypervisor::mmio::{self, ExampleDevice, FetchError, MmioError, RamSlice};
use example_hypervisor::uart::Uart;
use vmx_defs::guest_state::ActivityState;
use vmx_vcpu::exit::{EptViolation, IoExit, VmExit};
use vmx_vcpu::{Event, InjectionOutcome, InjectionReport, Vcpu, VmxError, VmxHost};

use crate::error::HypervisorError;
use crate::guest_memory::GuestMemory;
use crate::report;

/// TSC ticks between timer interrupts (Bochs's TSC counts emulated instructions).
pub const TIMER_PERIOD_TSC: u64 = 200_000;
/// A guest that never finishes is stopped after this many exits.
const MAX_EXITS: u64 = 1_000_000;

/// What the guest reported with the `DONE` hypercall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestResult {
    /// The mask of failed self-checks (0: all passed).
    pub failed_checks: u64,
}

/// The guest's virtual devices and the run's bookkeeping.
pub struct Machine<'m> {
    memory: &'m GuestMemory,
    uart: Uart,
    device: ExampleDevice,
    /// VM exits by reason.
    pub stats: ExitStats,
    /// Timer interrupts delivered to the guest.
    pub timer_delivered: u64,
    /// Timer ticks: preemption-timer expiries (and ticks made up at HLT where the HLT
    /// activity state is not available).
    pub timer_ticks: u64,
}

/// What to do after an exit.
enum Flow {
    /// Re-enter the guest.
    Continue,
    /// The guest is done.
    Done(GuestResult),
}

impl<'m> Machine<'m> {
    /// A machine around `memory`.
    pub fn new(memory: &'m GuestMemory) -> Self {
        Self {
            memory,
            uart: Uart::new(),
            device: ExampleDevice::new(),
            stats: ExitStats::new(),
            timer_delivered: 0,
            timer_ticks: 0,
        }
    }

    /// Runs the guest until it sends `DONE` or something unexpected happens.
    pub fn run<H: VmxHost>(
        &mut self,
        vcpu: &mut Vcpu<'_, H>,
    ) -> Result<GuestResult, HypervisorError> {
        for _ in 0..MAX_EXITS {
            let exit = vcpu
                .run()
                .map_err(|e| HypervisorError::Run(report::describe_run_error(vcpu, &e)))?;
            // vmx-vcpu injects a queued tick at entry when the guest can take it, and reports
            // what became of it (an interrupted delivery is re-injected by itself).
            if let Some(InjectionReport {
                event: Event::ExternalInterrupt(abi::TIMER_VECTOR),
                outcome: InjectionOutcome::Delivered,
            }) = vcpu.last_injection()
            {
                self.timer_delivered += 1;
            }
            self.stats.record(exit.reason());
            match self.handle(vcpu, &exit)? {
                Flow::Continue => {}
                Flow::Done(result) => {
                    self.flush_partial_line();
                    return Ok(result);
                }
            }
        }
        Err(HypervisorError::Run(alloc::format!(
            "the guest did not finish within {MAX_EXITS} VM exits"
        )))
    }

    /// Prints what the guest sent after its last complete line.
    fn flush_partial_line(&mut self) {
        if let Some(line) = self.uart.take_partial_line() {
            println!("guest: {line}");
        }
    }

    /// The error for an exit the example does not handle: decoded, with the guest's RIP.
    fn unexpected<H: VmxHost>(&mut self, vcpu: &mut Vcpu<'_, H>, exit: &VmExit) -> HypervisorError {
        self.flush_partial_line();
        let rip = vcpu.rip().unwrap_or(0);
        HypervisorError::Run(report::describe_unexpected_exit(exit, rip))
    }

    /// Handles one exit (see the table in the module documentation).
    fn handle<H: VmxHost>(
        &mut self,
        vcpu: &mut Vcpu<'_, H>,
        exit: &VmExit,
    ) -> Result<Flow, HypervisorError> {
        match exit {
            VmExit::Io(io) if is_serial_port(io.port) => self.serial(vcpu, io)?,
            VmExit::Cpuid { leaf, subleaf } => {
                let real = if cpuid::is_hypervisor_leaf(*leaf) {
                    CpuidRegisters::default()
                } else {
                    let r = baremetal::cpu::cpuid(*leaf, *subleaf);
                    CpuidRegisters {
                        eax: r.eax,
                        ebx: r.ebx,
                        ecx: r.ecx,
                        edx: r.edx,
                    }
                };
                let v = cpuid::guest_view(*leaf, real);
                vcpu.complete_cpuid(v.eax, v.ebx, v.ecx, v.edx)?;
            }
            VmExit::PreemptionTimer => {
                // The timer stopped at 0 (its value is saved at exit where the processor
                // can): arm it for the next period.
                vcpu.set_preemption_timer(TIMER_PERIOD_TSC)?;
                self.timer_ticks += 1;
                if !timer_pending(vcpu) {
                    vcpu.inject(Event::ExternalInterrupt(abi::TIMER_VECTOR))?;
                }
            }
            VmExit::InterruptWindow => {}
            VmExit::Hlt => self.halt(vcpu)?,
            VmExit::EptViolation(v) if ExampleDevice::contains(v.gpa) => self.mmio(vcpu, v)?,
            VmExit::Vmcall(args) => match args.rax {
                hypercall::DONE => {
                    return Ok(Flow::Done(GuestResult {
                        failed_checks: args.rdi,
                    }));
                }
                hypercall::PANIC => {
                    self.flush_partial_line();
                    return Err(HypervisorError::Run(String::from(
                        "the guest panicked (its message is above)",
                    )));
                }
                _ => {
                    vcpu.regs_mut().rax = hypercall::UNKNOWN;
                    vcpu.advance_rip()?;
                }
            },
            VmExit::Xsetbv { index, value } => xsetbv(vcpu, *index, *value)?,
            other => return Err(self.unexpected(vcpu, other)),
        }
        Ok(Flow::Continue)
    }

    /// An IN or OUT on the UART's ports.
    fn serial<H: VmxHost>(
        &mut self,
        vcpu: &mut Vcpu<'_, H>,
        io: &IoExit,
    ) -> Result<(), HypervisorError> {
        if io.string || io.size != 1 {
            return Err(self.unexpected(vcpu, &VmExit::Io(*io)));
        }
        let offset = io.port - abi::serial::BASE;
        if io.is_in {
            let value = self.uart.read(offset);
            vcpu.complete_io_in(io, u32::from(value))?;
        } else {
            let value = io.value.unwrap_or(0) as u8;
            if let Some(line) = self.uart.write(offset, value) {
                println!("guest: {line}");
            }
            vcpu.advance_rip()?;
        }
        Ok(())
    }

    /// HLT: the guest waits for an interrupt (SDM Vol. 3C §26.1.3 HLT exiting).
    fn halt<H: VmxHost>(&mut self, vcpu: &mut Vcpu<'_, H>) -> Result<(), HypervisorError> {
        vcpu.advance_rip()?;
        if timer_pending(vcpu) {
            // Injected at the next entry (advancing RIP ended the STI blocking).
            return Ok(());
        }
        // Enter the guest halted: it stays in the HLT activity state until the preemption
        // timer expires and the tick is injected, which wakes it (SDM Vol. 3C §27.7.4,
        // §26.5.1). The guest's RFLAGS.IF is 1 (it executed `sti; hlt`), so the tick can.
        match vcpu.set_activity_state(ActivityState::HLT) {
            Ok(()) => {}
            Err(VmxError::UnsupportedActivityState(_)) => {
                // No HLT activity state on this processor: let the next tick arrive now.
                self.timer_ticks += 1;
                vcpu.inject(Event::ExternalInterrupt(abi::TIMER_VECTOR))?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// MMIO: read and decode the instruction at RIP through the guest's page tables
    /// (`vmx_vcpu::mmio::fetch_and_decode`), perform it on the device and complete it on
    /// the vCPU (`example_hypervisor::mmio::emulate`).
    fn mmio<H: VmxHost>(
        &mut self,
        vcpu: &mut Vcpu<'_, H>,
        violation: &EptViolation,
    ) -> Result<(), HypervisorError> {
        let state = vcpu.mmio_fetch_state()?;
        let rip = state.rip;
        let access = vmx_vcpu::mmio::fetch_and_decode(&RamSlice(self.memory.as_slice()), &state)
            .map_err(|e| match e {
                FetchError::Walk(error) => HypervisorError::InstructionFetch { rip, error },
                other => HypervisorError::Mmio {
                    rip,
                    error: MmioError::Fetch(other),
                },
            })?;
        mmio::emulate(
            &mut self.device,
            violation.gpa,
            violation.qualification.data_write(),
            &access,
            vcpu,
        )
        .map_err(|error| HypervisorError::Mmio { rip, error })
    }
}

/// XSETBV, which exits unconditionally (SDM Vol. 3C §26.1.2): the guest's attempt to load
/// XCR`index` with `value`. Only XCR0 is writable, and only with a value that SDM Vol. 1
/// §13.3 allows on this processor (`Vcpu::complete_xsetbv` checks both and advances RIP;
/// the host's XCR0 is never touched); anything else is the #GP(0) the instruction raises (SDM Vol. 2 XSETBV),
/// injected without advancing RIP (a fault). CPL and CR4.OSXSAVE faults happen in the
/// guest before the exit.
fn xsetbv<H: VmxHost>(
    vcpu: &mut Vcpu<'_, H>,
    index: u32,
    value: u64,
) -> Result<(), HypervisorError> {
    match vcpu.complete_xsetbv(index, value) {
        Ok(()) => Ok(()),
        Err(VmxError::InvalidXcrIndex(_) | VmxError::InvalidXcr0 { .. }) => {
            vcpu.inject(Event::exception(13, Some(0)))?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether `port` is one of the UART's.
fn is_serial_port(port: u16) -> bool {
    port.wrapping_sub(abi::serial::BASE) < abi::serial::PORT_COUNT
}

/// Whether a timer interrupt is queued (or waiting for re-injection).
fn timer_pending<H: VmxHost>(vcpu: &Vcpu<'_, H>) -> bool {
    let pending = vcpu.pending_events();
    pending.highest_interrupt() == Some(abi::TIMER_VECTOR)
        || pending.reinjection() == Some(Event::ExternalInterrupt(abi::TIMER_VECTOR))
}
