//! The JSON lexer: whitespace, strings (with escapes), numbers and literals over one message's bytes.
//! Input is already known to be valid UTF-8, so string contents can be copied without re-checking.

use super::fail::{err, preview, Res};
use crate::error::RejectCode;

/// Bytes that end the fast scan inside a string: the closing quote, a backslash, or a control character.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_storeu_si128,
    };

    /// The sixteen bytes at `buf[i..i + 16]`, or `None` when fewer remain.
    #[inline(always)]
    pub fn load(buf: &[u8], i: usize) -> Option<__m128i> {
        let block = buf.get(i..i + 16)?;
        // SAFETY: SSE2 is part of every x86-64; the unaligned load reads the sixteen bytes of `block`.
        Some(unsafe { _mm_loadu_si128(block.as_ptr() as *const __m128i) })
    }

    /// Bit k set when byte k of `v` ends the fast string scan: '"', '\\', or a control character
    /// (min(byte, 0x1f) == byte, unsigned).
    #[inline(always)]
    pub fn stops(v: __m128i) -> u32 {
        // SAFETY: SSE2 register arithmetic only, always available on x86-64.
        unsafe {
            let hits = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
                ),
                _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v),
            );
            _mm_movemask_epi8(hits) as u32
        }
    }

    /// Append the first `n` (≤ 16) bytes of `v` to `out`: the whole block is stored into spare capacity, and the
    /// length advanced past `n` bytes only.
    #[inline(always)]
    pub fn append(out: &mut Vec<u8>, v: __m128i, n: usize) {
        debug_assert!(n <= 16);
        out.reserve(16);
        let len = out.len();
        // SAFETY: `reserve(16)` leaves room for sixteen bytes after `len`; the store writes exactly those, and the
        // length then covers `n` ≤ 16 of them, all written.
        unsafe {
            _mm_storeu_si128(out.as_mut_ptr().add(len) as *mut __m128i, v);
            out.set_len(len + n);
        }
    }
}

/// Index of the first byte at or after `i` that ends the fast string scan (or `buf.len()`): sixteen bytes at a
/// time with SSE2 (part of every x86-64), then eight at a time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scan_string(buf: &[u8], mut i: usize) -> usize {
    while let Some(v) = sse2::load(buf, i) {
        let mask = sse2::stops(v);
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    scan_string_swar(buf, i)
}

