//! One predicate per VMX feature on [`VmxCapabilities`], in the style of Linux KVM's
//! `arch/x86/kvm/vmx/capabilities.h` (SDM Vol. 3D Appendix A).
//!
//! A control predicate is true if the control may be 1 (its allowed 1-setting, SDM Vol. 3D
//! §A.3-§A.5). EPT capability predicates also require that "enable EPT" may be 1, VPID
//! ones that "enable VPID" may be 1; INVEPT/INVVPID type predicates also require the
//! instruction (SDM Vol. 3D §A.10).

use super::{EptVpidCap, VmFuncControls, VmxCapabilities};
use crate::controls::{
    EntryControls as En, PinBasedControls as Pin, PrimaryExitControls as Ex,
    PrimaryProcBasedControls as Pri, SecondaryExitControls as Ex2,
    SecondaryProcBasedControls as Sec, TertiaryProcBasedControls as Ter,
};

/// Predicates that test one control of one field.
macro_rules! control_predicates {
    ($($(#[$doc:meta])* $name:ident => $field:ident($flag:expr);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> bool {
                self.$field().can_be_one($flag)
            }
        )*
    };
}

/// Predicates that test one bit of IA32_VMX_EPT_VPID_CAP behind a gate predicate.
macro_rules! cap_predicates {
    ($($(#[$doc:meta])* $name:ident => $gate:ident && $flag:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> bool {
                self.$gate() && self.ept_vpid().contains($flag)
            }
        )*
    };
}

/// Predicates on IA32_VMX_BASIC and IA32_VMX_MISC bits.
macro_rules! msr_predicates {
    ($($(#[$doc:meta])* $name:ident => $msr:ident().$bit:ident();)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> bool {
                self.$msr().$bit()
            }
        )*
    };
}

impl VmxCapabilities {
    // ---- Control fields (SDM Vol. 3D §A.2-§A.4) ----

    control_predicates! {
        /// The secondary processor-based controls exist (IA32_VMX_PROCBASED_CTLS\[63\]).
        has_secondary_controls => primary_proc(Pri::ACTIVATE_SECONDARY_CONTROLS);
        /// The tertiary processor-based controls exist (IA32_VMX_PROCBASED_CTLS\[49\]).
        has_tertiary_controls => primary_proc(Pri::ACTIVATE_TERTIARY_CONTROLS);
        /// The secondary VM-exit controls exist (IA32_VMX_EXIT_CTLS\[63\]).
        has_secondary_exit_controls => exit(Ex::ACTIVATE_SECONDARY_CONTROLS);
    }

    /// The IA32_VMX_TRUE_*_CTLS MSRs exist and default1 controls may be 0 where they say so
    /// (IA32_VMX_BASIC\[55\], SDM Vol. 3D §A.2).
    pub fn has_true_controls(&self) -> bool {
        self.basic().true_controls()
    }

    // ---- Pin-based controls (SDM Vol. 3C §25.6.1) ----

    control_predicates! {
        /// "External-interrupt exiting" may be 1.
        has_external_interrupt_exiting => pin_based(Pin::EXTERNAL_INTERRUPT_EXITING);
        /// "NMI exiting" may be 1.
        has_nmi_exiting => pin_based(Pin::NMI_EXITING);
        /// "Activate VMX-preemption timer" may be 1.
        has_preemption_timer => pin_based(Pin::ACTIVATE_VMX_PREEMPTION_TIMER);
        /// "Process posted interrupts" may be 1 (using it also needs "virtual-interrupt
        /// delivery" and "acknowledge interrupt on exit", SDM Vol. 3C §27.2.1.1).
        has_posted_interrupts => pin_based(Pin::PROCESS_POSTED_INTERRUPTS);
    }

    /// "Virtual NMIs" and "NMI-window exiting" may both be 1 (virtual NMIs are only usable
    /// with NMI-window exiting, SDM Vol. 3C §27.2.1.1).
    pub fn has_virtual_nmis(&self) -> bool {
        self.pin_based().can_be_one(Pin::VIRTUAL_NMIS)
            && self.primary_proc().can_be_one(Pri::NMI_WINDOW_EXITING)
    }

