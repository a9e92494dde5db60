//! `_native.AwsJsonClient` and the SQS helpers: signed AWS calls made without the GIL, batch results read in Rust.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::aws::http::AwsJsonClient;
use crate::aws::sigv4::{Credentials, Signer};
use crate::aws::sqs::{batch_failures, send_batch_requests, SendEntry};

/// (entry id, sender fault, code, message) of a failed batch entry.
type FailureTuple = (usize, bool, String, String);

#[pyclass(name = "AwsJsonClient", module = "streamlake_fast._native", frozen)]
pub struct PyAwsJsonClient {
    inner: AwsJsonClient,
}

#[pymethods]
impl PyAwsJsonClient {
    #[new]
    #[pyo3(signature = (endpoint_url, region, service, target_prefix, *, timeout = 60.0, max_connections = 16))]
    fn new(
        endpoint_url: &str,
        region: &str,
        service: &str,
        target_prefix: &str,
        timeout: f64,
        max_connections: usize,
    ) -> PyResult<Self> {
        let timeout = Duration::from_secs_f64(timeout.max(0.001));
        Ok(PyAwsJsonClient {
            inner: AwsJsonClient::new(endpoint_url, region, service, target_prefix, timeout, max_connections)?,
        })
    }

    #[pyo3(signature = (access_key, secret_key, session_token = None))]
    fn set_credentials(&self, access_key: String, secret_key: String, session_token: Option<String>) {
        self.inner.set_credentials(Credentials {
            access_key,
            secret_key,
            session_token,
        });
    }

    /// POST `body` as `action`, signed; returns (HTTP status, response body). Runs without the GIL.
    fn call<'py>(&self, py: Python<'py>, action: &str, body: &[u8]) -> PyResult<(u16, Bound<'py, PyBytes>)> {
        let (status, data) = py.detach(|| self.inner.call(action, body))?;
        Ok((status, PyBytes::new(py, &data)))
    }
}

/// The headers SigV4 adds to a POST (for checking the signer against botocore's).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn sigv4_headers(
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    region: &str,
    service: &str,
    host: &str,
    path: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
    amz_date: &str,
) -> Vec<(String, String)> {
    let creds = Credentials {
        access_key,
        secret_key,
        session_token,
    };
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Signer::new(region, service)
        .sign(&creds, host, path, &headers, body, amz_date)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The failed entries of an SQS batch response, and how many succeeded.
#[pyfunction]
pub fn sqs_batch_failures(body: &[u8]) -> PyResult<(usize, Vec<FailureTuple>)> {
    let (ok, failed) = batch_failures(body)?;
    Ok((
        ok,
        failed
            .into_iter()
            .map(|f| (f.id, f.sender_fault, f.code, f.message))
            .collect(),
    ))
}

/// `SendMessageBatch` bodies for `entries` (body, string attributes, message group id, deduplication id): ten
/// entries and at most `max_bytes` each; returns (request, entries in it) pairs.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn sqs_send_batch_requests<'py>(
    py: Python<'py>,
    queue_url: &str,
    entries: Vec<(String, Vec<(String, String)>, Option<String>, Option<String>)>,
    max_bytes: usize,
) -> Vec<(Bound<'py, PyBytes>, usize)> {
    let entries: Vec<SendEntry<'_>> = entries
        .iter()
        .map(|(body, attrs, group, dedup)| SendEntry {
            body,
            attributes: attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            group_id: group.as_deref(),
            dedup_id: dedup.as_deref(),
        })
        .collect();
    send_batch_requests(queue_url, &entries, max_bytes)
        .into_iter()
        .map(|(b, n)| (PyBytes::new(py, &b), n))
        .collect()
}
