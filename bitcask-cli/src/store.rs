//! Opening the store and decoding arguments, as the global flags say.

use std::path::Path;

use bitcask_core::{Bitcask, Options};

use crate::failure::{context, usage, Failure};
use crate::flags::Global;

/// The engine options the global flags ask for.
pub fn options(g: &Global) -> Options {
    Options { sync: g.sync, ..Options::default() }
}

/// The store directory (`--dir` or `BITCASK_DIR`).
pub fn dir(g: &Global) -> Result<&Path, Failure> {
    g.dir.as_deref().ok_or_else(|| usage("no store directory: pass --dir PATH or set BITCASK_DIR"))
}

/// Opens the store as the global flags say.
pub fn open(g: &Global) -> Result<Bitcask, Failure> {
    let d = dir(g)?;
    let r = if g.read_only {
        Bitcask::open_read_only(d, options(g))
    } else {
        Bitcask::open(d, options(g))
    };
    r.map_err(context(format!("opening {}", d.display())))
}

/// A key, value or prefix from the command line, decoded as `--hex`/`--base64` say.
pub fn decode(g: &Global, what: &str, s: &str) -> Result<Vec<u8>, Failure> {
    g.codec().decode(s).map_err(|e| usage(format!("{what}: {e}")))
}
