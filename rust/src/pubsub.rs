//! Pub/Sub wire messages without a Python object per message: zero-copy reading of serialized `PullResponse`
//! bytes, and writing of `Acknowledge` / `ModifyAckDeadline` request bytes from the ack ids they hold.

use thiserror::Error;

#[cfg(test)]
use crate::packed::MessageParts;

/// A malformed protobuf message.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("malformed Pub/Sub response at byte {at}: {what}")]
pub struct WireError {
    pub at: usize,
    pub what: &'static str,
}

/// Byte range `[start, end)` within one response buffer.
pub type Span = (u32, u32);

/// One received message, as spans into its response buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageSpans {
    pub ack_id: Span,
    pub data: Span,
    pub message_id: Span,
    pub ordering_key: Span,
    /// The serialized attribute map entries, each `(key, value)`.
    pub attributes: Vec<(Span, Span)>,
    /// Publish time in microseconds since the epoch (0 when absent).
    pub publish_time_us: i64,
    pub delivery_attempt: i32,
    /// Bytes of the whole received message on the wire (ack id, data, attributes, ids): what it holds in memory.
    pub size: u32,
    /// An event opened out of an envelope ([`crate::envelope`]): its line in the envelope; 0 for a plain message.
    pub event_index: u32,
    /// An envelope that cannot be opened: why (decoding rejects it with this, unread).
    pub refused: Option<Box<Refused>>,
}

/// Bytes Pub/Sub bills for one message — its data, its attribute keys and values, 20 bytes of timestamp and its
/// message id — given their lengths (before the 1,000-byte minimum per request): the one statement of the rule.
pub fn billed_message_bytes(data: usize, attributes: usize, message_id: usize) -> usize {
    data + attributes + 20 + message_id
}

/// Why a received message is rejected before its data is read (an envelope that cannot be opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: crate::RejectCode,
    pub message: String,
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader of the whole of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            end: buf.len(),
        }
    }

    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.end) else {
                return Err(WireError {
                    at: self.pos,
                    what: "truncated varint",
                });
            };
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(WireError {
            at: self.pos,
            what: "varint too long",
        })
    }

    /// The next field: (field number, wire type).
    pub(crate) fn tag(&mut self) -> Result<Option<(u64, u8)>, WireError> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let t = self.varint()?;
        Ok(Some((t >> 3, (t & 7) as u8)))
    }

    pub(crate) fn len_delimited(&mut self) -> Result<Span, WireError> {
        let n = self.varint()? as usize;
        let start = self.pos;
        if n > self.end - start {
            return Err(WireError {
                at: start,
                what: "length past the end",
            });
        }
        self.pos += n;
        Ok((start as u32, self.pos as u32))
    }

    fn skip(&mut self, wire: u8) -> Result<(), WireError> {
        let at = self.pos;
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.advance(8, at),
            2 => self.len_delimited().map(|_| ()),
            5 => self.advance(4, at),
            _ => Err(WireError {
                at,
                what: "unsupported wire type",
            }),
        }
    }

    fn advance(&mut self, n: usize, at: usize) -> Result<(), WireError> {
        if n > self.end - self.pos {
            return Err(WireError {
                at,
                what: "truncated fixed-width field",
            });
        }
        self.pos += n;
        Ok(())
    }

    fn sub(&self, span: Span) -> Reader<'a> {
        Reader {
            buf: self.buf,
            pos: span.0 as usize,
            end: span.1 as usize,
        }
    }
}

/// Parse a serialized `google.pubsub.v1.PullResponse`.
pub fn parse_pull_response(buf: &[u8]) -> Result<Vec<MessageSpans>, WireError> {
    if buf.len() > u32::MAX as usize {
        return Err(WireError {
            at: 0,
            what: "response larger than 4 GiB",
        });
    }
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    while let Some((field, wire)) = r.tag()? {
        if field == 1 && wire == 2 {
            let span = r.len_delimited()?;
            let mut m = parse_received(r.sub(span))?;
            m.size = span.1 - span.0;
            out.push(m);
        } else {
            r.skip(wire)?;
        }
    }
    Ok(out)
}

fn parse_received(mut r: Reader<'_>) -> Result<MessageSpans, WireError> {
    let mut m = MessageSpans::default();
    while let Some((field, wire)) = r.tag()? {
        match (field, wire) {
            (1, 2) => m.ack_id = r.len_delimited()?,
            (2, 2) => {
                let span = r.len_delimited()?;
                parse_message(r.sub(span), &mut m)?;
            }
            (3, 0) => m.delivery_attempt = r.varint()? as i32,
            _ => r.skip(wire)?,
        }
    }
    Ok(m)
}

