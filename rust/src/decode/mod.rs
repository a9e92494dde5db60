//! The codec: a compiled schema that decodes whole batches of JSON messages into one Arrow `RecordBatch`,
//! keeping every valid row (in input order) and reporting every invalid one.

mod bits;
mod builders;
mod cursor;
mod fail;
mod json_value;
mod keys;
mod lemire;
mod nulls;
mod numbers;
mod params;
mod record;
mod syntax;
mod temporal;
#[cfg(test)]
mod test_rng;

use std::sync::Arc;

use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::SchemaRef;

use crate::error::RejectCode;
use crate::schema::TableSchema;
use builders::Node;
pub(crate) use cursor::Cursor;
use fail::render_path;
pub(crate) use json_value::{copy_value, enter, skip_value};
pub use keys::{top_level_keys, FieldReader, FieldText};
pub use temporal::{civil_from_days, parse_timestamp};

/// What to do with keys the schema does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownFields {
    Reject,
    Ignore,
}

/// Limits and policies of a codec.
#[derive(Debug, Clone)]
pub struct CodecOptions {
    pub unknown_fields: UnknownFields,
    /// Messages larger than this are rejected unread (Pub/Sub's own limit is 10 MB).
    pub max_message_bytes: usize,
    /// Maximum nesting of objects and arrays, counting the top-level object as 1.
    pub max_depth: usize,
    /// Leave the event's values out of reject messages (for events holding personal data).
    pub redact_values: bool,
}

/// The most `max_depth` may be: each level of nesting takes up to ~250 bytes of stack while a value is read
/// (measured), so 1,000 levels stay within 256 KiB, inside any thread's stack.
pub const MAX_DEPTH_LIMIT: usize = 1000;

/// `max_depth` checked: 1 to [`MAX_DEPTH_LIMIT`].
pub fn check_max_depth(max_depth: usize) -> Result<usize, String> {
    if (1..=MAX_DEPTH_LIMIT).contains(&max_depth) {
        Ok(max_depth)
    } else {
        Err(format!(
            "max_depth must be 1 to {MAX_DEPTH_LIMIT} (each level takes stack while a value is read), got {max_depth}"
        ))
    }
}

impl Default for CodecOptions {
    fn default() -> Self {
        CodecOptions {
            unknown_fields: UnknownFields::Reject,
            max_message_bytes: 10_000_000,
            max_depth: 500,
            redact_values: false,
        }
    }
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Position of the message in the input (for NDJSON: the 0-based line number).
    pub index: usize,
    pub code: RejectCode,
    /// Where in the event, e.g. `items[2].qty`; empty for the whole message.
    pub path: String,
    pub message: String,
}

/// The result of decoding one batch.
#[derive(Debug)]
pub struct DecodeOutput {
    /// The valid rows, in input order.
    pub batch: RecordBatch,
    pub rejects: Vec<Reject>,
}

/// Failures of a whole decode call (never caused by one bad row).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error(
        "the batch holds more than 2 GiB of string data or 2^31 items in one column (Arrow's i32 offsets); decode \
         it in smaller batches"
    )]
    BatchTooLarge,
}

/// Scratch state shared by the decoding functions for one call.
pub(crate) struct Ctx {
    pub ignore_unknown: bool,
    pub max_depth: usize,
    pub depth: usize,
    pub scratch: Vec<u8>,
    /// Keys of the JSON objects being copied that had escapes, decoded (a stack: each object's keys above its
    /// parents').
    pub keys: Vec<u8>,
    /// Each key of those objects: where it is (in the message when it has no escapes, else in `keys`).
    pub key_spans: Vec<json_value::KeySpan>,
    pub overflow: bool,
}

impl Ctx {
    pub fn new(ignore_unknown: bool, max_depth: usize) -> Ctx {
        Ctx {
            ignore_unknown,
            max_depth,
            depth: 0,
            scratch: Vec::with_capacity(256),
            keys: Vec::new(),
            key_spans: Vec::new(),
            overflow: false,
        }
    }
}

/// A compiled schema plus options; immutable, so one codec can serve many threads.
#[derive(Debug, Clone)]
pub struct Codec {
    schema: TableSchema,
    arrow_schema: SchemaRef,
    options: CodecOptions,
}

