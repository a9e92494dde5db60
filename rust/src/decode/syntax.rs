//! Whether a message is well-formed JSON, checked without recursion (any depth) and without building anything:
//! used when a row is refused for another reason, so that a malformed message is reported as `invalid_json`
//! wherever its first syntax error lies.

use super::cursor::Cursor;
use super::fail::{Fail, Res};

/// The first syntax error of `msg` (valid UTF-8), or `None` when it is one well-formed JSON value.
pub fn syntax_error(msg: &[u8]) -> Option<Fail> {
    let mut cur = Cursor::new(msg);
    let mut stack: Vec<u8> = Vec::new();
    let mut scratch = Vec::new();
    check(&mut cur, &mut stack, &mut scratch).err()
}

fn check(cur: &mut Cursor<'_>, stack: &mut Vec<u8>, scratch: &mut Vec<u8>) -> Res<()> {
    'value: loop {
        match cur.peek() {
            Some(b'{') => {
                cur.pos += 1;
                if cur.peek() == Some(b'}') {
                    cur.pos += 1;
                } else {
                    stack.push(b'}');
                    key(cur, scratch)?;
                    continue 'value;
                }
            }
            Some(b'[') => {
                cur.pos += 1;
                if cur.peek() == Some(b']') {
                    cur.pos += 1;
                } else {
                    stack.push(b']');
                    continue 'value;
                }
            }
            Some(b'"') => {
                cur.string(scratch)?;
            }
            Some(b't') => cur.literal(b"true")?,
            Some(b'f') => cur.literal(b"false")?,
            Some(b'n') => cur.literal(b"null")?,
            Some(b'-' | b'0'..=b'9') => {
                cur.number()?;
            }
            _ => return cur.syntax("a JSON value"),
        }
        // After a value: close what ends here, or go on to the next member or element.
        loop {
            let Some(&close) = stack.last() else {
                return cur.finish();
            };
            match cur.peek() {
                Some(b',') => {
                    cur.pos += 1;
                    if close == b'}' {
                        key(cur, scratch)?;
                    }
                    continue 'value;
                }
                Some(c) if c == close => {
                    cur.pos += 1;
                    stack.pop();
                }
                _ => return cur.syntax(if close == b'}' { "',' or '}'" } else { "',' or ']'" }),
            }
        }
    }
}

fn key(cur: &mut Cursor<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    if cur.peek() != Some(b'"') {
        return cur.syntax("a string key");
    }
    cur.string(scratch)?;
    cur.expect(b':', "':'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_json_at_any_depth_and_names_the_first_syntax_error() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(syntax_error(deep.as_bytes()).is_none());
        for ok in [&br#"{"a":[1,{"b":null}],"c":"\u00e9"}"#[..], b" 1 ", b"[]", b"{}"] {
            assert!(syntax_error(ok).is_none(), "{}", String::from_utf8_lossy(ok));
        }
        for (bad, at) in [
            (&br#"{"i":"bad", "x":"#[..], "end of input"),
            (br#"{"x":1, "i": }"#, "byte 13"),
            (br#"{"a":[1,}"#, "byte 8"),
            (br#"{"a" 1}"#, "byte 5"),
            (br#"[1] 2"#, "byte 4"),
            (br#"{"a":01}"#, "byte"),
        ] {
            let f = syntax_error(bad).expect("malformed");
            assert_eq!(f.code, crate::RejectCode::InvalidJson);
            assert!(
                f.message.contains(at),
                "{}: {}",
                String::from_utf8_lossy(bad),
                f.message
            );
        }
    }
}
