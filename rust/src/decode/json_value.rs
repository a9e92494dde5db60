//! Arbitrary JSON values: validated and copied in compact form (JSON columns), or validated and skipped
//! (unknown fields under `unknown_fields="ignore"`, and top-level values that are not objects).

use super::cursor::Cursor;
use super::fail::{at_index, at_key, err, preview, Res};
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
    // Decoded keys, to find duplicates once the object is read.
    let mut keys: Vec<u8> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
    } else {
        loop {
            if cur.peek() != Some(b'"') {
                return cur.syntax("a string key");
            }
            let key_start = cur.pos;
            let s = cur.string(&mut ctx.scratch)?;
            let k0 = keys.len();
            keys.extend_from_slice(cur.str_bytes(s, &ctx.scratch));
            spans.push((k0, keys.len()));
            out.extend_from_slice(&cur.buf[key_start..cur.pos]);
            cur.expect(b':', "':'")?;
            out.push(b':');
            let (a, b) = (k0, keys.len());
            copy_value(cur, out, ctx).map_err(|e| at_key(e, &keys[a..b]))?;
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
    check_duplicates(&keys, &spans)
}

fn check_duplicates(keys: &[u8], spans: &[(usize, usize)]) -> Res<()> {
    if spans.len() < 2 {
        return Ok(());
    }
    let mut sorted: Vec<&[u8]> = spans.iter().map(|&(a, b)| &keys[a..b]).collect();
    sorted.sort_unstable();
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            return Err(at_key(
                super::fail::fail(RejectCode::DuplicateKey, format!("duplicate key {}", preview(w[0]))),
                w[0],
            ));
        }
    }
    Ok(())
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
