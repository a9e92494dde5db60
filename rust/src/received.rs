//! Received messages as spans into the buffers they arrived in: decoded with their metadata columns in one
//! pass, and turned into dead-letter records — no copy of a message, no object per message.

use std::sync::Arc;

use arrow_array::{BinaryArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use crate::decode::{Codec, DecodeError, DecodeOutput, Reject};
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
        event_index: m.event_index,
    }
}

/// Pub/Sub's billed size of one message: data, attribute keys and values, 20 bytes of timestamp, the message id.
pub fn billed_bytes(m: &MessageSpans) -> usize {
    let len = |s: Span| (s.1 - s.0) as usize;
    let attributes: usize = m.attributes.iter().map(|&(k, v)| len(k) + len(v)).sum();
    crate::pubsub::billed_message_bytes(len(m.data), attributes, len(m.message_id))
}

/// Decode every message's data; the valid rows get `columns` appended, filled from their messages.
pub fn decode_with_metadata(
    codec: &Codec,
    messages: &[Received<'_>],
    columns: &[MetaColumn],
    source: &str,
) -> Result<DecodeOutput, DecodeError> {
    let mut out = decode_unrefused(codec, messages)?;
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

/// Decode the data of every message but those refused unread (envelopes that cannot be opened), which are
/// rejects with their reason.
fn decode_unrefused(codec: &Codec, messages: &[Received<'_>]) -> Result<DecodeOutput, DecodeError> {
    if messages.iter().all(|(_, m)| m.refused.is_none()) {
        let data: Vec<&[u8]> = messages.iter().map(|&(buf, m)| slice(buf, m.data)).collect();
        return codec.decode_messages(&data);
    }
    let (read, data): (Vec<usize>, Vec<&[u8]>) = messages
        .iter()
        .enumerate()
        .filter(|(_, (_, m))| m.refused.is_none())
        .map(|(i, &(buf, m))| (i, slice(buf, m.data)))
        .unzip();
    let mut out = codec.decode_messages(&data)?;
    for r in &mut out.rejects {
        r.index = read[r.index];
    }
    out.rejects
        .extend(messages.iter().enumerate().filter_map(|(i, (_, m))| {
            m.refused.as_ref().map(|why| Reject {
                index: i,
                code: why.code,
                path: String::new(),
                message: why.message.clone(),
            })
        }));
    out.rejects.sort_by_key(|r| r.index);
    Ok(out)
}

/// Why one message is a dead letter: its index among the messages, and the reject's code, path and words.
pub struct Reason<'a> {
    pub index: usize,
    pub code: &'a str,
    pub path: &'a str,
    pub message: &'a str,
}

/// The columns a dead-letter record adds to the rejected message's own (metadata and `data`).
pub const REASON_FIELDS: [&str; 5] = ["reason_code", "path", "message", "schema_fingerprint", "rejected_at"];

/// The dead-letter records of `reasons` (each index less than `messages.len()`), the one record shape of every
/// dead-letter destination: every metadata column, `data` (the raw bytes), then [`REASON_FIELDS`]:
/// the reject, the schema checked against and when (microseconds since the epoch, UTC).
pub fn dead_letter_records(
    messages: &[Received<'_>],
    reasons: &[Reason<'_>],
    source: &str,
    schema_fingerprint: &str,
    rejected_at_us: i64,
) -> Result<RecordBatch, DecodeError> {
    let picked: Vec<Received<'_>> = reasons.iter().map(|r| messages[r.index]).collect();
    let mut arrays = metadata_arrays(&MetaColumn::ALL, source, picked.iter().map(|&m| meta(m)))?;
    let data: BinaryArray = picked.iter().map(|&(buf, m)| Some(slice(buf, m.data))).collect();
    arrays.push(Arc::new(data));
    arrays.push(Arc::new(StringArray::from_iter_values(reasons.iter().map(|r| r.code))));
    arrays.push(Arc::new(StringArray::from_iter_values(reasons.iter().map(|r| r.path))));
    arrays.push(Arc::new(StringArray::from_iter_values(
        reasons.iter().map(|r| r.message),
    )));
    let n = reasons.len();
    arrays.push(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
        schema_fingerprint,
        n,
    ))));
    arrays.push(Arc::new(
        TimestampMicrosecondArray::from(vec![rejected_at_us; n]).with_timezone("UTC"),
    ));
    let mut fields: Vec<Field> = MetaColumn::ALL.iter().map(|c| c.field()).collect();
    fields.push(Field::new("data", DataType::Binary, false));
    fields.extend(
        REASON_FIELDS[..4]
            .iter()
            .map(|name| Field::new(*name, DataType::Utf8, false)),
    );
    let at = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    fields.push(Field::new(REASON_FIELDS[4], at, false));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("one row per reason"))
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
        let reason = Reason {
            index: 1,
            code: "invalid_value",
            path: "a",
            message: "expected an INT64",
        };
        let dead = dead_letter_records(&msgs, &[reason], "sub", "fp", 1_796_551_200_000_001).unwrap();
        assert_eq!(dead.num_rows(), 1);
        let text = |name: &str| {
            dead.column_by_name(name)
                .unwrap()
                .as_string::<i32>()
                .value(0)
                .to_owned()
        };
        assert_eq!(
            dead.column_by_name("data").unwrap().as_binary::<i32>().value(0),
            b"{\"a\":\"x\"}"
        );
        assert_eq!(text("message_id"), "11");
        assert_eq!(text("subscription_name"), "sub");
        assert_eq!(
            [
                text("reason_code"),
                text("path"),
                text("message"),
                text("schema_fingerprint")
            ],
            ["invalid_value", "a", "expected an INT64", "fp"]
        );
        let at = dead.column_by_name("rejected_at").unwrap();
        assert_eq!(
            at.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            at.as_primitive::<arrow_array::types::TimestampMicrosecondType>()
                .value(0),
            1_796_551_200_000_001
        );
        let names: Vec<_> = dead.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(
            names[names.len() - 6..],
            [
                "data",
                "reason_code",
                "path",
                "message",
                "schema_fingerprint",
                "rejected_at"
            ]
        );
        assert!(dead.schema().fields().iter().all(|f| !f.is_nullable()));
    }
}
