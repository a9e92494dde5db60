//! End-to-end tests of the codec on small batches.

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, TimestampMicrosecondType};
use arrow_array::Array;

use super::*;

fn codec(schema: &str, unknown: UnknownFields) -> Codec {
    let schema = TableSchema::from_bigquery_json(schema).unwrap();
    Codec::new(
        schema,
        CodecOptions {
            unknown_fields: unknown,
            ..CodecOptions::default()
        },
    )
}

const RECEIPT: &str = r#"[
  {"name":"id","type":"STRING","mode":"REQUIRED"},
  {"name":"ts","type":"TIMESTAMP"},
  {"name":"n","type":"INT64"},
  {"name":"total","type":"NUMERIC"},
  {"name":"items","type":"RECORD","mode":"REPEATED","fields":[
     {"name":"sku","type":"STRING","mode":"REQUIRED"},{"name":"qty","type":"INT64","mode":"REQUIRED"}]},
  {"name":"meta","type":"JSON"}
]"#;

fn rejects(out: &DecodeOutput) -> Vec<(usize, &'static str, &str)> {
    out.rejects
        .iter()
        .map(|r| (r.index, r.code.slug(), r.path.as_str()))
        .collect()
}

#[test]
fn decodes_valid_rows_and_keeps_order() {
    let c = codec(RECEIPT, UnknownFields::Reject);
    let msgs = [
        r#"{"id":"a","ts":"1970-01-01T00:00:01Z","n":"7","total":1.25,"items":[{"sku":"x","qty":2}],"meta":{"k": [1, true]}}"#,
        r#"{"id":"b"}"#,
    ];
    let out = c.decode_messages(&msgs).unwrap();
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    let b = &out.batch;
    assert_eq!(b.num_rows(), 2);
    assert_eq!(b.column(0).as_string::<i32>().value(1), "b");
    assert_eq!(
        b.column(1).as_primitive::<TimestampMicrosecondType>().value(0),
        1_000_000
    );
    assert!(b.column(1).is_null(1));
    assert_eq!(b.column(2).as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(b.column(3).as_primitive::<Decimal128Type>().value(0), 1_250_000_000);
    let items = b.column(4).as_list::<i32>();
    assert_eq!(items.value_length(0), 1);
    assert_eq!(items.value_length(1), 0);
    assert_eq!(b.column(5).as_string::<i32>().value(0), r#"{"k":[1,true]}"#);
}

#[test]
fn bad_rows_leave_no_trace() {
    let c = codec(RECEIPT, UnknownFields::Reject);
    let msgs = [
        r#"{"id":"a","items":[{"sku":"x","qty":1},{"sku":"y","qty":"z"}]}"#,
        r#"{"id":"b","items":[{"sku":"ok","qty":3}]}"#,
        r#"{"id":"c","extra":1}"#,
        r#"{"id":"d","id":"e"}"#,
        r#"[1]"#,
        r#"{"id":"f""#,
        r#"{"n":1}"#,
        r#"{"id":"g","items":[null]}"#,
    ];
    let out = c.decode_messages(&msgs).unwrap();
    assert_eq!(
        rejects(&out),
        vec![
            (0, "invalid_value", "items[1].qty"),
            (2, "unknown_field", "extra"),
            (3, "duplicate_key", "id"),
            (4, "not_an_object", ""),
            (5, "invalid_json", ""),
            (6, "missing_required", "id"),
            (7, "null_element", "items[0]"),
        ]
    );
    let b = &out.batch;
    assert_eq!(b.num_rows(), 1);
    assert_eq!(b.column(0).as_string::<i32>().value(0), "b");
    let items = b.column(4).as_list::<i32>();
    let first = items.value(0);
    let sku = first.as_struct().column(0).as_string::<i32>();
    assert_eq!(sku.value(0), "ok");
    assert_eq!(items.values().len(), 1);
}

#[test]
fn ignore_unknown_fields_still_validates_them() {
    let c = codec(RECEIPT, UnknownFields::Ignore);
    let msgs = [
        r#"{"id":"a","x":{"y":[1,2]}}"#,
        r#"{"id":"b","x":[1,}"#,
        r#"{"id":"c","x":1,"x":2}"#,
    ];
    let out = c.decode_messages(&msgs).unwrap();
    assert_eq!(out.batch.num_rows(), 1);
    assert_eq!(
        rejects(&out),
        vec![(1, "invalid_json", "x[1]"), (2, "duplicate_key", "x")]
    );
}

#[test]
fn many_ignored_keys_are_checked_for_duplicates_in_one_pass() {
    let c = codec(RECEIPT, UnknownFields::Ignore);
    let keys: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\":{i}")).collect();
    let clean = format!("{{\"id\":\"a\",{}}}", keys.join(","));
    let dup = format!("{{\"id\":\"b\",{},\"k49999\":0}}", keys.join(","));
    let out = c.decode_messages(&[clean.as_str(), dup.as_str()]).unwrap();
    assert_eq!(out.batch.num_rows(), 1);
    assert_eq!(rejects(&out), vec![(1, "duplicate_key", "k49999")]);
}

