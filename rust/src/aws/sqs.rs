//! SQS's JSON protocol without a Python object per message: `ReceiveMessage` responses read into one buffer of
//! received messages (the same spans the Pub/Sub reader makes, so decoding, metadata columns and dead letters are
//! shared), and the batch requests that delete, change visibility and send — ten entries each, SQS's limit.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::packed::Packer;
use crate::pubsub::MessageSpans;

/// SQS's limit on entries per batch request.
pub const MAX_BATCH_ENTRIES: usize = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed SQS response: {0}")]
pub struct SqsWireError(pub String);

#[derive(Deserialize)]
struct ReceiveResponse<'a> {
    #[serde(rename = "Messages", default, borrow)]
    messages: Vec<SqsMessage<'a>>,
}

#[derive(Deserialize)]
struct SqsMessage<'a> {
    #[serde(rename = "MessageId", borrow)]
    message_id: Cow<'a, str>,
    #[serde(rename = "ReceiptHandle", borrow)]
    receipt_handle: Cow<'a, str>,
    #[serde(rename = "Body", borrow)]
    body: Cow<'a, str>,
    #[serde(rename = "Attributes", default, borrow)]
    attributes: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(rename = "MessageAttributes", default, borrow)]
    message_attributes: BTreeMap<Cow<'a, str>, MessageAttribute<'a>>,
}

#[derive(Deserialize)]
struct MessageAttribute<'a> {
    #[serde(rename = "StringValue", default, borrow)]
    string_value: Option<Cow<'a, str>>,
    /// Base64 text, kept as it came.
    #[serde(rename = "BinaryValue", default, borrow)]
    binary_value: Option<Cow<'a, str>>,
}

/// Received SQS messages: one buffer holding every message's fields, and their spans in it.
///
/// Mapping onto the metadata columns: `message_id` ← MessageId, `publish_time` ← SentTimestamp, `attributes` ←
/// the message attributes (string and number values as text, binary ones as base64), `ordering_key` ←
/// MessageGroupId (FIFO queues), `delivery_attempt` ← ApproximateReceiveCount; the ack id is the receipt handle.
pub fn parse_receive(body: &[u8]) -> Result<(Vec<u8>, Vec<MessageSpans>), SqsWireError> {
    let response: ReceiveResponse<'_> = serde_json::from_slice(body).map_err(|e| SqsWireError(e.to_string()))?;
    let mut packer = Packer::with_capacity(body.len());
    let mut out = Vec::with_capacity(response.messages.len());
    for m in &response.messages {
        let start = packer.buf.len();
        let mut spans = MessageSpans {
            ack_id: packer.put(m.receipt_handle.as_bytes()),
            data: packer.put(m.body.as_bytes()),
            message_id: packer.put(m.message_id.as_bytes()),
            ..MessageSpans::default()
        };
        let attr = |name: &str| m.attributes.get(name).map(|v| v.as_ref());
        if let Some(group) = attr("MessageGroupId") {
            spans.ordering_key = packer.put(group.as_bytes());
        }
        if let Some(sent) = attr("SentTimestamp") {
            let ms: i64 = sent
                .parse()
                .map_err(|_| SqsWireError(format!("SentTimestamp {sent:?} is not a number")))?;
            spans.publish_time_us = ms * 1000;
        }
        if let Some(count) = attr("ApproximateReceiveCount") {
            spans.delivery_attempt = count.parse().unwrap_or(0);
        }
        for (k, v) in &m.message_attributes {
            let value = v.string_value.as_deref().or(v.binary_value.as_deref()).unwrap_or("");
            let k = packer.put(k.as_bytes());
            let v = packer.put(value.as_bytes());
            spans.attributes.push((k, v));
        }
        spans.size = (packer.buf.len() - start) as u32;
        out.push(spans);
    }
    Ok((packer.buf, out))
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// `DeleteMessageBatch` (no `visibility`) or `ChangeMessageVisibilityBatch` request bodies for `receipt_handles`,
/// ten entries each; entry ids are the handles' positions in the iterator, so failures map back to them.
pub fn batch_requests<'a>(
    queue_url: &str,
    receipt_handles: impl Iterator<Item = &'a [u8]>,
    visibility: Option<i64>,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body = Vec::new();
    let mut entries = 0;
    for (i, handle) in receipt_handles.enumerate() {
        if entries == 0 {
            body.clear();
            body.extend_from_slice(b"{\"QueueUrl\":");
            push_json_string(&mut body, queue_url);
            body.extend_from_slice(b",\"Entries\":[");
        } else {
            body.push(b',');
        }
        body.extend_from_slice(format!("{{\"Id\":\"{i}\",\"ReceiptHandle\":").as_bytes());
        push_json_string(&mut body, &String::from_utf8_lossy(handle));
        if let Some(seconds) = visibility {
            body.extend_from_slice(format!(",\"VisibilityTimeout\":{seconds}").as_bytes());
        }
        body.push(b'}');
        entries += 1;
        if entries == MAX_BATCH_ENTRIES {
            body.extend_from_slice(b"]}");
            out.push(std::mem::take(&mut body));
            entries = 0;
        }
    }
    if entries > 0 {
        body.extend_from_slice(b"]}");
        out.push(body);
    }
    out
}

