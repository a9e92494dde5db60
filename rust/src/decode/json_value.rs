//! Arbitrary JSON values: validated and copied in compact form (JSON columns), or validated and skipped
//! (unknown fields under `unknown_fields="ignore"`, and top-level values that are not objects).

use super::cursor::Cursor;
use super::fail::{at_index, at_key, duplicate_key, err, Res};
use super::keys::key_eq;
use super::Ctx;
use crate::error::RejectCode;

/// Validate the value at the cursor and append its compact JSON text to `out`.
pub fn copy_value(cur: &mut Cursor<'_>, out: &mut Vec<u8>, ctx: &mut Ctx) -> Res<()> {
    match cur.peek() {
        Some(b'{') => copy_object(cur, out, ctx),
        Some(b'[') => copy_array(cur, out, ctx),
        Some(b'"') => copy_string(cur, out, ctx),
        Some(b't') => copy_literal(cur, out, b"true"),
        Some(b'f') => copy_literal(cur, out, b"false"),
        Some(b'n') => copy_literal(cur, out, b"null"),
        Some(b'-' | b'0'..=b'9') => {
            let n = cur.number()?;
            out.extend_from_slice(&cur.buf[n.start..n.end]);
            Ok(())
        }
        _ => cur.syntax("a JSON value"),
    }
}

fn copy_literal(cur: &mut Cursor<'_>, out: &mut Vec<u8>, lit: &[u8]) -> Res<()> {
    cur.literal(lit)?;
    out.extend_from_slice(lit);
    Ok(())
}

/// Validate a string and copy it verbatim (escapes kept as written).
fn copy_string(cur: &mut Cursor<'_>, out: &mut Vec<u8>, ctx: &mut Ctx) -> Res<()> {
    let start = cur.pos;
    cur.string(&mut ctx.scratch)?;
    out.extend_from_slice(&cur.buf[start..cur.pos]);
    Ok(())
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

fn copy_object(cur: &mut Cursor<'_>, out: &mut Vec<u8>, ctx: &mut Ctx) -> Res<()> {
    enter(ctx)?;
    cur.pos += 1;
    out.push(b'{');
    // This object's decoded keys go on top of the shared key stack, to find duplicates once the object is read.
    let (keys_base, spans_base) = (ctx.keys.len(), ctx.key_spans.len());
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
    } else {
        loop {
            if cur.peek() != Some(b'"') {
                return cur.syntax("a string key");
            }
            let key_start = cur.pos;
            let s = cur.string(&mut ctx.scratch)?;
            let k0 = ctx.keys.len();
            ctx.keys.extend_from_slice(cur.str_bytes(s, &ctx.scratch));
            let k1 = ctx.keys.len();
            ctx.key_spans.push((k0, k1));
            out.extend_from_slice(&cur.buf[key_start..cur.pos]);
            cur.expect(b':', "':'")?;
            out.push(b':');
            copy_value(cur, out, ctx).map_err(|e| at_key(e, &ctx.keys[k0..k1]))?;
            match cur.peek() {
                Some(b',') => {
                    cur.pos += 1;
                    out.push(b',');
                }
                Some(b'}') => {
                    cur.pos += 1;
                    break;
                }
                _ => return cur.syntax("',' or '}'"),
            }
        }
    }
    out.push(b'}');
    ctx.depth -= 1;
    let checked = check_duplicates(&ctx.keys, &ctx.key_spans[spans_base..]);
    ctx.keys.truncate(keys_base);
    ctx.key_spans.truncate(spans_base);
    checked
}

/// Objects with at most this many keys are checked pairwise, without hashing (or allocating).
const PAIRWISE_KEYS: usize = 16;

/// The first key (in document order) that repeats an earlier one is a `duplicate_key`.
fn check_duplicates(keys: &[u8], spans: &[(usize, usize)]) -> Res<()> {
    let key = |&(a, b): &(usize, usize)| &keys[a..b];
    let duplicate = if spans.len() <= PAIRWISE_KEYS {
        (1..spans.len()).find_map(|j| {
            let k = key(&spans[j]);
            spans[..j].iter().any(|s| key_eq(key(s), k)).then_some(k)
        })
    } else {
        let mut seen = std::collections::HashSet::with_capacity(spans.len());
        spans.iter().map(key).find(|k| !seen.insert(*k))
    };
    duplicate.map_or(Ok(()), |k| Err(duplicate_key(k)))
}

fn copy_array(cur: &mut Cursor<'_>, out: &mut Vec<u8>, ctx: &mut Ctx) -> Res<()> {
    enter(ctx)?;
    cur.pos += 1;
    out.push(b'[');
    if cur.peek() == Some(b']') {
        cur.pos += 1;
    } else {
        let mut i = 0;
        loop {
            copy_value(cur, out, ctx).map_err(|e| at_index(e, i))?;
            i += 1;
            match cur.peek() {
                Some(b',') => {
                    cur.pos += 1;
                    out.push(b',');
                }
                Some(b']') => {
                    cur.pos += 1;
                    break;
                }
                _ => return cur.syntax("',' or ']'"),
            }
        }
    }
    out.push(b']');
    ctx.depth -= 1;
    Ok(())
}

/// Validate and skip the value at the cursor.
pub fn skip_value(cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    let mut sink = std::mem::take(&mut ctx.skip);
    sink.clear();
    let r = copy_value(cur, &mut sink, ctx);
    ctx.skip = sink;
    r
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
