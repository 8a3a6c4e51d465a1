//! Scenarios for `vmx-insn`: every VMX instruction executed under Bochs, each asserting
//! the exact outcome the SDM specifies (SDM Vol. 3C chapter 31, error numbers §31.4).
//!
//! Each scenario starts outside VMX operation (the runner restores CR0/CR4 and leaves VMX
//! operation after each one) and enters it itself as SDM Vol. 3C §24.7 describes. A
//! [`Session`] leaves VMX operation again on the scenario's normal paths.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use baremetal::{catch_exception, cpu};
use vmx_defs::addr::HostPhysAddr;
use vmx_defs::capabilities::{CR4_VMXE, VmxCapabilities, msr};
use vmx_defs::ept::{Eptp, PageWalkLength};
use vmx_defs::instruction_error::VmInstructionError as Error;
use vmx_defs::invalidation::{InveptDescriptor, InveptType, InvvpidDescriptor, InvvpidType};
use vmx_defs::memory_type::MemoryType;
use vmx_defs::vmcs::{ALL_FIELDS, FieldInfo, FieldWidth, fields};
use vmx_insn::{InsnError, VmFail, VmcallRegs};

use crate::env::{Env, Outcome, Scenario};
use crate::{check, check_eq, setup, skip};

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "insn_vmxon_enters_vmx_root",
        run: vmxon_enters_vmx_root,
    },
    Scenario {
        name: "insn_vmxon_wrong_revision_fails_invalid",
        run: vmxon_wrong_revision,
    },
    Scenario {
        name: "insn_vmxon_unchecked_bad_address_fails_invalid",
        run: vmxon_bad_address,
    },
    Scenario {
        name: "insn_vmxon_in_vmx_root_fails_15",
        run: vmxon_in_root,
    },
    Scenario {
        name: "insn_vmxoff_outside_vmx_raises_ud",
        run: vmxoff_outside_vmx,
    },
    Scenario {
        name: "insn_vmclear_vmptrld_vmptrst_round_trip",
        run: pointer_round_trip,
    },
    Scenario {
        name: "insn_vmptrld_vmxon_pointer_fails_10",
        run: vmptrld_vmxon_pointer,
    },
    Scenario {
        name: "insn_vmptrld_wrong_revision_fails_11",
        run: vmptrld_wrong_revision,
    },
    Scenario {
        name: "insn_vmclear_vmxon_pointer_fails_3",
        run: vmclear_vmxon_pointer,
    },
    Scenario {
        name: "insn_vmclear_unchecked_bad_address_fails_2",
        run: vmclear_bad_address,
    },
    Scenario {
        name: "insn_vmptrld_unchecked_bad_address_fails_9",
        run: vmptrld_bad_address,
    },
    Scenario {
        name: "insn_checked_wrappers_refuse_without_executing",
        run: checked_refusals,
    },
    Scenario {
        name: "insn_no_current_vmcs_fails_invalid",
        run: no_current_vmcs,
    },
    Scenario {
        name: "insn_vmcs_fields_round_trip",
        run: fields_round_trip,
    },
    Scenario {
        name: "insn_vmcs_fields_unsupported_fail_12",
        run: fields_unsupported,
    },
    Scenario {
        name: "insn_vmcs_read_only_fields_vmwrite",
        run: fields_read_only,
    },
    Scenario {
        name: "insn_vmcs_typed_access_and_high_halves",
        run: typed_access,
    },
    Scenario {
        name: "insn_vmread_ill_formed_encoding_fails_12",
        run: ill_formed_encoding,
    },
    Scenario {
        name: "insn_address_widths_match_cpuid",
        run: address_widths,
    },
    Scenario {
        name: "insn_invept_supported_types",
        run: invept_supported,
    },
    Scenario {
        name: "insn_invept_bad_operands_fail_28",
        run: invept_bad_operands,
    },
    Scenario {
        name: "insn_invvpid_supported_types",
        run: invvpid_supported,
    },
    Scenario {
        name: "insn_invvpid_bad_operands_fail_28",
        run: invvpid_bad_operands,
    },
    Scenario {
        name: "insn_vmcall_in_root_without_vmcs_fails_invalid",
        run: vmcall_root,
    },
    Scenario {
        name: "insn_vmcall_outside_vmx_raises_ud",
        run: vmcall_outside_vmx,
    },
    Scenario {
        name: "insn_vmfunc_in_root_raises_ud",
        run: vmfunc_in_root,
    },
    Scenario {
        name: "insn_vmread_after_vmxoff_raises_ud",
        run: vmread_after_vmxoff,
    },
];

/// #UD, the invalid-opcode exception (SDM Vol. 3A §7.15).
const UD: u8 = 6;

/// Bits of the guest segment access-rights fields that the SDM defines (Vol. 3C §25.4.1,
/// Table 25-2): 7:0, 15:12 and 16 (unusable). Bits 11:8 and 31:17 are reserved; a
/// processor need not store them, so the round trip writes only defined bits there.
const ACCESS_RIGHTS_DEFINED: u64 = 0x1_F0FF;

fn pa(addr: u64) -> HostPhysAddr {
    HostPhysAddr::new(addr)
}

fn valid(err: Error) -> Result<(), InsnError> {
    Err(InsnError::VmFail(VmFail::Valid(err)))
}

fn invalid() -> Result<(), InsnError> {
    Err(InsnError::VmFail(VmFail::Invalid))
}

fn fail(text: String) -> Outcome {
    Outcome::Fail(text)
}

