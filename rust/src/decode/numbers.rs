//! Exact number conversions: INT64, FLOAT64, and NUMERIC/BIGNUMERIC straight from their decimal text
//! (never through a float).

use arrow_buffer::i256;

use super::fail::{err, preview, Res};
use super::lemire;
use crate::error::RejectCode;

/// Parse `[+-]?[0-9]+` (`allow_plus` for strings) into an i64; a fraction or exponent is the caller's concern.
#[inline]
pub fn parse_i64(text: &[u8], allow_plus: bool) -> Res<i64> {
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') if allow_plus => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return err(
            RejectCode::InvalidValue,
            format!("expected an INT64, got {}", preview(text)),
        );
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = match v.checked_mul(10).and_then(|v| v.checked_add((d - b'0') as u64)) {
            Some(v) => v,
            None => return out_of_i64(text),
        };
    }
    if neg {
        if v > 1u64 << 63 {
            return out_of_i64(text);
        }
        Ok((v as i64).wrapping_neg())
    } else if v > i64::MAX as u64 {
        out_of_i64(text)
    } else {
        Ok(v as i64)
    }
}

#[cold]
fn out_of_i64<T>(text: &[u8]) -> Res<T> {
    err(
        RejectCode::OutOfRange,
        format!("{} is out of range for INT64", preview(text)),
    )
}

/// Parse a JSON number literal or a numeric string into a finite f64.
#[inline]
pub fn parse_f64(text: &[u8]) -> Res<f64> {
    // The JSON number grammar (and our string grammar check) is a subset of Rust's float grammar. Callers pass
    // text that grammar has passed, which is ASCII; anything else would fail the parse below, never be misread.
    let s = if text.is_ascii() {
        // SAFETY: ASCII is UTF-8 (checked a word at a time, cheaper than `from_utf8` on these short texts).
        unsafe { std::str::from_utf8_unchecked(text) }
    } else {
        ""
    };
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => err(
            RejectCode::OutOfRange,
            format!("{} is out of range for FLOAT64", preview(text)),
        ),
        Err(_) => err(
            RejectCode::InvalidValue,
            format!("expected a FLOAT64, got {}", preview(text)),
        ),
    }
}

/// FLOAT64 from a JSON string: "NaN", "Infinity", "-Infinity", or a decimal number.
pub fn parse_f64_string(text: &[u8]) -> Res<f64> {
    match text {
        b"NaN" => Ok(f64::NAN),
        b"Infinity" => Ok(f64::INFINITY),
        b"-Infinity" => Ok(f64::NEG_INFINITY),
        _ if is_decimal_text(text) => parse_f64(text),
        _ => err(
            RejectCode::InvalidValue,
            format!("expected a FLOAT64, got string {}", preview(text)),
        ),
    }
}

fn is_decimal_text(text: &[u8]) -> bool {
    split_decimal(text, true).is_some()
}

/// A decimal's limits: digits after the point, and digits before it.
#[derive(Clone, Copy)]
pub struct DecimalSpec {
    pub name: &'static str,
    pub scale: u32,
    pub max_int_digits: u32,
    /// Appended to the "more integer digits" message.
    pub int_note: &'static str,
}

pub const NUMERIC: DecimalSpec = DecimalSpec {
    name: "NUMERIC",
    scale: 9,
    max_int_digits: 29,
    int_note: "",
};
pub const BIGNUMERIC: DecimalSpec = DecimalSpec {
    name: "BIGNUMERIC",
    scale: 38,
    max_int_digits: 38,
    // BigQuery's BIGNUMERIC reaches (2^255 - 1) / 10^38 ≈ 5.79e38, a partial 39th integer digit; the Storage Write
    // API takes BIGNUMERIC as Arrow decimal256(76, 38), and 39 integer digits + 38 fractional ones are 77 digits:
    // more than decimal256's precision of 76 (Arrow's full validation refuses such a value).
    int_note: " (BigQuery's own limit is 5.79e38, but the Arrow decimal256(76, 38) the Storage Write API takes \
               holds 76 digits: 38 before the point)",
};

/// The exponent part at `i` (`[eE][+-]?digits`), clamped to ±1,000,000 (beyond any type's range): (exponent,
/// end); `(0, i)` when there is none, `None` when it has no digits.
#[inline(always)]
fn exponent(text: &[u8], i: usize) -> Option<(i64, usize)> {
    if !matches!(text.get(i), Some(b'e' | b'E')) {
        return Some((0, i));
    }
    exponent_digits(text, i + 1)
}