    // ---- Primary processor-based controls (SDM Vol. 3C §25.6.2) ----

    control_predicates! {
        /// "Interrupt-window exiting" may be 1.
        has_interrupt_window_exiting => primary_proc(Pri::INTERRUPT_WINDOW_EXITING);
        /// "Use TSC offsetting" may be 1.
        has_tsc_offsetting => primary_proc(Pri::USE_TSC_OFFSETTING);
        /// "HLT exiting" may be 1.
        has_hlt_exiting => primary_proc(Pri::HLT_EXITING);
        /// "INVLPG exiting" may be 1.
        has_invlpg_exiting => primary_proc(Pri::INVLPG_EXITING);
        /// "MWAIT exiting" may be 1.
        has_mwait_exiting => primary_proc(Pri::MWAIT_EXITING);
        /// "RDPMC exiting" may be 1.
        has_rdpmc_exiting => primary_proc(Pri::RDPMC_EXITING);
        /// "RDTSC exiting" may be 1.
        has_rdtsc_exiting => primary_proc(Pri::RDTSC_EXITING);
        /// "CR8-load exiting" and "CR8-store exiting" may be 1.
        has_cr8_exiting => primary_proc(Pri::CR8_LOAD_EXITING.union(Pri::CR8_STORE_EXITING));
        /// "Use TPR shadow" may be 1.
        has_tpr_shadow => primary_proc(Pri::USE_TPR_SHADOW);
        /// "NMI-window exiting" may be 1.
        has_nmi_window_exiting => primary_proc(Pri::NMI_WINDOW_EXITING);
        /// "MOV-DR exiting" may be 1.
        has_mov_dr_exiting => primary_proc(Pri::MOV_DR_EXITING);
        /// "Unconditional I/O exiting" may be 1.
        has_unconditional_io_exiting => primary_proc(Pri::UNCONDITIONAL_IO_EXITING);
        /// "Use I/O bitmaps" may be 1.
        has_io_bitmaps => primary_proc(Pri::USE_IO_BITMAPS);
        /// "Monitor trap flag" may be 1.
        has_mtf => primary_proc(Pri::MONITOR_TRAP_FLAG);
        /// "Use MSR bitmaps" may be 1.
        has_msr_bitmaps => primary_proc(Pri::USE_MSR_BITMAPS);
        /// "MONITOR exiting" may be 1.
        has_monitor_exiting => primary_proc(Pri::MONITOR_EXITING);
        /// "PAUSE exiting" may be 1.
        has_pause_exiting => primary_proc(Pri::PAUSE_EXITING);
    }

    /// "CR3-load exiting" and "CR3-store exiting" may both be 0 (default1 controls relaxed by
    /// IA32_VMX_TRUE_PROCBASED_CTLS, SDM Vol. 3D §A.3.2): needed to leave CR3 to an EPT
    /// guest.
    pub fn has_cr3_exiting_optional(&self) -> bool {
        self.primary_proc()
            .can_be_zero(Pri::CR3_LOAD_EXITING | Pri::CR3_STORE_EXITING)
    }

    // ---- Secondary processor-based controls (SDM Vol. 3C §25.6.2) ----

