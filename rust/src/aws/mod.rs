//! AWS without a Python object per message: SQS's JSON protocol read and written in Rust ([`sqs`]), requests
//! signed with Signature Version 4 ([`sigv4`]) and sent over a pooled HTTP client ([`http`]).

pub mod http;
pub mod sigv4;
pub mod sqs;
