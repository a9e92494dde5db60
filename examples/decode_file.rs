//! Decode an NDJSON file with a BigQuery schema file, repeatedly, and print the time per event.
//! Usage: cargo run --release --features mimalloc --example decode_file -- SCHEMA.json EVENTS.ndjson [ROUNDS] [list|ndjson]
//! (`--features mimalloc`: the allocator the Python extension uses; without it, fresh pages every round).
//! (`list`, the default, decodes the lines as a list of messages; `ndjson` decodes the buffer as it is).

use std::time::Instant;

use streamlake_fast::{Codec, CodecOptions, TableSchema};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let schema = TableSchema::from_bigquery_json(&std::fs::read_to_string(&args[1]).expect("schema")).expect("valid");
    let data = std::fs::read(&args[2]).expect("events");
    let rounds: usize = args.get(3).map_or(5, |r| r.parse().expect("rounds"));
    let ndjson = args.get(4).is_some_and(|form| form == "ndjson");
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let codec = Codec::new(schema, CodecOptions::default());
    for _ in 0..rounds {
        let t = Instant::now();
        let out = if ndjson {
            codec.decode_ndjson(&data)
        } else {
            codec.decode_messages(&lines)
        }
        .expect("decode");
        let dt = t.elapsed();
        println!(
            "{} rows, {} rejects, {:.3} µs/event",
            out.batch.num_rows(),
            out.rejects.len(),
            dt.as_secs_f64() * 1e6 / lines.len() as f64
        );
    }
}
