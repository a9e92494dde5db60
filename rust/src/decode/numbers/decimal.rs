//! NUMERIC and BIGNUMERIC from their decimal text, exactly (never through a float): the types' limits, the
//! general path over any exponent, and the errors.

use arrow_buffer::i256;

use super::*;
use crate::decode::fail::{err, preview, Res};
use crate::error::RejectCode;

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
pub(super) fn exponent(text: &[u8], i: usize) -> Option<(i64, usize)> {
    if !matches!(text.get(i), Some(b'e' | b'E')) {
        return Some((0, i));
    }
    exponent_digits(text, i + 1)
}

/// The sign and digits of an exponent part, from `i` (after the `e`).
#[inline(never)]
pub(super) fn exponent_digits(text: &[u8], mut i: usize) -> Option<(i64, usize)> {
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

pub(super) struct DecimalParts<'a> {
    neg: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exp: i64,
}

/// Split `[+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?` into its parts.
pub(super) fn split_decimal(text: &[u8], allow_plus: bool) -> Option<DecimalParts<'_>> {
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
pub(super) fn unscaled_digits(text: &[u8], spec: DecimalSpec, is_string: bool) -> Res<(bool, Vec<u8>, usize)> {
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

/// BIGNUMERIC (decimal256(76, 38)) from a JSON number literal or string.
#[inline]
pub fn parse_decimal256(text: &[u8], is_string: bool) -> Res<i256> {
    match decimal256_fast(text, is_string) {
        Some(v) => Ok(v),
        None => decimal256_general(text, is_string),
    }
}

/// The exact path: any exponent, and the errors.
pub(super) fn decimal256_general(text: &[u8], is_string: bool) -> Res<i256> {
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
