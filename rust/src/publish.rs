//! The edge processor's hot path: validate raw events with the codec, add `event_id` / `ingest_time` where they
//! are absent, and write serialized Pub/Sub `PublishRequest`s — one call per batch, no object per event.

use std::borrow::Cow;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::aws::sqs::{send_batch_requests_grouped, SendEntry};
use crate::bodies::{body_events, BodyKind};
use crate::decode::{top_level_keys, Codec, DecodeError, Reject};
use crate::envelope::{markers, seal_all, Sealing};
use crate::pubsub::put_bytes;
use crate::transform::{event_id, Derived, Transform};

/// Pub/Sub allows 1,000 messages and 10 MB per `Publish` request.
pub const MAX_REQUEST_MESSAGES: usize = 1000;
pub const MAX_REQUEST_BYTES: usize = 9_000_000;

/// Fields to add to events that lack them.
#[derive(Debug, Clone, Default)]
pub struct Enrich {
    /// Add `"event_id": "<prefix><seq as 16 hex digits>"`; `prefix` should be unique per publisher.
    pub event_id_prefix: Option<String>,
    /// The sequence number of the next event id.
    pub next_seq: u64,
    /// Add `"ingest_time": "<this>"` (an RFC 3339 timestamp).
    pub ingest_time: Option<String>,
    /// Rename, drop, default, hash or redact fields (the derived fields are then filled when absent or null).
    pub transform: Option<Arc<Transform>>,
}

/// Transform one event and add its missing fields (unchanged when it is not a well-formed object: validation
/// rejects it).
pub fn enrich_one<'m>(msg: &'m [u8], enrich: &Enrich, seq: &mut u64, max_depth: usize) -> Cow<'m, [u8]> {
    if let Some(t) = &enrich.transform {
        let derived = Derived {
            event_id_prefix: enrich.event_id_prefix.as_deref(),
            ingest_time: enrich.ingest_time.as_deref(),
        };
        return t.apply(msg, derived, seq, max_depth);
    }
    let mut wanted: Vec<&[u8]> = Vec::with_capacity(2);
    if enrich.event_id_prefix.is_some() {
        wanted.push(b"event_id");
    }
    if enrich.ingest_time.is_some() {
        wanted.push(b"ingest_time");
    }
    if wanted.is_empty() {
        return Cow::Borrowed(msg);
    }
    let Some(present) = top_level_keys(msg, &wanted, max_depth) else {
        return Cow::Borrowed(msg);
    };
    let mut fields: Vec<String> = Vec::new();
    for (key, have) in wanted.iter().zip(&present) {
        if *have {
            continue;
        }
        if *key == b"event_id" {
            let prefix = enrich.event_id_prefix.as_deref().unwrap_or_default();
            fields.push(format!("\"event_id\":\"{}\"", event_id(prefix, *seq)));
            *seq += 1;
        } else {
            let ts = enrich.ingest_time.as_deref().unwrap_or_default();
            fields.push(format!("\"ingest_time\":\"{ts}\""));
        }
    }
    if fields.is_empty() {
        return Cow::Borrowed(msg);
    }
    let open = msg.iter().position(|&b| b == b'{').expect("an object starts with '{'");
    let empty = msg[open + 1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    let mut out = Vec::with_capacity(msg.len() + 96);
    out.extend_from_slice(&msg[..=open]);
    out.extend_from_slice(fields.join(",").as_bytes());
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(&msg[open + 1..]);
    Cow::Owned(out)
}

/// One attribute: `(key, value)`.
pub type Attribute<'a> = (&'a [u8], &'a [u8]);

/// Serialized `PublishRequest`s for `messages` (data and attributes), each within Pub/Sub's limits of 1,000
/// messages and 10 MB; returns the requests and the messages in each.
pub fn pack_requests<'a>(
    topic: &str,
    messages: impl Iterator<Item = (&'a [u8], &'a [Attribute<'a>])>,
) -> (Vec<Vec<u8>>, Vec<usize>) {
    let mut packer = Packer::new(topic);
    for (data, attributes) in messages {
        packer.add(data, attributes);
    }
    packer.finish()
}

/// Where the valid events go: a Pub/Sub topic or an SQS queue.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Topic(&'a str),
    /// A queue URL and the most bytes of bodies per `SendMessageBatch`.
    Queue(&'a str, usize),
}

/// `PublishRequest`s filled message by message, a new one started when the next would pass Pub/Sub's limits.
struct Packer<'t> {
    topic: &'t str,
    requests: Vec<Vec<u8>>,
    counts: Vec<usize>,
    request: Vec<u8>,
    count: usize,
    message: Vec<u8>,
    entry: Vec<u8>,
    /// Bytes Pub/Sub bills for each request ([`billed_size`]), and for the one being filled.
    billed: Vec<usize>,
    bill: usize,
}

