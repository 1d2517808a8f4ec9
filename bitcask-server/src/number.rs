//! Numbers as Redis reads and writes them: strict integers (`string2ll`: no `+`, no
//! leading zeros, no spaces), floats for INCRBYFLOAT, and their formatting.
#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

/// An integer as Redis parses one: an optional `-`, then `0` or digits not starting with
/// `0`; at most 20 bytes; within `i64`.
///
/// ```
/// use bitcask_server::number::parse_i64;
/// assert_eq!(parse_i64(b"-42"), Some(-42));
/// assert_eq!(parse_i64(b"+1"), None);
/// assert_eq!(parse_i64(b"007"), None);
/// assert_eq!(parse_i64(b" 1"), None);
/// ```
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// A float as INCRBYFLOAT takes one: no surrounding spaces, not NaN; `inf` is accepted
/// (and refused later as a result).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.trim() != text {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// A float as INCRBYFLOAT replies with it: plain decimal notation, no exponent, no
/// trailing zeros (`10.5`, `3000`).
pub fn format_f64(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}

/// `v` as C's `printf("%.<precision>g")` writes it: Redis prints doubles with 17
/// significant digits, Lua numbers become strings with 14.
pub fn format_g(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    let p = precision.max(1);
    // The exponent after rounding to `p` significant digits.
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.unsigned_abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

/// A double as Redis replies with one (`%.17g`).
pub fn format_double(v: f64) -> String {
    format_g(v, 17)
}

/// The decimal digits of `v`, written into `buf` without allocating; returns them.
pub fn itoa(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'-';
        }
    }
    buf.get(i..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_as_redis_parses_them() {
        for (s, want) in [
            ("0", Some(0)),
            ("-0", None),
            ("123", Some(123)),
            ("-123", Some(-123)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("+1", None),
            ("007", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("1e3", None),
            ("12a", None),
        ] {
            assert_eq!(parse_i64(s.as_bytes()), want, "{s:?}");
        }
    }

    #[test]
    fn floats_parse_and_format_as_incrbyfloat_replies() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"5.0e3"), Some(5000.0));
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(format_f64(10.5 + 0.1), "10.6");
        assert_eq!(format_f64(5000.0), "5000");
        assert_eq!(format_f64(-0.0), "0");
        assert_eq!(format_f64(1e20), "100000000000000000000");
    }

    #[test]
    fn itoa_writes_every_integer() {
        let mut b = [0u8; 20];
        for v in [0, 7, -7, 10, i64::MAX, i64::MIN, 1234567890] {
            assert_eq!(itoa(v, &mut b), v.to_string().as_bytes());
        }
    }

    #[test]
    fn format_g_matches_c() {
        assert_eq!(format_g(0.1, 17), "0.10000000000000001");
        assert_eq!(format_g(3.5, 17), "3.5");
        assert_eq!(format_g(1e300, 17), "1.0000000000000001e+300");
        assert_eq!(format_g(1e100, 14), "1e+100");
        assert_eq!(format_g(1.5, 14), "1.5");
        assert_eq!(format_g(3.0, 14), "3");
        assert_eq!(format_g(1e20, 14), "1e+20");
        assert_eq!(format_g(0.0001, 14), "0.0001");
        assert_eq!(format_g(0.00001, 14), "1e-05");
        assert_eq!(format_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(format_g(-2.5, 14), "-2.5");
        assert_eq!(format_g(0.0, 17), "0");
    }
}
