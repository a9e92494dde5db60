//! BigQuery's parameterized types, enforced per value: `STRING(L)` (characters), `BYTES(L)` (bytes), and
//! `NUMERIC(P, S)` / `BIGNUMERIC(P, S)`: rounded to the scale by the field's rounding mode, as BigQuery does on
//! write, then refused when more than `P - S` integer digits remain. The Arrow types stay the base types'
//! (`decimal128(38, 9)`, `decimal256(76, 38)`, `utf8`, `binary`), as the Storage Write API takes them.

use arrow_buffer::i256;

use super::fail::{err, Res};
use crate::error::RejectCode;
use crate::schema::{RoundingMode, TypeParams};

/// A STRING value's length check (`text` is UTF-8); characters are counted only when the bytes exceed the limit.
#[inline]
pub fn check_string(text: &[u8], params: &TypeParams) -> Res<()> {
    let Some(max) = params.max_length else {
        return Ok(());
    };
    if text.len() as u64 <= max {
        return Ok(());
    }
    let chars = text.iter().filter(|&&b| (b as i8) >= -0x40).count() as u64;
    if chars <= max {
        return Ok(());
    }
    err(
        RejectCode::OutOfRange,
        format!("a string of {chars} characters does not fit STRING({max})"),
    )
}

/// A BYTES value's length check (the decoded bytes).
#[inline]
pub fn check_bytes(len: usize, params: &TypeParams) -> Res<()> {
    match params.max_length {
        Some(max) if len as u64 > max => err(RejectCode::OutOfRange, format!("{len} bytes do not fit BYTES({max})")),
        _ => Ok(()),
    }
}

macro_rules! fit_decimal {
    ($name:ident, $t:ty, $zero:expr, $one:expr, $ten:expr, $base_scale:expr, $type_name:expr) => {
        /// The unscaled value (at the base type's scale) rounded to the parameterized scale, or out_of_range when
        /// it has more than `precision - scale` integer digits.
        pub fn $name(v: $t, params: &TypeParams) -> Res<$t> {
            let Some((precision, scale)) = params.decimal else {
                return Ok(v);
            };
            let pow = |n: u32| (0..n).fold($one, |acc: $t, _| acc.wrapping_mul($ten));
            let step = pow($base_scale - scale);
            let (q, r) = (v.wrapping_div(step), v.wrapping_rem(step));
            let twice = if r < $zero { r.wrapping_neg() } else { r }.wrapping_mul($one.wrapping_add($one));
            let odd = q.wrapping_rem($one.wrapping_add($one)) != $zero;
            let up = match params.rounding {
                RoundingMode::HalfAwayFromZero => twice >= step,
                RoundingMode::HalfEven => twice > step || (twice == step && odd),
            };
            let q = match (up, v < $zero) {
                (false, _) => q,
                (true, false) => q.wrapping_add($one),
                (true, true) => q.wrapping_sub($one),
            };
            let limit = pow(precision);
            if q >= limit || q <= limit.wrapping_neg() {
                return err(
                    RejectCode::OutOfRange,
                    format!(
                        "the value has more than {} integer digits for {}({precision}, {scale})",
                        precision - scale,
                        $type_name
                    ),
                );
            }
            Ok(q.wrapping_mul(step))
        }
    };
}

fit_decimal!(fit_decimal128, i128, 0i128, 1i128, 10i128, 9, "NUMERIC");
fit_decimal!(
    fit_decimal256,
    i256,
    i256::ZERO,
    i256::ONE,
    i256::from_i128(10),
    38,
    "BIGNUMERIC"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(p: u32, s: u32, rounding: RoundingMode) -> TypeParams {
        TypeParams {
            decimal: Some((p, s)),
            rounding,
            ..TypeParams::default()
        }
    }

    #[test]
    fn numeric_values_round_to_the_scale_then_fit_the_precision() {
        let away = numeric(5, 2, RoundingMode::HalfAwayFromZero);
        let even = numeric(5, 2, RoundingMode::HalfEven);
        let e9 = |x: f64| (x * 1e9).round() as i128;
        assert_eq!(fit_decimal128(e9(1.234), &away).unwrap(), e9(1.23));
        assert_eq!(fit_decimal128(e9(1.235), &away).unwrap(), e9(1.24));
        assert_eq!(fit_decimal128(e9(-1.235), &away).unwrap(), e9(-1.24));
        assert_eq!(fit_decimal128(e9(1.235), &even).unwrap(), e9(1.24));
        assert_eq!(fit_decimal128(e9(1.245), &even).unwrap(), e9(1.24));
        assert_eq!(fit_decimal128(e9(-1.245), &even).unwrap(), e9(-1.24));
        assert_eq!(fit_decimal128(e9(999.99), &away).unwrap(), e9(999.99));
        let err = fit_decimal128(e9(999.995), &away).unwrap_err(); // rounds to 1000.00: four integer digits
        assert_eq!(err.code, RejectCode::OutOfRange);
        assert!(err.message.contains("more than 3 integer digits for NUMERIC(5, 2)"));
        assert!(fit_decimal128(e9(-1000.0), &away).is_err());
        assert_eq!(fit_decimal128(7, &TypeParams::default()).unwrap(), 7);
    }

    #[test]
    fn bignumeric_values_too() {
        let p = numeric(38, 0, RoundingMode::HalfAwayFromZero);
        let e38 = |x: i128| {
            i256::from_i128(x)
                .wrapping_mul(i256::from_i128(10i128.pow(19)).wrapping_mul(i256::from_i128(10i128.pow(19))))
        };
        let half = i256::from_i128(5).wrapping_mul(i256::from_i128(10i128.pow(37)));
        assert_eq!(fit_decimal256(e38(2).wrapping_add(half), &p).unwrap(), e38(3));
        assert_eq!(
            fit_decimal256(e38(2).wrapping_add(half).wrapping_neg(), &p).unwrap(),
            e38(-3)
        );
    }

    #[test]
    fn strings_count_characters_and_bytes_count_bytes() {
        let five = TypeParams {
            max_length: Some(5),
            ..TypeParams::default()
        };
        assert!(check_string("héllo".as_bytes(), &five).is_ok()); // six bytes, five characters
        let e = check_string(b"toolongvalue", &five).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                RejectCode::OutOfRange,
                "a string of 12 characters does not fit STRING(5)"
            )
        );
        assert!(check_bytes(5, &five).is_ok() && check_bytes(6, &five).is_err());
    }
}
