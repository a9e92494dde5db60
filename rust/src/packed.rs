//! Messages that did not arrive as one readable buffer — given field by field (Apache Beam elements, push
//! deliveries, in-memory data) or parsed out of JSON (SQS answers) — packed into one buffer with their spans, the
//! form every reader of received messages takes. No wire format is written and read again on the way.

use crate::pubsub::{MessageSpans, Span};

/// One message's fields.
pub struct MessageParts<'a> {
    pub data: &'a [u8],
    pub attributes: Vec<(&'a [u8], &'a [u8])>,
    pub message_id: &'a [u8],
    pub publish_time_us: i64,
    pub ordering_key: &'a [u8],
}

/// A buffer the fields of several messages are appended to, each remembered as a span.
#[derive(Default)]
pub struct Packer {
    pub buf: Vec<u8>,
}

impl Packer {
    pub fn with_capacity(bytes: usize) -> Self {
        Packer {
            buf: Vec::with_capacity(bytes),
        }
    }

    /// Append `s`; its span.
    pub fn put(&mut self, s: &[u8]) -> Span {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(s);
        (start, self.buf.len() as u32)
    }

    /// Append one message's fields (its id is also its ack id); its spans.
    pub fn message(&mut self, m: &MessageParts<'_>) -> MessageSpans {
        let start = self.buf.len();
        let message_id = self.put(m.message_id);
        let mut spans = MessageSpans {
            ack_id: message_id,
            data: self.put(m.data),
            message_id,
            ordering_key: self.put(m.ordering_key),
            publish_time_us: m.publish_time_us,
            ..MessageSpans::default()
        };
        spans.attributes = m.attributes.iter().map(|(k, v)| (self.put(k), self.put(v))).collect();
        spans.size = (self.buf.len() - start) as u32;
        spans
    }
}

/// `messages` packed into one buffer: (the buffer, each message's spans in it).
pub fn pack(messages: &[MessageParts<'_>]) -> (Vec<u8>, Vec<MessageSpans>) {
    let bytes = messages.iter().map(|m| m.data.len() + m.message_id.len() + 16).sum();
    let mut packer = Packer::with_capacity(bytes);
    let spans = messages.iter().map(|m| packer.message(m)).collect();
    (packer.buf, spans)
}

/// The ids `first_id, first_id + 1, ...` of `n` messages given as data alone.
pub fn counting_ids(first_id: u64, n: usize) -> Vec<String> {
    (0..n as u64).map(|i| (first_id + i).to_string()).collect()
}

/// `data` as the parts of messages with ids `ids` (see [`counting_ids`]), all published at `publish_time_us`.
pub fn data_parts<'a, M: AsRef<[u8]>>(data: &'a [M], ids: &'a [String], publish_time_us: i64) -> Vec<MessageParts<'a>> {
    data.iter()
        .zip(ids)
        .map(|(m, id)| MessageParts {
            data: m.as_ref(),
            attributes: Vec::new(),
            message_id: id.as_bytes(),
            publish_time_us,
            ordering_key: b"",
        })
        .collect()
}

/// `data` as messages with ids `first_id, first_id + 1, ...` published at `publish_time_us`: an in-process
/// source's.
pub fn pack_data<M: AsRef<[u8]>>(data: &[M], first_id: u64, publish_time_us: i64) -> (Vec<u8>, Vec<MessageSpans>) {
    let ids = counting_ids(first_id, data.len());
    pack(&data_parts(data, &ids, publish_time_us))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::{parse_pull_response, pull_response_of};
    use crate::received::slice;

    /// (data, attributes, message id, publish time, ordering key, ack id).
    type Fields = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>, i64, Vec<u8>, Vec<u8>);

    fn fields(buf: &[u8], m: &MessageSpans) -> Fields {
        let s = |span| slice(buf, span).to_vec();
        let attributes = m.attributes.iter().map(|&(k, v)| (s(k), s(v))).collect();
        (
            s(m.data),
            attributes,
            s(m.message_id),
            m.publish_time_us,
            s(m.ordering_key),
            s(m.ack_id),
        )
    }

    #[test]
    fn packed_messages_read_as_the_pull_response_of_the_same_parts_did() {
        let parts = [
            MessageParts {
                data: b"{\"a\":1}",
                attributes: vec![(b"k".as_slice(), b"v".as_slice()), (b"shop", b"7")],
                message_id: b"m-1",
                publish_time_us: 1_796_551_200_123_456,
                ordering_key: b"group",
            },
            MessageParts {
                data: b"",
                attributes: vec![],
                message_id: b"m-2",
                publish_time_us: -500_000,
                ordering_key: b"",
            },
        ];
        let (buf, spans) = pack(&parts);
        let wire = pull_response_of(&parts);
        let read = parse_pull_response(&wire).unwrap();
        let packed: Vec<_> = spans.iter().map(|m| fields(&buf, m)).collect();
        let pulled: Vec<_> = read.iter().map(|m| fields(&wire, m)).collect();
        assert_eq!(packed, pulled);
        assert_eq!(spans[0].size as usize, b"m-1{\"a\":1}groupkvshop7".len());
    }

    #[test]
    fn data_gets_counting_ids() {
        let (buf, spans) = pack_data(&[b"x".as_slice(), b"y"], 7, 42);
        let ids: Vec<_> = spans.iter().map(|m| slice(&buf, m.message_id)).collect();
        assert_eq!(ids, vec![b"7".as_slice(), b"8"]);
        assert!(spans
            .iter()
            .all(|m| m.publish_time_us == 42 && m.ack_id == m.message_id));
    }
}
