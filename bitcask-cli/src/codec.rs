//! How keys and values are written on the command line and printed: raw bytes, hex or base64.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// The encoding chosen with `--hex` / `--base64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Raw,
    Hex,
    Base64,
}

impl Codec {
    pub fn decode(self, s: &str) -> Result<Vec<u8>, String> {
        match self {
            Codec::Raw => Ok(s.as_bytes().to_vec()),
            Codec::Hex => hex_decode(s.trim()),
            Codec::Base64 => B64.decode(s.trim()).map_err(|e| format!("invalid base64: {e}")),
        }
    }

    /// Decodes bytes read from stdin (raw bytes are taken as they are).
    pub fn decode_bytes(self, b: Vec<u8>) -> Result<Vec<u8>, String> {
        match self {
            Codec::Raw => Ok(b),
            _ => self.decode(
                std::str::from_utf8(&b).map_err(|_| "encoded input is not text".to_string())?,
            ),
        }
    }

    pub fn encode(self, b: &[u8]) -> Vec<u8> {
        match self {
            Codec::Raw => b.to_vec(),
            Codec::Hex => hex_encode(b).into_bytes(),
            Codec::Base64 => B64.encode(b).into_bytes(),
        }
    }
}

pub fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("invalid hex: odd number of digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16)
                .map_err(|_| format!("invalid hex digits at {i}"))
        })
        .collect()
}

pub fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

pub fn unb64(s: &str) -> Result<Vec<u8>, String> {
    B64.decode(s).map_err(|e| format!("invalid base64: {e}"))
}

/// Printable form of arbitrary bytes for messages: ASCII as is, the rest escaped; a key
/// longer than 64 bytes is cut, with its length said.
pub fn escape(b: &[u8]) -> String {
    const SHOWN: usize = 64;
    let shown = &b[..b.len().min(SHOWN)];
    let mut s: String =
        shown.iter().flat_map(|&c| std::ascii::escape_default(c)).map(char::from).collect();
    if b.len() > SHOWN {
        s.push_str(&format!("... ({} bytes)", b.len()));
    }
    s
}

/// Raw bytes for one field of a text line: a backslash, tab, CR or LF (which would break
/// the line or its fields) is escaped as `\\`, `\t`, `\r`, `\n`; every other byte is
/// written as it is. Use `--hex`, `--base64` or `--json` for bytes exactly.
pub fn line_safe(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !b.iter().any(|c| matches!(c, b'\\' | b'\t' | b'\r' | b'\n')) {
        return std::borrow::Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len() + 8);
    for &c in b {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_round_trip() {
        let data = [0u8, 1, 0x7f, 0x80, 0xff, b'a'];
        for c in [Codec::Hex, Codec::Base64] {
            let enc = String::from_utf8(c.encode(&data)).unwrap();
            assert_eq!(c.decode(&enc).unwrap(), data);
        }
        assert_eq!(hex_encode(&data), "00017f80ff61");
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("zz").is_err());
        assert_eq!(escape(b"a\n\xff"), "a\\n\\xff");
        let long = escape(&[b'k'; 2 << 20]);
        assert!(long.len() < 100 && long.ends_with("(2097152 bytes)"), "{long}");
        assert_eq!(&*line_safe(b"plain"), b"plain");
        assert_eq!(&*line_safe(b"a\tb\nc\\"), b"a\\tb\\nc\\\\");
    }
}