    control_predicates! {
        /// "Virtualize APIC accesses" may be 1.
        has_virtualize_apic_accesses => secondary_proc(Sec::VIRTUALIZE_APIC_ACCESSES);
        /// "Enable EPT" may be 1.
        has_ept => secondary_proc(Sec::ENABLE_EPT);
        /// "Descriptor-table exiting" may be 1.
        has_descriptor_table_exiting => secondary_proc(Sec::DESCRIPTOR_TABLE_EXITING);
        /// "Enable RDTSCP" may be 1.
        has_rdtscp => secondary_proc(Sec::ENABLE_RDTSCP);
        /// "Virtualize x2APIC mode" may be 1.
        has_virtualize_x2apic_mode => secondary_proc(Sec::VIRTUALIZE_X2APIC_MODE);
        /// "Enable VPID" may be 1.
        has_vpid => secondary_proc(Sec::ENABLE_VPID);
        /// "WBINVD exiting" may be 1.
        has_wbinvd_exiting => secondary_proc(Sec::WBINVD_EXITING);
        /// "Unrestricted guest" may be 1 (using it also needs "enable EPT", SDM Vol. 3C
        /// §27.2.1.1).
        has_unrestricted_guest => secondary_proc(Sec::UNRESTRICTED_GUEST);
        /// "APIC-register virtualization" may be 1.
        has_apic_register_virtualization => secondary_proc(Sec::APIC_REGISTER_VIRTUALIZATION);
        /// "Virtual-interrupt delivery" may be 1.
        has_virtual_interrupt_delivery => secondary_proc(Sec::VIRTUAL_INTERRUPT_DELIVERY);
        /// "PAUSE-loop exiting" may be 1.
        has_pause_loop_exiting => secondary_proc(Sec::PAUSE_LOOP_EXITING);
        /// "RDRAND exiting" may be 1.
        has_rdrand_exiting => secondary_proc(Sec::RDRAND_EXITING);
        /// "Enable INVPCID" may be 1.
        has_invpcid => secondary_proc(Sec::ENABLE_INVPCID);
        /// "Enable VM functions" may be 1 (IA32_VMX_VMFUNC exists).
        has_vmfunc => secondary_proc(Sec::ENABLE_VM_FUNCTIONS);
        /// "VMCS shadowing" may be 1.
        has_vmcs_shadowing => secondary_proc(Sec::VMCS_SHADOWING);
        /// "Enable ENCLS exiting" may be 1.
        has_encls_exiting => secondary_proc(Sec::ENABLE_ENCLS_EXITING);
        /// "RDSEED exiting" may be 1.
        has_rdseed_exiting => secondary_proc(Sec::RDSEED_EXITING);
        /// "Enable PML" may be 1 (page-modification logging; also needs EPT A/D flags).
        has_pml => secondary_proc(Sec::ENABLE_PML);
        /// "EPT-violation #VE" may be 1.
        has_ept_violation_ve => secondary_proc(Sec::EPT_VIOLATION_VE);
        /// "Enable XSAVES/XRSTORS" may be 1.
        has_xsaves => secondary_proc(Sec::ENABLE_XSAVES_XRSTORS);
        /// "PASID translation" may be 1.
        has_pasid_translation => secondary_proc(Sec::PASID_TRANSLATION);
        /// "Mode-based execute control for EPT" may be 1.
        has_mode_based_ept_execute => secondary_proc(Sec::MODE_BASED_EXECUTE_CONTROL_FOR_EPT);
        /// "Sub-page write permissions for EPT" may be 1.
        has_ept_sub_page_write => secondary_proc(Sec::SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT);
        /// "Intel PT uses guest physical addresses" may be 1.
        has_pt_uses_guest_physical_addresses =>
            secondary_proc(Sec::PT_USES_GUEST_PHYSICAL_ADDRESSES);
        /// "Use TSC scaling" may be 1.
        has_tsc_scaling => secondary_proc(Sec::USE_TSC_SCALING);
        /// "Enable user wait and pause" may be 1.
        has_user_wait_and_pause => secondary_proc(Sec::ENABLE_USER_WAIT_AND_PAUSE);
        /// "Enable PCONFIG" may be 1.
        has_pconfig => secondary_proc(Sec::ENABLE_PCONFIG);
        /// "Enable ENCLV exiting" may be 1.
        has_enclv_exiting => secondary_proc(Sec::ENABLE_ENCLV_EXITING);
        /// "VMM bus-lock detection" may be 1.
        has_bus_lock_detection => secondary_proc(Sec::VMM_BUS_LOCK_DETECTION);
        /// "Instruction timeout" (Linux: notify VM exiting) may be 1.
        has_instruction_timeout => secondary_proc(Sec::INSTRUCTION_TIMEOUT);
    }

