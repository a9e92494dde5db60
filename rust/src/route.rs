//! Routes: the key of each received message, read in one pass before it is decoded — an attribute's value or a
//! field's ([`FieldReader`]: a top-level or nested field, no more of the event read than stands before it) — and
//! the messages grouped by it, so that each route's rows are decoded with that route's codec. No copy of a message.

use std::collections::HashMap;

use crate::decode::{FieldReader, FieldText};
use crate::received::{slice, Received};

/// What messages are routed by.
#[derive(Debug, Clone)]
pub enum RouteBy {
    /// An attribute's value (SQS: a message attribute).
    Attribute(Vec<u8>),
    /// A field's value: its path, `["payment", "method"]` for `payment.method`.
    Field(Vec<Vec<u8>>),
}

/// The key a group of messages shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The attribute's value, or the field's (a string's content, a number's or a boolean's literal).
    Value(Vec<u8>),
    /// No such attribute or field (or a null, an object, an array).
    Absent,
    /// The event is not well-formed JSON before its key: the codec of any route rejects it with the reason.
    Malformed,
}

/// `messages` grouped by their key: each group's indices in order, the groups in the order their keys first
/// appear. One pass; a key is copied once, when it is first seen.
pub fn group_by_route(messages: &[Received<'_>], by: &RouteBy, max_depth: usize) -> Vec<(Key, Vec<usize>)> {
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    let mut values: HashMap<Vec<u8>, usize> = HashMap::new();
    let (mut absent, mut malformed) = (None, None);
    let mut reader = match by {
        RouteBy::Field(path) => Some(FieldReader::new(path.clone(), max_depth)),
        RouteBy::Attribute(_) => None,
    };
    for (i, &(buf, m)) in messages.iter().enumerate() {
        let text = match (by, reader.as_mut()) {
            (RouteBy::Attribute(name), _) => m
                .attributes
                .iter()
                .find(|&&(k, _)| slice(buf, k) == name.as_slice())
                .map_or(FieldText::Absent, |&(_, v)| FieldText::Value(slice(buf, v))),
            (RouteBy::Field(_), Some(reader)) => reader.read(slice(buf, m.data)),
            (RouteBy::Field(_), None) => unreachable!("a field reader for a field route"),
        };
        let mut open = |key: Key| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        };
        let g = match text {
            FieldText::Value(v) => match values.get(v) {
                Some(&g) => g,
                None => {
                    let g = open(Key::Value(v.to_vec()));
                    values.insert(v.to_vec(), g);
                    g
                }
            },
            FieldText::Absent => *absent.get_or_insert_with(|| open(Key::Absent)),
            FieldText::Malformed => *malformed.get_or_insert_with(|| open(Key::Malformed)),
        };
        groups[g].1.push(i);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::{pack, MessageParts};

    fn parts<'a>(data: &'a [u8], attributes: Vec<(&'a [u8], &'a [u8])>) -> MessageParts<'a> {
        MessageParts {
            data,
            attributes,
            message_id: b"m",
            publish_time_us: 0,
            ordering_key: b"",
        }
    }

    #[test]
    fn groups_by_attribute_in_the_order_keys_first_appear() {
        let (buf, spans) = pack(&[
            parts(b"{}", vec![(b"type", b"iot")]),
            parts(b"{}", vec![(b"k", b"v"), (b"type", b"receipt")]),
            parts(b"{}", vec![]),
            parts(b"{}", vec![(b"type", b"iot")]),
        ]);
        let received: Vec<Received<'_>> = spans.iter().map(|s| (&buf[..], s)).collect();
        let groups = group_by_route(&received, &RouteBy::Attribute(b"type".to_vec()), 64);
        assert_eq!(
            groups,
            vec![
                (Key::Value(b"iot".to_vec()), vec![0, 3]),
                (Key::Value(b"receipt".to_vec()), vec![1]),
                (Key::Absent, vec![2]),
            ]
        );
    }

    #[test]
    fn groups_by_a_nested_field_and_sets_malformed_events_apart() {
        let data: [&[u8]; 5] = [
            br#"{"payment":{"method":"card"},"n":1}"#,
            br#"{"payment":{"method":"cash"}}"#,
            br#"{"payment":{"method":"card"}"#, // the key is read before the JSON ends: the codec rejects it
            br#"{"payment":"#,
            br#"{"n":2}"#,
        ];
        let (buf, spans) = pack(&data.map(|d| parts(d, vec![])));
        let received: Vec<Received<'_>> = spans.iter().map(|s| (&buf[..], s)).collect();
        let by = RouteBy::Field(vec![b"payment".to_vec(), b"method".to_vec()]);
        let groups = group_by_route(&received, &by, 64);
        assert_eq!(
            groups,
            vec![
                (Key::Value(b"card".to_vec()), vec![0, 2]),
                (Key::Value(b"cash".to_vec()), vec![1]),
                (Key::Malformed, vec![3]),
                (Key::Absent, vec![4]),
            ]
        );
    }
}
