//! Scenarios for the bare-metal runtime itself (`baremetal`): the machine state VMX code
//! relies on, exception catching, interrupt handlers, frames and heap.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use baremetal::{Fault, InterruptFrame, catch_exception, catch_fault, cpu, set_interrupt_handler};

use crate::env::{Env, Outcome, Scenario};
use crate::{check, check_eq, require};

/// This area's scenarios, in order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "runtime_long_mode_state",
        run: long_mode_state,
    },
    Scenario {
        name: "runtime_tr_and_gdt",
        run: tr_and_gdt,
    },
    Scenario {
        name: "runtime_gdt_idt_reload_after_vm_exit_limits",
        run: gdt_idt_reload,
    },
    Scenario {
        name: "runtime_page_fault_reports_cr2",
        run: page_fault_cr2,
    },
    Scenario {
        name: "runtime_int3_trap_rip",
        run: int3_trap,
    },
    Scenario {
        name: "runtime_nested_catch_innermost_wins",
        run: nested_catch,
    },
    Scenario {
        name: "runtime_stack_overflow_caught",
        run: stack_overflow,
    },
    Scenario {
        name: "runtime_panic_caught_by_catch_fault",
        run: panic_caught,
    },
    Scenario {
        name: "runtime_interrupt_handler_edits_frame",
        run: interrupt_handler,
    },
    Scenario {
        name: "runtime_pit_irq0_on_remapped_vector",
        run: pit_irq0,
    },
    Scenario {
        name: "runtime_frames_zeroed_aligned",
        run: frames_zeroed_aligned,
    },
    Scenario {
        name: "runtime_heap_collections",
        run: heap_collections,
    },
];

/// SDM Vol. 3A §10.8.5: long mode needs CR0.PG|PE, CR4.PAE, EFER.LME and reports EFER.LMA.
fn long_mode_state(_env: &mut Env) -> Outcome {
    let cr0 = cpu::read_cr0();
    let cr4 = cpu::read_cr4();
    // SAFETY: IA32_EFER exists on every x86-64 CPU.
    let efer = unsafe { cpu::rdmsr(0xC000_0080) };
    check!(
        cr0 & 0x8000_0001 == 0x8000_0001,
        "CR0 = {cr0:#x}: PG/PE clear"
    );
    check!(cr0 & 0x20 != 0, "CR0 = {cr0:#x}: NE clear");
    check!(
        cr0 & 0x6000_0000 == 0,
        "CR0 = {cr0:#x}: CD/NW set (caches off)"
    );
    check!(cr4 & (1 << 5) != 0, "CR4 = {cr4:#x}: PAE clear");
    check!(efer & 0x500 == 0x500, "EFER = {efer:#x}: LME/LMA clear");
    check!(
        cpu::rflags() & (1 << 9) == 0,
        "RFLAGS.IF set while scenarios run"
    );
    Outcome::Pass
}

/// VMX host state needs a non-null TR (SDM Vol. 3C §27.2.3) whose descriptor base is the TSS.
fn tr_and_gdt(_env: &mut Env) -> Outcome {
    let s = cpu::selectors();
    check_eq!(s.tr, baremetal::gdt::TSS_SELECTOR);
    check_eq!(s.cs, baremetal::gdt::KERNEL_CS);
    check_eq!(s.ss, baremetal::gdt::KERNEL_DS);
    let base = cpu::gdt_descriptor_base(s.tr);
    check!(base.is_some_and(|b| b != 0), "TSS descriptor base {base:?}");
    check!(
        cpu::gdt_descriptor_base(0).is_none(),
        "null selector has a base"
    );
    let gdtr = cpu::sgdt();
    let idtr = cpu::sidt();
    check_eq!({ gdtr.limit }, 39);
    check_eq!({ idtr.limit }, 4095);
    Outcome::Pass
}

/// After a VM exit the GDTR and IDTR limits are 0xFFFF (SDM Vol. 3C §28.5.2); the
/// runner's `gdt::reload` / `interrupts::reload` bring back the kernel's exact tables
/// (and TR, whose busy descriptor LTR would otherwise refuse).
fn gdt_idt_reload(_env: &mut Env) -> Outcome {
    let gdtr = cpu::sgdt();
    let idtr = cpu::sidt();
    let wide_gdt = cpu::DescriptorTablePointer {
        limit: 0xFFFF,
        base: gdtr.base,
    };
    let wide_idt = cpu::DescriptorTablePointer {
        limit: 0xFFFF,
        base: idtr.base,
    };
    // SAFETY: same tables with larger limits, as a VM exit leaves them; nothing reads past
    // the real tables before the reload below.
    unsafe {
        core::arch::asm!("lgdt [{}]", "lidt [{}]", in(reg) &raw const wide_gdt, in(reg) &raw const wide_idt, options(nostack));
    }
    check_eq!({ cpu::sgdt().limit }, 0xFFFF);
    baremetal::gdt::reload();
    baremetal::interrupts::reload();
    check_eq!(cpu::sgdt(), gdtr);
    check_eq!(cpu::sidt(), idtr);
    check_eq!(cpu::selectors().tr, baremetal::gdt::TSS_SELECTOR);
    // Exceptions still work through the reloaded IDT.
    // SAFETY: UD2 raises #UD, caught.
    let r = catch_exception(|| unsafe { core::arch::asm!("ud2", options(nostack)) });
    check_eq!(r.map_err(|e| e.vector), Err(6));
    Outcome::Pass
}

