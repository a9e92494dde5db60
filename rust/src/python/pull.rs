//! `_native.PullBatch`: raw Pub/Sub `PullResponse` bytes kept as they arrived; decoded, acknowledged and described
//! in Rust, so the worker creates no Python object per message (only per rejected one).

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::arrow_export::ArrowBatch;
use super::codec::{into_py_result, PyCodec, RejectTuple};
use crate::pubsub::{
    acknowledge_request, modify_ack_deadline_request, parse_pull_response, pull_response, MessageSpans, Span,
};

/// (data, attributes, message_id, publish_time_us, ordering_key) of one message.
type MessageTuple<'py> = (Bound<'py, PyBytes>, Bound<'py, PyDict>, String, i64, String);

/// Pub/Sub's limit on one request is 512 KB; stay well under it.
const MAX_REQUEST_BYTES: usize = 400_000;

#[pyclass(name = "PullBatch", module = "streamlake_fast._native", frozen)]
pub struct PyPullBatch {
    responses: Vec<Py<PyBytes>>,
    messages: Vec<(usize, MessageSpans)>,
}

fn slice(buf: &[u8], span: Span) -> &[u8] {
    &buf[span.0 as usize..span.1 as usize]
}

impl PyPullBatch {
    fn bytes<'a>(&'a self, py: Python<'a>, i: usize) -> &'a [u8] {
        self.responses[self.messages[i].0].as_bytes(py)
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

    /// Split ack ids into requests under the size limit.
    fn requests(
        &self,
        py: Python<'_>,
        indices: Vec<usize>,
        build: impl Fn(&mut dyn Iterator<Item = &[u8]>) -> Vec<u8>,
    ) -> Vec<Py<PyBytes>> {
        let mut out = Vec::new();
        let mut chunk: Vec<&[u8]> = Vec::new();
        let mut size = 0;
        for i in indices {
            let id = slice(self.bytes(py, i), self.messages[i].1.ack_id);
            if size + id.len() + 4 > MAX_REQUEST_BYTES && !chunk.is_empty() {
                out.push(PyBytes::new(py, &build(&mut chunk.drain(..))).unbind());
                size = 0;
            }
            size += id.len() + 4;
            chunk.push(id);
        }
        if !chunk.is_empty() {
            out.push(PyBytes::new(py, &build(&mut chunk.drain(..))).unbind());
        }
        out
    }
}

#[pymethods]
impl PyPullBatch {
    /// Parse serialized `google.pubsub.v1.PullResponse` messages.
    #[new]
    fn new(responses: Vec<Bound<'_, PyBytes>>) -> PyResult<Self> {
        let mut messages = Vec::new();
        for (r, resp) in responses.iter().enumerate() {
            let parsed = parse_pull_response(resp.as_bytes()).map_err(|e| PyValueError::new_err(e.to_string()))?;
            messages.extend(parsed.into_iter().map(|m| (r, m)));
        }
        Ok(PyPullBatch {
            responses: responses.into_iter().map(Bound::unbind).collect(),
            messages,
        })
    }

    /// A batch of `messages` with ids (and ack ids) `first_id, first_id + 1, ...` published at `publish_time_us`:
    /// what an in-process source delivers.
    #[staticmethod]
    fn from_messages(
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        first_id: u64,
        publish_time_us: i64,
    ) -> PyResult<Self> {
        let held = super::publish::held_messages(messages)?;
        let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
        let raw = py.detach(|| pull_response(&slices, first_id, publish_time_us));
        Self::new(vec![PyBytes::new(py, &raw)])
    }

    /// Merge several batches into one (no re-parsing), so one decode and one append cover them all.
    #[staticmethod]
    fn concat(py: Python<'_>, batches: Vec<PyRef<'_, PyPullBatch>>) -> Self {
        let mut responses = Vec::new();
        let mut messages = Vec::new();
        for b in batches {
            let base = responses.len();
            responses.extend(b.responses.iter().map(|r| r.clone_ref(py)));
            messages.extend(b.messages.iter().map(|(r, m)| (r + base, m.clone())));
        }
        PyPullBatch { responses, messages }
    }

    fn __len__(&self) -> usize {
        self.messages.len()
    }

