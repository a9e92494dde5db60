//! Keys: equality a word at a time (the codec's key matching and duplicate checks), and which top-level keys an
//! event has (the publisher adds `event_id` / `ingest_time` only when they are absent).

use super::cursor::{Cursor, Str};
use super::json_value::skip_value;
use super::Ctx;

/// Byte equality for short keys, a word at a time without a library call: 8-byte words (the last one overlapping
/// the one before), two overlapping 4-byte words for keys of 4 to 7 bytes, or byte by byte below that.
#[inline(always)]
pub(crate) fn key_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], i: usize| u32::from_ne_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        // 0 to 3 bytes: the first, middle and last cover them all (a slice `==` would call memcmp).
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    }
}

/// For each of `wanted`, whether the message's top-level object has that key. `None` when the message is not a
/// well-formed JSON object (the codec then rejects it with the precise reason).
pub fn top_level_keys(msg: &[u8], wanted: &[&[u8]], max_depth: usize) -> Option<Vec<bool>> {
    let mut found = vec![false; wanted.len()];
    // Cheap path: without escapes, a key whose text appears nowhere in the message is absent.
    let escapes = memchr::memchr(b'\\', msg).is_some();
    if !escapes && !wanted.iter().any(|k| memchr::memmem::find(msg, k).is_some()) {
        return first_is_object(msg).then_some(found);
    }
    let mut ctx = Ctx::new(true, max_depth);
    ctx.depth = 1;
    let mut cur = Cursor::new(msg);
    cur.expect(b'{', "'{'").ok()?;
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
        cur.finish().ok()?;
        return Some(found);
    }
    loop {
        if cur.peek() != Some(b'"') {
            return None;
        }
        let mut scratch = Vec::new();
        let s = cur.string(&mut scratch).ok()?;
        let key = cur.str_bytes(s, &scratch);
        if let Some(i) = wanted.iter().position(|w| *w == key) {
            found[i] = true;
        }
        cur.expect(b':', "':'").ok()?;
        skip_value(&mut cur, &mut ctx).ok()?;
        match cur.peek() {
            Some(b',') => cur.pos += 1,
            Some(b'}') => {
                cur.pos += 1;
                break;
            }
            _ => return None,
        }
    }
    cur.finish().ok()?;
    Some(found)
}

/// What a message holds at a field path.
#[derive(Debug, PartialEq, Eq)]
pub enum FieldText<'a> {
    /// A string's content (unescaped), or a number's or a boolean's literal text.
    Value(&'a [u8]),
    /// The field is absent, null, an object or an array.
    Absent,
    /// The message is not well-formed JSON as far as it was read, or not an object (the codec says why).
    Malformed,
}

/// Reads one field of many messages (a route's key), reusing its buffers: no allocation per message.
pub struct FieldReader {
    path: Vec<Vec<u8>>,
    ctx: Ctx,
}

impl FieldReader {
    /// A reader of `path` (`["payment", "method"]`: a nested field), skipping values at most `max_depth` deep.
    pub fn new(path: Vec<Vec<u8>>, max_depth: usize) -> Self {
        FieldReader {
            path,
            ctx: Ctx::new(true, max_depth),
        }
    }

    /// The field's text in `msg`; only what stands before it is read (the rest is the codec's to check).
    pub fn read<'s>(&'s mut self, msg: &'s [u8]) -> FieldText<'s> {
        let FieldReader { path, ctx } = self;
        ctx.depth = 0;
        let mut cur = Cursor::new(msg);
        for (level, name) in path.iter().enumerate() {
            match cur.peek() {
                Some(b'{') => cur.pos += 1,
                Some(_) if level > 0 => return FieldText::Absent,
                _ => return FieldText::Malformed,
            }
            ctx.depth += 1;
            loop {
                match cur.peek() {
                    Some(b'"') => {}
                    Some(b'}') => return FieldText::Absent,
                    _ => return FieldText::Malformed,
                }
                let Ok(s) = cur.string(&mut ctx.scratch) else {
                    return FieldText::Malformed;
                };
                let found = cur.str_bytes(s, &ctx.scratch) == name.as_slice();
                if cur.expect(b':', "':'").is_err() {
                    return FieldText::Malformed;
                }
                if found {
                    break;
                }
                if skip_value(&mut cur, ctx).is_err() {
                    return FieldText::Malformed;
                }
                match cur.peek() {
                    Some(b',') => cur.pos += 1,
                    Some(b'}') => return FieldText::Absent,
                    _ => return FieldText::Malformed,
                }
            }
        }
        value_text(&mut cur, &mut ctx.scratch)
    }
}

