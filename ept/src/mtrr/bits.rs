//! Where a variable-range MTRR starts or stops matching.

/// The smallest `y >= x` with `y & m == b` and `y <= limit_mask` (`b` must be a subset of
/// `m`; `limit_mask` is `2^width - 1`), or `None`.
pub(crate) fn next_match(x: u64, m: u64, b: u64, limit_mask: u64) -> Option<u64> {
    if x > limit_mask {
        return None;
    }
    let diff = (x ^ b) & m;
    if diff == 0 {
        return Some(x);
    }
    // p: the highest fixed bit where x and b differ.
    let p = 63 - diff.leading_zeros();
    let below_p = (1u64 << p) - 1;
    if b & (1 << p) != 0 {
        // Raise bit p: keep x above p, take b's fixed bits below, free bits below 0.
        let above = x & !below_p & !(1u64 << p);
        return Some(above | (1 << p) | (b & below_p));
    }
    // x is above every match agreeing with it above p: carry into the lowest free bit
    // above p that x has clear.
    let free_zero_above = !m & !x & limit_mask & !((1u64 << p) | below_p);
    if free_zero_above == 0 {
        return None;
    }
    let q = free_zero_above.trailing_zeros();
    let low_q = (1u64 << q) - 1;
    let y = (x & !low_q & !(1u64 << q)) | (1 << q) | (b & low_q);
    (y <= limit_mask).then_some(y)
}

/// The first address above `x` that a range containing `x` (mask `m`) no longer contains:
/// the next multiple of `m`'s lowest set bit. `None` when every address matches or the
/// boundary is beyond `limit_mask`.
pub(crate) fn next_mismatch(x: u64, m: u64, limit_mask: u64) -> Option<u64> {
    if m == 0 {
        return None;
    }
    let step = 1u64 << m.trailing_zeros();
    let y = (x | (step - 1)).checked_add(1)?;
    (y <= limit_mask).then_some(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn next_match_is_the_smallest(x in 0u64..(1 << 16), m in 0u64..(1 << 16), b in 0u64..(1 << 16)) {
            let b = b & m;
            let limit = (1u64 << 16) - 1;
            let brute = (x..=limit).find(|y| y & m == b);
            prop_assert_eq!(next_match(x, m, b, limit), brute);
        }

        #[test]
        fn next_mismatch_is_the_first_change(x in 0u64..(1 << 16), m in 0u64..(1 << 16)) {
            let limit = (1u64 << 16) - 1;
            let brute = (x + 1..=limit).find(|y| y & m != x & m);
            prop_assert_eq!(next_mismatch(x, m, limit), brute);
        }
    }
}
