//! The checker's output: [`Failure`] (one failed check), [`Outcome`] (what the processor
//! does) and [`Diagnosis`] (every failure, in the SDM's order, without allocation).

use core::fmt;

use vmx_defs::vmcs::VmcsEncoding;

use crate::check_id::{CheckClass, CheckId};

/// What the processor does when VM entry fails a check (SDM Vol. 3C §27.1-§27.4, §27.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// VMLAUNCH/VMRESUME fails with VMfailValid and this VM-instruction error (7: invalid
    /// control field, 8: invalid host-state field; SDM Vol. 3C §27.2, Vol. 3C §31.4).
    VmFailValid(u32),
    /// VM entry fails after loading part of the guest state: a VM exit with bit 31 of the
    /// exit reason set, this basic exit reason (33 invalid guest state, 34 MSR loading) and
    /// exit qualification (SDM Vol. 3C §27.8).
    EntryFailure {
        /// Basic exit reason: 33 or 34.
        reason: u32,
        /// Exit qualification: for 33 the §27.8 code (0, 2, 3, 4), for 34 the 1-based
        /// number of the failing MSR-load entry.
        qualification: u64,
    },
}

impl Outcome {
    /// The SDM's priority of this outcome: VMfail (all of §27.2) comes before any entry
    /// failure; guest-state failures (§27.3) before MSR-load failures (§27.4).
    pub const fn stage(self) -> u8 {
        match self {
            Self::VmFailValid(7) => 0,
            Self::VmFailValid(_) => 1,
            Self::EntryFailure { reason: 33, .. } => 2,
            Self::EntryFailure { .. } => 3,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::VmFailValid(7) => f.write_str("VMfailValid(7: invalid control field)"),
            Self::VmFailValid(8) => f.write_str("VMfailValid(8: invalid host-state field)"),
            Self::VmFailValid(e) => write!(f, "VMfailValid({e})"),
            Self::EntryFailure {
                reason,
                qualification,
            } => write!(
                f,
                "VM-entry failure (exit reason {reason}, qualification {qualification})"
            ),
        }
    }
}

/// A VMCS field and the value the check saw in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldValue {
    /// The field (its `Display` prints the field's name).
    pub field: VmcsEncoding,
    /// The value in the snapshot (0 when the field was absent).
    pub value: u64,
}

/// One failed check (SDM Vol. 3C §27.2-§27.4): which check, the fields and values involved,
/// and the processor's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Failure {
    /// The check.
    pub id: CheckId,
    /// Up to three fields involved, in order of relevance.
    pub fields: [Option<FieldValue>; 3],
    /// For §27.4 checks: the 1-based number of the MSR-load entry, its MSR index and value.
    pub msr_entry: Option<(u32, u32, u64)>,
}

impl Failure {
    /// The outcome the processor gives for this failure alone (SDM Vol. 3C §27.8).
    pub fn outcome(&self) -> Outcome {
        match self.id.class() {
            CheckClass::Control => Outcome::VmFailValid(7),
            CheckClass::HostState => Outcome::VmFailValid(8),
            CheckClass::GuestState(qualification) => Outcome::EntryFailure {
                reason: 33,
                qualification,
            },
            CheckClass::MsrLoad => Outcome::EntryFailure {
                reason: 34,
                qualification: self.msr_entry.map_or(0, |(n, _, _)| u64::from(n)),
            },
        }
    }

    /// The fields involved.
    pub fn involved(&self) -> impl Iterator<Item = FieldValue> + '_ {
        self.fields.iter().flatten().copied()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        let mut sep = " [";
        for fv in self.involved() {
            write!(f, "{sep}{} = {:#x}", fv.field, fv.value)?;
            sep = ", ";
        }
        if let Some((n, index, value)) = self.msr_entry {
            write!(f, "{sep}MSR-load entry {n}: MSR {index:#x} = {value:#x}")?;
            sep = ", ";
        }
        if sep == ", " {
            f.write_str("]")?;
        }
        write!(f, " -> {}", self.outcome())
    }
}

/// How many failures a [`Diagnosis`] keeps; further ones are counted in
/// [`Diagnosis::overflow`].
pub const CAPACITY: usize = 48;

/// How many distinct absent fields a [`Diagnosis`] names.
pub const ABSENT_CAPACITY: usize = 8;

/// Every failed check of one run, in the order the checker ran them (the SDM's order:
/// §27.2.1 controls, §27.2.2-§27.2.4 host state, §27.3 guest state, §27.4 MSR loading), in
/// a fixed-capacity list (no allocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    failures: [Option<Failure>; CAPACITY],
    len: usize,
    overflow: usize,
    absent: [Option<VmcsEncoding>; ABSENT_CAPACITY],
    absent_len: usize,
    absent_overflow: usize,
}

impl Default for Diagnosis {
    fn default() -> Self {
        Self::new()
    }
}

impl Diagnosis {
    /// An empty diagnosis.
    pub const fn new() -> Self {
        Self {
            failures: [None; CAPACITY],
            len: 0,
            overflow: 0,
            absent: [None; ABSENT_CAPACITY],
            absent_len: 0,
            absent_overflow: 0,
        }
    }

    /// Records a failure (counted in [`Diagnosis::overflow`] when the list is full).
    pub fn push(&mut self, failure: Failure) {
        match self.failures.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(failure);
                self.len += 1;
            }
            None => self.overflow = self.overflow.saturating_add(1),
        }
    }

    /// Records that a check read `field` and the snapshot did not hold it (it read as 0).
    pub fn note_absent(&mut self, field: VmcsEncoding) {
        if self.absent.iter().flatten().any(|f| *f == field) {
            return;
        }
        match self.absent.get_mut(self.absent_len) {
            Some(slot) => {
                *slot = Some(field);
                self.absent_len += 1;
            }
            None => self.absent_overflow = self.absent_overflow.saturating_add(1),
        }
    }

    /// Whether every check passed (the VM entry would succeed as far as §27.2-§27.4 go).
    pub fn passed(&self) -> bool {
        self.len == 0 && self.overflow == 0
    }

    /// The failures kept, in the SDM's order.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> + '_ {
        self.failures.iter().flatten()
    }

    /// How many failures were kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no failure was kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many failures did not fit ([`CAPACITY`]).
    pub fn overflow(&self) -> usize {
        self.overflow
    }

    /// Whether check `id` failed.
    pub fn failed(&self, id: CheckId) -> bool {
        self.failures().any(|f| f.id == id)
    }

    /// The fields a check needed that the snapshot did not hold (read as 0), and how many
    /// more did not fit.
    pub fn absent_fields(&self) -> (impl Iterator<Item = VmcsEncoding> + '_, usize) {
        (self.absent.iter().flatten().copied(), self.absent_overflow)
    }

    /// The failure the processor reports: the first by the SDM's order (VMfail for
    /// §27.2 before entry failures; §27.3 before §27.4; within a stage the first check in
    /// the SDM's order). `None` if every check passed.
    pub fn first(&self) -> Option<&Failure> {
        self.failures().min_by_key(|f| f.outcome().stage())
    }

    /// The outcome the processor gives (see [`Diagnosis::first`]); `None` if every check
    /// passed.
    pub fn outcome(&self) -> Option<Outcome> {
        self.first().map(Failure::outcome)
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome() {
            None => return f.write_str("all VM-entry checks passed"),
            Some(o) => writeln!(f, "VM entry fails: {o}")?,
        }
        for failure in self.failures() {
            writeln!(f, "  {failure}")?;
        }
        if self.overflow > 0 {
            writeln!(f, "  ... and {} more", self.overflow)?;
        }
        Ok(())
    }
}
