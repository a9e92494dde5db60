//! `_native.Messages`: received messages kept as the bytes they arrived in (serialized Pub/Sub `PullResponse`s), or
//! packed into one buffer when they arrived otherwise (SQS answers, push deliveries, Beam elements, in memory);
//! decoded with their metadata columns, turned into dead-letter records and acknowledged in Rust, so the worker
//! creates no Python object per message (only per rejected one).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::arrow_export::ArrowBatch;
use super::buffer::Buffer;
use super::codec::{into_py_result, PyCodec, RejectTuple};
use crate::aws::sqs::{batch_requests, parse_receive};
use crate::envelope::Row;
use crate::metadata::MetaColumn;
use crate::packed::{pack, pack_data, MessageParts};
use crate::pubsub::{acknowledge_requests, modify_ack_deadline_requests, parse_pull_response, MessageSpans};
use crate::received::{dead_letter_records, decode_with_metadata, slice, Reason, Received};
use crate::route::{group_by_route, Key, RouteBy, TimeFormat};

/// (data, attributes, message_id, publish_time_us, ordering_key, delivery_attempt) of one message.
type MessageTuple<'py> = (Bound<'py, PyBytes>, Bound<'py, PyDict>, String, i64, String, i32);

/// (kind: 0 a value, 1 no key, 2 malformed; the key; the group's messages; their indices in the batch, `u32`
/// little-endian) of one route group.
type RouteGroupTuple<'py> = (u8, Option<Bound<'py, PyBytes>>, PyMessages, Bound<'py, PyBytes>);

/// (data, attributes, message_id, publish_time_us, ordering_key) of a message given by the caller.
type PartsTuple<'py> = (Bound<'py, PyBytes>, Option<Bound<'py, PyDict>>, String, i64, String);

#[pyclass(name = "Messages", module = "streamlake_fast._native", frozen)]
pub struct PyMessages {
    responses: Vec<Buffer>,
    messages: Vec<(usize, MessageSpans)>,
    /// Its envelopes are opened already, or it has none (see `opened`): opening again is nothing, not another scan.
    opened: AtomicBool,
}

/// A zero-row batch of the metadata columns: their names and Arrow types, for Python.
pub fn metadata_schema() -> ArrowBatch {
    let fields: Vec<_> = MetaColumn::ALL.iter().map(|c| c.field()).collect();
    ArrowBatch::new(RecordBatch::new_empty(Arc::new(Schema::new(fields))))
}

/// A zero-row batch of the dead-letter record's columns.
pub fn dead_letter_schema() -> PyResult<ArrowBatch> {
    Ok(ArrowBatch::new(dead_letter_records(&[], &[], "", "", 0)?))
}

/// A serialized `PullRequest`.
#[pyfunction]
pub fn pull_request<'py>(py: Python<'py>, subscription: &str, max_messages: i32) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &crate::pubsub::pull_request(subscription, max_messages))
}

impl PyMessages {
    /// Messages packed into one buffer ([`crate::packed`]): read like any other, no wire format in between.
    fn packed((buf, spans): (Vec<u8>, Vec<MessageSpans>)) -> Self {
        PyMessages {
            responses: vec![Buffer::owned(buf)],
            messages: spans.into_iter().map(|m| (0, m)).collect(),
            opened: AtomicBool::new(false),
        }
    }

    fn received<'a>(&'a self, py: Python<'a>) -> Vec<Received<'a>> {
        // One buffer lookup per response, not per message (a function call under the limited API).
        let buffers: Vec<&[u8]> = self.responses.iter().map(|r| r.bytes(py)).collect();
        self.messages.iter().map(|(r, m)| (buffers[*r], m)).collect()
    }

    fn selected(&self, indices: Option<Vec<usize>>) -> PyResult<Vec<usize>> {
        match indices {
            None => Ok((0..self.messages.len()).collect()),
            Some(ix) => {
                if let Some(&bad) = ix.iter().find(|&&i| i >= self.messages.len()) {
                    return Err(PyIndexError::new_err(format!("message index {bad} out of range")));
                }
                Ok(ix)
            }
        }
    }

