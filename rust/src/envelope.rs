//! Envelopes: many events in one message — NDJSON compressed with zstd, marked by attributes — sealed by the
//! publishers ([`seal`]) and opened by every reader of received messages ([`open`]), one call per batch, before
//! the decode. Each event becomes a row of its own that keeps its message's id, ack id, attributes (without the
//! envelope's markers) and publish time, plus its line in the envelope (`event_index`). An envelope that cannot be
//! opened stays one row, refused with its reason ([`Refused`]): its dead letter holds it whole.
//!
//! Markers: `content-encoding: zstd`, `content-type: application/x-ndjson`, `event-count: N` (checked when
//! present), on SQS, whose bodies are text, `content-transfer-encoding: base64`, and for an envelope compressed
//! with a dictionary ([`crate::dictionary`]), `content-dictionary: ID`. A message without `content-encoding` (or
//! with `identity`) is a plain message: one event.

use std::cell::RefCell;
use std::io::Read;
use std::sync::Arc;

use base64::Engine;

use crate::dictionary::{self, Dictionary};
use crate::packed::Packer;
use crate::pubsub::{MessageSpans, Refused, Span};
use crate::received::{slice, Received};
use crate::RejectCode;

pub const CONTENT_ENCODING: &str = "content-encoding";
pub const CONTENT_TYPE: &str = "content-type";
pub const EVENT_COUNT: &str = "event-count";
pub const TRANSFER_ENCODING: &str = "content-transfer-encoding";
pub const DICTIONARY: &str = "content-dictionary";
pub const ZSTD: &str = "zstd";
pub const NDJSON: &str = "application/x-ndjson";
pub const BASE64: &str = "base64";

/// The attributes an envelope carries about itself: not copied to its events.
const MARKERS: [&str; 5] = [
    CONTENT_ENCODING,
    CONTENT_TYPE,
    EVENT_COUNT,
    TRANSFER_ENCODING,
    DICTIONARY,
];

/// What one envelope may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Decompressed bytes.
    pub max_bytes: usize,
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_events: 100_000,
        }
    }
}

/// `events` as one envelope's data: NDJSON (one event a line) compressed into one zstd frame at `level`, with
/// `dictionary` when given (the frame states its decompressed size and the dictionary's id).
pub fn seal<E: AsRef<[u8]>>(events: &[E], level: i32, dictionary: Option<&Dictionary>) -> Vec<u8> {
    let size: usize = events.iter().map(|e| e.as_ref().len() + 1).sum();
    let mut ndjson = Vec::with_capacity(size);
    for e in events {
        ndjson.extend_from_slice(e.as_ref());
        ndjson.push(b'\n');
    }
    let sealed = match dictionary {
        None => zstd::bulk::compress(&ndjson, level),
        Some(d) => {
            zstd::bulk::Compressor::with_prepared_dictionary(&d.encoder(level)).and_then(|mut c| c.compress(&ndjson))
        }
    };
    sealed.expect("compressing a buffer in memory cannot fail")
}

/// How a publisher seals events into envelopes.
#[derive(Debug, Clone)]
pub struct Sealing {
    /// NDJSON bytes per envelope before compression (an event larger than this is an envelope of its own).
    pub max_bytes: usize,
    /// Events per envelope, within what a reader's default [`Limits`] open.
    pub max_events: usize,
    /// The zstd level.
    pub level: i32,
    /// A dictionary to compress with (marked `content-dictionary: ID`).
    pub dictionary: Option<Arc<Dictionary>>,
}

impl Default for Sealing {
    fn default() -> Self {
        Sealing {
            max_bytes: 1 << 20,
            max_events: 10_000,
            level: 3,
            dictionary: None,
        }
    }
}

