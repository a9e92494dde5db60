//! The readers of what arrives from outside besides events: Pub/Sub pull responses (protobuf), push envelopes
//! (JSON), HTTP bodies (arrays, NDJSON), zstd envelopes (raw and base64, with their limits), and the transform's
//! rewrite. Invariants: no panic, no hang; a body split into events gives slices of the body; an opened envelope's
//! events lie within its buffer and within the limits; a transform's output of a well-formed object is well-formed
//! JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamlake_fast::bodies::{body_events, BodyKind};
use streamlake_fast::envelope::{contents, open, Limits, Row};
use streamlake_fast::packed::{pack, MessageParts};
use streamlake_fast::received::Received;
use streamlake_fast::transform::{Derived, Transform, TransformSpec};

fuzz_target!(|data: &[u8]| {
    let _ = streamlake_fast::pubsub::parse_pull_response(data);
    let _ = streamlake_fast::pubsub::publish_response_ids(data);
    let _ = streamlake_fast::push::parse_push(data);
    for kind in [BodyKind::Json, BodyKind::Ndjson] {
        if let Ok(found) = body_events(data, kind, 1000) {
            assert!(
                found.events.len() <= 1000 && found.events.len() <= found.total,
                "at most `keep` kept"
            );
            for (_, e) in found.events {
                let start = e.as_ptr() as usize - data.as_ptr() as usize;
                assert!(start + e.len() <= data.len(), "an event is a slice of the body");
            }
        }
    }
    let zstd: (&[u8], &[u8]) = (b"content-encoding", b"zstd");
    let parts = [
        MessageParts {
            data,
            attributes: vec![zstd],
            message_id: b"1",
            publish_time_us: 0,
            ordering_key: b"",
        },
        MessageParts {
            data,
            attributes: vec![zstd, (b"content-transfer-encoding", b"base64"), (b"event-count", b"2")],
            message_id: b"2",
            publish_time_us: 0,
            ordering_key: b"",
        },
    ];
    let (buf, spans) = pack(&parts);
    let received: Vec<Received<'_>> = spans.iter().map(|m| (&buf[..], m)).collect();
    let _ = contents(&received);
    let limits = Limits {
        max_bytes: 1 << 20,
        max_events: 1000,
    };
    let opened = open(&received, limits).expect("envelopes are there to open");
    let mut events = vec![0usize; opened.buffers.len()];
    for row in &opened.rows {
        if let Row::Event(b, m) = row {
            assert!(
                (m.data.1 as usize) <= opened.buffers[*b].len() && m.data.0 <= m.data.1,
                "within its buffer"
            );
            events[*b] += 1;
        }
    }
    assert!(events.iter().all(|&n| n <= limits.max_events), "within the event limit");
    let spec: TransformSpec = serde_json::from_str(
        r#"{"rename": {"a": "b"}, "drop": ["c", "d.e"], "defaults": {"f": 1}, "hash": ["g"], "redact": ["h.i"]}"#,
    )
    .expect("a valid spec");
    let t = Transform::compile(&spec).expect("compiles");
    let derived = Derived {
        event_id_prefix: Some("p"),
        ingest_time: Some("2026-11-27T00:00:00Z"),
    };
    let mut seq = 0;
    let out = t.apply(data, derived, &mut seq, 64);
    if let Ok(serde_json::Value::Object(input)) = serde_json::from_slice::<serde_json::Value>(data) {
        let keys_unique = !input.contains_key("b"); // a rename onto an existing key makes a duplicate, by design
        if keys_unique {
            let output: serde_json::Value = serde_json::from_slice(&out).expect("the rewrite of an object is JSON");
            assert!(output.is_object());
        }
    }
});