/// A read of an unmapped address (the identity map ends at 4 GiB) is a #PF with CR2 set to
/// it and error code 0 (not present, read, supervisor) (SDM Vol. 3A §5.7).
fn page_fault_cr2(_env: &mut Env) -> Outcome {
    let addr: u64 = 0x1_2345_6788;
    // SAFETY: the read faults (nothing is mapped there); the #PF is caught.
    let r = catch_exception(|| unsafe { core::ptr::read_volatile(addr as *const u64) });
    let Err(e) = r else {
        return Outcome::Fail("read above 4 GiB did not fault".into());
    };
    check_eq!(e.vector, 14);
    check_eq!(e.error_code, 0);
    check!(e.cr2 == addr, "CR2 = {:#x}, expected {addr:#x}", e.cr2);
    Outcome::Pass
}

/// INT3 is a trap: the reported RIP is the instruction after it (SDM Vol. 3A §7.5).
fn int3_trap(_env: &mut Env) -> Outcome {
    let mut after: u64 = 0;
    let slot = &raw mut after;
    // SAFETY: records the address after INT3, then executes INT3; #BP is caught.
    let r = catch_exception(|| unsafe {
        core::arch::asm!(
            "lea {tmp}, [rip + 2f]",
            "mov [{slot}], {tmp}",
            "int3",
            "2:",
            tmp = out(reg) _,
            slot = in(reg) slot,
            options(nostack)
        )
    });
    // SAFETY: written by the asm above.
    let expected = unsafe { core::ptr::read_volatile(slot) };
    let Err(e) = r else {
        return Outcome::Fail("INT3 completed without an exception".into());
    };
    check_eq!(e.vector, 3);
    check!(
        e.rip == expected,
        "#BP RIP {:#x}, expected {expected:#x}",
        e.rip
    );
    Outcome::Pass
}

/// The innermost catch gets the exception; the outer one then sees a normal return, and
/// an exception after the inner catch returned goes to the outer one.
fn nested_catch(_env: &mut Env) -> Outcome {
    let outer = catch_exception(|| {
        // SAFETY: UD2 raises #UD, caught by the inner catch.
        let inner = catch_exception(|| unsafe { core::arch::asm!("ud2", options(nostack)) });
        let inner_vec = inner.err().map(|e| e.vector);
        // SAFETY: a #DE (division by zero) raised by DIV, caught by the outer catch.
        unsafe {
            core::arch::asm!("xor edx, edx", "xor eax, eax", "div ecx", in("ecx") 0u32, out("edx") _, out("eax") _)
        };
        inner_vec
    });
    let Err(e) = outer else {
        return Outcome::Fail(alloc::format!("outer catch returned normally: {outer:?}"));
    };
    check_eq!(e.vector, 0);
    let again = catch_exception(|| 7u32);
    check_eq!(again, Ok(7));
    Outcome::Pass
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    // Unreachable in practice (the stack is 256 KiB), but makes the recursion finite.
    if depth == u64::MAX {
        return 0;
    }
    let mut buf = [0u8; 512];
    buf[0] = depth as u8;
    let buf = core::hint::black_box(buf);
    recurse(depth + 1).wrapping_add(u64::from(buf[0]))
}

/// Unbounded recursion runs into the guard page below the boot stack: the #PF cannot be
/// delivered on the full stack, so the CPU raises #DF (on its IST stack), which the catch
/// reports; the scenario's own frames are intact afterwards.
fn stack_overflow(_env: &mut Env) -> Outcome {
    let r = catch_exception(|| recurse(0));
    let Err(e) = r else {
        return Outcome::Fail("infinite recursion returned".into());
    };
    check!(
        e.vector == 8 && e.error_code == 0,
        "stack overflow reported as {e}"
    );
    let again = catch_exception(|| 5u8);
    check_eq!(again, Ok(5));
    Outcome::Pass
}

/// A panic inside `catch_fault` comes back as `Fault::Panic` with its message; a
/// `catch_exception` in between does not stop it.
fn panic_caught(_env: &mut Env) -> Outcome {
    let r = catch_fault(|| {
        let _ = catch_exception(|| {
            let v: Vec<u32> = Vec::new();
            if v.is_empty() {
                panic!("scenario panic {}", 42);
            }
        });
    });
    match r {
        Err(Fault::Panic(m)) => {
            check!(
                m.as_str().starts_with("scenario panic 42"),
                "message {:?}",
                m.as_str()
            );
            Outcome::Pass
        }
        other => Outcome::Fail(alloc::format!("expected a caught panic, got {other:?}")),
    }
}

