//! Plain decimals (no exponent) read in one pass and scaled to NUMERIC or BIGNUMERIC with no allocation:
//! digits gathered eight at a time (SWAR) into a `u128` or a 256-bit integer; `None` defers to the exact path.

use arrow_buffer::i256;

use super::*;

/// The common case without an exponent and within limits, with no allocation; `None` defers to the exact
/// general path (which also produces the error).
#[inline]
pub(super) fn decimal128_fast(text: &[u8], is_string: bool) -> Option<i128> {
    scaled128(plain_decimal::<u128, 38>(text, is_string)?)
}

/// The decimal's digits scaled to NUMERIC's 9 fractional digits, when within its limits.
#[inline(always)]
pub(super) fn scaled128(p: Plain<u128>) -> Option<i128> {
    if p.int_digits > NUMERIC.max_int_digits as usize || p.frac_len > NUMERIC.scale as usize {
        return None;
    }
    // digits < 10^38 and at most 29 + 9 of them significant: the scaled value stays below 10^38.
    let v = p.digits as i128 * POW10[NUMERIC.scale as usize - p.frac_len];
    Some(if p.neg { -v } else { v })
}

/// An unsigned integer the digits of a decimal are gathered into: `u128` for up to 38 digits, `i256` for 76.
pub(super) trait Digits: Copy {
    const ZERO: Self;
    /// `self × 10^n + chunk`, where `chunk` holds `n` digits.
    fn fold(self, chunk: u64, n: usize) -> Self;
}

impl Digits for u128 {
    const ZERO: Self = 0;
    #[inline(always)]
    fn fold(self, chunk: u64, n: usize) -> Self {
        self * POW10_38[n] as u128 + chunk as u128
    }
}

/// An unsigned 256-bit integer as two 128-bit halves: BIGNUMERIC's digits (up to 76, below 10^76 < 2^253).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct U256 {
    hi: u128,
    lo: u128,
}

impl Digits for U256 {
    const ZERO: Self = U256 { hi: 0, lo: 0 };
    /// Two or four 64 × 64 → 128 multiplications (`n ≤ 19`, so `10^n` fits in a `u64`); no overflow below 2^256.
    #[inline(always)]
    fn fold(self, chunk: u64, n: usize) -> Self {
        let p = POW10_38[n] as u64;
        let (a0, a1) = (self.lo & u64::MAX as u128, self.lo >> 64);
        let (p0, p1) = (a0 * p as u128, a1 * p as u128);
        let (lo, c0) = p0.overflowing_add(p1 << 64);
        let (lo, c1) = lo.overflowing_add(chunk as u128);
        let hi = self.hi.wrapping_mul(p as u128) + (p1 >> 64) + c0 as u128 + c1 as u128;
        U256 { hi, lo }
    }
}

/// A decimal without an exponent, read in one pass.
pub(super) struct Plain<D> {
    neg: bool,
    /// All its significant digits as one integer.
    digits: D,
    /// Digits before the point, leading zeros included.
    int_len: usize,
    /// Significant digits before the point (leading zeros do not count).
    int_digits: usize,
    /// Whether it has a decimal point.
    point: bool,
    /// Digits after the point, trailing zeros included.
    frac_len: usize,
}

/// Running state of [`plain_decimal`]: digits gathered up to 19 at a time in a `u64`, then folded into `acc`.
pub(super) struct Gather<D> {
    acc: D,
    chunk: u64,
    in_chunk: usize,
    significant: usize,
}

/// The value of the eight ASCII digits at `i`, or `None` when fewer than eight digits follow (SWAR: each byte's
/// digit checked and the eight combined in three multiplications, as fast_float does).
#[inline(always)]
pub(crate) fn eight_digits(text: &[u8], i: usize) -> Option<u64> {
    let v = u64::from_le_bytes(text.get(i..i + 8)?.try_into().ok()?);
    // Every byte 0x30..=0x39: the high nibble is 3, and adding 6 does not carry out of the low one.
    let all_digits =
        (v & 0xf0f0_f0f0_f0f0_f0f0) | ((v.wrapping_add(0x0606_0606_0606_0606) & 0xf0f0_f0f0_f0f0_f0f0) >> 4);
    if all_digits != 0x3333_3333_3333_3333 {
        return None;
    }
    Some(combine_eight(v & 0x0f0f_0f0f_0f0f_0f0f))
}

/// Eight digit values, one per byte (the first byte the most significant digit), as one number.
#[inline(always)]
pub(super) fn combine_eight(v: u64) -> u64 {
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff
}

