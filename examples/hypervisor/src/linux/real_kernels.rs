//! Planning real kernels, when a build left them on this machine (ignored by default: run
//! with `cargo test -p example-hypervisor linux::real_kernels -- --ignored`). Set
//! `VMXRS_BZIMAGE` / `VMXRS_VMLINUX`, or the prototype build paths are tried.

extern crate std;

use std::path::PathBuf;
use std::vec::Vec;

use super::{BootConfig, EntryState, Protocol, plan};

fn find(var: &str, candidates: &[&str]) -> Option<(PathBuf, Vec<u8>)> {
    let from_env = std::env::var_os(var).map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    from_env
        .into_iter()
        .chain(candidates.iter().map(|c| {
            c.strip_prefix("~/")
                .and_then(|rest| home.as_ref().map(|h| h.join(rest)))
                .unwrap_or_else(|| PathBuf::from(c))
        }))
        .find_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
}

fn boot(kernel: &[u8], protocol: Protocol, vcpus: u32) -> super::BootPlan {
    let cfg = BootConfig {
        kernel,
        initrd_len: 3 << 20,
        cmdline: "console=ttyS0 earlyprintk=serial",
        ram_size: 256 << 20,
        vcpus,
        protocol,
        mp_table: true,
    };
    let plan = plan(&cfg).unwrap_or_else(|e| panic!("planning failed: {e}"));
    let mut ram = std::vec![0u8; cfg.ram_size as usize];
    let initrd = std::vec![0u8; cfg.initrd_len as usize];
    plan.write_into(&mut ram, kernel, &initrd)
        .unwrap_or_else(|e| panic!("writing failed: {e}"));
    plan
}

#[test]
#[ignore = "needs a kernel built by `cargo ci` or the prototype build"]
fn plans_a_real_bzimage() {
    let Some((path, kernel)) = find(
        "VMXRS_BZIMAGE",
        &["/tmp/lx/k/linux-source-6.1/arch/x86/boot/bzImage"],
    ) else {
        panic!("no bzImage found");
    };
    let plan = boot(&kernel, Protocol::BzImage, 2);
    std::eprintln!(
        "{}: kernel {:#x?}, initrd {:#x}, entry {:#x?}",
        path.display(),
        plan.kernel_range,
        plan.initrd_gpa,
        plan.entry
    );
    assert!(
        matches!(plan.entry, EntryState::Long64 { rip, .. } if rip == plan.kernel_range.0 + 0x200)
    );
}

#[test]
#[ignore = "needs a kernel built by `cargo ci` or the prototype build"]
fn plans_a_real_vmlinux() {
    let Some((path, kernel)) = find("VMXRS_VMLINUX", &["/tmp/lx/k/linux-source-6.1/vmlinux"])
    else {
        panic!("no vmlinux found");
    };
    let plan = boot(&kernel, Protocol::Pvh, 1);
    std::eprintln!(
        "{}: kernel {:#x?}, initrd {:#x}, entry {:#x?}",
        path.display(),
        plan.kernel_range,
        plan.initrd_gpa,
        plan.entry
    );
    let EntryState::Protected32 { eip, .. } = plan.entry else {
        panic!("PVH enters in 32-bit mode");
    };
    assert!((plan.kernel_range.0..plan.kernel_range.1).contains(&u64::from(eip)));
}
