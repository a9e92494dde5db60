//! A NULLABLE column's validity, kept as the positions of its nulls: a present value records nothing (no bit per
//! value in the hot loop), a null one push, and the Arrow bitmap is written once, when the batch is finished, or
//! not at all when the column has no nulls.

use arrow_buffer::{BooleanBufferBuilder, NullBuffer};

/// The positions of a column's nulls, ascending.
#[derive(Debug, Default)]
pub struct Nulls {
    at: Vec<usize>,
}

impl Nulls {
    /// A null at position `i`: the column's length before the null's placeholder value is pushed.
    #[inline]
    pub fn push(&mut self, i: usize) {
        debug_assert!(self.at.last().is_none_or(|&last| last < i));
        self.at.push(i);
    }

    /// Forget the nulls at positions `n` and beyond (a rejected row's).
    pub fn truncate(&mut self, n: usize) {
        let keep = self.at.partition_point(|&i| i < n);
        self.at.truncate(keep);
    }

    /// The validity of a column of `len` values, leaving this empty; `None` when every value is present.
    pub fn finish(&mut self, len: usize) -> Option<NullBuffer> {
        if self.at.is_empty() {
            return None;
        }
        let mut bits = BooleanBufferBuilder::new(len);
        bits.append_n(len, true);
        for &i in &self.at {
            bits.set_bit(i, false);
        }
        self.at.clear();
        Some(NullBuffer::new(bits.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_become_a_bitmap_only_when_there_are_any() {
        let mut n = Nulls::default();
        assert!(n.finish(5).is_none(), "no nulls, no bitmap");
        for i in [0, 3, 64, 70] {
            n.push(i);
        }
        n.truncate(65);
        let nb = n.finish(71).expect("nulls");
        let valid: Vec<usize> = (0..71).filter(|&i| nb.is_valid(i)).collect();
        assert_eq!(nb.null_count(), 3);
        assert_eq!(valid.len(), 68);
        assert!(nb.is_null(0) && nb.is_null(3) && nb.is_null(64) && nb.is_valid(70));
        assert!(n.finish(3).is_none(), "finish leaves it empty");
    }

    #[test]
    fn truncate_keeps_the_nulls_before_the_cut() {
        let mut n = Nulls::default();
        for i in [1, 2, 5, 9] {
            n.push(i);
        }
        n.truncate(5);
        assert_eq!(n.at, vec![1, 2]);
        n.truncate(0);
        assert!(n.at.is_empty());
        n.push(0);
        assert_eq!(n.finish(1).map(|b| b.null_count()), Some(1));
    }
}