/// [`scan_string`] that also appends the bytes it passes to `out`, in the same pass: each block of sixteen is
/// stored whole, so there is no library call per string. Stops are ASCII, so the copy never ends inside a
/// character.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scan_copy(buf: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(v) = sse2::load(buf, i) {
        let mask = sse2::stops(v);
        if mask != 0 {
            let n = mask.trailing_zeros() as usize;
            sse2::append(out, v, n);
            return i + n;
        }
        sse2::append(out, v, 16);
        i += 16;
    }
    let end = scan_string_swar(buf, i);
    out.extend_from_slice(&buf[i..end]);
    end
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn scan_copy(buf: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let end = scan_string(buf, i);
    out.extend_from_slice(&buf[i..end]);
    end
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn scan_string(buf: &[u8], i: usize) -> usize {
    scan_string_swar(buf, i)
}

/// [`scan_string`] eight bytes at a time: flags bytes equal to '"' or '\\' or below 0x20 (SWAR; the lowest flag is
/// exact).
#[inline(always)]
fn scan_string_swar(buf: &[u8], mut i: usize) -> usize {
    while i + 8 <= buf.len() {
        let v = u64::from_le_bytes(buf[i..i + 8].try_into().expect("8 bytes"));
        let quote = v ^ (ONES * b'"' as u64);
        let slash = v ^ (ONES * b'\\' as u64);
        let stops = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (v.wrapping_sub(ONES * 0x20) & !v);
        let stops = stops & HIGHS;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < buf.len() && !STRING_STOP[buf[i] as usize] {
        i += 1;
    }
    i
}

/// The value of each hex digit; 0xff for any other byte.
static HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Where a string's decoded content is: still in the input (no escapes) or in the scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Str {
    Raw(usize, usize),
    Scratch,
}

/// A JSON number's span and shape.
#[derive(Debug, Clone, Copy)]
pub struct Num {
    pub start: usize,
    pub end: usize,
    /// True when the literal has neither a fraction nor an exponent.
    pub integral: bool,
}

/// A position in one JSON message.
pub struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    #[inline(always)]
    pub fn skip_ws(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            // One comparison for the usual case, a token's first byte (every JSON whitespace byte is below '!').
            if b > b' ' {
                break;
            }
            if b == b' ' || b == b'\n' || b == b'\t' || b == b'\r' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-whitespace byte, without consuming it.
    #[inline(always)]
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.buf.get(self.pos).copied()
    }

    /// Consume `byte` (after whitespace) or fail with an invalid_json naming what was expected.
    #[inline(always)]
    pub fn expect(&mut self, byte: u8, what: &str) -> Res<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.syntax(what)
        }
    }

    /// An invalid_json failure at the current position.
    #[cold]
    #[inline(never)]
    pub fn syntax<T>(&self, what: &str) -> Res<T> {
        match self.buf.get(self.pos) {
            None => err(
                RejectCode::InvalidJson,
                format!("invalid JSON: expected {what}, got end of input"),
            ),
            Some(_) => {
                let end = (self.pos + 20).min(self.buf.len());
                err(
                    RejectCode::InvalidJson,
                    format!(
                        "invalid JSON at byte {}: expected {what}, got {}",
                        self.pos,
                        preview(&self.buf[self.pos..end])
                    ),
                )
            }
        }
    }

    /// Consume a literal such as `true` (the first byte has been peeked).
    #[inline]
    pub fn literal(&mut self, lit: &[u8]) -> Res<()> {
        if self.buf[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            self.syntax("a JSON value")
        }
    }

    /// Read a string (cursor on the opening quote). Escaped strings are decoded into `scratch`.
    #[inline]
    pub fn string(&mut self, scratch: &mut Vec<u8>) -> Res<Str> {
        let start = self.pos + 1;
        let i = scan_string(self.buf, start);
        if i < self.buf.len() && self.buf[i] == b'"' {
            self.pos = i + 1;
            return Ok(Str::Raw(start, i));
        }
        scratch.clear();
        scratch.extend_from_slice(&self.buf[start..i]);
        self.pos = i;
        self.string_slow(scratch)?;
        Ok(Str::Scratch)
    }

    /// Decode a string (cursor on the opening quote), appending its content to `out`.
    #[inline]
    pub fn string_into(&mut self, out: &mut Vec<u8>) -> Res<()> {
        let i = scan_copy(self.buf, self.pos + 1, out);
        if self.buf.get(i) == Some(&b'"') {
            self.pos = i + 1;
            return Ok(());
        }
        self.pos = i;
        self.string_slow(out)
    }

    /// The bytes of a string read by [`Cursor::string`].
    #[inline(always)]
    pub fn str_bytes<'s>(&'s self, s: Str, scratch: &'s [u8]) -> &'s [u8] {
        match s {
            Str::Raw(a, b) => &self.buf[a..b],
            Str::Scratch => scratch,
        }
    }

    /// Decode string content from `self.pos` (inside the string, after the content already read) through the
    /// closing quote.
    #[cold]
    fn string_slow(&mut self, out: &mut Vec<u8>) -> Res<()> {
        loop {
            self.pos = scan_copy(self.buf, self.pos, out);
            match self.buf.get(self.pos) {
                None => return err(RejectCode::InvalidJson, "invalid JSON: unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.escape(out)?,
                Some(&c) => {
                    return err(
                        RejectCode::InvalidJson,
                        format!(
                            "invalid JSON at byte {}: unescaped control character 0x{c:02x} in string",
                            self.pos
                        ),
                    )
                }
            }
        }
    }

    /// Decode one escape sequence (cursor on the backslash).
    #[inline(always)]
    fn escape(&mut self, out: &mut Vec<u8>) -> Res<()> {
        let at = self.pos;
        let Some(&e) = self.buf.get(self.pos + 1) else {
            return err(RejectCode::InvalidJson, "invalid JSON: unterminated string");
        };
        self.pos += 2;
        let simple = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let ch = self.unicode_escape(at)?;
                let mut tmp = [0u8; 4];
                ch.encode_utf8(&mut tmp);
                // A copy of constant length per case: no library call for one to four bytes.
                match ch.len_utf8() {
                    1 => out.push(tmp[0]),
                    2 => out.extend_from_slice(&tmp[..2]),
                    3 => out.extend_from_slice(&tmp[..3]),
                    _ => out.extend_from_slice(&tmp),
                }
                return Ok(());
            }
            _ => {
                return err(
                    RejectCode::InvalidJson,
                    format!(
                        "invalid JSON at byte {at}: invalid escape {}",
                        preview(&self.buf[at..(at + 2)])
                    ),
                )
            }
        };
        out.push(simple);
        Ok(())
    }

    #[inline(always)]
    fn hex4(&mut self, at: usize) -> Res<u32> {
        let Some(h) = self.buf.get(self.pos..self.pos + 4) else {
            return err(
                RejectCode::InvalidJson,
                format!("invalid JSON at byte {at}: truncated \\u escape"),
            );
        };
        let d = [
            HEX[h[0] as usize],
            HEX[h[1] as usize],
            HEX[h[2] as usize],
            HEX[h[3] as usize],
        ];
        if (d[0] | d[1] | d[2] | d[3]) & 0xf0 != 0 {
            return err(
                RejectCode::InvalidJson,
                format!("invalid JSON at byte {at}: invalid \\u escape"),
            );
        }
        self.pos += 4;
        Ok((d[0] as u32) << 12 | (d[1] as u32) << 8 | (d[2] as u32) << 4 | d[3] as u32)
    }

    #[inline(always)]
    fn unicode_escape(&mut self, at: usize) -> Res<char> {
        let hi = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.buf.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return err(
                    RejectCode::InvalidJson,
                    format!("invalid JSON at byte {at}: lone surrogate \\u{hi:04x}"),
                );
            }
            self.pos += 2;
            let lo = self.hex4(at)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return err(
                    RejectCode::InvalidJson,
                    format!("invalid JSON at byte {at}: lone surrogate \\u{hi:04x}"),
                );
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else if (0xDC00..0xE000).contains(&hi) {
            return err(
                RejectCode::InvalidJson,
                format!("invalid JSON at byte {at}: lone surrogate \\u{hi:04x}"),
            );
        } else {
            hi
        };
        Ok(char::from_u32(code).expect("surrogates excluded"))
    }

    /// Scan a number per the JSON grammar (cursor on '-' or a digit).
    #[inline]
    pub fn number(&mut self) -> Res<Num> {
        let b = self.buf;
        let start = self.pos;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(b.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => {
                self.pos = i;
                return self.syntax("a digit");
            }
        }
        let mut integral = true;
        if b.get(i) == Some(&b'.') {
            i += 1;
            integral = false;
            if !matches!(b.get(i), Some(b'0'..=b'9')) {
                self.pos = i;
                return self.syntax("a digit after '.'");
            }
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            integral = false;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !matches!(b.get(i), Some(b'0'..=b'9')) {
                self.pos = i;
                return self.syntax("a digit in the exponent");
            }
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        self.pos = i;
        Ok(Num {
            start,
            end: i,
            integral,
        })
    }

    /// After the top-level value: only whitespace may follow.
    pub fn finish(&mut self) -> Res<()> {
        self.skip_ws();
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            self.syntax("end of input after the top-level object")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<Vec<u8>, String> {
        let mut c = Cursor::new(s.as_bytes());
        let mut scratch = Vec::new();
        match c.string(&mut scratch) {
            Ok(st) => Ok(c.str_bytes(st, &scratch).to_vec()),
            Err(e) => Err(e.message.clone()),
        }
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(read(r#""abc""#).unwrap(), b"abc");
        assert_eq!(read(r#""a\"b\\c\/\n""#).unwrap(), b"a\"b\\c/\n");
        assert_eq!(read(r#""\u00e9\ud83d\ude00""#).unwrap(), "é😀".as_bytes());
        assert!(read(r#""\ud800""#).unwrap_err().contains("lone surrogate"));
        assert!(read(r#""\x""#).unwrap_err().contains("invalid escape"));
        assert!(read("\"a\u{1}\"").unwrap_err().contains("control character"));
        assert!(read(r#""abc"#).unwrap_err().contains("unterminated"));
    }

    #[test]
    fn scans_find_the_first_stop() {
        for scan in [scan_string, scan_string_swar] {
            for n in 0..70 {
                for stop in [b'"', b'\\', 0x00, 0x01, 0x1f] {
                    for filler in [b'a', b' ', 0x7f, 0x80, 0xff, b'!', b'#', b'['] {
                        let mut v = vec![filler; n];
                        v.push(stop);
                        v.extend_from_slice(b"xx\"");
                        assert_eq!(scan(&v, 0), n, "{n} {stop:#x} {filler:#x}");
                    }
                }
                let mut v = "é".repeat(n).into_bytes();
                v.push(b'"');
                assert_eq!(scan(&v, 0), 2 * n);
                assert_eq!(scan(&vec![b' '; n], 0), n);
            }
        }
    }

    #[test]
    fn strings_of_any_length_decode_the_same_into_a_column_or_scratch() {
        let filler = "aé€😀 b";
        for n in 0..70 {
            let plain: String = filler.chars().cycle().take(n).collect();
            for (text, want) in [
                (format!("\"{plain}\""), plain.clone()),
                (format!("\"{plain}\\n{plain}\""), format!("{plain}\n{plain}")),
                (format!("\"\\u00e9{plain}\\\"\""), format!("é{plain}\"")),
            ] {
                for tail in ["", "}", "                  }"] {
                    let input = format!("{text}{tail}");
                    let mut c = Cursor::new(input.as_bytes());
                    let mut out = b"xy".to_vec();
                    c.string_into(&mut out).unwrap();
                    assert_eq!((&out[2..], c.pos), (want.as_bytes(), text.len()), "{input}");
                    assert_eq!(read(&input).unwrap(), want.as_bytes(), "{input}");
                }
            }
        }
    }

    #[test]
    fn numbers() {
        let num = |s: &str| {
            let mut c = Cursor::new(s.as_bytes());
            c.number().map(|n| (n.end, n.integral)).map_err(|e| e.message.clone())
        };
        assert_eq!(num("-12,").unwrap(), (3, true));
        assert_eq!(num("1.5e-3}").unwrap(), (6, false));
        assert_eq!(num("0").unwrap(), (1, true));
        assert_eq!(num("01").unwrap(), (1, true)); // the trailing 1 is left for the caller to reject
        assert!(num("-").is_err());
        assert!(num("1.").is_err());
        assert!(num("1e").is_err());
    }
}
