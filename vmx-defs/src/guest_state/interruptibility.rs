//! Guest interruptibility state (VMCS encoding 0x4824; SDM Vol. 3C §25.4.2, Table 25-3
//! "Format of Interruptibility State"; VM-entry checks §27.3.1.5).

bitflags::bitflags! {
    /// The guest interruptibility state (SDM Vol. 3C §25.4.2, Table 25-3).
    ///
    /// Bits 31:5 are reserved and must be 0 for VM entry; [`Interruptibility::from_bits_retain`]
    /// keeps them so any read value decodes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Interruptibility: u32 {
        /// Bit 0: blocking by STI (interrupts blocked until after the next instruction).
        const STI = 1 << 0;
        /// Bit 1: blocking by MOV SS or POP SS (interrupts, NMIs and debug exceptions
        /// blocked until after the next instruction).
        const MOV_SS = 1 << 1;
        /// Bit 2: blocking by SMI (in SMM).
        const SMI = 1 << 2;
        /// Bit 3: blocking by NMI (or virtual-NMI blocking with "virtual NMIs").
        const NMI = 1 << 3;
        /// Bit 4: enclave interruption (the VM exit interrupted an enclave).
        const ENCLAVE = 1 << 4;
    }
}

impl Interruptibility {
    /// Reserved bits 31:5.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const RESERVED: u32 = !0x1f;

    /// The reserved bits (31:5) that are set.
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const fn reserved_bits(self) -> u32 {
        self.bits() & Self::RESERVED
    }

    /// Whether external interrupts are blocked for the next instruction (STI or MOV SS).
    ///
    /// SDM Vol. 3C §25.4.2.
    pub const fn blocks_interrupts(self) -> bool {
        self.intersects(Self::STI.union(Self::MOV_SS))
    }
}
