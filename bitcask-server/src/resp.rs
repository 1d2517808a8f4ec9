//! The request parser: RESP multibulk frames (`*N\r\n$len\r\n...`) and inline commands
//! (`PING\r\n`), resumable across reads so a large frame arriving in pieces is parsed once.
//! Every input gives a frame, "incomplete", or a typed [`ProtocolError`]; nothing panics.
#![deny(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::fmt;
use std::ops::Range;

/// The longest inline command, multibulk header or bulk length line (as Redis: 64 KiB).
pub const MAX_INLINE: usize = 64 * 1024;

/// Limits on what one frame may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string.
    pub max_bulk: usize,
    /// The most arguments in one multibulk frame.
    pub max_args: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk: 512 << 20, max_args: 1 << 20 }
    }
}

/// Limits for a connection that has not authenticated yet (as Redis: 10 arguments of at
/// most 16 KiB), so an unauthenticated peer cannot make the server buffer much.
pub const UNAUTHENTICATED: Limits = Limits { max_bulk: 16 * 1024, max_args: 10 };

/// Why a request could not be parsed; `Display` gives Redis's reply text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A multibulk count that is not an integer, or over the limit.
    InvalidMultibulkLength,
    /// A bulk length that is not an integer, negative, or over the limit.
    InvalidBulkLength,
    /// Something other than `$` where a bulk string must start.
    ExpectedDollar(u8),
    /// An inline command longer than [`MAX_INLINE`] without a newline.
    TooBigInline,
    /// A multibulk count line longer than [`MAX_INLINE`].
    TooBigMultibulkCount,
    /// A bulk length line longer than [`MAX_INLINE`].
    TooBigBulkCount,
    /// An inline command with an unclosed quote.
    UnbalancedQuotes,
    /// A bulk string not followed by CRLF.
    ExpectedCrlf,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::ExpectedDollar(b) => write!(f, "expected '$', got '{}'", *b as char),
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::TooBigMultibulkCount => f.write_str("too big mbulk count string"),
            ProtocolError::TooBigBulkCount => f.write_str("too big bulk count string"),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtocolError::ExpectedCrlf => f.write_str("expected CRLF after a bulk string"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// A resumable parser of one connection's requests.
///
/// ```
/// use bitcask_server::resp::{Limits, Parser};
/// let mut p = Parser::default();
/// let buf = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n";
/// let n = p.parse(buf, Limits::default()).unwrap().unwrap();
/// assert_eq!(p.args(buf).collect::<Vec<_>>(), [&b"GET"[..], b"k"]);
/// p.reset();
/// let m = p.parse(&buf[n..], Limits::default()).unwrap().unwrap();
/// assert_eq!(p.args(&buf[n..]).collect::<Vec<_>>(), [&b"PING"[..]]);
/// assert_eq!(n + m, buf.len());
/// ```
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of the current frame parsed so far.
    pos: usize,
    /// Arguments still expected by the current multibulk frame (`None`: none started).
    want: Option<usize>,
    /// The arguments found, as ranges of the frame (or of `inline` for an inline command).
    args: Vec<Range<usize>>,
    /// The unescaped arguments of an inline command.
    inline: Vec<u8>,
    is_inline: bool,
}

/// Where `b` first occurs in `buf` from `from` on.
fn find(buf: &[u8], from: usize, b: u8) -> Option<usize> {
    buf.get(from..)?.iter().position(|&x| x == b).map(|i| i + from)
}

/// A length as Redis's `string2ll` reads it: an optional `-`, digits, no leading zeros
/// (but "0"), no `+`, no spaces.
fn parse_len(line: &[u8]) -> Option<i64> {
    crate::number::parse_i64(line)
}

impl Parser {
    /// Parses the frame at the start of `buf` (the bytes after the previous frame), going
    /// on from where an earlier call on a prefix of it stopped. Returns the frame's length
    /// once complete (its arguments are then [`args`](Self::args)), `None` when more bytes
    /// are needed, or the protocol error (after which the connection is closed).
    pub fn parse(&mut self, buf: &[u8], limits: Limits) -> Result<Option<usize>, ProtocolError> {
        if self.want.is_none() {
            let Some(&first) = buf.first() else { return Ok(None) };
            if first != b'*' {
                return self.parse_inline(buf);
            }
            let Some(cr) = find(buf, 1, b'\r') else {
                return if buf.len() > MAX_INLINE {
                    Err(ProtocolError::TooBigMultibulkCount)
                } else {
                    Ok(None)
                };
            };
            if cr + 1 >= buf.len() {
                return Ok(None);
            }
            let n = buf
                .get(1..cr)
                .and_then(parse_len)
                .filter(|&n| n <= limits.max_args as i64)
                .ok_or(ProtocolError::InvalidMultibulkLength)?;
            self.args.clear();
            self.is_inline = false;
            self.pos = cr + 2;
            if n <= 0 {
                return Ok(Some(self.pos));
            }
            self.want = Some(n as usize);
        }
        self.parse_bulks(buf, limits)
    }

