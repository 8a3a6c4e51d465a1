//! The I/O bitmaps A and B (SDM Vol. 3C §25.6.4, "I/O-Bitmap Addresses"; §26.1.3, IN/OUT
//! and INS/OUTS when "use I/O bitmaps" is 1).
//!
//! Bitmap A (one 4-KByte page) has one bit per port 0000H-7FFFH, bitmap B one per port
//! 8000H-FFFFH. A set bit makes an access to that port exit. An access of 2 or 4 bytes
//! exits when the bit of any port it touches is set, and an access that wraps around the
//! 16-bit port space (e.g. a 4-byte access at FFFEH) always exits.

use core::fmt;

/// Size of one I/O bitmap page in bytes.
pub const IO_BITMAP_PAGE_SIZE: usize = 4096;

/// Which of the two bitmap pages covers a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoBitmapPage {
    /// Bitmap A: ports 0000H-7FFFH.
    A,
    /// Bitmap B: ports 8000H-FFFFH.
    B,
}

/// The page, byte offset within that page, and bit for `port` (SDM §25.6.4). Pure.
pub const fn io_bit_position(port: u16) -> (IoBitmapPage, usize, u8) {
    let page = if port < 0x8000 {
        IoBitmapPage::A
    } else {
        IoBitmapPage::B
    };
    let index = (port & 0x7FFF) as usize;
    (page, index / 8, (index % 8) as u8)
}

/// The two I/O bitmap pages A and B, each 4-KByte aligned (the processor takes one physical
/// address per page).
#[repr(C, align(4096))]
#[derive(Clone)]
pub struct IoBitmaps {
    a: [u8; IO_BITMAP_PAGE_SIZE],
    b: [u8; IO_BITMAP_PAGE_SIZE],
}

impl IoBitmaps {
    /// Bitmaps that intercept every port (deny by default).
    pub const fn new_intercept_all() -> Self {
        Self {
            a: [0xFF; IO_BITMAP_PAGE_SIZE],
            b: [0xFF; IO_BITMAP_PAGE_SIZE],
        }
    }

    /// Bitmaps that pass every port through.
    pub const fn new_pass_all() -> Self {
        Self {
            a: [0; IO_BITMAP_PAGE_SIZE],
            b: [0; IO_BITMAP_PAGE_SIZE],
        }
    }

    /// Sets every bit: every port access exits.
    pub fn intercept_all(&mut self) {
        self.a = [0xFF; IO_BITMAP_PAGE_SIZE];
        self.b = [0xFF; IO_BITMAP_PAGE_SIZE];
    }

    fn page(&self, page: IoBitmapPage) -> &[u8; IO_BITMAP_PAGE_SIZE] {
        match page {
            IoBitmapPage::A => &self.a,
            IoBitmapPage::B => &self.b,
        }
    }

    fn page_mut(&mut self, page: IoBitmapPage) -> &mut [u8; IO_BITMAP_PAGE_SIZE] {
        match page {
            IoBitmapPage::A => &mut self.a,
            IoBitmapPage::B => &mut self.b,
        }
    }

    /// Whether the bit of `port` is set.
    pub fn is_intercepted(&self, port: u16) -> bool {
        let (page, byte, bit) = io_bit_position(port);
        self.page(page)
            .get(byte)
            .is_none_or(|b| b & (1 << bit) != 0)
    }

    /// Sets (`intercept = true`) or clears the bit of `port`.
    pub fn set_intercept(&mut self, port: u16, intercept: bool) {
        let (page, byte, bit) = io_bit_position(port);
        if let Some(b) = self.page_mut(page).get_mut(byte) {
            if intercept {
                *b |= 1 << bit;
            } else {
                *b &= !(1 << bit);
            }
        }
    }

    /// Lets the guest access `port` without an exit.
    pub fn pass_through(&mut self, port: u16) {
        self.set_intercept(port, false);
    }

    /// Sets or clears the bits of `count` ports starting at `first`; ports past FFFFH are
    /// ignored.
    pub fn set_range(&mut self, first: u16, count: u32, intercept: bool) {
        let last = u32::from(first).saturating_add(count).min(0x1_0000);
        for port in u32::from(first)..last {
            // `port` < 0x10000, so the conversion cannot truncate.
            self.set_intercept(port as u16, intercept);
        }
    }

    /// Whether an access of `bytes` bytes (1, 2 or 4) at `port` exits (SDM §26.1.3): any
    /// touched port's bit set, or the access wraps past FFFFH. A size of 0 is treated as 1.
    pub fn access_exits(&self, port: u16, bytes: u8) -> bool {
        let first = u32::from(port);
        let last = first + u32::from(bytes.max(1)) - 1;
        if last > 0xFFFF {
            return true;
        }
        (first..=last).any(|p| self.is_intercepted(p as u16))
    }

    /// Raw page A (ports 0000H-7FFFH).
    pub fn page_a(&self) -> &[u8; IO_BITMAP_PAGE_SIZE] {
        &self.a
    }

    /// Raw page B (ports 8000H-FFFFH).
    pub fn page_b(&self) -> &[u8; IO_BITMAP_PAGE_SIZE] {
        &self.b
    }
}

impl Default for IoBitmaps {
    fn default() -> Self {
        Self::new_intercept_all()
    }
}

impl fmt::Debug for IoBitmaps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = self
            .a
            .iter()
            .chain(self.b.iter())
            .map(|b| b.count_zeros())
            .sum::<u32>();
        f.debug_struct("IoBitmaps")
            .field("pass_through_ports", &open)
            .finish()
    }
}
