//! Pub/Sub push deliveries: the JSON envelope Pub/Sub POSTs to an endpoint (`{"message": {...}, "subscription"}`),
//! as is or as the `data` of a structured Eventarc CloudEvent, read into a message's parts.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;

use crate::decode::parse_timestamp;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    message: Option<PushMessage<'a>>,
    /// A structured CloudEvent carries the envelope as its data.
    #[serde(borrow, default)]
    data: Option<Box<Envelope<'a>>>,
    #[serde(borrow, default)]
    subscription: Option<Cow<'a, str>>,
}

/// Pub/Sub sends the id and time under both spellings.
#[derive(Deserialize)]
struct PushMessage<'a> {
    #[serde(borrow, default)]
    data: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    attributes: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(borrow, default, rename = "messageId")]
    message_id_camel: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "message_id")]
    message_id_snake: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "publishTime")]
    publish_time_camel: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "publish_time")]
    publish_time_snake: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "orderingKey")]
    ordering_key: Option<Cow<'a, str>>,
}

/// One delivered message.
#[derive(Debug, PartialEq)]
pub struct PushDelivery {
    pub data: Vec<u8>,
    pub attributes: Vec<(String, String)>,
    pub message_id: String,
    pub publish_time_us: i64,
    pub ordering_key: String,
    pub subscription: String,
}

/// The message in a push request's body (a wrapped delivery or a structured CloudEvent holding one).
pub fn parse_push(body: &[u8]) -> Result<PushDelivery, String> {
    let mut envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| format!("not a Pub/Sub push envelope: {e}"))?;
    while envelope.message.is_none() {
        match envelope.data.take() {
            Some(inner) => envelope = *inner,
            None => return Err("not a Pub/Sub push envelope: no \"message\"".into()),
        }
    }
    let m = envelope.message.expect("checked above");
    let data = match m.data.as_deref() {
        None | Some("") => Vec::new(),
        Some(text) => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("message.data is not base64: {e}"))?,
    };
    let message_id = m
        .message_id_camel
        .or(m.message_id_snake)
        .ok_or("message.messageId is missing")?;
    let time = m
        .publish_time_camel
        .or(m.publish_time_snake)
        .ok_or("message.publishTime is missing")?;
    let publish_time_us = parse_timestamp(micro_precision(time.as_bytes()).as_ref())
        .map_err(|e| format!("message.publishTime {time:?}: {}", e.message))?;
    Ok(PushDelivery {
        data,
        attributes: m
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        message_id: message_id.into_owned(),
        publish_time_us,
        ordering_key: m.ordering_key.map(Cow::into_owned).unwrap_or_default(),
        subscription: envelope.subscription.map(Cow::into_owned).unwrap_or_default(),
    })
}

/// `text` with fraction digits beyond microseconds dropped (Pub/Sub's times may carry nanoseconds).
fn micro_precision(text: &[u8]) -> Cow<'_, [u8]> {
    let Some(dot) = text.iter().position(|&c| c == b'.') else {
        return Cow::Borrowed(text);
    };
    let digits = text[dot + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits <= 6 {
        return Cow::Borrowed(text);
    }
    let mut out = text[..dot + 7].to_vec();
    out.extend_from_slice(&text[dot + 1 + digits..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRAPPED: &str = r#"{"message": {"attributes": {"k": "v"}, "data": "eyJhIjoxfQ==",
        "messageId": "17", "message_id": "17", "publishTime": "2026-11-26T10:15:42.123456789Z",
        "publish_time": "2026-11-26T10:15:42.123456789Z"}, "subscription": "projects/p/subscriptions/s"}"#;

    #[test]
    fn reads_the_wrapped_envelope() {
        let d = parse_push(WRAPPED.as_bytes()).unwrap();
        assert_eq!(d.data, br#"{"a":1}"#);
        assert_eq!(d.attributes, vec![("k".to_string(), "v".to_string())]);
        assert_eq!(
            (d.message_id.as_str(), d.subscription.as_str()),
            ("17", "projects/p/subscriptions/s")
        );
        assert_eq!(d.publish_time_us % 1_000_000, 123_456);
    }

    #[test]
    fn reads_a_structured_cloud_event() {
        let event = format!(
            r#"{{"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": "//pubsub.googleapis.com/x", "id": "17", "data": {WRAPPED}}}"#
        );
        assert_eq!(
            parse_push(event.as_bytes()).unwrap(),
            parse_push(WRAPPED.as_bytes()).unwrap()
        );
    }

    #[test]
    fn names_what_is_wrong() {
        for (body, why) in [
            ("[]", "not a Pub/Sub push envelope"),
            ("{}", "no \"message\""),
            (
                r#"{"message": {"data": "%%", "messageId": "1", "publishTime": "2026-01-01T00:00:00Z"}}"#,
                "base64",
            ),
            (
                r#"{"message": {"publishTime": "2026-01-01T00:00:00Z"}}"#,
                "messageId is missing",
            ),
            (
                r#"{"message": {"messageId": "1", "publishTime": "soon"}}"#,
                "publishTime \"soon\"",
            ),
        ] {
            let e = parse_push(body.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
    }
}
