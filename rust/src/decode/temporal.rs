//! DATE, TIME, DATETIME and TIMESTAMP from ISO 8601 / RFC 3339 text, as BigQuery accepts them.

use super::fail::{err, preview, Res};
use crate::error::RejectCode;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// 0001-01-01T00:00:00Z in microseconds since the Unix epoch.
pub const MIN_TIMESTAMP_MICROS: i64 = -62_135_596_800 * MICROS_PER_SECOND;
/// 9999-12-31T23:59:59.999999Z in microseconds since the Unix epoch.
pub const MAX_TIMESTAMP_MICROS: i64 = 253_402_300_800 * MICROS_PER_SECOND - 1;

/// Days since 1970-01-01 of a proleptic Gregorian date of year 1 to 9999 (H. Hinnant's algorithm, in unsigned
/// arithmetic: every intermediate is non-negative from year 1 on).
pub fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    debug_assert!((1..=9999).contains(&y) && (1..=12).contains(&m));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe) as i64 - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of a count of days since 1970-01-01 (the inverse of
/// [`days_from_civil`], H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: u32, m: u32) -> u32 {
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
    if d == 0 || d > days_in_month(y, m) {
        return bad(what, text, "no such day in that month");
    }
    Ok(days_from_civil(y, m, d))
}

/// `HH:MM:SS` at the start of `b`: seconds since midnight.
fn clock_part(b: &[u8], what: &str, text: &[u8]) -> Res<i64> {
    let (Some(h), Some(mi), Some(s)) = (digits(b, 0, 2), digits(b, 3, 2), digits(b, 6, 2)) else {
        return bad(what, text, "expected HH:MM:SS");
    };
    if b[2] != b':' || b[5] != b':' {
        return bad(what, text, "expected HH:MM:SS");
    }
    if h > 23 || mi > 59 || s > 59 {
        return bad(what, text, "hour, minute or second out of range");
    }
    Ok((h * 3600 + mi * 60 + s) as i64)
}

/// `[.ffffff]` at the start of `b` (just after the seconds): (microseconds, bytes used).
#[inline(always)]
fn fraction(b: &[u8], what: &str, text: &[u8]) -> Res<(i64, usize)> {
    if b.first() != Some(&b'.') {
        return Ok((0, 0));
    }
    match fraction_digits(b) {
        Some(v) => Ok(v),
        None if b.get(1).is_some_and(u8::is_ascii_digit) => {
            bad(what, text, "more than 6 fractional digits (precision is microseconds)")
        }
        None => bad(what, text, "expected digits after '.'"),
    }
}

/// `.f` to `.ffffff` at the start of `b` (on the point): (microseconds, bytes used), or `None` for no digits or
/// more than six.
#[inline(always)]
fn fraction_digits(b: &[u8]) -> Option<(i64, usize)> {
    let n = b[1..].iter().take(7).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 6 {
        return None;
    }
    const SCALE: [i64; 6] = [100_000, 10_000, 1_000, 100, 10, 1];
    let micros = b[1..=n].iter().fold(0i64, |v, &c| v * 10 + (c - b'0') as i64);
    Some((micros * SCALE[n - 1], 1 + n))
}

/// `HH:MM:SS[.ffffff]` at the start of `b`: (micros since midnight, bytes used).
fn time_part(b: &[u8], what: &str, text: &[u8]) -> Res<(i64, usize)> {
    let secs = clock_part(b, what, text)?;
    let (micros, used) = fraction(&b[8..], what, text)?;
    Ok((secs * MICROS_PER_SECOND + micros, 8 + used))
}

