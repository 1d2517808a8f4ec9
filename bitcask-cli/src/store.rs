//! Opening the store and decoding arguments, as the global flags say.

use std::path::Path;

use bitcask_core::{Options, Store};

use crate::failure::{context, usage, Failure};
use crate::flags::{Global, KeyArg};

/// The engine options the global flags ask for.
pub fn options(g: &Global) -> Options {
    Options { sync: g.sync, ..Options::default() }
}

/// The store directory (`--dir` or `BITCASK_DIR`).
pub fn dir(g: &Global) -> Result<&Path, Failure> {
    g.dir.as_deref().ok_or_else(|| usage("no store directory: pass --dir PATH or set BITCASK_DIR"))
}

/// Opens the store (plain or sharded, as a server writes it) for a command that only
/// reads: never takes the writer's lock (it works beside a running writer or server, as of
/// the moment it opens), never creates or repairs anything. A missing store is an error
/// (exit code 6).
pub fn open_to_read(g: &Global) -> Result<Store, Failure> {
    let d = dir(g)?;
    Store::open_read_only(d, options(g)).map_err(context(format!("opening {}", d.display())))
}

/// Opens the store for a command that writes, creating it if missing and saying so.
/// A store a server holds is refused (its shards' locks are taken: exit code 4).
pub fn open_to_write(g: &Global) -> Result<Store, Failure> {
    let d = dir(g)?;
    let existed = d.is_dir();
    let db = Store::open(d, options(g)).map_err(context(format!("opening {}", d.display())))?;
    if !existed {
        note!("bitcask: created store {}", d.display());
    }
    for (shard, report) in db.recovery_reports() {
        let at = if db.shard_count() > 1 { format!("{shard}: ") } else { String::new() };
        for w in report.warnings() {
            note!("bitcask: warning: {at}{w}");
        }
    }
    Ok(db)
}

/// A key, value or prefix from the command line, decoded as `--hex`/`--base64` say.
pub fn decode(g: &Global, what: &str, s: &str) -> Result<Vec<u8>, Failure> {
    g.codec().decode(s).map_err(|e| usage(format!("{what}: {e}")))
}

/// The key the arguments name: on the command line, or the bytes of `--key-file` (then
/// decoded as `--hex`/`--base64` say, ignoring a final newline for those).
pub fn key_of(g: &Global, k: &KeyArg) -> Result<Vec<u8>, Failure> {
    let Some(path) = &k.key_file else {
        return decode(g, "key", k.key.as_deref().unwrap_or_default());
    };
    if k.key.is_some() {
        return Err(usage("give the key once: as an argument or with --key-file"));
    }
    let limit = bitcask_format::MAX_KEY_LEN * 2 + 1;
    let bytes = if path.as_os_str() == "-" {
        read_limited(std::io::stdin().lock(), limit, "key")?
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| usage(format!("key file {}: {e}", path.display())))?;
        read_limited(f, limit, "key")?
    };
    g.codec().decode_bytes(bytes).map_err(|e| usage(format!("key: {e}")))
}

/// Everything `r` gives, refused (exit code 2) as soon as it passes `limit` bytes, without
/// buffering the rest.
pub fn read_limited(r: impl std::io::Read, limit: usize, what: &str) -> Result<Vec<u8>, Failure> {
    use std::io::Read as _;
    let mut buf = Vec::new();
    r.take(limit as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > limit {
        return Err(usage(format!("{what} exceeds the limit of {limit} bytes")));
    }
    Ok(buf)
}
