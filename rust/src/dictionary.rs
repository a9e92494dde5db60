//! zstd dictionaries for envelopes: trained on a sample of a stream's events, they let a small envelope (a few
//! events) compress as well as a large one, since the field names and common values it would otherwise spell out
//! once per envelope are in the dictionary. A dictionary is named by the id zstd writes into it (and into each
//! frame made with it); a publisher seals with one and marks the envelope `content-dictionary: ID`, and readers
//! open it with the dictionary of that id, registered in this process ([`register`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// A registered dictionary: its bytes, ready for decompressing, and for compressing at each level asked for.
pub struct Dictionary {
    pub id: u32,
    raw: Vec<u8>,
    pub decoder: DecoderDictionary<'static>,
    encoders: Mutex<HashMap<i32, Arc<EncoderDictionary<'static>>>>,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dictionary({}, {} bytes)", self.id, self.raw.len())
    }
}

impl Dictionary {
    /// The dictionary prepared for compressing at `level` (prepared once per level: it costs a few ms).
    pub fn encoder(&self, level: i32) -> Arc<EncoderDictionary<'static>> {
        let mut encoders = self.encoders.lock().unwrap_or_else(|e| e.into_inner());
        encoders
            .entry(level)
            .or_insert_with(|| Arc::new(EncoderDictionary::copy(&self.raw, level)))
            .clone()
    }
}

static REGISTRY: LazyLock<RwLock<HashMap<u32, Arc<Dictionary>>>> = LazyLock::new(Default::default);

/// Register a dictionary (zstd's format, as `zstd --train` or [`train`] makes it) for sealing and opening in
/// this process; its id. Registering the same id again replaces it.
pub fn register(raw: &[u8]) -> Result<u32, String> {
    let id = zstd::zstd_safe::get_dict_id_from_dict(raw)
        .ok_or("not a zstd dictionary: it has no dictionary id (train one with `streamlake dictionary train`)")?
        .get();
    let dictionary = Dictionary {
        id,
        raw: raw.to_vec(),
        decoder: DecoderDictionary::copy(raw),
        encoders: Mutex::default(),
    };
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    registry.insert(id, Arc::new(dictionary));
    Ok(id)
}

/// The registered dictionary of this id.
pub fn get(id: u32) -> Option<Arc<Dictionary>> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner()).get(&id).cloned()
}

/// A dictionary of at most `max_size` bytes trained on `samples` (events, one each).
pub fn train<S: AsRef<[u8]>>(samples: &[S], max_size: usize) -> Result<Vec<u8>, String> {
    zstd::dict::from_samples(samples, max_size).map_err(|e| format!("training a zstd dictionary failed: {e}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Events like the demo's receipts, for training.
    pub(crate) fn samples(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                format!(
                    "{{\"event_id\":\"e-{i}\",\"store_id\":\"store-{}\",\"total\":{}.{:02},\"currency\":\"EUR\",\
                     \"items\":[{{\"sku\":\"SKU-{}\",\"qty\":{}}}]}}",
                    i % 17,
                    i % 300,
                    i % 100,
                    i % 911,
                    i % 5 + 1
                )
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn trained_dictionaries_register_by_their_id() {
        let raw = train(&samples(2000), 4096).unwrap();
        let id = register(&raw).unwrap();
        assert_eq!(get(id).unwrap().id, id);
        assert!(get(id.wrapping_add(1)).is_none());
        assert!(register(b"just some bytes")
            .unwrap_err()
            .contains("not a zstd dictionary"));
    }
}