    /// Total bytes of message data.
    #[getter]
    fn data_bytes(&self) -> usize {
        self.messages.iter().map(|(_, m)| (m.data.1 - m.data.0) as usize).sum()
    }

    /// Decode every message's data with the codec (GIL released).
    fn decode(&self, py: Python<'_>, codec: &PyCodec) -> PyResult<(ArrowBatch, Vec<RejectTuple>)> {
        let slices: Vec<&[u8]> = (0..self.messages.len())
            .map(|i| slice(self.bytes(py, i), self.messages[i].1.data))
            .collect();
        let codec = &codec.inner;
        into_py_result(py.detach(|| codec.decode_messages(&slices)))
    }

    /// Serialized `AcknowledgeRequest`s for the given messages (all by default), each under Pub/Sub's size limit.
    #[pyo3(signature = (subscription, indices = None))]
    fn acknowledge_requests(
        &self,
        py: Python<'_>,
        subscription: &str,
        indices: Option<Vec<usize>>,
    ) -> PyResult<Vec<Py<PyBytes>>> {
        let indices = self.selected(indices)?;
        Ok(self.requests(py, indices, |ids| acknowledge_request(subscription, ids)))
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
        let indices = self.selected(indices)?;
        Ok(self.requests(py, indices, |ids| {
            modify_ack_deadline_request(subscription, seconds, ids)
        }))
    }

    /// One message as Python objects: (data, attributes, message_id, publish_time_us, ordering_key).
    /// For rejected messages (dead-lettering), never on the hot path.
    fn message<'py>(&self, py: Python<'py>, i: usize) -> PyResult<MessageTuple<'py>> {
        if i >= self.messages.len() {
            return Err(PyIndexError::new_err(format!("message index {i} out of range")));
        }
        let buf = self.bytes(py, i);
        let m = &self.messages[i].1;
        let attrs = PyDict::new(py);
        for &(k, v) in &m.attributes {
            attrs.set_item(text(slice(buf, k)), text(slice(buf, v)))?;
        }
        Ok((
            PyBytes::new(py, slice(buf, m.data)),
            attrs,
            text(slice(buf, m.message_id)),
            m.publish_time_us,
            text(slice(buf, m.ordering_key)),
        ))
    }

    /// Pub/Sub metadata columns for the messages not in `rejected` (in order), as BigQuery subscriptions write
    /// them: subscription_name, message_id, publish_time, attributes (JSON text).
    fn metadata(&self, py: Python<'_>, subscription: &str, rejected: Vec<usize>) -> PyResult<ArrowBatch> {
        let mut skip = vec![false; self.messages.len()];
        for i in rejected {
            if let Some(s) = skip.get_mut(i) {
                *s = true;
            }
        }
        let n = skip.iter().filter(|s| !**s).count();
        let mut sub = StringBuilder::with_capacity(n, n * subscription.len());
        let mut ids = StringBuilder::with_capacity(n, n * 16);
        let mut times = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut attrs = StringBuilder::with_capacity(n, n * 2);
        for (i, (_, m)) in self.messages.iter().enumerate() {
            if skip[i] {
                continue;
            }
            let buf = self.bytes(py, i);
            sub.append_value(subscription);
            ids.append_value(String::from_utf8_lossy(slice(buf, m.message_id)));
            times.append_value(m.publish_time_us);
            if m.attributes.is_empty() {
                attrs.append_value("{}");
                continue;
            }
            let map: serde_json::Map<String, serde_json::Value> = m
                .attributes
                .iter()
                .map(|&(k, v)| (text(slice(buf, k)), serde_json::Value::String(text(slice(buf, v)))))
                .collect();
            attrs.append_value(serde_json::Value::Object(map).to_string());
        }
        let schema = Schema::new(vec![
            Field::new("subscription_name", DataType::Utf8, false),
            Field::new("message_id", DataType::Utf8, false),
            Field::new(
                "publish_time",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("attributes", DataType::Utf8, false),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(sub.finish()),
            Arc::new(ids.finish()),
            Arc::new(times.finish()),
            Arc::new(attrs.finish()),
        ];
        let batch =
            RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(ArrowBatch::new(batch))
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