    /// "Conceal VMX from PT" may be 1 in the secondary processor-based, VM-exit and VM-entry
    /// controls (all three are needed to hide VMX from Intel PT).
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_conceal_vmx_from_pt(&self) -> bool {
        self.secondary_proc().can_be_one(Sec::CONCEAL_VMX_FROM_PT)
            && self.exit().can_be_one(Ex::CONCEAL_VMX_FROM_PT)
            && self.entry().can_be_one(En::CONCEAL_VMX_FROM_PT)
    }

    /// EPTP switching (VM function 0) may be enabled: VM functions, EPT and
    /// IA32_VMX_VMFUNC\[0\] (SDM Vol. 3D §A.11).
    pub fn has_eptp_switching(&self) -> bool {
        self.has_vmfunc()
            && self.has_ept()
            && self.vmfunc().contains(VmFuncControls::EPTP_SWITCHING)
    }

    // ---- Tertiary processor-based controls (SDM Vol. 3C §25.6.2) ----

    control_predicates! {
        /// "LOADIWKEY exiting" may be 1.
        has_loadiwkey_exiting => tertiary_proc(Ter::LOADIWKEY_EXITING);
        /// "Enable HLAT" may be 1.
        has_hlat => tertiary_proc(Ter::ENABLE_HLAT);
        /// "EPT paging-write control" may be 1.
        has_ept_paging_write_control => tertiary_proc(Ter::EPT_PAGING_WRITE_CONTROL);
        /// "Guest-paging verification" may be 1.
        has_guest_paging_verification => tertiary_proc(Ter::GUEST_PAGING_VERIFICATION);
        /// "IPI virtualization" may be 1.
        has_ipi_virtualization => tertiary_proc(Ter::IPI_VIRTUALIZATION);
        /// "Enable MSR-list instructions" may be 1.
        has_msr_list_instructions => tertiary_proc(Ter::ENABLE_MSR_LIST_INSTRUCTIONS);
        /// "Virtualize IA32_SPEC_CTRL" may be 1.
        has_virtualize_spec_ctrl => tertiary_proc(Ter::VIRTUALIZE_IA32_SPEC_CTRL);
        /// "APIC-timer virtualization" may be 1.
        has_apic_timer_virtualization => tertiary_proc(Ter::APIC_TIMER_VIRTUALIZATION);
    }

    // ---- VM-exit and VM-entry controls (SDM Vol. 3C §25.7, §25.8) ----

    control_predicates! {
        /// "Host address-space size" may be 1 (needed to return to a 64-bit host).
        has_host_address_space_size => exit(Ex::HOST_ADDRESS_SPACE_SIZE);
        /// "Acknowledge interrupt on exit" may be 1.
        has_ack_interrupt_on_exit => exit(Ex::ACKNOWLEDGE_INTERRUPT_ON_EXIT);
        /// "Save IA32_PAT" (VM exit) may be 1.
        has_save_pat => exit(Ex::SAVE_IA32_PAT);
        /// "Save IA32_EFER" (VM exit) may be 1.
        has_save_efer => exit(Ex::SAVE_IA32_EFER);
        /// "Save VMX-preemption timer value" (VM exit) may be 1.
        has_save_preemption_timer => exit(Ex::SAVE_VMX_PREEMPTION_TIMER_VALUE);
        /// "Save IA32_PERF_GLOBAL_CTL" (VM exit) may be 1.
        has_save_perf_global_ctl => exit(Ex::SAVE_IA32_PERF_GLOBAL_CTL);
        /// "Prematurely busy shadow stack" (secondary VM-exit) may be 1.
        has_prematurely_busy_shadow_stack =>
            secondary_exit(Ex2::PREMATURELY_BUSY_SHADOW_STACK);
        /// "IA-32e mode guest" (VM entry) may be 1 (needed for a 64-bit guest).
        has_ia32e_mode_guest => entry(En::IA32E_MODE_GUEST);
    }

