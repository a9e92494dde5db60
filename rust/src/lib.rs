//! streamlake_fast: the hot path of a streaming ingestion engine.
//!
//! A BigQuery table schema is compiled once into a [`decode::Codec`], which turns a whole batch of
//! JSON events into one Arrow `RecordBatch` plus a list of rejects (row, path, code, message).
//! The core is free of PyO3; the Python glue lives in [`python`] behind the `python` feature.

pub mod allocator;
pub mod aws;
pub mod bigquery;
pub mod bodies;
pub mod decode;
pub mod dictionary;
pub mod envelope;
pub mod error;
pub mod metadata;
pub mod packed;
pub mod publish;
pub mod pubsub;
pub mod push;
pub mod received;
pub mod route;
pub mod schema;
pub mod transform;

#[cfg(feature = "python")]
mod python;

/// Rust's allocations in the extension (the Arrow buffers above all) come from mimalloc, which keeps freed pages
/// mapped for the next batch. With the system allocator every batch's large buffers were fresh `mmap`s, and the page
/// faults cost 30-40% of the decode time on the logs shape (measured with `examples/decode_file.rs`); pyarrow's and
/// DuckDB's own memory pools keep their pages the same way. Off in `cargo test` and the fuzz targets, whose
/// sanitizers want the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use decode::{Codec, CodecOptions, DecodeOutput, Reject, UnknownFields};
pub use error::{RejectCode, SchemaError};
pub use schema::{FieldDef, FieldMode, FieldType, TableSchema};
