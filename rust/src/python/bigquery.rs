//! `_native.append_rows_head`: the bytes of a BigQuery `AppendRowsRequest` before its Arrow batch.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The request's head; the request is the head followed by the serialized batch (`batch_len` bytes).
#[pyfunction]
#[pyo3(signature = (write_stream, offset, schema, rows, batch_len))]
pub fn append_rows_head<'py>(
    py: Python<'py>,
    write_stream: &str,
    offset: Option<u64>,
    schema: &[u8],
    rows: u64,
    batch_len: usize,
) -> Bound<'py, PyBytes> {
    PyBytes::new(
        py,
        &crate::bigquery::append_rows_head(write_stream, offset, schema, rows, batch_len),
    )
}