fn parse_message(mut r: Reader<'_>, m: &mut MessageSpans) -> Result<(), WireError> {
    while let Some((field, wire)) = r.tag()? {
        match (field, wire) {
            (1, 2) => m.data = r.len_delimited()?,
            (2, 2) => {
                let span = r.len_delimited()?;
                let mut e = r.sub(span);
                let (mut k, mut v) = ((span.0, span.0), (span.0, span.0));
                while let Some((f, w)) = e.tag()? {
                    match (f, w) {
                        (1, 2) => k = e.len_delimited()?,
                        (2, 2) => v = e.len_delimited()?,
                        _ => e.skip(w)?,
                    }
                }
                m.attributes.push((k, v));
            }
            (3, 2) => m.message_id = r.len_delimited()?,
            (4, 2) => {
                let span = r.len_delimited()?;
                let mut t = r.sub(span);
                let (mut secs, mut nanos) = (0i64, 0i64);
                while let Some((f, w)) = t.tag()? {
                    match (f, w) {
                        (1, 0) => secs = t.varint()? as i64,
                        (2, 0) => nanos = t.varint()? as i32 as i64,
                        _ => t.skip(w)?,
                    }
                }
                m.publish_time_us = secs * 1_000_000 + nanos / 1_000;
            }
            (5, 2) => m.ordering_key = r.len_delimited()?,
            _ => r.skip(wire)?,
        }
    }
    Ok(())
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A serialized `PullRequest` (subscription = 1, max_messages = 3).
pub fn pull_request(subscription: &str, max_messages: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(subscription.len() + 8);
    put_bytes(&mut out, 1, subscription.as_bytes());
    put_varint(&mut out, 3 << 3);
    put_varint(&mut out, max_messages as i64 as u64);
    out
}

/// How many message ids a serialized `PublishResponse` holds (message_ids = 1, repeated string).
pub fn publish_response_ids(buf: &[u8]) -> Result<usize, WireError> {
    let mut r = Reader::new(buf);
    let mut n = 0;
    while let Some((field, wire)) = r.tag()? {
        n += usize::from(field == 1 && wire == 2);
        r.skip(wire)?;
    }
    Ok(n)
}

/// A serialized `AcknowledgeRequest` (subscription = 1, ack_ids = 2).
pub fn acknowledge_request<'a>(subscription: &str, ack_ids: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(subscription.len() + 64);
    put_bytes(&mut out, 1, subscription.as_bytes());
    for id in ack_ids {
        put_bytes(&mut out, 2, id);
    }
    out
}

/// Pub/Sub's limit on one request is 512 KB; acknowledgement requests stay well under it.
pub const MAX_ACK_REQUEST_BYTES: usize = 400_000;

/// `AcknowledgeRequest`s for `ack_ids`, in order, each under [`MAX_ACK_REQUEST_BYTES`].
pub fn acknowledge_requests<'a>(subscription: &str, ack_ids: impl Iterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    in_requests(ack_ids, |ids| acknowledge_request(subscription, ids.iter().copied()))
}

/// `ModifyAckDeadlineRequest`s for `ack_ids`, in order, each under [`MAX_ACK_REQUEST_BYTES`].
pub fn modify_ack_deadline_requests<'a>(
    subscription: &str,
    seconds: i32,
    ack_ids: impl Iterator<Item = &'a [u8]>,
) -> Vec<Vec<u8>> {
    in_requests(ack_ids, |ids| {
        modify_ack_deadline_request(subscription, seconds, ids.iter().copied())
    })
}

/// `ids` cut into runs of at most [`MAX_ACK_REQUEST_BYTES`] (an id costs its length and 4 bytes of framing), one
/// request built from each (an id over the limit alone gets a request of its own; Pub/Sub answers for it).
fn in_requests<'a>(ids: impl Iterator<Item = &'a [u8]>, build: impl Fn(&[&'a [u8]]) -> Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk: Vec<&[u8]> = Vec::new();
    let mut size = 0;
    for id in ids {
        if size + id.len() + 4 > MAX_ACK_REQUEST_BYTES && !chunk.is_empty() {
            out.push(build(&chunk));
            chunk.clear();
            size = 0;
        }
        size += id.len() + 4;
        chunk.push(id);
    }
    if !chunk.is_empty() {
        out.push(build(&chunk));
    }
    out
}

/// A serialized `ModifyAckDeadlineRequest` (subscription = 1, ack_deadline_seconds = 3, ack_ids = 4).
pub fn modify_ack_deadline_request<'a>(
    subscription: &str,
    seconds: i32,
    ack_ids: impl Iterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(subscription.len() + 64);
    put_bytes(&mut out, 1, subscription.as_bytes());
    put_varint(&mut out, 3 << 3);
    put_varint(&mut out, seconds as i64 as u64);
    for id in ack_ids {
        put_bytes(&mut out, 4, id);
    }
    out
}

