//! The schema-driven decoder: one JSON object straight into the column builders, no intermediate tree.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::collections::HashSet;

use super::builders::{Col, Fast, Lookup, Node};
use super::cursor::Cursor;
use super::fail::{at_index, at_key, duplicate_key, err, fail, preview, Res};
use super::json_value::{copy_value, enter, kind_name, skip_value};
use super::keys::key_eq;
use super::numbers::{
    json_decimal128_fast, json_decimal256_fast, json_f64_fast, json_int64_fast, parse_decimal128, parse_decimal256,
    parse_f64, parse_f64_string, parse_i64,
};
use super::params;
use super::temporal::{json_timestamp_fast, parse_date, parse_datetime, parse_time, parse_timestamp};
use super::Ctx;
use crate::error::RejectCode;
use crate::schema::{FieldMode, FieldType};

/// Standard base64 with or without padding, as BigQuery accepts BYTES in JSON.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode one message into `root` (a RECORD node for the whole row).
pub fn decode_row(root: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    ctx.depth = 0;
    ctx.keys.clear();
    ctx.key_spans.clear();
    match cur.peek() {
        Some(b'{') => {}
        None => return err(RejectCode::InvalidJson, "invalid JSON: empty message"),
        Some(_) => {
            skip_value(cur, ctx)?;
            cur.finish()?;
            return err(RejectCode::NotAnObject, "the message is valid JSON but not an object");
        }
    }
    decode_object(root, cur, ctx)?;
    cur.finish()
}

/// Find a field by a key [`expected_key`] did not match.
#[inline]
fn find(children: &[Node], lookup: &Lookup, key: &[u8]) -> Option<usize> {
    match lookup {
        Lookup::Linear => children.iter().position(|c| key_eq(&c.name, key)),
        Lookup::Map(m) => m.get(key).copied(),
    }
}

/// The field at `hint`, or the one after it, when the key at the cursor (on its opening quote) is literally that
/// field's name followed by `:`: a name without quotes, backslashes or control characters reads the same raw as
/// decoded, so the key is matched without scanning it for escapes. Moves the cursor past the colon. (A key with
/// whitespace before its colon takes the general path.)
#[inline(always)]
fn expected_key(children: &[Node], cur: &mut Cursor<'_>, hint: usize) -> Option<usize> {
    let start = cur.pos + 1;
    let rest = cur.buf.get(start..)?;
    let i = if children.get(hint).is_some_and(|c| is_key(c, rest)) {
        hint
    } else if children.get(hint + 1).is_some_and(|c| is_key(c, rest)) {
        hint + 1
    } else {
        return None;
    };
    cur.pos = start + children[i].key_colon.len();
    Some(i)
}

/// `rest` starts with the field's plain name, its closing quote and a colon.
#[inline(always)]
fn is_key(c: &Node, rest: &[u8]) -> bool {
    let k = &c.key_colon;
    !k.is_empty() && rest.get(..k.len()).is_some_and(|r| key_eq(r, k))
}