impl Codec {
    pub fn new(schema: TableSchema, options: CodecOptions) -> Codec {
        let arrow_schema = Arc::new(schema.to_arrow());
        Codec {
            schema,
            arrow_schema,
            options,
        }
    }

    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }

    pub fn arrow_schema(&self) -> SchemaRef {
        self.arrow_schema.clone()
    }

    pub fn options(&self) -> &CodecOptions {
        &self.options
    }

    /// Decode a batch of messages, one JSON object each.
    pub fn decode_messages<M: AsRef<[u8]>>(&self, messages: &[M]) -> Result<DecodeOutput, DecodeError> {
        let total_bytes = messages.iter().map(|m| m.as_ref().len()).sum();
        self.decode_iter(
            messages.len(),
            total_bytes,
            messages.iter().map(AsRef::as_ref).enumerate(),
        )
    }

    /// Decode newline-delimited JSON; blank lines are skipped, reject indexes are 0-based line numbers.
    pub fn decode_ndjson(&self, buf: &[u8]) -> Result<DecodeOutput, DecodeError> {
        let estimate = buf.len() / 256 + 1;
        self.decode_iter(estimate, buf.len(), ndjson_lines(buf))
    }

    /// `estimate` is a first guess of the number of rows; after a sample of rows the builders are sized from the
    /// bytes consumed so far against `total_bytes`.
    fn decode_iter<'m>(
        &self,
        estimate: usize,
        total_bytes: usize,
        messages: impl Iterator<Item = (usize, &'m [u8])>,
    ) -> Result<DecodeOutput, DecodeError> {
        let mut root = Node::root(&self.schema.fields, estimate);
        let mut ctx = Ctx::new(
            self.options.unknown_fields == UnknownFields::Ignore,
            self.options.max_depth,
        );
        let mut rows = 0usize;
        let mut rejects = Vec::new();
        let mut sized = false;
        let mut consumed = 0usize;
        for (index, msg) in messages {
            if !sized && rows == builders::SAMPLE_ROWS {
                sized = true;
                if total_bytes > 2 * consumed {
                    root.reserve_scaled(total_bytes as f64 / consumed as f64);
                }
            }
            consumed += msg.len() + 1;
            match self.decode_one(&mut root, msg, &mut ctx) {
                Ok(()) => rows += 1,
                Err(f) => {
                    root.truncate(rows);
                    if ctx.overflow {
                        return Err(DecodeError::BatchTooLarge);
                    }
                    rejects.push(Reject {
                        index,
                        code: f.code,
                        path: render_path(&f.rev_path),
                        message: if self.options.redact_values {
                            fail::redact(&f.message)
                        } else {
                            f.message
                        },
                    });
                }
            }
        }
        let array = root.finish();
        let st = array
            .as_any()
            .downcast_ref::<StructArray>()
            .expect("root is a struct")
            .clone();
        let (_, columns, _) = st.into_parts();
        let batch = RecordBatch::try_new(self.arrow_schema.clone(), columns).expect("columns match the schema");
        Ok(DecodeOutput { batch, rejects })
    }

    fn decode_one(&self, root: &mut Node, msg: &[u8], ctx: &mut Ctx) -> fail::Res<()> {
        if msg.len() > self.options.max_message_bytes {
            return fail::err(
                RejectCode::MessageTooLarge,
                format!(
                    "message of {} bytes exceeds max_message_bytes={}",
                    msg.len(),
                    self.options.max_message_bytes
                ),
            );
        }
        if simdutf8::basic::from_utf8(msg).is_err() {
            let at = simdutf8::compat::from_utf8(msg).err().map_or(0, |e| e.valid_up_to());
            return fail::err(RejectCode::InvalidUtf8, format!("invalid UTF-8 at byte {at}"));
        }
        let mut cur = Cursor::new(msg);
        // The first problem in document order, except that a malformed message is invalid_json wherever its syntax
        // error lies (the rest of a refused row is not read, so it is checked here, on refused rows only).
        record::decode_row(root, &mut cur, ctx).map_err(|f| {
            if f.code == RejectCode::InvalidJson || ctx.overflow {
                return f;
            }
            syntax::syntax_error(msg).unwrap_or(f)
        })
    }
}

/// The non-blank lines of an NDJSON buffer with their 0-based line numbers (a trailing '\r' is dropped).
pub fn ndjson_lines(buf: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', buf).chain(std::iter::once(buf.len()));
    let mut line_no = 0usize;
    std::iter::from_fn(move || loop {
        let end = ends.next()?;
        if start > buf.len() {
            return None;
        }
        let line = &buf[start..end];
        let this = line_no;
        start = end + 1;
        line_no += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            return Some((this, line));
        }
    })
}

#[cfg(test)]
mod tests;
