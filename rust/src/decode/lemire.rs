//! Eisel–Lemire: an exact decimal `m × 10^q` (any `m` below 2^64) to the nearest f64, ties to even, with one or two
//! 64×64-bit multiplications by a 128-bit power of five. The algorithm and its constants are the ones Rust's own
//! `str::parse::<f64>` uses (`core::num::dec2flt::lemire`; D. Lemire, "Number Parsing at a Gigabyte per Second",
//! §§ 5–6, <https://arxiv.org/abs/2101.11408>), restricted to `q` in [-27, 55]: there the 128-bit power is close
//! enough that the algorithm never needs its slower fallback (§§ 8, 9.1), and the table is small enough to build
//! at compile time from its definition.
//!
//! It takes FLOAT64 literals of 16 to 19 significant digits (about half of a typical float column) that
//! Clinger's fast path in `numbers` cannot, without reading their text a second time.

const SMALLEST: i64 = -27;
const LARGEST: i64 = 55;
const SIG_BITS: i32 = 52;
/// 1 + 52 significand bits + a rounding bit + a possible leading zero of the product: the bits the first
/// multiplication must get right.
const MASK: u64 = u64::MAX >> (SIG_BITS + 3);

/// 5^q normalized to 128 bits (the top bit set), as (high, low) words: exactly 5^q shifted for q ≥ 0 (5^55 < 2^128);
/// ⌊2^(z+127) / 5^-q⌋ + 1 for q < 0, where 2^(z-1) < 5^-q < 2^z.
static POW5: [(u64, u64); (LARGEST - SMALLEST + 1) as usize] = pow5_table();

const fn pow5_table() -> [(u64, u64); (LARGEST - SMALLEST + 1) as usize] {
    let mut table = [(0, 0); (LARGEST - SMALLEST + 1) as usize];
    let mut i = 0;
    while i < table.len() {
        let q = SMALLEST + i as i64;
        let mut p: u128 = 1;
        let mut k = 0;
        while k < q.abs() {
            p *= 5;
            k += 1;
        }
        let v = if q >= 0 {
            p << p.leading_zeros()
        } else {
            // Restoring long division of 2^b by p (below 2^63), a bit at a time; the quotient is below 2^128.
            let b = (128 - p.leading_zeros()) + 127;
            let mut quotient: u128 = 0;
            let mut rem: u128 = 0;
            let mut bit = b as i32;
            while bit >= 0 {
                rem = rem * 2 + (bit == b as i32) as u128;
                if rem >= p {
                    rem -= p;
                    quotient |= 1 << bit;
                }
                bit -= 1;
            }
            quotient + 1
        };
        table[i] = ((v >> 64) as u64, v as u64);
        i += 1;
    }
    table
}

#[inline(always)]
fn mul(a: u64, b: u64) -> (u64, u64) {
    let r = a as u128 * b as u128;
    (r as u64, (r >> 64) as u64)
}

/// ⌊log2(10^q)⌋ + 63, exact over every finite f64's decimal exponent.
#[inline(always)]
fn power(q: i32) -> i32 {
    (q.wrapping_mul(152_170 + 65_536) >> 16) + 63
}

