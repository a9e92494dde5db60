//! The message metadata columns — the one definition of their names and types, used for the rows a sink
//! receives (filled in the same call that decodes the events) and for dead-letter records.
//!
//! Names and types follow what Pub/Sub's BigQuery subscriptions write: `subscription_name`, `message_id`,
//! `publish_time`, `attributes` (a JSON object of strings, as text).

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, TimeUnit};

use crate::decode::DecodeError;

/// One metadata column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaColumn {
    /// Where the message came from (a Pub/Sub subscription, a queue URL, ...).
    SubscriptionName,
    MessageId,
    PublishTime,
    /// The message attributes as a JSON object of strings.
    Attributes,
    /// The event's line in its envelope ([`crate::envelope`]); 0 for a plain message (an envelope of one).
    EventIndex,
}

impl MetaColumn {
    pub const ALL: [MetaColumn; 5] = [
        MetaColumn::SubscriptionName,
        MetaColumn::MessageId,
        MetaColumn::PublishTime,
        MetaColumn::Attributes,
        MetaColumn::EventIndex,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MetaColumn::SubscriptionName => "subscription_name",
            MetaColumn::MessageId => "message_id",
            MetaColumn::PublishTime => "publish_time",
            MetaColumn::Attributes => "attributes",
            MetaColumn::EventIndex => "event_index",
        }
    }

    pub fn from_name(name: &str) -> Option<MetaColumn> {
        MetaColumn::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The column as Arrow sees it (never null: every message has each of them).
    pub fn field(self) -> Field {
        let ty = match self {
            MetaColumn::PublishTime => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            MetaColumn::EventIndex => DataType::Int64,
            _ => DataType::Utf8,
        };
        Field::new(self.name(), ty, false)
    }

    /// The BigQuery column types a table may declare for it (the first is the one to create).
    pub fn bigquery_types(self) -> &'static [&'static str] {
        match self {
            MetaColumn::PublishTime => &["TIMESTAMP"],
            MetaColumn::Attributes => &["STRING", "JSON"],
            MetaColumn::EventIndex => &["INTEGER", "INT64"],
            _ => &["STRING"],
        }
    }
}

/// What the metadata columns need of one message. `attributes` are `(key, value)` pairs.
pub struct MessageMeta<'a> {
    pub message_id: &'a [u8],
    pub publish_time_us: i64,
    pub attributes: Vec<(&'a [u8], &'a [u8])>,
    pub event_index: u32,
}

/// String columns hold at most this many bytes (Arrow's 32-bit offsets).
const MAX_COLUMN_BYTES: usize = i32::MAX as usize;

/// Arrays for `columns`, one row per message of `rows`; `BatchTooLarge` when a string column would pass 2 GiB.
pub fn metadata_arrays<'a>(
    columns: &[MetaColumn],
    source: &str,
    rows: impl ExactSizeIterator<Item = MessageMeta<'a>>,
) -> Result<Vec<ArrayRef>, DecodeError> {
    let n = rows.len();
    let rows: Vec<MessageMeta<'a>> = rows.collect();
    // Worst case of each string column: JSON escaping at most sextuples a byte (\u00XX), plus quotes and commas.
    let attr_bytes: usize = rows
        .iter()
        .map(|m| {
            2 + m
                .attributes
                .iter()
                .map(|(k, v)| 6 * (k.len() + v.len()) + 6)
                .sum::<usize>()
        })
        .sum();
    let id_bytes: usize = rows.iter().map(|m| 3 * m.message_id.len()).sum();
    if attr_bytes.max(id_bytes).max(n * source.len()) > MAX_COLUMN_BYTES {
        return Err(DecodeError::BatchTooLarge);
    }
    let want = |c: MetaColumn| columns.contains(&c);
    let mut sub = StringBuilder::with_capacity(n, n * source.len());
    let mut ids = StringBuilder::with_capacity(n, n * 20);
    let mut times = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut attrs = StringBuilder::with_capacity(n, n * 2);
    let mut lines = Int64Builder::with_capacity(n);
    for m in &rows {
        if want(MetaColumn::SubscriptionName) {
            sub.append_value(source);
        }
        if want(MetaColumn::MessageId) {
            ids.append_value(String::from_utf8_lossy(m.message_id));
        }
        if want(MetaColumn::PublishTime) {
            times.append_value(m.publish_time_us);
        }
        if want(MetaColumn::Attributes) {
            attrs.append_value(attributes_json(&m.attributes));
        }
        if want(MetaColumn::EventIndex) {
            lines.append_value(i64::from(m.event_index));
        }
    }
    Ok(columns
        .iter()
        .map(|c| -> ArrayRef {
            match c {
                MetaColumn::SubscriptionName => Arc::new(sub.finish()),
                MetaColumn::MessageId => Arc::new(ids.finish()),
                MetaColumn::PublishTime => Arc::new(times.finish()),
                MetaColumn::Attributes => Arc::new(attrs.finish()),
                MetaColumn::EventIndex => Arc::new(lines.finish()),
            }
        })
        .collect())
}

/// Attributes as a JSON object of strings (`{}` when there are none); invalid UTF-8 is replaced.
pub fn attributes_json(attributes: &[(&[u8], &[u8])]) -> String {
    if attributes.is_empty() {
        return "{}".to_owned();
    }
    let map: serde_json::Map<String, serde_json::Value> = attributes
        .iter()
        .map(|&(k, v)| {
            let value = String::from_utf8_lossy(v).into_owned();
            (
                String::from_utf8_lossy(k).into_owned(),
                serde_json::Value::String(value),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, StringArray, TimestampMicrosecondArray};

    #[test]
    fn names_round_trip_and_are_unique() {
        for c in MetaColumn::ALL {
            assert_eq!(MetaColumn::from_name(c.name()), Some(c));
        }
        assert_eq!(MetaColumn::from_name("data"), None);
    }

    #[test]
    fn builds_the_requested_columns_in_order() {
        let rows = vec![
            MessageMeta {
                message_id: b"7",
                publish_time_us: 1_000_000,
                attributes: vec![(b"k", b"v\"")],
                event_index: 0,
            },
            MessageMeta {
                message_id: b"8",
                publish_time_us: 2,
                attributes: vec![],
                event_index: 3,
            },
        ];
        let cols = [MetaColumn::Attributes, MetaColumn::MessageId, MetaColumn::PublishTime];
        let arrays = metadata_arrays(&cols, "projects/p/subscriptions/s", rows.into_iter()).unwrap();
        let attrs = arrays[0].as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(attrs.value(0), r#"{"k":"v\""}"#);
        assert_eq!(attrs.value(1), "{}");
        let ids = arrays[1].as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((ids.value(0), ids.value(1)), ("7", "8"));
        let times = arrays[2].as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        assert_eq!(times.value(0), 1_000_000);
        assert_eq!(arrays[2].data_type(), MetaColumn::PublishTime.field().data_type());
    }
}