    fn parse_bulks(&mut self, buf: &[u8], limits: Limits) -> Result<Option<usize>, ProtocolError> {
        while let Some(want) = self.want.filter(|&w| w > 0) {
            let Some(&b) = buf.get(self.pos) else { return Ok(None) };
            if b != b'$' {
                return Err(ProtocolError::ExpectedDollar(b));
            }
            let Some(cr) = find(buf, self.pos + 1, b'\r') else {
                return if buf.len() - self.pos > MAX_INLINE {
                    Err(ProtocolError::TooBigBulkCount)
                } else {
                    Ok(None)
                };
            };
            let len = buf
                .get(self.pos + 1..cr)
                .and_then(parse_len)
                .filter(|&n| n >= 0 && n <= limits.max_bulk as i64)
                .ok_or(ProtocolError::InvalidBulkLength)? as usize;
            let start = cr + 2;
            let end = start + len;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if buf.get(cr + 1) != Some(&b'\n') || buf.get(end..end + 2) != Some(b"\r\n") {
                return Err(ProtocolError::ExpectedCrlf);
            }
            self.args.push(start..end);
            self.pos = end + 2;
            self.want = Some(want - 1);
        }
        self.want = None;
        Ok(Some(self.pos))
    }

    /// An inline command: a line of space-separated arguments, with Redis's quoting.
    fn parse_inline(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(nl) = find(buf, 0, b'\n') else {
            return if buf.len() > MAX_INLINE {
                Err(ProtocolError::TooBigInline)
            } else {
                Ok(None)
            };
        };
        let line = buf.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.args.clear();
        self.inline.clear();
        self.is_inline = true;
        split_args(line, &mut self.inline, &mut self.args)?;
        Ok(Some(nl + 1))
    }

    /// The arguments of the frame just parsed from `buf` (the same bytes given to
    /// [`parse`](Self::parse)).
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let src: &'a [u8] = if self.is_inline { &self.inline } else { buf };
        self.args.iter().map(move |r| src.get(r.clone()).unwrap_or_default())
    }

    /// Whether the frame just parsed was an inline command (its arguments are then in the
    /// parser, not in the frame: use [`args`](Self::args)).
    pub fn is_inline(&self) -> bool {
        self.is_inline
    }

    /// Where the arguments of the multibulk frame just parsed lie in it.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.args
    }

    /// Forgets the frame just parsed, to parse the next one.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.want = None;
        self.is_inline = false;
    }

    /// Whether part of a frame has been parsed (the bytes so far must be kept).
    pub fn in_frame(&self) -> bool {
        self.want.is_some()
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline line as Redis's `sdssplitargs`: whitespace separates, `"..."` takes
/// `\n \r \t \b \a \\ \" \xHH` escapes, `'...'` takes `\'`; a closing quote must be
/// followed by whitespace or the end.
fn split_args(
    line: &[u8],
    out: &mut Vec<u8>,
    args: &mut Vec<Range<usize>>,
) -> Result<(), ProtocolError> {
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        let Some(&first) = line.get(i) else { return Ok(()) };
        let start = out.len();
        i = match first {
            b'"' => double_quoted(line, i + 1, out)?,
            b'\'' => single_quoted(line, i + 1, out)?,
            _ => {
                while let Some(&c) = line.get(i).filter(|b| !b.is_ascii_whitespace()) {
                    out.push(c);
                    i += 1;
                }
                i
            }
        };
        args.push(start..out.len());
    }
}

/// The end of a closing quote at `i`: whitespace or the end must follow.
fn closing(line: &[u8], i: usize) -> Result<usize, ProtocolError> {
    if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
        return Err(ProtocolError::UnbalancedQuotes);
    }
    Ok(i + 1)
}

