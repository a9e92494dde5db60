//! A seeded xorshift generator for the randomized unit tests: deterministic, and no dependency.

/// Marsaglia's xorshift64 (13, 7, 17) from a nonzero seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
