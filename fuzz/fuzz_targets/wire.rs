//! The readers of what arrives from outside besides events: Pub/Sub pull responses (protobuf), push envelopes
//! (JSON), HTTP bodies (arrays, NDJSON), and the transform's rewrite. Invariants: no panic, no hang; a body split
//! into events gives slices of the body; a transform's output of a well-formed object is well-formed JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamlake_fast::bodies::{body_events, BodyKind};
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
