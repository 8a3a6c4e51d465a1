//! What a scenario gets: [`Env`], and what it returns: [`Outcome`].

use alloc::string::String;

use baremetal::ExceptionInfo;
use baremetal::cpu::CpuidResult;
use baremetal::frames::{self, FrameError};

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// Every check held, with a one-line note for the ok line (e.g. measured figures):
    /// printed as `ok NAME: note`.
    PassWith(String),
    /// A check failed; the text says which and with what values (one line).
    Fail(String),
    /// The scenario does not apply here (e.g. the CPU model lacks the feature).
    Skip(String),
}

/// One named scenario.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// Unique name, printed in the result line (`snake_case`, no spaces).
    pub name: &'static str,
    /// The scenario itself.
    pub run: fn(&mut Env) -> Outcome,
}

/// The environment a scenario runs in. A fresh one per scenario; after the scenario the
/// runner frees every frame allocated during it (through `Env` or `baremetal::frames`),
/// removes installed interrupt handlers, leaves VMX operation (VMXOFF) if CR4.VMXE is set
/// restores CR0, CR3, CR4 and IA32_EFER to their values at boot and reloads GDTR, IDTR,
/// the segment registers and TR.
pub struct Env {
    model: &'static str,
}

impl Env {
    pub(crate) fn new(model: &'static str) -> Self {
        Self { model }
    }

    /// The Bochs CPU model the `ci` tool booted (`cpu: model=`), or "" if unknown.
    pub fn model(&self) -> &'static str {
        self.model
    }

    /// Allocates one zeroed 4 KiB frame; returns its physical address (identity mapped,
    /// so it is also a valid pointer). Freed automatically after the scenario.
    pub fn alloc_frame(&mut self) -> Option<u64> {
        frames::alloc_frame()
    }

    /// Allocates `count` zeroed contiguous frames aligned to `align` bytes (power of two,
    /// at least 4096). Freed automatically after the scenario.
    pub fn alloc_frames(&mut self, count: usize, align: u64) -> Result<Option<u64>, FrameError> {
        frames::alloc_frames(count, align)
    }

    /// Frees one frame early (optional: the runner frees everything afterwards).
    pub fn free_frame(&mut self, addr: u64) -> Result<(), FrameError> {
        frames::free_frame(addr)
    }

    /// RDMSR, with a #GP (non-existent MSR) reported as `Err`.
    pub fn rdmsr(&self, msr: u32) -> Result<u64, ExceptionInfo> {
        baremetal::try_rdmsr(msr)
    }

    /// CPUID.
    pub fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        baremetal::cpu::cpuid(leaf, subleaf)
    }
}

/// Fails the scenario unless the condition holds: `check!(cond)` or
/// `check!(cond, "format {}", args)`.
#[macro_export]
macro_rules! check {
    ($cond:expr) => {
        if !$cond {
            return $crate::env::Outcome::Fail(alloc::format!("check failed: {}", stringify!($cond)));
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return $crate::env::Outcome::Fail(alloc::format!($($arg)+));
        }
    };
}

/// Fails the scenario unless `left == right`, printing both with `{:?}`:
/// `check_eq!(left, right)`. For hex output use `check!(a == b, "{a:#x} != {b:#x}")`.
#[macro_export]
macro_rules! check_eq {
    ($left:expr, $right:expr) => {
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return $crate::env::Outcome::Fail(alloc::format!(
                        "{} == {} failed: {:?} != {:?}",
                        stringify!($left),
                        stringify!($right),
                        l,
                        r
                    ));
                }
            }
        }
    };
}

/// Ends the scenario as skipped: `skip!("reason {}", args)`.
#[macro_export]
macro_rules! skip {
    ($($arg:tt)+) => {
        return $crate::env::Outcome::Skip(alloc::format!($($arg)+))
    };
}

/// Unwraps a `Result` or fails the scenario with the message and the error:
/// `let x = require!(expr, "what was expected");`.
#[macro_export]
macro_rules! require {
    ($e:expr, $what:literal) => {
        match $e {
            Ok(v) => v,
            Err(err) => return $crate::env::Outcome::Fail(alloc::format!("{}: {:?}", $what, err)),
        }
    };
}

/// Unwraps the `Result<T, Outcome>` of a scenario's setup step, ending the scenario with
/// the step's outcome (a failure or a skip) when it is `Err`: `let x = setup!(step());`.
#[macro_export]
macro_rules! setup {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(outcome) => return outcome,
        }
    };
}