/// `events` sealed in order into envelopes within `sealing`'s bounds: each envelope's data and the range of
/// `events` it holds.
pub fn seal_all<E: AsRef<[u8]>>(events: &[E], sealing: &Sealing) -> Vec<(Vec<u8>, std::ops::Range<usize>)> {
    let dictionary = sealing.dictionary.as_deref();
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in events.iter().enumerate() {
        let size = e.as_ref().len() + 1;
        if i > start && (bytes + size > sealing.max_bytes || i - start == sealing.max_events) {
            out.push((seal(&events[start..i], sealing.level, dictionary), start..i));
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < events.len() {
        out.push((seal(&events[start..], sealing.level, dictionary), start..events.len()));
    }
    out
}

/// The attributes marking a sealed envelope of `count` events (`base64`: its data is base64 text, for SQS;
/// `dictionary`: the id of the dictionary it was compressed with).
pub fn markers(count: usize, base64: bool, dictionary: Option<u32>) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (CONTENT_ENCODING, ZSTD.to_owned()),
        (CONTENT_TYPE, NDJSON.to_owned()),
        (EVENT_COUNT, count.to_string()),
    ];
    if base64 {
        out.push((TRANSFER_ENCODING, BASE64.to_owned()));
    }
    if let Some(id) = dictionary {
        out.push((DICTIONARY, id.to_string()));
    }
    out
}

/// One row of a batch once its envelopes are opened.
#[derive(Debug)]
pub enum Row {
    /// The message at this index, as it is (a plain message).
    Keep(usize),
    /// The message at this index, refused unread.
    Refuse(usize, Refused),
    /// An event of an envelope: its spans in `Opened::buffers[buffer]`.
    Event(usize, MessageSpans),
}

/// A batch with its envelopes opened: one buffer per envelope (its events, then its message's fields once).
#[derive(Debug, Default)]
pub struct Opened {
    pub buffers: Vec<Vec<u8>>,
    pub rows: Vec<Row>,
}

/// How one message is encoded, read from its attributes.
enum Encoding<'a> {
    Plain,
    Envelope {
        base64: bool,
        count: Option<&'a [u8]>,
        dictionary: Option<&'a [u8]>,
    },
    Unsupported(&'a [u8]),
}

fn encoding<'a>(buf: &'a [u8], m: &MessageSpans) -> Encoding<'a> {
    let attr = |name: &str| {
        m.attributes
            .iter()
            .find(|&&(k, _)| slice(buf, k) == name.as_bytes())
            .map(|&(_, v)| slice(buf, v))
    };
    match attr(CONTENT_ENCODING) {
        None | Some(b"identity") | Some(b"") => Encoding::Plain,
        Some(b"zstd") => Encoding::Envelope {
            base64: attr(TRANSFER_ENCODING) == Some(BASE64.as_bytes()),
            count: attr(EVENT_COUNT),
            dictionary: attr(DICTIONARY),
        },
        Some(other) => Encoding::Unsupported(other),
    }
}