/// The run of ASCII digits at the start of the eight bytes at `i`: (how many, 0 to 8, and their value), read as
/// one word; `None` when fewer than eight bytes follow.
#[inline(always)]
pub(super) fn leading_digits(text: &[u8], i: usize) -> Option<(usize, u64)> {
    let t = u64::from_le_bytes(text.get(i..i + 8)?.try_into().ok()?) ^ 0x3030_3030_3030_3030;
    // A byte is a digit exactly when it is 0..=9 after the XOR; adding 0x76 sets the top bit of any other. A carry
    // only reaches the bytes above a non-digit, so the lowest flagged byte is exact.
    let stops = (t | t.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
    let n = (stops.trailing_zeros() / 8) as usize;
    if n == 0 {
        return Some((0, 0));
    }
    // The n digits moved to the top bytes: the bytes below are zeros, leading zeros of the number.
    Some((n, combine_eight((t & 0x0f0f_0f0f_0f0f_0f0f) << (8 * (8 - n)))))
}

/// Gather the digits at `i` (at most `MAX` significant in all); the end of the digits, or `None` past `MAX`.
#[inline(always)]
pub(super) fn gather_digits<D: Digits, const MAX: usize>(
    text: &[u8],
    mut i: usize,
    g: &mut Gather<D>,
) -> Option<usize> {
    if g.significant == 0 {
        while text.get(i) == Some(&b'0') {
            i += 1;
        }
    }
    while g.significant + 8 <= MAX {
        let Some(eight) = eight_digits(text, i) else {
            break;
        };
        // `chunk` holds at most 19 digits (u64): folded before it would hold more.
        if g.in_chunk > 10 {
            g.acc = g.acc.fold(g.chunk, g.in_chunk);
            (g.chunk, g.in_chunk) = (0, 0);
        }
        g.chunk = g.chunk * 100_000_000 + eight;
        g.in_chunk += 8;
        g.significant += 8;
        i += 8;
    }
    // Past the leading zeros every digit is significant. The last (fewer than eight) digits as one word when eight
    // bytes follow, else one at a time.
    if let Some((n, v)) = leading_digits(text, i) {
        if g.significant + n > MAX {
            return None;
        }
        if g.in_chunk + n > 19 {
            g.acc = g.acc.fold(g.chunk, g.in_chunk);
            (g.chunk, g.in_chunk) = (0, 0);
        }
        g.chunk = g.chunk * POW10_38[n] as u64 + v;
        g.in_chunk += n;
        g.significant += n;
        return Some(i + n);
    }
    while let Some(&c) = text.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if g.significant == MAX {
            return None;
        }
        if g.in_chunk == 19 {
            g.acc = g.acc.fold(g.chunk, 19);
            (g.chunk, g.in_chunk) = (0, 0);
        }
        g.significant += 1;
        g.chunk = g.chunk * 10 + (c - b'0') as u64;
        g.in_chunk += 1;
        i += 1;
    }
    Some(i)
}

/// `[+-]?(d+(.d*)?|.d+)` (`+` only when `allow_plus`) with at most `MAX` significant digits, in one pass; `None`
/// for anything else (an exponent, more digits, not a decimal): the general path decides, and words the error.
/// `MAX` must keep `10^MAX` within `D` (38 for `u128`, 76 for `i256`).
#[inline(always)]
pub(super) fn plain_decimal<D: Digits, const MAX: usize>(text: &[u8], allow_plus: bool) -> Option<Plain<D>> {
    let (p, end) = plain_decimal_prefix::<D, MAX>(text, allow_plus)?;
    (end == text.len() && p.int_len + p.frac_len != 0).then_some(p)
}

/// [`plain_decimal`] on the start of `text`: the decimal and where it ends, whatever follows.
#[inline(always)]
pub(super) fn plain_decimal_prefix<D: Digits, const MAX: usize>(
    text: &[u8],
    allow_plus: bool,
) -> Option<(Plain<D>, usize)> {
    let (neg, start) = match text.first() {
        Some(b'-') => (true, 1),
        Some(b'+') if allow_plus => (false, 1),
        _ => (false, 0),
    };
    let mut g = Gather {
        acc: D::ZERO,
        chunk: 0,
        in_chunk: 0,
        significant: 0,
    };
    let mut i = gather_digits::<D, MAX>(text, start, &mut g)?;
    let int_len = i - start;
    let int_digits = g.significant;
    let mut frac_len = 0;
    let point = text.get(i) == Some(&b'.');
    if point {
        let fs = i + 1;
        i = gather_digits::<D, MAX>(text, fs, &mut g)?;
        frac_len = i - fs;
    }
    let p = Plain {
        neg,
        digits: g.acc.fold(g.chunk, g.in_chunk),
        int_len,
        int_digits,
        point,
        frac_len,
    };
    Some((p, i))
}

