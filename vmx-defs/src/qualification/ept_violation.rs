//! Exit qualification for EPT violations (SDM Vol. 3C §28.2.1, Table 28-7).

use super::bit;

/// What kind of access to a guest linear address caused an EPT violation (bit 8 of the
/// exit qualification when bit 7 is set, SDM Vol. 3C Table 28-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EptLinearAccess {
    /// An access to the guest-physical translation of the linear address (bit 8 = 1).
    Translation,
    /// An access to a guest paging-structure entry: a page walk or an accessed/dirty
    /// update (bit 8 = 0).
    PagingStructure,
}

/// The "advanced VM-exit information for EPT violations" (bits 11:9, SDM Vol. 3C Table 28-7),
/// defined only if IA32_VMX_EPT_VPID_CAP bit 22 is 1 and bits 7 and 8 are both set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EptAdvancedInfo {
    /// Bit 9: the linear address is a user-mode address (always set if CR0.PG = 0).
    pub user_mode: bool,
    /// Bit 10: guest paging maps the linear address read/write (always set if CR0.PG = 0).
    pub read_write: bool,
    /// Bit 11: guest paging maps the linear address execute-disable.
    pub execute_disable: bool,
}

/// Exit qualification of an EPT-violation VM exit (basic exit reason 48), SDM Vol. 3C
/// §28.2.1 Table 28-7 "Exit Qualification for EPT Violations". Bits 63:17 are not defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EptViolationQualification(u64);

super::impl_raw!(EptViolationQualification);

impl EptViolationQualification {
    /// Bit 0: the access was a data read (Table 28-7).
    pub const fn data_read(self) -> bool {
        bit(self.0, 0)
    }

    /// Bit 1: the access was a data write (Table 28-7).
    pub const fn data_write(self) -> bool {
        bit(self.0, 1)
    }

    /// Bit 2: the access was an instruction fetch (Table 28-7).
    pub const fn instruction_fetch(self) -> bool {
        bit(self.0, 2)
    }

    /// Bit 3: the guest-physical address was readable — the AND of bit 0 of the EPT
    /// paging-structure entries used to translate it (Table 28-7).
    pub const fn readable(self) -> bool {
        bit(self.0, 3)
    }

    /// Bit 4: the guest-physical address was writable — the AND of bit 1 of the EPT entries
    /// used (Table 28-7).
    pub const fn writable(self) -> bool {
        bit(self.0, 4)
    }

    /// Bit 5: the guest-physical address was executable — the AND of bit 2 of the EPT
    /// entries used; with mode-based execute control, supervisor-mode executable
    /// (Table 28-7).
    pub const fn executable(self) -> bool {
        bit(self.0, 5)
    }

    /// Bit 6: with mode-based execute control, the guest-physical address was user-mode
    /// executable (AND of bit 10 of the EPT entries used); undefined otherwise (Table 28-7).
    pub const fn user_executable(self) -> bool {
        bit(self.0, 6)
    }

    /// Bit 7: the guest linear-address field (VMCS 0x640A) is valid. Clear only for EPT
    /// violations while loading PDPTEs for MOV to CR (Table 28-7).
    pub const fn guest_linear_address_valid(self) -> bool {
        bit(self.0, 7)
    }

    /// Bit 8 as reported: if bit 7 is set, 1 = access to the translation of the linear
    /// address, 0 = access to a paging-structure entry; reserved (0) if bit 7 is clear
    /// (Table 28-7). See [`linear_access`](Self::linear_access).
    pub const fn caused_by_translation(self) -> bool {
        bit(self.0, 8)
    }

    /// Bits 7 and 8 together: the kind of linear-address access, or `None` if bit 7 says the
    /// guest linear address is not valid (Table 28-7).
    pub const fn linear_access(self) -> Option<EptLinearAccess> {
        if !self.guest_linear_address_valid() {
            None
        } else if self.caused_by_translation() {
            Some(EptLinearAccess::Translation)
        } else {
            Some(EptLinearAccess::PagingStructure)
        }
    }

    /// Bit 9 as reported (advanced information): user-mode linear address. Defined only as
    /// [`advanced_info`](Self::advanced_info) says (Table 28-7).
    pub const fn user_mode_linear_address(self) -> bool {
        bit(self.0, 9)
    }

    /// Bit 10 as reported (advanced information): the linear address is mapped read/write.
    /// Defined only as [`advanced_info`](Self::advanced_info) says (Table 28-7).
    pub const fn read_write_page(self) -> bool {
        bit(self.0, 10)
    }

    /// Bit 11 as reported (advanced information): the linear address is mapped
    /// execute-disable. Defined only as [`advanced_info`](Self::advanced_info) says
    /// (Table 28-7).
    pub const fn execute_disable_page(self) -> bool {
        bit(self.0, 11)
    }

    /// Bits 11:9 decoded, if they are defined: `advanced_exits_supported` is
    /// IA32_VMX_EPT_VPID_CAP bit 22 ("advanced VM-exit information for EPT violations") and
    /// the bits are defined only when bits 7 and 8 are both set (Table 28-7).
    pub const fn advanced_info(self, advanced_exits_supported: bool) -> Option<EptAdvancedInfo> {
        if advanced_exits_supported
            && self.guest_linear_address_valid()
            && self.caused_by_translation()
        {
            Some(EptAdvancedInfo {
                user_mode: self.user_mode_linear_address(),
                read_write: self.read_write_page(),
                execute_disable: self.execute_disable_page(),
            })
        } else {
            None
        }
    }

    /// Bit 12: NMI unblocking due to IRET (Table 28-7, §28.2.3).
    pub const fn nmi_unblocking(self) -> bool {
        bit(self.0, 12)
    }

    /// Bit 13: the access was a shadow-stack access (Table 28-7).
    pub const fn shadow_stack_access(self) -> bool {
        bit(self.0, 13)
    }

    /// Bit 14: if supervisor shadow-stack control is enabled (EPTP bit 7), a copy of the
    /// supervisor-shadow-stack bit (bit 60) of the EPT entry mapping the page; undefined
    /// otherwise (Table 28-7).
    pub const fn supervisor_shadow_stack(self) -> bool {
        bit(self.0, 14)
    }

    /// Bit 15: the violation was caused by guest-paging verification (Table 28-7).
    pub const fn guest_paging_verification(self) -> bool {
        bit(self.0, 15)
    }

    /// Bit 16: the access was asynchronous to instruction execution and not part of event
    /// delivery (e.g. Intel PT trace output) (Table 28-7).
    pub const fn asynchronous_to_instruction(self) -> bool {
        bit(self.0, 16)
    }
}
