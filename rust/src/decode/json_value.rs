//! Arbitrary JSON values: validated and copied in compact form (JSON columns), or validated and skipped
//! (unknown fields under `unknown_fields="ignore"`, and top-level values that are not objects).

use super::cursor::{Cursor, Str};
use super::fail::{at_index, at_key, duplicate_key, err, Res};
use super::keys::key_eq;
use super::Ctx;
use crate::error::RejectCode;

/// Validate the value at the cursor and append its compact JSON text to `out`: the value is read once, then its
/// text copied in one piece when it has no whitespace (the usual case), else copied without the whitespace
/// between tokens.
pub fn copy_value(cur: &mut Cursor<'_>, out: &mut Vec<u8>, ctx: &mut Ctx) -> Res<()> {
    cur.skip_ws();
    let start = cur.pos;
    skip_value(cur, ctx)?;
    let text = &cur.buf[start..cur.pos];
    if has_whitespace(text) {
        copy_compact(text, out);
    } else {
        out.extend_from_slice(text);
    }
    Ok(())
}

/// Any byte up to ' ' (a validated value's only such bytes are whitespace, between tokens or in strings);
/// 32 bytes at a time, so that the check vectorizes.
fn has_whitespace(text: &[u8]) -> bool {
    text.chunks(32).any(|c| c.iter().fold(false, |ws, &b| ws | (b <= b' ')))
}

/// Copy a validated value's text without the whitespace between its tokens (strings kept as written).
#[cold]
fn copy_compact(text: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b <= b' ' {
            continue;
        }
        out.push(b);
    }
}

/// Validate and skip the value at the cursor (a JSON column's keys are checked for duplicates, as BigQuery does).
pub fn skip_value(cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    match cur.peek() {
        Some(b'{') => skip_object(cur, ctx),
        Some(b'[') => skip_array(cur, ctx),
        Some(b'"') => cur.string(&mut ctx.scratch).map(drop),
        Some(b't') => cur.literal(b"true"),
        Some(b'f') => cur.literal(b"false"),
        Some(b'n') => cur.literal(b"null"),
        Some(b'-' | b'0'..=b'9') => cur.number().map(drop),
        _ => cur.syntax("a JSON value"),
    }
}

/// Enter one nesting level, enforcing `max_depth`.
#[inline]
pub fn enter(ctx: &mut Ctx) -> Res<()> {
    ctx.depth += 1;
    if ctx.depth > ctx.max_depth {
        return err(
            RejectCode::TooDeep,
            format!("JSON nests deeper than the limit of {} levels", ctx.max_depth),
        );
    }
    Ok(())
}

/// Where one key of an object being validated is: in the message when it has no escapes, else decoded in
/// `Ctx::keys` (so only escaped keys are copied), with a word of its bytes to compare first.
#[derive(Debug, Clone, Copy)]
pub struct KeySpan {
    start: usize,
    end: usize,
    in_message: bool,
    /// The length and first bytes: keys that differ here differ (most pairs, so most comparisons are one `cmp`).
    tag: u64,
}

impl KeySpan {
    fn new(key: &[u8], start: usize, in_message: bool) -> KeySpan {
        let head = key.iter().take(7).fold(0u64, |w, &b| (w << 8) | b as u64);
        KeySpan {
            start,
            end: start + key.len(),
            in_message,
            tag: head << 8 | (key.len() as u64 & 0xff),
        }
    }

    #[inline(always)]
    fn of<'a>(&self, msg: &'a [u8], keys: &'a [u8]) -> &'a [u8] {
        let from = if self.in_message { msg } else { keys };
        &from[self.start..self.end]
    }
}

fn skip_object(cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    enter(ctx)?;
    cur.pos += 1;
    // This object's keys go on top of the shared key stack, to find duplicates once the object is read.
    let (keys_base, spans_base) = (ctx.keys.len(), ctx.key_spans.len());
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
    } else {
        loop {
            if cur.peek() != Some(b'"') {
                return cur.syntax("a string key");
            }
            let span = match cur.string(&mut ctx.scratch)? {
                Str::Raw(a, b) => KeySpan::new(&cur.buf[a..b], a, true),
                Str::Scratch => {
                    let span = KeySpan::new(&ctx.scratch, ctx.keys.len(), false);
                    ctx.keys.extend_from_slice(&ctx.scratch);
                    span
                }
            };
            ctx.key_spans.push(span);
            cur.expect(b':', "':'")?;
            skip_value(cur, ctx).map_err(|e| at_key(e, span.of(cur.buf, &ctx.keys)))?;
            match cur.peek() {
                Some(b',') => cur.pos += 1,
                Some(b'}') => {
                    cur.pos += 1;
                    break;
                }
                _ => return cur.syntax("',' or '}'"),
            }
        }
    }
    ctx.depth -= 1;
    let checked = check_duplicates(cur.buf, &ctx.keys, &ctx.key_spans[spans_base..]);
    ctx.keys.truncate(keys_base);
    ctx.key_spans.truncate(spans_base);
    checked
}