/// The digits of a Pub/Sub message id, which the service assigns (ids are decimal numbers of about 16 digits).
pub const MESSAGE_ID_BYTES: usize = 16;

/// Pub/Sub's billed size of a message: data, attribute keys and values, 20 bytes of timestamp, its message id.
pub fn billed_size(data: &[u8], attributes: &[Attribute<'_>]) -> usize {
    let attributes = attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
    crate::pubsub::billed_message_bytes(data.len(), attributes, MESSAGE_ID_BYTES)
}

impl<'t> Packer<'t> {
    fn new(topic: &'t str) -> Self {
        Packer {
            topic,
            requests: Vec::new(),
            counts: Vec::new(),
            request: Vec::new(),
            count: 0,
            message: Vec::new(),
            entry: Vec::new(),
            billed: Vec::new(),
            bill: 0,
        }
    }

    fn flush(&mut self) {
        if self.count > 0 {
            self.requests.push(std::mem::take(&mut self.request));
            self.counts.push(std::mem::take(&mut self.count));
            self.billed.push(std::mem::take(&mut self.bill));
        }
    }

    /// `n` messages of about `bytes` come next, to be kept together: a new request unless they fit this one.
    fn start_group(&mut self, n: usize, bytes: usize) {
        if self.count + n > MAX_REQUEST_MESSAGES || self.request.len() + bytes > MAX_REQUEST_BYTES {
            self.flush();
        }
    }

    fn add(&mut self, data: &[u8], attributes: &[Attribute<'_>]) {
        self.message.clear();
        put_bytes(&mut self.message, 1, data);
        for &(k, v) in attributes {
            self.entry.clear();
            put_bytes(&mut self.entry, 1, k);
            put_bytes(&mut self.entry, 2, v);
            put_bytes(&mut self.message, 2, &self.entry);
        }
        if self.count == MAX_REQUEST_MESSAGES || self.request.len() + self.message.len() + 8 > MAX_REQUEST_BYTES {
            self.flush();
        }
        if self.count == 0 {
            put_bytes(&mut self.request, 1, self.topic.as_bytes());
        }
        put_bytes(&mut self.request, 2, &self.message);
        self.count += 1;
        self.bill += billed_size(data, attributes);
    }

    /// The requests and the messages in each (their billed sizes stay in `billed`).
    fn finish(&mut self) -> (Vec<Vec<u8>>, Vec<usize>) {
        self.flush();
        (std::mem::take(&mut self.requests), std::mem::take(&mut self.counts))
    }
}

/// An event and its index in its body (the position, or the NDJSON line).
type IndexedEvent<'a> = (usize, &'a [u8]);

/// One input of [`prepare`]: where its events are, and how they are published.
pub struct Body<'a> {
    pub events: Source<'a>,
    /// A refused event publishes nothing of the body.
    pub atomic: bool,
    /// An HTTP body: its valid events go in one request, the body refused whole when they outgrow one request's
    /// limits or number more than `max_events`. Otherwise (a publisher's batch) they fill requests as they come.
    pub whole: bool,
}

