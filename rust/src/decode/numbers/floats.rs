//! FLOAT64 from JSON number literals and strings: Clinger's fast path and Eisel–Lemire over one pass of the
//! digits, the standard library's exact parse otherwise.

use super::*;
use crate::decode::fail::{err, preview, Res};
use crate::decode::lemire;
use crate::error::RejectCode;

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

pub(super) fn is_decimal_text(text: &[u8]) -> bool {
    split_decimal(text, true).is_some()
}

/// Exact powers of ten as f64 (10^22 is the largest one an f64 holds exactly).
pub(super) const F64_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Accumulate the decimal digits at `i` into `m` (wrapping: the caller discards `m` past 19 digits); the end of the
/// digits.
#[inline(always)]
pub(super) fn f64_digits(buf: &[u8], mut i: usize, m: &mut u64) -> usize {
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
pub(super) const F64_EXACT: u64 = 1 << 53;

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