    /// The ack ids (or SQS receipt handles) of the messages at `indices`.
    fn ack_ids_at<'a>(&'a self, py: Python<'a>, indices: Vec<usize>) -> Vec<&'a [u8]> {
        indices
            .into_iter()
            .map(|i| {
                let (r, m) = &self.messages[i];
                slice(self.responses[*r].bytes(py), m.ack_id)
            })
            .collect()
    }
}

/// Request bodies as Python bytes.
fn as_bytes(py: Python<'_>, requests: Vec<Vec<u8>>) -> Vec<Py<PyBytes>> {
    requests.into_iter().map(|b| PyBytes::new(py, &b).unbind()).collect()
}

fn meta_columns(names: Vec<String>) -> PyResult<Vec<MetaColumn>> {
    let mut out = Vec::with_capacity(names.len());
    for n in &names {
        let Some(c) = MetaColumn::from_name(n) else {
            let known: Vec<_> = MetaColumn::ALL.iter().map(|c| c.name()).collect();
            let msg = format!("unknown metadata column {n:?} (known: {})", known.join(", "));
            return Err(PyValueError::new_err(msg));
        };
        if out.contains(&c) {
            return Err(PyValueError::new_err(format!("metadata column {n:?} named twice")));
        }
        out.push(c);
    }
    Ok(out)
}

#[pymethods]
impl PyMessages {
    /// Parse serialized `google.pubsub.v1.PullResponse` messages.
    #[staticmethod]
    fn from_pull_responses(responses: Vec<Bound<'_, PyBytes>>) -> PyResult<Self> {
        let mut messages = Vec::new();
        for (r, resp) in responses.iter().enumerate() {
            messages.extend(parse_pull_response(resp.as_bytes())?.into_iter().map(|m| (r, m)));
        }
        Ok(PyMessages {
            responses: responses.into_iter().map(|r| Buffer::Python(r.unbind())).collect(),
            messages,
            opened: AtomicBool::new(false),
        })
    }

    /// Parse SQS `ReceiveMessage` response bodies (AWS JSON protocol): each becomes one buffer of its messages'
    /// fields (the bodies unescaped), read as spans like Pub/Sub's.
    #[staticmethod]
    fn from_sqs_responses(py: Python<'_>, responses: Vec<Bound<'_, PyBytes>>) -> PyResult<Self> {
        let mut buffers = Vec::with_capacity(responses.len());
        let mut messages = Vec::new();
        for (r, resp) in responses.iter().enumerate() {
            let body = resp.as_bytes();
            let (buf, spans) = py.detach(|| parse_receive(body))?;
            messages.extend(spans.into_iter().map(|m| (r, m)));
            buffers.push(Buffer::owned(buf));
        }
        Ok(PyMessages {
            responses: buffers,
            messages,
            opened: AtomicBool::new(false),
        })
    }

    /// Messages with ids (and ack ids) `first_id, first_id + 1, ...` published at `publish_time_us`: what an
    /// in-process source delivers.
    #[staticmethod]
    fn from_data(py: Python<'_>, messages: &Bound<'_, PyAny>, first_id: u64, publish_time_us: i64) -> PyResult<Self> {
        let held = super::publish::held_messages(messages)?;
        let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
        let packed = py.detach(|| pack_data(&slices, first_id, publish_time_us));
        Ok(Self::packed(packed))
    }