/// `m × 10^q` rounded to the nearest f64 (ties to even), for `q` in [-27, 55] (or `m = 0`); `None` outside them.
#[inline(never)]
pub fn to_f64(m: u64, q: i64) -> Option<f64> {
    if m == 0 {
        return Some(0.0);
    }
    if !(SMALLEST..=LARGEST).contains(&q) {
        return None;
    }
    let lz = m.leading_zeros() as i32;
    let w = m << lz;
    let (hi5, lo5) = POW5[(q - SMALLEST) as usize];
    let (mut lo, mut hi) = mul(w, hi5);
    if hi & MASK == MASK {
        // Not enough bits yet to round: add the low word's product (exact for q ≤ 55).
        let (_, carry) = mul(w, lo5);
        lo = lo.wrapping_add(carry);
        if carry > lo {
            hi += 1;
        }
    }
    let upper = (hi >> 63) as i32;
    let shift = upper + 64 - SIG_BITS - 3;
    let mut mantissa = hi >> shift;
    let mut power2 = power(q as i32) + upper - lz + 1023;
    if power2 <= 0 {
        return None; // subnormal: below 1e-300, not reachable from q ≥ -27
    }
    // Exactly halfway between two floats (only when 5^q is exact in 64 bits): round down to the even one.
    if lo <= 1 && (-4..=23).contains(&q) && mantissa & 0b11 == 0b01 && (mantissa << shift) == hi {
        mantissa &= !1;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= (2 << SIG_BITS) {
        mantissa = 1 << SIG_BITS;
        power2 += 1;
    }
    mantissa &= !(1 << SIG_BITS);
    if power2 >= 0x7ff {
        return None; // infinite: not reachable below 2^64 × 10^55
    }
    Some(f64::from_bits(((power2 as u64) << SIG_BITS) | mantissa))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_rng::Rng;

    /// The table built here equals Rust's own (`core/src/num/dec2flt/table.rs`) at its ends and around q = 0.
    #[test]
    fn table_matches_rusts() {
        let at = |q: i64| POW5[(q - SMALLEST) as usize];
        assert_eq!(at(-27), (0x9e74d1b791e07e48, 0x775ea264cf55347e));
        assert_eq!(at(-26), (0xc612062576589dda, 0x95364afe032a819e));
        assert_eq!(at(-1), (0xcccccccccccccccc, 0xcccccccccccccccd));
        assert_eq!(at(0), (0x8000000000000000, 0));
        assert_eq!(at(1), (0xa000000000000000, 0));
        assert_eq!(at(23), (0xa968163f0a57b400, 0));
        assert_eq!(at(27), (0xcecb8f27f4200f3a, 0));
        assert_eq!(at(55), (0xd0cf4b50cfe20765, 0xfff4b4e3f741cf6d));
    }

    fn std(m: u64, q: i64) -> f64 {
        format!("{m}e{q}").parse().expect("a float")
    }

    #[test]
    fn agrees_with_rusts_parser() {
        // Halfway cases (ties to even), the edges of the range, the largest mantissas.
        for (m, q) in [
            (9_007_199_254_740_993, 0),
            (9_007_199_254_740_995, 0),
            (9_007_199_254_740_993, -4),
            (9_007_199_254_740_993, 23),
            (18_014_398_509_481_986, 1),
            (u64::MAX, 0),
            (u64::MAX, -27),
            (u64::MAX, 55),
            (1, -27),
            (1, 55),
            (17_976_931_348_623_157, -16),
            (22_250_738_585_072_014, -26),
            (4_940_656_458_412_465, -27),
        ] {
            assert_eq!(to_f64(m, q).map(f64::to_bits), Some(std(m, q).to_bits()), "{m}e{q}");
        }
        assert_eq!(to_f64(1, -28), None);
        assert_eq!(to_f64(1, 56), None);
        assert_eq!(to_f64(0, 1000).map(f64::to_bits), Some(0));
        // Random mantissas of every length at every exponent of the range, and integers at or next to the
        // midpoint between two floats (ties, from 2^53 up).
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next();
        let mut ties = 0;
        for _ in 0..300_000 {
            let r = next();
            let mut q = SMALLEST + (next() % (LARGEST - SMALLEST + 1) as u64) as i64;
            let m = match r % 3 {
                0 => next() >> ((r >> 2) % 64),
                1 => next() % 10u64.pow(15 + ((r >> 8) as u32 % 5)),
                _ => {
                    let x = (next() | (1 << 63)) >> ((r >> 2) % 11);
                    let shift = 64 - x.leading_zeros() - 53;
                    let tie = (x & !((1u64 << shift) - 1)) | (1 << (shift - 1));
                    if r & (1 << 40) != 0 {
                        q = 0;
                        ties += 1;
                    }
                    tie.wrapping_add((r >> 61) % 3).wrapping_sub(1)
                }
            };
            if m == 0 {
                continue;
            }
            assert_eq!(to_f64(m, q).map(f64::to_bits), Some(std(m, q).to_bits()), "{m}e{q}");
        }
        assert!(ties > 10_000, "{ties} ties");
    }
}