    /// "Load IA32_EFER" may be 1 on VM entry and on VM exit.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_efer(&self) -> bool {
        self.entry().can_be_one(En::LOAD_IA32_EFER) && self.exit().can_be_one(Ex::LOAD_IA32_EFER)
    }

    /// "Load IA32_PAT" may be 1 on VM entry and on VM exit.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_pat(&self) -> bool {
        self.entry().can_be_one(En::LOAD_IA32_PAT) && self.exit().can_be_one(Ex::LOAD_IA32_PAT)
    }

    /// "Load IA32_PERF_GLOBAL_CTRL" may be 1 on VM entry and on VM exit.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_perf_global_ctrl(&self) -> bool {
        self.entry().can_be_one(En::LOAD_IA32_PERF_GLOBAL_CTRL)
            && self.exit().can_be_one(Ex::LOAD_IA32_PERF_GLOBAL_CTRL)
    }

    /// "Load IA32_BNDCFGS" (VM entry) and "clear IA32_BNDCFGS" (VM exit) may be 1 (MPX).
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_bndcfgs(&self) -> bool {
        self.entry().can_be_one(En::LOAD_IA32_BNDCFGS)
            && self.exit().can_be_one(Ex::CLEAR_IA32_BNDCFGS)
    }

    /// "Load IA32_RTIT_CTL" (VM entry) and "clear IA32_RTIT_CTL" (VM exit) may be 1.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_rtit_ctl(&self) -> bool {
        self.entry().can_be_one(En::LOAD_IA32_RTIT_CTL)
            && self.exit().can_be_one(Ex::CLEAR_IA32_RTIT_CTL)
    }

    /// "Load guest IA32_LBR_CTL" (VM entry) and "clear IA32_LBR_CTL" (VM exit) may be 1.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_lbr_ctl(&self) -> bool {
        self.entry().can_be_one(En::LOAD_GUEST_IA32_LBR_CTL)
            && self.exit().can_be_one(Ex::CLEAR_IA32_LBR_CTL)
    }

    /// "Load UINV" (VM entry) and "clear UINV" (VM exit) may be 1.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_uinv(&self) -> bool {
        self.entry().can_be_one(En::LOAD_UINV) && self.exit().can_be_one(Ex::CLEAR_UINV)
    }

    /// "Load CET state" may be 1 on VM entry and on VM exit.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_cet_state(&self) -> bool {
        self.entry().can_be_one(En::LOAD_CET_STATE) && self.exit().can_be_one(Ex::LOAD_CET_STATE)
    }

    /// "Load PKRS" may be 1 on VM entry and on VM exit.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_pkrs(&self) -> bool {
        self.entry().can_be_one(En::LOAD_PKRS) && self.exit().can_be_one(Ex::LOAD_PKRS)
    }

    /// FRED state switching: "load FRED" (VM entry), "save FRED" and "load FRED" (secondary
    /// VM exit) may be 1.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_fred(&self) -> bool {
        self.entry().can_be_one(En::LOAD_FRED)
            && self
                .secondary_exit()
                .can_be_one(Ex2::SAVE_FRED | Ex2::LOAD_FRED)
    }

    /// "Load IA32_SPEC_CTRL" may be 1 on VM entry and in the secondary VM-exit controls.
    ///
    /// SDM Vol. 3D Appendix A.
    pub fn has_load_spec_ctrl(&self) -> bool {
        self.entry().can_be_one(En::LOAD_IA32_SPEC_CTRL)
            && self.secondary_exit().can_be_one(Ex2::LOAD_IA32_SPEC_CTRL)
    }

    /// "Save debug controls" (VM exit) and "load debug controls" (VM entry) may both be 0
    /// (default1 controls relaxed by the TRUE MSRs, SDM Vol. 3D §A.4.1, §A.5).
    pub fn has_debug_controls_optional(&self) -> bool {
        self.exit().can_be_zero(Ex::SAVE_DEBUG_CONTROLS)
            && self.entry().can_be_zero(En::LOAD_DEBUG_CONTROLS)
    }

    // ---- IA32_VMX_BASIC (SDM Vol. 3D §A.1) and IA32_VMX_MISC (§A.6) ----

    msr_predicates! {
        /// INS/OUTS VM exits report instruction information (IA32_VMX_BASIC\[54\]).
        has_ins_outs_info => basic().ins_outs_info();
        /// Dual-monitor treatment of SMIs and SMM (IA32_VMX_BASIC\[49\]).
        has_dual_monitor_smm => basic().dual_monitor_smm();
        /// VM entry may deliver a hardware exception with or without an error code whatever
        /// its vector (IA32_VMX_BASIC\[56\]).
        has_no_hw_error_code_check => basic().no_hw_error_code_check();
        /// VMX nested-exception support (IA32_VMX_BASIC\[58\]).
        has_nested_exception => basic().nested_exception();
        /// VM exits store EFER.LMA into "IA-32e mode guest" (IA32_VMX_MISC\[5\]).
        has_store_efer_lma => misc().stores_efer_lma();
        /// The HLT activity state (IA32_VMX_MISC\[6\]).
        has_activity_hlt => misc().activity_hlt();
        /// The shutdown activity state (IA32_VMX_MISC\[7\]).
        has_activity_shutdown => misc().activity_shutdown();
        /// The wait-for-SIPI activity state (IA32_VMX_MISC\[8\]).
        has_activity_wait_for_sipi => misc().activity_wait_for_sipi();
        /// Intel PT usable in VMX operation (IA32_VMX_MISC\[14\]).
        has_intel_pt_in_vmx => misc().intel_pt_in_vmx();
        /// VMWRITE may write any supported field, including the VM-exit information fields
        /// (IA32_VMX_MISC\[29\]).
        has_vmwrite_exit_info => misc().vmwrite_any_field();
        /// Event injection with instruction length 0 (IA32_VMX_MISC\[30\]).
        has_zero_length_injection => misc().zero_length_injection();
    }

    // ---- IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D §A.10) ----

    cap_predicates! {
        /// Execute-only EPT translations.
        has_ept_execute_only => has_ept && EptVpidCap::EXECUTE_ONLY;
        /// EPT page-walk length 4.
        has_ept_4level => has_ept && EptVpidCap::PAGE_WALK_4;
        /// EPT page-walk length 5.
        has_ept_5level => has_ept && EptVpidCap::PAGE_WALK_5;
        /// EPT paging-structure memory type UC.
        has_ept_uc => has_ept && EptVpidCap::MEMORY_TYPE_UC;
        /// EPT paging-structure memory type WB.
        has_ept_wb => has_ept && EptVpidCap::MEMORY_TYPE_WB;
        /// 2-MByte EPT pages.
        has_ept_2m_pages => has_ept && EptVpidCap::PAGE_2M;
        /// 1-GByte EPT pages.
        has_ept_1g_pages => has_ept && EptVpidCap::PAGE_1G;
        /// EPT accessed and dirty flags.
        has_ept_ad => has_ept && EptVpidCap::ACCESSED_DIRTY;
        /// Advanced VM-exit information for EPT violations.
        has_ept_advanced_exit_info => has_ept && EptVpidCap::ADVANCED_EXIT_INFO;
        /// The EPTP supervisor shadow-stack control.
        has_ept_supervisor_shadow_stack => has_ept && EptVpidCap::SUPERVISOR_SHADOW_STACK;
        /// The INVEPT instruction.
        has_invept => has_ept && EptVpidCap::INVEPT;
        /// Single-context INVEPT (type 1).
        has_invept_single_context => has_invept && EptVpidCap::INVEPT_SINGLE_CONTEXT;
        /// All-context INVEPT (type 2).
        has_invept_all_context => has_invept && EptVpidCap::INVEPT_ALL_CONTEXT;
        /// The INVVPID instruction.
        has_invvpid => has_vpid && EptVpidCap::INVVPID;
        /// Individual-address INVVPID (type 0).
        has_invvpid_individual_address =>
            has_invvpid && EptVpidCap::INVVPID_INDIVIDUAL_ADDRESS;
        /// Single-context INVVPID (type 1).
        has_invvpid_single_context => has_invvpid && EptVpidCap::INVVPID_SINGLE_CONTEXT;
        /// All-context INVVPID (type 2).
        has_invvpid_all_context => has_invvpid && EptVpidCap::INVVPID_ALL_CONTEXT;
        /// Single-context-retaining-globals INVVPID (type 3).
        has_invvpid_single_context_retaining_globals =>
            has_invvpid && EptVpidCap::INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS;
    }
}