/// The first 19 bytes of `YYYY-MM-DD?HH:MM:SS` (`b.len() >= 19`; the byte at 10 is the caller's; `YYYY/MM/DD` too
/// with `slashes`), read three words at a time: (days since the epoch, seconds since midnight). `None` for anything
/// else, out-of-range fields included: the exact path ([`date_part`], [`clock_part`]) then words the error.
#[inline(always)]
fn date_clock_fast(b: &[u8], slashes: bool) -> Option<(i64, i64)> {
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    // Little-endian words "YYYY-MM-", "DD" (of "DD?HH:MM") and "HH:MM:SS"; each mask has 0xff where a digit goes.
    const DATE: u64 = 0x00ff_ff00_ffff_ffff;
    const DAY: u64 = 0x0000_0000_0000_ffff;
    const CLOCK: u64 = 0xffff_00ff_ff00_ffff;
    let (w0, w1, w2) = (word(0), word(8), word(11));
    let date_seps = w0 & !DATE;
    if !(date_seps == 0x2d00_002d_0000_0000 || slashes && date_seps == 0x2f00_002f_0000_0000)
        || w2 & !CLOCK != 0x0000_3a00_003a_0000
    {
        return None;
    }
    // Each digit byte XOR '0' is 0..=9 exactly for '0'..='9'; adding 0x76 sets the top bit of any other.
    let (t0, t1, t2) = (
        (w0 ^ 0x3030_3030_3030_3030) & DATE,
        (w1 ^ 0x3030_3030_3030_3030) & DAY,
        (w2 ^ 0x3030_3030_3030_3030) & CLOCK,
    );
    let bad = |t: u64, mask: u64| (t | t.wrapping_add(0x7676_7676_7676_7676 & mask)) & 0x8080_8080_8080_8080 & mask;
    if bad(t0, DATE) | bad(t1, DAY) | bad(t2, CLOCK) != 0 {
        return None;
    }
    let d = |t: u64, i: u32| ((t >> (8 * i)) & 0xff) as u32;
    let y = d(t0, 0) * 1000 + d(t0, 1) * 100 + d(t0, 2) * 10 + d(t0, 3);
    let m = d(t0, 5) * 10 + d(t0, 6);
    let day = d(t1, 0) * 10 + d(t1, 1);
    let (h, mi, s) = (
        d(t2, 0) * 10 + d(t2, 1),
        d(t2, 3) * 10 + d(t2, 4),
        d(t2, 6) * 10 + d(t2, 7),
    );
    if y == 0 || !(1..=12).contains(&m) || day == 0 || day > days_in_month(y, m) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some((days_from_civil(y, m, day), (h * 3600 + mi * 60 + s) as i64))
}

/// Date and clock of a DATETIME or TIMESTAMP (`text.len() >= 19`): the word-at-a-time path, else the exact one.
#[inline(always)]
fn date_clock(text: &[u8], what: &str, slashes: bool) -> Res<(i64, i64)> {
    match date_clock_fast(text, slashes) {
        Some(v) => Ok(v),
        None => Ok((
            date_part(text, what, text, slashes)?,
            clock_part(&text[11..], what, text)?,
        )),
    }
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
    let (days, secs) = date_clock(text, "DATETIME", false)?;
    let (micros, used) = fraction(&text[19..], "DATETIME", text)?;
    if 19 + used != text.len() {
        return bad(
            "DATETIME",
            text,
            "unexpected trailing characters (a DATETIME has no time zone)",
        );
    }
    Ok(days * MICROS_PER_DAY + secs * MICROS_PER_SECOND + micros)
}

/// TIMESTAMP: `YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|±HH:MM|±HHMM|±HH]` (no zone means UTC; `YYYY/MM/DD` too) → UTC
/// microseconds.
#[inline]
pub fn parse_timestamp(text: &[u8]) -> Res<i64> {
    if text.len() < 19 || !is_date_time_sep(text[10]) {
        return bad("TIMESTAMP", text, "expected YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]");
    }
    let (days, secs) = date_clock(text, "TIMESTAMP", true)?;
    let (micros, used) = fraction(&text[19..], "TIMESTAMP", text)?;
    let Some(offset) = zone_offset(&text[19 + used..]) else {
        return bad("TIMESTAMP", text, "expected 'Z' or an offset such as +05:30");
    };
    match utc_micros(days, secs, micros, offset) {
        Some(utc) => Ok(utc),
        None => err(
            RejectCode::OutOfRange,
            format!("TIMESTAMP {} is outside 0001-01-01 to 9999-12-31 UTC", preview(text)),
        ),
    }
}

