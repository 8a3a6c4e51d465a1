//! String I/O (INS, OUTS): what the exit reports and the arithmetic of emulating it (SDM
//! Vol. 3C §28.2.1 "guest-linear address", §28.2.5 Table 28-8 "INS and OUTS"; Vol. 2 INS/INSB/
//! INSW/INSD, OUTS/OUTSB/OUTSW/OUTSD, REP; Vol. 1 §3.3.7 "Address Calculations in 64-Bit
//! Mode", §3.4.1.1 for 32-bit results zero-extended in 64-bit mode). Pure and total, so that
//! every guest-controlled value can be tested on the host.

use vmx_defs::instruction_info::{AddressSize, SegmentRegister};

use crate::regs::Gpr;

/// The size of a page the guest's linear addresses are translated in: the smallest the
/// paging modes use (SDM Vol. 3A §4.1), so a run of accesses inside one such page is
/// contiguous in guest-physical memory too.
pub const STRING_IO_PAGE: u64 = 4096;

/// What a hypervisor needs to emulate an INS or OUTS exit besides the port and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringIo {
    /// The guest-linear address of the memory operand of the current iteration (the
    /// guest-linear-address field, SDM Vol. 3C §28.2.1; undefined if the segment is not
    /// usable; bits 63:32 clear outside 64-bit mode).
    pub linear_address: u64,
    /// Address size (bits 9:7 of the instruction information): the width of rSI/rDI and of
    /// the count register. `None` when the processor does not report the information for
    /// INS/OUTS (IA32_VMX_BASIC\[54\] = 0, SDM Vol. 3D §A.1) or the encoding is reserved.
    pub address_size: Option<AddressSize>,
    /// The memory operand's segment: ES for INS (not overridable), the reported one (bits
    /// 17:15) for OUTS, `None` for OUTS when it is not reported.
    pub segment: Option<SegmentRegister>,
    /// RFLAGS.DF at the exit: rSI/rDI decrease (SDM Vol. 1 §3.4.3.2).
    pub decrement: bool,
    /// The index register: RDI for INS (destination ES:rDI), RSI for OUTS (source rSI).
    pub index_register: Gpr,
}

impl StringIo {
    /// Iterations left to run: with REP, the count register (CX, ECX or RCX per the address
    /// size) read from `rcx`; without REP, 1 (SDM Vol. 2 REP). `None` without an address
    /// size. Total.
    pub const fn remaining(&self, rep: bool, rcx: u64) -> Option<u64> {
        let Some(mask) = address_mask(self.address_size) else {
            return None;
        };
        Some(if rep { rcx & mask } else { 1 })
    }

    /// The index register's value after `done` iterations of `size` bytes, from its value
    /// `index` at the exit ([`advance_index`]). `None` without an address size. Total.
    pub const fn index_after(&self, index: u64, size: u8, done: u64) -> Option<u64> {
        let Some(a) = self.address_size else {
            return None;
        };
        advance_index(index, a, size, self.decrement, done)
    }

    /// How many whole iterations of `size` bytes, at most `remaining`, access memory
    /// inside the page of [`linear_address`](Self::linear_address) without the offset
    /// `index` wrapping ([`iterations_in_page`]). `None` without an address size. Total.
    pub const fn iterations_in_page(&self, index: u64, size: u8, remaining: u64) -> Option<u64> {
        let Some(a) = self.address_size else {
            return None;
        };
        Some(iterations_in_page(
            self.linear_address,
            index,
            a,
            size,
            self.decrement,
            remaining,
        ))
    }

    /// The linear address of iteration `k` (0 = the current one) of `size` bytes, valid
    /// for `k` below [`iterations_in_page`](Self::iterations_in_page): consecutive
    /// elements upwards, or downwards with DF = 1. Total (wraps).
    pub const fn element_address(&self, size: u8, k: u64) -> u64 {
        let delta = k.wrapping_mul(size as u64);
        if self.decrement {
            self.linear_address.wrapping_sub(delta)
        } else {
            self.linear_address.wrapping_add(delta)
        }
    }
}

