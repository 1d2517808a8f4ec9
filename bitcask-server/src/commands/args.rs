//! A command's arguments, read in order by a cursor, and how a command fails: the typed
//! failure a handler returns with `?`, turned into Redis's error reply by the dispatcher.

use std::borrow::Cow;

use crate::number::{parse_f64, parse_i64};
use crate::reply::Out;

/// Why a command failed; the dispatcher replies it (after dropping the command's partial
/// reply).
#[derive(Debug)]
pub enum Failure {
    /// `-ERR <text>`.
    Err(Cow<'static, str>),
    /// A whole error line with its own code (`WRONGPASS …`, `NOAUTH …`, `EXECABORT …`).
    Coded(Cow<'static, str>),
    /// The store refused or failed.
    Store(bitcask_core::Error),
    /// A whole error line already counted in INFO errorstats (a script's error raised by a
    /// command it called, counted when that command failed).
    Counted(Cow<'static, str>),
}

impl Failure {
    /// `-ERR <text>`.
    pub fn err(text: impl Into<Cow<'static, str>>) -> Failure {
        Failure::Err(text.into())
    }

    /// An error line with its own code.
    pub fn coded(text: impl Into<Cow<'static, str>>) -> Failure {
        Failure::Coded(text.into())
    }

    /// `ERR syntax error`.
    pub fn syntax() -> Failure {
        Failure::err("syntax error")
    }

    /// `ERR value is not an integer or out of range`.
    pub fn not_int() -> Failure {
        Failure::err("value is not an integer or out of range")
    }

    /// `ERR wrong number of arguments for 'name' command`.
    pub fn arity(name: &str) -> Failure {
        Failure::err(format!("wrong number of arguments for '{name}' command"))
    }
}

impl Failure {
    /// The text of its error reply (`ERR ...`, `WRONGTYPE ...`).
    pub fn text(&self) -> String {
        let mut out = Out::default();
        self.reply(&mut out);
        let line = String::from_utf8_lossy(&out.buf).into_owned();
        line.trim_start_matches('-').trim_end().to_owned()
    }

    /// Writes it as the error reply.
    pub fn reply(&self, out: &mut Out) {
        use bitcask_core::Error;
        match self {
            Failure::Err(text) => out.err(text),
            Failure::Coded(text) | Failure::Counted(text) => out.error(text),
            Failure::Store(Error::KeyTooLarge { len, max }) => {
                out.err(&format!("key of {len} bytes exceeds the store's limit of {max} bytes"))
            }
            Failure::Store(Error::ValueTooLarge { .. }) => {
                out.err("string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            Failure::Store(e) => out.err(&e.to_string()),
        }
    }
}

impl From<crate::tx::TxError> for Failure {
    fn from(e: crate::tx::TxError) -> Failure {
        match e {
            crate::tx::TxError::Store(e) => Failure::Store(e),
            crate::tx::TxError::WrongType => Failure::wrong_type(),
        }
    }
}

impl Failure {
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`.
    pub fn wrong_type() -> Failure {
        Failure::coded("WRONGTYPE Operation against a key holding the wrong kind of value")
    }
}

impl From<bitcask_core::Error> for Failure {
    fn from(e: bitcask_core::Error) -> Failure {
        Failure::Store(e)
    }
}

/// A handler's result.
pub type Res = Result<(), Failure>;

/// The arguments of a command, read from after its name (and subcommand).
pub struct Args<'a> {
    argv: &'a [&'a [u8]],
    at: usize,
}

impl<'a> Args<'a> {
    /// The arguments of `argv`, read from `argv[at]`.
    pub fn new(argv: &'a [&'a [u8]], at: usize) -> Args<'a> {
        Args { argv, at }
    }

    /// Every argument, the command's name included.
    pub fn argv(&self) -> &'a [&'a [u8]] {
        self.argv
    }

    /// How many are left.
    pub fn left(&self) -> usize {
        self.argv.len().saturating_sub(self.at)
    }

    /// The next argument, if any.
    pub fn next(&mut self) -> Option<&'a [u8]> {
        let a = self.argv.get(self.at).copied();
        self.at += usize::from(a.is_some());
        a
    }

    /// The next argument; a syntax error when there is none (the arity usually rules
    /// that out).
    pub fn req(&mut self) -> Result<&'a [u8], Failure> {
        self.next().ok_or_else(Failure::syntax)
    }

    /// The next argument, which must be there (the arity checked it): the key of a
    /// one-key command.
    pub fn key(&mut self) -> &'a [u8] {
        self.next().unwrap_or_default()
    }

    /// Every argument left.
    pub fn rest(&mut self) -> &'a [&'a [u8]] {
        let rest = self.argv.get(self.at..).unwrap_or_default();
        self.at = self.argv.len();
        rest
    }

    /// The next argument as an integer (`ERR value is not an integer or out of range`).
    pub fn int(&mut self) -> Result<i64, Failure> {
        parse_i64(self.req()?).ok_or_else(Failure::not_int)
    }

    /// The next argument as a float (`ERR value is not a valid float`).
    pub fn float(&mut self) -> Result<f64, Failure> {
        parse_f64(self.req()?).ok_or_else(|| Failure::err("value is not a valid float"))
    }

    /// Whether the next argument is `word` (any case); if so it is read.
    pub fn eat(&mut self, word: &str) -> bool {
        let hit = self.argv.get(self.at).is_some_and(|a| is(a, word));
        self.at += usize::from(hit);
        hit
    }

    /// A syntax error unless every argument was read.
    pub fn done(&self) -> Res {
        if self.left() == 0 {
            Ok(())
        } else {
            Err(Failure::syntax())
        }
    }
}

/// Whether `arg` equals `word`, ignoring ASCII case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// An argument as text for an error message (lossy, clipped to 128 bytes).
pub fn shown(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg.get(..arg.len().min(128)).unwrap_or(arg)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_reads_in_order_with_redis_errors() {
        let argv: Vec<&[u8]> = vec![b"set", b"k", b"12", b"EX", b"x"];
        let mut a = Args::new(&argv, 1);
        assert_eq!(a.key(), b"k");
        assert_eq!(a.int().unwrap(), 12);
        assert!(!a.eat("px"));
        assert!(a.eat("ex"));
        assert_eq!(a.left(), 1);
        assert!(a.done().is_err());
        let e = a.int().unwrap_err();
        assert!(matches!(e, Failure::Err(ref t) if t == "value is not an integer or out of range"));
        assert!(matches!(a.req(), Err(Failure::Err(ref t)) if t == "syntax error"));
        assert!(a.done().is_ok());
        assert!(a.rest().is_empty());
    }
}
