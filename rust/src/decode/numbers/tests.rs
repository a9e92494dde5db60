//! The number conversions checked against each other and against the standard library.

mod conversions {
    use super::super::*;
    use crate::decode::test_rng::Rng;
    use crate::error::RejectCode;
    use arrow_buffer::i256;

    #[test]
    fn widening_mul_matches_i256() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        let mut cases = vec![(0, 0), (u128::MAX, u128::MAX), (u128::MAX, 1), (1 << 64, 1 << 64)];
        for _ in 0..2_000 {
            let a = ((next() as u128) << 64 | next() as u128) >> (next() % 128);
            let b = ((next() as u128) << 64 | next() as u128) >> (next() % 128);
            cases.push((a, b));
        }
        for (a, b) in cases {
            let (low, high) = widening_mul(a, b);
            // i256's wrapping product of the zero-extended operands keeps all 256 bits of a × b.
            let want = i256::from_parts(a, 0).wrapping_mul(i256::from_parts(b, 0));
            assert_eq!(i256::from_parts(low, high as i128), want, "{a} × {b}");
        }
    }

    #[test]
    fn int64_bounds() {
        assert_eq!(parse_i64(b"-9223372036854775808", false).unwrap(), i64::MIN);
        assert_eq!(parse_i64(b"9223372036854775807", false).unwrap(), i64::MAX);
        assert_eq!(
            parse_i64(b"9223372036854775808", false).unwrap_err().code,
            RejectCode::OutOfRange
        );
        assert_eq!(parse_i64(b"+5", true).unwrap(), 5);
        assert_eq!(parse_i64(b"+5", false).unwrap_err().code, RejectCode::InvalidValue);
        assert_eq!(parse_i64(b"1.0", true).unwrap_err().code, RejectCode::InvalidValue);
        assert_eq!(parse_i64(b"", true).unwrap_err().code, RejectCode::InvalidValue);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5e2").unwrap(), 150.0);
        assert_eq!(parse_f64(b"1e400").unwrap_err().code, RejectCode::OutOfRange);
        assert!(parse_f64_string(b"NaN").unwrap().is_nan());
        assert_eq!(parse_f64_string(b"-Infinity").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_f64_string(b"2.5").unwrap(), 2.5);
        assert_eq!(parse_f64_string(b"inf").unwrap_err().code, RejectCode::InvalidValue);
    }

    #[test]
    fn numeric_exact() {
        assert_eq!(parse_decimal128(b"91.11", false).unwrap(), 91_110_000_000);
        assert_eq!(parse_decimal128(b"-0.000000001", false).unwrap(), -1);
        assert_eq!(parse_decimal128(b"1.5e3", false).unwrap(), 1_500_000_000_000);
        assert_eq!(parse_decimal128(b"1.0000000000", false).unwrap(), 1_000_000_000);
        assert_eq!(
            parse_decimal128(b"0.0000000001", false).unwrap_err().code,
            RejectCode::OutOfRange
        );
        let max = b"99999999999999999999999999999.999999999";
        assert_eq!(parse_decimal128(max, true).unwrap(), 10i128.pow(38) - 1);
        assert_eq!(
            parse_decimal128(b"100000000000000000000000000000", true)
                .unwrap_err()
                .code,
            RejectCode::OutOfRange
        );
        assert_eq!(parse_decimal128(b"+.5", true).unwrap(), 500_000_000);
        assert_eq!(
            parse_decimal128(b"abc", true).unwrap_err().code,
            RejectCode::InvalidValue
        );
        assert_eq!(parse_decimal128(b"0e99999999", false).unwrap(), 0);
    }

    #[test]
    fn bignumeric_exact() {
        let v = parse_decimal256(b"1.00000000000000000000000000000000000001", true).unwrap();
        assert_eq!(v, i256::from_i128(10i128.pow(38) + 1));
        let big = parse_decimal256(b"-12345678901234567890123456789012345678", true).unwrap();
        assert!(big < i256::ZERO);
        assert_eq!(
            parse_decimal256(b"123456789012345678901234567890123456789", true)
                .unwrap_err()
                .code,
            RejectCode::OutOfRange
        );
        let long = format!("{}.{}", "9".repeat(38), "9".repeat(38));
        let cases = [
            "0",
            "-0",
            "0.0",
            "7",
            "-7.5",
            "00012.3400",
            "1e3",
            "-12.5e-3",
            "0.00000000000000000000000000000000000001",
            "12345678901234567890",
            "123456789012345678.9",
            "-98765432109876543210.123456789012345678901234567",
            long.as_str(),
        ];
        for text in cases {
            for is_string in [false, true] {
                let general = decimal256_general(text.as_bytes(), is_string).unwrap();
                assert_eq!(parse_decimal256(text.as_bytes(), is_string).unwrap(), general, "{text}");
                if let Some(fast) = decimal256_fast(text.as_bytes(), is_string) {
                    assert_eq!(fast, general, "{text}");
                }
            }
        }
    }

    /// Random decimal texts (leading and trailing zeros, up to 80 digits, signs, a point anywhere): wherever a fast
    /// path answers, it agrees with the general one, and both agree on what is refused.
    #[test]
    fn fast_decimals_agree_with_the_general_path_on_random_text() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut next = |n: u64| rng.below(n);
        let general128 = |b: &[u8], is_string: bool| {
            unscaled_digits(b, NUMERIC, is_string).map(|(neg, digits, zeros)| {
                let v = digits.iter().fold(0i128, |v, &d| v * 10 + d as i128) * 10i128.pow(zeros as u32);
                if neg {
                    -v
                } else {
                    v
                }
            })
        };
        let mut long_fast = 0;
        let mut json_fast = 0;
        let mut string_fast = 0;
        for _ in 0..50_000 {
            let mut text = String::new();
            match next(4) {
                0 => text.push('-'),
                1 => text.push('+'),
                _ => {}
            }
            let len = 1 + next(80) as usize;
            let point = next(len as u64 + 8) as usize;
            for i in 0..len {
                if i == point {
                    text.push('.');
                }
                let zero_run = next(3) == 0;
                text.push(if zero_run { '0' } else { (b'0' + next(10) as u8) as char });
            }
            for is_string in [false, true] {
                let b = text.as_bytes();
                let general256 = decimal256_general(b, is_string);
                if let Some(fast) = decimal256_fast(b, is_string) {
                    assert_eq!(Some(fast), general256.as_ref().ok().copied(), "{text}");
                    let significant = text.trim_start_matches(['-', '+', '0', '.']).replace('.', "").len();
                    long_fast += (significant > 38) as usize;
                }
                let general128 = general128(b, is_string);
                if let Some(fast) = decimal128_fast(b, is_string) {
                    assert_eq!(Some(fast), general128.as_ref().ok().copied(), "{text}");
                }
                assert_eq!(parse_decimal128(b, is_string).ok(), general128.ok(), "{text}");
            }
            // As a raw JSON number followed by what may follow one: answered only for a valid JSON number, which
            // ends where the text does, with the general path's value.
            let suffix = [",", "}", "]", "", " ", "e5", "E-2"][next(7) as usize];
            let raw = format!("{text}{suffix}");
            let answers = [
                (
                    json_decimal256_fast(raw.as_bytes(), 0).map(|(v, e)| (v.to_string(), e)),
                    decimal256_general(text.as_bytes(), false).map(|v| v.to_string()),
                ),
                (
                    json_decimal128_fast(raw.as_bytes(), 0).map(|(v, e)| (v.to_string(), e)),
                    general128(text.as_bytes(), false).map(|v| v.to_string()),
                ),
            ];
            json_fast += answers[0].0.is_some() as usize;
            for (fast, general) in answers {
                if let Some((v, end)) = fast {
                    assert!(is_json_number(&text) && !["e5", "E-2"].contains(&suffix), "{raw}");
                    assert_eq!(end, text.len(), "{raw}");
                    assert_eq!(Ok(v), general.map_err(|f| f.code), "{raw}");
                }
            }
            // As a string value, read in place: answered only when the string holds nothing but the decimal (no
            // escape, space or letter after it), ending past the closing quote, with the general path's value.
            let inner = ["", "", "", " ", "x", "\\u0030", "\\\"", "e1"][next(8) as usize];
            let quoted = format!("\"{text}{inner}\"{suffix}");
            let in_place = (
                json_decimal256_fast(quoted.as_bytes(), 0),
                json_decimal128_fast(quoted.as_bytes(), 0),
            );
            for (fast, general) in [
                (
                    in_place.0.map(|(v, e)| (v.to_string(), e)),
                    decimal256_general(text.as_bytes(), true).map(|v| v.to_string()),
                ),
                (
                    in_place.1.map(|(v, e)| (v.to_string(), e)),
                    general128(text.as_bytes(), true).map(|v| v.to_string()),
                ),
            ] {
                if let Some((v, end)) = fast {
                    string_fast += 1;
                    assert!(inner.is_empty(), "{quoted}");
                    assert_eq!(end, text.len() + 2, "{quoted}");
                    assert_eq!(Ok(v), general.map_err(|f| f.code), "{quoted}");
                }
            }
        }
        assert!(
            long_fast > 1_000,
            "BIGNUMERICs of 39 to 76 digits seldom took the fast path: {long_fast}"
        );
        assert!(
            json_fast > 5_000,
            "raw BIGNUMERICs seldom took the fast path: {json_fast}"
        );
        assert!(
            string_fast > 10_000,
            "decimal strings seldom took the fast path: {string_fast}"
        );
        for quoted in [r#""1\u0030""#, r#""""#, r#""-""#, r#""+.""#, r#""1.5"#, r#""1 ""#] {
            assert_eq!(json_decimal256_fast(quoted.as_bytes(), 0), None, "{quoted}");
            assert_eq!(json_decimal128_fast(quoted.as_bytes(), 0), None, "{quoted}");
        }
        for raw in [
            "1.,", "01,", "-,", "-", "1.e5", "1.5e5", ".5", "+1", "1..5", "1.5.", "--1",
        ] {
            assert_eq!(json_decimal256_fast(raw.as_bytes(), 0), None, "{raw}");
        }
        for (raw, end) in [
            ("-0.5,", 4),
            ("0}", 1),
            ("10.25]", 5),
            ("-9.000000000000000000000000000000000001", 39),
        ] {
            let (v, e) = json_decimal256_fast(raw.as_bytes(), 0).expect(raw);
            let want = decimal256_general(&raw.as_bytes()[..end], false).map_err(|f| f.code);
            assert_eq!((Ok(v), e), (want, end), "{raw}");
        }
    }

    /// JSON's number grammar without an exponent: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
    fn is_json_number(text: &str) -> bool {
        let body = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match body.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (body, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits(int) && (int == "0" || !int.starts_with('0')) && frac.is_none_or(digits)
    }
}