/// Reads the VMX capability MSRs; `from_msrs` reads only MSRs the model has, so any #GP is
/// a failure.
fn read_caps(env: &Env) -> Result<VmxCapabilities, Outcome> {
    let mut fault = None;
    let caps = VmxCapabilities::from_msrs(|index| match env.rdmsr(index) {
        Ok(v) => v,
        Err(e) => {
            fault.get_or_insert((index, e.vector));
            0
        }
    });
    match fault {
        Some((index, vector)) => Err(fail(format!(
            "RDMSR {index:#x} raised vector {vector} while reading the VMX capabilities"
        ))),
        None => Ok(caps),
    }
}

/// CR0 and CR4 as they were before [`prepare`], written back on drop (outside VMX
/// operation: CR4.VMXE cannot be cleared inside it, SDM Vol. 3C §24.8).
struct ControlRegisters {
    cr0: u64,
    cr4: u64,
}

impl Drop for ControlRegisters {
    fn drop(&mut self) {
        // SAFETY: the values were read from these registers at the start of the scenario;
        // the guard is dropped outside VMX operation (after `Session::leave`), or the
        // resulting #GP is caught by the runner, which then repairs the state.
        unsafe {
            cpu::write_cr4(self.cr4);
            cpu::write_cr0(self.cr0);
        }
    }
}

/// Everything VMXON needs but the region (SDM Vol. 3C §24.7, §24.8): IA32_FEATURE_CONTROL
/// locked with VMX allowed outside SMX, CR4.VMXE set, CR0/CR4 within the FIXED MSRs.
/// The returned guard restores CR0/CR4.
fn prepare(env: &Env) -> Result<(VmxCapabilities, ControlRegisters), Outcome> {
    let caps = read_caps(env)?;
    let fc = caps.feature_control();
    if !fc.is_locked() {
        // SAFETY: the MSR is unlocked (firmware other than the Bochs BIOS); setting the
        // lock and the outside-SMX enable bit is what it is for.
        let written = unsafe {
            baremetal::try_wrmsr(msr::IA32_FEATURE_CONTROL, fc.with_vmx_enabled(false).bits())
        };
        if let Err(e) = written {
            return Err(fail(format!(
                "WRMSR IA32_FEATURE_CONTROL raised vector {}",
                e.vector
            )));
        }
    } else if !fc.vmx_allowed(false) {
        return Err(Outcome::Skip(format!(
            "IA32_FEATURE_CONTROL {:#x} locked with VMX off",
            fc.bits()
        )));
    }
    let saved = ControlRegisters {
        cr0: cpu::read_cr0(),
        cr4: cpu::read_cr4(),
    };
    let cr0 = caps.cr0_fixed().adjust(saved.cr0);
    let cr4 = caps.cr4_fixed().adjust(saved.cr4 | CR4_VMXE);
    if let Err(e) = caps.cr0_fixed().check(cr0).and(caps.cr4_fixed().check(cr4)) {
        return Err(fail(format!(
            "CR0 {cr0:#x} / CR4 {cr4:#x} cannot satisfy the FIXED MSRs: {e:?}"
        )));
    }
    // SAFETY: the adjusted values only set bits the FIXED0 MSRs require (CR0.NE, CR4.VMXE
    // on Bochs) of a kernel already in long mode; the runner restores both afterwards.
    unsafe {
        cpu::write_cr0(cr0);
        cpu::write_cr4(cr4);
    }
    Ok((caps, saved))
}

/// A zeroed frame whose first dword is `revision` (a VMXON region or VMCS, SDM Vol. 3C
/// §25.2, §25.11.5).
fn region(env: &mut Env, revision: u32) -> Result<u64, Outcome> {
    let frame = env
        .alloc_frame()
        .ok_or_else(|| fail(String::from("out of frames")))?;
    // SAFETY: the frame is identity mapped, 4 KiB, and owned by this scenario.
    unsafe { core::ptr::write_volatile(frame as *mut u32, revision) };
    Ok(frame)
}

/// VMX root operation with its regions; leaves it on drop (VMCLEAR of the VMCSs it
/// made active, then VMXOFF), unless the scenario already left.
struct Session {
    caps: VmxCapabilities,
    revision: u32,
    vmxon: u64,
    vmcss: Vec<u64>,
    in_vmx: bool,
    /// Dropped after `Session::drop` has left VMX operation.
    _controls: ControlRegisters,
}

impl Session {
    /// Enters VMX root operation with a valid VMXON region.
    fn enter(env: &mut Env) -> Result<Self, Outcome> {
        let (caps, controls) = prepare(env)?;
        let revision = caps.basic().revision_id();
        let vmxon = region(env, revision)?;
        // SAFETY: CR0/CR4 and IA32_FEATURE_CONTROL are prepared; the region is a zeroed,
        // aligned frame tagged with the revision identifier, owned until VMXOFF.
        match unsafe { vmx_insn::vmxon(pa(vmxon)) } {
            Ok(()) => Ok(Self {
                caps,
                revision,
                vmxon,
                vmcss: Vec::new(),
                in_vmx: true,
                _controls: controls,
            }),
            Err(e) => Err(fail(format!("VMXON of a valid region at {vmxon:#x}: {e}"))),
        }
    }

    /// A new VMCS region, cleared (SDM Vol. 3C §25.11.3), not yet current.
    fn new_vmcs(&mut self, env: &mut Env) -> Result<u64, Outcome> {
        let vmcs = region(env, self.revision)?;
        // SAFETY: VMX root operation; the frame is a VMCS region owned by this scenario.
        match unsafe { vmx_insn::vmclear(pa(vmcs)) } {
            Ok(()) => {
                self.vmcss.push(vmcs);
                Ok(vmcs)
            }
            Err(e) => Err(fail(format!("VMCLEAR of a new VMCS at {vmcs:#x}: {e}"))),
        }
    }