/// A TIMESTAMP string read where it stands at `pos` (its opening quote) of a JSON text, in one pass:
/// `YYYY-MM-DD[Tt ]HH:MM:SS`, up to six fractional digits, any zone [`parse_timestamp`] takes, and no escape.
/// `(UTC microseconds, end past the closing quote)`, or `None` for [`parse_timestamp`] on the decoded string,
/// which takes the other forms and words the errors.
#[inline]
pub fn json_timestamp_fast(buf: &[u8], pos: usize) -> Option<(i64, usize)> {
    let b = buf.get(pos + 1..)?;
    if b.len() < 19 || !is_date_time_sep(b[10]) {
        return None;
    }
    let (days, secs) = date_clock_fast(b, true)?;
    let (micros, used) = match b.get(19) {
        Some(b'.') => fraction_digits(&b[19..])?,
        _ => (0, 0),
    };
    // The zone runs to the closing quote: seven bytes at most (" +05:30").
    let zone_at = 19 + used;
    let zone_len = b.get(zone_at..)?.iter().take(8).position(|&c| c == b'"')?;
    let offset = zone_offset(&b[zone_at..zone_at + zone_len])?;
    Some((
        utc_micros(days, secs, micros, offset)?,
        pos + 1 + zone_at + zone_len + 1,
    ))
}

/// UTC microseconds of a local date and time at an offset (minutes east of UTC), when within 0001-01-01 to
/// 9999-12-31 UTC.
#[inline(always)]
fn utc_micros(days: i64, secs: i64, micros: i64, offset: i64) -> Option<i64> {
    let utc = days * MICROS_PER_DAY + (secs - offset * 60) * MICROS_PER_SECOND + micros;
    (MIN_TIMESTAMP_MICROS..=MAX_TIMESTAMP_MICROS)
        .contains(&utc)
        .then_some(utc)
}