/// A `PullResponse` of `messages` (data) with ids (and ack ids) `first_id, first_id + 1, ...`, all published at
/// `publish_time_us`: wire bytes for the tests of the readers (messages given by the caller are packed, not
/// encoded: [`crate::packed`]).
#[cfg(test)]
pub fn pull_response<M: AsRef<[u8]>>(messages: &[M], first_id: u64, publish_time_us: i64) -> Vec<u8> {
    let ids = crate::packed::counting_ids(first_id, messages.len());
    pull_response_of(&crate::packed::data_parts(messages, &ids, publish_time_us))
}

/// A `PullResponse` holding `messages` as given (each message's id is also its ack id): wire bytes for the tests.
#[cfg(test)]
pub fn pull_response_of(messages: &[MessageParts<'_>]) -> Vec<u8> {
    let total: usize = messages
        .iter()
        .map(|m| m.data.len() + 2 * m.message_id.len() + 48)
        .sum();
    let mut out = Vec::with_capacity(total);
    let mut time = Vec::new();
    let mut received = Vec::new();
    let mut message = Vec::new();
    let mut entry = Vec::new();
    for m in messages {
        time.clear();
        put_varint(&mut time, 1 << 3);
        put_varint(&mut time, m.publish_time_us.div_euclid(1_000_000) as u64);
        put_varint(&mut time, 2 << 3);
        put_varint(&mut time, (m.publish_time_us.rem_euclid(1_000_000) * 1000) as u64);
        message.clear();
        put_bytes(&mut message, 1, m.data);
        for (k, v) in &m.attributes {
            entry.clear();
            put_bytes(&mut entry, 1, k);
            put_bytes(&mut entry, 2, v);
            put_bytes(&mut message, 2, &entry);
        }
        put_bytes(&mut message, 3, m.message_id);
        put_bytes(&mut message, 4, &time);
        if !m.ordering_key.is_empty() {
            put_bytes(&mut message, 5, m.ordering_key);
        }
        received.clear();
        put_bytes(&mut received, 1, m.message_id);
        put_bytes(&mut received, 2, &message);
        put_bytes(&mut out, 1, &received);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(data: &[u8], id: &str, attrs: &[(&str, &str)], secs: u64, nanos: u64) -> Vec<u8> {
        let mut m = Vec::new();
        put_bytes(&mut m, 1, data);
        for (k, v) in attrs {
            let mut e = Vec::new();
            put_bytes(&mut e, 1, k.as_bytes());
            put_bytes(&mut e, 2, v.as_bytes());
            put_bytes(&mut m, 2, &e);
        }
        put_bytes(&mut m, 3, id.as_bytes());
        let mut t = Vec::new();
        put_varint(&mut t, 1 << 3);
        put_varint(&mut t, secs);
        put_varint(&mut t, 2 << 3);
        put_varint(&mut t, nanos);
        put_bytes(&mut m, 4, &t);
        m
    }

    #[test]
    fn pull_response_of_round_trips_every_field() {
        let parts = [
            MessageParts {
                data: b"{\"a\":1}",
                attributes: vec![(b"k", b"v"), (b"x", b"")],
                message_id: b"m-1",
                publish_time_us: 1_700_000_000_123_456,
                ordering_key: b"key",
            },
            MessageParts {
                data: b"",
                attributes: Vec::new(),
                message_id: b"m-2",
                publish_time_us: -1,
                ordering_key: b"",
            },
        ];
        let raw = pull_response_of(&parts);
        let spans = parse_pull_response(&raw).unwrap();
        assert_eq!(spans.len(), 2);
        let text = |s: Span| &raw[s.0 as usize..s.1 as usize];
        assert_eq!(text(spans[0].data), b"{\"a\":1}");
        assert_eq!(text(spans[0].ack_id), b"m-1");
        assert_eq!(text(spans[0].message_id), b"m-1");
        assert_eq!(text(spans[0].ordering_key), b"key");
        assert_eq!(spans[0].publish_time_us, 1_700_000_000_123_456);
        let attrs: Vec<_> = spans[0].attributes.iter().map(|&(k, v)| (text(k), text(v))).collect();
        assert_eq!(attrs, [(&b"k"[..], &b"v"[..]), (&b"x"[..], &b""[..])]);
        assert_eq!(text(spans[1].data), b"");
        assert_eq!(spans[1].publish_time_us, -1);
    }

    #[test]
    fn parses_messages_and_skips_unknown_fields() {
        let mut resp = Vec::new();
        for (i, data) in [&b"{\"a\":1}"[..], b""].iter().enumerate() {
            let mut rm = Vec::new();
            put_bytes(&mut rm, 1, format!("ack-{i}").as_bytes());
            put_bytes(
                &mut rm,
                2,
                &message(data, &format!("id{i}"), &[("k", "v")], 1_700_000_000, 123_456_789),
            );
            put_varint(&mut rm, 9 << 3); // an unknown varint field (wire type 0)
            put_varint(&mut rm, 5);
            put_bytes(&mut resp, 1, &rm);
        }
        let msgs = parse_pull_response(&resp).unwrap();
        assert_eq!(msgs.len(), 2);
        let s = |sp: Span| &resp[sp.0 as usize..sp.1 as usize];
        assert_eq!(s(msgs[0].ack_id), b"ack-0");
        assert_eq!(s(msgs[0].data), b"{\"a\":1}");
        assert_eq!(s(msgs[1].message_id), b"id1");
        assert_eq!(s(msgs[1].data), b"");
        assert_eq!(msgs[0].publish_time_us, 1_700_000_000_123_456);
        assert!(msgs[0].size as usize > "ack-0".len() + "{\"a\":1}".len() + "id0".len() + 2);
        assert_eq!(
            (s(msgs[0].attributes[0].0), s(msgs[0].attributes[0].1)),
            (&b"k"[..], &b"v"[..])
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut resp = Vec::new();
        put_bytes(&mut resp, 1, &message(b"xyz", "id", &[], 1, 0));
        for cut in 1..resp.len() {
            let _ = parse_pull_response(&resp[..cut]);
        }
        assert!(parse_pull_response(&resp[..resp.len() - 1]).is_err());
    }

    #[test]
    fn writes_a_pull_response_it_can_read() {
        let resp = pull_response(&[&b"{}"[..], b"{\"a\":2}"], 41, -1);
        let msgs = parse_pull_response(&resp).unwrap();
        let s = |sp: Span| &resp[sp.0 as usize..sp.1 as usize];
        assert_eq!((s(msgs[1].message_id), s(msgs[1].ack_id)), (&b"42"[..], &b"42"[..]));
        assert_eq!(s(msgs[1].data), b"{\"a\":2}");
        assert_eq!(msgs[0].publish_time_us, -1);
    }

    #[test]
    fn writes_requests() {
        let req = acknowledge_request("projects/p/subscriptions/s", [&b"a1"[..], b"a2"].into_iter());
        assert_eq!(&req[..2], &[0x0a, 26]);
        assert!(req.ends_with(&[0x12, 2, b'a', b'2']));
        let m = modify_ack_deadline_request("s", 60, [&b"x"[..]].into_iter());
        assert_eq!(m, vec![0x0a, 1, b's', 0x18, 60, 0x22, 1, b'x']);
        assert_eq!(
            pull_request("sub", 1000),
            vec![0x0a, 3, b's', b'u', b'b', 0x18, 0xe8, 0x07]
        );
    }

    /// The ack ids of a serialized request (field `field`), in order.
    fn ids_in(request: &[u8], field: u64) -> Vec<Vec<u8>> {
        let mut r = Reader::new(request);
        let mut out = Vec::new();
        while let Some((f, wire)) = r.tag().unwrap() {
            if f == field {
                let (a, b) = r.len_delimited().unwrap();
                out.push(request[a as usize..b as usize].to_vec());
            } else {
                r.skip(wire).unwrap();
            }
        }
        out
    }

    #[test]
    fn acknowledgements_are_cut_into_requests_under_the_limit_in_order() {
        let ids: Vec<Vec<u8>> = (0..12_000).map(|i| format!("{i:0>100}").into_bytes()).collect();
        for (requests, field) in [
            (
                acknowledge_requests("projects/p/subscriptions/s", ids.iter().map(|i| i.as_slice())),
                2,
            ),
            (
                modify_ack_deadline_requests("projects/p/subscriptions/s", 0, ids.iter().map(|i| i.as_slice())),
                4,
            ),
        ] {
            assert_eq!(requests.len(), 4, "12,000 ids of 100 bytes: 1.25 MB in 400 KB requests");
            assert!(requests.iter().all(|r| r.len() <= MAX_ACK_REQUEST_BYTES + 64));
            let back: Vec<Vec<u8>> = requests.iter().flat_map(|r| ids_in(r, field)).collect();
            assert_eq!(back, ids);
        }
        assert!(acknowledge_requests("s", std::iter::empty()).is_empty());
        let huge = vec![b'x'; MAX_ACK_REQUEST_BYTES + 1];
        let alone = acknowledge_requests("s", [b"a".as_slice(), &huge, b"b"].into_iter());
        assert_eq!(alone.len(), 3);
    }

    #[test]
    fn counts_publish_response_ids() {
        let mut resp = Vec::new();
        for id in ["1", "22", "333"] {
            put_bytes(&mut resp, 1, id.as_bytes());
        }
        assert_eq!(publish_response_ids(&resp), Ok(3));
        assert_eq!(publish_response_ids(b""), Ok(0));
        assert!(publish_response_ids(&resp[..resp.len() - 1]).is_err());
    }
}