/// A body's events: bytes to split (an HTTP body), or given one by one with their indices (a publisher's batch).
pub enum Source<'a> {
    Raw(&'a [u8], BodyKind),
    Given(Vec<(usize, &'a [u8])>),
}

impl<'a> Body<'a> {
    /// An HTTP body of `kind`: one JSON value or an array of them, or NDJSON.
    pub fn http(bytes: &'a [u8], kind: BodyKind, atomic: bool) -> Self {
        Body {
            events: Source::Raw(bytes, kind),
            atomic,
            whole: true,
        }
    }

    /// A publisher's batch of events (a single event is a batch of one): never refused whole.
    pub fn batch(events: impl Iterator<Item = (usize, &'a [u8])>) -> Self {
        Body {
            events: Source::Given(events.collect()),
            atomic: false,
            whole: false,
        }
    }

    /// Its events, `(index, bytes)` (given ones borrowed, not copied); `Err((status, why))` when it is refused
    /// whole.
    fn found(&self, max_events: usize) -> Result<Cow<'_, [IndexedEvent<'a>]>, (u16, String)> {
        match &self.events {
            Source::Given(events) => Ok(Cow::Borrowed(events)),
            Source::Raw(bytes, kind) => match body_events(bytes, *kind, max_events) {
                Ok(found) if found.total > max_events => Err((
                    413,
                    format!("{} events in one request; at most {max_events}", found.total),
                )),
                Ok(found) => Ok(Cow::Owned(found.events)), // all of them: at most `max_events` were found
                Err(e) => Err((400, e)),
            },
        }
    }

    /// A JSON array (whose malformed element makes the whole body malformed JSON).
    fn is_array(&self) -> bool {
        matches!(self.events, Source::Raw(bytes, BodyKind::Json)
            if bytes.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'['))
    }
}

/// What became of one body given to [`prepare`].
#[derive(Debug, Default)]
pub struct BodyOutcome {
    /// Events found in the body.
    pub events: usize,
    /// Its refused events (`index`: the position in the body).
    pub rejects: Vec<Reject>,
    /// Nothing of the body is published: (HTTP status, why) — 400: not the JSON array it starts as; 413: more
    /// events than allowed in one body, or more than one request holds.
    pub error: Option<(u16, String)>,
    /// The requests holding its valid events (one, for a whole body); empty: none.
    pub requests: std::ops::Range<usize>,
}

/// What [`prepare`] made of its bodies.
#[derive(Debug, Default)]
pub struct Prepared {
    pub requests: Vec<Vec<u8>>,
    /// Messages in each request.
    pub counts: Vec<usize>,
    pub outcomes: Vec<BodyOutcome>,
    pub next_seq: u64,
    /// For a queue: (body, index in the body) of the events of each `SendMessageBatch` entry id (one each, an
    /// envelope's all), so that the events of entries SQS refuses can be named; empty for a topic.
    pub entries: Vec<Vec<(usize, usize)>>,
    /// Events in each request (more than its messages when they are envelopes).
    pub events: Vec<usize>,
    /// For a topic: the bytes Pub/Sub bills for each request, before its 1,000-byte minimum ([`billed_size`]).
    pub billed: Vec<usize>,
}

impl Prepared {
    /// Events in all the requests.
    pub fn published(&self) -> usize {
        self.events.iter().sum()
    }
}

/// The one publish preparation: validate (when `codec` is given), enrich and pack `bodies` into
/// `PublishRequest`s for a topic or `SendMessageBatch` bodies for a queue, with one codec call for them all.
/// A whole body's valid events are never split between requests unless they exceed one request's limits
/// (Pub/Sub: 1,000 messages, 9 MB, then the body is refused; SQS: ten messages), so the caller that keeps bodies
/// within them gets all or nothing per body; an `atomic` body with a refused event publishes nothing. For a queue,
/// an event that is not UTF-8 text is refused (SQS carries text only). With `sealing`, the valid events are sealed
/// into envelopes ([`crate::envelope`]) in order, a body's events possibly shared with its neighbours' in one.
pub fn prepare(
    codec: Option<&Codec>,
    bodies: &[Body<'_>],
    target: Target<'_>,
    enrich: &Enrich,
    max_depth: usize,
    max_events: usize,
    sealing: Option<Sealing>,
) -> Result<Prepared, DecodeError> {
    let mut gathered = Gathered::new(bodies, enrich, max_depth, max_events);
    gathered.refuse(codec, target, bodies)?;
    let groups = gathered.groups(bodies, target);
    let Gathered {
        mut outcomes,
        owner,
        events,
        seq,
        ..
    } = gathered;
    let mut prepared = Prepared {
        next_seq: seq,
        ..Prepared::default()
    };
    if let Some(sealing) = sealing {
        let order: Vec<(usize, usize)> = groups.iter().flat_map(|(b, v)| v.iter().map(|&i| (*b, i))).collect();
        let sealed = seal_all(&order.iter().map(|&(_, i)| &events[i]).collect::<Vec<_>>(), &sealing);
        let dictionary = sealing.dictionary.as_ref().map(|d| d.id);
        let sizes: Vec<usize> = sealed.iter().map(|(_, r)| r.len()).collect();
        let queue = matches!(target, Target::Queue(..));
        let texts: Vec<String> = match queue {
            true => sealed.iter().map(|(d, _)| BASE64.encode(d)).collect(),
            false => Vec::new(),
        };
        let markers: Vec<Vec<(&str, String)>> = sizes.iter().map(|&n| markers(n, queue, dictionary)).collect();
        match target {
            Target::Topic(topic) => {
                let mut packer = Packer::new(topic);
                for ((data, _), marks) in sealed.iter().zip(&markers) {
                    let attrs: Vec<Attribute<'_>> = marks.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
                    packer.add(data, &attrs);
                }
                (prepared.requests, prepared.counts) = packer.finish();
                prepared.billed = packer.billed;
            }
            Target::Queue(url, max_bytes) => {
                let entries: Vec<SendEntry<'_>> = texts
                    .iter()
                    .zip(&markers)
                    .map(|(body, marks)| SendEntry {
                        body,
                        attributes: marks.iter().map(|(k, v)| (*k, v.as_str())).collect(),
                        group_id: None,
                        dedup_id: None,
                    })
                    .collect();
                (prepared.requests, prepared.counts) = send_batch_requests_grouped(url, &entries, max_bytes, &[])
                    .into_iter()
                    .unzip();
                prepared.entries = sealed
                    .iter()
                    .map(|(_, r)| order[r.clone()].iter().map(|&(b, i)| (b, owner[i].1)).collect())
                    .collect();
            }
        }
        // Each envelope's request, then each body's requests and each request's events.
        let request_of: Vec<usize> = prepared
            .counts
            .iter()
            .enumerate()
            .flat_map(|(r, &n)| std::iter::repeat_n(r, n))
            .collect();
        prepared.events = vec![0; prepared.counts.len()];
        for (e, (_, range)) in sealed.iter().enumerate() {
            prepared.events[request_of[e]] += range.len();
            for &(b, _) in &order[range.clone()] {
                let r = &mut outcomes[b].requests;
                let start = if r.start == r.end { request_of[e] } else { r.start };
                *r = start..request_of[e] + 1;
            }
        }
        prepared.outcomes = outcomes;
        return Ok(prepared);
    }
    match target {
        Target::Topic(topic) => {
            let mut packer = Packer::new(topic);
            for (b, valid) in &groups {
                if bodies[*b].whole {
                    let bytes: usize = valid.iter().map(|&i| events[i].len() + 16).sum();
                    packer.start_group(valid.len(), bytes);
                }
                let mut first = None; // the request of its first event (an add may have started a new one)
                for &i in valid {
                    packer.add(&events[i], &[]);
                    first.get_or_insert(packer.requests.len());
                }
                outcomes[*b].requests = first.unwrap_or_default()..packer.requests.len() + 1;
            }
            (prepared.requests, prepared.counts) = packer.finish();
            prepared.billed = packer.billed;
        }
        Target::Queue(url, max_bytes) => {
            prepared.entries = groups
                .iter()
                .flat_map(|(b, valid)| valid.iter().map(|&i| vec![(*b, owner[i].1)]))
                .collect();
            let entries = groups.iter().flat_map(|(_, valid)| valid).map(|&i| SendEntry {
                body: std::str::from_utf8(&events[i]).expect("checked by refusals"),
                attributes: Vec::new(),
                group_id: None,
                dedup_id: None,
            });
            let entries: Vec<SendEntry<'_>> = entries.collect();
            let sizes: Vec<usize> = groups.iter().map(|(_, v)| v.len()).collect();
            (prepared.requests, prepared.counts) = send_batch_requests_grouped(url, &entries, max_bytes, &sizes)
                .into_iter()
                .unzip();
            for ((b, _), requests) in groups.iter().zip(requests_of_groups(&prepared.counts, &sizes)) {
                outcomes[*b].requests = requests;
            }
        }
    }
    prepared.events = prepared.counts.clone();
    prepared.outcomes = outcomes;
    Ok(prepared)
}

/// Every body's events found and enriched, with what became of each body so far.
struct Gathered<'m> {
    outcomes: Vec<BodyOutcome>,
    /// (body, index in the body) of each event.
    owner: Vec<(usize, usize)>,
    events: Vec<Cow<'m, [u8]>>,
    /// Refused events.
    bad: Vec<bool>,
    /// The next event-id sequence number.
    seq: u64,
}

impl<'m> Gathered<'m> {
    fn new(bodies: &[Body<'m>], enrich: &Enrich, max_depth: usize, max_events: usize) -> Self {
        let mut g = Gathered {
            outcomes: Vec::with_capacity(bodies.len()),
            owner: Vec::new(),
            events: Vec::new(),
            bad: Vec::new(),
            seq: enrich.next_seq,
        };
        for (b, body) in bodies.iter().enumerate() {
            let mut outcome = BodyOutcome::default();
            match body.found(max_events) {
                Ok(found) => {
                    outcome.events = found.len();
                    for &(i, e) in found.iter() {
                        g.owner.push((b, i));
                        g.events.push(enrich_one(e, enrich, &mut g.seq, max_depth));
                    }
                }
                Err(error) => outcome.error = Some(error),
            }
            g.outcomes.push(outcome);
        }
        g.bad = vec![false; g.events.len()];
        g
    }

    /// The refused events, each a reject of its body; a JSON array with a malformed element is refused whole (it
    /// is not JSON, as a JSON parser would say).
    fn refuse(&mut self, codec: Option<&Codec>, target: Target<'_>, bodies: &[Body<'_>]) -> Result<(), DecodeError> {
        for mut r in refusals(codec, &self.events, target)? {
            self.bad[r.index] = true;
            let (b, i) = self.owner[r.index];
            r.index = i;
            self.outcomes[b].rejects.push(r);
        }
        for (o, body) in self.outcomes.iter_mut().zip(bodies) {
            let array = body.is_array();
            if let Some(r) = o
                .rejects
                .iter()
                .find(|r| array && r.code == crate::RejectCode::InvalidJson)
            {
                o.error = Some((
                    400,
                    format!("the body is not valid JSON: element {}: {}", r.index, r.message),
                ));
            }
        }
        Ok(())
    }

    /// The valid events of each body that publishes: (body, event positions). A whole body grown past one
    /// `Publish` call is refused: published whole or not at all holds only within one call, so a body that
    /// enrichment or a transform grew past one is refused before anything of it is sent.
    fn groups(&mut self, bodies: &[Body<'_>], target: Target<'_>) -> Vec<(usize, Vec<usize>)> {
        let mut groups = Vec::new();
        let mut e = 0;
        for (b, body) in bodies.iter().enumerate() {
            let outcome = &mut self.outcomes[b];
            let range = e..e + outcome.events;
            e = range.end;
            if outcome.error.is_some() || (body.atomic && !outcome.rejects.is_empty()) {
                continue;
            }
            let valid: Vec<usize> = range.filter(|&i| !self.bad[i]).collect();
            let too_large = || over_one_request(&valid, &self.events);
            if let (Target::Topic(_), true, Some(why)) = (target, body.whole, too_large()) {
                outcome.error = Some((413, why));
                continue;
            }
            if !valid.is_empty() {
                groups.push((b, valid));
            }
        }
        groups
    }
}

/// The requests holding each group of consecutive entries (`sizes`), given the entries in each request.
fn requests_of_groups(counts: &[usize], sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let ends: Vec<usize> = counts
        .iter()
        .scan(0, |total, &c| {
            *total += c;
            Some(*total)
        })
        .collect();
    let mut start = 0;
    sizes
        .iter()
        .map(|&n| {
            let end = start + n;
            let range = ends.partition_point(|&e| e <= start)..ends.partition_point(|&e| e < end) + 1;
            start = end;
            range
        })
        .collect()
}

/// The events `codec` refuses and, for a queue, those that are not UTF-8 text (SQS carries text only), in event
/// order (`index`: the position in `events`): the one check both preparations make.
fn refusals(codec: Option<&Codec>, events: &[Cow<'_, [u8]>], target: Target<'_>) -> Result<Vec<Reject>, DecodeError> {
    let mut rejects = match codec {
        Some(codec) => codec.decode_messages(events)?.rejects,
        None => Vec::new(),
    };
    if matches!(target, Target::Queue(..)) {
        let mut bad = vec![false; events.len()];
        for r in &rejects {
            bad[r.index] = true;
        }
        rejects.extend(
            (0..events.len())
                .filter(|&i| !bad[i] && std::str::from_utf8(&events[i]).is_err())
                .map(not_text),
        );
        rejects.sort_by_key(|r| r.index);
    }
    Ok(rejects)
}

/// Why the events at `valid` cannot go in one `Publish` call (its message count or bytes), if they cannot.
fn over_one_request(valid: &[usize], events: &[Cow<'_, [u8]>]) -> Option<String> {
    let bytes: usize = valid.iter().map(|&i| events[i].len() + 16).sum();
    if valid.len() > MAX_REQUEST_MESSAGES || bytes > MAX_REQUEST_BYTES {
        Some(format!(
            "the request's {} events take {bytes} bytes once prepared (event_id, ingest_time, the transform); one \
             publish takes at most {MAX_REQUEST_MESSAGES} events and {MAX_REQUEST_BYTES} bytes, and a request is \
             published whole or not at all: send fewer events per request",
            valid.len()
        ))
    } else {
        None
    }
}

fn not_text(index: usize) -> Reject {
    Reject {
        index,
        code: crate::RejectCode::InvalidUtf8,
        path: String::new(),
        message: "SQS carries UTF-8 text only".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TableSchema;
    use crate::CodecOptions;

    fn enrich() -> Enrich {
        Enrich {
            event_id_prefix: Some("ab".into()),
            next_seq: 7,
            ingest_time: Some("2026-11-26T00:00:00Z".into()),
            transform: None,
        }
    }

    #[test]
    fn adds_only_missing_fields() {
        let mut seq = 7;
        let e = enrich();
        let out = enrich_one(br#" {"x":1}"#, &e, &mut seq, 10);
        assert_eq!(
            &*out,
            br#" {"event_id":"ab0000000000000007","ingest_time":"2026-11-26T00:00:00Z","x":1}"#
        );
        assert_eq!(seq, 8);
        let out = enrich_one(br#"{"event_id":"mine"}"#, &e, &mut seq, 10);
        assert_eq!(&*out, br#"{"ingest_time":"2026-11-26T00:00:00Z","event_id":"mine"}"#);
        let out = enrich_one(b"{ }", &e, &mut seq, 10);
        assert_eq!(
            &*out,
            br#"{"event_id":"ab0000000000000008","ingest_time":"2026-11-26T00:00:00Z" }"#
        );
        assert!(matches!(enrich_one(b"[1]", &e, &mut seq, 10), Cow::Borrowed(_)));
    }

    #[test]
    fn validates_and_packs_requests() {
        let schema = TableSchema::from_bigquery_json(
            r#"[{"name":"event_id","type":"STRING","mode":"REQUIRED"},
                {"name":"ingest_time","type":"TIMESTAMP"},{"name":"n","type":"INT64","mode":"REQUIRED"}]"#,
        )
        .unwrap();
        let codec = Codec::new(schema, CodecOptions::default());
        let mut msgs: Vec<Vec<u8>> = (0..2500).map(|i| format!(r#"{{"n":{i}}}"#).into_bytes()).collect();
        msgs[3] = br#"{"n":"three"}"#.to_vec();
        let batch = [Body::batch(msgs.iter().map(|m| m.as_slice()).enumerate())];
        let topic = Target::Topic("projects/p/topics/t");
        let p = prepare(Some(&codec), &batch, topic, &enrich(), 10, usize::MAX, None).unwrap();
        let rejects = &p.outcomes[0].rejects;
        assert_eq!(rejects.len(), 1);
        assert_eq!((rejects[0].index, rejects[0].path.as_str()), (3, "n"));
        assert_eq!(p.outcomes[0].requests, 0..3);
        assert_eq!(p.counts, vec![1000, 1000, 499]);
        assert_eq!(p.published(), 2499);
        assert_eq!(p.next_seq, 7 + 2500);
        assert!(p.requests[0].starts_with(b"\x0a\x13projects/p/topics/t\x12"));
    }

    #[test]
    fn packs_send_message_batches_for_a_queue() {
        let msgs: Vec<Vec<u8>> = vec![
            br#"{"n":1}"#.to_vec(),
            b"{\"n\":\"\xff\"}".to_vec(),
            br#"{"n":3}"#.to_vec(),
        ];
        let target = Target::Queue("http://q/1/a", 1_000_000);
        let batch = [Body::batch(msgs.iter().map(|m| m.as_slice()).enumerate())];
        let p = prepare(None, &batch, target, &Enrich::default(), 10, usize::MAX, None).unwrap();
        let rejects = &p.outcomes[0].rejects;
        assert_eq!((rejects.len(), rejects[0].index), (1, 1));
        assert_eq!(
            (p.counts.clone(), p.entries.clone()),
            (vec![2], vec![vec![(0, 0)], vec![(0, 2)]])
        );
        let v: serde_json::Value = serde_json::from_slice(&p.requests[0]).unwrap();
        assert_eq!(v["Entries"][1]["MessageBody"], r#"{"n":3}"#);
        assert_eq!(v["Entries"][1]["Id"], "1");
    }

    #[test]
    fn packs_attributes_as_map_entries() {
        let attrs: [Attribute<'_>; 1] = [(b"k", b"v")];
        let (requests, counts) = pack_requests("t", [(&b"d"[..], &attrs[..])].into_iter());
        assert_eq!(counts, vec![1]);
        let message = [0x0a, 1, b'd', 0x12, 6, 0x0a, 1, b'k', 0x12, 1, b'v'];
        let mut want = vec![0x0a, 1, b't', 0x12, message.len() as u8];
        want.extend_from_slice(&message);
        assert_eq!(requests, vec![want]);
    }

    #[test]
    fn bodies_are_packed_whole_and_atomic_ones_all_or_nothing() {
        let schema = TableSchema::from_bigquery_json(r#"[{"name":"id","type":"STRING","mode":"REQUIRED"}]"#);
        let codec = Codec::new(schema.unwrap(), CodecOptions::default());
        let bodies: Vec<Body<'_>> = vec![
            Body::http(b"[{\"id\":\"a\"}, {\"id\":1}]", BodyKind::Json, false),
            Body::http(b"{\"id\":\"b\"}\n{\"id\":2}\n", BodyKind::Ndjson, true),
            Body::http(b"[{\"id\":\"c\"}, {\"id\"]", BodyKind::Json, false),
            Body::http(b"{\"id\":\"d\"}", BodyKind::Json, false),
        ];
        let prepared = prepare(
            Some(&codec),
            &bodies,
            Target::Topic("projects/p/topics/t"),
            &Enrich::default(),
            64,
            1000,
            None,
        )
        .unwrap();
        let (requests, counts, outcomes) = (prepared.requests, prepared.counts, prepared.outcomes);
        assert_eq!((requests.len(), counts), (1, vec![2])); // "a" and "d": one request
        assert_eq!(outcomes.iter().map(|o| o.events).collect::<Vec<_>>(), vec![2, 2, 0, 1]);
        assert_eq!(outcomes[0].rejects[0].index, 1);
        assert_eq!(outcomes[1].rejects[0].index, 1);
        assert!(outcomes[1].requests.is_empty()); // atomic with a reject: nothing of it
        assert_eq!(outcomes[2].error.as_ref().map(|e| e.0), Some(400));
        let many = [Body::http(b"[1, 2, 3]", BodyKind::Json, false)];
        let too_many = prepare(Some(&codec), &many, Target::Topic("t"), &Enrich::default(), 64, 2, None).unwrap();
        let too_many = too_many.outcomes;
        assert_eq!(
            too_many[0].error,
            Some((413, "3 events in one request; at most 2".to_string()))
        );
        assert_eq!(
            (outcomes[0].requests.clone(), outcomes[3].requests.clone()),
            (0..1, 0..1)
        );
    }

    #[test]
    fn bodies_for_a_queue_keep_to_their_send_message_batches() {
        let bodies: Vec<Body<'_>> = vec![
            Body::http(
                b"[{\"n\":1},{\"n\":2},{\"n\":3},{\"n\":4},{\"n\":5},{\"n\":6},{\"n\":6}]",
                BodyKind::Json,
                false,
            ),
            Body::http(
                b"{\"n\":7}\n{\"n\":\"\xff\"}\n{\"n\":9}\n{\"n\":10}\n{\"n\":11}\n",
                BodyKind::Ndjson,
                false,
            ),
            Body::http(b"[{\"n\":12},{\"n\":13}]", BodyKind::Json, false),
        ];
        let p = prepare(
            None,
            &bodies,
            Target::Queue("http://q/1/a", 1_000_000),
            &Enrich::default(),
            64,
            1000,
            None,
        );
        let p = p.unwrap();
        assert_eq!(p.counts, vec![7, 6]); // the second body's four valid events start a new batch
        let ranges: Vec<_> = p.outcomes.iter().map(|o| o.requests.clone()).collect();
        assert_eq!(ranges, vec![0..1, 1..2, 1..2]);
        assert_eq!(
            (p.outcomes[1].rejects[0].index, p.outcomes[1].rejects[0].code),
            (1, crate::RejectCode::InvalidUtf8)
        );
        assert_eq!(p.entries[7..9], [vec![(1, 0)], vec![(1, 2)]]);
        let v: serde_json::Value = serde_json::from_slice(&p.requests[1]).unwrap();
        assert_eq!(
            (v["Entries"][1]["Id"].as_str(), v["Entries"][1]["MessageBody"].as_str()),
            (Some("8"), Some("{\"n\":9}"))
        );
    }

    #[test]
    fn a_body_grown_past_one_publish_is_refused_whole() {
        // Under the HTTP size check as sent, over one Publish once each event gets its event_id and ingest_time.
        let event = format!("{{\"pad\":\"{}\"}}", "x".repeat(8_900));
        let body = vec![event.as_str(); 1000].join("\n");
        let small = "{\"pad\":\"y\"}";
        let bodies: Vec<Body<'_>> = vec![
            Body::http(body.as_bytes(), BodyKind::Ndjson, false),
            Body::http(small.as_bytes(), BodyKind::Json, false),
        ];
        let enrich = Enrich {
            event_id_prefix: Some("0123456789abcdef".into()),
            next_seq: 0,
            ingest_time: Some("2026-12-06T00:00:00.000000Z".into()),
            transform: None,
        };
        assert!(body.len() + 16 * 1000 < MAX_REQUEST_BYTES);
        let p = prepare(
            None,
            &bodies,
            Target::Topic("projects/p/topics/t"),
            &enrich,
            64,
            1000,
            None,
        )
        .unwrap();
        let error = p.outcomes[0].error.clone().expect("refused");
        assert_eq!(error.0, 413);
        assert!(error.1.contains("published whole or not at all"), "{}", error.1);
        assert!(p.outcomes[0].requests.is_empty());
        assert_eq!(p.counts, vec![1]); // only the small body goes out
        assert_eq!(p.outcomes[1].requests, 0..1);
    }

    #[test]
    fn sealed_bodies_share_envelopes_and_name_their_requests() {
        let bodies: Vec<Body<'_>> = vec![
            Body::http(b"[{\"n\":1},{\"n\":2},{\"n\":3}]", BodyKind::Json, false),
            Body::http(b"{\"n\":4}\n{\"n\":\"\xff\"}\n{\"n\":6}\n", BodyKind::Ndjson, false),
        ];
        let sealing = Sealing {
            max_bytes: 24,
            max_events: 10,
            level: 3,
            dictionary: None,
        };
        for target in [
            Target::Topic("projects/p/topics/t"),
            Target::Queue("http://q/1/a", 1_000_000),
        ] {
            let p = prepare(
                None,
                &bodies,
                target,
                &Enrich::default(),
                64,
                1000,
                Some(sealing.clone()),
            )
            .unwrap();
            let queue = matches!(target, Target::Queue(..)); // it refuses the event that is not text
            let events = if queue { 5 } else { 6 };
            assert_eq!(p.published(), events, "{target:?}");
            assert_eq!(p.counts, vec![if queue { 2 } else { 3 }], "{target:?}"); // 24 bytes each
            assert_eq!(p.events, vec![events]);
            assert!(p.outcomes.iter().all(|o| o.requests == (0..1)));
            if let Target::Queue(..) = target {
                assert_eq!(p.entries, vec![vec![(0, 0), (0, 1), (0, 2)], vec![(1, 0), (1, 2)]]);
                let v: serde_json::Value = serde_json::from_slice(&p.requests[0]).unwrap();
                let entry = &v["Entries"][1];
                assert_eq!(
                    entry["MessageAttributes"]["content-transfer-encoding"]["StringValue"],
                    "base64"
                );
                let data = BASE64.decode(entry["MessageBody"].as_str().unwrap()).unwrap();
                let mut out = Vec::new();
                crate::envelope::decompress(&data, 100, &mut out, None).unwrap();
                assert_eq!(out, b"{\"n\":4}\n{\"n\":6}\n");
            }
        }
    }
}
