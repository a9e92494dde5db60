//! INT64 from JSON integer literals and numeric strings: one pass over a plain literal, and the exact path
//! with its errors.

use crate::decode::fail::{err, preview, Res};
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
pub(super) fn out_of_i64<T>(text: &[u8]) -> Res<T> {
    err(
        RejectCode::OutOfRange,
        format!("{} is out of range for INT64", preview(text)),
    )
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