/// The sign and digits of an exponent part, from `i` (after the `e`).
#[inline(never)]
fn exponent_digits(text: &[u8], mut i: usize) -> Option<(i64, usize)> {
    let neg = match text.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut exp: i64 = 0;
    while let Some(d) = text.get(i).filter(|d| d.is_ascii_digit()) {
        exp = (exp * 10 + (d - b'0') as i64).min(1_000_000);
        i += 1;
    }
    (i > start).then_some((if neg { -exp } else { exp }, i))
}

struct DecimalParts<'a> {
    neg: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exp: i64,
}

/// Split `[+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?` into its parts.
fn split_decimal(text: &[u8], allow_plus: bool) -> Option<DecimalParts<'_>> {
    let mut i = 0;
    let neg = match text.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') if allow_plus => {
            i = 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
    }
    let int = &text[int_start..i];
    let mut frac: &[u8] = &[];
    if text.get(i) == Some(&b'.') {
        i += 1;
        let fs = i;
        while i < text.len() && text[i].is_ascii_digit() {
            i += 1;
        }
        frac = &text[fs..i];
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let (exp, i) = exponent(text, i)?;
    (i == text.len()).then_some(DecimalParts { neg, int, frac, exp })
}

/// The exact unscaled digits of a decimal at `spec.scale`, or why it does not fit.
/// Returns (negative, significant digits, number of zeros to append).
fn unscaled_digits(text: &[u8], spec: DecimalSpec, is_string: bool) -> Res<(bool, Vec<u8>, usize)> {
    let Some(p) = split_decimal(text, is_string) else {
        return err(
            RejectCode::InvalidValue,
            format!("expected a {}, got {}", spec.name, preview(text)),
        );
    };
    let mut digits: Vec<u8> = p.int.iter().chain(p.frac.iter()).map(|d| d - b'0').collect();
    // Position of the decimal point within `digits`.
    let mut point = p.int.len() as i64 + p.exp;
    let lead = digits.iter().take_while(|&&d| d == 0).count();
    digits.drain(..lead);
    point -= lead as i64;
    while digits.last() == Some(&0) && (digits.len() as i64) > point {
        digits.pop();
    }
    if digits.is_empty() {
        return Ok((false, digits, 0));
    }
    let int_digits = point.max(0);
    let frac_digits = digits.len() as i64 - point;
    if int_digits > spec.max_int_digits as i64 {
        return err(
            RejectCode::OutOfRange,
            format!(
                "{} has more than {} integer digits for {}{}",
                preview(text),
                spec.max_int_digits,
                spec.name,
                spec.int_note
            ),
        );
    }
    if frac_digits > spec.scale as i64 {
        return err(
            RejectCode::OutOfRange,
            format!(
                "{} has more than {} fractional digits for {} (values are never rounded)",
                preview(text),
                spec.scale,
                spec.name
            ),
        );
    }
    let zeros = (spec.scale as i64 - frac_digits) as usize;
    Ok((p.neg, digits, zeros))
}

/// NUMERIC (decimal128(38, 9)) from a JSON number literal or string.
#[inline]
pub fn parse_decimal128(text: &[u8], is_string: bool) -> Res<i128> {
    if let Some(v) = decimal128_fast(text, is_string) {
        return Ok(v);
    }
    let (neg, digits, zeros) = unscaled_digits(text, NUMERIC, is_string)?;
    let mut v: i128 = 0;
    for d in digits {
        v = v * 10 + d as i128;
    }
    for _ in 0..zeros {
        v *= 10;
    }
    Ok(if neg { -v } else { v })
}

/// The common case without an exponent and within limits, with no allocation; `None` defers to the exact
/// general path (which also produces the error).
#[inline]
fn decimal128_fast(text: &[u8], is_string: bool) -> Option<i128> {
    scaled128(plain_decimal::<u128, 38>(text, is_string)?)
}

/// The decimal's digits scaled to NUMERIC's 9 fractional digits, when within its limits.
#[inline(always)]
fn scaled128(p: Plain<u128>) -> Option<i128> {
    if p.int_digits > NUMERIC.max_int_digits as usize || p.frac_len > NUMERIC.scale as usize {
        return None;
    }
    // digits < 10^38 and at most 29 + 9 of them significant: the scaled value stays below 10^38.
    let v = p.digits as i128 * POW10[NUMERIC.scale as usize - p.frac_len];
    Some(if p.neg { -v } else { v })
}

