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

#[cfg(test)]
mod tests {
    use super::*;

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