/// One entry of a `SendMessageBatch`: the body (text) and string message attributes.
pub struct SendEntry<'a> {
    pub body: &'a str,
    pub attributes: Vec<(&'a str, &'a str)>,
    pub group_id: Option<&'a str>,
    pub dedup_id: Option<&'a str>,
}

/// `SendMessageBatch` request bodies: at most ten entries and `max_bytes` of bodies and attributes each (an entry
/// alone over it still gets a request of its own: SQS refuses it, with a reason, for that entry only). Entry ids
/// are the entries' positions; returns each request with the number of entries it holds.
pub fn send_batch_requests(queue_url: &str, entries: &[SendEntry<'_>], max_bytes: usize) -> Vec<(Vec<u8>, usize)> {
    send_batch_requests_grouped(queue_url, entries, max_bytes, &[])
}

/// [`send_batch_requests`], keeping each group of entries (`groups`: the sizes of consecutive groups; empty: no
/// groups) in one request when it fits one (ten entries, `max_bytes`): a group starts a new request rather than
/// straddle two.
pub fn send_batch_requests_grouped(
    queue_url: &str,
    entries: &[SendEntry<'_>],
    max_bytes: usize,
    groups: &[usize],
) -> Vec<(Vec<u8>, usize)> {
    let entry_size =
        |e: &SendEntry<'_>| e.body.len() + e.attributes.iter().map(|(k, v)| k.len() + v.len() + 6).sum::<usize>();
    let mut group_at = vec![(0usize, 0usize); if groups.is_empty() { 0 } else { entries.len() }];
    let mut start = 0;
    for &g in groups {
        let bytes = entries[start..start + g].iter().map(entry_size).sum();
        group_at[start] = (g, bytes);
        start += g;
    }
    let mut out = Vec::new();
    let mut body = Vec::new();
    let (mut count, mut size) = (0usize, 0usize);
    for (i, e) in entries.iter().enumerate() {
        let entry_size = entry_size(e);
        let (group, group_bytes) = group_at.get(i).copied().unwrap_or_default();
        let group_fits = group <= MAX_BATCH_ENTRIES && group_bytes <= max_bytes;
        let keep_group =
            group > 1 && group_fits && (count + group > MAX_BATCH_ENTRIES || size + group_bytes > max_bytes);
        if count > 0 && (keep_group || count == MAX_BATCH_ENTRIES || size + entry_size > max_bytes) {
            body.extend_from_slice(b"]}");
            out.push((std::mem::take(&mut body), count));
            count = 0;
            size = 0;
        }
        if count == 0 {
            body.extend_from_slice(b"{\"QueueUrl\":");
            push_json_string(&mut body, queue_url);
            body.extend_from_slice(b",\"Entries\":[");
        } else {
            body.push(b',');
        }
        body.extend_from_slice(format!("{{\"Id\":\"{i}\",\"MessageBody\":").as_bytes());
        push_json_string(&mut body, e.body);
        if let Some(g) = e.group_id {
            body.extend_from_slice(b",\"MessageGroupId\":");
            push_json_string(&mut body, g);
        }
        if let Some(d) = e.dedup_id {
            body.extend_from_slice(b",\"MessageDeduplicationId\":");
            push_json_string(&mut body, d);
        }
        if !e.attributes.is_empty() {
            body.extend_from_slice(b",\"MessageAttributes\":{");
            for (j, (k, v)) in e.attributes.iter().enumerate() {
                if j > 0 {
                    body.push(b',');
                }
                push_json_string(&mut body, k);
                body.extend_from_slice(b":{\"DataType\":\"String\",\"StringValue\":");
                push_json_string(&mut body, v);
                body.push(b'}');
            }
            body.push(b'}');
        }
        body.push(b'}');
        count += 1;
        size += entry_size;
    }
    if count > 0 {
        body.extend_from_slice(b"]}");
        out.push((body, count));
    }
    out
}

#[derive(Deserialize)]
struct BatchResponse<'a> {
    #[serde(rename = "Successful", default)]
    successful: Vec<IgnoredAny>,
    #[serde(rename = "Failed", default, borrow)]
    failed: Vec<FailedEntry<'a>>,
}

#[derive(Deserialize)]
struct FailedEntry<'a> {
    #[serde(rename = "Id", borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "SenderFault", default)]
    sender_fault: bool,
    #[serde(rename = "Code", default, borrow)]
    code: Cow<'a, str>,
    #[serde(rename = "Message", default, borrow)]
    message: Cow<'a, str>,
}