/// The scalar at the cursor as text (a string's content, a number's or a boolean's literal).
fn value_text<'s>(cur: &mut Cursor<'s>, scratch: &'s mut Vec<u8>) -> FieldText<'s> {
    let buf: &'s [u8] = cur.buf;
    match cur.peek() {
        Some(b'"') => match cur.string(scratch) {
            Ok(Str::Raw(a, b)) => FieldText::Value(&buf[a..b]),
            Ok(Str::Scratch) => {
                let text: &'s Vec<u8> = scratch;
                FieldText::Value(text)
            }
            Err(_) => FieldText::Malformed,
        },
        Some(b'-' | b'0'..=b'9') => match cur.number() {
            Ok(n) => FieldText::Value(&buf[n.start..n.end]),
            Err(_) => FieldText::Malformed,
        },
        Some(b't') if buf[cur.pos..].starts_with(b"true") => FieldText::Value(b"true"),
        Some(b'f') if buf[cur.pos..].starts_with(b"false") => FieldText::Value(b"false"),
        Some(b'n' | b'{' | b'[') => FieldText::Absent,
        _ => FieldText::Malformed,
    }
}

fn first_is_object(msg: &[u8]) -> bool {
    msg.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_eq_compares_every_byte_of_every_length() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(key_eq(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!key_eq(&a, &b), "{n} {at}");
            }
            assert!(!key_eq(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    const WANTED: [&[u8]; 2] = [b"event_id", b"ingest_time"];

    #[test]
    fn finds_only_top_level_keys() {
        let got = top_level_keys(br#"{"a":{"event_id":1},"ingest_time":null}"#, &WANTED, 10);
        assert_eq!(got, Some(vec![false, true]));
        assert_eq!(top_level_keys(br#" {} "#, &WANTED, 10), Some(vec![false, false]));
        assert_eq!(
            top_level_keys(br#"{"x":"event_id"}"#, &WANTED, 10),
            Some(vec![false, false])
        );
        assert_eq!(
            top_level_keys(br#"{"event\u005fid":"e"}"#, &WANTED, 10),
            Some(vec![true, false]),
            "an escaped key is the same key"
        );
    }

    #[test]
    fn reads_a_field_at_a_path_without_reading_the_rest() {
        let mut type_ = FieldReader::new(vec![b"type".to_vec()], 64);
        assert_eq!(
            type_.read(br#"{"a":[1,{"type":"x"}],"type":"receipt","b":"#),
            FieldText::Value(b"receipt")
        );
        assert_eq!(type_.read(br#" { "type" : "io\u0074" } "#), FieldText::Value(b"iot"));
        assert_eq!(type_.read(br#"{"type":7.5}"#), FieldText::Value(b"7.5"));
        assert_eq!(type_.read(br#"{"type":true}"#), FieldText::Value(b"true"));
        assert_eq!(type_.read(br#"{"type":null}"#), FieldText::Absent);
        assert_eq!(type_.read(br#"{"type":{"x":1}}"#), FieldText::Absent);
        assert_eq!(type_.read(br#"{"kind":"x"}"#), FieldText::Absent);
        assert_eq!(type_.read(br#"{}"#), FieldText::Absent);
        assert_eq!(type_.read(br#"[1]"#), FieldText::Malformed);
        assert_eq!(type_.read(br#"{"a":tru"#), FieldText::Malformed);
        assert_eq!(type_.read(b""), FieldText::Malformed);
        let mut nested = FieldReader::new(vec![b"payment".to_vec(), b"method".to_vec()], 64);
        assert_eq!(
            nested.read(br#"{"payment":{"amount":1,"method":"card"}}"#),
            FieldText::Value(b"card")
        );
        assert_eq!(nested.read(br#"{"payment":"card"}"#), FieldText::Absent);
        assert_eq!(nested.read(br#"{"payment":{}}"#), FieldText::Absent);
    }

    #[test]
    fn malformed_is_none() {
        assert_eq!(top_level_keys(br#"{"event_id":"#, &WANTED, 10), None);
        assert_eq!(top_level_keys(br#"[1]"#, &WANTED, 10), None);
        assert_eq!(top_level_keys(br#"{"event_id":1} x"#, &WANTED, 10), None);
    }
}
