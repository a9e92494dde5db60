//! The edge processor's declarative transform: rename, drop, default, hash or redact fields of raw JSON events,
//! and derive `event_id` / `ingest_time` — one rewrite of each event's bytes, in the same native call that
//! validates and packs them. No per-event Python.
//!
//! Paths are dotted (`customer.email`); a path through an array of objects applies to each element
//! (`items.sku`). Every path names fields as they arrive, except the last segment of a `defaults` path, which
//! names the field as it leaves (after any rename). A default fills a field that is absent or `null`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::decode::{copy_value, enter, skip_value, Ctx, Cursor};

/// The transform as configured (the Python layer reads it from TOML and passes it on as JSON).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformSpec {
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    #[serde(default)]
    pub drop: Vec<String>,
    #[serde(default)]
    pub defaults: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub hash: Vec<String>,
    /// HMAC-SHA256 key for `hash` (hex); without one, plain SHA-256.
    #[serde(default)]
    pub hash_key: Option<String>,
    #[serde(default)]
    pub redact: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Action {
    #[default]
    Keep,
    Drop,
    Hash,
    Redact,
}

#[derive(Debug, Default)]
struct Field {
    rename: Option<Vec<u8>>,
    action: Action,
    child: Option<Box<Level>>,
}

/// What to do with the fields of one object.
#[derive(Debug, Default)]
struct Level {
    /// Looked up by a linear scan: a level names a handful of fields, and most keys of an event match none.
    fields: Vec<(Vec<u8>, Field)>,
    /// (output name, JSON text) filled when absent or null.
    defaults: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A compiled transform; immutable, shared by threads.
#[derive(Debug, Default)]
pub struct Transform {
    root: Level,
    hash_key: Option<Vec<u8>>,
}

/// Values derived per event at the top level, when absent or null.
#[derive(Debug, Default, Clone, Copy)]
pub struct Derived<'a> {
    /// `event_id` = `<prefix><sequence number as 16 hex digits>`.
    pub event_id_prefix: Option<&'a str>,
    /// `ingest_time` = this RFC 3339 text.
    pub ingest_time: Option<&'a str>,
}

/// The `event_id` of sequence number `seq`.
pub fn event_id(prefix: &str, seq: u64) -> String {
    format!("{prefix}{seq:016x}")
}

impl Transform {
    /// Compile a spec; errors name the path at fault.
    pub fn compile(spec: &TransformSpec) -> Result<Transform, String> {
        let mut root = Level::default();
        let mut claimed: HashMap<&str, &str> = HashMap::new();
        for (from, to) in &spec.rename {
            check_path(from)?;
            if to.is_empty() || to.contains('.') {
                return Err(format!(
                    "rename {from:?}: the new name {to:?} must be one field name, without dots"
                ));
            }
            field_at(&mut root, from).rename = Some(to.as_bytes().to_vec());
        }
        for (list, action, what) in [
            (&spec.drop, Action::Drop, "drop"),
            (&spec.hash, Action::Hash, "hash"),
            (&spec.redact, Action::Redact, "redact"),
        ] {
            for p in list {
                check_path(p)?;
                if let Some(before) = claimed.insert(p, what) {
                    return Err(format!("{p:?} is in both {before} and {what}"));
                }
                let f = field_at(&mut root, p);
                if action == Action::Drop && f.rename.is_some() {
                    return Err(format!("{p:?} is both renamed and dropped"));
                }
                f.action = action;
            }
        }
        for (p, value) in &spec.defaults {
            check_path(p)?;
            let (parent, name) = match p.rsplit_once('.') {
                Some((parent, name)) => (Some(parent), name),
                None => (None, p.as_str()),
            };
            let level = match parent {
                Some(parent) => field_at(&mut root, parent).child.get_or_insert_with(Default::default),
                None => &mut root,
            };
            let text = serde_json::to_vec(value).map_err(|e| format!("defaults {p:?}: {e}"))?;
            level.defaults.push((name.as_bytes().to_vec(), text));
        }
        let hash_key = match &spec.hash_key {
            Some(hex) => Some(from_hex(hex).ok_or("hash_key must be hex digits (an even number of them)")?),
            None => None,
        };
        Ok(Transform { root, hash_key })
    }

    /// True when the transform changes nothing.
    pub fn is_empty(&self) -> bool {
        self.root.fields.is_empty() && self.root.defaults.is_empty()
    }

