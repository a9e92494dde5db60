//! Received messages as spans into the buffers they arrived in: decoded with their metadata columns in one
//! pass, and turned into dead-letter records — no copy of a message, no object per message.

use std::sync::Arc;

use arrow_array::builder::BinaryBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use crate::decode::{Codec, DecodeError, DecodeOutput};
use crate::metadata::{metadata_arrays, MessageMeta, MetaColumn};
use crate::pubsub::{MessageSpans, Span};

/// One message: the buffer it lives in and its spans there.
pub type Received<'a> = (&'a [u8], &'a MessageSpans);

pub fn slice(buf: &[u8], span: Span) -> &[u8] {
    &buf[span.0 as usize..span.1 as usize]
}

fn meta<'a>((buf, m): Received<'a>) -> MessageMeta<'a> {
    MessageMeta {
        message_id: slice(buf, m.message_id),
        publish_time_us: m.publish_time_us,
        attributes: m
            .attributes
            .iter()
            .map(|&(k, v)| (slice(buf, k), slice(buf, v)))
            .collect(),
    }
}

/// Decode every message's data; the valid rows get `columns` appended, filled from their messages.
pub fn decode_with_metadata(
    codec: &Codec,
    messages: &[Received<'_>],
    columns: &[MetaColumn],
    source: &str,
) -> Result<DecodeOutput, DecodeError> {
    let data: Vec<&[u8]> = messages.iter().map(|&(buf, m)| slice(buf, m.data)).collect();
    let mut out = codec.decode_messages(&data)?;
    if columns.is_empty() {
        return Ok(out);
    }
    let mut rejected = out.rejects.iter().map(|r| r.index).peekable();
    let accepted = messages.iter().enumerate().filter_map(|(i, &m)| {
        if rejected.peek() == Some(&i) {
            rejected.next();
            return None;
        }
        Some(meta(m))
    });
    let accepted: Vec<MessageMeta<'_>> = accepted.collect();
    let extra = metadata_arrays(columns, source, accepted.into_iter())?;
    let schema = out.batch.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(columns.iter().map(|c| c.field()));
    let mut arrays = out.batch.columns().to_vec();
    arrays.extend(extra);
    out.batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("one row per accepted message");
    Ok(out)
}

/// The dead-letter view of the messages at `indices` (each less than `messages.len()`): every metadata column,
/// then `data` (the raw bytes).
pub fn records(messages: &[Received<'_>], indices: &[usize], source: &str) -> Result<RecordBatch, DecodeError> {
    let picked: Vec<Received<'_>> = indices.iter().map(|&i| messages[i]).collect();
    let mut arrays = metadata_arrays(&MetaColumn::ALL, source, picked.iter().map(|&m| meta(m)))?;
    let mut data = BinaryBuilder::with_capacity(picked.len(), 0);
    for &(buf, m) in &picked {
        data.append_value(slice(buf, m.data));
    }
    arrays.push(Arc::new(data.finish()) as ArrayRef);
    let mut fields: Vec<Field> = MetaColumn::ALL.iter().map(|c| c.field()).collect();
    fields.push(Field::new("data", DataType::Binary, false));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("one row per picked message"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::CodecOptions;
    use crate::pubsub::{parse_pull_response, pull_response};
    use crate::schema::TableSchema;
    use arrow_array::cast::AsArray;

    #[test]
    fn metadata_follows_the_accepted_rows() {
        let schema = TableSchema::from_bigquery_json(r#"[{"name":"a","type":"INT64","mode":"REQUIRED"}]"#).unwrap();
        let codec = Codec::new(schema, CodecOptions::default());
        let buf = pull_response(&[&b"{\"a\":1}"[..], b"{\"a\":\"x\"}", b"{\"a\":3}"], 10, 5);
        let spans = parse_pull_response(&buf).unwrap();
        let msgs: Vec<Received<'_>> = spans.iter().map(|s| (&buf[..], s)).collect();
        let cols = [MetaColumn::MessageId, MetaColumn::SubscriptionName];
        let out = decode_with_metadata(&codec, &msgs, &cols, "sub").unwrap();
        assert_eq!(out.rejects.len(), 1);
        let b = &out.batch;
        assert_eq!(b.schema().fields().len(), 3);
        let ids = b.column_by_name("message_id").unwrap().as_string::<i32>();
        assert_eq!((ids.value(0), ids.value(1)), ("10", "12"));
        let dead = records(&msgs, &[1], "sub").unwrap();
        assert_eq!(dead.num_rows(), 1);
        assert_eq!(
            dead.column_by_name("data").unwrap().as_binary::<i32>().value(0),
            b"{\"a\":\"x\"}"
        );
        assert_eq!(
            dead.column_by_name("message_id").unwrap().as_string::<i32>().value(0),
            "11"
        );
    }
}