    /// A new VMCS made current.
    fn load_new_vmcs(&mut self, env: &mut Env) -> Result<u64, Outcome> {
        let vmcs = self.new_vmcs(env)?;
        // SAFETY: a cleared VMCS region with the right revision, kept until the session
        // clears it.
        match unsafe { vmx_insn::vmptrld(pa(vmcs)) } {
            Ok(()) => Ok(vmcs),
            Err(e) => Err(fail(format!("VMPTRLD of a cleared VMCS at {vmcs:#x}: {e}"))),
        }
    }

    /// Leaves VMX operation: VMCLEAR of every VMCS, then VMXOFF.
    fn leave(&mut self) -> Result<(), InsnError> {
        if !self.in_vmx {
            return Ok(());
        }
        self.in_vmx = false;
        for &vmcs in &self.vmcss {
            // SAFETY: VMX root operation; each region was made by this session.
            unsafe { vmx_insn::vmclear(pa(vmcs))? };
        }
        // SAFETY: every VMCS is clear and nothing else uses VMX operation.
        unsafe { vmx_insn::vmxoff() }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A failure here leaves CR4.VMXE set in VMX operation, which the runner reports
        // and repairs; a scenario that checks leaving calls `leave` itself.
        let _ = self.leave();
    }
}

/// Whether the processor is in VMX operation: VMPTRST raises #UD outside it
/// (SDM Vol. 3C §31.3 "VMPTRST").
fn in_vmx_operation() -> bool {
    catch_exception(vmx_insn::vmptrst).is_ok()
}

/// Sets the VM-instruction error field of the current VMCS to 10 with a failing VMPTRLD
/// of the VMXON pointer, so that a later check can prove nothing ran in between.
fn mark_error_field(s: &Session) -> Result<(), Outcome> {
    // SAFETY: VMPTRLD of the VMXON pointer fails (error 10) and changes nothing else.
    let r = unsafe { vmx_insn::vmptrld(pa(s.vmxon)) };
    if r != valid(Error::VMPTRLD_VMXON_POINTER) {
        return Err(fail(format!("VMPTRLD of the VMXON pointer: {r:?}")));
    }
    Ok(())
}

/// The VM-instruction error field still holds the mark of [`mark_error_field`].
fn error_field_unchanged(what: &str) -> Result<(), Outcome> {
    match vmx_insn::vm_instruction_error() {
        Ok(Error::VMPTRLD_VMXON_POINTER) => Ok(()),
        other => Err(fail(format!(
            "after {what}: VM-instruction error field {other:?}, expected 10 (untouched)"
        ))),
    }
}

// ---- VMXON / VMXOFF (SDM Vol. 3C §24.7, §31.3) ----

/// VMXON with a valid region enters VMX root operation with no current VMCS; VMXOFF
/// leaves it.
fn vmxon_enters_vmx_root(env: &mut Env) -> Outcome {
    check!(!in_vmx_operation(), "VMPTRST executed before VMXON");
    let mut s = setup!(Session::enter(env));
    check!(
        in_vmx_operation(),
        "VMPTRST raised an exception after VMXON"
    );
    check_eq!(vmx_insn::vmptrst(), None);
    check_eq!(s.leave(), Ok(()));
    check!(!in_vmx_operation(), "VMPTRST executed after VMXOFF");
    Outcome::Pass
}

/// VMXON of a region whose revision identifier differs from IA32_VMX_BASIC[30:0] fails
/// with VMfailInvalid and stays outside VMX operation.
fn vmxon_wrong_revision(env: &mut Env) -> Outcome {
    let (caps, _controls) = setup!(prepare(env));
    let revision = caps.basic().revision_id();
    let wrong = setup!(region(env, revision ^ 1));
    // SAFETY: VMX is prepared; the region is owned by this scenario (and refused).
    check_eq!(unsafe { vmx_insn::vmxon(pa(wrong)) }, invalid());
    check!(
        !in_vmx_operation(),
        "in VMX operation after a refused VMXON"
    );
    // Bit 31 set (a shadow-VMCS indicator is not allowed in a VMXON region).
    let shadow = setup!(region(env, revision | 1 << 31));
    // SAFETY: as above.
    check_eq!(unsafe { vmx_insn::vmxon(pa(shadow)) }, invalid());
    check!(
        !in_vmx_operation(),
        "in VMX operation after a refused VMXON"
    );
    Outcome::Pass
}

/// VMXON of a misaligned or too-wide address (bypassing the software check) fails with
/// VMfailInvalid; the checked wrapper refuses both as `Misaligned`/`AddressTooWide`.
fn vmxon_bad_address(env: &mut Env) -> Outcome {
    let (caps, _controls) = setup!(prepare(env));
    let good = setup!(region(env, caps.basic().revision_id()));
    let width = vmx_insn::physical_address_width();
    let misaligned = good + 0x800;
    let too_wide = 1u64 << width.bits();
    // SAFETY: VMX is prepared; the processor refuses both addresses before using them.
    unsafe {
        check_eq!(vmx_insn::vmxon_unchecked(pa(misaligned)), invalid());
        check_eq!(vmx_insn::vmxon_unchecked(pa(too_wide)), invalid());
        check_eq!(
            vmx_insn::vmxon(pa(misaligned)),
            Err(InsnError::Misaligned {
                addr: pa(misaligned)
            })
        );
        check_eq!(
            vmx_insn::vmxon(pa(too_wide)),
            Err(InsnError::AddressTooWide {
                addr: pa(too_wide),
                width: width.bits()
            })
        );
    }
    check!(!in_vmx_operation(), "in VMX operation after refused VMXONs");
    Outcome::Pass
}