    /// The event rewritten; unchanged when it is not well-formed JSON (the codec then rejects it with the precise
    /// reason). `seq` advances once for each `event_id` derived.
    pub fn apply<'m>(&self, msg: &'m [u8], derived: Derived<'_>, seq: &mut u64, max_depth: usize) -> Cow<'m, [u8]> {
        if simdutf8::basic::from_utf8(msg).is_err() {
            return Cow::Borrowed(msg);
        }
        let mut cur = Cursor::new(msg);
        if cur.peek() != Some(b'{') {
            return Cow::Borrowed(msg);
        }
        let mut ctx = Ctx::new(true, max_depth);
        let mut out = Vec::with_capacity(msg.len() + 96);
        let start_seq = *seq;
        let top = Top { derived, seq };
        let mut w = Writer {
            t: self,
            out: &mut out,
            ctx: &mut ctx,
        };
        if w.object(&mut cur, Some(&self.root), Some(top)).is_ok() && cur.finish().is_ok() {
            Cow::Owned(out)
        } else {
            *seq = start_seq;
            Cow::Borrowed(msg)
        }
    }

    fn digest(&self, value: &[u8]) -> [u8; 32] {
        match &self.hash_key {
            Some(key) => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(value);
                mac.finalize().into_bytes().into()
            }
            None => Sha256::digest(value).into(),
        }
    }
}

struct Top<'a, 's> {
    derived: Derived<'a>,
    seq: &'s mut u64,
}

struct Writer<'t, 'o> {
    t: &'t Transform,
    out: &'o mut Vec<u8>,
    ctx: &'o mut Ctx,
}

type Res = Result<(), ()>;

impl Writer<'_, '_> {
    /// Rewrite the object at the cursor by `level` (none: copied as it is).
    fn object(&mut self, cur: &mut Cursor<'_>, level: Option<&Level>, top: Option<Top<'_, '_>>) -> Res {
        let Some(level) = level else {
            return copy_value(cur, self.out, self.ctx).map_err(drop);
        };
        enter(self.ctx).map_err(drop)?;
        cur.pos += 1;
        // Fields filled when absent or null: the level's defaults, then the derived ones at the top.
        let mut fills: Vec<(&[u8], Option<&[u8]>)> =
            level.defaults.iter().map(|(k, v)| (&k[..], Some(&v[..]))).collect();
        if let Some(top) = &top {
            if top.derived.event_id_prefix.is_some() {
                fills.push((b"event_id", None));
            }
            if top.derived.ingest_time.is_some() {
                fills.push((b"ingest_time", None));
            }
        }
        let mut seen = vec![false; fills.len()];
        self.out.push(b'{');
        let mut first = true;
        if cur.peek() == Some(b'}') {
            cur.pos += 1;
        } else {
            let mut key = Vec::new();
            loop {
                if cur.peek() != Some(b'"') {
                    return Err(());
                }
                let key_start = cur.pos;
                key.clear();
                cur.string_into(&mut key).map_err(drop)?;
                let raw_key = &cur.buf[key_start..cur.pos];
                cur.expect(b':', "':'").map_err(drop)?;
                let field = level.fields.iter().find(|(k, _)| *k == key).map(|(_, f)| f);
                let action = field.map_or(Action::Keep, |f| f.action);
                let out_name: &[u8] = field.and_then(|f| f.rename.as_deref()).unwrap_or(&key);
                let fill = fills.iter().position(|(k, _)| *k == out_name);
                let is_null = cur.peek() == Some(b'n');
                if action == Action::Drop || (is_null && fill.is_some()) {
                    skip_value(cur, self.ctx).map_err(drop)?;
                } else {
                    if let Some(i) = fill {
                        seen[i] = true;
                    }
                    if !std::mem::take(&mut first) {
                        self.out.push(b',');
                    }
                    match field.and_then(|f| f.rename.as_deref()) {
                        Some(name) => put_string(self.out, name),
                        None => self.out.extend_from_slice(raw_key),
                    }
                    self.out.push(b':');
                    self.value(cur, field, action)?;
                }
                match cur.peek() {
                    Some(b',') => cur.pos += 1,
                    Some(b'}') => {
                        cur.pos += 1;
                        break;
                    }
                    _ => return Err(()),
                }
            }
        }
        let mut top = top;
        for ((name, value), _) in fills.iter().zip(&seen).filter(|(_, seen)| !**seen) {
            if !std::mem::take(&mut first) {
                self.out.push(b',');
            }
            put_string(self.out, name);
            self.out.push(b':');
            match (value, top.as_mut()) {
                (Some(json), _) => self.out.extend_from_slice(json),
                (None, Some(top)) if *name == b"event_id" => {
                    let prefix = top.derived.event_id_prefix.unwrap_or_default();
                    put_string(self.out, event_id(prefix, *top.seq).as_bytes());
                    *top.seq += 1;
                }
                (None, Some(top)) => put_string(self.out, top.derived.ingest_time.unwrap_or_default().as_bytes()),
                (None, None) => unreachable!("derived fields are filled at the top only"),
            }
        }
        self.out.push(b'}');
        self.ctx.depth -= 1;
        Ok(())
    }