/// A `"..."` argument whose text starts at `i`; returns where it ends.
fn double_quoted(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> Result<usize, ProtocolError> {
    let at = |i: usize| line.get(i).copied();
    loop {
        match at(i) {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'\\') if at(i + 1) == Some(b'x') => {
                match (at(i + 2).and_then(hex), at(i + 3).and_then(hex)) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 4;
                    }
                    _ => {
                        out.push(b'\\');
                        i += 1;
                    }
                }
            }
            Some(b'\\') if at(i + 1).is_some() => {
                out.push(match at(i + 1).unwrap_or_default() {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 8,
                    b'a' => 7,
                    c => c,
                });
                i += 2;
            }
            Some(b'"') => return closing(line, i),
            Some(c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// A `'...'` argument whose text starts at `i`; returns where it ends.
fn single_quoted(line: &[u8], mut i: usize, out: &mut Vec<u8>) -> Result<usize, ProtocolError> {
    loop {
        match line.get(i).copied() {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            Some(b'\'') => return closing(line, i),
            Some(c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn one(buf: &[u8]) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = Parser::default();
        Ok(p.parse(buf, Limits::default())?.map(|_| p.args(buf).map(<[u8]>::to_vec).collect()))
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_frames_parse_binary_safe() {
        let buf = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\n\0\r\n";
        assert_eq!(
            one(buf).unwrap().unwrap(),
            vec![b"SET".to_vec(), b"k".to_vec(), b"a\r\n\0".to_vec()]
        );
        assert_eq!(one(b"*0\r\n").unwrap().unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(one(b"*-1\r\n").unwrap().unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(one(b"*1\r\n$0\r\n\r\n").unwrap().unwrap(), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn every_prefix_of_a_frame_is_incomplete_and_resumes() {
        let buf = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n";
        let mut p = Parser::default();
        for end in 0..buf.len() {
            assert_eq!(p.parse(&buf[..end], Limits::default()), Ok(None), "prefix {end}");
        }
        assert_eq!(p.parse(buf, Limits::default()), Ok(Some(buf.len())));
        assert_eq!(p.args(buf).collect::<Vec<_>>(), [&b"SET"[..], b"hello", b"world"]);
    }

    #[test]
    fn inline_commands_split_as_redis_does() {
        assert_eq!(one(b"PING\r\n").unwrap().unwrap(), strs(&["PING"]));
        assert_eq!(one(b"set  k   v\n").unwrap().unwrap(), strs(&["set", "k", "v"]));
        assert_eq!(
            one(b"set \"a b\\x41\\n\" 'it\\'s'\r\n").unwrap().unwrap(),
            vec![b"set".to_vec(), b"a bA\n".to_vec(), b"it's".to_vec()]
        );
        assert_eq!(one(b"\r\n").unwrap().unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(one(b"set \"abc\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(one(b"set \"abc\"x\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(one(b"PING"), Ok(None));
    }

    #[test]
    fn malformed_lengths_are_protocol_errors_with_redis_texts() {
        use ProtocolError::*;
        for (buf, want) in [
            (&b"*x\r\n"[..], InvalidMultibulkLength),
            (b"*+1\r\n", InvalidMultibulkLength),
            (b"*01\r\n", InvalidMultibulkLength),
            (b"*99999999999999999999999\r\n", InvalidMultibulkLength),
            (b"*1\r\n$-1\r\n", InvalidBulkLength),
            (b"*1\r\n$abc\r\n", InvalidBulkLength),
            (b"*1\r\n$9999999999\r\n", InvalidBulkLength),
            (b"*1\r\n:1\r\n", ExpectedDollar(b':')),
            (b"*1\r\n$1\r\nab\r\n", ExpectedCrlf),
        ] {
            assert_eq!(one(buf), Err(want), "{:?}", String::from_utf8_lossy(buf));
        }
        assert_eq!(InvalidBulkLength.to_string(), "Protocol error: invalid bulk length");
        assert_eq!(ExpectedDollar(b'x').to_string(), "Protocol error: expected '$', got 'x'");
    }

    #[test]
    fn endless_lines_are_refused_past_64_kib() {
        assert_eq!(one(&vec![b'a'; MAX_INLINE + 1]), Err(ProtocolError::TooBigInline));
        assert_eq!(one(&vec![b'a'; MAX_INLINE]), Ok(None));
        let mut m = b"*".to_vec();
        m.extend(vec![b'1'; MAX_INLINE + 1]);
        assert_eq!(one(&m), Err(ProtocolError::TooBigMultibulkCount));
        let mut b = b"*1\r\n$".to_vec();
        b.extend(vec![b'1'; MAX_INLINE + 1]);
        assert_eq!(one(&b), Err(ProtocolError::TooBigBulkCount));
    }

    #[test]
    fn limits_apply_to_counts_and_lengths() {
        let tight = Limits { max_bulk: 4, max_args: 2 };
        let mut p = Parser::default();
        assert_eq!(p.parse(b"*3\r\n", tight), Err(ProtocolError::InvalidMultibulkLength));
        let mut p = Parser::default();
        assert_eq!(p.parse(b"*1\r\n$5\r\n", tight), Err(ProtocolError::InvalidBulkLength));
        let mut p = Parser::default();
        assert_eq!(
            p.parse(b"*11\r\n", UNAUTHENTICATED),
            Err(ProtocolError::InvalidMultibulkLength)
        );
    }
}
