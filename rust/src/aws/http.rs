//! A pooled HTTP client for AWS JSON-protocol services: one signed POST per call, run without the GIL by the
//! Python glue so several calls are in flight on the worker's threads.

use std::sync::RwLock;
use std::time::Duration;

use ureq::Agent;

use super::sigv4::{now_amz_date, Credentials, Signer};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid endpoint URL {0:?}: expected http(s)://host[:port][/path]")]
    Endpoint(String),
    #[error("{0}")]
    Transport(String),
}

/// Calls `<target_prefix>.<Action>` on one endpoint with the AWS JSON 1.0 protocol.
pub struct AwsJsonClient {
    agent: Agent,
    url: String,
    host: String,
    path: String,
    target_prefix: String,
    signer: Signer,
    credentials: RwLock<Credentials>,
}

/// `(host, path)` of `http(s)://host[:port][/path]`; the port is dropped when it is the scheme's default.
pub fn split_endpoint(url: &str) -> Result<(String, String), HttpError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| HttpError::Endpoint(url.into()))?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return Err(HttpError::Endpoint(url.into())),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(HttpError::Endpoint(url.into()));
    }
    Ok((authority.trim_end_matches(default_port).to_string(), path.to_string()))
}

impl AwsJsonClient {
    pub fn new(
        endpoint_url: &str,
        region: &str,
        service: &str,
        target_prefix: &str,
        timeout: Duration,
        max_idle_connections: usize,
    ) -> Result<AwsJsonClient, HttpError> {
        let (host, path) = split_endpoint(endpoint_url)?;
        // Timeouts per phase, none for name resolution: with a resolve timeout ureq spawns a thread per lookup
        // (the system resolver keeps its own timeouts).
        let agent: Agent = Agent::config_builder()
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .timeout_send_request(Some(timeout))
            .timeout_send_body(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .http_status_as_error(false)
            .max_idle_connections(max_idle_connections)
            .max_idle_connections_per_host(max_idle_connections)
            .build()
            .into();
        Ok(AwsJsonClient {
            agent,
            url: endpoint_url.to_string(),
            host,
            path,
            target_prefix: target_prefix.to_string(),
            signer: Signer::new(region, service),
            credentials: RwLock::new(Credentials::default()),
        })
    }

    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.write().expect("credentials lock") = credentials;
    }

    /// POST `body` as `action`; returns the HTTP status and the response body (an error status is not an error
    /// here: the caller reads AWS's error type from the body).
    pub fn call(&self, action: &str, body: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
        let target = format!("{}.{action}", self.target_prefix);
        let content_type = "application/x-amz-json-1.0";
        let headers = [("content-type", content_type), ("x-amz-target", target.as_str())];
        let creds = self.credentials.read().expect("credentials lock").clone();
        let signed = self
            .signer
            .sign(&creds, &self.host, &self.path, &headers, body, &now_amz_date());
        let mut request = self
            .agent
            .post(&self.url)
            .header("content-type", content_type)
            .header("x-amz-target", target.as_str());
        for (name, value) in &signed {
            request = request.header(*name, value.as_str());
        }
        let mut response = request.send(body).map_err(|e| HttpError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let data = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        Ok((status, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let split = |u| split_endpoint(u).unwrap();
        assert_eq!(
            split("https://sqs.eu-west-1.amazonaws.com"),
            ("sqs.eu-west-1.amazonaws.com".into(), "/".into())
        );
        assert_eq!(split("http://127.0.0.1:5000/"), ("127.0.0.1:5000".into(), "/".into()));
        assert_eq!(split("http://h:80/x"), ("h".into(), "/x".into()));
        assert!(split_endpoint("ftp://h").is_err());
        assert!(split_endpoint("h:5000").is_err());
    }
}