    fn value(&mut self, cur: &mut Cursor<'_>, field: Option<&Field>, action: Action) -> Res {
        match action {
            Action::Redact => {
                skip_value(cur, self.ctx).map_err(drop)?;
                self.out.extend_from_slice(b"null");
                Ok(())
            }
            Action::Hash => self.hash(cur),
            Action::Keep | Action::Drop => {
                let child = field.and_then(|f| f.child.as_deref());
                match (child, cur.peek()) {
                    (Some(level), Some(b'{')) => self.object(cur, Some(level), None),
                    (Some(level), Some(b'[')) => self.array(cur, level),
                    // Kept as it is: copied verbatim without validation (the codec validates what is kept).
                    _ => {
                        let end = raw_value_end(cur.buf, cur.pos).ok_or(())?;
                        self.out.extend_from_slice(&cur.buf[cur.pos..end]);
                        cur.pos = end;
                        Ok(())
                    }
                }
            }
        }
    }

    /// An array whose object elements are rewritten by `level`.
    fn array(&mut self, cur: &mut Cursor<'_>, level: &Level) -> Res {
        enter(self.ctx).map_err(drop)?;
        cur.pos += 1;
        self.out.push(b'[');
        if cur.peek() == Some(b']') {
            cur.pos += 1;
        } else {
            loop {
                match cur.peek() {
                    Some(b'{') => self.object(cur, Some(level), None)?,
                    _ => copy_value(cur, self.out, self.ctx).map_err(drop)?,
                }
                match cur.peek() {
                    Some(b',') => {
                        cur.pos += 1;
                        self.out.push(b',');
                    }
                    Some(b']') => {
                        cur.pos += 1;
                        break;
                    }
                    _ => return Err(()),
                }
            }
        }
        self.out.push(b']');
        self.ctx.depth -= 1;
        Ok(())
    }

    /// The value replaced by the hex digest of its content (a string's decoded text, otherwise its JSON text);
    /// `null` stays `null`.
    fn hash(&mut self, cur: &mut Cursor<'_>) -> Res {
        let mut content = Vec::new();
        match cur.peek() {
            Some(b'n') => return copy_value(cur, self.out, self.ctx).map_err(drop),
            Some(b'"') => cur.string_into(&mut content).map_err(drop)?,
            _ => copy_value(cur, &mut content, self.ctx).map_err(drop)?,
        }
        let digest = self.t.digest(&content);
        self.out.push(b'"');
        for b in digest {
            self.out.extend_from_slice(&HEX[b as usize * 2..b as usize * 2 + 2]);
        }
        self.out.push(b'"');
        Ok(())
    }
}