/// All ones over the address size (16, 32 or 64 bits); `None` when unknown or reserved.
pub const fn address_mask(size: Option<AddressSize>) -> Option<u64> {
    match size {
        Some(AddressSize::Bits16) => Some(0xFFFF),
        Some(AddressSize::Bits32) => Some(0xFFFF_FFFF),
        Some(AddressSize::Bits64) => Some(u64::MAX),
        _ => None,
    }
}

/// Writes `value` into a register as an instruction of address size `size` writes its
/// address-sized register: 16 bits merge into the old value, 32 bits zero-extend (SDM
/// Vol. 1 §3.4.1.1), 64 bits replace. A reserved size leaves `old` unchanged.
const fn write_sized(old: u64, value: u64, size: AddressSize) -> u64 {
    match size {
        AddressSize::Bits16 => (old & !0xFFFF) | (value & 0xFFFF),
        AddressSize::Bits32 => value & 0xFFFF_FFFF,
        AddressSize::Bits64 => value,
        AddressSize::Reserved(_) => old,
    }
}

/// rSI or rDI after `done` iterations of a string instruction moving `size` bytes each,
/// from `index`: each iteration adds `size` (subtracts with DF = 1) modulo the address
/// size, and the register is written with that size (SDM Vol. 2 INS/OUTS, Vol. 1
/// §3.4.1.1). `None` for a reserved address size. Total.
pub const fn advance_index(
    index: u64,
    address_size: AddressSize,
    size: u8,
    decrement: bool,
    done: u64,
) -> Option<u64> {
    if address_size.width().is_none() {
        return None;
    }
    let delta = done.wrapping_mul(size as u64);
    let next = if decrement {
        index.wrapping_sub(delta)
    } else {
        index.wrapping_add(delta)
    };
    Some(write_sized(index, next, address_size))
}

/// The count register (CX, ECX or RCX per the address size) after `done` iterations of a
/// REP string instruction, from its value `rcx` (SDM Vol. 2 REP: decremented once per
/// iteration). `done` is capped at the count. `None` for a reserved address size. Total.
pub const fn count_after(rcx: u64, address_size: AddressSize, done: u64) -> Option<u64> {
    let Some(mask) = address_mask(Some(address_size)) else {
        return None;
    };
    let count = rcx & mask;
    let done = if done < count { done } else { count };
    Some(write_sized(rcx, count - done, address_size))
}

/// How many whole elements of `size` bytes, at most `remaining`, a string instruction can
/// access starting at linear address `linear_address` (offset `index` in its segment)
/// going up (down with `decrement`) before it leaves the 4-KiB page of the first element
/// ([`STRING_IO_PAGE`]) or its offset wraps at the address size (SDM Vol. 1 §3.3.7). 0 when
/// the first element itself straddles a page boundary or the end of the address space, or
/// when `size` is 0 or the address size is reserved: the caller must then handle that
/// element on its own (or `remaining` is 0). Total.
pub const fn iterations_in_page(
    linear_address: u64,
    index: u64,
    address_size: AddressSize,
    size: u8,
    decrement: bool,
    remaining: u64,
) -> u64 {
    let Some(width) = address_size.width() else {
        return 0;
    };
    if size == 0 {
        return 0;
    }
    let size = size as u128;
    let page_offset = (linear_address % STRING_IO_PAGE) as u128;
    let space = 1u128 << width;
    let offset = (index as u128) & (space - 1);
    if page_offset + size > STRING_IO_PAGE as u128 || offset + size > space {
        return 0;
    }
    let (by_page, by_wrap) = if decrement {
        (page_offset / size + 1, offset / size + 1)
    } else {
        (
            (STRING_IO_PAGE as u128 - page_offset) / size,
            (space - offset) / size,
        )
    };
    let fit = if by_page < by_wrap { by_page } else { by_wrap };
    if (remaining as u128) < fit {
        remaining
    } else {
        fit as u64
    }
}

