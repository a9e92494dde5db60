//! `_native.Codec`: decode whole batches with the GIL released; one Python object per batch, none per row.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::arrow_export::ArrowBatch;
use super::schema::PySchema;
use crate::decode::{Codec, CodecOptions, DecodeOutput, UnknownFields};

/// (index, code, path, message) for each rejected row.
pub(crate) type RejectTuple = (usize, &'static str, String, String);

#[pyclass(name = "Codec", module = "streamlake_fast._native", frozen)]
pub struct PyCodec {
    pub(crate) inner: Codec,
}

pub(crate) fn into_py_result(
    out: Result<DecodeOutput, crate::decode::DecodeError>,
) -> PyResult<(ArrowBatch, Vec<RejectTuple>)> {
    let out = out?;
    let rejects = out
        .rejects
        .into_iter()
        .map(|r| (r.index, r.code.slug(), r.path, r.message))
        .collect();
    Ok((ArrowBatch::new(out.batch), rejects))
}

#[pymethods]
impl PyCodec {
    #[new]
    #[pyo3(signature = (
        schema, *, unknown_fields = "reject", max_message_bytes = 10_000_000, max_depth = 500, redact_values = false
    ))]
    fn new(
        schema: &PySchema,
        unknown_fields: &str,
        max_message_bytes: usize,
        max_depth: usize,
        redact_values: bool,
    ) -> PyResult<Self> {
        let unknown_fields = match unknown_fields {
            "reject" => UnknownFields::Reject,
            "ignore" => UnknownFields::Ignore,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown_fields must be \"reject\" or \"ignore\", got {other:?}"
                )))
            }
        };
        let max_depth = crate::decode::check_max_depth(max_depth).map_err(PyValueError::new_err)?;
        let options = CodecOptions {
            unknown_fields,
            max_message_bytes,
            max_depth,
            redact_values,
        };
        Ok(PyCodec {
            inner: Codec::new(schema.inner.clone(), options),
        })
    }

    /// Decode a sequence of `bytes`, one JSON object per message.
    fn decode_messages(&self, py: Python<'_>, messages: &Bound<'_, PyAny>) -> PyResult<(ArrowBatch, Vec<RejectTuple>)> {
        let mut held: Vec<Bound<'_, PyBytes>> = Vec::with_capacity(messages.len().unwrap_or(0));
        for (i, item) in messages.try_iter()?.enumerate() {
            let item = item?;
            match item.cast_into::<PyBytes>() {
                Ok(b) => held.push(b),
                Err(e) => {
                    let ty = e
                        .into_inner()
                        .get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default();
                    return Err(PyTypeError::new_err(format!("messages[{i}] is {ty}, expected bytes")));
                }
            }
        }
        let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
        let codec = &self.inner;
        into_py_result(py.detach(|| codec.decode_messages(&slices)))
    }

    /// Decode one buffer of newline-delimited JSON.
    fn decode_ndjson(&self, py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<(ArrowBatch, Vec<RejectTuple>)> {
        let bytes = data.as_bytes();
        let codec = &self.inner;
        into_py_result(py.detach(|| codec.decode_ndjson(bytes)))
    }
}
