//! Reply encoding, RESP2 or RESP3 (after `HELLO 3`), appended to the connection's output
//! buffer: all replies to one read go out in one write.

use crate::number::itoa;

/// The output buffer of a connection and the protocol it speaks.
#[derive(Debug, Default)]
pub struct Out {
    /// The encoded replies not yet written.
    pub buf: Vec<u8>,
    /// RESP3 (after `HELLO 3`) instead of RESP2.
    pub resp3: bool,
    /// The most bytes the buffer may hold (0: no limit): a bulk string that would pass it
    /// is not appended and [`overflow`](Self::overflow) is set (the connection is then
    /// closed, as Redis's `client-output-buffer-limit` does).
    pub limit: usize,
    /// A reply passed [`limit`](Self::limit).
    pub overflow: bool,
}

impl Out {
    fn line(&mut self, prefix: u8, body: &[u8]) {
        self.buf.push(prefix);
        self.buf.extend_from_slice(body);
        self.buf.extend_from_slice(b"\r\n");
    }

    fn num(&mut self, prefix: u8, n: i64) {
        let mut b = [0u8; 20];
        self.line(prefix, itoa(n, &mut b));
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string (`+...`); must not hold CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.line(b'+', s.as_bytes());
    }

    /// An error reply: `text` starts with its code (`ERR ...`, `WRONGPASS ...`). CR and LF
    /// in it become spaces, so a reply is always one line.
    pub fn error(&mut self, text: &str) {
        self.buf.push(b'-');
        self.buf.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A status reply of any bytes (CR and LF become spaces).
    pub fn status_bytes(&mut self, s: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend(s.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A boolean: `#t`/`#f` in RESP3; `:1` or the null reply in RESP2 (as Redis converts a
    /// script's booleans).
    pub fn boolean(&mut self, b: bool) {
        match (self.resp3, b) {
            (true, b) => self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
            (false, true) => self.int(1),
            (false, false) => self.null(),
        }
    }

    /// A double: `,n` in RESP3, a bulk string in RESP2 (`%.17g` as Redis prints doubles).
    pub fn double(&mut self, f: f64) {
        let text = crate::number::format_double(f);
        if self.resp3 {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// `-ERR text`.
    pub fn err(&mut self, text: &str) {
        self.error(&format!("ERR {text}"));
    }

    /// An integer (`:n`).
    pub fn int(&mut self, n: i64) {
        self.num(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, v: &[u8]) {
        if self.limit > 0 && self.buf.len() + v.len() > self.limit {
            self.overflow = true;
        }
        if self.overflow {
            return;
        }
        self.num(b'$', v.len() as i64);
        self.buf.extend_from_slice(v);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string or the null reply.
    pub fn opt_bulk(&mut self, v: Option<&[u8]>) {
        match v {
            Some(v) => self.bulk(v),
            None => self.null(),
        }
    }

    /// The null reply (`$-1` in RESP2, `_` in RESP3).
    pub fn null(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null array (`*-1` in RESP2, `_` in RESP3), as an aborted EXEC replies.
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    /// The header of an array of `n` elements.
    pub fn array(&mut self, n: usize) {
        self.num(b'*', n as i64);
    }

    /// The header of a map of `n` pairs (an array of `2n` elements in RESP2).
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.num(b'%', n as i64);
        } else {
            self.array(2 * n);
        }
    }

    /// The header of a set of `n` elements (an array in RESP2).
    pub fn set(&mut self, n: usize) {
        if self.resp3 {
            self.num(b'~', n as i64);
        } else {
            self.array(n);
        }
    }

    /// A verbatim string (`=` with format `txt` in RESP3, a bulk string in RESP2), as INFO
    /// replies.
    pub fn verbatim(&mut self, text: &str) {
        if self.resp3 && !self.overflow {
            self.num(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// Bytes written so far (a mark to roll a reply back to).
    pub fn mark(&self) -> usize {
        self.buf.len()
    }

    /// Drops what was written since `mark`.
    pub fn rollback(&mut self, mark: usize) {
        self.buf.truncate(mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_encode_in_both_protocols() {
        let mut o = Out::default();
        o.ok();
        o.int(-3);
        o.bulk(b"a\r\nb");
        o.null();
        o.map(1);
        o.error("ERR bad\r\nthing");
        assert_eq!(o.buf, b"+OK\r\n:-3\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n-ERR bad  thing\r\n");
        let mut o = Out { resp3: true, ..Out::default() };
        o.null();
        o.map(2);
        o.verbatim("x");
        assert_eq!(o.buf, b"_\r\n%2\r\n=5\r\ntxt:x\r\n");
    }

    #[test]
    fn a_bulk_string_past_the_limit_is_not_appended_and_flags_overflow() {
        let mut o = Out { limit: 16, ..Out::default() };
        o.bulk(b"12345");
        assert!(!o.overflow);
        o.bulk(b"1234567890");
        assert!(o.overflow);
        o.bulk(b"x");
        assert_eq!(o.buf, b"$5\r\n12345\r\n");
    }
}