    /// Messages given field by field (data, attributes, message id, publish time in µs, ordering key): messages
    /// that reached the process some other way, such as Apache Beam's `PubsubMessage` elements.
    #[staticmethod]
    fn from_parts(py: Python<'_>, parts: Vec<PartsTuple<'_>>) -> PyResult<Self> {
        let mut attributes = Vec::with_capacity(parts.len());
        for (i, (_, attrs, ..)) in parts.iter().enumerate() {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for (k, v) in attrs.iter().flat_map(|d| d.iter()) {
                let text = |o: Bound<'_, PyAny>| {
                    o.extract::<String>()
                        .map_err(|_| PyValueError::new_err(format!("message {i}: attributes must be strings")))
                };
                pairs.push((text(k)?, text(v)?));
            }
            attributes.push(pairs);
        }
        let fields: Vec<MessageParts<'_>> = parts
            .iter()
            .zip(&attributes)
            .map(|((data, _, id, at, key), attrs)| MessageParts {
                data: data.as_bytes(),
                attributes: attrs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect(),
                message_id: id.as_bytes(),
                publish_time_us: *at,
                ordering_key: key.as_bytes(),
            })
            .collect();
        let packed = py.detach(|| pack(&fields));
        Ok(Self::packed(packed))
    }

    /// Messages of Pub/Sub push request bodies (the wrapped JSON envelope, or a structured CloudEvent holding it):
    /// (the messages of the bodies that could be read, in order; `(index, why)` of the others; the subscription
    /// named by the first).
    #[staticmethod]
    #[allow(clippy::type_complexity)]
    fn from_push(py: Python<'_>, bodies: Vec<Bound<'_, PyBytes>>) -> PyResult<(Self, Vec<(usize, String)>, String)> {
        let slices: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        let (packed, errors, subscription) = py.detach(|| {
            let mut delivered = Vec::with_capacity(slices.len());
            let mut errors = Vec::new();
            for (i, body) in slices.iter().enumerate() {
                match crate::push::parse_push(body) {
                    Ok(d) => delivered.push(d),
                    Err(e) => errors.push((i, e)),
                }
            }
            let parts: Vec<MessageParts<'_>> = delivered
                .iter()
                .map(|d| MessageParts {
                    data: &d.data,
                    attributes: d.attributes.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect(),
                    message_id: d.message_id.as_bytes(),
                    publish_time_us: d.publish_time_us,
                    ordering_key: d.ordering_key.as_bytes(),
                })
                .collect();
            let subscription = delivered.first().map(|d| d.subscription.clone()).unwrap_or_default();
            (pack(&parts), errors, subscription)
        });
        Ok((Self::packed(packed), errors, subscription))
    }

    /// Several batches as one (no re-parsing), so one decode and one write cover them all.
    #[staticmethod]
    fn concat(py: Python<'_>, batches: Vec<PyRef<'_, PyMessages>>) -> Self {
        let mut responses = Vec::new();
        let mut messages = Vec::new();
        let opened = AtomicBool::new(batches.iter().all(|b| b.opened.load(Ordering::Relaxed)));
        for b in batches {
            let base = responses.len();
            responses.extend(b.responses.iter().map(|r| r.share(py)));
            messages.extend(b.messages.iter().map(|(r, m)| (r + base, m.clone())));
        }
        PyMessages {
            responses,
            messages,
            opened,
        }
    }

    /// The messages grouped by route — an attribute's value (`attribute`) or a field's (`field`: a dotted path;
    /// with `time_format`, a TIMESTAMP field's value formatted in UTC) — in the order their keys first appear:
    /// `(kind, key, messages, indices)` per group; kind 0: a value, 1: no key, 2: not well-formed before the key.
    /// The groups share this batch's buffers (no copy of a message).
    #[pyo3(signature = (*, attribute = None, field = None, time_format = None, max_depth = 500))]
    fn group_by_route<'py>(
        &self,
        py: Python<'py>,
        attribute: Option<&str>,
        field: Option<&str>,
        time_format: Option<&str>,
        max_depth: usize,
    ) -> PyResult<Vec<RouteGroupTuple<'py>>> {
        let path = |p: &str| p.split('.').map(|p| p.as_bytes().to_vec()).collect();
        let by = match (attribute, field, time_format) {
            (Some(name), None, None) => RouteBy::Attribute(name.as_bytes().to_vec()),
            (None, Some(field), None) => RouteBy::Field(path(field)),
            (None, Some(field), Some(format)) => {
                RouteBy::Time(path(field), TimeFormat::parse(format).map_err(PyValueError::new_err)?)
            }
            _ => {
                return Err(PyValueError::new_err(
                    "route by either an attribute or a field (a time format goes with a field)",
                ))
            }
        };
        let received = self.received(py);
        let groups = py.detach(|| group_by_route(&received, &by, max_depth));
        Ok(groups
            .into_iter()
            .map(|(key, indices)| {
                let positions: Vec<u8> = indices.iter().flat_map(|&i| (i as u32).to_le_bytes()).collect();
                let messages = PyMessages {
                    responses: self.responses.iter().map(|r| r.share(py)).collect(),
                    messages: indices.into_iter().map(|i| self.messages[i].clone()).collect(),
                    opened: AtomicBool::new(self.opened.load(Ordering::Relaxed)),
                };
                let positions = PyBytes::new(py, &positions);
                match key {
                    Key::Value(v) => (0, Some(PyBytes::new(py, &v)), messages, positions),
                    Key::Absent => (1, None, messages, positions),
                    Key::Malformed => (2, None, messages, positions),
                }
            })
            .collect())
    }

    /// These messages with every envelope opened into its events (each a message of its own: the envelope's
    /// id, ack id, attributes but its markers, publish time, and its line as `event_index`); an envelope that
    /// cannot be opened stays, refused with its reason. `None` when there is nothing to open (no envelope, or
    /// opened already): the caller keeps these messages, nothing is copied.
    #[pyo3(signature = (*, max_bytes = 64 << 20, max_events = 100_000))]
    fn opened(&self, py: Python<'_>, max_bytes: usize, max_events: usize) -> Option<Self> {
        if self.opened.load(Ordering::Relaxed) {
            return None;
        }
        let received = self.received(py);
        let limits = crate::envelope::Limits { max_bytes, max_events };
        let Some(opened) = py.detach(|| crate::envelope::open(&received, limits)) else {
            self.opened.store(true, Ordering::Relaxed); // none here: the next writer need not look again
            return None;
        };
        let mut responses: Vec<Buffer> = self.responses.iter().map(|r| r.share(py)).collect();
        let base = responses.len();
        responses.extend(opened.buffers.into_iter().map(Buffer::owned));
        let messages = opened
            .rows
            .into_iter()
            .map(|row| match row {
                Row::Keep(i) => self.messages[i].clone(),
                Row::Refuse(i, why) => {
                    let (r, mut m) = self.messages[i].clone();
                    m.refused = Some(Box::new(why));
                    (r, m)
                }
                Row::Event(b, m) => (base + b, m),
            })
            .collect();
        Some(PyMessages {
            responses,
            messages,
            opened: AtomicBool::new(true),
        })
    }

    fn __len__(&self) -> usize {
        self.messages.len()
    }

    /// Total bytes of message data.
    #[getter]
    fn data_bytes(&self) -> usize {
        self.messages.iter().map(|(_, m)| (m.data.1 - m.data.0) as usize).sum()
    }

    /// What the messages hold once their envelopes are opened, read without opening them: (events, bytes).
    #[getter]
    fn contents(&self, py: Python<'_>) -> (usize, usize) {
        crate::envelope::contents(&self.received(py))
    }

    /// Bytes Pub/Sub bills for delivering these messages, before its 1,000-byte minimum per request: each
    /// message's data, attribute keys and values, 20 bytes of timestamp and its message id.
    #[getter]
    fn billed_bytes(&self) -> usize {
        self.messages
            .iter()
            .map(|(_, m)| crate::received::billed_bytes(m))
            .sum()
    }

    /// Total bytes of the messages as received (data, attributes, ids): what flow control counts.
    #[getter]
    fn size_bytes(&self) -> usize {
        self.messages.iter().map(|(_, m)| m.size as usize).sum()
    }

    /// Decode every message's data with the codec and append the `metadata` columns to the valid rows, in one
    /// pass with the GIL released.
    fn decode(
        &self,
        py: Python<'_>,
        codec: &PyCodec,
        metadata: Vec<String>,
        source: &str,
    ) -> PyResult<(ArrowBatch, Vec<RejectTuple>)> {
        let columns = meta_columns(metadata)?;
        let received = self.received(py);
        let codec = &codec.inner;
        into_py_result(py.detach(|| decode_with_metadata(codec, &received, &columns, source)))
    }

    /// The dead-letter records of `rejects` — `(index, code, path, message)`, each naming a message — checked
    /// against the schema `schema_fingerprint` and rejected at `rejected_at_us`.
    fn dead_letters(
        &self,
        py: Python<'_>,
        rejects: Vec<(usize, String, String, String)>,
        source: &str,
        schema_fingerprint: &str,
        rejected_at_us: i64,
    ) -> PyResult<ArrowBatch> {
        self.selected(Some(rejects.iter().map(|r| r.0).collect()))?;
        let reasons: Vec<Reason<'_>> = rejects
            .iter()
            .map(|(index, code, path, message)| Reason {
                index: *index,
                code,
                path,
                message,
            })
            .collect();
        let received = self.received(py);
        let batch = dead_letter_records(&received, &reasons, source, schema_fingerprint, rejected_at_us)?;
        Ok(ArrowBatch::new(batch))
    }

    /// Serialized `AcknowledgeRequest`s for the given messages (all by default), each under Pub/Sub's size limit.
    #[pyo3(signature = (subscription, indices = None))]
    fn acknowledge_requests(
        &self,
        py: Python<'_>,
        subscription: &str,
        indices: Option<Vec<usize>>,
    ) -> PyResult<Vec<Py<PyBytes>>> {
        let ids = self.ack_ids_at(py, self.selected(indices)?);
        Ok(as_bytes(py, acknowledge_requests(subscription, ids.into_iter())))
    }

    /// Serialized `ModifyAckDeadlineRequest`s (0 seconds: hand the messages back for redelivery now).
    #[pyo3(signature = (subscription, seconds, indices = None))]
    fn modify_ack_deadline_requests(
        &self,
        py: Python<'_>,
        subscription: &str,
        seconds: i32,
        indices: Option<Vec<usize>>,
    ) -> PyResult<Vec<Py<PyBytes>>> {
        let ids = self.ack_ids_at(py, self.selected(indices)?);
        Ok(as_bytes(
            py,
            modify_ack_deadline_requests(subscription, seconds, ids.into_iter()),
        ))
    }

    /// Every message's ack id (to match an exactly-once subscription's per-ack-id results; off the hot path).
    fn ack_ids(&self, py: Python<'_>) -> Vec<String> {
        self.messages
            .iter()
            .map(|(r, m)| String::from_utf8_lossy(slice(self.responses[*r].bytes(py), m.ack_id)).into_owned())
            .collect()
    }

    /// SQS `DeleteMessageBatch` (no `visibility`) or `ChangeMessageVisibilityBatch` request bodies for the
    /// messages at `indices` (all by default), ten each; an entry's id is its position in `indices`.
    #[pyo3(signature = (queue_url, visibility = None, indices = None))]
    fn sqs_batch_requests(
        &self,
        py: Python<'_>,
        queue_url: &str,
        visibility: Option<i64>,
        indices: Option<Vec<usize>>,
    ) -> PyResult<Vec<Py<PyBytes>>> {
        let handles = self.ack_ids_at(py, self.selected(indices)?);
        Ok(as_bytes(py, batch_requests(queue_url, handles.into_iter(), visibility)))
    }

    /// One message as Python objects; for inspection and tests, never on the hot path.
    fn message<'py>(&self, py: Python<'py>, i: usize) -> PyResult<MessageTuple<'py>> {
        let Some((r, m)) = self.messages.get(i) else {
            return Err(PyIndexError::new_err(format!("message index {i} out of range")));
        };
        let buf = self.responses[*r].bytes(py);
        let text = |span| String::from_utf8_lossy(slice(buf, span)).into_owned();
        let attrs = PyDict::new(py);
        for &(k, v) in &m.attributes {
            attrs.set_item(text(k), text(v))?;
        }
        Ok((
            PyBytes::new(py, slice(buf, m.data)),
            attrs,
            text(m.message_id),
            m.publish_time_us,
            text(m.ordering_key),
            m.delivery_attempt,
        ))
    }
}