static HANDLER_CALLS: AtomicU64 = AtomicU64::new(0);

fn vector_0x80(frame: &mut InterruptFrame) {
    HANDLER_CALLS.fetch_add(1, Ordering::SeqCst);
    frame.rax = frame.rax.wrapping_mul(3);
}

/// An installed handler runs for its vector (here a software INT 0x80), may edit the
/// interrupted registers, and execution continues after the INT.
fn interrupt_handler(_env: &mut Env) -> Outcome {
    HANDLER_CALLS.store(0, Ordering::SeqCst);
    let previous = set_interrupt_handler(0x80, Some(vector_0x80));
    check!(previous.is_none(), "a handler for 0x80 was left installed");
    let mut v: u64 = 14;
    // SAFETY: INT 0x80 goes to `vector_0x80`, which only triples RAX.
    let r = catch_exception(|| unsafe {
        core::arch::asm!("int 0x80", inout("rax") v, options(nostack));
        v
    });
    set_interrupt_handler(0x80, None);
    let v = require!(r, "INT 0x80 with handler installed");
    check_eq!(v, 42);
    check_eq!(HANDLER_CALLS.load(Ordering::SeqCst), 1);
    // SAFETY: without handler INT 0x80 reaches the catch as vector 0x80.
    let r = catch_exception(|| unsafe { core::arch::asm!("int 0x80", options(nostack)) });
    check_eq!(r.map_err(|e| e.vector), Err(0x80));
    Outcome::Pass
}

static TICKS: AtomicU64 = AtomicU64::new(0);

fn irq0(_frame: &mut InterruptFrame) {
    TICKS.fetch_add(1, Ordering::SeqCst);
    baremetal::pic::end_of_interrupt(0);
}

/// With the PICs remapped at boot, the PIT's IRQ 0 arrives on vector 0x20 (not 8, #DF)
/// once unmasked and with RFLAGS.IF set; HLT wakes up for it.
fn pit_irq0(_env: &mut Env) -> Outcome {
    TICKS.store(0, Ordering::SeqCst);
    set_interrupt_handler(baremetal::pic::PIC1_VECTOR_BASE, Some(irq0));
    baremetal::pic::set_masked(0, false);
    for _ in 0..3 {
        // SAFETY: vector 0x20 has a handler; every other line is masked. STI; HLT waits
        // for the next interrupt (the STI shadow makes the pair atomic).
        unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
    }
    baremetal::pic::set_masked(0, true);
    set_interrupt_handler(baremetal::pic::PIC1_VECTOR_BASE, None);
    check_eq!(TICKS.load(Ordering::SeqCst), 3);
    Outcome::Pass
}

/// Frames come zeroed, aligned as asked, and are returned by the runner afterwards.
fn frames_zeroed_aligned(env: &mut Env) -> Outcome {
    let Some(a) = env.alloc_frame() else {
        return Outcome::Fail("no frame".into());
    };
    check!(a % 4096 == 0, "frame {a:#x} unaligned");
    // SAFETY: the frame is ours and identity mapped.
    let page = unsafe { core::slice::from_raw_parts_mut(a as *mut u64, 512) };
    check!(page.iter().all(|&w| w == 0), "frame {a:#x} not zeroed");
    page.fill(0xDEAD_BEEF);
    require!(env.free_frame(a), "free");
    let b = require!(
        env.alloc_frames(8, 0x20_0000),
        "alloc 8 frames 2 MiB aligned"
    );
    let Some(b) = b else {
        return Outcome::Fail("no 2 MiB aligned run of 8 frames".into());
    };
    check!(b % 0x20_0000 == 0, "run at {b:#x} not 2 MiB aligned");
    // SAFETY: 8 frames, ours, identity mapped.
    let run = unsafe { core::slice::from_raw_parts(b as *const u64, 8 * 512) };
    check!(run.iter().all(|&w| w == 0), "run at {b:#x} not zeroed");
    check!(env.free_frame(a).is_err(), "double free accepted");
    Outcome::Pass
}

/// `alloc` works: Vec growth, String formatting, Box, large allocations.
fn heap_collections(_env: &mut Env) -> Outcome {
    let before = baremetal::heap::heap_free_bytes();
    {
        let mut v: Vec<u64> = (0..10_000).collect();
        v.retain(|x| x % 3 == 0);
        check_eq!(v.len(), 3334);
        check_eq!(v.iter().sum::<u64>(), 16_668_333);
        let s: String = alloc::format!("{}-{:#x}", "vmx", 0x480);
        check_eq!(s.as_str(), "vmx-0x480");
        let b = Box::new([7u8; 100_000]);
        check!(b.iter().all(|&x| x == 7));
    }
    check_eq!(baremetal::heap::heap_free_bytes(), before);
    Outcome::Pass
}
