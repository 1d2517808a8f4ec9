//! The fuzz checks (feature `testing`): what the cargo-fuzz targets run, and the replay
//! of committed inputs as tests.

use crate::resp::{Limits, Parser};

/// Every frame and error found in `data`, parsing with the whole input at hand.
fn frames(data: &[u8], limits: Limits, chunk: usize) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
    let mut p = Parser::default();
    let (mut start, mut avail) = (0usize, chunk.min(data.len()));
    let mut out = Vec::new();
    loop {
        let buf = data.get(start..avail).unwrap_or_default();
        match p.parse(buf, limits) {
            Ok(Some(len)) => {
                assert!(len > 0 && len <= buf.len(), "a frame of {len} bytes in {}", buf.len());
                out.push(p.args(buf).map(<[u8]>::to_vec).collect());
                p.reset();
                start += len;
            }
            Ok(None) if avail < data.len() => avail = (avail + chunk).min(data.len()),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
}

/// The RESP parser on arbitrary bytes: no panic; the same frames and error whether the
/// bytes arrive at once or in pieces of any size (the parser resumes); every frame
/// re-encoded parses back to the same arguments.
pub fn resp_parser(data: &[u8]) {
    let (chunk, data) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c % 32) + 1, rest),
        None => return,
    };
    let limits = Limits { max_bulk: 4096, max_args: 64 };
    let whole = frames(data, limits, data.len().max(1));
    let pieces = frames(data, limits, chunk);
    assert_eq!(whole, pieces, "parsing in pieces of {chunk} differs");
    for args in &whole.0 {
        let mut enc = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            enc.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            enc.extend_from_slice(a);
            enc.extend_from_slice(b"\r\n");
        }
        let again = frames(&enc, Limits::default(), enc.len());
        let want: Vec<Vec<Vec<u8>>> =
            if args.is_empty() { vec![vec![]] } else { vec![args.clone()] };
        assert_eq!(again, (want, None), "re-encoded frame");
    }
}

/// A RESTORE payload of arbitrary bytes: no panic; a payload that decodes dumps again to
/// one that decodes to the same value. The bytes are also tried with a valid footer
/// appended, so the decoder behind the checksum is reached.
pub fn restore_payload(data: &[u8]) {
    use crate::rdb::RDB_VERSION;
    use crate::rdb::{crc64, dump_hash, dump_set, dump_string, restore_object, Object};
    let mut signed = data.to_vec();
    signed.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&signed);
    signed.extend_from_slice(&crc.to_le_bytes());
    for payload in [data, &signed] {
        if let Ok(v) = restore_object(payload) {
            let again = match &v {
                Object::String(s) => dump_string(s),
                Object::Hash(pairs) => dump_hash(pairs),
                Object::Set(members) => dump_set(members),
                Object::List(values) => crate::rdb::dump_list(values),
                Object::Zset(scored) => crate::rdb::dump_zset(scored),
            };
            assert_eq!(restore_object(&again).ok(), Some(v), "round trip");
        }
    }
}

/// A host for fuzzed scripts: every command is answered with a reply taken from the input
/// (so the conversion of replies into Lua is fuzzed too).
struct FuzzHost {
    replies: Vec<Vec<u8>>,
    calls: usize,
    out: crate::reply::Out,
}

impl crate::lua::Host for FuzzHost {
    fn call(&mut self, argv: &[&[u8]], _resp3: bool) -> Result<Vec<u8>, String> {
        self.calls += 1;
        if argv.first().is_some_and(|c| c.eq_ignore_ascii_case(b"fail")) {
            return Err("ERR refused".into());
        }
        let i = self.calls % self.replies.len().max(1);
        Ok(self.replies.get(i).cloned().unwrap_or_else(|| b"+OK\r\n".to_vec()))
    }

    fn out(&mut self) -> &mut crate::reply::Out {
        &mut self.out
    }

    fn read_only(&self) -> bool {
        false
    }

    fn make_read_only(&mut self) {}
}

/// A script of arbitrary text (up to a NUL byte; after it, the replies its commands get,
/// one per line of RESP): no panic and no hang (a script still running after 200 ms is
/// stopped as SCRIPT KILL stops it); the reply is one well-formed RESP value or an error.
pub fn lua_script(data: &[u8]) {
    // As on a network thread, whose stack holds a script's nesting.
    let data = data.to_vec();
    let t = std::thread::Builder::new().stack_size(64 << 20).spawn(move || lua_script_on(&data));
    if let Err(p) = t.map(|t| t.join()).unwrap_or_else(|e| panic!("{e}")) {
        std::panic::resume_unwind(p);
    }
}

fn lua_script_on(data: &[u8]) {
    use std::sync::Arc;
    let (text, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (data.get(..i).unwrap_or_default(), data.get(i + 1..).unwrap_or_default()),
        None => (data, &[][..]),
    };
    let replies: Vec<Vec<u8>> =
        rest.split(|&b| b == b'\n').map(|l| [l, b"\n"].concat().replace_crlf()).collect();
    let scripts = Arc::new(crate::lua::Scripts::default());
    let sha = crate::lua::sha1_hex(text);
    let script = crate::lua::Script {
        sha: &sha,
        function: false,
        body: Some(text),
        keys: &[b"k"],
        args: &[b"1"],
    };
    let running = Arc::new(crate::lua::Running::default());
    let stopper = running.clone();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let timer = std::thread::spawn(move || {
        if finished.recv_timeout(std::time::Duration::from_millis(200)).is_err() {
            stopper.stop();
        }
    });
    let mut host = FuzzHost { replies, calls: 0, out: Default::default() };
    let limit = std::time::Duration::from_secs(60);
    if crate::lua::run(&scripts, &script, limit, running.clone(), &mut host).is_ok() {
        assert!(!host.out.buf.is_empty(), "a script that ran replies");
    }
    let _ = done.send(());
    let _ = timer.join();
}

/// `\n`-terminated lines as RESP wants them (`\r\n`).
trait Crlf {
    fn replace_crlf(self) -> Vec<u8>;
}

impl Crlf for Vec<u8> {
    fn replace_crlf(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() + 1);
        for b in self {
            if b == b'\n' {
                out.extend_from_slice(b"\r\n");
            } else {
                out.push(b);
            }
        }
        out
    }
}

/// Replays every file in `dir` through `check`; returns how many.
pub fn replay_dir(dir: &std::path::Path, check: fn(&[u8])) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = e.unwrap_or_else(|e| panic!("{e}")).path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check(&data);
        n += 1;
    }
    n
}
