//! DATE, TIME, DATETIME and TIMESTAMP from ISO 8601 / RFC 3339 text, as BigQuery accepts them.

use super::fail::{err, preview, Res};
use crate::error::RejectCode;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// 0001-01-01T00:00:00Z in microseconds since the Unix epoch.
pub const MIN_TIMESTAMP_MICROS: i64 = -62_135_596_800 * MICROS_PER_SECOND;
/// 9999-12-31T23:59:59.999999Z in microseconds since the Unix epoch.
pub const MAX_TIMESTAMP_MICROS: i64 = 253_402_300_800 * MICROS_PER_SECOND - 1;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

#[inline(always)]
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

#[cold]
fn bad<T>(what: &str, text: &[u8], why: &str) -> Res<T> {
    err(
        RejectCode::InvalidValue,
        format!("invalid {what} {}: {why}", preview(text)),
    )
}

/// `YYYY-MM-DD` (or, with `slashes`, `YYYY/MM/DD`: BigQuery's JSON rules allow it in TIMESTAMP values only) at
/// the start of `b`: days since the epoch.
fn date_part(b: &[u8], what: &str, text: &[u8], slashes: bool) -> Res<i64> {
    let (Some(y), Some(m), Some(d)) = (digits(b, 0, 4), digits(b, 5, 2), digits(b, 8, 2)) else {
        return bad(what, text, "expected YYYY-MM-DD");
    };
    let sep_ok = (b[4] == b'-' && b[7] == b'-') || (slashes && b[4] == b'/' && b[7] == b'/');
    if !sep_ok {
        return bad(what, text, "expected YYYY-MM-DD");
    }
    if y == 0 {
        return err(
            RejectCode::OutOfRange,
            format!("{what} {} is before 0001-01-01", preview(text)),
        );
    }
    if !(1..=12).contains(&m) {
        return bad(what, text, "month out of range");
    }
    if d == 0 || d > days_in_month(y as i64, m) {
        return bad(what, text, "no such day in that month");
    }
    Ok(days_from_civil(y as i64, m, d))
}

/// `HH:MM:SS[.ffffff]` at the start of `b`: (micros since midnight, bytes used).
fn time_part(b: &[u8], what: &str, text: &[u8]) -> Res<(i64, usize)> {
    let (Some(h), Some(mi), Some(s)) = (digits(b, 0, 2), digits(b, 3, 2), digits(b, 6, 2)) else {
        return bad(what, text, "expected HH:MM:SS");
    };
    if b[2] != b':' || b[5] != b':' {
        return bad(what, text, "expected HH:MM:SS");
    }
    if h > 23 || mi > 59 || s > 59 {
        return bad(what, text, "hour, minute or second out of range");
    }
    let mut used = 8;
    let mut micros = 0i64;
    if b.get(8) == Some(&b'.') {
        let start = 9;
        let mut i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return bad(what, text, "expected digits after '.'");
        }
        if n > 6 {
            return bad(what, text, "more than 6 fractional digits (precision is microseconds)");
        }
        for &c in &b[start..i] {
            micros = micros * 10 + (c - b'0') as i64;
        }
        micros *= 10i64.pow((6 - n) as u32);
        used = i;
    }
    let secs = (h * 3600 + mi * 60 + s) as i64;
    Ok((secs * MICROS_PER_SECOND + micros, used))
}

fn is_date_time_sep(c: u8) -> bool {
    c == b'T' || c == b't' || c == b' '
}

/// DATE: `YYYY-MM-DD` → days since the epoch.
pub fn parse_date(text: &[u8]) -> Res<i32> {
    if text.len() != 10 {
        return bad("DATE", text, "expected YYYY-MM-DD");
    }
    Ok(date_part(text, "DATE", text, false)? as i32)
}

/// TIME: `HH:MM:SS[.ffffff]` → microseconds since midnight.
pub fn parse_time(text: &[u8]) -> Res<i64> {
    let (micros, used) = time_part(text, "TIME", text)?;
    if used != text.len() {
        return bad("TIME", text, "unexpected trailing characters");
    }
    Ok(micros)
}

/// DATETIME: `YYYY-MM-DD[T ]HH:MM:SS[.ffffff]` (no time zone) → microseconds since the epoch.
pub fn parse_datetime(text: &[u8]) -> Res<i64> {
    if text.len() < 19 || !is_date_time_sep(text[10]) {
        return bad("DATETIME", text, "expected YYYY-MM-DD HH:MM:SS[.ffffff]");
    }
    let days = date_part(text, "DATETIME", text, false)?;
    let (micros, used) = time_part(&text[11..], "DATETIME", text)?;
    if 11 + used != text.len() {
        return bad(
            "DATETIME",
            text,
            "unexpected trailing characters (a DATETIME has no time zone)",
        );
    }
    Ok(days * MICROS_PER_DAY + micros)
}

