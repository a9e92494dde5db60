//! A NULLABLE column's validity, kept as a bitmap of its nulls: a present value records nothing (no bit per value
//! in the hot loop), a null sets its bit (the bitmap grows to it, zero-filled), and the Arrow validity bitmap is
//! the complement, written once when the batch is finished, or not at all when the column has no nulls. At most a
//! bit per value, like the validity bitmap itself, however many nulls there are.

use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};

/// Bit i set when value i is null (least significant first, 64 to a word); words past the last null are absent.
#[derive(Debug, Default)]
pub struct Nulls {
    words: Vec<u64>,
}

impl Nulls {
    /// A null at position `i`: the column's length before the null's placeholder value is pushed.
    #[inline]
    pub fn push(&mut self, i: usize) {
        let w = i / 64;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << (i % 64);
    }

    /// Forget the nulls at positions `n` and beyond (a rejected row's).
    pub fn truncate(&mut self, n: usize) {
        let keep = n.div_ceil(64);
        if self.words.len() < keep {
            return;
        }
        self.words.truncate(keep);
        if n % 64 != 0 {
            if let Some(w) = self.words.last_mut() {
                *w &= (1u64 << (n % 64)) - 1;
            }
        }
    }

    /// The validity of a column of `len` values, leaving this empty; `None` when every value is present.
    pub fn finish(&mut self, len: usize) -> Option<NullBuffer> {
        let mut words = std::mem::take(&mut self.words);
        if words.iter().all(|&w| w == 0) {
            return None;
        }
        words.resize(len.div_ceil(64), 0);
        // Valid is not null; Arrow's bitmap is little-endian bytes, least significant bit first.
        words.iter_mut().for_each(|w| *w = (!*w).to_le());
        Some(NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(words), 0, len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nulls_of(b: &NullBuffer) -> Vec<usize> {
        (0..b.len()).filter(|&i| b.is_null(i)).collect()
    }

    #[test]
    fn nulls_become_a_bitmap_only_when_there_are_any() {
        let mut n = Nulls::default();
        assert!(n.finish(5).is_none(), "no nulls, no bitmap");
        for i in [0, 3, 64, 70, 200] {
            n.push(i);
        }
        n.truncate(65);
        let b = n.finish(71).expect("nulls");
        assert_eq!(nulls_of(&b), vec![0, 3, 64]);
        assert_eq!(b.null_count(), 3);
        assert!(n.finish(3).is_none(), "finish leaves it empty");
    }

    #[test]
    fn truncate_keeps_the_nulls_before_the_cut() {
        for cut in [0, 1, 5, 63, 64, 65, 127, 128, 300] {
            let mut n = Nulls::default();
            let at = [1usize, 2, 5, 9, 63, 64, 100, 128, 129];
            at.iter().for_each(|&i| n.push(i));
            n.truncate(cut);
            n.push(cut.max(1) + 200);
            let b = n.finish(cut.max(1) + 201).expect("nulls");
            let want: Vec<usize> = at
                .iter()
                .copied()
                .filter(|&i| i < cut)
                .chain([cut.max(1) + 200])
                .collect();
            assert_eq!(nulls_of(&b), want, "cut at {cut}");
        }
    }

    #[test]
    fn all_null_and_none_null_columns() {
        let mut n = Nulls::default();
        (0..130).for_each(|i| n.push(i));
        assert_eq!(n.finish(130).map(|b| b.null_count()), Some(130));
        let mut n = Nulls::default();
        n.push(0);
        n.truncate(0);
        assert!(n.finish(10).is_none(), "the only null was rolled back");
    }
}