pub(super) const POW10: [i128; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// BIGNUMERIC without an exponent, with no allocation: the digits read in one pass (19 at a time in a `u64`, folded
/// into a 256-bit integer of two `u128` halves), then scaled by one multiplication; `None` defers to the exact
/// general path.
#[inline]
pub(super) fn decimal256_fast(text: &[u8], is_string: bool) -> Option<i256> {
    scaled256(plain_decimal::<U256, 76>(text, is_string)?)
}

/// A BIGNUMERIC value in place at `pos` of a JSON text ([`json_plain_decimal`]): `(unscaled value, end)`, or `None`
/// to take the exact general path.
#[inline]
pub fn json_decimal256_fast(buf: &[u8], pos: usize) -> Option<(i256, usize)> {
    let (p, end) = json_plain_decimal::<U256, 76>(buf, pos)?;
    Some((scaled256(p)?, end))
}

/// A NUMERIC value in place at `pos` of a JSON text ([`json_plain_decimal`]): `(unscaled value, end)`, or `None` to
/// take the exact general path.
#[inline]
pub fn json_decimal128_fast(buf: &[u8], pos: usize) -> Option<(i128, usize)> {
    let (p, end) = json_plain_decimal::<u128, 38>(buf, pos)?;
    Some((scaled128(p)?, end))
}

/// A plain decimal read in one pass at `pos` of a JSON text, where it stands: a number literal, its JSON grammar
/// checked as it goes, or a string (on its quote) holding nothing but a plain decimal, as [`plain_decimal`] reads
/// one (a `+` allowed; an escape or anything else defers). `(decimal, end past it)`, or `None` for the general path.
#[inline(always)]
pub(super) fn json_plain_decimal<D: Digits, const MAX: usize>(buf: &[u8], pos: usize) -> Option<(Plain<D>, usize)> {
    if buf.get(pos) == Some(&b'"') {
        let (p, end) = plain_decimal_prefix::<D, MAX>(buf.get(pos + 1..)?, true)?;
        let close = pos + 1 + end;
        return (buf.get(close) == Some(&b'"') && p.int_len + p.frac_len != 0).then_some((p, close + 1));
    }
    let text = buf.get(pos..)?;
    let (p, end) = plain_decimal_prefix::<D, MAX>(text, false)?;
    let first = text[p.neg as usize..].first();
    // JSON: digits before the point, no leading zero, digits after a point, and no exponent or more number after.
    if p.int_len == 0
        || (p.int_len > 1 && first == Some(&b'0'))
        || (p.point && p.frac_len == 0)
        || matches!(text.get(end), Some(b'e' | b'E' | b'.' | b'+' | b'-' | b'0'..=b'9'))
    {
        return None;
    }
    Some((p, pos + end))
}

/// The decimal's digits scaled to BIGNUMERIC's 38 fractional digits, when within its limits.
#[inline(always)]
pub(super) fn scaled256(p: Plain<U256>) -> Option<i256> {
    if p.int_digits > BIGNUMERIC.max_int_digits as usize || p.frac_len > BIGNUMERIC.scale as usize {
        return None;
    }
    // At most 38 significant digits on each side of the point: the scaled value is below 10^76 < 2^255.
    let scale = POW10_38[BIGNUMERIC.scale as usize - p.frac_len] as u128;
    let (low, carry) = widening_mul(p.digits.lo, scale);
    let high = p.digits.hi.wrapping_mul(scale).wrapping_add(carry);
    let v = i256::from_parts(low, high as i128);
    Some(if p.neg { v.wrapping_neg() } else { v })
}

/// `a × b` as (low, high) 128-bit halves, from four 64 × 64 → 128 products.
#[inline(always)]
pub(super) fn widening_mul(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a0, a1, b0, b1) = (a & LOW, a >> 64, b & LOW, b >> 64);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // The middle column: the high half of p00 plus the low halves of the cross products (fits in 66 bits).
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (p00 & LOW) | (mid << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (low, high)
}

/// 10^0 ..= 10^38 (10^38 < i128::MAX).
pub(super) const POW10_38: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};
