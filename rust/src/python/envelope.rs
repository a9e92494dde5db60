//! Envelope dictionaries: registered for this process's publishers and readers, and trained.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Register a zstd dictionary for sealing and opening envelopes in this process; its id.
#[pyfunction]
pub fn register_dictionary(data: &[u8]) -> PyResult<u32> {
    crate::dictionary::register(data).map_err(PyValueError::new_err)
}

/// A zstd dictionary of at most `max_size` bytes trained on `samples` (one event each).
#[pyfunction]
pub fn train_dictionary<'py>(py: Python<'py>, samples: Vec<Vec<u8>>, max_size: usize) -> PyResult<Bound<'py, PyBytes>> {
    let raw = py
        .detach(|| crate::dictionary::train(&samples, max_size))
        .map_err(PyValueError::new_err)?;
    Ok(PyBytes::new(py, &raw))
}
