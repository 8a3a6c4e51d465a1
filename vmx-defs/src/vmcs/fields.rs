//! One constant per VMCS field, typed by width and access (SDM Vol. 3D Appendix B "Field
//! Encoding in VMCS"; §25.4-§25.9 for what each field holds).
//!
//! Names follow the SDM with a prefix for the area: `CTRL_` VM-execution, VM-exit and
//! VM-entry control fields, `EXIT_` VM-exit information fields (read-only), `GUEST_`
//! guest-state fields and `HOST_` host-state fields. Every constant is also listed, with
//! the same encoding, in [`ALL_FIELDS`](super::ALL_FIELDS); both come from the single list
//! below, and each constant's width and access are checked against its encoding when the
//! crate is compiled.
//!
//! "Exists" says when a processor supports the field (SDM Vol. 3C §25.11.2: VMREAD and
//! VMWRITE of an unsupported field fail with VM-instruction error 12); the same rule is
//! in [`FieldInfo::requirement`](super::FieldInfo::requirement).

use super::VmcsEncoding;
use super::field::{Field, ReadOnly, ReadWrite, W16, W32, W64, WNat};
use super::info::FieldInfo;
use super::requirement::{CpuidFeature, FieldRequirement as R};
use crate::capabilities::VmFuncControls;
use crate::controls::{
    EntryControls, PinBasedControls, PrimaryExitControls, PrimaryProcBasedControls,
    SecondaryExitControls, SecondaryProcBasedControls, TertiaryProcBasedControls,
};

