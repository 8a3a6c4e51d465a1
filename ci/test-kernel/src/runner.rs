//! Runs every scenario, restoring a known machine state after each, and prints the results.

use alloc::format;
use alloc::string::String;

use baremetal::cpu;
use baremetal::{Fault, catch_exception, catch_fault, println};

use crate::env::{Env, Outcome};
use crate::scenarios;

const IA32_EFER: u32 = 0xC000_0080;
const CR4_VMXE: u64 = 1 << 13;

/// The control state at boot, restored after every scenario.
struct Baseline {
    cr0: u64,
    cr3: u64,
    cr4: u64,
    efer: u64,
}

impl Baseline {
    fn capture() -> Self {
        Self {
            cr0: cpu::read_cr0(),
            cr3: cpu::read_cr3(),
            cr4: cpu::read_cr4() & !CR4_VMXE,
            // SAFETY: IA32_EFER exists on every x86-64 CPU.
            efer: unsafe { cpu::rdmsr(IA32_EFER) },
        }
    }

    /// Leaves VMX operation if needed and restores the control registers; returns a note
    /// when something had to be repaired that the scenario should have cleaned up itself.
    fn restore(&self) -> Option<String> {
        cpu::cli();
        baremetal::pic::mask_all();
        baremetal::interrupts::clear_interrupt_handlers();
        let mut note = None;
        if cpu::read_cr4() & CR4_VMXE != 0 {
            // SAFETY: VMXOFF in VMX root operation leaves it; outside VMX operation it
            // raises #UD, which is caught.
            let r = catch_exception(|| unsafe { core::arch::asm!("vmxoff", options(nostack)) });
            note = Some(match r {
                Ok(()) => String::from("left VMX operation (VMXOFF) after the scenario"),
                Err(_) => String::from("cleared CR4.VMXE after the scenario"),
            });
        }
        // SAFETY: the values were read from these registers at boot, a valid state for
        // this kernel; VMX operation was left above so CR4.VMXE may be cleared.
        let r = catch_exception(|| unsafe {
            cpu::write_cr4(self.cr4);
            cpu::write_cr0(self.cr0);
            cpu::write_cr3(self.cr3);
            cpu::wrmsr(IA32_EFER, self.efer);
        });
        if let Err(e) = r {
            note = Some(format!("restoring the control registers failed: {e}"));
        }
        baremetal::gdt::reload();
        baremetal::interrupts::reload();
        note
    }
}

/// Whether `name` passes the filter: empty, or containing one of its comma-separated parts.
fn selected(name: &str, filter: &str) -> bool {
    filter.is_empty() || filter.split(',').any(|f| !f.is_empty() && name.contains(f))
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The kernel's main function.
pub fn main() -> ! {
    let model = baremetal::boot::model_name();
    let filter = baremetal::boot::filter();
    let list = scenarios::all().filter(move |s| selected(s.name, filter));
    let (free, total) = baremetal::frames::frame_stats();
    println!(
        "test-kernel: model {}, {} scenarios{}, {} of {} frames free",
        if model.is_empty() { "(unknown)" } else { model },
        list.clone().count(),
        if filter.is_empty() {
            String::new()
        } else {
            format!(" matching {filter:?}")
        },
        free,
        total
    );
    let baseline = Baseline::capture();
    let (mut passed, mut failed, mut skipped) = (0u32, 0u32, 0u32);
    for s in list {
        println!("run {}", s.name);
        let frames = baremetal::frames::snapshot();
        let mut env = Env::new(model);
        let outcome = match catch_fault(|| (s.run)(&mut env)) {
            Ok(o) => o,
            Err(f @ Fault::Exception(_)) => Outcome::Fail(format!("{f}")),
            Err(f @ Fault::Panic(_)) => Outcome::Fail(format!("{f}")),
        };
        let note = baseline.restore();
        baremetal::frames::restore(&frames);
        if let Some(n) = note {
            println!("note {}: {}", s.name, n);
        }
        match outcome {
            Outcome::Pass => {
                passed += 1;
                println!("ok {}", s.name);
            }
            Outcome::PassWith(note) => {
                passed += 1;
                println!("ok {}: {}", s.name, one_line(&note));
            }
            Outcome::Fail(d) => {
                failed += 1;
                println!("FAIL {}: {}", s.name, one_line(&d));
            }
            Outcome::Skip(r) => {
                skipped += 1;
                println!("skipped {}: {}", s.name, one_line(&r));
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    baremetal::exit::exit(if failed == 0 {
        baremetal::exit::ExitCode::Success
    } else {
        baremetal::exit::ExitCode::Failure
    })
}
