//! `_native.prepare_publish`: validate, enrich and pack raw events into `PublishRequest` (or SQS) bytes.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::codec::{PyCodec, RejectTuple};
use super::transform::PyTransform;
use crate::bodies::BodyKind;
use crate::decode::ndjson_lines;
use crate::envelope::Sealing;
use crate::publish::{pack_requests, prepare, Attribute, Body, Enrich, Target};

pub(crate) fn held_messages<'py>(data: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let mut held = Vec::with_capacity(data.len().unwrap_or(0));
    for (i, item) in data.try_iter()?.enumerate() {
        let item = item?;
        let ty = item.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        held.push(
            item.cast_into::<PyBytes>()
                .map_err(|_| PyTypeError::new_err(format!("messages[{i}] is {ty}, expected bytes")))?,
        );
    }
    Ok(held)
}

/// (data, attributes) of a message to publish.
type OutgoingMessage = (Vec<u8>, Vec<(String, String)>);

/// Serialized `PublishRequest`s of `messages` (data, attributes), each within Pub/Sub's limits; and the count of
/// messages in each.
#[pyfunction]
pub fn publish_requests(py: Python<'_>, topic: &str, messages: Vec<OutgoingMessage>) -> (Vec<Py<PyBytes>>, Vec<usize>) {
    let attrs: Vec<Vec<Attribute<'_>>> = messages
        .iter()
        .map(|(_, a)| a.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect())
        .collect();
    let items = messages
        .iter()
        .zip(&attrs)
        .map(|((d, _), a)| (d.as_slice(), a.as_slice()));
    let (requests, counts) = pack_requests(topic, items);
    let requests = requests.iter().map(|r| PyBytes::new(py, r).unbind()).collect();
    (requests, counts)
}

/// How many message ids a serialized `PublishResponse` holds.
#[pyfunction]
pub fn publish_response_ids(response: &[u8]) -> PyResult<usize> {
    Ok(crate::pubsub::publish_response_ids(response)?)
}

/// (events found, rejects, error, first request, end request) of one body.
type BodyTuple = (usize, Vec<RejectTuple>, Option<(u16, String)>, usize, usize);

/// (requests, messages per request, events per request, each body's outcome, next event-id sequence number,
/// (body, index) of the events of each SQS entry id, billed bytes of each `PublishRequest`).
type PreparedTuple = (
    Vec<Py<PyBytes>>,
    Vec<usize>,
    Vec<usize>,
    Vec<BodyTuple>,
    u64,
    Vec<Vec<(usize, usize)>>,
    Vec<usize>,
);

/// The one publish preparation: either `bodies` — HTTP bodies `(body, kind, atomic)`, kind 0: JSON value or
/// array, 1: NDJSON — or `events`, a publisher's batch: NDJSON `bytes` (indices are line numbers) or a sequence of
/// `bytes`, one event each. Validated, enriched and packed in one call into `PublishRequest`s for `topic` or
/// `SendMessageBatch` bodies (of at most `max_batch_bytes`) for `queue_url`. With `envelope_bytes`, the valid
/// events are sealed into zstd envelopes of at most that many NDJSON bytes (and `envelope_events` events) each,
/// compressed with the registered dictionary of id `envelope_dictionary` when given.
#[pyfunction]
#[pyo3(signature = (topic = None, *, bodies = None, events = None, queue_url = None, max_batch_bytes = 1_000_000,
                    codec = None, event_id_prefix = None, next_seq = 0, ingest_time = None, max_depth = 500,
                    max_events = 1000, transform = None, envelope_bytes = None, envelope_events = 10_000,
                    envelope_level = 3, envelope_dictionary = None))]
#[allow(clippy::too_many_arguments)]
pub fn prepare_publish(
    py: Python<'_>,
    topic: Option<&str>,
    bodies: Option<Vec<(Bound<'_, PyBytes>, u8, bool)>>,
    events: Option<&Bound<'_, PyAny>>,
    queue_url: Option<&str>,
    max_batch_bytes: usize,
    codec: Option<&PyCodec>,
    event_id_prefix: Option<String>,
    next_seq: u64,
    ingest_time: Option<String>,
    max_depth: usize,
    max_events: usize,
    transform: Option<&PyTransform>,
    envelope_bytes: Option<usize>,
    envelope_events: usize,
    envelope_level: i32,
    envelope_dictionary: Option<u32>,
) -> PyResult<PreparedTuple> {
    let dictionary = match envelope_dictionary {
        None => None,
        Some(id) => Some(crate::dictionary::get(id).ok_or_else(|| {
            PyValueError::new_err(format!(
                "zstd dictionary {id} is not registered (Dictionary.load or .of)"
            ))
        })?),
    };
    let sealing = envelope_bytes.map(|max_bytes| Sealing {
        max_bytes,
        max_events: envelope_events.max(1),
        level: envelope_level,
        dictionary,
    });
    let target = match (topic, queue_url) {
        (Some(topic), None) => Target::Topic(topic),
        (None, Some(url)) => Target::Queue(url, max_batch_bytes),
        _ => return Err(PyValueError::new_err("give either a topic or a queue_url")),
    };
    let max_depth = crate::decode::check_max_depth(max_depth).map_err(PyValueError::new_err)?;
    let enrich = Enrich {
        event_id_prefix,
        next_seq,
        ingest_time,
        transform: transform.map(|t| t.inner.clone()),
    };
    let held_events = match events {
        Some(data) if data.cast::<PyBytes>().is_err() => held_messages(data)?,
        _ => Vec::new(),
    };
    let input: Vec<Body<'_>> = match (&bodies, events) {
        (Some(bodies), None) => http_bodies(bodies)?,
        (None, Some(data)) => match data.cast::<PyBytes>() {
            Ok(buf) => vec![Body::batch(ndjson_lines(buf.as_bytes()))],
            Err(_) => vec![Body::batch(held_events.iter().map(|b| b.as_bytes()).enumerate())],
        },
        _ => return Err(PyValueError::new_err("give either bodies or events")),
    };
    let codec = codec.map(|c| &c.inner);
    let p = py.detach(|| prepare(codec, &input, target, &enrich, max_depth, max_events, sealing))?;
    let requests = p.requests.iter().map(|r| PyBytes::new(py, r).unbind()).collect();
    let outcomes = p
        .outcomes
        .into_iter()
        .map(|o| {
            let rejects = o
                .rejects
                .into_iter()
                .map(|r| (r.index, r.code.slug(), r.path, r.message))
                .collect();
            (o.events, rejects, o.error, o.requests.start, o.requests.end)
        })
        .collect();
    Ok((requests, p.counts, p.events, outcomes, p.next_seq, p.entries, p.billed))
}

/// `(body, kind, atomic)` tuples as bodies to prepare.
fn http_bodies<'a>(bodies: &'a [(Bound<'_, PyBytes>, u8, bool)]) -> PyResult<Vec<Body<'a>>> {
    let mut out = Vec::with_capacity(bodies.len());
    for (i, (body, kind, atomic)) in bodies.iter().enumerate() {
        let kind = BodyKind::from_code(*kind)
            .ok_or_else(|| PyValueError::new_err(format!("bodies[{i}]: kind must be 0 (JSON) or 1 (NDJSON)")))?;
        out.push(Body::http(body.as_bytes(), kind, *atomic));
    }
    Ok(out)
}
