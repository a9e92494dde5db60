//! HTTP request bodies as events, in one pass and without parsing the events themselves: one JSON value, a JSON
//! array of values (split at its top-level commas), or NDJSON (one value per line). The codec validates each event
//! afterwards; here only the array's own brackets, commas and strings are followed.

use memchr::memchr2;

use crate::decode::ndjson_lines;

/// How a body holds its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`: one event, or a JSON array of events.
    Json,
    /// `application/x-ndjson`: one event per line.
    Ndjson,
}

impl BodyKind {
    pub fn from_code(code: u8) -> Option<BodyKind> {
        match code {
            0 => Some(BodyKind::Json),
            1 => Some(BodyKind::Ndjson),
            _ => None,
        }
    }
}

/// A body's events: the first ones (up to the caller's `keep`) and how many there are in all.
#[derive(Debug, Default)]
pub struct BodyEvents<'a> {
    /// `(index, bytes)` of the first `keep` events.
    pub events: Vec<(usize, &'a [u8])>,
    /// Every event of the body, kept or not.
    pub total: usize,
}

/// The events of `body`: `(index, bytes)` — the position in the array, or the line number of NDJSON (blank lines
/// are skipped but counted). A JSON body that starts with `[` must be a well-formed array around its elements
/// (each element is then checked by the codec); any other JSON body is one event. At most `keep` are collected
/// (the rest only counted), so a body of millions of tiny elements costs no memory per element past the limit.
pub fn body_events(body: &[u8], kind: BodyKind, keep: usize) -> Result<BodyEvents<'_>, String> {
    match kind {
        BodyKind::Ndjson => {
            let mut lines = ndjson_lines(body);
            let events: Vec<_> = lines.by_ref().take(keep).collect();
            let total = events.len() + lines.count();
            Ok(BodyEvents { events, total })
        }
        BodyKind::Json => {
            let start = skip_ws(body, 0);
            if body.get(start) == Some(&b'[') {
                split_array(body, start + 1, keep)
            } else {
                let events = if keep > 0 { vec![(0, body)] } else { Vec::new() };
                Ok(BodyEvents { events, total: 1 })
            }
        }
    }
}

fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The elements of the array whose `[` is just before `pos` (the first `keep` of them collected).
fn split_array(buf: &[u8], pos: usize, keep: usize) -> Result<BodyEvents<'_>, String> {
    let mut out = BodyEvents::default();
    let mut i = skip_ws(buf, pos);
    if buf.get(i) == Some(&b']') {
        return trailing(buf, i + 1).map(|()| out);
    }
    loop {
        let start = i;
        let mut depth = 0usize;
        loop {
            let Some(&c) = buf.get(i) else {
                return Err(format!(
                    "the JSON array is not closed (element {} unterminated)",
                    out.total
                ));
            };
            match c {
                b'"' => i = string_end(buf, i + 1).ok_or_else(|| unterminated(out.total))?,
                b'{' | b'[' => {
                    depth += 1;
                    i += 1;
                }
                b',' | b']' if depth == 0 => break,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    i += 1;
                }
                _ => i += 1,
            }
        }
        let mut end = i;
        while end > start && matches!(buf[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
            end -= 1;
        }
        if out.events.len() < keep {
            out.events.push((out.total, &buf[start..end]));
        }
        out.total += 1;
        if buf[i] == b']' {
            return trailing(buf, i + 1).map(|()| out);
        }
        i = skip_ws(buf, i + 1);
    }
}

fn unterminated(element: usize) -> String {
    format!("the JSON array is not closed (a string in element {element} is unterminated)")
}

/// The position after the closing quote of the string whose body starts at `i`.
fn string_end(buf: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let at = i + memchr2(b'"', b'\\', &buf[i..])?;
        if buf[at] == b'"' {
            return Some(at + 1);
        }
        i = at + 2; // the escaped byte, whatever it is
        if i > buf.len() {
            return None;
        }
    }
}

fn trailing(buf: &[u8], i: usize) -> Result<(), String> {
    if skip_ws(buf, i) == buf.len() {
        Ok(())
    } else {
        Err(format!("unexpected data after the JSON array at byte {i}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<(usize, String)> {
        body_events(body.as_bytes(), BodyKind::Json, usize::MAX)
            .unwrap()
            .events
            .into_iter()
            .map(|(i, b)| (i, String::from_utf8(b.to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn splits_an_array_at_its_top_level_commas() {
        let got = texts(" [ {\"a\": [1, {\"b\": \"x,]\\\"\"}]} ,\n 2, \"s\" , {} ]\n");
        let want = [r#"{"a": [1, {"b": "x,]\""}]}"#, "2", "\"s\"", "{}"];
        assert_eq!(
            got,
            want.iter()
                .enumerate()
                .map(|(i, s)| (i, s.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn one_value_and_empty_arrays() {
        assert_eq!(texts("{\"a\":\n1}"), vec![(0, "{\"a\":\n1}".to_string())]);
        assert!(texts("[ ]").is_empty());
        assert_eq!(texts("[{},,{}]")[1], (1, String::new())); // an empty element: the codec rejects it
    }

    #[test]
    fn malformed_arrays_are_errors() {
        for body in ["[{}", "[{\"a\": \"x]", "[1] x", "[\"\\"] {
            assert!(
                body_events(body.as_bytes(), BodyKind::Json, usize::MAX).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn ndjson_lines_keep_their_numbers() {
        let got = body_events(b"{}\n\n{\"a\":1}\r\n", BodyKind::Ndjson, usize::MAX)
            .unwrap()
            .events;
        assert_eq!(got, vec![(0, &b"{}"[..]), (2, &b"{\"a\":1}"[..])]);
    }

    #[test]
    fn past_the_limit_events_are_counted_not_kept() {
        let array = format!("[{}1]", "1,".repeat(99_999));
        let got = body_events(array.as_bytes(), BodyKind::Json, 1000).unwrap();
        assert_eq!((got.events.len(), got.total), (1000, 100_000));
        assert_eq!(got.events[999], (999, &b"1"[..]));
        let lines = "{}\n".repeat(5000);
        let got = body_events(lines.as_bytes(), BodyKind::Ndjson, 10).unwrap();
        assert_eq!((got.events.len(), got.total), (10, 5000));
        let got = body_events(b"{}", BodyKind::Json, 0).unwrap();
        assert_eq!((got.events.len(), got.total), (0, 1));
    }
}
