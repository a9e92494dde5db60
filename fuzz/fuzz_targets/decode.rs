//! The codec on a generated schema and generated messages (JSON-like trees, possibly cut or spliced with raw
//! bytes), in both input forms (a list of messages, an NDJSON buffer). Invariants:
//! - no panic, no hang, and the call itself succeeds;
//! - every message is either a row or a reject with a code, in order;
//! - a rejected message leaves nothing in the batch (the accepted messages alone decode to the same batch);
//! - a message that is not JSON (by serde_json) is rejected, and on accepted rows every scalar top-level
//!   column equals serde_json's reading of the message (the reference decoder); NUMERIC, BIGNUMERIC and
//!   TIMESTAMP columns equal a slow reference reading of their text (digit by digit; days counted year by year).

#![no_main]

use arbitrary::Unstructured;
use std::collections::HashMap;

use arrow_array::{
    Array, BooleanArray, Decimal128Array, Decimal256Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::i256;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use serde_json::Value;
use streamlake_fast::{Codec, CodecOptions, TableSchema, UnknownFields};

const TYPES: [&str; 13] = [
    "STRING",
    "BYTES",
    "INT64",
    "FLOAT64",
    "NUMERIC",
    "BIGNUMERIC",
    "BOOL",
    "TIMESTAMP",
    "DATE",
    "TIME",
    "DATETIME",
    "JSON",
    "RECORD",
];
const MODES: [&str; 3] = ["NULLABLE", "REQUIRED", "REPEATED"];

fn field(u: &mut Unstructured<'_>, name: String, depth: usize) -> arbitrary::Result<Value> {
    let mut ty = *u.choose(&TYPES)?;
    if ty == "RECORD" && depth >= 3 {
        ty = "STRING";
    }
    let mut f = serde_json::json!({"name": name, "type": ty, "mode": *u.choose(&MODES)?});
    if ty == "RECORD" {
        let n = u.int_in_range(1..=3)?;
        let subs: Vec<Value> = (0..n)
            .map(|i| field(u, format!("r{i}"), depth + 1))
            .collect::<Result<_, _>>()?;
        f["fields"] = Value::Array(subs);
    }
    if ty == "STRING" && u.ratio(1, 6)? {
        f["maxLength"] = Value::from(u.int_in_range(1..=8u64)?);
    }
    Ok(f)
}

/// A JSON-like value, mostly shaped like the schema's events (keys `f0`.., `r0`..).
fn value(u: &mut Unstructured<'_>, depth: usize) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0..=11u8)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 | 5 => Value::String(u.arbitrary()?),
        6 => Value::String(
            [
                "1.5",
                "2026-11-27",
                "2026-11-27 10:00:00",
                "10:00:00",
                "AQID",
                "12345678901234567890",
            ][u.choose_index(6)?]
            .to_string(),
        ),
        7 | 8 => match u.int_in_range(0..=3u8)? {
            0 => Value::String(decimal_text(u)?),
            // A JSON number with these exact digits: spliced in raw by `message`.
            1 => Value::String(format!("{RAW}{}", decimal_text(u)?)),
            _ => Value::String(timestamp_text(u)?),
        },
        9 if depth < 4 => Value::Array(
            (0..u.int_in_range(0..=3)?)
                .map(|_| value(u, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        _ if depth < 4 => object(u, depth + 1)?,
        _ => Value::from(u.arbitrary::<u8>()?),
    })
}

/// A string value starting with this becomes the raw JSON number after it (serde_json writes it as `"\u0001N…"`).
const RAW: &str = "\u{1}N";

/// Decimal text: sign, up to 45 integer and 45 fractional digits, maybe an exponent; often outside the grammar.
fn decimal_text(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let digits = |u: &mut Unstructured<'_>, max: usize| -> arbitrary::Result<String> {
        (0..u.int_in_range(0..=max)?)
            .map(|_| Ok(char::from(b'0' + u.int_in_range(0..=9u8)?)))
            .collect()
    };
    let mut t = String::from(["", "-", "+"][u.choose_index(3)?]);
    t += &digits(u, 45)?;
    if u.ratio(2, 3)? {
        t.push('.');
        t += &digits(u, 45)?;
    }
    if u.ratio(1, 5)? {
        t += ["e", "E", "e-", "e+"][u.choose_index(4)?];
        t += &digits(u, 3)?;
    }
    Ok(t)
}

/// TIMESTAMP text with random fields (mostly in range), separators, fraction and zone.
fn timestamp_text(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let mut field = |valid: std::ops::RangeInclusive<u32>, any: u32| -> arbitrary::Result<u32> {
        if u.ratio(7, 8)? {
            u.int_in_range(valid)
        } else {
            u.int_in_range(0..=any)
        }
    };
    let (y, m, d) = (field(1..=9999, 9999)?, field(1..=12, 99)?, field(1..=28, 99)?);
    let (h, mi, s) = (field(0..=23, 99)?, field(0..=59, 99)?, field(0..=59, 99)?);
    let sep = ["-", "-", "/"][u.choose_index(3)?];
    let mut t = format!(
        "{y:04}{sep}{m:02}{sep}{d:02}{}{h:02}:{mi:02}:{s:02}",
        ["T", " ", "t", "_"][u.choose_index(4)?]
    );
    if u.ratio(1, 2)? {
        t.push('.');
        for _ in 0..u.int_in_range(0..=7)? {
            t.push(char::from(b'0' + u.int_in_range(0..=9u8)?));
        }
    }
    let zones = [
        "", "Z", "z", " UTC", "+05:30", "-0130", "+07", "-23:59", "+24:00", " +01:00", "+1", "x",
    ];
    t += zones[u.choose_index(zones.len())?];
    Ok(t)
}

/// Replace each string `"\u0001N<text>"` with `<text>` as it is (see [`RAW`]).
fn splice_raw_numbers(text: &[u8]) -> Vec<u8> {
    const MARK: &[u8] = b"\"\\u0001N";
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(MARK) {
            let start = i + MARK.len();
            let end = start + text[start..].iter().position(|&b| b == b'"').expect("closed");
            out.extend_from_slice(&text[start..end]);
            i = end + 1;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn object(u: &mut Unstructured<'_>, depth: usize) -> arbitrary::Result<Value> {
    let mut m = serde_json::Map::new();
    for _ in 0..u.int_in_range(0..=5)? {
        let key = if u.ratio(9, 10)? {
            format!("{}{}", ["f", "r"][u.choose_index(2)?], u.int_in_range(0..=4)?)
        } else {
            u.arbitrary()?
        };
        m.insert(key, value(u, depth)?);
    }
    Ok(Value::Object(m))
}

/// Half the time an event shaped by the schema: each top-level field present with a value of its type (NUMERIC,
/// BIGNUMERIC and TIMESTAMP text in their grammars, mostly), so that rows with those columns get accepted.
fn event(u: &mut Unstructured<'_>, fields: &[Value]) -> arbitrary::Result<Value> {
    if u.ratio(1, 2)? {
        return object(u, 0);
    }
    let mut m = serde_json::Map::new();
    for f in fields {
        if u.ratio(1, 8)? {
            continue;
        }
        let v = match (f["type"].as_str(), f["mode"].as_str()) {
            (_, Some("REPEATED")) => value(u, 1)?,
            (Some("NUMERIC" | "BIGNUMERIC"), _) if u.ratio(1, 2)? => {
                Value::String(format!("{RAW}{}", decimal_text(u)?))
            }
            (Some("NUMERIC" | "BIGNUMERIC"), _) => Value::String(decimal_text(u)?),
            (Some("TIMESTAMP"), _) => Value::String(timestamp_text(u)?),
            _ => value(u, 1)?,
        };
        m.insert(f["name"].as_str().expect("a name").to_string(), v);
    }
    Ok(Value::Object(m))
}

fn message(u: &mut Unstructured<'_>, fields: &[Value]) -> arbitrary::Result<Vec<u8>> {
    let mut text = splice_raw_numbers(&serde_json::to_vec(&event(u, fields)?).expect("serialisable"));
    match u.int_in_range(0..=5u8)? {
        0 if !text.is_empty() => text.truncate(u.choose_index(text.len())?),
        1 => {
            let at = u.choose_index(text.len() + 1)?;
            let raw: Vec<u8> = u.arbitrary()?;
            text.splice(at..at, raw);
        }
        2 => text = u.arbitrary()?,
        _ => {}
    }
    Ok(text)
}

fn check(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let n = u.int_in_range(1..=5)?;
    let fields: Vec<Value> = (0..n).map(|i| field(u, format!("f{i}"), 1)).collect::<Result<_, _>>()?;
    let schema = TableSchema::from_bigquery_json(&Value::Array(fields.clone()).to_string())
        .expect("generated schemas are valid");
    let options = CodecOptions {
        unknown_fields: if u.arbitrary()? {
            UnknownFields::Ignore
        } else {
            UnknownFields::Reject
        },
        max_depth: u.int_in_range(2..=64)?,
        ..CodecOptions::default()
    };
    let codec = Codec::new(schema, options.clone());
    let messages: Vec<Vec<u8>> = (0..u.int_in_range(1..=8)?)
        .map(|_| message(u, &fields))
        .collect::<Result<_, _>>()?;
    let out = codec.decode_messages(&messages).expect("small batches decode");
    assert_eq!(out.batch.num_rows() + out.rejects.len(), messages.len());
    assert!(out.rejects.windows(2).all(|w| w[0].index < w[1].index));
    let rejected: Vec<usize> = out.rejects.iter().map(|r| r.index).collect();
    let accepted: Vec<&Vec<u8>> = (0..messages.len())
        .filter(|i| !rejected.contains(i))
        .map(|i| &messages[i])
        .collect();
    let again = codec.decode_messages(&accepted).expect("decodes");
    assert!(again.rejects.is_empty(), "an accepted message is accepted alone");
    assert_eq!(again.batch, out.batch, "a rejected message leaves nothing in the batch");
    // NDJSON: the same messages as lines (those without newlines), the same answers.
    if messages
        .iter()
        .all(|m| !m.contains(&b'\n') && !m.contains(&b'\r') && m.iter().any(|b| !b.is_ascii_whitespace()))
    {
        let ndjson = messages.join(&b'\n');
        let lines = codec.decode_ndjson(&ndjson).expect("decodes");
        assert_eq!(lines.batch, out.batch);
        assert_eq!(
            lines.rejects.iter().map(|r| (r.index, r.code)).collect::<Vec<_>>(),
            out.rejects.iter().map(|r| (r.index, r.code)).collect::<Vec<_>>()
        );
    }
    for (row, msg) in accepted.iter().enumerate() {
        reference(&codec, &out.batch, row, msg);
    }
    for (i, m) in messages.iter().enumerate() {
        if let Err(e) = serde_json::from_slice::<Value>(m) {
            let why = e.to_string();
            if !why.contains("recursion limit") && !why.contains("out of range") && !lone_surrogate(m) {
                assert!(out.rejects.iter().any(|r| r.index == i), "not JSON ({e}) yet accepted");
            }
        }
    }
    Ok(())
}

/// serde_json refuses lone UTF-16 surrogates in escapes; the codec may take them as U+FFFD.
fn lone_surrogate(m: &[u8]) -> bool {
    m.windows(3).any(|w| w == b"\\ud" || w == b"\\uD")
}

/// The accepted row `row` against serde_json's reading of its message, for the scalar top-level columns.
fn reference(codec: &Codec, batch: &RecordBatch, row: usize, msg: &[u8]) {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(msg) else {
        return;
    };
    // Each top-level value's own text (an accepted message has no duplicate keys).
    let raw: HashMap<String, &RawValue> = serde_json::from_slice(msg).expect("an object");
    let text = |name: &str| -> String {
        let r = raw[name].get();
        serde_json::from_str::<String>(r).unwrap_or_else(|_| r.to_string())
    };
    for (col, f) in codec.schema().fields.iter().enumerate() {
        if f.mode == streamlake_fast::FieldMode::Repeated {
            continue;
        }
        let array = batch.column(col);
        let v = doc.get(&f.name).unwrap_or(&Value::Null);
        if v.is_null() {
            assert!(array.is_null(row), "{}: null in, null out", f.name);
            continue;
        }
        match f.ty {
            streamlake_fast::FieldType::Int64 => {
                let got = array.as_any().downcast_ref::<Int64Array>().unwrap().value(row);
                let want = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim_start_matches('+').parse().ok()));
                assert_eq!(Some(got), want, "{}", f.name);
            }
            streamlake_fast::FieldType::String => {
                let got = array.as_any().downcast_ref::<StringArray>().unwrap().value(row);
                assert_eq!(Some(got), v.as_str(), "{}", f.name);
            }
            streamlake_fast::FieldType::Bool => {
                let got = array.as_any().downcast_ref::<BooleanArray>().unwrap().value(row);
                assert_eq!(Some(got), v.as_bool(), "{}", f.name);
            }
            streamlake_fast::FieldType::Float64 if v.is_number() => {
                let got = array.as_any().downcast_ref::<Float64Array>().unwrap().value(row);
                assert_eq!(Some(got), v.as_f64(), "{}", f.name);
            }
            streamlake_fast::FieldType::Numeric => {
                let got = array.as_any().downcast_ref::<Decimal128Array>().unwrap().value(row);
                assert_eq!(i256::from_i128(got), decimal(&text(&f.name), 9), "{}", f.name);
            }
            streamlake_fast::FieldType::BigNumeric => {
                let got = array.as_any().downcast_ref::<Decimal256Array>().unwrap().value(row);
                assert_eq!(got, decimal(&text(&f.name), 38), "{}", f.name);
            }
            streamlake_fast::FieldType::Timestamp if v.is_string() => {
                let got = array
                    .as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .unwrap()
                    .value(row);
                assert_eq!(got, timestamp(&text(&f.name)), "{}", f.name);
            }
            _ => {}
        }
    }
}

/// The unscaled value of an accepted decimal text at `scale`, digit by digit (the codec never rounds: any digits
/// past the scale are zeros).
fn decimal(text: &str, scale: i64) -> i256 {
    let (neg, t) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(at) => (&t[..at], t[at + 1..].parse::<i64>().expect("an exponent")),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let shift = scale + exp - frac.len() as i64;
    if shift < 0 {
        let cut = digits.len().saturating_sub(shift.unsigned_abs() as usize);
        assert!(digits[cut..].iter().all(|&d| d == 0), "{text}: accepted, yet rounded");
        digits.truncate(cut);
    } else if digits.iter().any(|&d| d != 0) {
        digits.extend(std::iter::repeat_n(0, shift as usize));
    }
    let ten = i256::from_i128(10);
    let v = digits.iter().fold(i256::ZERO, |v, &d| {
        v.wrapping_mul(ten).wrapping_add(i256::from_i128(d as i128))
    });
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

/// UTC microseconds of an accepted TIMESTAMP text, with days counted year by year and month by month.
fn timestamp(text: &str) -> i64 {
    let num = |at: usize, n: usize| -> i64 { text[at..at + n].parse().expect("digits") };
    let (y, m, d) = (num(0, 4), num(5, 2), num(8, 2));
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let year_days = |y: i64| if leap(y) { 366 } else { 365 };
    let mut days: i64 = if y >= 1970 {
        (1970..y).map(year_days).sum()
    } else {
        -(y..1970).map(year_days).sum::<i64>()
    };
    let month_days = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += month_days[..(m - 1) as usize].iter().sum::<i64>() + d - 1;
    let secs = days * 86_400 + num(11, 2) * 3_600 + num(14, 2) * 60 + num(17, 2);
    let mut rest = &text[19..];
    let mut micros = 0;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        micros = format!("{:0<6}", &f[..n]).parse::<i64>().expect("digits");
        rest = &f[n..];
    }
    let zone = rest.strip_prefix(' ').unwrap_or(rest);
    let offset_minutes = match zone {
        "" | "Z" | "z" | "UTC" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let z = zone[1..].replace(':', "");
            let minutes = if z.len() > 2 {
                z[2..].parse::<i64>().expect("minutes")
            } else {
                0
            };
            sign * (z[..2].parse::<i64>().expect("hours") * 60 + minutes)
        }
    };
    (secs - offset_minutes * 60) * 1_000_000 + micros
}

fuzz_target!(|data: &[u8]| {
    let _ = check(&mut Unstructured::new(data));
});