/// A batch entry SQS did not carry out: its id (position), whether the request was at fault, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    pub id: usize,
    pub sender_fault: bool,
    pub code: String,
    pub message: String,
}

/// The failed entries of a batch response, and how many succeeded.
pub fn batch_failures(body: &[u8]) -> Result<(usize, Vec<BatchFailure>), SqsWireError> {
    let r: BatchResponse<'_> = serde_json::from_slice(body).map_err(|e| SqsWireError(e.to_string()))?;
    let failed = r
        .failed
        .iter()
        .map(|f| {
            let id =
                f.id.parse()
                    .map_err(|_| SqsWireError(format!("unexpected entry id {:?}", f.id)))?;
            Ok(BatchFailure {
                id,
                sender_fault: f.sender_fault,
                code: f.code.to_string(),
                message: f.message.to_string(),
            })
        })
        .collect::<Result<Vec<_>, SqsWireError>>()?;
    Ok((r.successful.len(), failed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::received::slice;

    const RESPONSE: &str = r#"{"Messages":[{"MessageId":"m-1","ReceiptHandle":"rh-1","MD5OfBody":"x",
        "Body":"{\"a\":\"caf\u00e9 \\\"q\\\"\"}","Attributes":{"SentTimestamp":"1795000000123",
        "ApproximateReceiveCount":"2","MessageGroupId":"g-7"},
        "MessageAttributes":{"shop":{"StringValue":"s1","DataType":"String"},
        "bin":{"BinaryValue":"AAE=","DataType":"Binary"}}},
        {"MessageId":"m-2","ReceiptHandle":"rh-2","Body":"{}"}]}"#;

    #[test]
    fn reads_messages_and_their_metadata() {
        let (buf, msgs) = parse_receive(RESPONSE.as_bytes()).unwrap();
        assert_eq!(msgs.len(), 2);
        let m = &msgs[0];
        let s = |span| std::str::from_utf8(slice(&buf, span)).unwrap();
        assert_eq!(s(m.data), "{\"a\":\"café \\\"q\\\"\"}");
        assert_eq!(
            (s(m.ack_id), s(m.message_id), s(m.ordering_key)),
            ("rh-1", "m-1", "g-7")
        );
        assert_eq!((m.publish_time_us, m.delivery_attempt), (1_795_000_000_123_000, 2));
        let attrs: Vec<(&str, &str)> = m.attributes.iter().map(|&(k, v)| (s(k), s(v))).collect();
        assert_eq!(attrs, vec![("bin", "AAE="), ("shop", "s1")]);
        assert_eq!((s(msgs[1].data), msgs[1].publish_time_us), ("{}", 0));
        assert!(parse_receive(b"{}").unwrap().1.is_empty());
        assert!(parse_receive(b"{\"Messages\": [{}]}").is_err());
    }

    #[test]
    fn batches_hold_ten_entries() {
        let handles: Vec<String> = (0..23).map(|i| format!("h\"{i}")).collect();
        let reqs = batch_requests("http://q/1/a", handles.iter().map(|h| h.as_bytes()), Some(30));
        assert_eq!(reqs.len(), 3);
        let v: serde_json::Value = serde_json::from_slice(&reqs[2]).unwrap();
        assert_eq!(v["Entries"].as_array().unwrap().len(), 3);
        assert_eq!(v["Entries"][0]["Id"], "20");
        assert_eq!(v["Entries"][0]["ReceiptHandle"], "h\"20");
        assert_eq!(v["Entries"][0]["VisibilityTimeout"], 30);
        assert_eq!(v["QueueUrl"], "http://q/1/a");
    }

    #[test]
    fn send_batches_respect_count_and_size() {
        let big = "x".repeat(600);
        let entries: Vec<SendEntry<'_>> = (0..12)
            .map(|i| SendEntry {
                body: if i == 3 { &big } else { "{\"n\":1}" },
                attributes: vec![("k", "v")],
                group_id: None,
                dedup_id: None,
            })
            .collect();
        let reqs = send_batch_requests("u", &entries, 1000);
        let counts: Vec<usize> = reqs.iter().map(|r| r.1).collect();
        assert_eq!(counts.iter().sum::<usize>(), 12);
        assert!(counts.iter().all(|&c| c <= 10));
        let v: serde_json::Value = serde_json::from_slice(&reqs[0].0).unwrap();
        assert_eq!(v["Entries"][0]["MessageAttributes"]["k"]["StringValue"], "v");
    }

    #[test]
    fn groups_stay_in_one_request_when_they_fit_one() {
        let entries: Vec<SendEntry<'_>> = (0..25)
            .map(|_| SendEntry {
                body: "{}",
                attributes: Vec::new(),
                group_id: None,
                dedup_id: None,
            })
            .collect();
        let counts = |groups: &[usize]| -> Vec<usize> {
            let reqs = send_batch_requests_grouped("u", &entries, 1000, groups);
            reqs.iter().map(|r| r.1).collect()
        };
        assert_eq!(counts(&[]), vec![10, 10, 5]);
        assert_eq!(counts(&[4, 4, 4, 1, 12]), vec![8, 10, 7]); // the 12 cannot fit one: it fills from where it is
        assert_eq!(counts(&[6, 6, 6, 6, 1]), vec![6, 6, 6, 7]);
    }

    #[test]
    fn reads_batch_failures() {
        let body = br#"{"Successful":[{"Id":"0"}],"Failed":[{"Id":"1","SenderFault":true,"Code":"ReceiptHandleIsInvalid","Message":"gone"}]}"#;
        let (ok, failed) = batch_failures(body).unwrap();
        assert_eq!(ok, 1);
        assert_eq!(failed[0].id, 1);
        assert!(failed[0].sender_fault);
        assert_eq!(failed[0].code, "ReceiptHandleIsInvalid");
    }
}
