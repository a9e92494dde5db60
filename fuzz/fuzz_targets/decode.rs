//! The codec on a generated schema and generated messages (JSON-like trees, possibly cut or spliced with raw
//! bytes), in both input forms (a list of messages, an NDJSON buffer). Invariants:
//! - no panic, no hang, and the call itself succeeds;
//! - every message is either a row or a reject with a code, in order;
//! - a rejected message leaves nothing in the batch (the accepted messages alone decode to the same batch);
//! - a message that is not JSON (by serde_json) is rejected, and on accepted rows every scalar top-level
//!   column equals serde_json's reading of the message (the reference decoder).

#![no_main]

use arbitrary::Unstructured;
use arrow_array::{Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use libfuzzer_sys::fuzz_target;
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
    Ok(match u.int_in_range(0..=9u8)? {
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
        7 if depth < 4 => Value::Array(
            (0..u.int_in_range(0..=3)?)
                .map(|_| value(u, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        _ if depth < 4 => object(u, depth + 1)?,
        _ => Value::from(u.arbitrary::<u8>()?),
    })
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

fn message(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let mut text = serde_json::to_vec(&object(u, 0)?).expect("serialisable");
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
    let schema =
        TableSchema::from_bigquery_json(&Value::Array(fields).to_string()).expect("generated schemas are valid");
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
        .map(|_| message(u))
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
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = check(&mut Unstructured::new(data));
});
