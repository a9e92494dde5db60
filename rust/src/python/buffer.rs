//! The buffers a `Messages` points into: Python `bytes` as received (Pub/Sub `PullResponse`s), or bytes made here
//! (packed messages, opened envelopes) kept in Rust — shared, never copied, by every batch holding their messages.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

pub enum Buffer {
    Python(Py<PyBytes>),
    Rust(Arc<Vec<u8>>),
}

impl Buffer {
    /// Made here: moved in, not copied (an opened envelope is as large as its events).
    pub fn owned(bytes: Vec<u8>) -> Self {
        Buffer::Rust(Arc::new(bytes))
    }

    pub fn bytes<'a>(&'a self, py: Python<'a>) -> &'a [u8] {
        match self {
            Buffer::Python(b) => b.as_bytes(py),
            Buffer::Rust(b) => b,
        }
    }

    /// Another handle on the same bytes.
    pub fn share(&self, py: Python<'_>) -> Self {
        match self {
            Buffer::Python(b) => Buffer::Python(b.clone_ref(py)),
            Buffer::Rust(b) => Buffer::Rust(Arc::clone(b)),
        }
    }
}
