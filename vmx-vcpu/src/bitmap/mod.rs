//! Interception bitmaps: MSR bitmap (SDM Vol. 3C §25.6.9) and I/O bitmaps A/B (§25.6.4).

mod io;
mod msr;

pub use io::{IO_BITMAP_PAGE_SIZE, IoBitmapPage, IoBitmaps, io_bit_position};
pub use msr::{
    HIGH_MSR_FIRST, HIGH_MSR_LAST, LOW_MSR_LAST, MSR_BITMAP_SIZE, MsrAccess, MsrBitmap,
    MsrIntercept, MsrOutOfRange, msr_bit_position,
};
