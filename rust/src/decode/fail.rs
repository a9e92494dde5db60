//! Row failures: a reject code, a human message, and the JSON path, built only when something goes wrong.

use crate::error::RejectCode;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Why the current row failed. Boxed so that `Result<(), Fail>` stays one word on the hot path.
#[derive(Debug)]
pub struct Failure {
    pub code: RejectCode,
    pub message: String,
    /// Innermost segment first; reversed when rendered.
    pub rev_path: Vec<Seg>,
}

pub type Fail = Box<Failure>;
pub type Res<T> = Result<T, Fail>;

/// Build a failure with an empty path.
#[cold]
#[inline(never)]
pub fn fail(code: RejectCode, message: impl Into<String>) -> Fail {
    Box::new(Failure {
        code,
        message: message.into(),
        rev_path: Vec::new(),
    })
}

/// Build a failure and return it as an `Err`.
#[cold]
#[inline(never)]
pub fn err<T>(code: RejectCode, message: impl Into<String>) -> Res<T> {
    Err(fail(code, message))
}

/// Prefix a failure's path with an object key (called while the error travels outwards).
#[cold]
#[inline(never)]
pub fn at_key(mut f: Fail, key: &[u8]) -> Fail {
    f.rev_path.push(Seg::Key(String::from_utf8_lossy(key).into_owned()));
    f
}

/// A `duplicate_key` failure at `key` (in a RECORD or in a JSON column's object).
#[cold]
#[inline(never)]
pub fn duplicate_key(key: &[u8]) -> Fail {
    at_key(
        fail(RejectCode::DuplicateKey, format!("duplicate key {}", preview(key))),
        key,
    )
}

/// Prefix a failure's path with an array index.
#[cold]
#[inline(never)]
pub fn at_index(mut f: Fail, index: usize) -> Fail {
    f.rev_path.push(Seg::Index(index));
    f
}

/// Render a path as `items[2].qty`; the empty path (the whole row) renders as an empty string.
pub fn render_path(rev_path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in rev_path.iter().rev() {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// A short, printable preview of some input bytes for error messages.
pub fn preview(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

/// `message` with every value quoted by [`preview`] replaced by `"…"` (and `\\u` escape digits by `XXXX`).
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            out.push_str("…\"");
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => escaped = false,
                }
            }
        }
    }
    match out.find("lone surrogate \\u") {
        Some(at) => out[..at + "lone surrogate \\u".len()].to_string() + "XXXX",
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_every_quoted_value() {
        let m = format!("expected an INT64, got {}", preview(br#"my "secret" 42"#));
        assert_eq!(redact(&m), "expected an INT64, got \"…\"");
        let two = format!("{} and {}", preview(b"a\\b"), preview(b"c"));
        assert_eq!(redact(&two), "\"…\" and \"…\"");
        assert_eq!(redact("string too long: 7 characters"), "string too long: 7 characters");
        assert_eq!(
            redact("invalid JSON at byte 3: lone surrogate \\ud83d"),
            "invalid JSON at byte 3: lone surrogate \\uXXXX"
        );
    }

    #[test]
    fn renders_nested_paths() {
        let f = fail(RejectCode::TypeMismatch, "x");
        let f = at_key(at_index(at_key(f, b"qty"), 2), b"items");
        assert_eq!(render_path(&f.rev_path), "items[2].qty");
        assert_eq!(render_path(&[]), "");
    }

    #[test]
    fn preview_truncates() {
        assert_eq!(preview(b"abc"), "\"abc\"");
        assert!(preview(&[b'a'; 100]).ends_with("…\""));
    }
}