/// The end of the JSON value starting at `pos`, found by matching brackets and quotes only; `None` when the input
/// ends first. What it spans is copied verbatim, and validated by the codec afterwards.
fn raw_value_end(buf: &[u8], pos: usize) -> Option<usize> {
    let string_end = |from: usize| -> Option<usize> {
        let mut i = from + 1;
        loop {
            i += memchr::memchr2(b'"', b'\\', &buf[i..])?;
            if buf[i] == b'"' {
                return Some(i + 1);
            }
            i += 2;
            if i > buf.len() {
                return None;
            }
        }
    };
    match *buf.get(pos)? {
        b'"' => string_end(pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = pos;
            while i < buf.len() {
                match buf[i] {
                    b'"' => {
                        i = string_end(i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => Some(
            buf[pos..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(buf.len(), |n| pos + n),
        ),
    }
}

const HEX: &[u8; 512] = &{
    let digits = b"0123456789abcdef";
    let mut t = [0u8; 512];
    let mut i = 0;
    while i < 256 {
        t[i * 2] = digits[i >> 4];
        t[i * 2 + 1] = digits[i & 15];
        i += 1;
    }
    t
};

/// The field at a dotted path (parents as arriving fields with a child level), created as needed.
fn field_at<'l>(root: &'l mut Level, path: &str) -> &'l mut Field {
    let mut level = root;
    let mut parts = path.split('.').peekable();
    loop {
        let name = parts.next().expect("a checked path has a segment");
        let at = match level.fields.iter().position(|(k, _)| k == name.as_bytes()) {
            Some(at) => at,
            None => {
                level.fields.push((name.as_bytes().to_vec(), Field::default()));
                level.fields.len() - 1
            }
        };
        let field = &mut level.fields[at].1;
        if parts.peek().is_none() {
            return field;
        }
        level = field.child.get_or_insert_with(Default::default);
    }
}

fn check_path(p: &str) -> Result<(), String> {
    if p.is_empty() || p.split('.').any(str::is_empty) {
        return Err(format!("{p:?} is not a field path (names joined by dots)"));
    }
    Ok(())
}

/// A field name as a JSON string (names are UTF-8 from the spec; quotes, backslashes and controls escaped).
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transform(spec: &str) -> Transform {
        Transform::compile(&serde_json::from_str(spec).unwrap()).unwrap()
    }

    fn run(t: &Transform, msg: &str) -> String {
        let mut seq = 0;
        String::from_utf8(t.apply(msg.as_bytes(), Derived::default(), &mut seq, 64).into_owned()).unwrap()
    }

    #[test]
    fn renames_drops_defaults_and_redacts_in_one_rewrite() {
        let t = transform(
            r#"{"rename": {"mail": "email", "cust.nm": "name"}, "drop": ["debug", "items.tmp"],
                "defaults": {"currency": "USD", "cust.tier": 1}, "redact": ["card"]}"#,
        );
        let got = run(
            &t,
            r#" {"mail":"a@b.c", "debug": {"x":[1,2]}, "card": "4111", "cust": {"nm": "Ann"},
                 "currency": null, "items": [{"sku":"x","tmp":1}, 5]} "#,
        );
        assert_eq!(
            got,
            r#"{"email":"a@b.c","card":null,"cust":{"name":"Ann","tier":1},"items":[{"sku":"x"},5],"currency":"USD"}"#
        );
        assert_eq!(run(&t, r#"{"currency":"EUR"}"#), r#"{"currency":"EUR"}"#);
    }

    #[test]
    fn hashes_string_content_and_other_values_by_their_text() {
        let t = transform(r#"{"hash": ["email", "n", "z"]}"#);
        let sha = |s: &str| -> String {
            Sha256::digest(s.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let got = run(&t, r#"{"email":"\u0061@b", "n": 12, "z": null}"#);
        assert_eq!(
            got,
            format!(r#"{{"email":"{}","n":"{}","z":null}}"#, sha("a@b"), sha("12"))
        );
        let keyed = transform(r#"{"hash": ["email"], "hash_key": "6b6579"}"#);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"a@b");
        let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(run(&keyed, r#"{"email":"a@b"}"#), format!(r#"{{"email":"{want}"}}"#));
    }

    #[test]
    fn derives_event_id_and_ingest_time_only_when_absent() {
        let t = transform(r#"{"drop": ["x"]}"#);
        let derived = Derived {
            event_id_prefix: Some("p"),
            ingest_time: Some("2026-11-27T00:00:00Z"),
        };
        let mut seq = 5;
        let out = t.apply(br#"{"x":1,"event_id":null}"#, derived, &mut seq, 64);
        assert_eq!(
            &*out,
            br#"{"event_id":"p0000000000000005","ingest_time":"2026-11-27T00:00:00Z"}"#
        );
        let out = t.apply(br#"{"event_id":"mine"}"#, derived, &mut seq, 64);
        assert_eq!(&*out, br#"{"event_id":"mine","ingest_time":"2026-11-27T00:00:00Z"}"#);
        assert_eq!(seq, 6);
    }

    #[test]
    fn malformed_events_are_left_for_the_codec_to_name() {
        let t = transform(r#"{"drop": ["x"], "defaults": {"a": 1}}"#);
        let derived = Derived {
            event_id_prefix: Some("p"),
            ingest_time: None,
        };
        let mut seq = 0;
        for bad in [
            &b"{\"x\":1,"[..],
            b"[1]",
            b"{\"a\":\xff}",
            b"{\"a\":1} x",
            b"{\"x\":[[[[1]]]]}",
            b"{\"x\":[1,}",
        ] {
            assert_eq!(&*t.apply(bad, derived, &mut seq, 4), bad);
        }
        assert_eq!(seq, 0, "no id is spent on a refused event");
        // A kept value is copied verbatim, malformed or too deep or not: the codec names what is wrong with it.
        let kept = t.apply(br#"{"b":[1,},"c":"\q"}"#, Derived::default(), &mut seq, 4);
        assert_eq!(&*kept, br#"{"b":[1,},"c":"\q","a":1}"#);
    }

    #[test]
    fn conflicting_or_malformed_specs_are_refused_by_path() {
        let bad = |spec: &str| Transform::compile(&serde_json::from_str(spec).unwrap()).unwrap_err();
        assert_eq!(
            bad(r#"{"drop": ["a"], "hash": ["a"]}"#),
            r#""a" is in both drop and hash"#
        );
        assert!(bad(r#"{"rename": {"a": "b.c"}}"#).contains("without dots"));
        assert!(bad(r#"{"redact": ["a..b"]}"#).contains("not a field path"));
        assert!(bad(r#"{"hash_key": "xyz"}"#).contains("hex"));
        assert!(serde_json::from_str::<TransformSpec>(r#"{"rename_to": {}}"#).is_err());
    }
}
