//! IA32_VMX_VMFUNC (MSR 0x491), SDM Vol. 3D §A.11, "VM Functions".

bitflags::bitflags! {
    /// IA32_VMX_VMFUNC (MSR 0x491): bit X is 1 if VM function X may be enabled in the
    /// VM-function controls field (SDM Vol. 3D §A.11, Vol. 3C §25.6.14). The same layout is
    /// used for the VM-function controls VMCS field. Exists only if the "enable VM functions"
    /// secondary control may be 1. Unknown bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct VmFuncControls: u64 {
        /// Bit 0: EPTP switching (VM function 0; SDM Vol. 3C, "VM Functions", "EPTP Switching").
        const EPTP_SWITCHING = 1 << 0;
        // Keep reserved and future bits as read.
        const _ = !0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_value_and_unknown_bits() {
        // corei7_skylake_x vmfunc 0x1, ../shared/bochs/models.tsv
        assert!(VmFuncControls::from_bits_retain(1).contains(VmFuncControls::EPTP_SWITCHING));
        let future = VmFuncControls::from_bits_retain(1 << 7);
        assert_eq!(future.bits(), 1 << 7);
        assert!(!future.contains(VmFuncControls::EPTP_SWITCHING));
    }
}
