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