/// Objects with at most this many keys are checked pairwise, without hashing (or allocating).
const PAIRWISE_KEYS: usize = 16;

/// The first key (in document order) that repeats an earlier one is a `duplicate_key`.
fn check_duplicates(msg: &[u8], keys: &[u8], spans: &[KeySpan]) -> Res<()> {
    let key = |s: &KeySpan| s.of(msg, keys);
    let duplicate = if spans.len() <= PAIRWISE_KEYS {
        (1..spans.len()).find_map(|j| {
            let (t, k) = (spans[j].tag, key(&spans[j]));
            spans[..j].iter().any(|s| s.tag == t && key_eq(key(s), k)).then_some(k)
        })
    } else {
        let mut seen = std::collections::HashSet::with_capacity(spans.len());
        spans.iter().map(key).find(|k| !seen.insert(*k))
    };
    duplicate.map_or(Ok(()), |k| Err(duplicate_key(k)))
}

fn skip_array(cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    enter(ctx)?;
    cur.pos += 1;
    if cur.peek() == Some(b']') {
        cur.pos += 1;
    } else {
        let mut i = 0;
        loop {
            skip_value(cur, ctx).map_err(|e| at_index(e, i))?;
            i += 1;
            match cur.peek() {
                Some(b',') => cur.pos += 1,
                Some(b']') => {
                    cur.pos += 1;
                    break;
                }
                _ => return cur.syntax("',' or ']'"),
            }
        }
    }
    ctx.depth -= 1;
    Ok(())
}

/// A short name for the JSON type that starts with `b`, for type-mismatch messages.
pub fn kind_name(b: u8) -> &'static str {
    match b {
        b'{' => "an object",
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(text: &str) -> Result<String, RejectCode> {
        let mut cur = Cursor::new(text.as_bytes());
        let mut ctx = Ctx::new(false, 16);
        let mut out = b"prefix:".to_vec();
        copy_value(&mut cur, &mut out, &mut ctx).map_err(|f| f.code)?;
        assert_eq!(cur.pos, text.trim_end().len(), "stops after the value");
        Ok(String::from_utf8(out).expect("UTF-8"))
    }

    /// Compact text is copied as it is; whitespace between tokens is dropped, never inside strings or keys.
    #[test]
    fn json_column_text_is_compact() {
        let compact = r#"{"a":[1,-2.5e3,{"b c":"x y\" z\\"}],"d":null,"e":true,"f":"\u00e9\n"}"#;
        assert_eq!(copy(compact).unwrap(), format!("prefix:{compact}"));
        let spaced = " { \"a\" : [ 1 ,\t-2.5e3 ,\r\n{\"b c\" : \"x y\\\" z\\\\\"} ] , \"d\":null, \"e\" :true,\"f\":\"\\u00e9\\n\" } ";
        assert_eq!(copy(spaced).unwrap(), format!("prefix:{compact}"));
        assert_eq!(copy(" \"  spaced  \" ").unwrap(), r#"prefix:"  spaced  ""#);
        assert_eq!(copy("[ ]").unwrap(), "prefix:[]");
        assert_eq!(copy(r#"{"a":{"k":1, "k":2}}"#), Err(RejectCode::DuplicateKey));
        assert_eq!(copy(r#"{"a":[1 2]}"#), Err(RejectCode::InvalidJson));
    }

    /// Duplicates are found by the whole key, whatever its first bytes, its length or its escapes.
    #[test]
    fn json_column_duplicate_keys() {
        let same_head = r#"{"property_a":1,"property_b":2,"property_ab":3}"#;
        assert!(copy(same_head).is_ok(), "same first bytes, different keys");
        let dup_late = r#"{"property_a":1,"property_b":2,"property_a":3}"#;
        assert_eq!(copy(dup_late), Err(RejectCode::DuplicateKey));
        assert_eq!(
            copy(r#"{"k0":1,"k\u0030":2}"#),
            Err(RejectCode::DuplicateKey),
            "escaped = raw"
        );
        assert_eq!(
            copy(r#"{"k\u0030":1,"k0":2}"#),
            Err(RejectCode::DuplicateKey),
            "raw = escaped"
        );
        assert_eq!(copy(r#"{"\u00e9":1,"é":2}"#), Err(RejectCode::DuplicateKey));
        assert!(copy(r#"{"":1,"a":{"":2}}"#).is_ok(), "the same key in a nested object");
        for n in [16, 17, 40] {
            let keys: Vec<String> = (0..n).map(|i| format!(r#""key_{i:03}":{i}"#)).collect();
            let text = format!("{{{}}}", keys.join(","));
            assert!(copy(&text).is_ok(), "{n} distinct keys");
            let text = format!("{{{},\"key_{:03}\":0}}", keys.join(","), n / 2);
            assert_eq!(copy(&text), Err(RejectCode::DuplicateKey), "{n} keys and a repeat");
        }
    }
}