mod fast_paths {
    use super::super::*;

    #[test]
    fn eight_digits_reads_exactly_eight_digits() {
        assert_eq!(eight_digits(b"12345678", 0), Some(12_345_678));
        assert_eq!(eight_digits(b"x00000099", 1), Some(99));
        assert_eq!(eight_digits(b"99999999", 0), Some(99_999_999));
        assert_eq!(eight_digits(b"1234567", 0), None);
        for bad in [b'/', b':', b'.', b'e', b' ', 0x80, 0xb0, 0x39 + 0x80] {
            for at in 0..8 {
                let mut v = *b"12345678";
                v[at] = bad;
                assert_eq!(eight_digits(&v, 0), None, "{bad:#x} at {at}");
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_the_general_ones() {
        for text in [
            "0",
            "-0",
            "7",
            "-123456789012345678",
            "12,",
            "1.5",
            "1e3",
            "01",
            "-",
            "1234567890123456789",
        ] {
            let b = text.as_bytes();
            if let Some((v, end)) = json_int64_fast(b, 0) {
                assert_eq!(parse_i64(&b[..end], false).unwrap(), v, "{text}");
            }
        }
        assert_eq!(json_int64_fast(b"1.5", 0), None);
        assert_eq!(json_int64_fast(b"01", 0), None);
        assert_eq!(json_int64_fast(b"42}", 0), Some((42, 2)));
        for text in [
            "0",
            "-0.5",
            "431.69",
            "123456789012345",
            "0.000000000000001",
            "9007199254.991",
            "1.7976931",
        ] {
            let (v, end) = json_f64_fast(text.as_bytes(), 0).unwrap();
            assert_eq!(
                (v.to_bits(), end),
                (text.parse::<f64>().unwrap().to_bits(), text.len()),
                "{text}"
            );
        }
        for text in [
            "1e5",
            "-7.45557815445443e-08",
            "2.5E+3",
            "12e22",
            "0.0e-400",
            "123456789012345e-22",
            "1234567890123456",
            "0.1234567890123456",
            "9007199254740992",
            "-9.007199254740992e-7",
            "9007199254740993",
            "0.9007199254740993",
            "-447.6800000000000011",
            "1e23",
            "1.5e-22",
            "1234567890123456789e36",
        ] {
            let (v, end) = json_f64_fast(text.as_bytes(), 0).unwrap();
            let want = text.parse::<f64>().unwrap();
            assert_eq!((v.to_bits(), end), (want.to_bits(), text.len()), "{text}");
        }
        for text in [
            "01",
            "1.",
            "-",
            ".5",
            "1e",
            "1e+",
            "12345678901234567890",
            "0.00000000000000000001",
            "1e56",
            "1.5e-27",
            "1e1000",
        ] {
            assert_eq!(json_f64_fast(text.as_bytes(), 0), None, "{text}");
        }
        // Wherever the fast path answers, it answers as Rust's own correctly rounded parser does.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut answered = 0;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let digits = (state >> 1) % 10u64.pow(1 + (state % 19) as u32);
            let point = (state >> 8) % 20;
            let mut text = digits.to_string();
            if (point as usize) < text.len() && point > 0 {
                text.insert(text.len() - point as usize, '.');
            }
            if state & 0x10 != 0 {
                text = format!("{text}e{}", ((state >> 20) % 120) as i64 - 60);
            }
            if let Some((v, end)) = json_f64_fast(text.as_bytes(), 0) {
                answered += 1;
                assert_eq!(
                    (v.to_bits(), end),
                    (text.parse::<f64>().unwrap().to_bits(), text.len()),
                    "{text}"
                );
            }
        }
        assert!(answered > 15_000, "{answered} of 20,000 answered");
        // Long literals leave the fast paths before any multiplication could overflow (tests build with
        // overflow checks on: an overflow here would panic).
        let long = "9".repeat(60);
        assert_eq!(json_int64_fast(long.as_bytes(), 0), None);
        assert_eq!(json_decimal128_fast(long.as_bytes(), 0), None);
        assert_eq!(json_decimal128_fast(format!("1.{long}").as_bytes(), 0), None);
        for text in [
            "0",
            "23.52",
            "-0.000000001",
            "99999999999999999999999999999.999999999",
            "1.10",
        ] {
            let (v, end) = json_decimal128_fast(text.as_bytes(), 0).unwrap();
            assert_eq!(end, text.len());
            assert_eq!(parse_decimal128(text.as_bytes(), false).unwrap(), v, "{text}");
        }
        for text in ["1e3", "0.0000000001", "100000000000000000000000000000", "00.1", "1."] {
            assert_eq!(json_decimal128_fast(text.as_bytes(), 0), None, "{text}");
        }
    }
}