#[test]
fn ndjson_skips_blank_lines_and_reports_line_numbers() {
    let c = codec(RECEIPT, UnknownFields::Reject);
    let out = c
        .decode_ndjson(b"{\"id\":\"a\"}\r\n\n{\"id\":1}\n{\"id\":\"c\"}")
        .unwrap();
    assert_eq!(out.batch.num_rows(), 2);
    assert_eq!(rejects(&out), vec![(2, "type_mismatch", "id")]);
}

#[test]
fn limits() {
    let schema = TableSchema::from_bigquery_json(r#"[{"name":"j","type":"JSON"}]"#).unwrap();
    let c = Codec::new(
        schema,
        CodecOptions {
            max_message_bytes: 30,
            max_depth: 3,
            unknown_fields: UnknownFields::Reject,
            redact_values: false,
        },
    );
    let deep = r#"{"j":[[[1]]]}"#;
    let ok = r#"{"j":[[1]]}"#;
    let big = format!(r#"{{"j":"{}"}}"#, "x".repeat(40));
    let bad_utf8: &[u8] = b"{\"j\":\"\xff\"}";
    let msgs: Vec<&[u8]> = vec![deep.as_bytes(), ok.as_bytes(), big.as_bytes(), bad_utf8];
    let out = c.decode_messages(&msgs).unwrap();
    assert_eq!(out.batch.num_rows(), 1);
    assert_eq!(
        rejects(&out),
        vec![
            (0, "too_deep", "j[0][0]"),
            (2, "message_too_large", ""),
            (3, "invalid_utf8", "")
        ]
    );
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    let schema = TableSchema::from_bigquery_json(r#"[{"name":"j","type":"JSON"}]"#).unwrap();
    let c = Codec::new(schema, CodecOptions::default());
    let deep = format!(r#"{{"j":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    let unclosed = format!(r#"{{"j":{}}}"#, "[".repeat(100_000));
    let out = c.decode_messages(&[deep, unclosed]).unwrap();
    assert_eq!(out.rejects[0].code, RejectCode::TooDeep);
    assert_eq!(out.rejects[1].code, RejectCode::InvalidJson, "malformed, however deep");
}

#[test]
fn a_malformed_message_is_invalid_json_wherever_its_syntax_error_lies() {
    let schema = TableSchema::from_bigquery_json(r#"[{"name":"i","type":"INT64"},{"name":"o","type":"JSON"}]"#);
    let c = Codec::new(schema.unwrap(), CodecOptions::default());
    let msgs: [&[u8]; 5] = [
        br#"{"i":"bad", "x":"#,
        br#"{"x":1, "i": }"#,
        br#"{"o":{"a":1,"a":2}, "i": 1,}"#,
        br#"{"i":"bad", "x": 1}"#,
        br#"{"x":1, "i":"bad"}"#,
    ];
    let out = c.decode_messages(&msgs).unwrap();
    let got: Vec<_> = out.rejects.iter().map(|r| (r.code, r.path.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (RejectCode::InvalidJson, ""),
            (RejectCode::InvalidJson, ""),
            (RejectCode::InvalidJson, ""),
            (RejectCode::InvalidValue, "i"), // well-formed: the first problem in document order
            (RejectCode::UnknownField, "x"),
        ]
    );
}

#[test]
fn ndjson_line_splitting() {
    let lines: Vec<_> = ndjson_lines(b"a\n\nb\r\n  \nc").collect();
    assert_eq!(lines, vec![(0, &b"a"[..]), (2, &b"b"[..]), (4, &b"c"[..])]);
    assert_eq!(ndjson_lines(b"a\n").collect::<Vec<_>>(), vec![(0, &b"a"[..])]);
    assert_eq!(ndjson_lines(b"").count(), 0);
}

#[test]
fn keys_match_in_any_order_and_spelling() {
    let c = codec(
        r#"[{"name":"a","type":"INT64"},{"name":"b","type":"INT64"},{"name":"c","type":"INT64"},
            {"name":"q\"uote","type":"INT64"}]"#,
        UnknownFields::Reject,
    );
    let msgs = [
        r#"{"a":1,"b":2,"c":3}"#,
        r#"{"c":3,"b":2,"a":1}"#,
        r#"{"\u0061":1,"b":2}"#,
        r#"{"a":1,"c":3}"#,
        r#"{"b":2,"a":1,"b":3}"#,
        r#"{"a":1,"\u0061":2}"#,
        r#"{"ab":1}"#,
        r#"{"a":1,"b":2,"c":3,"q\"uote":4}"#,
        r#"{"q\u0022uote":5}"#,
        "{ \"a\" :1 ,\"b\"\t:\n2,\"c\": 3 }",
        r#"{"a" :1,"a":2}"#,
        r#"{"b":1 "c":2}"#,
    ];
    let out = c.decode_messages(&msgs).unwrap();
    assert_eq!(
        rejects(&out),
        vec![
            (4, "duplicate_key", "b"),
            (5, "duplicate_key", "a"),
            (6, "unknown_field", "ab"),
            (10, "duplicate_key", "a"),
            (11, "invalid_json", "")
        ]
    );
    let col = |i: usize| {
        let a = out.batch.column(i).as_primitive::<Int64Type>();
        (0..a.len())
            .map(|r| a.is_valid(r).then(|| a.value(r)))
            .collect::<Vec<_>>()
    };
    assert_eq!(col(0), vec![Some(1), Some(1), Some(1), Some(1), Some(1), None, Some(1)]);
    assert_eq!(col(1), vec![Some(2), Some(2), Some(2), None, Some(2), None, Some(2)]);
    assert_eq!(col(2), vec![Some(3), Some(3), None, Some(3), Some(3), None, Some(3)]);
    assert_eq!(col(3), vec![None, None, None, None, Some(4), Some(5), None]);
}

#[test]
fn json_column_duplicates_are_found_at_any_depth_and_size() {
    let c = codec(r#"[{"name":"j","type":"JSON"}]"#, UnknownFields::Reject);
    let wide: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    let wide_dup = format!(r#"{{"j":{{{},"k39":0,"k3":1}}}}"#, wide.join(","));
    let wide_ok = format!(r#"{{"j":{{{}}}}}"#, wide.join(","));
    let msgs = [
        r#"{"j":{"a":{"b":1,"c":2},"b":{"b":1}}}"#,
        r#"{"j":{"a":{"b":1,"b":2}}}"#,
        wide_dup.as_str(),
        r#"{"j":{"x":{"y":[1,}]}}"#,
        r#"{"j":[{"x":1},{"x":2}]}"#,
        wide_ok.as_str(),
        r#"{"j":{"\u0078":1,"x":2}}"#,
    ];
    let out = c.decode_messages(&msgs).unwrap();
    assert_eq!(
        rejects(&out),
        vec![
            (1, "duplicate_key", "j.a.b"),
            (2, "duplicate_key", "j.k39"),
            (3, "invalid_json", "j.x.y[1]"),
            (6, "duplicate_key", "j.x"),
        ]
    );
    let j = out.batch.column(0).as_string::<i32>();
    assert_eq!(j.value(0), r#"{"a":{"b":1,"c":2},"b":{"b":1}}"#);
    assert_eq!(j.value(1), r#"[{"x":1},{"x":2}]"#);
    assert_eq!(j.len(), 3);
}

#[test]
fn ndjson_with_one_bad_utf8_line_rejects_that_line_only() {
    let c = codec(r#"[{"name":"s","type":"STRING"}]"#, UnknownFields::Reject);
    let buf = b"{\"s\":\"caf\xc3\xa9\"}\n{\"s\":\"\xff\"}\n{\"s\":\"ok\"}\n";
    let out = c.decode_ndjson(buf).unwrap();
    assert_eq!(out.batch.num_rows(), 2);
    assert_eq!(rejects(&out), vec![(1, "invalid_utf8", "")]);
    let strings = out.batch.column(0).as_string::<i32>();
    assert_eq!((strings.value(0), strings.value(1)), ("café", "ok"));
}
