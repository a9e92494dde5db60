//! Keys: equality a word at a time (the codec's key matching and duplicate checks), and which top-level keys an
//! event has (the publisher adds `event_id` / `ingest_time` only when they are absent).

use super::cursor::Cursor;
use super::json_value::skip_value;
use super::Ctx;

/// Byte equality for short keys, a word at a time without a library call: 8-byte words (the last one overlapping
/// the one before), two overlapping 4-byte words for keys of 4 to 7 bytes, or byte by byte below that.
#[inline(always)]
pub(crate) fn key_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], i: usize| u32::from_ne_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        // 0 to 3 bytes: the first, middle and last cover them all (a slice `==` would call memcmp).
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    }
}

/// For each of `wanted`, whether the message's top-level object has that key. `None` when the message is not a
/// well-formed JSON object (the codec then rejects it with the precise reason).
pub fn top_level_keys(msg: &[u8], wanted: &[&[u8]], max_depth: usize) -> Option<Vec<bool>> {
    let mut found = vec![false; wanted.len()];
    // Cheap path: without escapes, a key whose text appears nowhere in the message is absent.
    let escapes = memchr::memchr(b'\\', msg).is_some();
    if !escapes && !wanted.iter().any(|k| memchr::memmem::find(msg, k).is_some()) {
        return first_is_object(msg).then_some(found);
    }
    let mut ctx = Ctx::new(true, max_depth);
    ctx.depth = 1;
    let mut cur = Cursor::new(msg);
    cur.expect(b'{', "'{'").ok()?;
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
        cur.finish().ok()?;
        return Some(found);
    }
    loop {
        if cur.peek() != Some(b'"') {
            return None;
        }
        let mut scratch = Vec::new();
        let s = cur.string(&mut scratch).ok()?;
        let key = cur.str_bytes(s, &scratch);
        if let Some(i) = wanted.iter().position(|w| *w == key) {
            found[i] = true;
        }
        cur.expect(b':', "':'").ok()?;
        skip_value(&mut cur, &mut ctx).ok()?;
        match cur.peek() {
            Some(b',') => cur.pos += 1,
            Some(b'}') => {
                cur.pos += 1;
                break;
            }
            _ => return None,
        }
    }
    cur.finish().ok()?;
    Some(found)
}

fn first_is_object(msg: &[u8]) -> bool {
    msg.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_eq_compares_every_byte_of_every_length() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(key_eq(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!key_eq(&a, &b), "{n} {at}");
            }
            assert!(!key_eq(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    const WANTED: [&[u8]; 2] = [b"event_id", b"ingest_time"];

    #[test]
    fn finds_only_top_level_keys() {
        let got = top_level_keys(br#"{"a":{"event_id":1},"ingest_time":null}"#, &WANTED, 10);
        assert_eq!(got, Some(vec![false, true]));
        assert_eq!(top_level_keys(br#" {} "#, &WANTED, 10), Some(vec![false, false]));
        assert_eq!(
            top_level_keys(br#"{"x":"event_id"}"#, &WANTED, 10),
            Some(vec![false, false])
        );
        assert_eq!(
            top_level_keys(br#"{"event\u005fid":"e"}"#, &WANTED, 10),
            Some(vec![true, false]),
            "an escaped key is the same key"
        );
    }

    #[test]
    fn malformed_is_none() {
        assert_eq!(top_level_keys(br#"{"event_id":"#, &WANTED, 10), None);
        assert_eq!(top_level_keys(br#"[1]"#, &WANTED, 10), None);
        assert_eq!(top_level_keys(br#"{"event_id":1} x"#, &WANTED, 10), None);
    }
}