/// VMXON in VMX root operation: VMfailInvalid without a current VMCS, VMfailValid 15 with
/// one (SDM Vol. 3C §31.3 "VMXON": VMfail(VMXON executed in VMX root operation)).
fn vmxon_in_root(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    // SAFETY: VMX root operation: VMXON fails without touching the region.
    check_eq!(unsafe { vmx_insn::vmxon(pa(s.vmxon)) }, invalid());
    setup!(s.load_new_vmcs(env));
    check_eq!(
        // SAFETY: as above.
        unsafe { vmx_insn::vmxon(pa(s.vmxon)) },
        valid(Error::VMXON_IN_VMX_ROOT)
    );
    check_eq!(
        vmx_insn::vm_instruction_error(),
        Ok(Error::VMXON_IN_VMX_ROOT)
    );
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMXOFF outside VMX operation raises #UD (SDM Vol. 3C §31.3 "VMXOFF").
fn vmxoff_outside_vmx(env: &mut Env) -> Outcome {
    let _controls = setup!(prepare(env));
    // SAFETY: outside VMX operation VMXOFF raises #UD, which is caught.
    match catch_exception(|| unsafe { vmx_insn::vmxoff() }) {
        Err(e) => check_eq!(e.vector, UD),
        Ok(r) => return fail(format!("VMXOFF outside VMX operation returned {r:?}")),
    }
    Outcome::Pass
}

// ---- VMCLEAR / VMPTRLD / VMPTRST (SDM Vol. 3C §25.11.3, §31.3) ----

/// VMPTRST returns the VMCS VMPTRLD made current; VMCLEAR of the current VMCS leaves no
/// current VMCS.
fn pointer_round_trip(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let a = setup!(s.new_vmcs(env));
    let b = setup!(s.new_vmcs(env));
    check_eq!(vmx_insn::vmptrst(), None);
    // SAFETY: VMX root operation; both are cleared VMCS regions of this session.
    unsafe {
        check_eq!(vmx_insn::vmptrld(pa(a)), Ok(()));
        check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
        check_eq!(vmx_insn::vmptrld(pa(b)), Ok(()));
        check_eq!(vmx_insn::vmptrst(), Some(pa(b)));
        // Clearing a VMCS that is not current keeps the current one.
        check_eq!(vmx_insn::vmclear(pa(a)), Ok(()));
        check_eq!(vmx_insn::vmptrst(), Some(pa(b)));
        check_eq!(vmx_insn::vmclear(pa(b)), Ok(()));
        check_eq!(vmx_insn::vmptrst(), None);
        check_eq!(vmx_insn::vmptrld(pa(a)), Ok(()));
        check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
    }
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMPTRLD of the VMXON region: VMfailValid 10; the current VMCS is unchanged.
fn vmptrld_vmxon_pointer(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let a = setup!(s.load_new_vmcs(env));
    check_eq!(
        // SAFETY: the processor refuses the VMXON pointer without using it.
        unsafe { vmx_insn::vmptrld(pa(s.vmxon)) },
        valid(Error::VMPTRLD_VMXON_POINTER)
    );
    check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMPTRLD of a region with the wrong revision identifier: VMfailValid 11.
fn vmptrld_wrong_revision(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let a = setup!(s.load_new_vmcs(env));
    let wrong = setup!(region(env, s.revision ^ 1));
    check_eq!(
        // SAFETY: the processor reads the revision identifier and refuses the region.
        unsafe { vmx_insn::vmptrld(pa(wrong)) },
        valid(Error::VMPTRLD_INCORRECT_REVISION)
    );
    check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMCLEAR of the VMXON region: VMfailValid 3.
fn vmclear_vmxon_pointer(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let a = setup!(s.load_new_vmcs(env));
    check_eq!(
        // SAFETY: the processor refuses the VMXON pointer without writing it.
        unsafe { vmx_insn::vmclear(pa(s.vmxon)) },
        valid(Error::VMCLEAR_VMXON_POINTER)
    );
    check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMCLEAR of a misaligned or too-wide address (software check bypassed): VMfailValid 2.
fn vmclear_bad_address(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let a = setup!(s.load_new_vmcs(env));
    let too_wide = 1u64 << vmx_insn::physical_address_width().bits();
    // SAFETY: the processor refuses both addresses before writing anything.
    unsafe {
        check_eq!(
            vmx_insn::vmclear_unchecked(pa(a + 0x800)),
            valid(Error::VMCLEAR_INVALID_ADDRESS)
        );
        check_eq!(
            vmx_insn::vmclear_unchecked(pa(too_wide)),
            valid(Error::VMCLEAR_INVALID_ADDRESS)
        );
    }
    check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMPTRLD of a misaligned or too-wide address (software check bypassed): VMfailValid 9.
fn vmptrld_bad_address(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let a = setup!(s.load_new_vmcs(env));
    let too_wide = 1u64 << vmx_insn::physical_address_width().bits();
    // SAFETY: the processor refuses both addresses before reading them.
    unsafe {
        check_eq!(
            vmx_insn::vmptrld_unchecked(pa(a + 0x800)),
            valid(Error::VMPTRLD_INVALID_ADDRESS)
        );
        check_eq!(
            vmx_insn::vmptrld_unchecked(pa(too_wide)),
            valid(Error::VMPTRLD_INVALID_ADDRESS)
        );
    }
    check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// The checked VMXON/VMCLEAR/VMPTRLD refuse misaligned and too-wide addresses without
/// executing: the VM-instruction error field keeps the value set before (executed, they
/// would have stored 15, 2 and 9).
fn checked_refusals(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let a = setup!(s.load_new_vmcs(env));
    setup!(mark_error_field(&s));
    let width = vmx_insn::physical_address_width();
    let misaligned = a + 0x10;
    let too_wide = (1u64 << width.bits()) | a;
    let is_misaligned = Err(InsnError::Misaligned {
        addr: pa(misaligned),
    });
    let is_too_wide = Err(InsnError::AddressTooWide {
        addr: pa(too_wide),
        width: width.bits(),
    });
    // SAFETY: all of these are refused in software before any instruction runs.
    unsafe {
        check_eq!(vmx_insn::vmxon(pa(misaligned)), is_misaligned);
        check_eq!(vmx_insn::vmclear(pa(misaligned)), is_misaligned);
        check_eq!(vmx_insn::vmptrld(pa(misaligned)), is_misaligned);
        check_eq!(vmx_insn::vmxon(pa(too_wide)), is_too_wide);
        check_eq!(vmx_insn::vmclear(pa(too_wide)), is_too_wide);
        check_eq!(vmx_insn::vmptrld(pa(too_wide)), is_too_wide);
    }
    setup!(error_field_unchanged("the refused VMXON/VMCLEAR/VMPTRLD"));
    check_eq!(vmx_insn::vmptrst(), Some(pa(a)));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// Without a current VMCS, VMREAD, VMWRITE, VMPTRLD of the VMXON pointer and VMCLEAR of it
/// fail with VMfailInvalid (no VMCS to hold an error number, SDM Vol. 3C §31.2).
fn no_current_vmcs(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    let encoding = fields::GUEST_RIP.raw();
    check_eq!(
        vmx_insn::vmread_raw(encoding),
        Err(InsnError::VmFail(VmFail::Invalid))
    );
    check_eq!(
        vmx_insn::vm_instruction_error(),
        Err(InsnError::VmFail(VmFail::Invalid))
    );
    // SAFETY: there is no current VMCS, so nothing is written.
    unsafe {
        check_eq!(vmx_insn::vmwrite_raw(encoding, 0x1000), invalid());
        check_eq!(vmx_insn::vmptrld(pa(s.vmxon)), invalid());
        check_eq!(vmx_insn::vmclear(pa(s.vmxon)), invalid());
    }
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

// ---- VMREAD / VMWRITE over every field (SDM Vol. 3C §25.11.2, Appendix B) ----

/// Whether `info` exists on this model by its capability MSRs
/// (`VmxCapabilities::has_field`, the SDM's "exists if" rule per field).
fn field_exists(caps: &VmxCapabilities, info: &FieldInfo) -> bool {
    caps.has_field(info)
}

/// The bits of `info` a round trip compares: the field's width, and only the defined
/// bits of the guest segment access-rights fields.
fn writable_mask(info: &FieldInfo) -> u64 {
    let width = match info.width() {
        FieldWidth::Bits16 => 0xffff,
        FieldWidth::Bits32 => 0xffff_ffff,
        FieldWidth::Bits64 | FieldWidth::Natural => u64::MAX,
    };
    if info.name.starts_with("GUEST_") && info.name.ends_with("_ACCESS_RIGHTS") {
        width & ACCESS_RIGHTS_DEFINED
    } else {
        width
    }
}

/// A value different for every field (so that two fields sharing storage would show),
/// within the field's writable bits.
fn pattern(info: &FieldInfo) -> u64 {
    let mut x =
        u64::from(info.encoding.0).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5C3_5A3C_0FF0_F00F;
    x ^= x >> 31;
    x & writable_mask(info)
}

/// Collects names into a one-line list, all of them.
fn names(list: &[&str]) -> String {
    list.join(", ")
}

/// Every field the model has (by the capability MSRs, `exists_on`) round-trips a
/// pattern through VMWRITE/VMREAD; read-only fields only when IA32_VMX_MISC[29] lets
/// VMWRITE write them. A second pass re-reads every field, so that fields that alias
/// each other's storage show up. Mismatches are listed by field name.
fn fields_round_trip(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    setup!(s.load_new_vmcs(env));
    let misc29 = s.caps.misc().vmwrite_any_field();
    let mut problems: Vec<String> = Vec::new();
    let mut written: Vec<&FieldInfo> = Vec::new();
    for info in ALL_FIELDS {
        if !field_exists(&s.caps, info) || (info.is_read_only() && !misc29) {
            continue;
        }
        let value = pattern(info);
        let raw = info.encoding.0;
        // SAFETY: this VMCS is never used for a VM entry, so no value written can steer
        // the processor; writing patterns to host-state and pointer fields is harmless.
        match unsafe { vmx_insn::vmwrite_raw(raw, value) } {
            Ok(()) => {}
            Err(e) => {
                problems.push(format!("{} VMWRITE: {e}", info.name));
                continue;
            }
        }
        match vmx_insn::vmread_raw(raw) {
            Ok(v) if v & writable_mask(info) == value => {
                if info.encoding != fields::EXIT_VM_INSTRUCTION_ERROR.encoding() {
                    written.push(info);
                }
            }
            Ok(v) => problems.push(format!(
                "{} read {v:#x} after writing {value:#x}",
                info.name
            )),
            Err(e) => problems.push(format!("{} VMREAD: {e}", info.name)),
        }
    }
    for info in &written {
        let value = pattern(info);
        match vmx_insn::vmread_raw(info.encoding.0) {
            Ok(v) if v & writable_mask(info) == value => {}
            Ok(v) => problems.push(format!(
                "{} changed to {v:#x} (wrote {value:#x}) by later VMWRITEs",
                info.name
            )),
            Err(e) => problems.push(format!("{} second VMREAD: {e}", info.name)),
        }
    }
    check!(
        problems.is_empty(),
        "{} of {} fields: {}",
        problems.len(),
        ALL_FIELDS.len(),
        problems.join("; ")
    );
    check!(
        written.len() > 100,
        "only {} fields round-tripped",
        written.len()
    );
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// Every field the capabilities say this model lacks fails VMREAD and VMWRITE with
/// VMfailValid 12; fields the model has but the capabilities deny are listed too.
fn fields_unsupported(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    setup!(s.load_new_vmcs(env));
    let unsupported = valid(Error::UNSUPPORTED_VMCS_COMPONENT);
    let mut extra: Vec<&str> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    let mut wrong: Vec<String> = Vec::new();
    let mut lacking = 0;
    for info in ALL_FIELDS {
        let raw = info.encoding.0;
        let read = vmx_insn::vmread_raw(raw).map(|_| ());
        if field_exists(&s.caps, info) {
            if read == unsupported {
                missing.push(info.name);
            }
            continue;
        }
        lacking += 1;
        // SAFETY: the field is unsupported (or the write lands in a VMCS never entered).
        let write = unsafe { vmx_insn::vmwrite_raw(raw, 0) };
        match (read, write) {
            (r, w) if r == unsupported && w == unsupported => {}
            (Ok(()), _) => extra.push(info.name),
            (r, w) => wrong.push(format!("{} VMREAD {r:?} VMWRITE {w:?}", info.name)),
        }
    }
    check!(
        extra.is_empty() && missing.is_empty() && wrong.is_empty(),
        "capabilities vs model: present but lacking by the MSRs [{}]; lacking but present by the MSRs [{}]; other [{}]",
        names(&extra),
        names(&missing),
        wrong.join("; ")
    );
    check!(
        lacking > 0,
        "every field of the table exists on {}",
        env.model()
    );
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMWRITE to each read-only (VM-exit information) field the model has: VMfailValid 13
/// unless IA32_VMX_MISC[29] is 1, in which case it succeeds (SDM Vol. 3D §A.6).
fn fields_read_only(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    setup!(s.load_new_vmcs(env));
    let misc29 = s.caps.misc().vmwrite_any_field();
    let expected = if misc29 {
        Ok(())
    } else {
        valid(Error::VMWRITE_READ_ONLY_COMPONENT)
    };
    let mut wrong: Vec<String> = Vec::new();
    let mut count = 0;
    for info in ALL_FIELDS
        .iter()
        .filter(|i| i.is_read_only() && field_exists(&s.caps, i))
    {
        count += 1;
        // SAFETY: read-only data fields steer nothing; this VMCS is never entered.
        let r = unsafe { vmx_insn::vmwrite_raw(info.encoding.0, pattern(info)) };
        if r != expected {
            wrong.push(format!("{} {r:?}", info.name));
        }
    }
    check!(
        wrong.is_empty(),
        "IA32_VMX_MISC[29]={misc29}, expected {expected:?}: {}",
        wrong.join("; ")
    );
    check!(count >= 10, "only {count} read-only fields");
    // The typed escape hatch agrees with the MSR.
    check_eq!(
        fields::EXIT_REASON
            .as_writable_if_misc29(s.caps.misc())
            .is_some(),
        misc29
    );
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// The typed `vmread`/`vmwrite` of each width, and the high access (bit 0 set) of a 64-bit
/// field, which reads and writes bits 63:32 (SDM Vol. 3C §25.11.2).
fn typed_access(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    setup!(s.load_new_vmcs(env));
    // SAFETY: this VMCS is never used for a VM entry.
    unsafe {
        check_eq!(
            vmx_insn::vmwrite(fields::GUEST_CS_SELECTOR, 0x1234u16),
            Ok(())
        );
        check_eq!(
            vmx_insn::vmwrite(fields::GUEST_CS_LIMIT, 0x89ab_cdefu32),
            Ok(())
        );
        check_eq!(
            vmx_insn::vmwrite(fields::GUEST_VMCS_LINK_POINTER, 0x0123_4567_89ab_cdefu64),
            Ok(())
        );
        check_eq!(
            vmx_insn::vmwrite(fields::GUEST_RIP, 0xffff_8000_dead_beefu64),
            Ok(())
        );
    }
    check_eq!(vmx_insn::vmread(fields::GUEST_CS_SELECTOR), Ok(0x1234u16));
    check_eq!(vmx_insn::vmread(fields::GUEST_CS_LIMIT), Ok(0x89ab_cdefu32));
    check_eq!(
        vmx_insn::vmread(fields::GUEST_VMCS_LINK_POINTER),
        Ok(0x0123_4567_89ab_cdefu64)
    );
    check_eq!(
        vmx_insn::vmread(fields::GUEST_RIP),
        Ok(0xffff_8000_dead_beefu64)
    );
    let link_high = fields::GUEST_VMCS_LINK_POINTER.high();
    check_eq!(vmx_insn::vmread(link_high), Ok(0x0123_4567u32));
    check_eq!(
        // SAFETY: as above.
        unsafe { vmx_insn::vmwrite(link_high, 0xffff_ffffu32) },
        Ok(())
    );
    check_eq!(
        vmx_insn::vmread(fields::GUEST_VMCS_LINK_POINTER),
        Ok(0xffff_ffff_89ab_cdefu64)
    );
    // A read-only field reads through the typed form.
    setup!(mark_error_field(&s));
    check_eq!(
        vmx_insn::vmread(fields::EXIT_VM_INSTRUCTION_ERROR),
        Ok(10u32)
    );
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// Encodings that name no field: VMfailValid 12 for VMREAD and VMWRITE (reserved bits
/// 31:15 set, or an unused index).
fn ill_formed_encoding(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    setup!(s.load_new_vmcs(env));
    for raw in [0x8000_0000u32, 0x0001_0000, 0x0000_7ffe, 0x0000_0c7e] {
        check!(
            vmx_insn::vmread_raw(raw).map(|_| ()) == valid(Error::UNSUPPORTED_VMCS_COMPONENT),
            "VMREAD {raw:#x}: {:?}",
            vmx_insn::vmread_raw(raw)
        );
        // SAFETY: the encoding names no field; nothing is written.
        let w = unsafe { vmx_insn::vmwrite_raw(raw, 0) };
        check!(
            w == valid(Error::UNSUPPORTED_VMCS_COMPONENT),
            "VMWRITE {raw:#x}: {w:?}"
        );
    }
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// The widths the checked wrappers use are CPUID.80000008H's, and the cached EPT/VPID
/// capabilities are IA32_VMX_EPT_VPID_CAP as `VmxCapabilities` reads it.
fn address_widths(env: &mut Env) -> Outcome {
    let caps = setup!(read_caps(env));
    let leaf = env.cpuid(0x8000_0008, 0).eax;
    check_eq!(
        u32::from(vmx_insn::physical_address_width().bits()),
        leaf & 0xff
    );
    check_eq!(
        u32::from(vmx_insn::linear_address_width()),
        (leaf >> 8) & 0xff
    );
    check_eq!(vmx_insn::ept_vpid_capabilities(), caps.ept_vpid());
    Outcome::Pass
}

// ---- INVEPT / INVVPID (SDM Vol. 3C §29.4.3, §31.3) ----

/// A valid EPTP for this model: WB, 4 levels, root in a fresh frame.
fn eptp(env: &mut Env, caps: &VmxCapabilities) -> Result<Eptp, Outcome> {
    let root = env
        .alloc_frame()
        .ok_or_else(|| fail(String::from("out of frames")))?;
    Eptp::new(
        root,
        PageWalkLength::Four,
        MemoryType::WRITE_BACK,
        false,
        caps.ept_vpid(),
        vmx_insn::physical_address_width().bits(),
    )
    .map_err(|e| fail(format!("EPTP for root {root:#x}: {e}")))
}

/// Each INVEPT type the model reports succeeds (single-context with a valid EPTP).
fn invept_supported(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    if !s.caps.has_invept() {
        skip!("{} has no INVEPT (no EPT)", env.model());
    }
    setup!(s.load_new_vmcs(env));
    let caps = s.caps;
    let ptr = setup!(eptp(env, &caps));
    let mut ran = 0;
    if caps.has_invept_single_context() {
        check_eq!(
            vmx_insn::invept(InveptType::SingleContext, &InveptDescriptor::new(ptr)),
            Ok(())
        );
        ran += 1;
    }
    if caps.has_invept_all_context() {
        check_eq!(
            vmx_insn::invept(InveptType::AllContext, &InveptDescriptor::all_context()),
            Ok(())
        );
        ran += 1;
    }
    check!(ran > 0, "INVEPT reported with no type");
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// INVEPT types 0 and 3 (undefined) and single-context with an invalid EPTP: VMfailValid
/// 28; the checked wrapper refuses the invalid EPTP without executing.
fn invept_bad_operands(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    if !s.caps.has_invept() {
        skip!("{} has no INVEPT (no EPT)", env.model());
    }
    setup!(s.load_new_vmcs(env));
    let all = InveptDescriptor::all_context();
    let bad = valid(Error::INVALID_INVEPT_INVVPID_OPERAND);
    check_eq!(vmx_insn::invept_raw(0, &all), bad);
    check_eq!(vmx_insn::invept_raw(3, &all), bad);
    // EPTP with a 3-level walk (bits 5:3 = 2): invalid for single-context.
    let three_levels = InveptDescriptor::new(Eptp::from_raw(0x1000 | 2 << 3 | 6));
    check_eq!(vmx_insn::invept_raw(1, &three_levels), bad);
    setup!(mark_error_field(&s));
    let refused = vmx_insn::invept(InveptType::SingleContext, &three_levels);
    check!(
        matches!(refused, Err(InsnError::InvalidEptp { eptp: 0x1016, .. })),
        "checked INVEPT: {refused:?}"
    );
    setup!(error_field_unchanged("the refused INVEPT"));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// Each INVVPID type the model reports succeeds with VPID 1.
fn invvpid_supported(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    if !s.caps.has_invvpid() {
        skip!("{} has no INVVPID (no VPID)", env.model());
    }
    setup!(s.load_new_vmcs(env));
    let linear = vmx_insn::linear_address_width();
    let mut ran = 0;
    for ty in [
        InvvpidType::IndividualAddress,
        InvvpidType::SingleContext,
        InvvpidType::AllContext,
        InvvpidType::SingleContextRetainingGlobals,
    ] {
        if !ty.is_supported(s.caps.ept_vpid()) {
            continue;
        }
        let desc = match InvvpidDescriptor::new(ty, 1, 0xffff_8000_0000_1000, linear) {
            Ok(d) => d,
            Err(e) => return fail(format!("descriptor for {ty:?}: {e}")),
        };
        check!(
            vmx_insn::invvpid(ty, &desc) == Ok(()),
            "INVVPID {ty:?}: {:?}",
            vmx_insn::invvpid(ty, &desc)
        );
        ran += 1;
    }
    check!(ran > 0, "INVVPID reported with no type");
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// INVVPID with VPID 0 for individual-address and single-context, a non-canonical
/// individual address, and type 4: VMfailValid 28; the checked wrapper refuses the
/// first two without executing.
fn invvpid_bad_operands(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    if !s.caps.has_invvpid() {
        skip!("{} has no INVVPID (no VPID)", env.model());
    }
    setup!(s.load_new_vmcs(env));
    let bad = valid(Error::INVALID_INVEPT_INVVPID_OPERAND);
    let vpid0 = InvvpidDescriptor::all_context();
    check_eq!(
        vmx_insn::invvpid_raw(InvvpidType::IndividualAddress.raw(), &vpid0),
        bad
    );
    check_eq!(
        vmx_insn::invvpid_raw(InvvpidType::SingleContext.raw(), &vpid0),
        bad
    );
    check_eq!(vmx_insn::invvpid_raw(4, &vpid0), bad);
    let linear = vmx_insn::linear_address_width();
    // Bit 55 set, bits 63:56 clear: canonical with 57-bit linear addresses only.
    let noncanonical = 0x0080_0000_0000_0000;
    let wide = match InvvpidDescriptor::individual_address(1, noncanonical, 57) {
        Ok(d) => d,
        Err(e) => return fail(format!("57-bit descriptor: {e}")),
    };
    if linear < 57 {
        check_eq!(
            vmx_insn::invvpid_raw(InvvpidType::IndividualAddress.raw(), &wide),
            bad
        );
    }
    setup!(mark_error_field(&s));
    check_eq!(
        vmx_insn::invvpid(InvvpidType::IndividualAddress, &vpid0),
        Err(InsnError::ZeroVpid { ty: 0 })
    );
    check_eq!(
        vmx_insn::invvpid(InvvpidType::SingleContext, &vpid0),
        Err(InsnError::ZeroVpid { ty: 1 })
    );
    if linear < 57 {
        check_eq!(
            vmx_insn::invvpid(InvvpidType::IndividualAddress, &wide),
            Err(InsnError::NonCanonicalAddress { addr: noncanonical })
        );
    }
    setup!(error_field_unchanged("the refused INVVPIDs"));
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

// ---- VMCALL / VMFUNC (SDM Vol. 3C §31.3) ----

/// VMCALL in VMX root operation without a current VMCS: VMfailInvalid, registers kept.
///
/// Only this root-operation path is exercised. With a current VMCS the SDM answers
/// VMfailValid 1 (the dual-monitor treatment is not active), but Bochs 2.7 diverges
/// there: with a clear current VMCS it stops with a PANIC ("VMCALL: not implemented yet"),
/// and with a launched one it reports error 19 (bochs/cpu/vmx.cc, BX_CPU_C::VMCALL).
fn vmcall_root(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    check_eq!(vmx_insn::vmptrst(), None);
    let mut regs = VmcallRegs {
        rax: 1,
        rbx: 2,
        rcx: 3,
        rdx: 4,
        rsi: 5,
        rdi: 6,
    };
    let before = regs;
    // SAFETY: VMX root operation without a current VMCS and outside SMM: VMCALL fails
    // and changes nothing.
    check_eq!(unsafe { vmx_insn::vmcall(&mut regs) }, invalid());
    check_eq!(regs, before);
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// VMCALL outside VMX operation raises #UD.
fn vmcall_outside_vmx(env: &mut Env) -> Outcome {
    let _controls = setup!(prepare(env));
    let mut regs = VmcallRegs::default();
    // SAFETY: outside VMX operation VMCALL raises #UD, which is caught.
    match catch_exception(|| unsafe { vmx_insn::vmcall(&mut regs) }) {
        Err(e) => check_eq!(e.vector, UD),
        Ok(r) => return fail(format!("VMCALL outside VMX operation returned {r:?}")),
    }
    Outcome::Pass
}

/// VMFUNC outside VMX non-root operation raises #UD (SDM Vol. 3C §31.3 "VMFUNC"), also in
/// VMX root operation with a current VMCS.
fn vmfunc_in_root(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    setup!(s.load_new_vmcs(env));
    // SAFETY: in VMX root operation VMFUNC raises #UD, which is caught.
    match catch_exception(|| unsafe { vmx_insn::vmfunc(vmx_insn::VMFUNC_EPTP_SWITCHING, 0) }) {
        Err(e) => check_eq!(e.vector, UD),
        Ok(()) => return fail(String::from("VMFUNC in VMX root operation completed")),
    }
    check!(in_vmx_operation(), "left VMX operation");
    check_eq!(s.leave(), Ok(()));
    Outcome::Pass
}

/// After VMXOFF, VMREAD raises #UD (vector 6) and the kernel's exception catching reports
/// it (SDM Vol. 3C §31.3 "VMREAD": #UD outside VMX operation).
fn vmread_after_vmxoff(env: &mut Env) -> Outcome {
    let mut s = setup!(Session::enter(env));
    setup!(s.load_new_vmcs(env));
    check_eq!(
        // SAFETY: this VMCS is never used for a VM entry.
        unsafe { vmx_insn::vmwrite(fields::GUEST_RIP, 0x1000u64) },
        Ok(())
    );
    check_eq!(vmx_insn::vmread(fields::GUEST_RIP), Ok(0x1000u64));
    check_eq!(s.leave(), Ok(()));
    match catch_exception(|| vmx_insn::vmread(fields::GUEST_RIP)) {
        Err(e) => {
            check_eq!(e.vector, UD);
            check_eq!(e.error_code, 0);
        }
        Ok(r) => return fail(format!("VMREAD after VMXOFF returned {r:?}")),
    }
    Outcome::Pass
}