/// What completing `done` iterations of a string I/O instruction changes (SDM Vol. 2
/// INS/OUTS, REP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringIoStep {
    /// The iterations applied: `done` capped at the iterations left.
    pub done: u64,
    /// The new value of the index register (RDI for INS, RSI for OUTS).
    pub index: u64,
    /// The new RCX with REP (`None` without REP: RCX is not used).
    pub rcx: Option<u64>,
    /// No iteration is left: the instruction is complete and RIP moves past it. Otherwise
    /// RIP stays and the guest executes the rest when it resumes.
    pub finished: bool,
}

/// Applies `done` completed iterations of a string I/O exit to the index register (value
/// `index`) and, with `rep`, the count register (value `rcx`): `done` is capped at the
/// iterations left (the REP count, or 1 without REP). `None` without an address size.
/// Total.
pub const fn string_io_step(
    io: &StringIo,
    size: u8,
    rep: bool,
    index: u64,
    rcx: u64,
    done: u64,
) -> Option<StringIoStep> {
    let (Some(a), Some(left)) = (io.address_size, io.remaining(rep, rcx)) else {
        return None;
    };
    let done = if done < left { done } else { left };
    let (Some(new_index), Some(new_rcx)) = (
        advance_index(index, a, size, io.decrement, done),
        count_after(rcx, a, done),
    ) else {
        return None;
    };
    Some(StringIoStep {
        done,
        index: new_index,
        rcx: if rep { Some(new_rcx) } else { None },
        finished: done == left,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn io(address_size: AddressSize, decrement: bool, linear_address: u64) -> StringIo {
        StringIo {
            linear_address,
            address_size: Some(address_size),
            segment: Some(SegmentRegister::Es),
            decrement,
            index_register: Gpr::Rdi,
        }
    }

    #[test]
    fn index_and_count_per_address_size() {
        // 16-bit: SI wraps at 64 KiB, bits 63:16 kept.
        assert_eq!(
            advance_index(0xAAAA_0000_0001_FFFE, AddressSize::Bits16, 2, false, 2),
            Some(0xAAAA_0000_0001_0002)
        );
        // 32-bit: ESI written, bits 63:32 cleared.
        assert_eq!(
            advance_index(0xAAAA_0000_0000_0002, AddressSize::Bits32, 4, true, 1),
            Some(0xFFFF_FFFE)
        );
        assert_eq!(
            advance_index(u64::MAX, AddressSize::Bits64, 1, false, 1),
            Some(0)
        );
        assert_eq!(
            advance_index(0, AddressSize::Reserved(3), 1, false, 1),
            None
        );
        assert_eq!(
            count_after(0x1234_0000_0000_0005, AddressSize::Bits16, 3),
            Some(0x1234_0000_0000_0002)
        );
        assert_eq!(
            count_after(0x1234_0000_0000_0005, AddressSize::Bits32, 9),
            Some(0)
        );
    }

    #[test]
    fn page_limits() {
        let a = AddressSize::Bits64;
        // 4-byte elements from 0xFF8 up: two fit.
        assert_eq!(iterations_in_page(0x1FF8, 0x1FF8, a, 4, false, 100), 2);
        // Straddling element: none.
        assert_eq!(iterations_in_page(0x1FFE, 0x1FFE, a, 4, false, 100), 0);
        // Downwards from 0x1008: 0x1008, 0x1004, 0x1000.
        assert_eq!(iterations_in_page(0x1008, 0x1008, a, 4, true, 100), 3);
        // Capped by the count.
        assert_eq!(iterations_in_page(0x1000, 0x1000, a, 1, false, 7), 7);
        // 16-bit offset 0xFFFC going up: 2 words before SI wraps, even though the page
        // (linear 0x1_0FFC with a segment base) has room for 2 too.
        assert_eq!(
            iterations_in_page(0xFFC, 0xFFFC, AddressSize::Bits16, 2, false, 100),
            2
        );
        assert_eq!(
            iterations_in_page(0x800, 0xFFFE, AddressSize::Bits16, 4, false, 100),
            0
        );
    }

    #[test]
    fn step_rep_and_single() {
        let s = io(AddressSize::Bits32, false, 0x2000);
        let step = string_io_step(&s, 2, true, 0x2000, 10, 4);
        assert_eq!(
            step,
            Some(StringIoStep {
                done: 4,
                index: 0x2008,
                rcx: Some(6),
                finished: false
            })
        );
        let step = string_io_step(&s, 2, true, 0x2000, 3, 4);
        assert_eq!(
            step.map(|s| (s.done, s.rcx, s.finished)),
            Some((3, Some(0), true))
        );
        let step = string_io_step(&s, 1, false, 0x2000, 99, 5);
        assert_eq!(
            step,
            Some(StringIoStep {
                done: 1,
                index: 0x2001,
                rcx: None,
                finished: true
            })
        );
        // REP with a zero count: nothing to do, finished.
        let step = string_io_step(&s, 1, true, 0x2000, 0xFFFF_FFFF_0000_0000, 5);
        assert_eq!(step.map(|s| (s.done, s.finished)), Some((0, true)));
        let none = StringIo {
            address_size: None,
            ..s
        };
        assert_eq!(string_io_step(&none, 1, true, 0, 1, 1), None);
    }

    fn address_size() -> impl Strategy<Value = AddressSize> {
        (0u8..8).prop_map(AddressSize::from_bits)
    }

    proptest! {
        /// The elements counted as fitting lie in the first element's page and never wrap
        /// the offset; one more (when the count allows) would not.
        #[test]
        fn iterations_stay_in_the_page(
            la in any::<u64>(), index in any::<u64>(), a in address_size(),
            size in prop_oneof![Just(1u8), Just(2), Just(4), any::<u8>()],
            decrement in any::<bool>(), remaining in any::<u64>(),
        ) {
            let n = iterations_in_page(la, index, a, size, decrement, remaining);
            prop_assert!(n <= remaining);
            let Some(width) = a.width() else { prop_assert_eq!(n, 0); return Ok(()); };
            if n == 0 { return Ok(()); }
            let size = u128::from(size);
            let page = u128::from(la) / 4096;
            let space = 1u128 << width;
            let offset = u128::from(index) & (space - 1);
            let n = u128::from(n);
            let (first, last) = if decrement {
                (u128::from(la) - (n - 1) * size, u128::from(la) + size - 1)
            } else {
                (u128::from(la), u128::from(la) + n * size - 1)
            };
            prop_assert_eq!(first / 4096, page);
            prop_assert_eq!(last / 4096, page);
            if decrement {
                prop_assert!(offset >= (n - 1) * size);
            } else {
                prop_assert!(offset + n * size <= space);
            }
        }

        /// Index arithmetic: n iterations then m equal n + m iterations; never panics.
        #[test]
        fn index_steps_compose(
            index in any::<u64>(), a in address_size(), size in any::<u8>(),
            decrement in any::<bool>(), n in 0u64..1 << 20, m in 0u64..1 << 20,
        ) {
            let once = advance_index(index, a, size, decrement, n + m);
            let twice = advance_index(index, a, size, decrement, n)
                .and_then(|i| advance_index(i, a, size, decrement, m));
            prop_assert_eq!(once, twice);
            prop_assert_eq!(once.is_some(), a.width().is_some());
        }

        /// The step never applies more than what is left, finishes exactly when nothing
        /// is left, and keeps RCX's bits above the 16-bit address size.
        #[test]
        fn step_is_total_and_capped(
            a in address_size(), size in any::<u8>(), rep in any::<bool>(),
            decrement in any::<bool>(), index in any::<u64>(), rcx in any::<u64>(),
            done in any::<u64>(),
        ) {
            let s = io(a, decrement, index);
            let Some(step) = string_io_step(&s, size, rep, index, rcx, done) else {
                prop_assert!(a.width().is_none());
                return Ok(());
            };
            let left = s.remaining(rep, rcx).unwrap_or(0);
            prop_assert_eq!(step.done, done.min(left));
            prop_assert_eq!(step.finished, step.done == left);
            prop_assert_eq!(step.rcx.is_some(), rep);
            if let (Some(new), AddressSize::Bits16) = (step.rcx, a) {
                prop_assert_eq!(new >> 16, rcx >> 16);
            }
        }
    }
}
