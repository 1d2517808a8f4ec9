//! MONITOR: every command the server runs, as a line to the clients that asked (Redis's
//! format: `+<seconds>.<micros> [<db> <client address>] "<arg>" ...`, `lua` for the commands
//! a script runs). The lines go through a bounded broadcast: a monitor more than
//! [`BACKLOG`] lines behind is closed, and a line keeps at most [`LINE_MAX`] bytes of
//! arguments, so a slow monitor holds bounded memory.

use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;

use tokio::sync::broadcast;

/// The most lines waiting for the slowest monitor.
pub const BACKLOG: usize = 1024;

/// The most bytes of quoted arguments in one line (the rest is cut, saying how much).
pub const LINE_MAX: usize = 64 << 10;

/// The monitors and their feed.
pub struct Monitors {
    count: Arc<AtomicUsize>,
    feed: broadcast::Sender<Arc<[u8]>>,
}

impl Default for Monitors {
    fn default() -> Monitors {
        Monitors { count: Arc::default(), feed: broadcast::channel(BACKLOG).0 }
    }
}

/// Who ran a command, for its line.
pub enum Source<'a> {
    /// A client at this address.
    Client(&'a str),
    /// A script.
    Script,
}

/// A monitor's end of the feed (taken when MONITOR runs, so no line after its OK is
/// missed): it stops counting as a monitor when dropped.
pub struct Feed {
    count: Arc<AtomicUsize>,
    /// The lines.
    pub lines: broadcast::Receiver<Arc<[u8]>>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.count.fetch_sub(1, AcqRel);
    }
}

impl Monitors {
    /// Whether any client monitors (cheap: checked before every command).
    pub fn any(&self) -> bool {
        self.count.load(Relaxed) > 0
    }

    /// A new monitor's feed.
    pub fn subscribe(&self) -> Feed {
        self.count.fetch_add(1, AcqRel);
        Feed { count: self.count.clone(), lines: self.feed.subscribe() }
    }

    /// Sends the line of a command run in database `db` (AUTH's and HELLO's secrets
    /// redacted).
    pub fn feed(&self, db: u8, from: Source<'_>, argv: &[&[u8]]) {
        if !self.any() {
            return;
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let who = match from {
            Source::Client(addr) => format!("{db} {addr}"),
            Source::Script => format!("{db} lua"),
        };
        let mut line =
            format!("+{}.{:06} [{who}]", now.as_secs(), now.subsec_micros()).into_bytes();
        let start = line.len();
        for (i, arg) in argv.iter().enumerate() {
            if line.len() - start > LINE_MAX {
                let left: usize = argv.iter().skip(i).map(|a| a.len()).sum();
                line.extend_from_slice(format!(" ... ({left} more bytes)").as_bytes());
                break;
            }
            line.extend_from_slice(b" ");
            if redacted(argv, i) {
                line.extend_from_slice(b"\"(redacted)\"");
            } else {
                quote(&mut line, arg.get(..LINE_MAX).unwrap_or(arg));
            }
        }
        line.extend_from_slice(b"\r\n");
        let _ = self.feed.send(line.into());
    }
}

/// Whether argument `i` is a secret: AUTH's arguments, HELLO's after AUTH.
fn redacted(argv: &[&[u8]], i: usize) -> bool {
    let is = |a: &[u8], w: &str| a.eq_ignore_ascii_case(w.as_bytes());
    match argv.first() {
        Some(c) if is(c, "auth") => i > 0,
        Some(c) if is(c, "hello") => {
            argv.iter().position(|a| is(a, "auth")).is_some_and(|at| i > at && i <= at + 2)
        }
        _ => false,
    }
}

/// Appends `arg` quoted as Redis quotes it (`sdscatrepr`): `"`, `\` and control bytes
/// escaped, other bytes outside printable ASCII as `\xHH`.
fn quote(line: &mut Vec<u8>, arg: &[u8]) {
    line.push(b'"');
    for &b in arg {
        match b {
            b'\\' | b'"' => line.extend_from_slice(&[b'\\', b]),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            b'\t' => line.extend_from_slice(b"\\t"),
            7 => line.extend_from_slice(b"\\a"),
            8 => line.extend_from_slice(b"\\b"),
            b' '..=b'~' => line.push(b),
            _ => line.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    line.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_as_redis_quotes_them() {
        let mut l = Vec::new();
        quote(&mut l, b"a\"b\\c\n\x01\xff z");
        assert_eq!(l, b"\"a\\\"b\\\\c\\n\\x01\\xff z\"".to_vec());
    }

    #[test]
    fn secrets_are_redacted() {
        let argv: [&[u8]; 5] = [b"hello", b"2", b"AUTH", b"u", b"p"];
        let hidden: Vec<bool> = (0..argv.len()).map(|i| redacted(&argv, i)).collect();
        assert_eq!(hidden, [false, false, false, true, true]);
        assert!(redacted(&[b"auth", b"pw"], 1));
    }
}