/// An unsigned integer the digits of a decimal are gathered into: `u128` for up to 38 digits, `i256` for 76.
trait Digits: Copy {
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
struct U256 {
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
struct Plain<D> {
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
struct Gather<D> {
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
fn combine_eight(v: u64) -> u64 {
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff
}

/// The run of ASCII digits at the start of the eight bytes at `i`: (how many, 0 to 8, and their value), read as
/// one word; `None` when fewer than eight bytes follow.
#[inline(always)]
fn leading_digits(text: &[u8], i: usize) -> Option<(usize, u64)> {
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
fn gather_digits<D: Digits, const MAX: usize>(text: &[u8], mut i: usize, g: &mut Gather<D>) -> Option<usize> {
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
fn plain_decimal<D: Digits, const MAX: usize>(text: &[u8], allow_plus: bool) -> Option<Plain<D>> {
    let (p, end) = plain_decimal_prefix::<D, MAX>(text, allow_plus)?;
    (end == text.len() && p.int_len + p.frac_len != 0).then_some(p)
}

/// [`plain_decimal`] on the start of `text`: the decimal and where it ends, whatever follows.
#[inline(always)]
fn plain_decimal_prefix<D: Digits, const MAX: usize>(text: &[u8], allow_plus: bool) -> Option<(Plain<D>, usize)> {
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

const POW10: [i128; 10] = [
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

/// BIGNUMERIC (decimal256(76, 38)) from a JSON number literal or string.
#[inline]
pub fn parse_decimal256(text: &[u8], is_string: bool) -> Res<i256> {
    match decimal256_fast(text, is_string) {
        Some(v) => Ok(v),
        None => decimal256_general(text, is_string),
    }
}

/// The exact path: any exponent, and the errors.
fn decimal256_general(text: &[u8], is_string: bool) -> Res<i256> {
    let (neg, mut digits, zeros) = unscaled_digits(text, BIGNUMERIC, is_string)?;
    digits.extend(std::iter::repeat_n(0u8, zeros));
    let mut v = i256::ZERO;
    for chunk in digits.chunks(18) {
        let mut c: i128 = 0;
        for &d in chunk {
            c = c * 10 + d as i128;
        }
        let scale = i256::from_i128(10i128.pow(chunk.len() as u32));
        v = v.wrapping_mul(scale).wrapping_add(i256::from_i128(c));
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// BIGNUMERIC without an exponent, with no allocation: the digits read in one pass (19 at a time in a `u64`, folded
/// into a 256-bit integer of two `u128` halves), then scaled by one multiplication; `None` defers to the exact
/// general path.
#[inline]
fn decimal256_fast(text: &[u8], is_string: bool) -> Option<i256> {
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
fn json_plain_decimal<D: Digits, const MAX: usize>(buf: &[u8], pos: usize) -> Option<(Plain<D>, usize)> {
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
fn scaled256(p: Plain<U256>) -> Option<i256> {
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
fn widening_mul(a: u128, b: u128) -> (u128, u128) {
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
const POW10_38: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_rng::Rng;

    #[test]
    fn widening_mul_matches_i256() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        let mut cases = vec![(0, 0), (u128::MAX, u128::MAX), (u128::MAX, 1), (1 << 64, 1 << 64)];
        for _ in 0..2_000 {
            let a = ((next() as u128) << 64 | next() as u128) >> (next() % 128);
            let b = ((next() as u128) << 64 | next() as u128) >> (next() % 128);
            cases.push((a, b));
        }
        for (a, b) in cases {
            let (low, high) = widening_mul(a, b);
            // i256's wrapping product of the zero-extended operands keeps all 256 bits of a × b.
            let want = i256::from_parts(a, 0).wrapping_mul(i256::from_parts(b, 0));
            assert_eq!(i256::from_parts(low, high as i128), want, "{a} × {b}");
        }
    }

    #[test]
    fn int64_bounds() {
        assert_eq!(parse_i64(b"-9223372036854775808", false).unwrap(), i64::MIN);
        assert_eq!(parse_i64(b"9223372036854775807", false).unwrap(), i64::MAX);
        assert_eq!(
            parse_i64(b"9223372036854775808", false).unwrap_err().code,
            RejectCode::OutOfRange
        );
        assert_eq!(parse_i64(b"+5", true).unwrap(), 5);
        assert_eq!(parse_i64(b"+5", false).unwrap_err().code, RejectCode::InvalidValue);
        assert_eq!(parse_i64(b"1.0", true).unwrap_err().code, RejectCode::InvalidValue);
        assert_eq!(parse_i64(b"", true).unwrap_err().code, RejectCode::InvalidValue);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5e2").unwrap(), 150.0);
        assert_eq!(parse_f64(b"1e400").unwrap_err().code, RejectCode::OutOfRange);
        assert!(parse_f64_string(b"NaN").unwrap().is_nan());
        assert_eq!(parse_f64_string(b"-Infinity").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_f64_string(b"2.5").unwrap(), 2.5);
        assert_eq!(parse_f64_string(b"inf").unwrap_err().code, RejectCode::InvalidValue);
    }

    #[test]
    fn numeric_exact() {
        assert_eq!(parse_decimal128(b"91.11", false).unwrap(), 91_110_000_000);
        assert_eq!(parse_decimal128(b"-0.000000001", false).unwrap(), -1);
        assert_eq!(parse_decimal128(b"1.5e3", false).unwrap(), 1_500_000_000_000);
        assert_eq!(parse_decimal128(b"1.0000000000", false).unwrap(), 1_000_000_000);
        assert_eq!(
            parse_decimal128(b"0.0000000001", false).unwrap_err().code,
            RejectCode::OutOfRange
        );
        let max = b"99999999999999999999999999999.999999999";
        assert_eq!(parse_decimal128(max, true).unwrap(), 10i128.pow(38) - 1);
        assert_eq!(
            parse_decimal128(b"100000000000000000000000000000", true)
                .unwrap_err()
                .code,
            RejectCode::OutOfRange
        );
        assert_eq!(parse_decimal128(b"+.5", true).unwrap(), 500_000_000);
        assert_eq!(
            parse_decimal128(b"abc", true).unwrap_err().code,
            RejectCode::InvalidValue
        );
        assert_eq!(parse_decimal128(b"0e99999999", false).unwrap(), 0);
    }

    #[test]
    fn bignumeric_exact() {
        let v = parse_decimal256(b"1.00000000000000000000000000000000000001", true).unwrap();
        assert_eq!(v, i256::from_i128(10i128.pow(38) + 1));
        let big = parse_decimal256(b"-12345678901234567890123456789012345678", true).unwrap();
        assert!(big < i256::ZERO);
        assert_eq!(
            parse_decimal256(b"123456789012345678901234567890123456789", true)
                .unwrap_err()
                .code,
            RejectCode::OutOfRange
        );
        let long = format!("{}.{}", "9".repeat(38), "9".repeat(38));
        let cases = [
            "0",
            "-0",
            "0.0",
            "7",
            "-7.5",
            "00012.3400",
            "1e3",
            "-12.5e-3",
            "0.00000000000000000000000000000000000001",
            "12345678901234567890",
            "123456789012345678.9",
            "-98765432109876543210.123456789012345678901234567",
            long.as_str(),
        ];
        for text in cases {
            for is_string in [false, true] {
                let general = decimal256_general(text.as_bytes(), is_string).unwrap();
                assert_eq!(parse_decimal256(text.as_bytes(), is_string).unwrap(), general, "{text}");
                if let Some(fast) = decimal256_fast(text.as_bytes(), is_string) {
                    assert_eq!(fast, general, "{text}");
                }
            }
        }
    }

    /// Random decimal texts (leading and trailing zeros, up to 80 digits, signs, a point anywhere): wherever a fast
    /// path answers, it agrees with the general one, and both agree on what is refused.
    #[test]
    fn fast_decimals_agree_with_the_general_path_on_random_text() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut next = |n: u64| rng.below(n);
        let general128 = |b: &[u8], is_string: bool| {
            unscaled_digits(b, NUMERIC, is_string).map(|(neg, digits, zeros)| {
                let v = digits.iter().fold(0i128, |v, &d| v * 10 + d as i128) * 10i128.pow(zeros as u32);
                if neg {
                    -v
                } else {
                    v
                }
            })
        };
        let mut long_fast = 0;
        let mut json_fast = 0;
        let mut string_fast = 0;
        for _ in 0..50_000 {
            let mut text = String::new();
            match next(4) {
                0 => text.push('-'),
                1 => text.push('+'),
                _ => {}
            }
            let len = 1 + next(80) as usize;
            let point = next(len as u64 + 8) as usize;
            for i in 0..len {
                if i == point {
                    text.push('.');
                }
                let zero_run = next(3) == 0;
                text.push(if zero_run { '0' } else { (b'0' + next(10) as u8) as char });
            }
            for is_string in [false, true] {
                let b = text.as_bytes();
                let general256 = decimal256_general(b, is_string);
                if let Some(fast) = decimal256_fast(b, is_string) {
                    assert_eq!(Some(fast), general256.as_ref().ok().copied(), "{text}");
                    let significant = text.trim_start_matches(['-', '+', '0', '.']).replace('.', "").len();
                    long_fast += (significant > 38) as usize;
                }
                let general128 = general128(b, is_string);
                if let Some(fast) = decimal128_fast(b, is_string) {
                    assert_eq!(Some(fast), general128.as_ref().ok().copied(), "{text}");
                }
                assert_eq!(parse_decimal128(b, is_string).ok(), general128.ok(), "{text}");
            }
            // As a raw JSON number followed by what may follow one: answered only for a valid JSON number, which
            // ends where the text does, with the general path's value.
            let suffix = [",", "}", "]", "", " ", "e5", "E-2"][next(7) as usize];
            let raw = format!("{text}{suffix}");
            let answers = [
                (
                    json_decimal256_fast(raw.as_bytes(), 0).map(|(v, e)| (v.to_string(), e)),
                    decimal256_general(text.as_bytes(), false).map(|v| v.to_string()),
                ),
                (
                    json_decimal128_fast(raw.as_bytes(), 0).map(|(v, e)| (v.to_string(), e)),
                    general128(text.as_bytes(), false).map(|v| v.to_string()),
                ),
            ];
            json_fast += answers[0].0.is_some() as usize;
            for (fast, general) in answers {
                if let Some((v, end)) = fast {
                    assert!(is_json_number(&text) && !["e5", "E-2"].contains(&suffix), "{raw}");
                    assert_eq!(end, text.len(), "{raw}");
                    assert_eq!(Ok(v), general.map_err(|f| f.code), "{raw}");
                }
            }
            // As a string value, read in place: answered only when the string holds nothing but the decimal (no
            // escape, space or letter after it), ending past the closing quote, with the general path's value.
            let inner = ["", "", "", " ", "x", "\\u0030", "\\\"", "e1"][next(8) as usize];
            let quoted = format!("\"{text}{inner}\"{suffix}");
            let in_place = (
                json_decimal256_fast(quoted.as_bytes(), 0),
                json_decimal128_fast(quoted.as_bytes(), 0),
            );
            for (fast, general) in [
                (
                    in_place.0.map(|(v, e)| (v.to_string(), e)),
                    decimal256_general(text.as_bytes(), true).map(|v| v.to_string()),
                ),
                (
                    in_place.1.map(|(v, e)| (v.to_string(), e)),
                    general128(text.as_bytes(), true).map(|v| v.to_string()),
                ),
            ] {
                if let Some((v, end)) = fast {
                    string_fast += 1;
                    assert!(inner.is_empty(), "{quoted}");
                    assert_eq!(end, text.len() + 2, "{quoted}");
                    assert_eq!(Ok(v), general.map_err(|f| f.code), "{quoted}");
                }
            }
        }
        assert!(
            long_fast > 1_000,
            "BIGNUMERICs of 39 to 76 digits seldom took the fast path: {long_fast}"
        );
        assert!(
            json_fast > 5_000,
            "raw BIGNUMERICs seldom took the fast path: {json_fast}"
        );
        assert!(
            string_fast > 10_000,
            "decimal strings seldom took the fast path: {string_fast}"
        );
        for quoted in [r#""1\u0030""#, r#""""#, r#""-""#, r#""+.""#, r#""1.5"#, r#""1 ""#] {
            assert_eq!(json_decimal256_fast(quoted.as_bytes(), 0), None, "{quoted}");
            assert_eq!(json_decimal128_fast(quoted.as_bytes(), 0), None, "{quoted}");
        }
        for raw in [
            "1.,", "01,", "-,", "-", "1.e5", "1.5e5", ".5", "+1", "1..5", "1.5.", "--1",
        ] {
            assert_eq!(json_decimal256_fast(raw.as_bytes(), 0), None, "{raw}");
        }
        for (raw, end) in [
            ("-0.5,", 4),
            ("0}", 1),
            ("10.25]", 5),
            ("-9.000000000000000000000000000000000001", 39),
        ] {
            let (v, e) = json_decimal256_fast(raw.as_bytes(), 0).expect(raw);
            let want = decimal256_general(&raw.as_bytes()[..end], false).map_err(|f| f.code);
            assert_eq!((Ok(v), e), (want, end), "{raw}");
        }
    }

    /// JSON's number grammar without an exponent: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
    fn is_json_number(text: &str) -> bool {
        let body = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match body.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (body, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits(int) && (int == "0" || !int.starts_with('0')) && frac.is_none_or(digits)
    }
}

/// One pass over a plain JSON integer literal at `pos` (no fraction or exponent, at most 18 digits):
/// `(value, end)`, or `None` to take the exact general path (which also reports errors).
#[inline(always)]
pub fn json_int64_fast(buf: &[u8], pos: usize) -> Option<(i64, usize)> {
    let neg = buf.get(pos) == Some(&b'-');
    let start = pos + neg as usize;
    let mut i = start;
    let mut v: i64 = 0;
    while let Some(&c) = buf.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if i - start == 18 {
            return None; // a 19th digit: the exact path checks the range (no multiplication that could overflow)
        }
        v = v * 10 + (c - b'0') as i64;
        i += 1;
    }
    let n = i - start;
    if n == 0 || (n > 1 && buf[start] == b'0') || matches!(buf.get(i), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some((if neg { -v } else { v }, i))
}

/// Exact powers of ten as f64 (10^22 is the largest one an f64 holds exactly).
const F64_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Accumulate the decimal digits at `i` into `m` (wrapping: the caller discards `m` past 19 digits); the end of the
/// digits.
#[inline(always)]
fn f64_digits(buf: &[u8], mut i: usize, m: &mut u64) -> usize {
    while let Some(&c) = buf.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *m = m.wrapping_mul(10).wrapping_add(d as u64);
        i += 1;
    }
    i
}

/// The largest integer below which every integer is an exact f64.
const F64_EXACT: u64 = 1 << 53;

/// One pass over a plain JSON number literal at `pos` for FLOAT64, of at most 19 significant digits. Clinger's fast
/// path when the digits make an integer of at most 2^53 and the power of ten is within ±22 (both are exact f64s, so
/// one multiplication or division is correctly rounded); Eisel–Lemire on the same digits (out of line) for powers
/// of ten in [-27, 55] otherwise. `(value, end)`, or `None` to take the general path.
#[inline(always)]
pub fn json_f64_fast(buf: &[u8], pos: usize) -> Option<(f64, usize)> {
    let neg = buf.get(pos) == Some(&b'-');
    let start = pos + neg as usize;
    let mut m = 0u64;
    let mut i = f64_digits(buf, start, &mut m);
    let int_len = i - start;
    if int_len == 0 || (int_len > 1 && buf[start] == b'0') {
        return None;
    }
    let mut frac_len = 0;
    if buf.get(i) == Some(&b'.') {
        let fs = i + 1;
        i = f64_digits(buf, fs, &mut m);
        frac_len = i - fs;
        if frac_len == 0 {
            return None;
        }
    }
    // Up to 19 digits cannot wrap a u64 (10^19 < 2^64).
    if int_len + frac_len > 19 {
        return None;
    }
    let (exp, i) = exponent(buf, i)?;
    // value = m × 10^(exp − frac_len); exact operands (m ≤ 2^53, 10^k for k ≤ 22): one rounding. Otherwise
    // Eisel–Lemire on the same digits.
    let scale = exp - frac_len as i64;
    let v = if m <= F64_EXACT && scale.unsigned_abs() <= 22 {
        if scale >= 0 {
            m as f64 * F64_POW10[scale as usize]
        } else {
            m as f64 / F64_POW10[(-scale) as usize]
        }
    } else {
        lemire::to_f64(m, scale)?
    };
    Some((if neg { -v } else { v }, i))
}

#[cfg(test)]
mod fast_tests {
    use super::*;

    #[test]
    fn eight_digits_reads_exactly_eight_digits() {
        assert_eq!(eight_digits(b"12345678", 0), Some(12_345_678));
        assert_eq!(eight_digits(b"x00000099", 1), Some(99));
        assert_eq!(eight_digits(b"99999999", 0), Some(99_999_999));
        assert_eq!(eight_digits(b"1234567", 0), None);
        for bad in [b'/', b':', b'.', b'e', b' ', 0x80, 0xb0, 0x39 + 0x80] {
            for at in 0..8 {
                let mut v = *b"12345678";
                v[at] = bad;
                assert_eq!(eight_digits(&v, 0), None, "{bad:#x} at {at}");
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_the_general_ones() {
        for text in [
            "0",
            "-0",
            "7",
            "-123456789012345678",
            "12,",
            "1.5",
            "1e3",
            "01",
            "-",
            "1234567890123456789",
        ] {
            let b = text.as_bytes();
            if let Some((v, end)) = json_int64_fast(b, 0) {
                assert_eq!(parse_i64(&b[..end], false).unwrap(), v, "{text}");
            }
        }
        assert_eq!(json_int64_fast(b"1.5", 0), None);
        assert_eq!(json_int64_fast(b"01", 0), None);
        assert_eq!(json_int64_fast(b"42}", 0), Some((42, 2)));
        for text in [
            "0",
            "-0.5",
            "431.69",
            "123456789012345",
            "0.000000000000001",
            "9007199254.991",
            "1.7976931",
        ] {
            let (v, end) = json_f64_fast(text.as_bytes(), 0).unwrap();
            assert_eq!(
                (v.to_bits(), end),
                (text.parse::<f64>().unwrap().to_bits(), text.len()),
                "{text}"
            );
        }
        for text in [
            "1e5",
            "-7.45557815445443e-08",
            "2.5E+3",
            "12e22",
            "0.0e-400",
            "123456789012345e-22",
            "1234567890123456",
            "0.1234567890123456",
            "9007199254740992",
            "-9.007199254740992e-7",
            "9007199254740993",
            "0.9007199254740993",
            "-447.6800000000000011",
            "1e23",
            "1.5e-22",
            "1234567890123456789e36",
        ] {
            let (v, end) = json_f64_fast(text.as_bytes(), 0).unwrap();
            let want = text.parse::<f64>().unwrap();
            assert_eq!((v.to_bits(), end), (want.to_bits(), text.len()), "{text}");
        }
        for text in [
            "01",
            "1.",
            "-",
            ".5",
            "1e",
            "1e+",
            "12345678901234567890",
            "0.00000000000000000001",
            "1e56",
            "1.5e-27",
            "1e1000",
        ] {
            assert_eq!(json_f64_fast(text.as_bytes(), 0), None, "{text}");
        }
        // Wherever the fast path answers, it answers as Rust's own correctly rounded parser does.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut answered = 0;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let digits = (state >> 1) % 10u64.pow(1 + (state % 19) as u32);
            let point = (state >> 8) % 20;
            let mut text = digits.to_string();
            if (point as usize) < text.len() && point > 0 {
                text.insert(text.len() - point as usize, '.');
            }
            if state & 0x10 != 0 {
                text = format!("{text}e{}", ((state >> 20) % 120) as i64 - 60);
            }
            if let Some((v, end)) = json_f64_fast(text.as_bytes(), 0) {
                answered += 1;
                assert_eq!(
                    (v.to_bits(), end),
                    (text.parse::<f64>().unwrap().to_bits(), text.len()),
                    "{text}"
                );
            }
        }
        assert!(answered > 15_000, "{answered} of 20,000 answered");
        // Long literals leave the fast paths before any multiplication could overflow (tests build with
        // overflow checks on: an overflow here would panic).
        let long = "9".repeat(60);
        assert_eq!(json_int64_fast(long.as_bytes(), 0), None);
        assert_eq!(json_decimal128_fast(long.as_bytes(), 0), None);
        assert_eq!(json_decimal128_fast(format!("1.{long}").as_bytes(), 0), None);
        for text in [
            "0",
            "23.52",
            "-0.000000001",
            "99999999999999999999999999999.999999999",
            "1.10",
        ] {
            let (v, end) = json_decimal128_fast(text.as_bytes(), 0).unwrap();
            assert_eq!(end, text.len());
            assert_eq!(parse_decimal128(text.as_bytes(), false).unwrap(), v, "{text}");
        }
        for text in ["1e3", "0.0000000001", "100000000000000000000000000000", "00.1", "1."] {
            assert_eq!(json_decimal128_fast(text.as_bytes(), 0), None, "{text}");
        }
    }
}
