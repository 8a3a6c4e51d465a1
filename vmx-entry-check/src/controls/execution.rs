//! Checks on the VM-execution control fields (SDM Vol. 3C §27.2.1.1). A failure makes
//! VMLAUNCH/VMRESUME fail with VMfailValid, VM-instruction error 7.

use vmx_defs::capabilities::EptVpidCap;
use vmx_defs::controls::{
    PinBasedControls as Pin, PrimaryExitControls as Exit, PrimaryProcBasedControls as Proc,
    SecondaryProcBasedControls as Sec, TertiaryProcBasedControls as Ter,
};
use vmx_defs::ept::Eptp;
use vmx_defs::vmcs::fields as f;

use crate::check_id::CheckId as C;
use crate::checker::Checker;

/// SDM Vol. 3C §27.2.1.1: the pin-based VM-execution controls must be a setting the
/// capability MSR allows (Vol. 3D §A.3.1).
pub fn pin_based_reserved(c: &mut Checker<'_, '_>) {
    let value = c.pin();
    if !c.ctx().caps.pin_based().permits(value) {
        let fv = c.fv(f::CTRL_PIN_BASED_EXEC_CONTROLS);
        c.fail(C::PinBasedReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: the primary processor-based controls must be a setting the
/// capability MSR allows (Vol. 3D §A.3.2).
pub fn primary_proc_reserved(c: &mut Checker<'_, '_>) {
    let value = c.proc();
    if !c.ctx().caps.primary_proc().permits(value) {
        let fv = c.fv(f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::PrimaryProcReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "activate secondary controls" 1, the secondary controls must
/// be a setting IA32_VMX_PROCBASED_CTLS2 allows (Vol. 3D §A.3.3).
pub fn secondary_proc_reserved(c: &mut Checker<'_, '_>) {
    if !c.proc().contains(Proc::ACTIVATE_SECONDARY_CONTROLS) {
        return;
    }
    let value = c.secondary();
    if !c.ctx().caps.secondary_proc().permits(value) {
        let fv = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::SecondaryProcReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "activate tertiary controls" 1, the tertiary controls must
/// be a setting IA32_VMX_PROCBASED_CTLS3 allows (Vol. 3D §A.3.4).
pub fn tertiary_proc_reserved(c: &mut Checker<'_, '_>) {
    if !c.proc().contains(Proc::ACTIVATE_TERTIARY_CONTROLS) {
        return;
    }
    let value = c.tertiary();
    if !c.ctx().caps.tertiary_proc().permits(value) {
        let fv = c.fv(f::CTRL_TERTIARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::TertiaryProcReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: the CR3-target count must not exceed IA32_VMX_MISC\[24:16\].
pub fn cr3_target_count(c: &mut Checker<'_, '_>) {
    let fv = c.fv(f::CTRL_CR3_TARGET_COUNT);
    if fv.value > u64::from(c.ctx().caps.misc().cr3_target_count()) {
        c.fail(C::Cr3TargetCount, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "use I/O bitmaps" 1, both I/O-bitmap addresses are 4-KByte
/// aligned and within the physical-address width.
pub fn io_bitmap_addresses(c: &mut Checker<'_, '_>) {
    if c.proc().contains(Proc::USE_IO_BITMAPS) {
        c.check_address(C::IoBitmapAAddress, f::CTRL_IO_BITMAP_A_ADDRESS, 4096);
        c.check_address(C::IoBitmapBAddress, f::CTRL_IO_BITMAP_B_ADDRESS, 4096);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "use MSR bitmaps" 1, the MSR-bitmap address is 4-KByte
/// aligned and within the physical-address width.
pub fn msr_bitmap_address(c: &mut Checker<'_, '_>) {
    if c.proc().contains(Proc::USE_MSR_BITMAPS) {
        c.check_address(C::MsrBitmapAddress, f::CTRL_MSR_BITMAP_ADDRESS, 4096);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "use TPR shadow" 1, the virtual-APIC address is 4-KByte
/// aligned and within the physical-address width.
pub fn virtual_apic_address(c: &mut Checker<'_, '_>) {
    if c.proc().contains(Proc::USE_TPR_SHADOW) {
        c.check_address(C::VirtualApicAddress, f::CTRL_VIRTUAL_APIC_ADDRESS, 4096);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "use TPR shadow" 1 and "virtual-interrupt delivery" 0, bits
/// 31:4 of the TPR threshold are 0.
pub fn tpr_threshold_reserved(c: &mut Checker<'_, '_>) {
    if c.proc().contains(Proc::USE_TPR_SHADOW)
        && !c.secondary().contains(Sec::VIRTUAL_INTERRUPT_DELIVERY)
    {
        let fv = c.fv(f::CTRL_TPR_THRESHOLD);
        if fv.value & !0xf != 0 {
            c.fail(C::TprThresholdReserved, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.1.1: with "use TPR shadow" 1 and "virtualize APIC accesses" and
/// "virtual-interrupt delivery" 0, TPR threshold bits 3:0 must not exceed VTPR bits 7:4
/// (checked when the context carries VTPR).
pub fn tpr_threshold_vs_vtpr(c: &mut Checker<'_, '_>) {
    let Some(vtpr) = c.ctx().virtual_tpr else {
        return;
    };
    let sec = c.secondary();
    if c.proc().contains(Proc::USE_TPR_SHADOW)
        && !sec.intersects(Sec::VIRTUALIZE_APIC_ACCESSES | Sec::VIRTUAL_INTERRUPT_DELIVERY)
    {
        let fv = c.fv(f::CTRL_TPR_THRESHOLD);
        if fv.value & 0xf > u64::from(vtpr >> 4) {
            c.fail(C::TprThresholdAboveVtpr, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.1.1: with "use TPR shadow" 0, "virtualize x2APIC mode",
/// "APIC-register virtualization" and "virtual-interrupt delivery" are 0.
pub fn apic_virtualization_needs_tpr_shadow(c: &mut Checker<'_, '_>) {
    let needs = Sec::VIRTUALIZE_X2APIC_MODE
        | Sec::APIC_REGISTER_VIRTUALIZATION
        | Sec::VIRTUAL_INTERRUPT_DELIVERY;
    if !c.proc().contains(Proc::USE_TPR_SHADOW) && c.secondary().intersects(needs) {
        let a = c.fv(f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS);
        let b = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::ApicVirtualizationWithoutTprShadow, &[a, b]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "NMI exiting" 0, "virtual NMIs" is 0.
pub fn virtual_nmis_need_nmi_exiting(c: &mut Checker<'_, '_>) {
    let pin = c.pin();
    if pin.contains(Pin::VIRTUAL_NMIS) && !pin.contains(Pin::NMI_EXITING) {
        let fv = c.fv(f::CTRL_PIN_BASED_EXEC_CONTROLS);
        c.fail(C::VirtualNmisWithoutNmiExiting, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "virtual NMIs" 0, "NMI-window exiting" is 0.
pub fn nmi_window_needs_virtual_nmis(c: &mut Checker<'_, '_>) {
    if !c.pin().contains(Pin::VIRTUAL_NMIS) && c.proc().contains(Proc::NMI_WINDOW_EXITING) {
        let a = c.fv(f::CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS);
        let b = c.fv(f::CTRL_PIN_BASED_EXEC_CONTROLS);
        c.fail(C::NmiWindowWithoutVirtualNmis, &[a, b]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "virtualize APIC accesses" 1, the APIC-access address is
/// 4-KByte aligned and within the physical-address width.
pub fn apic_access_address(c: &mut Checker<'_, '_>) {
    if c.secondary().contains(Sec::VIRTUALIZE_APIC_ACCESSES) {
        c.check_address(C::ApicAccessAddress, f::CTRL_APIC_ACCESS_ADDRESS, 4096);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "virtualize x2APIC mode" 1, "virtualize APIC accesses" is 0.
pub fn x2apic_mode_excludes_apic_accesses(c: &mut Checker<'_, '_>) {
    if c.secondary()
        .contains(Sec::VIRTUALIZE_X2APIC_MODE | Sec::VIRTUALIZE_APIC_ACCESSES)
    {
        let fv = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::X2apicModeWithApicAccesses, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "virtual-interrupt delivery" 1, "external-interrupt
/// exiting" is 1.
pub fn virtual_interrupt_delivery_needs_external_interrupt_exiting(c: &mut Checker<'_, '_>) {
    if c.secondary().contains(Sec::VIRTUAL_INTERRUPT_DELIVERY)
        && !c.pin().contains(Pin::EXTERNAL_INTERRUPT_EXITING)
    {
        let a = c.fv(f::CTRL_PIN_BASED_EXEC_CONTROLS);
        let b = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(
            C::VirtualInterruptDeliveryWithoutExternalInterruptExiting,
            &[a, b],
        );
    }
}

/// SDM Vol. 3C §27.2.1.1: with "process posted interrupts" 1, "virtual-interrupt delivery"
/// is 1, "acknowledge interrupt on exit" is 1, the notification vector has bits 15:8 0 and
/// the descriptor address is 64-byte aligned and within the physical-address width.
pub fn posted_interrupts(c: &mut Checker<'_, '_>) {
    if !c.pin().contains(Pin::PROCESS_POSTED_INTERRUPTS) {
        return;
    }
    if !c.secondary().contains(Sec::VIRTUAL_INTERRUPT_DELIVERY) {
        let a = c.fv(f::CTRL_PIN_BASED_EXEC_CONTROLS);
        let b = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::PostedInterruptsWithoutVirtualInterruptDelivery, &[a, b]);
    }
    if !c.exit().contains(Exit::ACKNOWLEDGE_INTERRUPT_ON_EXIT) {
        let a = c.fv(f::CTRL_PIN_BASED_EXEC_CONTROLS);
        let b = c.fv(f::CTRL_PRIMARY_VMEXIT_CONTROLS);
        c.fail(C::PostedInterruptsWithoutAcknowledgeOnExit, &[a, b]);
    }
    let vector = c.fv(f::CTRL_POSTED_INTERRUPT_NOTIFICATION_VECTOR);
    if vector.value & 0xff00 != 0 {
        c.fail(C::PostedInterruptNotificationVector, &[vector]);
    }
    c.check_address(
        C::PostedInterruptDescriptorAddress,
        f::CTRL_POSTED_INTERRUPT_DESCRIPTOR_ADDRESS,
        64,
    );
}

/// SDM Vol. 3C §27.2.1.1: with "enable VPID" 1, the VPID is not 0.
pub fn vpid_nonzero(c: &mut Checker<'_, '_>) {
    if c.secondary().contains(Sec::ENABLE_VPID) {
        let fv = c.fv(f::CTRL_VPID);
        if fv.value == 0 {
            c.fail(C::VpidZero, &[fv]);
        }
    }
}

/// SDM Vol. 3C §27.2.1.1: with "enable EPT" 1, the EPTP is valid: supported memory type
/// and page-walk length, A/D and supervisor-shadow-stack bits only if supported, bits 11:8
/// and 63:MAXPHYADDR 0 (one [`CheckId`](crate::CheckId) per rule).
pub fn ept_pointer(c: &mut Checker<'_, '_>) {
    if !c.ept() {
        return;
    }
    let fv = c.fv(f::CTRL_EPT_POINTER);
    let eptp = Eptp::from_raw(fv.value);
    let caps = c.ctx().caps.ept_vpid();
    if !caps.supports_memory_type(eptp.memory_type()) {
        c.fail(C::EptpMemoryType, &[fv]);
    }
    if !eptp
        .page_walk_length()
        .is_some_and(|w| w.is_supported(caps))
    {
        c.fail(C::EptpWalkLength, &[fv]);
    }
    if eptp.accessed_dirty() && !caps.contains(EptVpidCap::ACCESSED_DIRTY) {
        c.fail(C::EptpAccessedDirty, &[fv]);
    }
    if eptp.supervisor_shadow_stack() && !caps.contains(EptVpidCap::SUPERVISOR_SHADOW_STACK) {
        c.fail(C::EptpSupervisorShadowStack, &[fv]);
    }
    if fv.value & 0xf00 != 0 || !crate::bits::within(fv.value, c.ctx().phys_width()) {
        c.fail(C::EptpReserved, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "enable PML" 1, "enable EPT" is 1 and the PML address is
/// 4-KByte aligned and within the physical-address width.
pub fn pml(c: &mut Checker<'_, '_>) {
    let sec = c.secondary();
    if !sec.contains(Sec::ENABLE_PML) {
        return;
    }
    if !sec.contains(Sec::ENABLE_EPT) {
        let fv = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::PmlWithoutEpt, &[fv]);
    }
    c.check_address(C::PmlAddress, f::CTRL_PML_ADDRESS, 4096);
}

/// SDM Vol. 3C §27.2.1.1: with "unrestricted guest" 1, "enable EPT" is 1.
pub fn unrestricted_guest_needs_ept(c: &mut Checker<'_, '_>) {
    let sec = c.secondary();
    if sec.contains(Sec::UNRESTRICTED_GUEST) && !sec.contains(Sec::ENABLE_EPT) {
        let fv = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::UnrestrictedGuestWithoutEpt, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "mode-based execute control for EPT" 1, "enable EPT" is 1.
pub fn mode_based_execute_needs_ept(c: &mut Checker<'_, '_>) {
    let sec = c.secondary();
    if sec.contains(Sec::MODE_BASED_EXECUTE_CONTROL_FOR_EPT) && !sec.contains(Sec::ENABLE_EPT) {
        let fv = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::ModeBasedExecuteWithoutEpt, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "sub-page write permissions for EPT" 1, "enable EPT" is 1
/// and the SPP-table pointer is 4-KByte aligned and within the physical-address width.
pub fn sub_page_permissions(c: &mut Checker<'_, '_>) {
    let sec = c.secondary();
    if !sec.contains(Sec::SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT) {
        return;
    }
    if !sec.contains(Sec::ENABLE_EPT) {
        let fv = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::SubPageWriteWithoutEpt, &[fv]);
    }
    c.check_address(
        C::SubPagePermissionTablePointer,
        f::CTRL_SUB_PAGE_PERMISSION_TABLE_POINTER,
        4096,
    );
}

/// SDM Vol. 3C §27.2.1.1: with "enable VM functions" 1, VM-function controls IA32_VMX_VMFUNC
/// does not allow are 0; with EPTP switching 1, "enable EPT" is 1 and the EPTP-list address
/// is 4-KByte aligned and within the physical-address width.
pub fn vm_functions(c: &mut Checker<'_, '_>) {
    let sec = c.secondary();
    if !sec.contains(Sec::ENABLE_VM_FUNCTIONS) {
        return;
    }
    let fv = c.fv(f::CTRL_VM_FUNCTION_CONTROLS);
    let allowed = c.ctx().caps.vmfunc().bits();
    if fv.value & !allowed != 0 {
        c.fail(C::VmFunctionControlsReserved, &[fv]);
    }
    if fv.value & 1 != 0 {
        if !sec.contains(Sec::ENABLE_EPT) {
            let s = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
            c.fail(C::EptpSwitchingWithoutEpt, &[fv, s]);
        }
        c.check_address(C::EptpListAddress, f::CTRL_EPTP_LIST_ADDRESS, 4096);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "VMCS shadowing" 1, the VMREAD- and VMWRITE-bitmap addresses
/// are 4-KByte aligned and within the physical-address width.
pub fn vmcs_shadowing_bitmaps(c: &mut Checker<'_, '_>) {
    if c.secondary().contains(Sec::VMCS_SHADOWING) {
        c.check_address(C::VmreadBitmapAddress, f::CTRL_VMREAD_BITMAP_ADDRESS, 4096);
        c.check_address(
            C::VmwriteBitmapAddress,
            f::CTRL_VMWRITE_BITMAP_ADDRESS,
            4096,
        );
    }
}

/// SDM Vol. 3C §27.2.1.1: with "EPT-violation #VE" 1, the virtualization-exception
/// information address is 4-KByte aligned and within the physical-address width.
pub fn virtualization_exception_info_address(c: &mut Checker<'_, '_>) {
    if c.secondary().contains(Sec::EPT_VIOLATION_VE) {
        c.check_address(
            C::VirtualizationExceptionInfoAddress,
            f::CTRL_VIRTUALIZATION_EXCEPTION_INFO_ADDRESS,
            4096,
        );
    }
}

/// SDM Vol. 3C §27.2.1.1: with "Intel PT uses guest physical addresses" 1, "enable EPT",
/// "load IA32_RTIT_CTL" (VM-entry) and "clear IA32_RTIT_CTL" (VM-exit) are 1.
pub fn pt_guest_physical_addresses(c: &mut Checker<'_, '_>) {
    use vmx_defs::controls::EntryControls as Entry;
    let sec = c.secondary();
    if sec.contains(Sec::PT_USES_GUEST_PHYSICAL_ADDRESSES)
        && !(sec.contains(Sec::ENABLE_EPT)
            && c.entry().contains(Entry::LOAD_IA32_RTIT_CTL)
            && c.exit().contains(Exit::CLEAR_IA32_RTIT_CTL))
    {
        let a = c.fv(f::CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS);
        let b = c.fv(f::CTRL_VMENTRY_CONTROLS);
        let d = c.fv(f::CTRL_PRIMARY_VMEXIT_CONTROLS);
        c.fail(C::PtGuestPhysicalWithoutRequiredControls, &[a, b, d]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "enable HLAT" 1, "enable EPT" is 1 and HLATP bits 2:0 and
/// 11:5 are 0 with the address within the physical-address width.
pub fn hlat(c: &mut Checker<'_, '_>) {
    if !c.tertiary().contains(Ter::ENABLE_HLAT) {
        return;
    }
    if !c.ept() {
        let fv = c.fv(f::CTRL_TERTIARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::HlatWithoutEpt, &[fv]);
    }
    let fv = c.fv(f::CTRL_HLAT_POINTER);
    let width = c.ctx().phys_width();
    if fv.value & 0xfe7 != 0 || !crate::bits::within(fv.value, width) {
        c.fail(C::HlatPointer, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "EPT paging-write control" or "guest-paging verification"
/// 1, "enable EPT" is 1.
pub fn ept_paging_write_needs_ept(c: &mut Checker<'_, '_>) {
    let ter = c.tertiary();
    if ter.intersects(Ter::EPT_PAGING_WRITE_CONTROL | Ter::GUEST_PAGING_VERIFICATION) && !c.ept() {
        let fv = c.fv(f::CTRL_TERTIARY_PROC_BASED_EXEC_CONTROLS);
        c.fail(C::EptPagingWriteWithoutEpt, &[fv]);
    }
}

/// SDM Vol. 3C §27.2.1.1: with "IPI virtualization" 1, the PID-pointer table address is
/// 8-byte aligned and within the physical-address width.
pub fn ipi_virtualization(c: &mut Checker<'_, '_>) {
    if c.tertiary().contains(Ter::IPI_VIRTUALIZATION) {
        c.check_address(
            C::PidPointerTableAddress,
            f::CTRL_PID_POINTER_TABLE_ADDRESS,
            8,
        );
    }
}

/// Every §27.2.1.1 check, in the SDM's order.
pub fn check_all(c: &mut Checker<'_, '_>) {
    pin_based_reserved(c);
    primary_proc_reserved(c);
    secondary_proc_reserved(c);
    tertiary_proc_reserved(c);
    cr3_target_count(c);
    io_bitmap_addresses(c);
    msr_bitmap_address(c);
    virtual_apic_address(c);
    tpr_threshold_reserved(c);
    tpr_threshold_vs_vtpr(c);
    apic_virtualization_needs_tpr_shadow(c);
    virtual_nmis_need_nmi_exiting(c);
    nmi_window_needs_virtual_nmis(c);
    apic_access_address(c);
    x2apic_mode_excludes_apic_accesses(c);
    virtual_interrupt_delivery_needs_external_interrupt_exiting(c);
    posted_interrupts(c);
    vpid_nonzero(c);
    ept_pointer(c);
    pml(c);
    unrestricted_guest_needs_ept(c);
    mode_based_execute_needs_ept(c);
    sub_page_permissions(c);
    vm_functions(c);
    vmcs_shadowing_bitmaps(c);
    virtualization_exception_info_address(c);
    pt_guest_physical_addresses(c);
    hlat(c);
    ept_paging_write_needs_ept(c);
    ipi_virtualization(c);
}
