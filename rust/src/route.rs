//! Routes: the key of each received message, read in one pass before it is decoded — an attribute's value or a
//! field's ([`FieldReader`]: a top-level or nested field, no more of the event read than stands before it) — and
//! the messages grouped by it, so that each route's rows are decoded with that route's codec. No copy of a message.
//! The same grouping renders a destination template's parts: a field's time as `%Y/%m/%d` ([`TimeFormat`]).

use std::collections::HashMap;

use crate::decode::{civil_from_days, parse_timestamp, FieldReader, FieldText};
use crate::received::{slice, Received};

/// What messages are routed by.
#[derive(Debug, Clone)]
pub enum RouteBy {
    /// An attribute's value (SQS: a message attribute).
    Attribute(Vec<u8>),
    /// A field's value: its path, `["payment", "method"]` for `payment.method`.
    Field(Vec<Vec<u8>>),
    /// A TIMESTAMP field's value (RFC 3339 text, as the codec takes it) formatted in UTC.
    Time(Vec<Vec<u8>>, TimeFormat),
}

/// One piece of a time format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TimePiece {
    Text(Vec<u8>),
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

/// A `strftime` subset for path and table parts: `%Y`, `%m`, `%d`, `%H`, `%M`, `%S` and `%%`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFormat(Vec<TimePiece>);

impl TimeFormat {
    /// The format of `text`, or what is wrong with it.
    pub fn parse(text: &str) -> Result<TimeFormat, String> {
        let mut pieces = Vec::new();
        let mut literal = Vec::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                let mut utf8 = [0; 4];
                literal.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                continue;
            }
            let piece = match chars.next() {
                Some('%') => {
                    literal.push(b'%');
                    continue;
                }
                Some('Y') => TimePiece::Year,
                Some('m') => TimePiece::Month,
                Some('d') => TimePiece::Day,
                Some('H') => TimePiece::Hour,
                Some('M') => TimePiece::Minute,
                Some('S') => TimePiece::Second,
                Some(other) => return Err(format!("%{other} is not one of %Y %m %d %H %M %S %%")),
                None => return Err("a lone % at the end (write %% for a percent sign)".into()),
            };
            if !literal.is_empty() {
                pieces.push(TimePiece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(piece);
        }
        if !literal.is_empty() {
            pieces.push(TimePiece::Text(literal));
        }
        Ok(TimeFormat(pieces))
    }

    /// `micros` (UTC microseconds since the epoch) formatted into `out` (cleared first).
    fn write(&self, micros: i64, out: &mut Vec<u8>) {
        let (days, in_day) = (micros.div_euclid(86_400_000_000), micros.rem_euclid(86_400_000_000));
        let (y, m, d) = civil_from_days(days);
        let secs = in_day / 1_000_000;
        out.clear();
        for piece in &self.0 {
            let (value, width) = match piece {
                TimePiece::Text(t) => {
                    out.extend_from_slice(t);
                    continue;
                }
                TimePiece::Year => (y, 4),
                TimePiece::Month => (i64::from(m), 2),
                TimePiece::Day => (i64::from(d), 2),
                TimePiece::Hour => (secs / 3600, 2),
                TimePiece::Minute => (secs / 60 % 60, 2),
                TimePiece::Second => (secs % 60, 2),
            };
            out.extend_from_slice(format!("{value:0width$}").as_bytes());
        }
    }
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
        RouteBy::Field(path) | RouteBy::Time(path, _) => Some(FieldReader::new(path.clone(), max_depth)),
        RouteBy::Attribute(_) => None,
    };
    let mut formatted = Vec::new();
    for (i, &(buf, m)) in messages.iter().enumerate() {
        let text = match (by, reader.as_mut()) {
            _ if m.refused.is_some() => FieldText::Malformed, // an envelope that cannot be opened: its reason
            (RouteBy::Attribute(name), _) => m
                .attributes
                .iter()
                .find(|&&(k, _)| slice(buf, k) == name.as_slice())
                .map_or(FieldText::Absent, |&(_, v)| FieldText::Value(slice(buf, v))),
            (RouteBy::Field(_), Some(reader)) => reader.read(slice(buf, m.data)),
            (RouteBy::Time(_, format), Some(reader)) => match reader.read(slice(buf, m.data)) {
                FieldText::Value(v) => match parse_timestamp(v) {
                    Ok(micros) => {
                        format.write(micros, &mut formatted);
                        FieldText::Value(&formatted)
                    }
                    Err(_) => FieldText::Absent, // not a time: the template has no value for it
                },
                other => other,
            },
            (_, None) => unreachable!("a field reader for a field route"),
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
    fn formats_a_time_field_and_sets_values_that_are_no_time_apart() {
        let data: [&[u8]; 4] = [
            br#"{"t":"2026-12-07T23:59:59.5Z","n":1}"#,
            br#"{"t":"2026-12-08T00:30:00+01:00"}"#, // 23:30 the day before in UTC
            br#"{"t":"yesterday"}"#,
            br#"{"t":"0001-01-01 00:00:00"}"#,
        ];
        let (buf, spans) = pack(&data.map(|d| parts(d, vec![])));
        let received: Vec<Received<'_>> = spans.iter().map(|s| (&buf[..], s)).collect();
        let format = TimeFormat::parse("%Y/%m/%d/%H:%M:%S 100%%").unwrap();
        let groups = group_by_route(&received, &RouteBy::Time(vec![b"t".to_vec()], format), 64);
        assert_eq!(
            groups,
            vec![
                (Key::Value(b"2026/12/07/23:59:59 100%".to_vec()), vec![0]),
                (Key::Value(b"2026/12/07/23:30:00 100%".to_vec()), vec![1]),
                (Key::Absent, vec![2]),
                (Key::Value(b"0001/01/01/00:00:00 100%".to_vec()), vec![3]),
            ]
        );
        assert!(TimeFormat::parse("%Y-%q").unwrap_err().contains("%q"));
        assert!(TimeFormat::parse("day %").unwrap_err().contains("lone %"));
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
