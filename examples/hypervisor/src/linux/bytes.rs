//! Little-endian reads and writes at byte offsets, bounds-checked (the boot structures are
//! little-endian x86 data; a read past the end is `None`, never a panic).

/// Reads `N` bytes at `at`.
fn array<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The byte at `at`.
pub(crate) fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

/// The little-endian `u16` at `at`.
pub(crate) fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    array(data, at).map(u16::from_le_bytes)
}

/// The little-endian `u32` at `at`.
pub(crate) fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    array(data, at).map(u32::from_le_bytes)
}

/// The little-endian `u64` at `at`.
pub(crate) fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    array(data, at).map(u64::from_le_bytes)
}

/// Copies `bytes` to `buf[at..]`. The callers size `buf` for what they write; a write that
/// would not fit is dropped (the unit tests read every structure back).
pub(crate) fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = at
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(at..end))
    {
        slot.copy_from_slice(bytes);
    }
}

/// Writes a little-endian `u16` at `at`.
pub(crate) fn put_u16(buf: &mut [u8], at: usize, value: u16) {
    put(buf, at, &value.to_le_bytes());
}

/// Writes a little-endian `u32` at `at`.
pub(crate) fn put_u32(buf: &mut [u8], at: usize, value: u32) {
    put(buf, at, &value.to_le_bytes());
}

/// Writes a little-endian `u64` at `at`.
pub(crate) fn put_u64(buf: &mut [u8], at: usize, value: u64) {
    put(buf, at, &value.to_le_bytes());
}

/// The two's-complement byte that makes `bytes` sum to zero modulo 256 (the checksum rule of
/// the MP tables).
pub(crate) fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |sum, byte| sum.wrapping_add(*byte))
        .wrapping_neg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_little_endian_and_bounded() {
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u16_at(&data, 0), Some(0x0201));
        assert_eq!(u32_at(&data, 4), Some(0x0807_0605));
        assert_eq!(u64_at(&data, 0), Some(0x0807_0605_0403_0201));
        assert_eq!(u32_at(&data, 5), None);
        assert_eq!(u64_at(&data, usize::MAX), None);
        assert_eq!(u8_at(&data, 8), None);
    }

    #[test]
    fn writes_land_and_out_of_range_writes_are_dropped() {
        let mut buf = [0u8; 6];
        put_u32(&mut buf, 1, 0xAABB_CCDD);
        assert_eq!(buf, [0, 0xDD, 0xCC, 0xBB, 0xAA, 0]);
        put_u16(&mut buf, 5, 0xFFFF);
        put_u64(&mut buf, usize::MAX, 1);
        assert_eq!(buf, [0, 0xDD, 0xCC, 0xBB, 0xAA, 0]);
    }

    #[test]
    fn checksum_makes_the_sum_zero() {
        let mut bytes = [0x12u8, 0xFF, 0x80, 0];
        bytes[3] = checksum(&bytes);
        assert_eq!(bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0);
    }
}