/// Whether any message is an envelope (or claims an encoding): when none is, the batch is read as it is.
pub fn any_envelope(messages: &[Received<'_>]) -> bool {
    messages
        .iter()
        .any(|&(buf, m)| !matches!(encoding(buf, m), Encoding::Plain))
}

/// What `messages` hold once their envelopes are opened, without opening them: events (an envelope's
/// `event-count`, or 1 without one) and their bytes (an envelope's decompressed size from its frame header, or its
/// data's size when the header does not state it). What a batch's row and byte limits count.
pub fn contents(messages: &[Received<'_>]) -> (usize, usize) {
    let (mut events, mut bytes) = (0, 0);
    for &(buf, m) in messages {
        let data = slice(buf, m.data);
        let (n, size) = match encoding(buf, m) {
            Encoding::Envelope { base64, count, .. } if m.refused.is_none() => (
                count.and_then(number).unwrap_or(1),
                stated_size(data, base64).unwrap_or(data.len()),
            ),
            _ => (1, data.len()),
        };
        events += n;
        bytes += size;
    }
    (events, bytes)
}

/// The decompressed size a zstd frame's header states (`base64`: the data is base64 text).
fn stated_size(data: &[u8], base64: bool) -> Option<usize> {
    let header;
    let frame = if base64 {
        // A frame header is at most 18 bytes: the first 24 base64 characters hold it.
        header = base64::engine::general_purpose::STANDARD
            .decode(&data[..data.len().min(24)])
            .ok()?;
        &header[..]
    } else {
        data
    };
    let size = zstd::zstd_safe::get_frame_content_size(frame).ok()??;
    usize::try_from(size).ok()
}

/// An attribute's value read as a number (`event-count`, `content-dictionary`), spaces around it allowed.
fn number<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

fn refused(code: RejectCode, message: String) -> Refused {
    Refused { code, message }
}

thread_local! {
    /// One decompression context per thread, reused envelope after envelope rather than one made (and its tables
    /// and buffers allocated) for each.
    static DCTX: RefCell<zstd::zstd_safe::DCtx<'static>> = RefCell::new(zstd::zstd_safe::DCtx::create());
}

/// Decompress `data` (concatenated zstd frames, made with `dictionary` if given), at most `max_bytes` of it.
pub fn decompress(
    data: &[u8],
    max_bytes: usize,
    out: &mut Vec<u8>,
    dictionary: Option<&Dictionary>,
) -> Result<(), Refused> {
    decompress_with_room(data, max_bytes, out, dictionary, 0)
}

/// [`decompress`], leaving `room` bytes of capacity after the output when its size is known (what the caller
/// appends next, without growing the buffer again).
fn decompress_with_room(
    data: &[u8],
    max_bytes: usize,
    out: &mut Vec<u8>,
    dictionary: Option<&Dictionary>,
    room: usize,
) -> Result<(), Refused> {
    if let Some(done) = decompress_one_frame(data, max_bytes, out, dictionary, room) {
        return done;
    }
    let start = out.len();
    let decoder = match dictionary {
        None => zstd::stream::read::Decoder::with_buffer(data),
        Some(d) => zstd::stream::read::Decoder::with_prepared_dictionary(data, &d.decoder),
    }
    .map_err(|e| refused(RejectCode::BadEnvelope, format!("cannot start a zstd decoder: {e}")))?;
    let read = decoder.take(max_bytes as u64 + 1).read_to_end(out);
    match read {
        Ok(_) if out.len() - start > max_bytes => Err(refused(
            RejectCode::EnvelopeTooLarge,
            format!("the envelope decompresses past {max_bytes} bytes"),
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(refused(
            RejectCode::BadEnvelope,
            "the zstd frame is truncated".to_owned(),
        )),
        Err(e) => Err(refused(RejectCode::BadEnvelope, format!("not valid zstd: {e}"))),
    }
}

/// `data` decompressed in one call with this thread's context when it is a single frame that states its size (as
/// the publishers here and `zstd`'s one-shot API write them) into an empty `out`: exactly that much is allocated,
/// and a frame stating more than `max_bytes` is refused before anything is decompressed. `None`: anything else
/// (several frames, no stated size, a truncated frame), left to the streaming decoder.
fn decompress_one_frame(
    data: &[u8],
    max_bytes: usize,
    out: &mut Vec<u8>,
    dictionary: Option<&Dictionary>,
    room: usize,
) -> Option<Result<(), Refused>> {
    if !out.is_empty() || zstd::zstd_safe::find_frame_compressed_size(data).ok()? != data.len() {
        return None;
    }
    let size = zstd::zstd_safe::get_frame_content_size(data).ok()??;
    if size > max_bytes as u64 {
        let why = format!("the envelope decompresses past {max_bytes} bytes (its frame states {size})");
        return Some(Err(refused(RejectCode::EnvelopeTooLarge, why)));
    }
    out.reserve_exact(size as usize + room);
    let done = DCTX.with(|context| {
        let mut context = context.borrow_mut();
        match dictionary {
            None => context.decompress(out, data),
            Some(d) => context.decompress_using_ddict(out, data, d.decoder.as_ddict()),
        }
    });
    Some(match done {
        Ok(_) => Ok(()),
        Err(code) => Err(refused(
            RejectCode::BadEnvelope,
            format!("not valid zstd: {}", zstd::zstd_safe::get_error_name(code)),
        )),
    })
}

/// The dictionary an envelope was compressed with: the one its `content-dictionary` attribute names, else the one
/// its frame header names; `None` for a frame made without one.
fn dictionary_of(compressed: &[u8], named: Option<&[u8]>) -> Result<Option<Arc<Dictionary>>, Refused> {
    let id = match named {
        Some(text) => number::<u32>(text).ok_or_else(|| {
            let why = format!(
                "{DICTIONARY} {:?} is not a zstd dictionary id (a number)",
                String::from_utf8_lossy(text)
            );
            refused(RejectCode::BadEnvelope, why)
        })?,
        None => match zstd::zstd_safe::get_dict_id_from_frame(compressed) {
            Some(id) => id.get(),
            None => return Ok(None),
        },
    };
    match dictionary::get(id) {
        Some(d) => Ok(Some(d)),
        None => Err(refused(
            RejectCode::UnknownDictionary,
            format!("the envelope was compressed with zstd dictionary {id}, which this reader has not loaded"),
        )),
    }
}

/// The spans of the events (non-blank lines, `\r\n` allowed) in `buf[start..]`, with their line numbers.
fn lines(buf: &[u8], start: usize) -> Vec<(u32, Span)> {
    let mut out = Vec::new();
    let mut pos = start;
    let mut line = 0u32;
    while pos < buf.len() {
        let end = memchr::memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
        let mut e = end;
        if e > pos && buf[e - 1] == b'\r' {
            e -= 1;
        }
        if buf[pos..e].iter().any(|c| !c.is_ascii_whitespace()) {
            out.push((line, (pos as u32, e as u32)));
        }
        line += 1;
        pos = end + 1;
    }
    out
}

/// One envelope opened into a buffer of its own: its events' spans, or why it cannot be opened.
fn open_one(
    (buf, m): Received<'_>,
    (base64, count, named): (bool, Option<&[u8]>, Option<&[u8]>),
    limits: Limits,
) -> Result<(Vec<u8>, Vec<MessageSpans>), Refused> {
    let data = slice(buf, m.data);
    let decoded;
    let compressed = if base64 {
        decoded = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| refused(RejectCode::BadEnvelope, format!("the body is not base64: {e}")))?;
        &decoded[..]
    } else {
        data
    };
    let dictionary = dictionary_of(compressed, named)?;
    // The message's fields, copied after the events once: room for them now, not a second allocation then.
    let fields = [m.ack_id, m.message_id, m.ordering_key]
        .into_iter()
        .chain(m.attributes.iter().flat_map(|&(k, v)| [k, v]));
    let room = fields.map(|(a, b)| (b - a) as usize).sum();
    let mut out = Vec::new();
    decompress_with_room(compressed, limits.max_bytes, &mut out, dictionary.as_deref(), room)?;
    if out.len() > u32::MAX as usize / 2 {
        return Err(refused(
            RejectCode::EnvelopeTooLarge,
            "the envelope is over 2 GiB".to_owned(),
        ));
    }
    let events = lines(&out, 0);
    if events.len() > limits.max_events {
        return Err(refused(
            RejectCode::EnvelopeTooManyEvents,
            format!("{} events in the envelope; at most {}", events.len(), limits.max_events),
        ));
    }
    if let Some(declared) = count {
        if number::<usize>(declared) != Some(events.len()) {
            let text = String::from_utf8_lossy(declared);
            return Err(refused(
                RejectCode::BadEnvelope,
                format!("{EVENT_COUNT} says {text:?}, the envelope holds {}", events.len()),
            ));
        }
    }
    let mut packer = Packer { buf: out };
    let mut shared = MessageSpans {
        ack_id: packer.put(slice(buf, m.ack_id)),
        message_id: packer.put(slice(buf, m.message_id)),
        ordering_key: packer.put(slice(buf, m.ordering_key)),
        publish_time_us: m.publish_time_us,
        delivery_attempt: m.delivery_attempt,
        ..MessageSpans::default()
    };
    for &(k, v) in &m.attributes {
        let key = slice(buf, k);
        if !MARKERS.iter().any(|name| name.as_bytes() == key) {
            shared.attributes.push((packer.put(key), packer.put(slice(buf, v))));
        }
    }
    let spans = events
        .into_iter()
        .map(|(line, data)| MessageSpans {
            data,
            event_index: line,
            size: data.1 - data.0,
            ..shared.clone()
        })
        .collect();
    Ok((packer.buf, spans))
}

/// `messages` with every envelope opened into its events (`None`: there is none; read the batch as it is).
pub fn open(messages: &[Received<'_>], limits: Limits) -> Option<Opened> {
    if !any_envelope(messages) {
        return None;
    }
    let mut opened = Opened::default();
    for (i, &(buf, m)) in messages.iter().enumerate() {
        if m.refused.is_some() {
            opened.rows.push(Row::Keep(i));
            continue;
        }
        match encoding(buf, m) {
            Encoding::Plain => opened.rows.push(Row::Keep(i)),
            Encoding::Unsupported(name) => {
                let why = format!(
                    "content-encoding {:?} is not supported (zstd, identity)",
                    String::from_utf8_lossy(name)
                );
                opened.rows.push(Row::Refuse(i, refused(RejectCode::BadEnvelope, why)));
            }
            Encoding::Envelope {
                base64,
                count,
                dictionary,
            } => match open_one((buf, m), (base64, count, dictionary), limits) {
                Ok((buffer, events)) => {
                    let b = opened.buffers.len();
                    opened.buffers.push(buffer);
                    opened.rows.extend(events.into_iter().map(|e| Row::Event(b, e)));
                }
                Err(why) => opened.rows.push(Row::Refuse(i, why)),
            },
        }
    }
    Some(opened)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::{pack, MessageParts};

    fn message<'a>(data: &'a [u8], attributes: Vec<(&'a [u8], &'a [u8])>, id: &'a [u8]) -> MessageParts<'a> {
        MessageParts {
            data,
            attributes,
            message_id: id,
            publish_time_us: 7,
            ordering_key: b"",
        }
    }

    fn opened(parts: &[MessageParts<'_>], limits: Limits) -> (Vec<u8>, Vec<MessageSpans>, Option<Opened>) {
        let (buf, spans) = pack(parts);
        let received: Vec<Received<'_>> = spans.iter().map(|s| (&buf[..], s)).collect();
        let opened = open(&received, limits);
        (buf.clone(), spans.clone(), opened)
    }

    #[test]
    fn plain_batches_are_left_alone() {
        let (_, _, o) = opened(&[message(b"{}", vec![], b"1")], Limits::default());
        assert!(o.is_none());
    }

    #[test]
    fn events_keep_their_message_and_line() {
        let sealed = seal(&[&b"{\"a\":1}"[..], b"{\"a\":2}"], 3, None);
        let markers = markers(2, false, None);
        let mut attrs: Vec<(&[u8], &[u8])> = markers.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
        attrs.push((b"shop", b"s1"));
        let (_, _, o) = opened(
            &[message(b"{\"a\":0}", vec![], b"1"), message(&sealed, attrs, b"2")],
            Limits::default(),
        );
        let o = o.unwrap();
        assert!(matches!(o.rows[0], Row::Keep(0)));
        let events: Vec<(u32, Vec<u8>, Vec<u8>, usize)> = o.rows[1..]
            .iter()
            .map(|r| match r {
                Row::Event(b, s) => {
                    let buf = &o.buffers[*b];
                    (
                        s.event_index,
                        slice(buf, s.data).to_vec(),
                        slice(buf, s.message_id).to_vec(),
                        s.attributes.len(),
                    )
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            events,
            [
                (0, b"{\"a\":1}".to_vec(), b"2".to_vec(), 1),
                (1, b"{\"a\":2}".to_vec(), b"2".to_vec(), 1)
            ]
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_counted() {
        let mut buf = b"{\"a\":1}\r\n\n  \n{\"a\":2}".to_vec();
        let l = lines(&buf, 0);
        assert_eq!(l, [(0, (0, 7)), (3, (13, 20))]);
        buf.push(b'\n');
        assert_eq!(lines(&buf, 0).len(), 2);
    }

    fn refusal(data: &[u8], attrs: Vec<(&[u8], &[u8])>, limits: Limits) -> Refused {
        let (_, _, o) = opened(&[message(data, attrs, b"1")], limits);
        match o.unwrap().rows.pop().unwrap() {
            Row::Refuse(0, why) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_envelopes_are_refused_with_their_code() {
        let zstd: Vec<(&[u8], &[u8])> = vec![(b"content-encoding", b"zstd")];
        let sealed = seal(&[&b"{\"a\":1}"[..]; 100], 3, None);
        let why = refusal(&sealed[..sealed.len() - 3], zstd.clone(), Limits::default());
        assert_eq!(why.code, RejectCode::BadEnvelope, "{}", why.message);
        assert!(why.message.contains("truncated"), "{}", why.message);
        assert_eq!(
            refusal(b"not zstd", zstd.clone(), Limits::default()).code,
            RejectCode::BadEnvelope
        );
        let gzip = refusal(b"x", vec![(b"content-encoding", b"gzip")], Limits::default());
        assert!(gzip.message.contains("\"gzip\" is not supported"), "{}", gzip.message);
        let few = Limits {
            max_bytes: 1 << 20,
            max_events: 99,
        };
        assert_eq!(
            refusal(&sealed, zstd.clone(), few).code,
            RejectCode::EnvelopeTooManyEvents
        );
        let mut counted = zstd.clone();
        counted.push((b"event-count", b"99"));
        let why = refusal(&sealed, counted, Limits::default());
        assert_eq!(why.code, RejectCode::BadEnvelope);
        assert!(why.message.contains("holds 100"), "{}", why.message);
    }

    #[test]
    fn contents_count_events_and_stated_sizes() {
        let sealed = seal(&[b"{}".as_slice(), b"{\"a\": 1}"], 3, None);
        let text = base64::engine::general_purpose::STANDARD.encode(&sealed);
        let (count, b64) = (b"2".as_slice(), b"base64".as_slice());
        let parts = [
            message(b"{}", vec![], b"p"),
            message(
                &sealed,
                vec![(b"content-encoding", b"zstd"), (b"event-count", count)],
                b"e",
            ),
            message(
                text.as_bytes(),
                vec![(b"content-encoding", b"zstd"), (b"content-transfer-encoding", b64)],
                b"t",
            ),
        ];
        let (buf, spans) = pack(&parts);
        let received: Vec<Received<'_>> = spans.iter().map(|m| (&buf[..], m)).collect();
        // plain: 1 event of 2 bytes; enveloped: 2 events of 3 + 9 bytes; without a count: 1 event, 12 bytes.
        assert_eq!(contents(&received), (1 + 2 + 1, 2 + 12 + 12));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![b' '; 50 << 20];
        let bomb = zstd::bulk::compress(&zeros, 19).unwrap();
        assert!(bomb.len() < 10_000, "{}", bomb.len());
        let limits = Limits {
            max_bytes: 1 << 20,
            max_events: 10,
        };
        let why = refusal(&bomb, vec![(b"content-encoding", b"zstd")], limits);
        assert_eq!(why.code, RejectCode::EnvelopeTooLarge);
        assert!(why.message.contains("its frame states 52428800"), "{}", why.message); // refused unread
                                                                                       // A frame that does not state its size (a streaming encoder's) is stopped by the streaming bound.
        let unstated = zstd::stream::encode_all(&zeros[..], 19).unwrap();
        assert_eq!(zstd::zstd_safe::get_frame_content_size(&unstated).unwrap(), None);
        let why = refusal(&unstated, vec![(b"content-encoding", b"zstd")], limits);
        assert_eq!(why.code, RejectCode::EnvelopeTooLarge);
    }

    #[test]
    fn stated_and_unstated_frames_and_several_frames_open_alike() {
        let ndjson = b"{\"a\":1}\n{\"a\":2}\n".repeat(50);
        let stated = zstd::bulk::compress(&ndjson, 3).unwrap();
        let unstated = zstd::stream::encode_all(&ndjson[..], 3).unwrap();
        let two = [&stated[..], &stated[..]].concat();
        for (data, copies) in [(&stated, 1), (&unstated, 1), (&two, 2)] {
            let mut out = Vec::new();
            decompress(data, 1 << 20, &mut out, None).unwrap();
            assert_eq!(out, ndjson.repeat(copies));
        }
        let mut out = Vec::new();
        let why = decompress(&stated[..stated.len() - 3], 1 << 20, &mut out, None).unwrap_err();
        assert_eq!(
            (why.code, why.message.as_str()),
            (RejectCode::BadEnvelope, "the zstd frame is truncated")
        );
    }

    #[test]
    fn sealing_keeps_order_within_bounds() {
        let events: Vec<Vec<u8>> = (0..25).map(|i| format!("{{\"i\":{i}}}").into_bytes()).collect();
        let sealing = Sealing {
            max_bytes: 40,
            max_events: 4,
            level: 1,
            dictionary: None,
        };
        let sealed = seal_all(&events, &sealing);
        let ranges: Vec<_> = sealed.iter().map(|(_, r)| r.clone()).collect();
        assert_eq!(ranges[0], 0..4);
        assert_eq!(ranges.last().unwrap().end, 25);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        for (data, range) in &sealed {
            let mut out = Vec::new();
            decompress(data, 1000, &mut out, None).unwrap();
            assert!(out.len() <= 40);
            assert_eq!(lines(&out, 0).len(), range.len());
        }
        let big = [b'x'; 100];
        assert_eq!(seal_all(&[&big[..], b"{}"], &sealing).len(), 2);
    }

    #[test]
    fn base64_bodies_open_too() {
        let sealed = seal(&[&b"{\"a\":1}"[..]], 3, None);
        let text = base64::engine::general_purpose::STANDARD.encode(&sealed);
        let attrs: Vec<(&[u8], &[u8])> = vec![
            (b"content-encoding", b"zstd"),
            (b"content-transfer-encoding", b"base64"),
        ];
        let (_, _, o) = opened(&[message(text.as_bytes(), attrs, b"1")], Limits::default());
        assert!(matches!(o.unwrap().rows[0], Row::Event(0, _)));
    }

    #[test]
    fn dictionaries_seal_smaller_and_open_by_id() {
        let samples = crate::dictionary::tests::samples(3000);
        let id = dictionary::register(&dictionary::train(&samples, 4096).unwrap()).unwrap();
        let few = &samples[2997..];
        let with = Sealing {
            dictionary: dictionary::get(id),
            ..Sealing::default()
        };
        let (plain, sealed) = (&seal_all(few, &Sealing::default())[0].0, &seal_all(few, &with)[0].0);
        assert!(
            sealed.len() * 3 < plain.len() * 2,
            "{} vs {}",
            sealed.len(),
            plain.len()
        );
        let count = few.len().to_string();
        let marks = markers(few.len(), false, Some(id));
        assert_eq!(marks.last().unwrap(), &(DICTIONARY, id.to_string()));
        let attrs = |named: &'static [u8]| -> Vec<(&[u8], &[u8])> {
            vec![
                (b"content-encoding", b"zstd"),
                (b"event-count", count.as_bytes()),
                (DICTIONARY.as_bytes(), named),
            ]
        };
        let unknown = (id.wrapping_add(1)).to_string().into_bytes().leak();
        let named = id.to_string().into_bytes().leak();
        let (_, _, o) = opened(
            &[
                message(sealed, attrs(named), b"1"),
                // no attribute: the frame's header names the dictionary
                message(sealed, vec![(b"content-encoding", b"zstd")], b"2"),
                message(sealed, attrs(unknown), b"3"),
                message(sealed, attrs(b"x"), b"4"),
            ],
            Limits::default(),
        );
        let rows = o.unwrap().rows;
        assert_eq!(
            rows.iter().filter(|r| matches!(r, Row::Event(..))).count(),
            2 * few.len()
        );
        let refused: Vec<_> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Refuse(i, why) => Some((*i, why.code)),
                _ => None,
            })
            .collect();
        assert_eq!(
            refused,
            [(2, RejectCode::UnknownDictionary), (3, RejectCode::BadEnvelope)]
        );
    }
}
