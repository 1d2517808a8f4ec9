//! The one JSON-lines schema of `scan --json`, `export` and `import`.
//!
//! One object per line: a key as `"key"` (text: the bytes are valid UTF-8), `"key_base64"`
//! or `"key_hex"`; a value likewise (`"value"`, `"value_base64"`, `"value_hex"`); and, for a
//! key with a TTL, `"expires_at_ms"`: milliseconds since the Unix epoch. Written as text
//! where the bytes are UTF-8 (`--hex` / `--base64` force an encoding), read in any form.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::codec::{b64, hex_decode, hex_encode, unb64, Codec};

/// One pair and its expiry as a JSON line.
pub fn to_line(enc: Codec, key: &[u8], value: &[u8], expires_at: Option<SystemTime>) -> String {
    let mut m = Map::new();
    for (name, b) in [("key", key), ("value", value)] {
        let (field, s) = match (enc, std::str::from_utf8(b)) {
            (Codec::Raw, Ok(s)) => (name.to_string(), s.to_string()),
            (Codec::Hex, _) => (format!("{name}_hex"), hex_encode(b)),
            _ => (format!("{name}_base64"), b64(b)),
        };
        m.insert(field, Value::String(s));
    }
    if let Some(t) = expires_at {
        let ms = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        m.insert("expires_at_ms".into(), Value::from(ms));
    }
    Value::Object(m).to_string()
}

/// A pair read from a JSON line: key, value, expiry.
pub type Pair = (Vec<u8>, Vec<u8>, Option<SystemTime>);

/// Parses one line of the schema; the error says what is wrong with it.
pub fn from_line(line: &str) -> Result<Pair, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let key = field(obj, "key")?;
    let value = field(obj, "value")?;
    let expires_at = match obj.get("expires_at_ms") {
        None | Some(Value::Null) => None,
        Some(x) => {
            let ms = x.as_u64().ok_or("\"expires_at_ms\" is not a whole number of ms")?;
            Some(UNIX_EPOCH + Duration::from_millis(ms))
        }
    };
    Ok((key, value, expires_at))
}

/// `name` as text, `name_base64` or `name_hex`: exactly one of them.
fn field(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let forms = [
        (name.to_string(), None),
        (format!("{name}_base64"), Some(Codec::Base64)),
        (format!("{name}_hex"), Some(Codec::Hex)),
    ];
    let present: Vec<_> = forms.iter().filter(|(f, _)| obj.contains_key(f)).collect();
    let [(f, form)] = present.as_slice() else {
        return Err(format!("needs exactly one of \"{name}\", \"{name}_base64\", \"{name}_hex\""));
    };
    let s = obj.get(f).and_then(Value::as_str).ok_or(format!("\"{f}\" is not a string"))?;
    match form {
        None => Ok(s.as_bytes().to_vec()),
        Some(Codec::Hex) => hex_decode(s).map_err(|e| format!("\"{f}\": {e}")),
        Some(_) => unb64(s).map_err(|e| format!("\"{f}\": {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips_exactly() {
        let at = UNIX_EPOCH + Duration::from_millis(1_900_000_000_123);
        for enc in [Codec::Raw, Codec::Hex, Codec::Base64] {
            for (k, v) in [(&b"text"[..], &b"value"[..]), (b"\xff\x00bin", b"\x80\n\t")] {
                let line = to_line(enc, k, v, Some(at));
                assert_eq!(from_line(&line).unwrap(), (k.to_vec(), v.to_vec(), Some(at)), "{line}");
                assert_eq!(from_line(&to_line(enc, k, v, None)).unwrap().2, None);
            }
        }
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(from_line("nope").unwrap_err().contains("not JSON"));
        assert!(from_line("[1]").unwrap_err().contains("object"));
        assert!(from_line(r#"{"value":"v"}"#).unwrap_err().contains("\"key\""));
        let both = r#"{"key":"a","key_base64":"YQ==","value":"v"}"#;
        assert!(from_line(both).unwrap_err().contains("exactly one"));
        assert!(from_line(r#"{"key_hex":"zz","value":"v"}"#).unwrap_err().contains("hex"));
        let ms = r#"{"key":"a","value":"v","expires_at_ms":-5}"#;
        assert!(from_line(ms).unwrap_err().contains("expires_at_ms"));
    }
}