/// Decode an object (cursor on '{') into a RECORD node's children.
fn decode_object(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    enter(ctx)?;
    cur.pos += 1;
    let Col::Struct {
        children,
        len,
        seen,
        stamp,
        lookup,
    } = &mut node.col
    else {
        unreachable!("decode_object on a non-RECORD node")
    };
    *stamp = stamp.wrapping_add(1);
    if *stamp == 0 {
        seen.fill(0);
        *stamp = 1;
    }
    let stamp = *stamp;
    let mut hint = 0;
    let mut seen_count = 0;
    // Unknown keys seen in this object (when ignored), hashed: a message with 100k unknown keys stays linear.
    let mut unknown: Option<HashSet<Box<[u8]>>> = None;
    let mut skipping: Option<Box<[u8]>> = None;
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
    } else {
        loop {
            if cur.peek() != Some(b'"') {
                return cur.syntax("a string key");
            }
            let idx = match expected_key(children, cur, hint) {
                Some(i) if seen[i] == stamp => return Err(duplicate_key(&children[i].name)),
                Some(i) => Some(i),
                None => {
                    let buf = cur.buf;
                    let s = cur.string(&mut ctx.scratch)?;
                    let key = match s {
                        super::cursor::Str::Raw(a, b) => &buf[a..b],
                        super::cursor::Str::Scratch => &ctx.scratch[..],
                    };
                    let idx = match find(children, lookup, key) {
                        Some(i) if seen[i] == stamp => return Err(duplicate_key(key)),
                        Some(i) => Some(i),
                        None if ctx.ignore_unknown => {
                            if unknown.as_ref().is_some_and(|u| u.contains(key)) {
                                return Err(duplicate_key(key));
                            }
                            skipping = Some(key.into());
                            None
                        }
                        None => {
                            return Err(at_key(
                                fail(
                                    RejectCode::UnknownField,
                                    format!("field {} is not in the schema", preview(key)),
                                ),
                                key,
                            ));
                        }
                    };
                    cur.expect(b':', "':'")?;
                    idx
                }
            };
            match idx {
                Some(i) => {
                    seen[i] = stamp;
                    seen_count += 1;
                    hint = i + 1;
                    let child = &mut children[i];
                    if let Err(e) = decode_slot(child, cur, ctx) {
                        return Err(at_key(e, &child.name));
                    }
                }
                None => {
                    let key = skipping.take().expect("set with idx = None");
                    skip_value(cur, ctx).map_err(|e| at_key(e, &key))?;
                    unknown.get_or_insert_with(HashSet::new).insert(key);
                }
            }
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
    if seen_count != children.len() {
        for (child, &was_seen) in children.iter_mut().zip(seen.iter()) {
            if was_seen != stamp {
                if child.mode == FieldMode::Required {
                    return Err(at_key(
                        fail(RejectCode::MissingRequired, "required field is missing"),
                        &child.name,
                    ));
                }
                child.push_empty();
            }
        }
    }
    *len += 1;
    ctx.depth -= 1;
    Ok(())
}

/// Decode the value of one field: null handling by mode, then the value itself.
#[inline]
fn decode_slot(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    if node.mode == FieldMode::Repeated {
        return decode_list(node, cur, ctx);
    }
    match cur.peek() {
        Some(b'n') => {
            cur.literal(b"null")?;
            if node.nulls.is_none() {
                return err(RejectCode::MissingRequired, "required field is null");
            }
            node.push_empty();
        }
        Some(b) => {
            decode_any(node, cur, ctx, b)?;
        }
        None => return cur.syntax("a JSON value"),
    }
    Ok(())
}

/// A REPEATED field: an array of non-null values; null or missing is an empty list.
fn decode_list(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx) -> Res<()> {
    let Col::List { offsets, item } = &mut node.col else {
        unreachable!("REPEATED node without a list")
    };
    match cur.peek() {
        Some(b'n') => {
            cur.literal(b"null")?;
            offsets.push(*offsets.last().expect("offsets start with 0"));
            return Ok(());
        }
        Some(b'[') => {}
        Some(b) => return mismatch(cur, b, "an array (REPEATED)"),
        None => return cur.syntax("a JSON value"),
    }
    enter(ctx)?;
    cur.pos += 1;
    if cur.peek() == Some(b']') {
        cur.pos += 1;
    } else {
        let mut i = 0;
        loop {
            match cur.peek() {
                Some(b'n') => {
                    cur.literal(b"null")?;
                    return Err(at_index(
                        fail(RejectCode::NullElement, "null element in a REPEATED field"),
                        i,
                    ));
                }
                Some(b) => decode_any(item, cur, ctx, b).map_err(|e| at_index(e, i))?,
                None => return cur.syntax("a JSON value"),
            }
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
    offsets.push(list_offset(item.len(), ctx)?);
    ctx.depth -= 1;
    Ok(())
}

/// A type mismatch (or invalid JSON, when `b` starts no JSON value at all).
#[cold]
#[inline(never)]
fn mismatch<T>(cur: &Cursor<'_>, b: u8, expected: &str) -> Res<T> {
    match b {
        b'{' | b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9' => err(
            RejectCode::TypeMismatch,
            format!("expected {expected}, got {}", kind_name(b)),
        ),
        _ => cur.syntax("a JSON value"),
    }
}

/// Read a string value's content (cursor on the opening quote) and convert it.
#[inline(always)]
fn with_string<T>(cur: &mut Cursor<'_>, ctx: &mut Ctx, f: impl FnOnce(&[u8]) -> Res<T>) -> Res<T> {
    let s = cur.string(&mut ctx.scratch)?;
    f(cur.str_bytes(s, &ctx.scratch))
}

#[inline(always)]
fn push_i64(node: &mut Node, v: i64) {
    if let Col::I64(vs) = &mut node.col {
        vs.push(v);
    }
}

/// Check the batch's string data still fits i32 offsets.
#[inline(always)]
fn offset(data: &[u8], ctx: &mut Ctx) -> Res<i32> {
    match i32::try_from(data.len()) {
        Ok(o) => Ok(o),
        Err(_) => {
            ctx.overflow = true;
            err(RejectCode::OutOfRange, "batch holds more than 2 GiB of string data")
        }
    }
}

/// Check a list column's items still fit i32 offsets.
#[inline(always)]
fn list_offset(items: usize, ctx: &mut Ctx) -> Res<i32> {
    match i32::try_from(items) {
        Ok(o) => Ok(o),
        Err(_) => {
            ctx.overflow = true;
            err(
                RejectCode::OutOfRange,
                "batch holds more than 2^31 items in one REPEATED column",
            )
        }
    }
}

/// Decode a non-null value of the node's type (the cursor on its first byte, `b`): the common cases inline in the
/// caller (plain strings, and the numbers the one-pass readers take), anything else in [`decode_value`].
#[inline(always)]
fn decode_any(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx, b: u8) -> Res<()> {
    match (node.fast, b) {
        (Fast::String, b'"') => {
            let Col::Bytes { offsets, data } = &mut node.col else {
                unreachable!()
            };
            cur.string_into(data)?;
            offsets.push(offset(data, ctx)?);
            Ok(())
        }
        (Fast::Int64, b'-' | b'0'..=b'9') => match json_int64_fast(cur.buf, cur.pos) {
            Some((v, end)) => {
                cur.pos = end;
                push_i64(node, v);
                Ok(())
            }
            None => decode_value(node, cur, ctx, b),
        },
        (Fast::Float64, b'-' | b'0'..=b'9') => match json_f64_fast(cur.buf, cur.pos) {
            Some((v, end)) => {
                cur.pos = end;
                let Col::F64(vs) = &mut node.col else { unreachable!() };
                vs.push(v);
                Ok(())
            }
            None => decode_value(node, cur, ctx, b),
        },
        (Fast::Record, b'{') => decode_object(node, cur, ctx),
        _ => decode_value(node, cur, ctx, b),
    }
}

/// Decode a non-null value of the node's type (the cursor on its first byte, `b`), by the exact general paths.
#[inline(never)]
fn decode_value(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx, b: u8) -> Res<()> {
    match node.ty {
        FieldType::String | FieldType::Geography => decode_string(node, cur, ctx, b)?,
        FieldType::Json => {
            let Col::Bytes { offsets, data } = &mut node.col else {
                unreachable!()
            };
            copy_value(cur, data, ctx)?;
            offsets.push(offset(data, ctx)?);
        }
        FieldType::Bytes => decode_base64(node, cur, ctx, b)?,
        FieldType::Int64 => {
            let v = int64(cur, ctx, b)?;
            push_i64(node, v);
        }
        FieldType::Float64 => {
            let v = float64(cur, ctx, b)?;
            let Col::F64(vs) = &mut node.col else { unreachable!() };
            vs.push(v);
        }
        FieldType::Numeric => {
            let v = decimal(cur, ctx, b, "NUMERIC", json_decimal128_fast, parse_decimal128)?;
            let v = params::fit_decimal128(v, &node.params)?;
            let Col::I128(vs) = &mut node.col else { unreachable!() };
            vs.push(v);
        }
        FieldType::BigNumeric => {
            let v = decimal(cur, ctx, b, "BIGNUMERIC", json_decimal256_fast, parse_decimal256)?;
            let v = params::fit_decimal256(v, &node.params)?;
            let Col::I256(vs) = &mut node.col else { unreachable!() };
            vs.push(v);
        }
        FieldType::Bool => {
            let v = boolean(cur, b)?;
            let Col::Bool(vs) = &mut node.col else { unreachable!() };
            vs.append(v);
        }
        FieldType::Timestamp | FieldType::DateTime | FieldType::Time => return decode_time(node, cur, ctx, b),
        FieldType::Date => {
            if b != b'"' {
                return mismatch(cur, b, "DATE");
            }
            let v = with_string(cur, ctx, parse_date)?;
            let Col::I32(vs) = &mut node.col else { unreachable!() };
            vs.push(v);
        }
        FieldType::Record => {
            if b != b'{' {
                return mismatch(cur, b, "an object (RECORD)");
            }
            decode_object(node, cur, ctx)?;
        }
    }
    Ok(())
}

/// A STRING or GEOGRAPHY (WKT) value, checked against its maximum length.
#[inline(always)]
fn decode_string(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx, b: u8) -> Res<()> {
    if b != b'"' {
        return mismatch(
            cur,
            b,
            if node.ty == FieldType::String {
                "STRING"
            } else {
                "GEOGRAPHY (WKT string)"
            },
        );
    }
    let Col::Bytes { offsets, data } = &mut node.col else {
        unreachable!()
    };
    cur.string_into(data)?;
    if node.params.max_length.is_some() {
        let start = *offsets.last().expect("offsets start with 0") as usize;
        params::check_string(&data[start..], &node.params)?;
    }
    offsets.push(offset(data, ctx)?);
    Ok(())
}

/// A BYTES value: a base64 string, decoded and checked against its maximum length.
#[inline(always)]
fn decode_base64(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx, b: u8) -> Res<()> {
    if b != b'"' {
        return mismatch(cur, b, "BYTES (base64 string)");
    }
    let Col::Bytes { offsets, data } = &mut node.col else {
        unreachable!()
    };
    let s = cur.string(&mut ctx.scratch)?;
    let text = cur.str_bytes(s, &ctx.scratch);
    if BASE64.decode_vec(text, data).is_err() {
        return err(
            RejectCode::InvalidValue,
            format!("invalid base64 for BYTES: {}", preview(text)),
        );
    }
    let start = *offsets.last().expect("offsets start with 0") as usize;
    params::check_bytes(data.len() - start, &node.params)?;
    offsets.push(offset(data, ctx)?);
    Ok(())
}

/// An INT64: an integer literal (no fraction or exponent) or a string holding one.
#[inline(always)]
fn int64(cur: &mut Cursor<'_>, ctx: &mut Ctx, b: u8) -> Res<i64> {
    Ok(match b {
        b'"' => with_string(cur, ctx, |t| parse_i64(t, true))?,
        b'-' | b'0'..=b'9' => {
            let n = cur.number()?;
            let text = &cur.buf[n.start..n.end];
            if !n.integral {
                return err(
                    RejectCode::InvalidValue,
                    format!(
                        "expected an INT64, got {} (no fraction or exponent allowed)",
                        preview(text)
                    ),
                );
            }
            parse_i64(text, false)?
        }
        _ => return mismatch(cur, b, "INT64"),
    })
}

/// A FLOAT64: a number literal, or a string holding one (or `NaN`, `Infinity`, `-Infinity`).
#[inline(always)]
fn float64(cur: &mut Cursor<'_>, ctx: &mut Ctx, b: u8) -> Res<f64> {
    Ok(match b {
        b'"' => with_string(cur, ctx, parse_f64_string)?,
        // [`decode_any`] tried the one-pass reader already.
        b'-' | b'0'..=b'9' => {
            let n = cur.number()?;
            parse_f64(&cur.buf[n.start..n.end])?
        }
        _ => return mismatch(cur, b, "FLOAT64"),
    })
}

/// A BOOL: `true` or `false`.
#[inline(always)]
fn boolean(cur: &mut Cursor<'_>, b: u8) -> Res<bool> {
    Ok(match b {
        b't' => {
            cur.literal(b"true")?;
            true
        }
        b'f' => {
            cur.literal(b"false")?;
            false
        }
        _ => return mismatch(cur, b, "BOOL"),
    })
}

/// A NUMERIC or BIGNUMERIC value: read where it stands when plain (a number, or a string holding one) by `fast`,
/// else by the exact general path, `exact`.
#[inline(always)]
fn decimal<V>(
    cur: &mut Cursor<'_>,
    ctx: &mut Ctx,
    b: u8,
    what: &str,
    fast: impl FnOnce(&[u8], usize) -> Option<(V, usize)>,
    exact: impl FnOnce(&[u8], bool) -> Res<V>,
) -> Res<V> {
    match (fast(cur.buf, cur.pos), b) {
        (Some((v, end)), _) => {
            cur.pos = end;
            Ok(v)
        }
        (None, b'"') => with_string(cur, ctx, |t| exact(t, true)),
        (None, b'-' | b'0'..=b'9') => {
            let n = cur.number()?;
            exact(&cur.buf[n.start..n.end], false)
        }
        _ => mismatch(cur, b, what),
    }
}

/// A TIMESTAMP (read where it stands in its common forms), DATETIME or TIME value.
#[inline(always)]
fn decode_time(node: &mut Node, cur: &mut Cursor<'_>, ctx: &mut Ctx, b: u8) -> Res<()> {
    if b != b'"' {
        return mismatch(cur, b, node.ty.name());
    }
    let fast = match node.ty {
        FieldType::Timestamp => json_timestamp_fast(cur.buf, cur.pos),
        _ => None,
    };
    let v = match fast {
        Some((v, end)) => {
            cur.pos = end;
            v
        }
        None => with_string(
            cur,
            ctx,
            match node.ty {
                FieldType::Timestamp => parse_timestamp,
                FieldType::DateTime => parse_datetime,
                _ => parse_time,
            },
        )?,
    };
    push_i64(node, v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::Array;

    use super::*;
    use crate::schema::TableSchema;

    /// Objects keep their fields apart across the per-object stamp's wrap-around (every 2^32 objects).
    #[test]
    fn seen_fields_survive_the_stamp_wrapping() {
        let schema = TableSchema::from_bigquery_json(r#"[{"name":"a","type":"INT64"},{"name":"b","type":"INT64"}]"#)
            .expect("valid");
        let root_at = |start: u32| {
            let mut root = Node::root(&schema.fields, 4);
            let Col::Struct { stamp, .. } = &mut root.col else {
                unreachable!()
            };
            *stamp = start;
            root
        };
        let mut ctx = Ctx::new(false, 16);
        let mut root = root_at(u32::MAX - 1);
        for msg in [r#"{"a":1,"b":2}"#, r#"{"b":3}"#, r#"{"a":4}"#] {
            decode_row(&mut root, &mut Cursor::new(msg.as_bytes()), &mut ctx).expect("valid");
        }
        let Col::Struct { stamp, .. } = &root.col else {
            unreachable!()
        };
        assert_eq!(*stamp, 2, "wrapped past zero");
        let array = root.finish();
        let col = |i: usize| {
            let a = array.as_struct().column(i).as_primitive::<Int64Type>().clone();
            (0..3).map(|r| a.is_valid(r).then(|| a.value(r))).collect::<Vec<_>>()
        };
        assert_eq!(col(0), [Some(1), None, Some(4)]);
        assert_eq!(col(1), [Some(2), Some(3), None]);
        let mut root = root_at(u32::MAX);
        let dup = decode_row(&mut root, &mut Cursor::new(br#"{"a":5,"a":6}"#), &mut ctx);
        assert_eq!(dup.expect_err("a duplicate").code, RejectCode::DuplicateKey);
    }
}