/// A zone suffix (`Z`, `z`, `UTC`, `±HH:MM`, `±HHMM` or `±HH`, after an optional space; or nothing) in minutes east
/// of UTC.
#[inline(always)]
fn zone_offset(z: &[u8]) -> Option<i64> {
    let z = z.strip_prefix(b" ").unwrap_or(z);
    match z {
        b"" | b"Z" | b"z" | b"UTC" => return Some(0),
        _ => {}
    }
    let sign = match z[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = match z.len() {
        3 => (digits(z, 1, 2)?, 0),
        5 => (digits(z, 1, 2)?, digits(z, 3, 2)?),
        6 if z[3] == b':' => (digits(z, 1, 2)?, digits(z, 4, 2)?),
        _ => return None,
    };
    (h <= 23 && m <= 59).then(|| sign * (h * 60 + m) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_rng::Rng;

    #[test]
    fn civil_days() {
        // Every day from 0001-01-01 to 9999-12-31 is one more than the day before.
        let mut expected = days_from_civil(1, 1, 1);
        for y in 1..=9999 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), expected, "{y}-{m}-{d}");
                    expected += 1;
                }
            }
        }
        assert_eq!(days_in_month(2000, 2) + days_in_month(2024, 2), 58);
        assert_eq!(days_in_month(1900, 2) + days_in_month(2023, 2), 56);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        for days in (-719_162..2_932_896).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as u32, m, d), days, "{y}-{m}-{d}");
        }
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

    /// The word-at-a-time path agrees with the exact one on every input: valid dates and clocks, and each of them
    /// with one byte replaced by a digit, a separator or another byte.
    #[test]
    fn date_clock_fast_equals_the_exact_path() {
        let exact = |t: &[u8], slashes: bool| {
            let date = date_part(t, "TIMESTAMP", t, slashes).ok()?;
            Some((date, clock_part(&t[11..], "TIMESTAMP", t).ok()?))
        };
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut next = |n: u64| rng.below(n);
        let replacements = b"0123456789:-/T /\x00\xff\x9a*";
        let mut checked = 0;
        for _ in 0..20_000 {
            let (y, m, d) = (next(10_000), next(14), next(33));
            let (h, mi, s) = (next(26), next(62), next(62));
            let sep = if next(4) == 0 { '/' } else { '-' };
            let text = format!("{y:04}{sep}{m:02}{sep}{d:02}T{h:02}:{mi:02}:{s:02}.5Z");
            let mut t = text.into_bytes();
            if next(2) == 0 {
                let at = next(19) as usize;
                t[at] = replacements[next(replacements.len() as u64) as usize];
            }
            for slashes in [false, true] {
                assert_eq!(
                    date_clock_fast(&t, slashes),
                    exact(&t, slashes),
                    "{}",
                    String::from_utf8_lossy(&t)
                );
                checked += exact(&t, slashes).is_some() as usize;
            }
        }
        assert!(checked > 2_000, "too few valid samples: {checked}");
    }

    /// A TIMESTAMP read in place from a JSON text is the exact path's reading of the decoded string, or no answer;
    /// it answers for the common forms, and never for a string with an escape.
    #[test]
    fn timestamps_read_in_place_equal_the_exact_path() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: u64| rng.below(n);
        let fractions = ["", ".5", ".123", ".123456", ".1234567", ".", ".12a"];
        let zones = [
            "", "Z", "z", " UTC", "UTC", "+05:30", "-08:00", "+0530", "+05", "+24:00", "+05:60", " +01:00", "+5:30",
            "Q", "Z ", "\\u005a", "\\t",
        ];
        let replacements = b"0123456789:-/T .\\\x00\xff+Z";
        let (mut answered, mut common) = (0, 0);
        for _ in 0..30_000 {
            let (y, m, d) = (1 + next(9_999), 1 + next(12), 1 + next(28));
            let (h, mi, s) = (next(24), next(60), next(60));
            let sep = ["T", "t", " "][next(3) as usize];
            let (fraction, zone) = (fractions[next(7) as usize], zones[next(17) as usize]);
            let mut content = format!("{y:04}-{m:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{fraction}{zone}").into_bytes();
            if next(4) == 0 {
                let at = next(content.len() as u64) as usize;
                content[at] = replacements[next(replacements.len() as u64) as usize];
            }
            let mut json = b"\"".to_vec();
            json.extend_from_slice(&content);
            json.extend_from_slice(b"\",\"next\":1}");
            let is_common = fraction.len() <= 7 && fraction != "." && !fraction.ends_with('a');
            match json_timestamp_fast(&json, 0) {
                Some((v, end)) => {
                    answered += 1;
                    assert_eq!(end, content.len() + 2, "{}", String::from_utf8_lossy(&json));
                    assert!(!content.contains(&b'\\') && !content.contains(&b'"'));
                    assert_eq!(
                        Ok(v),
                        parse_timestamp(&content).map_err(|f| f.code),
                        "{}",
                        String::from_utf8_lossy(&json)
                    );
                }
                None => {
                    let clean = !content.contains(&b'\\') && !content.contains(&b'"');
                    if clean && is_common && fraction != ".1234567" {
                        // Only a refusal of the exact path itself may go unanswered in the common forms.
                        assert!(parse_timestamp(&content).is_err(), "{}", String::from_utf8_lossy(&json));
                    }
                }
            }
            common += is_common as usize;
        }
        assert!(
            answered > 6_000,
            "too few answered in place: {answered} of {common} in common forms"
        );
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