/// Declares every field once: its typed constant (with its documentation), its entry in
/// [`ALL`], and a compile-time check that the constant's width and access agree with the
/// encoding.
macro_rules! vmcs_fields {
    ($(
        $(#[$doc:meta])*
        $name:ident: $width:ident, $access:ident = $encoding:literal, $requirement:expr;
    )*) => {
        $(
            $(#[$doc])*
            pub const $name: Field<$width, $access> = Field::new($encoding);
            const _: () = assert!(
                Field::<$width, $access>::agrees_with($encoding),
                concat!("VMCS field ", stringify!($name), ": width or access disagrees with its encoding"),
            );
        )*

        /// Every field above, in the order of the list (sorted by encoding).
        pub(super) const ALL: &[FieldInfo] = &[
            $(
                FieldInfo {
                    encoding: VmcsEncoding($encoding),
                    name: stringify!($name),
                    requirement: $requirement,
                },
            )*
        ];
    };
}

vmcs_fields! {
    /// Virtual-processor identifier (VPID): tags cached linear translations; must not
    /// be 0 when "enable VPID" is 1.
    ///
    /// Encoding `0x0000`: 16-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Virtual-Processor Identifier (VPID)"; Vol. 3D Appendix B.1.1).
    ///
    /// Exists: if enable VPID (secondary proc-based bit 5).
    CTRL_VPID: W16, ReadWrite = 0x0000, R::Secondary(SecondaryProcBasedControls::ENABLE_VPID);
    /// Posted-interrupt notification vector: an external interrupt with this vector
    /// makes the processor process the posted-interrupt descriptor instead of exiting.
    ///
    /// Encoding `0x0002`: 16-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.1.1).
    ///
    /// Exists: if process posted interrupts (pin-based bit 7).
    CTRL_POSTED_INTERRUPT_NOTIFICATION_VECTOR: W16, ReadWrite = 0x0002, R::Pin(PinBasedControls::PROCESS_POSTED_INTERRUPTS);
    /// EPTP index: index of the current EPTP in the EPTP list, saved into the
    /// virtualization-exception information area on a #VE and updated by EPTP
    /// switching.
    ///
    /// Encoding `0x0004`: 16-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for Virtualization Exceptions"; Vol. 3D Appendix B.1.1).
    ///
    /// Exists: if EPT-violation #VE (secondary bit 18).
    CTRL_EPTP_INDEX: W16, ReadWrite = 0x0004, R::Secondary(SecondaryProcBasedControls::EPT_VIOLATION_VE);
    /// HLAT prefix size: number of high linear-address bits that select HLAT paging
    /// over ordinary paging.
    ///
    /// Encoding `0x0006`: 16-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Fields Related to Hypervisor-Managed Linear-Address Translation";
    /// Vol. 3D Appendix B.1.1).
    ///
    /// Exists: if enable HLAT (tertiary bit 1).
    CTRL_HLAT_PREFIX_SIZE: W16, ReadWrite = 0x0006, R::Tertiary(TertiaryProcBasedControls::ENABLE_HLAT);
    /// Last PID-pointer index: largest valid index into the PID-pointer table used by
    /// IPI virtualization.
    ///
    /// Encoding `0x0008`: 16-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.1.1).
    ///
    /// Exists: if IPI virtualization (tertiary bit 4).
    CTRL_LAST_PID_POINTER_INDEX: W16, ReadWrite = 0x0008, R::Tertiary(TertiaryProcBasedControls::IPI_VIRTUALIZATION);
    /// Virtual timer vector: vector of the virtual interrupt raised when the
    /// virtualized TSC-deadline timer expires (APIC-timer virtualization).
    ///
    /// Encoding `0x000A`: 16-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.1.1).
    ///
    /// Exists: if APIC-timer virtualization (tertiary bit 8).
    ///
    /// Notes: newer than ia32-doc; Bochs VIRTUAL_TIMER_VECTOR; Linux patch series
    /// (2026) GUEST_APIC_TIMER_VECTOR.
    CTRL_VIRTUAL_TIMER_VECTOR: W16, ReadWrite = 0x000A, R::Tertiary(TertiaryProcBasedControls::APIC_TIMER_VIRTUALIZATION);
    /// Guest ES selector.
    ///
    /// Encoding `0x0800`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_ES_SELECTOR: W16, ReadWrite = 0x0800, R::Always;
    /// Guest CS selector.
    ///
    /// Encoding `0x0802`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_CS_SELECTOR: W16, ReadWrite = 0x0802, R::Always;
    /// Guest SS selector.
    ///
    /// Encoding `0x0804`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_SS_SELECTOR: W16, ReadWrite = 0x0804, R::Always;
    /// Guest DS selector.
    ///
    /// Encoding `0x0806`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_DS_SELECTOR: W16, ReadWrite = 0x0806, R::Always;
    /// Guest FS selector.
    ///
    /// Encoding `0x0808`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_FS_SELECTOR: W16, ReadWrite = 0x0808, R::Always;
    /// Guest GS selector.
    ///
    /// Encoding `0x080A`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_GS_SELECTOR: W16, ReadWrite = 0x080A, R::Always;
    /// Guest LDTR selector.
    ///
    /// Encoding `0x080C`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_LDTR_SELECTOR: W16, ReadWrite = 0x080C, R::Always;
    /// Guest TR selector.
    ///
    /// Encoding `0x080E`: 16-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: on every processor with VMX.
    GUEST_TR_SELECTOR: W16, ReadWrite = 0x080E, R::Always;
    /// Guest interrupt status: requesting virtual interrupt (RVI, low byte) and
    /// servicing virtual interrupt (SVI, high byte) of the virtual APIC.
    ///
    /// Encoding `0x0810`: 16-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: if virtual-interrupt delivery (secondary bit 9).
    ///
    /// Notes: low byte RVI, high byte SVI.
    GUEST_INTERRUPT_STATUS: W16, ReadWrite = 0x0810, R::Secondary(SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY);
    /// PML index: next entry of the page-modification log to be written (counts down
    /// from 511).
    ///
    /// Encoding `0x0812`: 16-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: if enable PML (secondary bit 17).
    GUEST_PML_INDEX: W16, ReadWrite = 0x0812, R::Secondary(SecondaryProcBasedControls::ENABLE_PML);
    /// Guest UINV: the user-interrupt notification vector, loaded into or cleared from
    /// the UINV register on transitions.
    ///
    /// Encoding `0x0814`: 16-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.1.2).
    ///
    /// Exists: if clear UINV (primary exit bit 27) or load UINV (entry bit 19).
    GUEST_UINV: W16, ReadWrite = 0x0814, R::AnyOf(&[R::Exit(PrimaryExitControls::CLEAR_UINV), R::Entry(EntryControls::LOAD_UINV)]);
    /// Host ES selector (RPL and TI must be 0).
    ///
    /// Encoding `0x0C00`: 16-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.1.3).
    ///
    /// Exists: on every processor with VMX.
    HOST_ES_SELECTOR: W16, ReadWrite = 0x0C00, R::Always;
    /// Host CS selector (RPL and TI must be 0).
    ///
    /// Encoding `0x0C02`: 16-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.1.3).
    ///
    /// Exists: on every processor with VMX.
    HOST_CS_SELECTOR: W16, ReadWrite = 0x0C02, R::Always;
    /// Host SS selector (RPL and TI must be 0).
    ///
    /// Encoding `0x0C04`: 16-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.1.3).
    ///
    /// Exists: on every processor with VMX.
    HOST_SS_SELECTOR: W16, ReadWrite = 0x0C04, R::Always;
    /// Host DS selector (RPL and TI must be 0).
    ///
    /// Encoding `0x0C06`: 16-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.1.3).
    ///
    /// Exists: on every processor with VMX.
    HOST_DS_SELECTOR: W16, ReadWrite = 0x0C06, R::Always;
    /// Host FS selector (RPL and TI must be 0).
    ///
    /// Encoding `0x0C08`: 16-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.1.3).
    ///
    /// Exists: on every processor with VMX.
    HOST_FS_SELECTOR: W16, ReadWrite = 0x0C08, R::Always;
    /// Host GS selector (RPL and TI must be 0).
    ///
    /// Encoding `0x0C0A`: 16-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.1.3).
    ///
    /// Exists: on every processor with VMX.
    HOST_GS_SELECTOR: W16, ReadWrite = 0x0C0A, R::Always;
    /// Host TR selector (RPL and TI must be 0).
    ///
    /// Encoding `0x0C0C`: 16-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.1.3).
    ///
    /// Exists: on every processor with VMX.
    HOST_TR_SELECTOR: W16, ReadWrite = 0x0C0C, R::Always;
    /// Physical address of I/O bitmap A (ports 0000H-7FFFH), 4-KByte aligned.
    ///
    /// Encoding `0x2000`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "I/O-Bitmap Addresses"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_IO_BITMAP_A_ADDRESS: W64, ReadWrite = 0x2000, R::Always;
    /// Physical address of I/O bitmap B (ports 8000H-FFFFH), 4-KByte aligned.
    ///
    /// Encoding `0x2002`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "I/O-Bitmap Addresses"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_IO_BITMAP_B_ADDRESS: W64, ReadWrite = 0x2002, R::Always;
    /// Physical address of the 4-KByte MSR bitmaps (read low, read high, write low,
    /// write high).
    ///
    /// Encoding `0x2004`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "MSR-Bitmap Address"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if use MSR bitmaps (primary proc-based bit 28).
    ///
    /// Notes: Bochs treats as always present; ia32-doc gives no condition (comment
    /// "Optional").
    CTRL_MSR_BITMAP_ADDRESS: W64, ReadWrite = 0x2004, R::Primary(PrimaryProcBasedControls::USE_MSR_BITMAPS);
    /// Physical address of the VM-exit MSR-store area (16-byte entries, 16-byte
    /// aligned).
    ///
    /// Encoding `0x2006`: 64-bit control field (SDM Vol. 3C §25.7.2 "VM-Exit Controls
    /// for MSRs"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMEXIT_MSR_STORE_ADDRESS: W64, ReadWrite = 0x2006, R::Always;
    /// Physical address of the VM-exit MSR-load area (16-byte entries, 16-byte
    /// aligned).
    ///
    /// Encoding `0x2008`: 64-bit control field (SDM Vol. 3C §25.7.2 "VM-Exit Controls
    /// for MSRs"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMEXIT_MSR_LOAD_ADDRESS: W64, ReadWrite = 0x2008, R::Always;
    /// Physical address of the VM-entry MSR-load area (16-byte entries, 16-byte
    /// aligned).
    ///
    /// Encoding `0x200A`: 64-bit control field (SDM Vol. 3C §25.8.2 "VM-Entry Controls
    /// for MSRs"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMENTRY_MSR_LOAD_ADDRESS: W64, ReadWrite = 0x200A, R::Always;
    /// Executive-VMCS pointer: used by the dual-monitor treatment of SMIs and SMM (SMM
    /// VM exits).
    ///
    /// Encoding `0x200C`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Executive-VMCS Pointer"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: used by dual-monitor treatment of SMIs/SMM (IA32_VMX_BASIC\[49\]); Bochs
    /// always present; not in Linux vmx.h.
    CTRL_EXECUTIVE_VMCS_POINTER: W64, ReadWrite = 0x200C, R::Always;
    /// Physical address of the 4-KByte page-modification log.
    ///
    /// Encoding `0x200E`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Control Field for Page-Modification Logging"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable PML (secondary bit 17).
    CTRL_PML_ADDRESS: W64, ReadWrite = 0x200E, R::Secondary(SecondaryProcBasedControls::ENABLE_PML);
    /// TSC offset added to the time-stamp counter read by the guest when "use TSC
    /// offsetting" is 1.
    ///
    /// Encoding `0x2010`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Time-Stamp Counter Offset and Multiplier"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_TSC_OFFSET: W64, ReadWrite = 0x2010, R::Always;
    /// Physical address of the 4-KByte virtual-APIC page.
    ///
    /// Encoding `0x2012`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if use TPR shadow (primary proc-based bit 21).
    CTRL_VIRTUAL_APIC_ADDRESS: W64, ReadWrite = 0x2012, R::Primary(PrimaryProcBasedControls::USE_TPR_SHADOW);
    /// Physical address of the 4-KByte APIC-access page.
    ///
    /// Encoding `0x2014`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if virtualize APIC accesses (secondary bit 0).
    CTRL_APIC_ACCESS_ADDRESS: W64, ReadWrite = 0x2014, R::Secondary(SecondaryProcBasedControls::VIRTUALIZE_APIC_ACCESSES);
    /// Physical address of the 64-byte posted-interrupt descriptor.
    ///
    /// Encoding `0x2016`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if process posted interrupts (pin-based bit 7).
    CTRL_POSTED_INTERRUPT_DESCRIPTOR_ADDRESS: W64, ReadWrite = 0x2016, R::Pin(PinBasedControls::PROCESS_POSTED_INTERRUPTS);
    /// VM-function controls: which VM functions VMFUNC may invoke (bit 0: EPTP
    /// switching).
    ///
    /// Encoding `0x2018`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "VM-Function Controls"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable VM functions (secondary bit 13).
    CTRL_VM_FUNCTION_CONTROLS: W64, ReadWrite = 0x2018, R::Secondary(SecondaryProcBasedControls::ENABLE_VM_FUNCTIONS);
    /// Extended-page-table pointer (EPTP): EPT PML4/PML5 table address, memory type,
    /// walk length, A/D enable.
    ///
    /// Encoding `0x201A`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Extended-Page-Table Pointer (EPTP)"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable EPT (secondary bit 1).
    CTRL_EPT_POINTER: W64, ReadWrite = 0x201A, R::Secondary(SecondaryProcBasedControls::ENABLE_EPT);
    /// EOI-exit bitmap 0: vectors 0-63; a set bit makes a virtualized EOI for that
    /// vector cause a VM exit.
    ///
    /// Encoding `0x201C`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if virtual-interrupt delivery (secondary bit 9).
    ///
    /// Notes: vectors 0-63.
    CTRL_EOI_EXIT_BITMAP_0: W64, ReadWrite = 0x201C, R::Secondary(SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY);
    /// EOI-exit bitmap 1: vectors 64-127; a set bit makes a virtualized EOI for that
    /// vector cause a VM exit.
    ///
    /// Encoding `0x201E`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if virtual-interrupt delivery (secondary bit 9).
    ///
    /// Notes: vectors 64-127.
    CTRL_EOI_EXIT_BITMAP_1: W64, ReadWrite = 0x201E, R::Secondary(SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY);
    /// EOI-exit bitmap 2: vectors 128-191; a set bit makes a virtualized EOI for that
    /// vector cause a VM exit.
    ///
    /// Encoding `0x2020`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if virtual-interrupt delivery (secondary bit 9).
    ///
    /// Notes: vectors 128-191.
    CTRL_EOI_EXIT_BITMAP_2: W64, ReadWrite = 0x2020, R::Secondary(SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY);
    /// EOI-exit bitmap 3: vectors 192-255; a set bit makes a virtualized EOI for that
    /// vector cause a VM exit.
    ///
    /// Encoding `0x2022`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if virtual-interrupt delivery (secondary bit 9).
    ///
    /// Notes: vectors 192-255.
    CTRL_EOI_EXIT_BITMAP_3: W64, ReadWrite = 0x2022, R::Secondary(SecondaryProcBasedControls::VIRTUAL_INTERRUPT_DELIVERY);
    /// Physical address of the 4-KByte EPTP list (512 EPTPs) used by the EPTP-switching
    /// VM function.
    ///
    /// Encoding `0x2024`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "VM-Function Controls"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if EPTP switching VM function (IA32_VMX_VMFUNC bit 0).
    CTRL_EPTP_LIST_ADDRESS: W64, ReadWrite = 0x2024, R::VmFunction(VmFuncControls::EPTP_SWITCHING);
    /// Physical address of the 4-KByte VMREAD bitmap (VMCS shadowing).
    ///
    /// Encoding `0x2026`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "VMCS Shadowing Bitmap Addresses"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if VMCS shadowing (secondary bit 14).
    CTRL_VMREAD_BITMAP_ADDRESS: W64, ReadWrite = 0x2026, R::Secondary(SecondaryProcBasedControls::VMCS_SHADOWING);
    /// Physical address of the 4-KByte VMWRITE bitmap (VMCS shadowing).
    ///
    /// Encoding `0x2028`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "VMCS Shadowing Bitmap Addresses"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if VMCS shadowing (secondary bit 14).
    CTRL_VMWRITE_BITMAP_ADDRESS: W64, ReadWrite = 0x2028, R::Secondary(SecondaryProcBasedControls::VMCS_SHADOWING);
    /// Physical address of the 4-KByte virtualization-exception information area (#VE).
    ///
    /// Encoding `0x202A`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for Virtualization Exceptions"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if EPT-violation #VE (secondary bit 18).
    CTRL_VIRTUALIZATION_EXCEPTION_INFO_ADDRESS: W64, ReadWrite = 0x202A, R::Secondary(SecondaryProcBasedControls::EPT_VIOLATION_VE);
    /// XSS-exiting bitmap: XSAVES/XRSTORS exit if a set bit of IA32_XSS AND EDX:EAX
    /// matches.
    ///
    /// Encoding `0x202C`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "XSS-Exiting Bitmap"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable XSAVES/XRSTORS (secondary bit 20).
    CTRL_XSS_EXITING_BITMAP: W64, ReadWrite = 0x202C, R::Secondary(SecondaryProcBasedControls::ENABLE_XSAVES_XRSTORS);
    /// ENCLS-exiting bitmap: one bit per ENCLS leaf (bit 63 for leaves 63 and above).
    ///
    /// Encoding `0x202E`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "ENCLS-Exiting Bitmap"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable ENCLS exiting (secondary bit 15).
    CTRL_ENCLS_EXITING_BITMAP: W64, ReadWrite = 0x202E, R::Secondary(SecondaryProcBasedControls::ENABLE_ENCLS_EXITING);
    /// Sub-page-permission-table pointer (SPPTP) for EPT sub-page write permissions.
    ///
    /// Encoding `0x2030`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Sub-Page-Permission-Table Pointer (SPPTP)"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if sub-page write permissions for EPT (secondary bit 23).
    CTRL_SUB_PAGE_PERMISSION_TABLE_POINTER: W64, ReadWrite = 0x2030, R::Secondary(SecondaryProcBasedControls::SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT);
    /// TSC multiplier (fixed point, 48 fractional bits) applied to guest reads of the
    /// TSC when "use TSC scaling" is 1.
    ///
    /// Encoding `0x2032`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Time-Stamp Counter Offset and Multiplier"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if use TSC scaling (secondary bit 25).
    CTRL_TSC_MULTIPLIER: W64, ReadWrite = 0x2032, R::Secondary(SecondaryProcBasedControls::USE_TSC_SCALING);
    /// Tertiary processor-based VM-execution controls (see
    /// [`TertiaryProcBasedControls`]).
    ///
    /// Encoding `0x2034`: 64-bit control field (SDM Vol. 3C §25.6.2 "Processor-Based
    /// VM-Execution Controls"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if activate tertiary controls (primary proc-based bit 17).
    CTRL_TERTIARY_PROC_BASED_EXEC_CONTROLS: W64, ReadWrite = 0x2034, R::Primary(PrimaryProcBasedControls::ACTIVATE_TERTIARY_CONTROLS);
    /// ENCLV-exiting bitmap: one bit per ENCLV leaf (bit 63 for leaves 63 and above).
    ///
    /// Encoding `0x2036`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "ENCLV-Exiting Bitmap"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable ENCLV exiting (secondary bit 28).
    CTRL_ENCLV_EXITING_BITMAP: W64, ReadWrite = 0x2036, R::Secondary(SecondaryProcBasedControls::ENABLE_ENCLV_EXITING);
    /// Low PASID directory address (PASIDs 0-7FFFFH) for PASID translation.
    ///
    /// Encoding `0x2038`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Fields Related to PASID Translation"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if PASID translation (secondary bit 21).
    CTRL_LOW_PASID_DIRECTORY_ADDRESS: W64, ReadWrite = 0x2038, R::Secondary(SecondaryProcBasedControls::PASID_TRANSLATION);
    /// High PASID directory address (PASIDs 80000H-FFFFFH) for PASID translation.
    ///
    /// Encoding `0x203A`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Fields Related to PASID Translation"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if PASID translation (secondary bit 21).
    CTRL_HIGH_PASID_DIRECTORY_ADDRESS: W64, ReadWrite = 0x203A, R::Secondary(SecondaryProcBasedControls::PASID_TRANSLATION);
    /// Shared-EPT pointer: EPT for shared (unencrypted) guest-physical memory of a TD;
    /// exists only in VMCSs of the Intel TDX module (SEAM).
    ///
    /// Encoding `0x203C`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Extended-Page-Table Pointer (EPTP)"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if SEAM (TDX module VMCS) only.
    ///
    /// Notes: ia32-doc SHARED_EPTP, Bochs SEAM_SHARED_EPT_POINTER, TDX
    /// GUEST_SHARED_EPT_POINTER, Linux SHARED_EPT_POINTER.
    CTRL_SHARED_EPT_POINTER: W64, ReadWrite = 0x203C, R::SeamOnly;
    /// PCONFIG-exiting bitmap: one bit per PCONFIG leaf (bit 63 for leaves 63 and
    /// above).
    ///
    /// Encoding `0x203E`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "PCONFIG-Exiting Bitmap"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable PCONFIG (secondary bit 27).
    CTRL_PCONFIG_EXITING_BITMAP: W64, ReadWrite = 0x203E, R::Secondary(SecondaryProcBasedControls::ENABLE_PCONFIG);
    /// HLAT pointer (HLATP): root of the hypervisor-managed linear-address translation
    /// paging structures.
    ///
    /// Encoding `0x2040`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Fields Related to Hypervisor-Managed Linear-Address Translation";
    /// Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if enable HLAT (tertiary bit 1).
    CTRL_HLAT_POINTER: W64, ReadWrite = 0x2040, R::Tertiary(TertiaryProcBasedControls::ENABLE_HLAT);
    /// Physical address of the PID-pointer table used by IPI virtualization.
    ///
    /// Encoding `0x2042`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if IPI virtualization (tertiary bit 4).
    CTRL_PID_POINTER_TABLE_ADDRESS: W64, ReadWrite = 0x2042, R::Tertiary(TertiaryProcBasedControls::IPI_VIRTUALIZATION);
    /// Secondary VM-exit controls (see [`SecondaryExitControls`]).
    ///
    /// Encoding `0x2044`: 64-bit control field (SDM Vol. 3C §25.7.1 "VM-Exit Controls";
    /// Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if activate secondary controls (primary VM-exit bit 31).
    CTRL_SECONDARY_VMEXIT_CONTROLS: W64, ReadWrite = 0x2044, R::Exit(PrimaryExitControls::ACTIVATE_SECONDARY_CONTROLS);
    /// IA32_SPEC_CTRL mask: bits of IA32_SPEC_CTRL the guest cannot modify.
    ///
    /// Encoding `0x204A`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Fields Controlling Virtualization of the IA32_SPEC_CTRL MSR"; Vol. 3D Appendix
    /// B.2.1).
    ///
    /// Exists: if virtualize IA32_SPEC_CTRL (tertiary bit 7).
    CTRL_IA32_SPEC_CTRL_MASK: W64, ReadWrite = 0x204A, R::Tertiary(TertiaryProcBasedControls::VIRTUALIZE_IA32_SPEC_CTRL);
    /// IA32_SPEC_CTRL shadow: the value the guest reads from IA32_SPEC_CTRL.
    ///
    /// Encoding `0x204C`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Fields Controlling Virtualization of the IA32_SPEC_CTRL MSR"; Vol. 3D Appendix
    /// B.2.1).
    ///
    /// Exists: if virtualize IA32_SPEC_CTRL (tertiary bit 7).
    CTRL_IA32_SPEC_CTRL_SHADOW: W64, ReadWrite = 0x204C, R::Tertiary(TertiaryProcBasedControls::VIRTUALIZE_IA32_SPEC_CTRL);
    /// Guest deadline shadow: the TSC-deadline value the guest reads (APIC-timer
    /// virtualization).
    ///
    /// Encoding `0x204E`: 64-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if APIC-timer virtualization (tertiary bit 8).
    ///
    /// Notes: newer than ia32-doc; Bochs GUEST_DEADLINE_SHADOW; Linux patch series
    /// GUEST_DEADLINE_VIR.
    CTRL_GUEST_DEADLINE_SHADOW: W64, ReadWrite = 0x204E, R::Tertiary(TertiaryProcBasedControls::APIC_TIMER_VIRTUALIZATION);
    /// Injected-event data: the event data (e.g. CR2 or DR6 payload) delivered with an
    /// event injected by VM entry when FRED is enabled in the guest.
    ///
    /// Encoding `0x2052`: 64-bit control field (SDM Vol. 3C §25.8.3 "VM-Entry Controls
    /// for Event Injection"; Vol. 3D Appendix B.2.1).
    ///
    /// Exists: if FRED supported (CPUID.(EAX=7,ECX=1):EAX\[17\]).
    ///
    /// Notes: newer than ia32-doc (FRED); Bochs + Linux INJECTED_EVENT_DATA; exists-if
    /// from Bochs/Linux feature gating.
    CTRL_INJECTED_EVENT_DATA: W64, ReadWrite = 0x2052, R::Cpuid(CpuidFeature::FRED);
    /// Guest-physical address of the access that caused an EPT violation or EPT
    /// misconfiguration (and some APIC-access exits).
    ///
    /// Encoding `0x2400`: 64-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.1 "Basic VM-Exit Information"; Vol. 3D Appendix B.2.2).
    ///
    /// Exists: if enable EPT (secondary bit 1).
    EXIT_GUEST_PHYSICAL_ADDRESS: W64, ReadOnly = 0x2400, R::Secondary(SecondaryProcBasedControls::ENABLE_EPT);
    /// MSR data reported on VM exits caused by RDMSRLIST/WRMSRLIST (MSR-list
    /// instructions).
    ///
    /// Encoding `0x2402`: 64-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.4 "Information for VM Exits Due to Instruction Execution"; Vol. 3D Appendix
    /// B.2.2).
    ///
    /// Exists: if MSR-list instructions (RDMSRLIST/WRMSRLIST; tertiary bit 6).
    ///
    /// Notes: SINGLE SOURCE; ONLY in Bochs master (MSRLIST); TDX module names 0x2402
    /// RSVD_64_BIT_VMEXIT_DATA; not in ia32-doc/Linux.
    EXIT_MSR_DATA: W64, ReadOnly = 0x2402, R::Tertiary(TertiaryProcBasedControls::ENABLE_MSR_LIST_INSTRUCTIONS);
    /// Original-event data: the event data of the event being delivered when the VM
    /// exit occurred (FRED).
    ///
    /// Encoding `0x2404`: 64-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.3 "Information for VM Exits That Occur During Event Delivery"; Vol. 3D Appendix
    /// B.2.2).
    ///
    /// Exists: if FRED supported (CPUID.(EAX=7,ECX=1):EAX\[17\]).
    ///
    /// Notes: newer than ia32-doc (FRED); Bochs + Linux ORIGINAL_EVENT_DATA.
    EXIT_ORIGINAL_EVENT_DATA: W64, ReadOnly = 0x2404, R::Cpuid(CpuidFeature::FRED);
    /// Extended VM-exit instruction information: the instruction-information format
    /// that can name the APX extended general-purpose registers (R16-R31).
    ///
    /// Encoding `0x2406`: 64-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.4 "Information for VM Exits Due to Instruction Execution"; Vol. 3D Appendix
    /// B.2.2).
    ///
    /// Exists: if APX (extended GPRs) supported.
    ///
    /// Notes: SINGLE SOURCE; newer than ia32-doc; ONLY in Linux APX patch series
    /// (EXTENDED_INSTRUCTION_INFO); not in Bochs master.
    EXIT_EXTENDED_INSTRUCTION_INFO: W64, ReadOnly = 0x2406, R::Cpuid(CpuidFeature::APX);
    /// VMCS link pointer: the shadow VMCS when "VMCS shadowing" is 1; otherwise must be
    /// FFFFFFFF_FFFFFFFFH for VM entry to succeed.
    ///
    /// Encoding `0x2800`: 64-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_VMCS_LINK_POINTER: W64, ReadWrite = 0x2800, R::Always;
    /// Guest IA32_DEBUGCTL MSR.
    ///
    /// Encoding `0x2802`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_IA32_DEBUGCTL: W64, ReadWrite = 0x2802, R::Always;
    /// Guest IA32_PAT MSR.
    ///
    /// Encoding `0x2804`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load IA32_PAT (entry bit 14) or save IA32_PAT (exit bit 18).
    GUEST_IA32_PAT: W64, ReadWrite = 0x2804, R::AnyOf(&[R::Entry(EntryControls::LOAD_IA32_PAT), R::Exit(PrimaryExitControls::SAVE_IA32_PAT)]);
    /// Guest IA32_EFER MSR.
    ///
    /// Encoding `0x2806`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load IA32_EFER (entry bit 15) or save IA32_EFER (exit bit 20).
    GUEST_IA32_EFER: W64, ReadWrite = 0x2806, R::AnyOf(&[R::Entry(EntryControls::LOAD_IA32_EFER), R::Exit(PrimaryExitControls::SAVE_IA32_EFER)]);
    /// Guest IA32_PERF_GLOBAL_CTRL MSR.
    ///
    /// Encoding `0x2808`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load IA32_PERF_GLOBAL_CTRL (entry bit 13) or save
    /// IA32_PERF_GLOBAL_CTL (exit bit 30).
    GUEST_IA32_PERF_GLOBAL_CTRL: W64, ReadWrite = 0x2808, R::AnyOf(&[R::Entry(EntryControls::LOAD_IA32_PERF_GLOBAL_CTRL), R::Exit(PrimaryExitControls::SAVE_IA32_PERF_GLOBAL_CTL)]);
    /// Guest PDPTE0: page-directory-pointer-table entry 0 used with EPT in PAE paging
    /// mode.
    ///
    /// Encoding `0x280A`: 64-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if enable EPT (secondary bit 1).
    GUEST_PDPTE0: W64, ReadWrite = 0x280A, R::Secondary(SecondaryProcBasedControls::ENABLE_EPT);
    /// Guest PDPTE1: page-directory-pointer-table entry 1 used with EPT in PAE paging
    /// mode.
    ///
    /// Encoding `0x280C`: 64-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if enable EPT (secondary bit 1).
    GUEST_PDPTE1: W64, ReadWrite = 0x280C, R::Secondary(SecondaryProcBasedControls::ENABLE_EPT);
    /// Guest PDPTE2: page-directory-pointer-table entry 2 used with EPT in PAE paging
    /// mode.
    ///
    /// Encoding `0x280E`: 64-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if enable EPT (secondary bit 1).
    GUEST_PDPTE2: W64, ReadWrite = 0x280E, R::Secondary(SecondaryProcBasedControls::ENABLE_EPT);
    /// Guest PDPTE3: page-directory-pointer-table entry 3 used with EPT in PAE paging
    /// mode.
    ///
    /// Encoding `0x2810`: 64-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if enable EPT (secondary bit 1).
    GUEST_PDPTE3: W64, ReadWrite = 0x2810, R::Secondary(SecondaryProcBasedControls::ENABLE_EPT);
    /// Guest IA32_BNDCFGS MSR (MPX).
    ///
    /// Encoding `0x2812`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load IA32_BNDCFGS (entry bit 16) or clear IA32_BNDCFGS (exit bit 23).
    GUEST_IA32_BNDCFGS: W64, ReadWrite = 0x2812, R::AnyOf(&[R::Entry(EntryControls::LOAD_IA32_BNDCFGS), R::Exit(PrimaryExitControls::CLEAR_IA32_BNDCFGS)]);
    /// Guest IA32_RTIT_CTL MSR (Intel PT).
    ///
    /// Encoding `0x2814`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load IA32_RTIT_CTL (entry bit 18) or clear IA32_RTIT_CTL (exit bit
    /// 25).
    GUEST_IA32_RTIT_CTL: W64, ReadWrite = 0x2814, R::AnyOf(&[R::Entry(EntryControls::LOAD_IA32_RTIT_CTL), R::Exit(PrimaryExitControls::CLEAR_IA32_RTIT_CTL)]);
    /// Guest IA32_LBR_CTL MSR (architectural LBRs).
    ///
    /// Encoding `0x2816`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load guest IA32_LBR_CTL (entry bit 21) or clear IA32_LBR_CTL (exit
    /// bit 26).
    ///
    /// Notes: not defined in Bochs master vmx.h (gap at 0x2816); confirmed by ia32-doc
    /// and TDX module.
    GUEST_IA32_LBR_CTL: W64, ReadWrite = 0x2816, R::AnyOf(&[R::Entry(EntryControls::LOAD_GUEST_IA32_LBR_CTL), R::Exit(PrimaryExitControls::CLEAR_IA32_LBR_CTL)]);
    /// Guest IA32_PKRS MSR (protection keys for supervisor pages).
    ///
    /// Encoding `0x2818`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load PKRS (entry bit 22).
    GUEST_IA32_PKRS: W64, ReadWrite = 0x2818, R::Entry(EntryControls::LOAD_PKRS);
    /// Guest IA32_FRED_CONFIG MSR (FRED).
    ///
    /// Encoding `0x281A`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED).
    GUEST_IA32_FRED_CONFIG: W64, ReadWrite = 0x281A, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_FRED_RSP1 MSR (FRED).
    ///
    /// Encoding `0x281C`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED).
    GUEST_IA32_FRED_RSP1: W64, ReadWrite = 0x281C, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_FRED_RSP2 MSR (FRED).
    ///
    /// Encoding `0x281E`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED).
    GUEST_IA32_FRED_RSP2: W64, ReadWrite = 0x281E, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_FRED_RSP3 MSR (FRED).
    ///
    /// Encoding `0x2820`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED).
    GUEST_IA32_FRED_RSP3: W64, ReadWrite = 0x2820, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_FRED_STKLVLS MSR (FRED).
    ///
    /// Encoding `0x2822`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED); Bochs name FRED_STACK_LEVELS.
    GUEST_IA32_FRED_STKLVLS: W64, ReadWrite = 0x2822, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_FRED_SSP1 MSR (FRED).
    ///
    /// Encoding `0x2824`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED).
    GUEST_IA32_FRED_SSP1: W64, ReadWrite = 0x2824, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_FRED_SSP2 MSR (FRED).
    ///
    /// Encoding `0x2826`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED).
    GUEST_IA32_FRED_SSP2: W64, ReadWrite = 0x2826, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_FRED_SSP3 MSR (FRED).
    ///
    /// Encoding `0x2828`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load FRED (entry bit 23) or save FRED (secondary exit bit 0).
    ///
    /// Notes: newer than ia32-doc (FRED).
    GUEST_IA32_FRED_SSP3: W64, ReadWrite = 0x2828, R::AnyOf(&[R::Entry(EntryControls::LOAD_FRED), R::SecondaryExit(SecondaryExitControls::SAVE_FRED)]);
    /// Guest IA32_SPEC_CTRL MSR.
    ///
    /// Encoding `0x282E`: 64-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if load IA32_SPEC_CTRL (entry bit 24).
    ///
    /// Notes: SINGLE SOURCE; newer than ia32-doc; ONLY in Bochs master
    /// (MSR_IA32_SPEC_CTRL virtualization); exists-if inferred from Bochs entry bit 24.
    GUEST_IA32_SPEC_CTRL: W64, ReadWrite = 0x282E, R::Entry(EntryControls::LOAD_IA32_SPEC_CTRL);
    /// Guest deadline: the physical TSC deadline of the virtualized TSC-deadline timer
    /// (APIC-timer virtualization).
    ///
    /// Encoding `0x2830`: 64-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.2.3).
    ///
    /// Exists: if APIC-timer virtualization (tertiary bit 8).
    ///
    /// Notes: newer than ia32-doc; Bochs GUEST_DEADLINE; Linux patch series
    /// GUEST_DEADLINE_PHY.
    GUEST_DEADLINE: W64, ReadWrite = 0x2830, R::Tertiary(TertiaryProcBasedControls::APIC_TIMER_VIRTUALIZATION);
    /// Host IA32_PAT MSR.
    ///
    /// Encoding `0x2C00`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load IA32_PAT (exit bit 19).
    HOST_IA32_PAT: W64, ReadWrite = 0x2C00, R::Exit(PrimaryExitControls::LOAD_IA32_PAT);
    /// Host IA32_EFER MSR.
    ///
    /// Encoding `0x2C02`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load IA32_EFER (exit bit 21).
    HOST_IA32_EFER: W64, ReadWrite = 0x2C02, R::Exit(PrimaryExitControls::LOAD_IA32_EFER);
    /// Host IA32_PERF_GLOBAL_CTRL MSR.
    ///
    /// Encoding `0x2C04`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load IA32_PERF_GLOBAL_CTRL (exit bit 12).
    HOST_IA32_PERF_GLOBAL_CTRL: W64, ReadWrite = 0x2C04, R::Exit(PrimaryExitControls::LOAD_IA32_PERF_GLOBAL_CTRL);
    /// Host IA32_PKRS MSR.
    ///
    /// Encoding `0x2C06`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load PKRS (exit bit 29).
    HOST_IA32_PKRS: W64, ReadWrite = 0x2C06, R::Exit(PrimaryExitControls::LOAD_PKRS);
    /// Host IA32_FRED_CONFIG MSR (FRED).
    ///
    /// Encoding `0x2C08`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED).
    HOST_IA32_FRED_CONFIG: W64, ReadWrite = 0x2C08, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_FRED_RSP1 MSR (FRED).
    ///
    /// Encoding `0x2C0A`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED).
    HOST_IA32_FRED_RSP1: W64, ReadWrite = 0x2C0A, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_FRED_RSP2 MSR (FRED).
    ///
    /// Encoding `0x2C0C`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED).
    HOST_IA32_FRED_RSP2: W64, ReadWrite = 0x2C0C, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_FRED_RSP3 MSR (FRED).
    ///
    /// Encoding `0x2C0E`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED).
    HOST_IA32_FRED_RSP3: W64, ReadWrite = 0x2C0E, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_FRED_STKLVLS MSR (FRED).
    ///
    /// Encoding `0x2C10`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED); Bochs name FRED_STACK_LEVELS.
    HOST_IA32_FRED_STKLVLS: W64, ReadWrite = 0x2C10, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_FRED_SSP1 MSR (FRED).
    ///
    /// Encoding `0x2C12`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED).
    HOST_IA32_FRED_SSP1: W64, ReadWrite = 0x2C12, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_FRED_SSP2 MSR (FRED).
    ///
    /// Encoding `0x2C14`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED).
    HOST_IA32_FRED_SSP2: W64, ReadWrite = 0x2C14, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_FRED_SSP3 MSR (FRED).
    ///
    /// Encoding `0x2C16`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load FRED (secondary exit bit 1).
    ///
    /// Notes: newer than ia32-doc (FRED).
    HOST_IA32_FRED_SSP3: W64, ReadWrite = 0x2C16, R::SecondaryExit(SecondaryExitControls::LOAD_FRED);
    /// Host IA32_SPEC_CTRL MSR.
    ///
    /// Encoding `0x2C1A`: 64-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.2.4).
    ///
    /// Exists: if load IA32_SPEC_CTRL (secondary exit bit 2).
    ///
    /// Notes: SINGLE SOURCE; newer than ia32-doc; ONLY in Bochs master; exists-if
    /// inferred from Bochs secondary-exit bit 2.
    HOST_IA32_SPEC_CTRL: W64, ReadWrite = 0x2C1A, R::SecondaryExit(SecondaryExitControls::LOAD_IA32_SPEC_CTRL);
    /// Pin-based VM-execution controls (see [`PinBasedControls`]).
    ///
    /// Encoding `0x4000`: 32-bit control field (SDM Vol. 3C §25.6.1 "Pin-Based
    /// VM-Execution Controls"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_PIN_BASED_EXEC_CONTROLS: W32, ReadWrite = 0x4000, R::Always;
    /// Primary processor-based VM-execution controls (see
    /// [`PrimaryProcBasedControls`]).
    ///
    /// Encoding `0x4002`: 32-bit control field (SDM Vol. 3C §25.6.2 "Processor-Based
    /// VM-Execution Controls"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_PRIMARY_PROC_BASED_EXEC_CONTROLS: W32, ReadWrite = 0x4002, R::Always;
    /// Exception bitmap: bit N set makes exception vector N cause a VM exit (#PF
    /// further filtered by the error-code mask/match).
    ///
    /// Encoding `0x4004`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Exception Bitmap"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_EXCEPTION_BITMAP: W32, ReadWrite = 0x4004, R::Always;
    /// Page-fault error-code mask: ANDed with a #PF error code before comparing with
    /// the match value.
    ///
    /// Encoding `0x4006`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Exception Bitmap"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_PAGE_FAULT_ERROR_CODE_MASK: W32, ReadWrite = 0x4006, R::Always;
    /// Page-fault error-code match: with bit 14 of the exception bitmap set, a #PF
    /// exits if (error code AND mask) equals this value; with bit 14 clear, if it
    /// differs.
    ///
    /// Encoding `0x4008`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Exception Bitmap"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: HyveMind header at one commit had MATCH=0x4006 (typo); newest HyveMind
    /// and all others 0x4008.
    CTRL_PAGE_FAULT_ERROR_CODE_MATCH: W32, ReadWrite = 0x4008, R::Always;
    /// CR3-target count: how many of the CR3-target values are used (0-4; IA32_VMX_MISC
    /// bits 24:16 give the supported number).
    ///
    /// Encoding `0x400A`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "CR3-Target Controls"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR3_TARGET_COUNT: W32, ReadWrite = 0x400A, R::Always;
    /// Primary VM-exit controls (see [`PrimaryExitControls`]).
    ///
    /// Encoding `0x400C`: 32-bit control field (SDM Vol. 3C §25.7.1 "VM-Exit Controls";
    /// Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_PRIMARY_VMEXIT_CONTROLS: W32, ReadWrite = 0x400C, R::Always;
    /// VM-exit MSR-store count: number of MSRs stored into the VM-exit MSR-store area
    /// on VM exit.
    ///
    /// Encoding `0x400E`: 32-bit control field (SDM Vol. 3C §25.7.2 "VM-Exit Controls
    /// for MSRs"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMEXIT_MSR_STORE_COUNT: W32, ReadWrite = 0x400E, R::Always;
    /// VM-exit MSR-load count: number of MSRs loaded from the VM-exit MSR-load area on
    /// VM exit.
    ///
    /// Encoding `0x4010`: 32-bit control field (SDM Vol. 3C §25.7.2 "VM-Exit Controls
    /// for MSRs"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMEXIT_MSR_LOAD_COUNT: W32, ReadWrite = 0x4010, R::Always;
    /// VM-entry controls (see [`EntryControls`]).
    ///
    /// Encoding `0x4012`: 32-bit control field (SDM Vol. 3C §25.8.1 "VM-Entry
    /// Controls"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMENTRY_CONTROLS: W32, ReadWrite = 0x4012, R::Always;
    /// VM-entry MSR-load count: number of MSRs loaded from the VM-entry MSR-load area
    /// on VM entry.
    ///
    /// Encoding `0x4014`: 32-bit control field (SDM Vol. 3C §25.8.2 "VM-Entry Controls
    /// for MSRs"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMENTRY_MSR_LOAD_COUNT: W32, ReadWrite = 0x4014, R::Always;
    /// VM-entry interruption-information field (injected-event identification): vector,
    /// type, deliver-error-code and valid bits of the event injected by VM entry.
    ///
    /// Encoding `0x4016`: 32-bit control field (SDM Vol. 3C §25.8.3 "VM-Entry Controls
    /// for Event Injection"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: HyveMind/newer SDM name: injected-event identification.
    CTRL_VMENTRY_INTERRUPTION_INFO: W32, ReadWrite = 0x4016, R::Always;
    /// VM-entry exception error code (injected-event error code), delivered when the
    /// interruption information requests it.
    ///
    /// Encoding `0x4018`: 32-bit control field (SDM Vol. 3C §25.8.3 "VM-Entry Controls
    /// for Event Injection"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: HyveMind: injected-event error code.
    CTRL_VMENTRY_EXCEPTION_ERROR_CODE: W32, ReadWrite = 0x4018, R::Always;
    /// VM-entry instruction length: length of the instruction for injected software
    /// interrupts, software exceptions and privileged software exceptions.
    ///
    /// Encoding `0x401A`: 32-bit control field (SDM Vol. 3C §25.8.3 "VM-Entry Controls
    /// for Event Injection"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_VMENTRY_INSTRUCTION_LENGTH: W32, ReadWrite = 0x401A, R::Always;
    /// TPR threshold: bits 3:0 are compared with bits 7:4 of VTPR; a lower VTPR causes
    /// a TPR-below-threshold VM exit.
    ///
    /// Encoding `0x401C`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for APIC Virtualization"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: if use TPR shadow (primary proc-based bit 21).
    CTRL_TPR_THRESHOLD: W32, ReadWrite = 0x401C, R::Primary(PrimaryProcBasedControls::USE_TPR_SHADOW);
    /// Secondary processor-based VM-execution controls (see
    /// [`SecondaryProcBasedControls`]).
    ///
    /// Encoding `0x401E`: 32-bit control field (SDM Vol. 3C §25.6.2 "Processor-Based
    /// VM-Execution Controls"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: if activate secondary controls (primary proc-based bit 31).
    CTRL_SECONDARY_PROC_BASED_EXEC_CONTROLS: W32, ReadWrite = 0x401E, R::Primary(PrimaryProcBasedControls::ACTIVATE_SECONDARY_CONTROLS);
    /// PLE_Gap: maximum TSC ticks between two PAUSE executions of one PAUSE loop.
    ///
    /// Encoding `0x4020`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for PAUSE-Loop Exiting"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: if PAUSE-loop exiting (secondary bit 10).
    CTRL_PLE_GAP: W32, ReadWrite = 0x4020, R::Secondary(SecondaryProcBasedControls::PAUSE_LOOP_EXITING);
    /// PLE_Window: maximum TSC ticks a PAUSE loop may last before a VM exit.
    ///
    /// Encoding `0x4022`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Controls for PAUSE-Loop Exiting"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: if PAUSE-loop exiting (secondary bit 10).
    CTRL_PLE_WINDOW: W32, ReadWrite = 0x4022, R::Secondary(SecondaryProcBasedControls::PAUSE_LOOP_EXITING);
    /// Instruction-timeout control: the time (in crystal-clock units) an operation may
    /// prevent reaching an instruction boundary before a VM exit.
    ///
    /// Encoding `0x4024`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "Instruction-Timeout Control"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: if instruction timeout (secondary bit 31).
    ///
    /// Notes: newer than ia32-doc; Linux name NOTIFY_WINDOW; TDX module
    /// NOTIFY_WINDOW/NO_COMMIT_THRESHOLD; Bochs/HyveMind INSTRUCTION_TIMEOUT.
    CTRL_INSTRUCTION_TIMEOUT_CONTROL: W32, ReadWrite = 0x4024, R::Secondary(SecondaryProcBasedControls::INSTRUCTION_TIMEOUT);
    /// SEAM guest KeyID (HKID): memory-encryption key of a TD; exists only in VMCSs of
    /// the Intel TDX module (SEAM).
    ///
    /// Encoding `0x4026`: 32-bit control field (SDM Vol. 3C §25.6 "VM-Execution Control
    /// Fields", "VM-Execution Control Fields"; Vol. 3D Appendix B.3.1).
    ///
    /// Exists: if SEAM (TDX module VMCS) only.
    ///
    /// Notes: newer than ia32-doc; Bochs SEAM_GUEST_KEYID (not implemented); TDX module
    /// VMX_HKID_ENCODE.
    CTRL_SEAM_GUEST_KEYID: W32, ReadWrite = 0x4026, R::SeamOnly;
    /// VM-instruction error: number of the error of the last VMX instruction that ended
    /// in VMfailValid.
    ///
    /// Encoding `0x4400`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.5 "VM-Instruction Error Field"; Vol. 3D Appendix B.3.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_VM_INSTRUCTION_ERROR: W32, ReadOnly = 0x4400, R::Always;
    /// Exit reason: basic exit reason (bits 15:0) and flags such as VM-entry failure
    /// (bit 31).
    ///
    /// Encoding `0x4402`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.1 "Basic VM-Exit Information"; Vol. 3D Appendix B.3.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_REASON: W32, ReadOnly = 0x4402, R::Always;
    /// VM-exit interruption information (exiting-event identification): the vectored
    /// event that caused the VM exit.
    ///
    /// Encoding `0x4404`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.2 "Information for VM Exits Due to Vectored Events"; Vol. 3D Appendix B.3.2).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: HyveMind/newer SDM name: exiting-event identification.
    EXIT_INTERRUPTION_INFO: W32, ReadOnly = 0x4404, R::Always;
    /// VM-exit interruption error code (exiting-event error code).
    ///
    /// Encoding `0x4406`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.2 "Information for VM Exits Due to Vectored Events"; Vol. 3D Appendix B.3.2).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: HyveMind: exiting-event error code.
    EXIT_INTERRUPTION_ERROR_CODE: W32, ReadOnly = 0x4406, R::Always;
    /// IDT-vectoring information (original-event identification): the event being
    /// delivered when the VM exit occurred.
    ///
    /// Encoding `0x4408`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.3 "Information for VM Exits That Occur During Event Delivery"; Vol. 3D Appendix
    /// B.3.2).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: HyveMind/newer SDM name: original-event identification.
    EXIT_IDT_VECTORING_INFO: W32, ReadOnly = 0x4408, R::Always;
    /// IDT-vectoring error code (original-event error code).
    ///
    /// Encoding `0x440A`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.3 "Information for VM Exits That Occur During Event Delivery"; Vol. 3D Appendix
    /// B.3.2).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: HyveMind: original-event error code.
    EXIT_IDT_VECTORING_ERROR_CODE: W32, ReadOnly = 0x440A, R::Always;
    /// VM-exit instruction length: length in bytes of the instruction that caused the
    /// VM exit.
    ///
    /// Encoding `0x440C`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.4 "Information for VM Exits Due to Instruction Execution"; Vol. 3D Appendix
    /// B.3.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_INSTRUCTION_LENGTH: W32, ReadOnly = 0x440C, R::Always;
    /// VM-exit instruction information: operands of the instruction that caused the VM
    /// exit (format per exit reason).
    ///
    /// Encoding `0x440E`: 32-bit VM-exit information (read-only data) field (SDM Vol.
    /// 3C §25.9.4 "Information for VM Exits Due to Instruction Execution"; Vol. 3D Appendix
    /// B.3.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_INSTRUCTION_INFO: W32, ReadOnly = 0x440E, R::Always;
    /// Guest ES segment limit.
    ///
    /// Encoding `0x4800`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_ES_LIMIT: W32, ReadWrite = 0x4800, R::Always;
    /// Guest CS segment limit.
    ///
    /// Encoding `0x4802`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_CS_LIMIT: W32, ReadWrite = 0x4802, R::Always;
    /// Guest SS segment limit.
    ///
    /// Encoding `0x4804`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_SS_LIMIT: W32, ReadWrite = 0x4804, R::Always;
    /// Guest DS segment limit.
    ///
    /// Encoding `0x4806`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_DS_LIMIT: W32, ReadWrite = 0x4806, R::Always;
    /// Guest FS segment limit.
    ///
    /// Encoding `0x4808`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_FS_LIMIT: W32, ReadWrite = 0x4808, R::Always;
    /// Guest GS segment limit.
    ///
    /// Encoding `0x480A`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_GS_LIMIT: W32, ReadWrite = 0x480A, R::Always;
    /// Guest LDTR segment limit.
    ///
    /// Encoding `0x480C`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_LDTR_LIMIT: W32, ReadWrite = 0x480C, R::Always;
    /// Guest TR segment limit.
    ///
    /// Encoding `0x480E`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_TR_LIMIT: W32, ReadWrite = 0x480E, R::Always;
    /// Guest GDTR limit.
    ///
    /// Encoding `0x4810`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_GDTR_LIMIT: W32, ReadWrite = 0x4810, R::Always;
    /// Guest IDTR limit.
    ///
    /// Encoding `0x4812`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_IDTR_LIMIT: W32, ReadWrite = 0x4812, R::Always;
    /// Guest ES access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x4814`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_ES_ACCESS_RIGHTS: W32, ReadWrite = 0x4814, R::Always;
    /// Guest CS access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x4816`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_CS_ACCESS_RIGHTS: W32, ReadWrite = 0x4816, R::Always;
    /// Guest SS access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x4818`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_SS_ACCESS_RIGHTS: W32, ReadWrite = 0x4818, R::Always;
    /// Guest DS access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x481A`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_DS_ACCESS_RIGHTS: W32, ReadWrite = 0x481A, R::Always;
    /// Guest FS access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x481C`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_FS_ACCESS_RIGHTS: W32, ReadWrite = 0x481C, R::Always;
    /// Guest GS access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x481E`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_GS_ACCESS_RIGHTS: W32, ReadWrite = 0x481E, R::Always;
    /// Guest LDTR access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x4820`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_LDTR_ACCESS_RIGHTS: W32, ReadWrite = 0x4820, R::Always;
    /// Guest TR access rights (VMCS format: descriptor bits 15:8 and 23:20, unusable
    /// bit 16).
    ///
    /// Encoding `0x4822`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_TR_ACCESS_RIGHTS: W32, ReadWrite = 0x4822, R::Always;
    /// Guest interruptibility state: blocking by STI, MOV SS, SMI, NMI; enclave
    /// interruption.
    ///
    /// Encoding `0x4824`: 32-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_INTERRUPTIBILITY_STATE: W32, ReadWrite = 0x4824, R::Always;
    /// Guest activity state: 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI.
    ///
    /// Encoding `0x4826`: 32-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_ACTIVITY_STATE: W32, ReadWrite = 0x4826, R::Always;
    /// Guest SMBASE register (used by SMM VM exits/entries of the dual-monitor
    /// treatment).
    ///
    /// Encoding `0x4828`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: not in Linux vmx.h.
    GUEST_SMBASE: W32, ReadWrite = 0x4828, R::Always;
    /// Guest IA32_SYSENTER_CS MSR.
    ///
    /// Encoding `0x482A`: 32-bit guest-state field (SDM Vol. 3C §25.4.1 "Guest Register
    /// State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: 0x482C unused.
    GUEST_IA32_SYSENTER_CS: W32, ReadWrite = 0x482A, R::Always;
    /// VMX-preemption timer value: counts down in non-root operation; a VM exit occurs
    /// at zero.
    ///
    /// Encoding `0x482E`: 32-bit guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.3.3).
    ///
    /// Exists: if activate VMX-preemption timer (pin-based bit 6).
    GUEST_VMX_PREEMPTION_TIMER_VALUE: W32, ReadWrite = 0x482E, R::Pin(PinBasedControls::ACTIVATE_VMX_PREEMPTION_TIMER);
    /// Host IA32_SYSENTER_CS MSR.
    ///
    /// Encoding `0x4C00`: 32-bit host-state field (SDM Vol. 3C §25.5 "Host-State Area";
    /// Vol. 3D Appendix B.3.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_IA32_SYSENTER_CS: W32, ReadWrite = 0x4C00, R::Always;
    /// CR0 guest/host mask: bits set are owned by the host (guest writes that change
    /// them exit; guest reads see the read shadow).
    ///
    /// Encoding `0x6000`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "Guest/Host Masks and Read Shadows for CR0 and CR4"; Vol. 3D Appendix
    /// B.4.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR0_GUEST_HOST_MASK: WNat, ReadWrite = 0x6000, R::Always;
    /// CR4 guest/host mask: bits set are owned by the host (guest writes that change
    /// them exit; guest reads see the read shadow).
    ///
    /// Encoding `0x6002`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "Guest/Host Masks and Read Shadows for CR0 and CR4"; Vol. 3D Appendix
    /// B.4.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR4_GUEST_HOST_MASK: WNat, ReadWrite = 0x6002, R::Always;
    /// CR0 read shadow: the value guest reads of host-owned CR0 bits return.
    ///
    /// Encoding `0x6004`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "Guest/Host Masks and Read Shadows for CR0 and CR4"; Vol. 3D Appendix
    /// B.4.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR0_READ_SHADOW: WNat, ReadWrite = 0x6004, R::Always;
    /// CR4 read shadow: the value guest reads of host-owned CR4 bits return.
    ///
    /// Encoding `0x6006`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "Guest/Host Masks and Read Shadows for CR0 and CR4"; Vol. 3D Appendix
    /// B.4.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR4_READ_SHADOW: WNat, ReadWrite = 0x6006, R::Always;
    /// CR3-target value 0: a MOV to CR3 of this value does not exit (used if the
    /// CR3-target count exceeds 0).
    ///
    /// Encoding `0x6008`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "CR3-Target Controls"; Vol. 3D Appendix B.4.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR3_TARGET_VALUE_0: WNat, ReadWrite = 0x6008, R::Always;
    /// CR3-target value 1: a MOV to CR3 of this value does not exit (used if the
    /// CR3-target count exceeds 1).
    ///
    /// Encoding `0x600A`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "CR3-Target Controls"; Vol. 3D Appendix B.4.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR3_TARGET_VALUE_1: WNat, ReadWrite = 0x600A, R::Always;
    /// CR3-target value 2: a MOV to CR3 of this value does not exit (used if the
    /// CR3-target count exceeds 2).
    ///
    /// Encoding `0x600C`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "CR3-Target Controls"; Vol. 3D Appendix B.4.1).
    ///
    /// Exists: on every processor with VMX.
    CTRL_CR3_TARGET_VALUE_2: WNat, ReadWrite = 0x600C, R::Always;
    /// CR3-target value 3: a MOV to CR3 of this value does not exit (used if the
    /// CR3-target count exceeds 3).
    ///
    /// Encoding `0x600E`: natural-width control field (SDM Vol. 3C §25.6 "VM-Execution
    /// Control Fields", "CR3-Target Controls"; Vol. 3D Appendix B.4.1).
    ///
    /// Exists: on every processor with VMX.
    ///
    /// Notes: SDM: 4 CR3-target fields; count supported in IA32_VMX_MISC\[24:16\].
    CTRL_CR3_TARGET_VALUE_3: WNat, ReadWrite = 0x600E, R::Always;
    /// Exit qualification: additional information about the VM exit, format per exit
    /// reason.
    ///
    /// Encoding `0x6400`: natural-width VM-exit information (read-only data) field (SDM
    /// Vol. 3C §25.9.1 "Basic VM-Exit Information"; Vol. 3D Appendix B.4.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_QUALIFICATION: WNat, ReadOnly = 0x6400, R::Always;
    /// I/O RCX: RCX before an SMI that caused an SMM VM exit after an I/O instruction.
    ///
    /// Encoding `0x6402`: natural-width VM-exit information (read-only data) field (SDM
    /// Vol. 3C §25.9.4 "Information for VM Exits Due to Instruction Execution";
    /// Vol. 3D Appendix B.4.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_IO_RCX: WNat, ReadOnly = 0x6402, R::Always;
    /// I/O RSI: RSI before an SMI that caused an SMM VM exit after an I/O instruction.
    ///
    /// Encoding `0x6404`: natural-width VM-exit information (read-only data) field (SDM
    /// Vol. 3C §25.9.4 "Information for VM Exits Due to Instruction Execution";
    /// Vol. 3D Appendix B.4.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_IO_RSI: WNat, ReadOnly = 0x6404, R::Always;
    /// I/O RDI: RDI before an SMI that caused an SMM VM exit after an I/O instruction.
    ///
    /// Encoding `0x6406`: natural-width VM-exit information (read-only data) field (SDM
    /// Vol. 3C §25.9.4 "Information for VM Exits Due to Instruction Execution";
    /// Vol. 3D Appendix B.4.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_IO_RDI: WNat, ReadOnly = 0x6406, R::Always;
    /// I/O RIP: RIP of the I/O instruction executed before an SMI that caused an SMM VM
    /// exit.
    ///
    /// Encoding `0x6408`: natural-width VM-exit information (read-only data) field (SDM
    /// Vol. 3C §25.9.4 "Information for VM Exits Due to Instruction Execution";
    /// Vol. 3D Appendix B.4.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_IO_RIP: WNat, ReadOnly = 0x6408, R::Always;
    /// Guest-linear address: linear address of the access or instruction operand that
    /// caused the VM exit (e.g. EPT violations, INS/OUTS, descriptor-table exits).
    ///
    /// Encoding `0x640A`: natural-width VM-exit information (read-only data) field (SDM
    /// Vol. 3C §25.9.1 "Basic VM-Exit Information"; Vol. 3D Appendix B.4.2).
    ///
    /// Exists: on every processor with VMX.
    EXIT_GUEST_LINEAR_ADDRESS: WNat, ReadOnly = 0x640A, R::Always;
    /// Guest CR0.
    ///
    /// Encoding `0x6800`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_CR0: WNat, ReadWrite = 0x6800, R::Always;
    /// Guest CR3.
    ///
    /// Encoding `0x6802`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_CR3: WNat, ReadWrite = 0x6802, R::Always;
    /// Guest CR4.
    ///
    /// Encoding `0x6804`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_CR4: WNat, ReadWrite = 0x6804, R::Always;
    /// Guest ES base address.
    ///
    /// Encoding `0x6806`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_ES_BASE: WNat, ReadWrite = 0x6806, R::Always;
    /// Guest CS base address.
    ///
    /// Encoding `0x6808`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_CS_BASE: WNat, ReadWrite = 0x6808, R::Always;
    /// Guest SS base address.
    ///
    /// Encoding `0x680A`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_SS_BASE: WNat, ReadWrite = 0x680A, R::Always;
    /// Guest DS base address.
    ///
    /// Encoding `0x680C`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_DS_BASE: WNat, ReadWrite = 0x680C, R::Always;
    /// Guest FS base address.
    ///
    /// Encoding `0x680E`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_FS_BASE: WNat, ReadWrite = 0x680E, R::Always;
    /// Guest GS base address.
    ///
    /// Encoding `0x6810`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_GS_BASE: WNat, ReadWrite = 0x6810, R::Always;
    /// Guest LDTR base address.
    ///
    /// Encoding `0x6812`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_LDTR_BASE: WNat, ReadWrite = 0x6812, R::Always;
    /// Guest TR base address.
    ///
    /// Encoding `0x6814`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_TR_BASE: WNat, ReadWrite = 0x6814, R::Always;
    /// Guest GDTR base address.
    ///
    /// Encoding `0x6816`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_GDTR_BASE: WNat, ReadWrite = 0x6816, R::Always;
    /// Guest IDTR base address.
    ///
    /// Encoding `0x6818`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_IDTR_BASE: WNat, ReadWrite = 0x6818, R::Always;
    /// Guest DR7.
    ///
    /// Encoding `0x681A`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_DR7: WNat, ReadWrite = 0x681A, R::Always;
    /// Guest RSP.
    ///
    /// Encoding `0x681C`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_RSP: WNat, ReadWrite = 0x681C, R::Always;
    /// Guest RIP.
    ///
    /// Encoding `0x681E`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_RIP: WNat, ReadWrite = 0x681E, R::Always;
    /// Guest RFLAGS.
    ///
    /// Encoding `0x6820`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_RFLAGS: WNat, ReadWrite = 0x6820, R::Always;
    /// Guest pending debug exceptions: debug exceptions (B3-B0, enabled breakpoint, BS,
    /// RTM) recognized but not yet delivered.
    ///
    /// Encoding `0x6822`: natural-width guest-state field (SDM Vol. 3C §25.4.2 "Guest
    /// Non-Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_PENDING_DEBUG_EXCEPTIONS: WNat, ReadWrite = 0x6822, R::Always;
    /// Guest IA32_SYSENTER_ESP MSR.
    ///
    /// Encoding `0x6824`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_IA32_SYSENTER_ESP: WNat, ReadWrite = 0x6824, R::Always;
    /// Guest IA32_SYSENTER_EIP MSR.
    ///
    /// Encoding `0x6826`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: on every processor with VMX.
    GUEST_IA32_SYSENTER_EIP: WNat, ReadWrite = 0x6826, R::Always;
    /// Guest IA32_S_CET MSR (supervisor CET configuration).
    ///
    /// Encoding `0x6828`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: if load CET state (entry bit 20).
    GUEST_IA32_S_CET: WNat, ReadWrite = 0x6828, R::Entry(EntryControls::LOAD_CET_STATE);
    /// Guest shadow-stack pointer (SSP).
    ///
    /// Encoding `0x682A`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: if load CET state (entry bit 20).
    GUEST_SSP: WNat, ReadWrite = 0x682A, R::Entry(EntryControls::LOAD_CET_STATE);
    /// Guest IA32_INTERRUPT_SSP_TABLE_ADDR MSR.
    ///
    /// Encoding `0x682C`: natural-width guest-state field (SDM Vol. 3C §25.4.1 "Guest
    /// Register State"; Vol. 3D Appendix B.4.3).
    ///
    /// Exists: if load CET state (entry bit 20).
    GUEST_IA32_INTERRUPT_SSP_TABLE_ADDR: WNat, ReadWrite = 0x682C, R::Entry(EntryControls::LOAD_CET_STATE);
    /// Host CR0, loaded on every VM exit.
    ///
    /// Encoding `0x6C00`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_CR0: WNat, ReadWrite = 0x6C00, R::Always;
    /// Host CR3, loaded on every VM exit.
    ///
    /// Encoding `0x6C02`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_CR3: WNat, ReadWrite = 0x6C02, R::Always;
    /// Host CR4, loaded on every VM exit.
    ///
    /// Encoding `0x6C04`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_CR4: WNat, ReadWrite = 0x6C04, R::Always;
    /// Host FS base address.
    ///
    /// Encoding `0x6C06`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_FS_BASE: WNat, ReadWrite = 0x6C06, R::Always;
    /// Host GS base address.
    ///
    /// Encoding `0x6C08`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_GS_BASE: WNat, ReadWrite = 0x6C08, R::Always;
    /// Host TR base address.
    ///
    /// Encoding `0x6C0A`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_TR_BASE: WNat, ReadWrite = 0x6C0A, R::Always;
    /// Host GDTR base address.
    ///
    /// Encoding `0x6C0C`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_GDTR_BASE: WNat, ReadWrite = 0x6C0C, R::Always;
    /// Host IDTR base address.
    ///
    /// Encoding `0x6C0E`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_IDTR_BASE: WNat, ReadWrite = 0x6C0E, R::Always;
    /// Host IA32_SYSENTER_ESP MSR.
    ///
    /// Encoding `0x6C10`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_IA32_SYSENTER_ESP: WNat, ReadWrite = 0x6C10, R::Always;
    /// Host IA32_SYSENTER_EIP MSR.
    ///
    /// Encoding `0x6C12`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_IA32_SYSENTER_EIP: WNat, ReadWrite = 0x6C12, R::Always;
    /// Host RSP, loaded on every VM exit.
    ///
    /// Encoding `0x6C14`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_RSP: WNat, ReadWrite = 0x6C14, R::Always;
    /// Host RIP: where the host resumes on every VM exit.
    ///
    /// Encoding `0x6C16`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: on every processor with VMX.
    HOST_RIP: WNat, ReadWrite = 0x6C16, R::Always;
    /// Host IA32_S_CET MSR.
    ///
    /// Encoding `0x6C18`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: if load CET state (exit bit 28).
    HOST_IA32_S_CET: WNat, ReadWrite = 0x6C18, R::Exit(PrimaryExitControls::LOAD_CET_STATE);
    /// Host shadow-stack pointer (SSP).
    ///
    /// Encoding `0x6C1A`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: if load CET state (exit bit 28).
    HOST_SSP: WNat, ReadWrite = 0x6C1A, R::Exit(PrimaryExitControls::LOAD_CET_STATE);
    /// Host IA32_INTERRUPT_SSP_TABLE_ADDR MSR.
    ///
    /// Encoding `0x6C1C`: natural-width host-state field (SDM Vol. 3C §25.5 "Host-State
    /// Area"; Vol. 3D Appendix B.4.4).
    ///
    /// Exists: if load CET state (exit bit 28).
    HOST_IA32_INTERRUPT_SSP_TABLE_ADDR: WNat, ReadWrite = 0x6C1C, R::Exit(PrimaryExitControls::LOAD_CET_STATE);
}