/// TIMESTAMP: `YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|±HH:MM|±HHMM|±HH]` (no zone means UTC; `YYYY/MM/DD` too) → UTC
/// microseconds.
#[inline]
pub fn parse_timestamp(text: &[u8]) -> Res<i64> {
    if text.len() < 19 || !is_date_time_sep(text[10]) {
        return bad("TIMESTAMP", text, "expected YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]");
    }
    let days = date_part(text, "TIMESTAMP", text, true)?;
    let (micros, used) = time_part(&text[11..], "TIMESTAMP", text)?;
    let offset = zone_offset(&text[11 + used..], text)?;
    let utc = days * MICROS_PER_DAY + micros - offset * 60 * MICROS_PER_SECOND;
    if !(MIN_TIMESTAMP_MICROS..=MAX_TIMESTAMP_MICROS).contains(&utc) {
        return err(
            RejectCode::OutOfRange,
            format!("TIMESTAMP {} is outside 0001-01-01 to 9999-12-31 UTC", preview(text)),
        );
    }
    Ok(utc)
}

/// A zone suffix in minutes east of UTC.
fn zone_offset(z: &[u8], text: &[u8]) -> Res<i64> {
    let z = z.strip_prefix(b" ").unwrap_or(z);
    match z {
        b"" | b"Z" | b"z" | b"UTC" => return Ok(0),
        _ => {}
    }
    let sign = match z[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return bad("TIMESTAMP", text, "expected 'Z' or an offset such as +05:30"),
    };
    let (h, m) = match z.len() {
        3 => (digits(z, 1, 2), Some(0)),
        5 => (digits(z, 1, 2), digits(z, 3, 2)),
        6 if z[3] == b':' => (digits(z, 1, 2), digits(z, 4, 2)),
        _ => (None, None),
    };
    match (h, m) {
        (Some(h), Some(m)) if h <= 23 && m <= 59 => Ok(sign * (h * 60 + m) as i64),
        _ => bad("TIMESTAMP", text, "expected 'Z' or an offset such as +05:30"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            days_from_civil(1, 1, 1) * 86_400 * MICROS_PER_SECOND,
            MIN_TIMESTAMP_MICROS
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp(b"1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:01.5").unwrap(), 1_500_000);
        assert_eq!(parse_timestamp(b"1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_timestamp(b"1970-01-01T00:00:00-0130").unwrap(), 5_400_000_000);
        assert_eq!(
            parse_timestamp(b"9999-12-31T23:59:59.999999Z").unwrap(),
            MAX_TIMESTAMP_MICROS
        );
        assert_eq!(
            parse_timestamp(b"0001-01-01T00:30:00+01:00").unwrap_err().code,
            RejectCode::OutOfRange
        );
        assert_eq!(
            parse_timestamp(b"2021-02-29T00:00:00Z").unwrap_err().code,
            RejectCode::InvalidValue
        );
        assert_eq!(
            parse_timestamp(b"2021-01-01T00:00:00.1234567Z").unwrap_err().code,
            RejectCode::InvalidValue
        );
        assert_eq!(
            parse_timestamp(b"2021-01-01T24:00:00Z").unwrap_err().code,
            RejectCode::InvalidValue
        );
        assert_eq!(
            parse_timestamp(b"2021-01-01").unwrap_err().code,
            RejectCode::InvalidValue
        );
        assert_eq!(
            parse_timestamp(b"2021-01-01T00:00:00+5").unwrap_err().code,
            RejectCode::InvalidValue
        );
        // BigQuery's JSON rules: '/' separates a TIMESTAMP's date too (both separators alike); not DATE, DATETIME
        assert_eq!(
            parse_timestamp(b"2026/11/26 10:15:42").unwrap(),
            parse_timestamp(b"2026-11-26 10:15:42").unwrap()
        );
        assert!(parse_timestamp(b"2026/11-26 10:15:42").is_err());
        assert!(parse_date(b"2026/11/26").is_err());
        assert!(parse_datetime(b"2026/11/26 10:15:42").is_err());
    }

    #[test]
    fn dates_times_datetimes() {
        assert_eq!(parse_date(b"2000-02-29").unwrap(), 11_016);
        assert!(parse_date(b"1900-02-29").is_err());
        assert_eq!(parse_time(b"23:59:59.000001").unwrap(), 86_399_000_001);
        assert!(parse_time(b"12:00").is_err());
        assert_eq!(parse_datetime(b"1970-01-02T00:00:00").unwrap(), MICROS_PER_DAY);
        assert!(parse_datetime(b"1970-01-02T00:00:00Z").is_err());
    }
}
