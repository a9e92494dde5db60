//! A bitmap builder for BOOL columns (a column's validity is `nulls.rs`): a bit is appended with one shift and one
//! `or` into a 64-bit word (no per-bit capacity check or byte arithmetic), rolled back to a length, and finished
//! into an Arrow `BooleanBuffer` without a copy.

use arrow_buffer::{BooleanBuffer, Buffer};

/// Bits in Arrow order (least significant first), 64 to a word.
#[derive(Debug, Default)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    /// An empty bitmap with room for `bits` bits.
    pub fn with_capacity(bits: usize) -> Bits {
        Bits {
            words: Vec::with_capacity(bits.div_ceil(64)),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Append one bit.
    #[inline(always)]
    pub fn append(&mut self, v: bool) {
        let bit = self.len % 64;
        if bit == 0 {
            self.words.push(0);
        }
        if let Some(w) = self.words.last_mut() {
            *w |= (v as u64) << bit;
        }
        self.len += 1;
    }

    /// Room for `additional` more bits.
    pub fn reserve(&mut self, additional: usize) {
        let need = (self.len + additional).div_ceil(64);
        self.words.reserve(need.saturating_sub(self.words.len()));
    }

    /// Keep the first `n` bits (n ≤ len), clearing the rest of the last word so later appends can `or` into it.
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len {
            return;
        }
        self.words.truncate(n.div_ceil(64));
        if n % 64 != 0 {
            if let Some(w) = self.words.last_mut() {
                *w &= (1u64 << (n % 64)) - 1;
            }
        }
        self.len = n;
    }

    /// The bits as an Arrow buffer, leaving this builder empty.
    pub fn finish(&mut self) -> BooleanBuffer {
        let mut words = std::mem::take(&mut self.words);
        let len = std::mem::take(&mut self.len);
        // Arrow's bitmap is little-endian bytes, least significant bit first: a no-op on little-endian machines.
        words.iter_mut().for_each(|w| *w = w.to_le());
        BooleanBuffer::new(Buffer::from_vec(words), 0, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_arrows_own_builder_through_truncation() {
        let mut ours = Bits::with_capacity(3);
        let mut theirs = arrow_buffer::BooleanBufferBuilder::new(3);
        let mut state = 7u32;
        for step in 0..1000 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let v = state >> 16 & 1 == 1;
            ours.append(v);
            theirs.append(v);
            if step % 97 == 13 {
                let n = ours.len() - (state as usize >> 8) % ours.len().min(70);
                ours.truncate(n);
                theirs.truncate(n);
            }
        }
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(ours.finish(), theirs.finish());
        assert_eq!(ours.len(), 0);
        ours.append(true);
        assert_eq!(ours.finish().iter().collect::<Vec<_>>(), vec![true]);
    }
}
